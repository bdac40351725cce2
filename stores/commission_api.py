"""HQ API of salesperson commission under ``/api/v1/hq/commission``: rules (hq_admin),
periods and their close (the store's manager or hq_admin), statements per salesperson, store
and chain, CSV export, targets and pool shares. Who may see what is decided in
``stores.commission``: a store manager only their store, a salesperson only their own."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

from stores import commission_periods, commission_rules, commission_statements
from stores.access import Actor
from stores.commission_errors import NotOwnStatement
from stores.commission_tables import (
    CommissionPeriod,
    CommissionPoolShare,
    CommissionRule,
    CommissionTarget,
)

Code = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9][A-Z0-9_-]{1,31}$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
BasisPoints = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
MinorUnits = Annotated[int, msgspec.Meta(ge=0, le=10**12)]
Month = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies: unknown fields are refused rather than silently ignored."""


class LevelIn(Input):
    above_minor: MinorUnits
    rate_bp: BasisPoints


class RuleIn(Input):
    code: Code
    name: Name
    valid_from: dt.date
    valid_until: dt.date | None = None
    store_code: Code | None = None
    region_code: Code | None = None
    category_code: Code | None = None
    brand_code: Code | None = None
    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    basis: Literal["rate", "per_unit"] = "rate"
    rate_bp: BasisPoints = 0
    amount_per_unit_minor: MinorUnits = 0
    exclude_points_paid: bool = False
    pool_share_bp: BasisPoints = 0
    level_mode: Literal["flat", "marginal", "whole"] = "flat"
    levels: list[LevelIn] = msgspec.field(default_factory=list)


class RuleEndIn(Input):
    valid_until: dt.date


class TargetIn(Input):
    store_code: Code
    month: Month
    target_minor: MinorUnits
    employee_no: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None


class PoolShareIn(Input):
    employee_no: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    weight: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]


class PoolSharesIn(Input):
    shares: list[PoolShareIn]


def _month(text: str) -> dt.date:
    return commission_periods.parse_month(text, field="month")


class CommissionController(Controller):
    path = "/commission"
    tags = ["HQ: commission"]

    @get("/rules", summary="Commission rules, optionally those valid on a date")
    async def list_rules(
        self, actor: NamedDependency[Actor], on: FromQuery[dt.date | None] = None
    ) -> list[dict[str, Any]]:
        return await commission_rules.list_rules(actor, on)

    @post("/rules", summary="Add a rule (hq_admin); its terms never change afterwards")
    async def create_rule(
        self, data: JSONBody[RuleIn], actor: NamedDependency[Actor]
    ) -> dict[str, Any]:
        values = msgspec.structs.asdict(data)
        values["levels"] = [msgspec.structs.asdict(level) for level in data.levels]
        return await commission_rules.create_rule(actor, **values)

    @post("/rules/{code:str}/end", status_code=HTTP_200_OK, summary="End a rule after a date")
    async def end_rule(
        self, code: FromPath[str], data: JSONBody[RuleEndIn], actor: NamedDependency[Actor]
    ) -> dict[str, Any]:
        return await commission_rules.end_rule(actor, code, data.valid_until)

    @get("/periods", summary="Commission periods in the caller's scope")
    async def list_periods(
        self, actor: NamedDependency[Actor], store_code: FromQuery[str | None] = None
    ) -> list[dict[str, Any]]:
        return await commission_periods.list_periods(actor, store_code)

    @post(
        "/periods/{store_code:str}/{month:str}/close",
        status_code=HTTP_200_OK,
        summary="Close a store's month (its manager or hq_admin); split the pool",
    )
    async def close_period(
        self, store_code: FromPath[str], month: FromPath[str], actor: NamedDependency[Actor]
    ) -> dict[str, Any]:
        return await commission_periods.close_period(actor, store_code, _month(month))

    @get("/statements/chain/{month:str}", summary="Every store's month (hq_admin, analyst)")
    async def chain_statement(
        self, month: FromPath[str], actor: NamedDependency[Actor]
    ) -> dict[str, Any]:
        return await commission_statements.chain_statement(actor, _month(month))

    @get("/statements/me/{month:str}", summary="The caller's own statement in their store")
    async def my_statement(
        self, month: FromPath[str], actor: NamedDependency[Actor]
    ) -> dict[str, Any]:
        if actor.home_store_code is None:
            raise NotOwnStatement("You have no home store", field="store_code")
        return await commission_statements.staff_statement(
            actor, actor.home_store_code, _month(month), actor.employee_no
        )

    @get("/statements/{store_code:str}/{month:str}", summary="A store's month")
    async def store_statement(
        self, store_code: FromPath[str], month: FromPath[str], actor: NamedDependency[Actor]
    ) -> dict[str, Any]:
        return await commission_statements.store_statement(actor, store_code, _month(month))

    @get(
        "/statements/{store_code:str}/{month:str}/staff/{employee_no:str}",
        summary="One salesperson's month: lines, rates, levels, pool share, adjustments",
    )
    async def staff_statement(
        self,
        store_code: FromPath[str],
        month: FromPath[str],
        employee_no: FromPath[str],
        actor: NamedDependency[Actor],
    ) -> dict[str, Any]:
        return await commission_statements.staff_statement(
            actor, store_code, _month(month), employee_no
        )

    @get(
        "/export/{store_code:str}/{month:str}",
        summary="CSV of a store's month: every entry (detail=lines) or per salesperson",
        media_type="text/csv",
    )
    async def export_csv(
        self,
        store_code: FromPath[str],
        month: FromPath[str],
        actor: NamedDependency[Actor],
        detail: FromQuery[Literal["lines", "summary"]] = "lines",
        employee_no: FromQuery[str | None] = None,
    ) -> Response[str]:
        text = await commission_statements.statement_csv(
            actor, store_code, _month(month), employee_no=employee_no, detail=detail
        )
        name = f"commission-{store_code}-{month}{'-' + employee_no if employee_no else ''}.csv"
        return Response(
            "\ufeff" + text,  # a BOM, so spreadsheet programs read the names as UTF-8
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @put("/targets", summary="Set a month's sales target of a store or a salesperson")
    async def set_target(
        self, data: JSONBody[TargetIn], actor: NamedDependency[Actor]
    ) -> dict[str, Any]:
        return await commission_periods.set_target(
            actor, data.store_code, _month(data.month), data.target_minor, data.employee_no
        )

    @put("/pool-shares/{store_code:str}", summary="How the store's pool is split at close")
    async def set_pool_shares(
        self, store_code: FromPath[str], data: JSONBody[PoolSharesIn], actor: NamedDependency[Actor]
    ) -> list[dict[str, Any]]:
        return await commission_periods.set_pool_shares(
            actor, store_code, [(share.employee_no, share.weight) for share in data.shares]
        )


HQ_HANDLERS = [CommissionController]
# Read-only in piccolo-admin: changes go through the API, authorised and audited.
ADMIN_TABLES = [CommissionRule, CommissionPeriod, CommissionTarget, CommissionPoolShare]
