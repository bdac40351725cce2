"""Ninety days of history for the demo chain, booked the way real tills book it.

The app runs in-process and the simulated tills of every demo store drive it through the
terminal client, with their clocks spread over the last 90 days of opening hours: quotes,
sales paid in cash, by card, with stored value and points, coupons, refunds, top-ups and
registrations, each priced with the rules valid at its own time. Transaction ids come from
a fixed seed, so the history is recognised on a second ``memberpos demo`` and nothing is
added twice.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEMO_SALES = int(os.environ.get("MEMBERPOS_DEMO_SALES", "2000"))
DEMO_DAYS = 90
DEMO_SEED = 90
OPENING_HOUR, CLOSING_HOUR = 9, 21
KEYS_FILE = Path("var") / "demo-terminal-keys.json"


def spread_clock(
    expected_ops: int, *, days: int = DEMO_DAYS, now: dt.datetime | None = None
) -> Callable[[int, int], dt.datetime]:
    """(terminal index, operation number) → the till's local wall-clock time: operation k of
    a till falls k/expected of the way through the last ``days`` days, inside opening
    hours, so each till's history runs forward in time (a refund after its sale)."""
    today = (now or dt.datetime.now()).date()
    first_day = today - dt.timedelta(days=days)
    open_minutes = (CLOSING_HOUR - OPENING_HOUR) * 60

    def clock(terminal: int, op: int) -> dt.datetime:
        progress = min(max(op, 1) / max(expected_ops, 1), 1.0) * days
        day = int(progress)
        if day >= days:  # never today: the history ends yesterday evening
            day, fraction = days - 1, 0.999
        else:
            fraction = progress - day
        # Tills of one store are a few minutes apart, not in lock step.
        minute = int(fraction * open_minutes) + (terminal * 7) % 11
        stamp = dt.datetime.combine(first_day + dt.timedelta(days=day), dt.time(OPENING_HOUR))
        return stamp + dt.timedelta(minutes=min(minute, open_minutes - 1), seconds=op % 60)

    return clock


async def _known_members() -> tuple[list[Any], list[str]]:
    """The demo members (those not registered by a till) and bearer coupons of the chain."""
    from members.tables import Card
    from pos_gateway.simulator import KnownMember

    rows = await (
        Card.select(Card.number, Card.member.phone.as_alias("phone"))
        .where(
            (Card.status == "active")
            & (Card.member.status == "active")
            & Card.member.registered_by_terminal.is_null()
        )
        .order_by(Card.id)
        .limit(400)
    )
    members = [KnownMember(r["number"], r["phone"]) for r in rows]
    coupons: list[str] = []
    try:
        from memberpos.clock import utc_now
        from promotions.tables import Coupon

        now = utc_now()
        found = await (
            Coupon.select(Coupon.code)
            .where(
                Coupon.member.is_null()
                & (Coupon.uses < Coupon.max_uses)
                & (Coupon.batch.status == "active")
                & (Coupon.batch.valid_from <= now - dt.timedelta(days=DEMO_DAYS))
                & (Coupon.batch.valid_to > now)
            )
            .order_by(Coupon.id)
            .limit(100)
        )
        coupons = [r["code"] for r in found]
    except Exception:  # promotions' tables not there: no coupons in the history
        coupons = []
    return members, coupons


async def _existing_history() -> int:
    from pos_gateway.tables import Sale

    return await Sale.count().where(Sale.client_txn_id.like(f"s{DEMO_SEED}t%"))


async def create_demo_history(sales: int | None = None) -> str:
    """Gives the demo chain ``sales`` sales (default 2,000, ``MEMBERPOS_DEMO_SALES``) over
    the last 90 days through the POS API; a second run finds them and adds nothing."""
    import httpx

    from memberpos.app import create_app
    from pos_gateway.simulator import Mix, RunConfig, TerminalSpec, demo_staff, run_terminals

    target = DEMO_SALES if sales is None else sales
    existing = await _existing_history()
    if existing:
        return f"sales history: {existing} demo sales already there, none added"
    if not KEYS_FILE.exists():
        return f"sales history: skipped, no terminal keys in {KEYS_FILE}"
    keys: dict[str, str] = json.loads(KEYS_FILE.read_text())
    specs = [
        TerminalSpec(key=keys[label], label=label, staff=demo_staff(label.split("/")[0]))
        for label in sorted(keys)
    ]
    members, coupons = await _known_members()
    mix = Mix(
        refund_rate=0.03,
        top_up_rate=0.04,
        registration_rate=0.02 if len(members) >= 50 else 0.08,
        coupon_share=0.05,
    )
    other = mix.refund_rate + mix.top_up_rate + mix.registration_rate
    per_till_ops = int(target / len(specs) / (1 - other)) + 1
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    app = create_app()
    started = time.perf_counter()
    async with app.lifespan():
        config = RunConfig(
            base_url="http://memberpos.demo",
            terminals=specs,
            sales=target,
            seed=DEMO_SEED,
            mix=mix,
            members=members,
            coupons=coupons,
            queue_dir=tempfile.mkdtemp(prefix="memberpos-demo-tills-"),
            deterministic_ids=True,
            clock=spread_clock(per_till_ops),
            transport=httpx.ASGITransport(app=app),
            timeout=60.0,
            take_turns=True,
        )
        stats = await run_terminals(config)
    elapsed = time.perf_counter() - started
    errors = ", ".join(f"{code} {n}" for code, n in stats.errors.most_common(4))
    return (
        f"sales history: {stats.sales} sales over {DEMO_DAYS} days at {len(specs)} tills "
        f"({stats.refunds} refunds, {stats.top_ups} top-ups, {stats.registrations} "
        f"registrations) in {elapsed:.0f} s"
        + (f"; refusals (paid otherwise or skipped): {errors}" if errors else "")
    )
