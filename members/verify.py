"""Invariants of the members domain, checked by ``memberpos verify``:

- a member holds at most one active card (a second card comes by replacement, and a merge
  turns the merged member's active card into a replaced one);
- a card's status agrees with its last life-cycle event, and a replaced card points at its
  replacement; a card of a cancelled, erased or merged member is not active;
- a merged member names the member it was merged into, and that member is not itself merged
  into it; every merge has its ``MemberMerge`` row;
- family links: one level only, at most one active parent per child, both members active,
  nobody their own child, and no day's refunds gave back more than the child spent.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from members.tables import Card, CardEvent, FamilyLink, FamilySpend, Member, MemberMerge


async def check_members() -> list[str]:
    problems: list[str] = []
    members = {
        row["id"]: row for row in await Member.select(Member.id, Member.status, Member.merged_into)
    }
    cards = await Card.select(Card.id, Card.number, Card.member, Card.status, Card.replaced_by)
    problems += _one_active_card(cards)
    problems += await _card_events(cards)
    for card in cards:
        owner = members.get(card["member"])
        if card["status"] == "active" and owner and owner["status"] != "active":
            problems.append(
                f"members: card {card['number']} is active but member {card['member']} is "
                f"{owner['status']}"
            )
        if card["status"] == "replaced" and card["replaced_by"] is None:
            problems.append(f"members: replaced card {card['number']} names no replacement")
    merges = {row["merged"] for row in await MemberMerge.select(MemberMerge.merged)}
    for member in members.values():
        if member["status"] == "merged":
            target = members.get(member["merged_into"])
            if target is None:
                problems.append(f"members: merged member {member['id']} names no survivor")
            elif target["merged_into"] == member["id"]:
                problems.append(
                    f"members: members {member['id']} and {target['id']} merged into each other"
                )
            if member["id"] not in merges:
                problems.append(f"members: merged member {member['id']} has no merge record")
    problems += await _family(members)
    return problems


def _one_active_card(cards: list[dict[str, Any]]) -> list[str]:
    active: dict[int, list[str]] = defaultdict(list)
    for card in cards:
        if card["status"] == "active":
            active[card["member"]].append(card["number"])
    return [
        f"members: member {member} holds {len(numbers)} active cards ({', '.join(numbers)})"
        for member, numbers in active.items()
        if len(numbers) > 1
    ]


async def _card_events(cards: list[dict[str, Any]]) -> list[str]:
    last: dict[int, str] = {}
    for event in await CardEvent.select(CardEvent.card, CardEvent.to_status).order_by(CardEvent.id):
        last[event["card"]] = event["to_status"]
    problems = []
    for card in cards:
        if card["id"] not in last:
            problems.append(f"members: card {card['number']} has no life-cycle events")
        elif last[card["id"]] != card["status"]:
            problems.append(
                f"members: card {card['number']} is {card['status']} but its last event "
                f"says {last[card['id']]}"
            )
    return problems


async def _family(members: dict[int, dict[str, Any]]) -> list[str]:
    problems = []
    links = await FamilyLink.select().where(FamilyLink.detached_at.is_null())
    parents_of: dict[int, list[int]] = defaultdict(list)
    parents = {link["parent"] for link in links}
    for link in links:
        parents_of[link["child"]].append(link["parent"])
        if link["parent"] == link["child"]:
            problems.append(f"members: member {link['child']} is their own child card")
        if link["child"] in parents:
            problems.append(
                f"members: child card {link['child']} has child cards of its own (one level)"
            )
        for role in ("parent", "child"):
            status = members.get(link[role], {}).get("status")
            if status != "active":
                problems.append(
                    f"members: family link {link['id']} has a {status} {role} {link[role]}"
                )
    for child, found in parents_of.items():
        if len(found) > 1:
            problems.append(f"members: child {child} is attached to {len(found)} parents")
    # Limits may be lowered after spending, so past days are not held to today's limit;
    # what must hold at any time is that refunds never give back more than was spent.
    daily: dict[tuple[int, Any], int] = defaultdict(int)
    for spend in await FamilySpend.select(
        FamilySpend.link, FamilySpend.business_date, FamilySpend.amount_minor
    ):
        daily[(spend["link"], spend["business_date"])] += spend["amount_minor"]
    for (link_id, day), total in daily.items():
        if total < 0:
            problems.append(f"members: family link {link_id} gave back more than spent on {day}")
    return problems
