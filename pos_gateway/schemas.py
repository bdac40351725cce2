"""What crosses the terminal boundary: requests and answers of ``/api/v1/pos``.

Money is an integer of minor units, points an integer. Every mutating request carries the
terminal's ``client_txn_id`` (1–64 characters of ``[A-Za-z0-9._:-]``, unique per terminal
for the life of the terminal) and, for sales and refunds, ``local_time``: the wall-clock time
at the till in the store's zone (an offline sale is priced with the rules of that time).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

TxnId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
Sku = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=100_000)]
Minor = Annotated[int, msgspec.Meta(ge=0, le=10**12)]
PositiveMinor = Annotated[int, msgspec.Meta(ge=1, le=10**12)]
ShareBp = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]

PaymentMethod = Literal["cash", "bank_card", "stored_value", "points", "other"]
ReceiptFormat = Literal["none", "text", "escpos"]


class Struct(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=False, kw_only=True):
    """A request: an unknown field is a 400 naming it."""


class Out(msgspec.Struct, kw_only=True):
    """An answer: tills decode it leniently, so a field added later breaks no older till."""


# ------------------------------------------------------------------------------ requests


class MemberIn(Struct):
    """How the cashier identified the member: exactly one of the three."""

    card_number: str | None = None
    qr_token: str | None = None
    phone: str | None = None


class SalespersonIn(Struct):
    employee_no: Code
    share_bp: ShareBp | None = None  # None for all: equal shares


class LineIn(Struct):
    sku: Sku
    quantity: Quantity
    # The price as rung up. Omitted: the store's price of the day. A different price is a
    # price override and needs a manager's authorisation.
    unit_price_minor: Minor | None = None
    salespeople: list[SalespersonIn] = []


class ManualDiscountIn(Struct):
    line_no: int | None = None  # 1-based position in ``lines``; None: the whole basket
    percent_off_bp: ShareBp | None = None
    amount_off_minor: PositiveMinor | None = None
    note: str = ""


class PaymentIn(Struct):
    method: PaymentMethod
    amount_minor: PositiveMinor
    points: Annotated[int, msgspec.Meta(ge=1)] | None = None  # required for method "points"
    reference: Annotated[str, msgspec.Meta(max_length=64)] = ""


class ManagerIn(Struct):
    employee_no: Code
    pin: Annotated[str, msgspec.Meta(min_length=4, max_length=12)]


class ReceiptIn(Struct):
    format: ReceiptFormat = "none"
    columns: Literal[32, 48] = 48
    locale: Literal["zh-CN", "en"] = "zh-CN"


class QuoteIn(Struct):
    lines: Annotated[list[LineIn], msgspec.Meta(min_length=1, max_length=500)]
    member: MemberIn | None = None
    coupons: list[Code] = []
    manual_discounts: list[ManualDiscountIn] = []
    local_time: dt.datetime | None = None  # None: now
    cashier_employee_no: Code | None = None


class SaleIn(Struct):
    client_txn_id: TxnId
    local_time: dt.datetime
    lines: Annotated[list[LineIn], msgspec.Meta(min_length=1, max_length=500)]
    payments: Annotated[list[PaymentIn], msgspec.Meta(min_length=1, max_length=20)]
    member: MemberIn | None = None
    coupons: list[Code] = []
    manual_discounts: list[ManualDiscountIn] = []
    cashier_employee_no: Code | None = None
    payment_pin: Annotated[str, msgspec.Meta(min_length=4, max_length=12)] | None = None
    manager: ManagerIn | None = None
    # The total the till showed the customer; when given and the server prices the basket
    # differently the sale is refused (price_changed) instead of booked at another amount.
    expected_total_minor: Minor | None = None
    offline: bool = False
    receipt: ReceiptIn = msgspec.field(default_factory=ReceiptIn)


class RefundLineIn(Struct):
    line_no: Annotated[int, msgspec.Meta(ge=1)]
    quantity: Quantity


class RefundIn(Struct):
    client_txn_id: TxnId
    local_time: dt.datetime
    sale_no: Code
    lines: list[RefundLineIn] = []  # empty: everything not yet refunded
    manager: ManagerIn | None = None
    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""
    cashier_employee_no: Code | None = None
    receipt: ReceiptIn = msgspec.field(default_factory=ReceiptIn)


class TopUpIn(Struct):
    client_txn_id: TxnId
    local_time: dt.datetime
    member: MemberIn
    amount_minor: PositiveMinor
    method: Literal["cash", "bank_card", "other"] = "cash"
    cashier_employee_no: Code | None = None
    receipt: ReceiptIn = msgspec.field(default_factory=ReceiptIn)


class ConsentIn(Struct):
    sms: bool = False
    email: bool = False
    push: bool = False


class RegistrationIn(Struct):
    client_txn_id: TxnId
    phone: Annotated[str, msgspec.Meta(min_length=5, max_length=24)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
    birthday: dt.date | None = None
    gender: Literal["female", "male", "other"] | None = None
    email: Annotated[str, msgspec.Meta(max_length=120)] | None = None
    consent: ConsentIn = msgspec.field(default_factory=ConsentIn)
    referrer_card_number: str | None = None
    payment_pin: (
        Annotated[str, msgspec.Meta(min_length=6, max_length=6, pattern=r"^\d{6}$")] | None
    ) = None
    physical_card_number: str | None = None  # a pre-printed card handed over; None: virtual
    cashier_employee_no: Code | None = None


class CardOperationIn(Struct):
    client_txn_id: TxnId
    action: Literal["report_lost", "freeze", "unfreeze", "replace"]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    new_card_number: str | None = None  # replace with a pre-printed card; None: virtual
    manager: ManagerIn | None = None
    cashier_employee_no: Code | None = None


class PackageSaleIn(Struct):
    """A prepaid service package (次卡) bought at the counter, paid in cash or by card."""

    client_txn_id: TxnId
    local_time: dt.datetime
    member: MemberIn
    product_code: Code
    method: Literal["cash", "bank_card", "other"] = "cash"
    cashier_employee_no: Code | None = None


class PackageUseIn(Struct):
    client_txn_id: TxnId
    local_time: dt.datetime
    member: MemberIn
    package_id: Annotated[int, msgspec.Meta(ge=1)]
    uses: Annotated[int, msgspec.Meta(ge=1, le=100)] = 1
    cashier_employee_no: Code | None = None


class PackageRefundIn(Struct):
    client_txn_id: TxnId
    local_time: dt.datetime
    member: MemberIn
    package_id: Annotated[int, msgspec.Meta(ge=1)]
    manager: ManagerIn
    uses: Annotated[int, msgspec.Meta(ge=1)] | None = None  # None: every unused use
    cashier_employee_no: Code | None = None


class BatchItemIn(Struct):
    kind: Literal["sale", "refund", "top_up"]
    body: dict  # the request of that kind, as it would have been posted online


class BatchIn(Struct):
    batch_id: TxnId
    items: Annotated[list[BatchItemIn], msgspec.Meta(min_length=1, max_length=1000)]


class ResolutionIn(Struct):
    resolution: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


# ------------------------------------------------------------------------------- answers


class MemberView(Out):
    """What a cashier may see of a member."""

    member_id: int
    card_number: str | None
    name: str
    masked_phone: str
    tier_code: str | None
    tier_name: str | None
    points_balance: int
    points_spendable: int
    points_value_minor: int
    stored_value_minor: int
    stored_value_principal_minor: int
    stored_value_bonus_minor: int
    family_parent: bool = False  # points earn into, and stored value comes from, a parent


class PricedLineOut(Out):
    line_no: int
    sku: str
    name: str
    quantity: int
    unit_price_minor: int
    gross_minor: int
    discount_minor: int
    net_minor: int
    points: int
    adjustments: list[dict]  # [{promotion_id, amount_minor}]


class PromotionOut(Out):
    promotion_id: str
    name: str
    amount_minor: int
    reason: str
    coupon_code: str | None = None


class QuoteOut(Out):
    currency: str
    lines: list[PricedLineOut]
    applied: list[PromotionOut]
    not_applied: list[dict]  # [{promotion_id, code, reason}]
    gifts: list[dict]  # [{sku, quantity, promotion_id}]
    gross_minor: int
    discount_minor: int
    total_minor: int
    points_to_earn: int
    member: MemberView | None
    max_points_redeemable: int  # points the member may pay with on this basket
    max_points_value_minor: int


class BalancesOut(Out):
    points_balance: int
    points_spendable: int
    points_pending: int
    stored_value_minor: int
    stored_value_principal_minor: int
    stored_value_bonus_minor: int


class SaleOut(Out):
    sale_no: str
    client_txn_id: str
    business_date: str
    occurred_at: str
    currency: str
    lines: list[PricedLineOut]
    applied: list[PromotionOut]
    gross_minor: int
    discount_minor: int
    total_minor: int
    payments: list[dict]  # [{method, amount_minor, points?}]
    change_minor: int
    points_earned: int
    points_available_from: str | None
    points_used: int
    stored_value_used_minor: int
    member: MemberView | None
    balances: BalancesOut | None
    commission_minor: int
    tier_change: dict | None
    receipt_text: str | None = None
    receipt_escpos_b64: str | None = None


class RefundOut(Out):
    refund_no: str
    sale_no: str
    client_txn_id: str
    business_date: str
    lines: list[dict]  # [{line_no, sku, quantity, amount_minor}]
    amount_minor: int
    refund_to: list[dict]  # [{method, amount_minor, points?}] what goes back how
    points_reversed: int
    points_returned: int
    stored_value_returned_minor: int
    commission_reversed_minor: int
    balances: BalancesOut | None
    fully_refunded: bool
    receipt_text: str | None = None
    receipt_escpos_b64: str | None = None


class TopUpOut(Out):
    top_up_no: str
    client_txn_id: str
    amount_minor: int
    bonus_minor: int
    member: MemberView
    receipt_text: str | None = None
    receipt_escpos_b64: str | None = None


class RegistrationOut(Out):
    member_id: int
    created: bool  # False: the phone was already a member; this is them
    card_number: str | None
    member: MemberView


class CardOperationOut(Out):
    card_number: str
    status: str
    new_card_number: str | None = None


class PackageOut(Out):
    reference: str
    client_txn_id: str
    package_id: int
    kind: str  # sale | use | refund
    uses_delta: int
    amount_minor: int  # paid (sale), value used (use), handed back (refund, positive)
    uses_left: int
    value_left_minor: int


class BatchItemOut(Out):
    index: int
    kind: str
    client_txn_id: str | None
    outcome: Literal["applied", "replayed", "rejected"]
    status: int
    answer: dict | None = None  # the answer it would have had online
    error: dict | None = None  # problem details: code, title, detail


class BatchOut(Out):
    batch_id: str
    applied: int
    replayed: int
    rejected: int
    items: list[BatchItemOut]
