"""The print spool: a job is stored before it is sent, survives a printer that is off, drops
the connection or has no paper, is retried with backoff, and prints byte for byte at last."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from printers.escpos_render import render_document
from printers.spool import InMemorySpoolStore, Spool
from printers.transports import NetworkTransport, PrinterUnavailable


class ScriptedPrinter:
    """A transport that fails as scripted (one entry per attempt), then prints."""

    def __init__(self, *failures: Exception, store: InMemorySpoolStore | None = None) -> None:
        self.failures = list(failures)
        self.printed: list[bytes] = []
        self.store = store
        self.stored_when_sent: list[bool] = []

    def send(self, data: bytes) -> None:
        if self.store is not None:
            # Peeks at the in-memory store from the transport's thread, where nothing awaits.
            self.stored_when_sent.append(any(job.data == data for job in self.store._jobs.values()))
        if self.failures:
            raise self.failures.pop(0)
        self.printed.append(data)


def network(port: int) -> NetworkTransport:
    return NetworkTransport(
        host="127.0.0.1", port=port, connect_timeout=1, write_timeout=2, close_wait=2
    )


async def test_a_job_is_stored_before_it_is_sent(clock) -> None:
    store = InMemorySpoolStore()
    printer = ScriptedPrinter(store=store)
    spool = Spool(store, {"till-3": printer}, clock=clock)
    job = await spool.print_now("till-3", "receipt", b"\x1b@receipt\n")
    assert printer.stored_when_sent == [True]
    assert job.status == "printed" and job.attempts == 1 and job.printed_at == clock.now


async def test_printer_dropping_the_connection_leaves_the_job_queued_until_a_retry_prints_it(
    samples, clock, network_printer
) -> None:
    data = render_document(samples.receipt("zh-CN"), "generic-80")
    store = InMemorySpoolStore()
    spool = Spool(store, {"till-3": network(network_printer.port)}, clock=clock)

    network_printer.mode = "drop"
    job = await spool.print_now("till-3", "receipt", data)
    assert job.status == "queued"
    assert job.attempts == 1
    assert job.last_error_reason == "offline"
    assert job.last_error and "127.0.0.1" in job.last_error
    assert job.next_attempt_at == clock.now + timedelta(seconds=5)
    assert job.data == data  # nothing is lost with the failed attempt
    assert network_printer.connections == 1

    network_printer.mode = "work"
    assert await spool.retry_due() == []  # not due yet: the backoff holds
    clock.advance(5)
    [retried] = await spool.retry_due()
    assert retried.id == job.id
    assert retried.status == "printed" and retried.attempts == 2
    assert retried.last_error is None
    assert network_printer.jobs == [data]


async def test_a_printer_switched_on_later_prints_the_queued_job(
    clock, free_port, start_network_printer
) -> None:
    spool = Spool(InMemorySpoolStore(), {"till-3": network(free_port)}, clock=clock)
    job = await spool.print_now("till-3", "top_up", b"\x1b@top-up\n")
    assert (job.status, job.last_error_reason) == ("queued", "offline")

    printer = start_network_printer(free_port)
    clock.advance(5)
    [retried] = await spool.retry_due()
    assert retried.status == "printed"
    assert printer.jobs == [b"\x1b@top-up\n"]


async def test_paper_out_and_timeouts_are_recorded_with_their_reason(clock) -> None:
    printer = ScriptedPrinter(
        PrinterUnavailable("paper_out", "the paper roll is empty"),
        PrinterUnavailable("timeout", "no answer"),
    )
    spool = Spool(InMemorySpoolStore(), {"till-3": printer}, clock=clock)
    job = await spool.print_now("till-3", "receipt", b"r\n")
    assert (job.status, job.last_error_reason, job.attempts) == ("queued", "paper_out", 1)
    clock.advance(5)
    [job] = await spool.retry_due()
    assert (job.status, job.last_error_reason, job.attempts) == ("queued", "timeout", 2)
    assert job.next_attempt_at == clock.now + timedelta(seconds=10)
    clock.advance(10)
    [job] = await spool.retry_due()
    assert job.status == "printed" and printer.printed == [b"r\n"]


def test_retry_delay_doubles_up_to_five_minutes() -> None:
    spool = Spool(InMemorySpoolStore(), {})
    delays = [spool.retry_delay(attempts).total_seconds() for attempts in range(1, 10)]
    assert delays == [5, 10, 20, 40, 80, 160, 300, 300, 300]


async def test_receipts_come_out_in_order_and_a_failed_one_holds_back_the_next(clock) -> None:
    printer = ScriptedPrinter(PrinterUnavailable("offline", "switched off"))
    spool = Spool(InMemorySpoolStore(), {"till-3": printer}, clock=clock)
    first = await spool.print_now("till-3", "receipt", b"first\n")
    clock.advance(1)
    second = await spool.print_now("till-3", "receipt", b"second\n")
    assert first.status == "queued" and second.status == "queued"
    assert second.attempts == 0  # not tried while the one before it waits
    clock.advance(5)
    tried = await spool.retry_due()
    assert [job.id for job in tried] == [first.id, second.id]
    assert printer.printed == [b"first\n", b"second\n"]


async def test_other_printers_are_not_held_back(clock) -> None:
    broken = ScriptedPrinter(PrinterUnavailable("offline", "switched off"))
    working = ScriptedPrinter()
    spool = Spool(InMemorySpoolStore(), {"till-3": broken, "till-4": working}, clock=clock)
    await spool.print_now("till-3", "receipt", b"three\n")
    job = await spool.print_now("till-4", "receipt", b"four\n")
    assert job.status == "printed" and working.printed == [b"four\n"]


async def test_reprint_is_a_new_job_referencing_the_original_without_the_drawer_kick(
    samples, clock
) -> None:
    printer = ScriptedPrinter()
    spool = Spool(InMemorySpoolStore(), {"till-3": printer}, clock=clock)
    data = render_document(samples.receipt("zh-CN"), "generic-80")
    original = await spool.print_now("till-3", "receipt", data)
    copy = await spool.reprint(original.id)
    assert copy.id != original.id
    assert copy.reprint_of == original.id
    assert copy.document_kind == "receipt" and copy.status == "queued"
    assert b"\x1bp\x00\x32\x32" in data
    assert b"\x1bp\x00\x32\x32" not in copy.data and len(copy.data) == len(data) - 5
    await spool.print_pending("till-3")
    assert printer.printed == [data, copy.data]


async def test_a_job_the_spool_gave_up_on_stays_stored_and_can_be_requeued(clock) -> None:
    printer = ScriptedPrinter(*[PrinterUnavailable("offline", "gone")] * 3)
    store = InMemorySpoolStore()
    spool = Spool(store, {"till-3": printer}, clock=clock, max_attempts=3)
    job = await spool.print_now("till-3", "receipt", b"r\n")
    for _ in range(2):
        clock.advance(600)
        [job] = await spool.retry_due()
    assert (job.status, job.attempts) == ("failed", 3)
    assert await store.printers_with_work() == []
    assert await store.list_jobs(statuses=["failed"]) == [job]

    later = await spool.print_now("till-3", "receipt", b"later\n")
    assert later.status == "printed"  # a job given up on no longer holds the queue

    requeued = await spool.requeue(job.id)
    assert requeued.status == "queued"
    [job] = await spool.retry_due()
    assert job.status == "printed" and printer.printed == [b"later\n", b"r\n"]


async def test_a_job_abandoned_while_printing_is_taken_again_after_its_lease(clock) -> None:
    store = InMemorySpoolStore()
    printer = ScriptedPrinter()
    spool = Spool(store, {"till-3": printer}, clock=clock, attempt_lease=timedelta(minutes=2))
    job = await spool.submit("till-3", "receipt", b"r\n")
    # A worker claims the job and dies before recording anything.
    claimed = await store.claim_next("till-3", clock.now, clock.now + timedelta(minutes=2))
    assert claimed is not None and claimed.status == "printing"
    assert await spool.retry_due() == []
    clock.advance(121)
    [job] = await spool.retry_due()
    assert job.status == "printed" and job.attempts == 2


async def test_an_unexpected_error_is_recorded_and_the_job_kept(clock) -> None:
    printer = ScriptedPrinter(RuntimeError("driver bug"))
    spool = Spool(InMemorySpoolStore(), {"till-3": printer}, clock=clock)
    job = await spool.print_now("till-3", "receipt", b"r\n")
    assert (job.status, job.last_error_reason, job.last_error) == ("queued", "error", "driver bug")


async def test_jobs_for_an_unknown_printer_are_refused(clock) -> None:
    spool = Spool(InMemorySpoolStore(), {"till-3": ScriptedPrinter()}, clock=clock)
    with pytest.raises(ValueError, match="till-9"):
        await spool.submit("till-9", "receipt", b"r\n")


async def test_jobs_serialise_for_a_database_or_the_wire(clock) -> None:
    spool = Spool(InMemorySpoolStore(), {"till-3": ScriptedPrinter()}, clock=clock)
    job = await spool.submit("till-3", "receipt", b"\x1b@\xc4\xe3\n")
    assert msgspec.json.decode(msgspec.json.encode(job), type=type(job)) == job
