"""Commission arithmetic, pure (no database): levels, the split of one sale line among its
salespeople and into pool (公佣) and personal (私佣) parts, and what a refund takes back.

Rounding happens once per line and only through ``memberpos.money``: each salesperson's exact
commission (minor units × basis points) is summed, the line's total is rounded half-up to
the minor unit, and that total is allocated back to the salespeople by largest remainder,
weighted by their exact commission. So the parts always sum to the line's commission and a
remainder fen goes to whoever was closest to earning it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from memberpos.money import allocate, divide_half_up, percent_of

BP = 10_000  # basis points in a whole

FLAT, MARGINAL, WHOLE = "flat", "marginal", "whole"
RATE, PER_UNIT = "rate", "per_unit"


@dataclass(frozen=True)
class Level:
    """A level of a rule: its rate applies to period sales above ``above_minor``."""

    above_minor: int
    rate_bp: int


@dataclass(frozen=True)
class Terms:
    """What a rule pays; the arithmetic needs nothing else of it."""

    basis: str = RATE  # rate: rate_bp of the base; per_unit: a fixed amount per unit sold
    rate_bp: int = 0
    amount_per_unit_minor: int = 0
    exclude_points_paid: bool = False
    pool_share_bp: int = 0
    level_mode: str = FLAT  # flat | marginal | whole
    levels: tuple[Level, ...] = ()


@dataclass(frozen=True)
class Seller:
    """One salesperson on a line: their share and their net sales in the period so far."""

    staff_key: int
    share_bp: int
    period_sales_before_minor: int = 0


@dataclass(frozen=True)
class SellerCommission:
    staff_key: int
    share_bp: int
    sales_minor: int
    base_minor: int
    rate_bp: int  # the rate applied; for a marginal split, the highest one reached
    level: int  # 1-based level reached; 0 when the rule has no levels
    commission_minor: int
    personal_minor: int
    pool_minor: int


def equal_shares(count: int) -> list[int]:
    """Shares in basis points for ``count`` salespeople who split a line equally."""
    return allocate(BP, [1] * count)


def level_reached(levels: Sequence[Level], period_sales_minor: int) -> int:
    """0-based index of the level that period sales of ``period_sales_minor`` reach: the
    highest whose ``above_minor`` they exceed (the first level always applies)."""
    reached = 0
    for index, level in enumerate(levels):
        if index == 0 or period_sales_minor > level.above_minor:
            reached = index
    return reached


def band_portions(
    levels: Sequence[Level], before_minor: int, amount_minor: int
) -> list[tuple[int, int]]:
    """How sales of ``amount_minor`` on top of ``before_minor`` fall into the levels' bands:
    ``(level index, portion)`` for every band they touch, portions summing to the amount.

    Band k covers period sales above ``levels[k].above_minor`` up to and including the next
    level's; the first band reaches down without limit (a period made negative by refunds
    still earns the first rate), the last up without limit."""
    start, end = before_minor, before_minor + amount_minor
    portions: list[tuple[int, int]] = []
    for index, level in enumerate(levels):
        low = start if index == 0 else max(start, level.above_minor)
        high = end if index + 1 == len(levels) else min(end, levels[index + 1].above_minor)
        if high > low:
            portions.append((index, high - low))
    return portions


def _rated(terms: Terms, before: int, sales: int, base: int) -> tuple[int, int, int]:
    """(exact commission in minor units × basis points, rate shown, level) of one seller."""
    levels = terms.levels
    if terms.level_mode == FLAT or not levels:
        return base * terms.rate_bp, terms.rate_bp, 0
    if terms.level_mode == WHOLE:
        # Whole-amount: all of this line at the rate of the level its sales reach, counting
        # this line. Lines recorded before are not revalued: recorded figures never change.
        index = level_reached(levels, before + sales)
        return base * levels[index].rate_bp, levels[index].rate_bp, index + 1
    portions = band_portions(levels, before, sales)
    if not portions:  # nothing sold on this line
        index = level_reached(levels, before)
        return base * levels[index].rate_bp, levels[index].rate_bp, index + 1
    # Marginal: each part of the sale at the rate of the band it falls in; the base (which
    # may exclude the points-paid part) is spread over the bands like the sales are.
    base_parts = allocate(base, [portion for _, portion in portions])
    exact = sum(
        part * levels[index].rate_bp for part, (index, _) in zip(base_parts, portions, strict=True)
    )
    top = portions[-1][0]
    return exact, levels[top].rate_bp, top + 1


def line_commission(
    terms: Terms,
    *,
    quantity: int,
    net_minor: int,
    points_paid_minor: int,
    sellers: Sequence[Seller],
    pooled: bool = False,
) -> list[SellerCommission]:
    """Each seller's commission on one line, in the order given.

    ``net_minor`` is the line's amount after its share of every discount and coupon;
    ``pooled`` marks a line sold by nobody (one pseudo-seller): all of it goes to the pool.
    """
    shares = [seller.share_bp for seller in sellers]
    sales = allocate(net_minor, shares)
    base_total = net_minor - points_paid_minor if terms.exclude_points_paid else net_minor
    bases = allocate(base_total, shares)
    exact: list[int] = []
    shown: list[tuple[int, int]] = []
    for seller, seller_sales, seller_base in zip(sellers, sales, bases, strict=True):
        if terms.basis == PER_UNIT:
            exact.append(terms.amount_per_unit_minor * quantity * seller.share_bp)
            shown.append((0, 0))
        else:
            amount, rate_bp, level = _rated(
                terms, seller.period_sales_before_minor, seller_sales, seller_base
            )
            exact.append(amount)
            shown.append((rate_bp, level))
    line_total = divide_half_up(sum(exact), BP)
    commissions = allocate(line_total, exact)
    result: list[SellerCommission] = []
    for seller, seller_sales, seller_base, (rate_bp, level), commission in zip(
        sellers, sales, bases, shown, commissions, strict=True
    ):
        pool = commission if pooled else percent_of(commission, terms.pool_share_bp)
        result.append(
            SellerCommission(
                staff_key=seller.staff_key,
                share_bp=seller.share_bp,
                sales_minor=seller_sales,
                base_minor=seller_base,
                rate_bp=rate_bp,
                level=level,
                commission_minor=commission,
                personal_minor=commission - pool,
                pool_minor=pool,
            )
        )
    return result


def refunded_part(amount_minor: int, quantity: int, refunded_before: int, refunded_now: int) -> int:
    """What a refund of ``refunded_now`` of ``quantity`` units takes back of ``amount_minor``
    when ``refunded_before`` units were refunded already.

    Cumulative: the units refunded so far are owed ``allocate(amount, [so_far, rest])[0]``
    (largest remainder), and each refund takes the growth of that. The parts of successive
    refunds therefore telescope, and refunding every unit takes back exactly the amount."""

    def owed(units: int) -> int:
        return allocate(amount_minor, [units, quantity - units])[0]

    return owed(refunded_before + refunded_now) - owed(refunded_before)
