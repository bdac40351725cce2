"""The durable spool: jobs in the database survive printers that fail and processes that
die, and two workers never print the same job twice (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from printers.escpos_render import render_document
from printers.spool import Spool
from printers.spool_store import DatabaseSpoolStore
from printers.transports import PrinterUnavailable, parse_transport


class ScriptedPrinter:
    """Fails as scripted (one entry per attempt), then prints; thread-safe."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.printed: list[bytes] = []
        self.seen_stored: list[bool] = []
        self._lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None

    def send(self, data: bytes) -> None:
        if self.loop is not None:
            # From the transport's thread, ask the database whether the job is already there.
            stored = asyncio.run_coroutine_threadsafe(
                DatabaseSpoolStore().list_jobs(), self.loop
            ).result(10)
            self.seen_stored.append(any(job.data == data for job in stored))
        with self._lock:
            if self.failures:
                raise self.failures.pop(0)
            self.printed.append(data)


async def test_a_job_is_in_the_database_before_it_is_sent(db, clock, samples) -> None:
    printer = ScriptedPrinter()
    printer.loop = asyncio.get_running_loop()
    spool = Spool(DatabaseSpoolStore(), {"till-3": printer}, clock=clock)
    data = render_document(samples.receipt("zh-CN"), "generic-80")
    job = await spool.print_now("till-3", "receipt", data)
    assert printer.seen_stored == [True]
    assert (job.status, job.attempts, job.printed_at) == ("printed", 1, clock.now)
    assert (await DatabaseSpoolStore().get(job.id)) == job
    assert job.data == data  # the bytes round-trip exactly (GB18030, ESC/POS)


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (PrinterUnavailable("offline", "switched off"), "offline"),
        (PrinterUnavailable("paper_out", "the paper roll is empty"), "paper_out"),
        (PrinterUnavailable("timeout", "no answer"), "timeout"),
    ],
)
async def test_a_failing_printer_leaves_the_job_queued_with_the_reason_and_listed(
    db, clock, failure, reason
) -> None:
    store = DatabaseSpoolStore()
    printer = ScriptedPrinter(failure, failure)
    spool = Spool(store, {"till-3": printer}, clock=clock)
    job = await spool.print_now("till-3", "receipt", b"\x1b@r\n")
    assert (job.status, job.last_error_reason, job.attempts) == ("queued", reason, 1)
    assert job.next_attempt_at == clock.now + timedelta(seconds=5)
    assert await store.list_jobs(statuses=["queued"]) == [job]
    assert await store.printers_with_work() == ["till-3"]

    assert await spool.retry_due() == []  # the backoff holds
    clock.advance(5)
    [job] = await spool.retry_due()
    assert (job.status, job.attempts) == ("queued", 2)
    assert job.next_attempt_at == clock.now + timedelta(seconds=10)  # backoff doubles
    clock.advance(10)
    [job] = await spool.retry_due()
    assert (job.status, job.attempts, job.last_error) == ("printed", 3, None)
    assert printer.printed == [b"\x1b@r\n"]
    assert await store.printers_with_work() == []


async def test_nothing_is_lost_when_the_process_dies_a_new_spool_prints_it(
    db, clock, samples, free_port, start_network_printer
) -> None:
    data = render_document(samples.receipt("en"), "generic-58")
    spec = f"tcp:127.0.0.1:{free_port}"
    first = Spool(DatabaseSpoolStore(), transport_factory=parse_transport, clock=clock)
    job = await first.submit(spec, "receipt", data, transport_spec=spec, reference="S-1")
    job = await first.print_job_now(job.id)
    assert (job.status, job.last_error_reason) == ("queued", "offline")  # printer is off
    del first  # the process "crashes": nothing of the first spool survives but the rows

    printer = start_network_printer(free_port)  # the printer is switched on
    clock.advance(5)
    second = Spool(DatabaseSpoolStore(), transport_factory=parse_transport, clock=clock)
    [printed] = await second.retry_due()
    assert (printed.id, printed.status, printed.attempts) == (job.id, "printed", 2)
    assert printer.jobs == [data]


async def test_a_job_whose_worker_died_mid_print_is_taken_again_after_the_lease(db, clock) -> None:
    store = DatabaseSpoolStore()
    printer = ScriptedPrinter()
    spool = Spool(store, {"till-3": printer}, clock=clock, attempt_lease=timedelta(minutes=2))
    job = await spool.submit("till-3", "receipt", b"r\n")
    claimed = await store.claim_next("till-3", clock.now, clock.now + timedelta(minutes=2))
    assert claimed is not None and (claimed.id, claimed.status) == (job.id, "printing")
    assert await store.claim_next("till-3", clock.now, clock.now) is None  # leased
    assert await spool.retry_due() == []
    clock.advance(121)
    [job] = await spool.retry_due()
    assert (job.status, job.attempts) == ("printed", 2)
    assert printer.printed == [b"r\n"]


async def test_receipts_of_one_printer_come_out_in_order_behind_a_failed_one(db, clock) -> None:
    printer = ScriptedPrinter(PrinterUnavailable("offline", "switched off"))
    spool = Spool(DatabaseSpoolStore(), {"till-3": printer}, clock=clock)
    first = await spool.print_now("till-3", "receipt", b"first\n")
    second = await spool.print_now("till-3", "receipt", b"second\n")
    assert (first.status, second.status, second.attempts) == ("queued", "queued", 0)
    clock.advance(5)
    assert [job.id for job in await spool.retry_due()] == [first.id, second.id]
    assert printer.printed == [b"first\n", b"second\n"]


async def test_a_failed_job_is_kept_and_can_be_requeued(db, clock) -> None:
    store = DatabaseSpoolStore()
    printer = ScriptedPrinter(*[PrinterUnavailable("offline", "gone")] * 2)
    spool = Spool(store, {"till-3": printer}, clock=clock, max_attempts=2)
    job = await spool.print_now("till-3", "receipt", b"r\n")
    clock.advance(600)
    [job] = await spool.retry_due()
    assert (job.status, job.attempts) == ("failed", 2)
    assert await store.list_jobs(statuses=["failed"]) == [job]
    assert await spool.retry_due() == []
    requeued = await spool.requeue(job.id)
    assert (requeued.status, requeued.attempts) == ("queued", 0)
    with pytest.raises(ValueError, match="queued, not failed"):
        await spool.requeue(job.id)
    [job] = await spool.retry_due()
    assert job.status == "printed" and printer.printed == [b"r\n"]


async def test_racing_claims_give_a_job_to_one_worker(db, clock) -> None:
    store = DatabaseSpoolStore()
    spool = Spool(store, {"till-3": ScriptedPrinter()}, clock=clock)
    job = await spool.submit("till-3", "receipt", b"r\n")
    lease = clock.now + timedelta(minutes=2)
    claims = await asyncio.gather(*(store.claim_next("till-3", clock.now, lease) for _ in range(8)))
    winners = [claim for claim in claims if claim is not None]
    assert [(claim.id, claim.attempts) for claim in winners] == [(job.id, 1)]
    assert (await store.get(job.id)).status == "printing"  # type: ignore[union-attr]


@pytest.mark.postgres
async def test_parallel_workers_on_postgres_print_every_job_exactly_once_in_order(
    db, clock
) -> None:
    store = DatabaseSpoolStore()
    printer = ScriptedPrinter()
    submitting = Spool(store, {"till-3": printer, "till-4": printer}, clock=clock)
    expected = []
    for number in range(30):
        till = "till-3" if number % 2 else "till-4"
        await submitting.submit(till, "receipt", f"{till} {number}\n".encode())
        expected.append(f"{till} {number}\n".encode())
    workers = [Spool(store, {"till-3": printer, "till-4": printer}, clock=clock) for _ in range(12)]

    async def work(spool: Spool) -> None:
        while await store.printers_with_work():
            await spool.retry_due()

    await asyncio.gather(*(work(worker) for worker in workers))
    assert sorted(printer.printed) == sorted(expected)  # every one, none twice
    for till in ("till-3", "till-4"):
        of_till = [data for data in printer.printed if data.startswith(till.encode())]
        assert of_till == [data for data in expected if data.startswith(till.encode())]
    printed = await store.list_jobs(statuses=["printed"])
    assert len(printed) == 30 and {job.attempts for job in printed} == {1}


@pytest.mark.postgres
async def test_two_hundred_parallel_claims_on_postgres_take_each_job_once(db, clock) -> None:
    store = DatabaseSpoolStore()
    spool = Spool(store, {f"till-{n}": ScriptedPrinter() for n in range(10)}, clock=clock)
    for n in range(10):
        await spool.submit(f"till-{n}", "receipt", b"r\n")
    lease = clock.now + timedelta(minutes=2)
    claims = await asyncio.gather(
        *(store.claim_next(f"till-{n % 10}", clock.now, lease) for n in range(200))
    )
    winners = sorted(claim.id for claim in claims if claim is not None)
    assert winners == sorted(job.id for job in await store.list_jobs())
    assert len(set(winners)) == 10


async def test_verify_finds_nothing_wrong_with_a_working_spool_and_reports_a_broken_row(
    db, clock
) -> None:
    from printers.tables import PrintJob as PrintJobRow
    from printers.verify import check_print_jobs

    store = DatabaseSpoolStore()
    spool = Spool(
        store, {"till-3": ScriptedPrinter(PrinterUnavailable("offline", "x"))}, clock=clock
    )
    first = await spool.print_now("till-3", "receipt", b"\x1b@first\n")
    clock.advance(5)
    await spool.retry_due()
    await spool.reprint(first.id)
    assert await check_print_jobs() == []

    await PrintJobRow.update({PrintJobRow.printed_at: None, PrintJobRow.data: b"\x1b"}).where(
        PrintJobRow.id == first.id
    )
    problems = await check_print_jobs()
    assert any("printed with printed_at None" in problem for problem in problems)
    assert any("not whole ESC/POS" in problem for problem in problems)
