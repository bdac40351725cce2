"""Earning, redemption and expiry rules, as pure functions."""

from __future__ import annotations

import datetime as dt

import pytest

from loyalty.earning import (
    EarnLine,
    Rule,
    check_redemption,
    expiry_date,
    points_for_lines,
)
from loyalty.errors import RedemptionRefused
from loyalty.program import Program

LINES = [
    EarnLine("1", "TEA-1", "FOOD/DRINK", "LANWAN", 1_990),
    EarnLine("2", "GOLD-1", "JEWEL/GOLD", "ZHENBAO", 299_900),
    EarnLine("3", "CHIPS", "FOOD/SNACK", "SHANCHUAN", 1_500, promotion_multiplier_bp=20_000),
]


def test_one_point_per_yuan_rounds_down_per_line_with_most_specific_rule():
    rules = [
        Rule("FOOD2", "category", "FOOD", 20_000),
        Rule("GOLDX", "category", "GOLD", 0),
        Rule("TEA3", "sku", "TEA-1", 30_000),
    ]
    result = points_for_lines(LINES, rules, Program(), tier_multiplier_bp=15_000)
    by_line = {line.line_id: line for line in result.lines}
    assert by_line["1"].points == 89  # 19.90 × 3 (sku beats category) × 1.5 = 89.55
    assert by_line["2"].points == 0  # gold excluded
    assert by_line["3"].points == 90  # 15.00 × 2 (category) × 1.5 (tier) × 2 (promotion)
    assert result.points == 179
    assert "rule:TEA3" in by_line["1"].rules


def test_spend_paid_with_points_does_not_earn_and_is_spread_by_largest_remainder():
    program = Program(earn_on_points=False, earn_on_stored_value=True)
    lines = [EarnLine("1", "A", "X", None, 10_000), EarnLine("2", "B", "X", None, 10_000)]
    result = points_for_lines(
        lines, [], program, paid_with_points_minor=5_001, paid_with_stored_value_minor=9_999
    )
    assert [line.qualifying_minor for line in result.lines] == [7_499, 7_500]
    assert result.points == 74 + 75


def test_redemption_rules_minimum_whole_units_share_and_balance():
    program = Program(
        min_redeem_points=100,
        redeem_step_points=100,
        max_redeem_share_bp=5000,
        points_per_minor_unit=1,
    )
    assert check_redemption(500, 10_000, 1_000, program) == 500
    for points, basket, spendable, rule in (
        (50, 10_000, 1_000, "minimum"),
        (150, 10_000, 1_000, "whole_units"),
        (900, 10_000, 800, "balance"),
        (6_000, 10_000, 9_000, "max_share"),
    ):
        with pytest.raises(RedemptionRefused) as refused:
            check_redemption(points, basket, spendable, program)
        assert refused.value.extra["rule"] == rule


def test_expiry_policies():
    assert expiry_date(dt.date(2026, 12, 31), Program(expiry_policy="year_end")) == dt.date(
        2027, 12, 31
    )
    months = Program(expiry_policy="months", expiry_months=12)
    assert expiry_date(dt.date(2026, 3, 15), months) == dt.date(2027, 3, 14)
    assert expiry_date(
        dt.date(2026, 1, 31), Program(expiry_policy="months", expiry_months=1)
    ) == dt.date(2026, 2, 27)
