"""``memberpos commission …``: close a store's month and export statements as CSV, acting as
an HQ admin or store manager named by employee number (for month-end scripts)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any


def add_commands(commands: Any) -> None:
    parser = commands.add_parser("commission", help="salesperson commission: close, export")
    sub = parser.add_subparsers(dest="commission_command", required=True)
    close = sub.add_parser("close", help="close a store's month (it must have ended)")
    close.add_argument("store_code")
    close.add_argument("month", help="YYYY-MM")
    close.add_argument("--as", dest="employee_no", default="H0001", help="acting employee")
    close.set_defaults(run=_run_close)
    export = sub.add_parser("export", help="CSV of a store's month to stdout or a file")
    export.add_argument("store_code")
    export.add_argument("month", help="YYYY-MM")
    export.add_argument("--summary", action="store_true", help="one row per salesperson")
    export.add_argument("--employee-no", default=None, help="only this salesperson's lines")
    export.add_argument("--out", type=Path, default=None)
    export.add_argument("--as", dest="acting", default="H0001", help="acting employee")
    export.set_defaults(run=_run_export)


async def _actor(employee_no: str) -> Any:
    from stores.staff import actor_for
    from stores.tables import Staff

    row = await Staff.select(Staff.id).where(Staff.employee_no == employee_no).first()
    if row is None:
        raise SystemExit(f"no staff member {employee_no}")
    return await actor_for(row["id"])


def _run(work: Any) -> int:
    from memberpos.cli import _with_database
    from memberpos.errors import DomainError

    async def guarded() -> int:
        try:
            return int(await work())
        except DomainError as error:
            print(f"memberpos commission: {error.code}: {error.detail}", file=sys.stderr)
            return 1

    return asyncio.run(_with_database(guarded))


def _run_close(args: argparse.Namespace) -> int:
    async def work() -> int:
        from stores import commission_periods

        actor = await _actor(args.employee_no)
        month = commission_periods.parse_month(args.month)
        closed = await commission_periods.close_period(actor, args.store_code, month)
        print(
            f"memberpos commission: {closed['store_code']} {closed['month']} closed: "
            f"sales {closed['sales_minor']}, commission {closed['commission_minor']}, "
            f"pool {closed['pool_minor']} (paid out {closed['pool_paid_minor']}) minor units"
        )
        return 0

    return _run(work)


def _run_export(args: argparse.Namespace) -> int:
    async def work() -> int:
        from stores import commission_periods, commission_statements

        actor = await _actor(args.acting)
        text = await commission_statements.statement_csv(
            actor,
            args.store_code,
            commission_periods.parse_month(args.month),
            employee_no=args.employee_no,
            detail="summary" if args.summary else "lines",
        )
        if args.out is None:
            sys.stdout.write(text)
        else:
            args.out.write_text(text, encoding="utf-8-sig")
            print(f"memberpos commission: wrote {args.out}")
        return 0

    return _run(work)
