"""Properties of the pricing engine over random baskets, promotions, coupons and contexts.

Whatever HQ configures and whatever the customer brings, the priced basket reconciles to the
fen: lines sum to the total, no line goes below zero, each line's adjustments explain exactly
its discount (so a one-line refund is exact), and the order of the input does not matter.
"""

from __future__ import annotations

from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promotions.engine import (
    Basket,
    BasketLine,
    BirthdayOffer,
    BundleComponent,
    BundlePrice,
    BuyAndGetFree,
    Coupon,
    FirstPurchaseOffer,
    ItemDiscount,
    ManualDiscount,
    MemberPrice,
    NthItemDiscount,
    PointsMultiplier,
    PricedBasket,
    Promotion,
    SaleContext,
    SpendAndGetGift,
    SpendAndSave,
    StackingPolicy,
    Targeting,
    price_basket,
)

SKUS = ("A", "B", "C", "D")
CATEGORY_PATHS = (("FOOD",), ("FOOD", "DAIRY"), ("HOME",), ("HOME", "KITCHEN"))
GROUPS = ("g1", "g2", "g3")
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

prices = st.integers(min_value=0, max_value=50_000)
percentages = st.integers(min_value=1, max_value=10_000)
amounts = st.integers(min_value=1, max_value=60_000)


@st.composite
def baskets(draw: st.DrawFn, max_lines: int = 6) -> Basket:
    line_ids = draw(st.lists(st.integers(0, 99), min_size=1, max_size=max_lines, unique=True))
    lines = []
    for number in line_ids:
        unit_price = draw(prices)
        lines.append(
            BasketLine(
                line_id=f"L{number:02d}",
                sku=draw(st.sampled_from(SKUS)),
                quantity=draw(st.integers(1, 5)),
                unit_price_minor=unit_price,
                category_path=draw(st.sampled_from(CATEGORY_PATHS)),
                brand=draw(st.sampled_from(("ACME", "BOLT", ""))),
                member_price_minor=draw(st.none() | prices),
                tier_prices=draw(
                    st.dictionaries(st.sampled_from(("GOLD", "SILVER")), prices, max_size=2)
                ),
            )
        )
    return Basket(lines=tuple(lines))


targetings = st.one_of(
    st.just(Targeting()),
    st.builds(Targeting, skus=st.frozensets(st.sampled_from(SKUS), min_size=1)),
    st.builds(
        Targeting,
        categories=st.frozensets(st.sampled_from(("FOOD", "DAIRY", "HOME")), min_size=1),
        excluded_skus=st.frozensets(st.sampled_from(SKUS), max_size=1),
    ),
    st.builds(Targeting, brands=st.just(frozenset({"ACME"}))),
)


def _common(draw: st.DrawFn) -> dict[str, object]:
    return {
        "name": "promotion",
        "priority": draw(st.integers(0, 3)),
        "group": draw(st.sampled_from(GROUPS)),
        "exclusive": draw(st.integers(0, 4)) == 0,  # one in five combines with nothing
        "targeting": draw(targetings),
    }


@st.composite
def promotion_kinds(draw: st.DrawFn, promotion_id: str, per_unit_only: bool = False) -> Promotion:
    common = {"id": promotion_id, **_common(draw)}
    percent_or_amount = draw(st.sampled_from(("percent", "amount")))
    split = (
        {"percent_off_bp": draw(percentages)}
        if percent_or_amount == "percent"
        else {"amount_off_minor": draw(amounts)}
    )
    per_unit_kinds = [
        lambda: MemberPrice(**common),
        lambda: ItemDiscount(**common, **split),
        lambda: NthItemDiscount(
            **common, nth=draw(st.integers(2, 4)), percent_off_bp=draw(percentages)
        ),
        lambda: BuyAndGetFree(
            **common, buy_quantity=draw(st.integers(1, 3)), free_quantity=draw(st.integers(1, 2))
        ),
        lambda: PointsMultiplier(**common, multiplier_bp=draw(st.integers(10_001, 50_000))),
    ]
    other_kinds = [
        lambda: BirthdayOffer(**common, **split),
        lambda: FirstPurchaseOffer(
            **common, **split, minimum_spend_minor=draw(st.integers(0, 50_000))
        ),
        lambda: SpendAndSave(
            **common,
            threshold_minor=draw(amounts),
            save_minor=draw(amounts),
            repeating=draw(st.booleans()),
            max_repeats=draw(st.none() | st.integers(1, 3)),
        ),
        lambda: SpendAndGetGift(
            **common,
            threshold_minor=draw(amounts),
            gift_sku="GIFT",
            gift_value_minor=draw(st.integers(0, 5_000)),
        ),
        lambda: BundlePrice(
            **common,
            bundle_price_minor=draw(st.integers(0, 60_000)),
            components=tuple(
                draw(
                    st.lists(
                        st.one_of(
                            st.builds(
                                BundleComponent,
                                sku=st.sampled_from(SKUS),
                                quantity=st.integers(1, 2),
                            ),
                            st.builds(
                                BundleComponent,
                                category=st.sampled_from(("FOOD", "HOME")),
                                quantity=st.integers(1, 2),
                            ),
                        ),
                        min_size=1,
                        max_size=3,
                    )
                )
            ),
        ),
    ]
    kinds = per_unit_kinds if per_unit_only else per_unit_kinds + other_kinds
    return draw(st.sampled_from(kinds))()


@st.composite
def promotion_lists(draw: st.DrawFn, per_unit_only: bool = False) -> list[Promotion]:
    count = draw(st.integers(0, 6))
    return [draw(promotion_kinds(f"P{number}", per_unit_only)) for number in range(count)]


@st.composite
def coupon_lists(draw: st.DrawFn) -> list[Coupon]:
    coupons = []
    for number in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(("amount_off", "percent_off", "gift")))
        coupons.append(
            Coupon(
                code=f"C{number}",
                kind=kind,
                targeting=draw(targetings),
                amount_off_minor=draw(amounts),
                percent_off_bp=draw(percentages),
                cap_minor=draw(st.none() | amounts),
                minimum_spend_minor=draw(st.integers(0, 30_000)),
                gift_sku="MUG",
                group=draw(st.sampled_from((*GROUPS, "coupon"))),
                exclusive=draw(st.booleans()),
            )
        )
    return coupons


contexts = st.builds(
    SaleContext,
    local_datetime=st.just(datetime(2024, 10, 8, 15, 0)),
    store_code=st.just("S1"),
    is_member=st.booleans(),
    tier_code=st.sampled_from(("GOLD", "SILVER", None)),
    tier_discount_bp=st.integers(0, 3_000),
    birthday_month=st.sampled_from((10, 3, None)),
    is_first_purchase=st.booleans(),
    staff_manual_discount_limit_bp=st.just(10_000),
)

policies = st.builds(
    StackingPolicy,
    exclusive_groups=st.frozensets(
        st.tuples(st.sampled_from(GROUPS), st.sampled_from(GROUPS)), max_size=3
    ),
)


@st.composite
def manual_lists(draw: st.DrawFn, basket: Basket) -> list[ManualDiscount]:
    line_ids = [line.line_id for line in basket.lines]
    discounts = []
    for _ in range(draw(st.integers(0, 2))):
        target = draw(st.none() | st.sampled_from(line_ids))
        if draw(st.booleans()):
            discounts.append(ManualDiscount(line_id=target, percent_off_bp=draw(percentages)))
        else:
            discounts.append(ManualDiscount(line_id=target, amount_off_minor=draw(amounts)))
    return discounts


def assert_reconciles(priced: PricedBasket) -> None:
    assert sum(line.net_minor for line in priced.lines) == priced.net_minor
    assert sum(line.gross_minor for line in priced.lines) == priced.gross_minor
    assert priced.gross_minor - priced.discount_minor == priced.net_minor
    assert sum(applied.total_amount_minor for applied in priced.applied) == priced.discount_minor
    for line in priced.lines:
        assert line.net_minor >= 0
        assert all(adjustment.amount_minor > 0 for adjustment in line.adjustments)
        assert line.gross_minor - sum(a.amount_minor for a in line.adjustments) == line.net_minor
    applied_ids = {applied.promotion_id for applied in priced.applied}
    assert applied_ids.isdisjoint(rejected.promotion_id for rejected in priced.rejected)


@PROPERTY_SETTINGS
@given(
    data=st.data(),
    basket=baskets(),
    promotions=promotion_lists(),
    coupons=coupon_lists(),
    context=contexts,
    policy=policies,
)
def test_every_priced_basket_reconciles_to_the_fen_and_ignores_input_order(
    data, basket, promotions, coupons, context, policy
):
    manual = data.draw(manual_lists(basket))
    priced = price_basket(basket, context, promotions, coupons, manual, policy)

    assert_reconciles(priced)
    shuffled_lines = data.draw(st.permutations(basket.lines))
    shuffled_promotions = data.draw(st.permutations(promotions))
    shuffled_coupons = data.draw(st.permutations(coupons))
    again = price_basket(
        Basket(lines=tuple(shuffled_lines)),
        context,
        shuffled_promotions,
        shuffled_coupons,
        manual,
        policy,
    )
    assert again == priced


@PROPERTY_SETTINGS
@given(
    basket=baskets(max_lines=4),
    promotions=promotion_lists(per_unit_only=True),
    context=contexts,
    policy=policies,
)
def test_per_unit_promotions_price_a_line_of_n_units_like_n_lines_of_one(
    basket, promotions, context, policy
):
    split = Basket(
        lines=tuple(
            BasketLine(
                line_id=f"{line.line_id}-{unit}",
                sku=line.sku,
                quantity=1,
                unit_price_minor=line.unit_price_minor,
                category_path=line.category_path,
                brand=line.brand,
                member_price_minor=line.member_price_minor,
                tier_prices=line.tier_prices,
            )
            for line in basket.lines
            for unit in range(line.quantity)
        )
    )

    whole = price_basket(basket, context, promotions, policy=policy)
    apart = price_basket(split, context, promotions, policy=policy)

    assert_reconciles(apart)
    assert apart.discount_minor == whole.discount_minor
    assert {a.promotion_id: a.total_amount_minor for a in apart.applied} == {
        a.promotion_id: a.total_amount_minor for a in whole.applied
    }
