"""``memberpos verify`` for sales: every sale's lines add up to it, its tender shares to
its payments, no line is refunded beyond what was sold, and refunds add up."""

from __future__ import annotations

from collections import defaultdict

from pos_gateway.tables import Refund, RefundLine, Sale, SaleLine


async def check_sales() -> list[str]:
    problems: list[str] = []
    sales = await Sale.select(
        Sale.id,
        Sale.sale_no,
        Sale.total_minor,
        Sale.points_value_minor,
        Sale.stored_value_minor,
        Sale.points_earned,
        Sale.refunded_minor,
        Sale.gross_minor,
        Sale.discount_minor,
    )
    lines = await SaleLine.select(
        SaleLine.id,
        SaleLine.sale,
        SaleLine.quantity,
        SaleLine.refunded_quantity,
        SaleLine.net_minor,
        SaleLine.gross_minor,
        SaleLine.points_paid_minor,
        SaleLine.stored_value_paid_minor,
        SaleLine.points_earned,
    )
    refunds = await Refund.select(Refund.id, Refund.sale, Refund.amount_minor)
    refund_lines = await RefundLine.select(
        RefundLine.refund, RefundLine.sale_line, RefundLine.quantity, RefundLine.amount_minor
    )
    by_sale: dict[int, list[dict]] = defaultdict(list)
    for line in lines:
        by_sale[line["sale"]].append(line)
        if not 0 <= line["refunded_quantity"] <= line["quantity"]:
            problems.append(
                f"sale line {line['id']}: refunded {line['refunded_quantity']} "
                f"of {line['quantity']}"
            )
    refunded_qty: dict[int, int] = defaultdict(int)
    refund_sum: dict[int, int] = defaultdict(int)
    for item in refund_lines:
        refunded_qty[item["sale_line"]] += item["quantity"]
        refund_sum[item["refund"]] += item["amount_minor"]
    for line in lines:
        if refunded_qty[line["id"]] != line["refunded_quantity"]:
            problems.append(
                f"sale line {line['id']}: refund lines say "
                f"{refunded_qty[line['id']]}, the line {line['refunded_quantity']}"
            )
    refunded_by_sale: dict[int, int] = defaultdict(int)
    for refund in refunds:
        refunded_by_sale[refund["sale"]] += refund["amount_minor"]
        if refund_sum[refund["id"]] != refund["amount_minor"]:
            problems.append(
                f"refund {refund['id']}: lines {refund_sum[refund['id']]} != "
                f"{refund['amount_minor']}"
            )
    for sale in sales:
        mine = by_sale[sale["id"]]
        checks = (
            ("net", sum(x["net_minor"] for x in mine), sale["total_minor"]),
            ("gross", sum(x["gross_minor"] for x in mine), sale["gross_minor"]),
            ("points paid", sum(x["points_paid_minor"] for x in mine), sale["points_value_minor"]),
            (
                "stored value",
                sum(x["stored_value_paid_minor"] for x in mine),
                sale["stored_value_minor"],
            ),
            ("points earned", sum(x["points_earned"] for x in mine), sale["points_earned"]),
            ("refunded", refunded_by_sale[sale["id"]], sale["refunded_minor"]),
        )
        for name, lines_say, sale_says in checks:
            if lines_say != sale_says:
                problems.append(f"sale {sale['sale_no']}: {name} {lines_say} != {sale_says}")
        if sale["refunded_minor"] > sale["total_minor"]:
            problems.append(f"sale {sale['sale_no']}: refunded more than sold")
        if sale["gross_minor"] - sale["discount_minor"] != sale["total_minor"]:
            problems.append(f"sale {sale['sale_no']}: gross - discount != total")
    return problems
