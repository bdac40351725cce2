"""The demo loyalty program: 1 point per yuan, 100 points = 1 yuan up to half the basket,
7 days pending, points lasting to the end of the following year; double points on skin
care, none on gold; top-up bonus tiers; two service packages. Idempotent: what exists stays."""

from __future__ import annotations

import datetime as dt

from loyalty import configuration, packages
from loyalty.tables import EarningRule, LoyaltyProgram, ServicePackageProduct, TopUpRule
from stores.audit import SystemActor
from stores.tables import Category, Store

DEMO = SystemActor("demo")
SINCE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

PROGRAM = {
    "points_per_unit": 1,  # 1 point per yuan
    "points_per_minor_unit": 1,  # 100 points = 1 yuan
    "min_redeem_points": 100,
    "redeem_step_points": 100,
    "max_redeem_share_bp": 5_000,  # at most 50 % of the basket
    "pending_days": 7,
    "expiry_policy": "year_end",
    "stored_value_order": "principal_first",
    "pin_threshold_minor": 20_000,
    "daily_spend_limit_minor": 500_000,
}
# (code, scope, target, multiplier in basis points): double on skin care; gold and jade earn
# nothing (thin margins, as jewellers' programs usually rule); triple on the house brand.
EARNING_RULES = [
    ("SKIN2X", "category", "SKIN", 20_000),
    ("NOGOLD", "category", "GOLD", 0),
    ("NOJADE", "category", "JADE", 0),
    ("HEFENG3X", "brand", "HEFENG", 30_000),
]
TOP_UP_RULES = [
    ("PAY500", "充500送50", 50_000, 5_000),
    ("PAY1000", "充1000送120", 100_000, 12_000),
    ("PAY2000", "充2000送300", 200_000, 30_000),
]
# (code, name, uses, price, validity days, store code or None)
PACKAGE_PRODUCTS = [
    ("COFFEE12", "咖啡十二杯卡", 12, 25_800, 365, None),
    ("WASH10", "洗衣护理十次卡", 10, 39_900, 180, "SH001"),
]


async def create_demo_loyalty() -> str:
    created = 0
    if not await LoyaltyProgram.exists().where(LoyaltyProgram.id == 1):
        await configuration.update_program(DEMO, PROGRAM)
        created += 1
    categories = {row["code"] for row in await Category.select(Category.code)}
    for code, scope, target, multiplier in EARNING_RULES:
        if scope == "category" and target not in categories:
            continue
        if await EarningRule.exists().where(EarningRule.code == code):
            continue
        await configuration.create_earning_rule(
            DEMO,
            code=code,
            scope=scope,
            target=target,
            multiplier_bp=multiplier,
            valid_from=SINCE,
        )
        created += 1
    for code, name, pay, bonus in TOP_UP_RULES:
        if await TopUpRule.exists().where(TopUpRule.code == code):
            continue
        await configuration.create_top_up_rule(
            DEMO, code=code, name=name, pay_minor=pay, bonus_minor=bonus, valid_from=SINCE
        )
        created += 1
    stores = {row["code"] for row in await Store.select(Store.code)}
    for code, name, uses, price, days, store_code in PACKAGE_PRODUCTS:
        if await ServicePackageProduct.exists().where(ServicePackageProduct.code == code):
            continue
        await packages.define_product(
            DEMO,
            code=code,
            name=name,
            uses=uses,
            price_minor=price,
            validity_days=days,
            store_code=store_code if store_code in stores else None,
        )
        created += 1
    return (
        f"loyalty: 1 point/yuan, 100 points = ¥1 up to 50%, 7 pending days, year-end expiry; "
        f"{await EarningRule.count()} earning rules, {await TopUpRule.count()} top-up tiers, "
        f"{await ServicePackageProduct.count()} package products ({created} created now)"
    )
