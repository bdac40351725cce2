"""The HQ loyalty API: settings and rules by HQ admins, account views with masked phones,
adjustments by managers, liability in scope; and the member's own /api/v1/me handlers."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from litestar import Litestar, Router
from litestar.di import Provide

from loyalty import api, points, stored_value
from loyalty.points import Source
from memberpos.problems import EXCEPTION_HANDLERS
from members.identity import MemberIdentity
from tests import factories
from tests.loyalty.conftest import another_member

T0 = dt.datetime(2026, 3, 1, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
async def setup(client, member_id, chain):
    admin = await factories.sign_in(client, "H0001")
    from stores.staff import actor_for
    from stores.tables import Staff

    hq = await actor_for(
        (await Staff.select(Staff.id).where(Staff.employee_no == "H0001").first())["id"]
    )
    await factories.employee(hq, "E3001", ["store_manager"], "SH001")
    await factories.employee(hq, "E3002", ["store_manager"], "SH002")
    await factories.employee(hq, "H0003", ["analyst"])
    return {
        "admin": admin,
        "manager": await factories.sign_in(client, "E3001"),
        "other_manager": await factories.sign_in(client, "E3002"),
        "analyst": await factories.sign_in(client, "H0003"),
    }


async def test_hq_admin_changes_settings_and_rules_others_may_not(client, setup):
    response = await client.patch(
        "/api/v1/hq/loyalty/program",
        json={"pending_days": 7, "max_redeem_share_bp": 5000},
        headers=setup["admin"],
    )
    assert response.status_code == 200, response.text
    assert response.json()["pending_days"] == 7
    bad = await client.patch(
        "/api/v1/hq/loyalty/program", json={"expiry_policy": "soon"}, headers=setup["admin"]
    )
    assert bad.status_code == 400 and "expiry_policy" in bad.text
    unknown = await client.patch(
        "/api/v1/hq/loyalty/program", json={"colour": 1}, headers=setup["admin"]
    )
    assert unknown.status_code == 400
    denied = await client.patch(
        "/api/v1/hq/loyalty/program", json={"pending_days": 1}, headers=setup["manager"]
    )
    assert denied.status_code == 403
    rule = {
        "code": "SNACK2X",
        "scope": "category",
        "target": "SNACK",
        "multiplier_bp": 20000,
        "valid_from": "2026-01-01T00:00:00+08:00",
    }
    created = await client.post(
        "/api/v1/hq/loyalty/earning-rules", json=rule, headers=setup["admin"]
    )
    assert created.status_code == 201, created.text
    again = await client.post("/api/v1/hq/loyalty/earning-rules", json=rule, headers=setup["admin"])
    assert again.status_code == 409
    ended = await client.patch(
        "/api/v1/hq/loyalty/earning-rules/SNACK2X",
        json={"valid_to": "2025-12-01T00:00:00+08:00"},
        headers=setup["admin"],
    )
    assert ended.status_code == 400 and "valid_to" in ended.text
    off = await client.patch(
        "/api/v1/hq/loyalty/earning-rules/SNACK2X", json={"active": False}, headers=setup["admin"]
    )
    assert off.status_code == 200 and off.json()["active"] is False
    top_up = await client.post(
        "/api/v1/hq/loyalty/top-up-rules",
        json={
            "code": "P500",
            "name": "充500送50",
            "pay_minor": 50000,
            "bonus_minor": 5000,
            "valid_from": "2026-01-01T00:00:00Z",
        },
        headers=setup["admin"],
    )
    assert top_up.status_code == 201, top_up.text
    listed = await client.get("/api/v1/hq/loyalty/top-up-rules", headers=setup["analyst"])
    assert [r["code"] for r in listed.json()] == ["P500"]
    product = await client.post(
        "/api/v1/hq/loyalty/package-products",
        json={
            "code": "WASH10",
            "name": "洗车十次",
            "uses": 10,
            "price_minor": 30000,
            "validity_days": 365,
            "store_code": "SH001",
        },
        headers=setup["admin"],
    )
    assert product.status_code == 201 and product.json()["store_code"] == "SH001"


async def test_account_view_masks_the_phone_except_for_managers_of_the_members_store(
    client, setup, member_id
):
    await points.earn(
        member_id, 300, Source("sale", "S1"), at=T0, available_from=T0, expires_on=None
    )
    url = f"/api/v1/hq/loyalty/members/{member_id}/account"
    as_admin = await client.get(url, headers=setup["admin"])
    assert as_admin.status_code == 200, as_admin.text
    assert as_admin.json()["phone"] == "+8613812340000"
    assert as_admin.json()["points"]["balance"] == 300
    assert len(as_admin.json()["lots"]) == 1
    assert (await client.get(url, headers=setup["manager"])).json()["phone"] == "+8613812340000"
    assert (await client.get(url, headers=setup["analyst"])).json()["phone"] == "138****0000"
    assert (await client.get(url, headers=setup["other_manager"])).status_code == 403


async def test_adjustment_over_http_and_liability_in_scope(client, setup, member_id):
    url = f"/api/v1/hq/loyalty/members/{member_id}/adjustments"
    body = {"adjustment_id": "ADJ-9", "reason": "补录", "points": 100, "principal_minor": 2000}
    first = await client.post(url, json=body, headers=setup["manager"])
    assert first.status_code == 200, first.text
    second = await client.post(url, json=body, headers=setup["manager"])
    assert second.json()["replayed"] is True
    over = await client.post(
        url, json={**body, "adjustment_id": "ADJ-10", "points": 6000}, headers=setup["manager"]
    )
    assert over.status_code == 403 and over.json()["code"] == "adjustment_refused"
    no_reason = await client.post(
        url, json={"adjustment_id": "ADJ-11", "reason": "", "points": 1}, headers=setup["admin"]
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.text
    chain_wide = await client.get("/api/v1/hq/loyalty/liability", headers=setup["analyst"])
    assert chain_wide.status_code == 200, chain_wide.text
    assert chain_wide.json()["chain"]["points_outstanding"] == 100
    assert chain_wide.json()["chain"]["stored_value_principal_minor"] == 2000
    mine = await client.get("/api/v1/hq/loyalty/liability", headers=setup["other_manager"])
    assert mine.json()["chain"]["stored_value_principal_minor"] == 0
    out = await client.get(
        "/api/v1/hq/loyalty/liability?store_code=SH001", headers=setup["other_manager"]
    )
    assert out.status_code == 403
    past = await client.get("/api/v1/hq/loyalty/liability?as_of=2020-01-01", headers=setup["admin"])
    assert past.json()["chain"]["points_outstanding"] == 0


def me_app(member_id: int) -> Litestar:
    """The /api/v1/me handlers behind a stand-in of the members' sign-in (their router is
    built elsewhere): the handlers see the member identity they are given."""

    async def provide_member() -> MemberIdentity:
        return MemberIdentity(member_id=member_id, session_id=1, method="pin")

    return Litestar(
        route_handlers=[
            Router(
                path="/api/v1/me",
                route_handlers=api.ME_HANDLERS,
                dependencies={"member": Provide(provide_member)},
            )
        ],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    )


async def test_member_sees_own_balances_expiring_points_and_paged_history(db, chain, member_id):
    now = dt.datetime.now(dt.UTC)
    soon = now.date() + dt.timedelta(days=10)
    await points.earn(
        member_id,
        500,
        Source("sale", "S1"),
        at=now - dt.timedelta(days=2),
        available_from=now - dt.timedelta(days=2),
        expires_on=soon,
    )
    await points.earn(
        member_id,
        200,
        Source("sale", "S2"),
        at=now - dt.timedelta(days=1),
        available_from=now + dt.timedelta(days=6),
        expires_on=None,
    )
    await stored_value.top_up(
        member_id, 10_000, Source("top_up", "T1"), at=now, business_date=now.date()
    )
    for number in range(3):
        await stored_value.spend(
            member_id, 100, Source("sale", f"P{number}"), at=now, business_date=now.date()
        )
    other = await another_member(chain, "13812349999")
    await points.earn(other, 999, Source("sale", "X1"), at=now, available_from=now, expires_on=None)
    transport = httpx.ASGITransport(app=me_app(member_id))
    async with httpx.AsyncClient(transport=transport, base_url="http://me.test") as client:
        balances = (await client.get("/api/v1/me/balances")).json()
        assert balances["points"] == {
            "balance": 700,
            "spendable": 500,
            "pending": 200,
            "debt": 0,
            "value_minor": 500,
        }
        assert balances["stored_value"] == {
            "principal_minor": 9_700,
            "bonus_minor": 0,
            "total_minor": 9_700,
        }
        expiring = (await client.get("/api/v1/me/points/expiring?days=30")).json()
        assert expiring == [{"expires_on": soon.isoformat(), "points": 500}]
        assert (await client.get("/api/v1/me/points/expiring?days=5")).json() == []
        seen, cursor = [], None
        while True:
            url = "/api/v1/me/history?limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = (await client.get(url)).json()
            seen.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 6  # 2 earns, 1 top-up, 3 spends; not the other member's
        times = [item["created_at"] for item in seen]
        assert times == sorted(times, reverse=True)
        assert len({(item["ledger"], item["id"]) for item in seen}) == 6
        bad = await client.get("/api/v1/me/history?cursor=nonsense")
        assert bad.status_code == 400


async def test_me_handlers_behind_the_real_member_sign_in(client, member_id):
    from members import self_service
    from members.tables import Outbox

    await points.earn(
        member_id, 250, Source("sale", "S1"), at=T0, available_from=T0, expires_on=None
    )
    await self_service.request_sign_in_code("13812340000")
    message = await Outbox.select().where(Outbox.member == member_id).output(load_json=True).first()
    signed_in = await self_service.sign_in_with_code("13812340000", message["payload"]["code"])
    headers = {"Authorization": f"Bearer {signed_in.token}"}
    assert (await client.get("/api/v1/me/balances")).status_code == 401
    response = await client.get("/api/v1/me/balances", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["points"]["balance"] == 250
    history = await client.get("/api/v1/me/history", headers=headers)
    assert [item["delta"] for item in history.json()["items"]] == [250]


async def test_the_openapi_document_describes_the_loyalty_routes(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/hq/loyalty/program",
        "/api/v1/hq/loyalty/members/{member_id}/adjustments",
        "/api/v1/hq/loyalty/liability",
        "/api/v1/me/balances",
        "/api/v1/me/history",
    ):
        assert path in paths, path
