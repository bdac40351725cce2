"""The store's end-of-day (Z) summary built from plain figures: one entry per sale, refund and
top-up of the business day, as whoever counts them (reports, the gateway) has them.

The totals are added up here, once, so the slip's lines always agree with each other: the
payment kinds sum to the net takings, and the cash the drawer should hold is worked out the
same way every night.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import get_args

import msgspec

from printers.layout import EndOfDaySummary, Locale, PaymentKind, PaymentTotal, Store

PAYMENT_KIND_ORDER: tuple[str, ...] = get_args(PaymentKind)


class SaleFigures(msgspec.Struct, frozen=True, kw_only=True):
    gross_minor: int
    discount_minor: int = 0
    payments: tuple[tuple[PaymentKind, int], ...]
    """(kind, amount) as tendered, change already taken off cash; they sum to the net."""
    points_earned: int = 0
    points_used: int = 0

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.discount_minor


class RefundFigures(msgspec.Struct, frozen=True, kw_only=True):
    amount_minor: int
    cash_minor: int = 0
    """How much of it left the drawer as cash."""


class TopUpFigures(msgspec.Struct, frozen=True, kw_only=True):
    amount_minor: int
    """What the customer paid (a bonus the chain adds is not takings)."""
    cash_minor: int = 0


def _check_sale(index: int, sale: SaleFigures) -> None:
    where = f"sales[{index}]"
    if sale.gross_minor < 0 or not 0 <= sale.discount_minor <= sale.gross_minor:
        raise ValueError(f"{where}: gross must be >= 0 and discount within 0..gross")
    if any(amount < 0 for _, amount in sale.payments):
        raise ValueError(f"{where}: a payment amount is negative")
    if any(kind not in PAYMENT_KIND_ORDER for kind, _ in sale.payments):
        raise ValueError(f"{where}: unknown payment kind")
    paid = sum(amount for _, amount in sale.payments)
    if paid != sale.net_minor:
        raise ValueError(f"{where}: payments sum to {paid}, not the net {sale.net_minor}")
    if sale.points_earned < 0 or sale.points_used < 0:
        raise ValueError(f"{where}: points must not be negative")


def end_of_day_summary(
    store: Store,
    business_date: date,
    printed_at: datetime,
    *,
    sales: Iterable[SaleFigures],
    refunds: Iterable[RefundFigures] = (),
    top_ups: Iterable[TopUpFigures] = (),
    terminal_code: str = "",
    currency: str = "CNY",
    locale: Locale = "zh-CN",
) -> EndOfDaySummary:
    """The Z summary of one business day (of one till when ``terminal_code`` is given),
    ready for ``layout_document``/``printers.receipts``. ``ValueError`` names the first
    figure that does not add up."""
    sales = list(sales)
    refunds = list(refunds)
    top_ups = list(top_ups)
    for index, sale in enumerate(sales):
        _check_sale(index, sale)
    for index, refund in enumerate(refunds):
        if not 0 <= refund.cash_minor <= refund.amount_minor:
            raise ValueError(f"refunds[{index}]: cash must be within 0..amount")
    for index, top_up in enumerate(top_ups):
        if not 0 <= top_up.cash_minor <= top_up.amount_minor:
            raise ValueError(f"top_ups[{index}]: cash must be within 0..amount")

    counts: dict[str, int] = {}
    amounts: dict[str, int] = {}
    for sale in sales:
        for kind in {kind for kind, _ in sale.payments}:
            counts[kind] = counts.get(kind, 0) + 1  # a sale counts once per kind it used
        for kind, amount in sale.payments:
            amounts[kind] = amounts.get(kind, 0) + amount
    cash_sales = amounts.get("cash", 0)
    return EndOfDaySummary(
        store=store,
        terminal_code=terminal_code,
        business_date=business_date,
        printed_at=printed_at,
        currency=currency,
        locale=locale,
        sales_count=len(sales),
        gross_minor=sum(sale.gross_minor for sale in sales),
        discount_minor=sum(sale.discount_minor for sale in sales),
        net_minor=sum(sale.net_minor for sale in sales),
        by_payment_kind=tuple(
            PaymentTotal(kind=kind, count=counts[kind], amount_minor=amounts[kind])  # type: ignore[arg-type]
            for kind in PAYMENT_KIND_ORDER
            if kind in counts
        ),
        refunds_count=len(refunds),
        refunds_minor=sum(refund.amount_minor for refund in refunds),
        top_ups_count=len(top_ups),
        top_ups_minor=sum(top_up.amount_minor for top_up in top_ups),
        points_issued=sum(sale.points_earned for sale in sales),
        points_redeemed=sum(sale.points_used for sale in sales),
        cash_expected_minor=cash_sales
        - sum(refund.cash_minor for refund in refunds)
        + sum(top_up.cash_minor for top_up in top_ups),
    )
