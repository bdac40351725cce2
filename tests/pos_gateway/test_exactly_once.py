"""Exactly once: replays, conflicting reuse of an id, and identical requests racing."""

from __future__ import annotations

import asyncio

import pytest

from loyalty.points import points_summary
from loyalty.stored_value import stored_value_summary
from pos_gateway.tables import IdempotencyRecord, Sale
from tests.pos_gateway.conftest import Shop, txn


def _sale_body(shop: Shop, client_txn_id: str, quantity: int = 1) -> dict:
    return {
        "client_txn_id": client_txn_id,
        "local_time": "2026-11-23T10:00:00",
        "lines": [{"sku": "SNACK-2", "quantity": quantity}],
        "payments": [{"method": "stored_value", "amount_minor": 3990 * quantity}],
        "member": shop.member,
    }


async def test_replay_returns_the_first_answer_byte_for_byte(shop: Shop) -> None:
    await shop.top_up(10000)
    body = _sale_body(shop, txn())
    first = await shop.post("/sales", body)
    assert first.status_code == 201, first.text
    again = await shop.post("/sales", body)
    assert again.status_code == 200
    assert again.headers["idempotent-replay"] == "true"
    assert again.content == first.content
    assert await Sale.count() == 1
    assert (await stored_value_summary(shop.member_id))["balance"] == 10000 - 3990
    assert (await points_summary(shop.member_id))["balance"] == 39


async def test_same_id_with_another_body_is_a_conflict(shop: Shop) -> None:
    await shop.top_up(20000)
    client_txn_id = txn()
    assert (await shop.post("/sales", _sale_body(shop, client_txn_id))).status_code == 201
    other = await shop.post("/sales", _sale_body(shop, client_txn_id, quantity=2))
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_conflict"
    assert await Sale.count() == 1


async def test_ids_are_per_terminal(shop: Shop) -> None:
    client_txn_id = txn()
    body = {
        "client_txn_id": client_txn_id,
        "local_time": "2026-11-23T10:00:00",
        "lines": [{"sku": "SNACK-2", "quantity": 1}],
        "payments": [{"method": "cash", "amount_minor": 3990}],
    }
    assert (await shop.post("/sales", body)).status_code == 201
    other = await shop.post("/sales", body, headers=shop.other_store_headers)
    assert other.status_code == 201
    assert "idempotent-replay" not in other.headers
    assert await Sale.count() == 2


async def test_a_refused_request_is_not_stored_and_may_be_retried(shop: Shop) -> None:
    body = _sale_body(shop, txn())
    refused = await shop.post("/sales", body)
    assert refused.json()["code"] == "insufficient_stored_value"
    assert await IdempotencyRecord.count() == 0
    await shop.top_up(5000)
    retried = await shop.post("/sales", body)
    assert retried.status_code == 201, retried.text


@pytest.mark.postgres
async def test_identical_requests_racing_apply_once(shop: Shop) -> None:
    await shop.top_up(50000)
    body = _sale_body(shop, txn())
    answers = await asyncio.gather(*[shop.post("/sales", body) for _ in range(8)])
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201], [a.text for a in answers]
    assert len({a.content for a in answers}) == 1
    assert await Sale.count() == 1
    assert (await stored_value_summary(shop.member_id))["balance"] == 50000 - 3990
