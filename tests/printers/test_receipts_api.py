"""``printers.receipts``: what the POS gateway calls to answer a sale with its receipt, and to
put it in the durable spool."""

from __future__ import annotations

import msgspec
import pytest

from printers import receipts
from printers.columns import display_width
from printers.errors import InvalidPrintRequest
from printers.escpos_render import decode_escpos, render_document
from printers.spool_store import DatabaseSpoolStore

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DRAWER_KICK = b"\x1bp\x00\x32\x32"


@pytest.mark.parametrize(("columns", "profile"), [(32, "generic-58"), (48, "generic-80")])
def test_escpos_rendering_is_the_layout_of_the_receipt_at_that_width(samples, columns, profile):
    receipt = samples.receipt("zh-CN")
    data = receipts.render(receipt, columns=columns, fmt="escpos")
    assert data == render_document(receipt, profile)
    lines = decode_escpos(data)
    assert all(display_width(line.text) * line.width_multiplier <= columns for line in lines)
    assert "?" not in "".join(line.text for line in lines)


def test_text_and_png_renderings(samples) -> None:
    receipt = samples.receipt("en")
    text = receipts.render(receipt, columns=32, fmt="text").decode("utf-8")
    lines = text.splitlines()
    assert all(display_width(line) <= 32 for line in lines)
    assert any(receipt.sale_number in line for line in lines)
    assert receipts.render(receipt, fmt="png").startswith(PNG_SIGNATURE)


def test_a_profile_caps_the_width_at_what_its_printer_prints(samples) -> None:
    receipt = samples.receipt("zh-CN")
    data = receipts.render(receipt, columns=48, fmt="escpos", profile="epson-tm-t88")
    assert data == render_document(receipt, "epson-tm-t88")
    assert max(display_width(line.text) for line in decode_escpos(data)) <= 42


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"columns": 8, "fmt": "escpos"}, "columns"),
        ({"columns": 48, "fmt": "pdf"}, "fmt"),
        ({"columns": 48, "fmt": "escpos", "profile": "no-such-printer"}, "profile"),
    ],
)
def test_bad_rendering_arguments_name_the_field(samples, arguments, field) -> None:
    with pytest.raises(InvalidPrintRequest) as raised:
        receipts.render(samples.receipt("en"), **arguments)
    assert raised.value.field == field and raised.value.status == 400


async def test_enqueue_receipt_stores_the_rendered_job_before_anything_is_sent(db, samples) -> None:
    receipt = samples.receipt("zh-CN")
    job_id = await receipts.enqueue_receipt(
        receipt,
        store_id=7,
        terminal_id=12,
        printer_spec="tcp:127.0.0.1:9",
        reference=receipt.sale_number,
    )
    job = await DatabaseSpoolStore().get(job_id)
    assert job is not None
    assert (job.status, job.attempts, job.kind, job.document_kind) == (
        "queued",
        0,
        "receipt",
        "receipt",
    )
    assert (job.store_id, job.terminal_id, job.reference) == (7, 12, receipt.sale_number)
    assert (job.printer_id, job.transport_spec, job.columns) == (
        "tcp:127.0.0.1:9",
        "tcp:127.0.0.1:9",
        48,
    )
    assert job.data == receipts.render(receipt, fmt="escpos")
    assert job.preview_text + "\n" == receipts.render(receipt, fmt="text").decode()
    assert msgspec.json.decode(job.document)["sale_number"] == receipt.sale_number


async def test_enqueue_with_a_58mm_profile_lays_out_32_columns(db, samples) -> None:
    receipt = samples.receipt("en")
    job_id = await receipts.enqueue_receipt(
        receipt,
        store_id=7,
        terminal_id=12,
        printer_spec="serial:/dev/ttyUSB0,9600",
        reference="S-1",
        profile="xprinter-xp58",
        printer_name="till-12-printer",
    )
    job = await DatabaseSpoolStore().get(job_id)
    assert job is not None
    assert (job.printer_id, job.columns, job.profile) == ("till-12-printer", 32, "xprinter-xp58")
    assert job.data == render_document(receipt, "xprinter-xp58")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"printer_spec": "usb:0x0416"}, "printer_spec"),
        ({"profile": "nope"}, "profile"),
        ({"columns": 200}, "columns"),
        ({"reference": "x" * 101}, "reference"),
    ],
)
async def test_a_bad_enqueue_names_the_field_and_stores_nothing(
    db, samples, changes, field
) -> None:
    arguments = {
        "store_id": 7,
        "terminal_id": 12,
        "printer_spec": "tcp:127.0.0.1:9",
        "reference": "S-1",
        **changes,
    }
    with pytest.raises(InvalidPrintRequest) as raised:
        await receipts.enqueue_receipt(samples.receipt("en"), **arguments)
    assert raised.value.field == field
    assert await DatabaseSpoolStore().list_jobs() == []


async def test_a_copy_is_marked_reprint_and_does_not_open_the_drawer(db, samples) -> None:
    receipt = samples.receipt("zh-CN")
    assert any(payment.kind == "cash" for payment in receipt.payments)
    job_id = await receipts.enqueue_receipt(
        receipt, store_id=7, terminal_id=12, printer_spec="tcp:127.0.0.1:9", reference="S-1"
    )
    job = await DatabaseSpoolStore().get(job_id)
    assert job is not None and DRAWER_KICK in job.data
    data, text = receipts.copy_bytes(job)
    assert DRAWER_KICK not in data
    printed = [line.text for line in decode_escpos(data)]
    assert printed[0] == "重印 REPRINT"
    assert printed[1].startswith("重印时间: ")
    assert text.splitlines()[0].replace(" ", "") == "重印REPRINT"  # double width on screen
    assert receipt.sale_number in "\n".join(printed)


def test_a_copy_of_a_job_stored_as_bytes_only_keeps_its_bytes_behind_the_mark(samples) -> None:
    from datetime import UTC, datetime

    from printers.spool import PrintJob

    data = render_document(samples.top_up("zh-CN"), "generic-58")
    now = datetime.now(UTC)
    job = PrintJob(
        id=1,
        printer_id="p",
        document_kind="top_up",
        data=data,
        created_at=now,
        next_attempt_at=now,
        columns=32,
        profile="generic-58",
    )
    copy, _ = receipts.copy_bytes(job)
    assert copy.endswith(data.replace(DRAWER_KICK, b""))
    assert decode_escpos(copy)[0].text == "重印 REPRINT"


def test_a_job_whose_document_no_longer_decodes_is_copied_from_its_bytes(samples) -> None:
    from datetime import UTC, datetime

    from printers.spool import PrintJob

    data = render_document(samples.receipt("en"), "generic-80")
    now = datetime.now(UTC)
    job = PrintJob(
        id=1,
        printer_id="p",
        document_kind="receipt",
        data=data,
        created_at=now,
        next_attempt_at=now,
        document='{"type": "receipt", "renamed_field": 1}',
        preview_text="old text",
    )
    copy, text = receipts.copy_bytes(job)
    assert copy.endswith(data.replace(DRAWER_KICK, b""))
    assert text.endswith("old text")
    assert receipts.job_preview(job, "text") == b"old text\n"
