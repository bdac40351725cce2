"""HTTP API of the ledgers. HQ (``/api/v1/hq/loyalty``): program settings, earning and top-up
rules, package products, member account views, manual adjustments and liability figures.
Members (``/api/v1/me``): their balances, points about to expire and their history.
Controllers parse, authorise, call the domain and serialise."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from loyalty import adjustments, configuration, liability, packages, views
from loyalty.program import load_program
from loyalty.schemas import (
    AdjustmentIn,
    AdjustmentOut,
    BalancesOut,
    EarningRuleIn,
    EarningRuleOut,
    EarningRulePatch,
    ExpiringOut,
    HistoryPage,
    LiabilityOut,
    MemberAccountOut,
    PackageProductIn,
    PackageProductOut,
    PackageProductPatch,
    ProgramOut,
    ProgramPatch,
    TopUpRuleIn,
    TopUpRuleOut,
    TopUpRulePatch,
    patch_values,
)
from loyalty.tables import (
    Adjustment,
    EarningRule,
    LoyaltyProgram,
    ServicePackageProduct,
    TopUpRule,
)
from memberpos.clock import business_date, utc_now
from memberpos.errors import Forbidden, NotFound, OutOfScope
from memberpos.settings import get_settings
from members.identity import MemberIdentity
from members.phones import mask
from members.tables import Member
from stores.access import Actor, Role
from stores.tables import Store


def _out(value: Any, kind: Any) -> Any:
    return msgspec.convert(value, kind, strict=False)


async def _member_in_scope(actor: Actor, member_id: int) -> dict[str, Any]:
    """The member, if the actor may see their ledgers: HQ admins and analysts any member,
    a store manager the members of their own store; nobody else."""
    if not actor.roles & {Role.hq_admin, Role.analyst, Role.store_manager}:
        raise Forbidden("Your role may not read member accounts")
    member = (
        await Member.select(
            Member.id, Member.name, Member.phone, Member.home_store, Member.home_store.code
        )
        .where(Member.id == member_id)
        .first()
    )
    if member is None:
        raise NotFound(f"No member {member_id}", field="member_id")
    if not actor.chain_wide and member["home_store"] != actor.home_store_id:
        raise OutOfScope("You may see only members of your own store")
    return member


def _may_see_phone(actor: Actor, member: dict[str, Any]) -> bool:
    if Role.hq_admin in actor.roles:
        return True
    return Role.store_manager in actor.roles and member["home_store"] == actor.home_store_id


class LoyaltySetupController(Controller):
    path = "/loyalty"
    tags = ["HQ: loyalty"]

    @get("/program", summary="The program's settings")
    async def get_program(self, actor: NamedDependency[Actor]) -> ProgramOut:
        configuration.require_reader(actor)
        return _out((await load_program()).__dict__, ProgramOut)

    @patch("/program", summary="Change settings (HQ admin; audited)")
    async def update_program(
        self, data: JSONBody[ProgramPatch], actor: NamedDependency[Actor]
    ) -> ProgramOut:
        program = await configuration.update_program(actor, patch_values(data))
        return _out(program.__dict__, ProgramOut)

    @get("/earning-rules")
    async def list_earning_rules(self, actor: NamedDependency[Actor]) -> list[EarningRuleOut]:
        configuration.require_reader(actor)
        return _out(await configuration.list_earning_rules(), list[EarningRuleOut])

    @post("/earning-rules", summary="A multiplier or exclusion (multiplier 0), time-ranged")
    async def create_earning_rule(
        self, data: JSONBody[EarningRuleIn], actor: NamedDependency[Actor]
    ) -> EarningRuleOut:
        row = await configuration.create_earning_rule(actor, **msgspec.structs.asdict(data))
        return _out(row, EarningRuleOut)

    @patch("/earning-rules/{code:str}", summary="Change or end a rule (rules are not deleted)")
    async def update_earning_rule(
        self, code: FromPath[str], data: JSONBody[EarningRulePatch], actor: NamedDependency[Actor]
    ) -> EarningRuleOut:
        row = await configuration.update_earning_rule(actor, code, patch_values(data))
        return _out(row, EarningRuleOut)

    @get("/top-up-rules")
    async def list_top_up_rules(self, actor: NamedDependency[Actor]) -> list[TopUpRuleOut]:
        configuration.require_reader(actor)
        return _out(await configuration.list_top_up_rules(), list[TopUpRuleOut])

    @post("/top-up-rules", summary="Pay at least this much, get this bonus; time-ranged")
    async def create_top_up_rule(
        self, data: JSONBody[TopUpRuleIn], actor: NamedDependency[Actor]
    ) -> TopUpRuleOut:
        row = await configuration.create_top_up_rule(actor, **msgspec.structs.asdict(data))
        return _out(row, TopUpRuleOut)

    @patch("/top-up-rules/{code:str}")
    async def update_top_up_rule(
        self, code: FromPath[str], data: JSONBody[TopUpRulePatch], actor: NamedDependency[Actor]
    ) -> TopUpRuleOut:
        row = await configuration.update_top_up_rule(actor, code, patch_values(data))
        return _out(row, TopUpRuleOut)

    @get("/package-products")
    async def list_package_products(
        self, actor: NamedDependency[Actor], active_only: FromQuery[bool] = False
    ) -> list[PackageProductOut]:
        configuration.require_reader(actor)
        return _out(await packages.list_products(active_only), list[PackageProductOut])

    @post("/package-products", summary="A prepaid package: N uses for a price, valid N days")
    async def create_package_product(
        self, data: JSONBody[PackageProductIn], actor: NamedDependency[Actor]
    ) -> PackageProductOut:
        row = await packages.define_product(actor, **msgspec.structs.asdict(data))
        return _out(row, PackageProductOut)

    @patch("/package-products/{code:str}", summary="Change terms for future sales")
    async def update_package_product(
        self,
        code: FromPath[str],
        data: JSONBody[PackageProductPatch],
        actor: NamedDependency[Actor],
    ) -> PackageProductOut:
        row = await packages.update_product(actor, code, patch_values(data))
        return _out(row, PackageProductOut)


class LoyaltyAccountController(Controller):
    path = "/loyalty/members"
    tags = ["HQ: loyalty"]

    @get("/{member_id:int}/account", summary="A member's balances, lots, entries and packages")
    async def account(
        self, member_id: FromPath[int], actor: NamedDependency[Actor]
    ) -> MemberAccountOut:
        member = await _member_in_scope(actor, member_id)
        view = await views.account_view(member_id)
        phone = member["phone"] if _may_see_phone(actor, member) else mask(member["phone"])
        return _out(
            {
                **view,
                "member_id": member_id,
                "name": member["name"],
                "phone": phone,
                "home_store_code": member["home_store.code"],
            },
            MemberAccountOut,
        )

    @get("/{member_id:int}/history", summary="Both ledgers, newest first, cursor paging")
    async def history(
        self,
        member_id: FromPath[int],
        actor: NamedDependency[Actor],
        cursor: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> HistoryPage:
        await _member_in_scope(actor, member_id)
        items, next_cursor = await views.history(member_id, cursor=cursor, limit=limit)
        return _out({"items": items, "next_cursor": next_cursor}, HistoryPage)

    @post(
        "/{member_id:int}/adjustments",
        status_code=HTTP_200_OK,
        summary="Adjust points / stored value (store manager, HQ admin; reason; per-role limit)",
    )
    async def adjust(
        self, member_id: FromPath[int], data: JSONBody[AdjustmentIn], actor: NamedDependency[Actor]
    ) -> AdjustmentOut:
        result = await adjustments.adjust(
            actor,
            ref=data.adjustment_id,
            member_id=member_id,
            reason=data.reason,
            points=data.points,
            principal_minor=data.principal_minor,
            bonus_minor=data.bonus_minor,
        )
        return _out(result.__dict__, AdjustmentOut)


class LiabilityController(Controller):
    path = "/loyalty/liability"
    tags = ["HQ: loyalty"]

    @get(
        "/",
        summary="Outstanding points (and value), stored value and packages at the end of a date",
    )
    async def liability(
        self,
        actor: NamedDependency[Actor],
        as_of: FromQuery[dt.date | None] = None,
        store_code: FromQuery[str | None] = None,
    ) -> LiabilityOut:
        if not actor.roles & {Role.hq_admin, Role.analyst, Role.store_manager}:
            raise Forbidden("Your role may not read liability figures")
        as_of = as_of or business_date(utc_now(), get_settings().time_zone)
        store_ids = actor.visible_store_ids()
        if store_code is not None:
            store = await Store.select(Store.id).where(Store.code == store_code).first()
            if store is None:
                raise NotFound(f"No store {store_code!r}", field="store_code")
            if store_ids is not None and store["id"] not in store_ids:
                raise OutOfScope()
            store_ids = {store["id"]}
        figures = await liability.liability(as_of, store_ids=store_ids)
        return _out(liability.as_dict(figures), LiabilityOut)


HQ_HANDLERS = [LoyaltySetupController, LoyaltyAccountController, LiabilityController]
# Read-only in piccolo-admin: the set-up and the adjustments (ledger entries stay behind the
# API, where the phone is masked and access is scoped).
ADMIN_TABLES = [LoyaltyProgram, EarningRule, TopUpRule, ServicePackageProduct, Adjustment]


# ---------------------------------------------------------------------- member self-service


@get("/balances", tags=["Member: loyalty"], summary="My points and stored value")
async def my_balances(member: NamedDependency[MemberIdentity]) -> BalancesOut:
    return _out(await views.balances(member.member_id), BalancesOut)


@get("/points/expiring", tags=["Member: loyalty"], summary="My points expiring within N days")
async def my_expiring_points(
    member: NamedDependency[MemberIdentity],
    days: Annotated[int, QueryParameter(ge=0, le=3660)] = 30,
) -> list[ExpiringOut]:
    return _out(await views.expiring(member.member_id, days), list[ExpiringOut])


@get("/history", tags=["Member: loyalty"], summary="My points and stored-value history")
async def my_history(
    member: NamedDependency[MemberIdentity],
    cursor: FromQuery[str | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=200)] = 20,
) -> HistoryPage:
    items, next_cursor = await views.history(member.member_id, cursor=cursor, limit=limit)
    return _out({"items": items, "next_cursor": next_cursor}, HistoryPage)


ME_HANDLERS = [my_balances, my_expiring_points, my_history]
