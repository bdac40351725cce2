"""Pricing serves the loyalty program, the earning rules and the tiers from this process's
copy, kept by configuration generation: a change made between two sales is seen by the very
next sale."""

from __future__ import annotations

import datetime as dt

from loyalty.configuration import create_earning_rule
from loyalty.program import save_program
from members import tiers
from stores.audit import SystemActor
from tests.pos_gateway.conftest import Shop

SNACK = [{"sku": "SNACK-1", "quantity": 1}]  # 128.00
PAID = [{"method": "stored_value", "amount_minor": 12800}]


async def _earned(shop: Shop) -> int:
    response = await shop.sale(SNACK, PAID, member=shop.member)
    assert response.status_code == 201, response.text
    return response.json()["points_earned"]


async def test_a_configuration_change_is_seen_by_the_next_sale(shop: Shop) -> None:
    assert (await shop.top_up(100_000)).status_code == 201
    assert await _earned(shop) == 128
    assert await _earned(shop) == 128  # the same configuration, now from the copy

    await save_program({"points_per_unit": 2})
    assert await _earned(shop) == 256

    await create_earning_rule(
        SystemActor(),
        code="SNACK1X3",
        scope="sku",
        target="SNACK-1",
        multiplier_bp=30_000,
        valid_from=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
    )
    assert await _earned(shop) == 768

    await tiers.create_tier(
        SystemActor(), code="BASIC", name="基础", rank=0, points_multiplier_bp=15_000
    )
    assert await _earned(shop) == 1152  # a member without a tier has the entry tier's
