"""Every path of a till's member lookup, taken by both lookups: ``find_member`` and
``find_member_with`` (the sale path's one statement that reads the member's context with the
card) find the same member for the same input and refuse it with the same error: type, code,
field and message, in the same order of refusals."""

from __future__ import annotations

import time
from typing import Any

import pytest

from memberpos.errors import DomainError
from members import cards, merge
from members.cards import MemberRef, Operator, change_card, find_member, find_member_with, qr_token
from members.directory import cancel_membership
from members.errors import (
    CardCancelled,
    CardFrozen,
    CardLost,
    CardReplaced,
    InvalidCardNumber,
    InvalidPhone,
    InvalidQrToken,
    MembershipCancelled,
    UnknownCard,
    UnknownMember,
)
from members.registration import Registration, register
from tests.members.conftest import CASHIER, MANAGER

# What a caller of find_member_with reads besides the card and member (as pricing does).
CONTEXT_COLUMNS = "m.name AS context_name, t.code AS context_tier_code"
CONTEXT_JOINS = "LEFT JOIN tier t ON t.id = m.tier"


async def _outcome(call: Any) -> Any:
    try:
        return await call
    except DomainError as error:
        return ("refused", type(error), error.code, error.field, error.detail)


async def _both(**identification: str) -> Any:
    """The one outcome of both lookups for ``identification``: the MemberRef found (with the
    context row of find_member_with checked to be that member's), or the refusal."""
    plain = await _outcome(find_member(**identification))
    with_context = await _outcome(
        find_member_with(CONTEXT_COLUMNS, CONTEXT_JOINS, **identification)
    )
    if isinstance(plain, MemberRef):
        assert isinstance(with_context, tuple) and len(with_context) == 2, with_context
        ref, row = with_context
        assert ref == plain
        assert row["context_name"] == plain.name
        return plain
    assert with_context == plain
    return plain


def _refusal(error: type[DomainError], field: str | None, detail: str | None = None) -> tuple:
    return ("refused", error, error.code, field, detail or error.title)


async def _registered(chain: dict[str, Any], phone: str, name: str = "测试会员") -> Any:
    return await register(
        Registration(phone=phone, name=name, home_store_id=chain["stores"]["SH001"]["id"]),
        CASHIER,
    )


def _unissued_number() -> str:
    body = "880000000000000"
    return body + cards.luhn_check_digit(body)


async def test_both_find_the_same_member_by_card_code_or_phone(chain) -> None:
    member = await _registered(chain, "13800001001", name="张伟")
    other = await _registered(chain, "13800001002")
    number = member.card["number"]
    spaced = " ".join(number[i : i + 4] for i in range(0, 16, 4))
    dashed = "-".join(number[i : i + 4] for i in range(0, 16, 4))
    for identification in (
        {"card_number": number},
        {"card_number": spaced},
        {"card_number": dashed},
        {"qr_token": qr_token(number)[0]},
        {"qr_token": f"  {qr_token(number)[0]} "},
        {"phone": "13800001001"},
        {"phone": "+86 138-0000-1001"},
        # The code wins over a typed card number, and a card over a phone.
        {"qr_token": qr_token(number)[0], "card_number": other.card["number"]},
        {"card_number": number, "phone": "13800001002"},
        {"card_number": number, "phone": "not a phone"},
        {"qr_token": "", "card_number": number},
        {"card_number": "", "phone": "13800001001"},
    ):
        found = await _both(**identification)
        assert found == MemberRef(
            member_id=member.member_id,
            card_id=member.card["id"],
            card_number=number,
            masked_phone="138****1001",
            name="张伟",
            tier_id=found.tier_id,
            home_store_id=chain["stores"]["SH001"]["id"],
        ), identification


async def test_both_refuse_bad_input_alike(chain) -> None:
    member = await _registered(chain, "13800002001")
    number = member.card["number"]
    token = qr_token(number)[0]
    typo = number[:5] + str((int(number[5]) + 1) % 10) + number[6:]
    expired = qr_token(number, now=time.time() - 200)[0]
    undated = f"MP1.{number}.soon.{cards._signature(f'{number}.soon')}"
    unissued = _unissued_number()
    expired_message = "This member code has expired; refresh it on the phone"

    cases: list[tuple[dict[str, str], tuple]] = [
        # The member's code: its shape, its signature, its age, the number it carries.
        ({"qr_token": "MP1.x.1"}, _refusal(InvalidQrToken, "qr_token")),
        ({"qr_token": "MP2" + token[3:]}, _refusal(InvalidQrToken, "qr_token")),
        (
            {"qr_token": token[:-1] + ("B" if token.endswith("A") else "A")},
            _refusal(InvalidQrToken, "qr_token"),
        ),
        (
            {"qr_token": token.replace(number, _unissued_number())},
            _refusal(InvalidQrToken, "qr_token"),
        ),
        ({"qr_token": expired}, _refusal(InvalidQrToken, "qr_token", expired_message)),
        ({"qr_token": undated}, _refusal(InvalidQrToken, "qr_token", expired_message)),
        # A bad code is refused even beside a good card number.
        (
            {"qr_token": expired, "card_number": number},
            _refusal(InvalidQrToken, "qr_token", expired_message),
        ),
        (
            {"qr_token": qr_token("8800000000000001")[0]},
            _refusal(
                InvalidCardNumber, "card_number", "'8800000000000001' is not a valid card number"
            ),
        ),
        # A typed card number: its check digit, its prefix, then whether it was issued.
        (
            {"card_number": typo},
            _refusal(InvalidCardNumber, "card_number", f"{typo!r} is not a valid card number"),
        ),
        (
            {"card_number": "1234567812345670"},
            _refusal(
                InvalidCardNumber, "card_number", "'1234567812345670' is not a valid card number"
            ),
        ),
        (
            {"card_number": "88"},
            _refusal(InvalidCardNumber, "card_number", "'88' is not a valid card number"),
        ),
        (
            {"card_number": typo, "phone": "13800002001"},
            _refusal(InvalidCardNumber, "card_number", f"{typo!r} is not a valid card number"),
        ),
        ({"card_number": unissued}, _refusal(UnknownCard, "card_number", f"No card {unissued}")),
        (
            {"card_number": f"{unissued[:8]} {unissued[8:]}"},
            _refusal(UnknownCard, "card_number", f"No card {unissued}"),
        ),
        (
            {"qr_token": qr_token(unissued)[0]},
            _refusal(UnknownCard, "card_number", f"No card {unissued}"),
        ),
        # A phone: its form, then whether a member holds it.
        (
            {"phone": "12812341234"},
            _refusal(InvalidPhone, "phone", "'12812341234' is not a valid mobile number"),
        ),
        ({"phone": "13600000000"}, _refusal(UnknownMember, "phone")),
        # Nothing to look up.
        (
            {},
            _refusal(
                UnknownMember, "card_number", "Give a card number, a member code or a phone number"
            ),
        ),
        (
            {"card_number": "", "qr_token": "", "phone": ""},
            _refusal(
                UnknownMember, "card_number", "Give a card number, a member code or a phone number"
            ),
        ),
    ]
    for identification, expected in cases:
        assert await _both(**identification) == expected, identification


async def test_both_refuse_each_unusable_card_status_alike(chain) -> None:
    member = await _registered(chain, "13800003001")
    number = member.card["number"]

    await change_card(number, "freeze", MANAGER, "suspicious use")
    assert await _both(card_number=number) == _refusal(CardFrozen, "card_number")
    assert await _both(qr_token=qr_token(number)[0]) == _refusal(CardFrozen, "card_number")
    await change_card(number, "unfreeze", MANAGER, "cleared")

    await change_card(number, "report_lost", Operator.member(), "lost")
    assert await _both(card_number=number) == _refusal(CardLost, "card_number")
    assert await _both(qr_token=qr_token(number)[0]) == _refusal(CardLost, "card_number")
    # The phone still finds the member, who holds no usable card now.
    by_phone = await _both(phone="13800003001")
    assert by_phone.member_id == member.member_id
    assert by_phone.card_id is None and by_phone.card_number is None

    replaced = await change_card(number, "replace", CASHIER, "new card")
    new_number = replaced["replaced_by"]["number"]
    assert await _both(card_number=number) == _refusal(CardReplaced, "card_number")
    assert await _both(qr_token=qr_token(number)[0]) == _refusal(CardReplaced, "card_number")
    assert (await _both(card_number=new_number)).card_number == new_number
    assert (await _both(phone="13800003001")).card_number == new_number

    await change_card(new_number, "cancel", MANAGER, "asked to")
    assert await _both(card_number=new_number) == _refusal(CardCancelled, "card_number")
    assert await _both(qr_token=qr_token(new_number)[0]) == _refusal(CardCancelled, "card_number")
    assert (await _both(phone="13800003001")).card_id is None


async def test_both_refuse_a_cancelled_membership_before_the_cards_own_status(chain) -> None:
    member = await _registered(chain, "13800004001")
    number = member.card["number"]
    replaced = await change_card(number, "replace", CASHIER, "new card")
    new_number = replaced["replaced_by"]["number"]
    await cancel_membership(None, member.member_id, "moved away", operator=MANAGER)
    cancelled = _refusal(MembershipCancelled, None)
    # The cards are replaced and cancelled; the membership is what the till is told.
    assert await _both(card_number=number) == cancelled
    assert await _both(card_number=new_number) == cancelled
    assert await _both(qr_token=qr_token(new_number)[0]) == cancelled
    assert await _both(phone="13800004001") == cancelled


async def test_both_follow_a_merged_members_phone_to_the_survivor(chain) -> None:
    first = await _registered(chain, "13800005001")
    second = await _registered(chain, "13800005002")
    third = await _registered(chain, "13800005003")
    admin = chain["admin"]
    await merge.merge_members(admin, second.member_id, first.member_id)
    await merge.merge_members(admin, third.member_id, second.member_id)

    for phone in ("13800005001", "13800005002", "13800005003"):
        found = await _both(phone=phone)
        assert found.member_id == third.member_id
        assert found.card_number == third.card["number"]
        assert found.masked_phone == "138****5003"
    # The merged members' cards moved to the survivor, who held a card: replaced.
    assert await _both(card_number=first.card["number"]) == _refusal(CardReplaced, "card_number")
    assert await _both(qr_token=qr_token(second.card["number"])[0]) == _refusal(
        CardReplaced, "card_number"
    )

    await cancel_membership(None, third.member_id, "moved away", operator=MANAGER)
    for phone in ("13800005001", "13800005002", "13800005003"):
        assert await _both(phone=phone) == _refusal(MembershipCancelled, None)


@pytest.mark.parametrize("refused", ["frozen", "lost"])
async def test_a_refused_card_is_refused_even_when_a_phone_is_given_too(chain, refused) -> None:
    member = await _registered(chain, "13800006001")
    number = member.card["number"]
    action = {"frozen": "freeze", "lost": "report_lost"}[refused]
    await change_card(number, action, MANAGER, "test")
    error = {"frozen": CardFrozen, "lost": CardLost}[refused]
    assert await _both(card_number=number, phone="13800006001") == _refusal(error, "card_number")
