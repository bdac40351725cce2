"""Read models of a member's ledgers: the account view HQ sees, the member's own balances,
points about to expire and the history of both ledgers, newest first, with cursor paging."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from loyalty.earning import points_value_minor
from loyalty.packages import member_packages
from loyalty.points import points_summary
from loyalty.program import load_program
from loyalty.stored_value import stored_value_summary
from loyalty.tables import (
    PointsAccount,
    PointsEntry,
    PointsLot,
    StoredValueAccount,
    StoredValueEntry,
)
from memberpos.clock import business_date, utc_now
from memberpos.errors import InvalidInput
from memberpos.settings import get_settings

MAX_PAGE = 200


async def balances(member_id: int, at: dt.datetime | None = None) -> dict[str, Any]:
    at = at or utc_now()
    program = await load_program()
    points = await points_summary(member_id, at)
    stored = await stored_value_summary(member_id)
    return {
        "points": {
            **points,
            "value_minor": points_value_minor(points["spendable"], program),
        },
        "stored_value": {
            "principal_minor": stored["principal"],
            "bonus_minor": stored["bonus"],
            "total_minor": stored["balance"],
        },
    }


async def expiring(
    member_id: int, days: int, at: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Lots with points left that expire within ``days`` (chain business date), soonest
    first, grouped by expiry date."""
    if not 0 <= days <= 3_660:
        raise InvalidInput("days must be 0..3660", field="days")
    at = at or utc_now()
    today = business_date(at, get_settings().time_zone)
    rows = await PointsLot.select(PointsLot.expires_on, PointsLot.remaining).where(
        (PointsLot.account.member == member_id)
        & (PointsLot.remaining > 0)
        & (PointsLot.expires_on >= today)
        & (PointsLot.expires_on <= today + dt.timedelta(days=days))
    )
    by_date: dict[dt.date, int] = {}
    for row in rows:
        by_date[row["expires_on"]] = by_date.get(row["expires_on"], 0) + row["remaining"]
    return [{"expires_on": day, "points": by_date[day]} for day in sorted(by_date)]


async def lots(member_id: int) -> list[dict[str, Any]]:
    return (
        await PointsLot.select(
            PointsLot.id,
            PointsLot.points,
            PointsLot.remaining,
            PointsLot.available_from,
            PointsLot.expires_on,
            PointsLot.store.code.as_alias("store_code"),
            PointsLot.created_at,
        )
        .where(PointsLot.account.member == member_id)
        .order_by(PointsLot.id, ascending=False)
        .limit(MAX_PAGE)
    )


# ------------------------------------------------------------------------------- history
# Both ledgers in one list, newest first. The order key is (created_at, ledger, id), ledger
# 1 for points and 0 for stored value; the cursor is the key of the last item returned.


def _encode(at: dt.datetime, ledger: int, entry_id: int) -> str:
    raw = f"{at.astimezone(dt.UTC).isoformat()}|{ledger}|{entry_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[dt.datetime, int, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, ledger, entry_id = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
        parsed = dt.datetime.fromisoformat(at)
        if parsed.tzinfo is None or ledger not in ("0", "1"):
            raise ValueError
        return parsed, int(ledger), int(entry_id)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput("Unknown cursor", field="cursor") from error


def _after(table: Any, ledger: int, cursor: tuple[dt.datetime, int, int] | None) -> Any:
    condition = table.account.member.is_not_null()
    if cursor is None:
        return condition
    at, cursor_ledger, entry_id = cursor
    if ledger < cursor_ledger:
        same_instant = table.created_at == at
    elif ledger == cursor_ledger:
        same_instant = (table.created_at == at) & (table.id < entry_id)
    else:
        return condition & (table.created_at < at)
    return condition & ((table.created_at < at) | same_instant)


async def history(
    member_id: int, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the member's entries, newest first, and the cursor of the next page."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be 1..{MAX_PAGE}", field="limit")
    position = _decode(cursor) if cursor else None
    points_rows = (
        await PointsEntry.select(
            PointsEntry.id,
            PointsEntry.delta,
            PointsEntry.kind,
            PointsEntry.source_kind,
            PointsEntry.source_id,
            PointsEntry.balance_after,
            PointsEntry.store.code.as_alias("store_code"),
            PointsEntry.created_at,
        )
        .where((PointsEntry.account.member == member_id) & _after(PointsEntry, 1, position))
        .order_by(PointsEntry.created_at, ascending=False)
        .order_by(PointsEntry.id, ascending=False)
        .limit(limit + 1)
    )
    stored_rows = (
        await StoredValueEntry.select(
            StoredValueEntry.id,
            StoredValueEntry.principal_delta,
            StoredValueEntry.bonus_delta,
            StoredValueEntry.kind,
            StoredValueEntry.source_kind,
            StoredValueEntry.source_id,
            StoredValueEntry.principal_after,
            StoredValueEntry.bonus_after,
            StoredValueEntry.store.code.as_alias("store_code"),
            StoredValueEntry.created_at,
        )
        .where(
            (StoredValueEntry.account.member == member_id) & _after(StoredValueEntry, 0, position)
        )
        .order_by(StoredValueEntry.created_at, ascending=False)
        .order_by(StoredValueEntry.id, ascending=False)
        .limit(limit + 1)
    )
    items = [{"ledger": "points", **row} for row in points_rows] + [
        {"ledger": "stored_value", **row} for row in stored_rows
    ]
    items.sort(
        key=lambda item: (item["created_at"], item["ledger"] == "points", item["id"]),
        reverse=True,
    )
    page, more = items[:limit], len(items) > limit
    next_cursor = None
    if more and page:
        last = page[-1]
        next_cursor = _encode(
            last["created_at"], 1 if last["ledger"] == "points" else 0, last["id"]
        )
    return page, next_cursor


async def account_view(member_id: int) -> dict[str, Any]:
    """What HQ sees of a member's ledgers: balances, lots, the latest entries, packages."""
    points_entries, _ = await history(member_id, limit=MAX_PAGE)
    return {
        **(await balances(member_id)),
        "points_account": await PointsAccount.exists().where(PointsAccount.member == member_id),
        "stored_value_account": await StoredValueAccount.exists().where(
            StoredValueAccount.member == member_id
        ),
        "lots": await lots(member_id),
        "points_entries": [e for e in points_entries if e["ledger"] == "points"],
        "stored_value_entries": [e for e in points_entries if e["ledger"] == "stored_value"],
        "packages": await member_packages(member_id),
    }
