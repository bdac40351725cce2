"""``memberpos demo``'s bulk load (memberpos.cli.demo_bulk_load): on SQLite the run reuses the
engine's connections and commits with synchronous=NORMAL in WAL mode, rolls back as before,
and leaves the connections at FULL again, file checkpointed; on PostgreSQL it changes
nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from memberpos import cli
from memberpos.db import SQLiteConnections, fetch, fetchval, get_engine, is_sqlite, transaction
from stores.tables import Region

pytestmark = pytest.mark.usefixtures("db")


def _connections() -> SQLiteConnections:
    if not is_sqlite():
        pytest.skip("the bulk load changes SQLite's plumbing only")
    connections = get_engine().connections  # type: ignore[attr-defined]
    assert isinstance(connections, SQLiteConnections)
    return connections


def _connection() -> object:
    return get_engine().current_transaction.get().connection  # type: ignore[attr-defined]


async def test_the_bulk_load_reuses_its_connections_then_syncs_every_commit_again() -> None:
    pool = _connections()
    engine = get_engine()
    used = []
    opened = pool.opened
    async with cli.demo_bulk_load():
        assert pool.synchronous == "NORMAL"
        for number in range(5):
            async with transaction():
                used.append(_connection())
                await fetch(
                    "INSERT INTO region (code, name) VALUES ({}, {})", f"BL{number}", "bulk"
                )
                assert await fetchval("PRAGMA synchronous") == 1  # NORMAL, in WAL mode
            assert await Region.count().where(Region.name == "bulk") == number + 1
        assert len(set(map(id, used))) == 1  # one connection did all of it, one after the other
        assert pool.opened == opened  # and it was open before: nothing new
        assert await fetchval("PRAGMA synchronous") == 1
        assert await fetchval("PRAGMA foreign_keys") == 1
    assert pool.synchronous == "FULL"
    # The service's connections are SQLite's default again: FULL, every commit synced.
    assert await fetchval("PRAGMA synchronous") == 2
    async with transaction():
        assert _connection() is used[0]  # still the same connection, set back to FULL
        assert await fetchval("PRAGMA synchronous") == 2
    assert await Region.count().where(Region.name == "bulk") == 5
    wal = Path(f"{engine.path}-wal")  # type: ignore[attr-defined]
    # checkpointed into the database (the file is gone or empty)
    assert not wal.exists() or wal.stat().st_size == 0  # noqa: ASYNC240 - a test, one stat


async def test_a_failed_transaction_in_the_bulk_load_leaves_nothing_and_no_open_transaction() -> (
    None
):
    pool = _connections()
    async with cli.demo_bulk_load():
        with pytest.raises(RuntimeError):
            async with transaction():
                failed = _connection()
                await fetch("INSERT INTO region (code, name) VALUES ({}, {})", "BLX", "gone")
                raise RuntimeError("the sale failed half way")
        assert await Region.count().where(Region.code == "BLX") == 0
        assert pool.idle and not any(c.in_transaction for c in pool.idle)
        async with transaction():  # the rolled-back connection serves the next one
            assert _connection() is failed
            await fetch("INSERT INTO region (code, name) VALUES ({}, {})", "BLY", "kept")
    assert await Region.count().where(Region.code == "BLY") == 1


async def test_the_bulk_load_changes_nothing_on_postgresql() -> None:
    if is_sqlite():
        pytest.skip("PostgreSQL's half")
    engine = get_engine()
    engine_class = type(engine)
    async with cli.demo_bulk_load():
        assert type(engine) is engine_class
        async with transaction():
            await fetch("INSERT INTO region (code, name) VALUES ({}, {})", "PG1", "pg")
    assert await Region.count().where(Region.code == "PG1") == 1
