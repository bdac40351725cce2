"""Merging a duplicate member into a survivor (HQ only), in one transaction.

What moves, and the rule for each (documented here, tested in tests/members/test_merge.py):
- **Cards** move to the survivor. A member holds at most one active card, so the merged
  member's active card stays active only when the survivor has none; otherwise it becomes
  ``replaced`` with ``replaced_by`` the survivor's card (a till swiping it is told so). Lost,
  frozen, replaced and cancelled cards keep their status. Each move is a card event.
- **Qualifying spend** moves by compensating rows (the table is append-only): a
  ``merge_out`` row cancels each of the merged member's rows and a ``merge_in`` row adds the
  same amount, date and store to the survivor. Then the survivor keeps the higher of the
  two tiers (with its hold) and is upgraded if the combined spend reaches a higher one.
- **Family links**: the merged member's children move to the survivor, and so does a link in
  which the merged member is a child (in place, so limits keep counting what was spent),
  unless that would link the survivor to itself or make it both parent and child; such
  links are detached.
- **Balances, coupons …**: every domain's merge hook (``memberpos.domains.merge_hooks()``)
  is called with ``(survivor_id, merged_id, merge_ref, at)`` in the same transaction; each
  writes ledger entries that say so.
- The merged member becomes ``merged`` with ``merged_into``, their sessions end, and a lookup
  of their phone finds the survivor. A ``MemberMerge`` row and an audit entry record it.
Idempotent by ``merge_ref``: a repeat returns the first merge.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Any

from memberpos.clock import utc_now
from memberpos.db import transaction
from memberpos.domains import merge_hooks
from members.cards import active_card
from members.errors import MergeNotAllowed, MergeRefused, UnknownMember
from members.locks import for_update
from members.tables import (
    Card,
    CardEvent,
    FamilyLink,
    Member,
    MemberMerge,
    MemberSession,
    QualifyingSpend,
)
from stores import audit
from stores.access import Actor, Role


@dataclass(frozen=True)
class MergeResult:
    merge_ref: str
    survivor_id: int
    merged_id: int
    moved: dict[str, Any]
    at: dt.datetime
    replay: bool = False


def _json(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value or {})


def new_merge_ref() -> str:
    return f"MRG-{secrets.token_hex(8)}"


async def merge_members(
    actor: Actor,
    survivor_id: int,
    merged_id: int,
    *,
    reason: str = "",
    merge_ref: str | None = None,
) -> MergeResult:
    """Merge ``merged_id`` into ``survivor_id``; see the module's rules."""
    if Role.hq_admin not in actor.roles:
        raise MergeNotAllowed()
    merge_ref = merge_ref or new_merge_ref()
    if len(merge_ref) > 40:
        raise MergeRefused("merge_ref is at most 40 characters", field="merge_ref")
    if survivor_id == merged_id:
        raise MergeRefused("A member cannot be merged into itself", field="merged_id")
    at = utc_now()
    async with transaction():
        earlier = await MemberMerge.select().where(MemberMerge.merge_ref == merge_ref).first()
        if earlier is not None:
            if (earlier["survivor"], earlier["merged"]) != (survivor_id, merged_id):
                raise MergeRefused("That merge_ref names another merge", field="merge_ref")
            return MergeResult(
                merge_ref=merge_ref,
                survivor_id=survivor_id,
                merged_id=merged_id,
                moved=_json(earlier["moved"]),
                at=earlier["at"],
                replay=True,
            )
        rows = await for_update(
            Member.select(
                Member.id, Member.status, Member.tier, Member.tier_held_until, Member.phone
            )
            .where(Member.id.is_in([survivor_id, merged_id]))
            .order_by(Member.id)
        )
        members = {row["id"]: row for row in rows}
        for field, member_id in (("survivor_id", survivor_id), ("merged_id", merged_id)):
            if member_id not in members:
                raise UnknownMember(f"No member {member_id}", field=field)
            if members[member_id]["status"] != "active":
                raise MergeRefused(
                    f"Member {member_id} is {members[member_id]['status']}", field=field
                )
        survivor, merged = members[survivor_id], members[merged_id]
        moved: dict[str, Any] = {}
        moved["cards"] = await _move_cards(actor, survivor_id, merged_id, merge_ref, at)
        moved["qualifying_spend_minor"] = await _move_spend(survivor_id, merged_id, merge_ref, at)
        moved["tier"] = await _merge_tier(actor, survivor, merged, merge_ref, at)
        moved["family_links"] = await _move_family(survivor_id, merged_id, at)
        await MemberSession.update({MemberSession.revoked_at: at}).where(
            (MemberSession.member == merged_id) & MemberSession.revoked_at.is_null()
        )
        await Member.update(
            {Member.status: "merged", Member.merged_into: survivor_id, Member.updated_at: at}
        ).where(Member.id == merged_id)
        for hook in merge_hooks():
            await hook(survivor_id, merged_id, merge_ref, at)
        await MemberMerge.insert(
            MemberMerge(
                merge_ref=merge_ref,
                survivor=survivor_id,
                merged=merged_id,
                staff=actor.staff_id,
                reason=reason,
                moved=moved,
                at=at,
            )
        ).run()
        await audit.record(
            actor,
            "member.merge",
            "member",
            str(survivor_id),
            before={"merged_id": merged_id},
            after={"merge_ref": merge_ref, **moved},
            reason=reason,
        )
    return MergeResult(merge_ref, survivor_id, merged_id, moved, at)


async def _move_cards(
    actor: Actor, survivor_id: int, merged_id: int, merge_ref: str, at: dt.datetime
) -> list[dict[str, Any]]:
    survivor_active = await active_card(survivor_id)
    moved = []
    for card in await Card.select(Card.id, Card.number, Card.status).where(
        Card.member == merged_id
    ):
        to_status = card["status"]
        values: dict[Any, Any] = {Card.member: survivor_id}
        if card["status"] == "active":
            if survivor_active is not None:
                to_status = "replaced"
                values.update(
                    {
                        Card.status: "replaced",
                        Card.replaced_by: survivor_active["id"],
                        Card.status_changed_at: at,
                    }
                )
            else:
                survivor_active = card  # the survivor's one active card from now on
        await Card.update(values).where(Card.id == card["id"])
        await CardEvent.insert(
            CardEvent(
                card=card["id"],
                action="merge",
                from_status=card["status"],
                to_status=to_status,
                staff=actor.staff_id,
                reason=f"{merge_ref}: member {merged_id} merged into {survivor_id}",
                at=at,
            )
        ).run()
        moved.append({"number": card["number"], "status": to_status})
    return moved


async def _move_spend(survivor_id: int, merged_id: int, merge_ref: str, at: dt.datetime) -> int:
    rows = await QualifyingSpend.select().where(QualifyingSpend.member == merged_id)
    total = 0
    entries = []
    for row in rows:
        if row["amount_minor"] == 0:
            continue
        total += row["amount_minor"]
        common = {
            "store": row["store"],
            "business_date": row["business_date"],
            "occurred_at": row["occurred_at"],
            "recorded_at": at,
        }
        entries.append(
            QualifyingSpend(
                member=merged_id,
                amount_minor=-row["amount_minor"],
                source_kind="merge_out",
                source_id=f"{merge_ref}:{row['id']}",
                **common,
            )
        )
        entries.append(
            QualifyingSpend(
                member=survivor_id,
                amount_minor=row["amount_minor"],
                source_kind="merge_in",
                source_id=f"{merge_ref}:{row['id']}",
                **common,
            )
        )
    for start in range(0, len(entries), 500):
        await QualifyingSpend.insert(*entries[start : start + 500]).run()
    return total


async def _merge_tier(
    actor: Actor,
    survivor: dict[str, Any],
    merged: dict[str, Any],
    merge_ref: str,
    at: dt.datetime,
) -> str | None:
    """The survivor keeps the higher of the two tiers (and that tier's hold), then any
    upgrade the combined spend reaches."""
    from members.tiers import (
        _all_tiers,
        _change_tier,
        _qualified,
        _rank,
        _spend_tiers,
        chain_today,
        rolling_spend,
    )

    tiers = await _all_tiers()
    target, held = survivor["tier"], survivor["tier_held_until"]
    if _rank(tiers, merged["tier"]) > _rank(tiers, target):
        target, held = merged["tier"], merged["tier_held_until"]
    spend = await rolling_spend(survivor["id"], chain_today())
    qualified = _qualified(_spend_tiers(tiers), spend)
    if qualified is not None and qualified["rank"] > _rank(tiers, target):
        if not (target is None and qualified["threshold_minor"] == 0):
            target, held = qualified["id"], None
    if (target, held) != (survivor["tier"], survivor["tier_held_until"]):
        await _change_tier(  # the survivor's row is locked: the change applies
            survivor["id"],
            survivor["tier"],
            target,
            reason="merge",
            held_until=held,
            rolling_spend_minor=spend,
            staff_id=actor.staff_id,
            source_kind="merge",
            source_id=merge_ref,
            at=at,
        )
    return tiers[target]["code"] if target in tiers else None


async def _move_family(survivor_id: int, merged_id: int, at: dt.datetime) -> dict[str, int]:
    detached = moved = 0
    links = await FamilyLink.select().where(
        ((FamilyLink.parent == merged_id) | (FamilyLink.child == merged_id))
        & FamilyLink.detached_at.is_null()
    )
    survivor_is_child = await FamilyLink.exists().where(
        (FamilyLink.child == survivor_id) & FamilyLink.detached_at.is_null()
    )
    survivor_has_children = await FamilyLink.exists().where(
        (FamilyLink.parent == survivor_id) & FamilyLink.detached_at.is_null()
    )
    for link in links:
        parent = survivor_id if link["parent"] == merged_id else link["parent"]
        child = survivor_id if link["child"] == merged_id else link["child"]
        conflict = parent == child or (
            (parent == survivor_id and survivor_is_child)
            or (child == survivor_id and (survivor_is_child or survivor_has_children))
        )
        if conflict:
            await FamilyLink.update({FamilyLink.detached_at: at}).where(FamilyLink.id == link["id"])
            detached += 1
            continue
        # Moved in place, so the day's and month's spending still counts against the limits;
        # the FamilySpend rows keep who spent and whose money it was at the time.
        await FamilyLink.update({FamilyLink.parent: parent, FamilyLink.child: child}).where(
            FamilyLink.id == link["id"]
        )
        moved += 1
        if parent == survivor_id:
            survivor_has_children = True
        if child == survivor_id:
            survivor_is_child = True
    return {"moved": moved, "detached": detached}
