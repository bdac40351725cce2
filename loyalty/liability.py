"""What the chain owes its members, as of the end of any business date (chain time zone),
computed from the ledgers' entries up to that instant, never from today's balances.

- Points: outstanding = what members' lots held at the cut-off, per issuing store (the store
  where the lot was earned; "no store" for adjustments by HQ and the like). Its value is at
  today's redemption rate. Debt (points taken back after they were spent) is reported apart;
  the net balance is outstanding − debt = the sum of all points entries.
- Stored value: principal and bonus per store are the net of what that store's counter took
  in and paid out (top-ups, spends, refunds, adjustments), so the stores add up to the chain;
  a store that redeems more than it sells shows a negative figure — the amount it claims from
  the others in settlement.
- Service packages: the unearned value of packages (sum of their entries' values).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from piccolo.query.functions.aggregate import Sum

from loyalty.earning import points_value_minor
from loyalty.program import load_program
from loyalty.tables import (
    PointsEntry,
    PointsLot,
    PointsLotUse,
    ServicePackageEntry,
    StoredValueEntry,
)
from memberpos.settings import get_settings
from stores.tables import Store


@dataclass
class StoreLiability:
    store_code: str | None
    points_outstanding: int = 0
    points_value_minor: int = 0
    stored_value_principal_minor: int = 0
    stored_value_bonus_minor: int = 0
    packages_unearned_minor: int = 0


@dataclass
class Liability:
    as_of: dt.date
    cutoff: dt.datetime
    chain: StoreLiability
    points_debt: int | None
    stores: list[StoreLiability] = field(default_factory=list)


def cutoff_of(as_of: dt.date) -> dt.datetime:
    """The first instant after ``as_of`` ends in the chain's zone, in UTC."""
    zone = ZoneInfo(get_settings().time_zone)
    local = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return local.astimezone(dt.UTC)


async def liability(as_of: dt.date, *, store_ids: set[int] | None = None) -> Liability:
    """The figures at the end of ``as_of``; ``store_ids`` limits the per-store list (a store
    manager's view) — the chain line is then the sum of those stores only."""
    cutoff = cutoff_of(as_of)
    program = await load_program()
    per_store: dict[int | None, StoreLiability] = {}

    def line(store_id: int | None) -> StoreLiability:
        if store_id not in per_store:
            per_store[store_id] = StoreLiability(store_code=None)
        return per_store[store_id]

    # Points: each lot created by the cut-off held, then, what it holds now less what
    # postings after the cut-off changed (uses are negative when taken, positive given back).
    lots_now = (
        await PointsLot.select(PointsLot.store, Sum(PointsLot.remaining).as_alias("points"))
        .where(PointsLot.created_at < cutoff)
        .group_by(PointsLot.store)
    )
    changed_since = (
        await PointsLotUse.select(
            PointsLotUse.lot.store.as_alias("store"), Sum(PointsLotUse.points).as_alias("points")
        )
        .where((PointsLotUse.lot.created_at < cutoff) & (PointsLotUse.entry.created_at >= cutoff))
        .group_by(PointsLotUse.lot.store)
    )
    for row in lots_now:
        line(row["store"]).points_outstanding += int(row["points"] or 0)
    for row in changed_since:
        line(row["store"]).points_outstanding -= int(row["points"] or 0)
    net_points = (
        await PointsEntry.select(Sum(PointsEntry.delta).as_alias("total"))
        .where(PointsEntry.created_at < cutoff)
        .first()
    )
    # Stored value by the store of each entry.
    stored = (
        await StoredValueEntry.select(
            StoredValueEntry.store,
            Sum(StoredValueEntry.principal_delta).as_alias("principal"),
            Sum(StoredValueEntry.bonus_delta).as_alias("bonus"),
        )
        .where(StoredValueEntry.created_at < cutoff)
        .group_by(StoredValueEntry.store)
    )
    for row in stored:
        entry_line = line(row["store"])
        entry_line.stored_value_principal_minor += int(row["principal"] or 0)
        entry_line.stored_value_bonus_minor += int(row["bonus"] or 0)
    package_value = (
        await ServicePackageEntry.select(
            ServicePackageEntry.package.store.as_alias("store"),
            Sum(ServicePackageEntry.amount_minor).as_alias("value"),
        )
        .where(ServicePackageEntry.created_at < cutoff)
        .group_by(ServicePackageEntry.package.store)
    )
    for row in package_value:
        line(row["store"]).packages_unearned_minor += int(row["value"] or 0)

    codes = {row["id"]: row["code"] for row in await Store.select(Store.id, Store.code)}
    lines = []
    for store_id, figures in per_store.items():
        if store_ids is not None and store_id not in store_ids:
            continue
        figures.store_code = codes.get(store_id) if store_id is not None else None
        figures.points_value_minor = points_value_minor(figures.points_outstanding, program)
        lines.append(figures)
    lines.sort(key=lambda figures: (figures.store_code is None, figures.store_code or ""))
    chain = StoreLiability(store_code=None)
    for figures in lines:
        chain.points_outstanding += figures.points_outstanding
        chain.stored_value_principal_minor += figures.stored_value_principal_minor
        chain.stored_value_bonus_minor += figures.stored_value_bonus_minor
        chain.packages_unearned_minor += figures.packages_unearned_minor
    chain.points_value_minor = points_value_minor(chain.points_outstanding, program)
    total_outstanding = sum(f.points_outstanding for f in per_store.values())
    debt = total_outstanding - int((net_points or {}).get("total") or 0)
    return Liability(
        as_of=as_of,
        cutoff=cutoff,
        chain=chain,
        points_debt=debt if store_ids is None else None,
        stores=lines,
    )


def as_dict(figures: Liability) -> dict[str, Any]:
    def one(line: StoreLiability) -> dict[str, Any]:
        return {
            "store_code": line.store_code,
            "points_outstanding": line.points_outstanding,
            "points_value_minor": line.points_value_minor,
            "stored_value_principal_minor": line.stored_value_principal_minor,
            "stored_value_bonus_minor": line.stored_value_bonus_minor,
            "stored_value_total_minor": line.stored_value_principal_minor
            + line.stored_value_bonus_minor,
            "packages_unearned_minor": line.packages_unearned_minor,
        }

    return {
        "as_of": figures.as_of.isoformat(),
        "cutoff": figures.cutoff.isoformat(),
        "chain": one(figures.chain),
        "points_debt": figures.points_debt,
        "stores": [one(line) for line in figures.stores],
    }
