"""Parallel requests through the HTTP API on PostgreSQL: stored value never below zero,
never more refunded than sold."""

from __future__ import annotations

import asyncio

import pytest

from loyalty.stored_value import stored_value_summary
from pos_gateway.tables import Sale
from pos_gateway.verify import check_sales
from tests.pos_gateway.conftest import Shop, txn

pytestmark = pytest.mark.postgres


async def test_parallel_stored_value_sales_never_overdraw(shop: Shop) -> None:
    await shop.top_up(142 * 3990 + 3000)  # affords 142 of 3,990

    async def one() -> int:
        response = await shop.sale(
            [{"sku": "SNACK-2", "quantity": 1}],
            [{"method": "stored_value", "amount_minor": 3990}],
            member=shop.member,
        )
        return response.status_code

    codes = await asyncio.gather(*[one() for _ in range(200)])
    assert codes.count(201) == 142
    assert set(codes) == {201, 409}
    balance = await stored_value_summary(shop.member_id)
    assert balance["balance"] == 3000
    assert await Sale.count() == 142
    assert await check_sales() == []


async def test_parallel_refunds_of_the_last_unit(shop: Shop) -> None:
    sale = (
        await shop.sale(
            [{"sku": "SNACK-2", "quantity": 2}], [{"method": "cash", "amount_minor": 7980}]
        )
    ).json()

    async def refund() -> int:
        response = await shop.post(
            "/refunds",
            {
                "client_txn_id": txn(),
                "local_time": "2026-11-23T16:00:00",
                "sale_no": sale["sale_no"],
                "lines": [{"line_no": 1, "quantity": 1}],
            },
        )
        return response.status_code

    codes = await asyncio.gather(*[refund() for _ in range(10)])
    assert codes.count(201) == 2
    row = await Sale.select(Sale.refunded_minor).where(Sale.sale_no == sale["sale_no"]).first()
    assert row["refunded_minor"] == 7980
    assert await check_sales() == []


async def test_parent_and_child_cards_selling_at_once_never_deadlock(shop: Shop) -> None:
    from members import family
    from members.cards import Operator
    from members.registration import Registration, register
    from stores.access import Role
    from tests.pos_gateway.conftest import MEMBER_PIN

    child = await register(
        Registration(phone="13812349999", name="王小明", home_store_id=shop.stores["SH001"]["id"]),
        Operator(roles=frozenset({Role.cashier})),
    )
    await family.attach_child(
        shop.member_id,
        child.member_id,
        daily_limit_minor=10_000_000,
        monthly_limit_minor=10_000_000,
        who=family.FamilyActor(parent_pin=MEMBER_PIN),
    )
    await shop.top_up(1_000_000)
    await shop.sale(
        [{"sku": "SNACK-1", "quantity": 10}],
        [{"method": "cash", "amount_minor": 128_000}],
        member=shop.member,
    )  # points to spend

    async def sale(card: dict, with_points: bool) -> int:
        payments = [{"method": "stored_value", "amount_minor": 3990 - (100 if with_points else 0)}]
        if with_points:
            payments.append({"method": "points", "amount_minor": 100, "points": 100})
        response = await shop.sale([{"sku": "SNACK-2", "quantity": 1}], payments, member=card)
        return response.status_code

    cards = [shop.member, {"card_number": child.card["number"]}]
    codes = await asyncio.gather(*[sale(cards[n % 2], n % 3 == 0) for n in range(40)])
    assert 500 not in codes
    assert codes.count(201) >= 30, codes
    assert await check_sales() == []
