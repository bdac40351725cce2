"""The database engine, chosen from ``MEMBERPOS_DATABASE_URL``, and the transaction helper.

SQLite (the embedded default) and PostgreSQL (production) behave differently under
concurrent writers; ``transaction()`` hides that: on SQLite a write transaction takes the
write lock at BEGIN (IMMEDIATE), so two writers queue instead of failing with
"database is locked" half way through.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.querystring import QueryString

from memberpos.settings import Settings, get_settings


def build_engine(settings: Settings | None = None) -> Engine:
    settings = settings or get_settings()
    if settings.is_sqlite:
        path = settings.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        # A writer waits up to 30 s for the lock rather than failing at once.
        return SQLiteEngine(path=str(path), timeout=30)
    dsn = settings.database_url.replace("postgresql://", "postgres://", 1)
    return PostgresEngine(config={"dsn": dsn}, log_queries=False)


_engine: Engine | None = None


def get_engine() -> Engine:
    """The engine every table is bound to (Piccolo resolves it through ``piccolo_conf``, once
    per process, as each table does for itself: the lookup costs more than a statement)."""
    global _engine
    if _engine is None:
        from piccolo.engine.finder import engine_finder

        _engine = engine_finder()
        if _engine is None:  # pragma: no cover - piccolo_conf always defines DB
            raise RuntimeError("no Piccolo engine configured")
    return _engine


def is_sqlite(engine: Engine | None = None) -> bool:
    return isinstance(engine or get_engine(), SQLiteEngine)


def transaction() -> Any:
    """``async with transaction():`` — a write transaction on either engine.

    Nested use joins the outer transaction (Piccolo's ``allow_nested``), so a domain
    function that opens one can be called from a larger unit of work, such as a sale.
    """
    engine = get_engine()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def start_pool(max_size: int = 20) -> bool:
    """Open the PostgreSQL pool (True), or find it open already (False: not ours to close)."""
    engine = get_engine()
    if isinstance(engine, PostgresEngine):
        if engine.pool is not None:
            return False
        # reset: nothing of ours lives in a session (no advisory locks, LISTEN, SET or
        # cursors), so a connection goes back to the pool without asyncpg's reset query
        # (a round trip after every statement run outside a transaction). An open
        # transaction is still rolled back by the pool itself.
        await engine.start_connection_pool(min_size=2, max_size=max_size, reset=_keep_session)
        return True
    if isinstance(engine, SQLiteEngine):
        # WAL lets readers go on while one writer commits; the setting lives in the file.
        await engine.run_ddl("PRAGMA journal_mode=WAL")
    return False


async def _keep_session(connection: Any) -> None:
    return None


async def close_pool() -> None:
    engine = get_engine()
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()


def sqlite_file(engine: Engine | None = None) -> Path | None:
    engine = engine or get_engine()
    if isinstance(engine, SQLiteEngine):
        return Path(engine.path)
    return None


# ------------------------------------------------------------------------------ raw SQL
#
# The hot paths (a till's sale, its lookups) write their statements by hand: Piccolo's query
# builder costs several times the database's own work per statement (STACK-NOTES). These run
# in the current transaction when there is one, else on a pooled connection, on either
# engine. Placeholders are ``{}`` (Piccolo's QueryString); ``placeholders(n)`` writes a list
# for ``IN (...)``. On SQLite, columns come back converted by their declared types (dates,
# timestamps, booleans), JSON as text, as through Piccolo's own raw queries.


def placeholders(count: int) -> str:
    """``{}, {}, …`` for an ``IN (…)`` of ``count`` values."""
    return ", ".join(["{}"] * count)


def lock_clause() -> str:
    """`` FOR UPDATE`` on PostgreSQL; nothing on SQLite, whose IMMEDIATE transactions hold
    the single write lock already."""
    return "" if is_sqlite() else " FOR UPDATE"


@functools.lru_cache(maxsize=1024)
def _numbered(sql: str) -> str:
    """A ``{}`` template as PostgreSQL's ``$1, $2 …`` (``{{``/``}}`` are literal braces, as
    in Piccolo's QueryString), translated once per statement text."""
    parts: list[str] = []
    count = 0
    for literal, field, _, _ in string.Formatter().parse(sql):
        parts.append(literal)
        if field is not None:
            if field:
                raise ValueError(f"only bare {{}} placeholders, not {{{field}}}")
            count += 1
            parts.append(f"${count}")
    return "".join(parts)


async def fetch(sql: str, *args: Any) -> Sequence[Mapping[str, Any]]:
    """The rows of one hand-written statement (``{}`` placeholders). On PostgreSQL straight
    to asyncpg (the transaction's connection, else the pool's), on SQLite through Piccolo."""
    engine = get_engine()
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        current = engine.current_transaction.get()
        if current is not None:
            return await current.connection.fetch(_numbered(sql), *args)
        async with engine.pool.acquire() as connection:
            return await connection.fetch(_numbered(sql), *args)
    return await engine.run_querystring(QueryString(sql, *args))


async def fetchrow(sql: str, *args: Any) -> Mapping[str, Any] | None:
    rows = await fetch(sql, *args)
    return rows[0] if rows else None


async def fetchval(sql: str, *args: Any) -> Any:
    rows = await fetch(sql, *args)
    if not rows:
        return None
    return next(iter(rows[0].values()))


def json_text(value: Any) -> str:
    """A JSON column's value for a hand-written statement (text on both engines)."""
    return msgspec.json.encode(value).decode()


async def insert(
    table: str, rows: Sequence[Mapping[str, Any]], *, returning: str | None = None
) -> Sequence[Mapping[str, Any]]:
    """One multi-row ``INSERT`` of ``rows`` (dicts with the same keys, in the same order);
    JSON columns' values go through :func:`json_text` first. ``returning``: a column list."""
    if not rows:
        return []
    columns = list(rows[0])
    row_marks = "(" + placeholders(len(columns)) + ")"
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        + ", ".join([row_marks] * len(rows))
        + (f" RETURNING {returning}" if returning else "")
    )
    return await fetch(sql, *[row[column] for row in rows for column in columns])
