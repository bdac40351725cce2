"""Test data built through the domains' own functions, so tests break when rules change."""

from __future__ import annotations

import re
from typing import Any

from stores import catalog, chain, staff, terminals
from stores.access import Actor

PASSWORD = "correct-horse-9"
PIN = "1357"


async def hq_admin(employee_no: str = "H0001") -> Actor:
    return await staff.bootstrap_admin(employee_no, "总部管理员", PASSWORD)


async def small_chain(admin: Actor) -> dict[str, Any]:
    """Two regions, three stores in two time zones, a category tree, a brand, two products."""
    await chain.create_region(admin, "EAST", "华东区")
    await chain.create_region(admin, "WEST", "西北区")
    stores = {
        "SH001": await chain.create_store(
            admin, code="SH001", name="上海一店", region_code="EAST", time_zone="Asia/Shanghai"
        ),
        "SH002": await chain.create_store(
            admin, code="SH002", name="上海二店", region_code="EAST", time_zone="Asia/Shanghai"
        ),
        "UR001": await chain.create_store(
            admin, code="UR001", name="乌鲁木齐店", region_code="WEST", time_zone="Asia/Urumqi"
        ),
    }
    await catalog.create_category(admin, code="FOOD", name="食品", name_en="Food")
    await catalog.create_category(
        admin, code="SNACK", name="零食", name_en="Snacks", parent_code="FOOD"
    )
    await catalog.create_brand(admin, code="HEFENG", name="禾丰", name_en="Hefeng")
    products = {
        "SNACK-1": await catalog.create_product(
            admin,
            sku="SNACK-1",
            name="坚果礼盒",
            category_code="SNACK",
            brand_code="HEFENG",
            retail_price_minor=12800,
            member_price_minor=11800,
        ),
        "SNACK-2": await catalog.create_product(
            admin, sku="SNACK-2", name="牛肉干", category_code="SNACK", retail_price_minor=3990
        ),
    }
    return {"stores": stores, "products": products}


async def employee(
    admin: Actor,
    employee_no: str,
    roles: list[str],
    store_code: str | None = None,
    pin: str | None = None,
) -> dict[str, Any]:
    return await staff.create_staff(
        admin,
        employee_no=employee_no,
        name=f"员工{employee_no}",
        roles=roles,
        password=PASSWORD,
        store_code=store_code,
        pin=pin,
    )


async def terminal(admin: Actor, store_code: str, name: str = "POS-01") -> tuple[dict, str]:
    return await terminals.create_terminal(admin, store_code, name)


async def sign_in(client: Any, employee_no: str, password: str = PASSWORD) -> dict[str, str]:
    response = await client.post(
        "/api/v1/hq/auth/sign-in", json={"employee_no": employee_no, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def shows(secret: str, text: str) -> bool:
    """Whether a numeric secret (PIN, code) appears in text as a number of its own.

    A plain substring test is flaky: a four-digit PIN turns up inside timestamps'
    microseconds or card numbers now and then.
    """
    return re.search(rf"(?<!\d){re.escape(secret)}(?!\d)", text) is not None
