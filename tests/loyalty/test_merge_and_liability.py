"""The merge hook moves points (lots with their expiry), stored value and packages; liability
figures as of a past date come from the entries up to then; expiry across a year boundary in
the store's zone."""

from __future__ import annotations

import datetime as dt

from loyalty import liability, packages, points, stored_value
from loyalty.earning import expiry_date
from loyalty.merge import merge_members
from loyalty.points import Source
from loyalty.program import Program
from loyalty.tables import PointsEntry, PointsLot, ServicePackage, StoredValueEntry
from loyalty.verify import check_packages, check_points, check_stored_value
from stores.audit import SystemActor
from tests.loyalty.conftest import another_member

T0 = dt.datetime(2026, 3, 1, 4, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 3, 1)


async def test_merge_moves_lots_with_expiry_stored_value_and_packages_once(chain, member_id):
    sh001 = chain["stores"]["SH001"]["id"]
    merged = await another_member(chain, "13812349999")
    await points.earn(
        merged,
        300,
        Source("sale", "M1", sh001),
        at=T0,
        available_from=T0,
        expires_on=dt.date(2026, 12, 31),
    )
    await points.earn(
        merged,
        200,
        Source("sale", "M2", sh001),
        at=T0,
        available_from=T0 + dt.timedelta(days=7),
        expires_on=dt.date(2027, 12, 31),
    )
    await points.earn(
        member_id, 50, Source("sale", "S1", sh001), at=T0, available_from=T0, expires_on=None
    )
    await stored_value.top_up(
        merged, 10_000, Source("top_up", "T1", sh001), at=T0, business_date=DAY
    )
    await stored_value.adjust(merged, 0, 700, Source("adjustment", "B1"), at=T0, business_date=DAY)
    await packages.define_product(
        SystemActor(), code="WASH", name="洗车", uses=5, price_minor=5_000, validity_days=60
    )
    sold = await packages.sell_package(merged, "WASH", Source("sale", "M3", sh001), at=T0)
    await packages.use_package(merged, sold.package_id, Source("sale", "M4", sh001), at=T0)

    at = T0 + dt.timedelta(days=1)
    for _ in range(2):  # the second call changes nothing
        await merge_members(member_id, merged, "MERGE-1", at)
    survivor = await points.points_summary(member_id, at=at)
    assert survivor == {"balance": 550, "spendable": 350, "pending": 200, "debt": 0}
    assert (await points.points_summary(merged, at=at))["balance"] == 0
    lots = (
        await PointsLot.select(PointsLot.points, PointsLot.expires_on)
        .where((PointsLot.account.member == member_id) & (PointsLot.entry.kind == "merge_in"))
        .order_by(PointsLot.points)
    )
    assert [(lot["points"], lot["expires_on"]) for lot in lots] == [
        (200, dt.date(2027, 12, 31)),
        (300, dt.date(2026, 12, 31)),
    ]
    assert await stored_value.stored_value_summary(member_id) == {
        "principal": 10_000,
        "bonus": 700,
        "balance": 10_700,
    }
    assert (await stored_value.stored_value_summary(merged))["balance"] == 0
    assert await PointsEntry.count().where(PointsEntry.kind.is_in(["merge_in", "merge_out"])) == 2
    assert await StoredValueEntry.count().where(StoredValueEntry.source_id == "MERGE-1") == 2
    moved = await packages.member_packages(member_id)
    assert [(p["uses_left"], p["value_left_minor"], p["status"]) for p in moved] == [
        (4, 4_000, "active")
    ]
    old = await ServicePackage.select().where(ServicePackage.id == sold.package_id).first()
    assert old["status"] == "merged" and old["uses_left"] == 0
    assert await check_points() == [] and await check_stored_value() == []
    assert await check_packages() == []


async def test_merge_of_a_member_in_debt_sets_the_debt_against_the_survivors_lots(chain, member_id):
    merged = await another_member(chain, "13812349999")
    await points.earn(merged, 100, Source("sale", "M1"), at=T0, available_from=T0, expires_on=None)
    await points.spend(merged, 100, Source("sale", "M2"), at=T0)
    await points.reverse_earn(
        merged, 100, Source("refund", "R1"), original=Source("sale", "M1"), at=T0
    )
    await points.earn(
        member_id, 500, Source("sale", "S1"), at=T0, available_from=T0, expires_on=None
    )
    await merge_members(member_id, merged, "MERGE-2", T0)
    assert await points.points_summary(member_id, at=T0) == {
        "balance": 400,
        "spendable": 400,
        "pending": 0,
        "debt": 0,
    }
    assert await check_points() == []


async def test_liability_as_of_a_past_date_counts_only_entries_up_to_then(chain, member_id):
    sh001, sh002 = chain["stores"]["SH001"]["id"], chain["stores"]["SH002"]["id"]
    day1 = dt.datetime(2026, 3, 1, 4, 0, tzinfo=dt.UTC)
    day2 = dt.datetime(2026, 3, 2, 4, 0, tzinfo=dt.UTC)
    await points.earn(
        member_id, 1_000, Source("sale", "S1", sh001), at=day1, available_from=day1, expires_on=None
    )
    await stored_value.top_up(
        member_id, 50_000, Source("top_up", "T1", sh001), at=day1, business_date=dt.date(2026, 3, 1)
    )
    await stored_value.adjust(
        member_id,
        0,
        5_000,
        Source("adjustment", "B1", sh001),
        at=day1,
        business_date=dt.date(2026, 3, 1),
    )
    await points.spend(member_id, 400, Source("sale", "S2", sh002), at=day2)
    await stored_value.spend(
        member_id, 20_000, Source("sale", "S2", sh002), at=day2, business_date=dt.date(2026, 3, 2)
    )

    before = await liability.liability(dt.date(2026, 3, 1))
    assert before.chain.points_outstanding == 1_000 and before.chain.points_value_minor == 1_000
    assert before.chain.stored_value_principal_minor == 50_000
    assert before.chain.stored_value_bonus_minor == 5_000
    now = await liability.liability(dt.date(2026, 3, 2))
    assert now.chain.points_outstanding == 600
    assert now.chain.stored_value_principal_minor == 30_000
    by_store = {line.store_code: line for line in now.stores}
    # points by issuing store: all earned at SH001; stored value by counter, net
    assert by_store["SH001"].points_outstanding == 600
    assert by_store["SH002"].stored_value_principal_minor == -20_000
    assert (await liability.liability(dt.date(2026, 2, 28))).chain.points_outstanding == 0
    only_sh002 = await liability.liability(dt.date(2026, 3, 2), store_ids={sh002})
    assert [line.store_code for line in only_sh002.stores] == ["SH002"]
    assert only_sh002.points_debt is None and now.points_debt == 0
    # a refund of S1 on day 3 takes back 1,000 points of which 400 were spent: debt
    day3 = dt.datetime(2026, 3, 3, 4, 0, tzinfo=dt.UTC)
    await points.reverse_earn(
        member_id, 1_000, Source("refund", "R1", sh001), original=Source("sale", "S1"), at=day3
    )
    later = await liability.liability(dt.date(2026, 3, 3))
    assert (later.chain.points_outstanding, later.points_debt) == (0, 400)
    again = await liability.liability(dt.date(2026, 3, 2))
    assert (again.chain.points_outstanding, again.points_debt) == (600, 0)


async def test_points_earned_late_on_new_years_eve_in_shanghai_expire_by_the_stores_dates(
    chain, member_id
):
    sh001 = chain["stores"]["SH001"]["id"]
    program = Program(expiry_policy="year_end")
    # 2025-12-31 23:30 in Shanghai is 15:30 UTC; 2026-01-01 00:30 Shanghai is still 2025 in UTC.
    late_eve = dt.datetime(2025, 12, 31, 15, 30, tzinfo=dt.UTC)
    new_year = dt.datetime(2025, 12, 31, 16, 30, tzinfo=dt.UTC)
    from memberpos.clock import business_date

    assert expiry_date(business_date(late_eve, "Asia/Shanghai"), program) == dt.date(2026, 12, 31)
    assert expiry_date(business_date(new_year, "Asia/Shanghai"), program) == dt.date(2027, 12, 31)
    assert expiry_date(new_year.date(), program) == dt.date(2026, 12, 31)  # UTC date: wrong
    await points.earn(
        member_id,
        100,
        Source("sale", "S1", sh001),
        at=late_eve,
        available_from=late_eve,
        expires_on=dt.date(2026, 12, 31),
    )
    # 2027-01-01 00:10 in Shanghai (16:10 UTC on 31 December): no longer spendable there.
    after_midnight = dt.datetime(2026, 12, 31, 16, 10, tzinfo=dt.UTC)
    assert await points.spendable_points(member_id, after_midnight, store_id=sh001) == 0
    assert (
        await points.spendable_points(
            member_id, after_midnight - dt.timedelta(hours=1), store_id=sh001
        )
        == 100
    )
    from loyalty.jobs import expire_points

    assert await expire_points(at=after_midnight - dt.timedelta(hours=1)) == 0
    assert await expire_points(at=after_midnight) == 100
    assert await expire_points(at=after_midnight) == 0
    assert (await points.points_summary(member_id, at=after_midnight))["balance"] == 0
    assert await check_points() == []


async def test_refund_of_a_partially_redeemed_sale_in_two_halves_reverses_exactly(chain, member_id):
    """A ¥200 basket paid 5,000 points (¥50), ¥100 stored value (¥80 principal + ¥20 bonus),
    ¥50 cash; it earned 150 points. Two half refunds give back exactly what it took."""
    sh001 = chain["stores"]["SH001"]["id"]
    await points.earn(
        member_id,
        6_000,
        Source("sale", "S0", sh001),
        at=T0,
        available_from=T0,
        expires_on=dt.date(2026, 12, 31),
    )
    await stored_value.top_up(
        member_id, 8_000, Source("top_up", "T1", sh001), at=T0, business_date=DAY
    )
    await stored_value.adjust(
        member_id, 0, 2_000, Source("adjustment", "B1", sh001), at=T0, business_date=DAY
    )
    sale = Source("sale", "S1", sh001)
    await points.spend(member_id, 5_000, sale, at=T0)
    spent = await stored_value.spend(
        member_id, 10_000, sale, at=T0, business_date=DAY, order="proportional"
    )
    assert (spent.principal_delta, spent.bonus_delta) == (-8_000, -2_000)
    await points.earn(
        member_id,
        150,
        sale,
        at=T0,
        available_from=T0 + dt.timedelta(days=7),
        expires_on=dt.date(2027, 12, 31),
    )
    assert (await points.points_summary(member_id, at=T0))["balance"] == 1_150

    for number in (1, 2):
        refund = Source("refund", f"R{number}", sh001)
        await points.reverse_earn(member_id, 75, refund, original=sale, at=T0)
        await points.return_spent(member_id, 2_500, refund, original=sale, at=T0)
        back = await stored_value.return_spend(
            member_id, 5_000, refund, original=sale, at=T0, business_date=DAY
        )
        assert (back.principal_delta, back.bonus_delta) == (4_000, 1_000)
    assert await points.points_summary(member_id, at=T0) == {
        "balance": 6_000,
        "spendable": 6_000,
        "pending": 0,
        "debt": 0,
    }
    assert await stored_value.stored_value_summary(member_id) == {
        "principal": 8_000,
        "bonus": 2_000,
        "balance": 10_000,
    }
    # the lot the points came from has them back; the sale's own lot is empty
    lots = await PointsLot.select(PointsLot.points, PointsLot.remaining).order_by(PointsLot.id)
    assert [(lot["points"], lot["remaining"]) for lot in lots] == [(6_000, 6_000), (150, 0)]
    assert await check_points() == [] and await check_stored_value() == []
