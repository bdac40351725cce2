"""The kernel's hand-written SQL helpers (memberpos.db): deferred writes and literals, on
both engines (on SQLite a deferred write simply runs at once); the SQLite engine's reused
connections."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt

import pytest

from memberpos.db import (
    Expr,
    SQLiteConnections,
    defer_write,
    fetch,
    fetchval,
    get_engine,
    insert,
    is_sqlite,
    sql_literal,
    transaction,
    write_count,
)
from stores.tables import Region

pytestmark = pytest.mark.usefixtures("db")


def _pending() -> list[str]:
    current = get_engine().current_transaction.get()
    return list(getattr(current, "pending", []))


async def _region(code: str, name: str = "R") -> None:
    await defer_write("INSERT INTO region (code, name) VALUES ({}, {})", code, name)


async def test_deferred_writes_go_out_with_the_commit() -> None:
    async with transaction():
        await _region("N1", "north")
        await insert("region", [{"code": "N2", "name": "x"}], deferred=True)
        if not is_sqlite():
            assert len(_pending()) == 2  # nothing sent yet
    rows = await fetch("SELECT code FROM region ORDER BY code")
    assert [row["code"] for row in rows] == ["N1", "N2"]


async def test_a_read_of_a_table_with_pending_writes_sees_them() -> None:
    async with transaction():
        await _region("N1")
        # a statement on another table leaves the write pending …
        await fetch("SELECT count(*) AS n FROM store")
        if not is_sqlite():
            assert len(_pending()) == 1
        # … one that names the table sends it first
        assert await fetchval("SELECT count(*) FROM region") == 1
        assert _pending() == []
        await _region("N2")
        # a Piccolo query sends whatever is pending
        assert len(await Region.select()) == 2


async def test_a_failing_deferred_write_rolls_back_the_whole_transaction() -> None:
    await _region("N1")  # outside a transaction: at once
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        async with transaction():
            await insert("region", [{"code": "N2", "name": "kept?"}])
            await _region("N1")  # violates the unique code, found at the commit
    assert [row["code"] for row in await fetch("SELECT code FROM region")] == ["N1"]
    # the connection went back to the pool in a usable state
    async with transaction():
        await _region("N3")
    assert await fetchval("SELECT count(*) FROM region") == 2


async def test_an_error_in_the_transaction_drops_its_pending_writes() -> None:
    with pytest.raises(RuntimeError):
        async with transaction():
            await _region("N1")
            raise RuntimeError("refused")
    assert await fetchval("SELECT count(*) FROM region") == 0


async def test_values_survive_as_literals() -> None:
    tricky = "O'Brien \\ 王芳 \\x00-free; DROP TABLE region; --"
    async with transaction():
        await _region("Q1", tricky)
        await insert(
            "region",
            [{"code": Expr("{} || {}", ("Q", "2")), "name": "plain"}],
            deferred=True,
        )
    names = {r["code"]: r["name"] for r in await fetch("SELECT code, name FROM region")}
    assert names == {"Q1": tricky, "Q2": "plain"}


def test_literals() -> None:
    assert sql_literal(None) == "NULL"
    assert sql_literal(True) == "TRUE" and sql_literal(0) == "0"
    assert sql_literal("it's") == "E'it''s'"
    assert sql_literal("a\\b") == "E'a\\\\b'"
    assert sql_literal(b"\x01\xff") == "decode('01ff', 'hex')"
    assert sql_literal(dt.date(2026, 11, 23)) == "'2026-11-23'::date"
    at = dt.datetime(2026, 11, 23, 8, 30, tzinfo=dt.UTC)
    assert sql_literal(at) == "'2026-11-23T08:30:00+00:00'::timestamptz"
    with pytest.raises(ValueError):
        sql_literal("nul\x00")
    with pytest.raises(TypeError):
        sql_literal(1.5)


async def test_write_count_and_a_lazy_begin() -> None:
    async with transaction(lazy=True):
        current = get_engine().current_transaction.get()
        if not is_sqlite():
            assert current.begun is False  # nothing sent yet
        sql = "INSERT INTO region (code, name) VALUES ({}, {}) ON CONFLICT (code) DO NOTHING"
        assert await write_count(sql, "L1", "first") == 1
        assert await write_count(sql, "L1", "again") == 0
    assert await fetchval("SELECT name FROM region WHERE code = {}", "L1") == "first"


async def test_a_lazy_transaction_still_rolls_back_everything() -> None:
    with pytest.raises(RuntimeError):
        async with transaction(lazy=True):
            await Region.insert(Region(code="P1", name="piccolo"))  # BEGIN goes first
            await fetch("INSERT INTO region (code, name) VALUES ({}, {})", "P2", "raw")
            raise RuntimeError("refused")
    assert await fetchval("SELECT count(*) FROM region") == 0


# ------------------------------------------------------------- SQLite: reused connections


def _sqlite_connections() -> SQLiteConnections:
    if not is_sqlite():
        pytest.skip("SQLite's connections (PostgreSQL has asyncpg's pool)")
    connections = get_engine().connections  # type: ignore[attr-defined]
    assert isinstance(connections, SQLiteConnections)
    return connections


def _connection() -> object:
    return get_engine().current_transaction.get().connection  # type: ignore[attr-defined]


async def test_sqlite_reuses_a_connection_across_transactions_and_statements() -> None:
    pool = _sqlite_connections()
    await fetchval("SELECT 1")  # at least one connection open and idle
    opened = pool.opened
    used = []
    for number in range(3):
        async with transaction():
            used.append(_connection())
            await _region(f"U{number}")
        assert await fetchval("SELECT count(*) FROM region") == number + 1  # outside one
    assert used[0] is used[1] is used[2]
    assert pool.opened == opened  # nothing new was opened
    assert pool.in_use == 0 and used[0] in pool.idle
    assert await fetchval("PRAGMA foreign_keys") == 1  # set once, when it was opened


async def test_sqlite_a_second_writer_waits_its_turn_while_reads_go_on() -> None:
    pool = _sqlite_connections()
    engine = get_engine()
    first_in = asyncio.Event()
    second_in = asyncio.Event()

    async def second() -> None:
        await first_in.wait()
        async with transaction():  # queued behind the first, not in SQLite's busy handler
            second_in.set()
            await _region("C2")

    task = asyncio.create_task(second())
    async with transaction():
        first = _connection()
        await _region("C1")
        first_in.set()
        await asyncio.sleep(0.05)
        assert engine.writers().locked() and not second_in.is_set()  # type: ignore[attr-defined]
        assert pool.in_use == 1  # the waiting writer holds no connection
        # a read outside the transaction (a task of a fresh context) runs meanwhile, on a
        # connection of its own, and sees what was committed
        outside = asyncio.create_task(
            fetchval("SELECT count(*) FROM region"), context=contextvars.Context()
        )
        assert await asyncio.wait_for(outside, 30) == 0
    await asyncio.wait_for(task, 30)
    rows = await fetch("SELECT code FROM region ORDER BY code")
    assert [row["code"] for row in rows] == ["C1", "C2"]
    assert pool.in_use == 0 and first in pool.idle
    assert not any(c.in_transaction for c in pool.idle)


async def test_sqlite_writers_take_turns_in_arrival_order() -> None:
    _sqlite_connections()
    log: list[tuple[str, int]] = []

    async def writer(number: int) -> None:
        async with transaction():
            log.append(("in", number))
            await _region(f"Q{number}")
            await asyncio.sleep(0.01)  # a till's work inside its transaction
            log.append(("out", number))

    await asyncio.gather(*(writer(number) for number in range(6)))
    assert log == [(step, number) for number in range(6) for step in ("in", "out")]
    assert await fetchval("SELECT count(*) FROM region") == 6
    assert not get_engine().writers().locked()  # type: ignore[attr-defined]


async def test_sqlite_a_failed_begin_or_body_gives_the_turn_back() -> None:
    _sqlite_connections()
    with pytest.raises(RuntimeError):
        async with transaction():
            await _region("B1")
            raise RuntimeError("till went away")
    assert not get_engine().writers().locked()  # type: ignore[attr-defined]
    async with transaction():  # the next writer is not stuck
        await _region("B2")
    assert [row["code"] for row in await fetch("SELECT code FROM region")] == ["B2"]


async def test_sqlite_a_failed_transaction_leaves_no_open_transaction_in_the_pool() -> None:
    pool = _sqlite_connections()
    # an error inside: rolled back, and the connection serves the next transaction
    with pytest.raises(RuntimeError):
        async with transaction():
            rolled_back = _connection()
            await _region("F1")
            raise RuntimeError("refused")
    assert rolled_back in pool.idle and not rolled_back.in_transaction  # type: ignore[attr-defined]
    # a failed COMMIT (a foreign key checked at the commit) leaves SQLite's transaction open:
    # that connection is closed, not handed to the next caller with the write lock
    with pytest.raises(Exception, match="FOREIGN KEY"):
        async with transaction():
            failed = _connection()
            await fetch("PRAGMA defer_foreign_keys = ON")
            await fetch(
                "INSERT INTO store (code, name, region, time_zone) VALUES ({}, {}, {}, {})",
                "S404",
                "no such region",
                404,
                "Asia/Shanghai",
            )
    assert get_engine().current_transaction.get() is None
    assert failed not in pool.idle and pool.in_use == 0
    assert not any(c.in_transaction for c in pool.idle)
    async with transaction():  # the write lock is free
        await _region("F2")
    assert [row["code"] for row in await fetch("SELECT code FROM region")] == ["F2"]
    assert await fetchval("SELECT count(*) FROM store") == 0


async def test_sqlite_service_connections_sync_every_commit() -> None:
    _sqlite_connections()
    assert await fetchval("PRAGMA synchronous") == 2  # FULL
    async with transaction():
        assert await fetchval("PRAGMA synchronous") == 2
    assert str(await fetchval("PRAGMA journal_mode")).lower() == "wal"


async def test_sqlite_close_pool_closes_idle_connections_and_those_in_use_on_return() -> None:
    pool = _sqlite_connections()
    started = pool.started
    await fetchval("SELECT 1")
    async with transaction():
        in_use = _connection()
        await pool.close()  # as at the end of a lifespan
        assert pool.idle == []
        await _region("K1")  # the transaction goes on
    assert in_use not in pool.idle and pool.in_use == 0
    with pytest.raises(ValueError):
        in_use.in_transaction  # type: ignore[attr-defined] # noqa: B018 - closed
    assert await fetchval("SELECT code FROM region") == "K1"  # the pool opens again
    pool.started = started
