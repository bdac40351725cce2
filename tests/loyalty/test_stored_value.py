"""Stored value: top-up bonus, spending order, refunds with the same split, never negative."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from loyalty import stored_value
from loyalty.errors import DailyLimitExceeded, InsufficientStoredValue, TopUpNotRefundable
from loyalty.points import Source
from loyalty.tables import StoredValueEntry, TopUpRule
from loyalty.verify import check_stored_value
from memberpos.db import transaction

T0 = dt.datetime(2026, 3, 1, 4, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 3, 1)


async def rules() -> None:
    for code, pay, bonus in (("P500", 50_000, 5_000), ("P1000", 100_000, 15_000)):
        await TopUpRule.insert(
            TopUpRule(
                code=code,
                name=code,
                pay_minor=pay,
                bonus_minor=bonus,
                valid_from=T0 - dt.timedelta(days=1),
            )
        ).run()


async def test_top_up_gets_the_highest_bonus_reached_and_spend_order_is_kept(member_id):
    await rules()
    posting = await stored_value.top_up(
        member_id, 60_000, Source("top_up", "T1"), at=T0, business_date=DAY
    )
    assert (posting.principal_delta, posting.bonus_delta) == (60_000, 5_000)
    spent = await stored_value.spend(
        member_id, 62_000, Source("sale", "S1"), at=T0, business_date=DAY, order="principal_first"
    )
    assert (spent.principal_delta, spent.bonus_delta) == (-60_000, -2_000)
    back = await stored_value.return_spend(
        member_id,
        31_000,
        Source("refund", "R1"),
        original=Source("sale", "S1"),
        at=T0,
        business_date=DAY,
    )
    assert (back.principal_delta, back.bonus_delta) == (30_000, 1_000)
    back2 = await stored_value.return_spend(
        member_id,
        31_000,
        Source("refund", "R2"),
        original=Source("sale", "S1"),
        at=T0,
        business_date=DAY,
    )
    assert (back2.principal_delta, back2.bonus_delta) == (30_000, 1_000)
    with pytest.raises(Exception) as refused:
        await stored_value.return_spend(
            member_id,
            1,
            Source("refund", "R3"),
            original=Source("sale", "S1"),
            at=T0,
            business_date=DAY,
        )
    assert refused.value.code == "invalid_amount"
    assert await check_stored_value() == []


def test_split_orders():
    assert stored_value.split_spend(100, 80, 50, "principal_first") == (80, 20)
    assert stored_value.split_spend(100, 80, 50, "bonus_first") == (50, 50)
    assert stored_value.split_spend(100, 80, 20, "proportional") == (80, 20)
    with pytest.raises(InsufficientStoredValue):
        stored_value.split_spend(200, 80, 50, "principal_first")


async def test_refund_of_a_top_up_returns_only_unused_principal(member_id):
    await rules()
    await stored_value.top_up(member_id, 50_000, Source("top_up", "T1"), at=T0, business_date=DAY)
    await stored_value.spend(member_id, 20_000, Source("sale", "S1"), at=T0, business_date=DAY)
    refund = await stored_value.refund_top_up(
        member_id,
        Source("top_up_refund", "TR1"),
        original=Source("top_up", "T1"),
        at=T0,
        business_date=DAY,
    )
    assert (refund.principal_delta, refund.bonus_delta) == (-30_000, -5_000)
    assert refund.balance_after == 0
    with pytest.raises(TopUpNotRefundable):
        await stored_value.refund_top_up(
            member_id,
            Source("top_up_refund", "TR2"),
            original=Source("top_up", "T1"),
            at=T0,
            business_date=DAY,
        )


async def test_daily_limit_counts_the_business_date(member_id):
    await stored_value.top_up(member_id, 100_000, Source("top_up", "T1"), at=T0, business_date=DAY)
    await stored_value.spend(
        member_id, 30_000, Source("sale", "S1"), at=T0, business_date=DAY, daily_limit_minor=50_000
    )
    with pytest.raises(DailyLimitExceeded):
        await stored_value.spend(
            member_id,
            30_000,
            Source("sale", "S2"),
            at=T0,
            business_date=DAY,
            daily_limit_minor=50_000,
        )
    await stored_value.spend(
        member_id,
        30_000,
        Source("sale", "S3"),
        at=T0,
        business_date=DAY + dt.timedelta(days=1),
        daily_limit_minor=50_000,
    )


async def test_a_failed_spend_writes_nothing(member_id):
    await stored_value.top_up(member_id, 1_000, Source("top_up", "T1"), at=T0, business_date=DAY)
    before = await StoredValueEntry.count()
    with pytest.raises(InsufficientStoredValue):
        await stored_value.spend(member_id, 1_001, Source("sale", "S1"), at=T0, business_date=DAY)
    assert await StoredValueEntry.count() == before
    assert (await stored_value.stored_value_summary(member_id))["balance"] == 1_000


@pytest.mark.postgres
async def test_200_parallel_spends_on_one_account_spend_exactly_what_is_there(member_id):
    """Each spend in its own connection and transaction, all at once: exactly the affordable
    ones succeed and the balance ends exact, never negative."""
    await stored_value.top_up(member_id, 100_000, Source("top_up", "T1"), at=T0, business_date=DAY)

    async def one(number: int) -> bool:
        try:
            async with transaction():
                await stored_value.spend(
                    member_id, 700, Source("sale", f"P{number}"), at=T0, business_date=DAY
                )
            return True
        except InsufficientStoredValue:
            return False

    results = await asyncio.gather(*(one(n) for n in range(200)))
    assert sum(results) == 100_000 // 700  # 142
    summary = await stored_value.stored_value_summary(member_id)
    assert summary["balance"] == 100_000 - 142 * 700 == 600
    assert await check_stored_value() == []
