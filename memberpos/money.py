"""Money as integers of minor units (fen, cents): rounding and allocation helpers.

Every amount in memberpos is an ``int`` of minor units with the chain's ISO currency code
beside it. These helpers are the only places where a division happens, so rounding is the
same everywhere: half-up (away from zero for negatives) to the minor unit, and any amount
spread over several lines is split by largest remainder so the parts sum exactly to it.
"""

from __future__ import annotations

from collections.abc import Sequence

# ISO 4217 minor-unit exponents of the currencies a chain is likely to run in.
CURRENCY_EXPONENT: dict[str, int] = {
    "CNY": 2,
    "HKD": 2,
    "MOP": 2,
    "TWD": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "SGD": 2,
    "MYR": 2,
    "THB": 2,
    "AUD": 2,
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
}
CURRENCY_SYMBOL: dict[str, str] = {
    "CNY": "¥",
    "JPY": "¥",
    "HKD": "HK$",
    "MOP": "MOP$",
    "TWD": "NT$",
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "SGD": "S$",
    "MYR": "RM",
    "THB": "฿",
    "AUD": "A$",
    "KRW": "₩",
    "VND": "₫",
}


def divide_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half away from zero, in integers only."""
    if denominator == 0:
        raise ZeroDivisionError("denominator must not be zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def percent_of(amount_minor: int, basis_points: int) -> int:
    """``amount × basis_points / 10000`` rounded half-up (1 basis point = 0.01 %)."""
    return divide_half_up(amount_minor * basis_points, 10_000)


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` over ``weights`` so the parts sum exactly to ``total``.

    Largest-remainder method: each part gets the floor of its exact share, and the units
    left over go one each to the parts with the largest remainders, ties to the earlier
    index. Weights are non-negative integers (typically line amounts); when all are zero
    the split is by equal weight. Works for negative totals by symmetry.
    """
    if not weights:
        if total != 0:
            raise ValueError("cannot allocate a non-zero total over no weights")
        return []
    if any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    if total < 0:
        return [-part for part in allocate(-total, weights)]
    weight_sum = sum(weights)
    if weight_sum == 0:
        weights = [1] * len(weights)
        weight_sum = len(weights)
    parts: list[int] = []
    remainders: list[tuple[int, int]] = []
    for index, weight in enumerate(weights):
        share, remainder = divmod(total * weight, weight_sum)
        parts.append(share)
        remainders.append((-remainder, index))
    left_over = total - sum(parts)
    for _, index in sorted(remainders)[:left_over]:
        parts[index] += 1
    return parts


def format_money(amount_minor: int, currency: str = "CNY", *, symbol: bool = True) -> str:
    """``12345, "CNY"`` → ``"¥123.45"``; negative amounts as ``"-¥1.00"``."""
    exponent = CURRENCY_EXPONENT.get(currency, 2)
    sign = "-" if amount_minor < 0 else ""
    units, minor = divmod(abs(amount_minor), 10**exponent)
    number = f"{units:,}" if exponent == 0 else f"{units:,}.{minor:0{exponent}d}"
    prefix = CURRENCY_SYMBOL.get(currency, currency + " ") if symbol else ""
    return f"{sign}{prefix}{number}"
