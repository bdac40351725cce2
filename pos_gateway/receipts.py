"""The receipt of a sale, refund or top-up, laid out by ``printers`` for the till's paper
width: as text (the preview) or as ESC/POS bytes (base64 in the JSON answer) to send to the
counter's printer. Built from what was booked, so the paper says what the ledgers say."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from pos_gateway import schemas
from pos_gateway.pricing import PricedSale
from printers import layout
from printers.layout import Document
from printers.receipts import render_document_as
from stores.tables import Staff, Store
from stores.terminals import TerminalIdentity


async def _store(terminal: TerminalIdentity) -> tuple[layout.Store, str]:
    store = (
        await Store.select(Store.code, Store.name, Store.address, Store.phone)
        .where(Store.id == terminal.store_id)
        .first()
    )
    assert store is not None
    return (
        layout.Store(
            code=store["code"],
            name=store["name"],
            address=store.get("address") or "",
            phone=store.get("phone") or "",
            time_zone=terminal.time_zone,
        ),
        terminal.name,
    )


async def _cashier_name(staff_id: int | None) -> str:
    if staff_id is None:
        return ""
    row = await Staff.select(Staff.name).where(Staff.id == staff_id).first()
    return row["name"] if row else ""


def _render(document: Document, receipt: schemas.ReceiptIn) -> tuple[str | None, str | None]:
    """(text, base64 ESC/POS) of a document as the till asked for it, rendered by printers."""
    data = render_document_as(document, columns=receipt.columns, fmt=receipt.format)
    if receipt.format == "text":
        return data.decode("utf-8").removesuffix("\n"), None
    return None, base64.b64encode(data).decode("ascii")


def _member(view: schemas.MemberView | None, **figures: Any) -> layout.Member | None:
    if view is None or not view.card_number:
        return None
    return layout.Member(
        card_number=view.card_number,
        masked_phone=view.masked_phone,
        tier_name=view.tier_name or "",
        **figures,
    )


async def attach_sale_receipt(
    answer: schemas.SaleOut,
    terminal: TerminalIdentity,
    receipt: schemas.ReceiptIn,
    priced: PricedSale,
) -> schemas.SaleOut:
    store, terminal_code = await _store(terminal)
    names = {a.promotion_id: a for a in answer.applied}
    lines = tuple(
        layout.ReceiptLine(
            name=line.name,
            sku=line.sku,
            quantity=line.quantity,
            unit_price_minor=line.unit_price_minor,
            line_amount_minor=line.net_minor,
            salespeople=tuple(p.employee_no for p in priced.lines[line.line_no - 1].salespeople),
            discounts=tuple(
                layout.Discount(
                    reason=names[a["promotion_id"]].name
                    if a["promotion_id"] in names
                    else a["promotion_id"],
                    amount_minor=a["amount_minor"],
                )
                for a in line.adjustments
            ),
        )
        for line in answer.lines
    )
    cash = sum(p["amount_minor"] for p in answer.payments if p["method"] == "cash")
    payments = tuple(
        layout.Payment(
            kind=p["method"],
            amount_minor=p["amount_minor"] - (answer.change_minor if p["method"] == "cash" else 0),
            tendered_minor=p["amount_minor"] if p["method"] == "cash" else None,
            change_minor=answer.change_minor if p["method"] == "cash" and cash else None,
        )
        for p in answer.payments
    )
    balances = answer.balances
    model = layout.Receipt(
        store=store,
        terminal_code=terminal_code,
        cashier_name=await _cashier_name(priced.cashier_id),
        sale_number=answer.sale_no,
        sold_at=dt.datetime.fromisoformat(answer.occurred_at),
        currency=answer.currency,
        locale=receipt.locale,
        lines=lines,
        totals=layout.Totals(
            gross_minor=answer.gross_minor,
            discount_minor=answer.discount_minor,
            net_minor=answer.total_minor,
        ),
        payments=payments,
        member=_member(
            answer.member,
            points_earned=answer.points_earned,
            points_used=answer.points_used,
            points_balance=balances.points_balance if balances else 0,
            stored_value_used_minor=answer.stored_value_used_minor,
            stored_value_balance_minor=balances.stored_value_minor if balances else None,
        ),
    )
    text, escpos = _render(model, receipt)
    return msgspec.structs.replace(answer, receipt_text=text, receipt_escpos_b64=escpos)


async def attach_refund_receipt(
    answer: schemas.RefundOut, terminal: TerminalIdentity, receipt: schemas.ReceiptIn
) -> schemas.RefundOut:
    store, terminal_code = await _store(terminal)
    from pos_gateway.tables import SaleLine

    names = {
        row["line_no"]: row
        for row in await SaleLine.select(
            SaleLine.line_no, SaleLine.name, SaleLine.unit_price_minor
        ).where(SaleLine.sale.sale_no == answer.sale_no)
    }
    model = layout.RefundSlip(
        store=store,
        terminal_code=terminal_code,
        cashier_name="",
        refund_number=answer.refund_no,
        original_sale_number=answer.sale_no,
        refunded_at=dt.datetime.now(dt.UTC),
        locale=receipt.locale,
        lines=tuple(
            layout.ReceiptLine(
                name=names[line["line_no"]]["name"],
                sku=line["sku"],
                quantity=line["quantity"],
                unit_price_minor=names[line["line_no"]]["unit_price_minor"],
                line_amount_minor=line["amount_minor"],
            )
            for line in answer.lines
        ),
        refund_total_minor=answer.amount_minor,
        refunded_to=tuple(
            layout.Payment(kind=item["method"], amount_minor=item["amount_minor"])
            for item in answer.refund_to
        ),
        points_reversed=answer.points_reversed,
        points_returned=answer.points_returned,
    )
    text, escpos = _render(model, receipt)
    return msgspec.structs.replace(answer, receipt_text=text, receipt_escpos_b64=escpos)


async def attach_top_up_receipt(
    answer: schemas.TopUpOut,
    terminal: TerminalIdentity,
    receipt: schemas.ReceiptIn,
    local: dt.datetime,
) -> schemas.TopUpOut:
    store, terminal_code = await _store(terminal)
    member = _member(answer.member, stored_value_balance_minor=answer.member.stored_value_minor)
    if member is None:
        return answer
    model = layout.TopUpSlip(
        store=store,
        terminal_code=terminal_code,
        cashier_name="",
        top_up_number=answer.top_up_no,
        topped_up_at=local.replace(tzinfo=ZoneInfo(terminal.time_zone)),
        locale=receipt.locale,
        member=member,
        amount_minor=answer.amount_minor,
        bonus_minor=answer.bonus_minor,
        payments=(layout.Payment(kind="cash", amount_minor=answer.amount_minor),),
        stored_value_balance_minor=answer.member.stored_value_minor,
    )
    text, escpos = _render(model, receipt)
    return msgspec.structs.replace(answer, receipt_text=text, receipt_escpos_b64=escpos)
