"""The demo's commission set-up is created once, pays believable amounts and verifies."""

from __future__ import annotations

from memberpos.clock import business_date, utc_now
from stores import catalog, commission_access, commission_rules, commission_statements
from stores.commission import SoldLine, record_sale
from stores.commission_demo import close_demo_months, create_demo_commission
from stores.commission_tables import CommissionPoolShare, CommissionRule, CommissionTarget
from stores.commission_verify import check_commission
from tests import factories


async def test_demo_commission_is_idempotent_and_verifies(db):
    assert await create_demo_commission() == "commission: skipped (no demo chain)"
    admin = await factories.hq_admin()  # H0001, as in the demo chain
    chain = await factories.small_chain(admin)
    for code, name, parent in (
        ("CARE", "个护美妆", None),
        ("SKIN", "护肤", "CARE"),
        ("APPAREL", "服饰", None),
        ("JEWEL", "珠宝", None),
        ("GOLD", "黄金饰品", "JEWEL"),
    ):
        await catalog.create_category(admin, code=code, name=name, parent_code=parent)
    await catalog.create_brand(admin, code="YUEJI", name="悦己")
    for code in ("S1", "S2"):
        await factories.employee(admin, code, ["salesperson"], "SH001")
    first = await create_demo_commission()
    assert first.startswith("commission: 8 rules (8 new)")
    second = await create_demo_commission()
    assert second.startswith("commission: 8 rules (0 new), 0 new targets")
    assert await CommissionRule.count() == 8
    assert await CommissionTarget.count() == 3 + 2  # three stores, two salespeople
    assert await CommissionPoolShare.count() == 2

    today = business_date(utc_now(), "Asia/Shanghai")
    people = await commission_access.staff_by_employee_no("S1")
    total = await record_sale(
        sale_ref="DEMO-1",
        store_id=chain["stores"]["SH001"]["id"],
        business_date=today,
        at=utc_now(),
        lines=[
            SoldLine(1, "SNACK-1", 1, 11_800, 0, ((people["id"], 10_000),)),  # FOOD 0.5 %
            SoldLine(2, "UNKNOWN", 1, 10_000, 0, ()),  # SH001's default 1.5 %, all pool
        ],
    )
    assert total == 59 + 150
    statement = await commission_statements.store_statement(admin, "SH001", today.replace(day=1))
    assert statement["target_minor"] == 30_000_000 and statement["attainment_bp"] == 7
    assert await check_commission() == []


async def test_closing_the_demo_months_closes_ended_months_once(db):
    import datetime as dt

    admin = await factories.hq_admin()
    chain = await factories.small_chain(admin)
    person = await factories.employee(admin, "S1", ["salesperson"], "SH001")
    await commission_rules.create_rule(
        admin,
        code="BASE",
        name="base",
        valid_from=dt.date(2026, 1, 1),
        rate_bp=100,
        pool_share_bp=5000,
    )
    today = business_date(utc_now(), "Asia/Shanghai")
    for ref, on in (("OLD", dt.date(2026, 9, 3)), ("NOW", today)):
        await record_sale(
            sale_ref=ref,
            store_id=chain["stores"]["SH001"]["id"],
            business_date=on,
            at=utc_now(),
            lines=[SoldLine(1, "SNACK-1", 1, 10_000, 0, ((person["id"], 10_000),))],
        )
    assert await close_demo_months() == "commission months: 1 closed"
    assert await close_demo_months() == "commission months: 0 closed"
    statement = await commission_statements.staff_statement(
        admin, "SH001", dt.date(2026, 9, 1), "S1"
    )
    assert statement["status"] == "closed" and statement["pool_share_minor"] == 50
    assert await check_commission() == []
