"""Properties the issue asks for that the engine suite does not cover yet: splitting a line
never lowers the price, allocation sums exactly, and the index of active promotions never
changes a priced basket (only drops the promotions no line can match from ``rejected``)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from memberpos.money import allocate
from promotions.engine import Basket, BasketLine, IndexedPromotions, price_basket
from tests.promotions.test_engine_properties import (
    PROPERTY_SETTINGS as ENGINE_SETTINGS,
)
from tests.promotions.test_engine_properties import (
    assert_reconciles,
    baskets,
    contexts,
    coupon_lists,
    policies,
    promotion_lists,
)

# Half the engine suite's examples: these run on both backends' test runs alike.
PROPERTY_SETTINGS = settings(ENGINE_SETTINGS, max_examples=100)


@PROPERTY_SETTINGS
@given(
    data=st.data(),
    basket=baskets(max_lines=4),
    promotions=promotion_lists(),
    coupons=coupon_lists(),
    context=contexts,
    policy=policies,
)
def test_splitting_a_line_into_two_lines_of_the_same_sku_never_lowers_the_price(
    data, basket, promotions, coupons, context, policy
):
    splittable = [line for line in basket.lines if line.quantity >= 2]
    if not splittable:
        return
    line = data.draw(st.sampled_from(splittable))
    first = data.draw(st.integers(1, line.quantity - 1))
    parts = (
        BasketLine(**{**_fields(line), "line_id": line.line_id + "a", "quantity": first}),
        BasketLine(
            **{**_fields(line), "line_id": line.line_id + "b", "quantity": line.quantity - first}
        ),
    )
    split = Basket(lines=tuple(other for other in basket.lines if other is not line) + parts)

    whole = price_basket(basket, context, promotions, coupons, policy=policy)
    apart = price_basket(split, context, promotions, coupons, policy=policy)

    assert_reconciles(apart)
    assert apart.net_minor >= whole.net_minor


def _fields(line: BasketLine) -> dict[str, object]:
    return {name: getattr(line, name) for name in line.__struct_fields__}


@PROPERTY_SETTINGS
@given(
    total=st.integers(-(10**9), 10**9),
    weights=st.lists(st.integers(0, 10**7), min_size=1, max_size=40),
)
def test_allocation_sums_exactly_and_each_part_is_within_one_unit_of_its_share(total, weights):
    parts = allocate(total, weights)
    assert sum(parts) == total and len(parts) == len(weights)
    weight_sum = sum(weights) or len(weights)
    used = weights if sum(weights) else [1] * len(weights)
    for part, weight in zip(parts, used, strict=True):
        exact = total * weight / weight_sum
        assert abs(part - exact) < 1 + 1e-9


@PROPERTY_SETTINGS
@given(basket=baskets(), promotions=promotion_lists(), coupons=coupon_lists(), context=contexts)
def test_every_promotions_amount_is_exactly_what_it_took_from_the_lines(
    basket, promotions, coupons, context
):
    priced = price_basket(basket, context, promotions, coupons)
    taken: dict[str, int] = {}
    for line in priced.lines:
        for adjustment in line.adjustments:
            taken[adjustment.promotion_id] = (
                taken.get(adjustment.promotion_id, 0) + adjustment.amount_minor
            )
    assert taken == {
        a.promotion_id: a.total_amount_minor for a in priced.applied if a.total_amount_minor
    }


@PROPERTY_SETTINGS
@given(
    basket=baskets(),
    promotions=promotion_lists(),
    coupons=coupon_lists(),
    context=contexts,
    policy=policies,
)
def test_the_index_changes_nothing_but_the_list_of_promotions_no_line_can_match(
    basket, promotions, coupons, context, policy
):
    plain = price_basket(basket, context, promotions, coupons, policy=policy)
    indexed = price_basket(basket, context, IndexedPromotions(promotions), coupons, policy=policy)
    considered = {p.id for p in IndexedPromotions(promotions).candidates_for(basket.lines)}
    expected_rejected = tuple(
        r
        for r in plain.rejected
        if r.promotion_id in considered or r.promotion_id.startswith("coupon:")
    )
    assert indexed.rejected == expected_rejected
    dropped = {r.promotion_id for r in plain.rejected} - {r.promotion_id for r in indexed.rejected}
    assert all(
        r.code in ("no_matching_items", "threshold_not_met")
        or r.code.startswith("not_")
        or r.code
        in (
            "ended",
            "wrong_weekday",
            "outside_hours",
            "store_not_in_scope",
            "members_only",
            "tier_not_in_scope",
        )
        for r in plain.rejected
        if r.promotion_id in dropped
    )
    for name in (
        "lines",
        "applied",
        "gifts",
        "clamps",
        "gross_minor",
        "discount_minor",
        "net_minor",
        "selection",
        "combinations_evaluated",
        "notes",
    ):
        assert getattr(indexed, name) == getattr(plain, name), name


def test_the_index_is_read_only():
    import pytest

    indexed = IndexedPromotions()
    with pytest.raises(TypeError):
        indexed.append(None)  # type: ignore[arg-type]
