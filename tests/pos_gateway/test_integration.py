"""A sale through every domain at once: member price and 满减 from the promotions HQ set up,
a coupon, commission to two salespeople, a family card paying from its parent, a tier
crossed by the sale; and the refund that reverses each of them."""

from __future__ import annotations

import datetime as dt

from piccolo.query.functions.aggregate import Sum

from loyalty.points import points_summary
from loyalty.stored_value import stored_value_summary
from members import family, tiers
from members.cards import Operator
from members.registration import Registration, register
from members.tables import Member
from pos_gateway.verify import check_sales
from promotions import coupons, engine, management
from promotions.tables import Coupon
from stores import commission_rules
from stores.access import Role
from stores.audit import SystemActor
from stores.commission_tables import CommissionEntry
from stores.staff import bootstrap_admin
from tests import factories
from tests.pos_gateway.conftest import MEMBER_PIN, Shop, now_local, txn

HQ = SystemActor("test HQ")
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


async def _promotions() -> None:
    for definition in (
        engine.MemberPrice(id="MEMBER", name="Member price", name_zh="会员价", group="member"),
        engine.SpendAndSave(
            id="MANJIAN",
            name="Every 200 save 20",
            name_zh="每满200减20",
            threshold_minor=20000,
            save_minor=2000,
            repeating=True,
        ),
    ):
        await management.create_promotion(HQ, definition)
        await management.change_status(HQ, definition.id, "activate")


async def _coupon(member_id: int) -> str:
    await coupons.create_batch(
        HQ,
        coupons.BatchSpec(
            code="WELCOME10",
            name="10 off",
            kind="amount_off",
            amount_off_minor=1000,
            valid_from=START,
            valid_to=START + dt.timedelta(days=700),
        ),
    )
    issued = await coupons.issue(HQ, "WELCOME10", member_ids=[member_id])
    return issued[0]["code"]


async def test_sale_and_refund_across_every_domain(shop: Shop) -> None:
    admin = await bootstrap_admin("H0001", "总部管理员", factories.PASSWORD)
    await commission_rules.create_rule(
        admin, code="STORE", name="2% store-wide", valid_from=dt.date(2026, 1, 1), rate_bp=200
    )
    await _promotions()
    code = await _coupon(shop.member_id)
    await shop.top_up(100000)
    body = {
        "lines": [
            {
                "sku": "SNACK-1",
                "quantity": 2,
                "salespeople": [{"employee_no": "S001"}, {"employee_no": "S002"}],
            },
            {"sku": "SNACK-2", "quantity": 1, "salespeople": [{"employee_no": "S001"}]},
        ],
        "member": shop.member,
        "coupons": [code],
        "local_time": now_local(),
    }
    quote = await shop.post("/quote", body)
    assert quote.status_code == 200, quote.text
    quoted = quote.json()
    # member price 118 × 2 + 39.90 = 275.90; 满减 once (−20); coupon −10 → 245.90
    assert quoted["gross_minor"] == 2 * 12800 + 3990
    assert quoted["total_minor"] == 2 * 11800 + 3990 - 2000 - 1000, quoted
    assert {a["promotion_id"] for a in quoted["applied"]} == {
        "MEMBER",
        "MANJIAN",
        f"coupon:{code.replace('-', '')}",
    }
    total = quoted["total_minor"]
    sale = await shop.sale(
        body["lines"],
        [{"method": "stored_value", "amount_minor": total}],
        member=shop.member,
        coupons=[code],
        payment_pin=MEMBER_PIN,
        expected_total_minor=total,
        local_time=body["local_time"],
    )
    assert sale.status_code == 201, sale.text
    booked = sale.json()
    assert booked["total_minor"] == total
    assert (
        booked["commission_minor"] == 2 * total // 100
        or abs(booked["commission_minor"] - total * 2 // 100) <= 1
    )
    plain = code.replace("-", "")
    used = await Coupon.select(Coupon.uses).where(Coupon.code == plain).first()
    assert used["uses"] == 1
    again = await shop.sale(
        body["lines"],
        [{"method": "cash", "amount_minor": 30000}],
        member=shop.member,
        coupons=[code],
    )
    assert again.status_code in (409, 422) and again.json()["code"].startswith("coupon_")

    refund = await shop.post(
        "/refunds",
        {"client_txn_id": txn(), "local_time": "2026-11-23T18:00:00", "sale_no": booked["sale_no"]},
    )
    assert refund.status_code == 201, refund.text
    assert refund.json()["amount_minor"] == total
    assert refund.json()["commission_reversed_minor"] == booked["commission_minor"]
    net = await CommissionEntry.select(Sum(CommissionEntry.commission_minor).as_alias("s")).where(
        CommissionEntry.sale_ref == booked["sale_no"]
    )
    assert (net[0]["s"] or 0) == 0
    reinstated = await Coupon.select(Coupon.uses).where(Coupon.code == plain).first()
    assert reinstated["uses"] == 0
    assert (await stored_value_summary(shop.member_id))["balance"] == 100000
    assert (await points_summary(shop.member_id))["balance"] == 0
    assert await check_sales() == []


async def test_family_child_pays_from_the_parent_within_limits(shop: Shop) -> None:
    child = await register(
        Registration(
            phone="13812349999",
            name="王小明",
            home_store_id=shop.stores["SH001"]["id"],
            payment_pin="111111",
        ),
        Operator(roles=frozenset({Role.cashier})),
    )
    await family.attach_child(
        shop.member_id,
        child.member_id,
        daily_limit_minor=5000,
        monthly_limit_minor=20000,
        who=family.FamilyActor(parent_pin=MEMBER_PIN),
    )
    await shop.top_up(50000)
    child_card = {"card_number": child.card["number"]}
    ok = await shop.sale(
        [{"sku": "SNACK-2", "quantity": 1}],
        [{"method": "stored_value", "amount_minor": 3990}],
        member=child_card,
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["member"]["family_parent"] is True
    assert (await stored_value_summary(shop.member_id))["balance"] == 50000 - 3990
    assert (await points_summary(shop.member_id))["balance"] == 39  # to the parent
    assert (await points_summary(child.member_id))["balance"] == 0
    over = await shop.sale(
        [{"sku": "SNACK-2", "quantity": 1}],
        [{"method": "stored_value", "amount_minor": 3990}],
        member=child_card,
    )
    assert over.status_code == 422 and over.json()["code"] == "family_limit_exceeded"
    assert (await stored_value_summary(shop.member_id))["balance"] == 50000 - 3990


async def test_the_sale_that_crosses_a_threshold_upgrades_the_tier(shop: Shop) -> None:
    await tiers.seed_default_tiers()
    big = await shop.sale(
        [{"sku": "SNACK-1", "quantity": 40}],
        [{"method": "bank_card", "amount_minor": 40 * 12800}],
        member=shop.member,
    )
    assert big.status_code == 201, big.text
    change = big.json()["tier_change"]
    assert change is not None and change["to"] == "SILVER"
    row = (
        await Member.select(Member.tier.code.as_alias("tier"))
        .where(Member.id == shop.member_id)
        .first()
    )
    assert row["tier"] == "SILVER"
