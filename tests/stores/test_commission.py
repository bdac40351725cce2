"""Salesperson commission: worked examples of every rule kind, shares, levels, refunds,
periods and their close, idempotent replays."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from memberpos.db import transaction
from stores import commission_periods, commission_rules, commission_statements
from stores.commission import SoldLine, record_sale, reverse_refund
from stores.commission_errors import (
    InvalidCommissionRule,
    InvalidCommissionSale,
    PeriodAlreadyClosed,
    PeriodNotEnded,
    RefundExceedsSale,
    SaleCommissionNotRecorded,
)
from stores.commission_tables import CommissionEntry, CommissionPeriod, CommissionTally
from stores.commission_verify import check_commission
from tests import factories

SEPT = dt.date(2026, 9, 10)
AT = dt.datetime(2026, 9, 10, 6, 0, tzinfo=dt.UTC)
OCT = dt.date(2026, 10, 5)
OCT_AT = dt.datetime(2026, 10, 5, 6, 0, tzinfo=dt.UTC)


@dataclass
class Shop:
    admin: Any
    store_id: int
    other_store_id: int
    products: dict[str, Any]
    alice: int
    bob: int
    carol: int  # SH002


@pytest.fixture
async def shop(db: None) -> Shop:
    admin = await factories.hq_admin()
    chain = await factories.small_chain(admin)
    alice = await factories.employee(admin, "S001", ["salesperson"], "SH001")
    bob = await factories.employee(admin, "S002", ["salesperson"], "SH001")
    carol = await factories.employee(admin, "S003", ["salesperson"], "SH002")
    return Shop(
        admin=admin,
        store_id=chain["stores"]["SH001"]["id"],
        other_store_id=chain["stores"]["SH002"]["id"],
        products=chain["products"],
        alice=alice["id"],
        bob=bob["id"],
        carol=carol["id"],
    )


async def rule(shop: Shop, code: str, **terms: Any) -> None:
    terms.setdefault("valid_from", dt.date(2026, 1, 1))
    await commission_rules.create_rule(shop.admin, code=code, name=code, **terms)


def line(
    line_no: int,
    net: int,
    *people: tuple[int, int],
    sku: str = "SNACK-1",
    quantity: int = 1,
    points: int = 0,
) -> SoldLine:
    return SoldLine(
        line_no=line_no,
        sku=sku,
        quantity=quantity,
        net_minor=net,
        points_paid_minor=points,
        salespeople=tuple(people),
    )


async def sell(
    shop: Shop, ref: str, *lines: SoldLine, on: dt.date = SEPT, at=AT, store=None
) -> int:
    return await record_sale(
        sale_ref=ref,
        store_id=store or shop.store_id,
        business_date=on,
        at=at,
        lines=list(lines),
    )


async def entries(**where: Any) -> list[dict[str, Any]]:
    query = CommissionEntry.select().order_by(CommissionEntry.id)
    for key, value in where.items():
        query = query.where(getattr(CommissionEntry, key) == value)
    return await query


async def per_staff(kind: str | None = None) -> dict[int | None, int]:
    totals: dict[int | None, int] = {}
    for entry in await entries(**({"kind": kind} if kind else {})):
        totals[entry["staff"]] = totals.get(entry["staff"], 0) + entry["commission_minor"]
    return totals


# ------------------------------------------------------------------------ rule kinds


async def test_chain_default_rate_with_pool_part(shop: Shop):
    await rule(shop, "CHAIN", rate_bp=150, pool_share_bp=2000)
    # 1.5 % of ¥99.99 = 149.985 fen → 150; 20 % of it to the pool.
    total = await sell(shop, "S-1", line(1, 9999, (shop.alice, 10_000)))
    assert total == 150
    [entry] = await entries()
    assert (entry["commission_minor"], entry["personal_minor"], entry["pool_minor"]) == (
        150,
        120,
        30,
    )
    assert entry["rate_bp"] == 150 and entry["sales_minor"] == 9999
    assert await check_commission() == []


async def test_most_specific_rule_wins_sku_over_brand_over_category_over_store(shop: Shop):
    await rule(shop, "CHAIN", rate_bp=100)
    await rule(shop, "STORE", rate_bp=150, store_code="SH001")
    await rule(shop, "FOOD", rate_bp=200, category_code="FOOD")  # ancestor of SNACK
    await rule(shop, "BRAND", rate_bp=300, brand_code="HEFENG")
    await rule(shop, "SKU", rate_bp=500, sku="SNACK-1", region_code="WEST")  # other region
    await sell(
        shop,
        "S-1",
        line(1, 10_000, (shop.alice, 10_000), sku="SNACK-1"),  # brand HEFENG: 3 %
        line(2, 10_000, (shop.alice, 10_000), sku="SNACK-2"),  # no brand, FOOD/SNACK: 2 %
        line(3, 10_000, (shop.alice, 10_000), sku="GIFT-CARD"),  # not in catalog: store 1.5 %
    )
    got = {e["line_no"]: e["commission_minor"] for e in await entries()}
    assert got == {1: 300, 2: 200, 3: 150}
    # In the west the SKU rule beats the brand rule.
    await sell(shop, "S-2", line(1, 10_000, (shop.carol, 10_000)), store=shop.other_store_id)
    assert (await entries(sale_ref="S-2"))[0]["commission_minor"] == 300  # SH002 is EAST
    await rule(shop, "SKU-EAST", rate_bp=700, sku="SNACK-1", region_code="EAST")
    await sell(shop, "S-3", line(1, 10_000, (shop.carol, 10_000)), store=shop.other_store_id)
    assert (await entries(sale_ref="S-3"))[0]["commission_minor"] == 700


async def test_rules_are_time_ranged_by_business_date(shop: Shop):
    await rule(shop, "OLD", rate_bp=100, valid_until=dt.date(2026, 9, 30))
    await rule(shop, "NEW", rate_bp=300, valid_from=dt.date(2026, 10, 1))
    await sell(shop, "S-1", line(1, 10_000, (shop.alice, 10_000)))
    await sell(shop, "S-2", line(1, 10_000, (shop.alice, 10_000)), on=OCT, at=OCT_AT)
    assert [e["commission_minor"] for e in await entries()] == [100, 300]
    await commission_rules.end_rule(shop.admin, "NEW", dt.date(2026, 10, 4))
    await sell(shop, "S-3", line(1, 10_000, (shop.alice, 10_000)), on=OCT, at=OCT_AT)
    assert (await entries(sale_ref="S-3"))[0]["commission_minor"] == 0


async def test_rate_excluding_points_paid_and_fixed_per_unit(shop: Shop):
    await rule(shop, "POINTS", rate_bp=1000, category_code="SNACK", exclude_points_paid=True)
    await rule(shop, "UNIT", basis="per_unit", amount_per_unit_minor=250, sku="SNACK-2")
    await sell(
        shop,
        "S-1",
        line(1, 10_000, (shop.alice, 10_000), points=3_000),  # 10 % of 70.00
        line(2, 7_980, (shop.alice, 10_000), sku="SNACK-2", quantity=3),  # 3 × 2.50
    )
    got = {e["line_no"]: (e["base_minor"], e["commission_minor"]) for e in await entries()}
    assert got == {1: (7_000, 700), 2: (7_980, 750)}


async def test_line_without_salesperson_goes_to_store_default_and_the_pool(shop: Shop):
    await rule(shop, "CHAIN", rate_bp=100)
    await rule(shop, "STORE", rate_bp=200, store_code="SH001")
    await rule(shop, "SKU", rate_bp=900, sku="SNACK-1")  # not for nobody's lines
    total = await sell(shop, "S-1", line(1, 5_000))
    [entry] = await entries()
    assert total == 100
    assert entry["staff"] is None and entry["pool_minor"] == 100 and entry["personal_minor"] == 0


async def test_bad_rules_are_refused_naming_the_field(shop: Shop):
    with pytest.raises(InvalidCommissionRule) as error:
        await rule(shop, "X", rate_bp=100, store_code="SH001", region_code="EAST")
    assert error.value.field == "region_code"
    with pytest.raises(InvalidCommissionRule) as error:
        await rule(
            shop,
            "X",
            level_mode="marginal",
            levels=[{"above_minor": 0, "rate_bp": 100}, {"above_minor": 0, "rate_bp": 200}],
        )
    assert error.value.field == "levels[1].above_minor"
    with pytest.raises(InvalidCommissionRule) as error:
        await rule(shop, "X", basis="per_unit")
    assert error.value.field == "amount_per_unit_minor"
    assert await commission_rules.list_rules(shop.admin) == []


# -------------------------------------------------------------------- shares and levels


async def test_multi_salesperson_line_splits_to_the_cent(shop: Shop):
    await rule(shop, "CHAIN", rate_bp=300, pool_share_bp=1000)
    # 3 % of 333.33 = 999.99 fen → 1000, split 1/3 : 2/3 by largest remainder.
    total = await sell(shop, "S-1", line(1, 33_333, (shop.alice, 3_334), (shop.bob, 6_666)))
    got = {e["staff"]: e for e in await entries()}
    assert total == 1000
    assert got[shop.alice]["commission_minor"] + got[shop.bob]["commission_minor"] == 1000
    assert got[shop.alice]["sales_minor"] + got[shop.bob]["sales_minor"] == 33_333
    assert got[shop.alice]["commission_minor"] == 333  # 333.4 exact
    assert got[shop.bob]["commission_minor"] == 667  # 666.6 exact
    for entry in got.values():
        assert entry["personal_minor"] + entry["pool_minor"] == entry["commission_minor"]


async def test_shares_must_total_100_percent(shop: Shop):
    with pytest.raises(InvalidCommissionSale) as error:
        await sell(shop, "S-1", line(1, 100, (shop.alice, 5_000), (shop.bob, 4_000)))
    assert error.value.field == "lines[0].salespeople"
    assert await entries() == []


LEVELS = [{"above_minor": 0, "rate_bp": 200}, {"above_minor": 5_000_000, "rate_bp": 300}]


async def test_marginal_level_boundary_crossed_mid_sale(shop: Shop):
    await rule(shop, "TIERED", level_mode="marginal", levels=LEVELS)
    await sell(shop, "S-1", line(1, 4_000_000, (shop.alice, 10_000)))  # 2 % → 80,000
    # The next sale takes her from 40,000.00 to 70,000.00: line 1 crosses 50,000.00.
    await sell(
        shop,
        "S-2",
        line(1, 2_000_000, (shop.alice, 10_000)),  # 1,000,000 at 2 % + 1,000,000 at 3 %
        line(2, 1_000_000, (shop.alice, 10_000)),  # all above: 3 %
    )
    got = [(e["commission_minor"], e["level"], e["rate_bp"]) for e in await entries()]
    assert got == [(80_000, 1, 200), (50_000, 2, 300), (30_000, 2, 300)]
    [tally] = await CommissionTally.select().where(CommissionTally.staff_key == shop.alice)
    assert tally["sales_minor"] == 7_000_000


async def test_whole_amount_level_pays_the_line_at_the_level_reached(shop: Shop):
    await rule(shop, "TIERED", level_mode="whole", levels=LEVELS)
    await sell(shop, "S-1", line(1, 4_000_000, (shop.alice, 10_000)))
    await sell(shop, "S-2", line(1, 2_000_000, (shop.alice, 10_000)))  # reaches level 2
    assert [e["commission_minor"] for e in await entries()] == [80_000, 60_000]


async def test_whole_amount_trues_up_the_month_at_close(shop: Shop):
    await rule(shop, "TIERED", level_mode="whole", levels=LEVELS, pool_share_bp=1000)
    await sell(shop, "S-1", line(1, 4_000_000, (shop.alice, 10_000)))  # 80,000 at 2 %
    await sell(shop, "S-2", line(1, 2_000_000, (shop.alice, 10_000)))  # 60,000 at 3 %
    await sell(shop, "S-3", line(1, 1_000_000, (shop.bob, 10_000)))  # Bob stays at 2 %
    closed = await commission_periods.close_period(shop.admin, "SH001", dt.date(2026, 9, 1))
    [true_up] = await entries(kind="level_true_up")
    # All 60,000.00 of Alice's month at 3 % = 180,000; 140,000 was paid line by line.
    assert (true_up["staff"], true_up["commission_minor"], true_up["level"]) == (
        shop.alice,
        40_000,
        2,
    )
    assert (true_up["personal_minor"], true_up["pool_minor"]) == (36_000, 4_000)
    assert closed["commission_minor"] == 180_000 + 20_000
    statement = await commission_statements.staff_statement(
        shop.admin, "SH001", dt.date(2026, 9, 1), "S001"
    )
    assert statement["commission_minor"] == 180_000
    assert statement["levels_reached"] == [{"rule_code": "TIERED", "level": 2, "rate_bp": 300}]
    assert await check_commission() == []


async def test_whole_amount_refund_below_a_level_leaves_nothing_to_true_up(shop: Shop):
    await rule(shop, "TIERED", level_mode="whole", levels=LEVELS)
    await sell(shop, "S-1", line(1, 4_000_000, (shop.alice, 10_000)))
    await sell(shop, "S-2", line(1, 2_000_000, (shop.alice, 10_000)))
    await reverse_refund(
        refund_ref="R-1",
        sale_ref="S-2",
        store_id=shop.store_id,
        business_date=SEPT,
        at=AT,
        lines=[(1, 1)],
    )
    closed = await commission_periods.close_period(shop.admin, "SH001", dt.date(2026, 9, 1))
    assert closed["commission_minor"] == 80_000
    assert await entries(kind="level_true_up") == []


async def test_levels_count_each_salespersons_own_sales(shop: Shop):
    await rule(shop, "TIERED", level_mode="marginal", levels=LEVELS)
    await sell(shop, "S-1", line(1, 4_000_000, (shop.alice, 10_000)))
    # Half of 4,000,000 each: Alice crosses 50,000.00 by 1,000,000 fen, Bob does not.
    await sell(shop, "S-2", line(1, 4_000_000, (shop.alice, 5_000), (shop.bob, 5_000)))
    got = {e["staff"]: e for e in await entries(sale_ref="S-2")}
    assert got[shop.alice]["commission_minor"] == 20_000 + 30_000
    assert got[shop.bob]["commission_minor"] == 40_000


# ------------------------------------------------------------------------------ refunds


async def test_partial_refunds_take_back_exactly_and_the_last_takes_the_rest(shop: Shop):
    await rule(shop, "CHAIN", rate_bp=333, pool_share_bp=2500)
    total = await sell(shop, "S-1", line(1, 1_000, (shop.alice, 10_000), quantity=3))
    assert total == 33  # 33.3
    taken = [
        await reverse_refund(
            refund_ref=f"R-{n}",
            sale_ref="S-1",
            store_id=shop.store_id,
            business_date=SEPT,
            at=AT,
            lines=[(1, 1)],
        )
        for n in range(3)
    ]
    assert sum(taken) == 33 and sorted(taken) == [11, 11, 11]
    assert await per_staff() == {shop.alice: 0}
    with pytest.raises(RefundExceedsSale):
        await reverse_refund(
            refund_ref="R-9",
            sale_ref="S-1",
            store_id=shop.store_id,
            business_date=SEPT,
            at=AT,
            lines=[(1, 1)],
        )
    [tally] = await CommissionTally.select()
    assert tally["sales_minor"] == 0
    assert await check_commission() == []


async def test_refund_of_unknown_sale_or_line_is_refused(shop: Shop):
    with pytest.raises(SaleCommissionNotRecorded):
        await reverse_refund(
            refund_ref="R-1",
            sale_ref="NOPE",
            store_id=shop.store_id,
            business_date=SEPT,
            at=AT,
            lines=[(1, 1)],
        )
    await sell(shop, "S-1", line(1, 1_000, (shop.alice, 10_000)))
    with pytest.raises(InvalidCommissionSale) as error:
        await reverse_refund(
            refund_ref="R-1",
            sale_ref="S-1",
            store_id=shop.store_id,
            business_date=SEPT,
            at=AT,
            lines=[(2, 1)],
        )
    assert error.value.field == "lines[0]"
    assert await entries(kind="refund") == []


async def test_partial_refund_after_close_lands_in_the_current_period(shop: Shop):
    await rule(shop, "CHAIN", rate_bp=500, pool_share_bp=2000)
    await sell(shop, "S-1", line(1, 20_000, (shop.alice, 10_000), quantity=2))  # 1000
    closed = await commission_periods.close_period(shop.admin, "SH001", dt.date(2026, 9, 1))
    assert closed["commission_minor"] == 1000 and closed["pool_minor"] == 200
    assert closed["pool_paid_minor"] == 200  # Alice was the only seller
    before = await store_figures("2026-09")
    taken = await reverse_refund(
        refund_ref="R-1",
        sale_ref="S-1",
        store_id=shop.store_id,
        business_date=OCT,
        at=OCT_AT,
        lines=[(1, 1)],
    )
    assert taken == 500
    assert await store_figures("2026-09") == before  # closed figures never change
    [refund] = await entries(kind="refund")
    october = await CommissionPeriod.select().where(CommissionPeriod.id == refund["period"])
    assert october[0]["month_start"] == dt.date(2026, 10, 1)
    assert refund["adjustment"] is True
    assert (refund["commission_minor"], refund["pool_minor"]) == (-500, -100)
    statement = await commission_statements.staff_statement(
        shop.admin, "SH001", dt.date(2026, 10, 1), "S001"
    )
    assert statement["adjustments_minor"] == -500 and statement["sales_minor"] == -10_000
    assert await check_commission() == []


async def store_figures(month: str) -> dict[str, Any]:
    from stores.access import Actor, Role

    reader = Actor(0, "X", "x", frozenset({Role.analyst}), None, None)
    return await commission_statements.store_statement(
        reader, "SH001", commission_periods.parse_month(month)
    )


async def test_sale_in_a_closed_month_lands_in_the_next_open_one(shop: Shop):
    await rule(shop, "CHAIN", rate_bp=100)
    await commission_periods.close_period(shop.admin, "SH001", dt.date(2026, 9, 1))
    await sell(shop, "S-LATE", line(1, 10_000, (shop.alice, 10_000)))  # offline, 10 Sept
    [entry] = await entries()
    assert entry["adjustment"] is True
    period = await CommissionPeriod.select().where(CommissionPeriod.id == entry["period"])
    assert period[0]["month_start"] == dt.date(2026, 10, 1)


async def test_close_needs_the_month_ended_and_happens_once(shop: Shop):
    today = dt.datetime.now(dt.UTC).date()
    with pytest.raises(PeriodNotEnded):
        await commission_periods.close_period(shop.admin, "SH001", today.replace(day=1))
    await commission_periods.close_period(shop.admin, "SH001", dt.date(2026, 9, 1))
    with pytest.raises(PeriodAlreadyClosed):
        await commission_periods.close_period(shop.admin, "SH001", dt.date(2026, 9, 1))


async def test_pool_is_split_by_configured_shares_at_close(shop: Shop):
    await rule(shop, "CHAIN", rate_bp=1000, pool_share_bp=5000)
    await sell(shop, "S-1", line(1, 10_001, (shop.alice, 10_000)))  # 1000: 500 pool
    await sell(shop, "S-2", line(1, 1_000))  # nobody: 100 pool
    await commission_periods.set_pool_shares(shop.admin, "SH001", [("S001", 1), ("S002", 2)])
    closed = await commission_periods.close_period(shop.admin, "SH001", dt.date(2026, 9, 1))
    assert closed["pool_minor"] == 600 and closed["pool_paid_minor"] == 600
    shares = {e["staff"]: e["pool_share_minor"] for e in await entries(kind="pool_share")}
    assert shares == {shop.alice: 200, shop.bob: 400}
    statement = await commission_statements.staff_statement(
        shop.admin, "SH001", dt.date(2026, 9, 1), "S002"
    )
    assert statement["payable_minor"] == 400 and statement["pool_share_minor"] == 400


# --------------------------------------------------------------------------- idempotency


async def test_replays_write_nothing_and_return_the_same_total(shop: Shop):
    await rule(shop, "CHAIN", rate_bp=250)
    first = await sell(shop, "S-1", line(1, 12_345, (shop.alice, 10_000)))
    again = await sell(shop, "S-1", line(1, 12_345, (shop.alice, 10_000)))
    assert first == again == 309
    taken = await reverse_refund(
        refund_ref="R-1",
        sale_ref="S-1",
        store_id=shop.store_id,
        business_date=SEPT,
        at=AT,
        lines=[(1, 1)],
    )
    replay = await reverse_refund(
        refund_ref="R-1",
        sale_ref="S-1",
        store_id=shop.store_id,
        business_date=SEPT,
        at=AT,
        lines=[(1, 1)],
    )
    assert taken == replay == 309
    assert len(await entries()) == 2
    [tally] = await CommissionTally.select()
    assert tally["sales_minor"] == 0


async def test_record_sale_joins_the_callers_transaction(shop: Shop):
    await rule(shop, "CHAIN", rate_bp=100)

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with transaction():
            await sell(shop, "S-1", line(1, 10_000, (shop.alice, 10_000)))
            raise Boom
    assert await entries() == []
    assert await sell(shop, "S-1", line(1, 10_000, (shop.alice, 10_000))) == 100


async def test_line_sold_by_nobody_is_paid_at_the_first_level_and_keeps_no_tally(shop: Shop):
    await rule(shop, "TIERED", store_code="SH001", level_mode="marginal", levels=LEVELS)
    await sell(shop, "S-1", line(1, 6_000_000))  # past the 50,000.00 boundary, yet 2 %
    [entry] = await entries()
    assert (entry["commission_minor"], entry["pool_minor"]) == (120_000, 120_000)
    assert await CommissionTally.count() == 0
    assert await check_commission() == []


async def test_verify_reports_a_changed_closed_month_and_a_sale_paid_twice(shop: Shop):
    await rule(shop, "CHAIN", rate_bp=100)
    await sell(shop, "S-1", line(1, 10_000, (shop.alice, 10_000)))
    await commission_periods.close_period(shop.admin, "SH001", dt.date(2026, 9, 1))
    assert await check_commission() == []
    [entry] = await entries()
    # Tampering, as a bad manual fix would: the sale's line written a second time.
    await CommissionEntry.insert(
        CommissionEntry(**{**{k: v for k, v in entry.items() if k != "id"}, "staff": shop.bob})
    ).run()
    problems = await check_commission()
    assert any("sale S-1: entries carry 20000 of sales, its lines 10000" in p for p in problems)
    assert any(
        "closed commission period" in p and "commission_minor was 100" in p for p in problems
    )
    assert any("commission tally" in p for p in problems)
