"""Member self-service: signing in on the phone (card number + payment PIN, or phone + a
one-time code), sessions, the profile, consent, the phone's QR code, data export and erasure.

Security rules:
- A one-time code is 6 digits, valid ``CODE_SECONDS``, used once; only a keyed hash is kept
  in ``SignInCode``. The code travels to the SMS gateway in the ``Outbox`` row (that is its
  job) and appears in no log line and no response. PINs likewise.
- Sign-in attempts are counted per card and per phone in ``memberpos.counters`` (Redis when
  configured, so every app process shares them): ``SIGN_IN_ATTEMPTS`` failures in
  ``SIGN_IN_WINDOW_SECONDS`` refuse further tries with ``too_many_attempts``, and code
  requests are limited per phone too. Unknown cards and phones fail exactly like wrong PINs
  and codes (no telling who is a member).
- A session is a random bearer token; only its SHA-256 is stored. Sessions end at sign-out,
  expiry, cancellation, merge or erasure.
- Erasure anonymises the person (name, phone, birthday, e-mail, gender, PIN, consent, the
  phone in outbox rows and sign-in codes) and cancels the cards; ledgers and history stay
  under the anonymous member id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from memberpos.clock import utc_now
from memberpos.counters import get_counter
from memberpos.db import transaction
from memberpos.errors import InvalidInput
from memberpos.security import new_token, token_digest, verify_secret
from memberpos.settings import get_settings
from members.cards import (
    Operator,
    active_card,
    change_card,
    check_card_number,
    member_by_phone,
    qr_token,
    record_event,
)
from members.errors import (
    CARD_STATUS_ERRORS,
    InvalidMemberToken,
    InvalidSignInCode,
    MembershipCancelled,
    NoActiveCard,
    TooManyAttempts,
    UnknownCard,
    WrongPin,
)
from members.identity import MemberIdentity
from members.phones import mask, normalise_phone
from members.registration import CONSENT_CHANNELS
from members.tables import (
    Card,
    CardEvent,
    FamilyLink,
    FamilySpend,
    Member,
    MemberSession,
    Outbox,
    QualifyingSpend,
    SignInCode,
    TierEvent,
)
from stores import audit
from stores.audit import SystemActor

log = logging.getLogger("memberpos.members.self_service")

SESSION_DAYS = 30
CODE_SECONDS = 5 * 60
CODE_REQUESTS_PER_HOUR = 5
SIGN_IN_ATTEMPTS = 5
SIGN_IN_WINDOW_SECONDS = 15 * 60
CODE_TEMPLATE = "sign_in_code"


# ---------------------------------------------------------------------------- the sender


class CodeSender(Protocol):
    """Delivers a one-time code to a member's phone. Called inside the transaction that
    stores the code, so a row it writes commits (or not) with it."""

    async def send(self, member_id: int, phone: str, code: str) -> None: ...


class OutboxCodeSender:
    """The default: an ``Outbox`` row for the SMS gateway (which holds the code — it must
    reach the phone) and a log line naming the masked phone, never the code."""

    async def send(self, member_id: int, phone: str, code: str) -> None:
        await Outbox.insert(
            Outbox(
                member=member_id,
                channel="sms",
                recipient=phone,
                template=CODE_TEMPLATE,
                payload={"code": code, "minutes": CODE_SECONDS // 60},
                created_at=utc_now(),
            )
        ).run()
        log.info("sign-in code queued for %s (member %s)", mask(phone), member_id)


_sender: CodeSender = OutboxCodeSender()


def get_code_sender() -> CodeSender:
    return _sender


def set_code_sender(sender: CodeSender) -> None:
    global _sender
    _sender = sender


# ------------------------------------------------------------------------------ sessions


@dataclass(frozen=True)
class SignedIn:
    token: str
    expires_at: dt.datetime
    member_id: int


def _code_hash(phone: str, code: str) -> str:
    key = get_settings().secret_key.encode()
    return hmac.new(key, f"sign-in-code:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


async def _limited(key: str) -> None:
    if await get_counter().count(key) >= SIGN_IN_ATTEMPTS:
        raise TooManyAttempts(retry_after_seconds=SIGN_IN_WINDOW_SECONDS)


async def _failed(key: str) -> None:
    await get_counter().hit(key, SIGN_IN_WINDOW_SECONDS)


async def _new_session(member_id: int, method: str) -> SignedIn:
    token = new_token("mpm")
    now = utc_now()
    expires = now + dt.timedelta(days=SESSION_DAYS)
    await MemberSession.insert(
        MemberSession(
            token_hash=token_digest(token),
            member=member_id,
            method=method,
            created_at=now,
            expires_at=expires,
        )
    ).run()
    return SignedIn(token=token, expires_at=expires, member_id=member_id)


async def sign_in_with_pin(card_number: str, pin: str) -> SignedIn:
    """Card number + payment PIN. A mistyped number is a 400 before any lookup."""
    number = check_card_number(card_number)
    key = f"me-sign-in:card:{number}"
    await _limited(key)
    card = await (
        Card.select(
            Card.status,
            Card.member.id.as_alias("member_id"),
            Card.member.status.as_alias("member_status"),
            Card.member.payment_pin_hash.as_alias("pin_hash"),
        )
        .where(Card.number == number)
        .first()
    )
    if card is None or not verify_secret(card["pin_hash"], pin or ""):
        await _failed(key)
        raise WrongPin("Wrong card number or PIN", field="pin")
    await get_counter().reset(key)
    if card["member_status"] != "active":
        raise MembershipCancelled()
    error = CARD_STATUS_ERRORS.get(card["status"])
    if error is not None:
        raise error("This card cannot sign in; use your phone number instead", field="card_number")
    return await _new_session(card["member_id"], "pin")


async def request_sign_in_code(phone: str) -> None:
    """Send a code to the phone if it belongs to an active member; the answer is the same
    either way. Limited per phone (``CODE_REQUESTS_PER_HOUR``)."""
    normalised = normalise_phone(phone)
    count = await get_counter().hit(f"me-code-request:{normalised}", 3600)
    if count > CODE_REQUESTS_PER_HOUR:
        raise TooManyAttempts(retry_after_seconds=3600)
    member = await member_by_phone(normalised)
    if member is None or member["status"] != "active":
        log.info("sign-in code requested for unknown phone %s", mask(normalised))
        return
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = utc_now()
    async with transaction():
        # A new code replaces any earlier one still unused.
        await SignInCode.update({SignInCode.used_at: now}).where(
            (SignInCode.phone == normalised) & SignInCode.used_at.is_null()
        )
        await SignInCode.insert(
            SignInCode(
                phone=normalised,
                member=member["id"],
                code_hash=_code_hash(normalised, code),
                created_at=now,
                expires_at=now + dt.timedelta(seconds=CODE_SECONDS),
            )
        ).run()
        await get_code_sender().send(member["id"], normalised, code)


async def sign_in_with_code(phone: str, code: str) -> SignedIn:
    normalised = normalise_phone(phone)
    key = f"me-sign-in:phone:{normalised}"
    await _limited(key)
    now = utc_now()
    async with transaction():
        row = await (
            SignInCode.select()
            .where(
                (SignInCode.phone == normalised)
                & SignInCode.used_at.is_null()
                & (SignInCode.expires_at > now)
            )
            .order_by(SignInCode.id, ascending=False)
            .first()
        )
        good = row is not None and hmac.compare_digest(
            row["code_hash"], _code_hash(normalised, (code or "").strip())
        )
        if row is None or not good:
            if row is not None:
                await SignInCode.update({SignInCode.attempts: SignInCode.attempts + 1}).where(
                    SignInCode.id == row["id"]
                )
            failure: Exception | None = InvalidSignInCode(field="code")
        else:
            # Conditional, so a code raced by two requests signs in once.
            used = (
                await SignInCode.update({SignInCode.used_at: now})
                .where((SignInCode.id == row["id"]) & SignInCode.used_at.is_null())
                .returning(SignInCode.id)
            )
            failure = None if used else InvalidSignInCode(field="code")
    if failure is not None:
        await _failed(key)
        raise failure
    assert row is not None
    await get_counter().reset(key)
    member = await Member.select(Member.status).where(Member.id == row["member"]).first()
    if member is None or member["status"] != "active":
        raise MembershipCancelled()
    return await _new_session(row["member"], "code")


async def authenticate(token: str | None) -> MemberIdentity:
    if not token:
        raise InvalidMemberToken()
    row = await (
        MemberSession.select(
            MemberSession.id,
            MemberSession.member,
            MemberSession.method,
            MemberSession.expires_at,
            MemberSession.revoked_at,
            MemberSession.member.status.as_alias("member_status"),
        )
        .where(MemberSession.token_hash == token_digest(token))
        .first()
    )
    if (
        row is None
        or row["revoked_at"] is not None
        or row["expires_at"] <= utc_now()
        or row["member_status"] != "active"
    ):
        raise InvalidMemberToken()
    return MemberIdentity(member_id=row["member"], session_id=row["id"], method=row["method"])


async def sign_out(identity: MemberIdentity) -> None:
    await MemberSession.update({MemberSession.revoked_at: utc_now()}).where(
        (MemberSession.id == identity.session_id) & MemberSession.revoked_at.is_null()
    )


# -------------------------------------------------------------------------- the member


async def profile(member_id: int) -> dict[str, Any]:
    from members.tiers import tier_benefits

    row = await (
        Member.select(
            Member.id,
            Member.phone,
            Member.name,
            Member.birthday,
            Member.gender,
            Member.email,
            Member.consent_sms_at,
            Member.consent_email_at,
            Member.consent_push_at,
            Member.home_store.code.as_alias("home_store_code"),
            Member.home_store.name.as_alias("home_store_name"),
            Member.created_at,
            Member.payment_pin_hash,
        )
        .where(Member.id == member_id)
        .first()
    )
    if row is None:
        raise InvalidMemberToken()
    cards = (
        await Card.select(Card.number, Card.kind, Card.status, Card.issued_at)
        .where(Card.member == member_id)
        .order_by(Card.id)
    )
    benefits = await tier_benefits(member_id)
    return {
        "member_id": row["id"],
        "phone": row["phone"],
        "name": row["name"],
        "birthday": row["birthday"],
        "gender": row["gender"],
        "email": row["email"],
        "consents": _consents(row),
        "home_store_code": row["home_store_code"],
        "home_store_name": row["home_store_name"],
        "member_since": row["created_at"],
        "has_payment_pin": row["payment_pin_hash"] is not None,
        "tier_code": benefits.tier_code,
        "tier_name": benefits.tier_name,
        "cards": cards,
    }


def _consents(row: dict[str, Any]) -> dict[str, dt.datetime | None]:
    return {channel: row[f"consent_{channel}_at"] for channel in CONSENT_CHANNELS}


async def set_consents(member_id: int, changes: dict[str, bool]) -> dict[str, Any]:
    """Give or withdraw marketing consent per channel; the time of giving is kept."""
    for channel in changes:
        if channel not in CONSENT_CHANNELS:
            raise InvalidInput(f"Unknown channel {channel}", field=channel)
    now = utc_now()
    async with transaction():
        row = (
            await Member.select(
                Member.consent_sms_at, Member.consent_email_at, Member.consent_push_at
            )
            .where(Member.id == member_id)
            .first()
        )
        assert row is not None
        before = _consents(row)
        values: dict[Any, Any] = {}
        after = dict(before)
        for channel, given in changes.items():
            column = Member._meta.get_column_by_name(f"consent_{channel}_at")
            if given and before[channel] is None:
                values[column], after[channel] = now, now
            elif not given and before[channel] is not None:
                values[column], after[channel] = None, None
        if values:
            values[Member.updated_at] = now
            await Member.update(values).where(Member.id == member_id)
            await audit.record(
                SystemActor(f"member {member_id} (self-service)"),
                "member.consent",
                "member",
                str(member_id),
                before={k: v is not None for k, v in before.items()},
                after={k: v is not None for k, v in after.items()},
            )
    return {"consents": after}


async def current_qr(member_id: int) -> dict[str, Any]:
    """A fresh signed code for the member's usable card, to show at the counter."""
    card = await active_card(member_id)
    if card is None:
        raise NoActiveCard()
    token, expires = qr_token(card["number"])
    return {
        "token": token,
        "expires_at": dt.datetime.fromtimestamp(expires, dt.UTC),
        "card_number_masked": f"{card['number'][:4]} **** **** {card['number'][-4:]}",
    }


async def report_own_card_lost(member_id: int, card_number: str) -> dict[str, Any]:
    """The member blocks their own card at once; another member's card is "no such card"."""
    number = check_card_number(card_number)
    owner = await Card.select(Card.member).where(Card.number == number).first()
    if owner is None or owner["member"] != member_id:
        raise UnknownCard(field="card_number")
    return await change_card(number, "report_lost", Operator.member(), "reported by the member")


# --------------------------------------------------------------------- export and erasure


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith("{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


async def export_data(member_id: int) -> dict[str, Any]:
    """Everything the members domain keeps about the person, as JSON-ready data. Secrets
    (PIN and token hashes, one-time codes) are left out."""
    member = await (
        Member.select(Member.all_columns(exclude=[Member.payment_pin_hash]))
        .where(Member.id == member_id)
        .first()
    )
    card_ids = [c["id"] for c in await Card.select(Card.id).where(Card.member == member_id)]
    messages = await Outbox.select(
        Outbox.channel, Outbox.template, Outbox.payload, Outbox.created_at, Outbox.sent_at
    ).where(Outbox.member == member_id)
    for message in messages:
        if message["template"] == CODE_TEMPLATE:
            message["payload"] = {"code": "(withheld)"}
    data = {
        "exported_at": utc_now(),
        "member": member,
        "cards": await Card.select(
            Card.number, Card.kind, Card.status, Card.issued_at, Card.status_changed_at
        ).where(Card.member == member_id),
        "card_events": await CardEvent.select(
            CardEvent.card.number.as_alias("card_number"),
            CardEvent.action,
            CardEvent.from_status,
            CardEvent.to_status,
            CardEvent.by_member,
            CardEvent.reason,
            CardEvent.at,
        ).where(CardEvent.card.is_in(card_ids or [-1])),
        "tier_events": await TierEvent.select(
            TierEvent.from_tier.code.as_alias("from_tier"),
            TierEvent.to_tier.code.as_alias("to_tier"),
            TierEvent.reason,
            TierEvent.held_until,
            TierEvent.at,
        ).where(TierEvent.member == member_id),
        "qualifying_spend": await QualifyingSpend.select(
            QualifyingSpend.business_date,
            QualifyingSpend.amount_minor,
            QualifyingSpend.source_kind,
            QualifyingSpend.source_id,
            QualifyingSpend.store.code.as_alias("store_code"),
        ).where(QualifyingSpend.member == member_id),
        "family_links": await FamilyLink.select(
            FamilyLink.parent,
            FamilyLink.child,
            FamilyLink.daily_limit_minor,
            FamilyLink.monthly_limit_minor,
            FamilyLink.attached_at,
            FamilyLink.detached_at,
        ).where((FamilyLink.parent == member_id) | (FamilyLink.child == member_id)),
        "family_spend": await FamilySpend.select(
            FamilySpend.business_date,
            FamilySpend.amount_minor,
            FamilySpend.source_kind,
            FamilySpend.source_id,
            FamilySpend.parent,
            FamilySpend.child,
        ).where((FamilySpend.parent == member_id) | (FamilySpend.child == member_id)),
        "sessions": await MemberSession.select(
            MemberSession.method,
            MemberSession.created_at,
            MemberSession.expires_at,
            MemberSession.revoked_at,
        ).where(MemberSession.member == member_id),
        "messages": messages,
    }
    return _plain(data)


ERASED_NAME = "已注销会员"


async def erase(member_id: int, *, requested_by: str = "member") -> None:
    """Anonymise the person; keep the ledgers and history under the member id."""
    now = utc_now()
    async with transaction():
        row = await Member.select(Member.status, Member.phone).where(Member.id == member_id).first()
        if row is None:
            raise InvalidMemberToken()
        for card in await Card.select(Card.id, Card.status).where(
            (Card.member == member_id) & Card.status.is_in(["active", "lost", "frozen"])
        ):
            await Card.update({Card.status: "cancelled", Card.status_changed_at: now}).where(
                Card.id == card["id"]
            )
            await record_event(
                card["id"], "erase", card["status"], "cancelled", Operator.member(), "erasure"
            )
        await FamilyLink.update({FamilyLink.detached_at: now}).where(
            ((FamilyLink.parent == member_id) | (FamilyLink.child == member_id))
            & FamilyLink.detached_at.is_null()
        )
        await MemberSession.update({MemberSession.revoked_at: now}).where(
            (MemberSession.member == member_id) & MemberSession.revoked_at.is_null()
        )
        placeholder = f"erased:{member_id}"
        await Outbox.update({Outbox.recipient: placeholder, Outbox.payload: {}}).where(
            Outbox.member == member_id
        )
        await SignInCode.update({SignInCode.phone: placeholder, SignInCode.used_at: now}).where(
            SignInCode.member == member_id
        )
        await Member.update(
            {
                Member.phone: placeholder,
                Member.name: ERASED_NAME,
                Member.birthday: None,
                Member.gender: None,
                Member.email: None,
                Member.payment_pin_hash: None,
                Member.consent_sms_at: None,
                Member.consent_email_at: None,
                Member.consent_push_at: None,
                Member.status: "erased",
                Member.updated_at: now,
            }
        ).where(Member.id == member_id)
        await audit.record(
            SystemActor(f"member {member_id} ({requested_by})"),
            "member.erase",
            "member",
            str(member_id),
            before={"status": row["status"]},
            after={"status": "erased"},
        )
