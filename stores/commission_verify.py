"""Invariants of the commission ledger, for ``memberpos verify``.

- every line entry's commission is its personal part plus its pool part;
- a sale's entries carry exactly its lines' net sales, and with its refunds they net to no
  more than the sale (and no less than nothing);
- every level tally equals the sum of its period's entries for that person;
- a closed period's figures are still the ones frozen at its close.
"""

from __future__ import annotations

from typing import Any

from stores.commission_tables import CommissionPeriod


async def _raw(sql: str, *args: Any) -> list[dict[str, Any]]:
    return await CommissionPeriod.raw(sql, *args)  # type: ignore[no-any-return]


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
    for row in await _raw(
        "SELECT t.period, t.staff_key, t.sales_minor, "
        "(SELECT COALESCE(SUM(e.sales_minor), 0) FROM commission_entry e "
        "WHERE e.period = t.period AND COALESCE(e.staff, 0) = t.staff_key) AS entries "
        "FROM commission_tally t"
    ):
        if row["sales_minor"] != row["entries"]:
            problems.append(
                f"commission tally of period {row['period']} staff {row['staff_key']}: "
                f"{row['sales_minor']} but its entries sum to {row['entries']}"
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
