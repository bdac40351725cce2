"""The print spool: every receipt is stored as a job before it is sent, so none is lost.

A printer that is offline, out of paper or too slow leaves its job queued with the error and
the attempt count recorded; it is tried again later with a growing delay. Storage sits behind
``SpoolStore`` (kept in memory here; a database-backed store implements the same protocol).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

import msgspec

from printers.escpos_render import remove_drawer_kick
from printers.transports import PrinterUnavailable, Transport

logger = logging.getLogger(__name__)

JobStatus = Literal["queued", "printing", "done", "failed"]


class PrintJob(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    printer_id: str
    document_kind: str
    data: bytes
    created_at: datetime
    status: JobStatus = "queued"
    attempts: int = 0
    next_attempt_at: datetime
    """When the job may be tried (again); while ``printing``, when the attempt is presumed
    abandoned (the worker died) and the job may be claimed once more."""
    last_error: str | None = None
    last_error_reason: str | None = None
    """``offline``, ``timeout``, ``paper_out`` … for the till to tell the cashier what to fix."""
    printed_at: datetime | None = None
    reprint_of: str | None = None


class SpoolStore(Protocol):
    """Where jobs are kept. Jobs of one printer come back in the order they were added."""

    async def add(self, job: PrintJob) -> None:
        """Store a new job."""
        ...

    async def get(self, job_id: str) -> PrintJob | None: ...

    async def save(self, job: PrintJob) -> None:
        """Replace the stored job of the same id (status, attempts, errors changed)."""
        ...

    async def claim_next(
        self, printer_id: str, now: datetime, lease_until: datetime
    ) -> PrintJob | None:
        """Atomically take the printer's next job, if it is due, for one attempt.

        The next job is the oldest of the printer's jobs that are ``queued``, or ``printing``
        with ``next_attempt_at`` passed (an abandoned attempt). If it is due
        (``next_attempt_at <= now``) it is stored as ``printing``, ``attempts + 1``,
        ``next_attempt_at = lease_until``, and returned; otherwise nothing is claimed: a job
        waiting for its retry holds back the later ones, so receipts come out in order.
        """
        ...

    async def list_jobs(
        self, *, printer_id: str | None = None, statuses: Collection[JobStatus] | None = None
    ) -> list[PrintJob]: ...

    async def printers_with_work(self) -> list[str]:
        """Printers that have jobs queued or printing."""
        ...


class InMemorySpoolStore:
    """A ``SpoolStore`` in a dict: for tests, demos and tills without a database.

    Methods never await in the middle, so on one event loop each one is atomic.
    """

    def __init__(self) -> None:
        self._jobs: dict[str, PrintJob] = {}

    async def add(self, job: PrintJob) -> None:
        if job.id in self._jobs:
            raise ValueError(f"print job {job.id} already exists")
        self._jobs[job.id] = job

    async def get(self, job_id: str) -> PrintJob | None:
        return self._jobs.get(job_id)

    async def save(self, job: PrintJob) -> None:
        if job.id not in self._jobs:
            raise KeyError(job.id)
        self._jobs[job.id] = job

    async def claim_next(
        self, printer_id: str, now: datetime, lease_until: datetime
    ) -> PrintJob | None:
        for job in self._jobs.values():
            if job.printer_id != printer_id:
                continue
            if job.status == "queued" or (job.status == "printing" and job.next_attempt_at <= now):
                if job.next_attempt_at > now:
                    return None
                claimed = msgspec.structs.replace(
                    job, status="printing", attempts=job.attempts + 1, next_attempt_at=lease_until
                )
                self._jobs[job.id] = claimed
                return claimed
            if job.status == "printing":
                return None  # another worker is printing this printer's job right now
        return None

    async def list_jobs(
        self, *, printer_id: str | None = None, statuses: Collection[JobStatus] | None = None
    ) -> list[PrintJob]:
        return [
            job
            for job in self._jobs.values()
            if (printer_id is None or job.printer_id == printer_id)
            and (statuses is None or job.status in statuses)
        ]

    async def printers_with_work(self) -> list[str]:
        return list(
            dict.fromkeys(
                job.printer_id
                for job in self._jobs.values()
                if job.status in ("queued", "printing")
            )
        )


def utc_now() -> datetime:
    return datetime.now(UTC)


class Spool:
    """Stores jobs, sends them through each printer's transport, retries with backoff."""

    def __init__(
        self,
        store: SpoolStore,
        transports: Mapping[str, Transport],
        *,
        clock: Callable[[], datetime] = utc_now,
        first_retry_delay: timedelta = timedelta(seconds=5),
        longest_retry_delay: timedelta = timedelta(minutes=5),
        max_attempts: int = 20,
        attempt_lease: timedelta = timedelta(minutes=2),
    ) -> None:
        self.store = store
        self.transports = transports
        self.clock = clock
        self.first_retry_delay = first_retry_delay
        self.longest_retry_delay = longest_retry_delay
        self.max_attempts = max_attempts
        self.attempt_lease = attempt_lease

    def retry_delay(self, attempts: int) -> timedelta:
        """Wait after the ``attempts``-th failure: 5 s, 10 s, 20 s … up to 5 minutes."""
        delay = self.first_retry_delay * (2 ** max(attempts - 1, 0))
        return min(delay, self.longest_retry_delay)

    async def submit(
        self, printer_id: str, document_kind: str, data: bytes, *, reprint_of: str | None = None
    ) -> PrintJob:
        """Store a job for ``printer_id``; it is sent by ``print_pending``."""
        if printer_id not in self.transports:
            raise ValueError(f"no printer {printer_id!r} is configured")
        now = self.clock()
        job = PrintJob(
            id=uuid.uuid4().hex,
            printer_id=printer_id,
            document_kind=document_kind,
            data=data,
            created_at=now,
            next_attempt_at=now,
            reprint_of=reprint_of,
        )
        await self.store.add(job)
        return job

    async def print_now(self, printer_id: str, document_kind: str, data: bytes) -> PrintJob:
        """Store a job and try to print the printer's queue at once; the job as it stands
        afterwards (``done``, or ``queued`` with the error when the printer failed)."""
        job = await self.submit(printer_id, document_kind, data)
        await self.print_pending(printer_id)
        stored = await self.store.get(job.id)
        if stored is None:
            raise KeyError(f"print job {job.id} vanished from the spool store")
        return stored

    async def print_pending(self, printer_id: str) -> list[PrintJob]:
        """Send the printer's due jobs in order, stopping at the first failure (the printer
        is down: later jobs would fail the same way). Returns the jobs tried, as stored."""
        transport = self.transports[printer_id]
        tried: list[PrintJob] = []
        while True:
            now = self.clock()
            job = await self.store.claim_next(printer_id, now, now + self.attempt_lease)
            if job is None:
                return tried
            try:
                # Transports block (pyserial, sockets); the event loop must not.
                await asyncio.to_thread(transport.send, job.data)
            except Exception as error:  # whatever failed, the job and its error are recorded
                job = await self._record_failure(job, error)
                tried.append(job)
                return tried
            job = msgspec.structs.replace(
                job,
                status="done",
                printed_at=self.clock(),
                last_error=None,
                last_error_reason=None,
            )
            await self.store.save(job)
            tried.append(job)

    async def _record_failure(self, job: PrintJob, error: Exception) -> PrintJob:
        if isinstance(error, PrinterUnavailable):
            reason = error.reason
        else:
            logger.exception("print job %s failed unexpectedly", job.id)
            reason = "error"
        gave_up = job.attempts >= self.max_attempts
        job = msgspec.structs.replace(
            job,
            status="failed" if gave_up else "queued",
            next_attempt_at=self.clock() + self.retry_delay(job.attempts),
            last_error=str(error) or type(error).__name__,
            last_error_reason=reason,
        )
        await self.store.save(job)
        return job

    async def retry_due(self) -> list[PrintJob]:
        """One pass over every printer with work, the printers side by side (one that is
        off and times out does not delay the others): what a background loop calls every
        few seconds. Returns the jobs tried."""
        printer_ids = [
            printer_id
            for printer_id in await self.store.printers_with_work()
            if printer_id in self.transports
        ]
        tried = await asyncio.gather(
            *(self.print_pending(printer_id) for printer_id in printer_ids)
        )
        return [job for jobs in tried for job in jobs]

    async def reprint(
        self, job_id: str, *, data: bytes | None = None, printer_id: str | None = None
    ) -> PrintJob:
        """A new job referencing ``job_id``: the same bytes (or ``data``, e.g. re-rendered
        with a copy mark), on the same printer unless another is named.

        The copied bytes lose their drawer kick: a copy for the customer must not open the
        cash drawer again.
        """
        original = await self.store.get(job_id)
        if original is None:
            raise KeyError(f"no print job {job_id}")
        return await self.submit(
            printer_id or original.printer_id,
            original.document_kind,
            data if data is not None else remove_drawer_kick(original.data),
            reprint_of=original.id,
        )

    async def requeue(self, job_id: str) -> PrintJob:
        """Put a job the spool gave up on (``failed``) back in the queue, due now."""
        job = await self.store.get(job_id)
        if job is None:
            raise KeyError(f"no print job {job_id}")
        if job.status != "failed":
            raise ValueError(f"print job {job_id} is {job.status}, not failed")
        job = msgspec.structs.replace(
            job, status="queued", attempts=0, next_attempt_at=self.clock()
        )
        await self.store.save(job)
        return job
