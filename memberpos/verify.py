"""``memberpos verify``: every domain's invariants, in one run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable


def _checks() -> list[Callable[[], Awaitable[list[str]]]]:
    from loyalty.verify import check_points, check_stored_value
    from stores.verify import check_chain

    return [check_chain, check_points, check_stored_value]


async def run_checks() -> list[str]:
    problems: list[str] = []
    for check in _checks():
        problems.extend(await check())
    return problems
