"""Opening and locking a member's accounts.

An account exists from the first posting on (opened by an idempotent insert). Postings to one
account are serialised: on PostgreSQL by ``SELECT … FOR UPDATE`` of the account row inside the
posting's transaction (READ COMMITTED; other members' postings run in parallel), on SQLite by
the IMMEDIATE write transaction every posting runs in.
"""

from __future__ import annotations

import datetime as dt

from loyalty.tables import PointsAccount, StoredValueAccount
from memberpos.clock import business_date, utc_now
from members.locks import for_update


async def points_account_id(member_id: int) -> int:
    row = (
        await PointsAccount.select(PointsAccount.id)
        .where(PointsAccount.member == member_id)
        .first()
    )
    if row is not None:
        return row["id"]
    await (
        PointsAccount.insert(PointsAccount(member=member_id, updated_at=utc_now()))
        .on_conflict(target=(PointsAccount.member,), action="DO NOTHING")
        .run()
    )
    row = (
        await PointsAccount.select(PointsAccount.id)
        .where(PointsAccount.member == member_id)
        .first()
    )
    assert row is not None
    return row["id"]


async def stored_value_account_id(member_id: int) -> int:
    row = (
        await StoredValueAccount.select(StoredValueAccount.id)
        .where(StoredValueAccount.member == member_id)
        .first()
    )
    if row is not None:
        return row["id"]
    await (
        StoredValueAccount.insert(StoredValueAccount(member=member_id, updated_at=utc_now()))
        .on_conflict(target=(StoredValueAccount.member,), action="DO NOTHING")
        .run()
    )
    row = (
        await StoredValueAccount.select(StoredValueAccount.id)
        .where(StoredValueAccount.member == member_id)
        .first()
    )
    assert row is not None
    return row["id"]


async def lock_points_account(account_id: int) -> dict:
    query = PointsAccount.select(PointsAccount.id, PointsAccount.balance, PointsAccount.debt).where(
        PointsAccount.id == account_id
    )
    row = await for_update(query).first()
    assert row is not None
    return row


async def lock_stored_value_account(account_id: int) -> dict:
    query = StoredValueAccount.select(
        StoredValueAccount.id, StoredValueAccount.principal, StoredValueAccount.bonus
    ).where(StoredValueAccount.id == account_id)
    row = await for_update(query).first()
    assert row is not None
    return row


async def lock_points_account_of(member_id: int) -> dict:
    """The member's points account (id, balance, debt), opened if need be and locked like
    :func:`lock_points_account`: the lookup and the lock in one round trip."""
    query = PointsAccount.select(PointsAccount.id, PointsAccount.balance, PointsAccount.debt).where(
        PointsAccount.member == member_id
    )
    row = await for_update(query).first()
    if row is not None:
        return row
    return await lock_points_account(await points_account_id(member_id))


async def lock_stored_value_account_of(member_id: int) -> dict:
    """The member's stored-value account (id, principal, bonus), opened if need be and locked
    like :func:`lock_stored_value_account`: the lookup and the lock in one round trip."""
    query = StoredValueAccount.select(
        StoredValueAccount.id, StoredValueAccount.principal, StoredValueAccount.bonus
    ).where(StoredValueAccount.member == member_id)
    row = await for_update(query).first()
    if row is not None:
        return row
    return await lock_stored_value_account(await stored_value_account_id(member_id))


async def store_time_zone(store_id: int | None) -> str:
    """The store's IANA zone, or the chain's (settings) when there is no store. Read each
    time (one primary-key lookup): a cache per process would miss a zone HQ corrects."""
    from memberpos.settings import get_settings
    from stores.tables import Store

    if store_id is None:
        return get_settings().time_zone
    row = await Store.select(Store.time_zone).where(Store.id == store_id).first()
    return row["time_zone"] if row is not None else get_settings().time_zone


async def local_date(at: dt.datetime, store_id: int | None) -> dt.date:
    """The business date ``at`` falls on at the store (or in the chain's zone)."""
    return business_date(at, await store_time_zone(store_id))
