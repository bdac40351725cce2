"""``memberpos verify``: every domain's invariants, in one run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable


def _checks() -> list[Callable[[], Awaitable[list[str]]]]:
    from stores.verify import check_chain

    return [check_chain]


async def run_checks() -> list[str]:
    problems: list[str] = []
    for check in _checks():
        problems.extend(await check())
    return problems
