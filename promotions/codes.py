"""Coupon codes: 11 random characters from the secrets module and a check character.

The alphabet has 31 symbols (digits 2–9 and letters without I, L, O, which are misread), so
a code carries 55 random bits: guessing one among a million live coupons takes ~2^35 tries.
The check character makes the weighted sum of all 12 symbol values (weights 1…12) divisible
by 31; 31 is prime and the weights are distinct and non-zero modulo 31, so every single
mistyped character and every swap of two neighbours is caught before any lookup.
Codes are printed in groups of four (``ABCD-EFGH-JKMN``); dashes, spaces and case are ignored.
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
MODULUS = len(ALPHABET)  # 31, prime
RANDOM_LENGTH = 11
CODE_LENGTH = RANDOM_LENGTH + 1
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}


def _weighted_sum(symbols: str) -> int:
    return sum(position * _VALUE[symbol] for position, symbol in enumerate(symbols, start=1))


def check_character(body: str) -> str:
    """The symbol that completes ``body`` (its first 11 symbols) to a valid code."""
    position = len(body) + 1
    # position × value ≡ −sum (mod 31): multiply by the inverse of the position.
    value = (-_weighted_sum(body) * pow(position, -1, MODULUS)) % MODULUS
    return ALPHABET[value]


def new_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return body + check_character(body)


def normalise(text: str) -> str:
    """Upper case without dashes and spaces, as stored."""
    return "".join(text.split()).replace("-", "").upper()


def is_valid(code: str) -> bool:
    """Whether a normalised code has the right length, alphabet and check character."""
    return (
        len(code) == CODE_LENGTH
        and all(symbol in _VALUE for symbol in code)
        and _weighted_sum(code) % MODULUS == 0
    )


def display(code: str) -> str:
    return "-".join(code[start : start + 4] for start in range(0, len(code), 4))
