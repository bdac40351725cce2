"""Commission statements: one salesperson's month in a store, a store's month, the chain's
month side by side, and the CSV for payroll; read from the entries of the store's period.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from memberpos.errors import InvalidInput
from memberpos.money import divide_half_up
from stores.access import Actor
from stores.commission_access import (
    COMMISSION_PERMISSIONS,
    CommissionPermission,
    may_read_statement,
    require,
    staff_by_employee_no,
    store_by_code,
)
from stores.commission_calc import BP
from stores.commission_errors import NotOwnStatement
from stores.commission_periods import month_label, month_start
from stores.commission_tables import CommissionEntry, CommissionPeriod, CommissionTarget
from stores.tables import Store

# --------------------------------------------------------------------------- statements

LINE_COLUMNS = (
    "kind",
    "source_ref",
    "sale_ref",
    "line_no",
    "sku",
    "quantity",
    "share_bp",
    "sales_minor",
    "base_minor",
    "rule_code",
    "rate_bp",
    "amount_per_unit_minor",
    "level",
    "commission_minor",
    "personal_minor",
    "pool_minor",
    "pool_share_minor",
    "adjustment",
    "business_date",
)
SUM_COLUMNS = (
    "sales_minor",
    "commission_minor",
    "personal_minor",
    "pool_minor",
    "pool_share_minor",
)


def attainment_bp(sales_minor: int, target_minor: int | None) -> int | None:
    """Sales as basis points of the target (10000 = 100 %), half-up; None without one."""
    if not target_minor:
        return None
    return divide_half_up(sales_minor * BP, target_minor)


async def _period(store_id: int, month: dt.date) -> dict[str, Any] | None:
    return await (  # type: ignore[no-any-return]
        CommissionPeriod.select()
        .where((CommissionPeriod.store == store_id) & (CommissionPeriod.month_start == month))
        .first()
    )


async def _targets(store_id: int, month: dt.date) -> dict[int | None, int]:
    rows = await CommissionTarget.select(
        CommissionTarget.staff, CommissionTarget.target_minor
    ).where((CommissionTarget.store == store_id) & (CommissionTarget.month_start == month))
    return {row["staff"]: row["target_minor"] for row in rows}


async def _lines(period_id: int, staff_id: int | None = None) -> list[dict[str, Any]]:
    query = CommissionEntry.select(
        CommissionEntry.staff,
        CommissionEntry.staff.employee_no.as_alias("employee_no"),
        CommissionEntry.staff.name.as_alias("staff_name"),
        CommissionEntry.rule.code.as_alias("rule_code"),
        *(getattr(CommissionEntry, column) for column in LINE_COLUMNS if column != "rule_code"),
    ).where(CommissionEntry.period == period_id)
    if staff_id is not None:
        query = query.where(CommissionEntry.staff == staff_id)
    rows = await query.order_by(CommissionEntry.id)
    for row in rows:
        row["adjustment"] = bool(row["adjustment"])
    return rows  # type: ignore[no-any-return]


def _summary(lines: Sequence[dict[str, Any]]) -> dict[str, int]:
    sums = {column: sum(line[column] for line in lines) for column in SUM_COLUMNS}
    sums["adjustments_minor"] = sum(
        line["commission_minor"] for line in lines if line["adjustment"]
    )
    sums["payable_minor"] = sums["personal_minor"] + sums["pool_share_minor"]
    return sums


def _levels_reached(lines: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    best: dict[str, tuple[int, int]] = {}
    for line in lines:
        if line["kind"] == "sale" and line["level"] and line["rule_code"]:
            current = best.get(line["rule_code"], (0, 0))
            if line["level"] > current[0]:
                best[line["rule_code"]] = (line["level"], line["rate_bp"])
    return [
        {"rule_code": code, "level": level, "rate_bp": rate}
        for code, (level, rate) in sorted(best.items())
    ]


async def staff_statement(
    actor: Actor, store_code: str, month: dt.date, employee_no: str
) -> dict[str, Any]:
    """One salesperson's month in one store: every line with its rate and level, the levels
    reached, pool contributed and received, adjustments, target attainment."""
    store = await store_by_code(store_code)
    person = await staff_by_employee_no(employee_no)
    if not may_read_statement(actor, store["id"], person["id"]):
        if not any(role in COMMISSION_PERMISSIONS for role in actor.roles):
            raise NotOwnStatement()
        require(actor, CommissionPermission.read, store["id"])
    month = month_start(month)
    period = await _period(store["id"], month)
    lines = await _lines(period["id"], person["id"]) if period else []
    summary = _summary(lines)
    target = (await _targets(store["id"], month)).get(person["id"])
    return {
        "store_code": store_code,
        "month": month_label(month),
        "status": period["status"] if period else "open",
        "employee_no": employee_no,
        "name": person["name"],
        **summary,
        "pool_contributed_minor": summary["pool_minor"],
        "levels_reached": _levels_reached(lines),
        "target_minor": target,
        "attainment_bp": attainment_bp(summary["sales_minor"], target),
        "lines": [{column: line[column] for column in LINE_COLUMNS} for line in lines],
    }


async def store_statement(actor: Actor, store_code: str, month: dt.date) -> dict[str, Any]:
    """A store's month: one row per salesperson (and one for lines sold by nobody), the
    pool, the totals and the store's target attainment."""
    store = await store_by_code(store_code)
    require(actor, CommissionPermission.read, store["id"])
    month = month_start(month)
    period = await _period(store["id"], month)
    lines = await _lines(period["id"]) if period else []
    targets = await _targets(store["id"], month)
    by_staff: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
    names: dict[int | None, tuple[str | None, str | None]] = {None: (None, None)}
    for line in lines:
        by_staff[line["staff"]].append(line)
        names[line["staff"]] = (line["employee_no"], line["staff_name"])
    people = []
    for staff_id in sorted(by_staff, key=lambda key: (key is None, key or 0)):
        summary = _summary(by_staff[staff_id])
        target = targets.get(staff_id) if staff_id is not None else None
        people.append(
            {
                "employee_no": names[staff_id][0],
                "name": names[staff_id][1],
                **summary,
                "levels_reached": _levels_reached(by_staff[staff_id]),
                "target_minor": target,
                "attainment_bp": attainment_bp(summary["sales_minor"], target),
            }
        )
    totals = _summary(lines)
    store_target = targets.get(None)
    return {
        "store_code": store_code,
        "month": month_label(month),
        "status": period["status"] if period else "open",
        **totals,
        "pool_unpaid_minor": (
            totals["pool_minor"] - totals["pool_share_minor"]
            if period and period["status"] == "closed"
            else 0
        ),
        "target_minor": store_target,
        "attainment_bp": attainment_bp(totals["sales_minor"], store_target),
        "salespeople": people,
    }


async def chain_statement(actor: Actor, month: dt.date) -> dict[str, Any]:
    """Every store's month side by side (hq_admin, analyst)."""
    require(actor, CommissionPermission.read)
    month = month_start(month)
    stores = await Store.select(Store.code).order_by(Store.code)
    rows = []
    for store in stores:
        statement = await store_statement(actor, store["code"], month)
        statement.pop("salespeople")
        rows.append(statement)
    totals = {column: sum(row[column] for row in rows) for column in SUM_COLUMNS}
    return {"month": month_label(month), **totals, "stores": rows}


CSV_LINE_HEADER = ("store_code", "month", "employee_no", "name", *LINE_COLUMNS)
CSV_SUMMARY_HEADER = (
    "store_code",
    "month",
    "employee_no",
    "name",
    "sales_minor",
    "commission_minor",
    "personal_minor",
    "pool_minor",
    "pool_share_minor",
    "adjustments_minor",
    "payable_minor",
    "target_minor",
    "attainment_bp",
)


async def statement_csv(
    actor: Actor,
    store_code: str,
    month: dt.date,
    *,
    employee_no: str | None = None,
    detail: str = "lines",
) -> str:
    """CSV for payroll: every entry (``detail="lines"``) or one row per salesperson
    (``"summary"``); amounts in minor units. A salesperson exports only their own."""
    month = month_start(month)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if detail == "summary":
        if employee_no is not None:
            raise InvalidInput("a summary covers the whole store", field="employee_no")
        statement = await store_statement(actor, store_code, month)
        writer.writerow(CSV_SUMMARY_HEADER)
        for person in statement["salespeople"]:
            writer.writerow(
                [store_code, month_label(month), person["employee_no"] or "", person["name"] or ""]
                + ["" if person[c] is None else person[c] for c in CSV_SUMMARY_HEADER[4:]]
            )
        return out.getvalue()
    if detail != "lines":
        raise InvalidInput("detail is lines or summary", field="detail")
    store = await store_by_code(store_code)
    if employee_no is not None:
        statement = await staff_statement(actor, store_code, month, employee_no)
        rows = [
            {**line, "employee_no": employee_no, "staff_name": statement["name"]}
            for line in statement["lines"]
        ]
    else:
        require(actor, CommissionPermission.read, store["id"])
        period = await _period(store["id"], month)
        rows = await _lines(period["id"]) if period else []
    writer.writerow(CSV_LINE_HEADER)
    for row in rows:
        writer.writerow(
            [store_code, month_label(month), row["employee_no"] or "", row["staff_name"] or ""]
            + [
                "" if row[c] is None else int(row[c]) if isinstance(row[c], bool) else row[c]
                for c in LINE_COLUMNS
            ]
        )
    return out.getvalue()


__all__ = [
    "chain_statement",
    "staff_statement",
    "statement_csv",
    "store_statement",
]
