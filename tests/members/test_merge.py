"""Merging duplicate members: HQ only, cards, spend, tier and family move to the survivor,
every domain's merge hook runs in the same transaction, audited, idempotent."""

from __future__ import annotations

import datetime as dt

import pytest

from members import family, merge, tiers
from members.cards import find_member
from members.errors import CardReplaced, MergeNotAllowed, MergeRefused
from members.family import FamilyActor
from members.registration import Registration, register
from members.tables import Card, Member, MemberMerge
from stores import staff
from stores.tables import AuditEntry
from tests import factories
from tests.members.conftest import CASHIER

DAY = tiers.chain_today()
AT = dt.datetime.now(dt.UTC)


@pytest.fixture
def recorded_hooks(monkeypatch):
    calls = []

    async def hook(survivor_id, merged_id, merge_ref, at):
        calls.append((survivor_id, merged_id, merge_ref))

    real = merge.merge_hooks
    monkeypatch.setattr(merge, "merge_hooks", lambda: [*real(), hook])
    return calls


async def _card(member_id: int) -> dict:
    return await Card.select().where(Card.member == member_id).order_by(Card.id).first()


async def test_only_hq_may_merge(chain, new_member):
    admin = chain["admin"]
    await factories.employee(admin, "C1", ["cashier"], "SH001")
    await factories.employee(admin, "M1", ["store_manager"], "SH001")
    a, b = await new_member(), await new_member()
    for employee_no in ("C1", "M1"):
        actor = (await staff.sign_in(employee_no, factories.PASSWORD, 1)).actor
        with pytest.raises(MergeNotAllowed) as error:
            await merge.merge_members(actor, a, b)
        assert error.value.code == "merge_not_allowed" and error.value.status == 403
    with pytest.raises(MergeRefused):
        await merge.merge_members(admin, a, a)
    assert await MemberMerge.count() == 0


async def test_merge_moves_cards_spend_tier_family_and_calls_hooks(
    chain, new_member, recorded_hooks
):
    admin = chain["admin"]
    store = chain["stores"]["SH001"]["id"]
    survivor = await new_member("13811110001")
    duplicate = await new_member("13811110002")
    kid = await new_member("13811110003")
    survivor_card, duplicate_card = await _card(survivor), await _card(duplicate)
    await tiers.on_qualifying_spend(survivor, 300_000, "sale", "S1", store, DAY, AT)
    await tiers.on_qualifying_spend(duplicate, 1_800_000, "sale", "S2", store, DAY, AT)
    assert (await tiers.tier_benefits(duplicate)).tier_code == "SILVER"
    await family.attach_child(
        duplicate,
        kid,
        daily_limit_minor=1_000,
        monthly_limit_minor=5_000,
        who=FamilyActor(actor=admin),
    )

    result = await merge.merge_members(admin, survivor, duplicate, reason="same person")
    assert recorded_hooks == [(survivor, duplicate, result.merge_ref)]
    # Cards: the duplicate's active card now points at the survivor's card.
    assert await _card(duplicate) is None
    old = await Card.select().where(Card.number == duplicate_card["number"]).first()
    assert old["member"] == survivor and old["status"] == "replaced"
    assert old["replaced_by"] == survivor_card["id"]
    # Spend adds up, so the survivor reaches GOLD (2,100,000).
    assert await tiers.rolling_spend(survivor, DAY) == 2_100_000
    assert await tiers.rolling_spend(duplicate, DAY) == 0
    assert (await tiers.tier_benefits(survivor)).tier_code == "GOLD"
    # Family: the kid's link moved to the survivor.
    assert await family.points_owner(kid) == survivor
    # The duplicate is merged; its phone finds the survivor; registering it answers so too.
    row = await Member.select(Member.status, Member.merged_into).where(Member.id == duplicate)
    assert row[0] == {"status": "merged", "merged_into": survivor}
    assert (await find_member(phone="13811110002")).member_id == survivor
    again = await register(
        Registration(phone="13811110002", name="x", home_store_id=store), CASHIER
    )
    assert again.member_id == survivor and not again.created
    assert await AuditEntry.exists().where(AuditEntry.action == "member.merge")
    # Idempotent by merge_ref; a merged member cannot be merged again.
    replay = await merge.merge_members(admin, survivor, duplicate, merge_ref=result.merge_ref)
    assert replay.replay and len(recorded_hooks) == 1
    with pytest.raises(MergeRefused):
        await merge.merge_members(admin, survivor, duplicate)
    with pytest.raises(CardReplaced):
        await find_member(card_number=old["number"])


async def test_a_failing_hook_rolls_the_whole_merge_back(chain, new_member, monkeypatch):
    admin = chain["admin"]
    a, b = await new_member(), await new_member()
    card_b = await _card(b)

    async def broken(*args):
        raise RuntimeError("ledger unavailable")

    monkeypatch.setattr(merge, "merge_hooks", lambda: [broken])
    with pytest.raises(RuntimeError):
        await merge.merge_members(admin, a, b)
    assert (await _card(b))["id"] == card_b["id"]
    row = await Member.select(Member.status).where(Member.id == b)
    assert row[0]["status"] == "active" and await MemberMerge.count() == 0
