"""Tables of salesperson commission: HQ's rules, monthly periods per store, the sales and
refunds commission has seen, the append-only commission entries, the running level tallies,
sales targets and shared-pool (公佣) weights.

Composite unique keys are raw ``CREATE UNIQUE INDEX`` steps in their own migration (see
``piccolo_migrations``). Sales and refunds are referenced by their document numbers
(``sale_ref``/``refund_ref``): the POS gateway owns those tables and calls in here.
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
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from stores.tables import Brand, Category, Product, Region, Staff, Store

RESTRICT = OnDelete.restrict


class CommissionRule(Table):
    """What a sale line earns, for business dates ``valid_from``..``valid_until``.

    Scope: at most one of store/region (none: chain-wide) and any of product, brand, category
    (none: the default for its store/region/chain). The terms never change once created (a
    late offline sale is paid by the terms of its own day): to change them, end the rule with
    ``valid_until`` and add a new one.
    """

    code = Varchar(length=32, unique=True, null=False)
    name = Varchar(length=100, null=False)
    valid_from = Date(null=False)
    valid_until = Date(null=True, default=None)  # inclusive; None: open-ended
    store = ForeignKey(Store, null=True, default=None, on_delete=RESTRICT)
    region = ForeignKey(Region, null=True, default=None, on_delete=RESTRICT)
    category = ForeignKey(Category, null=True, default=None, on_delete=RESTRICT)
    brand = ForeignKey(Brand, null=True, default=None, on_delete=RESTRICT)
    product = ForeignKey(Product, null=True, default=None, on_delete=RESTRICT)
    basis = Varchar(length=16, null=False, default="rate")  # rate | per_unit
    rate_bp = Integer(null=False, default=0)
    amount_per_unit_minor = BigInt(null=False, default=0)
    exclude_points_paid = Boolean(null=False, default=False)
    pool_share_bp = Integer(null=False, default=0)  # the part of it to the store's pool (公佣)
    level_mode = Varchar(length=16, null=False, default="flat")  # flat | marginal | whole
    # [{"above_minor": 0, "rate_bp": 200}, {"above_minor": 5000000, "rate_bp": 300}]
    levels = JSON(null=False, default="[]")
    created_at = Timestamptz()
    created_by = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)
    updated_at = Timestamptz()


class CommissionRulesVersion(Table):
    """One row whose random ``token`` changes with every rule change: each process caches
    the rules and reloads them when the token it reads with a sale's period differs."""

    token = Varchar(length=32, null=False)
    changed_at = Timestamptz()


class CommissionPeriod(Table):
    """A store's commission month (in the store's zone). Closed once, then never changes."""

    store = ForeignKey(Store, null=False, on_delete=RESTRICT)
    month_start = Date(null=False)
    status = Varchar(length=16, null=False, default="open")  # open | closed
    closed_at = Timestamptz(null=True, default=None)
    closed_by = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)
    # The period's figures frozen at close, so ``verify`` can prove they never changed.
    sales_minor = BigInt(null=False, default=0)
    commission_minor = BigInt(null=False, default=0)
    personal_minor = BigInt(null=False, default=0)
    pool_minor = BigInt(null=False, default=0)
    pool_paid_minor = BigInt(null=False, default=0)
    entry_count = Integer(null=False, default=0)
    created_at = Timestamptz()


class CommissionSale(Table):
    """A sale commission has recorded (unique by ``sale_ref``: the idempotency claim)."""

    sale_ref = Varchar(length=64, unique=True, null=False)
    store = ForeignKey(Store, null=False, on_delete=RESTRICT)
    business_date = Date(null=False)
    occurred_at = Timestamptz()
    net_minor = BigInt(null=False, default=0)
    line_count = Integer(null=False, default=0)
    recorded_at = Timestamptz()


class CommissionRefund(Table):
    """A refund commission has reversed (unique by ``refund_ref``)."""

    refund_ref = Varchar(length=64, unique=True, null=False)
    sale_ref = Varchar(length=64, null=False, index=True)
    store = ForeignKey(Store, null=False, on_delete=RESTRICT)
    business_date = Date(null=False)
    occurred_at = Timestamptz()
    recorded_at = Timestamptz()


class CommissionEntry(Table):
    """One salesperson's commission on one sale line, its reversal by a refund, their
    whole-amount level true-up at close, or their share of the store's pool at close.
    Append-only: corrections are new entries.

    ``staff`` is None only for a line sold by nobody: all of its commission is pool.
    ``commission_minor`` = ``personal_minor`` + ``pool_minor``; what a person is paid is
    their ``personal_minor`` plus their ``pool_share_minor`` (pool_share entries only).
    """

    period = ForeignKey(CommissionPeriod, null=False, on_delete=RESTRICT)
    store = ForeignKey(Store, null=False, on_delete=RESTRICT)
    staff = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)
    kind = Varchar(length=16, null=False)  # sale | refund | level_true_up | pool_share
    # sale_ref, refund_ref, "close:<period>:<rule>" (level_true_up), "close:<period>"
    source_ref = Varchar(length=64, null=False)
    sale_ref = Varchar(length=64, null=False, default="")
    # True when it landed in a later period than its own because that one was closed.
    adjustment = Boolean(null=False, default=False)
    line_no = Integer(null=False, default=0)
    sku = Varchar(length=40, null=False, default="")
    quantity = Integer(null=False, default=0)  # the line's quantity; negative on a refund
    share_bp = Integer(null=False, default=0)
    sales_minor = BigInt(null=False, default=0)
    base_minor = BigInt(null=False, default=0)
    rule = ForeignKey(CommissionRule, null=True, default=None, on_delete=RESTRICT)
    rate_bp = Integer(null=False, default=0)
    amount_per_unit_minor = BigInt(null=False, default=0)
    level = Integer(null=False, default=0)  # 1-based level reached; 0: the rule has none
    commission_minor = BigInt(null=False, default=0)
    personal_minor = BigInt(null=False, default=0)
    pool_minor = BigInt(null=False, default=0)
    pool_share_minor = BigInt(null=False, default=0)
    business_date = Date(null=False)
    occurred_at = Timestamptz()
    recorded_at = Timestamptz()


class CommissionTally(Table):
    """Net sales so far in a period per salesperson: the basis of levels. Always equals the
    sum of the person's entries' ``sales_minor`` in the period; its row is also the lock that
    serialises two sales of the same salesperson. Lines sold by nobody keep no tally."""

    period = ForeignKey(CommissionPeriod, null=False, on_delete=RESTRICT)
    staff_key = Integer(null=False)
    sales_minor = BigInt(null=False, default=0)


class CommissionTarget(Table):
    """A month's sales target of a store (``staff`` None) or of one salesperson in it."""

    store = ForeignKey(Store, null=False, on_delete=RESTRICT)
    staff = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)
    month_start = Date(null=False)
    target_minor = BigInt(null=False)
    updated_at = Timestamptz()
    updated_by = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)


class CommissionPoolShare(Table):
    """How a store's shared pool is split at close: a weight per person (hours, points or
    plain shares). A store with none splits equally among those who sold in the period."""

    store = ForeignKey(Store, null=False, on_delete=RESTRICT)
    staff = ForeignKey(Staff, null=False, on_delete=RESTRICT)
    weight = Integer(null=False)
    updated_at = Timestamptz()
