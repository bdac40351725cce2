"""The demo promotions: created once however often the demo runs, live in every store, and
the chain's invariants hold."""

from __future__ import annotations

from promotions import coupons, demo, service
from promotions.tables import Coupon, Promotion
from promotions.verify import check_promotions
from stores.audit import SystemActor


async def test_the_demo_is_idempotent_and_live(chain, member_id):
    first = await demo.create_demo_promotions()
    second = await demo.create_demo_promotions()
    assert first.startswith("promotions: 8 active (8 new)")
    assert second.startswith("promotions: 8 active (0 new)")
    assert await Promotion.count().where(Promotion.status == "active") == 8
    assert await Coupon.count() == 50 + 20 + 1
    live = await service.active_promotions(chain["stores"]["UR001"]["id"], service.utc_now())
    assert len(live) == 8
    policy = await service.stacking_policy()
    assert ("spend_save", "spend_save") in policy.exclusive_groups
    assert [c["batch_code"] for c in await coupons.member_coupons(member_id)] == ["DEMO-MEMBER15"]
    assert len(await coupons.list_batches(SystemActor())) == 3
    assert await check_promotions() == []


async def test_the_demo_promotions_price_the_demo_history(chain):
    from datetime import timedelta

    await demo.create_demo_promotions()
    months_ago = service.utc_now() - timedelta(days=90)
    live = await service.active_promotions(chain["stores"]["SH001"]["id"], months_ago)
    assert len(live) == 8
