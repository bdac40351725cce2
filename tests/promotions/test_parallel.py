"""Limits and coupons under parallel sales on PostgreSQL: each sale in its own connection
and transaction, all at once; never over the limit, never a coupon used twice."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

import pytest

from memberpos.db import transaction
from promotions import coupons, engine, management, service
from promotions.coupons import BatchSpec
from promotions.errors import CouponUsedUp, PromotionSoldOut
from promotions.management import Limits
from promotions.verify import check_promotions
from tests.promotions.conftest import NOW

DAY = date(2030, 1, 7)
CONTEXT = engine.SaleContext(local_datetime=datetime(2030, 1, 7, 14, 0), store_code="SH001")


def _basket(quantity: int) -> engine.Basket:
    return engine.Basket(
        lines=(
            engine.BasketLine(line_id="1", sku="SNACK-2", quantity=quantity, unit_price_minor=3990),
        )
    )


@pytest.mark.postgres
async def test_200_parallel_sales_never_sell_a_50_unit_promotion_past_its_limit(chain):
    store_id = chain["stores"]["SH001"]["id"]
    promotion = engine.ItemDiscount(
        id="P-FIRST-50", name="First 50 units 20% off", percent_off_bp=2000
    )
    await management.create_promotion(chain["admin"], promotion, Limits(units=50))
    await management.change_status(chain["admin"], "P-FIRST-50", "activate")
    active = await service.active_promotions(store_id, NOW)
    # 1 or 2 units a sale, so the last units are contested by sales that no longer fit
    priced = {q: engine.price_basket(_basket(q), CONTEXT, active) for q in (1, 2)}

    async def sale(number: int) -> int:
        quantity = 1 + number % 2
        try:
            async with transaction():
                await service.commit_sale(
                    sale_ref=f"S{number}",
                    member_id=None,
                    store_id=store_id,
                    business_date=DAY,
                    at=NOW,
                    priced=priced[quantity],
                )
            return quantity
        except PromotionSoldOut:
            return 0

    sold = await asyncio.gather(*(sale(n) for n in range(200)))
    row = await management.get_promotion(chain["admin"], "P-FIRST-50")
    assert row["usage"]["units"] == sum(sold) <= 50
    assert sum(sold) >= 49  # only a 2-unit sale may find a single unit left
    assert row["usage"]["sales"] == sum(1 for units in sold if units)
    assert await check_promotions() == []
    assert list(await service.active_promotions(store_id, NOW)) in ([], [promotion])


@pytest.mark.postgres
async def test_a_single_use_coupon_presented_by_50_parallel_sales_is_redeemed_once(chain):
    store_id = chain["stores"]["SH001"]["id"]
    await coupons.create_batch(
        chain["admin"],
        BatchSpec(
            code="ONCE",
            name="¥10 off",
            kind="amount_off",
            amount_off_minor=1000,
            valid_from=NOW - timedelta(days=1),
            valid_to=NOW + timedelta(days=1),
        ),
    )
    code = (await coupons.issue(chain["admin"], "ONCE", bearer_count=1))[0]["code"]
    presented = await service.coupons_for_sale([code], member_id=None, store_id=store_id, at=NOW)
    priced = engine.price_basket(_basket(1), CONTEXT, [], presented)

    async def sale(number: int) -> bool:
        try:
            async with transaction():
                await service.commit_sale(
                    sale_ref=f"S{number}",
                    member_id=None,
                    store_id=store_id,
                    business_date=DAY,
                    at=NOW,
                    priced=priced,
                )
            return True
        except CouponUsedUp:
            return False

    results = await asyncio.gather(*(sale(n) for n in range(50)))
    assert sum(results) == 1
    assert await check_promotions() == []
