"""Every card action from every card status: allowed ones land with their event, refused
ones answer with the status's own code and write nothing; replacement keeps the member."""

from __future__ import annotations

import datetime as dt

import pytest

from memberpos.errors import Forbidden
from members import family, tiers
from members.cards import TRANSITIONS, change_card, find_member
from members.errors import CARD_STATUS_ERRORS, CardTransitionRefused
from members.family import FamilyActor
from members.tables import Card, CardEvent
from tests.members.conftest import CASHIER, MANAGER, MEMBER_PIN

# How to bring a fresh card into each status.
SETUP = {
    "active": [],
    "frozen": ["freeze"],
    "lost": ["report_lost"],
    "replaced": ["replace"],
    "cancelled": ["cancel"],
}


async def _card_in(new_member, status: str) -> str:
    member = await new_member()
    number = (await Card.select(Card.number).where(Card.member == member))[0]["number"]
    for action in SETUP[status]:
        await change_card(number, action, MANAGER, "setup")
    return number


async def test_every_action_from_every_status(chain, new_member):
    for status, action in [(s, a) for s in SETUP for a in TRANSITIONS]:
        allowed_from, to_status, needs_manager = TRANSITIONS[action]
        number = await _card_in(new_member, status)
        events = await CardEvent.count()
        if needs_manager and status in allowed_from:
            with pytest.raises(Forbidden):
                await change_card(number, action, CASHIER, "no right")
            assert await CardEvent.count() == events
        if status in allowed_from:
            result = await change_card(number, action, MANAGER, f"{action} from {status}")
            assert result["status"] == to_status
            row = (await Card.select(Card.status).where(Card.number == number))[0]
            assert row["status"] == to_status
            last = await CardEvent.select().order_by(CardEvent.id, ascending=False).first()
            if action == "replace":  # the new card's issue comes last
                assert last["action"] == "issue" and "replaces" in last["reason"]
            else:
                assert (last["action"], last["from_status"], last["to_status"]) == (
                    action,
                    status,
                    to_status,
                )
        else:
            expected = CARD_STATUS_ERRORS.get(status, CardTransitionRefused)
            with pytest.raises(expected):
                await change_card(number, action, MANAGER, "refused")
            assert await CardEvent.count() == events
            row = (await Card.select(Card.status).where(Card.number == number))[0]
            assert row["status"] == status


async def test_replacement_keeps_the_member_tier_spend_and_family(chain, new_member):
    store = chain["stores"]["SH001"]["id"]
    parent, child = await new_member(), await new_member()
    await family.attach_child(
        parent,
        child,
        daily_limit_minor=1_000,
        monthly_limit_minor=5_000,
        who=FamilyActor(parent_pin=MEMBER_PIN),
    )
    today = tiers.chain_today()
    now = dt.datetime.now(dt.UTC)
    await tiers.on_qualifying_spend(parent, 600_000, "sale", "S1", store, today, now)
    number = (await Card.select(Card.number).where(Card.member == parent))[0]["number"]
    await change_card(number, "report_lost", CASHIER, "lost")
    replaced = await change_card(number, "replace", CASHIER, "new card")
    found = await find_member(card_number=replaced["replaced_by"]["number"])
    assert found.member_id == parent
    assert (await tiers.tier_benefits(parent)).tier_code == "SILVER"
    assert await tiers.rolling_spend(parent, today) == 600_000
    assert await family.points_owner(child) == parent
    # A pre-printed card can be handed over as the replacement, once.
    second = await change_card(
        replaced["replaced_by"]["number"],
        "replace",
        CASHIER,
        "physical card",
        new_number="8800000000000013",
    )
    assert second["replaced_by"]["number"] == "8800000000000013"
    other = await new_member()
    other_number = (await Card.select(Card.number).where(Card.member == other))[0]["number"]
    with pytest.raises(CardTransitionRefused):
        await change_card(other_number, "replace", CASHIER, "x", new_number="8800000000000013")
    assert (await Card.select(Card.status).where(Card.number == other_number))[0][
        "status"
    ] == "active"
