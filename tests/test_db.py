"""The kernel's hand-written SQL helpers (memberpos.db): deferred writes and literals, on
both engines (on SQLite a deferred write simply runs at once)."""

from __future__ import annotations

import datetime as dt

import pytest

from memberpos.db import (
    Expr,
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
