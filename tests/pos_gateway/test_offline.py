"""Offline upload: in order, exactly once, priced at the sale's own time, refusals listed."""

from __future__ import annotations

from loyalty.points import points_summary
from pos_gateway.tables import OfflineRejection, Sale
from tests.pos_gateway.conftest import Shop, txn


def _offline_sale(shop: Shop, payments: list[dict], **extra) -> dict:
    return {
        "kind": "sale",
        "body": {
            "client_txn_id": txn(),
            "local_time": "2026-11-20T11:30:00",
            "lines": [{"sku": "SNACK-2", "quantity": 2}],
            "payments": payments,
            "member": shop.member,
            **extra,
        },
    }


async def test_batch_applies_in_order_once_and_lists_what_it_refuses(shop: Shop) -> None:
    good = _offline_sale(shop, [{"method": "cash", "amount_minor": 7980}])
    short = _offline_sale(shop, [{"method": "cash", "amount_minor": 7000}])
    # a stored-value spend made offline beyond the balance (there is none)
    stored = _offline_sale(shop, [{"method": "stored_value", "amount_minor": 7980}])
    flagged = _offline_sale(shop, [{"method": "stored_value", "amount_minor": 7980}], offline=True)
    batch = {"batch_id": "b-1", "items": [good, short, stored, flagged]}
    response = await shop.post("/batches", batch)
    assert response.status_code == 200, response.text
    answer = response.json()
    outcomes = [i["outcome"] for i in answer["items"]]
    assert outcomes == ["applied", "rejected", "rejected", "rejected"]
    assert answer["items"][1]["error"]["code"] == "payments_mismatch"
    assert answer["items"][2]["error"]["code"] == "insufficient_stored_value"
    assert answer["items"][3]["error"]["code"] == "offline_payment_not_allowed"
    sale = answer["items"][0]["answer"]
    assert sale["business_date"] == "2026-11-20"
    assert sale["points_earned"] == 79  # earned at upload
    assert (await points_summary(shop.member_id))["balance"] == 79
    row = await Sale.select(Sale.offline).where(Sale.sale_no == sale["sale_no"]).first()
    assert row["offline"] is True
    again = (await shop.post("/batches", batch)).json()
    assert [i["outcome"] for i in again["items"]] == [
        "replayed",
        "rejected",
        "rejected",
        "rejected",
    ]
    assert again["items"][0]["answer"] == sale
    assert await Sale.count() == 1
    assert await OfflineRejection.count() == 3  # listed once, not once per upload


async def test_offline_day_equals_the_same_day_online(shop: Shop) -> None:
    bodies = [
        {
            "client_txn_id": f"day-{n}",
            "local_time": f"2026-11-20T{9 + n}:00:00",
            "lines": [{"sku": "SNACK-1", "quantity": 1}, {"sku": "SNACK-2", "quantity": n}],
            "payments": [{"method": "cash", "amount_minor": 12800 + 3990 * n}],
            "member": shop.member,
        }
        for n in range(1, 4)
    ]
    batch = {"batch_id": "day", "items": [{"kind": "sale", "body": b} for b in bodies]}
    offline = (await shop.post("/batches", batch)).json()
    offline_points = (await points_summary(shop.member_id))["balance"]
    online = []
    for body in bodies:
        response = await shop.post(
            "/sales",
            {**body, "client_txn_id": "on-" + body["client_txn_id"]},
            headers=shop.other_store_headers,
        )
        assert response.status_code == 201, response.text
        online.append(response.json())
    assert [i["answer"]["total_minor"] for i in offline["items"]] == [
        s["total_minor"] for s in online
    ]
    assert [i["answer"]["points_earned"] for i in offline["items"]] == [
        s["points_earned"] for s in online
    ]
    assert (await points_summary(shop.member_id))["balance"] == 2 * offline_points


async def test_a_sale_booked_online_then_uploaded_in_a_batch_is_a_replay(shop: Shop) -> None:
    body = {
        "client_txn_id": txn(),
        "local_time": "2026-11-20T12:00:00",
        "lines": [{"sku": "SNACK-2", "quantity": 1}],
        "payments": [{"method": "cash", "amount_minor": 3990}],
    }
    online = await shop.post("/sales", body)
    assert online.status_code == 201
    batch = await shop.post(
        "/batches", {"batch_id": "late", "items": [{"kind": "sale", "body": body}]}
    )
    item = batch.json()["items"][0]
    assert item["outcome"] == "replayed" and item["answer"] == online.json()
    assert await Sale.count() == 1
