"""Pricing's reads before a sale: the member's context read with the card (or phone) in one
statement finds whom the till's lookup finds and refuses what it refuses; the staff lookup
lists active staff only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from memberpos.clock import utc_now
from memberpos.errors import DomainError
from members import merge
from members.cards import Operator, change_card, luhn_check_digit, qr_token
from members.directory import cancel_membership
from members.registration import Registration, register
from pos_gateway.pricing import identify, member_context, staff_ids
from pos_gateway.schemas import MemberIn
from stores.access import Role
from stores.staff import update_staff
from tests import factories
from tests.pos_gateway.conftest import Shop

MANAGER = Operator(roles=frozenset({Role.store_manager}))


async def _outcome(call: Any) -> Any:
    try:
        return await call
    except DomainError as error:
        return (type(error), error.code, error.field)


async def _same_as_lookup(identification: MemberIn) -> Any:
    """member_context's member, or its refusal, is the till lookup's (identify)."""
    found = await _outcome(identify(identification))
    context = await _outcome(member_context(identification, utc_now()))
    assert (context.ref if hasattr(context, "ref") else context) == found
    return context


async def test_member_context_by_card_code_or_phone_is_the_lookups_member(shop: Shop) -> None:
    for identification in (
        MemberIn(card_number=shop.card_number),
        MemberIn(qr_token=qr_token(shop.card_number)[0]),
        MemberIn(phone=shop.phone),
    ):
        context = await _same_as_lookup(identification)
        assert context.ref.member_id == shop.member_id
        assert context.ref.card_number == shop.card_number
        assert context.account_member_id == shop.member_id
        assert context.birthday == dt.date(1990, 3, 14)
        assert context.consents == frozenset({"sms"})
        assert context.phone.endswith("13812340000")
        assert context.is_first_purchase


async def test_member_context_refuses_what_the_lookup_refuses(shop: Shop) -> None:
    with pytest.raises(DomainError) as required:
        await member_context(MemberIn(), utc_now())
    assert required.value.code == "member_required"
    unknown_card = "880000000000000" + luhn_check_digit("880000000000000")
    assert (await _same_as_lookup(MemberIn(card_number=unknown_card)))[1] == "unknown_card"
    assert (await _same_as_lookup(MemberIn(card_number="8800000000000001")))[1] == (
        "invalid_card_number"
    )
    assert (await _same_as_lookup(MemberIn(phone="13900000000")))[1] == "unknown_member"
    assert (await _same_as_lookup(MemberIn(qr_token="MP1.x.1.y")))[1] == "invalid_qr_token"

    await change_card(shop.card_number, "freeze", MANAGER)
    assert (await _same_as_lookup(shop_member(shop)))[1] == "card_frozen"
    await change_card(shop.card_number, "unfreeze", MANAGER)
    await change_card(shop.card_number, "report_lost", MANAGER)
    assert (await _same_as_lookup(shop_member(shop)))[1] == "card_lost"
    code = MemberIn(qr_token=qr_token(shop.card_number)[0])
    assert (await _same_as_lookup(code))[1] == "card_lost"
    # A phone still finds the member; no usable card.
    by_phone = await _same_as_lookup(MemberIn(phone=shop.phone))
    assert by_phone.ref.member_id == shop.member_id and by_phone.ref.card_id is None

    await cancel_membership(None, shop.member_id, "moved away", operator=MANAGER)
    assert (await _same_as_lookup(shop_member(shop)))[1] == "membership_cancelled"
    assert (await _same_as_lookup(MemberIn(phone=shop.phone)))[1] == "membership_cancelled"


async def test_a_merged_members_phone_prices_for_the_survivor(shop: Shop) -> None:
    duplicate = await register(
        Registration(phone="13812349999", name="王芳", home_store_id=shop.stores["SH001"]["id"]),
        Operator(roles=frozenset({Role.cashier})),
    )
    admin = await factories.hq_admin("H0002")
    await merge.merge_members(admin, shop.member_id, duplicate.member_id)
    context = await _same_as_lookup(MemberIn(phone="13812349999"))
    assert context.ref.member_id == shop.member_id
    assert context.birthday == dt.date(1990, 3, 14)


async def test_staff_ids_lists_active_staff_only(shop: Shop) -> None:
    staff = await staff_ids({"C001", "S001", "NOBODY"})
    assert set(staff) == {"C001", "S001"}
    assert staff["C001"]["roles"] == ["cashier"]
    assert staff["C001"]["status"] == "active"
    assert staff["C001"]["home_store"] == shop.stores["SH001"]["id"]
    assert staff["C001"]["manual_discount_limit_bp"] == 0
    assert set(staff["C001"]) == {
        "id",
        "employee_no",
        "home_store",
        "roles",
        "status",
        "manual_discount_limit_bp",
    }
    admin = await factories.hq_admin("H0002")
    await update_staff(admin, "S001", {"status": "inactive"})
    assert set(await staff_ids({"C001", "S001"})) == {"C001"}
    assert await staff_ids(set()) == {}


def shop_member(shop: Shop) -> MemberIn:
    return MemberIn(card_number=shop.card_number)
