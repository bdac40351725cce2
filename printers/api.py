"""Print jobs over HTTP: a till lists its jobs still to print, retries one, and has a
printed one copied with a manager's approval (``/api/v1/pos/printers/...``); HQ previews a
job as text or PNG (``/api/v1/hq/printers/...``)."""

from __future__ import annotations

from typing import Literal

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

from memberpos.errors import Forbidden, OutOfScope
from printers import jobs
from printers.approval import approve, may_approve
from printers.errors import PrintJobNotFound
from printers.receipts import job_preview
from printers.schemas import PrintJobList, PrintJobOut, ReprintIn, job_out
from printers.spool import JobStatus
from stores import audit, chain
from stores.access import Actor, Role
from stores.terminals import TerminalIdentity

PREVIEW_MEDIA_TYPES = {"png": "image/png", "text": "text/plain; charset=utf-8"}


class TerminalPrintJobController(Controller):
    path = "/printers/jobs"
    tags = ["POS printing"]

    @get("/", summary="This till's print jobs (by default those still to print)")
    async def list_jobs(
        self,
        terminal: NamedDependency[TerminalIdentity],
        status: FromQuery[list[JobStatus] | None] = None,
    ) -> PrintJobList:
        found = await jobs.terminal_jobs(
            terminal.terminal_id, statuses=tuple(status) if status else jobs.OPEN_STATUSES
        )
        return PrintJobList(jobs=[job_out(job) for job in found])

    @post(
        "/{job_id:int}/retry",
        status_code=HTTP_200_OK,
        summary="Send a queued or failed job now; the job afterwards",
    )
    async def retry(
        self, job_id: FromPath[int], terminal: NamedDependency[TerminalIdentity]
    ) -> PrintJobOut:
        return job_out(await jobs.retry_job(job_id, store_id=terminal.store_id))

    @post(
        "/{job_id:int}/reprint",
        status_code=HTTP_200_OK,
        summary="A copy (重印/REPRINT) of a printed job; needs a manager's number and PIN",
    )
    async def reprint(
        self,
        job_id: FromPath[int],
        data: JSONBody[ReprintIn],
        terminal: NamedDependency[TerminalIdentity],
    ) -> PrintJobOut:
        job = await jobs.job_in_store(job_id, terminal.store_id)  # 404 before any PIN check
        manager = await approve(
            data.manager_employee_no,
            data.manager_pin,
            store_id=terminal.store_id,
            terminal_id=terminal.terminal_id,
        )
        copy = await jobs.reprint_job(
            job,
            terminal_id=terminal.terminal_id,
            authorised_by=manager.employee_no,
        )
        await audit.record(
            manager,
            "reprint",
            "print_job",
            str(job_id),
            after={"copy_job_id": copy.id, "reference": copy.reference, "till": terminal.name},
            store_code=terminal.store_code,
        )
        return job_out(copy)


def _hq_store_scope(actor: Actor, job_store_id: int | None) -> None:
    """HQ admins see every job; a store manager only their store's (the same people who may
    approve a reprint there); nobody else any."""
    if not may_approve(actor, job_store_id):
        raise PrintJobNotFound("No such print job in your stores")


class HqPrintJobController(Controller):
    path = "/printers/jobs"
    tags = ["HQ printing"]

    @get(
        "/{job_id:int}/preview",
        summary="A print job as the paper shows it: PNG (default) or text",
        media_type="image/png",
    )
    async def preview(
        self,
        job_id: FromPath[int],
        actor: NamedDependency[Actor],
        format: FromQuery[Literal["png", "text"]] = "png",
    ) -> Response[bytes]:
        job = await jobs.job_in_store(job_id, None)
        _hq_store_scope(actor, job.store_id)
        body = job_preview(job, format)
        return Response(body, media_type=PREVIEW_MEDIA_TYPES[format])

    @get("/", summary="Print jobs of a store (by default those still to print), newest first")
    async def list_jobs(
        self,
        actor: NamedDependency[Actor],
        store_code: FromQuery[str | None] = None,
        status: FromQuery[list[JobStatus] | None] = None,
    ) -> PrintJobList:
        store_id: int | None = None
        if store_code is not None:
            store_id = (await chain.store_by_code(store_code))["id"]
        if Role.hq_admin not in actor.roles:
            if Role.store_manager not in actor.roles or actor.home_store_id is None:
                raise Forbidden("Only HQ admins and store managers see print jobs")
            if store_id is not None and store_id != actor.home_store_id:
                raise OutOfScope("You may see print jobs only of your own store")
            store_id = actor.home_store_id
        found = await jobs.store_jobs(
            store_id, statuses=tuple(status) if status else jobs.OPEN_STATUSES
        )
        return PrintJobList(jobs=[job_out(job) for job in found])

    @get("/{job_id:int}", summary="A print job's state")
    async def get_job(self, job_id: FromPath[int], actor: NamedDependency[Actor]) -> PrintJobOut:
        job = await jobs.job_in_store(job_id, None)
        _hq_store_scope(actor, job.store_id)
        return job_out(job)


POS_HANDLERS = [TerminalPrintJobController]
HQ_HANDLERS = [HqPrintJobController]
