"""Expiring counters for rate limits (sign-in attempts): Redis when configured, else memory.

Only rate limits and other advisory figures live here; nothing a balance depends on.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Counter(Protocol):
    async def hit(self, key: str, window_seconds: int) -> int:
        """Add one to ``key`` and return the count within the current window."""

    async def count(self, key: str) -> int: ...

    async def reset(self, key: str) -> None: ...


class MemoryCounter:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = asyncio.Lock()

    async def hit(self, key: str, window_seconds: int) -> int:
        async with self._lock:
            now = time.monotonic()
            count, expires = self._counts.get(key, (0, now + window_seconds))
            if expires <= now:
                count, expires = 0, now + window_seconds
            self._counts[key] = (count + 1, expires)
            return count + 1

    async def count(self, key: str) -> int:
        count, expires = self._counts.get(key, (0, 0.0))
        return count if expires > time.monotonic() else 0

    async def reset(self, key: str) -> None:
        self._counts.pop(key, None)


class RedisCounter:
    def __init__(self, client: object, namespace: str = "memberpos:count") -> None:
        self._client = client
        self._namespace = namespace

    async def hit(self, key: str, window_seconds: int) -> int:
        name = f"{self._namespace}:{key}"
        pipe = self._client.pipeline(transaction=True)  # type: ignore[attr-defined]
        pipe.incr(name)
        pipe.expire(name, window_seconds, nx=True)
        count, _ = await pipe.execute()
        return int(count)

    async def count(self, key: str) -> int:
        value = await self._client.get(f"{self._namespace}:{key}")  # type: ignore[attr-defined]
        return int(value or 0)

    async def reset(self, key: str) -> None:
        await self._client.delete(f"{self._namespace}:{key}")  # type: ignore[attr-defined]


_counter: Counter = MemoryCounter()


def get_counter() -> Counter:
    return _counter


def set_counter(counter: Counter) -> None:
    global _counter
    _counter = counter
