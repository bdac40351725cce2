"""``memberpos jobs …``: the nightly jobs. Each is idempotent (a second run changes nothing)
and prints one line of what it did.

    memberpos jobs expiry [--as-of DATE]   points expiry per store zone + expiry warnings
    memberpos jobs tier-review [--as-of DATE]
    memberpos jobs packages-expiry
    memberpos jobs all [--as-of DATE]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from memberpos.clock import utc_now


def _instant(as_of: dt.date | None) -> dt.datetime:
    """The job's "now": the real one, or midday UTC of ``--as-of`` (every zone of the chain is
    then on that business date or the next, and ``as_of`` itself decides expiry)."""
    if as_of is None:
        return utc_now()
    return dt.datetime.combine(as_of, dt.time(12), tzinfo=dt.UTC)


async def run_expiry(as_of: dt.date | None) -> str:
    from loyalty import jobs

    at = _instant(as_of)
    expired = await jobs.expire_points(at=at, as_of=as_of)
    warned = await jobs.warn_expiring(at=at, as_of=as_of)
    return f"points expiry: {expired} points expired, {warned} expiry warning(s) queued"


async def run_tier_review(as_of: dt.date | None) -> str:
    from loyalty import jobs

    changes = await jobs.review_tiers(as_of)
    return f"tier review: {len(changes)} member(s) changed tier"


async def run_packages_expiry(as_of: dt.date | None) -> str:
    from loyalty import jobs

    expired = await jobs.expire_packages(at=_instant(as_of) if as_of else None)
    return f"packages expiry: {expired} package(s) expired"


JOBS: dict[str, Callable[[dt.date | None], Awaitable[str]]] = {
    "expiry": run_expiry,
    "tier-review": run_tier_review,
    "packages-expiry": run_packages_expiry,
}


async def run_jobs(names: list[str], as_of: dt.date | None) -> int:
    from memberpos.db import close_pool, start_pool

    opened = await start_pool()
    try:
        for name in names:
            print(f"memberpos jobs {await JOBS[name](as_of)}", flush=True)
    finally:
        if opened:
            await close_pool()
    return 0


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"--as-of: {value!r} is not a date (YYYY-MM-DD)"
        ) from error


def _runner(names: list[str]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return asyncio.run(run_jobs(names, getattr(args, "as_of", None)))

    return run


def add_commands(subparsers: Any) -> None:
    jobs = subparsers.add_parser("jobs", help="run the nightly jobs (idempotent)")
    which = jobs.add_subparsers(dest="job", required=True)
    for name, help_text in (
        ("expiry", "expire points per store time zone; queue expiry warnings"),
        ("tier-review", "move members to the tier their rolling spend qualifies for"),
        ("packages-expiry", "expire service packages past their last day"),
    ):
        parser = which.add_parser(name, help=help_text)
        parser.add_argument("--as-of", type=_date, default=None, help="business date (YYYY-MM-DD)")
        parser.set_defaults(run=_runner([name]))
    every = which.add_parser("all", help="every job, in order")
    every.add_argument("--as-of", type=_date, default=None, help="business date (YYYY-MM-DD)")
    every.set_defaults(run=_runner(list(JOBS)))
