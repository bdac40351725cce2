"""Worked examples of the pricing engine: one or more per kind of promotion, with exact figures.

All amounts are in fen (minor units of CNY). The default sale is on Tuesday 8 October 2024 at
15:00 local time in store S1 of region EAST, by a walk-in customer (not a member).
"""

from __future__ import annotations

import random
from datetime import datetime, time

import msgspec
import pytest

from promotions.engine import (
    Basket,
    BasketLine,
    BirthdayOffer,
    BundleComponent,
    BundlePrice,
    BuyAndGetFree,
    Coupon,
    FirstPurchaseOffer,
    InvalidBasket,
    InvalidManualDiscount,
    InvalidPromotion,
    InvalidSaleContext,
    ItemDiscount,
    ManualDiscount,
    ManualDiscountOverLimit,
    MemberPrice,
    NthItemDiscount,
    PointsMultiplier,
    PricedBasket,
    PromotionDefinition,
    SaleContext,
    SpendAndGetGift,
    SpendAndSave,
    StackingPolicy,
    Targeting,
    explain,
    price_basket,
)

TUESDAY_AFTERNOON = datetime(2024, 10, 8, 15, 0)


def line(
    line_id: str, sku: str, unit_price_minor: int, quantity: int = 1, **details: object
) -> BasketLine:
    return BasketLine(
        line_id=line_id, sku=sku, quantity=quantity, unit_price_minor=unit_price_minor, **details
    )  # type: ignore[arg-type]


def sale(**overrides: object) -> SaleContext:
    fields: dict[str, object] = {
        "local_datetime": TUESDAY_AFTERNOON,
        "store_code": "S1",
        "region_code": "EAST",
    }
    fields.update(overrides)
    return SaleContext(**fields)  # type: ignore[arg-type]


MEMBER = {"is_member": True, "tier_code": "SILVER"}


def price(
    lines: list[BasketLine],
    promotions: list | tuple = (),
    *,
    context: SaleContext | None = None,
    **options: object,
) -> PricedBasket:
    return price_basket(Basket(lines=tuple(lines)), context or sale(), promotions, **options)  # type: ignore[arg-type]


def adjustments(priced: PricedBasket) -> dict[str, dict[str, int]]:
    return {
        priced_line.line_id: {a.promotion_id: a.amount_minor for a in priced_line.adjustments}
        for priced_line in priced.lines
    }


def nets(priced: PricedBasket) -> dict[str, int]:
    return {priced_line.line_id: priced_line.net_minor for priced_line in priced.lines}


def rejection(priced: PricedBasket, promotion_id: str):
    return next(r for r in priced.rejected if r.promotion_id == promotion_id)


def only(*skus: str) -> Targeting:
    return Targeting(skus=frozenset(skus))


# ---------------------------------------------------------------- 1. member and tier price


def test_member_price_takes_the_lower_of_member_and_tier_price_and_never_raises_the_price():
    promotion = MemberPrice(id="MP", name="Member price", name_zh="会员价")
    priced = price(
        [
            line("1", "RICE", 10_000, 2, member_price_minor=9_000, tier_prices={"GOLD": 8_500}),
            line("2", "OIL", 5_000, member_price_minor=6_000),
        ],
        [promotion],
        context=sale(is_member=True, tier_code="GOLD"),
    )

    assert adjustments(priced) == {"1": {"MP": 3_000}, "2": {}}
    assert nets(priced) == {"1": 17_000, "2": 5_000}
    assert priced.applied[0].reason_en == "Member price on 2 item(s)"
    assert priced.applied[0].reason_zh == "会员价 2件"


def test_member_price_uses_the_tier_discount_rounded_half_up_per_unit():
    # 5 % of ¥99.99 is 499.95 fen, which rounds half-up to 500 fen per unit.
    priced = price(
        [line("1", "TEA", 9_999, 3)],
        [MemberPrice(id="MP", name="Member price")],
        context=sale(is_member=True, tier_code="GOLD", tier_discount_bp=500),
    )

    assert priced.discount_minor == 1_500
    assert priced.net_minor == 3 * 9_499


def test_member_price_is_not_given_to_a_walk_in_customer():
    priced = price(
        [line("1", "RICE", 10_000, member_price_minor=9_000)],
        [MemberPrice(id="MP", name="Member price")],
    )

    assert priced.discount_minor == 0
    assert rejection(priced, "MP").code == "members_only"


# ---------------------------------------------------------------- 2. percent / amount off


def test_percent_off_rounds_half_up_per_unit_so_line_splitting_does_not_matter():
    # 15 % of ¥9.99 = 149.85 fen → 150 fen a unit, for one line of 3 or three lines of 1.
    promotion = ItemDiscount(id="P15", name="15% off", percent_off_bp=1_500)
    one_line = price([line("1", "SOAP", 999, 3)], [promotion])
    three_lines = price([line(str(n), "SOAP", 999) for n in range(3)], [promotion])

    assert one_line.discount_minor == three_lines.discount_minor == 450
    assert one_line.applied[0].reason_en == "15% off 3 item(s)"
    assert one_line.applied[0].reason_zh == "8.5折 3件"


def test_percent_off_covers_only_matching_items_by_parent_category_brand_or_tag():
    promotion = ItemDiscount(
        id="P",
        name="Dairy 10%",
        percent_off_bp=1_000,
        targeting=Targeting(categories=frozenset({"DAIRY"}), excluded_skus=frozenset({"FORMULA"})),
    )
    priced = price(
        [
            line("1", "MILK", 1_000, category_path=("FOOD", "DAIRY", "MILK")),
            line("2", "FORMULA", 20_000, category_path=("FOOD", "DAIRY", "BABY")),
            line("3", "BREAD", 800, category_path=("FOOD", "BAKERY")),
        ],
        [promotion],
    )

    assert adjustments(priced) == {"1": {"P": 100}, "2": {}, "3": {}}


def test_amount_off_each_unit_is_clamped_at_the_unit_price_and_the_clamp_is_recorded():
    promotion = ItemDiscount(id="A5", name="¥5 off each", amount_off_minor=500)
    priced = price([line("1", "PEN", 300, 2), line("2", "BOOK", 2_000)], [promotion])

    assert nets(priced) == {"1": 0, "2": 1_500}
    assert priced.discount_minor == 1_100
    [clamp] = priced.clamps
    assert (clamp.promotion_id, clamp.line_id, clamp.requested_minor, clamp.applied_minor) == (
        "A5",
        "1",
        1_000,
        600,
    )


# ---------------------------------------------------------------- 3. spend X save Y


def test_repeating_spend_and_save_saves_once_per_full_threshold():
    promotion = SpendAndSave(
        id="MJ",
        name="Every 300 save 30",
        name_zh="每满300减30",
        threshold_minor=30_000,
        save_minor=3_000,
        repeating=True,
    )
    priced = price([line("1", "COAT", 65_000)], [promotion])

    assert priced.discount_minor == 6_000
    assert priced.applied[0].reason_en == "Spend ¥300 save ¥30 ×2"
    assert priced.applied[0].reason_zh == "满300减30 ×2"


def test_repeating_spend_and_save_stops_at_its_cap_of_repeats():
    promotion = SpendAndSave(
        id="MJ",
        name="Every 300 save 30",
        threshold_minor=30_000,
        save_minor=3_000,
        repeating=True,
        max_repeats=1,
    )
    assert price([line("1", "COAT", 65_000)], [promotion]).discount_minor == 3_000


def test_spend_and_save_is_spread_over_lines_by_net_amount_and_sums_exactly():
    promotion = SpendAndSave(id="MJ", name="300-10", threshold_minor=30_000, save_minor=1_000)
    priced = price(
        [line("a", "X", 10_000), line("b", "Y", 10_000), line("c", "Z", 10_000)], [promotion]
    )

    # 1000 over three equal lines: 333 each and the last fen to the first line.
    assert adjustments(priced) == {"a": {"MJ": 334}, "b": {"MJ": 333}, "c": {"MJ": 333}}


def test_spend_and_save_threshold_counts_what_the_customer_pays_after_item_discounts():
    promotions = [
        ItemDiscount(id="I10", name="10% off", percent_off_bp=1_000),
        SpendAndSave(id="MJ", name="300-30", threshold_minor=30_000, save_minor=3_000),
    ]
    priced = price([line("1", "COAT", 30_000)], promotions)

    assert priced.discount_minor == 3_000  # only the 10 %: ¥270 is below the ¥300 threshold
    missed = rejection(priced, "MJ")
    assert missed.code == "threshold_not_met"
    assert "after the other discounts" in missed.reason_en


def test_spend_and_save_only_counts_matching_items():
    promotion = SpendAndSave(
        id="MJ",
        name="Shoes 300-30",
        threshold_minor=30_000,
        save_minor=3_000,
        targeting=Targeting(categories=frozenset({"SHOE"})),
    )
    priced = price(
        [
            line("1", "BOOT", 20_000, category_path=("SHOE",)),
            line("2", "TV", 300_000, category_path=("ELEC",)),
        ],
        [promotion],
    )

    assert priced.discount_minor == 0
    assert rejection(priced, "MJ").reason_en == (
        "Spend ¥300 on matching items (they come to ¥200.00)"
    )


# ---------------------------------------------------------------- 4. spend X get a gift


def test_spend_and_get_gift_hands_over_the_gift_without_changing_any_price():
    promotion = SpendAndGetGift(
        id="GIFT", name="Mug over 200", threshold_minor=20_000, gift_sku="MUG", repeating=True
    )
    priced = price([line("1", "COAT", 45_000)], [promotion])

    assert priced.discount_minor == 0
    assert [(g.promotion_id, g.sku, g.quantity) for g in priced.gifts] == [("GIFT", "MUG", 2)]
    assert priced.applied[0].reason_zh == "满200赠MUG ×2"


# ---------------------------------------------------------------- 5. buy N get M free


def test_buy_two_get_one_frees_the_cheapest_unit_of_each_set_of_three_sorted_by_price():
    promotion = BuyAndGetFree(id="B2G1", name="Buy 2 get 1", buy_quantity=2, free_quantity=1)
    prices = [10_000, 8_000, 6_000, 5_000, 4_000, 3_000]
    priced = price([line(f"L{n}", f"SKU{n}", p) for n, p in enumerate(prices)], [promotion])

    # Sets after sorting: [100, 80, 60] and [50, 40, 30]; the 60 and the 30 are free.
    assert priced.discount_minor == 9_000
    assert {k: v for k, v in nets(priced).items() if v == 0} == {"L2": 0, "L5": 0}
    assert priced.applied[0].reason_en == "Buy 2 get 1 free: 2 item(s) free"


def test_buy_two_get_one_prices_one_line_of_three_exactly_like_three_lines_of_one():
    promotion = BuyAndGetFree(id="B2G1", name="Buy 2 get 1", buy_quantity=2)
    one_line = price([line("1", "JUICE", 1_250, 3)], [promotion])
    three_lines = price([line(str(n), "JUICE", 1_250) for n in range(3)], [promotion])

    assert one_line.discount_minor == three_lines.discount_minor == 1_250
    assert one_line.net_minor == three_lines.net_minor == 2_500


def test_buy_get_free_cannot_be_gamed_by_splitting_expensive_and_cheap_units_over_lines():
    # Two ¥100 shirts and one ¥10 sock: whatever the lines, the free unit is the sock, not a
    # shirt paired with cheap paid units.
    promotion = BuyAndGetFree(id="B2G1", name="Buy 2 get 1", buy_quantity=2)
    together = price([line("1", "SHIRT", 10_000, 2), line("2", "SOCK", 1_000)], [promotion])
    shuffled = price(
        [line("9", "SOCK", 1_000), line("3", "SHIRT", 10_000), line("4", "SHIRT", 10_000)],
        [promotion],
    )

    assert together.discount_minor == shuffled.discount_minor == 1_000


def test_buy_get_free_needs_more_than_the_paid_quantity():
    promotion = BuyAndGetFree(id="B2G1", name="Buy 2 get 1", buy_quantity=2)
    priced = price([line("1", "JUICE", 1_250, 2)], [promotion])

    assert priced.discount_minor == 0
    assert rejection(priced, "B2G1").code == "threshold_not_met"


# ---------------------------------------------------------------- 6. Nth item at a discount


def test_second_item_half_price_discounts_the_cheaper_unit_of_each_pair():
    promotion = NthItemDiscount(id="N2", name="2nd half price", nth=2, percent_off_bp=5_000)
    priced = price(
        [line("1", "A", 10_000), line("2", "B", 6_000), line("3", "C", 8_000)], [promotion]
    )

    # Sorted 100, 80 | 60: the 80 is half price, the lone 60 pays in full.
    assert adjustments(priced) == {"1": {}, "2": {}, "3": {"N2": 4_000}}
    assert priced.applied[0].reason_en == "2nd item 50% off"
    assert priced.applied[0].reason_zh == "第2件5折"


# ---------------------------------------------------------------- 7. bundle price


def test_bundle_price_sells_every_complete_bundle_and_spreads_each_discount_by_unit_price():
    promotion = BundlePrice(
        id="MEAL",
        name="Burger + drink ¥30",
        bundle_price_minor=3_000,
        components=(BundleComponent(sku="BURGER"), BundleComponent(category="DRINK")),
    )
    priced = price(
        [
            line("1", "BURGER", 2_500, 2),
            line("2", "COLA", 800, category_path=("DRINK",)),
            line("3", "JUICE", 1_200, category_path=("DRINK",)),
        ],
        [promotion],
    )

    # Bundle 1: burger 25 + juice 12 = 37 → 7.00 off, split 473 / 227 by price.
    # Bundle 2: burger 25 + cola 8 = 33 → 3.00 off, split 227 / 73.
    assert adjustments(priced) == {"1": {"MEAL": 700}, "2": {"MEAL": 73}, "3": {"MEAL": 227}}
    assert priced.net_minor == 6_000
    assert priced.applied[0].reason_en == "Bundle for ¥30 ×2"


def test_bundle_is_not_applied_when_its_items_cost_less_apart():
    promotion = BundlePrice(
        id="MEAL",
        name="Meal",
        bundle_price_minor=4_000,
        components=(BundleComponent(sku="BURGER"), BundleComponent(sku="COLA")),
    )
    priced = price([line("1", "BURGER", 2_500), line("2", "COLA", 800)], [promotion])

    assert priced.discount_minor == 0
    assert rejection(priced, "MEAL").code == "threshold_not_met"


# ---------------------------------------------------------------- 8. birthday month


def test_birthday_offer_applies_in_the_members_birthday_month_only():
    promotion = BirthdayOffer(id="BDAY", name="Birthday 20% off", percent_off_bp=2_000)
    october = price(
        [line("1", "CAKE", 8_800)],
        [promotion],
        context=sale(**MEMBER, birthday_month=10, birthday_day=30),
    )
    november = price(
        [line("1", "CAKE", 8_800)],
        [promotion],
        context=sale(**MEMBER, birthday_month=11, birthday_day=1),
    )

    assert october.discount_minor == 1_760
    assert october.applied[0].reason_zh == "生日月8折"
    assert november.discount_minor == 0
    assert rejection(november, "BDAY").code == "not_birthday_month"


def test_birthday_amount_off_is_taken_once_and_spread_over_the_matching_items():
    promotion = BirthdayOffer(id="BDAY", name="Birthday ¥20 off", amount_off_minor=2_000)
    priced = price(
        [line("1", "CAKE", 9_000), line("2", "CANDLE", 1_000)],
        [promotion],
        context=sale(**MEMBER, birthday_month=10),
    )

    assert adjustments(priced) == {"1": {"BDAY": 1_800}, "2": {"BDAY": 200}}


# ---------------------------------------------------------------- 9. first purchase


def test_first_purchase_offer_is_for_a_new_members_first_purchase_only():
    promotion = FirstPurchaseOffer(
        id="NEW", name="First purchase ¥20 off", amount_off_minor=2_000, minimum_spend_minor=10_000
    )
    first = price(
        [line("1", "COAT", 12_000)], [promotion], context=sale(**MEMBER, is_first_purchase=True)
    )
    later = price([line("1", "COAT", 12_000)], [promotion], context=sale(**MEMBER))
    too_small = price(
        [line("1", "HAT", 5_000)], [promotion], context=sale(**MEMBER, is_first_purchase=True)
    )

    assert first.discount_minor == 2_000
    assert first.applied[0].reason_en == "First purchase ¥20 off"
    assert rejection(later, "NEW").code == "not_first_purchase"
    assert rejection(too_small, "NEW").code == "minimum_spend_not_met"


# ---------------------------------------------------------------- 10. points multiplier


def test_points_multiplier_marks_matching_lines_without_changing_prices():
    promotion = PointsMultiplier(
        id="X2", name="Double points", multiplier_bp=20_000, targeting=only("TEA")
    )
    priced = price([line("1", "TEA", 5_000), line("2", "CUP", 2_000)], [promotion])

    assert priced.discount_minor == 0
    assert {pl.line_id: pl.points_multiplier_bp for pl in priced.lines} == {
        "1": 20_000,
        "2": 10_000,
    }
    assert priced.applied[0].reason_en == "Points ×2 on 1 line(s)"


# ---------------------------------------------------------------- coupons


def test_amount_coupon_needs_its_minimum_spend_on_what_the_customer_pays():
    coupon = Coupon(
        code="SAVE20", kind="amount_off", amount_off_minor=2_000, minimum_spend_minor=10_000
    )
    discount = ItemDiscount(id="I10", name="10% off", percent_off_bp=1_000)
    enough = price([line("1", "COAT", 12_000)], [discount], coupons=[coupon])
    short = price([line("1", "COAT", 10_500)], [discount], coupons=[coupon])

    assert enough.discount_minor == 1_200 + 2_000
    assert enough.applied[-1].promotion_id == "coupon:SAVE20"
    assert enough.applied[-1].coupon_code == "SAVE20"
    assert rejection(short, "coupon:SAVE20").code == "minimum_spend_not_met"


def test_percent_coupon_is_capped():
    coupon = Coupon(code="P10", kind="percent_off", percent_off_bp=1_000, cap_minor=3_000)
    priced = price([line("1", "TV", 500_000)], coupons=[coupon])

    assert priced.discount_minor == 3_000
    assert priced.applied[0].reason_en == "10% off (at most ¥30)"


def test_gift_coupon_hands_over_its_gift():
    coupon = Coupon(code="MUG", kind="gift", gift_sku="MUG-01")
    priced = price([line("1", "TEA", 5_000)], coupons=[coupon])

    assert [(g.promotion_id, g.sku, g.quantity) for g in priced.gifts] == [
        ("coupon:MUG", "MUG-01", 1)
    ]


def test_coupons_apply_after_the_stores_spend_and_save():
    promotions = [
        SpendAndSave(id="MJ", name="300-30", threshold_minor=30_000, save_minor=3_000, priority=-5)
    ]
    coupon = Coupon(
        code="C", kind="amount_off", amount_off_minor=2_000, minimum_spend_minor=28_000, priority=99
    )
    priced = price([line("1", "COAT", 30_000)], promotions, coupons=[coupon])

    assert [a.promotion_id for a in priced.applied] == ["MJ"]
    assert rejection(priced, "coupon:C").code == "minimum_spend_not_met"


# ---------------------------------------------------------------- 11. manual discounts


def test_manual_discount_applies_last_on_what_is_left():
    promotion = ItemDiscount(id="I10", name="10% off", percent_off_bp=1_000)
    priced = price(
        [line("1", "COAT", 10_000)],
        [promotion],
        context=sale(staff_manual_discount_limit_bp=1_000),
        manual=[ManualDiscount(line_id="1", percent_off_bp=1_000, note="scratched")],
    )

    assert adjustments(priced) == {"1": {"I10": 1_000, "manual:1": 900}}
    assert priced.applied[-1].reason_en == "Manual 10% off line 1: scratched"


def test_manual_discount_over_the_staff_limit_is_refused_with_its_code():
    with pytest.raises(ManualDiscountOverLimit) as refused:
        price(
            [line("1", "COAT", 10_000)],
            context=sale(staff_manual_discount_limit_bp=1_000),
            manual=[ManualDiscount(amount_off_minor=1_001)],
        )

    assert refused.value.code == "manual_discount_over_limit"
    assert refused.value.extra == {"requested_minor": 1_001, "limit_minor": 1_000}


def test_two_manual_discounts_cannot_add_up_past_the_staff_limit():
    with pytest.raises(ManualDiscountOverLimit):
        price(
            [line("1", "COAT", 10_000)],
            context=sale(staff_manual_discount_limit_bp=1_000),
            manual=[
                ManualDiscount(line_id="1", percent_off_bp=1_000),
                ManualDiscount(line_id="1", percent_off_bp=1_000),
            ],
        )


def test_manual_discounts_respect_the_absolute_staff_limit_for_the_sale():
    context = sale(staff_manual_discount_limit_bp=5_000, staff_manual_discount_limit_minor=5_000)
    with pytest.raises(ManualDiscountOverLimit):
        price(
            [line("1", "TV", 500_000)], context=context, manual=[ManualDiscount(percent_off_bp=200)]
        )


def test_a_cashier_without_a_limit_cannot_give_any_manual_discount():
    with pytest.raises(ManualDiscountOverLimit):
        price([line("1", "COAT", 10_000)], manual=[ManualDiscount(amount_off_minor=1)])


def test_manual_discount_on_an_unknown_line_is_refused():
    with pytest.raises(InvalidManualDiscount) as refused:
        price(
            [line("1", "COAT", 10_000)],
            context=sale(staff_manual_discount_limit_bp=1_000),
            manual=[ManualDiscount(line_id="9", percent_off_bp=500)],
        )
    assert refused.value.field == "manual.line_id"


# ---------------------------------------------------------------- stacking and best choice


def test_best_for_customer_wins_between_exclusive_promotions_and_the_loser_says_why():
    promotions = [
        ItemDiscount(id="P7", name="10% off everything", percent_off_bp=1_000, exclusive=True),
        SpendAndSave(id="P12", name="400 save 50", threshold_minor=40_000, save_minor=5_000),
    ]
    priced = price([line("1", "COAT", 40_000)], promotions)

    assert [a.promotion_id for a in priced.applied] == ["P12"]
    assert priced.discount_minor == 5_000
    loser = rejection(priced, "P7")
    assert (loser.code, loser.excluded_by, loser.saving_difference_minor) == (
        "excluded",
        ("P12",),
        1_000,
    )
    assert loser.reason_en == "Excluded by P12, which saves ¥10.00 more"
    assert loser.reason_zh == "与P12互斥，P12多省¥10.00"


def test_exclusive_groups_compare_whole_combinations():
    # Member price + 满减 (groups member, basket) against a clearance markdown that excludes
    # the member price: the pair saves more than the markdown alone.
    policy = StackingPolicy(exclusive_groups=frozenset({("member", "clearance")}))
    promotions = [
        MemberPrice(id="MP", name="Member price", group="member"),
        SpendAndSave(
            id="MJ", name="200-20", group="basket", threshold_minor=20_000, save_minor=2_000
        ),
        ItemDiscount(id="CL", name="Clearance 15%", group="clearance", percent_off_bp=1_500),
    ]
    priced = price(
        [line("1", "COAT", 25_000, member_price_minor=23_000)],
        promotions,
        context=sale(**MEMBER),
        policy=policy,
    )

    # {MP, MJ}: 20 + 20 = 40 ; {CL, MJ}: 37.50 + 20 = 57.50 → clearance wins.
    assert {a.promotion_id for a in priced.applied} == {"CL", "MJ"}
    assert priced.discount_minor == 5_750
    assert rejection(priced, "MP").reason_en == "Excluded by CL, which saves ¥17.50 more"


def test_one_per_group_policy_keeps_the_best_tier_of_spend_and_save():
    policy = StackingPolicy(exclusive_groups=frozenset({("mj", "mj")}))
    promotions = [
        SpendAndSave(
            id="MJ100", name="100-10", group="mj", threshold_minor=10_000, save_minor=1_000
        ),
        SpendAndSave(
            id="MJ200", name="200-30", group="mj", threshold_minor=20_000, save_minor=3_000
        ),
    ]
    priced = price([line("1", "COAT", 25_000)], promotions, policy=policy)

    assert [a.promotion_id for a in priced.applied] == ["MJ200"]
    assert rejection(priced, "MJ100").saving_difference_minor == 2_000


def test_combinable_with_limits_a_promotion_to_the_groups_it_names():
    promotions = [
        ItemDiscount(
            id="A",
            name="A",
            group="brand",
            percent_off_bp=1_000,
            combinable_with=frozenset({"points"}),
        ),
        PointsMultiplier(id="PTS", name="Double", group="points", multiplier_bp=20_000),
        SpendAndSave(id="MJ", name="100-5", group="basket", threshold_minor=10_000, save_minor=500),
    ]
    priced = price([line("1", "COAT", 10_000)], promotions)

    assert {a.promotion_id for a in priced.applied} == {"A", "PTS"}
    assert rejection(priced, "MJ").excluded_by == ("A",)


def test_equal_savings_go_to_the_higher_priority_then_the_lower_id():
    def offer(promotion_id: str, priority: int) -> ItemDiscount:
        return ItemDiscount(
            id=promotion_id,
            name=promotion_id,
            percent_off_bp=1_000,
            priority=priority,
            exclusive=True,
        )

    by_priority = price([line("1", "COAT", 10_000)], [offer("A", 1), offer("B", 5)])
    by_id = price([line("1", "COAT", 10_000)], [offer("B", 1), offer("A", 1)])

    assert [a.promotion_id for a in by_priority.applied] == ["B"]
    assert rejection(by_priority, "A").reason_en == "Excluded by B: same saving, chosen by priority"
    assert [a.promotion_id for a in by_id.applied] == ["A"]


def test_item_level_promotions_apply_by_priority_and_member_price_overrides_the_running_price():
    promotions = [
        ItemDiscount(id="P10", name="10% off", percent_off_bp=1_000, priority=5),
        MemberPrice(id="MP", name="Member price", priority=1),
    ]
    priced = price(
        [line("1", "COAT", 10_000, member_price_minor=8_500)], promotions, context=sale(**MEMBER)
    )

    # 10 % first: ¥90; the member price then brings the unit to ¥85.
    assert adjustments(priced) == {"1": {"P10": 1_000, "MP": 500}}


def test_too_many_competing_combinations_fall_back_to_priority_and_say_so():
    # Pairs of mutually exclusive promotions: 2 × 2 × 2 = 8 maximal sets, above a limit of 4.
    policy = StackingPolicy(
        exclusive_groups=frozenset({("g0", "g0"), ("g1", "g1"), ("g2", "g2")}), max_combinations=4
    )
    promotions = [
        ItemDiscount(
            id=f"P{group}{option}",
            name="x",
            group=f"g{group}",
            percent_off_bp=100 * (option + 1),
            priority=option,
        )
        for group in range(3)
        for option in range(2)
    ]
    priced = price([line("1", "COAT", 10_000)], promotions, policy=policy)

    assert priced.selection == "greedy"
    assert [n.code for n in priced.notes] == ["greedy_selection"]
    assert {a.promotion_id for a in priced.applied} == {"P01", "P11", "P21"}
    assert "higher priority" in rejection(priced, "P00").reason_en


# ---------------------------------------------------------------- never below zero


def test_stacked_full_discount_and_big_spend_and_save_never_take_a_line_below_zero():
    promotions = [
        ItemDiscount(id="FREE", name="100% off tea", percent_off_bp=10_000, targeting=only("TEA")),
        ItemDiscount(id="P90", name="90% off", percent_off_bp=9_000),
        SpendAndSave(id="MJ", name="10 save 500", threshold_minor=1_000, save_minor=50_000),
    ]
    coupon = Coupon(code="BIG", kind="amount_off", amount_off_minor=99_999)
    priced = price(
        [line("1", "TEA", 5_000, 2), line("2", "COAT", 30_000)], promotions, coupons=[coupon]
    )

    assert nets(priced) == {"1": 0, "2": 0}
    assert priced.discount_minor == priced.gross_minor == 40_000
    assert {(c.promotion_id, c.requested_minor, c.applied_minor) for c in priced.clamps} == {
        ("MJ", 50_000, 3_000)
    }
    assert rejection(priced, "coupon:BIG").code == "no_saving"


# ---------------------------------------------------------------- time, place, member scope


def test_happy_hour_runs_only_on_its_weekdays_and_hours_in_local_time():
    promotion = ItemDiscount(
        id="HH",
        name="Happy hour",
        percent_off_bp=2_000,
        weekdays=frozenset({2, 4}),
        hours_from=time(14),
        hours_to=time(16),
    )
    basket = [line("1", "BEER", 1_000)]

    assert price(basket, [promotion]).discount_minor == 200  # Tuesday 15:00
    at_four = price(basket, [promotion], context=sale(local_datetime=datetime(2024, 10, 8, 16)))
    assert rejection(at_four, "HH").code == "outside_hours"
    assert rejection(at_four, "HH").reason_en == "Only 14:00–16:00"
    wednesday = price(basket, [promotion], context=sale(local_datetime=datetime(2024, 10, 9, 15)))
    assert rejection(wednesday, "HH").code == "wrong_weekday"
    assert rejection(wednesday, "HH").reason_zh == "仅限周二、周四"


def test_an_hour_window_can_run_over_midnight():
    promotion = ItemDiscount(
        id="LATE", name="Late night", percent_off_bp=1_000, hours_from=time(22), hours_to=time(2)
    )
    basket = [line("1", "NOODLES", 1_000)]

    def at(hour: int) -> int:
        moment = datetime(2024, 10, 8, hour, 30)
        return price(basket, [promotion], context=sale(local_datetime=moment)).discount_minor

    assert (at(23), at(1), at(2), at(21)) == (100, 100, 0, 0)


def test_date_range_starts_inclusive_and_ends_exclusive_in_local_time():
    promotion = ItemDiscount(
        id="GW",
        name="Golden week",
        percent_off_bp=1_000,
        valid_from=datetime(2024, 10, 1),
        valid_to=datetime(2024, 10, 8),
    )
    basket = [line("1", "TEA", 1_000)]

    def at(moment: datetime) -> PricedBasket:
        return price(basket, [promotion], context=sale(local_datetime=moment))

    assert at(datetime(2024, 10, 1, 0, 0)).discount_minor == 100
    assert at(datetime(2024, 10, 7, 23, 59, 59)).discount_minor == 100
    assert rejection(at(datetime(2024, 10, 8, 0, 0)), "GW").code == "ended"
    assert rejection(at(datetime(2024, 9, 30, 23, 59)), "GW").code == "not_started"


def test_store_and_region_scope():
    promotion = ItemDiscount(
        id="LOCAL",
        name="Local",
        percent_off_bp=1_000,
        stores=frozenset({"S9"}),
        regions=frozenset({"EAST"}),
    )
    basket = [line("1", "TEA", 1_000)]

    assert price(basket, [promotion]).discount_minor == 100  # S1 is in region EAST
    assert (
        price(basket, [promotion], context=sale(store_code="S9", region_code="WEST")).discount_minor
        == 100
    )
    elsewhere = price(basket, [promotion], context=sale(store_code="S2", region_code="WEST"))
    assert rejection(elsewhere, "LOCAL").code == "store_not_in_scope"


def test_member_only_and_tier_scope():
    members = ItemDiscount(id="MEM", name="Members", percent_off_bp=1_000, member_only=True)
    gold = ItemDiscount(
        id="GOLD", name="Gold", percent_off_bp=500, tiers=frozenset({"GOLD", "PLATINUM"})
    )
    basket = [line("1", "TEA", 1_000)]

    walk_in = price(basket, [members, gold])
    silver = price(basket, [members, gold], context=sale(**MEMBER))
    gold_member = price(basket, [members, gold], context=sale(is_member=True, tier_code="GOLD"))

    assert walk_in.discount_minor == 0
    assert {r.promotion_id: r.code for r in walk_in.rejected} == {
        "GOLD": "members_only",
        "MEM": "members_only",
    }
    assert silver.discount_minor == 100
    assert rejection(silver, "GOLD").reason_zh == "仅限GOLD、PLATINUM等级会员"
    assert gold_member.discount_minor == 100 + 45


# ---------------------------------------------------------------- determinism and input


def test_shuffled_lines_and_promotions_give_the_identical_priced_basket():
    lines = [
        line(
            f"L{n}",
            f"SKU{n % 3}",
            1_000 + 137 * n,
            1 + n % 3,
            category_path=("FOOD",) if n % 2 else ("HOME",),
        )
        for n in range(8)
    ]
    promotions = [
        BuyAndGetFree(id="B", name="B", buy_quantity=2, targeting=only("SKU1", "SKU2")),
        NthItemDiscount(id="N", name="N", targeting=Targeting(categories=frozenset({"FOOD"}))),
        SpendAndSave(id="M", name="M", threshold_minor=5_000, save_minor=700, repeating=True),
        ItemDiscount(id="X", name="X", percent_off_bp=1_200, exclusive=True),
    ]
    expected = price(lines, promotions)
    generator = random.Random(7)
    for _ in range(5):
        generator.shuffle(lines)
        generator.shuffle(promotions)
        assert price(lines, promotions) == expected


def test_promotions_decode_from_json_as_a_tagged_union():
    raw = b"""[{"kind": "spend_save", "id": "MJ", "name": "300-30", "threshold_minor": 30000,
               "save_minor": 3000, "targeting": {"categories": ["SHOE"]}},
              {"kind": "buy_get_free", "id": "B", "name": "B2G1", "buy_quantity": 2}]"""
    decoded = msgspec.json.decode(raw, type=list[PromotionDefinition])

    assert isinstance(decoded[0], SpendAndSave)
    assert decoded[0].targeting.categories == frozenset({"SHOE"})
    assert isinstance(decoded[1], BuyAndGetFree)
    with pytest.raises(msgspec.ValidationError, match="percent_off_bp"):
        msgspec.json.decode(
            b'{"kind": "item_discount", "id": "I", "name": "I", "percent_off_bp": 12000}',
            type=PromotionDefinition,
        )


def test_inconsistent_input_is_refused_with_a_field_named():
    with pytest.raises(InvalidBasket):
        Basket(lines=(line("1", "A", 100), line("1", "B", 100)))
    with pytest.raises(InvalidBasket) as refused:
        line("1", "A", 100, 0)
    assert refused.value.field == "quantity"
    with pytest.raises(InvalidPromotion):
        ItemDiscount(id="I", name="I", percent_off_bp=1_000, amount_off_minor=100)
    with pytest.raises(InvalidPromotion):
        price(
            [line("1", "A", 100)],
            [
                ItemDiscount(id="I", name="a", percent_off_bp=1),
                ItemDiscount(id="I", name="b", percent_off_bp=2),
            ],
        )
    with pytest.raises(InvalidSaleContext):
        sale(local_datetime=datetime.fromisoformat("2024-10-08T15:00:00+08:00"))


def test_explain_lists_what_applied_what_did_not_and_the_totals():
    promotions = [
        ItemDiscount(
            id="P7", name="10% off", name_zh="全场9折", percent_off_bp=1_000, exclusive=True
        ),
        SpendAndSave(
            id="P12",
            name="400 save 50",
            name_zh="满400减50",
            threshold_minor=40_000,
            save_minor=5_000,
        ),
    ]
    priced = price([line("1", "COAT", 40_000)], promotions)

    assert explain(priced) == "\n".join(
        [
            "Gross ¥400.00",
            "  - 400 save 50: Spend ¥400 save ¥50  -¥50.00",
            "Not applied:",
            "  · 10% off (P7): Excluded by P12, which saves ¥10.00 more",
            "Discount ¥50.00",
            "Net ¥350.00",
        ]
    )
    assert "满400减50" in explain(priced, "zh")
