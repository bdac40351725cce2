"""Invariant checks of promotions and coupons for ``memberpos verify``."""

from __future__ import annotations

from promotions.tables import Coupon, CouponRedemption, Promotion, PromotionUse


async def check_promotions() -> list[str]:
    """Problems found: a limit passed, a counter that disagrees with the uses recorded, a
    coupon used more often than allowed or than its redemptions say."""
    problems: list[str] = []
    promotions = await Promotion.select(
        Promotion.id,
        Promotion.code,
        Promotion.limit_units,
        Promotion.limit_budget_minor,
        Promotion.used_units,
        Promotion.used_budget_minor,
        Promotion.used_sales,
    )
    uses = await PromotionUse.select(
        PromotionUse.promotion, PromotionUse.units, PromotionUse.amount_minor
    ).where(PromotionUse.reversed_at.is_null())
    totals: dict[int, list[int]] = {}
    for use in uses:
        total = totals.setdefault(use["promotion"], [0, 0, 0])
        total[0] += use["units"]
        total[1] += use["amount_minor"]
        total[2] += 1
    for row in promotions:
        code = row["code"]
        if row["limit_units"] is not None and row["used_units"] > row["limit_units"]:
            problems.append(
                f"promotion {code}: {row['used_units']} units used, limit {row['limit_units']}"
            )
        if row["limit_budget_minor"] is not None and (
            row["used_budget_minor"] > row["limit_budget_minor"]
        ):
            problems.append(
                f"promotion {code}: budget {row['used_budget_minor']} used, "
                f"limit {row['limit_budget_minor']}"
            )
        if row["used_units"] < 0 or row["used_budget_minor"] < 0 or row["used_sales"] < 0:
            problems.append(f"promotion {code}: a usage counter is negative")
        limited = row["limit_units"] is not None or row["limit_budget_minor"] is not None
        if limited:
            units, amount, sales = totals.get(row["id"], [0, 0, 0])
            counters = [row["used_units"], row["used_budget_minor"], row["used_sales"]]
            if counters != [units, amount, sales]:
                problems.append(
                    f"promotion {code}: counters (units, budget, sales) {counters} "
                    f"disagree with the uses recorded {[units, amount, sales]}"
                )
    redemptions: dict[int, int] = {}
    for row in await CouponRedemption.select(CouponRedemption.coupon).where(
        CouponRedemption.reversed_at.is_null()
    ):
        redemptions[row["coupon"]] = redemptions.get(row["coupon"], 0) + 1
    for coupon in await Coupon.select(Coupon.id, Coupon.code, Coupon.uses, Coupon.max_uses):
        if coupon["uses"] > coupon["max_uses"] or coupon["uses"] < 0:
            problems.append(
                f"coupon {coupon['code']}: {coupon['uses']} uses, at most {coupon['max_uses']}"
            )
        if coupon["uses"] != redemptions.get(coupon["id"], 0):
            problems.append(
                f"coupon {coupon['code']}: {coupon['uses']} uses but "
                f"{redemptions.get(coupon['id'], 0)} redemptions"
            )
    return problems
