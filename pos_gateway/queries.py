"""Reading sales back: for the till that refunds them and for HQ, within the reader's scope;
and the offline items refused at upload, which managers settle."""

from __future__ import annotations

from typing import Any

from memberpos.clock import utc_now
from memberpos.errors import NotFound
from pos_gateway.errors import SaleNotFound, StoreMismatch
from pos_gateway.tables import OfflineRejection, Refund, RefundLine, Sale, SaleLine, SalePayment
from stores import audit
from stores.access import Actor, Permission
from stores.tables import Store

_LINE_COLUMNS = (
    SaleLine.line_no,
    SaleLine.sku,
    SaleLine.name,
    SaleLine.quantity,
    SaleLine.unit_price_minor,
    SaleLine.gross_minor,
    SaleLine.discount_minor,
    SaleLine.net_minor,
    SaleLine.points_paid_minor,
    SaleLine.stored_value_paid_minor,
    SaleLine.points_earned,
    SaleLine.refunded_quantity,
    SaleLine.salespeople,
    SaleLine.adjustments,
)


async def _detail(sale: dict[str, Any]) -> dict[str, Any]:
    lines = (
        await SaleLine.select(*_LINE_COLUMNS)
        .where(SaleLine.sale == sale["id"])
        .order_by(SaleLine.line_no)
    )
    payments = await SalePayment.select(
        SalePayment.method, SalePayment.amount_minor, SalePayment.points
    ).where(SalePayment.sale == sale["id"])
    refunds = (
        await Refund.select(
            Refund.id, Refund.refund_no, Refund.amount_minor, Refund.business_date, Refund.refund_to
        )
        .where(Refund.sale == sale["id"])
        .order_by(Refund.id)
    )
    refund_lines = await RefundLine.select(
        RefundLine.refund, RefundLine.line_no, RefundLine.quantity, RefundLine.amount_minor
    ).where(RefundLine.refund.is_in([r["id"] for r in refunds] or [0]))
    for refund in refunds:
        refund["lines"] = [
            {k: v for k, v in line.items() if k != "refund"}
            for line in refund_lines
            if line["refund"] == refund["id"]
        ]
        refund["business_date"] = refund["business_date"].isoformat()
        del refund["id"]
    for line in lines:
        line["refundable_quantity"] = line["quantity"] - line["refunded_quantity"]
    keys = (
        "sale_no",
        "business_date",
        "occurred_at",
        "currency",
        "gross_minor",
        "discount_minor",
        "total_minor",
        "change_minor",
        "points_used",
        "points_value_minor",
        "stored_value_minor",
        "points_earned",
        "commission_minor",
        "refunded_minor",
        "card_number",
        "offline",
        "pricing",
    )
    out = {key: sale[key] for key in keys}
    out["business_date"] = sale["business_date"].isoformat()
    out["occurred_at"] = sale["occurred_at"].isoformat()
    out.update(lines=lines, payments=payments, refunds=refunds, store_id=sale["store"])
    return out


async def _sale(sale_no: str) -> dict[str, Any]:
    sale = await Sale.select().where(Sale.sale_no == sale_no).first()
    if sale is None:
        raise SaleNotFound(f"No sale {sale_no}", field="sale_no")
    return sale


async def sale_detail(sale_no: str, *, store_id: int) -> dict[str, Any]:
    sale = await _sale(sale_no)
    if sale["store"] != store_id:
        raise StoreMismatch(field="sale_no")
    return await _detail(sale)


async def sale_detail_for(actor: Actor, sale_no: str) -> dict[str, Any]:
    sale = await _sale(sale_no)
    actor.require(Permission.read, sale["store"])
    return await _detail(sale)


async def offline_rejections(
    actor: Actor, *, store_code: str | None, open_only: bool
) -> list[dict[str, Any]]:
    query = OfflineRejection.select(
        OfflineRejection.id,
        OfflineRejection.store.code.as_alias("store_code"),
        OfflineRejection.terminal,
        OfflineRejection.batch_id,
        OfflineRejection.item_index,
        OfflineRejection.kind,
        OfflineRejection.client_txn_id,
        OfflineRejection.code,
        OfflineRejection.detail,
        OfflineRejection.body,
        OfflineRejection.created_at,
        OfflineRejection.resolved_at,
        OfflineRejection.resolution,
    ).order_by(OfflineRejection.id)
    visible = actor.visible_store_ids()
    if visible is not None:
        query = query.where(OfflineRejection.store.is_in(sorted(visible) or [0]))
    if store_code:
        query = query.where(OfflineRejection.store.code == store_code)
    if open_only:
        query = query.where(OfflineRejection.resolved_at.is_null())
    return await query


async def resolve_rejection(actor: Actor, rejection_id: int, resolution: str) -> dict[str, Any]:
    row = (
        await OfflineRejection.select(
            OfflineRejection.id, OfflineRejection.store, OfflineRejection.resolved_at
        )
        .where(OfflineRejection.id == rejection_id)
        .first()
    )
    if row is None:
        raise NotFound(f"No offline rejection {rejection_id}")
    actor.require(Permission.edit_store, row["store"])
    now = utc_now()
    await OfflineRejection.update(
        {
            OfflineRejection.resolved_at: now,
            OfflineRejection.resolved_by: actor.staff_id,
            OfflineRejection.resolution: resolution,
        }
    ).where(OfflineRejection.id == rejection_id)
    await audit.record(
        actor,
        "offline_rejection.resolve",
        "offline_rejection",
        str(rejection_id),
        after={"resolution": resolution},
    )
    store = await Store.select(Store.code).where(Store.id == row["store"]).first()
    return {
        "id": rejection_id,
        "store_code": store["code"] if store else None,
        "resolved_at": now.isoformat(),
        "resolution": resolution,
    }
