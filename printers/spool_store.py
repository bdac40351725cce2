"""The print spool kept in the database (``print_job``), on SQLite and PostgreSQL alike.

A job is written before its bytes go anywhere, so a printer that fails, or a process that
dies, loses nothing: a spool started later finds the job queued and prints it. A job is
taken for an attempt by one conditional UPDATE (``… WHERE id = ? AND status = 'queued'
AND attempts = ?``), which only one of two racing workers can win.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import msgspec

from printers.spool import ACTIVE_STATUSES, JobStatus, PrintJob, job_kind
from printers.tables import PrintJob as PrintJobRow

# A lost claim race means another worker took the head of the queue; looking again once
# or twice finds it printing (nothing to do) or the next job due.
CLAIM_ROUNDS = 3

_COLUMNS = tuple(PrintJobRow._meta.columns)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite may hand back naive UTC
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def job_from_row(row: dict[str, Any]) -> PrintJob:
    return PrintJob(
        id=row["id"],
        printer_id=row["printer_name"],
        document_kind=row["document_kind"],
        data=bytes(row["data"]),
        created_at=_utc(row["created_at"]),  # type: ignore[arg-type]
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=_utc(row["next_attempt_at"]),  # type: ignore[arg-type]
        last_error=row["last_error"],
        last_error_reason=row["last_error_reason"],
        printed_at=_utc(row["printed_at"]),
        reprint_of=row["reprint_of"],
        transport_spec=row["transport_spec"],
        profile=row["profile"],
        columns=row["columns"],
        reference=row["reference"],
        preview_text=row["preview_text"],
        document=row["document"],
        store_id=row["store_id"],
        terminal_id=row["terminal_id"],
        updated_at=_utc(row["updated_at"]),
        authorised_by=row["authorised_by"],
    )


def _changeable_values(job: PrintJob) -> dict[Any, Any]:
    """What an attempt, a retry or a requeue may change on a stored job."""
    return {
        PrintJobRow.status: job.status,
        PrintJobRow.attempts: job.attempts,
        PrintJobRow.next_attempt_at: _utc(job.next_attempt_at),
        PrintJobRow.last_error: job.last_error,
        PrintJobRow.last_error_reason: job.last_error_reason,
        PrintJobRow.printed_at: _utc(job.printed_at),
        PrintJobRow.updated_at: _utc(job.updated_at or job.created_at),
    }


class DatabaseSpoolStore:
    """A ``SpoolStore`` on the ``print_job`` table; any number of spools in any number of
    processes may share it."""

    async def add(self, job: PrintJob) -> PrintJob:
        row = PrintJobRow(
            store_id=job.store_id,
            terminal_id=job.terminal_id,
            printer_name=job.printer_id,
            transport_spec=job.transport_spec,
            profile=job.profile,
            columns=job.columns,
            kind=job_kind(job.document_kind),
            document_kind=job.document_kind,
            reference=job.reference,
            data=job.data,
            preview_text=job.preview_text,
            document=job.document,
            status=job.status,
            attempts=job.attempts,
            next_attempt_at=_utc(job.next_attempt_at),
            last_error=job.last_error,
            last_error_reason=job.last_error_reason,
            created_at=_utc(job.created_at),
            updated_at=_utc(job.updated_at or job.created_at),
            printed_at=_utc(job.printed_at),
            reprint_of=job.reprint_of,
            authorised_by=job.authorised_by,
        )
        [inserted] = await PrintJobRow.insert(row).returning(PrintJobRow.id)
        return msgspec.structs.replace(job, id=inserted["id"])

    async def get(self, job_id: int) -> PrintJob | None:
        row = await PrintJobRow.select(*_COLUMNS).where(PrintJobRow.id == job_id).first()
        return job_from_row(row) if row is not None else None

    async def save(
        self,
        job: PrintJob,
        *,
        if_status: JobStatus | None = None,
        if_attempts: int | None = None,
    ) -> bool:
        condition = PrintJobRow.id == job.id
        if if_status is not None:
            condition &= PrintJobRow.status == if_status
        if if_attempts is not None:
            condition &= PrintJobRow.attempts == if_attempts
        updated = (
            await PrintJobRow.update(_changeable_values(job))
            .where(condition)
            .returning(PrintJobRow.id)
        )
        if not updated and if_status is None and if_attempts is None:
            raise KeyError(job.id)
        return bool(updated)

    async def claim_next(
        self, printer_id: str, now: datetime, lease_until: datetime
    ) -> PrintJob | None:
        for _ in range(CLAIM_ROUNDS):
            head = (
                await PrintJobRow.select(
                    PrintJobRow.id,
                    PrintJobRow.status,
                    PrintJobRow.attempts,
                    PrintJobRow.next_attempt_at,
                )
                .where(
                    (PrintJobRow.printer_name == printer_id)
                    & PrintJobRow.status.is_in(list(ACTIVE_STATUSES))
                )
                .order_by(PrintJobRow.id)
                .first()
            )
            if head is None:
                return None
            if _utc(head["next_attempt_at"]) > now:  # type: ignore[operator]
                return None  # waiting for its retry, or being printed right now
            # The compare-and-set: only the worker that still sees the job as it was read
            # (same status, same attempt count) takes it.
            claimed = (
                await PrintJobRow.update(
                    {
                        PrintJobRow.status: "printing",
                        PrintJobRow.attempts: PrintJobRow.attempts + 1,
                        PrintJobRow.next_attempt_at: _utc(lease_until),
                        PrintJobRow.updated_at: _utc(now),
                    }
                )
                .where(
                    (PrintJobRow.id == head["id"])
                    & (PrintJobRow.status == head["status"])
                    & (PrintJobRow.attempts == head["attempts"])
                )
                .returning(*_COLUMNS)
            )
            if claimed:
                return job_from_row(claimed[0])
        return None

    async def list_jobs(
        self,
        *,
        printer_id: str | None = None,
        statuses: Collection[JobStatus] | None = None,
        store_id: int | None = None,
        terminal_id: int | None = None,
        reference: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[PrintJob]:
        query = PrintJobRow.select(*_COLUMNS)
        conditions: list[Any] = []
        if printer_id is not None:
            conditions.append(PrintJobRow.printer_name == printer_id)
        if statuses is not None:
            if not statuses:
                return []
            conditions.append(PrintJobRow.status.is_in(list(statuses)))
        if store_id is not None:
            conditions.append(PrintJobRow.store_id == store_id)
        if terminal_id is not None:
            conditions.append(PrintJobRow.terminal_id == terminal_id)
        if reference is not None:
            conditions.append(PrintJobRow.reference == reference)
        for condition in conditions:
            query = query.where(condition)
        query = query.order_by(PrintJobRow.id, ascending=not newest_first)
        if limit is not None:
            query = query.limit(limit)
        return [job_from_row(row) for row in await query]

    async def printers_with_work(self) -> list[str]:
        rows = (
            await PrintJobRow.select(PrintJobRow.printer_name)
            .where(PrintJobRow.status.is_in(list(ACTIVE_STATUSES)))
            .distinct()
        )
        return sorted(row["printer_name"] for row in rows)
