"""HQ API of promotions and coupon batches under ``/api/v1/hq`` and the member's own coupons
under ``/api/v1/me``. Controllers parse, call the domain (which authorises), serialise."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from members.identity import MemberIdentity
from promotions import coupons, engine, management
from promotions.management import Limits
from promotions.schemas import (
    CouponBatchIn,
    CouponBatchOut,
    DryRunIn,
    DryRunOut,
    IssuedOut,
    IssueIn,
    LimitsIn,
    MyCouponOut,
    PromotionIn,
    PromotionOut,
    PromotionPatch,
    StackingPolicyIn,
    StackingPolicyOut,
)
from promotions.tables import CouponBatch, CouponRedemption, Promotion, PromotionRevision
from stores.access import Actor
from stores.chain import store_by_code


def _out(value: Any, kind: type) -> Any:
    return msgspec.convert(value, kind, strict=False)


def _limits(data: LimitsIn) -> Limits:
    return Limits(**msgspec.structs.asdict(data))


class PromotionController(Controller):
    path = "/promotions"
    tags = ["HQ: promotions"]

    @get("/", summary="Promotions in the caller's scope")
    async def list_promotions(
        self,
        actor: NamedDependency[Actor],
        status: FromQuery[str | None] = None,
        store_code: FromQuery[str | None] = None,
    ) -> list[PromotionOut]:
        rows = await management.list_promotions(actor, status=status, store_code=store_code)
        return _out(rows, list[PromotionOut])

    @post("/", status_code=HTTP_201_CREATED, summary="Create a promotion (as a draft)")
    async def create_promotion(
        self, data: JSONBody[PromotionIn], actor: NamedDependency[Actor]
    ) -> PromotionOut:
        row = await management.create_promotion(
            actor, data.definition, _limits(data.limits), store_code=data.store_code
        )
        return _out(row, PromotionOut)

    @get("/{code:str}")
    async def get_promotion(
        self, code: FromPath[str], actor: NamedDependency[Actor]
    ) -> PromotionOut:
        return _out(await management.get_promotion(actor, code), PromotionOut)

    @patch("/{code:str}", summary="Change the definition or limits (a new revision from now)")
    async def update_promotion(
        self, code: FromPath[str], data: JSONBody[PromotionPatch], actor: NamedDependency[Actor]
    ) -> PromotionOut:
        row = await management.update_promotion(
            actor,
            code,
            definition=data.definition,
            limits=_limits(data.limits) if data.limits is not None else None,
        )
        return _out(row, PromotionOut)

    @post("/{code:str}/activate", status_code=HTTP_200_OK)
    async def activate(self, code: FromPath[str], actor: NamedDependency[Actor]) -> PromotionOut:
        return _out(await management.change_status(actor, code, "activate"), PromotionOut)

    @post("/{code:str}/pause", status_code=HTTP_200_OK)
    async def pause(self, code: FromPath[str], actor: NamedDependency[Actor]) -> PromotionOut:
        return _out(await management.change_status(actor, code, "pause"), PromotionOut)

    @post("/{code:str}/end", status_code=HTTP_200_OK)
    async def end(self, code: FromPath[str], actor: NamedDependency[Actor]) -> PromotionOut:
        return _out(await management.change_status(actor, code, "end"), PromotionOut)

    @post(
        "/{code:str}/dry-run",
        status_code=HTTP_200_OK,
        summary="Price a sample basket with this promotion and the live ones; writes nothing",
    )
    async def dry_run(
        self, code: FromPath[str], data: JSONBody[DryRunIn], actor: NamedDependency[Actor]
    ) -> DryRunOut:
        store = await store_by_code(data.store_code)
        local = data.local_datetime
        if local is None:
            local = management.local_now(store["time_zone"])
        elif local.tzinfo is not None:
            local = local.astimezone(management.zone_of(store["time_zone"])).replace(tzinfo=None)
        context = engine.SaleContext(
            local_datetime=local,
            store_code=store["code"],
            region_code=store["region_code"],
            is_member=data.is_member,
            tier_code=data.tier_code,
            tier_discount_bp=data.tier_discount_bp,
            birthday_month=data.birthday_month,
            is_first_purchase=data.is_first_purchase,
        )
        basket = engine.Basket(lines=tuple(data.lines), currency=data.currency)
        priced, text_en, text_zh = await management.dry_run(
            actor, code, store_code=data.store_code, basket=basket, context=context
        )
        return DryRunOut(priced=priced, explanation_en=text_en, explanation_zh=text_zh)


class StackingPolicyController(Controller):
    path = "/stacking-policy"
    tags = ["HQ: promotions"]

    @get("/", summary="Which promotion groups exclude each other")
    async def get_policy(self, actor: NamedDependency[Actor]) -> StackingPolicyOut:
        policy = await management.get_stacking_policy(actor)
        return _out(msgspec.to_builtins(policy), StackingPolicyOut)

    @put("/", summary="Set the stacking policy (HQ)")
    async def set_policy(
        self, data: JSONBody[StackingPolicyIn], actor: NamedDependency[Actor]
    ) -> StackingPolicyOut:
        policy = await management.set_stacking_policy(
            actor,
            engine.StackingPolicy(
                exclusive_groups=frozenset(data.exclusive_groups),
                max_combinations=data.max_combinations,
            ),
        )
        return _out(msgspec.to_builtins(policy), StackingPolicyOut)


class CouponBatchController(Controller):
    path = "/coupon-batches"
    tags = ["HQ: coupons"]

    @get("/")
    async def list_batches(self, actor: NamedDependency[Actor]) -> list[CouponBatchOut]:
        return _out(await coupons.list_batches(actor), list[CouponBatchOut])

    @post("/", status_code=HTTP_201_CREATED, summary="Create a coupon batch (HQ)")
    async def create_batch(
        self, data: JSONBody[CouponBatchIn], actor: NamedDependency[Actor]
    ) -> CouponBatchOut:
        values = msgspec.structs.asdict(data)
        values["store_codes"] = tuple(data.store_codes)
        values["region_codes"] = tuple(data.region_codes)
        row = await coupons.create_batch(actor, coupons.BatchSpec(**values))
        return _out(row, CouponBatchOut)

    @get("/{code:str}")
    async def get_batch(self, code: FromPath[str], actor: NamedDependency[Actor]) -> CouponBatchOut:
        return _out(await coupons.get_batch(actor, code), CouponBatchOut)

    @post(
        "/{code:str}/issue",
        status_code=HTTP_201_CREATED,
        summary="Issue coupons to members or to the bearer; returns the codes",
    )
    async def issue(
        self, code: FromPath[str], data: JSONBody[IssueIn], actor: NamedDependency[Actor]
    ) -> list[IssuedOut]:
        issued = await coupons.issue(
            actor,
            code,
            member_ids=data.member_ids,
            bearer_count=data.bearer_count,
            issue_ref=data.issue_ref,
        )
        return _out(issued, list[IssuedOut])


@get("/coupons", tags=["Member: coupons"], summary="My coupons and whether each can be used")
async def my_coupons(member: NamedDependency[MemberIdentity]) -> list[MyCouponOut]:
    return _out(await coupons.member_coupons(member.member_id), list[MyCouponOut])


HQ_HANDLERS = [PromotionController, StackingPolicyController, CouponBatchController]
# Read-only in the admin site; coupons (bearer codes are worth money) are not listed there.
ADMIN_TABLES = [Promotion, PromotionRevision, CouponBatch, CouponRedemption]
ME_HANDLERS = [my_coupons]
