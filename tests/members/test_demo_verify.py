"""The demo members load fast and idempotently, and ``check_members`` finds them sound and
finds each kind of broken invariant."""

from __future__ import annotations

import time

import pytest

from members import cards, demo, family
from members.cards import Operator
from members.errors import CardTransitionRefused
from members.tables import Card, CardEvent, FamilyLink, Member
from members.verify import check_members


async def test_demo_members_load_quickly_idempotently_and_verify_clean(chain):
    started = time.monotonic()
    summary = await demo.create_demo_members()
    elapsed = time.monotonic() - started
    assert elapsed < 45, f"demo members took {elapsed:.1f}s"
    assert "5000 new demo members" in summary
    assert await Member.count() == demo.DEMO_MEMBERS
    assert await Card.count() == demo.DEMO_MEMBERS == await CardEvent.count()
    tiered = await Member.count().where(Member.tier.is_not_null())
    assert 0.2 * demo.DEMO_MEMBERS < tiered < 0.4 * demo.DEMO_MEMBERS
    assert await FamilyLink.count() > 100
    assert await check_members() == []
    again = await demo.create_demo_members()
    assert "already there" in again and await Member.count() == demo.DEMO_MEMBERS
    # A demo member signs in with the documented PIN through the real check.
    number = demo.demo_card_number(7)
    found = await cards.find_member(card_number=number)
    from members.registration import verify_payment_pin

    await verify_payment_pin(found.member_id, demo.DEMO_MEMBER_PIN)


async def test_verify_reports_broken_invariants(chain, new_member):
    a, b = await new_member(), await new_member()
    with pytest.raises(CardTransitionRefused):
        await cards.issue_card(a, Operator())  # one active card per member
    assert await check_members() == []
    # Rows written by hand, as only a bug or a manual edit would.
    number = cards.new_card_number()
    await Card.insert(Card(number=number, member=a, status="active", kind="physical")).run()
    await FamilyLink.insert(FamilyLink(parent=b, child=b)).run()
    problems = await check_members()
    assert any("2 active cards" in p for p in problems)
    assert any(f"card {number} has no life-cycle events" in p for p in problems)
    assert any("their own child" in p for p in problems)
    assert await family.points_owner(a) == a
