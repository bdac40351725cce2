from hypothesis import given
from hypothesis import strategies as st

from memberpos.money import allocate, divide_half_up, format_money, percent_of


def test_half_up_rounds_halves_away_from_zero():
    assert divide_half_up(5, 2) == 3
    assert divide_half_up(-5, 2) == -3
    assert divide_half_up(4, 3) == 1
    assert divide_half_up(7, -2) == -4
    assert percent_of(1999, 500) == 100  # 5 % of ¥19.99 = 99.95 fen → 100 fen


def test_allocation_gives_leftover_units_to_largest_remainders_then_earlier_lines():
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    # exact shares 231.06, 740.31, 28.92: the one unit left goes to the .92
    assert allocate(1000, [3990, 12800, 500]) == [231, 740, 29]
    assert allocate(-10, [1, 1, 1]) == [-4, -3, -3]
    assert allocate(7, [0, 0]) == [4, 3]


@given(
    total=st.integers(-(10**9), 10**9),
    weights=st.lists(st.integers(0, 10**7), min_size=1, max_size=30),
)
def test_allocated_parts_always_sum_to_the_total_and_follow_the_weights(total, weights):
    parts = allocate(total, weights)
    assert sum(parts) == total
    weight_sum = sum(weights) or len(weights)
    effective = weights if sum(weights) else [1] * len(weights)
    for part, weight in zip(parts, effective, strict=True):
        exact = total * weight / weight_sum
        assert abs(part - exact) < 1 + 1e-9


def test_money_formats_with_symbol_and_exponent():
    assert format_money(12345) == "¥123.45"
    assert format_money(-100, "CNY") == "-¥1.00"
    assert format_money(1500, "JPY") == "¥1,500"
