"""Demo promotions and coupons for the demo chain, created idempotently through the domain's
own functions (validated and audited like HQ's): member prices, 满减 every ¥300 off ¥30,
第二件半价 on snacks, buy 2 get 1 on drinks, double points on Wednesdays, a birthday-month
offer, a new member's first purchase, a limited gold offer, and coupon batches (bearer
coupons, and member coupons once the demo has members)."""

from __future__ import annotations

from datetime import timedelta

from memberpos.clock import utc_now
from members.tables import Member
from promotions import coupons, engine, management
from promotions.management import Limits
from promotions.tables import CouponBatch, Promotion, PromotionRevision
from stores.audit import SystemActor

DEMO = SystemActor("demo")
NOT_DISCOUNTED = engine.Targeting(excluded_categories=frozenset({"JEWEL"}))

PROMOTIONS: list[tuple[engine.Promotion, Limits]] = [
    (
        engine.MemberPrice(
            id="DEMO-MEMBER-PRICE",
            name="Member prices",
            name_zh="会员价",
            group="member",
            priority=10,
        ),
        Limits(),
    ),
    (
        engine.SpendAndSave(
            id="DEMO-300-30",
            name="Every ¥300 spent, ¥30 off",
            name_zh="每满300减30",
            threshold_minor=30_000,
            save_minor=3_000,
            repeating=True,
            group="spend_save",
            targeting=NOT_DISCOUNTED,
        ),
        Limits(),
    ),
    (
        engine.NthItemDiscount(
            id="DEMO-SNACK-2ND-HALF",
            name="Snacks: second item half price",
            name_zh="零食第二件半价",
            nth=2,
            percent_off_bp=5_000,
            targeting=engine.Targeting(categories=frozenset({"SNACK"})),
        ),
        Limits(),
    ),
    (
        engine.BuyAndGetFree(
            id="DEMO-DRINK-B2G1",
            name="Drinks: buy 2 get 1 free",
            name_zh="饮料买二送一",
            buy_quantity=2,
            free_quantity=1,
            targeting=engine.Targeting(categories=frozenset({"DRINK"})),
        ),
        Limits(),
    ),
    (
        engine.PointsMultiplier(
            id="DEMO-WED-DOUBLE",
            name="Double points on Wednesdays",
            name_zh="周三双倍积分",
            multiplier_bp=20_000,
            weekdays=frozenset({3}),
            member_only=True,
        ),
        Limits(),
    ),
    (
        engine.BirthdayOffer(
            id="DEMO-BIRTHDAY",
            name="Birthday month: 10% off",
            name_zh="生日月九折",
            percent_off_bp=1_000,
            targeting=NOT_DISCOUNTED,
            group="birthday",
        ),
        Limits(per_member=3),
    ),
    (
        engine.FirstPurchaseOffer(
            id="DEMO-FIRST-PURCHASE",
            name="New members: ¥20 off a first purchase of ¥100",
            name_zh="新会员首单满100减20",
            amount_off_minor=2_000,
            minimum_spend_minor=10_000,
        ),
        Limits(),
    ),
    (
        engine.ItemDiscount(
            id="DEMO-GOLD-FIRST-500",
            name="Gold jewellery 5% off, first 500 pieces",
            name_zh="黄金饰品95折（限量500件）",
            percent_off_bp=500,
            targeting=engine.Targeting(categories=frozenset({"GOLD"})),
        ),
        Limits(units=500, per_member_per_day=1),
    ),
]

STACKING = engine.StackingPolicy(
    exclusive_groups=frozenset({("spend_save", "spend_save"), ("birthday", "member")})
)


def batches() -> list[coupons.BatchSpec]:
    start = utc_now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    return [
        coupons.BatchSpec(
            code="DEMO-WELCOME30",
            name="¥30 off ¥200",
            name_zh="满200减30代金券",
            kind="amount_off",
            amount_off_minor=3_000,
            minimum_spend_minor=20_000,
            targeting=NOT_DISCOUNTED,
            valid_from=start,
            valid_to=start + timedelta(days=365),
        ),
        coupons.BatchSpec(
            code="DEMO-MEMBER15",
            name="Members: 15% off skin care (up to ¥50)",
            name_zh="会员护肤85折券（最高减50）",
            kind="percent_off",
            percent_off_bp=1_500,
            cap_minor=5_000,
            targeting=engine.Targeting(categories=frozenset({"SKIN"})),
            valid_from=start,
            valid_to=start + timedelta(days=90),
        ),
        coupons.BatchSpec(
            code="DEMO-TOTE",
            name="A free tote bag with ¥100",
            name_zh="满100赠环保袋",
            kind="gift",
            gift_sku="GIFT-TOTE",
            gift_value_minor=1_500,
            minimum_spend_minor=10_000,
            valid_from=start,
            valid_to=start + timedelta(days=30),
            max_uses=3,
        ),
    ]


async def _running_for_a_year(code: str) -> None:
    """Date a new demo promotion's revisions back a year, so the demo's sales history (which
    lies in the past, and is priced with the rules of its own time) meets it. Demo data
    only: HQ's promotions start when they are activated."""
    promotion = await Promotion.select(Promotion.id).where(Promotion.code == code).first()
    revisions = (
        await PromotionRevision.select(PromotionRevision.id, PromotionRevision.status)
        .where(PromotionRevision.promotion == promotion["id"])
        .order_by(PromotionRevision.version)
    )
    if [row["status"] for row in revisions] != ["draft", "active"]:
        return
    since = utc_now() - timedelta(days=365)
    draft, active = revisions
    await PromotionRevision.update(
        {
            PromotionRevision.effective_from: since - timedelta(days=1),
            PromotionRevision.effective_to: since,
        }
    ).where(PromotionRevision.id == draft["id"])
    await PromotionRevision.update({PromotionRevision.effective_from: since}).where(
        PromotionRevision.id == active["id"]
    )


async def create_demo_promotions() -> str:
    """Idempotent: what exists is left as it is, what is missing is created."""
    existing = {
        row["code"]: row["status"]
        for row in await Promotion.select(Promotion.code, Promotion.status)
    }
    created = 0
    for definition, limits in PROMOTIONS:
        if definition.id not in existing:
            await management.create_promotion(DEMO, definition, limits)
            created += 1
        if existing.get(definition.id, "draft") == "draft":
            await management.change_status(DEMO, definition.id, "activate")
            await _running_for_a_year(definition.id)
    if await management.get_stacking_policy(DEMO) != STACKING:
        await management.set_stacking_policy(DEMO, STACKING)
    known = {row["code"] for row in await CouponBatch.select(CouponBatch.code)}
    for spec in batches():
        if spec.code not in known:
            await coupons.create_batch(DEMO, spec)
    issued = len(await coupons.issue(DEMO, "DEMO-WELCOME30", bearer_count=50, issue_ref="demo"))
    issued += len(await coupons.issue(DEMO, "DEMO-TOTE", bearer_count=20, issue_ref="demo"))
    members = [
        row["id"]
        for row in await Member.select(Member.id)
        .where(Member.status == "active")
        .order_by(Member.id)
        .limit(200)
    ]
    if members:
        issued += len(
            await coupons.issue(DEMO, "DEMO-MEMBER15", member_ids=members, issue_ref="demo")
        )
    return (
        f"promotions: {len(PROMOTIONS)} active ({created} new), "
        f"{len(batches())} coupon batches, {issued} coupons issued"
    )
