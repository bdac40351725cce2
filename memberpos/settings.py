"""Settings read from ``MEMBERPOS_*`` environment variables, once, into a frozen value."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

DEFAULT_SQLITE_PATH = Path("var") / "memberpos.sqlite"


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str | None
    secret_key: str
    currency: str = "CNY"
    default_locale: str = "zh-CN"
    time_zone: str = "Asia/Shanghai"
    staff_token_hours: int = 12
    require_services: bool = False
    # A refund above this amount needs a manager's PIN at the till.
    refund_manager_minor: int = 50_000
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @property
    def sqlite_path(self) -> Path:
        """``sqlite:///var/x.sqlite`` (relative) or ``sqlite:////abs/x.sqlite`` (absolute)."""
        return Path(self.database_url.removeprefix("sqlite:").removeprefix("//").removeprefix("/"))


def _secret_key(database_url: str) -> str:
    """The configured key, or for the embedded default a key kept beside the database file
    so staff tokens survive a restart without anyone having to configure a secret."""
    configured = os.environ.get("MEMBERPOS_SECRET_KEY")
    if configured:
        return configured
    if database_url.startswith("sqlite:"):
        key_file = DEFAULT_SQLITE_PATH.parent / "secret_key"
        key_file.parent.mkdir(parents=True, exist_ok=True)
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return key_file.read_text().strip()
    raise RuntimeError("MEMBERPOS_SECRET_KEY must be set when running on PostgreSQL")


def load_settings() -> Settings:
    database_url = os.environ.get("MEMBERPOS_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
    if not (database_url.startswith(("sqlite:", "postgres://", "postgresql://"))):
        raise RuntimeError(
            "MEMBERPOS_DATABASE_URL must be sqlite:///path/file.sqlite or postgres://…"
        )
    time_zone = os.environ.get("MEMBERPOS_TIME_ZONE", "Asia/Shanghai")
    ZoneInfo(time_zone)  # fail at start, not at the first report
    return Settings(
        database_url=database_url,
        redis_url=os.environ.get("MEMBERPOS_REDIS_URL") or None,
        secret_key=_secret_key(database_url),
        currency=os.environ.get("MEMBERPOS_CURRENCY", "CNY").upper(),
        default_locale=os.environ.get("MEMBERPOS_DEFAULT_LOCALE", "zh-CN"),
        time_zone=time_zone,
        staff_token_hours=int(os.environ.get("MEMBERPOS_STAFF_TOKEN_HOURS", "12")),
        refund_manager_minor=int(os.environ.get("MEMBERPOS_REFUND_MANAGER_MINOR", "50000")),
        require_services=os.environ.get("MEMBERPOS_REQUIRE_SERVICES", "") not in ("", "0"),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
