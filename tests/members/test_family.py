"""Family cards: attach and detach, points to the parent, limits per day and month, refunds,
idempotency, and limits that hold under parallel spending."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from memberpos.db import transaction
from memberpos.errors import Forbidden, OutOfScope
from members import family
from members.errors import (
    ChildAlreadyAttached,
    FamilyLimitExceeded,
    FamilyLinkInactive,
    FamilyLinkRefused,
    NotAFamilyChild,
    ParentConsentRequired,
    ReleaseExceedsReservation,
    SpendSourceConflict,
    WrongPin,
)
from members.family import FamilyActor
from members.tables import FamilySpend
from tests import factories
from tests.members.conftest import MEMBER_PIN

DAY = dt.date(2026, 3, 30)
AT = dt.datetime(2026, 3, 30, 6, tzinfo=dt.UTC)
PARENT = FamilyActor(parent_pin=MEMBER_PIN)


async def _charge(child: int, amount: int, ref: str, day: dt.date = DAY) -> int:
    return await family.charge_parent(
        child, amount, source_kind="sale", source_id=ref, business_date=day, at=AT
    )


async def test_parent_attaches_with_pin_and_points_go_to_the_parent(chain, new_member):
    parent, child, other = await new_member(), await new_member(), await new_member()
    with pytest.raises(ParentConsentRequired):
        await family.attach_child(
            parent, child, daily_limit_minor=100, monthly_limit_minor=1000, who=FamilyActor()
        )
    with pytest.raises(WrongPin):
        await family.attach_child(
            parent,
            child,
            daily_limit_minor=100,
            monthly_limit_minor=1000,
            who=FamilyActor(parent_pin="0000"),
        )
    link = await family.attach_child(
        parent, child, daily_limit_minor=5_000, monthly_limit_minor=20_000, who=PARENT
    )
    assert (link.parent_id, link.child_id, link.daily_limit_minor) == (parent, child, 5_000)
    assert await family.points_owner(child) == parent
    assert await family.points_owner(parent) == parent
    # One level only; one parent at a time; not oneself.
    with pytest.raises(ChildAlreadyAttached):
        await family.attach_child(
            other,
            child,
            daily_limit_minor=0,
            monthly_limit_minor=0,
            who=FamilyActor(by_parent=True),
        )
    with pytest.raises(FamilyLinkRefused):
        await family.attach_child(
            child, other, daily_limit_minor=0, monthly_limit_minor=0, who=PARENT
        )
    with pytest.raises(FamilyLinkRefused):
        await family.attach_child(
            other, parent, daily_limit_minor=0, monthly_limit_minor=0, who=PARENT
        )
    with pytest.raises(FamilyLinkRefused):
        await family.attach_child(
            parent, parent, daily_limit_minor=0, monthly_limit_minor=0, who=PARENT
        )
    with pytest.raises(Exception) as error:
        await family.attach_child(
            parent, other, daily_limit_minor=-1, monthly_limit_minor=0, who=PARENT
        )
    assert error.value.field == "daily_limit_minor"
    seen = await family.family_of(parent)
    assert [c.child_id for c in seen.children] == [child] and seen.parent is None
    assert (await family.family_of(child)).parent.parent_id == parent


async def test_limits_per_day_and_month_refunds_and_replays(chain, new_member):
    parent, child = await new_member(), await new_member()
    await family.attach_child(
        parent, child, daily_limit_minor=5_000, monthly_limit_minor=12_000, who=PARENT
    )
    assert await _charge(child, 3_000, "S1") == parent
    assert await _charge(child, 3_000, "S1") == parent  # a replay counts once
    with pytest.raises(SpendSourceConflict):
        await _charge(child, 2_999, "S1")
    with pytest.raises(FamilyLimitExceeded) as error:
        await _charge(child, 2_001, "S2")
    assert error.value.status == 422 and error.value.extra["remaining_minor"] == 2_000
    assert await _charge(child, 2_000, "S2") == parent
    # A refund frees the allowance of the sale's own day.
    await family.refund_parent_charge(
        child,
        1_000,
        source_kind="refund",
        source_id="R1",
        original_source_id="S1",
        business_date=DAY + dt.timedelta(days=1),
        at=AT,
    )
    with pytest.raises(ReleaseExceedsReservation):
        await family.refund_parent_charge(
            child,
            2_001,
            source_kind="refund",
            source_id="R2",
            original_source_id="S1",
            business_date=DAY,
            at=AT,
        )
    assert await _charge(child, 1_000, "S3") == parent
    # The month: 5,000 spent so far, 12,000 allowed.
    await _charge(child, 5_000, "S4", DAY + dt.timedelta(days=1))
    with pytest.raises(FamilyLimitExceeded) as error:
        await _charge(child, 2_001, "S5", DAY - dt.timedelta(days=1))
    assert error.value.extra["limit"] == "monthly"
    assert await _charge(child, 5_000, "S6", dt.date(2026, 4, 1)) == parent  # a new month
    # The parent lowers the limits; nothing half-written on refusal.
    await family.set_limits(parent, child, daily_limit_minor=0, monthly_limit_minor=0, who=PARENT)
    before = await FamilySpend.count()
    with pytest.raises(FamilyLimitExceeded):
        await _charge(child, 1, "S7", dt.date(2026, 4, 2))
    assert await FamilySpend.count() == before


async def test_a_parent_sees_each_child_card_with_its_own_spending(chain, new_member, monkeypatch):
    from members import tiers

    monkeypatch.setattr(tiers, "chain_today", lambda: DAY)  # the views' "today"
    parent = await new_member(name="家长")
    first, second, third, gone = [await new_member(name=f"孩子{n}") for n in range(1, 5)]
    for child in (first, second, third, gone):
        await family.attach_child(
            parent, child, daily_limit_minor=5_000, monthly_limit_minor=50_000, who=PARENT
        )
    await _charge(first, 1_000, "A1")  # today
    await _charge(first, 200, "A2", DAY.replace(day=2))  # this month, not today
    await _charge(first, 4_000, "A3", DAY.replace(day=1) - dt.timedelta(days=1))  # last month
    await _charge(second, 300, "B1")
    await _charge(second, 3_000, "B2", DAY + dt.timedelta(days=1))  # the 31st: this month
    await family.refund_parent_charge(
        second,
        100,
        source_kind="refund",
        source_id="B1-R",
        original_source_id="B1",
        business_date=DAY + dt.timedelta(days=1),
        at=AT,
    )
    await _charge(gone, 700, "G1")
    await family.detach_child(parent, gone, who=PARENT)
    outsider_parent, outsider = await new_member(), await new_member()
    await family.attach_child(
        outsider_parent, outsider, daily_limit_minor=900, monthly_limit_minor=900, who=PARENT
    )
    await _charge(outsider, 900, "O1")

    seen = await family.family_of(parent)
    assert seen.parent is None
    assert [
        (c.parent_id, c.child_id, c.spent_today_minor, c.spent_this_month_minor, c.detached_at)
        for c in seen.children
    ] == [
        (parent, first, 1_000, 1_200, None),
        (parent, second, 200, 3_200, None),
        (parent, third, 0, 0, None),
    ]
    assert [(c.parent_name, c.child_name) for c in seen.children] == [
        ("家长", "孩子1"),
        ("家长", "孩子2"),
        ("家长", "孩子3"),
    ]
    as_child = await family.family_of(second)
    assert as_child.children == [] and as_child.parent == seen.children[1]
    assert as_child.parent == await family.link_view(seen.children[1].link_id)
    assert (await family.family_of(gone)) == family.Family(parent=None, children=[])
    outside = await family.family_of(outsider)
    assert outside.parent is not None and outside.parent.parent_id == outsider_parent
    assert (outside.parent.spent_today_minor, outside.parent.spent_this_month_minor) == (900, 900)


async def test_detaching_stops_points_and_spending(chain, new_member):
    parent, child, stranger = await new_member(), await new_member(), await new_member()
    with pytest.raises(NotAFamilyChild) as error:
        await _charge(stranger, 100, "X1")
    assert error.value.status == 422
    await family.attach_child(
        parent, child, daily_limit_minor=5_000, monthly_limit_minor=9_000, who=PARENT
    )
    await _charge(child, 100, "S1")
    await family.detach_child(parent, child, who=PARENT, reason="moved out")
    assert await family.points_owner(child) == child
    with pytest.raises(FamilyLinkInactive) as error:
        await _charge(child, 100, "S2")
    assert error.value.status == 403
    # A refund of a charge made while attached is still recorded (the money was the parent's).
    await family.refund_parent_charge(
        child,
        100,
        source_kind="refund",
        source_id="R1",
        original_source_id="S1",
        business_date=DAY,
        at=AT,
    )


async def test_hq_and_store_managers_in_scope_may_manage_links(chain, new_member):
    admin = chain["admin"]
    parent = await new_member(store="SH001")
    child = await new_member(store="SH002")
    await factories.employee(admin, "M2", ["store_manager"], "SH002")
    await factories.employee(admin, "C1", ["cashier"], "SH001")
    from stores import staff

    manager = (await staff.sign_in("M2", factories.PASSWORD, 1)).actor
    cashier = (await staff.sign_in("C1", factories.PASSWORD, 1)).actor
    with pytest.raises(OutOfScope):
        await family.attach_child(
            parent,
            child,
            daily_limit_minor=0,
            monthly_limit_minor=0,
            who=FamilyActor(actor=manager),
        )
    with pytest.raises(Forbidden):
        await family.attach_child(
            parent,
            child,
            daily_limit_minor=0,
            monthly_limit_minor=0,
            who=FamilyActor(actor=cashier),
        )
    await family.attach_child(
        parent, child, daily_limit_minor=0, monthly_limit_minor=0, who=FamilyActor(actor=admin)
    )
    await family.detach_child(parent, child, who=FamilyActor(actor=admin))


@pytest.mark.postgres
async def test_parallel_child_charges_never_exceed_the_limits(chain, new_member):
    parent, child = await new_member(), await new_member()
    await family.attach_child(
        parent, child, daily_limit_minor=10_000, monthly_limit_minor=50_000, who=PARENT
    )

    async def charge(i: int) -> bool:
        try:
            async with transaction():
                await _charge(child, 700, f"P{i}")
            return True
        except FamilyLimitExceeded:
            return False

    results = await asyncio.gather(*[charge(i) for i in range(60)])
    assert sum(results) == 10_000 // 700
    total = await FamilySpend.select(FamilySpend.amount_minor)
    assert sum(r["amount_minor"] for r in total) == (10_000 // 700) * 700 <= 10_000
