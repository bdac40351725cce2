"""Tiers: their definitions (HQ), qualifying spend over a rolling 12 months, upgrade inside
the sale that crosses a threshold, the periodic downgrade review, tiers set by hand or paid
for, and the benefits pricing and loyalty read.

Rules:
- Qualifying spend is what the POS gateway appends in the sale's own transaction (and a
  negative row on a refund, dated like the sale it refunds). The window is the 12 months
  ending on the sale's business date: ``as_of`` minus one year, exclusive, to ``as_of``.
- A spend tier (``annual_fee_minor`` is None) is reached by spend: the member holds the
  highest-ranked active spend tier whose threshold the rolling sum reaches. Upgrades happen
  at once, in the sale; downgrades only at ``review_tiers`` (a nightly job), so a refund does
  not change the tier under the cashier's hands.
- A paid tier (``annual_fee_minor`` set) is never reached by spend; ``grant_paid_tier`` gives
  it until ``paid_until``, after which the review lapses it to what the spend qualifies for.
- HQ may set any tier by hand until an end date; the same hold protects it from the review.
  Spend that qualifies for a higher tier than a held one still upgrades (and ends the hold).
- A member without a tier has the entry tier's benefits (the active tier of lowest rank).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

from piccolo.query.functions.aggregate import Sum

from memberpos.clock import business_date, utc_now, zone
from memberpos.db import fetch, fetchrow, is_sqlite, lock_clause, transaction
from memberpos.errors import InvalidInput
from memberpos.settings import get_settings
from members.errors import (
    DuplicateTier,
    NotAPaidTier,
    TierChangeRefused,
    TierNotFound,
    TierThresholdsOutOfOrder,
    UnknownMember,
    UnknownTier,
)
from members.tables import Member, QualifyingSpend, Tier, TierEvent
from stores import audit
from stores.access import Actor, Permission
from stores.audit import SystemActor

TIER_FIELDS = (
    "code",
    "name",
    "name_en",
    "rank",
    "threshold_minor",
    "points_multiplier_bp",
    "discount_bp",
    "annual_fee_minor",
    "active",
)

# code, name, name_en, rank, threshold (minor units), multiplier (bp), discount (bp)
DEFAULT_TIERS = (
    ("STANDARD", "普通会员", "Member", 0, 0, 10_000, 0),
    ("SILVER", "银卡", "Silver", 1, 500_000, 12_000, 200),
    ("GOLD", "金卡", "Gold", 2, 2_000_000, 15_000, 500),
    ("DIAMOND", "钻石", "Diamond", 3, 5_000_000, 20_000, 800),
)


@dataclass(frozen=True)
class TierChange:
    """What a sale, the review, HQ or a payment did to a member's tier."""

    member_id: int
    from_tier: str | None
    to_tier: str | None
    reason: str
    rolling_spend_minor: int | None = None
    held_until: dt.datetime | None = None


@dataclass(frozen=True)
class TierBenefits:
    """What the member's tier gives at the till; pricing and loyalty read only this."""

    tier_code: str | None
    tier_name: str
    points_multiplier_bp: int  # 10,000 = ×1.0
    discount_bp: int  # 100 = 1 %


@dataclass(frozen=True)
class TierProgress:
    tier_code: str | None
    tier_name: str
    tier_since: dt.datetime | None
    held_until: dt.datetime | None
    rolling_spend_minor: int
    window_start: dt.date
    window_end: dt.date
    next_tier_code: str | None
    next_tier_name: str | None
    next_threshold_minor: int | None
    remaining_minor: int | None
    tier_name_en: str = ""
    next_tier_name_en: str | None = None


# ------------------------------------------------------------------------------- helpers


def window_start(as_of: dt.date) -> dt.date:
    """First business date of the 12 months ending on ``as_of`` (29 Feb → 1 Mar)."""
    try:
        year_before = as_of.replace(year=as_of.year - 1)
    except ValueError:  # 29 February
        year_before = as_of.replace(year=as_of.year - 1, day=28)
    return year_before + dt.timedelta(days=1)


def chain_today() -> dt.date:
    return business_date(utc_now(), get_settings().time_zone)


def end_of_day(day: dt.date) -> dt.datetime:
    """The instant ``day`` ends in the chain's zone: a hold "until 31 March" lasts all of it."""
    start_next = dt.datetime.combine(
        day + dt.timedelta(days=1), dt.time(), tzinfo=zone(get_settings().time_zone)
    )
    return start_next.astimezone(dt.UTC)


def _as_int(value: Any) -> int:
    return int(value or 0)  # SUM of BIGINT is NUMERIC (Decimal) on PostgreSQL


async def _all_tiers() -> dict[int, dict[str, Any]]:
    rows = await Tier.select()
    return {row["id"]: row for row in rows}


_cached_tiers: tuple[int, dict[int, dict[str, Any]]] | None = None  # (generation, tiers)


async def _tiers_at(generation: int | None) -> dict[int, dict[str, Any]]:
    """:func:`_all_tiers`, served from this process's copy when ``generation`` (the
    configuration generation the caller has just read, ``promotions.service``) is the one
    it was read under: every change of a tier bumps it in the change's transaction.
    Read-only: the rows are shared."""
    global _cached_tiers
    if generation is None:
        return await _all_tiers()
    if _cached_tiers is None or _cached_tiers[0] != generation:
        _cached_tiers = (generation, await _all_tiers())
    return _cached_tiers[1]


async def _tiers_changed() -> None:
    """In the change's transaction: every process reads the tiers afresh."""
    from promotions.service import bump_generation

    await bump_generation(definitions_changed=False)


def _spend_tiers(tiers: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Active tiers reached by spend, lowest rank first."""
    return sorted(
        (t for t in tiers.values() if t["active"] and t["annual_fee_minor"] is None),
        key=lambda t: t["rank"],
    )


def _entry_tier(tiers: dict[int, dict[str, Any]]) -> dict[str, Any] | None:
    active = sorted((t for t in tiers.values() if t["active"]), key=lambda t: t["rank"])
    return active[0] if active else None


def _qualified(spend_tiers: list[dict[str, Any]], spend_minor: int) -> dict[str, Any] | None:
    best = None
    for tier in spend_tiers:
        if tier["threshold_minor"] <= spend_minor:
            best = tier
    return best


def _rank(tiers: dict[int, dict[str, Any]], tier_id: int | None) -> int:
    """A member without a tier stands at the entry tier's rank."""
    if tier_id is not None and tier_id in tiers:
        return tiers[tier_id]["rank"]
    entry = _entry_tier(tiers)
    return entry["rank"] if entry else 0


def _code(tiers: dict[int, dict[str, Any]], tier_id: int | None) -> str | None:
    return tiers[tier_id]["code"] if tier_id is not None and tier_id in tiers else None


_ROLLING_SPEND = (
    "SELECT SUM(amount_minor) AS total FROM qualifying_spend"
    " WHERE member = {} AND business_date >= {} AND business_date <= {}"
)


async def rolling_spend(member_id: int, as_of: dt.date) -> int:
    row = await fetchrow(_ROLLING_SPEND, member_id, window_start(as_of), as_of)
    return _as_int(row["total"] if row else 0)


_TIER_EVENT_COLUMNS = (
    "member, from_tier, to_tier, reason, rolling_spend_minor, held_until, staff, source_kind,"
    " source_id, note, at"
)


async def _change_tier(
    member_id: int,
    current_tier: int | None,
    new_tier: int | None,
    *,
    reason: str,
    held_until: dt.datetime | None,
    rolling_spend_minor: int | None = None,
    staff_id: int | None = None,
    source_kind: str | None = None,
    source_id: str | None = None,
    note: str = "",
    at: dt.datetime | None = None,
) -> bool:
    """Move the member from ``current_tier`` to ``new_tier``, conditional on the tier still
    being ``current_tier`` (so a racing job and sale apply one change), with its event: one
    statement on PostgreSQL (the event is written only when the update found the row)."""
    now = at or utc_now()
    sets = "tier_held_until = {}, updated_at = {}"
    args: list[Any] = [held_until, now]
    if new_tier != current_tier:
        sets += ", tier = {}, tier_since = {}"
        args += [new_tier, now]
    update = f"UPDATE member SET {sets} WHERE id = {{}} AND " + (
        "tier IS NULL" if current_tier is None else "tier = {}"
    )
    args.append(member_id)
    if current_tier is not None:
        args.append(current_tier)
    event = [
        current_tier,
        new_tier,
        reason,
        rolling_spend_minor,
        held_until,
        staff_id,
        source_kind,
        source_id,
        note,
        now,
    ]
    if is_sqlite():
        if not await fetch(update + " RETURNING id", *args):
            return False
        await fetch(
            f"INSERT INTO tier_event ({_TIER_EVENT_COLUMNS})"
            " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
            member_id,
            *event,
        )
        return True
    written = await fetch(
        f"WITH changed AS ({update} RETURNING id)"
        f" INSERT INTO tier_event ({_TIER_EVENT_COLUMNS})"
        " SELECT changed.id, CAST({} AS INTEGER), CAST({} AS INTEGER), CAST({} AS VARCHAR),"
        " CAST({} AS BIGINT), CAST({} AS TIMESTAMPTZ), CAST({} AS INTEGER),"
        " CAST({} AS VARCHAR), CAST({} AS VARCHAR), CAST({} AS TEXT), CAST({} AS TIMESTAMPTZ)"
        " FROM changed RETURNING id",
        *args,
        *event,
    )
    return bool(written)


_MEMBER_COLUMNS = "id, tier, tier_since, tier_held_until, status"


async def _member(member_id: int, *, lock: bool = False) -> dict[str, Any]:
    row = await fetchrow(
        f"SELECT {_MEMBER_COLUMNS} FROM member WHERE id = {{}}" + (lock_clause() if lock else ""),
        member_id,
    )
    if row is None:
        raise UnknownMember(field="member_id")
    return dict(row)


# ------------------------------------------------------------------------- definitions


async def list_tiers(*, include_inactive: bool = True) -> list[dict[str, Any]]:
    query = Tier.select().order_by(Tier.rank)
    if not include_inactive:
        query = query.where(Tier.active == True)  # noqa: E712 - a column comparison
    return await query


async def get_tier(code: str) -> dict[str, Any]:
    row = await Tier.select().where(Tier.code == code).first()
    if row is None:
        raise TierNotFound(f"No tier {code}")
    return row


async def _tier_named(code: str) -> dict[str, Any]:
    """The tier a request names in ``tier_code``: a 400 naming the field when unknown (a
    404 is :func:`get_tier`'s, for the tier addressed by the path)."""
    try:
        return await get_tier(code)
    except TierNotFound:
        raise UnknownTier(f"No tier {code}", field="tier_code") from None


async def _paid_tier(code: str) -> dict[str, Any]:
    tier = await _tier_named(code)
    if tier["annual_fee_minor"] is None or not tier["active"]:
        raise NotAPaidTier(f"{code} is not a paid tier", field="tier_code")
    return tier


def _check_order(tiers: list[dict[str, Any]]) -> None:
    """Spend tiers' thresholds rise strictly with rank, else "the highest tier reached" is
    ambiguous."""
    spend = sorted(
        (t for t in tiers if t["active"] and t["annual_fee_minor"] is None), key=lambda t: t["rank"]
    )
    for lower, higher in itertools.pairwise(spend):
        if higher["threshold_minor"] <= lower["threshold_minor"]:
            raise TierThresholdsOutOfOrder(
                f"{higher['code']} (rank {higher['rank']}) needs more spend than "
                f"{lower['code']} (rank {lower['rank']})",
                field="threshold_minor",
            )


async def create_tier(
    actor: Actor | SystemActor,
    *,
    code: str,
    name: str,
    rank: int,
    threshold_minor: int = 0,
    name_en: str = "",
    points_multiplier_bp: int = 10_000,
    discount_bp: int = 0,
    annual_fee_minor: int | None = None,
    active: bool = True,
) -> dict[str, Any]:
    if isinstance(actor, Actor):
        actor.require(Permission.manage_chain)
    values = {
        "code": code,
        "name": name,
        "name_en": name_en,
        "rank": rank,
        "threshold_minor": threshold_minor,
        "points_multiplier_bp": points_multiplier_bp,
        "discount_bp": discount_bp,
        "annual_fee_minor": annual_fee_minor,
        "active": active,
    }
    async with transaction():
        tiers = await Tier.select()
        for field in ("code", "rank"):
            if any(t[field] == values[field] for t in tiers):
                raise DuplicateTier(f"A tier with that {field} exists already", field=field)
        _check_order([*tiers, values])
        await Tier.insert(Tier(**values, created_at=utc_now())).run()
        await audit.record(actor, "tier.create", "tier", code, after=values)
        await _tiers_changed()
    return await get_tier(code)


async def update_tier(actor: Actor, code: str, changes: dict[str, Any]) -> dict[str, Any]:
    actor.require(Permission.manage_chain)
    async with transaction():
        before = await get_tier(code)
        others = [t for t in await Tier.select() if t["id"] != before["id"]]
        if "rank" in changes and any(t["rank"] == changes["rank"] for t in others):
            raise DuplicateTier("A tier with that rank exists already", field="rank")
        after = {**before, **changes}
        _check_order([*others, after])
        values = {Tier._meta.get_column_by_name(k): v for k, v in changes.items()}
        if values:
            await Tier.update(values).where(Tier.id == before["id"])
            await _tiers_changed()
        diff = audit.changed_fields(before, changes)
        await audit.record(
            actor,
            "tier.update",
            "tier",
            code,
            before={k: before[k] for k in diff},
            after=diff,
        )
    return await get_tier(code)


async def seed_default_tiers(actor: Actor | SystemActor | None = None) -> int:
    """The four standard tiers (普通会员, 银卡 ¥5,000, 金卡 ¥20,000, 钻石 ¥50,000), those not
    there yet; returns how many were created. Idempotent."""
    actor = actor or SystemActor("seed default tiers")
    rows = await Tier.select(Tier.code, Tier.rank)
    existing = {row["code"] for row in rows}
    taken_ranks = {row["rank"] for row in rows}
    created = 0
    for code, name, name_en, rank, threshold, multiplier, discount in DEFAULT_TIERS:
        if code in existing or rank in taken_ranks:
            continue
        await create_tier(
            actor,
            code=code,
            name=name,
            name_en=name_en,
            rank=rank,
            threshold_minor=threshold,
            points_multiplier_bp=multiplier,
            discount_bp=discount,
        )
        created += 1
    return created


# ----------------------------------------------------------------------- spend and upgrade


_SPEND_COLUMNS = (
    "member, store, business_date, amount_minor, source_kind, source_id, occurred_at, recorded_at"
)


async def _lock_member_and_record(
    member_id: int, spend: tuple[Any, ...]
) -> tuple[dict[str, Any], bool]:
    """The member's row, locked (PostgreSQL), then the qualifying spend ``spend`` (store,
    business date, amount, source kind, source id, occurred at, recorded at) appended unless
    its source is recorded already: (member, whether it was appended). One statement on
    PostgreSQL: the insert reads the locked row, so it follows the lock; the rolling sum is
    read by a statement of its own after it (a statement that waited for the lock would sum
    from a snapshot older than the lock holder's commit)."""
    if is_sqlite():  # no data-modifying WITH; the write lock is held from BEGIN
        member = await _member(member_id)
        inserted = await fetch(
            f"INSERT INTO qualifying_spend ({_SPEND_COLUMNS})"
            " VALUES ({}, {}, {}, {}, {}, {}, {}, {})"
            " ON CONFLICT (source_kind, source_id) DO NOTHING RETURNING id",
            member_id,
            *spend,
        )
        return member, bool(inserted)
    row = await fetchrow(
        f"WITH m AS (SELECT {_MEMBER_COLUMNS} FROM member WHERE id = {{}} FOR UPDATE),"
        f" spend AS (INSERT INTO qualifying_spend ({_SPEND_COLUMNS})"
        " SELECT m.id, CAST({} AS INTEGER), CAST({} AS DATE), CAST({} AS BIGINT),"
        " CAST({} AS VARCHAR), CAST({} AS VARCHAR), CAST({} AS TIMESTAMPTZ),"
        " CAST({} AS TIMESTAMPTZ) FROM m"
        " ON CONFLICT (source_kind, source_id) DO NOTHING RETURNING id)"
        f" SELECT {_MEMBER_COLUMNS}, (SELECT id FROM spend) AS inserted FROM m",
        member_id,
        *spend,
    )
    if row is None:
        raise UnknownMember(field="member_id")
    member = dict(row)
    return member, member.pop("inserted") is not None


async def on_qualifying_spend(
    member_id: int,
    amount_minor: int,
    source_kind: str,
    source_id: str,
    store_id: int,
    business_date: dt.date,
    occurred_at: dt.datetime,
    *,
    config_generation: int | None = None,
) -> TierChange | None:
    """Record a sale's (or, negative, a refund's) qualifying spend and upgrade the member
    when the rolling sum now reaches a higher tier; the upgrade commits with the sale.

    Call it inside the sale's ``async with transaction():`` (it joins that transaction).
    It locks the member row on PostgreSQL, so two tills selling to one member at once
    cannot both miss the threshold they cross together. A replay of the same source
    (kind, id) records nothing and returns None. A refund never downgrades here; the
    nightly ``review_tiers`` does. ``config_generation``: the configuration generation the
    caller read (the tiers then come from this process's copy, see :func:`_tiers_at`).
    """
    if not source_kind or not source_id:
        raise InvalidInput("A qualifying spend needs its source kind and id", field="source_id")
    async with transaction():
        member, inserted = await _lock_member_and_record(
            member_id,
            (store_id, business_date, amount_minor, source_kind, source_id, occurred_at, utc_now()),
        )
        if not inserted or amount_minor <= 0 or member["status"] != "active":
            return None
        tiers = await _tiers_at(config_generation)
        if not any(t["rank"] > _rank(tiers, member["tier"]) for t in _spend_tiers(tiers)):
            return None  # no spend tier above the member's: no sum to take
        spend = await rolling_spend(member_id, business_date)
        qualified = _qualified(_spend_tiers(tiers), spend)
        if qualified is None or qualified["rank"] <= _rank(tiers, member["tier"]):
            return None
        if member["tier"] is None and qualified["threshold_minor"] == 0:
            return None  # the entry tier, which a member without a tier has anyway
        await _change_tier(
            member_id,
            member["tier"],
            qualified["id"],
            reason="upgrade",
            held_until=None,  # a higher tier earned by spend outranks any hold
            rolling_spend_minor=spend,
            source_kind=source_kind,
            source_id=source_id,
        )
        return TierChange(
            member_id=member_id,
            from_tier=_code(tiers, member["tier"]),
            to_tier=qualified["code"],
            reason="upgrade",
            rolling_spend_minor=spend,
        )


async def review_tiers(as_of: dt.date | None = None) -> list[TierChange]:
    """The periodic review (nightly job): each active member is moved to the tier their
    rolling spend qualifies for, unless a manual or paid hold still runs; a hold that has
    run out lapses. Returns the changes made. Safe to rerun: a second run finds nothing."""
    as_of = as_of or chain_today()
    cutoff = end_of_day(as_of - dt.timedelta(days=1))  # the instant ``as_of`` begins
    tiers = await _all_tiers()
    spend_tiers = _spend_tiers(tiers)
    entry = _entry_tier(tiers)
    sums = {
        row["member"]: _as_int(row["total"])
        for row in await QualifyingSpend.select(
            QualifyingSpend.member, Sum(QualifyingSpend.amount_minor).as_alias("total")
        )
        .where(
            (QualifyingSpend.business_date >= window_start(as_of))
            & (QualifyingSpend.business_date <= as_of)
        )
        .group_by(QualifyingSpend.member)
    }
    candidates = await Member.select(Member.id, Member.tier, Member.tier_held_until).where(
        (Member.status == "active")
        & (Member.tier.is_not_null() | Member.id.is_in(list(sums) or [-1]))
    )
    changes: list[TierChange] = []
    for member in candidates:
        spend = sums.get(member["id"], 0)
        qualified = _qualified(spend_tiers, spend)
        target = qualified["id"] if qualified else None
        current = member["tier"]
        held = member["tier_held_until"]
        reason: str | None = None
        held_until = held
        if held is not None and held > cutoff:
            if _rank(tiers, target) > _rank(tiers, current):
                reason, held_until = "upgrade", None
        elif held is not None:
            current_paid = current in tiers and tiers[current]["annual_fee_minor"] is not None
            reason, held_until = ("lapse" if current_paid else "hold_ended"), None
        elif _rank(tiers, target) < _rank(tiers, current) or (
            current is not None and current in tiers and not tiers[current]["active"]
        ):
            reason = "downgrade"
        elif _rank(tiers, target) > _rank(tiers, current):
            reason = "upgrade"
        if reason is None:
            continue
        if current is None and held is None and entry is not None and target == entry["id"]:
            continue  # the entry tier, which a member without a tier has anyway
        async with transaction():
            done = await _change_tier(
                member["id"],
                current,
                target,
                reason=reason,
                held_until=held_until,
                rolling_spend_minor=spend,
                note=f"review as of {as_of.isoformat()}",
            )
        if done:
            changes.append(
                TierChange(
                    member_id=member["id"],
                    from_tier=_code(tiers, current),
                    to_tier=_code(tiers, target),
                    reason=reason,
                    rolling_spend_minor=spend,
                )
            )
    return changes


# ------------------------------------------------------------------ by hand and paid tiers


async def set_tier_manually(
    actor: Actor, member_id: int, tier_code: str, until: dt.date, reason: str = ""
) -> TierChange:
    """HQ gives a member a tier until the end of ``until`` (chain time zone), whatever their
    spend; the review leaves it alone until then. Audited."""
    actor.require(Permission.manage_chain)
    if until < chain_today():
        raise InvalidInput("The end date is in the past", field="until")
    tier = await _tier_named(tier_code)
    held_until = end_of_day(until)
    async with transaction():
        member = await _member(member_id, lock=True)
        tiers = await _all_tiers()
        if not await _change_tier(
            member_id,
            member["tier"],
            tier["id"],
            reason="manual",
            held_until=held_until,
            staff_id=actor.staff_id,
            note=reason,
        ):
            raise TierChangeRefused("The member's tier changed meanwhile; try again")
        await audit.record(
            actor,
            "member.tier.set",
            "member",
            str(member_id),
            before={"tier": _code(tiers, member["tier"]), "held_until": member["tier_held_until"]},
            after={"tier": tier_code, "held_until": held_until},
            reason=reason,
        )
    return TierChange(
        member_id=member_id,
        from_tier=_code(tiers, member["tier"]),
        to_tier=tier_code,
        reason="manual",
        held_until=held_until,
    )


async def grant_paid_tier(
    member_id: int,
    tier_code: str,
    paid_until: dt.datetime,
    *,
    source_kind: str | None = None,
    source_id: str | None = None,
) -> TierChange:
    """A paid membership bought or renewed (the fee itself is taken by the POS or loyalty,
    in the same transaction): the member holds ``tier_code`` until ``paid_until``; the
    review lapses it afterwards. Refused for a tier not sold as paid, and for a tier below
    one the member already holds (nobody should pay for a downgrade)."""
    if paid_until.tzinfo is None:
        raise InvalidInput("paid_until must carry a time zone", field="paid_until")
    tier = await _paid_tier(tier_code)
    async with transaction():
        member = await _member(member_id, lock=True)
        return await _grant(member, tier, paid_until, source_kind, source_id)


async def _grant(
    member: dict[str, Any],
    tier: dict[str, Any],
    paid_until: dt.datetime,
    source_kind: str | None,
    source_id: str | None,
) -> TierChange:
    """:func:`grant_paid_tier` for a member row already locked and a paid tier already read."""
    if paid_until.tzinfo is None:
        raise InvalidInput("paid_until must carry a time zone", field="paid_until")
    tiers = await _all_tiers()
    if member["tier"] != tier["id"] and _rank(tiers, member["tier"]) > tier["rank"]:
        raise TierChangeRefused(
            f"The member already holds a higher tier than {tier['code']}", field="tier_code"
        )
    reason = "renewal" if member["tier"] == tier["id"] else "paid"
    if not await _change_tier(
        member["id"],
        member["tier"],
        tier["id"],
        reason=reason,
        held_until=paid_until,
        source_kind=source_kind,
        source_id=source_id,
    ):
        raise TierChangeRefused("The member's tier changed meanwhile; try again")
    return TierChange(
        member_id=member["id"],
        from_tier=_code(tiers, member["tier"]),
        to_tier=tier["code"],
        reason=reason,
        held_until=paid_until,
    )


@dataclass(frozen=True)
class PaidTierPurchase:
    """A paid membership bought or renewed: the fee the till charges and until when."""

    member_id: int
    tier_code: str
    fee_minor: int
    paid_until: dt.datetime
    renewal: bool
    replay: bool = False


def _one_year_later(at: dt.datetime) -> dt.datetime:
    try:
        return at.replace(year=at.year + 1)
    except ValueError:  # 29 February
        return at.replace(year=at.year + 1, day=28)


async def buy_paid_tier(
    member_id: int,
    tier_code: str,
    *,
    source_kind: str,
    source_id: str,
    at: dt.datetime,
) -> PaidTierPurchase:
    """A member buys (or renews) a paid tier for a year: the new year starts when the
    current paid year of the same tier ends (renewing early loses nothing), else at ``at``.
    The caller takes ``fee_minor`` in the same transaction. Idempotent by source: a replay
    returns the first purchase and changes nothing. A paid tier not renewed lapses at the
    review after ``paid_until``."""
    if not source_kind or not source_id:
        raise InvalidInput("A purchase needs its source kind and id", field="source_id")
    tier = await _paid_tier(tier_code)
    async with transaction():
        member = await _member(member_id, lock=True)
        earlier = (
            await TierEvent.select(TierEvent.reason, TierEvent.held_until)
            .where(
                (TierEvent.member == member_id)
                & (TierEvent.source_kind == source_kind)
                & (TierEvent.source_id == source_id)
                & TierEvent.reason.is_in(["paid", "renewal"])
            )
            .first()
        )
        if earlier is not None:
            return PaidTierPurchase(
                member_id=member_id,
                tier_code=tier_code,
                fee_minor=tier["annual_fee_minor"],
                paid_until=earlier["held_until"],
                renewal=earlier["reason"] == "renewal",
                replay=True,
            )
        held = member["tier_held_until"]
        start = held if member["tier"] == tier["id"] and held is not None and held > at else at
        paid_until = _one_year_later(start)
        change = await _grant(member, tier, paid_until, source_kind, source_id)
    return PaidTierPurchase(
        member_id=member_id,
        tier_code=tier_code,
        fee_minor=tier["annual_fee_minor"],
        paid_until=paid_until,
        renewal=change.reason == "renewal",
    )


# ------------------------------------------------------------------------ what they give


def benefit_columns() -> tuple[Any, ...]:
    """The columns of a ``Member.select`` that :func:`benefits_from_row` reads: a caller that
    reads the member row anyway gets the tier's benefits from the same query."""
    return (
        Member.tier.code.as_alias("tier_code"),
        Member.tier.name.as_alias("tier_name"),
        Member.tier.points_multiplier_bp.as_alias("tier_multiplier"),
        Member.tier.discount_bp.as_alias("tier_discount"),
    )


async def benefits_from_row(
    row: dict[str, Any], *, config_generation: int | None = None
) -> TierBenefits:
    """The benefits of a member row read with :func:`benefit_columns` (a member without a
    tier has the entry tier's). ``config_generation``: see :func:`_tiers_at`."""
    if row["tier_code"] is None:
        entry = _entry_tier(await _tiers_at(config_generation))
        if entry is None:
            return TierBenefits(None, "", 10_000, 0)
        return TierBenefits(
            entry["code"], entry["name"], entry["points_multiplier_bp"], entry["discount_bp"]
        )
    return TierBenefits(
        row["tier_code"], row["tier_name"], row["tier_multiplier"], row["tier_discount"]
    )


async def tier_benefits(member_id: int) -> TierBenefits:
    """The points multiplier and tier discount for pricing and loyalty (one query)."""
    row = await Member.select(*benefit_columns()).where(Member.id == member_id).first()
    if row is None:
        raise UnknownMember(field="member_id")
    return await benefits_from_row(row)


async def tier_progress(member_id: int, as_of: dt.date | None = None) -> TierProgress:
    """The member's tier, their rolling spend, and how much more reaches the next tier."""
    as_of = as_of or chain_today()
    member = await _member(member_id)
    tiers = await _all_tiers()
    spend = await rolling_spend(member_id, as_of)
    current = tiers.get(member["tier"]) if member["tier"] is not None else _entry_tier(tiers)
    rank = _rank(tiers, member["tier"])
    next_tier = next((t for t in _spend_tiers(tiers) if t["rank"] > rank), None)
    return TierProgress(
        tier_code=current["code"] if current else None,
        tier_name=current["name"] if current else "",
        tier_since=member["tier_since"],
        held_until=member["tier_held_until"],
        rolling_spend_minor=spend,
        window_start=window_start(as_of),
        window_end=as_of,
        next_tier_code=next_tier["code"] if next_tier else None,
        next_tier_name=next_tier["name"] if next_tier else None,
        next_threshold_minor=next_tier["threshold_minor"] if next_tier else None,
        remaining_minor=max(0, next_tier["threshold_minor"] - spend) if next_tier else None,
        tier_name_en=current["name_en"] if current else "",
        next_tier_name_en=next_tier["name_en"] if next_tier else None,
    )


async def tier_history(member_id: int) -> list[dict[str, Any]]:
    return (
        await TierEvent.select(
            TierEvent.from_tier.code.as_alias("from_tier"),
            TierEvent.to_tier.code.as_alias("to_tier"),
            TierEvent.reason,
            TierEvent.rolling_spend_minor,
            TierEvent.held_until,
            TierEvent.note,
            TierEvent.at,
        )
        .where(TierEvent.member == member_id)
        .order_by(TierEvent.id)
    )
