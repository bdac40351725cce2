"""``memberpos tier-review``: the periodic tier review (nightly job) from the command line."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from typing import Any


def add_commands(commands: Any) -> None:
    review = commands.add_parser(
        "tier-review",
        help="move members to the tier their rolling 12-month spend earns; lapse ended holds",
    )
    review.add_argument(
        "--as-of", type=dt.date.fromisoformat, default=None, help="business date (YYYY-MM-DD)"
    )
    review.set_defaults(run=_run_review)


def _run_review(args: argparse.Namespace) -> int:
    from memberpos.cli import _with_database

    async def work() -> int:
        from members.tiers import review_tiers

        changes = await review_tiers(args.as_of)
        counts: dict[str, int] = {}
        for change in changes:
            counts[change.reason] = counts.get(change.reason, 0) + 1
        detail = ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items())) or "none"
        print(f"memberpos tier review: {len(changes)} change(s) ({detail})")
        return 0

    return asyncio.run(_with_database(work))
