"""Refunds against an original sale, whole or some lines and quantities.

What a refund gives back is the refunded share of what the line cost: for each line the
amounts after ``k`` of ``n`` units are refunded are ``round(x × k / n)`` (half up), and a
refund gives the difference between the amounts after and before it. Over several partial
refunds the pieces telescope to exactly the line's amounts, never a cent more. The same rule
applies to each of the line's tender shares (points, stored value) and to the points it
earned, so points earned are taken back, points and stored value used are given back in the
same principal/bonus split, and commission and promotion use are reversed in proportion.
A refund's amount is the sum of its tenders' pieces (points, stored value, the other
tenders), so what goes back by each tender adds up to the amount in every refund.

The quantity refunded is taken by a conditional update (``refunded_quantity + k <=
quantity``), so two refunds racing for the last unit cannot both have it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from piccolo.columns.combination import WhereRaw

from loyalty import points as points_ledger
from loyalty import stored_value
from loyalty.points import Source
from memberpos.clock import utc_now
from memberpos.money import allocate, divide_half_up
from memberpos.settings import get_settings
from members import family, tiers
from pos_gateway import schemas
from pos_gateway.errors import (
    NothingToRefund,
    RefundExceedsSale,
    SaleNotFound,
    StoreMismatch,
    UnknownLine,
)
from pos_gateway.idempotency import Answer, Outcome, run_once
from pos_gateway.numbers import next_number
from pos_gateway.pricing import authorise_manager, balances, sale_times, staff_ids
from pos_gateway.tables import Refund, RefundLine, Sale, SaleLine, SalePayment
from promotions import service as promotions
from stores import commission
from stores.terminals import TerminalIdentity

SHARED = (
    "points_paid_minor",
    "points_used",
    "stored_value_paid_minor",
    "other_paid_minor",  # the line's share of cash, bank card and other tenders
    "points_earned",
)
# The money a line's tenders paid; a refund's amount is the sum of their refunded shares, so
# what goes back by each tender adds up to the amount to the cent in every partial refund
# (rounding the net amount on its own could differ by a fen from the tenders' pieces).
TENDERS = ("points_paid_minor", "stored_value_paid_minor", "other_paid_minor")


@dataclass
class PreparedRefund:
    request: schemas.RefundIn
    terminal: TerminalIdentity
    sale: dict[str, Any]
    lines: dict[int, dict[str, Any]]
    wanted: list[tuple[int, int]]  # (line_no, quantity)
    local: dt.datetime
    occurred_at: dt.datetime
    cashier_id: int | None
    manager_id: int | None


def share(amount: int, quantity: int, before: int, after: int) -> int:
    """The part of ``amount`` (for ``quantity`` units) that units ``before+1 … after`` carry."""
    return divide_half_up(amount * after, quantity) - divide_half_up(amount * before, quantity)


async def _sale(sale_no: str) -> dict[str, Any]:
    row = await Sale.select().where(Sale.sale_no == sale_no).first()
    if row is None:
        raise SaleNotFound(f"No sale {sale_no}", field="sale_no")
    return row


async def prepare_refund(terminal: TerminalIdentity, request: schemas.RefundIn) -> PreparedRefund:
    sale = await _sale(request.sale_no)
    if sale["store"] != terminal.store_id:
        raise StoreMismatch("A sale is refunded at the store that made it", field="sale_no")
    rows = await SaleLine.select().where(SaleLine.sale == sale["id"])
    lines = {row["line_no"]: row for row in rows}
    if request.lines:
        wanted: dict[int, int] = {}
        for position, item in enumerate(request.lines):
            if item.line_no not in lines:
                raise UnknownLine(f"Sale has no line {item.line_no}", field=f"lines[{position}]")
            wanted[item.line_no] = wanted.get(item.line_no, 0) + item.quantity
    else:
        wanted = {
            number: row["quantity"] - row["refunded_quantity"]
            for number, row in lines.items()
            if row["quantity"] > row["refunded_quantity"]
        }
        if not wanted:
            raise NothingToRefund(field="sale_no")
    estimate = 0
    for number, quantity in wanted.items():
        row = lines[number]
        left = row["quantity"] - row["refunded_quantity"]
        if quantity > left:
            raise RefundExceedsSale(
                f"Line {number}: {quantity} asked, {left} left to refund",
                field="lines",
                line_no=number,
                refundable_quantity=left,
            )
        before = row["refunded_quantity"]
        estimate += share(row["net_minor"], row["quantity"], before, before + quantity)
    local, occurred_at = sale_times(request.local_time, terminal.time_zone)
    cashier_id = None
    if request.cashier_employee_no:
        staff = await staff_ids({request.cashier_employee_no})
        if request.cashier_employee_no in staff:
            cashier_id = staff[request.cashier_employee_no]["id"]
    manager_id = None
    if estimate > get_settings().refund_manager_minor or request.manager is not None:
        manager_id = await authorise_manager(
            request.manager, terminal, f"refund above {get_settings().refund_manager_minor}"
        )
    return PreparedRefund(
        request=request,
        terminal=terminal,
        sale=sale,
        lines=lines,
        wanted=sorted(wanted.items()),
        local=local,
        occurred_at=occurred_at,
        cashier_id=cashier_id,
        manager_id=manager_id,
    )


async def _take_quantity(row: dict[str, Any], quantity: int) -> tuple[int, int]:
    """(refunded before, refunded after) of a line, or a refusal if another refund took
    the units meanwhile."""
    taken = (
        await SaleLine.update({SaleLine.refunded_quantity: SaleLine.refunded_quantity + quantity})
        .where(
            (SaleLine.id == row["id"]) & WhereRaw("refunded_quantity + {} <= quantity", quantity)
        )
        .returning(SaleLine.refunded_quantity)
    )
    if not taken:
        raise RefundExceedsSale(
            f"Line {row['line_no']} was refunded meanwhile", field="lines", line_no=row["line_no"]
        )
    after = taken[0]["refunded_quantity"]
    return after - quantity, after


async def _refund_to(
    sale: dict[str, Any], other: int, points_value: int, points: int, stored: int
) -> list[dict[str, Any]]:
    """How the money goes back: points and stored value to the accounts they came from,
    ``other`` to the sale's other tenders in proportion to what each kept (cash net of the
    change given)."""
    back: list[dict[str, Any]] = []
    if points:
        back.append({"method": "points", "amount_minor": points_value, "points": points})
    if stored:
        back.append({"method": "stored_value", "amount_minor": stored, "points": 0})
    if other > 0:
        payments = await SalePayment.select(SalePayment.method, SalePayment.amount_minor).where(
            (SalePayment.sale == sale["id"]) & SalePayment.method.not_in(["points", "stored_value"])
        )
        kept: dict[str, int] = {}
        change = sale["change_minor"]
        for payment in payments:
            paid = payment["amount_minor"]
            if payment["method"] == "cash":
                given_back = min(paid, change)
                paid, change = paid - given_back, change - given_back
            kept[payment["method"]] = kept.get(payment["method"], 0) + paid
        methods = sorted(kept)
        parts = allocate(other, [kept[m] for m in methods])
        back.extend(
            {"method": m, "amount_minor": part, "points": 0}
            for m, part in zip(methods, parts, strict=True)
            if part
        )
    return back


async def apply_refund(prepared: PreparedRefund) -> Outcome:
    terminal, sale, request = prepared.terminal, prepared.sale, prepared.request
    at = prepared.occurred_at
    business_date = prepared.local.date()
    refund_no = await next_number(
        terminal.terminal_id, business_date, lock_members=(sale["member"], sale["account_member"])
    )
    source = Source("refund", refund_no, terminal.store_id, prepared.cashier_id)
    original = Source("sale", sale["sale_no"], sale["store"])

    pieces: list[dict[str, Any]] = []
    totals = dict.fromkeys(SHARED, 0)
    for number, quantity in prepared.wanted:
        row = prepared.lines[number]
        before, after = await _take_quantity(row, quantity)
        paid = {
            **row,
            "other_paid_minor": row["net_minor"]
            - row["points_paid_minor"]
            - row["stored_value_paid_minor"],
        }
        piece = {name: share(paid[name], row["quantity"], before, after) for name in SHARED}
        piece["net_minor"] = sum(piece[name] for name in TENDERS)
        piece.update(line_no=number, sku=row["sku"], quantity=quantity, line_id=row["id"])
        pieces.append(piece)
        for name in SHARED:
            totals[name] += piece[name]
    amount = sum(totals[name] for name in TENDERS)
    owner = sale["account_member"]
    if owner is not None:
        if totals["points_earned"] > 0:
            await points_ledger.reverse_earn(
                owner, totals["points_earned"], source, original=original, at=at
            )
        if totals["points_used"] > 0:
            await points_ledger.return_spent(
                owner, totals["points_used"], source, original=original, at=at
            )
        if totals["stored_value_paid_minor"] > 0:
            if sale["member"] != owner:
                await family.refund_parent_charge(
                    sale["member"],
                    totals["stored_value_paid_minor"],
                    source_kind="refund",
                    source_id=refund_no,
                    original_source_id=sale["sale_no"],
                    business_date=business_date,
                    at=at,
                )
            await stored_value.return_spend(
                owner,
                totals["stored_value_paid_minor"],
                source,
                original=original,
                at=at,
                business_date=business_date,
            )
        qualifying = amount - totals["points_paid_minor"]
        if qualifying > 0:
            await tiers.on_qualifying_spend(
                sale["member"],
                -qualifying,
                "refund",
                refund_no,
                terminal.store_id,
                business_date,
                at,
            )
    commission_back = await commission.reverse_refund(
        refund_ref=refund_no,
        sale_ref=sale["sale_no"],
        store_id=terminal.store_id,
        business_date=business_date,
        at=at,
        lines=[(number, quantity) for number, quantity in prepared.wanted],
    )
    left = await SaleLine.select(SaleLine.quantity, SaleLine.refunded_quantity).where(
        SaleLine.sale == sale["id"]
    )
    fully = all(row["refunded_quantity"] >= row["quantity"] for row in left)
    await promotions.reverse_refund(
        refund_ref=refund_no, sale_ref=sale["sale_no"], full=fully, at=at
    )
    refund_to = await _refund_to(
        sale,
        totals["other_paid_minor"],
        totals["points_paid_minor"],
        totals["points_used"],
        totals["stored_value_paid_minor"],
    )
    rows = await Refund.insert(
        Refund(
            refund_no=refund_no,
            sale=sale["id"],
            store=terminal.store_id,
            terminal=terminal.terminal_id,
            cashier=prepared.cashier_id,
            manager=prepared.manager_id,
            client_txn_id=request.client_txn_id,
            occurred_at=at,
            received_at=utc_now(),
            business_date=business_date,
            amount_minor=amount,
            points_reversed=totals["points_earned"],
            points_returned=totals["points_used"],
            stored_value_returned_minor=totals["stored_value_paid_minor"],
            commission_reversed_minor=commission_back,
            refund_to=refund_to,
            reason=request.reason,
        )
    ).returning(Refund.id)
    await RefundLine.insert(
        *[
            RefundLine(
                refund=rows[0]["id"],
                sale_line=piece["line_id"],
                line_no=piece["line_no"],
                quantity=piece["quantity"],
                amount_minor=piece["net_minor"],
                points_paid_minor=piece["points_paid_minor"],
                points_used=piece["points_used"],
                stored_value_minor=piece["stored_value_paid_minor"],
                points_earned=piece["points_earned"],
            )
            for piece in pieces
        ]
    )
    await Sale.update({Sale.refunded_minor: Sale.refunded_minor + amount}).where(
        Sale.id == sale["id"]
    )
    answer = schemas.RefundOut(
        refund_no=refund_no,
        sale_no=sale["sale_no"],
        client_txn_id=request.client_txn_id,
        business_date=business_date.isoformat(),
        lines=[
            {
                "line_no": piece["line_no"],
                "sku": piece["sku"],
                "quantity": piece["quantity"],
                "amount_minor": piece["net_minor"],
            }
            for piece in pieces
        ],
        amount_minor=amount,
        refund_to=refund_to,
        points_reversed=totals["points_earned"],
        points_returned=totals["points_used"],
        stored_value_returned_minor=totals["stored_value_paid_minor"],
        commission_reversed_minor=commission_back,
        balances=await balances(owner, at) if owner is not None else None,
        fully_refunded=fully,
    )
    if request.receipt.format != "none":
        from pos_gateway.receipts import attach_refund_receipt

        answer = await attach_refund_receipt(answer, terminal, request.receipt)
    return Outcome(201, answer, refund_no)


async def post_refund(terminal: TerminalIdentity, request: schemas.RefundIn) -> Answer:
    return await run_once(
        terminal_id=terminal.terminal_id,
        client_txn_id=request.client_txn_id,
        operation="refund",
        request=request,
        prepare=lambda: prepare_refund(terminal, request),
        apply=apply_refund,
    )
