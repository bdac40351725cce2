"""Promotions persisted and served to the till: definitions round-trip to the same engine
result, the definitions valid at a sale's own time, store scope, limits consumed atomically
and given back by a full refund, idempotent commits."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from memberpos.db import transaction
from promotions import engine, management, service
from promotions.errors import PromotionSoldOut
from promotions.management import Limits
from promotions.tables import PromotionUse
from promotions.verify import check_promotions
from tests.promotions.conftest import NOW

DAY = date(2030, 1, 7)
LOCAL = datetime(2030, 1, 7, 14, 0)  # naive Shanghai wall-clock time of NOW

DEFINITIONS = [
    engine.MemberPrice(id="P-MEMBER", name="Member prices", group="member"),
    engine.SpendAndSave(
        id="P-300-30",
        name="Every 300 off 30",
        name_zh="每满300减30",
        threshold_minor=30000,
        save_minor=3000,
        repeating=True,
        group="spend_save",
    ),
    engine.NthItemDiscount(
        id="P-2ND-HALF",
        name="Second item half price",
        targeting=engine.Targeting(categories=frozenset({"SNACK"})),
    ),
    engine.BuyAndGetFree(
        id="P-B2G1",
        name="Buy 2 get 1",
        buy_quantity=2,
        targeting=engine.Targeting(skus=frozenset({"SNACK-2"})),
        exclusive=False,
        group="b2g1",
    ),
    engine.PointsMultiplier(
        id="P-WED-DOUBLE", name="Double points Wednesday", multiplier_bp=20000, weekdays={3}
    ),
]

BASKET = engine.Basket(
    lines=(
        engine.BasketLine(
            line_id="1",
            sku="SNACK-1",
            quantity=3,
            unit_price_minor=12800,
            member_price_minor=11800,
            category_path=("FOOD", "SNACK"),
            brand="HEFENG",
        ),
        engine.BasketLine(
            line_id="2",
            sku="SNACK-2",
            quantity=4,
            unit_price_minor=3990,
            category_path=("FOOD", "SNACK"),
        ),
    )
)
MEMBER = engine.SaleContext(
    local_datetime=LOCAL, store_code="SH001", region_code="EAST", is_member=True
)


async def _create_all(admin, definitions=DEFINITIONS, limits=None):
    for definition in definitions:
        await management.create_promotion(admin, definition, limits)
        await management.change_status(admin, definition.id, "activate")


async def test_stored_definitions_price_exactly_like_the_originals(chain):
    await _create_all(chain["admin"])
    store_id = chain["stores"]["SH001"]["id"]
    active = await service.active_promotions(store_id, NOW)
    assert sorted(p.id for p in active) == sorted(d.id for d in DEFINITIONS)
    assert sorted(active, key=lambda p: p.id) == sorted(DEFINITIONS, key=lambda p: p.id)
    original = engine.price_basket(BASKET, MEMBER, DEFINITIONS)
    stored = engine.price_basket(BASKET, MEMBER, active, policy=await service.stacking_policy())
    assert stored == original
    assert stored.discount_minor > 0 and {a.promotion_id for a in stored.applied} >= {
        "P-MEMBER",
        "P-300-30",
    }


async def test_cache_follows_every_change_hq_makes(chain):
    admin = chain["admin"]
    store_id = chain["stores"]["SH001"]["id"]
    await _create_all(admin)
    first = await service.active_promotions(store_id, service.utc_now())
    assert await service.active_promotions(store_id, service.utc_now()) is first  # cached
    await management.change_status(admin, "P-300-30", "pause")
    paused = await service.active_promotions(store_id, service.utc_now())
    assert "P-300-30" not in {p.id for p in paused}
    await management.change_status(admin, "P-300-30", "activate")
    assert "P-300-30" in {
        p.id for p in await service.active_promotions(store_id, service.utc_now())
    }


async def test_a_late_upload_is_priced_with_the_definition_valid_at_its_own_time(chain):
    admin = chain["admin"]
    store_id = chain["stores"]["SH001"]["id"]
    await _create_all(admin, DEFINITIONS[1:2])
    before_change = service.utc_now()
    changed = engine.SpendAndSave(
        id="P-300-30",
        name="Every 300 off 50",
        threshold_minor=30000,
        save_minor=5000,
        repeating=True,
    )
    await management.update_promotion(admin, "P-300-30", definition=changed)
    old = await service.active_promotions(store_id, before_change)
    new = await service.active_promotions(store_id, service.utc_now())
    assert [p.save_minor for p in old] == [3000]
    assert [p.save_minor for p in new] == [5000]
    # before it was ever activated: nothing
    assert list(await service.active_promotions(store_id, before_change - timedelta(days=1))) == []


async def test_store_and_region_scope(chain):
    admin = chain["admin"]
    east = engine.ItemDiscount(id="P-EAST", name="East 10%", percent_off_bp=1000, regions={"EAST"})
    ur = engine.ItemDiscount(id="P-UR", name="Urumqi 5", amount_off_minor=500, stores={"UR001"})
    await _create_all(admin, [east, ur])
    sh = await service.active_promotions(chain["stores"]["SH002"]["id"], NOW)
    urumqi = await service.active_promotions(chain["stores"]["UR001"]["id"], NOW)
    assert [p.id for p in sh] == ["P-EAST"]
    assert [p.id for p in urumqi] == ["P-UR"]
    # priced from the store code alone, as a till whose context has no region code
    till = engine.SaleContext(local_datetime=LOCAL, store_code="SH002")
    priced = engine.price_basket(BASKET, till, sh)
    assert [a.promotion_id for a in priced.applied] == ["P-EAST"]


async def test_drafts_and_ended_promotions_are_never_priced(chain):
    admin = chain["admin"]
    await management.create_promotion(admin, DEFINITIONS[0])
    store_id = chain["stores"]["SH001"]["id"]
    assert list(await service.active_promotions(store_id, NOW)) == []
    await management.change_status(admin, "P-MEMBER", "activate")
    await management.change_status(admin, "P-MEMBER", "end")
    assert list(await service.active_promotions(store_id, service.utc_now())) == []


def _priced(promotions, quantity=1, member=True):
    basket = engine.Basket(
        lines=(
            engine.BasketLine(
                line_id="1",
                sku="SNACK-2",
                quantity=quantity,
                unit_price_minor=3990,
                category_path=("FOOD", "SNACK"),
            ),
        )
    )
    context = engine.SaleContext(local_datetime=LOCAL, store_code="SH001", is_member=member)
    return engine.price_basket(basket, context, promotions)


LIMITED = engine.ItemDiscount(id="P-LIMITED", name="First 5 units 10% off", percent_off_bp=1000)


async def test_a_units_limit_is_consumed_sells_out_and_comes_back_on_a_full_refund(
    chain, member_id
):
    admin = chain["admin"]
    store_id = chain["stores"]["SH001"]["id"]
    await _create_all(admin, [LIMITED], Limits(units=5))
    active = await service.active_promotions(store_id, NOW)
    await service.commit_sale(
        sale_ref="S1",
        member_id=member_id,
        store_id=store_id,
        business_date=DAY,
        at=NOW,
        priced=_priced(active, 3),
    )
    # a replay changes nothing
    await service.commit_sale(
        sale_ref="S1",
        member_id=member_id,
        store_id=store_id,
        business_date=DAY,
        at=NOW,
        priced=_priced(active, 3),
    )
    with pytest.raises(PromotionSoldOut) as refused:
        await service.commit_sale(
            sale_ref="S2",
            member_id=None,
            store_id=store_id,
            business_date=DAY,
            at=NOW,
            priced=_priced(active, 3),
        )
    assert refused.value.code == "promotion_sold_out" and refused.value.status == 409
    await service.commit_sale(
        sale_ref="S3",
        member_id=None,
        store_id=store_id,
        business_date=DAY,
        at=NOW,
        priced=_priced(active, 2),
    )
    row = await management.get_promotion(admin, "P-LIMITED")
    assert row["usage"] == {"units": 5, "budget_minor": 399 * 3 + 399 * 2, "sales": 2}
    # sold out: no longer offered
    assert list(await service.active_promotions(store_id, NOW)) == []
    # a partial refund keeps the use, a full one gives it back (once, whatever the retries)
    await service.reverse_refund(refund_ref="R1", sale_ref="S1", full=False, at=NOW)
    assert (await management.get_promotion(admin, "P-LIMITED"))["usage"]["units"] == 5
    await service.reverse_refund(refund_ref="R2", sale_ref="S1", full=True, at=NOW)
    await service.reverse_refund(refund_ref="R2", sale_ref="S1", full=True, at=NOW)
    await service.reverse_refund(refund_ref="R3", sale_ref="S1", full=True, at=NOW)
    assert (await management.get_promotion(admin, "P-LIMITED"))["usage"]["units"] == 2
    assert [p.id for p in await service.active_promotions(store_id, NOW)] == ["P-LIMITED"]
    assert await check_promotions() == []


async def test_a_refused_commit_writes_nothing(chain):
    admin = chain["admin"]
    store_id = chain["stores"]["SH001"]["id"]
    await _create_all(admin, [LIMITED], Limits(units=2))
    active = list(await service.active_promotions(store_id, NOW))
    with pytest.raises(PromotionSoldOut):
        async with transaction():
            await service.commit_sale(
                sale_ref="S1",
                member_id=None,
                store_id=store_id,
                business_date=DAY,
                at=NOW,
                priced=_priced(active, 3),
            )
    assert await PromotionUse.count() == 0
    assert (await management.get_promotion(admin, "P-LIMITED"))["usage"]["units"] == 0


async def test_budget_and_per_member_per_day_limits(chain, member_id):
    admin = chain["admin"]
    store_id = chain["stores"]["SH001"]["id"]
    await _create_all(admin, [LIMITED], Limits(budget_minor=10_000, per_member_per_day=1))
    active = list(await service.active_promotions(store_id, NOW))
    commit = dict(store_id=store_id, business_date=DAY, at=NOW)
    await service.commit_sale(sale_ref="S1", member_id=member_id, priced=_priced(active), **commit)
    with pytest.raises(PromotionSoldOut, match="per member today"):
        await service.commit_sale(
            sale_ref="S2", member_id=member_id, priced=_priced(active), **commit
        )
    # the next business day the member may again
    await service.commit_sale(
        sale_ref="S3",
        member_id=member_id,
        priced=_priced(active),
        **{**commit, "business_date": DAY + timedelta(days=1)},
    )
    # the budget: 399 a unit, 10,000 in all
    await service.commit_sale(sale_ref="S4", member_id=None, priced=_priced(active, 23), **commit)
    with pytest.raises(PromotionSoldOut):
        await service.commit_sale(
            sale_ref="S5", member_id=None, priced=_priced(active, 2), **commit
        )
    assert (await management.get_promotion(admin, "P-LIMITED"))["usage"]["budget_minor"] == 399 * 25
    assert await check_promotions() == []


async def test_another_process_change_is_seen_through_the_generation_row(chain):
    """What a second app process does is simulated by writing the rows directly: the cache
    follows the generation number, not this process's own calls."""
    from promotions.tables import Promotion, PromotionSettings

    store_id = chain["stores"]["SH001"]["id"]
    await _create_all(chain["admin"], DEFINITIONS[:2])
    assert len(await service.active_promotions(store_id, service.utc_now())) == 2
    await Promotion.update({Promotion.status: "paused"}).where(Promotion.code == "P-MEMBER")
    assert len(await service.active_promotions(store_id, service.utc_now())) == 2  # cached
    await PromotionSettings.update({PromotionSettings.generation: 424242}).where(
        PromotionSettings.id == 1
    )
    assert [p.id for p in await service.active_promotions(store_id, service.utc_now())] == [
        "P-300-30"
    ]


async def test_a_sale_without_promotions_or_coupons_writes_nothing(chain):
    from promotions.tables import PromotionSale

    store_id = chain["stores"]["SH001"]["id"]
    await service.commit_sale(
        sale_ref="S1",
        member_id=None,
        store_id=store_id,
        business_date=DAY,
        at=NOW,
        priced=_priced([]),
    )
    await service.reverse_refund(refund_ref="R1", sale_ref="S1", full=True, at=NOW)
    assert await PromotionSale.count() == 0
