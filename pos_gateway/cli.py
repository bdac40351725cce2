"""``memberpos terminal``: one or many simulated tills against a running service.

    memberpos terminal --url http://127.0.0.1:8000 --keys var/demo-terminal-keys.json \\
        --terminals 4 --sales 200 [--offline --upload] [--seed 1]

Members and bearer coupons are taken from the local database when it is the service's own
(the demo), else the tills register members as they go. Prints sales/s, latency and the
errors by code; exits 1 when any operation failed for a reason other than a business refusal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

from pos_gateway.simulator import (
    KnownMember,
    Mix,
    RunConfig,
    TerminalSpec,
    demo_staff,
    run_terminals,
)

DEFAULT_KEYS = Path("var") / "demo-terminal-keys.json"


def load_terminal_keys(
    path: Path, count: int, stores: list[str] | None = None
) -> list[TerminalSpec]:
    """``count`` tills from a ``{"SH001/POS-01": "mpt_…"}`` file, round-robin over stores
    (more tills than keys share keys: each has its own transaction ids)."""
    keys: dict[str, str] = json.loads(path.read_text())
    labels = sorted(k for k in keys if not stores or k.split("/")[0] in stores)
    if not labels:
        raise SystemExit(f"no terminal keys in {path}" + (f" for {stores}" if stores else ""))
    specs = []
    for index in range(count):
        label = labels[index % len(labels)]
        suffix = f"#{index // len(labels)}" if index >= len(labels) else ""
        specs.append(
            TerminalSpec(
                key=keys[label], label=label + suffix, staff=demo_staff(label.split("/")[0])
            )
        )
    return specs


async def members_and_coupons(limit: int = 500) -> tuple[list[KnownMember], list[str]]:
    """Active cards (with the member's phone) and usable bearer coupons from the database
    the settings point at; nothing when it cannot be read (a remote service)."""
    from memberpos.db import close_pool, start_pool

    members: list[KnownMember] = []
    coupons: list[str] = []
    try:
        await start_pool(max_size=2)
    except Exception:  # no local database: the tills register their own members
        return members, coupons
    try:
        from members.tables import Card

        rows = await (
            Card.select(Card.number, Card.member.phone.as_alias("phone"))
            .where((Card.status == "active") & (Card.member.status == "active"))
            .order_by(Card.id)
            .limit(limit)
        )
        members = [KnownMember(r["number"], r["phone"]) for r in rows]
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
                    & (Coupon.batch.valid_from <= now)
                    & (Coupon.batch.valid_to > now)
                )
                .limit(200)
            )
            coupons = [r["code"] for r in found]
        except Exception:  # promotions not migrated here: no coupons
            coupons = []
    except Exception:
        members = []
    finally:
        await close_pool()
    return members, coupons


def _run(args: argparse.Namespace) -> int:
    keys_path = Path(args.keys)
    if not keys_path.exists():
        print(f"no terminal keys at {keys_path} (run `memberpos demo` first)", file=sys.stderr)
        return 2
    specs = load_terminal_keys(keys_path, args.terminals, args.store or None)
    members: list[KnownMember] = []
    coupons: list[str] = []
    if not args.no_db:
        members, coupons = asyncio.run(members_and_coupons())
    config = RunConfig(
        base_url=args.url,
        terminals=specs,
        sales=args.sales,
        seed=args.seed,
        offline=args.offline,
        upload=args.upload,
        members=members,
        coupons=coupons,
        queue_dir=args.queue_dir,
        mix=Mix(
            member_share=args.member_share,
            refund_rate=args.refund_rate,
            top_up_rate=args.top_up_rate,
            registration_rate=args.registration_rate,
        ),
    )
    mode = "offline" + (", then upload" if args.upload else "") if args.offline else "online"
    print(
        f"memberpos terminal: {len(specs)} till(s), {args.sales} sales, {mode}, seed {args.seed}, "
        f"{len(members)} known members, {len(coupons)} coupons → {args.url}",
        flush=True,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    stats = asyncio.run(run_terminals(config))
    print(stats.summary())
    unexpected = {
        code: n
        for code, n in stats.errors.items()
        if code in {"unreachable", "internal_error"} or code.startswith("http_5")
    }
    return 1 if unexpected else 0


def add_commands(subparsers: Any) -> None:
    command = subparsers.add_parser(
        "terminal",
        help="drive simulated POS terminals against a running service",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument("--url", default="http://127.0.0.1:8000")
    command.add_argument("--keys", default=str(DEFAULT_KEYS), help="JSON {label: key}")
    command.add_argument("--terminals", type=int, default=1)
    command.add_argument("--sales", type=int, default=50, help="sales in all")
    command.add_argument("--seed", type=int, default=1)
    command.add_argument("--store", action="append", help="only tills of this store (repeat)")
    command.add_argument("--offline", action="store_true", help="queue sales locally")
    command.add_argument("--upload", action="store_true", help="upload the queue at the end")
    command.add_argument("--queue-dir", default=None, help="where the tills' queue files go")
    command.add_argument("--member-share", type=float, default=0.6)
    command.add_argument("--refund-rate", type=float, default=0.03)
    command.add_argument("--top-up-rate", type=float, default=0.03)
    command.add_argument("--registration-rate", type=float, default=0.02)
    command.add_argument(
        "--no-db", action="store_true", help="do not read members/coupons from the database"
    )
    command.set_defaults(run=_run)
