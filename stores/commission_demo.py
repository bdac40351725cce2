"""Believable commission set-up for the demo chain (``memberpos demo``), created idempotently
through the domain's own functions: HQ's rules of every kind, this month's sales targets per
store and salesperson, and how two stores split their shared pool (公佣)."""

from __future__ import annotations

import datetime as dt

from memberpos.clock import business_date, utc_now
from stores import commission_periods, commission_rules
from stores.commission_tables import CommissionPoolShare, CommissionRule, CommissionTarget
from stores.staff import actor_for
from stores.tables import Staff, Store

HQ_ADMIN_NO = "H0001"
MARGINAL_SKIN = [
    {"above_minor": 0, "rate_bp": 200},
    {"above_minor": 2_000_000, "rate_bp": 300},  # above ¥20,000 of sales in the month
]
WHOLE_APPAREL = [
    {"above_minor": 0, "rate_bp": 300},
    {"above_minor": 3_000_000, "rate_bp": 400},  # ¥30,000 reached: the whole month at 4 %
    {"above_minor": 8_000_000, "rate_bp": 500},
]
# code, name, terms (valid from 1 January of the current year)
RULES: list[tuple[str, str, dict]] = [
    ("CHAIN-BASE", "全国默认 1%（两成入公佣）", {"rate_bp": 100, "pool_share_bp": 2000}),
    (
        "WEST-BASE",
        "西北区默认 1.2%",
        {"region_code": "WEST", "rate_bp": 120, "pool_share_bp": 2000},
    ),
    (
        "SH001-BASE",
        "南京东路店默认 1.5%",
        {"store_code": "SH001", "rate_bp": 150, "pool_share_bp": 2500},
    ),
    ("FOOD", "食品 0.5%", {"category_code": "FOOD", "rate_bp": 50, "pool_share_bp": 5000}),
    (
        "SKIN",
        "护肤 超额累进 2%/3%（积分部分不计）",
        {
            "category_code": "SKIN",
            "level_mode": "marginal",
            "levels": MARGINAL_SKIN,
            "exclude_points_paid": True,
            "pool_share_bp": 1000,
        },
    ),
    ("YUEJI", "悦己品牌 4%", {"brand_code": "YUEJI", "rate_bp": 400, "pool_share_bp": 1000}),
    (
        "APPAREL",
        "服饰 全额累进 3%/4%/5%",
        {
            "category_code": "APPAREL",
            "level_mode": "whole",
            "levels": WHOLE_APPAREL,
            "pool_share_bp": 3000,
        },
    ),
    (
        "GOLD",
        "黄金饰品 每件 ¥15",
        {
            "category_code": "GOLD",
            "basis": "per_unit",
            "amount_per_unit_minor": 1500,
            "pool_share_bp": 5000,
        },
    ),
]
STORE_TARGET_MINOR = 30_000_000  # ¥300,000 a month
SALESPERSON_TARGET_MINOR = 8_000_000  # ¥80,000
POOL_WEIGHTS_STORES = ("SH001", "UR001")  # split by hours on the rota; the rest equally


async def create_demo_commission() -> str:
    admin_row = await Staff.select(Staff.id).where(Staff.employee_no == HQ_ADMIN_NO).first()
    if admin_row is None:
        return "commission: skipped (no demo chain)"
    admin = await actor_for(admin_row["id"])
    today = business_date(utc_now(), "Asia/Shanghai")
    valid_from = dt.date(today.year, 1, 1)
    existing = {row["code"] for row in await CommissionRule.select(CommissionRule.code)}
    stores = {row["code"]: row["id"] for row in await Store.select(Store.code, Store.id)}
    created = 0
    for code, name, terms in RULES:
        if code in existing:
            continue
        if terms.get("store_code") and terms["store_code"] not in stores:
            continue
        await commission_rules.create_rule(
            admin, code=code, name=name, valid_from=valid_from, **terms
        )
        created += 1

    month = today.replace(day=1)
    targets = 0
    for code, store_id in sorted(stores.items()):
        have = {
            row["staff"]
            for row in await CommissionTarget.select(CommissionTarget.staff).where(
                (CommissionTarget.store == store_id) & (CommissionTarget.month_start == month)
            )
        }
        if None not in have:
            await commission_periods.set_target(admin, code, month, STORE_TARGET_MINOR)
            targets += 1
        salespeople = [
            row
            for row in await Staff.select(Staff.id, Staff.employee_no, Staff.roles).where(
                Staff.home_store == store_id
            )
            if "salesperson" in row["roles"]
        ]
        for person in sorted(salespeople, key=lambda row: row["employee_no"]):
            if person["id"] not in have:
                await commission_periods.set_target(
                    admin, code, month, SALESPERSON_TARGET_MINOR, person["employee_no"]
                )
                targets += 1
        if code in POOL_WEIGHTS_STORES and not await CommissionPoolShare.exists().where(
            CommissionPoolShare.store == store_id
        ):
            hours = [176, 160, 144]
            await commission_periods.set_pool_shares(
                admin,
                code,
                [
                    (person["employee_no"], hours[index % len(hours)])
                    for index, person in enumerate(
                        sorted(salespeople, key=lambda row: row["employee_no"])
                    )
                ],
            )
    rules = await CommissionRule.count()
    return (
        f"commission: {rules} rules ({created} new), {targets} new targets for "
        f"{month:%Y-%m}, pool weights in {', '.join(POOL_WEIGHTS_STORES)}"
    )


async def close_demo_months() -> str:
    """Close every store's months that have ended and hold commission (a demo step to run
    after the sales history, so the demo has closed months with pool shares and true-ups);
    closed months are left as they are, so running it again closes nothing twice."""
    admin_row = await Staff.select(Staff.id).where(Staff.employee_no == HQ_ADMIN_NO).first()
    if admin_row is None:
        return "commission months: skipped (no demo chain)"
    admin = await actor_for(admin_row["id"])
    from stores.commission_tables import CommissionPeriod

    closed = 0
    periods = await CommissionPeriod.select(
        CommissionPeriod.store.code.as_alias("store_code"),
        CommissionPeriod.store.time_zone.as_alias("time_zone"),
        CommissionPeriod.month_start,
    ).where(CommissionPeriod.status == "open")
    for period in sorted(periods, key=lambda row: (row["month_start"], row["store_code"])):
        today = business_date(utc_now(), period["time_zone"])
        if commission_periods.next_month(period["month_start"]) <= today:
            await commission_periods.close_period(
                admin, period["store_code"], period["month_start"]
            )
            closed += 1
    return f"commission months: {closed} closed"
