"""The points ledger: earning into lots, spending soonest-expiring first, refunds that reverse
exactly what a sale did, and expiry.

Rules (and where they come from):
- Earned points form a lot, spendable from ``available_from`` (the return window: pending
  points) until ``expires_on``. Spending takes the lots that expire soonest first.
- A refund takes back the points its sale earned. If some were spent meanwhile, the balance
  goes negative by that much (recorded as ``debt``) and later earning repays the debt first:
  the member keeps nothing the refund took back, and nothing is silently written off.
- A refund gives back the points its sale spent, to the lots they came from, in the reverse
  of the order they were taken.
- Every posting is unique by (account, source kind, source id, kind): posting the same source
  twice returns the first posting and changes nothing.
- ``expires_on`` is a business date: a lot is spendable through that whole day in the zone of
  the store where it is spent (a sale at 00:30 on 1 January in Shanghai is 16:30 UTC on
  31 December, and last year's lots are gone by then); the expiry job uses each lot's own
  store's zone.
Invariants (``memberpos verify``): balance = sum(entries) = sum(lot remaining) − debt; no lot
remaining below zero or above its points; debt ≥ 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loyalty.accounts import (
    STORE_ZONE,
    lock_points_account,
    lock_points_account_of,
    zone_or_chain,
)
from loyalty.errors import InsufficientPoints, InvalidAmount
from loyalty.tables import PointsAccount, PointsEntry, PointsLot, PointsLotUse
from memberpos.clock import business_date, utc_now
from memberpos.db import defer_write, fetch, fetchrow, insert, json_text, transaction


@dataclass(frozen=True)
class Source:
    kind: str  # sale | refund | adjustment | job | merge
    id: str
    store_id: int | None = None
    staff_id: int | None = None


@dataclass(frozen=True)
class PointsPosting:
    entry_id: int | None  # None: written with the transaction's commit (memberpos.db)
    delta: int
    balance_after: int
    replayed: bool = False
    # the account as the posting left it (earn and spend): a caller in the same transaction
    # passes it to points_summary instead of reading the account again
    account_id: int | None = None
    debt_after: int | None = None
    # spendable and pending after an earn, at its time by the chain's business date (what
    # points_summary(member, at) says), read with the account's update (no read of the lots)
    spendable_after: int | None = None
    pending_after: int | None = None

    @property
    def account_after(self) -> dict[str, int] | None:
        if self.replayed or self.account_id is None or self.debt_after is None:
            return None
        account = {"id": self.account_id, "balance": self.balance_after, "debt": self.debt_after}
        if self.spendable_after is not None and self.pending_after is not None:
            account["spendable"], account["pending"] = self.spendable_after, self.pending_after
        return account


# The entry of (account, source kind, source id, kind): at most one (a unique index).
_POSTED = (
    " FROM points_entry WHERE account = {} AND source_kind = {} AND source_id = {} AND kind = {}"
)


async def _existing(account_id: int, source: Source, kind: str) -> PointsPosting | None:
    row = await fetchrow(
        "SELECT id, delta, balance_after" + _POSTED, account_id, source.kind, source.id, kind
    )
    if row is None:
        return None
    return PointsPosting(row["id"], row["delta"], row["balance_after"], replayed=True)


async def _replayed(account_id: int, source: Source, kind: str) -> PointsPosting:
    """The posting :func:`_post_once` found made already."""
    done = await _existing(account_id, source, kind)
    assert done is not None
    return done


async def _write_entry(
    account_id: int,
    delta: int,
    kind: str,
    source: Source,
    balance_after: int,
    debt_after: int,
    at: dt.datetime,
    detail: dict[str, Any] | None = None,
    reverses: Source | None = None,
) -> int:
    entry_id = await _insert_entry(
        account_id, delta, kind, source, balance_after, at, detail, reverses
    )
    assert entry_id is not None  # not deferred: its id is returned
    await _set_account(account_id, balance_after, debt_after, at)
    return entry_id


async def _post_once(
    account_id: int,
    delta: int,
    kind: str,
    source: Source,
    balance_after: int,
    debt_after: int,
    at: dt.datetime,
    detail: dict[str, Any] | None = None,
    *,
    lots_today: dt.date | None = None,
) -> Any:
    """:func:`_write_entry` unless the source is posted on the account already (None,
    nothing written), else the account's updated row: the update carries that check (it runs
    under the account's lock, so it sees every posting before it), a first posting reads no
    entry. The entry goes out with the transaction's commit (``deferred``); rows that point
    at it find it by its source key (:func:`_entry_ref`). ``lots_today``: the row also holds
    the lots' ``spendable`` and ``pending`` at ``at`` (expiry by that business date), as
    they stood before this posting."""
    row = await _set_account(
        account_id, balance_after, debt_after, at, unless=(source, kind), lots_today=lots_today
    )
    if row is None:
        return None
    await _insert_entry(account_id, delta, kind, source, balance_after, at, detail, deferred=True)
    return row


def _entry_ref(account_id: int, source: Source, kind: str) -> tuple[str, tuple[Any, ...]]:
    """The id of the entry of (account, source, kind) as a sub-select and its values, for a
    row written in the same transaction as a deferred entry."""
    return "(SELECT id" + _POSTED + ")", (account_id, source.kind, source.id, kind)


async def _insert_entry(
    account_id: int,
    delta: int,
    kind: str,
    source: Source,
    balance_after: int,
    at: dt.datetime,
    detail: dict[str, Any] | None = None,
    reverses: Source | None = None,
    *,
    deferred: bool = False,
) -> int | None:
    """The entry's id, or None when ``deferred`` (sent with the commit)."""
    rows = await insert(
        "points_entry",
        [
            {
                "account": account_id,
                "delta": delta,
                "kind": kind,
                "source_kind": source.kind,
                "source_id": source.id,
                "balance_after": balance_after,
                "store": source.store_id,
                "reverses": f"{reverses.kind}:{reverses.id}" if reverses else None,
                "staff": source.staff_id,
                "detail": json_text(detail or {}),
                "created_at": at,
            }
        ],
        returning=None if deferred else "id",
        deferred=deferred,
    )
    return rows[0]["id"] if rows else None


async def _set_account(
    account_id: int,
    balance: int,
    debt: int,
    at: dt.datetime,
    *,
    unless: tuple[Source, str] | None = None,
    lots_today: dt.date | None = None,
) -> Any:
    """The account's balance and debt; with ``unless`` (source, kind), only if that posting
    is not on the account yet, and then the updated row (None: it is, nothing written;
    ``lots_today``: see :func:`_post_once`)."""
    sql = "UPDATE points_account SET balance = {}, debt = {}, updated_at = {} WHERE id = {}"
    args: list[Any] = [balance, debt, at, account_id]
    if unless is None:
        await fetch(sql, *args)
        return None
    source, kind = unless
    returning, lot_args = " RETURNING id", []
    if lots_today is not None:
        live = (
            " FROM points_lot WHERE account = {} AND remaining > 0"
            " AND (expires_on IS NULL OR expires_on >= {}) AND available_from "
        )
        returning += (
            ", (SELECT CAST(COALESCE(SUM(remaining), 0) AS BIGINT)" + live + "<= {}) AS spendable"
            ", (SELECT CAST(COALESCE(SUM(remaining), 0) AS BIGINT)" + live + "> {}) AS pending"
        )
        lot_args = [account_id, lots_today, at] * 2
    return await fetchrow(
        sql + " AND NOT EXISTS (SELECT 1" + _POSTED + ")" + returning,
        *args,
        account_id,
        source.kind,
        source.id,
        kind,
        *lot_args,
    )


async def spendable_points(
    member_id: int, at: dt.datetime | None = None, *, store_id: int | None = None
) -> int:
    """Points the member can spend now at the store (its business date decides expiry)."""
    return (await points_summary(member_id, at, store_id=store_id))["spendable"]


def _spendable_and_pending(live: Sequence[Any], at: dt.datetime, debt: int) -> tuple[int, int]:
    """Of unexpired lots at ``at``: what can be spent (nothing while the account owes) and what
    is still pending (not available before ``available_from``)."""
    pending = sum(lot["remaining"] for lot in live if lot["available_from"] > at)
    spendable = 0 if debt else sum(lot["remaining"] for lot in live if lot["available_from"] <= at)
    return spendable, pending


def _unexpired(lots: Sequence[Any], at: dt.datetime) -> list[Any]:
    """The lots not expired at ``at``, by the business date in the zone read with them
    (``STORE_ZONE … AS time_zone``): a lot is spendable through its whole last day."""
    if not lots:
        return []
    today = business_date(at, zone_or_chain(lots[0]["time_zone"]))
    return [lot for lot in lots if lot["expires_on"] is None or lot["expires_on"] >= today]


async def earn(
    member_id: int,
    points: int,
    source: Source,
    *,
    at: dt.datetime,
    available_from: dt.datetime,
    expires_on: dt.date | None,
    detail: dict[str, Any] | None = None,
    account: dict[str, int] | None = None,
) -> PointsPosting:
    """Credits ``points`` as a new lot; an outstanding debt is repaid from it first.
    ``account``: the member's account (id, balance, debt) as the caller's transaction locked
    it or a posting of it just left it (``PointsPosting.account_after`` of a spend of the same
    sale), not locked and read again."""
    if points <= 0:
        raise InvalidAmount("Points earned must be positive", field="points")
    return await _credit(
        member_id, points, source, "earn", at, available_from, expires_on, detail, account
    )


async def _credit(
    member_id: int,
    points: int,
    source: Source,
    kind: str,
    at: dt.datetime,
    available_from: dt.datetime,
    expires_on: dt.date | None,
    detail: dict[str, Any] | None = None,
    account: dict[str, int] | None = None,
) -> PointsPosting:
    async with transaction():
        if account is None:
            account = await lock_points_account_of(member_id)
        account_id = account["id"]
        repaid = min(points, account["debt"])
        balance_after = account["balance"] + points
        debt_after = account["debt"] - repaid
        today = business_date(at, zone_or_chain(None))
        posted = await _post_once(
            account_id,
            points,
            kind,
            source,
            balance_after,
            debt_after,
            at,
            {**(detail or {}), "debt_repaid": repaid},
            lots_today=today,
        )
        if posted is None:
            return await _replayed(account_id, source, kind)
        entry_sql, entry_args = _entry_ref(account_id, source, kind)
        await defer_write(
            "INSERT INTO points_lot (account, entry, points, remaining, available_from,"
            " expires_on, store, created_at) VALUES ({}, "
            + entry_sql
            + ", {}, {}, {}, {}, {}, {})",
            account_id,
            *entry_args,
            points,
            points - repaid,
            available_from,
            expires_on,
            source.store_id,
            at,
        )
    # the lots after this posting: as the update read them (at ``at``, by the chain's
    # business date), and the new lot
    new_lot = {
        "remaining": points - repaid,
        "available_from": available_from,
        "expires_on": expires_on,
        "time_zone": None,
    }
    added_spendable, added_pending = _spendable_and_pending(_unexpired([new_lot], at), at, 0)
    return PointsPosting(
        None,
        points,
        balance_after,
        account_id=account_id,
        debt_after=debt_after,
        spendable_after=0 if debt_after else posted["spendable"] + added_spendable,
        pending_after=posted["pending"] + added_pending,
    )


async def adjust(
    member_id: int,
    points: int,
    source: Source,
    *,
    at: dt.datetime,
    expires_on: dt.date | None,
    detail: dict[str, Any] | None = None,
) -> PointsPosting:
    """A manual correction (kind ``adjust``): added points are a lot of their own, spendable at
    once (repaying any debt first); taken points come out of the lots soonest-expiring first,
    pending ones too, and are refused beyond what the lots hold."""
    if points == 0:
        raise InvalidAmount("An adjustment must change the balance", field="points")
    if points > 0:
        return await _credit(member_id, points, source, "adjust", at, at, expires_on, detail)
    async with transaction():
        account = await lock_points_account_of(member_id)
        account_id = account["id"]
        if (done := await _existing(account_id, source, "adjust")) is not None:
            return done
        lots = _soonest_first(
            await PointsLot.select(PointsLot.id, PointsLot.remaining, PointsLot.expires_on).where(
                (PointsLot.account == account_id) & (PointsLot.remaining > 0)
            )
        )
        available = sum(lot["remaining"] for lot in lots)
        if available < -points:
            raise InsufficientPoints(
                f"{available} points on the account, {-points} to take",
                field="points",
                available=available,
            )
        balance_after = account["balance"] + points
        entry_id = await _write_entry(
            account_id, points, "adjust", source, balance_after, account["debt"], at, detail
        )
        await _take_from_lots(account_id, -points, entry_id, lots)
    return PointsPosting(entry_id, points, balance_after)


def _soonest_first(lots: list[dict]) -> list[dict]:
    """Soonest expiry first, lots that never expire last (SQLite sorts NULL first, PostgreSQL
    last, so the order is made here), then oldest first."""
    return sorted(
        lots,
        key=lambda lot: (lot["expires_on"] is None, lot["expires_on"] or dt.date.max, lot["id"]),
    )


async def _take_from_lots(
    account_id: int,
    points: int,
    entry: int | tuple[str, tuple[Any, ...]],
    lots: list[dict],
) -> int:
    """Takes up to ``points`` from ``lots`` in the given order; returns what it took. One
    update of the lots (each only if it still holds what is taken) and one insert of the
    uses (sent with the commit), in that order. ``entry``: the taking entry's id, or its
    :func:`_entry_ref` when it is deferred too."""
    takes: list[tuple[int, int]] = []
    taken = 0
    for lot in lots:
        if taken == points:
            break
        take = min(lot["remaining"], points - taken)
        if take <= 0:
            continue
        takes.append((lot["id"], take))
        taken += take
    if not takes:
        return taken
    updated = await fetch(
        "UPDATE points_lot SET remaining = remaining - CASE id"
        + " WHEN {} THEN CAST({} AS BIGINT)" * len(takes)
        + " END WHERE "
        + " OR ".join(["(id = {} AND remaining >= {})"] * len(takes))
        + " RETURNING id",
        *[value for pair in takes for value in pair],
        *[value for pair in takes for value in pair],
    )
    if len(updated) != len(takes):  # pragma: no cover - the account lock makes this unreachable
        raise InsufficientPoints()
    entry_sql, entry_args = ("{}", (entry,)) if isinstance(entry, int) else entry
    await defer_write(
        "INSERT INTO points_lot_use (lot, entry, points) VALUES "
        + ", ".join(["({}, " + entry_sql + ", {})"] * len(takes)),
        *[value for lot_id, take in takes for value in (lot_id, *entry_args, -take)],
    )
    return taken


async def _spendable_lots(account_id: int, at: dt.datetime, store_id: int | None) -> list[Any]:
    """The account's lots spendable at ``at`` in the store, read with the store's zone in one
    statement (expiry: :func:`_unexpired`)."""
    rows = await fetch(
        "SELECT id, remaining, expires_on, " + STORE_ZONE + " AS time_zone FROM points_lot"
        " WHERE account = {} AND remaining > 0 AND available_from <= {}",
        store_id,
        account_id,
        at,
    )
    return _unexpired(rows, at)


async def spend(
    member_id: int,
    points: int,
    source: Source,
    *,
    at: dt.datetime,
    account: dict[str, int] | None = None,
) -> PointsPosting:
    """Debits spendable points, soonest-expiring lots first; refuses if short. ``account``:
    the member's account (``POINTS_ACCOUNT_COLUMNS``) as the caller's transaction locked it,
    not locked and read again."""
    if points <= 0:
        raise InvalidAmount("Points spent must be positive", field="points")
    async with transaction():
        if account is None:
            account = await lock_points_account_of(member_id)
        account_id = account["id"]
        lots = _soonest_first(await _spendable_lots(account_id, at, source.store_id))
        available = sum(lot["remaining"] for lot in lots) if account["debt"] == 0 else 0
        if available < points:
            if (done := await _existing(account_id, source, "spend")) is not None:
                return done
            raise InsufficientPoints(
                f"{available} points spendable, {points} asked", field="points", spendable=available
            )
        balance_after = account["balance"] - points
        posted = await _post_once(
            account_id, -points, "spend", source, balance_after, account["debt"], at
        )
        if posted is None:
            return await _replayed(account_id, source, "spend")
        await _take_from_lots(account_id, points, _entry_ref(account_id, source, "spend"), lots)
    return PointsPosting(
        None, -points, balance_after, account_id=account_id, debt_after=account["debt"]
    )


async def reverse_earn(
    member_id: int, points: int, source: Source, *, original: Source, at: dt.datetime
) -> PointsPosting:
    """A refund takes back ``points`` of what ``original`` earned: from that sale's own lot
    first (pending or not), then from the soonest-expiring other lots; what is already spent
    becomes debt, so the balance may go negative and later earning repays it."""
    if points <= 0:
        raise InvalidAmount("Points to reverse must be positive", field="points")
    async with transaction():
        account = await lock_points_account_of(member_id)
        account_id = account["id"]
        if (done := await _existing(account_id, source, "earn_reversal")) is not None:
            return done
        earned = (
            await PointsEntry.select(PointsEntry.id)
            .where(
                (PointsEntry.account == account_id)
                & (PointsEntry.source_kind == original.kind)
                & (PointsEntry.source_id == original.id)
                & (PointsEntry.kind == "earn")
            )
            .first()
        )
        own_lots = (
            []
            if earned is None
            else await PointsLot.select(PointsLot.id, PointsLot.remaining).where(
                PointsLot.entry == earned["id"]
            )
        )
        other_lots = _soonest_first(
            await PointsLot.select(PointsLot.id, PointsLot.remaining, PointsLot.expires_on).where(
                (PointsLot.account == account_id)
                & (PointsLot.remaining > 0)
                & ((PointsLot.entry != earned["id"]) if earned else (PointsLot.id > 0))
            )
        )
        balance_after = account["balance"] - points
        entry_id = await _write_entry(
            account_id,
            -points,
            "earn_reversal",
            source,
            balance_after,
            account["debt"],
            at,
            reverses=original,
        )
        taken = await _take_from_lots(account_id, points, entry_id, own_lots + other_lots)
        debt = account["debt"] + (points - taken)
        await PointsAccount.update({PointsAccount.debt: debt}).where(PointsAccount.id == account_id)
    return PointsPosting(entry_id, -points, balance_after)


async def return_spent(
    member_id: int, points: int, source: Source, *, original: Source, at: dt.datetime
) -> PointsPosting:
    """A refund gives back ``points`` of what ``original`` spent, to the lots they came from,
    last taken first. Points given back first repay any debt."""
    if points <= 0:
        raise InvalidAmount("Points to give back must be positive", field="points")
    async with transaction():
        account = await lock_points_account_of(member_id)
        account_id = account["id"]
        if (done := await _existing(account_id, source, "spend_return")) is not None:
            return done
        spent = (
            await PointsEntry.select(PointsEntry.id)
            .where(
                (PointsEntry.account == account_id)
                & (PointsEntry.source_kind == original.kind)
                & (PointsEntry.source_id == original.id)
                & (PointsEntry.kind == "spend")
            )
            .first()
        )
        uses = (
            []
            if spent is None
            else await PointsLotUse.select(PointsLotUse.lot, PointsLotUse.points)
            .where(PointsLotUse.entry == spent["id"])
            .order_by(PointsLotUse.id, ascending=False)
        )
        # What earlier refunds of the same spend already gave back to each lot.
        returned = {}
        if spent is not None:
            earlier = await PointsEntry.select(PointsEntry.id).where(
                (PointsEntry.account == account_id)
                & (PointsEntry.kind == "spend_return")
                & (PointsEntry.reverses == f"{original.kind}:{original.id}")
            )
            for row in earlier:
                for use in await PointsLotUse.select(PointsLotUse.lot, PointsLotUse.points).where(
                    PointsLotUse.entry == row["id"]
                ):
                    returned[use["lot"]] = returned.get(use["lot"], 0) + use["points"]
        repaid = min(points, account["debt"])
        balance_after = account["balance"] + points
        entry_id = await _write_entry(
            account_id,
            points,
            "spend_return",
            source,
            balance_after,
            account["debt"] - repaid,
            at,
            {"debt_repaid": repaid},
            reverses=original,
        )
        to_give = points - repaid
        for use in uses:
            if to_give == 0:
                break
            room = -use["points"] - returned.get(use["lot"], 0)
            give = min(room, to_give)
            if give <= 0:
                continue
            await PointsLot.update({PointsLot.remaining: PointsLot.remaining + give}).where(
                PointsLot.id == use["lot"]
            )
            await PointsLotUse.insert(
                PointsLotUse(lot=use["lot"], entry=entry_id, points=give)
            ).run()
            to_give -= give
        if to_give > 0:
            # More given back than this spend took (a correction): a lot of its own.
            await PointsLot.insert(
                PointsLot(
                    account=account_id,
                    entry=entry_id,
                    points=to_give,
                    remaining=to_give,
                    available_from=at,
                    expires_on=None,
                    store=source.store_id,
                    created_at=at,
                )
            ).run()
    return PointsPosting(entry_id, points, balance_after)


async def expire_lots(
    as_of: dt.date,
    *,
    at: dt.datetime | None = None,
    store_ids: list[int | None] | None = None,
    label: str | None = None,
) -> int:
    """Writes an expiry entry for every account with lots that expired before ``as_of`` (the
    business date); returns the points expired. ``store_ids`` limits it to lots issued by
    those stores (``None`` in the list: lots without a store), as the job does per time zone;
    ``label`` (the zone) then keeps each zone's run its own source. Idempotent: a rerun finds
    nothing left to expire, and the source is unique per account, day and label."""
    at = at or utc_now()
    due_condition = (PointsLot.remaining > 0) & (PointsLot.expires_on < as_of)
    if store_ids is not None:
        ids = [store for store in store_ids if store is not None]
        store_condition = PointsLot.store.is_in(ids) if ids else None
        if None in store_ids:
            no_store = PointsLot.store.is_null()
            store_condition = no_store if store_condition is None else store_condition | no_store
        if store_condition is None:
            return 0
        due_condition = due_condition & store_condition
    due = await PointsLot.select(PointsLot.account).where(due_condition).distinct()
    source = Source("job", f"expiry:{as_of.isoformat()}" + (f":{label}" if label else ""))
    total = 0
    for row in due:
        async with transaction():
            account = await lock_points_account(row["account"])
            if await _existing(account["id"], source, "expire") is not None:
                continue
            lots = await PointsLot.select(PointsLot.id, PointsLot.remaining).where(
                (PointsLot.account == account["id"]) & due_condition
            )
            points = sum(lot["remaining"] for lot in lots)
            if points == 0:
                continue
            entry_id = await _write_entry(
                account["id"],
                -points,
                "expire",
                source,
                account["balance"] - points,
                account["debt"],
                at,
                {"lots": [lot["id"] for lot in lots]},
            )
            await _take_from_lots(account["id"], points, entry_id, lots)
            total += points
    return total


async def points_summary(
    member_id: int,
    at: dt.datetime | None = None,
    *,
    store_id: int | None = None,
    account: dict[str, int] | None = None,
) -> dict[str, int]:
    """Balance, spendable, pending and debt at ``at`` (expiry by the store's business date,
    or the chain's when no store is given). ``account``: the member's account (id, balance,
    debt) as a posting of the caller's transaction just left it (``PointsPosting.
    account_after``), not read again; after an earn it holds spendable and pending at the
    earn's time as well, and ``at`` is that time."""
    at = at or utc_now()
    if account is not None and "spendable" in account and store_id is None:
        # an earn of the caller's transaction read them at ``at`` (PointsPosting)
        return {
            "balance": account["balance"],
            "spendable": account["spendable"],
            "pending": account["pending"],
            "debt": account["debt"],
        }
    # One statement: the account (unless given) with its lots and the store's zone.
    if account is None:
        rows = await fetch(
            "SELECT a.id, a.balance, a.debt, l.remaining, l.available_from, l.expires_on, "
            + STORE_ZONE
            + " AS time_zone FROM points_account a"
            " LEFT JOIN points_lot l ON l.account = a.id AND l.remaining > 0"
            " WHERE a.member = {}",
            store_id,
            member_id,
        )
        if not rows:
            return {"balance": 0, "spendable": 0, "pending": 0, "debt": 0}
        account = {"id": rows[0]["id"], "balance": rows[0]["balance"], "debt": rows[0]["debt"]}
        lots = [row for row in rows if row["remaining"] is not None]
    else:
        lots = await fetch(
            "SELECT remaining, available_from, expires_on, "
            + STORE_ZONE
            + " AS time_zone FROM points_lot WHERE account = {} AND remaining > 0",
            store_id,
            account["id"],
        )
    spendable, pending = _spendable_and_pending(_unexpired(lots, at), at, account["debt"])
    return {
        "balance": account["balance"],
        "spendable": spendable,
        "pending": pending,
        "debt": account["debt"],
    }
