"""``memberpos`` command line: serve, migrate, demo, verify (later issues add more)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

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
# through the POS API). On SQLite, three costs of the plumbing, not of the work, made that
# take ~4 minutes, measured on a 2-core machine: Piccolo's SQLite engine opens a new
# connection (a thread, the schema read again, a cold page cache) for every transaction and
# every statement outside one; inside a transaction each statement is four thread hand-offs
# (a ``PRAGMA foreign_keys`` first, execute, fetch, close); and every commit waits for an
# fsync of the WAL. For the demo's run only, ``demo_bulk_load`` keeps a few connections open
# and reuses them, runs each statement in one hand-off, and commits with
# ``synchronous=NORMAL``. The statements and transactions are the same (BEGIN IMMEDIATE for
# writes, the same SQL); only how they reach the file changes.
#
# Why NORMAL is safe here: only in WAL mode (checked; otherwise FULL stays), where NORMAL
# never corrupts the file and loses nothing when a process crashes; a power cut during the
# run could lose the last demo commits, each whole (a transaction is never half there).
# The setting is per connection: the service's own connections, a server running meanwhile
# included, keep SQLite's FULL, and one of their commits syncs the WAL with every frame
# before it. At the end a checkpoint syncs the WAL and the database file (under NORMAL SQLite
# syncs at each checkpoint), so the demo is on disk before ``memberpos serve`` starts, and
# the engine is given back as it was. (Reused connections and one hand-off a statement would
# serve the service as well, with FULL kept: that belongs in memberpos.db's engine.)


class _PooledConnection:
    """A pooled connection as Piccolo's transactions use one: ``close()`` hands it back."""

    __slots__ = ("_connection", "_pool")

    def __init__(self, connection: Any, pool: _DemoConnections) -> None:
        object.__setattr__(self, "_connection", connection)
        object.__setattr__(self, "_pool", pool)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def __setattr__(self, name: str, value: Any) -> None:  # Piccolo sets row_factory
        setattr(self._connection, name, value)

    async def close(self) -> None:
        await self._pool.give_back(self._connection)


class _DemoConnections:
    """The open connections of one bulk load; as many as were ever needed at once."""

    def __init__(self, engine: Any, synchronous: str) -> None:
        self.engine = engine
        self.synchronous = synchronous
        self.idle: list[Any] = []
        self.opened: list[Any] = []

    async def take(self) -> _PooledConnection:
        if self.idle:
            return _PooledConnection(self.idle.pop(), self)
        import aiosqlite
        from piccolo.engine.sqlite import dict_factory

        connection = await aiosqlite.connect(**self.engine.connection_kwargs)
        connection.row_factory = dict_factory
        # Set once for the connection's life: Piccolo sends foreign_keys before every
        # statement (a no-op inside a transaction), synchronous is this run's choice.
        await connection.execute("PRAGMA foreign_keys = 1")
        await connection.execute(f"PRAGMA synchronous = {self.synchronous}")
        self.opened.append(connection)
        return _PooledConnection(connection, self)

    async def give_back(self, connection: Any) -> None:
        if connection in self.opened and not connection.in_transaction:
            self.idle.append(connection)
            return
        # still in a transaction (a failed COMMIT) or the run is over: not reused
        if connection in self.opened:
            self.opened.remove(connection)
        await connection.close()

    async def close(self) -> None:
        """Close every connection; the last one first checkpoints the WAL (and so syncs
        the WAL and the database file) into the database."""
        opened, self.opened, self.idle = self.opened, [], []
        for connection in opened[1:]:
            await connection.close()
        if opened:
            try:
                await opened[0].execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                await opened[0].close()


_demo_connections: _DemoConnections | None = None


def _demo_engine_class(base: type) -> type:
    class DemoBulkLoadEngine(base):  # type: ignore[valid-type,misc]
        """The engine's own class with the demo's connections (see ``demo_bulk_load``)."""

        __slots__ = ()

        async def get_connection(self) -> Any:  # a transaction's connection
            assert _demo_connections is not None
            return await _demo_connections.take()

        async def _run_in_new_connection(
            self,
            query: str,
            args: list[Any] | None = None,
            query_type: str = "generic",
            table: Any = None,
        ) -> Any:
            assert _demo_connections is not None
            connection = await _demo_connections.take()
            try:
                return await self._run_in_existing_connection(
                    connection, query, args, query_type, table
                )
            finally:
                await connection.close()

        async def _run_in_existing_connection(
            self,
            connection: Any,
            query: str,
            args: list[Any] | None = None,
            query_type: str = "generic",
            table: Any = None,
        ) -> Any:
            if query_type == "insert" and self.get_version_sync() < 3.35:  # no RETURNING
                return await super()._run_in_existing_connection(
                    connection, query, args, query_type, table
                )
            return list(await connection.execute_fetchall(query, args or []))

    return DemoBulkLoadEngine


@contextlib.asynccontextmanager
async def demo_bulk_load() -> AsyncIterator[None]:
    """For the ``with`` block: on SQLite, reused connections, one hand-off a statement and
    (in WAL mode) ``synchronous=NORMAL``, then a checkpoint and the engine as it was. On
    PostgreSQL nothing changes (a pool already, and the demo's writes are few round trips).
    """
    global _demo_connections
    from piccolo.engine.sqlite import SQLiteEngine

    from memberpos.db import get_engine

    engine = get_engine()
    if not isinstance(engine, SQLiteEngine) or _demo_connections is not None:
        yield
        return
    rows = await engine.run_ddl("PRAGMA journal_mode")
    wal = bool(rows) and str(next(iter(rows[0].values()))).lower() == "wal"
    original = type(engine)
    _demo_connections = _DemoConnections(engine, "NORMAL" if wal else "FULL")
    engine.__class__ = _demo_engine_class(original)
    try:
        yield
    finally:
        engine.__class__ = original
        connections, _demo_connections = _demo_connections, None
        await connections.close()


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
