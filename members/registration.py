"""Registering members at the counter or by HQ. A member is unique by phone in the chain:
registering a phone that exists answers with that member, never a second one, also when two
tills register the same phone at the same instant (the unique index decides)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from memberpos.clock import utc_now
from memberpos.counters import get_counter
from memberpos.db import transaction
from memberpos.security import hash_secret, verify_secret
from members.cards import (
    Operator,
    active_card,
    check_card_number,
    issue_card,
    member_by_phone,
)
from members.errors import PinLocked, UnknownMember, WrongPin
from members.phones import normalise_phone
from members.tables import Member
from stores import audit
from stores.audit import SystemActor

CONSENT_CHANNELS = ("sms", "email", "push")


@dataclass(frozen=True)
class Registration:
    phone: str
    name: str
    home_store_id: int
    birthday: dt.date | None = None
    gender: str | None = None
    email: str | None = None
    consents: tuple[str, ...] = ()
    referrer_phone: str | None = None
    payment_pin: str | None = None
    card_number: str | None = None  # a pre-printed card handed over; else a virtual card
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Registered:
    member_id: int
    card: dict[str, Any] | None
    created: bool


async def register(registration: Registration, operator: Operator) -> Registered:
    phone = normalise_phone(registration.phone)
    if registration.card_number:
        check_card_number(registration.card_number)
    # argon2 takes tens of milliseconds: hashed before the transaction takes the write lock.
    pin_hash = hash_secret(registration.payment_pin) if registration.payment_pin else None
    now = utc_now()
    async with transaction():
        referrer_id = None
        if registration.referrer_phone:
            referrer = (
                await Member.select(Member.id)
                .where(
                    Member.phone
                    == normalise_phone(registration.referrer_phone, field="referrer_phone")
                )
                .first()
            )
            if referrer is None:
                raise UnknownMember("The referring member is not known", field="referrer_phone")
            referrer_id = referrer["id"]
        consent = {
            channel: now if channel in registration.consents else None
            for channel in CONSENT_CHANNELS
        }
        inserted = (
            await Member.insert(
                Member(
                    phone=phone,
                    name=registration.name,
                    birthday=registration.birthday,
                    gender=registration.gender,
                    email=registration.email,
                    home_store=registration.home_store_id,
                    registered_by_staff=operator.staff_id,
                    registered_by_terminal=operator.terminal_id,
                    referrer=referrer_id,
                    payment_pin_hash=pin_hash,
                    consent_sms_at=consent["sms"],
                    consent_email_at=consent["email"],
                    consent_push_at=consent["push"],
                    status="active",
                    created_at=now,
                    updated_at=now,
                )
            )
            .on_conflict(target=(Member.phone,), action="DO NOTHING")
            .returning(Member.id)
            .run()
        )
        if not inserted:
            existing = await member_by_phone(phone)
            assert existing is not None
            card = await active_card(existing["id"])
            return Registered(member_id=existing["id"], card=card, created=False)
        member_id = inserted[0]["id"]
        card = await issue_card(
            member_id,
            operator,
            number=registration.card_number,
            kind="physical" if registration.card_number else "virtual",
            reason="registration",
        )
        await audit.record(
            SystemActor(
                f"registration by staff {operator.staff_id} terminal {operator.terminal_id}"
            ),
            "member.register",
            "member",
            str(member_id),
            after={
                "home_store_id": registration.home_store_id,
                "consents": sorted(registration.consents),
                "referrer_id": referrer_id,
            },
        )
    return Registered(member_id=member_id, card=card, created=True)


# Five wrong payment PINs in 15 minutes lock the member's PIN payments for the window.
PIN_ATTEMPTS = 5
PIN_WINDOW_SECONDS = 15 * 60


async def verify_payment_pin(member_id: int, pin: str | None) -> None:
    """Refuses a missing or wrong PIN; repeated failures lock PIN payments for a while."""
    counter = get_counter()
    key = f"member-pin:{member_id}"
    if await counter.count(key) >= PIN_ATTEMPTS:
        raise PinLocked(field="payment_pin")
    row = await Member.select(Member.payment_pin_hash).where(Member.id == member_id).first()
    if row is None or not pin or not verify_secret(row["payment_pin_hash"], pin):
        await counter.hit(key, PIN_WINDOW_SECONDS)
        raise WrongPin(field="payment_pin")
    await counter.reset(key)
