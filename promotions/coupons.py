"""Coupon batches and coupons: HQ creates a batch (face value, percentage or gift; minimum
spend; item targeting; store/region scope; validity; uses per coupon) and issues its coupons
to members or to the bearer; members see their own; a member merge moves them.

Codes come from ``promotions.codes`` (unguessable, with a check character). Issuing is
idempotent by ``issue_ref`` per batch, so a retried request issues nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import msgspec

from memberpos.clock import utc_now
from memberpos.db import transaction
from memberpos.errors import Forbidden
from members.tables import Member
from promotions import codes, engine
from promotions.errors import (
    CouponBatchNotFound,
    DuplicateCouponBatch,
    InvalidCouponBatch,
    UnknownMember,
)
from promotions.management import require_read
from promotions.service import aware
from promotions.tables import Coupon, CouponBatch, CouponMove
from stores import audit
from stores.access import Actor, Role
from stores.audit import SystemActor
from stores.tables import Region, Store

MAX_ISSUE = 10_000  # coupons per request


@dataclass(frozen=True)
class BatchSpec:
    code: str
    name: str
    kind: Literal["amount_off", "percent_off", "gift"]
    valid_from: datetime
    valid_to: datetime
    name_zh: str = ""
    amount_off_minor: int = 0
    percent_off_bp: int = 0
    cap_minor: int | None = None
    minimum_spend_minor: int = 0
    gift_sku: str | None = None
    gift_quantity: int = 1
    gift_value_minor: int = 0
    targeting: engine.Targeting = field(default_factory=engine.Targeting)
    store_codes: tuple[str, ...] = ()
    region_codes: tuple[str, ...] = ()
    max_uses: int = 1


def _require_hq(actor: Actor | SystemActor) -> None:
    if isinstance(actor, Actor) and Role.hq_admin not in actor.roles:
        raise Forbidden("Only HQ manages coupon batches")


async def _check_batch(spec: BatchSpec) -> None:
    if not spec.code or len(spec.code) > 32:
        raise InvalidCouponBatch("code must be 1-32 characters", field="code")
    if spec.valid_from.tzinfo is None or spec.valid_to.tzinfo is None:
        raise InvalidCouponBatch("validity needs a time zone (UTC offset)", field="valid_from")
    if spec.valid_from >= spec.valid_to:
        raise InvalidCouponBatch("valid_from must be before valid_to", field="valid_to")
    if spec.max_uses < 1:
        raise InvalidCouponBatch("max_uses must be at least 1", field="max_uses")
    if spec.minimum_spend_minor < 0:
        raise InvalidCouponBatch(
            "minimum_spend_minor must not be negative", field="minimum_spend_minor"
        )
    # The engine's own checks of the offer (amount, percentage, gift), as a 400 on its field.
    try:
        engine.Coupon(
            code="CHECK",
            kind=spec.kind,
            amount_off_minor=spec.amount_off_minor,
            percent_off_bp=spec.percent_off_bp,
            cap_minor=spec.cap_minor,
            minimum_spend_minor=spec.minimum_spend_minor,
            gift_sku=spec.gift_sku,
            gift_quantity=spec.gift_quantity,
            gift_value_minor=spec.gift_value_minor,
        )
    except engine.InvalidPromotion as error:
        raise InvalidCouponBatch(error.detail, field=error.field) from error
    if spec.store_codes:
        known = {
            r["code"]
            for r in await Store.select(Store.code).where(Store.code.is_in(list(spec.store_codes)))
        }
        unknown = sorted(set(spec.store_codes) - known)
        if unknown:
            raise InvalidCouponBatch(f"Unknown store(s) {', '.join(unknown)}", field="store_codes")
    if spec.region_codes:
        known = {
            r["code"]
            for r in await Region.select(Region.code).where(
                Region.code.is_in(list(spec.region_codes))
            )
        }
        unknown = sorted(set(spec.region_codes) - known)
        if unknown:
            raise InvalidCouponBatch(
                f"Unknown region(s) {', '.join(unknown)}", field="region_codes"
            )


_BATCH_COLUMNS = (
    CouponBatch.id,
    CouponBatch.code,
    CouponBatch.name,
    CouponBatch.name_zh,
    CouponBatch.kind,
    CouponBatch.amount_off_minor,
    CouponBatch.percent_off_bp,
    CouponBatch.cap_minor,
    CouponBatch.minimum_spend_minor,
    CouponBatch.gift_sku,
    CouponBatch.gift_quantity,
    CouponBatch.gift_value_minor,
    CouponBatch.targeting,
    CouponBatch.store_codes,
    CouponBatch.region_codes,
    CouponBatch.valid_from,
    CouponBatch.valid_to,
    CouponBatch.max_uses,
    CouponBatch.status,
    CouponBatch.issued,
    CouponBatch.created_at,
)


def _batch_view(row: dict[str, Any]) -> dict[str, Any]:
    view = dict(row)
    view.pop("id", None)
    view["targeting"] = msgspec.json.decode(row["targeting"] or "{}")
    view["store_codes"] = msgspec.json.decode(row["store_codes"] or "[]")
    view["region_codes"] = msgspec.json.decode(row["region_codes"] or "[]")
    return view


async def _batch_row(code: str) -> dict[str, Any]:
    row = await CouponBatch.select(*_BATCH_COLUMNS).where(CouponBatch.code == code).first()
    if row is None:
        raise CouponBatchNotFound(f"No coupon batch {code}")
    return row


async def list_batches(actor: Actor | SystemActor) -> list[dict[str, Any]]:
    require_read(actor)
    return [
        _batch_view(row)
        for row in await CouponBatch.select(*_BATCH_COLUMNS).order_by(CouponBatch.code)
    ]


async def get_batch(actor: Actor | SystemActor, code: str) -> dict[str, Any]:
    require_read(actor)
    return _batch_view(await _batch_row(code))


async def create_batch(actor: Actor | SystemActor, spec: BatchSpec) -> dict[str, Any]:
    _require_hq(actor)
    await _check_batch(spec)
    values = {
        "code": spec.code,
        "name": spec.name,
        "name_zh": spec.name_zh,
        "kind": spec.kind,
        "amount_off_minor": spec.amount_off_minor,
        "percent_off_bp": spec.percent_off_bp,
        "cap_minor": spec.cap_minor,
        "minimum_spend_minor": spec.minimum_spend_minor,
        "gift_sku": spec.gift_sku,
        "gift_quantity": spec.gift_quantity,
        "gift_value_minor": spec.gift_value_minor,
        "valid_from": spec.valid_from,
        "valid_to": spec.valid_to,
        "max_uses": spec.max_uses,
    }
    async with transaction():
        if await CouponBatch.exists().where(CouponBatch.code == spec.code):
            raise DuplicateCouponBatch(f"Coupon batch {spec.code} exists", field="code")
        await CouponBatch.insert(
            CouponBatch(
                **values,
                targeting=msgspec.json.encode(spec.targeting).decode(),
                store_codes=msgspec.json.encode(list(spec.store_codes)).decode(),
                region_codes=msgspec.json.encode(list(spec.region_codes)).decode(),
                status="active",
                issued=0,
                created_by=actor.staff_id if isinstance(actor, Actor) else None,
                created_at=utc_now(),
            )
        )
        await audit.record(
            actor,
            "coupon_batch.create",
            "coupon_batch",
            spec.code,
            after={
                **values,
                "targeting": msgspec.to_builtins(spec.targeting),
                "store_codes": list(spec.store_codes),
                "region_codes": list(spec.region_codes),
            },
        )
    return await get_batch(actor, spec.code)


async def issue(
    actor: Actor | SystemActor,
    batch_code: str,
    *,
    member_ids: list[int] | None = None,
    bearer_count: int = 0,
    issue_ref: str | None = None,
) -> list[dict[str, Any]]:
    """Issue one coupon to each member listed, or ``bearer_count`` bearer coupons. With an
    ``issue_ref`` a repeat of the same request returns the coupons issued the first time."""
    _require_hq(actor)
    member_ids = list(dict.fromkeys(member_ids or []))
    if bool(member_ids) == bool(bearer_count):
        raise InvalidCouponBatch("Give either member_ids or bearer_count", field="member_ids")
    count = len(member_ids) or bearer_count
    if not 1 <= count <= MAX_ISSUE:
        raise InvalidCouponBatch(f"Issue 1 to {MAX_ISSUE} coupons at a time", field="bearer_count")
    async with transaction():
        batch = await _batch_row(batch_code)
        if issue_ref:
            already = await Coupon.select(Coupon.code, Coupon.member).where(
                (Coupon.batch == batch["id"]) & Coupon.issue_ref.like(f"{issue_ref}:%")
            )
            if already:
                return [_issued(row) for row in sorted(already, key=lambda r: r["code"])]
        if member_ids:
            known = {
                row["id"]
                for row in await Member.select(Member.id).where(
                    Member.id.is_in(member_ids) & (Member.status == "active")
                )
            }
            missing = [m for m in member_ids if m not in known]
            if missing:
                raise UnknownMember(f"No active member {missing[0]}", field="member_ids")
        now = utc_now()
        owners: list[int | None] = list(member_ids) if member_ids else [None] * bearer_count
        rows = [
            Coupon(
                code=codes.new_code(),
                batch=batch["id"],
                member=owner,
                max_uses=batch["max_uses"],
                uses=0,
                issue_ref=f"{issue_ref}:{number}" if issue_ref else None,
                issued_at=now,
            )
            for number, owner in enumerate(owners)
        ]
        for start in range(0, len(rows), 500):
            await Coupon.insert(*rows[start : start + 500])
        await CouponBatch.update({CouponBatch.issued: CouponBatch.issued + len(rows)}).where(
            CouponBatch.id == batch["id"]
        )
        await audit.record(
            actor,
            "coupon_batch.issue",
            "coupon_batch",
            batch_code,
            after={"count": len(rows), "members": member_ids, "issue_ref": issue_ref},
        )
    return [_issued({"code": row.code, "member": row.member}) for row in rows]


def _issued(row: dict[str, Any]) -> dict[str, Any]:
    return {"code": codes.display(row["code"]), "member_id": row["member"]}


async def member_coupons(member_id: int, at: datetime | None = None) -> list[dict[str, Any]]:
    """A member's own coupons, newest first, each with what it is worth and whether it can
    still be used (``usable``, ``used``, ``expired``, ``not_started``)."""
    at = at or utc_now()
    rows = (
        await Coupon.select(
            Coupon.code,
            Coupon.uses,
            Coupon.max_uses,
            Coupon.issued_at,
            Coupon.batch.code.as_alias("batch_code"),
            Coupon.batch.name.as_alias("name"),
            Coupon.batch.name_zh.as_alias("name_zh"),
            Coupon.batch.kind.as_alias("kind"),
            Coupon.batch.amount_off_minor.as_alias("amount_off_minor"),
            Coupon.batch.percent_off_bp.as_alias("percent_off_bp"),
            Coupon.batch.cap_minor.as_alias("cap_minor"),
            Coupon.batch.minimum_spend_minor.as_alias("minimum_spend_minor"),
            Coupon.batch.gift_sku.as_alias("gift_sku"),
            Coupon.batch.valid_from.as_alias("valid_from"),
            Coupon.batch.valid_to.as_alias("valid_to"),
            Coupon.batch.status.as_alias("batch_status"),
        )
        .where(Coupon.member == member_id)
        .order_by(Coupon.issued_at, ascending=False)
        .order_by(Coupon.code)
    )
    at = aware(at)
    found = []
    for row in rows:
        row["valid_from"], row["valid_to"] = aware(row["valid_from"]), aware(row["valid_to"])
        if row["uses"] >= row["max_uses"]:
            state = "used"
        elif at >= row["valid_to"] or row["batch_status"] != "active":
            state = "expired"
        elif at < row["valid_from"]:
            state = "not_started"
        else:
            state = "usable"
        found.append(
            {
                **row,
                "code": codes.display(row["code"]),
                "uses_left": max(0, row["max_uses"] - row["uses"]),
                "state": state,
            }
        )
    return found


async def merge_members(survivor_id: int, merged_id: int, merge_ref: str, at: datetime) -> None:
    """Merge hook: the merged member's coupons become the survivor's (inside the merge's
    transaction; idempotent by ``merge_ref``). Redemptions stay as they were recorded."""
    async with transaction():
        inserted = await (
            CouponMove.insert(
                CouponMove(
                    merge_ref=merge_ref, survivor=survivor_id, merged=merged_id, coupons=0, at=at
                )
            )
            .on_conflict(target=(CouponMove.merge_ref,), action="DO NOTHING")
            .returning(CouponMove.id)
        )
        if not inserted:
            return
        moved = (
            await Coupon.update({Coupon.member: survivor_id})
            .where(Coupon.member == merged_id)
            .returning(Coupon.id)
        )
        await CouponMove.update({CouponMove.coupons: len(moved)}).where(
            CouponMove.id == inserted[0]["id"]
        )
