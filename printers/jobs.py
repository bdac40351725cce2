"""Print jobs as a till and HQ see them: a store's jobs only, retried or copied on request.

The store scope is the rule here: a job of another store is "not found", never "forbidden",
so a till learns nothing about other stores' receipts.
"""

from __future__ import annotations

from collections.abc import Collection

from printers.errors import PrintJobNotFound, PrintJobNotPrinted, PrintJobNotRetryable
from printers.receipts import copy_bytes, durable_spool
from printers.spool import JobStatus, PrintJob, Spool
from printers.spool_store import DatabaseSpoolStore

OPEN_STATUSES: tuple[JobStatus, ...] = ("queued", "printing", "failed")
LIST_LIMIT = 200


async def terminal_jobs(
    terminal_id: int, statuses: Collection[JobStatus] = OPEN_STATUSES, limit: int = LIST_LIMIT
) -> list[PrintJob]:
    """The till's jobs in ``statuses``: oldest first for jobs still to print (the order they
    will come out), newest first when printed ones are asked for (the last receipt on top)."""
    return await DatabaseSpoolStore().list_jobs(
        terminal_id=terminal_id,
        statuses=statuses,
        limit=limit,
        newest_first="printed" in statuses,
    )


async def store_jobs(
    store_id: int | None, statuses: Collection[JobStatus], limit: int = LIST_LIMIT
) -> list[PrintJob]:
    """A store's jobs (None: every store's), newest first: what HQ looks at to see which
    printers are failing."""
    return await DatabaseSpoolStore().list_jobs(
        store_id=store_id, statuses=statuses, limit=limit, newest_first=True
    )


async def job_in_store(job_id: int, store_id: int | None) -> PrintJob:
    """The job, if it belongs to ``store_id`` (None: any store, for HQ admins)."""
    job = await DatabaseSpoolStore().get(job_id)
    if job is None or (store_id is not None and job.store_id != store_id):
        raise PrintJobNotFound(f"No print job {job_id} in this store")
    return job


async def retry_job(job_id: int, *, store_id: int, spool: Spool | None = None) -> PrintJob:
    """Send a queued or failed job now (the paper is in again); the job afterwards."""
    job = await job_in_store(job_id, store_id)
    if job.status not in ("queued", "failed"):
        raise PrintJobNotRetryable(f"Print job {job_id} is {job.status}", job_status=job.status)
    spool = spool or durable_spool()
    await spool.retry_now(job.id)
    return await spool.print_job_now(job.id)


async def reprint_job(
    job: PrintJob,
    *,
    terminal_id: int,
    authorised_by: str,
    spool: Spool | None = None,
) -> PrintJob:
    """A copy of a printed job, marked 重印/REPRINT, without the drawer kick, on the same
    printer, sent now; the new job afterwards (queued with the reason if the printer
    failed). Whoever calls this found ``job`` through ``job_in_store`` (the till's store)
    and has checked the manager's approval."""
    if job.status != "printed":
        raise PrintJobNotPrinted(f"Print job {job.id} is {job.status}", job_status=job.status)
    spool = spool or durable_spool()
    data, text = copy_bytes(job)
    copy = await spool.reprint(
        job.id,
        data=data,
        preview_text=text,
        terminal_id=terminal_id,
        authorised_by=authorised_by,
    )
    return await spool.print_job_now(copy.id)
