"""The database engine, chosen from ``MEMBERPOS_DATABASE_URL``, and the transaction helper.

SQLite (the embedded default) and PostgreSQL (production) behave differently under
concurrent writers; ``transaction()`` hides that: on SQLite a write transaction takes the
write lock at BEGIN (IMMEDIATE), so two writers queue instead of failing with
"database is locked" half way through.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

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


def get_engine() -> Engine:
    """The engine every table is bound to (Piccolo resolves it through ``piccolo_conf``)."""
    from piccolo.engine.finder import engine_finder

    engine = engine_finder()
    if engine is None:  # pragma: no cover - piccolo_conf always defines DB
        raise RuntimeError("no Piccolo engine configured")
    return engine


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
        await engine.start_connection_pool(min_size=2, max_size=max_size)
        return True
    if isinstance(engine, SQLiteEngine):
        # WAL lets readers go on while one writer commits; the setting lives in the file.
        await engine.run_ddl("PRAGMA journal_mode=WAL")
    return False


async def close_pool() -> None:
    engine = get_engine()
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()


def sqlite_file(engine: Engine | None = None) -> Path | None:
    engine = engine or get_engine()
    if isinstance(engine, SQLiteEngine):
        return Path(engine.path)
    return None
