"""Phone numbers: normalised to E.164 so one person is one member, masked for display."""

from __future__ import annotations

import re

from members.errors import InvalidPhone

_SEPARATORS = re.compile(r"[\s\-().]")
_CHINA_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def normalise_phone(raw: str, *, field: str = "phone") -> str:
    """``138 1234 1234``, ``+86 138-1234-1234`` and ``008613812341234`` are all
    ``+8613812341234``; a mainland number must be a valid mobile (1[3-9] + 9 digits)."""
    value = _SEPARATORS.sub("", raw or "")
    if value.startswith("00"):
        value = "+" + value[2:]
    if value.startswith("+86"):
        national = value[3:]
        if not _CHINA_MOBILE.match(national):
            raise InvalidPhone(f"{raw!r} is not a mainland China mobile number", field=field)
        return "+86" + national
    if value.startswith("+"):
        if not _E164.match(value):
            raise InvalidPhone(f"{raw!r} is not an international number", field=field)
        return value
    if _CHINA_MOBILE.match(value):
        return "+86" + value
    raise InvalidPhone(f"{raw!r} is not a valid mobile number", field=field)


def national_number(phone: str) -> str:
    return phone[3:] if phone.startswith("+86") else phone.lstrip("+")


def mask(phone: str) -> str:
    """``+8613812341234`` → ``138****1234``: what receipts, logs and cashiers see."""
    digits = national_number(phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
