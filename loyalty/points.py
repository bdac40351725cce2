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
from dataclasses import dataclass
from typing import Any

from loyalty.accounts import local_date, lock_points_account, lock_points_account_of
from loyalty.errors import InsufficientPoints, InvalidAmount
from loyalty.tables import PointsAccount, PointsEntry, PointsLot, PointsLotUse
from memberpos.clock import utc_now
from memberpos.db import transaction


@dataclass(frozen=True)
class Source:
    kind: str  # sale | refund | adjustment | job | merge
    id: str
    store_id: int | None = None
    staff_id: int | None = None


@dataclass(frozen=True)
class PointsPosting:
    entry_id: int
    delta: int
    balance_after: int
    replayed: bool = False
    # the account as the posting left it (earn and spend): a caller in the same transaction
    # passes it to points_summary instead of reading the account again
    account_id: int | None = None
    debt_after: int | None = None

    @property
    def account_after(self) -> dict[str, int] | None:
        if self.replayed or self.account_id is None or self.debt_after is None:
            return None
        return {"id": self.account_id, "balance": self.balance_after, "debt": self.debt_after}


async def _existing(account_id: int, source: Source, kind: str) -> PointsPosting | None:
    row = (
        await PointsEntry.select(PointsEntry.id, PointsEntry.delta, PointsEntry.balance_after)
        .where(
            (PointsEntry.account == account_id)
            & (PointsEntry.source_kind == source.kind)
            & (PointsEntry.source_id == source.id)
            & (PointsEntry.kind == kind)
        )
        .first()
    )
    if row is None:
        return None
    return PointsPosting(row["id"], row["delta"], row["balance_after"], replayed=True)


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
    inserted = (
        await PointsEntry.insert(
            PointsEntry(
                account=account_id,
                delta=delta,
                kind=kind,
                source_kind=source.kind,
                source_id=source.id,
                balance_after=balance_after,
                store=source.store_id,
                reverses=f"{reverses.kind}:{reverses.id}" if reverses else None,
                staff=source.staff_id,
                detail=detail or {},
                created_at=at,
            )
        )
        .returning(PointsEntry.id)
        .run()
    )
    await PointsAccount.update(
        {
            PointsAccount.balance: balance_after,
            PointsAccount.debt: debt_after,
            PointsAccount.updated_at: at,
        }
    ).where(PointsAccount.id == account_id)
    return inserted[0]["id"]


def _spendable_condition(account_id: int, at: dt.datetime, today: dt.date) -> Any:
    return (
        (PointsLot.account == account_id)
        & (PointsLot.remaining > 0)
        & (PointsLot.available_from <= at)
        & (PointsLot.expires_on.is_null() | (PointsLot.expires_on >= today))
    )


async def spendable_points(
    member_id: int, at: dt.datetime | None = None, *, store_id: int | None = None
) -> int:
    """Points the member can spend now at the store (its business date decides expiry)."""
    at = at or utc_now()
    today = await local_date(at, store_id)
    account = (
        await PointsAccount.select(PointsAccount.id, PointsAccount.debt)
        .where(PointsAccount.member == member_id)
        .first()
    )
    if account is None or account["debt"] > 0:
        return 0
    lots = await PointsLot.select(PointsLot.remaining).where(
        _spendable_condition(account["id"], at, today)
    )
    return sum(lot["remaining"] for lot in lots)


async def earn(
    member_id: int,
    points: int,
    source: Source,
    *,
    at: dt.datetime,
    available_from: dt.datetime,
    expires_on: dt.date | None,
    detail: dict[str, Any] | None = None,
) -> PointsPosting:
    """Credits ``points`` as a new lot; an outstanding debt is repaid from it first."""
    if points <= 0:
        raise InvalidAmount("Points earned must be positive", field="points")
    return await _credit(member_id, points, source, "earn", at, available_from, expires_on, detail)


async def _credit(
    member_id: int,
    points: int,
    source: Source,
    kind: str,
    at: dt.datetime,
    available_from: dt.datetime,
    expires_on: dt.date | None,
    detail: dict[str, Any] | None = None,
) -> PointsPosting:
    async with transaction():
        account = await lock_points_account_of(member_id)
        account_id = account["id"]
        if (done := await _existing(account_id, source, kind)) is not None:
            return done
        repaid = min(points, account["debt"])
        balance_after = account["balance"] + points
        entry_id = await _write_entry(
            account_id,
            points,
            kind,
            source,
            balance_after,
            account["debt"] - repaid,
            at,
            {**(detail or {}), "debt_repaid": repaid},
        )
        await PointsLot.insert(
            PointsLot(
                account=account_id,
                entry=entry_id,
                points=points,
                remaining=points - repaid,
                available_from=available_from,
                expires_on=expires_on,
                store=source.store_id,
                created_at=at,
            )
        ).run()
    return PointsPosting(
        entry_id, points, balance_after, account_id=account_id, debt_after=account["debt"] - repaid
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


async def _take_from_lots(account_id: int, points: int, entry_id: int, lots: list[dict]) -> int:
    """Takes up to ``points`` from ``lots`` in the given order; returns what it took."""
    taken = 0
    for lot in lots:
        if taken == points:
            break
        take = min(lot["remaining"], points - taken)
        if take <= 0:
            continue
        updated = (
            await PointsLot.update({PointsLot.remaining: PointsLot.remaining - take})
            .where((PointsLot.id == lot["id"]) & (PointsLot.remaining >= take))
            .returning(PointsLot.id)
        )
        if not updated:  # pragma: no cover - the account lock makes this unreachable
            raise InsufficientPoints()
        await PointsLotUse.insert(PointsLotUse(lot=lot["id"], entry=entry_id, points=-take)).run()
        taken += take
    return taken


async def spend(member_id: int, points: int, source: Source, *, at: dt.datetime) -> PointsPosting:
    """Debits spendable points, soonest-expiring lots first; refuses if short."""
    if points <= 0:
        raise InvalidAmount("Points spent must be positive", field="points")
    async with transaction():
        account = await lock_points_account_of(member_id)
        account_id = account["id"]
        if (done := await _existing(account_id, source, "spend")) is not None:
            return done
        today = await local_date(at, source.store_id)
        lots = _soonest_first(
            await PointsLot.select(PointsLot.id, PointsLot.remaining, PointsLot.expires_on).where(
                _spendable_condition(account_id, at, today)
            )
        )
        available = sum(lot["remaining"] for lot in lots) if account["debt"] == 0 else 0
        if available < points:
            raise InsufficientPoints(
                f"{available} points spendable, {points} asked", field="points", spendable=available
            )
        balance_after = account["balance"] - points
        entry_id = await _write_entry(
            account_id, -points, "spend", source, balance_after, account["debt"], at
        )
        await _take_from_lots(account_id, points, entry_id, lots)
    return PointsPosting(
        entry_id, -points, balance_after, account_id=account_id, debt_after=account["debt"]
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
    account_after``), not read again."""
    at = at or utc_now()
    if account is None:
        account = (
            await PointsAccount.select(PointsAccount.id, PointsAccount.balance, PointsAccount.debt)
            .where(PointsAccount.member == member_id)
            .first()
        )
    if account is None:
        return {"balance": 0, "spendable": 0, "pending": 0, "debt": 0}
    lots = await PointsLot.select(
        PointsLot.remaining, PointsLot.available_from, PointsLot.expires_on
    ).where((PointsLot.account == account["id"]) & (PointsLot.remaining > 0))
    today = await local_date(at, store_id)
    live = [lot for lot in lots if lot["expires_on"] is None or lot["expires_on"] >= today]
    pending = sum(lot["remaining"] for lot in live if lot["available_from"] > at)
    spendable = (
        0
        if account["debt"]
        else sum(lot["remaining"] for lot in live if lot["available_from"] <= at)
    )
    return {
        "balance": account["balance"],
        "spendable": spendable,
        "pending": pending,
        "debt": account["debt"],
    }
