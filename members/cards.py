"""Member cards: numbers with a check digit, the phone's short-lived signed QR code, finding
the member a cashier means, and the card life cycle (report lost, freeze, replace …).

Card numbers are 16 digits, ``88`` + 13 digits + a Luhn check digit, so a mistyped digit or
most swapped pairs are refused before any lookup. The QR code the member's phone shows is
``MP1.<card>.<expiry>.<signature>``, valid for ``QR_TOKEN_SECONDS``: a screenshot of an old
code is refused. Every life-cycle step is a ``CardEvent`` with who did it and why, and takes
effect chain-wide at once because every use reads the card's status from the database.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from memberpos.clock import utc_now
from memberpos.db import fetchrow, transaction
from memberpos.errors import Forbidden
from memberpos.settings import get_settings
from members.errors import (
    CARD_STATUS_ERRORS,
    CardTransitionRefused,
    InvalidCardNumber,
    InvalidQrToken,
    MembershipCancelled,
    UnknownCard,
    UnknownMember,
)
from members.phones import mask, normalise_phone
from members.tables import Card, CardEvent, Member
from stores.access import Actor, Role

CARD_PREFIX = "88"
QR_TOKEN_SECONDS = 90
MANAGER_ROLES = frozenset({Role.store_manager, Role.hq_admin})


# ------------------------------------------------------------------------ numbers and codes


def luhn_check_digit(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def is_valid_card_number(number: str) -> bool:
    return (
        len(number) == 16
        and number.isdigit()
        and number.startswith(CARD_PREFIX)
        and luhn_check_digit(number[:-1]) == number[-1]
    )


def check_card_number(number: str, *, field: str = "card_number") -> str:
    cleaned = number.replace(" ", "").replace("-", "")
    if not is_valid_card_number(cleaned):
        raise InvalidCardNumber(f"{number!r} is not a valid card number", field=field)
    return cleaned


def new_card_number() -> str:
    body = CARD_PREFIX + "".join(secrets.choice("0123456789") for _ in range(13))
    return body + luhn_check_digit(body)


def _signature(payload: str) -> str:
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, f"member-qr:{payload}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode().rstrip("=")


def qr_token(card_number: str, *, now: float | None = None) -> tuple[str, int]:
    """A code for the member's phone and when it expires (Unix seconds)."""
    expires = int((now or time.time()) + QR_TOKEN_SECONDS)
    payload = f"{card_number}.{expires}"
    return f"MP1.{payload}.{_signature(payload)}", expires


def card_number_from_qr(token: str, *, now: float | None = None) -> str:
    parts = token.strip().split(".")
    if len(parts) != 4 or parts[0] != "MP1":
        raise InvalidQrToken(field="qr_token")
    _, card_number, expires, signature = parts
    if not hmac.compare_digest(_signature(f"{card_number}.{expires}"), signature):
        raise InvalidQrToken(field="qr_token")
    if not expires.isdigit() or int(expires) < (now or time.time()):
        raise InvalidQrToken(
            "This member code has expired; refresh it on the phone", field="qr_token"
        )
    return card_number


# --------------------------------------------------------------------------------- finding


@dataclass(frozen=True)
class MemberRef:
    """Who the cashier means: the member and the card presented (None when found by phone
    and the member holds no usable card)."""

    member_id: int
    card_id: int | None
    card_number: str | None
    masked_phone: str
    name: str
    tier_id: int | None
    home_store_id: int


# A card (c) and its member (m) as a till's lookup reads them: what the refusals and a
# MemberRef need.
_CARD_MEMBER_COLUMNS = (
    "c.id, c.number, c.status, m.id AS member_id, m.status AS member_status,"
    " m.phone AS member_phone, m.name AS member_name, m.tier AS member_tier,"
    " m.home_store AS member_home_store"
)


@functools.lru_cache(maxsize=32)
def _by_card_statement(columns: str = "", joins: str = "") -> str:
    """The card with a number and its member (``_CARD_MEMBER_COLUMNS``), and a caller's
    ``columns`` of the member ``m`` and of the tables ``joins`` joins to it."""
    select = f"{_CARD_MEMBER_COLUMNS}, {columns}" if columns else _CARD_MEMBER_COLUMNS
    tables = "card c JOIN member m ON m.id = c.member" + (f" {joins}" if joins else "")
    return f"SELECT {select} FROM {tables} WHERE c.number = {{}}"


async def _card_row(number: str, statement: str | None = None) -> Mapping[str, Any]:
    # On every swipe at a till: one hand-written statement (memberpos.db.fetchrow).
    row = await fetchrow(statement or _by_card_statement(), number)
    if row is None:
        raise UnknownCard(f"No card {number}", field="card_number")
    return row


def _refuse_unusable(card: Mapping[str, Any]) -> None:
    if card["member_status"] != "active":
        raise MembershipCancelled()
    error = CARD_STATUS_ERRORS.get(card["status"])
    if error is not None:
        raise error(field="card_number")


def _ref_of(row: Mapping[str, Any], number: str | None) -> MemberRef:
    """The MemberRef of a row of ``_CARD_MEMBER_COLUMNS`` (an active member)."""
    return MemberRef(
        member_id=row["member_id"],
        card_id=row["id"],
        card_number=number,
        masked_phone=mask(row["member_phone"]),
        name=row["member_name"],
        tier_id=row["member_tier"],
        home_store_id=row["member_home_store"],
    )


async def _by_card(
    card_number: str | None, qr_token: str | None, statement: str
) -> tuple[MemberRef, Mapping[str, Any]] | None:
    """The card branch of :func:`find_member` and :func:`find_member_with`: the member's code
    wins over a typed number; the number is normalised and checked, read with ``statement``
    (a ``_by_card_statement``), and refused when unknown, then when the membership is not
    active, then by the card's own status. None when neither a code nor a number was given."""
    if qr_token:
        card_number = card_number_from_qr(qr_token)
    if not card_number:
        return None
    number = check_card_number(card_number)
    card = await _card_row(number, statement)
    _refuse_unusable(card)  # the member is active: the card row carries the rest
    return _ref_of(card, number), card


def _nothing_to_find() -> UnknownMember:
    return UnknownMember("Give a card number, a member code or a phone number", field="card_number")


async def _member_ref(member_id: int, card_id: int | None, number: str | None) -> MemberRef:
    row = (
        await Member.select(
            Member.id, Member.phone, Member.name, Member.tier, Member.home_store, Member.status
        )
        .where(Member.id == member_id)
        .first()
    )
    if row is None:
        raise UnknownMember()
    if row["status"] != "active":
        raise MembershipCancelled()
    return MemberRef(
        member_id=row["id"],
        card_id=card_id,
        card_number=number,
        masked_phone=mask(row["phone"]),
        name=row["name"],
        tier_id=row["tier"],
        home_store_id=row["home_store"],
    )


async def active_card(member_id: int) -> dict[str, Any] | None:
    """The member's usable card (id, number, kind, status): the newest active one."""
    return await (
        Card.select(Card.id, Card.number, Card.kind, Card.status)
        .where((Card.member == member_id) & (Card.status == "active"))
        .order_by(Card.id, ascending=False)
        .first()
    )


async def member_by_phone(phone: str) -> dict[str, Any] | None:
    """The member holding a normalised phone number; a merged member's phone finds the
    member it was merged into."""
    member = (
        await Member.select(Member.id, Member.status, Member.merged_into)
        .where(Member.phone == phone)
        .first()
    )
    for _ in range(5):  # merged into a member that was merged in turn
        if member is None or member["status"] != "merged" or member["merged_into"] is None:
            break
        member = (
            await Member.select(Member.id, Member.status, Member.merged_into)
            .where(Member.id == member["merged_into"])
            .first()
        )
    return member


async def find_member(
    *, card_number: str | None = None, qr_token: str | None = None, phone: str | None = None
) -> MemberRef:
    """The member a cashier identified by swiping a card, scanning the phone's code or
    typing a phone number. A lost, frozen, replaced or cancelled card is refused with its
    own code; a phone finds the member and their newest usable card."""
    found = await _by_card(card_number, qr_token, _by_card_statement())
    if found is not None:
        return found[0]
    if phone:
        normalised = normalise_phone(phone)
        member = await member_by_phone(normalised)
        if member is None:
            raise UnknownMember(field="phone")
        card = await active_card(member["id"])
        return await _member_ref(
            member["id"], card["id"] if card else None, card["number"] if card else None
        )
    raise _nothing_to_find()


@functools.lru_cache(maxsize=32)
def _with_statements(columns: str, joins: str) -> tuple[str, str, str]:
    """find_member_with's statements (by card number, by phone, by member id) for the
    caller's columns and joins, written once per pair."""
    by_card = _by_card_statement(columns, joins)
    # A phone finds the member and their newest usable card (none: the card columns are NULL).
    by_phone = (
        f"SELECT {_CARD_MEMBER_COLUMNS}, m.merged_into AS member_merged_into, {columns}"
        " FROM member m LEFT JOIN card c ON c.id = (SELECT x.id FROM card x"
        "  WHERE x.member = m.id AND x.status = 'active' ORDER BY x.id DESC LIMIT 1)"
        f" {joins} WHERE m.phone = {{}}"
    )
    by_member = f"SELECT {columns} FROM member m {joins} WHERE m.id = {{}}"
    return by_card, by_phone, by_member


async def find_member_with(
    columns: str,
    joins: str = "",
    *,
    card_number: str | None = None,
    qr_token: str | None = None,
    phone: str | None = None,
) -> tuple[MemberRef, Mapping[str, Any]]:
    """:func:`find_member`, and in the same statement the caller's ``columns`` of the member
    ``m`` (and of the tables ``joins`` joins to it): a sale at the till reads the member's
    context with the card swiped, in one round trip. Same refusals, in the same order, as
    :func:`find_member` (a card or code takes their one card branch, ``_by_card``).
    ``columns`` must not reuse the names of ``_CARD_MEMBER_COLUMNS``."""
    by_card, by_phone, by_member = _with_statements(columns, joins)
    found = await _by_card(card_number, qr_token, by_card)
    if found is not None:
        return found
    if phone:
        row = await fetchrow(by_phone, normalise_phone(phone))
        if row is None:
            raise UnknownMember(field="phone")
        if row["member_status"] == "merged" and row["member_merged_into"] is not None:
            # Rare: the phone of a member merged into another; find_member follows the chain.
            ref = await find_member(phone=phone)
            merged = await fetchrow(by_member, ref.member_id)
            if merged is None:
                raise UnknownMember()
            return ref, merged
        if row["member_status"] != "active":
            raise MembershipCancelled()
        return _ref_of(row, row["number"]), row
    raise _nothing_to_find()


# ------------------------------------------------------------------------------ life cycle


@dataclass(frozen=True)
class Operator:
    """Who performs a card step: a staff member (at HQ or at a till) or the member."""

    staff_id: int | None = None
    terminal_id: int | None = None
    by_member: bool = False
    roles: frozenset[Role] = frozenset()

    @classmethod
    def staff(cls, actor: Actor, terminal_id: int | None = None) -> Operator:
        return cls(staff_id=actor.staff_id, terminal_id=terminal_id, roles=actor.roles)

    @classmethod
    def member(cls) -> Operator:
        return cls(by_member=True)

    @property
    def is_manager(self) -> bool:
        return bool(self.roles & MANAGER_ROLES)


# action → (statuses it may start from, status it leads to, needs a manager)
TRANSITIONS: dict[str, tuple[frozenset[str], str, bool]] = {
    "report_lost": (frozenset({"active", "frozen"}), "lost", False),
    "found": (frozenset({"lost"}), "active", True),
    "freeze": (frozenset({"active"}), "frozen", True),
    "unfreeze": (frozenset({"frozen"}), "active", True),
    "replace": (frozenset({"active", "lost", "frozen"}), "replaced", False),
    "cancel": (frozenset({"active", "lost", "frozen"}), "cancelled", True),
}


async def record_event(
    card_id: int,
    action: str,
    from_status: str | None,
    to_status: str,
    operator: Operator,
    reason: str,
) -> None:
    await CardEvent.insert(
        CardEvent(
            card=card_id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            staff=operator.staff_id,
            terminal=operator.terminal_id,
            by_member=operator.by_member,
            reason=reason,
            at=utc_now(),
        )
    ).run()


async def issue_card(
    member_id: int,
    operator: Operator,
    *,
    number: str | None = None,
    kind: str = "physical",
    reason: str = "",
) -> dict[str, Any]:
    """A new active card for the member: a pre-printed card's number (checked), or a new
    number for a virtual card."""
    number = check_card_number(number) if number else new_card_number()
    async with transaction():
        if await Card.exists().where(Card.number == number):
            raise CardTransitionRefused(f"Card {number} is already issued", field="card_number")
        # One active card per member: a new number comes by replacing the current card.
        if await Card.exists().where((Card.member == member_id) & (Card.status == "active")):
            raise CardTransitionRefused(
                "The member already holds an active card; replace it instead", field="member_id"
            )
        now = utc_now()
        inserted = (
            await Card.insert(
                Card(
                    number=number,
                    member=member_id,
                    kind=kind,
                    status="active",
                    issued_at=now,
                    status_changed_at=now,
                )
            )
            .returning(Card.id)
            .run()
        )
        card_id = inserted[0]["id"]
        await record_event(card_id, "issue", None, "active", operator, reason)
    return {"id": card_id, "number": number, "kind": kind, "status": "active"}


async def change_card(
    number: str, action: str, operator: Operator, reason: str = "", *, new_number: str | None = None
) -> dict[str, Any]:
    """One life-cycle step. ``replace`` issues a new card for the same member (balances live
    on the member, so they carry over exactly) and kills the old number for good."""
    if action not in TRANSITIONS:
        raise CardTransitionRefused(f"Unknown card action {action!r}", field="action")
    allowed_from, to_status, needs_manager = TRANSITIONS[action]
    if needs_manager and not operator.is_manager:
        raise Forbidden(f"Only a store manager may {action.replace('_', ' ')} a card")
    number = check_card_number(number)
    async with transaction():
        card = await _card_row(number)
        if card["status"] not in allowed_from:
            error = CARD_STATUS_ERRORS.get(card["status"], CardTransitionRefused)
            raise error(
                f"Cannot {action.replace('_', ' ')} a card that is {card['status']}",
                field="card_number",
            )
        # Conditional on the status read above, so two tills racing apply one step.
        updated = (
            await Card.update({Card.status: to_status, Card.status_changed_at: utc_now()})
            .where((Card.id == card["id"]) & (Card.status == card["status"]))
            .returning(Card.id)
        )
        if not updated:
            raise CardTransitionRefused(
                "The card changed meanwhile; try again", field="card_number"
            )
        await record_event(card["id"], action, card["status"], to_status, operator, reason)
        result: dict[str, Any] = {"number": number, "status": to_status}
        if action == "replace":
            new_card = await issue_card(
                card["member_id"], operator, number=new_number, reason=f"replaces {number}"
            )
            await Card.update({Card.replaced_by: new_card["id"]}).where(Card.id == card["id"])
            result["replaced_by"] = new_card
            result["new_card"] = new_card  # the name the POS gateway reads
    return result


async def card_history(number: str) -> list[dict[str, Any]]:
    card = await _card_row(check_card_number(number))
    return (
        await CardEvent.select(
            CardEvent.action,
            CardEvent.from_status,
            CardEvent.to_status,
            CardEvent.staff.employee_no.as_alias("staff_employee_no"),
            CardEvent.by_member,
            CardEvent.reason,
            CardEvent.at,
        )
        .where(CardEvent.card == card["id"])
        .order_by(CardEvent.id)
    )
