"""The HQ API doing its job: regions, stores, terminals, staff, catalog, prices, audit."""

from __future__ import annotations

import datetime as dt

from stores import catalog
from tests import factories


async def test_store_life_from_creation_to_a_terminal_that_can_post(client):
    await factories.hq_admin()
    headers = await factories.sign_in(client, "H0001")
    assert (
        await client.post(
            "/api/v1/hq/regions", json={"code": "SOUTH", "name": "华南区"}, headers=headers
        )
    ).status_code == 201
    created = await client.post(
        "/api/v1/hq/stores",
        headers=headers,
        json={
            "code": "GZ001",
            "name": "广州天河店",
            "region_code": "SOUTH",
            "time_zone": "Asia/Shanghai",
            "address": "广州市天河路 1 号",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["region_code"] == "SOUTH"

    terminal = await client.post(
        "/api/v1/hq/stores/GZ001/terminals", json={"name": "POS-01"}, headers=headers
    )
    assert terminal.status_code == 201
    key = terminal.json()["api_key"]
    assert key.startswith("mpt_")
    listed = await client.get("/api/v1/hq/stores/GZ001/terminals", headers=headers)
    assert "api_key" not in listed.text and key not in listed.text

    pos = await client.get("/api/v1/pos/terminal", headers={"Authorization": f"Bearer {key}"})
    assert pos.status_code == 200
    assert pos.json()["store_code"] == "GZ001"
    seen = await client.get(
        f"/api/v1/hq/terminals/{terminal.json()['terminal']['id']}", headers=headers
    )
    assert seen.json()["last_seen_at"] is not None

    suspended = await client.patch(
        "/api/v1/hq/stores/GZ001", json={"status": "suspended"}, headers=headers
    )
    assert suspended.status_code == 200
    refused = await client.get("/api/v1/pos/terminal", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 401 and refused.json()["code"] == "store_not_trading"


async def test_every_hq_change_is_audited_with_before_and_after(client):
    admin = await factories.hq_admin()
    await factories.small_chain(admin)
    headers = await factories.sign_in(client, "H0001")
    await client.patch(
        "/api/v1/hq/products/SNACK-2", json={"retail_price_minor": 4590}, headers=headers
    )
    entries = await client.get(
        "/api/v1/hq/audit", params={"entity": "product", "entity_key": "SNACK-2"}, headers=headers
    )
    latest = entries.json()[0]
    assert latest["action"] == "product.update"
    assert latest["before"] == {"retail_price_minor": 3990}
    assert latest["after"] == {"retail_price_minor": 4590}
    assert latest["actor_name"].startswith("H0001")

    await factories.employee(admin, "E100", ["store_manager"], "SH001", pin=factories.PIN)
    staff_entries = await client.get(
        "/api/v1/hq/audit", params={"entity": "staff", "entity_key": "E100"}, headers=headers
    )
    text = staff_entries.text
    assert "password" not in text.replace("password_changed", "") and "argon2" not in text


async def test_store_manager_sees_only_their_stores_audit(client):
    admin = await factories.hq_admin()
    await factories.small_chain(admin)
    await factories.employee(admin, "E100", ["store_manager"], "SH001")
    await factories.terminal(admin, "SH001", "POS-01")
    await factories.terminal(admin, "SH002", "POS-01")
    headers = await factories.sign_in(client, "E100")
    entries = (await client.get("/api/v1/hq/audit", headers=headers)).json()
    assert entries and {e["store_code"] for e in entries} == {"SH001"}


async def test_store_price_takes_effect_from_its_business_date(client):
    admin = await factories.hq_admin()
    chain = await factories.small_chain(admin)
    headers = await factories.sign_in(client, "H0001")
    response = await client.post(
        "/api/v1/hq/products/SNACK-1/store-prices",
        headers=headers,
        json={
            "store_code": "SH002",
            "effective_from": "2026-12-01",
            "retail_price_minor": 11800,
            "member_price_minor": 10800,
        },
    )
    assert response.status_code == 201, response.text
    store_id = chain["stores"]["SH002"]["id"]
    before = await catalog.effective_price("SNACK-1", store_id, dt.date(2026, 11, 30))
    after = await catalog.effective_price("SNACK-1", store_id, dt.date(2026, 12, 1))
    other_store = await catalog.effective_price(
        "SNACK-1", chain["stores"]["SH001"]["id"], dt.date(2026, 12, 5)
    )
    assert (before.retail_price_minor, before.source) == (12800, "catalog")
    assert (after.retail_price_minor, after.member_price_minor) == (11800, 10800)
    assert other_store.retail_price_minor == 12800
    via_api = await client.get(
        "/api/v1/hq/products/SNACK-1/price",
        params={"store_code": "SH002", "on": "2026-12-02"},
        headers=headers,
    )
    assert via_api.json()["retail_price_minor"] == 11800
    again = await client.post(
        "/api/v1/hq/products/SNACK-1/store-prices",
        headers=headers,
        json={"store_code": "SH002", "effective_from": "2026-12-01", "retail_price_minor": 1},
    )
    assert again.status_code == 409 and again.json()["field"] == "effective_from"


async def test_products_page_and_filter_by_category_subtree_and_search(client):
    admin = await factories.hq_admin()
    await factories.small_chain(admin)
    await catalog.create_category(admin, code="DRINK", name="饮料", parent_code="FOOD")
    await catalog.create_product(
        admin, sku="TEA-1", name="绿茶", category_code="DRINK", retail_price_minor=350
    )
    headers = await factories.sign_in(client, "H0001")
    food = await client.get(
        "/api/v1/hq/products", params={"category_code": "FOOD"}, headers=headers
    )
    assert food.json()["total"] == 3
    snacks = await client.get(
        "/api/v1/hq/products", params={"category_code": "SNACK", "limit": 1}, headers=headers
    )
    assert snacks.json()["total"] == 2 and len(snacks.json()["items"]) == 1
    found = await client.get("/api/v1/hq/products", params={"search": "绿茶"}, headers=headers)
    assert [p["sku"] for p in found.json()["items"]] == ["TEA-1"]


async def test_terminal_reads_a_product_at_its_stores_price(client):
    admin = await factories.hq_admin()
    chain = await factories.small_chain(admin)
    _, key = await factories.terminal(admin, "SH001")
    today = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    await catalog.set_store_price(
        admin, sku="SNACK-2", store_code="SH001", effective_from=today, retail_price_minor=3590
    )
    response = await client.get(
        "/api/v1/pos/products/SNACK-2", headers={"Authorization": f"Bearer {key}"}
    )
    assert response.json()["retail_price_minor"] == 3590
    assert chain["products"]["SNACK-2"]["retail_price_minor"] == 3990


async def test_health_reports_database_and_redis(client):
    response = await client.get("/health")
    body = response.json()
    assert response.status_code == 200 and body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert "configured" in body["redis"]


async def test_openapi_document_lists_the_hq_and_pos_api(client):
    response = await client.get("/schema/openapi.json")
    paths = response.json()["paths"]
    assert "/api/v1/hq/stores" in paths and "/api/v1/pos/terminal" in paths
