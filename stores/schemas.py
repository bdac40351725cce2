"""What crosses HTTP for the chain: msgspec Structs that name the field on bad input."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

Code = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Z0-9][A-Z0-9_-]{1,31}$", description="Upper-case letters, digits, - and _"
    ),
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
MinorUnits = Annotated[
    int, msgspec.Meta(ge=0, le=10**12, description="Money in minor units (fen, cents)")
]
RoleName = Literal["cashier", "salesperson", "store_manager", "hq_admin", "analyst"]
StoreStatus = Literal["active", "suspended", "closed"]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=128)]
Pin = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4,8}$")]
BasisPoints = Annotated[int, msgspec.Meta(ge=0, le=10_000)]


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies: unknown fields are refused rather than silently ignored."""


class SignInRequest(Input):
    employee_no: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class ActorOut(msgspec.Struct):
    employee_no: str
    name: str
    roles: list[str]
    store_code: str | None


class SignInResponse(msgspec.Struct):
    token: str
    token_type: str
    expires_at: dt.datetime
    staff: ActorOut


class RegionIn(Input):
    code: Code
    name: Name


class RegionPatch(Input):
    name: Name


class RegionOut(msgspec.Struct):
    code: str
    name: str


class StoreIn(Input):
    code: Code
    name: Name
    region_code: Code
    time_zone: Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["Asia/Shanghai"])]
    address: Annotated[str, msgspec.Meta(max_length=255)] = ""
    phone: Annotated[str, msgspec.Meta(max_length=32)] = ""
    status: StoreStatus = "active"


class StorePatch(Input):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    region_code: Code | msgspec.UnsetType = msgspec.UNSET
    time_zone: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    address: Annotated[str, msgspec.Meta(max_length=255)] | msgspec.UnsetType = msgspec.UNSET
    phone: Annotated[str, msgspec.Meta(max_length=32)] | msgspec.UnsetType = msgspec.UNSET
    status: StoreStatus | msgspec.UnsetType = msgspec.UNSET


class StoreOut(msgspec.Struct):
    code: str
    name: str
    region_code: str
    time_zone: str
    address: str
    phone: str
    status: str
    created_at: dt.datetime | None


class TerminalIn(Input):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class TerminalOut(msgspec.Struct):
    id: int
    name: str
    store_code: str
    key_id: str
    status: str
    key_created_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    created_at: dt.datetime | None


class TerminalWithKey(msgspec.Struct):
    terminal: TerminalOut
    api_key: str
    note: str = "The API key is shown once; store it in the terminal now."


class RevokeIn(Input):
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class StaffIn(Input):
    employee_no: Code
    name: Name
    roles: Annotated[list[RoleName], msgspec.Meta(min_length=1)]
    password: Password
    store_code: Code | None = None
    pin: Pin | None = None
    manual_discount_limit_bp: BasisPoints = 0


class StaffPatch(Input):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    roles: Annotated[list[RoleName], msgspec.Meta(min_length=1)] | msgspec.UnsetType = msgspec.UNSET
    store_code: Code | msgspec.UnsetType | None = msgspec.UNSET
    status: Literal["active", "inactive"] | msgspec.UnsetType = msgspec.UNSET
    password: Password | msgspec.UnsetType = msgspec.UNSET
    pin: Pin | msgspec.UnsetType = msgspec.UNSET
    manual_discount_limit_bp: BasisPoints | msgspec.UnsetType = msgspec.UNSET


class StaffOut(msgspec.Struct):
    employee_no: str
    name: str
    store_code: str | None
    roles: list[str]
    status: str
    manual_discount_limit_bp: int
    created_at: dt.datetime | None


class CategoryIn(Input):
    code: Code
    name: Name
    name_en: Annotated[str, msgspec.Meta(max_length=100)] = ""
    parent_code: Code | None = None


class CategoryOut(msgspec.Struct):
    code: str
    name: str
    name_en: str
    parent_code: str | None
    path: str


class BrandIn(Input):
    code: Code
    name: Name
    name_en: Annotated[str, msgspec.Meta(max_length=100)] = ""


class BrandOut(msgspec.Struct):
    code: str
    name: str
    name_en: str


Sku = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]
Tag = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]


class ProductIn(Input):
    sku: Sku
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    category_code: Code
    retail_price_minor: MinorUnits
    member_price_minor: MinorUnits | None = None
    name_en: Annotated[str, msgspec.Meta(max_length=200)] = ""
    brand_code: Code | None = None
    barcode: Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z]{4,32}$")] | None = None
    unit: Annotated[str, msgspec.Meta(min_length=1, max_length=16)] = "件"
    tags: Annotated[list[Tag], msgspec.Meta(max_length=20)] = []


class ProductPatch(Input):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    name_en: Annotated[str, msgspec.Meta(max_length=200)] | msgspec.UnsetType = msgspec.UNSET
    category_code: Code | msgspec.UnsetType = msgspec.UNSET
    brand_code: Code | msgspec.UnsetType | None = msgspec.UNSET
    retail_price_minor: MinorUnits | msgspec.UnsetType = msgspec.UNSET
    member_price_minor: MinorUnits | msgspec.UnsetType | None = msgspec.UNSET
    barcode: (
        Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z]{4,32}$")] | msgspec.UnsetType | None
    ) = msgspec.UNSET
    unit: Annotated[str, msgspec.Meta(min_length=1, max_length=16)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    tags: Annotated[list[Tag], msgspec.Meta(max_length=20)] | msgspec.UnsetType = msgspec.UNSET
    status: Literal["active", "discontinued"] | msgspec.UnsetType = msgspec.UNSET


class ProductOut(msgspec.Struct):
    sku: str
    name: str
    name_en: str
    category_code: str
    category_path: str
    brand_code: str | None
    barcode: str | None
    unit: str
    tags: list[str]
    retail_price_minor: int
    member_price_minor: int | None
    status: str


class ProductPage(msgspec.Struct):
    items: list[ProductOut]
    total: int
    limit: int
    offset: int


class StorePriceIn(Input):
    store_code: Code
    effective_from: dt.date
    retail_price_minor: MinorUnits
    member_price_minor: MinorUnits | None = None


class StorePriceOut(msgspec.Struct):
    sku: str
    store_code: str
    effective_from: dt.date
    retail_price_minor: int
    member_price_minor: int | None


class EffectivePriceOut(msgspec.Struct):
    sku: str
    store_code: str
    on: dt.date
    retail_price_minor: int
    member_price_minor: int | None
    source: str


class AuditOut(msgspec.Struct):
    at: dt.datetime
    actor_kind: str
    actor_name: str
    action: str
    entity: str
    entity_key: str
    store_code: str | None
    before: dict | None
    after: dict | None
    reason: str


def patch_values(patch: msgspec.Struct) -> dict[str, object]:
    """The fields a PATCH body actually sent."""
    return {
        name: value
        for name in patch.__struct_fields__
        if (value := getattr(patch, name)) is not msgspec.UNSET
    }
