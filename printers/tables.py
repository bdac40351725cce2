"""printers tables (Piccolo): the durable print spool.

Store and terminal ids are plain integers, not foreign keys: printers imports no domain
tables (DESIGN.md), and a job outlives whatever it printed for.
"""

from __future__ import annotations

from piccolo.columns import Bytea, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class PrintJob(Table):
    """One document on its way to one printer: stored before it is sent, kept afterwards."""

    store_id = Integer(null=True, default=None)
    terminal_id = Integer(null=True, default=None)
    printer_name = Varchar(length=200)
    """The queue: jobs of one printer print in the order they were stored."""
    transport_spec = Varchar(length=500, default="")
    """``serial:/dev/ttyUSB0,9600``, ``tcp:HOST:PORT``, ``file:PATH``, ``preview:``: enough
    for a spool started later (after a restart) to reach the printer."""
    profile = Varchar(length=50, default="")
    columns = Integer(default=48)
    kind = Varchar(length=20)
    """``receipt``, ``slip`` or ``test``."""
    document_kind = Varchar(length=20)
    """``receipt``, ``top_up``, ``card_issue``, ``refund``, ``end_of_day``, ``test_page`` …"""
    reference = Varchar(length=100, default="")
    """What it prints: the sale number, top-up number …"""
    data = Bytea()
    """The ESC/POS bytes exactly as they go to the printer."""
    preview_text = Text(default="")
    document = Text(default="")
    """The document as JSON (msgspec, tagged), to draw previews and re-render copies."""
    status = Varchar(length=20, default="queued")
    """``queued``, ``printing``, ``printed`` or ``failed`` (the spool gave up)."""
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz()
    last_error = Text(null=True, default=None)
    last_error_reason = Varchar(length=20, null=True, default=None)
    """``offline``, ``timeout``, ``paper_out``, ``error``: what the cashier has to fix."""
    created_at = Timestamptz()
    updated_at = Timestamptz()
    printed_at = Timestamptz(null=True, default=None)
    reprint_of = Integer(null=True, default=None)
    """The job this one is a copy of."""
    authorised_by = Varchar(length=40, default="")
    """Employee number of the manager who approved a reprint."""
