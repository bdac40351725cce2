"""Ledger invariants ``memberpos verify`` proves for every account."""

from __future__ import annotations

from piccolo.query.functions.aggregate import Sum

from loyalty.tables import (
    PointsAccount,
    PointsEntry,
    PointsLot,
    ServicePackage,
    ServicePackageEntry,
    StoredValueAccount,
    StoredValueEntry,
)


async def check_points() -> list[str]:
    problems: list[str] = []
    sums = {
        row["account"]: row["total"]
        for row in await PointsEntry.select(
            PointsEntry.account, Sum(PointsEntry.delta).as_alias("total")
        ).group_by(PointsEntry.account)
    }
    lots = {
        row["account"]: row["remaining"]
        for row in await PointsLot.select(
            PointsLot.account, Sum(PointsLot.remaining).as_alias("remaining")
        ).group_by(PointsLot.account)
    }
    for account in await PointsAccount.select(
        PointsAccount.id, PointsAccount.member, PointsAccount.balance, PointsAccount.debt
    ):
        entries = sums.get(account["id"]) or 0
        remaining = lots.get(account["id"]) or 0
        label = f"points account {account['id']} (member {account['member']})"
        if account["balance"] != entries:
            problems.append(f"{label}: balance {account['balance']} != sum of entries {entries}")
        if account["debt"] < 0:
            problems.append(f"{label}: negative debt {account['debt']}")
        if account["balance"] != remaining - account["debt"]:
            problems.append(
                f"{label}: balance {account['balance']} != lots {remaining} - "
                f"debt {account['debt']}"
            )
    bad_lots = await PointsLot.select(PointsLot.id).where(
        (PointsLot.remaining < 0) | (PointsLot.remaining > PointsLot.points)
    )
    problems.extend(f"points lot {row['id']}: remaining outside 0..points" for row in bad_lots)
    return problems


async def check_stored_value() -> list[str]:
    problems: list[str] = []
    sums = {
        row["account"]: (int(row["principal"] or 0), int(row["bonus"] or 0))
        for row in await StoredValueEntry.select(
            StoredValueEntry.account,
            Sum(StoredValueEntry.principal_delta).as_alias("principal"),
            Sum(StoredValueEntry.bonus_delta).as_alias("bonus"),
        ).group_by(StoredValueEntry.account)
    }
    for account in await StoredValueAccount.select(
        StoredValueAccount.id,
        StoredValueAccount.member,
        StoredValueAccount.principal,
        StoredValueAccount.bonus,
    ):
        label = f"stored-value account {account['id']} (member {account['member']})"
        principal, bonus = sums.get(account["id"], (0, 0))
        if (account["principal"], account["bonus"]) != (principal, bonus):
            problems.append(
                f"{label}: principal/bonus {account['principal']}/"
                f"{account['bonus']} != sum of entries {principal}/{bonus}"
            )
        if account["principal"] < 0 or account["bonus"] < 0:
            problems.append(f"{label}: negative stored value")
    negative_after = await StoredValueEntry.select(StoredValueEntry.id).where(
        (StoredValueEntry.principal_after < 0) | (StoredValueEntry.bonus_after < 0)
    )
    problems.extend(
        f"stored-value entry {row['id']}: negative balance after posting" for row in negative_after
    )
    return problems


async def check_packages() -> list[str]:
    """Each package's uses left = sum of its entries' uses, its value left = sum of their
    values, both within bounds, and its status agrees with what is left."""
    problems: list[str] = []
    sums = {
        row["package"]: (int(row["uses"] or 0), int(row["value"] or 0))
        for row in await ServicePackageEntry.select(
            ServicePackageEntry.package,
            Sum(ServicePackageEntry.uses_delta).as_alias("uses"),
            Sum(ServicePackageEntry.amount_minor).as_alias("value"),
        ).group_by(ServicePackageEntry.package)
    }
    for package in await ServicePackage.select(
        ServicePackage.id,
        ServicePackage.member,
        ServicePackage.uses_bought,
        ServicePackage.uses_left,
        ServicePackage.price_minor,
        ServicePackage.status,
    ):
        label = f"service package {package['id']} (member {package['member']})"
        uses, value = sums.get(package["id"], (0, 0))
        if package["uses_left"] != uses:
            problems.append(f"{label}: uses left {package['uses_left']} != sum of entries {uses}")
        if not 0 <= package["uses_left"] <= package["uses_bought"]:
            problems.append(f"{label}: uses left outside 0..{package['uses_bought']}")
        if not 0 <= value <= package["price_minor"]:
            problems.append(f"{label}: value left {value} outside 0..{package['price_minor']}")
        if package["uses_left"] == 0 and value != 0:
            problems.append(f"{label}: no uses left but value {value} left")
        if package["status"] == "active" and package["uses_left"] == 0:
            problems.append(f"{label}: active with no uses left")
        if package["status"] != "active" and package["uses_left"] != 0:
            problems.append(f"{label}: {package['status']} with {package['uses_left']} uses left")
    return problems
