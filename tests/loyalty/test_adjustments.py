"""Manual adjustments: manager roles only, per-role limits, reason required, audited, idempotent
by adjustment id, never a negative stored value."""

from __future__ import annotations

import pytest

from loyalty import points, stored_value
from loyalty.adjustments import adjust
from loyalty.errors import AdjustmentConflict, AdjustmentRefused, InsufficientStoredValue
from loyalty.program import save_program
from loyalty.tables import Adjustment, PointsEntry
from loyalty.verify import check_points, check_stored_value
from memberpos.errors import InvalidInput, OutOfScope
from stores.tables import AuditEntry
from tests.loyalty.conftest import another_member, staff_actor


async def test_store_manager_adjusts_within_the_role_limit_with_a_reason_and_is_audited(
    chain, admin, member_id
):
    manager = await staff_actor(admin, "E2001", ["store_manager"], "SH001")
    result = await adjust(
        manager, ref="ADJ-1", member_id=member_id, points=5_000, reason="补录丢失的积分"
    )
    assert result.points_delta == 5_000 and result.points_balance_after == 5_000
    assert (await points.points_summary(member_id))["spendable"] == 5_000
    audit_row = await AuditEntry.select().where(AuditEntry.action == "adjust_balance").first()
    assert audit_row["entity_key"] == str(member_id) and audit_row["reason"] == "补录丢失的积分"
    assert audit_row["store_code"] == "SH001" and audit_row["actor_name"].startswith("E2001")
    entry = await PointsEntry.select().where(PointsEntry.kind == "adjust").first()
    assert entry["source_kind"] == "adjustment" and entry["source_id"] == "ADJ-1"

    with pytest.raises(AdjustmentRefused):
        await adjust(manager, ref="ADJ-2", member_id=member_id, points=5_001, reason="太多")
    with pytest.raises(AdjustmentRefused):
        await adjust(
            manager, ref="ADJ-3", member_id=member_id, principal_minor=50_001, reason="太多"
        )
    with pytest.raises(InvalidInput) as missing:
        await adjust(manager, ref="ADJ-4", member_id=member_id, points=10, reason="  ")
    assert missing.value.field == "reason"
    # HQ admin has the higher limit, and the limits are program settings.
    await adjust(admin, ref="ADJ-6", member_id=member_id, principal_minor=80_000, reason="补偿")
    await save_program({"manager_points_limit": 10_000})
    await adjust(manager, ref="ADJ-7", member_id=member_id, points=8_000, reason="活动补发")
    assert await Adjustment.count() == 3
    assert await check_points() == [] and await check_stored_value() == []


async def test_cashiers_and_analysts_may_not_adjust_and_managers_only_their_store(
    chain, admin, member_id
):
    cashier = await staff_actor(admin, "E2002", ["cashier"], "SH001")
    analyst = await staff_actor(admin, "H0009", ["analyst"])
    other_manager = await staff_actor(admin, "E2003", ["store_manager"], "SH002")
    for actor in (cashier, analyst):
        with pytest.raises(AdjustmentRefused):
            await adjust(actor, ref="X", member_id=member_id, points=1, reason="test")
    with pytest.raises(OutOfScope):
        await adjust(other_manager, ref="X", member_id=member_id, points=1, reason="test")
    assert await Adjustment.count() == 0


async def test_same_adjustment_id_changes_nothing_and_a_different_body_is_a_conflict(
    chain, admin, member_id
):
    first = await adjust(admin, ref="A1", member_id=member_id, bonus_minor=1_000, reason="补偿")
    again = await adjust(admin, ref="A1", member_id=member_id, bonus_minor=1_000, reason="补偿")
    assert again.replayed and again.adjustment_id == first.adjustment_id
    assert (await stored_value.stored_value_summary(member_id))["bonus"] == 1_000
    with pytest.raises(AdjustmentConflict):
        await adjust(admin, ref="A1", member_id=member_id, bonus_minor=2_000, reason="补偿")
    other = await another_member(chain, "13812349999")
    with pytest.raises(AdjustmentConflict):
        await adjust(admin, ref="A1", member_id=other, bonus_minor=1_000, reason="补偿")
    assert await Adjustment.count() == 1
    assert await AuditEntry.count().where(AuditEntry.action == "adjust_balance") == 1


async def test_an_adjustment_never_makes_stored_value_negative_and_writes_nothing(
    chain, admin, member_id
):
    await adjust(admin, ref="A1", member_id=member_id, principal_minor=500, reason="补偿")
    with pytest.raises(InsufficientStoredValue):
        await adjust(
            admin, ref="A2", member_id=member_id, principal_minor=-300, bonus_minor=-1, reason="x"
        )
    with pytest.raises(InsufficientStoredValue):
        await adjust(admin, ref="A3", member_id=member_id, principal_minor=-501, reason="x")
    assert (await stored_value.stored_value_summary(member_id))["balance"] == 500
    assert await Adjustment.count() == 1
    assert await AuditEntry.count().where(AuditEntry.action == "adjust_balance") == 1
    assert await check_stored_value() == []


@pytest.mark.postgres
async def test_the_same_adjustment_sent_ten_times_at_once_applies_once(chain, admin, member_id):
    import asyncio

    results = await asyncio.gather(
        *(
            adjust(admin, ref="SAME", member_id=member_id, points=300, reason="补录")
            for _ in range(10)
        )
    )
    assert sum(not result.replayed for result in results) == 1
    assert (await points.points_summary(member_id))["balance"] == 300
    assert await Adjustment.count() == 1
    assert await AuditEntry.count().where(AuditEntry.action == "adjust_balance") == 1
