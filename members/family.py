"""Family cards (主附卡): a parent member attaches child members who hold cards of their own.

Rules:
- A child's purchases earn points into the parent's account (``points_owner``), and the child
  may pay with the parent's stored value up to the limits the parent set, per business day
  and per calendar month of the store's business date (``charge_parent``). A limit of 0
  means the child may not spend the parent's stored value at all (points still go to the
  parent).
- One level only: a parent is not a child, a child is not a parent, and a member is the
  child of at most one parent at a time (a partial unique index is the authority).
- The parent attaches and detaches (at a till with their payment PIN, or signed in on their
  phone); HQ and the managers of the parent's home store may do it too. Detaching stops both
  the points going to the parent and the spending, at once; the link row stays for history.
- The limits are checked with the link row locked (``SELECT … FOR UPDATE`` on PostgreSQL; the
  single write lock on SQLite), so parallel charges never exceed them. Every charge and
  refund is a ``FamilySpend`` row, unique by source, so a replayed sale counts once. A refund
  is dated like the charge it gives back, so it frees that day's and month's allowance.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from piccolo.columns.combination import Combinable
from piccolo.query.functions.aggregate import Sum

from memberpos.clock import utc_now
from memberpos.db import fetch, fetchrow, lock_clause, transaction
from memberpos.errors import InvalidInput
from members.access import require_member_manager
from members.errors import (
    ChildAlreadyAttached,
    FamilyLimitExceeded,
    FamilyLinkInactive,
    FamilyLinkNotFound,
    FamilyLinkRefused,
    NotAFamilyChild,
    ParentConsentRequired,
    ReleaseExceedsReservation,
    SpendSourceConflict,
    UnknownMember,
)
from members.locks import for_update
from members.registration import verify_payment_pin
from members.tables import FamilyLink, FamilySpend, Member
from stores import audit
from stores.access import Actor
from stores.audit import SystemActor

MAX_LIMIT_MINOR = 100_000_000  # ¥1,000,000: a typo guard, not a business rule


@dataclass(frozen=True)
class FamilyActor:
    """Who changes a family link: HQ / a manager (``actor``), the parent at a till with their
    payment PIN (``parent_pin``), or the parent signed in on their phone (``by_parent``)."""

    actor: Actor | None = None
    parent_pin: str | None = None
    by_parent: bool = False

    def audit_actor(self, parent_id: int) -> Actor | SystemActor:
        if self.actor is not None:
            return self.actor
        return SystemActor(f"member {parent_id} (parent)")


@dataclass(frozen=True)
class FamilyLinkView:
    link_id: int
    parent_id: int
    child_id: int
    child_name: str
    parent_name: str
    daily_limit_minor: int
    monthly_limit_minor: int
    spent_today_minor: int
    spent_this_month_minor: int
    attached_at: dt.datetime
    detached_at: dt.datetime | None


def _check_limits(daily_limit_minor: int, monthly_limit_minor: int) -> None:
    for field, value in (
        ("daily_limit_minor", daily_limit_minor),
        ("monthly_limit_minor", monthly_limit_minor),
    ):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInput("A limit is a whole number of minor units", field=field)
        if value < 0 or value > MAX_LIMIT_MINOR:
            raise InvalidInput(f"{field} must be between 0 and {MAX_LIMIT_MINOR}", field=field)
    if monthly_limit_minor < daily_limit_minor:
        raise InvalidInput(
            "The monthly limit cannot be below the daily limit", field="monthly_limit_minor"
        )


async def _authorise(who: FamilyActor, parent: dict[str, Any]) -> None:
    if who.actor is not None:
        require_member_manager(who.actor, parent["home_store"])
        return
    if who.by_parent:
        return
    if who.parent_pin is not None:
        await verify_payment_pin(parent["id"], who.parent_pin)
        return
    raise ParentConsentRequired(field="parent_pin")


async def _members(*ids: int, lock: bool = False) -> dict[int, dict[str, Any]]:
    query = Member.select(Member.id, Member.name, Member.status, Member.home_store).where(
        Member.id.is_in(list(ids))
    )
    rows = await (for_update(query.order_by(Member.id)) if lock else query)
    found = {row["id"]: row for row in rows}
    for member_id in ids:
        if member_id not in found:
            raise UnknownMember(f"No member {member_id}", field="member_id")
    return found


async def attach_child(
    parent_id: int,
    child_id: int,
    *,
    daily_limit_minor: int,
    monthly_limit_minor: int,
    who: FamilyActor,
) -> FamilyLinkView:
    """Attach ``child_id``'s card to ``parent_id``: their purchases earn into the parent's
    points and may spend the parent's stored value up to the limits."""
    _check_limits(daily_limit_minor, monthly_limit_minor)
    if parent_id == child_id:
        raise FamilyLinkRefused("A member cannot be their own child card", field="child")
    async with transaction():
        members = await _members(parent_id, child_id, lock=True)
        parent, child = members[parent_id], members[child_id]
        await _authorise(who, parent)
        for role, row in (("parent", parent), ("child", child)):
            if row["status"] != "active":
                raise FamilyLinkRefused(f"The {role} membership is not active", field=role)
        active = await FamilyLink.select(FamilyLink.parent, FamilyLink.child).where(
            FamilyLink.detached_at.is_null()
            & (FamilyLink.child.is_in([parent_id, child_id]) | (FamilyLink.parent == child_id))
        )
        if any(link["child"] == parent_id for link in active):
            raise FamilyLinkRefused("The parent is a child card of someone else", field="parent")
        if any(link["parent"] == child_id for link in active):
            raise FamilyLinkRefused("The child has child cards of their own", field="child")
        if any(link["child"] == child_id for link in active):
            raise ChildAlreadyAttached(field="child")
        now = utc_now()
        inserted = (
            await FamilyLink.insert(
                FamilyLink(
                    parent=parent_id,
                    child=child_id,
                    daily_limit_minor=daily_limit_minor,
                    monthly_limit_minor=monthly_limit_minor,
                    attached_at=now,
                )
            )
            .returning(FamilyLink.id)
            .run()
        )
        link_id = inserted[0]["id"]
        await audit.record(
            who.audit_actor(parent_id),
            "family.attach",
            "member",
            str(parent_id),
            after={
                "child_id": child_id,
                "daily_limit_minor": daily_limit_minor,
                "monthly_limit_minor": monthly_limit_minor,
            },
        )
    return await link_view(link_id)


async def _link_for_parent(parent_id: int, child_id: int, *, lock: bool) -> dict[str, Any]:
    query = FamilyLink.select().where(
        (FamilyLink.parent == parent_id)
        & (FamilyLink.child == child_id)
        & FamilyLink.detached_at.is_null()
    )
    row = await (for_update(query) if lock else query).first()
    if row is None:
        raise FamilyLinkNotFound(field="child")
    return row


async def set_limits(
    parent_id: int,
    child_id: int,
    *,
    daily_limit_minor: int,
    monthly_limit_minor: int,
    who: FamilyActor,
) -> FamilyLinkView:
    """The parent (or HQ) changes a child card's limits; effective for the next charge."""
    _check_limits(daily_limit_minor, monthly_limit_minor)
    async with transaction():
        parent = (await _members(parent_id))[parent_id]
        await _authorise(who, parent)
        link = await _link_for_parent(parent_id, child_id, lock=True)
        await FamilyLink.update(
            {
                FamilyLink.daily_limit_minor: daily_limit_minor,
                FamilyLink.monthly_limit_minor: monthly_limit_minor,
            }
        ).where(FamilyLink.id == link["id"])
        await audit.record(
            who.audit_actor(parent_id),
            "family.limits",
            "member",
            str(parent_id),
            before={
                "child_id": child_id,
                "daily_limit_minor": link["daily_limit_minor"],
                "monthly_limit_minor": link["monthly_limit_minor"],
            },
            after={
                "child_id": child_id,
                "daily_limit_minor": daily_limit_minor,
                "monthly_limit_minor": monthly_limit_minor,
            },
        )
    return await link_view(link["id"])


async def detach_child(
    parent_id: int, child_id: int, *, who: FamilyActor, reason: str = ""
) -> FamilyLinkView:
    """End the link: from now on the child's purchases earn into their own account and
    the child can no longer spend the parent's stored value."""
    async with transaction():
        parent = (await _members(parent_id))[parent_id]
        await _authorise(who, parent)
        link = await _link_for_parent(parent_id, child_id, lock=True)
        await FamilyLink.update({FamilyLink.detached_at: utc_now()}).where(
            FamilyLink.id == link["id"]
        )
        await audit.record(
            who.audit_actor(parent_id),
            "family.detach",
            "member",
            str(parent_id),
            before={"child_id": child_id},
            reason=reason,
        )
    return await link_view(link["id"])


# ------------------------------------------------------------------- at the till (POS)


async def points_owner(member_id: int) -> int:
    """Whose points account a purchase by ``member_id`` earns into: the parent while the
    member holds an attached child card, else the member."""
    row = await fetchrow(
        "SELECT parent FROM family_link WHERE child = {} AND detached_at IS NULL LIMIT 1",
        member_id,
    )
    return row["parent"] if row else member_id


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _as_int(value: Any) -> int:
    return int(value or 0)  # SUM of BIGINT is NUMERIC (Decimal) on PostgreSQL


async def _existing(source_kind: str, source_id: str) -> dict[str, Any] | None:
    return await (
        FamilySpend.select()
        .where((FamilySpend.source_kind == source_kind) & (FamilySpend.source_id == source_id))
        .first()
    )


def _check_source(source_kind: str, source_id: str) -> None:
    if not source_kind or not source_id or len(source_kind) > 24 or len(source_id) > 64:
        raise InvalidInput("A family charge needs its source kind and id", field="source_id")


async def charge_parent(
    child_id: int,
    amount_minor: int,
    *,
    source_kind: str,
    source_id: str,
    business_date: dt.date,
    at: dt.datetime,
) -> int:
    """A child pays ``amount_minor`` with the parent's stored value: checks the parent's
    per-day and per-month limits with the link locked and records the use; returns the
    parent's member id (the caller then debits the parent's stored value itself, in the
    same transaction). Idempotent by source: a replay returns the parent again."""
    _check_source(source_kind, source_id)
    if not isinstance(amount_minor, int) or amount_minor <= 0:
        raise InvalidInput("The amount must be a positive number of minor units", field="amount")
    async with transaction():
        link, found = await _charge_reads(child_id, source_kind, source_id, business_date)
        if found["earlier_child"] is not None:
            if found["earlier_child"] != child_id or found["earlier_amount"] != amount_minor:
                raise SpendSourceConflict(field="source_id")
            return int(found["earlier_parent"])
        if link is None:
            if found["any_link"]:
                raise FamilyLinkInactive(field="member_id")
            raise NotAFamilyChild(field="member_id")
        if found["parent_status"] != "active":
            raise FamilyLinkInactive("The parent membership is not active", field="member_id")
        spent_today = _as_int(found["spent_today"])
        spent_month = _as_int(found["spent_month"])
        if spent_today + amount_minor > link["daily_limit_minor"]:
            raise FamilyLimitExceeded(
                "This child card's daily limit would be exceeded",
                field="amount",
                limit="daily",
                remaining_minor=max(0, link["daily_limit_minor"] - spent_today),
            )
        if spent_month + amount_minor > link["monthly_limit_minor"]:
            raise FamilyLimitExceeded(
                "This child card's monthly limit would be exceeded",
                field="amount",
                limit="monthly",
                remaining_minor=max(0, link["monthly_limit_minor"] - spent_month),
            )
        inserted = await fetch(
            "INSERT INTO family_spend (link, child, parent, business_date, amount_minor,"
            " source_kind, source_id, at) VALUES ({}, {}, {}, {}, {}, {}, {}, {})"
            " ON CONFLICT (source_kind, source_id) DO NOTHING RETURNING id",
            link["id"],
            child_id,
            link["parent"],
            business_date,
            amount_minor,
            source_kind,
            source_id,
            at,
        )
        if not inserted:  # the same source raced in on another link: same rule as above
            raise SpendSourceConflict(field="source_id")
        return int(link["parent"])


_LINK_COLUMNS = "id, parent, daily_limit_minor, monthly_limit_minor"


async def _charge_reads(
    child_id: int, source_kind: str, source_id: str, business_date: dt.date
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """For :func:`charge_parent`: the child's active link, locked, and then,
    read after the lock, an earlier charge of the same source, whether the child ever had a
    link, the parent's status and what the link spent on the business date and in its
    month. Two statements: the reads must see what the lock holder before us committed, so
    they follow the lock in a statement of their own."""
    locked = await fetchrow(
        f"SELECT {_LINK_COLUMNS} FROM family_link WHERE child = {{}} AND detached_at IS NULL"
        " LIMIT 1" + lock_clause(),
        child_id,
    )
    link = dict(locked) if locked is not None else None
    row = await fetchrow(
        "SELECT e.child AS earlier_child, e.amount_minor AS earlier_amount,"
        " e.parent AS earlier_parent,"
        " (SELECT status FROM member WHERE id = f.parent) AS parent_status,"
        " (SELECT SUM(s.amount_minor) FROM family_spend s WHERE s.link = f.id"
        "  AND s.business_date >= {} AND s.business_date < {}) AS spent_today,"
        " (SELECT SUM(s.amount_minor) FROM family_spend s WHERE s.link = f.id"
        "  AND s.business_date >= {} AND s.business_date < {}) AS spent_month,"
        " EXISTS (SELECT 1 FROM family_link x WHERE x.child = {}) AS any_link"
        " FROM (SELECT 1 AS one) AS one"
        " LEFT JOIN family_spend e ON e.source_kind = {} AND e.source_id = {}"
        " LEFT JOIN (SELECT CAST({} AS INTEGER) AS id, CAST({} AS INTEGER) AS parent) AS f"
        " ON 1 = 1",
        business_date,
        business_date + dt.timedelta(days=1),
        _month_start(business_date),
        _next_month(business_date),
        child_id,
        source_kind,
        source_id,
        link["id"] if link else None,
        link["parent"] if link else None,
    )
    assert row is not None
    return link, dict(row)


async def refund_parent_charge(
    child_id: int,
    amount_minor: int,
    *,
    source_kind: str,
    source_id: str,
    original_source_id: str,
    business_date: dt.date,
    at: dt.datetime,
) -> None:
    """A refund of (part of) a sale the child paid with the parent's stored value: records
    the give-back against the original charge, dated like the charge, so that day's and
    month's allowance is freed. The caller credits the parent's stored value back itself.
    Recorded also after a detach (the money was the parent's). Idempotent by source; more
    back than the charge took is refused. ``business_date`` is the refund's own date (kept
    for the caller's records; the allowance freed is the charge's)."""
    _check_source(source_kind, source_id)
    if not isinstance(amount_minor, int) or amount_minor <= 0:
        raise InvalidInput("The amount must be a positive number of minor units", field="amount")
    del business_date  # the row is dated like the charge it gives back
    async with transaction():
        original = await (
            FamilySpend.select()
            .where(
                (FamilySpend.source_id == original_source_id)
                & (FamilySpend.child == child_id)
                & (FamilySpend.amount_minor > 0)
            )
            .first()
        )
        if original is None:
            raise NotAFamilyChild(
                "No charge on a parent card by this child for that sale",
                field="original_source_id",
            )
        await for_update(FamilyLink.select(FamilyLink.id).where(FamilyLink.id == original["link"]))
        earlier = await _existing(source_kind, source_id)
        if earlier is not None:
            if earlier["reverses"] != original["id"] or earlier["amount_minor"] != -amount_minor:
                raise SpendSourceConflict(field="source_id")
            return
        given_back = await FamilySpend.select(
            Sum(FamilySpend.amount_minor).as_alias("total")
        ).where(FamilySpend.reverses == original["id"])
        already = -_as_int(given_back[0]["total"] if given_back else 0)
        if already + amount_minor > original["amount_minor"]:
            raise ReleaseExceedsReservation(
                f"Only {original['amount_minor'] - already} can still be given back",
                field="amount",
            )
        await FamilySpend.insert(
            FamilySpend(
                link=original["link"],
                child=child_id,
                parent=original["parent"],
                business_date=original["business_date"],
                amount_minor=-amount_minor,
                source_kind=source_kind,
                source_id=source_id,
                reverses=original["id"],
                at=at,
            )
        ).run()


# ------------------------------------------------------------------------------ reading


async def _link_views(where: Combinable, today: dt.date | None = None) -> list[FamilyLinkView]:
    """The links ``where`` selects, by id, each with what it spent on ``today`` (the chain's
    business date unless given) and in today's month: two queries however many links."""
    from members.tiers import chain_today

    rows = await (
        FamilyLink.select(
            FamilyLink.all_columns(),
            FamilyLink.child.name.as_alias("child_name"),
            FamilyLink.parent.name.as_alias("parent_name"),
        )
        .where(where)
        .order_by(FamilyLink.id)
    )
    if not rows:
        return []
    today = today or chain_today()
    spent_today: dict[int, int] = {}
    spent_month: dict[int, int] = {}
    # One sum per link and day of today's month; today's is one of them.
    for spent in await (
        FamilySpend.select(
            FamilySpend.link,
            FamilySpend.business_date,
            Sum(FamilySpend.amount_minor).as_alias("total"),
        )
        .where(
            FamilySpend.link.is_in([row["id"] for row in rows])
            & (FamilySpend.business_date >= _month_start(today))
            & (FamilySpend.business_date < _next_month(today))
        )
        .group_by(FamilySpend.link, FamilySpend.business_date)
    ):
        link_id, total = spent["link"], _as_int(spent["total"])
        spent_month[link_id] = spent_month.get(link_id, 0) + total
        if spent["business_date"] == today:
            spent_today[link_id] = spent_today.get(link_id, 0) + total
    return [
        FamilyLinkView(
            link_id=row["id"],
            parent_id=row["parent"],
            child_id=row["child"],
            child_name=row["child_name"],
            parent_name=row["parent_name"],
            daily_limit_minor=row["daily_limit_minor"],
            monthly_limit_minor=row["monthly_limit_minor"],
            spent_today_minor=spent_today.get(row["id"], 0),
            spent_this_month_minor=spent_month.get(row["id"], 0),
            attached_at=row["attached_at"],
            detached_at=row["detached_at"],
        )
        for row in rows
    ]


async def link_view(link_id: int, today: dt.date | None = None) -> FamilyLinkView:
    views = await _link_views(FamilyLink.id == link_id, today)
    if not views:
        raise FamilyLinkNotFound()
    return views[0]


@dataclass(frozen=True)
class Family:
    parent: FamilyLinkView | None  # the link when the member is a child card
    children: list[FamilyLinkView]


async def family_of(member_id: int) -> Family:
    """The member's parent link (when they hold a child card) and their active children."""
    links = await _link_views(
        ((FamilyLink.child == member_id) | (FamilyLink.parent == member_id))
        & FamilyLink.detached_at.is_null()
    )
    return Family(
        parent=next((link for link in links if link.child_id == member_id), None),
        children=[link for link in links if link.parent_id == member_id],
    )
