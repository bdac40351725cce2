"""The points ledger: lots, pending, soonest-expiring first, refunds, debt, expiry."""

from __future__ import annotations

import datetime as dt

import pytest

from loyalty import points
from loyalty.errors import InsufficientPoints
from loyalty.points import Source
from loyalty.tables import PointsEntry
from loyalty.verify import check_points

T0 = dt.datetime(2026, 3, 1, 4, 0, tzinfo=dt.UTC)


def sale(number: str) -> Source:
    return Source("sale", number)


async def test_spending_takes_soonest_expiring_lots_first_and_pending_points_wait(member_id):
    await points.earn(
        member_id, 500, sale("S1"), at=T0, available_from=T0, expires_on=dt.date(2027, 12, 31)
    )
    await points.earn(
        member_id, 300, sale("S2"), at=T0, available_from=T0, expires_on=dt.date(2026, 12, 31)
    )
    await points.earn(
        member_id, 200, sale("S3"), at=T0, available_from=T0 + dt.timedelta(days=7), expires_on=None
    )
    summary = await points.points_summary(member_id, at=T0)
    assert summary == {"balance": 1000, "spendable": 800, "pending": 200, "debt": 0}
    with pytest.raises(InsufficientPoints):
        await points.spend(member_id, 900, sale("S4"), at=T0)
    await points.spend(member_id, 400, sale("S4"), at=T0)
    # the 2026 lot (300) went first, then 100 of the 2027 lot
    await points.expire_lots(dt.date(2027, 1, 1), at=T0)
    summary = await points.points_summary(member_id, at=T0 + dt.timedelta(days=400))
    assert summary["balance"] == 600 and summary["spendable"] == 600
    assert await check_points() == []


async def test_posting_the_same_source_twice_changes_nothing(member_id):
    first = await points.earn(member_id, 120, sale("S1"), at=T0, available_from=T0, expires_on=None)
    again = await points.earn(member_id, 120, sale("S1"), at=T0, available_from=T0, expires_on=None)
    assert not first.replayed and again.replayed
    entries = await PointsEntry.select(PointsEntry.id).where(PointsEntry.kind == "earn")
    assert [row["id"] for row in entries] == [again.entry_id]
    assert (again.delta, again.balance_after) == (first.delta, first.balance_after)
    assert (await points.points_summary(member_id, at=T0))["balance"] == 120


async def test_refund_after_points_spent_leaves_negative_balance_that_next_sale_repays(member_id):
    await points.earn(member_id, 1000, sale("S1"), at=T0, available_from=T0, expires_on=None)
    await points.spend(member_id, 800, sale("S2"), at=T0)
    await points.reverse_earn(member_id, 1000, Source("refund", "R1"), original=sale("S1"), at=T0)
    summary = await points.points_summary(member_id, at=T0)
    assert summary == {"balance": -800, "spendable": 0, "pending": 0, "debt": 800}
    await points.earn(member_id, 500, sale("S3"), at=T0, available_from=T0, expires_on=None)
    assert (await points.points_summary(member_id, at=T0))["balance"] == -300
    await points.earn(member_id, 500, sale("S4"), at=T0, available_from=T0, expires_on=None)
    summary = await points.points_summary(member_id, at=T0)
    assert summary == {"balance": 200, "spendable": 200, "pending": 0, "debt": 0}
    assert await check_points() == []


async def test_refund_gives_spent_points_back_to_their_lots_over_partial_refunds(member_id):
    await points.earn(
        member_id, 300, sale("S1"), at=T0, available_from=T0, expires_on=dt.date(2026, 6, 30)
    )
    await points.earn(
        member_id, 300, sale("S2"), at=T0, available_from=T0, expires_on=dt.date(2026, 12, 31)
    )
    await points.spend(member_id, 500, sale("S3"), at=T0)
    await points.return_spent(member_id, 200, Source("refund", "R1"), original=sale("S3"), at=T0)
    await points.return_spent(member_id, 300, Source("refund", "R2"), original=sale("S3"), at=T0)
    summary = await points.points_summary(member_id, at=T0)
    assert summary["balance"] == 600 and summary["spendable"] == 600
    assert await check_points() == []
