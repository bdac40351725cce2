"""The member-merge hook: everything the ledgers keep for the merged member moves to the
survivor, with entries on both accounts that say so (``merge_out`` / ``merge_in``, source
``merge:<merge_ref>``), inside the merge's own transaction; a second call with the same
``merge_ref`` finds its entries and changes nothing.

- Points: the merged account's lots move with their own expiry and availability (a new lot on
  the survivor for each); a debt of the merged account is first set against its own lots, and
  what is left of it becomes the survivor's debt (set against the survivor's lots at once).
- Stored value: principal and bonus move apart, as they are.
- Service packages: each active package is closed on the merged member (``merge_out``) and
  opened on the survivor as a new package with the same terms, uses and value left.
"""

from __future__ import annotations

import datetime as dt

from loyalty import packages, stored_value
from loyalty.accounts import (
    lock_points_account,
    lock_stored_value_account,
    points_account_id,
    stored_value_account_id,
)
from loyalty.points import Source, _existing, _soonest_first, _take_from_lots, _write_entry
from loyalty.tables import PointsAccount, PointsLot, ServicePackage, StoredValueAccount
from memberpos.db import transaction
from memberpos.errors import InvalidInput


async def merge_members(survivor_id: int, merged_id: int, merge_ref: str, at: dt.datetime) -> None:
    if survivor_id == merged_id:
        raise InvalidInput("A member cannot be merged into itself", field="merged_id")
    source = Source("merge", merge_ref)
    async with transaction():
        await _merge_points(survivor_id, merged_id, source, at)
        await _merge_stored_value(survivor_id, merged_id, source, at)
        await _merge_packages(survivor_id, merged_id, source, at)


async def _merge_points(survivor_id: int, merged_id: int, source: Source, at: dt.datetime) -> None:
    merged_account = (
        await PointsAccount.select(PointsAccount.id)
        .where(PointsAccount.member == merged_id)
        .first()
    )
    if merged_account is None:
        return
    # Lock in id order, so two merges touching the same accounts cannot deadlock.
    survivor_account_id = await points_account_id(survivor_id)
    first, second = sorted((survivor_account_id, merged_account["id"]))
    locked = {first: await lock_points_account(first), second: await lock_points_account(second)}
    merged, survivor = locked[merged_account["id"]], locked[survivor_account_id]
    if await _existing(merged["id"], source, "merge_out") is not None:
        return
    if merged["balance"] == 0 and merged["debt"] == 0:
        lots_left = await PointsLot.count().where(
            (PointsLot.account == merged["id"]) & (PointsLot.remaining > 0)
        )
        if not lots_left:
            return
    lots = _soonest_first(
        await PointsLot.select(
            PointsLot.id,
            PointsLot.remaining,
            PointsLot.expires_on,
            PointsLot.available_from,
            PointsLot.store,
        ).where((PointsLot.account == merged["id"]) & (PointsLot.remaining > 0))
    )
    moved = merged["balance"]
    out_id = await _write_entry(
        merged["id"],
        -moved,
        "merge_out",
        source,
        0,
        0,
        at,
        {"survivor_id": survivor_id, "debt": merged["debt"]},
    )
    await _take_from_lots(merged["id"], sum(lot["remaining"] for lot in lots), out_id, lots)
    # The merged member's debt is paid from its own lots first (soonest-expiring).
    debt = merged["debt"]
    carried = []
    for lot in lots:
        paid = min(debt, lot["remaining"])
        debt -= paid
        if lot["remaining"] - paid > 0:
            carried.append({**lot, "remaining": lot["remaining"] - paid})
    in_id = await _write_entry(
        survivor["id"],
        moved,
        "merge_in",
        source,
        survivor["balance"] + moved,
        survivor["debt"] + debt,
        at,
        {"merged_id": merged_id, "lots": len(carried), "debt": debt},
    )
    for lot in carried:
        await PointsLot.insert(
            PointsLot(
                account=survivor["id"],
                entry=in_id,
                points=lot["remaining"],
                remaining=lot["remaining"],
                available_from=lot["available_from"],
                expires_on=lot["expires_on"],
                store=lot["store"],
                created_at=at,
            )
        ).run()
    if debt > 0:
        # Debt carried over is set against the survivor's lots (soonest-expiring first).
        survivor_lots = _soonest_first(
            await PointsLot.select(PointsLot.id, PointsLot.remaining, PointsLot.expires_on).where(
                (PointsLot.account == survivor["id"]) & (PointsLot.remaining > 0)
            )
        )
        taken = await _take_from_lots(survivor["id"], debt, in_id, survivor_lots)
        await PointsAccount.update({PointsAccount.debt: survivor["debt"] + debt - taken}).where(
            PointsAccount.id == survivor["id"]
        )


async def _merge_stored_value(
    survivor_id: int, merged_id: int, source: Source, at: dt.datetime
) -> None:
    merged_account = (
        await StoredValueAccount.select(StoredValueAccount.id)
        .where(StoredValueAccount.member == merged_id)
        .first()
    )
    if merged_account is None:
        return
    survivor_account_id = await stored_value_account_id(survivor_id)
    first, second = sorted((survivor_account_id, merged_account["id"]))
    locked = {
        first: await lock_stored_value_account(first),
        second: await lock_stored_value_account(second),
    }
    merged, survivor = locked[merged_account["id"]], locked[survivor_account_id]
    if await stored_value._existing(merged["id"], source, "merge_out") is not None:
        return
    principal, bonus = merged["principal"], merged["bonus"]
    if principal == 0 and bonus == 0:
        return
    await stored_value._post(merged, -principal, -bonus, "merge_out", source, at, None)
    await stored_value._post(survivor, principal, bonus, "merge_in", source, at, None)


async def _merge_packages(
    survivor_id: int, merged_id: int, source: Source, at: dt.datetime
) -> None:
    active = await ServicePackage.select().where(
        (ServicePackage.member == merged_id) & (ServicePackage.status == "active")
    )
    for package in active:
        old = await packages._lock_package(merged_id, package["id"])
        if old["status"] != "active":
            continue
        uses_left, value_left = await packages._state(old["id"])
        await packages._post(old["id"], -uses_left, -value_left, "merge_out", source, at, "merged")
        inserted = (
            await ServicePackage.insert(
                ServicePackage(
                    member=survivor_id,
                    product=old["product"],
                    name=old["name"],
                    sku=old["sku"],
                    uses_bought=old["uses_bought"],
                    uses_left=0,
                    price_minor=old["price_minor"],
                    valid_until=old["valid_until"],
                    store=old["store"],
                    status="active",
                    source_id=f"merge:{old['id']}:{source.id}"[:64],
                    created_at=at,
                )
            )
            .returning(ServicePackage.id)
            .run()
        )
        await packages._post(inserted[0]["id"], uses_left, value_left, "merge_in", source, at)
