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
