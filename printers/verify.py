"""Invariants of the print spool for ``memberpos verify`` (``printers.verify:check_print_jobs``).

A job is never lost or half-recorded: its status is one the spool knows, a printed job says
when, a copy points at a job that exists, the stored bytes are whole ESC/POS.
"""

from __future__ import annotations

from typing import get_args

from printers.escpos_render import EscposFormatError, iterate_commands
from printers.spool import JobKind, JobStatus, job_kind
from printers.tables import PrintJob

STATUSES = frozenset(get_args(JobStatus))
KINDS = frozenset(get_args(JobKind))


async def check_print_jobs() -> list[str]:
    problems: list[str] = []
    rows = await PrintJob.select(
        PrintJob.id,
        PrintJob.status,
        PrintJob.kind,
        PrintJob.document_kind,
        PrintJob.attempts,
        PrintJob.printed_at,
        PrintJob.reprint_of,
        PrintJob.data,
    ).order_by(PrintJob.id)
    ids = {row["id"] for row in rows}
    for row in rows:
        where = f"print job {row['id']}"
        if row["status"] not in STATUSES:
            problems.append(f"{where}: unknown status {row['status']!r}")
        if row["kind"] not in KINDS or row["kind"] != job_kind(row["document_kind"]):
            problems.append(f"{where}: kind {row['kind']!r} for a {row['document_kind']}")
        if row["attempts"] < 0:
            problems.append(f"{where}: negative attempt count")
        if (row["status"] == "printed") != (row["printed_at"] is not None):
            problems.append(f"{where}: {row['status']} with printed_at {row['printed_at']}")
        if row["status"] in ("printing", "printed") and row["attempts"] < 1:
            problems.append(f"{where}: {row['status']} without an attempt")
        if row["reprint_of"] is not None and row["reprint_of"] not in ids:
            problems.append(f"{where}: copy of missing job {row['reprint_of']}")
        try:
            for _ in iterate_commands(bytes(row["data"])):
                pass
        except EscposFormatError as error:
            problems.append(f"{where}: stored bytes are not whole ESC/POS ({error})")
    return problems
