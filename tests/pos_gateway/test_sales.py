"""Sales at the till: pricing, payments, ledgers and the answer, on both backends."""

from __future__ import annotations

import datetime as dt
from typing import Any

from loyalty.points import points_summary
from loyalty.stored_value import stored_value_summary
from pos_gateway.tables import Sale, SaleLine, SalePayment
from tests.pos_gateway.conftest import MEMBER_PIN, Shop


async def test_cash_sale_without_member(shop: Shop) -> None:
    response = await shop.sale(
        [{"sku": "SNACK-1", "quantity": 2}, {"sku": "SNACK-2", "quantity": 1}],
        [{"method": "cash", "amount_minor": 30000}],
        cashier_employee_no="C001",
    )
    assert response.status_code == 201, response.text
    sale = response.json()
    assert sale["gross_minor"] == 2 * 12800 + 3990
    assert sale["total_minor"] == 2 * 12800 + 3990
    assert sale["change_minor"] == 30000 - sale["total_minor"]
    assert sale["points_earned"] == 0 and sale["member"] is None
    assert sale["sale_no"].isdigit() and len(sale["sale_no"]) == 16
    rows = await Sale.select().where(Sale.sale_no == sale["sale_no"])
    assert rows[0]["total_minor"] == sale["total_minor"]
    assert len(await SaleLine.select().where(SaleLine.sale == rows[0]["id"])) == 2
    assert len(await SalePayment.select().where(SalePayment.sale == rows[0]["id"])) == 1


async def test_member_sale_earns_points_and_spends_stored_value(shop: Shop) -> None:
    topped = await shop.top_up(50000)
    assert topped.status_code == 201, topped.text
    response = await shop.sale(
        [{"sku": "SNACK-1", "quantity": 1, "salespeople": [{"employee_no": "S001"}]}],
        [{"method": "stored_value", "amount_minor": 12800}],
        member=shop.member,
    )
    assert response.status_code == 201, response.text
    sale: dict[str, Any] = response.json()
    assert sale["stored_value_used_minor"] == 12800
    assert sale["points_earned"] == 128  # 1 point per yuan
    assert sale["balances"]["stored_value_minor"] == 50000 - 12800
    assert (await stored_value_summary(shop.member_id))["balance"] == 50000 - 12800
    assert (await points_summary(shop.member_id))["balance"] == 128
    assert sale["member"]["masked_phone"] == "138****0000"


async def test_stored_value_above_threshold_needs_the_pin(shop: Shop) -> None:
    await shop.top_up(100000)
    lines = [{"sku": "SNACK-1", "quantity": 2}]
    payments = [{"method": "stored_value", "amount_minor": 25600}]
    refused = await shop.sale(lines, payments, member=shop.member)
    assert refused.status_code == 403
    assert refused.json()["code"] == "payment_pin_required"
    wrong = await shop.sale(lines, payments, member=shop.member, payment_pin="000000")
    assert wrong.json()["code"] == "wrong_pin"
    ok = await shop.sale(lines, payments, member=shop.member, payment_pin=MEMBER_PIN)
    assert ok.status_code == 201, ok.text
    assert await Sale.count() == 1


async def test_payments_must_add_up(shop: Shop) -> None:
    short = await shop.sale(
        [{"sku": "SNACK-2", "quantity": 1}], [{"method": "bank_card", "amount_minor": 3000}]
    )
    assert short.status_code == 422 and short.json()["code"] == "payments_mismatch"
    over = await shop.sale(
        [{"sku": "SNACK-2", "quantity": 1}], [{"method": "bank_card", "amount_minor": 5000}]
    )
    assert over.status_code == 422 and over.json()["code"] == "change_without_cash"
    assert await Sale.count() == 0


async def test_insufficient_stored_value_writes_nothing(shop: Shop) -> None:
    await shop.top_up(1000)
    response = await shop.sale(
        [{"sku": "SNACK-2", "quantity": 1}],
        [{"method": "stored_value", "amount_minor": 3990}],
        member=shop.member,
    )
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stored_value"
    assert await Sale.count() == 0
    assert (await stored_value_summary(shop.member_id))["balance"] == 1000


async def test_receipt_bytes_message_and_price_override(shop: Shop) -> None:
    import base64

    from members.tables import Outbox

    response = await shop.sale(
        [{"sku": "SNACK-2", "quantity": 1}],
        [{"method": "cash", "amount_minor": 5000}],
        member=shop.member,
        receipt={"format": "escpos", "columns": 32},
    )
    assert response.status_code == 201, response.text
    sale = response.json()
    data = base64.b64decode(sale["receipt_escpos_b64"])
    assert "上海一店".encode("gb18030") in data
    assert sale["sale_no"].encode() in data
    assert b"\x1b\x70" in data  # cash: the drawer kicks
    message = (
        await Outbox.select().where(Outbox.template == "sale_receipt").output(load_json=True)
    )[0]
    assert message["channel"] == "sms" and message["payload"]["sale_no"] == sale["sale_no"]
    assert "13812340000" not in str(message["payload"])

    override = [{"sku": "SNACK-1", "quantity": 1, "unit_price_minor": 9900}]
    refused = await shop.sale(override, [{"method": "cash", "amount_minor": 9900}])
    assert refused.status_code == 403
    assert refused.json()["code"] == "manager_authorisation_required"
    ok = await shop.sale(
        override,
        [{"method": "cash", "amount_minor": 9900}],
        manager={"employee_no": "M001", "pin": "2468"},
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["total_minor"] == 9900
    row = await Sale.select(Sale.manager).where(Sale.sale_no == ok.json()["sale_no"]).first()
    assert row["manager"] is not None


async def test_price_changed_since_the_quote_is_refused(shop: Shop) -> None:
    response = await shop.sale(
        [{"sku": "SNACK-2", "quantity": 1}],
        [{"method": "cash", "amount_minor": 3990}],
        expected_total_minor=3500,
    )
    assert response.status_code == 409 and response.json()["code"] == "price_changed"
    assert response.json()["total_minor"] == 3990


async def test_answer_balances_are_the_ledgers_after_points_spent_and_earned(shop: Shop) -> None:
    """The answer's spendable/pending come from the earn's own statement (no read of the lots
    after it): they must be what the ledger says at the sale's time, with lots spendable,
    pending and expired on the account and the new lot pending."""
    from loyalty import points
    from loyalty.program import save_program
    from memberpos.clock import utc_now

    await save_program({"pending_days": 7})
    now = utc_now()
    today = now.date()
    for n, (amount, available, expires) in enumerate(
        [
            (500, now - dt.timedelta(days=30), None),  # spendable
            (300, now + dt.timedelta(days=3), None),  # pending
            (200, now - dt.timedelta(days=30), today - dt.timedelta(days=3)),  # expired
        ]
    ):
        await points.earn(
            shop.member_id,
            amount,
            points.Source("adjustment", f"grant-{n}"),
            at=now - dt.timedelta(days=40),
            available_from=available,
            expires_on=expires,
        )
    response = await shop.sale(
        [{"sku": "SNACK-1", "quantity": 1}],
        [
            {"method": "points", "amount_minor": 200, "points": 200},
            {"method": "cash", "amount_minor": 12800 - 200},
        ],
        member=shop.member,
    )
    assert response.status_code == 201, response.text
    sale = response.json()
    earned = sale["points_earned"]
    assert earned > 0 and sale["points_used"] == 200
    at = dt.datetime.fromisoformat(sale["occurred_at"])
    ledger = await points_summary(shop.member_id, at)
    balances = sale["balances"]
    assert balances["points_balance"] == ledger["balance"] == 1000 - 200 + earned
    assert balances["points_spendable"] == ledger["spendable"] == 500 - 200
    assert balances["points_pending"] == ledger["pending"] == 300 + earned
    assert sale["member"]["points_spendable"] == 300
