"""Document numbers: ``yymmdd`` (the store's business date) + the terminal id (4 digits or
more) + a 6-digit sequence of that terminal's day. All digits, so the receipt's barcode is
compact (CODE128 set C) and a cashier can type it; unique chain-wide without a central
counter, because each terminal counts its own documents (sales, refunds, top-ups)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from memberpos.db import fetchrow, fetchval, is_sqlite, placeholders

_INSERT = "INSERT INTO terminal_sequence (terminal, business_date, last_seq)"
_COUNT = (
    " ON CONFLICT (terminal, business_date)"
    " DO UPDATE SET last_seq = terminal_sequence.last_seq + 1 RETURNING last_seq"
)


@dataclass(frozen=True)
class RowLock:
    """A row the document will post to, locked in the numbering statement (after the members
    and the terminal's sequence row): ``SELECT columns FROM table WHERE key_column = key``."""

    table: str
    columns: tuple[str, ...]
    key_column: str
    key: int


async def next_number(
    terminal_id: int, business_date: dt.date, *, lock_members: tuple[int | None, ...] = ()
) -> str:
    """The next document number of the terminal's day; call it inside the document's own
    transaction, so a rolled-back document gives its number back.

    ``lock_members``: the members the document posts for, locked first, lowest id first, in
    the same statement: every sale and refund then takes a member's rows in one order
    (member, points, stored value, tier), so two tills serving one family never deadlock.
    SQLite's single writer needs no row locks."""
    number, _ = await next_number_locking(terminal_id, business_date, lock_members=lock_members)
    return number


async def next_number_locking(
    terminal_id: int,
    business_date: dt.date,
    *,
    lock_members: tuple[int | None, ...] = (),
    rows: Sequence[RowLock] = (),
) -> tuple[str, list[dict[str, Any] | None]]:
    """:func:`next_number`, and ``rows`` locked (``FOR UPDATE``) and read in the same
    statement, in their order, after the members and the sequence row: one round trip for
    what a sale would otherwise lock one account at a time. Each row comes back as a dict, or
    None where there is no such row, and always None on SQLite (no row locks: the caller reads
    and locks as it would have). Only with ``lock_members``: a row is taken after its member."""
    wanted = sorted({member_id for member_id in lock_members if member_id})
    if not wanted or is_sqlite():
        seq = await fetchval(_INSERT + " VALUES ({}, {}, 1)" + _COUNT, terminal_id, business_date)
        return _number(terminal_id, business_date, seq), [None] * len(rows)
    # The insert's one row comes from the lock's count, so the members are locked before the
    # terminal's sequence row; each row's lateral read names the one before it, so the rows
    # are locked after the sequence row and in their order.
    sql = (
        "WITH locked AS (SELECT count(*) AS n FROM (SELECT id FROM member"
        f" WHERE id IN ({placeholders(len(wanted))}) ORDER BY id FOR UPDATE) m),"
        " seq AS (" + _INSERT + " SELECT {}, {}, 1 FROM locked" + _COUNT + ") SELECT seq.last_seq"
    )
    joins = ""
    args: list[Any] = [*wanted, terminal_id, business_date]
    after = "seq.last_seq IS NOT NULL"  # a reference that orders the lateral reads
    for n, row in enumerate(rows):
        sql += "".join(f", r{n}.{column} AS r{n}_{column}" for column in row.columns)
        joins += (
            f" LEFT JOIN LATERAL (SELECT {', '.join(row.columns)} FROM {row.table}"
            f" WHERE {row.key_column} = {{}} AND {after} FOR UPDATE) r{n} ON true"
        )
        args.append(row.key)
        first = f"r{n}.{row.columns[0]}"
        after = f"({first} IS NULL OR {first} IS NOT NULL)"
    found = await fetchrow(sql + " FROM seq" + joins, *args)
    assert found is not None
    locked: list[dict[str, Any] | None] = []
    for n, row in enumerate(rows):
        values = {column: found[f"r{n}_{column}"] for column in row.columns}
        locked.append(None if values[row.columns[0]] is None else values)
    return _number(terminal_id, business_date, found["last_seq"]), locked


def _number(terminal_id: int, business_date: dt.date, seq: int) -> str:
    return f"{business_date:%y%m%d}{terminal_id:04d}{seq:06d}"
