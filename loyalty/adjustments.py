"""Manual adjustments of a member's points and stored value by a manager, with a reason.

Rules: only store managers (for members of their own store) and HQ admins adjust; each role
has a limit per adjustment (program settings: a store manager ±5,000 points / ±500.00 stored
value, an HQ admin more); the reason is required; the adjustment, its ledger entries and the
audit row are written in one transaction; the caller's adjustment id makes it idempotent (the
same id again returns the first result; the same id for something else is a 409). A debit of
stored value is the ledger's conditional update, so it never leaves a balance negative.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from loyalty import points as points_ledger
from loyalty import stored_value
from loyalty.accounts import local_date
from loyalty.earning import expiry_date
from loyalty.errors import AdjustmentConflict, AdjustmentRefused
from loyalty.points import Source
from loyalty.program import Program, load_program
from loyalty.tables import Adjustment
from memberpos.clock import utc_now
from memberpos.db import transaction
from memberpos.errors import InvalidInput, NotFound, OutOfScope
from members.tables import Member
from stores import audit
from stores.access import Actor, Role
from stores.tables import Store

MAX_REASON = 500


@dataclass(frozen=True)
class AdjustmentResult:
    adjustment_id: int
    ref: str
    member_id: int
    points_delta: int
    principal_delta: int
    bonus_delta: int
    points_balance_after: int | None
    stored_value_after: int | None
    replayed: bool = False


def limits_for(actor: Actor, program: Program) -> tuple[int, int]:
    """(points, stored value minor units) one adjustment by this actor may move, each way."""
    if Role.hq_admin in actor.roles:
        return program.hq_points_limit, program.hq_stored_value_limit_minor
    if Role.store_manager in actor.roles:
        return program.manager_points_limit, program.manager_stored_value_limit_minor
    raise AdjustmentRefused("Only store managers and HQ admins adjust balances", role="none")


def _check(
    actor: Actor, program: Program, points: int, principal: int, bonus: int, reason: str
) -> None:
    points_limit, money_limit = limits_for(actor, program)
    if not reason.strip():
        raise InvalidInput("A reason is required for every adjustment", field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"The reason is longer than {MAX_REASON} characters", field="reason")
    if points == 0 and principal == 0 and bonus == 0:
        raise InvalidInput("An adjustment must change something", field="points")
    if abs(points) > points_limit:
        raise AdjustmentRefused(
            f"Your role may adjust at most {points_limit} points at once",
            field="points",
            limit=points_limit,
        )
    if abs(principal) + abs(bonus) > money_limit:
        raise AdjustmentRefused(
            f"Your role may adjust at most {money_limit} minor units of stored value at once",
            field="principal_minor",
            limit_minor=money_limit,
        )


async def _result(row: dict, replayed: bool) -> AdjustmentResult:
    return AdjustmentResult(
        adjustment_id=row["id"],
        ref=row["ref"],
        member_id=row["member"],
        points_delta=row["points_delta"],
        principal_delta=row["principal_delta"],
        bonus_delta=row["bonus_delta"],
        points_balance_after=None,
        stored_value_after=None,
        replayed=replayed,
    )


async def adjust(
    actor: Actor,
    *,
    ref: str,
    member_id: int,
    reason: str,
    points: int = 0,
    principal_minor: int = 0,
    bonus_minor: int = 0,
    at: dt.datetime | None = None,
) -> AdjustmentResult:
    """Adjusts the member's balances by the deltas given (negative takes away)."""
    at = at or utc_now()
    ref = ref.strip()
    if not ref or len(ref) > 64:
        raise InvalidInput("adjustment id must be 1 to 64 characters", field="adjustment_id")
    program = await load_program()
    member = await Member.select(Member.id, Member.home_store).where(Member.id == member_id).first()
    if member is None:
        raise NotFound(f"No member {member_id}", field="member_id")
    _check(actor, program, points, principal_minor, bonus_minor, reason)
    if not actor.chain_wide and member["home_store"] != actor.home_store_id:
        raise OutOfScope("You may adjust only members of your own store")
    store_id = actor.home_store_id if not actor.chain_wide else member["home_store"]
    wanted = (member_id, points, principal_minor, bonus_minor)
    async with transaction():
        inserted = (
            await Adjustment.insert(
                Adjustment(
                    ref=ref,
                    member=member_id,
                    staff=actor.staff_id,
                    store=store_id,
                    points_delta=points,
                    principal_delta=principal_minor,
                    bonus_delta=bonus_minor,
                    reason=reason.strip(),
                    created_at=at,
                )
            )
            .on_conflict(target=(Adjustment.ref,), action="DO NOTHING")
            .returning(Adjustment.id)
            .run()
        )
        if not inserted:
            row = await Adjustment.select().where(Adjustment.ref == ref).first()
            assert row is not None
            done = (row["member"], row["points_delta"], row["principal_delta"], row["bonus_delta"])
            if done != wanted:
                raise AdjustmentConflict(field="adjustment_id")
            return await _result(row, replayed=True)
        adjustment_id = inserted[0]["id"]
        source = Source("adjustment", ref, store_id, actor.staff_id)
        today = await local_date(at, store_id)
        points_after = stored_after = None
        if points:
            posting = await points_ledger.adjust(
                member_id,
                points,
                source,
                at=at,
                expires_on=expiry_date(today, program),
                detail={"adjustment_id": adjustment_id, "reason": reason.strip()},
            )
            points_after = posting.balance_after
        if principal_minor or bonus_minor:
            sv = await stored_value.adjust(
                member_id, principal_minor, bonus_minor, source, at=at, business_date=today
            )
            stored_after = sv.balance_after
        store = await Store.select(Store.code).where(Store.id == store_id).first()
        await audit.record(
            actor,
            "adjust_balance",
            "loyalty_account",
            str(member_id),
            after={
                "adjustment_id": adjustment_id,
                "ref": ref,
                "points": points,
                "principal_minor": principal_minor,
                "bonus_minor": bonus_minor,
                "points_balance_after": points_after,
                "stored_value_after": stored_after,
            },
            store_code=store["code"] if store else None,
            reason=reason.strip(),
        )
    return AdjustmentResult(
        adjustment_id,
        ref,
        member_id,
        points,
        principal_minor,
        bonus_minor,
        points_after,
        stored_after,
    )


async def list_adjustments(member_id: int, limit: int = 100) -> list[dict]:
    return (
        await Adjustment.select()
        .where(Adjustment.member == member_id)
        .order_by(Adjustment.id, ascending=False)
        .limit(limit)
    )
