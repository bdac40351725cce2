"""Commission under concurrent sales (PostgreSQL): levels stay exact whatever the order, and
a close racing with sales never leaves a closed month's figures changed."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from memberpos.db import transaction
from stores import commission, commission_periods, commission_rules
from stores.commission import SoldLine, record_sale
from stores.commission_tables import CommissionEntry, CommissionPeriod, CommissionTally
from stores.commission_verify import check_commission
from tests import factories

SEPT = dt.date(2026, 9, 20)
AT = dt.datetime(2026, 9, 20, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
async def two_sellers(db):
    admin = await factories.hq_admin()
    chain = await factories.small_chain(admin)
    alice = await factories.employee(admin, "S001", ["salesperson"], "SH001")
    bob = await factories.employee(admin, "S002", ["salesperson"], "SH001")
    await commission_rules.create_rule(
        admin,
        code="TIERED",
        name="tiered",
        valid_from=dt.date(2026, 1, 1),
        level_mode="marginal",
        levels=[{"above_minor": 0, "rate_bp": 200}, {"above_minor": 252_500, "rate_bp": 300}],
        pool_share_bp=2000,
    )
    return admin, chain["stores"]["SH001"]["id"], alice["id"], bob["id"]


async def _sale(store_id: int, number: int, alice: int, bob: int) -> int:
    # Half the sales name Bob first, so tally rows are wanted in both orders.
    people = ((alice, 5_000), (bob, 5_000)) if number % 2 else ((bob, 5_000), (alice, 5_000))
    async with transaction():
        return await record_sale(
            sale_ref=f"P-{number}",
            store_id=store_id,
            business_date=SEPT,
            at=AT,
            lines=[SoldLine(1, "SNACK-1", 1, 10_000, 0, people)],
        )


@pytest.mark.postgres
async def test_120_parallel_sales_pay_each_level_exactly_once(two_sellers):
    _, store_id, alice, bob = two_sellers
    totals = await asyncio.gather(*(_sale(store_id, n, alice, bob) for n in range(120)))
    # Each person sold 600,000: 252,500 at 2 % and 347,500 at 3 %, whatever the order.
    assert sum(totals) == 2 * (5_050 + 10_425)
    for person in (alice, bob):
        rows = await CommissionEntry.select().where(CommissionEntry.staff == person)
        assert sum(r["commission_minor"] for r in rows) == 5_050 + 10_425
        assert sum(r["sales_minor"] for r in rows) == 600_000
        assert sum(1 for r in rows if r["level"] == 2 and r["base_minor"] == 5_000) >= 69
    tallies = {r["staff_key"]: r["sales_minor"] for r in await CommissionTally.select()}
    assert tallies == {alice: 600_000, bob: 600_000}
    assert await check_commission() == []


@pytest.mark.postgres
async def test_close_waits_for_a_sale_in_flight_and_later_sales_move_on(two_sellers):
    admin, store_id, alice, bob = two_sellers
    started, release = asyncio.Event(), asyncio.Event()

    async def slow_sale() -> None:
        async with transaction():
            await record_sale(
                sale_ref="SLOW",
                store_id=store_id,
                business_date=SEPT,
                at=AT,
                lines=[SoldLine(1, "SNACK-1", 1, 10_000, 0, ((alice, 10_000),))],
            )
            started.set()
            await release.wait()

    sale = asyncio.create_task(slow_sale())
    await started.wait()
    closing = asyncio.create_task(
        commission_periods.close_period(admin, "SH001", dt.date(2026, 9, 1))
    )
    await asyncio.sleep(0.3)
    assert not closing.done()  # the sale's key-share lock holds the close back
    release.set()
    await sale
    closed = await closing
    assert closed["sales_minor"] == 10_000 and closed["commission_minor"] == 200
    await _sale(store_id, 1, alice, bob)  # after the close: October, as an adjustment
    [late] = await CommissionEntry.select().where(
        (CommissionEntry.sale_ref == "P-1") & (CommissionEntry.staff == alice)
    )
    [october] = await CommissionPeriod.select().where(CommissionPeriod.id == late["period"])
    assert late["adjustment"] is True and october["month_start"] == dt.date(2026, 10, 1)
    assert await check_commission() == []


@pytest.mark.postgres
async def test_parallel_partial_refunds_take_back_exactly_the_whole(two_sellers):
    admin, store_id, alice, _ = two_sellers
    await commission_rules.create_rule(
        admin, code="ODD", name="odd", valid_from=dt.date(2026, 1, 1), sku="SNACK-2", rate_bp=100
    )
    async with transaction():
        total = await record_sale(
            sale_ref="ODD-1",
            store_id=store_id,
            business_date=SEPT,
            at=AT,
            lines=[SoldLine(1, "SNACK-2", 3, 1_000, 0, ((alice, 10_000),))],
        )
    assert total == 10

    async def refund(number: int) -> int:
        async with transaction():
            return await commission.reverse_refund(
                refund_ref=f"ODD-R{number}",
                sale_ref="ODD-1",
                store_id=store_id,
                business_date=SEPT,
                at=AT,
                lines=[(1, 1)],
            )

    taken = await asyncio.gather(*(refund(n) for n in range(3)))
    assert sum(taken) == 10 and sorted(taken) == [3, 3, 4]
    assert await check_commission() == []
