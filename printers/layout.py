"""Receipts and slips as data, and their layout as a list of print operations.

The documents here (sale receipt, top-up, card issue, refund, end-of-day Z summary) are what
``pos_gateway`` hands the printers; ``layout_document`` turns one into print operations for a
paper width in columns, which both the ESC/POS renderer and the previews consume.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from memberpos.money import format_money
from printers.columns import Align, display_width, pad, printable_text, table_row, two_sides, wrap

Locale = Literal["zh-CN", "en"]
PaymentKind = Literal["cash", "bank_card", "stored_value", "points", "coupon", "other"]
PAYMENT_KINDS: frozenset[str] = frozenset(get_args(PaymentKind))
TextSize = Literal["normal", "double_height", "double"]
DocumentKind = Literal["receipt", "top_up", "card_issue", "refund", "end_of_day", "test_page"]

# Below this many columns the item table does not fit on one row; items go on several lines.
WIDE_LAYOUT_COLUMNS = 40
# An item table whose name column would be narrower than this is not worth it either.
MINIMUM_NAME_COLUMNS = 12


# --- print operations -----------------------------------------------------------------------


class TextLine(msgspec.Struct, frozen=True, kw_only=True, tag="text"):
    """One printed line. Its text fits the paper: ``columns`` display columns, or half of
    them when ``size`` is ``"double"`` (double width)."""

    text: str
    bold: bool = False
    size: TextSize = "normal"
    align: Align = "left"


class QrCode(msgspec.Struct, frozen=True, kw_only=True, tag="qr"):
    payload: str


class Barcode(msgspec.Struct, frozen=True, kw_only=True, tag="barcode"):
    """A CODE128 barcode of ``data`` (printable ASCII, without the ``{B`` code-set prefix)."""

    data: str


class Feed(msgspec.Struct, frozen=True, kw_only=True, tag="feed"):
    lines: int = 1


class Cut(msgspec.Struct, frozen=True, kw_only=True, tag="cut"):
    pass


class OpenDrawer(msgspec.Struct, frozen=True, kw_only=True, tag="drawer"):
    pass


PrintOp = TextLine | QrCode | Barcode | Feed | Cut | OpenDrawer


# --- documents --------------------------------------------------------------------------------


class _Model(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


def _require_aware(moment: datetime, field: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{field} must be a time-zone-aware datetime")


class Store(_Model, kw_only=True):
    code: str
    name: str
    address: str = ""
    phone: str = ""
    time_zone: str = "Asia/Shanghai"
    """IANA name; every time on paper is shown in the store's own zone."""

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"time_zone {self.time_zone!r} is not a known IANA zone") from error


class Discount(_Model, kw_only=True):
    reason: str
    amount_minor: int
    """How much was taken off, as a positive amount."""


class ReceiptLine(_Model, kw_only=True):
    name: str
    sku: str
    quantity: int
    unit_price_minor: int
    line_amount_minor: int
    """What the customer pays for the line, after its own discounts (what a refund returns)."""
    salespeople: tuple[str, ...] = ()
    discounts: tuple[Discount, ...] = ()


class Payment(_Model, kw_only=True):
    kind: PaymentKind
    amount_minor: int
    tendered_minor: int | None = None
    """Cash only: what the customer handed over."""
    change_minor: int | None = None
    reference: str = ""
    """Printed beside the kind: a card's last digits, a voucher code."""


class Totals(_Model, kw_only=True):
    gross_minor: int
    discount_minor: int
    net_minor: int


class Member(_Model, kw_only=True):
    card_number: str
    """The full number; only its last four digits are printed."""
    masked_phone: str
    """Already masked by the caller (138****1234): the full phone never reaches a printer."""
    tier_name: str = ""
    points_earned: int = 0
    points_used: int = 0
    points_balance: int = 0
    stored_value_used_minor: int = 0
    stored_value_balance_minor: int | None = None
    points_expiring: int = 0
    points_expiring_on: date | None = None

    def __post_init__(self) -> None:
        if self.masked_phone and "*" not in self.masked_phone:
            raise ValueError("masked_phone must be masked (138****1234), not a full number")


class Coupon(_Model, kw_only=True):
    code: str
    name: str
    amount_minor: int | None = None
    valid_until: date | None = None


class Receipt(_Model, kw_only=True, tag="receipt"):
    store: Store
    terminal_code: str
    cashier_name: str
    sale_number: str
    sold_at: datetime
    currency: str = "CNY"
    locale: Locale = "zh-CN"
    lines: tuple[ReceiptLine, ...]
    basket_discounts: tuple[Discount, ...] = ()
    totals: Totals
    payments: tuple[Payment, ...]
    member: Member | None = None
    coupons_used: tuple[Coupon, ...] = ()
    coupons_issued: tuple[Coupon, ...] = ()
    member_page_url: str = ""
    """Payload of the QR code: the member's phone page."""

    def __post_init__(self) -> None:
        _require_aware(self.sold_at, "sold_at")


class TopUpSlip(_Model, kw_only=True, tag="top_up"):
    store: Store
    terminal_code: str
    cashier_name: str
    top_up_number: str
    topped_up_at: datetime
    currency: str = "CNY"
    locale: Locale = "zh-CN"
    member: Member
    amount_minor: int
    bonus_minor: int = 0
    payments: tuple[Payment, ...]
    stored_value_balance_minor: int

    def __post_init__(self) -> None:
        _require_aware(self.topped_up_at, "topped_up_at")


class CardIssueSlip(_Model, kw_only=True, tag="card_issue"):
    store: Store
    terminal_code: str
    cashier_name: str
    issued_at: datetime
    currency: str = "CNY"
    locale: Locale = "zh-CN"
    replacement: bool = False
    member: Member
    replaced_card_number: str = ""
    """For a replacement: the lost or damaged card, printed masked like the new one."""
    fee_minor: int = 0
    member_page_url: str = ""

    def __post_init__(self) -> None:
        _require_aware(self.issued_at, "issued_at")


class RefundSlip(_Model, kw_only=True, tag="refund"):
    store: Store
    terminal_code: str
    cashier_name: str
    refund_number: str
    original_sale_number: str
    refunded_at: datetime
    currency: str = "CNY"
    locale: Locale = "zh-CN"
    reason: str = ""
    lines: tuple[ReceiptLine, ...]
    refund_total_minor: int
    refunded_to: tuple[Payment, ...]
    """Where the money went back: cash, the bank card, the stored-value account …"""
    member: Member | None = None
    points_reversed: int = 0
    """Points the original sale earned, taken back."""
    points_returned: int = 0
    """Points the original sale spent, given back."""

    def __post_init__(self) -> None:
        _require_aware(self.refunded_at, "refunded_at")


class PaymentTotal(_Model, kw_only=True):
    kind: PaymentKind
    count: int
    amount_minor: int


class EndOfDaySummary(_Model, kw_only=True, tag="end_of_day"):
    store: Store
    terminal_code: str = ""
    """Empty for the whole store's summary."""
    business_date: date
    printed_at: datetime
    currency: str = "CNY"
    locale: Locale = "zh-CN"
    sales_count: int
    gross_minor: int
    discount_minor: int
    net_minor: int
    by_payment_kind: tuple[PaymentTotal, ...]
    refunds_count: int = 0
    refunds_minor: int = 0
    top_ups_count: int = 0
    top_ups_minor: int = 0
    points_issued: int = 0
    points_redeemed: int = 0
    cash_expected_minor: int | None = None
    """Cash the drawer should hold from the day's business: cash sales, less cash refunds,
    plus cash top-ups. Printed when known."""

    def __post_init__(self) -> None:
        _require_aware(self.printed_at, "printed_at")


Document = Receipt | TopUpSlip | CardIssueSlip | RefundSlip | EndOfDaySummary


# --- labels -----------------------------------------------------------------------------------

LABELS: dict[str, dict[str, str]] = {
    "receipt": {"zh-CN": "购物小票", "en": "SALES RECEIPT"},
    "top_up": {"zh-CN": "储值充值凭条", "en": "TOP-UP SLIP"},
    "card_issue": {"zh-CN": "会员卡开卡凭条", "en": "MEMBER CARD ISSUED"},
    "card_replacement": {"zh-CN": "会员卡补卡凭条", "en": "CARD REPLACEMENT"},
    "refund": {"zh-CN": "退货凭条", "en": "REFUND SLIP"},
    "end_of_day": {"zh-CN": "日结报表 (Z)", "en": "END OF DAY (Z)"},
    "store": {"zh-CN": "门店", "en": "Store"},
    "terminal": {"zh-CN": "收银机", "en": "Till"},
    "all_terminals": {"zh-CN": "全部收银机", "en": "All tills"},
    "cashier": {"zh-CN": "收银员", "en": "Cashier"},
    "sale_number": {"zh-CN": "单号", "en": "Sale No."},
    "time": {"zh-CN": "时间", "en": "Time"},
    "item": {"zh-CN": "商品", "en": "Item"},
    "quantity": {"zh-CN": "数量", "en": "Qty"},
    "unit_price": {"zh-CN": "单价", "en": "Price"},
    "amount": {"zh-CN": "金额", "en": "Amount"},
    "salesperson": {"zh-CN": "导购", "en": "Sales"},
    "item_count": {"zh-CN": "共 {count} 件", "en": "{count} item(s)"},
    "gross": {"zh-CN": "商品总额", "en": "Subtotal"},
    "basket_discount": {"zh-CN": "整单优惠", "en": "Order discount"},
    "discount": {"zh-CN": "优惠合计", "en": "Total discount"},
    "net": {"zh-CN": "应付", "en": "TOTAL"},
    "cash": {"zh-CN": "现金", "en": "Cash"},
    "bank_card": {"zh-CN": "银行卡", "en": "Bank card"},
    "stored_value": {"zh-CN": "储值卡", "en": "Stored value"},
    "points": {"zh-CN": "积分抵扣", "en": "Points"},
    "coupon": {"zh-CN": "优惠券", "en": "Coupon"},
    "other": {"zh-CN": "其他", "en": "Other"},
    "tendered": {"zh-CN": "实收", "en": "Tendered"},
    "change": {"zh-CN": "找零", "en": "Change"},
    "member": {"zh-CN": "会员信息", "en": "MEMBER"},
    "card": {"zh-CN": "卡号", "en": "Card"},
    "phone": {"zh-CN": "手机", "en": "Phone"},
    "tier": {"zh-CN": "等级", "en": "Tier"},
    "points_earned": {"zh-CN": "本次积分", "en": "Points earned"},
    "points_used": {"zh-CN": "使用积分", "en": "Points used"},
    "points_balance": {"zh-CN": "积分余额", "en": "Points balance"},
    "stored_value_used": {"zh-CN": "储值消费", "en": "Stored value used"},
    "stored_value_balance": {"zh-CN": "储值余额", "en": "Stored value balance"},
    "points_expiring": {
        "zh-CN": "{points} 积分将于 {date} 到期",
        "en": "{points} points expire on {date}",
    },
    "coupons_used": {"zh-CN": "已用优惠券", "en": "Coupons used"},
    "coupons_issued": {"zh-CN": "获赠优惠券", "en": "Coupons for next time"},
    "valid_until": {"zh-CN": "有效期至", "en": "valid until"},
    "scan_member_page": {"zh-CN": "扫码查看积分与优惠", "en": "Scan for your points & offers"},
    "thanks": {"zh-CN": "谢谢惠顾，欢迎再次光临", "en": "Thank you, please come again"},
    "top_up_number": {"zh-CN": "充值单号", "en": "Top-up No."},
    "top_up_amount": {"zh-CN": "充值金额", "en": "Top-up"},
    "bonus": {"zh-CN": "赠送金额", "en": "Bonus"},
    "new_card": {"zh-CN": "新卡号", "en": "New card"},
    "old_card": {"zh-CN": "原卡号", "en": "Replaced card"},
    "fee": {"zh-CN": "工本费", "en": "Card fee"},
    "refund_number": {"zh-CN": "退货单号", "en": "Refund No."},
    "original_sale": {"zh-CN": "原单号", "en": "Original sale"},
    "reason": {"zh-CN": "原因", "en": "Reason"},
    "refund_total": {"zh-CN": "退款合计", "en": "REFUND TOTAL"},
    "refunded_to": {"zh-CN": "退款方式", "en": "Refunded to"},
    "points_reversed": {"zh-CN": "扣回积分", "en": "Points reversed"},
    "points_returned": {"zh-CN": "退回积分", "en": "Points returned"},
    "signature": {"zh-CN": "顾客签名", "en": "Customer signature"},
    "business_date": {"zh-CN": "营业日", "en": "Business date"},
    "printed_at": {"zh-CN": "打印时间", "en": "Printed"},
    "sales_count": {"zh-CN": "销售笔数", "en": "Sales"},
    "by_payment_kind": {"zh-CN": "按支付方式", "en": "By payment"},
    "refunds": {"zh-CN": "退货", "en": "Refunds"},
    "top_ups": {"zh-CN": "充值", "en": "Top-ups"},
    "points_issued": {"zh-CN": "发放积分", "en": "Points issued"},
    "points_redeemed": {"zh-CN": "兑换积分", "en": "Points redeemed"},
    "count_amount": {"zh-CN": "{count} 笔", "en": "{count} x"},
    "cash_expected": {"zh-CN": "应有现金", "en": "Cash expected in drawer"},
}


def label(key: str, locale: Locale, **values: object) -> str:
    """The label ``key`` in ``locale``, with ``{placeholders}`` filled from ``values``."""
    return LABELS[key][locale].format(**values)


def payment_label(kind: str, locale: Locale) -> str:
    """How a payment kind is printed; a kind the labels do not know yet (a new wallet the
    till accepts) is printed as it is named rather than failing the receipt."""
    names = LABELS.get(kind) if kind in PAYMENT_KINDS else None
    return names[locale] if names else kind


# --- formatting ----------------------------------------------------------------------------


def money(amount_minor: int, currency: str) -> str:
    """An amount as printed: ``format_money`` with the full-width ``￥`` (see
    ``printable_text``), which takes two columns like any full-width character."""
    return printable_text(format_money(amount_minor, currency))


def points(value: int, *, signed: bool = False) -> str:
    return f"{value:+,}" if signed else f"{value:,}"


def mask_card_number(card_number: str) -> str:
    """``8800012345679012`` → ``****9012``: only the last four digits are printed."""
    return "****" + card_number[-4:]


def local_time(moment: datetime, store: Store) -> str:
    """``moment`` as the store's wall-clock time, the way it is printed."""
    return moment.astimezone(ZoneInfo(store.time_zone)).strftime("%Y-%m-%d %H:%M:%S")


def document_kind(document: Document) -> DocumentKind:
    """The spool's name for a document's kind (``"receipt"``, ``"top_up"`` …)."""
    kind: DocumentKind = type(document).__struct_config__.tag  # type: ignore[assignment]
    return kind


# --- page building -----------------------------------------------------------------------


class Page:
    """Collects print operations for one paper width; every text line it adds fits."""

    def __init__(self, columns: int, locale: Locale) -> None:
        if columns < 16:
            raise ValueError("a receipt needs at least 16 columns")
        self.columns = columns
        self.locale = locale
        self.ops: list[PrintOp] = []

    def label(self, key: str, **values: object) -> str:
        return label(key, self.locale, **values)

    def line(
        self, text: str, *, bold: bool = False, size: TextSize = "normal", align: Align = "left"
    ) -> None:
        """Wrapped text; a double-width line has half the columns."""
        width = self.columns // 2 if size == "double" else self.columns
        for part in wrap(text, width):
            self.ops.append(TextLine(text=part, bold=bold, size=size, align=align))

    def indented(self, text: str, indent: int = 2) -> None:
        for part in wrap(text, self.columns - indent):
            self.ops.append(TextLine(text=" " * indent + part))

    def pair(self, left: str, right: str, *, bold: bool = False, size: TextSize = "normal") -> None:
        """Label flush left, value flush right (an amount, a count)."""
        width = self.columns // 2 if size == "double" else self.columns
        for text in two_sides(printable_text(left), printable_text(right), width):
            self.ops.append(TextLine(text=text, bold=bold, size=size))

    def rule(self, character: str = "-") -> None:
        self.ops.append(TextLine(text=character * self.columns))

    def rows(self, rows: list[str], *, bold: bool = False) -> None:
        self.ops.extend(TextLine(text=row, bold=bold) for row in rows)

    def add(self, op: PrintOp) -> None:
        self.ops.append(op)


def _header(page: Page, store: Store, title_key: str) -> None:
    page.line(store.name, bold=True, size="double", align="center")
    if store.address:
        page.line(store.address, align="center")
    if store.phone:
        page.line(store.phone, align="center")
    page.line(page.label(title_key), bold=True, align="center")
    page.rule()


def _facts(page: Page, facts: list[tuple[str, str]]) -> None:
    """``label: value`` lines, two to a row on wide paper when both fit."""
    entries = [f"{page.label(key)}: {printable_text(value)}" for key, value in facts if value]
    half = (page.columns - 1) // 2
    index = 0
    while index < len(entries):
        first = entries[index]
        second = entries[index + 1] if index + 1 < len(entries) else None
        if (
            page.columns >= WIDE_LAYOUT_COLUMNS
            and second is not None
            and display_width(first) <= half
            and display_width(second) <= half
        ):
            page.rows([pad(first, half) + " " + second])
            index += 2
        else:
            page.line(first)
            index += 1


def _item_columns(page: Page, lines: tuple[ReceiptLine, ...], currency: str) -> tuple[int, ...]:
    """Widths of the quantity, unit price and amount columns of the item table, wide enough
    that no number ever wraps; the name takes the rest. Empty when the name would be left
    fewer than ``MINIMUM_NAME_COLUMNS``: the items then go on several lines each."""
    if page.columns < WIDE_LAYOUT_COLUMNS:
        return ()
    widths = [
        max(
            [display_width(page.label(heading))]
            + [display_width(cell(item)) for item in lines]
            + [minimum]
        )
        for heading, cell, minimum in (
            ("quantity", lambda item: str(item.quantity), 4),
            ("unit_price", lambda item: money(item.unit_price_minor, currency), 9),
            ("amount", lambda item: money(item.line_amount_minor, currency), 10),
        )
    ]
    name_width = page.columns - sum(widths) - len(widths)
    return (name_width, *widths) if name_width >= MINIMUM_NAME_COLUMNS else ()


def _items(page: Page, lines: tuple[ReceiptLine, ...], currency: str) -> None:
    columns = _item_columns(page, lines, currency)
    if columns:
        headings = [page.label(key) for key in ("item", "quantity", "unit_price", "amount")]
        alignments: list[Align] = ["left", "right", "right", "right"]
        page.rows(table_row(list(zip(headings, columns, alignments, strict=True))))
        page.rule()
    for item in lines:
        if columns:
            cells = [
                item.name,
                str(item.quantity),
                money(item.unit_price_minor, currency),
                money(item.line_amount_minor, currency),
            ]
            page.rows(table_row(list(zip(cells, columns, alignments, strict=True))))
            page.indented(item.sku)
        else:
            page.line(item.name)
            page.indented(item.sku)
            page.pair(
                f"  {item.quantity} x {money(item.unit_price_minor, currency)}",
                money(item.line_amount_minor, currency),
            )
        for discount in item.discounts:
            page.pair(f"  {discount.reason}", money(-discount.amount_minor, currency))
        if item.salespeople:
            page.indented(f"{page.label('salesperson')}: {', '.join(item.salespeople)}")


def _payments(page: Page, payments: tuple[Payment, ...], currency: str) -> None:
    for payment in payments:
        name = payment_label(payment.kind, page.locale)
        if payment.reference:
            name = f"{name} {payment.reference}"
        page.pair(name, money(payment.amount_minor, currency))
        if payment.tendered_minor is not None:
            page.pair(f"  {page.label('tendered')}", money(payment.tendered_minor, currency))
        if payment.change_minor is not None:
            page.pair(f"  {page.label('change')}", money(payment.change_minor, currency))


def _member(
    page: Page,
    member: Member,
    currency: str,
    *,
    activity: bool = True,
    stored_value_balance: bool = True,
) -> None:
    page.line(page.label("member"), bold=True)
    page.pair(page.label("card"), mask_card_number(member.card_number))
    if member.masked_phone:
        page.pair(page.label("phone"), member.masked_phone)
    if member.tier_name:
        page.pair(page.label("tier"), member.tier_name)
    if activity:
        if member.points_earned:
            page.pair(page.label("points_earned"), points(member.points_earned, signed=True))
        if member.points_used:
            page.pair(page.label("points_used"), points(-member.points_used, signed=True))
        page.pair(page.label("points_balance"), points(member.points_balance))
        if member.stored_value_used_minor:
            page.pair(
                page.label("stored_value_used"), money(member.stored_value_used_minor, currency)
            )
    if stored_value_balance and member.stored_value_balance_minor is not None:
        page.pair(
            page.label("stored_value_balance"), money(member.stored_value_balance_minor, currency)
        )
    if member.points_expiring and member.points_expiring_on is not None:
        page.line(
            page.label(
                "points_expiring",
                points=points(member.points_expiring),
                date=member.points_expiring_on.isoformat(),
            )
        )


def _coupons(page: Page, key: str, coupons: tuple[Coupon, ...], currency: str) -> None:
    if not coupons:
        return
    page.line(page.label(key), bold=True)
    for coupon in coupons:
        value = money(coupon.amount_minor, currency) if coupon.amount_minor is not None else ""
        page.pair(f"  {coupon.name}", value)
        details = coupon.code
        if coupon.valid_until is not None:
            details += f"  {page.label('valid_until')} {coupon.valid_until.isoformat()}"
        page.indented(details, indent=4)


def _qr(page: Page, url: str) -> None:
    if url:
        page.line(page.label("scan_member_page"), align="center")
        page.add(QrCode(payload=url))


def _finish(page: Page) -> list[PrintOp]:
    page.add(Feed(lines=1))
    page.add(Cut())
    return page.ops


def layout_receipt(receipt: Receipt, columns: int) -> list[PrintOp]:
    page = Page(columns, receipt.locale)
    currency = receipt.currency
    if any(payment.kind == "cash" for payment in receipt.payments):
        # The drawer opens as printing starts, so the cashier counts change meanwhile.
        page.add(OpenDrawer())
    _header(page, receipt.store, "receipt")
    _facts(
        page,
        [
            ("store", receipt.store.code),
            ("terminal", receipt.terminal_code),
            ("cashier", receipt.cashier_name),
            ("sale_number", receipt.sale_number),
            ("time", local_time(receipt.sold_at, receipt.store)),
        ],
    )
    page.rule()
    _items(page, receipt.lines, currency)
    page.rule()
    item_count = sum(item.quantity for item in receipt.lines)
    page.pair(page.label("gross"), money(receipt.totals.gross_minor, currency))
    for discount in receipt.basket_discounts:
        page.pair(
            f"{page.label('basket_discount')} {discount.reason}",
            money(-discount.amount_minor, currency),
        )
    if receipt.totals.discount_minor:
        page.pair(page.label("discount"), money(-receipt.totals.discount_minor, currency))
    page.pair(
        f"{page.label('net')} ({page.label('item_count', count=item_count)})",
        money(receipt.totals.net_minor, currency),
        bold=True,
        size="double_height",
    )
    page.rule()
    _payments(page, receipt.payments, currency)
    if receipt.member is not None:
        page.rule()
        _member(page, receipt.member, currency)
    if receipt.coupons_used or receipt.coupons_issued:
        page.rule()
        _coupons(page, "coupons_used", receipt.coupons_used, currency)
        _coupons(page, "coupons_issued", receipt.coupons_issued, currency)
    page.rule()
    _qr(page, receipt.member_page_url)
    page.add(Barcode(data=receipt.sale_number))
    page.line(page.label("thanks"), align="center")
    return _finish(page)


def layout_top_up(slip: TopUpSlip, columns: int) -> list[PrintOp]:
    page = Page(columns, slip.locale)
    currency = slip.currency
    if any(payment.kind == "cash" for payment in slip.payments):
        page.add(OpenDrawer())
    _header(page, slip.store, "top_up")
    _facts(
        page,
        [
            ("store", slip.store.code),
            ("terminal", slip.terminal_code),
            ("cashier", slip.cashier_name),
            ("top_up_number", slip.top_up_number),
            ("time", local_time(slip.topped_up_at, slip.store)),
        ],
    )
    page.rule()
    page.pair(
        page.label("top_up_amount"),
        money(slip.amount_minor, currency),
        bold=True,
        size="double_height",
    )
    if slip.bonus_minor:
        page.pair(page.label("bonus"), money(slip.bonus_minor, currency))
    _payments(page, slip.payments, currency)
    page.rule()
    # The slip's own balance is the one after this top-up; the member's may predate it.
    _member(page, slip.member, currency, activity=False, stored_value_balance=False)
    page.pair(
        page.label("stored_value_balance"),
        money(slip.stored_value_balance_minor, currency),
        bold=True,
    )
    page.rule()
    page.add(Barcode(data=slip.top_up_number))
    page.line(page.label("thanks"), align="center")
    return _finish(page)


def layout_card_issue(slip: CardIssueSlip, columns: int) -> list[PrintOp]:
    page = Page(columns, slip.locale)
    currency = slip.currency
    _header(page, slip.store, "card_replacement" if slip.replacement else "card_issue")
    _facts(
        page,
        [
            ("store", slip.store.code),
            ("terminal", slip.terminal_code),
            ("cashier", slip.cashier_name),
            ("time", local_time(slip.issued_at, slip.store)),
        ],
    )
    page.rule()
    _member(page, slip.member, currency, activity=False)
    if slip.replacement and slip.replaced_card_number:
        page.pair(page.label("old_card"), mask_card_number(slip.replaced_card_number))
    if slip.fee_minor:
        page.pair(page.label("fee"), money(slip.fee_minor, currency))
    page.rule()
    _qr(page, slip.member_page_url)
    page.line(page.label("thanks"), align="center")
    return _finish(page)


def layout_refund(slip: RefundSlip, columns: int) -> list[PrintOp]:
    page = Page(columns, slip.locale)
    currency = slip.currency
    if any(payment.kind == "cash" for payment in slip.refunded_to):
        page.add(OpenDrawer())
    _header(page, slip.store, "refund")
    _facts(
        page,
        [
            ("store", slip.store.code),
            ("terminal", slip.terminal_code),
            ("cashier", slip.cashier_name),
            ("refund_number", slip.refund_number),
            ("original_sale", slip.original_sale_number),
            ("time", local_time(slip.refunded_at, slip.store)),
        ],
    )
    if slip.reason:
        page.line(f"{page.label('reason')}: {slip.reason}")
    page.rule()
    _items(page, slip.lines, currency)
    page.rule()
    page.pair(
        page.label("refund_total"),
        money(slip.refund_total_minor, currency),
        bold=True,
        size="double_height",
    )
    page.line(page.label("refunded_to"), bold=True)
    _payments(page, slip.refunded_to, currency)
    if slip.member is not None:
        page.rule()
        _member(page, slip.member, currency, activity=False)
        if slip.points_reversed:
            page.pair(page.label("points_reversed"), points(-slip.points_reversed, signed=True))
        if slip.points_returned:
            page.pair(page.label("points_returned"), points(slip.points_returned, signed=True))
        page.pair(page.label("points_balance"), points(slip.member.points_balance))
    page.rule()
    page.add(Barcode(data=slip.refund_number))
    page.add(Feed(lines=2))
    # The customer signs the shop's copy for a refund; the line is left blank to write on.
    page.pair(page.label("signature") + ":", "")
    page.rule("_")
    return _finish(page)


def layout_end_of_day(summary: EndOfDaySummary, columns: int) -> list[PrintOp]:
    page = Page(columns, summary.locale)
    currency = summary.currency
    _header(page, summary.store, "end_of_day")
    _facts(
        page,
        [
            ("store", summary.store.code),
            ("terminal", summary.terminal_code or page.label("all_terminals")),
            ("business_date", summary.business_date.isoformat()),
            ("printed_at", local_time(summary.printed_at, summary.store)),
        ],
    )
    page.rule()
    page.pair(page.label("sales_count"), str(summary.sales_count))
    page.pair(page.label("gross"), money(summary.gross_minor, currency))
    page.pair(page.label("discount"), money(-summary.discount_minor, currency))
    page.pair(
        page.label("net"), money(summary.net_minor, currency), bold=True, size="double_height"
    )
    page.rule()
    page.line(page.label("by_payment_kind"), bold=True)
    for total in summary.by_payment_kind:
        page.pair(
            f"  {payment_label(total.kind, page.locale)} "
            f"{page.label('count_amount', count=total.count)}",
            money(total.amount_minor, currency),
        )
    page.rule()
    page.pair(
        f"{page.label('refunds')} {page.label('count_amount', count=summary.refunds_count)}",
        money(-summary.refunds_minor, currency),
    )
    page.pair(
        f"{page.label('top_ups')} {page.label('count_amount', count=summary.top_ups_count)}",
        money(summary.top_ups_minor, currency),
    )
    page.pair(page.label("points_issued"), points(summary.points_issued))
    page.pair(page.label("points_redeemed"), points(summary.points_redeemed))
    if summary.cash_expected_minor is not None:
        page.rule()
        page.pair(
            page.label("cash_expected"), money(summary.cash_expected_minor, currency), bold=True
        )
    return _finish(page)


def layout_document(document: Document, columns: int) -> list[PrintOp]:
    """The print operations of any document, for paper ``columns`` wide."""
    match document:
        case Receipt():
            return layout_receipt(document, columns)
        case TopUpSlip():
            return layout_top_up(document, columns)
        case CardIssueSlip():
            return layout_card_issue(document, columns)
        case RefundSlip():
            return layout_refund(document, columns)
        case EndOfDaySummary():
            return layout_end_of_day(document, columns)
    raise TypeError(f"not a printable document: {type(document).__name__}")
