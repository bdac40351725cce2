"""What the terminals post: sales with their lines and payments, refunds, top-ups, the
idempotency record of every mutating request, and offline items refused at upload.

Sales and refunds are records of what happened and are never changed, except a sale line's
``refunded_quantity``, which only grows, by a conditional update that keeps it within the
quantity sold (so several partial refunds, also racing, never refund more than was sold).
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    Bytea,
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
from stores.tables import Staff, Store, Terminal

RESTRICT = OnDelete.restrict


class IdempotencyRecord(Table):
    """One per (terminal, client transaction id), unique; written in the transaction of the
    operation it answers, so the operation and its answer commit together or not at all."""

    terminal = ForeignKey(Terminal, null=False, on_delete=RESTRICT)
    client_txn_id = Varchar(length=64, null=False)
    operation = Varchar(length=16, null=False)  # sale | refund | top_up | registration | card
    request_hash = Varchar(length=64, null=False)
    status_code = Integer(null=False, default=0)  # 0 while the operation is in flight
    response = Bytea(null=True, default=None)
    reference = Varchar(length=32, null=False, default="")  # sale_no, refund_no …
    created_at = Timestamptz()


class TerminalSequence(Table):
    """The last document number a terminal used on a business date (one writer per row: a
    terminal posts one operation at a time, so no contention between tills)."""

    terminal = ForeignKey(Terminal, null=False, on_delete=RESTRICT)
    business_date = Date(null=False)
    last_seq = Integer(null=False, default=0)


class Sale(Table):
    sale_no = Varchar(length=20, unique=True, null=False)
    store = ForeignKey(Store, null=False, on_delete=RESTRICT)
    terminal = ForeignKey(Terminal, null=False, on_delete=RESTRICT)
    cashier = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)
    manager = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)
    member = ForeignKey(Member, null=True, default=None, on_delete=RESTRICT)
    # Whose points and stored value the sale used: the member, or a family card's parent.
    account_member = ForeignKey(Member, null=True, default=None, on_delete=RESTRICT)
    card_number = Varchar(length=20, null=True, default=None)
    client_txn_id = Varchar(length=64, null=False)
    occurred_at = Timestamptz()  # the till's time, in UTC
    received_at = Timestamptz()
    business_date = Date(null=False)  # in the store's zone
    offline = Boolean(default=False, null=False)
    currency = Varchar(length=3, null=False)
    gross_minor = BigInt(null=False)
    discount_minor = BigInt(null=False)
    total_minor = BigInt(null=False)
    change_minor = BigInt(null=False, default=0)
    points_used = BigInt(null=False, default=0)
    points_value_minor = BigInt(null=False, default=0)
    stored_value_minor = BigInt(null=False, default=0)
    points_earned = BigInt(null=False, default=0)
    commission_minor = BigInt(null=False, default=0)
    refunded_minor = BigInt(null=False, default=0)
    # What the pricing engine decided (applied/rejected promotions, reasons) and which
    # earning rules made the points: the sale explains every cent and every point.
    pricing = JSON(default="{}")
    earning = JSON(default="{}")


class SaleLine(Table):
    sale = ForeignKey(Sale, null=False, on_delete=RESTRICT)
    line_no = Integer(null=False)
    sku = Varchar(length=40, null=False)
    name = Varchar(length=200, null=False)
    category_path = Varchar(length=255, null=False, default="")
    brand_code = Varchar(length=32, null=True, default=None)
    quantity = Integer(null=False)
    unit_price_minor = BigInt(null=False)
    list_price_minor = BigInt(null=False)  # the store's price of the day
    gross_minor = BigInt(null=False)
    discount_minor = BigInt(null=False)
    net_minor = BigInt(null=False)
    # The line's share of each tender (largest remainder over the lines' net amounts), so a
    # refund of the line gives back exactly what paid for it.
    points_paid_minor = BigInt(null=False, default=0)
    points_used = BigInt(null=False, default=0)
    stored_value_paid_minor = BigInt(null=False, default=0)
    points_earned = BigInt(null=False, default=0)
    salespeople = JSON(default="[]")  # [[staff_id, share_bp], …]
    adjustments = JSON(default="[]")  # [[promotion_id, amount_minor], …]
    refunded_quantity = Integer(null=False, default=0)


class SalePayment(Table):
    sale = ForeignKey(Sale, null=False, on_delete=RESTRICT)
    method = Varchar(length=16, null=False)
    amount_minor = BigInt(null=False)
    points = BigInt(null=False, default=0)
    reference = Varchar(length=64, null=False, default="")


class Refund(Table):
    refund_no = Varchar(length=20, unique=True, null=False)
    sale = ForeignKey(Sale, null=False, on_delete=RESTRICT)
    store = ForeignKey(Store, null=False, on_delete=RESTRICT)
    terminal = ForeignKey(Terminal, null=False, on_delete=RESTRICT)
    cashier = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)
    manager = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)
    client_txn_id = Varchar(length=64, null=False)
    occurred_at = Timestamptz()
    received_at = Timestamptz()
    business_date = Date(null=False)
    amount_minor = BigInt(null=False)
    points_reversed = BigInt(null=False, default=0)
    points_returned = BigInt(null=False, default=0)
    stored_value_returned_minor = BigInt(null=False, default=0)
    commission_reversed_minor = BigInt(null=False, default=0)
    refund_to = JSON(default="[]")  # [{method, amount_minor, points}]
    reason = Text(default="")


class RefundLine(Table):
    refund = ForeignKey(Refund, null=False, on_delete=RESTRICT)
    sale_line = ForeignKey(SaleLine, null=False, on_delete=RESTRICT)
    line_no = Integer(null=False)
    quantity = Integer(null=False)
    amount_minor = BigInt(null=False)
    points_paid_minor = BigInt(null=False, default=0)
    points_used = BigInt(null=False, default=0)
    stored_value_minor = BigInt(null=False, default=0)
    points_earned = BigInt(null=False, default=0)


class TopUp(Table):
    top_up_no = Varchar(length=20, unique=True, null=False)
    store = ForeignKey(Store, null=False, on_delete=RESTRICT)
    terminal = ForeignKey(Terminal, null=False, on_delete=RESTRICT)
    cashier = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)
    member = ForeignKey(Member, null=False, on_delete=RESTRICT)
    client_txn_id = Varchar(length=64, null=False)
    method = Varchar(length=16, null=False)
    amount_minor = BigInt(null=False)
    bonus_minor = BigInt(null=False, default=0)
    occurred_at = Timestamptz()
    business_date = Date(null=False)


class OfflineRejection(Table):
    """An operation a till made offline that could not be honoured at upload (say a sale whose
    payments no longer add up): listed for a manager, never booked silently."""

    terminal = ForeignKey(Terminal, null=False, on_delete=RESTRICT)
    store = ForeignKey(Store, null=False, on_delete=RESTRICT)
    batch_id = Varchar(length=64, null=False)
    item_index = Integer(null=False)
    kind = Varchar(length=16, null=False)
    client_txn_id = Varchar(length=64, null=True, default=None)
    code = Varchar(length=64, null=False)
    detail = Text(default="")
    body = JSON(default="{}")
    created_at = Timestamptz()
    resolved_at = Timestamptz(null=True, default=None)
    resolved_by = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)
    resolution = Text(default="")
