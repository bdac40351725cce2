"""Commission over HTTP: who sees which statement, closing, rules, targets, CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest

from stores.commission import SoldLine, record_sale
from stores.commission_tables import CommissionPeriod, CommissionRule
from tests import factories

AT = dt.datetime(2026, 9, 10, 6, 0, tzinfo=dt.UTC)
BASE = "/api/v1/hq/commission"


@pytest.fixture
async def floor(client: Any) -> dict[str, Any]:
    """SH001 with a manager and two salespeople, SH002 with one; September's sales."""
    admin = await factories.hq_admin()
    chain = await factories.small_chain(admin)
    people = {
        "M001": await factories.employee(admin, "M001", ["store_manager"], "SH001"),
        "S001": await factories.employee(admin, "S001", ["salesperson"], "SH001"),
        "S002": await factories.employee(admin, "S002", ["salesperson"], "SH001"),
        "S003": await factories.employee(admin, "S003", ["salesperson"], "SH002"),
        "A001": await factories.employee(admin, "A001", ["analyst"]),
    }
    headers = {no: await factories.sign_in(client, no) for no in ["H0001", *people]}
    response = await client.post(
        f"{BASE}/rules",
        headers=headers["H0001"],
        json={
            "code": "CHAIN",
            "name": "全店默认",
            "valid_from": "2026-01-01",
            "rate_bp": 200,
            "pool_share_bp": 2500,
        },
    )
    assert response.status_code == 201, response.text
    sh001, sh002 = chain["stores"]["SH001"]["id"], chain["stores"]["SH002"]["id"]

    def sold(line_no: int, net: int, *people_shares: tuple[str, int]) -> SoldLine:
        return SoldLine(
            line_no=line_no,
            sku="SNACK-1",
            quantity=1,
            net_minor=net,
            points_paid_minor=0,
            salespeople=tuple((people[no]["id"], share) for no, share in people_shares),
        )

    on = dt.date(2026, 9, 10)
    await record_sale(
        sale_ref="SALE-1",
        store_id=sh001,
        business_date=on,
        at=AT,
        lines=[
            sold(1, 10_000, ("S001", 10_000)),
            sold(2, 20_000, ("S001", 5_000), ("S002", 5_000)),
        ],
    )
    await record_sale(
        sale_ref="SALE-2",
        store_id=sh002,
        business_date=on,
        at=AT,
        lines=[sold(1, 5_000, ("S003", 10_000))],
    )
    return {"headers": headers, "people": people}


async def test_store_manager_sees_and_closes_only_their_own_store(client, floor):
    manager = floor["headers"]["M001"]
    own = await client.get(f"{BASE}/statements/SH001/2026-09", headers=manager)
    assert own.status_code == 200
    body = own.json()
    assert body["sales_minor"] == 30_000 and body["commission_minor"] == 600
    assert [p["employee_no"] for p in body["salespeople"]] == ["S001", "S002"]
    other = await client.get(f"{BASE}/statements/SH002/2026-09", headers=manager)
    assert other.status_code == 403 and other.json()["code"] == "store_out_of_scope"
    person = await client.get(f"{BASE}/statements/SH002/2026-09/staff/S003", headers=manager)
    assert person.status_code == 403
    chain = await client.get(f"{BASE}/statements/chain/2026-09", headers=manager)
    assert chain.status_code == 403
    refused = await client.post(f"{BASE}/periods/SH002/2026-09/close", headers=manager)
    assert refused.status_code == 403
    closed = await client.post(f"{BASE}/periods/SH001/2026-09/close", headers=manager)
    assert closed.status_code == 200, closed.text
    assert closed.json()["pool_minor"] == 150
    statuses = {row["store"]: row["status"] for row in await CommissionPeriod.select()}
    assert sorted(statuses.values()) == ["closed", "open"]
    listed = await client.get(f"{BASE}/periods", headers=manager)
    assert [p["store_code"] for p in listed.json()] == ["SH001"]


async def test_salesperson_sees_only_their_own_statement(client, floor):
    alice = floor["headers"]["S001"]
    own = await client.get(f"{BASE}/statements/SH001/2026-09/staff/S001", headers=alice)
    assert own.status_code == 200
    body = own.json()
    assert body["sales_minor"] == 20_000 and body["commission_minor"] == 400
    assert body["personal_minor"] == 300 and body["pool_contributed_minor"] == 100
    assert [line["line_no"] for line in body["lines"]] == [1, 2]
    me = await client.get(f"{BASE}/statements/me/2026-09", headers=alice)
    assert me.status_code == 200 and me.json() == body
    for path in (
        "/statements/SH001/2026-09/staff/S002",
        "/statements/SH002/2026-09/staff/S003",
    ):
        response = await client.get(BASE + path, headers=alice)
        assert response.status_code == 403 and response.json()["code"] == "not_own_statement"
    for path in ("/statements/SH001/2026-09", "/statements/chain/2026-09", "/export/SH001/2026-09"):
        assert (await client.get(BASE + path, headers=alice)).status_code == 403
    closing = await client.post(f"{BASE}/periods/SH001/2026-09/close", headers=alice)
    assert closing.status_code == 403


async def test_analyst_reads_the_chain_and_changes_nothing(client, floor):
    analyst = floor["headers"]["A001"]
    chain = await client.get(f"{BASE}/statements/chain/2026-09", headers=analyst)
    assert chain.status_code == 200
    assert [s["store_code"] for s in chain.json()["stores"]] == ["SH001", "SH002", "UR001"]
    assert chain.json()["commission_minor"] == 700
    rule = {"code": "XX", "name": "x", "valid_from": "2026-01-01", "rate_bp": 1}
    assert (await client.post(f"{BASE}/rules", headers=analyst, json=rule)).status_code == 403
    assert (
        await client.post(f"{BASE}/periods/SH001/2026-09/close", headers=analyst)
    ).status_code == 403
    assert await CommissionRule.count() == 1


async def test_bad_rule_input_is_400_naming_the_field_and_writes_nothing(client, floor):
    admin = floor["headers"]["H0001"]
    bad = {"code": "X1", "name": "x", "valid_from": "2026-01-01", "rate_bp": 20_000}
    response = await client.post(f"{BASE}/rules", headers=admin, json=bad)
    assert response.status_code == 400 and "rate_bp" in response.text
    bad = {"code": "X1", "name": "x", "valid_from": "2026-01-01", "surprise": 1}
    response = await client.post(f"{BASE}/rules", headers=admin, json=bad)
    assert response.status_code == 400 and "surprise" in response.text
    bad = {
        "code": "X1",
        "name": "x",
        "valid_from": "2026-01-01",
        "level_mode": "marginal",
        "levels": [{"above_minor": 100, "rate_bp": 100}],
    }
    response = await client.post(f"{BASE}/rules", headers=admin, json=bad)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_commission_rule"
    assert "levels[0].above_minor" in response.text
    assert (await client.get(f"{BASE}/statements/SH001/2026-13", headers=admin)).status_code == 400
    assert await CommissionRule.count() == 1


async def test_targets_give_attainment(client, floor):
    manager = floor["headers"]["M001"]
    for body in (
        {"store_code": "SH001", "month": "2026-09", "target_minor": 60_000},
        {"store_code": "SH001", "month": "2026-09", "employee_no": "S001", "target_minor": 40_000},
    ):
        response = await client.put(f"{BASE}/targets", headers=manager, json=body)
        assert response.status_code == 200, response.text
    other = {"store_code": "SH002", "month": "2026-09", "target_minor": 1}
    assert (await client.put(f"{BASE}/targets", headers=manager, json=other)).status_code == 403
    store = (await client.get(f"{BASE}/statements/SH001/2026-09", headers=manager)).json()
    assert store["target_minor"] == 60_000 and store["attainment_bp"] == 5_000
    alice = store["salespeople"][0]
    assert alice["target_minor"] == 40_000 and alice["attainment_bp"] == 5_000


async def test_csv_export_lists_every_entry_and_a_salesperson_only_their_own(client, floor):
    manager = floor["headers"]["M001"]
    response = await client.get(f"{BASE}/export/SH001/2026-09", headers=manager)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "commission-SH001-2026-09.csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [(r["employee_no"], r["line_no"], r["commission_minor"]) for r in rows] == [
        ("S001", "1", "200"),
        ("S001", "2", "200"),
        ("S002", "2", "200"),
    ]
    assert rows[0]["name"] == "员工S001" and rows[0]["rule_code"] == "CHAIN"
    assert rows[0]["personal_minor"] == "150" and rows[0]["pool_minor"] == "50"
    summary = await client.get(
        f"{BASE}/export/SH001/2026-09", params={"detail": "summary"}, headers=manager
    )
    lines = list(csv.DictReader(io.StringIO(summary.text.lstrip("\ufeff"))))
    assert [(r["employee_no"], r["sales_minor"], r["payable_minor"]) for r in lines] == [
        ("S001", "20000", "300"),
        ("S002", "10000", "150"),
    ]
    alice = floor["headers"]["S001"]
    own = await client.get(
        f"{BASE}/export/SH001/2026-09", params={"employee_no": "S001"}, headers=alice
    )
    assert own.status_code == 200
    assert {r["employee_no"] for r in csv.DictReader(io.StringIO(own.text.lstrip("\ufeff")))} == {
        "S001"
    }
    other = await client.get(
        f"{BASE}/export/SH001/2026-09", params={"employee_no": "S002"}, headers=alice
    )
    assert other.status_code == 403


async def test_rules_end_and_pool_shares_over_http_and_the_schema_lists_them(client, floor):
    admin, manager = floor["headers"]["H0001"], floor["headers"]["M001"]
    ended = await client.post(
        f"{BASE}/rules/CHAIN/end", headers=admin, json={"valid_until": "2026-12-31"}
    )
    assert ended.status_code == 200 and ended.json()["valid_until"] == "2026-12-31"
    refused = await client.post(
        f"{BASE}/rules/CHAIN/end", headers=manager, json={"valid_until": "2026-12-31"}
    )
    assert refused.status_code == 403
    listed = await client.get(f"{BASE}/rules", params={"on": "2027-01-01"}, headers=manager)
    assert listed.status_code == 200 and listed.json() == []
    shares = {
        "shares": [{"employee_no": "S001", "weight": 1}, {"employee_no": "S002", "weight": 3}]
    }
    response = await client.put(f"{BASE}/pool-shares/SH001", headers=manager, json=shares)
    assert response.status_code == 200, response.text
    other = await client.put(f"{BASE}/pool-shares/SH002", headers=manager, json=shares)
    assert other.status_code == 403
    closed = await client.post(f"{BASE}/periods/SH001/2026-09/close", headers=manager)
    assert closed.json()["pool_paid_minor"] == 150
    bob = await client.get(
        f"{BASE}/statements/SH001/2026-09/staff/S002", headers=floor["headers"]["S002"]
    )
    assert bob.json()["pool_share_minor"] == 112  # 150 × 3/4, largest remainder
    assert bob.json()["payable_minor"] == 150 + 112  # personal 200 - 50 to the pool
    schema = await client.get("/schema/openapi.json")
    assert "/api/v1/hq/commission/statements/{store_code}/{month}" in schema.json()["paths"]
