"""Tables of the ledgers: points and stored-value accounts with append-only entries, points
lots (for pending points and expiry), top-ups with their bonus, earning and top-up-bonus
rules, the program's settings, prepaid service packages, and manual adjustments.

Every balance column is updated in the same transaction as the entry that explains it, so
``balance = sum(entries)`` holds at every commit; ``memberpos verify`` proves it.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from members.tables import Member
from stores.tables import Staff, Store

RESTRICT = OnDelete.restrict


class LoyaltyProgram(Table):
    """The chain's loyalty settings (one row, id 1); HQ changes them, audited."""

    # Earning: points per 100 minor units (1 yuan) of qualifying spend, rounded down.
    points_per_unit = Integer(default=1, null=False)
    earn_on_stored_value = Boolean(default=True, null=False)
    earn_on_points = Boolean(default=False, null=False)
    pending_days = Integer(default=0, null=False)
    # Redeeming: how many points make one minor unit (100 points = 1 yuan → 1 point/fen).
    points_per_minor_unit = Integer(default=1, null=False)
    min_redeem_points = Integer(default=100, null=False)
    max_redeem_share_bp = Integer(default=5_000, null=False)
    redeem_step_points = Integer(default=100, null=False)  # whole yuan only
    # Expiry: "months" (N months after earning) or "year_end" (end of the following year).
    expiry_policy = Varchar(length=16, default="year_end", null=False)
    expiry_months = Integer(default=12, null=False)
    # Stored value.
    stored_value_order = Varchar(length=16, default="principal_first", null=False)
    pin_threshold_minor = BigInt(default=20_000, null=False)
    daily_spend_limit_minor = BigInt(default=0, null=False)  # 0 = no limit
    # Manual adjustments: the most one adjustment may move, per role (absolute values).
    manager_points_limit = BigInt(default=5_000, null=False)
    manager_stored_value_limit_minor = BigInt(default=50_000, null=False)
    hq_points_limit = BigInt(default=1_000_000, null=False)
    hq_stored_value_limit_minor = BigInt(default=10_000_000, null=False)
    # Members are warned this many days before points expire (0 = no warning).
    expiry_warning_days = Integer(default=30, null=False)
    updated_at = Timestamptz()


class PointsAccount(Table):
    member = ForeignKey(Member, unique=True, null=False, on_delete=RESTRICT)
    balance = BigInt(default=0, null=False)
    # Points taken back by refunds after they were spent: later earning repays them first.
    debt = BigInt(default=0, null=False)
    updated_at = Timestamptz()


class PointsEntry(Table):
    account = ForeignKey(PointsAccount, null=False, on_delete=RESTRICT)
    delta = BigInt(null=False)
    # earn | spend | earn_reversal | spend_return | expire | adjust | merge_in | merge_out
    kind = Varchar(length=20, null=False)
    source_kind = Varchar(length=20, null=False)  # sale | refund | adjustment | job | merge
    source_id = Varchar(length=64, null=False)
    balance_after = BigInt(null=False)
    # The posting this one reverses or gives back ("sale:S123"), for refunds.
    reverses = Varchar(length=80, null=True, default=None)
    store = ForeignKey(Store, null=True, default=None, on_delete=RESTRICT)
    staff = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)
    detail = JSON(default="{}")
    created_at = Timestamptz()


class PointsLot(Table):
    """Points earned together, spendable from ``available_from`` until ``expires_on``."""

    account = ForeignKey(PointsAccount, null=False, on_delete=RESTRICT)
    entry = ForeignKey(PointsEntry, null=False, on_delete=RESTRICT)
    points = BigInt(null=False)
    remaining = BigInt(null=False)
    available_from = Timestamptz()
    expires_on = Date(null=True, default=None)
    store = ForeignKey(Store, null=True, default=None, on_delete=RESTRICT)
    created_at = Timestamptz()


class PointsLotUse(Table):
    """Which lot an entry took points from (or gave them back to): refunds restore the lots
    a spend consumed, and expiry knows what is left."""

    lot = ForeignKey(PointsLot, null=False, on_delete=RESTRICT)
    entry = ForeignKey(PointsEntry, null=False, on_delete=RESTRICT)
    points = BigInt(null=False)  # negative: taken from the lot; positive: given back


class StoredValueAccount(Table):
    member = ForeignKey(Member, unique=True, null=False, on_delete=RESTRICT)
    principal = BigInt(default=0, null=False)  # money the member paid in
    bonus = BigInt(default=0, null=False)  # money the chain gave
    updated_at = Timestamptz()


class StoredValueEntry(Table):
    account = ForeignKey(StoredValueAccount, null=False, on_delete=RESTRICT)
    principal_delta = BigInt(null=False)
    bonus_delta = BigInt(null=False)
    # top_up | spend | spend_return | top_up_refund | adjust | merge_in | merge_out
    kind = Varchar(length=20, null=False)
    source_kind = Varchar(length=20, null=False)
    source_id = Varchar(length=64, null=False)
    principal_after = BigInt(null=False)
    bonus_after = BigInt(null=False)
    reverses = Varchar(length=80, null=True, default=None)
    store = ForeignKey(Store, null=True, default=None, on_delete=RESTRICT)
    staff = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)
    business_date = Date(null=True, default=None)
    created_at = Timestamptz()


class TopUpRule(Table):
    """Pay ``pay_minor`` or more, get ``bonus_minor`` (pay 500 get 50), time-ranged; the
    highest tier of rule the amount reaches applies."""

    code = Varchar(length=32, unique=True, null=False)
    name = Varchar(length=100, null=False)
    pay_minor = BigInt(null=False)
    bonus_minor = BigInt(null=False)
    valid_from = Timestamptz()
    valid_to = Timestamptz(null=True, default=None)
    active = Boolean(default=True, null=False)


class EarningRule(Table):
    """A multiplier (or exclusion, multiplier 0) on the base earning rate for a SKU, brand
    or category subtree, time-ranged. The most specific rule wins: SKU, brand, category."""

    code = Varchar(length=32, unique=True, null=False)
    scope = Varchar(length=16, null=False)  # sku | brand | category
    target = Varchar(length=64, null=False)
    multiplier_bp = Integer(null=False, default=10_000)  # 0 excludes
    valid_from = Timestamptz()
    valid_to = Timestamptz(null=True, default=None)
    active = Boolean(default=True, null=False)


class ServicePackageProduct(Table):
    """What HQ sells as a package: N uses of a service or SKU for a price, valid for a number
    of days from the sale, optionally at one store only."""

    code = Varchar(length=32, unique=True, null=False)
    name = Varchar(length=100, null=False)
    sku = Varchar(length=40, null=True, default=None)
    uses = Integer(null=False)
    price_minor = BigInt(null=False)
    validity_days = Integer(null=False)
    store = ForeignKey(Store, null=True, default=None, on_delete=RESTRICT)  # None: any
    active = Boolean(default=True, null=False)
    created_at = Timestamptz()


class ServicePackage(Table):
    """Prepaid uses of a service or product (ten car washes): 次卡 / 项目储值."""

    member = ForeignKey(Member, null=False, on_delete=RESTRICT)
    product = ForeignKey(ServicePackageProduct, null=True, default=None, on_delete=RESTRICT)
    name = Varchar(length=100, null=False)
    sku = Varchar(length=40, null=True, default=None)
    uses_bought = Integer(null=False)
    uses_left = Integer(null=False)
    price_minor = BigInt(null=False)
    valid_until = Date(null=False)
    store = ForeignKey(Store, null=True, default=None, on_delete=RESTRICT)  # None: any
    status = Varchar(length=16, default="active", null=False)
    source_id = Varchar(length=64, unique=True, null=False)
    created_at = Timestamptz()


class ServicePackageEntry(Table):
    package = ForeignKey(ServicePackage, null=False, on_delete=RESTRICT)
    uses_delta = Integer(null=False)
    # purchase | use | use_return | refund | expire | merge_in | merge_out
    kind = Varchar(length=16, null=False)
    source_kind = Varchar(length=20, null=False)
    source_id = Varchar(length=64, null=False)
    # Change of the package's unearned value (the chain's liability): + on purchase, − on a
    # use (revenue), refund (cash back) or expiry; the package's value left = sum of these.
    amount_minor = BigInt(default=0, null=False)
    store = ForeignKey(Store, null=True, default=None, on_delete=RESTRICT)
    created_at = Timestamptz()


class Adjustment(Table):
    """A manager's manual correction, with the reason; its entries point back here."""

    # The caller's adjustment id: posting the same one twice changes nothing (unique index).
    ref = Varchar(length=64, null=False, default="")
    member = ForeignKey(Member, null=False, on_delete=RESTRICT)
    staff = ForeignKey(Staff, null=False, on_delete=RESTRICT)
    store = ForeignKey(Store, null=True, default=None, on_delete=RESTRICT)
    points_delta = BigInt(default=0, null=False)
    principal_delta = BigInt(default=0, null=False)
    bonus_delta = BigInt(default=0, null=False)
    reason = Text(null=False)
    created_at = Timestamptz()


class ExpiryWarning(Table):
    """A member was warned (outbox) that points expire on ``expires_on``; one row per account
    and date, so the nightly job warns once."""

    account = ForeignKey(PointsAccount, null=False, on_delete=RESTRICT)
    expires_on = Date(null=False)
    points = BigInt(null=False)
    created_at = Timestamptz()
