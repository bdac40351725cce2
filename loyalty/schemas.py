"""What crosses HTTP for the ledgers: HQ set-up, member account views, adjustments,
liability, and the member's own balances and history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from stores.schemas import patch_values

__all__ = ["patch_values"]

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
NonNegative = Annotated[int, msgspec.Meta(ge=0, le=10**12)]
Positive = Annotated[int, msgspec.Meta(ge=1, le=10**12)]
Unset = msgspec.UnsetType
UNSET = msgspec.UNSET


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Output(msgspec.Struct, kw_only=True):
    pass


# ------------------------------------------------------------------------------ program


class ProgramOut(Output):
    points_per_unit: int
    earn_on_stored_value: bool
    earn_on_points: bool
    pending_days: int
    points_per_minor_unit: int
    min_redeem_points: int
    max_redeem_share_bp: int
    redeem_step_points: int
    expiry_policy: str
    expiry_months: int
    stored_value_order: str
    pin_threshold_minor: int
    daily_spend_limit_minor: int
    manager_points_limit: int
    manager_stored_value_limit_minor: int
    hq_points_limit: int
    hq_stored_value_limit_minor: int
    expiry_warning_days: int


class ProgramPatch(Input):
    points_per_unit: NonNegative | Unset = UNSET
    earn_on_stored_value: bool | Unset = UNSET
    earn_on_points: bool | Unset = UNSET
    pending_days: Annotated[int, msgspec.Meta(ge=0, le=365)] | Unset = UNSET
    points_per_minor_unit: Positive | Unset = UNSET
    min_redeem_points: NonNegative | Unset = UNSET
    max_redeem_share_bp: Annotated[int, msgspec.Meta(ge=0, le=10_000)] | Unset = UNSET
    redeem_step_points: NonNegative | Unset = UNSET
    expiry_policy: Literal["year_end", "months", "never"] | Unset = UNSET
    expiry_months: Annotated[int, msgspec.Meta(ge=1, le=120)] | Unset = UNSET
    stored_value_order: Literal["principal_first", "bonus_first", "proportional"] | Unset = UNSET
    pin_threshold_minor: NonNegative | Unset = UNSET
    daily_spend_limit_minor: NonNegative | Unset = UNSET
    manager_points_limit: NonNegative | Unset = UNSET
    manager_stored_value_limit_minor: NonNegative | Unset = UNSET
    hq_points_limit: NonNegative | Unset = UNSET
    hq_stored_value_limit_minor: NonNegative | Unset = UNSET
    expiry_warning_days: Annotated[int, msgspec.Meta(ge=0, le=365)] | Unset = UNSET


# ------------------------------------------------------------------------------- rules


class EarningRuleIn(Input):
    code: Code
    scope: Literal["sku", "brand", "category"]
    target: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    multiplier_bp: Annotated[int, msgspec.Meta(ge=0, le=100_000)]
    valid_from: dt.datetime
    valid_to: dt.datetime | None = None
    active: bool = True


class EarningRulePatch(Input):
    scope: Literal["sku", "brand", "category"] | Unset = UNSET
    target: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | Unset = UNSET
    multiplier_bp: Annotated[int, msgspec.Meta(ge=0, le=100_000)] | Unset = UNSET
    valid_from: dt.datetime | Unset = UNSET
    valid_to: dt.datetime | Unset | None = UNSET
    active: bool | Unset = UNSET


class EarningRuleOut(Output):
    code: str
    scope: str
    target: str
    multiplier_bp: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    active: bool


class TopUpRuleIn(Input):
    code: Code
    name: Name
    pay_minor: Positive
    bonus_minor: NonNegative
    valid_from: dt.datetime
    valid_to: dt.datetime | None = None
    active: bool = True


class TopUpRulePatch(Input):
    name: Name | Unset = UNSET
    pay_minor: Positive | Unset = UNSET
    bonus_minor: NonNegative | Unset = UNSET
    valid_from: dt.datetime | Unset = UNSET
    valid_to: dt.datetime | Unset | None = UNSET
    active: bool | Unset = UNSET


class TopUpRuleOut(Output):
    code: str
    name: str
    pay_minor: int
    bonus_minor: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    active: bool


class PackageProductIn(Input):
    code: Code
    name: Name
    uses: Annotated[int, msgspec.Meta(ge=1, le=10_000)]
    price_minor: NonNegative
    validity_days: Annotated[int, msgspec.Meta(ge=1, le=3_660)]
    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    store_code: Code | None = None


class PackageProductPatch(Input):
    name: Name | Unset = UNSET
    uses: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | Unset = UNSET
    price_minor: NonNegative | Unset = UNSET
    validity_days: Annotated[int, msgspec.Meta(ge=1, le=3_660)] | Unset = UNSET
    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | Unset | None = UNSET
    store_code: Code | Unset | None = UNSET
    active: bool | Unset = UNSET


class PackageProductOut(Output):
    code: str
    name: str
    sku: str | None
    uses: int
    price_minor: int
    validity_days: int
    store_code: str | None
    active: bool


# ------------------------------------------------------------------- member account views


class PointsBalanceOut(Output):
    balance: int
    spendable: int
    pending: int
    debt: int
    value_minor: int


class StoredValueBalanceOut(Output):
    principal_minor: int
    bonus_minor: int
    total_minor: int


class BalancesOut(Output):
    points: PointsBalanceOut
    stored_value: StoredValueBalanceOut


class LotOut(Output):
    id: int
    points: int
    remaining: int
    available_from: dt.datetime
    expires_on: dt.date | None
    store_code: str | None
    created_at: dt.datetime


class HistoryItemOut(Output):
    ledger: str  # points | stored_value
    id: int
    kind: str
    source_kind: str
    source_id: str
    store_code: str | None
    created_at: dt.datetime
    delta: int | None = None
    balance_after: int | None = None
    principal_delta: int | None = None
    bonus_delta: int | None = None
    principal_after: int | None = None
    bonus_after: int | None = None


class HistoryPage(Output):
    items: list[HistoryItemOut]
    next_cursor: str | None


class ExpiringOut(Output):
    expires_on: dt.date
    points: int


class PackageOut(Output):
    id: int
    name: str
    sku: str | None
    product_code: str | None
    uses_bought: int
    uses_left: int
    price_minor: int
    value_left_minor: int
    valid_until: dt.date
    status: str
    store_code: str | None


class MemberAccountOut(Output):
    member_id: int
    name: str
    phone: str  # masked unless the caller is a manager of the member's store or HQ admin
    home_store_code: str | None
    points: PointsBalanceOut
    stored_value: StoredValueBalanceOut
    lots: list[LotOut]
    points_entries: list[HistoryItemOut]
    stored_value_entries: list[HistoryItemOut]
    packages: list[PackageOut]


class AdjustmentIn(Input):
    adjustment_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    points: Annotated[int, msgspec.Meta(ge=-(10**9), le=10**9)] = 0
    principal_minor: Annotated[int, msgspec.Meta(ge=-(10**12), le=10**12)] = 0
    bonus_minor: Annotated[int, msgspec.Meta(ge=-(10**12), le=10**12)] = 0


class AdjustmentOut(Output):
    adjustment_id: int
    ref: str
    member_id: int
    points_delta: int
    principal_delta: int
    bonus_delta: int
    points_balance_after: int | None
    stored_value_after: int | None
    replayed: bool


class LiabilityLineOut(Output):
    store_code: str | None
    points_outstanding: int
    points_value_minor: int
    stored_value_principal_minor: int
    stored_value_bonus_minor: int
    stored_value_total_minor: int
    packages_unearned_minor: int


class LiabilityOut(Output):
    as_of: dt.date
    cutoff: dt.datetime
    chain: LiabilityLineOut
    points_debt: int | None  # chain-wide only (debt is per member, not per store)
    stores: list[LiabilityLineOut]
