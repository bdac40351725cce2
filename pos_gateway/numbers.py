"""Document numbers: ``yymmdd`` (the store's business date) + the terminal id (4 digits or
more) + a 6-digit sequence of that terminal's day. All digits, so the receipt's barcode is
compact (CODE128 set C) and a cashier can type it; unique chain-wide without a central
counter, because each terminal counts its own documents (sales, refunds, top-ups)."""

from __future__ import annotations

import datetime as dt

from memberpos.db import fetchval, is_sqlite, placeholders

_INSERT = "INSERT INTO terminal_sequence (terminal, business_date, last_seq)"
_COUNT = (
    " ON CONFLICT (terminal, business_date)"
    " DO UPDATE SET last_seq = terminal_sequence.last_seq + 1 RETURNING last_seq"
)


async def next_number(
    terminal_id: int, business_date: dt.date, *, lock_members: tuple[int | None, ...] = ()
) -> str:
    """The next document number of the terminal's day; call it inside the document's own
    transaction, so a rolled-back document gives its number back.

    ``lock_members``: the members the document posts for, locked first, lowest id first, in
    the same statement: every sale and refund then takes a member's rows in one order
    (member, points, stored value, tier), so two tills serving one family never deadlock.
    SQLite's single writer needs no row locks."""
    wanted = sorted({member_id for member_id in lock_members if member_id})
    if not wanted or is_sqlite():
        seq = await fetchval(_INSERT + " VALUES ({}, {}, 1)" + _COUNT, terminal_id, business_date)
    else:
        # The insert's one row comes from the lock's count, so the members are locked
        # before the terminal's sequence row.
        seq = await fetchval(
            "WITH locked AS (SELECT count(*) AS n FROM (SELECT id FROM member"
            f" WHERE id IN ({placeholders(len(wanted))}) ORDER BY id FOR UPDATE) m) "
            + _INSERT
            + " SELECT {}, {}, 1 FROM locked"
            + _COUNT,
            *wanted,
            terminal_id,
            business_date,
        )
    return f"{business_date:%y%m%d}{terminal_id:04d}{seq:06d}"
