"""What crosses HTTP for promotions and coupons: msgspec Structs that name the field on bad
input. Promotion definitions are the engine's own types (tagged by ``kind``), so a definition
HQ sends is checked by the same rules that price it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec

from promotions import engine

Positive = Annotated[int, msgspec.Meta(ge=1, le=10**12)]
MinorUnits = Annotated[int, msgspec.Meta(ge=0, le=10**12)]
BatchCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9][A-Z0-9_-]{1,31}$")]
StoreCode = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies: unknown fields are refused rather than silently ignored."""


class LimitsIn(Input):
    """Empty (null) is unlimited. ``units`` and ``budget_minor`` over the whole promotion;
    ``per_member_per_day`` and ``per_member`` count a member's sales using it."""

    units: Positive | None = None
    budget_minor: Positive | None = None
    per_member_per_day: Positive | None = None
    per_member: Positive | None = None


class PromotionIn(Input):
    definition: engine.PromotionDefinition
    limits: LimitsIn = msgspec.field(default_factory=LimitsIn)
    # HQ only: the store that owns it (its manager may then run it)
    store_code: StoreCode | None = None


class PromotionPatch(Input):
    definition: engine.PromotionDefinition | None = None
    limits: LimitsIn | None = None


class UsageOut(msgspec.Struct):
    units: int
    budget_minor: int
    sales: int


class LimitsOut(msgspec.Struct):
    units: int | None
    budget_minor: int | None
    per_member_per_day: int | None
    per_member: int | None


class PromotionOut(msgspec.Struct):
    code: str
    name: str
    kind: str
    status: str
    store_code: str | None
    definition: dict[str, Any]
    limits: LimitsOut
    usage: UsageOut
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class StackingPolicyIn(Input):
    exclusive_groups: list[tuple[str, str]] = []
    max_combinations: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 256


class StackingPolicyOut(msgspec.Struct):
    exclusive_groups: list[tuple[str, str]]
    max_combinations: int


class DryRunIn(Input):
    """A sample basket priced in ``store_code`` at ``local_datetime`` (the store's wall-clock
    time; now when left out) for the customer described."""

    store_code: StoreCode
    lines: Annotated[list[engine.BasketLine], msgspec.Meta(min_length=1, max_length=500)]
    local_datetime: dt.datetime | None = None
    is_member: bool = False
    tier_code: str | None = None
    tier_discount_bp: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 0
    birthday_month: Annotated[int, msgspec.Meta(ge=1, le=12)] | None = None
    is_first_purchase: bool = False
    currency: str = "CNY"


class DryRunOut(msgspec.Struct):
    priced: engine.PricedBasket
    explanation_en: str
    explanation_zh: str


class CouponBatchIn(Input):
    code: BatchCode
    name: Name
    kind: Literal["amount_off", "percent_off", "gift"]
    valid_from: dt.datetime
    valid_to: dt.datetime
    name_zh: Annotated[str, msgspec.Meta(max_length=100)] = ""
    amount_off_minor: MinorUnits = 0
    percent_off_bp: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 0
    cap_minor: Positive | None = None
    minimum_spend_minor: MinorUnits = 0
    gift_sku: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    gift_quantity: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1
    gift_value_minor: MinorUnits = 0
    targeting: engine.Targeting = msgspec.field(default_factory=engine.Targeting)
    store_codes: list[StoreCode] = []
    region_codes: list[StoreCode] = []
    max_uses: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1


class CouponBatchOut(msgspec.Struct):
    code: str
    name: str
    name_zh: str
    kind: str
    amount_off_minor: int
    percent_off_bp: int
    cap_minor: int | None
    minimum_spend_minor: int
    gift_sku: str | None
    gift_quantity: int
    gift_value_minor: int
    targeting: dict[str, Any]
    store_codes: list[str]
    region_codes: list[str]
    valid_from: dt.datetime
    valid_to: dt.datetime
    max_uses: int
    status: str
    issued: int
    created_at: dt.datetime


class IssueIn(Input):
    """Either one coupon for each member listed, or ``bearer_count`` bearer coupons.
    Repeating a request with the same ``issue_ref`` issues nothing more."""

    member_ids: Annotated[
        list[Annotated[int, msgspec.Meta(ge=1)]], msgspec.Meta(max_length=10_000)
    ] = []
    bearer_count: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 0
    issue_ref: Annotated[str, msgspec.Meta(min_length=1, max_length=48)] | None = None


class IssuedOut(msgspec.Struct):
    code: str
    member_id: int | None


class MyCouponOut(msgspec.Struct):
    code: str
    batch_code: str
    name: str
    name_zh: str
    kind: str
    amount_off_minor: int
    percent_off_bp: int
    cap_minor: int | None
    minimum_spend_minor: int
    gift_sku: str | None
    valid_from: dt.datetime
    valid_to: dt.datetime
    uses_left: int
    state: Literal["usable", "used", "expired", "not_started"]
