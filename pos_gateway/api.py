"""``/api/v1/pos``: what every till talks to, authenticated by its terminal API key."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody

from loyalty.earning import max_redemption
from memberpos.clock import business_date, utc_now
from pos_gateway import counter, schemas, tables
from pos_gateway.batches import post_batch
from pos_gateway.idempotency import Answer
from pos_gateway.pricing import price
from pos_gateway.refunds import post_refund
from pos_gateway.sales import post_sale, priced_lines_out, promotions_out
from stores import catalog
from stores.access import Actor
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


def _answer(answer: Answer) -> Response[bytes]:
    """The stored answer, byte for byte; a replay says so with 200 and a header (the first
    answer's status was 201 for a document created)."""
    headers = {"Idempotent-Replay": "true"} if answer.replayed else {}
    return Response(
        answer.body,
        status_code=200 if answer.replayed else answer.status_code,
        media_type="application/json",
        headers=headers,
    )


class CounterController(Controller):
    path = "/"
    tags = ["POS"]

    @get("/members", summary="Find a member by card number, QR code or phone (cashier view)")
    async def find(
        self,
        terminal: NamedDependency[TerminalIdentity],
        card_number: FromQuery[str | None] = None,
        qr_token: FromQuery[str | None] = None,
        phone: FromQuery[str | None] = None,
    ) -> schemas.MemberView:
        return await counter.lookup(
            schemas.MemberIn(card_number=card_number, qr_token=qr_token, phone=phone)
        )

    @post("/quote", status_code=200, summary="Price a basket (no state changes)")
    async def quote(
        self, data: JSONBody[schemas.QuoteIn], terminal: NamedDependency[TerminalIdentity]
    ) -> schemas.QuoteOut:
        priced = await price(
            terminal,
            lines=data.lines,
            member=data.member,
            coupons=data.coupons,
            manual=data.manual_discounts,
            local_time=data.local_time,
            cashier_employee_no=data.cashier_employee_no,
        )
        view = None
        points = value = 0
        if priced.member is not None:
            from pos_gateway.pricing import member_view_and_balances

            view, _ = await member_view_and_balances(
                priced.member.ref, priced.member.account_member_id, at=priced.occurred_at
            )
            points, value = max_redemption(
                priced.total_minor, view.points_spendable, priced.program
            )
        return schemas.QuoteOut(
            currency=priced.priced.currency,
            lines=priced_lines_out(priced),
            applied=promotions_out(priced, "en"),
            not_applied=[
                {"promotion_id": r.promotion_id, "code": r.code, "reason": r.reason_en}
                for r in priced.priced.rejected
            ],
            gifts=[
                {"sku": g.sku, "quantity": g.quantity, "promotion_id": g.promotion_id}
                for g in priced.priced.gifts
            ],
            gross_minor=priced.priced.gross_minor,
            discount_minor=priced.priced.discount_minor,
            total_minor=priced.total_minor,
            points_to_earn=priced.earn.points,
            member=view,
            max_points_redeemable=points,
            max_points_value_minor=value,
        )

    @post("/sales", status_code=201, summary="Book a sale, exactly once by client_txn_id")
    async def sale(
        self, data: JSONBody[schemas.SaleIn], terminal: NamedDependency[TerminalIdentity]
    ) -> Response[bytes]:
        return _answer(await post_sale(terminal, data))

    @get("/sales/{sale_no:str}", summary="A sale of this store, to refund it")
    async def get_sale(
        self, sale_no: FromPath[str], terminal: NamedDependency[TerminalIdentity]
    ) -> dict[str, Any]:
        from pos_gateway.queries import sale_detail

        return await sale_detail(sale_no, store_id=terminal.store_id)

    @post("/refunds", status_code=201, summary="Refund a sale, whole or in part, exactly once")
    async def refund(
        self, data: JSONBody[schemas.RefundIn], terminal: NamedDependency[TerminalIdentity]
    ) -> Response[bytes]:
        return _answer(await post_refund(terminal, data))

    @post("/top-ups", status_code=201, summary="Top up a member's stored value")
    async def top_up(
        self, data: JSONBody[schemas.TopUpIn], terminal: NamedDependency[TerminalIdentity]
    ) -> Response[bytes]:
        return _answer(await counter.post_top_up(terminal, data))

    @post("/members", status_code=201, summary="Register a member (a known phone: that member)")
    async def register(
        self,
        data: JSONBody[schemas.RegistrationIn],
        terminal: NamedDependency[TerminalIdentity],
    ) -> Response[bytes]:
        return _answer(await counter.post_registration(terminal, data))

    @post(
        "/cards/{card_number:str}/operations",
        status_code=200,
        summary="Report a card lost, freeze, unfreeze or replace it",
    )
    async def card_operation(
        self,
        card_number: FromPath[str],
        data: JSONBody[schemas.CardOperationIn],
        terminal: NamedDependency[TerminalIdentity],
    ) -> Response[bytes]:
        return _answer(await counter.post_card_operation(terminal, card_number, data))

    @get("/packages", summary="A member's open service packages (次卡)")
    async def packages(
        self,
        terminal: NamedDependency[TerminalIdentity],
        card_number: FromQuery[str | None] = None,
        qr_token: FromQuery[str | None] = None,
        phone: FromQuery[str | None] = None,
    ) -> list[dict[str, Any]]:
        return await counter.member_packages(
            schemas.MemberIn(card_number=card_number, qr_token=qr_token, phone=phone)
        )

    @post("/packages", status_code=201, summary="Sell a service package")
    async def sell_package(
        self, data: JSONBody[schemas.PackageSaleIn], terminal: NamedDependency[TerminalIdentity]
    ) -> Response[bytes]:
        return _answer(await counter.post_package_sale(terminal, data))

    @post("/packages/uses", status_code=201, summary="Use a service package at the counter")
    async def use_package(
        self, data: JSONBody[schemas.PackageUseIn], terminal: NamedDependency[TerminalIdentity]
    ) -> Response[bytes]:
        return _answer(await counter.post_package_use(terminal, data))

    @post("/packages/refunds", status_code=201, summary="Refund unused uses (manager)")
    async def refund_package(
        self,
        data: JSONBody[schemas.PackageRefundIn],
        terminal: NamedDependency[TerminalIdentity],
    ) -> Response[bytes]:
        return _answer(await counter.post_package_refund(terminal, data))

    @post("/batches", status_code=200, summary="Upload operations made offline, in order")
    async def batch(
        self, data: JSONBody[schemas.BatchIn], terminal: NamedDependency[TerminalIdentity]
    ) -> schemas.BatchOut:
        return await post_batch(terminal, data)


POS_HANDLERS = [CounterController]
ADMIN_TABLES = [
    tables.Sale,
    tables.SaleLine,
    tables.SalePayment,
    tables.Refund,
    tables.RefundLine,
    tables.TopUp,
    tables.OfflineRejection,
]


class OfflineRejectionsController(Controller):
    path = "/offline-rejections"
    tags = ["POS"]

    @get("/", summary="Offline operations refused at upload, for managers to settle")
    async def list_rejections(
        self,
        actor: NamedDependency[Actor],
        store_code: FromQuery[str | None] = None,
        open_only: FromQuery[bool] = True,
    ) -> list[dict[str, Any]]:
        from pos_gateway.queries import offline_rejections

        return await offline_rejections(actor, store_code=store_code, open_only=open_only)

    @post("/{rejection_id:int}/resolve", status_code=200, summary="Mark one settled")
    async def resolve(
        self,
        rejection_id: FromPath[int],
        data: JSONBody[schemas.ResolutionIn],
        actor: NamedDependency[Actor],
    ) -> dict[str, Any]:
        from pos_gateway.queries import resolve_rejection

        return await resolve_rejection(actor, rejection_id, data.resolution)


class SalesController(Controller):
    path = "/sales"
    tags = ["Sales"]

    @get("/{sale_no:str}", summary="A sale with its lines, payments and refunds")
    async def get_sale(
        self, sale_no: FromPath[str], actor: NamedDependency[Actor]
    ) -> dict[str, Any]:
        from pos_gateway.queries import sale_detail_for

        return await sale_detail_for(actor, sale_no)


HQ_HANDLERS = [OfflineRejectionsController, SalesController]


def pos_router(extra_handlers: list[Any] | None = None) -> Router:
    return Router(
        path="/api/v1/pos",
        route_handlers=[TerminalController, *(extra_handlers or [])],
        middleware=[terminal_middleware()],
        dependencies={"terminal": Provide(provide_terminal)},
    )
