"""Time: UTC in the database, business dates in the store's own time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from memberpos.errors import InvalidInput


def utc_now() -> datetime:
    return datetime.now(UTC)


def zone(name: str, *, field: str = "time_zone") -> ZoneInfo:
    """The IANA zone ``name`` or a 400 naming ``field``."""
    if not name or name not in _known_zones():
        raise InvalidInput(
            f"Unknown time zone {name!r}; use an IANA name such as Asia/Shanghai", field=field
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:  # pragma: no cover
        raise InvalidInput(f"Unknown time zone {name!r}", field=field) from error


_zones: frozenset[str] | None = None


def _known_zones() -> frozenset[str]:
    global _zones
    if _zones is None:
        _zones = frozenset(available_timezones())
    return _zones


def business_date(at: datetime, time_zone: str) -> date:
    """The calendar date ``at`` falls on in the store's zone (reports, expiry, birthdays)."""
    return at.astimezone(ZoneInfo(time_zone)).date()
