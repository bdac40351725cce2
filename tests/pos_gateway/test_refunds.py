"""Refunds give back exactly what the refunded lines cost, over several partial refunds too."""

from __future__ import annotations

from loyalty.points import points_summary
from loyalty.stored_value import stored_value_summary
from pos_gateway.tables import Refund, Sale
from tests.pos_gateway.conftest import MANAGER_PIN, MEMBER_PIN, Shop, txn


async def _refund(shop: Shop, sale_no: str, lines: list[dict] | None = None, **extra):
    return await shop.post(
        "/refunds",
        {
            "client_txn_id": txn(),
            "local_time": "2026-11-23T15:00:00",
            "sale_no": sale_no,
            "lines": lines or [],
            **extra,
        },
    )


async def test_partial_refunds_telescope_to_the_sale(shop: Shop) -> None:
    await shop.top_up(100000)
    sale = (
        await shop.sale(
            [{"sku": "SNACK-2", "quantity": 3}, {"sku": "SNACK-1", "quantity": 1}],
            [
                {"method": "stored_value", "amount_minor": 10000},
                {"method": "cash", "amount_minor": 3990 * 3 + 12800 - 10000},
            ],
            member=shop.member,
        )
    ).json()
    points_after_sale = (await points_summary(shop.member_id))["balance"]
    assert points_after_sale == sale["points_earned"]
    pieces = []
    for _ in range(3):
        response = await _refund(shop, sale["sale_no"], [{"line_no": 1, "quantity": 1}])
        assert response.status_code == 201, response.text
        pieces.append(response.json())
    assert sum(p["amount_minor"] for p in pieces) == 3 * 3990
    too_many = await _refund(shop, sale["sale_no"], [{"line_no": 1, "quantity": 1}])
    assert too_many.status_code == 422 and too_many.json()["code"] == "refund_exceeds_sale"
    rest = await _refund(shop, sale["sale_no"])
    assert rest.status_code == 201, rest.text
    assert rest.json()["fully_refunded"] is True
    refunds = [*pieces, rest.json()]
    assert sum(r["amount_minor"] for r in refunds) == sale["total_minor"]
    assert sum(r["stored_value_returned_minor"] for r in refunds) == 10000
    assert sum(r["points_reversed"] for r in refunds) == sale["points_earned"]
    assert (await stored_value_summary(shop.member_id))["balance"] == 100000
    assert (await points_summary(shop.member_id))["balance"] == 0
    nothing = await _refund(shop, sale["sale_no"])
    assert nothing.json()["code"] == "nothing_to_refund"
    row = await Sale.select(Sale.refunded_minor).where(Sale.sale_no == sale["sale_no"]).first()
    assert row["refunded_minor"] == sale["total_minor"]


async def test_refund_of_a_sale_paid_partly_with_points(shop: Shop) -> None:
    await shop.top_up(100000)
    # earn 256 points, then pay 200 of them (2.00) towards the next basket
    first = await shop.sale(
        [{"sku": "SNACK-1", "quantity": 2}],
        [{"method": "stored_value", "amount_minor": 25600}],
        member=shop.member,
        payment_pin=MEMBER_PIN,
    )
    assert first.status_code == 201, first.text
    second = await shop.sale(
        [{"sku": "SNACK-2", "quantity": 2}],
        [
            {"method": "points", "amount_minor": 200, "points": 200},
            {"method": "cash", "amount_minor": 7980 - 200},
        ],
        member=shop.member,
    )
    assert second.status_code == 201, second.text
    sale = second.json()
    assert sale["points_used"] == 200
    before = (await points_summary(shop.member_id))["balance"]
    refund = (await _refund(shop, sale["sale_no"], [{"line_no": 1, "quantity": 1}])).json()
    assert refund["points_returned"] == 100
    assert refund["amount_minor"] == 3990
    assert {r["method"]: r["amount_minor"] for r in refund["refund_to"]} == {
        "points": 100,
        "cash": 3890,
    }
    after = (await points_summary(shop.member_id))["balance"]
    assert after == before + 100 - refund["points_reversed"]


async def test_refund_at_another_store_is_refused(shop: Shop) -> None:
    sale = (
        await shop.sale(
            [{"sku": "SNACK-2", "quantity": 1}], [{"method": "cash", "amount_minor": 3990}]
        )
    ).json()
    response = await shop.post(
        "/refunds",
        {"client_txn_id": txn(), "local_time": "2026-11-23T15:00:00", "sale_no": sale["sale_no"]},
        headers=shop.other_store_headers,
    )
    assert response.status_code == 403 and response.json()["code"] == "store_mismatch"
    assert await Refund.count() == 0


async def test_a_big_refund_needs_a_manager_of_this_store(shop: Shop) -> None:
    sale = (
        await shop.sale(
            [{"sku": "SNACK-1", "quantity": 5}], [{"method": "bank_card", "amount_minor": 64000}]
        )
    ).json()
    refused = await _refund(shop, sale["sale_no"])
    assert refused.status_code == 403
    assert refused.json()["code"] == "manager_authorisation_required"
    other_manager = await _refund(
        shop, sale["sale_no"], manager={"employee_no": "M002", "pin": MANAGER_PIN}
    )
    assert other_manager.json()["code"] == "manager_not_authorised"
    wrong_pin = await _refund(shop, sale["sale_no"], manager={"employee_no": "M001", "pin": "0000"})
    assert wrong_pin.status_code == 401
    ok = await _refund(shop, sale["sale_no"], manager={"employee_no": "M001", "pin": MANAGER_PIN})
    assert ok.status_code == 201, ok.text
    assert ok.json()["refund_to"] == [{"method": "bank_card", "amount_minor": 64000, "points": 0}]


async def test_each_partial_refund_gives_back_its_amount_by_tender_to_the_cent(
    shop: Shop,
) -> None:
    await shop.top_up(100000)
    await shop.sale(
        [{"sku": "SNACK-1", "quantity": 3}],
        [{"method": "stored_value", "amount_minor": 38400}],
        member=shop.member,
        payment_pin=MEMBER_PIN,
    )  # points to pay with
    # 200 points over lines of 79.80 and 128.00 leave line 1 an odd share of points and of
    # stored value: refunding one of its two units rounds both halves up.
    total = 2 * 3990 + 12800
    sale = (
        await shop.sale(
            [{"sku": "SNACK-2", "quantity": 2}, {"sku": "SNACK-1", "quantity": 1}],
            [
                {"method": "points", "amount_minor": 200, "points": 200},
                {"method": "stored_value", "amount_minor": total - 200},
            ],
            member=shop.member,
            payment_pin=MEMBER_PIN,
        )
    ).json()
    assert sale["total_minor"] == total, sale
    refunds = []
    for lines in ([{"line_no": 1, "quantity": 1}], []):
        response = await _refund(
            shop,
            sale["sale_no"],
            lines,
            manager={"employee_no": "M001", "pin": MANAGER_PIN},
        )
        assert response.status_code == 201, response.text
        refund = response.json()
        assert sum(r["amount_minor"] for r in refund["refund_to"]) == refund["amount_minor"]
        assert not [r for r in refund["refund_to"] if r["method"] == "cash"]
        refunds.append(refund)
    assert sum(r["amount_minor"] for r in refunds) == total
    back: dict[str, int] = {}
    for refund in refunds:
        for item in refund["refund_to"]:
            back[item["method"]] = back.get(item["method"], 0) + item["amount_minor"]
    assert back == {"points": 200, "stored_value": total - 200}
