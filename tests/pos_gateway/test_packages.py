"""Prepaid service packages (次卡) at the counter: sell, use, refund unused uses pro rata."""

from __future__ import annotations

from loyalty import packages
from stores.audit import SystemActor
from tests.pos_gateway.conftest import MANAGER_PIN, Shop, now_local, txn


async def test_sell_use_and_refund_a_package(shop: Shop) -> None:
    await packages.define_product(
        SystemActor("test"),
        code="WASH10",
        name="洗车十次卡",
        uses=10,
        price_minor=30000,
        validity_days=365,
        store_code="SH001",
    )
    base = {"local_time": now_local(), "member": shop.member}
    sold = await shop.post("/packages", {**base, "client_txn_id": txn(), "product_code": "WASH10"})
    assert sold.status_code == 201, sold.text
    package_id = sold.json()["package_id"]
    assert sold.json()["uses_left"] == 10 and sold.json()["amount_minor"] == 30000
    use = {**base, "client_txn_id": txn(), "package_id": package_id, "uses": 3}
    used = await shop.post("/packages/uses", use)
    assert used.status_code == 201, used.text
    assert (await shop.post("/packages/uses", use)).content == used.content  # exactly once
    assert used.json()["uses_left"] == 7
    elsewhere = await shop.post(
        "/packages/uses",
        {**base, "client_txn_id": txn(), "package_id": package_id},
        headers=shop.other_store_headers,
    )
    assert elsewhere.status_code in (403, 409, 422), elsewhere.text
    listed = await shop.get("/packages", card_number=shop.card_number)
    assert [p["uses_left"] for p in listed.json()] == [7]
    refund = {**base, "client_txn_id": txn(), "package_id": package_id}
    refused = await shop.post("/packages/refunds", refund)
    assert refused.status_code == 400 and "manager" in refused.text
    refund["manager"] = {"employee_no": "M001", "pin": MANAGER_PIN}
    refunded = await shop.post("/packages/refunds", refund)
    assert refunded.status_code == 201, refunded.text
    assert refunded.json()["amount_minor"] == 21000  # 7 of 10 uses of 300.00
    assert refunded.json()["uses_left"] == 0
