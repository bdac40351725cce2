"""Counter operations from the till: lookup, registration, top-up, card steps; and who may
call the gateway at all."""

from __future__ import annotations

from loyalty.stored_value import stored_value_summary
from members.tables import Member
from pos_gateway.tables import TopUp
from stores import terminals
from stores.access import Actor
from stores.tables import Terminal
from tests.pos_gateway.conftest import MANAGER_PIN, Shop, txn


async def test_lookup_by_card_phone_and_refusals(shop: Shop) -> None:
    by_card = await shop.get("/members", card_number=shop.card_number)
    assert by_card.status_code == 200, by_card.text
    view = by_card.json()
    assert view["masked_phone"] == "138****0000" and view["name"] == "王芳"
    assert "phone" not in view and "13812340000" not in by_card.text
    by_phone = await shop.get("/members", phone="13812340000")
    assert by_phone.json()["member_id"] == view["member_id"]
    mistyped = shop.card_number[:-1] + str((int(shop.card_number[-1]) + 1) % 10)
    wrong = await shop.get("/members", card_number=mistyped)
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid_card_number"
    nobody = await shop.get("/members", phone="13900000000")
    assert nobody.status_code == 404 and nobody.json()["code"] == "unknown_member"


async def test_registration_is_unique_by_phone_and_idempotent(shop: Shop) -> None:
    body = {
        "client_txn_id": txn(),
        "phone": "139 1234 5678",
        "name": "李雷",
        "consent": {"sms": True},
        "payment_pin": "135790",
    }
    first = await shop.post("/members", body)
    assert first.status_code == 201, first.text
    assert first.json()["created"] is True and first.json()["card_number"]
    replay = await shop.post("/members", body)
    assert replay.content == first.content
    again = await shop.post("/members", {**body, "client_txn_id": txn()})
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["member_id"] == first.json()["member_id"]
    assert await Member.count().where(Member.phone == "+8613912345678") == 1
    bad = await shop.post("/members", {**body, "client_txn_id": txn(), "phone": "12345"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_phone"


async def test_top_up_with_bonus_rule_and_receipt(shop: Shop) -> None:
    response = await shop.top_up(50000, receipt={"format": "text", "columns": 32})
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["member"]["stored_value_minor"] == 50000 + answer["bonus_minor"]
    assert answer["receipt_text"] and "500.00" in answer["receipt_text"]
    assert await TopUp.count() == 1
    assert (await stored_value_summary(shop.member_id))["principal"] == 50000


async def test_card_report_lost_then_refused_everywhere(shop: Shop) -> None:
    lost = await shop.post(
        f"/cards/{shop.card_number}/operations",
        {"client_txn_id": txn(), "action": "report_lost", "reason": "丢失"},
    )
    assert lost.status_code == 200, lost.text
    assert lost.json()["status"] == "lost"
    lookup = await shop.get("/members", card_number=shop.card_number)
    assert lookup.status_code == 409 and lookup.json()["code"] == "card_lost"
    sale = await shop.sale(
        [{"sku": "SNACK-2", "quantity": 1}],
        [{"method": "cash", "amount_minor": 3990}],
        member=shop.member,
    )
    assert sale.json()["code"] == "card_lost"


async def test_freeze_needs_a_manager(shop: Shop) -> None:
    body = {"client_txn_id": txn(), "action": "freeze", "reason": "可疑交易"}
    refused = await shop.post(f"/cards/{shop.card_number}/operations", body)
    assert refused.status_code == 403
    assert refused.json()["code"] == "manager_authorisation_required"
    body["manager"] = {"employee_no": "M001", "pin": MANAGER_PIN}
    frozen = await shop.post(f"/cards/{shop.card_number}/operations", body)
    assert frozen.status_code == 200 and frozen.json()["status"] == "frozen"


async def test_keys_are_required_and_revocation_is_immediate(shop: Shop, client) -> None:
    anonymous = await client.get("/api/v1/pos/terminal")
    assert anonymous.status_code == 401
    assert (await shop.get("/terminal")).status_code == 200
    row = (
        await Terminal.select(Terminal.id)
        .where((Terminal.name == "POS-01") & (Terminal.store.code == "SH001"))
        .first()
    )
    admin = Actor(1, "H0001", "admin", frozenset({"hq_admin"}), None, None)  # type: ignore[arg-type]
    await terminals.revoke(admin, row["id"], "stolen")
    refused = await shop.sale(
        [{"sku": "SNACK-2", "quantity": 1}], [{"method": "cash", "amount_minor": 3990}]
    )
    assert refused.status_code == 401
    assert refused.json()["code"] == "terminal_revoked"


async def test_bad_input_names_the_field(shop: Shop) -> None:
    response = await shop.sale(
        [{"sku": "SNACK-2", "quantity": 0}], [{"method": "cash", "amount_minor": 3990}]
    )
    assert response.status_code == 400
    assert "quantity" in response.json()["field"]
    unknown = await shop.sale(
        [{"sku": "NOPE", "quantity": 1}], [{"method": "cash", "amount_minor": 3990}]
    )
    assert unknown.status_code == 404 and unknown.json()["field"] == "lines[0].sku"
    extra = await shop.sale(
        [{"sku": "SNACK-2", "quantity": 1, "colour": "red"}],
        [{"method": "cash", "amount_minor": 3990}],
    )
    assert extra.status_code == 400 and "colour" in extra.json()["field"]
