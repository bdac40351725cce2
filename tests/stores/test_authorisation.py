"""Who may do what: every refused attempt is a 401/403 problem and leaves the data as it was."""

from __future__ import annotations

from stores.tables import AuditEntry, Staff, Store, Terminal
from tests import factories


async def _snapshot() -> tuple:
    return (
        await Staff.count(),
        await Store.count(),
        await Terminal.count(),
        await AuditEntry.count(),
        await Terminal.select(Terminal.status).order_by(Terminal.id),
    )


async def test_hq_api_without_a_token_is_401_problem_json(client):
    response = await client.get("/api/v1/hq/stores")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "invalid_token" and body["status"] == 401


async def test_bad_input_without_a_token_is_refused_as_401_before_parsing(client):
    response = await client.post("/api/v1/hq/stores", json={"nonsense": True})
    assert response.status_code == 401


async def test_terminal_without_a_key_or_with_a_wrong_key_is_401(client):
    admin = await factories.hq_admin()
    await factories.small_chain(admin)
    _, key = await factories.terminal(admin, "SH001")
    assert (await client.get("/api/v1/pos/terminal")).status_code == 401
    wrong = key[:-4] + "AAAA"
    response = await client.get(
        "/api/v1/pos/terminal", headers={"Authorization": f"Bearer {wrong}"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_terminal_key"
    ok = await client.get("/api/v1/pos/terminal", headers={"Authorization": f"Bearer {key}"})
    assert ok.status_code == 200 and ok.json()["store_code"] == "SH001"


async def test_revoked_terminal_key_is_refused_and_a_rotated_key_replaces_the_old(client):
    admin = await factories.hq_admin()
    await factories.small_chain(admin)
    terminal, key = await factories.terminal(admin, "SH001")
    headers = await factories.sign_in(client, "H0001")
    rotated = await client.post(
        f"/api/v1/hq/terminals/{terminal['id']}/rotate-key", headers=headers
    )
    assert rotated.status_code == 200
    new_key = rotated.json()["api_key"]
    old = await client.get("/api/v1/pos/terminal", headers={"Authorization": f"Bearer {key}"})
    assert old.status_code == 401
    pos = {"Authorization": f"Bearer {new_key}"}
    assert (await client.get("/api/v1/pos/terminal", headers=pos)).status_code == 200
    revoked = await client.post(
        f"/api/v1/hq/terminals/{terminal['id']}/revoke",
        headers=headers,
        json={"reason": "stolen till"},
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    refused = await client.get("/api/v1/pos/terminal", headers=pos)
    assert refused.status_code == 401
    assert refused.json()["code"] == "terminal_revoked"


async def test_store_manager_touching_another_store_is_403_and_changes_nothing(client):
    admin = await factories.hq_admin()
    await factories.small_chain(admin)
    await factories.employee(admin, "E100", ["store_manager"], "SH001")
    headers = await factories.sign_in(client, "E100")
    before = await _snapshot()

    attempts = [
        client.patch("/api/v1/hq/stores/SH002", headers=headers, json={"name": "hijacked"}),
        client.post("/api/v1/hq/stores/SH002/terminals", headers=headers, json={"name": "POS-99"}),
        client.post(
            "/api/v1/hq/staff",
            headers=headers,
            json={
                "employee_no": "E900",
                "name": "x",
                "roles": ["cashier"],
                "password": "password-123",
                "store_code": "SH002",
            },
        ),
        client.post(
            "/api/v1/hq/products/SNACK-1/store-prices",
            headers=headers,
            json={"store_code": "SH002", "effective_from": "2026-12-01", "retail_price_minor": 100},
        ),
        client.get("/api/v1/hq/stores/SH002", headers=headers),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "store_out_of_scope"
    assert await _snapshot() == before
    assert (await Store.select(Store.name).where(Store.code == "SH002").first())[
        "name"
    ] == "上海二店"

    own = await client.get("/api/v1/hq/stores", headers=headers)
    assert [s["code"] for s in own.json()] == ["SH001"]
    mine = await client.patch(
        "/api/v1/hq/stores/SH001", headers=headers, json={"phone": "021-12345678"}
    )
    assert mine.status_code == 200 and mine.json()["phone"] == "021-12345678"


async def test_store_manager_may_not_grant_management_roles(client):
    admin = await factories.hq_admin()
    await factories.small_chain(admin)
    await factories.employee(admin, "E100", ["store_manager"], "SH001")
    headers = await factories.sign_in(client, "E100")
    before = await _snapshot()
    response = await client.post(
        "/api/v1/hq/staff",
        headers=headers,
        json={
            "employee_no": "E901",
            "name": "x",
            "roles": ["hq_admin"],
            "password": "password-123",
            "store_code": "SH001",
        },
    )
    assert response.status_code == 403 and response.json()["code"] == "role_not_grantable"
    assert await _snapshot() == before
    hired = await client.post(
        "/api/v1/hq/staff",
        headers=headers,
        json={
            "employee_no": "E902",
            "name": "新收银员",
            "roles": ["cashier"],
            "password": "password-123",
            "store_code": "SH001",
        },
    )
    assert hired.status_code == 201, hired.text


async def test_cashier_cannot_create_staff_terminals_or_prices(client):
    admin = await factories.hq_admin()
    await factories.small_chain(admin)
    await factories.employee(admin, "E200", ["cashier"], "SH001")
    headers = await factories.sign_in(client, "E200")
    before = await _snapshot()
    attempts = [
        client.post(
            "/api/v1/hq/staff",
            headers=headers,
            json={
                "employee_no": "E903",
                "name": "x",
                "roles": ["cashier"],
                "password": "password-123",
                "store_code": "SH001",
            },
        ),
        client.post("/api/v1/hq/stores/SH001/terminals", headers=headers, json={"name": "POS-09"}),
        client.patch(
            "/api/v1/hq/products/SNACK-1", headers=headers, json={"retail_price_minor": 1}
        ),
        client.post(
            "/api/v1/hq/products/SNACK-1/store-prices",
            headers=headers,
            json={"store_code": "SH001", "effective_from": "2026-12-01", "retail_price_minor": 1},
        ),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"
    assert await _snapshot() == before


async def test_analyst_reads_the_chain_but_changes_nothing(client):
    admin = await factories.hq_admin()
    await factories.small_chain(admin)
    await factories.employee(admin, "A1", ["analyst"])
    headers = await factories.sign_in(client, "A1")
    stores = await client.get("/api/v1/hq/stores", headers=headers)
    assert [s["code"] for s in stores.json()] == ["SH001", "SH002", "UR001"]
    assert (await client.get("/api/v1/hq/audit", headers=headers)).status_code == 200
    before = await _snapshot()
    response = await client.patch("/api/v1/hq/stores/SH001", headers=headers, json={"name": "x"})
    assert response.status_code == 403
    assert await _snapshot() == before


async def test_wrong_password_is_401_and_repeated_failures_lock_the_employee_number(client):
    admin = await factories.hq_admin()
    await factories.small_chain(admin)
    for _ in range(10):
        response = await client.post(
            "/api/v1/hq/auth/sign-in", json={"employee_no": "H0001", "password": "guess"}
        )
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_credentials"
    locked = await client.post(
        "/api/v1/hq/auth/sign-in", json={"employee_no": "H0001", "password": factories.PASSWORD}
    )
    assert locked.status_code == 429 and locked.json()["code"] == "too_many_attempts"


async def test_sign_out_and_deactivation_end_the_session(client):
    admin = await factories.hq_admin()
    await factories.small_chain(admin)
    await factories.employee(admin, "E300", ["cashier"], "SH001")
    headers = await factories.sign_in(client, "E300")
    assert (await client.get("/api/v1/hq/auth/me", headers=headers)).status_code == 200
    assert (await client.post("/api/v1/hq/auth/sign-out", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/hq/auth/me", headers=headers)).status_code == 401

    headers = await factories.sign_in(client, "E300")
    admin_headers = await factories.sign_in(client, "H0001")
    response = await client.patch(
        "/api/v1/hq/staff/E300", headers=admin_headers, json={"status": "inactive"}
    )
    assert response.status_code == 200
    assert (await client.get("/api/v1/hq/auth/me", headers=headers)).status_code == 401
    again = await client.post(
        "/api/v1/hq/auth/sign-in", json={"employee_no": "E300", "password": factories.PASSWORD}
    )
    assert again.status_code == 401
