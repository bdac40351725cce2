"""The print spool: every receipt is stored as a job before it is sent, so none is lost.

A printer that is offline, out of paper or too slow leaves its job queued with the error and
the attempt count recorded; it is tried again later with a growing delay. Storage sits behind
``SpoolStore``: ``InMemorySpoolStore`` here, for tests and tills without a database, and
``printers.spool_store.DatabaseSpoolStore`` (the ``print_job`` table), which survives restarts
and is shared by any number of workers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import Literal, Protocol

import msgspec

from memberpos.clock import utc_now
from printers.escpos_render import remove_drawer_kick
from printers.transports import PrinterUnavailable, Transport

logger = logging.getLogger(__name__)

JobStatus = Literal["queued", "printing", "printed", "failed"]
JobKind = Literal["receipt", "slip", "test"]
ACTIVE_STATUSES: tuple[JobStatus, ...] = ("queued", "printing")


def job_kind(document_kind: str) -> JobKind:
    """What the till calls a job: a sale ``receipt``, a ``test`` page, or a ``slip``
    (top-up, card issue, refund, end of day)."""
    if document_kind == "receipt":
        return "receipt"
    if document_kind in ("test", "test_page"):
        return "test"
    return "slip"


class PrintJob(msgspec.Struct, frozen=True, kw_only=True):
    id: int = 0
    """Given by the store when the job is added (0 before)."""
    printer_id: str
    """The printer's queue: its name, by default its transport spec."""
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
    reprint_of: int | None = None
    transport_spec: str = ""
    """How to reach the printer (``tcp:HOST:PORT`` …), so a spool started after a restart
    can print the job without being told about the printer again."""
    profile: str = ""
    columns: int = 48
    reference: str = ""
    """The sale, top-up or refund number the job prints."""
    preview_text: str = ""
    document: str = ""
    """The document as tagged JSON, when the job was rendered from one."""
    store_id: int | None = None
    terminal_id: int | None = None
    updated_at: datetime | None = None
    authorised_by: str = ""

    @property
    def kind(self) -> JobKind:
        return job_kind(self.document_kind)


class SpoolStore(Protocol):
    """Where jobs are kept. Jobs of one printer come back in the order they were added."""

    async def add(self, job: PrintJob) -> PrintJob:
        """Store a new job; the job as stored, with its id."""
        ...

    async def get(self, job_id: int) -> PrintJob | None: ...

    async def save(
        self,
        job: PrintJob,
        *,
        if_status: JobStatus | None = None,
        if_attempts: int | None = None,
    ) -> bool:
        """Replace the stored job of the same id (status, attempts, errors changed), only
        while the stored one still has status ``if_status`` and ``if_attempts`` attempts
        when those are given. False when it did not (someone else changed it first)."""
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
        Two workers never claim the same attempt.
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
        self._jobs: dict[int, PrintJob] = {}

    async def add(self, job: PrintJob) -> PrintJob:
        job = msgspec.structs.replace(job, id=len(self._jobs) + 1)
        self._jobs[job.id] = job
        return job

    async def get(self, job_id: int) -> PrintJob | None:
        return self._jobs.get(job_id)

    async def save(
        self,
        job: PrintJob,
        *,
        if_status: JobStatus | None = None,
        if_attempts: int | None = None,
    ) -> bool:
        stored = self._jobs.get(job.id)
        if stored is None:
            raise KeyError(job.id)
        if (if_status is not None and stored.status != if_status) or (
            if_attempts is not None and stored.attempts != if_attempts
        ):
            return False
        self._jobs[job.id] = job
        return True

    async def claim_next(
        self, printer_id: str, now: datetime, lease_until: datetime
    ) -> PrintJob | None:
        for job in self._jobs.values():
            if job.printer_id != printer_id or job.status not in ACTIVE_STATUSES:
                continue
            if job.next_attempt_at > now:
                return None  # waiting for its retry, or being printed right now
            claimed = msgspec.structs.replace(
                job,
                status="printing",
                attempts=job.attempts + 1,
                next_attempt_at=lease_until,
                updated_at=now,
            )
            self._jobs[job.id] = claimed
            return claimed
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
                job.printer_id for job in self._jobs.values() if job.status in ACTIVE_STATUSES
            )
        )


class UnknownPrinter(ValueError):
    """A job for a printer the spool neither has a transport for nor can reach."""


class Spool:
    """Stores jobs, sends them through each printer's transport, retries with backoff.

    A printer's transport is the one configured in ``transports`` under its name; failing
    that, with a ``transport_factory`` (``parse_transport``), the one the job's own
    ``transport_spec`` describes, which is what lets a spool started after a restart print
    the jobs an earlier one stored.
    """

    def __init__(
        self,
        store: SpoolStore,
        transports: Mapping[str, Transport] | None = None,
        *,
        transport_factory: Callable[[str], Transport] | None = None,
        clock: Callable[[], datetime] = utc_now,
        first_retry_delay: timedelta = timedelta(seconds=5),
        longest_retry_delay: timedelta = timedelta(minutes=5),
        max_attempts: int = 20,
        attempt_lease: timedelta = timedelta(minutes=2),
    ) -> None:
        self.store = store
        self.transports: Mapping[str, Transport] = transports or {}
        self.transport_factory = transport_factory
        self.clock = clock
        self.first_retry_delay = first_retry_delay
        self.longest_retry_delay = longest_retry_delay
        self.max_attempts = max_attempts
        self.attempt_lease = attempt_lease
        self._made: dict[tuple[str, str], Transport] = {}

    def retry_delay(self, attempts: int) -> timedelta:
        """Wait after the ``attempts``-th failure: 5 s, 10 s, 20 s … up to 5 minutes."""
        delay = self.first_retry_delay * (2 ** max(attempts - 1, 0))
        return min(delay, self.longest_retry_delay)

    def can_reach(self, printer_id: str, transport_spec: str = "") -> bool:
        return printer_id in self.transports or bool(
            self.transport_factory is not None and transport_spec
        )

    def _transport(self, job: PrintJob) -> Transport:
        configured = self.transports.get(job.printer_id)
        if configured is not None:
            return configured
        if self.transport_factory is None or not job.transport_spec:
            raise UnknownPrinter(f"no printer {job.printer_id!r} is configured")
        key = (job.printer_id, job.transport_spec)
        if key not in self._made:
            self._made[key] = self.transport_factory(job.transport_spec)
        return self._made[key]

    async def submit(
        self,
        printer_id: str,
        document_kind: str,
        data: bytes,
        *,
        reprint_of: int | None = None,
        transport_spec: str = "",
        profile: str = "",
        columns: int = 48,
        reference: str = "",
        preview_text: str = "",
        document: str = "",
        store_id: int | None = None,
        terminal_id: int | None = None,
        authorised_by: str = "",
    ) -> PrintJob:
        """Store a job for ``printer_id``; it is sent by ``print_pending``."""
        if not self.can_reach(printer_id, transport_spec):
            raise UnknownPrinter(f"no printer {printer_id!r} is configured")
        now = self.clock()
        job = PrintJob(
            printer_id=printer_id,
            document_kind=document_kind,
            data=data,
            created_at=now,
            updated_at=now,
            next_attempt_at=now,
            reprint_of=reprint_of,
            transport_spec=transport_spec,
            profile=profile,
            columns=columns,
            reference=reference,
            preview_text=preview_text,
            document=document,
            store_id=store_id,
            terminal_id=terminal_id,
            authorised_by=authorised_by,
        )
        return await self.store.add(job)

    async def print_now(self, printer_id: str, document_kind: str, data: bytes) -> PrintJob:
        """Store a job and try to print the printer's queue at once; the job as it stands
        afterwards (``printed``, or ``queued`` with the error when the printer failed)."""
        job = await self.submit(printer_id, document_kind, data)
        return await self.print_job_now(job.id)

    async def print_job_now(self, job_id: int) -> PrintJob:
        """Try the queue of the job's printer at once; the job as it stands afterwards."""
        job = await self._get(job_id)
        await self.print_pending(job.printer_id)
        return await self._get(job_id)

    async def _get(self, job_id: int) -> PrintJob:
        job = await self.store.get(job_id)
        if job is None:
            raise KeyError(f"no print job {job_id}")
        return job

    async def print_pending(self, printer_id: str) -> list[PrintJob]:
        """Send the printer's due jobs in order, stopping at the first failure (the printer
        is down: later jobs would fail the same way). Returns the jobs tried, as stored."""
        tried: list[PrintJob] = []
        while True:
            now = self.clock()
            job = await self.store.claim_next(printer_id, now, now + self.attempt_lease)
            if job is None:
                return tried
            try:
                transport = self._transport(job)
                # Transports block (pyserial, sockets); the event loop must not.
                await asyncio.to_thread(transport.send, job.data)
            except Exception as error:  # whatever failed, the job and its error are recorded
                job = await self._record_failure(job, error)
                tried.append(job)
                return tried
            printed_at = self.clock()
            job = msgspec.structs.replace(
                job,
                status="printed",
                printed_at=printed_at,
                updated_at=printed_at,
                last_error=None,
                last_error_reason=None,
            )
            await self.store.save(job, if_status="printing", if_attempts=job.attempts)
            tried.append(job)

    async def _record_failure(self, job: PrintJob, error: Exception) -> PrintJob:
        if isinstance(error, PrinterUnavailable):
            reason = error.reason
        elif isinstance(error, UnknownPrinter):
            reason = "offline"
        else:
            logger.exception("print job %s failed unexpectedly", job.id)
            reason = "error"
        gave_up = job.attempts >= self.max_attempts
        now = self.clock()
        job = msgspec.structs.replace(
            job,
            status="failed" if gave_up else "queued",
            next_attempt_at=now + self.retry_delay(job.attempts),
            updated_at=now,
            last_error=str(error) or type(error).__name__,
            last_error_reason=reason,
        )
        await self.store.save(job, if_status="printing", if_attempts=job.attempts)
        return job

    async def retry_due(self) -> list[PrintJob]:
        """One pass over every printer with work, the printers side by side (one that is
        off and times out does not delay the others): what a background loop calls every
        few seconds. Returns the jobs tried."""
        printer_ids = [
            printer_id
            for printer_id in await self.store.printers_with_work()
            if printer_id in self.transports or self.transport_factory is not None
        ]
        tried = await asyncio.gather(
            *(self.print_pending(printer_id) for printer_id in printer_ids)
        )
        return [job for jobs in tried for job in jobs]

    async def reprint(
        self,
        job_id: int,
        *,
        data: bytes | None = None,
        printer_id: str | None = None,
        preview_text: str | None = None,
        terminal_id: int | None = None,
        authorised_by: str = "",
    ) -> PrintJob:
        """A new job referencing ``job_id``: the same bytes (or ``data``, e.g. re-rendered
        with a copy mark), on the same printer unless another is named.

        The copied bytes lose their drawer kick: a copy for the customer must not open the
        cash drawer again.
        """
        original = await self._get(job_id)
        return await self.submit(
            printer_id or original.printer_id,
            original.document_kind,
            data if data is not None else remove_drawer_kick(original.data),
            reprint_of=original.id,
            transport_spec=original.transport_spec,
            profile=original.profile,
            columns=original.columns,
            reference=original.reference,
            preview_text=original.preview_text if preview_text is None else preview_text,
            document=original.document,
            store_id=original.store_id,
            terminal_id=original.terminal_id if terminal_id is None else terminal_id,
            authorised_by=authorised_by,
        )

    async def requeue(self, job_id: int) -> PrintJob:
        """Put a job the spool gave up on (``failed``) back in the queue, due now."""
        job = await self._get(job_id)
        if job.status != "failed":
            raise ValueError(f"print job {job_id} is {job.status}, not failed")
        now = self.clock()
        job = msgspec.structs.replace(
            job, status="queued", attempts=0, next_attempt_at=now, updated_at=now
        )
        if not await self.store.save(job, if_status="failed"):
            raise ValueError(f"print job {job_id} changed meanwhile")
        return job

    async def retry_now(self, job_id: int) -> PrintJob:
        """Make a job due at once (the cashier has put paper in): a ``failed`` one goes
        back in the queue, a ``queued`` one stops waiting for its backoff. A job already
        printing or printed is left alone and returned as it is."""
        job = await self._get(job_id)
        if job.status == "failed":
            return await self.requeue(job_id)
        if job.status == "queued":
            now = self.clock()
            due = msgspec.structs.replace(job, next_attempt_at=now, updated_at=now)
            if await self.store.save(due, if_status="queued", if_attempts=job.attempts):
                return due
            return await self._get(job_id)
        return job
