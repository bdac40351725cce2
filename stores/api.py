"""HQ API of the chain under ``/api/v1/hq``: sign-in, regions, stores, terminals, staff,
catalog, store prices and the audit log. Controllers parse, call the domain, serialise."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Router, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from memberpos.clock import business_date, utc_now
from memberpos.settings import get_settings
from stores import audit, catalog, chain, staff, terminals
from stores.access import Actor
from stores.guards import EXCLUDE_OPT, bearer, provide_actor, staff_middleware
from stores.schemas import (
    ActorOut,
    AuditOut,
    BrandIn,
    BrandOut,
    CategoryIn,
    CategoryOut,
    EffectivePriceOut,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductPatch,
    RegionIn,
    RegionOut,
    RegionPatch,
    RevokeIn,
    SignInRequest,
    SignInResponse,
    StaffIn,
    StaffOut,
    StaffPatch,
    StoreIn,
    StoreOut,
    StorePatch,
    StorePriceIn,
    StorePriceOut,
    TerminalIn,
    TerminalOut,
    TerminalWithKey,
    patch_values,
)


def _out(rows: Any, kind: type) -> Any:
    return msgspec.convert(rows, kind, strict=False)


def actor_out(actor: Actor) -> ActorOut:
    return ActorOut(
        employee_no=actor.employee_no,
        name=actor.name,
        roles=sorted(actor.roles),
        store_code=actor.home_store_code,
    )


class AuthController(Controller):
    path = "/auth"
    tags = ["HQ: sign-in"]

    @post(
        "/sign-in",
        status_code=HTTP_200_OK,
        opt={EXCLUDE_OPT: True},
        summary="Sign in with employee number and password; returns a bearer token",
    )
    async def sign_in(self, data: JSONBody[SignInRequest]) -> SignInResponse:
        result = await staff.sign_in(
            data.employee_no, data.password, get_settings().staff_token_hours
        )
        return SignInResponse(
            token=result.token,
            token_type="Bearer",
            expires_at=result.expires_at,
            staff=actor_out(result.actor),
        )

    @post("/sign-out", status_code=HTTP_204_NO_CONTENT, summary="End this token's session")
    async def sign_out(self, request: Request[Any, Any, Any]) -> None:
        await staff.sign_out(bearer(request) or "")

    @get("/me", summary="Who this token signs in")
    async def me(self, actor: NamedDependency[Actor]) -> ActorOut:
        return actor_out(actor)


class RegionController(Controller):
    path = "/regions"
    tags = ["HQ: chain"]

    @get("/")
    async def list_regions(self, actor: NamedDependency[Actor]) -> list[RegionOut]:
        return _out(await chain.list_regions(), list[RegionOut])

    @post("/")
    async def create_region(
        self, data: JSONBody[RegionIn], actor: NamedDependency[Actor]
    ) -> RegionOut:
        return _out(await chain.create_region(actor, data.code, data.name), RegionOut)

    @patch("/{code:str}")
    async def update_region(
        self, code: FromPath[str], data: JSONBody[RegionPatch], actor: NamedDependency[Actor]
    ) -> RegionOut:
        return _out(await chain.update_region(actor, code, data.name), RegionOut)


class StoreController(Controller):
    path = "/stores"
    tags = ["HQ: chain"]

    @get("/", summary="Stores in the caller's scope")
    async def list_stores(
        self,
        actor: NamedDependency[Actor],
        region_code: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
    ) -> list[StoreOut]:
        return _out(await chain.list_stores(actor, region_code, status), list[StoreOut])

    @post("/")
    async def create_store(
        self, data: JSONBody[StoreIn], actor: NamedDependency[Actor]
    ) -> StoreOut:
        return _out(await chain.create_store(actor, **msgspec.structs.asdict(data)), StoreOut)

    @get("/{code:str}")
    async def get_store(self, code: FromPath[str], actor: NamedDependency[Actor]) -> StoreOut:
        return _out(await chain.get_store(actor, code), StoreOut)

    @patch("/{code:str}")
    async def update_store(
        self, code: FromPath[str], data: JSONBody[StorePatch], actor: NamedDependency[Actor]
    ) -> StoreOut:
        return _out(await chain.update_store(actor, code, patch_values(data)), StoreOut)

    @get("/{code:str}/terminals")
    async def list_terminals(
        self, code: FromPath[str], actor: NamedDependency[Actor]
    ) -> list[TerminalOut]:
        return _out(await terminals.list_terminals(actor, code), list[TerminalOut])

    @post("/{code:str}/terminals", summary="Register a terminal; its API key is shown once")
    async def create_terminal(
        self, code: FromPath[str], data: JSONBody[TerminalIn], actor: NamedDependency[Actor]
    ) -> TerminalWithKey:
        row, key = await terminals.create_terminal(actor, code, data.name)
        return TerminalWithKey(terminal=_out(row, TerminalOut), api_key=key)


class TerminalController(Controller):
    path = "/terminals"
    tags = ["HQ: chain"]

    @get("/{terminal_id:int}")
    async def get_terminal(
        self, terminal_id: FromPath[int], actor: NamedDependency[Actor]
    ) -> TerminalOut:
        return _out(await terminals.get_terminal(actor, terminal_id), TerminalOut)

    @post(
        "/{terminal_id:int}/rotate-key",
        status_code=HTTP_200_OK,
        summary="Issue a new key; the old one stops working at once",
    )
    async def rotate_key(
        self, terminal_id: FromPath[int], actor: NamedDependency[Actor]
    ) -> TerminalWithKey:
        row, key = await terminals.rotate_key(actor, terminal_id)
        return TerminalWithKey(terminal=_out(row, TerminalOut), api_key=key)

    @post("/{terminal_id:int}/revoke", status_code=HTTP_200_OK)
    async def revoke(
        self, terminal_id: FromPath[int], data: JSONBody[RevokeIn], actor: NamedDependency[Actor]
    ) -> TerminalOut:
        return _out(await terminals.revoke(actor, terminal_id, data.reason), TerminalOut)


class StaffController(Controller):
    path = "/staff"
    tags = ["HQ: staff"]

    @get("/")
    async def list_staff(
        self, actor: NamedDependency[Actor], store_code: FromQuery[str | None] = None
    ) -> list[StaffOut]:
        return _out(await staff.list_staff(actor, store_code), list[StaffOut])

    @post("/")
    async def create_staff(
        self, data: JSONBody[StaffIn], actor: NamedDependency[Actor]
    ) -> StaffOut:
        return _out(await staff.create_staff(actor, **msgspec.structs.asdict(data)), StaffOut)

    @get("/{employee_no:str}")
    async def get_staff(
        self, employee_no: FromPath[str], actor: NamedDependency[Actor]
    ) -> StaffOut:
        return _out(await staff.get_staff(actor, employee_no), StaffOut)

    @patch("/{employee_no:str}")
    async def update_staff(
        self, employee_no: FromPath[str], data: JSONBody[StaffPatch], actor: NamedDependency[Actor]
    ) -> StaffOut:
        return _out(await staff.update_staff(actor, employee_no, patch_values(data)), StaffOut)


class CatalogController(Controller):
    path = "/"
    tags = ["HQ: catalog"]

    @get("/categories")
    async def list_categories(self, actor: NamedDependency[Actor]) -> list[CategoryOut]:
        return _out(await catalog.list_categories(), list[CategoryOut])

    @post("/categories")
    async def create_category(
        self, data: JSONBody[CategoryIn], actor: NamedDependency[Actor]
    ) -> CategoryOut:
        return _out(
            await catalog.create_category(actor, **msgspec.structs.asdict(data)), CategoryOut
        )

    @get("/brands")
    async def list_brands(self, actor: NamedDependency[Actor]) -> list[BrandOut]:
        return _out(await catalog.list_brands(), list[BrandOut])

    @post("/brands")
    async def create_brand(
        self, data: JSONBody[BrandIn], actor: NamedDependency[Actor]
    ) -> BrandOut:
        return _out(await catalog.create_brand(actor, **msgspec.structs.asdict(data)), BrandOut)

    @get("/products")
    async def list_products(
        self,
        actor: NamedDependency[Actor],
        search: FromQuery[str | None] = None,
        category_code: FromQuery[str | None] = None,
        brand_code: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> ProductPage:
        rows, total = await catalog.list_products(
            search=search,
            category_code=category_code,
            brand_code=brand_code,
            limit=limit,
            offset=offset,
        )
        return ProductPage(
            items=_out(rows, list[ProductOut]), total=total, limit=limit, offset=offset
        )

    @post("/products")
    async def create_product(
        self, data: JSONBody[ProductIn], actor: NamedDependency[Actor]
    ) -> ProductOut:
        return _out(await catalog.create_product(actor, **msgspec.structs.asdict(data)), ProductOut)

    @get("/products/{sku:str}")
    async def get_product(self, sku: FromPath[str], actor: NamedDependency[Actor]) -> ProductOut:
        return _out(await catalog.get_product(sku), ProductOut)

    @patch("/products/{sku:str}")
    async def update_product(
        self, sku: FromPath[str], data: JSONBody[ProductPatch], actor: NamedDependency[Actor]
    ) -> ProductOut:
        return _out(await catalog.update_product(actor, sku, patch_values(data)), ProductOut)

    @get("/products/{sku:str}/store-prices")
    async def list_store_prices(
        self,
        sku: FromPath[str],
        actor: NamedDependency[Actor],
        store_code: FromQuery[str | None] = None,
    ) -> list[StorePriceOut]:
        return _out(await catalog.list_store_prices(actor, sku, store_code), list[StorePriceOut])

    @post("/products/{sku:str}/store-prices", summary="A store's own price from a business date on")
    async def set_store_price(
        self, sku: FromPath[str], data: JSONBody[StorePriceIn], actor: NamedDependency[Actor]
    ) -> StorePriceOut:
        return _out(
            await catalog.set_store_price(actor, sku=sku, **msgspec.structs.asdict(data)),
            StorePriceOut,
        )

    @get("/products/{sku:str}/price", summary="The price in a store on a business date")
    async def effective_price(
        self,
        sku: FromPath[str],
        store_code: FromQuery[str],
        actor: NamedDependency[Actor],
        on: FromQuery[dt.date | None] = None,
    ) -> EffectivePriceOut:
        store = await chain.get_store(actor, store_code)
        on = on or business_date(utc_now(), store["time_zone"])
        price = await catalog.effective_price(sku, store["id"], on)
        return EffectivePriceOut(
            sku=sku,
            store_code=store_code,
            on=on,
            retail_price_minor=price.retail_price_minor,
            member_price_minor=price.member_price_minor,
            source=price.source,
        )


class AuditController(Controller):
    path = "/audit"
    tags = ["HQ: audit"]

    @get("/", summary="The audit log, newest first, within the caller's scope")
    async def list_entries(
        self,
        actor: NamedDependency[Actor],
        entity: FromQuery[str | None] = None,
        entity_key: FromQuery[str | None] = None,
        store_code: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[AuditOut]:
        rows = await audit.list_entries(
            actor, entity=entity, entity_key=entity_key, store_code=store_code, limit=limit
        )
        return _out(rows, list[AuditOut])


def hq_router(extra_handlers: list[Any] | None = None) -> Router:
    """Every ``/api/v1/hq`` controller behind staff sign-in; domains add theirs."""
    return Router(
        path="/api/v1/hq",
        route_handlers=[
            AuthController,
            RegionController,
            StoreController,
            TerminalController,
            StaffController,
            CatalogController,
            AuditController,
            *(extra_handlers or []),
        ],
        middleware=[staff_middleware()],
        dependencies={"actor": Provide(provide_actor)},
    )
