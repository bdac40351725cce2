"""``memberpos verify``: every domain's invariants, in one run."""

from __future__ import annotations

from memberpos.domains import verify_checks


async def run_checks() -> list[str]:
    problems: list[str] = []
    for check in verify_checks():
        problems.extend(await check())
    return problems
