"""Tiers: definitions, upgrade inside the sale, the periodic review, holds set by hand,
paid tiers with renewal and lapse, benefits and progress."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from memberpos.db import transaction
from memberpos.errors import Forbidden
from members import tiers
from members.errors import (
    DuplicateTier,
    NotAPaidTier,
    TierChangeRefused,
    TierThresholdsOutOfOrder,
    UnknownTier,
)
from members.tables import Member, QualifyingSpend, TierEvent
from stores.access import Actor, Role

DAY = dt.date(2026, 6, 15)
AT = dt.datetime(2026, 6, 15, 4, 0, tzinfo=dt.UTC)


async def _sale(member_id: int, store_id: int, amount: int, ref: str, day: dt.date = DAY):
    return await tiers.on_qualifying_spend(member_id, amount, "sale", ref, store_id, day, AT)


async def _tier_code(member_id: int) -> str | None:
    row = await Member.select(Member.tier.code.as_alias("code")).where(Member.id == member_id)
    return row[0]["code"]


async def test_default_tiers_seed_once_and_order_is_enforced(chain):
    assert await tiers.seed_default_tiers() == 0
    codes = [t["code"] for t in await tiers.list_tiers()]
    assert codes == ["STANDARD", "SILVER", "GOLD", "DIAMOND"]
    admin = chain["admin"]
    with pytest.raises(DuplicateTier) as error:
        await tiers.create_tier(admin, code="GOLD", name="x", rank=9, threshold_minor=9_000_000)
    assert error.value.field == "code"
    with pytest.raises(TierThresholdsOutOfOrder):
        await tiers.create_tier(admin, code="PLATINUM", name="铂金", rank=4, threshold_minor=100)
    with pytest.raises(TierThresholdsOutOfOrder):
        await tiers.update_tier(admin, "SILVER", {"threshold_minor": 3_000_000})
    updated = await tiers.update_tier(admin, "SILVER", {"discount_bp": 300})
    assert updated["discount_bp"] == 300
    cashier = Actor(1, "C1", "c", frozenset({Role.cashier}), None, None)
    with pytest.raises(Forbidden):
        await tiers.update_tier(cashier, "SILVER", {"discount_bp": 0})


async def test_sale_crossing_the_threshold_upgrades_in_its_own_transaction(chain, new_member):
    store = chain["stores"]["SH001"]["id"]
    member = await new_member()
    assert (await tiers.tier_benefits(member)).tier_code == "STANDARD"
    assert await _sale(member, store, 300_000, "S1") is None
    change = await _sale(member, store, 250_000, "S2")
    assert change is not None and (change.from_tier, change.to_tier) == (None, "SILVER")
    assert change.rolling_spend_minor == 550_000
    benefits = await tiers.tier_benefits(member)
    assert (benefits.tier_code, benefits.points_multiplier_bp, benefits.discount_bp) == (
        "SILVER",
        12_000,
        200,
    )
    # A replay of the same sale counts once and changes nothing.
    assert await _sale(member, store, 250_000, "S2") is None
    assert await QualifyingSpend.count().where(QualifyingSpend.member == member) == 2
    # A sale that fails after the upgrade rolls the upgrade back with it.
    with pytest.raises(RuntimeError):
        async with transaction():
            assert (await _sale(member, store, 1_500_000, "S3")).to_tier == "GOLD"
            raise RuntimeError("payment declined")
    assert await _tier_code(member) == "SILVER"
    assert not await QualifyingSpend.exists().where(QualifyingSpend.source_id == "S3")
    # A refund does not downgrade at the till.
    await tiers.on_qualifying_spend(member, -250_000, "refund", "R1", store, DAY, AT)
    assert await _tier_code(member) == "SILVER"


async def test_review_downgrades_when_spend_leaves_the_window(chain, new_member):
    store = chain["stores"]["SH001"]["id"]
    member = await new_member()
    other = await new_member()
    await _sale(member, store, 2_100_000, "S1")
    await _sale(other, store, 600_000, "S2")
    assert await _tier_code(member) == "GOLD"
    assert await tiers.review_tiers(DAY) == []
    # 12 months on, the sale still counts on its anniversary's eve, not after.
    assert await tiers.review_tiers(dt.date(2027, 6, 14)) == []
    changes = await tiers.review_tiers(dt.date(2027, 6, 15))
    assert {(c.member_id, c.from_tier, c.to_tier, c.reason) for c in changes} == {
        (member, "GOLD", "STANDARD", "downgrade"),
        (other, "SILVER", "STANDARD", "downgrade"),
    }
    assert await tiers.review_tiers(dt.date(2027, 6, 15)) == []  # rerun finds nothing


async def test_manual_tier_holds_until_its_end_date(chain, new_member):
    admin = chain["admin"]
    member = await new_member()
    until = tiers.chain_today() + dt.timedelta(days=30)
    change = await tiers.set_tier_manually(admin, member, "GOLD", until, "VIP guest")
    assert change.to_tier == "GOLD" and change.held_until == tiers.end_of_day(until)
    assert await tiers.review_tiers(until) == []
    lapsed = await tiers.review_tiers(until + dt.timedelta(days=1))
    assert [(c.from_tier, c.to_tier, c.reason) for c in lapsed] == [
        ("GOLD", "STANDARD", "hold_ended")
    ]
    with pytest.raises(UnknownTier):
        await tiers.set_tier_manually(admin, member, "NOPE", until)
    manager = Actor(2, "M1", "m", frozenset({Role.store_manager}), None, None)
    with pytest.raises(Forbidden):
        await tiers.set_tier_manually(manager, member, "GOLD", until)
    reasons = [e["reason"] for e in await tiers.tier_history(member)]
    assert reasons == ["manual", "hold_ended"]


async def test_paid_tier_is_bought_renewed_and_lapses(chain, new_member):
    admin = chain["admin"]
    await tiers.create_tier(
        admin,
        code="PLUS",
        name="PLUS会员",
        rank=10,
        annual_fee_minor=19_900,
        points_multiplier_bp=20_000,
    )
    member = await new_member()
    with pytest.raises(NotAPaidTier):
        await tiers.buy_paid_tier(member, "GOLD", source_kind="sale", source_id="P0", at=AT)
    bought = await tiers.buy_paid_tier(member, "PLUS", source_kind="sale", source_id="P1", at=AT)
    assert bought.fee_minor == 19_900 and not bought.renewal
    assert bought.paid_until == AT.replace(year=2027)
    replay = await tiers.buy_paid_tier(member, "PLUS", source_kind="sale", source_id="P1", at=AT)
    assert replay.replay and replay.paid_until == bought.paid_until
    renewed = await tiers.buy_paid_tier(
        member, "PLUS", source_kind="sale", source_id="P2", at=AT + dt.timedelta(days=300)
    )
    assert renewed.renewal and renewed.paid_until == AT.replace(year=2028)
    assert (await tiers.tier_benefits(member)).points_multiplier_bp == 20_000
    # Spend never reaches a paid tier, and the review leaves it while paid.
    assert await tiers.review_tiers(dt.date(2027, 12, 1)) == []
    lapsed = await tiers.review_tiers(dt.date(2028, 6, 16))
    assert [(c.from_tier, c.reason) for c in lapsed] == [("PLUS", "lapse")]
    # Nobody pays for a lower tier than they hold.
    await tiers.create_tier(admin, code="LITE", name="轻享", rank=5, annual_fee_minor=100)
    await tiers.set_tier_manually(admin, member, "PLUS", tiers.chain_today())
    with pytest.raises(TierChangeRefused):
        await tiers.buy_paid_tier(member, "LITE", source_kind="sale", source_id="P3", at=AT)
    events = await TierEvent.select(TierEvent.reason).where(TierEvent.member == member)
    assert [e["reason"] for e in events] == ["paid", "renewal", "lapse", "manual"]


async def test_progress_shows_what_is_left_to_the_next_tier(chain, new_member):
    store = chain["stores"]["SH001"]["id"]
    member = await new_member()
    await _sale(member, store, 123_456, "S1")
    progress = await tiers.tier_progress(member, DAY)
    assert progress.tier_code == "STANDARD" and progress.next_tier_code == "SILVER"
    assert progress.rolling_spend_minor == 123_456
    assert progress.remaining_minor == 500_000 - 123_456
    assert progress.window_start == dt.date(2025, 6, 16) and progress.window_end == DAY


@pytest.mark.postgres
async def test_parallel_sales_crossing_together_upgrade_once(chain, new_member):
    store = chain["stores"]["SH001"]["id"]
    member = await new_member()

    async def sale(i: int):
        async with transaction():
            return await _sale(member, store, 100_000, f"P{i}")

    results = await asyncio.gather(*[sale(i) for i in range(10)])
    upgrades = [r for r in results if r is not None]
    assert [u.to_tier for u in upgrades] == ["SILVER"]
    assert await _tier_code(member) == "SILVER"
    assert await tiers.rolling_spend(member, DAY) == 1_000_000
