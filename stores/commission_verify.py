"""Invariants of the commission ledger, for ``memberpos verify``.

- every line entry's commission is its personal part plus its pool part;
- a sale's entries carry exactly its lines' net sales, and with its refunds they net to no
  more than the sale (and no less than nothing);
- every level tally equals the sum of its period's entries for that person;
- a closed period's figures are still the ones frozen at its close.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from stores.commission_tables import CommissionPeriod


async def _raw(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows with sums as ints (PostgreSQL sums BIGINTs as NUMERIC)."""
    rows = await CommissionPeriod.raw(sql, *args)
    return [
        {key: int(value) if isinstance(value, Decimal) else value for key, value in row.items()}
        for row in rows
    ]


async def check_commission() -> list[str]:
    problems: list[str] = []
    for row in await _raw(
        "SELECT id, source_ref FROM commission_entry WHERE kind IN ('sale', 'refund', "
        "'level_true_up') AND commission_minor <> personal_minor + pool_minor"
    ):
        problems.append(
            f"commission entry {row['id']} ({row['source_ref']}): commission is not personal + pool"
        )
    for row in await _raw(
        "SELECT s.sale_ref, s.net_minor, "
        "COALESCE(SUM(CASE WHEN e.kind = 'sale' THEN e.sales_minor ELSE 0 END), 0) AS sold, "
        "COALESCE(SUM(e.sales_minor), 0) AS net_sales, "
        "COALESCE(SUM(CASE WHEN e.kind = 'sale' THEN e.commission_minor ELSE 0 END), 0) "
        "AS paid, COALESCE(SUM(e.commission_minor), 0) AS net_paid "
        "FROM commission_sale s LEFT JOIN commission_entry e ON e.sale_ref = s.sale_ref "
        "AND e.kind IN ('sale', 'refund') GROUP BY s.sale_ref, s.net_minor, s.line_count "
        "HAVING s.line_count > 0"
    ):
        ref = row["sale_ref"]
        if row["sold"] != row["net_minor"]:
            problems.append(
                f"sale {ref}: entries carry {row['sold']} of sales, its lines {row['net_minor']}"
            )
        if not 0 <= row["net_sales"] <= row["sold"]:
            problems.append(f"sale {ref}: with its refunds its entries net {row['net_sales']}")
        if not 0 <= row["net_paid"] <= row["paid"]:
            problems.append(
                f"sale {ref}: with its refunds its commission nets {row['net_paid']} "
                f"of {row['paid']}"
            )
    tallies = {
        (row["period"], row["staff_key"]): row["sales_minor"]
        for row in await _raw("SELECT period, staff_key, sales_minor FROM commission_tally")
    }
    sums = {
        (row["period"], row["staff"]): row["sales_minor"]
        for row in await _raw(
            "SELECT period, staff, SUM(sales_minor) AS sales_minor FROM commission_entry "
            "WHERE staff IS NOT NULL GROUP BY period, staff"
        )
    }
    for key in sorted(set(tallies) | set(sums)):
        if tallies.get(key, 0) != sums.get(key, 0):
            problems.append(
                f"commission tally of period {key[0]} staff {key[1]}: {tallies.get(key, 0)} "
                f"but its entries sum to {sums.get(key, 0)}"
            )
    for row in await _raw(
        "SELECT p.id, p.sales_minor, p.commission_minor, p.personal_minor, p.pool_minor, "
        "p.pool_paid_minor, p.entry_count, "
        "COALESCE(SUM(e.sales_minor), 0) AS now_sales, "
        "COALESCE(SUM(e.commission_minor), 0) AS now_commission, "
        "COALESCE(SUM(e.personal_minor), 0) AS now_personal, "
        "COALESCE(SUM(e.pool_minor), 0) AS now_pool, "
        "COALESCE(SUM(e.pool_share_minor), 0) AS now_pool_paid, "
        "COUNT(e.id) AS now_entry_count "
        "FROM commission_period p LEFT JOIN commission_entry e ON e.period = p.id "
        "WHERE p.status = 'closed' GROUP BY p.id, p.sales_minor, p.commission_minor, "
        "p.personal_minor, p.pool_minor, p.pool_paid_minor, p.entry_count"
    ):
        for name in (
            "sales_minor",
            "commission_minor",
            "personal_minor",
            "pool_minor",
            "pool_paid_minor",
            "entry_count",
        ):
            now = row["now_" + name.removesuffix("_minor")]
            if now != row[name]:
                problems.append(
                    f"closed commission period {row['id']}: {name} was {row[name]} at close, "
                    f"now {now}"
                )
    return problems
