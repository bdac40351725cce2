"""A store's monthly commission periods: the months themselves, the period a posting lands in
(its own month's, or the first open one after it when that is closed), the running sales
tallies that levels count, the ``commission_entry`` rows every posting writes, the month's
targets and pool shares, and the close (whole-amount true-ups, the pool split, frozen
figures).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from memberpos.clock import business_date as date_in_zone
from memberpos.clock import utc_now
from memberpos.db import defer_write, fetch, is_sqlite, placeholders, transaction
from memberpos.errors import Forbidden, InvalidInput
from memberpos.money import allocate, percent_of
from stores import audit
from stores.access import Actor
from stores.commission_access import (
    CommissionPermission,
    can,
    require,
    staff_by_employee_no,
    store_by_code,
)
from stores.commission_calc import level_reached
from stores.commission_errors import PeriodAlreadyClosed, PeriodNotEnded
from stores.commission_rules import _load_rules
from stores.commission_tables import (
    CommissionPeriod,
    CommissionPoolShare,
    CommissionTally,
    CommissionTarget,
)

# ------------------------------------------------------------------------------- months


def month_start(on: dt.date) -> dt.date:
    return on.replace(day=1)


def next_month(start: dt.date) -> dt.date:
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def parse_month(text: str, field: str = "month") -> dt.date:
    """``2026-11`` → 2026-11-01, or a 400 naming ``field``."""
    try:
        year, month = text.split("-")
        return dt.date(int(year), int(month), 1)
    except ValueError as error:
        raise InvalidInput(f"{text!r} is not a month like 2026-11", field=field) from error


def month_label(start: dt.date) -> str:
    return f"{start.year:04d}-{start.month:02d}"


# ------------------------------------------------------------------------------ raw SQL


async def _lock_period(store_id: int, start: dt.date) -> tuple[int, str]:
    """The store's period of the month beginning ``start`` (created if missing) and its
    status, under a key-share lock that a close waits for (PostgreSQL)."""
    lock = "" if is_sqlite() else " FOR KEY SHARE"
    sql = "SELECT id, status FROM commission_period WHERE store = {} AND month_start = {}"
    rows = await fetch(sql + lock, store_id, start)
    if not rows:
        await fetch(
            "INSERT INTO commission_period (store, month_start, status, sales_minor, "
            "commission_minor, personal_minor, pool_minor, pool_paid_minor, entry_count, "
            "created_at) VALUES ({}, {}, 'open', 0, 0, 0, 0, 0, 0, {}) "
            "ON CONFLICT (store, month_start) DO NOTHING",
            store_id,
            start,
            utc_now(),
        )
        rows = await fetch(sql + lock, store_id, start)
    return rows[0]["id"], rows[0]["status"]


async def landing_period(
    store_id: int, on: dt.date, known: tuple[int, str] | None = None
) -> tuple[int, bool]:
    """(period id, adjustment): the period of ``on``'s month, or when it is closed the first
    open one after it."""
    start = month_start(on)
    period_id, status = known if known is not None else await _lock_period(store_id, start)
    adjustment = False
    while status != "open":
        adjustment = True
        start = next_month(start)
        period_id, status = await _lock_period(store_id, start)
    return period_id, adjustment


# Adds each person's sales to their period tally, rows in key order (so two sales never lock
# the same two rows crosswise); answers the tallies after it.
_TALLY_UPSERT = (
    "ON CONFLICT (period, staff_key) DO UPDATE SET "
    "sales_minor = commission_tally.sales_minor + excluded.sales_minor "
    "RETURNING staff_key, sales_minor"
)


async def _add_to_tallies(period_id: int, deltas: dict[int, int]) -> dict[int, int]:
    """Add each person's sales to their period tally in one statement; their tallies
    *before* it."""
    if not deltas:
        return {}
    keys = sorted(deltas)
    rows = await fetch(
        "INSERT INTO commission_tally (period, staff_key, sales_minor) VALUES "
        + ", ".join(["({}, {}, {})"] * len(keys))
        + " "
        + _TALLY_UPSERT,
        *[value for key in keys for value in (period_id, key, deltas[key])],
    )
    return {row["staff_key"]: row["sales_minor"] - deltas[row["staff_key"]] for row in rows}


ENTRY_COLUMNS = (
    "period",
    "store",
    "staff",
    "kind",
    "source_ref",
    "sale_ref",
    "adjustment",
    "line_no",
    "sku",
    "quantity",
    "share_bp",
    "sales_minor",
    "base_minor",
    "rule",
    "rate_bp",
    "amount_per_unit_minor",
    "level",
    "commission_minor",
    "personal_minor",
    "pool_minor",
    "pool_share_minor",
    "business_date",
    "occurred_at",
    "recorded_at",
)


_ENTRY_ZEROS: dict[str, Any] = {
    "sale_ref": "",
    "adjustment": False,
    "line_no": 0,
    "sku": "",
    "quantity": 0,
    "share_bp": 0,
    "sales_minor": 0,
    "base_minor": 0,
    "rule": None,
    "rate_bp": 0,
    "amount_per_unit_minor": 0,
    "level": 0,
    "commission_minor": 0,
    "personal_minor": 0,
    "pool_minor": 0,
    "pool_share_minor": 0,
}


def _entry(**fields: Any) -> dict[str, Any]:
    """A ``commission_entry`` row for ``insert_entries``; the columns not given are zero."""
    return {**_ENTRY_ZEROS, **fields}


_ENTRY_INSERT = f"INSERT INTO commission_entry ({', '.join(ENTRY_COLUMNS)}) VALUES "
_ENTRY_ROW = "(" + placeholders(len(ENTRY_COLUMNS)) + ")"


async def insert_entries(entries: Sequence[dict[str, Any]]) -> None:
    """Every entry of one posting in one statement (chunked for very large ones), sent with
    the transaction's commit (``defer_write``: nothing reads them before a later statement
    naming ``commission_entry`` sends them)."""
    for start in range(0, len(entries), 400):
        chunk = entries[start : start + 400]
        args: list[Any] = []
        for entry in chunk:
            args.extend([entry[column] for column in ENTRY_COLUMNS])
        await defer_write(_ENTRY_INSERT + ", ".join([_ENTRY_ROW] * len(chunk)), *args)


# ------------------------------------------------------------------- targets, pool shares


async def set_target(
    actor: Actor,
    store_code: str,
    month: dt.date,
    target_minor: int,
    employee_no: str | None = None,
) -> dict[str, Any]:
    """A month's sales target of a store, or of one salesperson in it (upsert)."""
    store = await store_by_code(store_code)
    require(actor, CommissionPermission.manage_targets, store["id"])
    if target_minor < 0:
        raise InvalidInput("target_minor must not be negative", field="target_minor")
    staff_id = (await staff_by_employee_no(employee_no))["id"] if employee_no else None
    month = month_start(month)
    async with transaction():
        condition = (
            (CommissionTarget.store == store["id"])
            & (CommissionTarget.month_start == month)
            & (
                CommissionTarget.staff.is_null()
                if staff_id is None
                else CommissionTarget.staff == staff_id
            )
        )
        existing = await CommissionTarget.select(CommissionTarget.target_minor).where(condition)
        values = {
            CommissionTarget.target_minor: target_minor,
            CommissionTarget.updated_at: utc_now(),
            CommissionTarget.updated_by: actor.staff_id,
        }
        if existing:
            await CommissionTarget.update(values).where(condition)
        else:
            await CommissionTarget.insert(
                CommissionTarget(
                    store=store["id"],
                    staff=staff_id,
                    month_start=month,
                    target_minor=target_minor,
                    updated_at=utc_now(),
                    updated_by=actor.staff_id,
                )
            ).run()
        await audit.record(
            actor,
            "commission_target.set",
            "commission_target",
            f"{store_code}:{month_label(month)}:{employee_no or '*'}",
            store_code=store_code,
            before={"target_minor": existing[0]["target_minor"]} if existing else None,
            after={"target_minor": target_minor},
        )
    return {
        "store_code": store_code,
        "month": month_label(month),
        "employee_no": employee_no,
        "target_minor": target_minor,
    }


async def set_pool_shares(
    actor: Actor, store_code: str, weights: Sequence[tuple[str, int]]
) -> list[dict[str, Any]]:
    """Replace how the store's pool is split at close: (employee_no, weight) pairs."""
    store = await store_by_code(store_code)
    require(actor, CommissionPermission.manage_targets, store["id"])
    resolved: list[tuple[int, str, int]] = []
    for index, (employee_no, weight) in enumerate(weights):
        if weight < 0:
            raise InvalidInput("weight must not be negative", field=f"shares[{index}].weight")
        person = await staff_by_employee_no(employee_no, field=f"shares[{index}].employee_no")
        if any(person["id"] == r[0] for r in resolved):
            raise InvalidInput(f"{employee_no} appears twice", field=f"shares[{index}]")
        resolved.append((person["id"], employee_no, weight))
    async with transaction():
        await CommissionPoolShare.delete().where(CommissionPoolShare.store == store["id"])
        if resolved:
            await CommissionPoolShare.insert(
                *(
                    CommissionPoolShare(
                        store=store["id"], staff=staff_id, weight=weight, updated_at=utc_now()
                    )
                    for staff_id, _, weight in resolved
                )
            ).run()
        await audit.record(
            actor,
            "commission_pool_shares.set",
            "commission_pool_share",
            store_code,
            store_code=store_code,
            after={employee_no: weight for _, employee_no, weight in resolved},
        )
    return [{"employee_no": e, "weight": w} for _, e, w in resolved]


# ------------------------------------------------------------------------------ periods


async def _period_sums(period_id: int) -> dict[str, int]:
    rows = await fetch(
        "SELECT COALESCE(SUM(sales_minor), 0) AS sales_minor, "
        "COALESCE(SUM(commission_minor), 0) AS commission_minor, "
        "COALESCE(SUM(personal_minor), 0) AS personal_minor, "
        "COALESCE(SUM(pool_minor), 0) AS pool_minor, "
        "COALESCE(SUM(pool_share_minor), 0) AS pool_paid_minor, "
        "COUNT(*) AS entry_count FROM commission_entry WHERE period = {}",
        period_id,
    )
    return {key: int(value) for key, value in rows[0].items()}


async def _whole_amount_true_ups(
    period_id: int, store_id: int, last_day: dt.date, now: dt.datetime
) -> None:
    """Whole-amount levels (全额累进) pay the month's whole base under a rule at the rate of
    the level the person's month ended on. During the month each line is paid at the level
    reached with it; at close one ``level_true_up`` entry per person and rule pays the
    difference (negative when refunds took them back below a level). Adjustments landing
    from closed months are left out: they belong to those months' terms."""
    rows = await fetch(
        "SELECT e.staff, e.rule, SUM(e.base_minor) AS base_minor, "
        "SUM(e.commission_minor) AS commission_minor, SUM(e.pool_minor) AS pool_minor "
        "FROM commission_entry e JOIN commission_rule r ON r.id = e.rule "
        "WHERE e.period = {} AND r.level_mode = 'whole' AND e.adjustment = {} "
        "AND e.staff IS NOT NULL AND e.kind IN ('sale', 'refund') "
        "GROUP BY e.staff, e.rule ORDER BY e.rule, e.staff",
        period_id,
        False,
    )
    if not rows:
        return
    tallies = {
        row["staff_key"]: row["sales_minor"]
        for row in await CommissionTally.select(
            CommissionTally.staff_key, CommissionTally.sales_minor
        ).where(CommissionTally.period == period_id)
    }
    rules = {rule.id: rule for rule in await _load_rules()}
    entries = []
    for row in rows:
        terms = rules[row["rule"]].terms
        index = level_reached(terms.levels, tallies.get(row["staff"], 0))
        rate = terms.levels[index].rate_bp
        due = percent_of(int(row["base_minor"]), rate)
        due_pool = percent_of(due, terms.pool_share_bp)
        true_up = due - int(row["commission_minor"])
        pool_true_up = due_pool - int(row["pool_minor"])
        if true_up == 0 and pool_true_up == 0:
            continue
        entries.append(
            _entry(
                period=period_id,
                store=store_id,
                staff=row["staff"],
                kind="level_true_up",
                source_ref=f"close:{period_id}:{row['rule']}",  # one per person and rule
                rule=row["rule"],
                rate_bp=rate,
                level=index + 1,
                commission_minor=true_up,
                personal_minor=true_up - pool_true_up,
                pool_minor=pool_true_up,
                business_date=last_day,
                occurred_at=now,
                recorded_at=now,
            )
        )
    await insert_entries(entries)


async def close_period(actor: Actor, store_code: str, month: dt.date) -> dict[str, Any]:
    """Close a store's month (store_manager of the store, or hq_admin) once it has ended in
    the store's zone: split the pool, freeze the figures. Nothing in it changes after."""
    store = await store_by_code(store_code)
    require(actor, CommissionPermission.close, store["id"])
    month = month_start(month)
    today = date_in_zone(utc_now(), store["time_zone"])
    if today < next_month(month):
        raise PeriodNotEnded(
            f"{month_label(month)} has not ended in {store['time_zone']}", field="month"
        )
    async with transaction():
        period_id, _ = await _lock_period(store["id"], month)
        lock = "" if is_sqlite() else " FOR UPDATE"
        status = await fetch("SELECT status FROM commission_period WHERE id = {}" + lock, period_id)
        if status[0]["status"] != "open":
            raise PeriodAlreadyClosed(f"{store_code} {month_label(month)} is closed already")
        now = utc_now()
        last_day = next_month(month) - dt.timedelta(days=1)
        await _whole_amount_true_ups(period_id, store["id"], last_day, now)
        sums = await _period_sums(period_id)
        weights = await CommissionPoolShare.select(
            CommissionPoolShare.staff, CommissionPoolShare.weight
        ).where((CommissionPoolShare.store == store["id"]) & (CommissionPoolShare.weight > 0))
        recipients = sorted((row["staff"], row["weight"]) for row in weights)
        if not recipients:
            sellers = await fetch(
                "SELECT DISTINCT staff FROM commission_entry WHERE period = {} "
                "AND kind = 'sale' AND staff IS NOT NULL",
                period_id,
            )
            recipients = sorted((row["staff"], 1) for row in sellers)
        entries = []
        if recipients and sums["pool_minor"]:
            shares = allocate(sums["pool_minor"], [weight for _, weight in recipients])
            for (staff_id, weight), share in zip(recipients, shares, strict=True):
                entries.append(
                    _entry(
                        period=period_id,
                        store=store["id"],
                        staff=staff_id,
                        kind="pool_share",
                        source_ref=f"close:{period_id}",
                        share_bp=weight,
                        pool_share_minor=share,
                        business_date=last_day,
                        occurred_at=now,
                        recorded_at=now,
                    )
                )
            await insert_entries(entries)
        frozen = await _period_sums(period_id)
        await CommissionPeriod.update(
            {
                CommissionPeriod.status: "closed",
                CommissionPeriod.closed_at: now,
                CommissionPeriod.closed_by: actor.staff_id,
                CommissionPeriod.sales_minor: frozen["sales_minor"],
                CommissionPeriod.commission_minor: frozen["commission_minor"],
                CommissionPeriod.personal_minor: frozen["personal_minor"],
                CommissionPeriod.pool_minor: frozen["pool_minor"],
                CommissionPeriod.pool_paid_minor: frozen["pool_paid_minor"],
                CommissionPeriod.entry_count: frozen["entry_count"],
            }
        ).where(CommissionPeriod.id == period_id)
        await audit.record(
            actor,
            "commission_period.close",
            "commission_period",
            f"{store_code}:{month_label(month)}",
            store_code=store_code,
            after=frozen,
        )
    return {"store_code": store_code, "month": month_label(month), "status": "closed", **frozen}


async def list_periods(actor: Actor, store_code: str | None = None) -> list[dict[str, Any]]:
    """Periods of the stores in the caller's reach, newest first."""
    query = CommissionPeriod.select(
        CommissionPeriod.store.code.as_alias("store_code"),
        CommissionPeriod.month_start,
        CommissionPeriod.status,
        CommissionPeriod.closed_at,
        CommissionPeriod.closed_by.employee_no.as_alias("closed_by"),
    ).order_by(CommissionPeriod.month_start, ascending=False)
    if store_code is not None:
        store = await store_by_code(store_code)
        require(actor, CommissionPermission.read, store["id"])
        query = query.where(CommissionPeriod.store == store["id"])
    elif not can(actor, CommissionPermission.read):
        if actor.home_store_id is None:
            raise Forbidden("Your role may not read commission periods")
        require(actor, CommissionPermission.read, actor.home_store_id)
        query = query.where(CommissionPeriod.store == actor.home_store_id)
    rows = await query
    for row in rows:
        row["month"] = month_label(row.pop("month_start"))
    return rows  # type: ignore[no-any-return]


__all__ = [
    "close_period",
    "landing_period",
    "list_periods",
    "month_label",
    "month_start",
    "next_month",
    "parse_month",
    "set_pool_shares",
    "set_target",
]
