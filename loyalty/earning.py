"""How many points a sale earns, how much points may pay, and when earned points expire.

Earning (per line, then summed): the line's qualifying spend is its net amount less what was
paid for it with points (unless the program earns on points) and with stored value (unless
it earns on stored value), payments spread over lines by largest remainder. Points are
``qualifying × points_per_unit / 100`` (one unit = 100 minor units) times the multipliers:
the most specific earning rule (SKU, then brand, then the deepest category; 0 excludes), the
member's tier and the promotions' (the engine's per-line multiplier) — multiplied in basis
points, rounded down once at the end of the line. The sale records each line's rules.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from loyalty.errors import RedemptionRefused
from loyalty.program import Program
from loyalty.tables import EarningRule
from memberpos.money import allocate

BASIS = 10_000


@dataclass(frozen=True)
class EarnLine:
    line_id: str
    sku: str
    category_path: str  # "FOOD/SNACK"
    brand_code: str | None
    net_minor: int
    promotion_multiplier_bp: int = BASIS


@dataclass(frozen=True)
class Rule:
    code: str
    scope: str
    target: str
    multiplier_bp: int


@dataclass(frozen=True)
class LinePoints:
    line_id: str
    qualifying_minor: int
    points: int
    rules: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class EarnResult:
    points: int
    lines: tuple[LinePoints, ...]


_cached_rules: tuple[int, list[dict[str, Any]]] | None = None  # (generation, active rows)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


async def active_rules(at: dt.datetime, *, generation: int | None = None) -> list[Rule]:
    """The rules in force at ``at``. ``generation``: the configuration generation the caller
    has just read (see ``loyalty.program.load_program``): every change of the rules bumps
    it, so the active rules this process read under it are served without a query, and the
    ones in force at ``at`` picked from them."""
    global _cached_rules
    if generation is None:
        rows = await EarningRule.select(
            EarningRule.code, EarningRule.scope, EarningRule.target, EarningRule.multiplier_bp
        ).where(
            (EarningRule.active == True)  # noqa: E712
            & (EarningRule.valid_from <= at)
            & (EarningRule.valid_to.is_null() | (EarningRule.valid_to > at))
        )
        return [Rule(**row) for row in rows]
    if _cached_rules is None or _cached_rules[0] != generation:
        rows = await EarningRule.select(
            EarningRule.code,
            EarningRule.scope,
            EarningRule.target,
            EarningRule.multiplier_bp,
            EarningRule.valid_from,
            EarningRule.valid_to,
        ).where(EarningRule.active == True)  # noqa: E712
        _cached_rules = (generation, rows)
    moment = _aware(at)
    return [
        Rule(row["code"], row["scope"], row["target"], row["multiplier_bp"])
        for row in _cached_rules[1]
        if row["valid_from"] is not None
        and _aware(row["valid_from"]) <= moment
        and (row["valid_to"] is None or _aware(row["valid_to"]) > moment)
    ]


def _rule_for(line: EarnLine, rules: Sequence[Rule]) -> Rule | None:
    for rule in rules:
        if rule.scope == "sku" and rule.target == line.sku:
            return rule
    for rule in rules:
        if rule.scope == "brand" and line.brand_code and rule.target == line.brand_code:
            return rule
    best: Rule | None = None
    categories = line.category_path.split("/")
    for rule in rules:
        if rule.scope == "category" and rule.target in categories:
            if best is None or categories.index(rule.target) > categories.index(best.target):
                best = rule
    return best


def points_for_lines(
    lines: Sequence[EarnLine],
    rules: Sequence[Rule],
    program: Program,
    *,
    tier_multiplier_bp: int = BASIS,
    paid_with_points_minor: int = 0,
    paid_with_stored_value_minor: int = 0,
) -> EarnResult:
    """Pure: the points each line earns and the rules that made them."""
    ordered = sorted(lines, key=lambda line: line.line_id)
    weights = [line.net_minor for line in ordered]
    excluded_payments = 0
    if not program.earn_on_points:
        excluded_payments += paid_with_points_minor
    if not program.earn_on_stored_value:
        excluded_payments += paid_with_stored_value_minor
    excluded_payments = min(excluded_payments, sum(weights))
    excluded = allocate(excluded_payments, weights) if ordered else []
    results: list[LinePoints] = []
    for line, not_qualifying in zip(ordered, excluded, strict=True):
        qualifying = max(0, line.net_minor - not_qualifying)
        rule = _rule_for(line, rules)
        rule_bp = rule.multiplier_bp if rule else BASIS
        numerator = (
            qualifying
            * program.points_per_unit
            * rule_bp
            * tier_multiplier_bp
            * line.promotion_multiplier_bp
        )
        points = numerator // (100 * BASIS * BASIS * BASIS)
        names = [f"base:{program.points_per_unit}/unit"]
        if rule:
            names.append(f"rule:{rule.code}")
        if tier_multiplier_bp != BASIS:
            names.append(f"tier:x{tier_multiplier_bp / BASIS:g}")
        if line.promotion_multiplier_bp != BASIS:
            names.append(f"promotion:x{line.promotion_multiplier_bp / BASIS:g}")
        results.append(LinePoints(line.line_id, qualifying, points, tuple(names)))
    return EarnResult(sum(r.points for r in results), tuple(results))


def points_value_minor(points: int, program: Program) -> int:
    return points // program.points_per_minor_unit


def redemption_cap_minor(basket_net_minor: int, program: Program) -> int:
    """The most points may pay of a basket: the program's share, rounded down (the share is
    a maximum, so a fraction of a minor unit is never allowed over it)."""
    return basket_net_minor * program.max_redeem_share_bp // BASIS


def max_redemption(basket_net_minor: int, spendable: int, program: Program) -> tuple[int, int]:
    """The most points the member may pay with on this basket (within the share, the
    spendable points and the steps; 0 below the minimum), and their value: the largest
    payment ``check_redemption`` accepts."""
    points = min(
        spendable, redemption_cap_minor(basket_net_minor, program) * program.points_per_minor_unit
    )
    step = program.redeem_step_points or 1
    points -= points % step
    if points < program.min_redeem_points:
        return 0, 0
    return points, points_value_minor(points, program)


def check_redemption(points: int, basket_net_minor: int, spendable: int, program: Program) -> int:
    """The money ``points`` pay for, or a refusal saying which rule they break: the minimum,
    whole units only (e.g. multiples of 100 points = whole yuan), at most the program's share
    of the basket, and no more than the member can spend."""
    if points < program.min_redeem_points:
        raise RedemptionRefused(
            f"At least {program.min_redeem_points} points per payment",
            field="points",
            rule="minimum",
        )
    if program.redeem_step_points and points % program.redeem_step_points:
        raise RedemptionRefused(
            f"Points pay in steps of {program.redeem_step_points}",
            field="points",
            rule="whole_units",
        )
    if points > spendable:
        raise RedemptionRefused(
            f"Only {spendable} points are spendable",
            field="points",
            rule="balance",
            spendable=spendable,
        )
    value = points_value_minor(points, program)
    cap = redemption_cap_minor(basket_net_minor, program)
    if value > cap:
        raise RedemptionRefused(
            f"Points may pay at most {program.max_redeem_share_bp / 100:g}% of this basket",
            field="points",
            rule="max_share",
            max_value_minor=cap,
        )
    return value


def expiry_date(earned_on: dt.date, program: Program) -> dt.date | None:
    """When points earned on a business date expire (the last day they can be spent)."""
    if program.expiry_policy == "never":
        return None
    if program.expiry_policy == "months":
        month = earned_on.month - 1 + program.expiry_months
        year, month = earned_on.year + month // 12, month % 12 + 1
        # the same day N months on (or the month's last day), minus one day
        day = min(earned_on.day, calendar.monthrange(year, month)[1])
        return dt.date(year, month, day) - dt.timedelta(days=1)
    return dt.date(earned_on.year + 1, 12, 31)  # end of the following year
