"""What crosses HTTP about print jobs (msgspec Structs)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from printers.spool import PrintJob

EmployeeNo = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Pin = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class PrintJobOut(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    """``receipt``, ``slip`` or ``test``."""
    document_kind: str
    reference: str
    printer_name: str
    status: str
    """``queued``, ``printing``, ``printed`` or ``failed``."""
    attempts: int
    last_error: str | None
    last_error_reason: str | None
    """``offline``, ``timeout``, ``paper_out`` or ``error``: what to fix at the printer."""
    next_attempt_at: datetime
    created_at: datetime
    printed_at: datetime | None
    reprint_of: int | None
    terminal_id: int | None
    authorised_by: str


def job_out(job: PrintJob) -> PrintJobOut:
    return PrintJobOut(
        id=job.id,
        kind=job.kind,
        document_kind=job.document_kind,
        reference=job.reference,
        printer_name=job.printer_id,
        status=job.status,
        attempts=job.attempts,
        last_error=job.last_error,
        last_error_reason=job.last_error_reason,
        next_attempt_at=job.next_attempt_at,
        created_at=job.created_at,
        printed_at=job.printed_at,
        reprint_of=job.reprint_of,
        terminal_id=job.terminal_id,
        authorised_by=job.authorised_by,
    )


class PrintJobList(msgspec.Struct, kw_only=True):
    jobs: list[PrintJobOut]


class ReprintIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The manager approving the copy, typed at the till."""

    manager_employee_no: EmployeeNo | None = None
    manager_pin: Pin | None = None
