"""Opening and locking a member's accounts.

An account exists from the first posting on (opened by an idempotent insert). Postings to one
account are serialised: on PostgreSQL by ``SELECT … FOR UPDATE`` of the account row inside the
posting's transaction (READ COMMITTED; other members' postings run in parallel), on SQLite by
the IMMEDIATE write transaction every posting runs in.

The statements are hand-written (``memberpos.db``): every posting of a sale starts here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from memberpos.clock import business_date, utc_now
from memberpos.db import fetch, fetchrow, fetchval, lock_clause, placeholders

# The store's zone as a column of another statement (``{}``: the store id; NULL when there is
# no store or no such store, see :func:`zone_or_chain`): a posting reads it with its lots.
STORE_ZONE = "(SELECT time_zone FROM store WHERE id = {})"


def zone_or_chain(time_zone: str | None) -> str:
    """A zone read through :data:`STORE_ZONE`, or the chain's (settings) when it found none."""
    if time_zone is not None:
        return time_zone
    from memberpos.settings import get_settings

    return get_settings().time_zone


async def _account_id(table: str, member_id: int) -> int:
    row = await fetchrow(f"SELECT id FROM {table} WHERE member = {{}}", member_id)
    if row is not None:
        return row["id"]
    await _open(table, member_id)
    account_id = await fetchval(f"SELECT id FROM {table} WHERE member = {{}}", member_id)
    assert account_id is not None
    return account_id


async def _open(table: str, member_id: int) -> None:
    """The member's account, inserted unless it exists (a racing twin's insert wins)."""
    await fetch(
        f"INSERT INTO {table} (member, updated_at) VALUES ({{}}, {{}})"
        " ON CONFLICT (member) DO NOTHING",
        member_id,
        utc_now(),
    )


async def points_account_id(member_id: int) -> int:
    return await _account_id("points_account", member_id)


async def stored_value_account_id(member_id: int) -> int:
    return await _account_id("stored_value_account", member_id)


# What a posting reads of its locked account (a caller that locked it another way, say with
# its document number, reads these columns and hands the row over).
POINTS_ACCOUNT_COLUMNS = ("id", "balance", "debt")
STORED_VALUE_ACCOUNT_COLUMNS = ("id", "principal", "bonus")
_POINTS = f"SELECT {', '.join(POINTS_ACCOUNT_COLUMNS)} FROM points_account WHERE "
_STORED_VALUE = f"SELECT {', '.join(STORED_VALUE_ACCOUNT_COLUMNS)} FROM stored_value_account WHERE "


async def _locked(select: str, key: int) -> dict | None:
    row = await fetchrow(select + "{}" + lock_clause(), key)
    return None if row is None else dict(row)


async def lock_points_account(account_id: int) -> dict:
    row = await _locked(_POINTS + "id = ", account_id)
    assert row is not None
    return row


async def lock_stored_value_account(account_id: int) -> dict:
    row = await _locked(_STORED_VALUE + "id = ", account_id)
    assert row is not None
    return row


async def _lock_of(select: str, table: str, member_id: int) -> dict:
    """The member's account by ``select`` (the lookup and the lock in one round trip), opened
    first if the member has none."""
    if (row := await _locked(select + "member = ", member_id)) is not None:
        return row
    await _open(table, member_id)
    row = await _locked(select + "member = ", member_id)
    assert row is not None
    return row


async def lock_points_account_of(member_id: int) -> dict:
    """The member's points account (id, balance, debt), opened if need be and locked like
    :func:`lock_points_account`."""
    return await _lock_of(_POINTS, "points_account", member_id)


async def lock_stored_value_account_of(member_id: int) -> dict:
    """The member's stored-value account (id, principal, bonus), opened if need be and locked
    like :func:`lock_stored_value_account`."""
    return await _lock_of(_STORED_VALUE, "stored_value_account", member_id)


async def store_time_zone(store_id: int | None) -> str:
    """The store's IANA zone, or the chain's (settings) when there is no store. Read each
    time (one primary-key lookup): a cache per process would miss a zone HQ corrects."""
    if store_id is None:
        return zone_or_chain(None)
    return zone_or_chain(await fetchval("SELECT time_zone FROM store WHERE id = {}", store_id))


async def local_date(at: dt.datetime, store_id: int | None) -> dt.date:
    """The business date ``at`` falls on at the store (or in the chain's zone)."""
    return business_date(at, await store_time_zone(store_id))


async def local_dates(
    at: dt.datetime, store_ids: Iterable[int | None]
) -> dict[int | None, dt.date]:
    """:func:`local_date` for each of ``store_ids`` (None: the chain's zone), the stores'
    zones read in one statement."""
    wanted = set(store_ids)
    stores = sorted(store_id for store_id in wanted if store_id is not None)
    zones: dict[int, str] = {}
    if stores:
        rows = await fetch(
            f"SELECT id, time_zone FROM store WHERE id IN ({placeholders(len(stores))})",
            *stores,
        )
        zones = {row["id"]: row["time_zone"] for row in rows}
    return {
        store_id: business_date(at, zone_or_chain(zones.get(store_id) if store_id else None))
        for store_id in wanted
    }
