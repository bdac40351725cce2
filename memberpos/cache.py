"""The shared Redis client of the process (None on the embedded default), for the fast
paths that Redis only speeds up and never decides: idempotent replays, caches."""

from __future__ import annotations

from typing import Any

_client: Any = None


def get_redis() -> Any:
    return _client


def set_redis(client: Any) -> None:
    global _client
    _client = client
