"""Members as HQ and store staff see them: search, the member's page, cancelling a
membership, and what changes to a card HQ may make (by store scope).

Phones are shown in full only to a manager whose scope reaches the member's home store
(a store manager of that store, or HQ); everyone else sees 138****1234.

Cancelling a membership (the documented rule):
- every card that still works (active, lost, frozen) becomes ``cancelled``, each with its
  card event; the member becomes ``cancelled``; family links in either direction are
  detached; member sessions end. A cancelled membership is not reopened: the person may
  register again later with a new card only after HQ erases the old record.
- The ledgers are not touched here (the members domain never reads or writes balances):
  points lapse with the membership (they can no longer be used, since every use finds the
  member through an active card); **stored value remains owed to the person** and is paid
  out by HQ through the loyalty domain's refund of stored value, which a cancelled
  membership does not block. The cashier is told so by the ``stored_value_note`` field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from memberpos.clock import utc_now
from memberpos.db import transaction
from memberpos.errors import InvalidInput
from members.access import is_member_manager, require_member_manager, require_member_reader
from members.cards import Operator, check_card_number, record_event
from members.errors import MembershipCancelled, UnknownMember
from members.locks import for_update
from members.phones import mask, normalise_phone
from members.tables import Card, FamilyLink, Member, MemberSession
from stores import audit
from stores.access import Actor, Permission
from stores.tables import Store

STORED_VALUE_NOTE = (
    "Stored value is not forfeited: HQ refunds any remaining balance through loyalty; "
    "points lapse with the membership."
)


def _sees_in_full(actor: Actor, home_store_id: int) -> bool:
    """A manager whose scope reaches the member's home store sees phone, birthday, email."""
    return is_member_manager(actor) and actor.can(Permission.edit_store, home_store_id)


def phone_for(actor: Actor, phone: str, home_store_id: int) -> str:
    """The phone as ``actor`` may see it."""
    return phone if _sees_in_full(actor, home_store_id) else mask(phone)


@dataclass(frozen=True)
class MemberSummary:
    id: int
    phone: str
    name: str
    status: str
    tier_code: str | None
    home_store_code: str
    card_number: str | None
    created_at: dt.datetime


async def home_store_of(member_id: int) -> int:
    """The member's home store (the store whose scope covers the member), or a 400."""
    row = await Member.select(Member.home_store).where(Member.id == member_id).first()
    if row is None:
        raise UnknownMember(f"No member {member_id}", field="member_id")
    return int(row["home_store"])


async def search_members(
    actor: Actor,
    *,
    query: str | None = None,
    store_code: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[MemberSummary]:
    """Members in the actor's scope matching a phone (full or the last 4+ digits), a card
    number or a name fragment, newest first."""
    select = Member.select(
        Member.id,
        Member.phone,
        Member.name,
        Member.status,
        Member.home_store,
        Member.home_store.code.as_alias("home_store_code"),
        Member.tier.code.as_alias("tier_code"),
        Member.created_at,
    )
    visible = actor.visible_store_ids()
    if visible is not None:
        select = select.where(Member.home_store.is_in(list(visible) or [-1]))
    if store_code:
        store = await Store.select(Store.id).where(Store.code == store_code).first()
        if store is None:
            raise InvalidInput(f"No store {store_code}", field="store_code")
        require_member_reader(actor, store["id"])
        select = select.where(Member.home_store == store["id"])
    text = (query or "").strip()
    if text:
        digits = text.replace(" ", "").replace("-", "")
        if digits.isdigit() and len(digits) == 16:
            card = await Card.select(Card.member).where(
                Card.number == check_card_number(digits, field="q")
            )
            select = select.where(Member.id.is_in([c["member"] for c in card] or [-1]))
        elif digits.lstrip("+").isdigit() and len(digits) >= 11:
            select = select.where(Member.phone == normalise_phone(digits, field="q"))
        elif digits.isdigit() and len(digits) >= 4:
            select = select.where(Member.phone.like(f"%{digits}"))
        else:
            select = select.where(Member.name.like(f"%{text}%"))
    rows = await select.order_by(Member.id, ascending=False).limit(limit).offset(offset)
    cards = {
        c["member"]: c["number"]
        for c in await Card.select(Card.member, Card.number)
        .where(Card.member.is_in([r["id"] for r in rows] or [-1]) & (Card.status == "active"))
        .order_by(Card.id)
    }
    return [
        MemberSummary(
            id=r["id"],
            phone=phone_for(actor, r["phone"], r["home_store"]),
            name=r["name"],
            status=r["status"],
            tier_code=r["tier_code"],
            home_store_code=r["home_store_code"],
            card_number=cards.get(r["id"]),
            created_at=r["created_at"],
        )
        for r in rows
    ]


async def member_detail(actor: Actor, member_id: int) -> dict[str, Any]:
    """The member's page at HQ: profile, cards, tier and progress, family."""
    from members.family import family_of
    from members.tiers import tier_progress

    row = await (
        Member.select(
            Member.all_columns(exclude=[Member.payment_pin_hash]),
            Member.home_store.code.as_alias("home_store_code"),
            Member.tier.code.as_alias("tier_code"),
        )
        .where(Member.id == member_id)
        .first()
    )
    if row is None:
        raise UnknownMember(f"No member {member_id}", field="member_id")
    require_member_reader(actor, row["home_store"])
    full = _sees_in_full(actor, row["home_store"])
    cards = (
        await Card.select(
            Card.number, Card.kind, Card.status, Card.issued_at, Card.status_changed_at
        )
        .where(Card.member == member_id)
        .order_by(Card.id)
    )
    progress = await tier_progress(member_id)
    fam = await family_of(member_id)
    return {
        "id": row["id"],
        "phone": row["phone"] if full else mask(row["phone"]),
        "name": row["name"],
        "birthday": row["birthday"] if full else None,
        "gender": row["gender"],
        "email": row["email"] if full else None,
        "status": row["status"],
        "home_store_code": row["home_store_code"],
        "tier_code": row["tier_code"],
        "tier_held_until": row["tier_held_until"],
        "merged_into": row["merged_into"],
        "consents": {
            "sms": row["consent_sms_at"],
            "email": row["consent_email_at"],
            "push": row["consent_push_at"],
        },
        "created_at": row["created_at"],
        "cards": cards,
        "progress": progress,
        "family": fam,
    }


async def card_owner_store(number: str) -> int:
    """The home store of the member holding card ``number`` (for store scope)."""
    row = await (
        Card.select(Card.member.home_store.as_alias("home_store"))
        .where(Card.number == check_card_number(number))
        .first()
    )
    if row is None:
        from members.errors import UnknownCard

        raise UnknownCard(f"No card {number}", field="card_number")
    return int(row["home_store"])


@dataclass(frozen=True)
class Cancellation:
    member_id: int
    cancelled_cards: list[str]
    detached_links: int
    stored_value_note: str = STORED_VALUE_NOTE


async def cancel_membership(
    actor: Actor | None, member_id: int, reason: str, *, operator: Operator | None = None
) -> Cancellation:
    """Cancel a membership under the rule in this module's docstring (a manager in scope)."""
    if not reason.strip():
        raise InvalidInput("Say why the membership is cancelled", field="reason")
    home = await home_store_of(member_id)
    if actor is not None:
        require_member_manager(actor, home)
        operator = Operator.staff(actor)
    operator = operator or Operator()
    now = utc_now()
    async with transaction():
        member = await for_update(
            Member.select(Member.status).where(Member.id == member_id)
        ).first()
        if member is None or member["status"] != "active":
            raise MembershipCancelled(f"The membership is {member and member['status']}")
        cancelled = []
        for card in await Card.select(Card.id, Card.number, Card.status).where(
            (Card.member == member_id) & Card.status.is_in(["active", "lost", "frozen"])
        ):
            await Card.update({Card.status: "cancelled", Card.status_changed_at: now}).where(
                Card.id == card["id"]
            )
            await record_event(card["id"], "cancel", card["status"], "cancelled", operator, reason)
            cancelled.append(card["number"])
        detached = (
            await FamilyLink.update({FamilyLink.detached_at: now})
            .where(
                ((FamilyLink.parent == member_id) | (FamilyLink.child == member_id))
                & FamilyLink.detached_at.is_null()
            )
            .returning(FamilyLink.id)
        )
        await MemberSession.update({MemberSession.revoked_at: now}).where(
            (MemberSession.member == member_id) & MemberSession.revoked_at.is_null()
        )
        await Member.update({Member.status: "cancelled", Member.updated_at: now}).where(
            Member.id == member_id
        )
        if actor is not None:
            await audit.record(
                actor,
                "member.cancel",
                "member",
                str(member_id),
                before={"status": "active"},
                after={"status": "cancelled", "cards": cancelled},
                reason=reason,
            )
    return Cancellation(member_id, cancelled, len(detached))
