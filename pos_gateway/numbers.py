"""Document numbers: ``yymmdd`` (the store's business date) + the terminal id (4 digits or
more) + a 6-digit sequence of that terminal's day. All digits, so the receipt's barcode is
compact (CODE128 set C) and a cashier can type it; unique chain-wide without a central
counter, because each terminal counts its own documents (sales, refunds, top-ups)."""

from __future__ import annotations

import datetime as dt

from memberpos.db import fetchval

_NEXT = (
    "INSERT INTO terminal_sequence (terminal, business_date, last_seq) VALUES ({}, {}, 1) "
    "ON CONFLICT (terminal, business_date) "
    "DO UPDATE SET last_seq = terminal_sequence.last_seq + 1 RETURNING last_seq"
)


async def next_number(terminal_id: int, business_date: dt.date) -> str:
    """The next document number of the terminal's day; call it inside the document's own
    transaction, so a rolled-back document gives its number back."""
    seq = await fetchval(_NEXT, terminal_id, business_date)
    return f"{business_date:%y%m%d}{terminal_id:04d}{seq:06d}"
