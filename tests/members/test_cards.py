"""Registration, card numbers, the phone's QR code and the card life cycle."""

from __future__ import annotations

import asyncio

import pytest

from memberpos.errors import Forbidden
from members import cards
from members.cards import Operator, change_card, find_member
from members.errors import (
    CardFrozen,
    CardLost,
    CardReplaced,
    CardTransitionRefused,
    InvalidCardNumber,
    InvalidPhone,
    InvalidQrToken,
    UnknownMember,
)
from members.phones import mask, normalise_phone
from members.registration import Registration, register
from members.tables import Card, CardEvent, Member
from stores.access import Role
from tests import factories

CASHIER = Operator(staff_id=None, roles=frozenset({Role.cashier}))
MANAGER = Operator(staff_id=None, roles=frozenset({Role.store_manager}))


@pytest.fixture
async def store_id(db):
    admin = await factories.hq_admin()
    chain = await factories.small_chain(admin)
    return chain["stores"]["SH001"]["id"]


def test_phone_numbers_normalise_to_one_form_and_mask_for_cashiers():
    for raw in ("13812341234", "138 1234 1234", "+86 138-1234-1234", "008613812341234"):
        assert normalise_phone(raw) == "+8613812341234"
    assert normalise_phone("+852 9123 4567") == "+85291234567"
    assert mask("+8613812341234") == "138****1234"
    for bad in ("12812341234", "1381234123", "hello", "", "+86 23812341234"):
        with pytest.raises(InvalidPhone):
            normalise_phone(bad)


def test_card_numbers_carry_a_check_digit_that_catches_typos():
    number = cards.new_card_number()
    assert cards.is_valid_card_number(number)
    typo = number[:5] + str((int(number[5]) + 1) % 10) + number[6:]
    assert not cards.is_valid_card_number(typo)
    body = "880000000001234"
    good = body + cards.luhn_check_digit(body)
    swapped = "880000000002134" + good[-1]  # the 1 and 2 swapped
    assert cards.is_valid_card_number(good) and not cards.is_valid_card_number(swapped)
    with pytest.raises(InvalidCardNumber):
        cards.check_card_number(typo)


def test_qr_token_is_signed_and_short_lived():
    number = cards.new_card_number()
    token, expires = cards.qr_token(number, now=1_000_000)
    assert cards.card_number_from_qr(token, now=1_000_010) == number
    with pytest.raises(InvalidQrToken):
        cards.card_number_from_qr(token, now=expires + 1)
    forged = token.replace(number, cards.new_card_number())
    with pytest.raises(InvalidQrToken):
        cards.card_number_from_qr(forged, now=1_000_010)


async def test_registering_an_existing_phone_answers_with_that_member(store_id):
    first = await register(
        Registration(phone="13812341234", name="张伟", home_store_id=store_id, consents=("sms",)),
        CASHIER,
    )
    again = await register(
        Registration(phone="+86 138 1234 1234", name="别人", home_store_id=store_id), CASHIER
    )
    assert first.created and not again.created
    assert again.member_id == first.member_id
    assert await Member.count() == 1
    assert again.card["number"] == first.card["number"]
    found = await find_member(phone="138-1234-1234")
    assert found.member_id == first.member_id and found.masked_phone == "138****1234"


async def test_two_tills_registering_one_phone_at_once_create_one_member(store_id):
    results = await asyncio.gather(
        *[
            register(
                Registration(phone="13900001111", name=f"顾客{i}", home_store_id=store_id), CASHIER
            )
            for i in range(8)
        ]
    )
    assert len({r.member_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert await Member.count() == 1 and await Card.count() == 1


async def test_every_card_transition_allowed_and_refused(store_id):
    registered = await register(
        Registration(phone="13700000001", name="李娜", home_store_id=store_id), CASHIER
    )
    number = registered.card["number"]

    with pytest.raises(Forbidden):
        await change_card(number, "freeze", CASHIER, "no right")
    await change_card(number, "freeze", MANAGER, "suspicious use")
    with pytest.raises(CardFrozen):
        await find_member(card_number=number)
    with pytest.raises(CardFrozen):
        await change_card(number, "freeze", MANAGER)
    await change_card(number, "unfreeze", MANAGER, "cleared")
    assert (await find_member(card_number=number)).card_number == number

    await change_card(number, "report_lost", Operator.member(), "lost on the metro")
    with pytest.raises(CardLost):
        await find_member(card_number=number)
    with pytest.raises(CardLost):
        await change_card(number, "unfreeze", MANAGER)
    replaced = await change_card(number, "replace", CASHIER, "new card at counter")
    new_number = replaced["replaced_by"]["number"]
    with pytest.raises(CardReplaced):
        await find_member(card_number=number)
    for action in ("found", "freeze", "unfreeze", "report_lost", "replace", "cancel"):
        with pytest.raises((CardReplaced, Forbidden)):
            await change_card(number, action, MANAGER)
    now_found = await find_member(card_number=new_number)
    assert now_found.member_id == registered.member_id
    with pytest.raises(CardTransitionRefused):
        await change_card(new_number, "teleport", MANAGER)

    events = await CardEvent.select(CardEvent.action, CardEvent.by_member).order_by(CardEvent.id)
    assert [e["action"] for e in events] == [
        "issue",
        "freeze",
        "unfreeze",
        "report_lost",
        "replace",
        "issue",
    ]
    assert events[3]["by_member"] is True


async def test_unknown_card_and_unknown_phone_are_refused(store_id):
    with pytest.raises(UnknownMember):
        await find_member(phone="13600000000")
    with pytest.raises(Exception) as error:
        await find_member(card_number=cards.new_card_number())
    assert error.value.code == "unknown_card"
