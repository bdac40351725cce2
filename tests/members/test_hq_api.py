"""The HQ API of members: search with masked phones for non-managers, store scope, card
operations by role, cancelling a membership, tiers, family and merge over HTTP."""

from __future__ import annotations

import logging

from members.tables import Card, Member
from tests import factories


async def _staff(chain) -> dict[str, str]:
    admin = chain["admin"]
    await factories.employee(admin, "C1", ["cashier"], "SH001")
    await factories.employee(admin, "M1", ["store_manager"], "SH001")
    await factories.employee(admin, "M2", ["store_manager"], "SH002")
    await factories.employee(admin, "A1", ["analyst"])
    return {}


async def _register(client, headers, phone: str, store: str = "SH001", **extra) -> dict:
    response = await client.post(
        "/api/v1/hq/members",
        headers=headers,
        json={"phone": phone, "name": "顾客", "home_store_code": store, **extra},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_search_masks_phones_for_non_managers_and_keeps_store_scope(client, chain, caplog):
    caplog.set_level(logging.INFO)
    await _staff(chain)
    admin = await factories.sign_in(client, "H0001")
    cashier = await factories.sign_in(client, "C1")
    manager = await factories.sign_in(client, "M1")
    other_manager = await factories.sign_in(client, "M2")
    first = await _register(client, cashier, "13812345678", payment_pin="9753")
    assert first["created"] and first["card"]["status"] == "active"
    assert not factories.shows("9753", str(first))
    again = await _register(client, admin, "+86 138 1234 5678")
    assert again == {**first, "created": False}
    await _register(client, admin, "13987654321", store="SH002")

    seen = (await client.get("/api/v1/hq/members?q=5678", headers=cashier)).json()
    assert [m["phone"] for m in seen] == ["138****5678"]
    full = (await client.get("/api/v1/hq/members?q=13812345678", headers=manager)).json()
    assert [m["phone"] for m in full] == ["+8613812345678"]
    assert len((await client.get("/api/v1/hq/members", headers=admin)).json()) == 2
    assert len((await client.get("/api/v1/hq/members", headers=cashier)).json()) == 1
    scoped = await client.get(f"/api/v1/hq/members/{first['member_id']}", headers=other_manager)
    assert scoped.status_code == 403 and scoped.json()["code"] == "store_out_of_scope"
    view = (await client.get(f"/api/v1/hq/members/{first['member_id']}", headers=manager)).json()
    assert view["phone"] == "+8613812345678" and view["progress"]["tier_code"] == "STANDARD"
    assert "payment_pin_hash" not in str(view)
    by_card = await client.get(f"/api/v1/hq/members?q={first['card']['number']}", headers=cashier)
    assert [m["id"] for m in by_card.json()] == [first["member_id"]]

    bad = await client.post(
        "/api/v1/hq/members",
        headers=admin,
        json={"phone": "12345", "name": "x", "home_store_code": "SH001"},
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_phone"
    assert await Member.count() == 2
    audit = await client.get("/api/v1/hq/audit", headers=admin)
    assert audit.status_code == 200 and "member.register" in audit.text
    assert not factories.shows("9753", audit.text) and not factories.shows("9753", caplog.text)
    typo = await client.post(
        "/api/v1/hq/members",
        headers=admin,
        json={
            "phone": "13700000000",
            "name": "x",
            "home_store_code": "SH001",
            "card_number": "8800000000000001",
        },
    )
    assert typo.status_code == 400 and typo.json()["code"] == "invalid_card_number"
    unknown_store = await client.post(
        "/api/v1/hq/members",
        headers=admin,
        json={"phone": "13700000000", "name": "x", "home_store_code": "NOPE"},
    )
    assert unknown_store.status_code == 400 and "home_store_code" in unknown_store.text
    assert await Member.count() == 2


async def test_card_operations_by_role_and_cancel_membership(client, chain):
    await _staff(chain)
    cashier = await factories.sign_in(client, "C1")
    manager = await factories.sign_in(client, "M1")
    other_manager = await factories.sign_in(client, "M2")
    member = await _register(client, cashier, "13812340001")
    number = member["card"]["number"]

    def act(action, headers, **body):
        return client.post(f"/api/v1/hq/cards/{number}/{action}", headers=headers, json=body)

    assert (await act("freeze", cashier, reason="x")).status_code == 403
    analyst = await factories.sign_in(client, "A1")
    assert (await act("report-lost", analyst, reason="x")).status_code == 403
    seen = (await client.get("/api/v1/hq/members", headers=analyst)).json()
    assert [m["phone"] for m in seen] == ["138****0001"]
    assert (await act("freeze", other_manager, reason="x")).json()["code"] == "store_out_of_scope"
    assert (await act("freeze", manager, reason="suspicious")).json()["status"] == "frozen"
    refused = await act("freeze", manager)
    assert refused.status_code == 409 and refused.json()["code"] == "card_frozen"
    assert (await act("unfreeze", manager)).json()["status"] == "active"
    assert (await act("report-lost", cashier, reason="phone call")).json()["status"] == "lost"
    replaced = (await act("replace", cashier, reason="new card")).json()
    new_number = replaced["replaced_by"]["number"]
    assert replaced["status"] == "replaced" and new_number != number
    dead = await act("report-lost", cashier)
    assert dead.status_code == 409 and dead.json()["code"] == "card_replaced"
    assert (await act("teleport", manager)).status_code == 400
    history = (await client.get(f"/api/v1/hq/cards/{number}/history", headers=cashier)).json()
    assert [h["action"] for h in history] == [
        "issue",
        "freeze",
        "unfreeze",
        "report_lost",
        "replace",
    ]
    assert history[1]["staff_employee_no"] == "M1"

    path = f"/api/v1/hq/members/{member['member_id']}/cancel"
    assert (await client.post(path, headers=cashier, json={"reason": "moving"})).status_code == 403
    assert (await client.post(path, headers=manager, json={})).status_code == 400
    cancelled = await client.post(path, headers=manager, json={"reason": "moving abroad"})
    assert cancelled.status_code == 200
    assert cancelled.json()["cancelled_cards"] == [new_number]
    assert "stored value" in cancelled.json()["stored_value_note"].lower()
    statuses = {r["number"]: r["status"] for r in await Card.select(Card.number, Card.status)}
    assert statuses == {number: "replaced", new_number: "cancelled"}
    again = await client.post(path, headers=manager, json={"reason": "twice"})
    assert again.status_code == 409 and again.json()["code"] == "membership_cancelled"


async def test_tiers_crud_manual_set_family_and_merge(client, chain):
    await _staff(chain)
    admin = await factories.sign_in(client, "H0001")
    cashier = await factories.sign_in(client, "C1")
    manager = await factories.sign_in(client, "M1")
    tiers = (await client.get("/api/v1/hq/tiers", headers=cashier)).json()
    assert [t["code"] for t in tiers] == ["STANDARD", "SILVER", "GOLD", "DIAMOND"]
    plus = {"code": "PLUS", "name": "PLUS会员", "rank": 10, "annual_fee_minor": 19900}
    assert (await client.post("/api/v1/hq/tiers", headers=manager, json=plus)).status_code == 403
    created = await client.post("/api/v1/hq/tiers", headers=admin, json=plus)
    assert created.status_code == 201 and created.json()["annual_fee_minor"] == 19900
    dup = await client.post("/api/v1/hq/tiers", headers=admin, json=plus)
    assert dup.status_code == 409 and dup.json()["code"] == "duplicate_tier"
    negative = await client.post(
        "/api/v1/hq/tiers", headers=admin, json={**plus, "code": "XX", "discount_bp": -1}
    )
    assert negative.status_code == 400 and "discount_bp" in negative.text
    patched = await client.patch(
        "/api/v1/hq/tiers/SILVER", headers=admin, json={"discount_bp": 250}
    )
    assert patched.json()["discount_bp"] == 250

    parent = await _register(client, cashier, "13812340001")
    child = await _register(client, cashier, "13812340002")
    dup_member = await _register(client, cashier, "13812340003")
    set_tier = await client.post(
        f"/api/v1/hq/members/{parent['member_id']}/tier",
        headers=admin,
        json={"tier_code": "GOLD", "until": "2099-12-31", "reason": "VIP"},
    )
    assert set_tier.status_code == 200 and set_tier.json()["to_tier"] == "GOLD"
    unknown = await client.post(
        f"/api/v1/hq/members/{parent['member_id']}/tier",
        headers=admin,
        json={"tier_code": "NOPE", "until": "2099-12-31"},
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_tier"

    attach = await client.post(
        f"/api/v1/hq/members/{parent['member_id']}/family",
        headers=cashier,
        json={"child_member_id": child["member_id"], "monthly_limit_minor": 100},
    )
    assert attach.status_code == 403
    attach = await client.post(
        f"/api/v1/hq/members/{parent['member_id']}/family",
        headers=manager,
        json={
            "child_member_id": child["member_id"],
            "daily_limit_minor": 5000,
            "monthly_limit_minor": 20000,
        },
    )
    assert attach.status_code == 201, attach.text
    fam = (
        await client.get(f"/api/v1/hq/members/{parent['member_id']}/family", headers=cashier)
    ).json()
    assert [c["child_id"] for c in fam["children"]] == [child["member_id"]]
    limits = await client.put(
        f"/api/v1/hq/members/{parent['member_id']}/family/{child['member_id']}/limits",
        headers=manager,
        json={"daily_limit_minor": 100, "monthly_limit_minor": 50},
    )
    assert limits.status_code == 400 and limits.json()["field"] == "monthly_limit_minor"
    detach = await client.post(
        f"/api/v1/hq/members/{parent['member_id']}/family/{child['member_id']}/detach",
        headers=manager,
        json={"reason": "asked"},
    )
    assert detach.status_code == 200 and detach.json()["detached_at"]

    body = {
        "survivor_id": parent["member_id"],
        "merged_id": dup_member["member_id"],
        "reason": "same person",
    }
    refused = await client.post("/api/v1/hq/members/merge", headers=cashier, json=body)
    assert refused.status_code == 403 and refused.json()["code"] == "merge_not_allowed"
    refused = await client.post("/api/v1/hq/members/merge", headers=manager, json=body)
    assert refused.json()["code"] == "merge_not_allowed"
    assert await Member.count().where(Member.status == "merged") == 0
    merged = await client.post("/api/v1/hq/members/merge", headers=admin, json=body)
    assert merged.status_code == 201, merged.text
    assert merged.json()["moved"]["cards"][0]["status"] == "replaced"
    assert await Member.count().where(Member.status == "merged") == 1
