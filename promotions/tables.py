"""Tables of promotions and coupons: promotion definitions (the engine's msgspec JSON) with
their status, limits, usage counters and every revision, the stacking policy, coupon batches,
coupons and their redemptions, and the per-sale records that make commits and refunds
idempotent."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    BigInt,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from members.tables import Member
from stores.tables import Staff, Store

RESTRICT = OnDelete.restrict


class Promotion(Table):
    """A promotion as HQ (or a store manager, for their own store) configures it.

    ``definition`` is the engine's ``PromotionDefinition`` encoded by msgspec; ``code`` is its
    ``id``. Limits are None when unlimited; the ``used_*`` counters change only by conditional
    atomic updates in the sale's transaction (``promotions.limits``) and go back on a full
    refund. ``store`` is the owning store of a store manager's promotion (None: chain-wide).
    """

    code = Varchar(length=64, unique=True, null=False)
    name = Varchar(length=100, null=False)
    kind = Varchar(length=32, null=False)
    definition = JSON(null=False)
    # draft: being prepared, never priced; active: live; paused: off for now; ended: for good.
    status = Varchar(length=16, default="draft", null=False)
    store = ForeignKey(Store, null=True, default=None, on_delete=RESTRICT)
    limit_units = BigInt(null=True, default=None)
    limit_budget_minor = BigInt(null=True, default=None)
    limit_per_member_per_day = Integer(null=True, default=None)
    limit_per_member = Integer(null=True, default=None)
    used_units = BigInt(null=False, default=0)
    used_budget_minor = BigInt(null=False, default=0)
    used_sales = BigInt(null=False, default=0)
    version = Integer(null=False, default=1)
    created_by = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class PromotionRevision(Table):
    """What a promotion was (definition and status) from ``effective_from`` until
    ``effective_to`` (None: still so), so a sale uploaded late is priced with the rules valid
    at its own time. Append-only except for closing the open revision."""

    promotion = ForeignKey(Promotion, null=False, on_delete=RESTRICT)
    version = Integer(null=False)
    status = Varchar(length=16, null=False)
    definition = JSON(null=False)
    effective_from = Timestamptz(null=False)
    effective_to = Timestamptz(null=True, default=None)


class PromotionSettings(Table):
    """One row (id 1): the stacking policy, and the generation every process compares its
    cache of active promotions with (raised on every change HQ makes and on a sell-out)."""

    exclusive_groups = JSON(null=False, default="[]")
    max_combinations = Integer(null=False, default=256)
    generation = BigInt(null=False, default=0)
    changed_at = Timestamptz()


class PromotionSale(Table):
    """A sale whose promotions and coupons were committed (idempotency key ``sale_ref``)."""

    sale_ref = Varchar(length=64, unique=True, null=False)
    member = ForeignKey(Member, null=True, default=None, on_delete=RESTRICT)
    store = ForeignKey(Store, null=False, on_delete=RESTRICT)
    business_date = Date(null=False)
    at = Timestamptz(null=False)
    reversed_by = Varchar(length=64, null=True, default=None)
    reversed_at = Timestamptz(null=True, default=None)


class PromotionUse(Table):
    """One promotion applied in one sale: the units and amount it consumed of its limits."""

    promotion = ForeignKey(Promotion, null=False, on_delete=RESTRICT)
    sale = ForeignKey(PromotionSale, null=False, on_delete=RESTRICT)
    member = ForeignKey(Member, null=True, default=None, on_delete=RESTRICT)
    business_date = Date(null=False)
    units = BigInt(null=False)
    amount_minor = BigInt(null=False)
    at = Timestamptz(null=False)
    reversed_at = Timestamptz(null=True, default=None)


class PromotionMemberUsage(Table):
    """How often a member used a promotion: per business day (``period`` ``day:YYYY-MM-DD``)
    and over the whole promotion (``period`` ``all``); unique by (promotion, member, period)."""

    promotion = ForeignKey(Promotion, null=False, on_delete=RESTRICT)
    member = ForeignKey(Member, null=False, on_delete=RESTRICT)
    period = Varchar(length=16, null=False)
    uses = Integer(null=False, default=0)


class PromotionRefund(Table):
    """A refund seen by promotions (idempotency key ``refund_ref``)."""

    refund_ref = Varchar(length=64, unique=True, null=False)
    sale_ref = Varchar(length=64, null=False)
    full = Varchar(length=8, null=False)  # full | partial
    at = Timestamptz(null=False)


class CouponBatch(Table):
    """A batch of coupons sharing one offer: face value (``amount_off``), a percentage
    (``percent_off``, optionally capped) or a gift; minimum spend, item targeting (the
    engine's ``Targeting`` JSON), store/region scope, validity (UTC instants) and uses."""

    code = Varchar(length=32, unique=True, null=False)
    name = Varchar(length=100, null=False)
    name_zh = Varchar(length=100, default="")
    kind = Varchar(length=16, null=False)  # amount_off | percent_off | gift
    amount_off_minor = BigInt(null=False, default=0)
    percent_off_bp = Integer(null=False, default=0)
    cap_minor = BigInt(null=True, default=None)
    minimum_spend_minor = BigInt(null=False, default=0)
    gift_sku = Varchar(length=40, null=True, default=None)
    gift_quantity = Integer(null=False, default=1)
    gift_value_minor = BigInt(null=False, default=0)
    targeting = JSON(null=False, default="{}")
    store_codes = JSON(null=False, default="[]")
    region_codes = JSON(null=False, default="[]")
    valid_from = Timestamptz(null=False)
    valid_to = Timestamptz(null=False)
    max_uses = Integer(null=False, default=1)  # per coupon; 1 = single-use
    status = Varchar(length=16, default="active", null=False)  # active | withdrawn
    issued = Integer(null=False, default=0)
    created_by = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)
    created_at = Timestamptz()


class Coupon(Table):
    """One coupon: an unguessable code with a check character, issued to a member or to
    the bearer; ``uses`` goes up by conditional update, never past ``max_uses``."""

    code = Varchar(length=16, unique=True, null=False)
    batch = ForeignKey(CouponBatch, null=False, on_delete=RESTRICT)
    member = ForeignKey(Member, null=True, default=None, on_delete=RESTRICT)
    max_uses = Integer(null=False, default=1)
    uses = Integer(null=False, default=0)
    issue_ref = Varchar(length=64, null=True, default=None)
    issued_at = Timestamptz()


class CouponRedemption(Table):
    """A coupon used by a sale (unique by coupon and sale); reinstated by a full refund."""

    coupon = ForeignKey(Coupon, null=False, on_delete=RESTRICT)
    sale_ref = Varchar(length=64, null=False)
    member = ForeignKey(Member, null=True, default=None, on_delete=RESTRICT)
    store = ForeignKey(Store, null=False, on_delete=RESTRICT)
    amount_minor = BigInt(null=False)
    at = Timestamptz(null=False)
    reversed_by = Varchar(length=64, null=True, default=None)
    reversed_at = Timestamptz(null=True, default=None)


class CouponMove(Table):
    """A member merge that moved coupons (idempotency key ``merge_ref``)."""

    merge_ref = Varchar(length=64, unique=True, null=False)
    survivor = ForeignKey(Member, null=False, on_delete=RESTRICT)
    merged = ForeignKey(Member, null=False, on_delete=RESTRICT)
    coupons = Integer(null=False)
    at = Timestamptz(null=False)
