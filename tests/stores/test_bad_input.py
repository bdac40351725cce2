"""Bad input is a 4xx problem+json that names the field, and writes nothing."""

from __future__ import annotations

import pytest

from stores.tables import AuditEntry, Product, Store, StorePrice, Terminal
from tests import factories


async def _counts() -> tuple[int, ...]:
    return (
        await Store.count(),
        await Terminal.count(),
        await Product.count(),
        await StorePrice.count(),
        await AuditEntry.count(),
    )


@pytest.fixture
async def admin_headers(client):
    admin = await factories.hq_admin()
    await factories.small_chain(admin)
    await factories.terminal(admin, "SH001", "POS-01")
    return await factories.sign_in(client, "H0001")


def assert_problem(response, status: int, code: str, field: str | None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body.get("field") == field
    assert body["detail"]
    return body


@pytest.mark.parametrize(
    ("path", "body", "status", "code", "field"),
    [
        (
            "/api/v1/hq/staff",
            {
                "employee_no": "E1",
                "name": "x",
                "roles": ["cashier"],
                "password": "password-1",
                "store_code": "NOPE1",
            },
            422,
            "unknown_store",
            "store_code",
        ),
        (
            "/api/v1/hq/stores",
            {
                "code": "BJ001",
                "name": "北京店",
                "region_code": "NORTH",
                "time_zone": "Asia/Shanghai",
            },
            422,
            "unknown_region",
            "region_code",
        ),
        (
            "/api/v1/hq/stores",
            {"code": "BJ001", "name": "北京店", "region_code": "EAST", "time_zone": "Asia/Beijing"},
            400,
            "validation_error",
            "time_zone",
        ),
        (
            "/api/v1/hq/stores",
            {"code": "bj 001", "name": "x", "region_code": "EAST", "time_zone": "Asia/Shanghai"},
            400,
            "validation_error",
            "code",
        ),
        (
            "/api/v1/hq/stores",
            {
                "code": "BJ001",
                "name": "x",
                "region_code": "EAST",
                "time_zone": "Asia/Shanghai",
                "colour": "red",
            },
            400,
            "validation_error",
            "colour",
        ),
        (
            "/api/v1/hq/stores/SH001/terminals",
            {"name": "POS-01"},
            409,
            "duplicate_terminal_name",
            "name",
        ),
        (
            "/api/v1/hq/products",
            {"sku": "NEG-1", "name": "x", "category_code": "SNACK", "retail_price_minor": -1},
            400,
            "validation_error",
            "retail_price_minor",
        ),
        (
            "/api/v1/hq/products",
            {"sku": "FLT-1", "name": "x", "category_code": "SNACK", "retail_price_minor": 9.9},
            400,
            "validation_error",
            "retail_price_minor",
        ),
        (
            "/api/v1/hq/products",
            {
                "sku": "MP-1",
                "name": "x",
                "category_code": "SNACK",
                "retail_price_minor": 100,
                "member_price_minor": 200,
            },
            400,
            "member_price_above_retail",
            "member_price_minor",
        ),
        (
            "/api/v1/hq/products",
            {"sku": "C-1", "name": "x", "category_code": "NOPE", "retail_price_minor": 100},
            422,
            "unknown_category",
            "category_code",
        ),
        (
            "/api/v1/hq/products/SNACK-1/store-prices",
            {"store_code": "SH001", "effective_from": "2026-12-01", "retail_price_minor": -5},
            400,
            "validation_error",
            "retail_price_minor",
        ),
        (
            "/api/v1/hq/products/SNACK-1/store-prices",
            {"store_code": "NOPE1", "effective_from": "2026-12-01", "retail_price_minor": 5},
            404,
            "store_not_found",
            None,
        ),
        (
            "/api/v1/hq/products/SNACK-1/store-prices",
            {"store_code": "SH001", "effective_from": "2026-13-01", "retail_price_minor": 5},
            400,
            "validation_error",
            "effective_from",
        ),
    ],
)
async def test_bad_input_is_refused_with_the_field_named_and_nothing_written(
    client, admin_headers, path, body, status, code, field
):
    before = await _counts()
    response = await client.post(path, json=body, headers=admin_headers)
    assert_problem(response, status, code, field)
    assert await _counts() == before


async def test_malformed_json_is_a_400_not_a_500(client, admin_headers):
    response = await client.post(
        "/api/v1/hq/stores",
        content=b"{not json",
        headers={**admin_headers, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


async def test_malformed_time_zone_in_a_store_update_changes_nothing(client, admin_headers):
    before = await client.get("/api/v1/hq/stores/UR001", headers=admin_headers)
    response = await client.patch(
        "/api/v1/hq/stores/UR001", json={"time_zone": "UTC+6"}, headers=admin_headers
    )
    assert_problem(response, 400, "validation_error", "time_zone")
    after = await client.get("/api/v1/hq/stores/UR001", headers=admin_headers)
    assert after.json() == before.json()


async def test_duplicate_store_code_is_409_naming_code(client, admin_headers):
    before = await _counts()
    response = await client.post(
        "/api/v1/hq/stores",
        json={"code": "SH001", "name": "x", "region_code": "EAST", "time_zone": "Asia/Shanghai"},
        headers=admin_headers,
    )
    assert_problem(response, 409, "duplicate_code", "code")
    assert await _counts() == before


async def test_chinese_accept_language_gets_a_chinese_title(client, admin_headers):
    response = await client.get(
        "/api/v1/hq/stores/NOPE1", headers={**admin_headers, "Accept-Language": "zh-CN"}
    )
    assert response.status_code == 404
    assert response.json()["title"] == "门店不存在"
