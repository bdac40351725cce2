"""``/api/v1/pos``: what every till talks to, authenticated by its terminal API key."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Router, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from memberpos.clock import business_date, utc_now
from stores import catalog
from stores.guards import provide_terminal, terminal_middleware
from stores.terminals import TerminalIdentity


class TerminalOut(msgspec.Struct):
    terminal_id: int
    name: str
    store_code: str
    time_zone: str
    business_date: str


class PriceOut(msgspec.Struct):
    sku: str
    name: str
    retail_price_minor: int
    member_price_minor: int | None
    source: str


class TerminalController(Controller):
    path = "/"
    tags = ["POS"]

    @get("/terminal", summary="The terminal this key belongs to, and its store's date")
    async def whoami(self, terminal: NamedDependency[TerminalIdentity]) -> TerminalOut:
        return TerminalOut(
            terminal_id=terminal.terminal_id,
            name=terminal.name,
            store_code=terminal.store_code,
            time_zone=terminal.time_zone,
            business_date=business_date(utc_now(), terminal.time_zone).isoformat(),
        )

    @get("/products/{sku:str}", summary="A product and its price in this store today")
    async def product_price(
        self,
        sku: FromPath[str],
        terminal: NamedDependency[TerminalIdentity],
    ) -> PriceOut:
        product = await catalog.get_product(sku)
        price = await catalog.effective_price(
            sku, terminal.store_id, business_date(utc_now(), terminal.time_zone)
        )
        return PriceOut(
            sku=sku,
            name=product["name"],
            retail_price_minor=price.retail_price_minor,
            member_price_minor=price.member_price_minor,
            source=price.source,
        )


def pos_router(extra_handlers: list[Any] | None = None) -> Router:
    return Router(
        path="/api/v1/pos",
        route_handlers=[TerminalController, *(extra_handlers or [])],
        middleware=[terminal_middleware()],
        dependencies={"terminal": Provide(provide_terminal)},
    )
