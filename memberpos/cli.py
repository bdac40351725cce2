"""``memberpos`` command line: serve, migrate, demo, verify (later issues add more)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import memberpos
from memberpos.settings import get_settings

DEMO_KEYS_FILE = Path("var") / "demo-terminal-keys.json"


async def run_migrations(quiet: bool = False) -> None:
    """Bring the database from wherever it is to head, every domain app in order."""
    import contextlib
    import io

    from piccolo.apps.migrations.commands.forwards import run_forwards

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer if quiet else sys.stdout):
        result = await run_forwards("all")
    if not result.success:
        raise SystemExit(f"migration failed: {result.message}")


async def _with_database(work: Callable[[], Awaitable[int]]) -> int:
    from memberpos.db import close_pool, start_pool

    await start_pool()
    try:
        return await work()
    finally:
        await close_pool()


async def _migrate() -> int:
    await run_migrations(quiet=True)
    print(f"memberpos: database at head ({_database_label()})")
    return 0


async def _demo() -> int:
    async with demo_bulk_load():
        return await _demo_steps()


async def _demo_steps() -> int:
    from stores.demo import DEMO_PASSWORD, HQ_ADMIN, create_demo_chain, save_terminal_keys

    summary = await create_demo_chain()
    if summary.new_terminal_keys:
        save_terminal_keys(summary.new_terminal_keys, DEMO_KEYS_FILE)
    print(
        f"memberpos demo chain ready ({_database_label()}): {summary.regions} regions, "
        f"{summary.stores} stores, {summary.terminals} terminals, {summary.staff} staff, "
        f"{summary.categories} categories, {summary.brands} brands, "
        f"{summary.products} products"
    )
    if summary.new_terminal_keys:
        print(f"  new terminal API keys written to {DEMO_KEYS_FILE} (shown once)")
    from memberpos.domains import demo_steps

    for step in demo_steps():
        print(f"  {await step()}")
    print(
        f"  demo sign-in: employee {HQ_ADMIN[0]} / password {DEMO_PASSWORD} (hq_admin); "
        f"store managers E1001, E1006, … same password, PIN 2468"
    )
    return 0


# ------------------------------------------------------------ the demo's bulk load (SQLite)
#
# ``memberpos demo`` books thousands of transactions (the chain, then 90 days of till traffic
# through the POS API). On SQLite the engine already reuses its connections and runs a
# statement in one thread hand-off (memberpos.db._SQLiteEngine); what is left is an fsync of
# the WAL at every commit. For the demo's run only, ``demo_bulk_load`` commits with
# ``synchronous=NORMAL``. The statements and transactions are the same; only when the WAL
# reaches the disk changes.
#
# Why NORMAL is safe here: only in WAL mode (checked; otherwise FULL stays), where NORMAL
# never corrupts the file and loses nothing when a process crashes; a power cut during the
# run could lose the last demo commits, each whole (a transaction is never half there).
# The setting is per connection: another process's connections, a server running meanwhile
# included, keep SQLite's FULL, and one of their commits syncs the WAL with every frame
# before it. At the end the pool is back at FULL (each connection set again before its next
# use) and a checkpoint syncs the WAL and the database file (under NORMAL SQLite syncs at
# each checkpoint), so the demo is on disk before ``memberpos serve`` starts.


@contextlib.asynccontextmanager
async def demo_bulk_load() -> AsyncIterator[None]:
    """For the ``with`` block: on SQLite in WAL mode, commits with ``synchronous=NORMAL``,
    then FULL again and a checkpoint. On PostgreSQL nothing changes (a pool already, and the
    demo's writes are few round trips)."""
    from memberpos.db import SQLiteConnections, get_engine

    connections: SQLiteConnections | None = getattr(get_engine(), "connections", None)
    if not isinstance(connections, SQLiteConnections) or connections.synchronous != "FULL":
        yield  # PostgreSQL, or inside another bulk load
        return
    engine = get_engine()
    rows = await engine.run_ddl("PRAGMA journal_mode")
    wal = bool(rows) and str(next(iter(rows[0].values()))).lower() == "wal"
    if wal:
        connections.synchronous = "NORMAL"
    try:
        yield
    finally:
        connections.synchronous = "FULL"
        if wal:
            await engine.run_ddl("PRAGMA wal_checkpoint(TRUNCATE)")


async def _verify() -> int:
    from memberpos.verify import run_checks

    problems = await run_checks()
    for problem in problems:
        print(f"FAIL {problem}")
    print(f"memberpos verify: {len(problems)} problem(s)")
    return 1 if problems else 0


def _database_label() -> str:
    settings = get_settings()
    if settings.is_sqlite:
        return f"SQLite {settings.sqlite_path}"
    return "PostgreSQL " + settings.database_url.split("@")[-1]


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    base = f"http://{args.host}:{args.port}"
    print(
        f"memberpos {memberpos.__version__} on {_database_label()}"
        f"{' + Redis' if get_settings().redis_url else ''}\n"
        f"  API docs:  {base}/schema  (OpenAPI: {base}/schema/openapi.json)\n"
        f"  Admin:     {base}/admin/  (HQ admins: employee number + password)\n"
        f"  Health:    {base}/health\n"
        f"  Demo sign-in: POST {base}/api/v1/hq/auth/sign-in "
        '{"employee_no": "H0001", "password": "memberpos-demo"}',
        flush=True,
    )
    uvicorn.run(
        "memberpos.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=False,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memberpos", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")
    commands.add_parser("migrate", help="bring the database to the latest schema")
    commands.add_parser("demo", help="create (idempotently) the demo chain")
    commands.add_parser("verify", help="check data invariants; exit 1 on any violation")
    from memberpos.domains import cli_modules

    for module in cli_modules():
        module.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if hasattr(args, "run"):
        return int(args.run(args))
    work = {"migrate": _migrate, "demo": _demo, "verify": _verify}[args.command]
    return asyncio.run(_with_database(work))


if __name__ == "__main__":
    raise SystemExit(main())
