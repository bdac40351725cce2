"""Invariants of the chain's data that ``memberpos verify`` checks."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from stores.access import ALL_ROLES
from stores.tables import Product, Staff, Store, StorePrice


async def check_chain() -> list[str]:
    problems: list[str] = []
    for store in await Store.select(Store.code, Store.time_zone):
        try:
            ZoneInfo(store["time_zone"])
        except Exception:
            problems.append(f"store {store['code']}: unknown time zone {store['time_zone']!r}")
    for row in await Product.select(
        Product.sku, Product.retail_price_minor, Product.member_price_minor
    ):
        if row["retail_price_minor"] < 0:
            problems.append(f"product {row['sku']}: negative retail price")
        member = row["member_price_minor"]
        if member is not None and not 0 <= member <= row["retail_price_minor"]:
            problems.append(f"product {row['sku']}: member price outside 0..retail")
    for row in await StorePrice.select(
        StorePrice.id, StorePrice.retail_price_minor, StorePrice.member_price_minor
    ):
        member = row["member_price_minor"]
        if row["retail_price_minor"] < 0 or (
            member is not None and not 0 <= member <= row["retail_price_minor"]
        ):
            problems.append(f"store price {row['id']}: prices out of range")
    for row in await Staff.select(Staff.employee_no, Staff.roles):
        unknown = set(row["roles"]) - {role.value for role in ALL_ROLES}
        if unknown or not row["roles"]:
            problems.append(f"staff {row['employee_no']}: bad roles {row['roles']}")
    return problems
