"""What the POS gateway calls to answer a sale with its receipt: ``render`` for the bytes
(ESC/POS for the till's printer, text or PNG for a screen) and ``enqueue_receipt`` to put
the receipt in the durable spool for a printer the service reaches.

Copies (reprints) are re-rendered from the stored document with a 重印/REPRINT mark and
without the cash-drawer kick.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal, get_args

import msgspec

from memberpos.clock import utc_now
from printers.errors import InvalidPrintRequest
from printers.escpos_render import (
    PrinterProfile,
    decode_escpos_text,
    printer_profile,
    profile_for_columns,
    remove_drawer_kick,
    render_escpos,
)
from printers.layout import (
    Document,
    OpenDrawer,
    Page,
    PrintOp,
    Receipt,
    TextLine,
    document_kind,
    layout_document,
    local_time,
)
from printers.preview import preview_png, preview_text
from printers.spool import PrintJob, Spool
from printers.spool_store import DatabaseSpoolStore
from printers.transports import parse_transport

logger = logging.getLogger(__name__)

Format = Literal["escpos", "text", "png"]
FORMATS: tuple[str, ...] = get_args(Format)
# Narrower than 58 mm paper or wider than any 80 mm printer's font A.
MIN_COLUMNS, MAX_COLUMNS = 24, 64

COPY_MARK = "重印 REPRINT"
COPY_TIME_LABEL = {"zh-CN": "重印时间", "en": "Reprinted"}


def _printer(columns: int, profile: str | None) -> tuple[PrinterProfile, int]:
    """The printer profile and the width the layout uses: ``columns``, but never wider than
    the profile's printer can print."""
    if not isinstance(columns, int) or not MIN_COLUMNS <= columns <= MAX_COLUMNS:
        raise InvalidPrintRequest(
            f"columns must be between {MIN_COLUMNS} and {MAX_COLUMNS} (32 for 58 mm paper, "
            "48 for 80 mm)",
            field="columns",
        )
    if profile:
        try:
            printer = printer_profile(profile)
        except ValueError as error:
            raise InvalidPrintRequest(str(error), field="profile") from None
        return printer, min(columns, printer.columns)
    return profile_for_columns(columns), columns


def copy_ops(document: Document, columns: int, at: datetime) -> list[PrintOp]:
    """A copy of ``document``: marked 重印/REPRINT with the time of the copy, at the top,
    and without opening the cash drawer."""
    page = Page(columns, document.locale)
    page.line(COPY_MARK, bold=True, size="double", align="center")
    page.line(
        f"{COPY_TIME_LABEL[document.locale]}: {local_time(at, document.store)}", align="center"
    )
    page.rule("*")
    body = [op for op in layout_document(document, columns) if not isinstance(op, OpenDrawer)]
    return page.ops + body


def render_ops(ops: list[PrintOp], *, columns: int, printer: PrinterProfile, fmt: str) -> bytes:
    if fmt == "escpos":
        return render_escpos(ops, printer)
    if fmt == "text":
        return ("\n".join(preview_text(ops, columns)) + "\n").encode("utf-8")
    if fmt == "png":
        return preview_png(ops, columns)
    raise InvalidPrintRequest(f"fmt must be one of {', '.join(FORMATS)}", field="fmt")


def render_document_as(
    document: Document,
    *,
    columns: int = 48,
    fmt: Format,
    profile: str | None = None,
    copy_at: datetime | None = None,
) -> bytes:
    """Any document (receipt or slip) as ESC/POS bytes, UTF-8 text or a PNG; a marked copy
    without the drawer kick when ``copy_at`` is given."""
    printer, width = _printer(columns, profile)
    if copy_at is None:
        ops = layout_document(document, width)
    else:
        ops = copy_ops(document, width, copy_at)
    return render_ops(ops, columns=width, printer=printer, fmt=fmt)


def render(
    receipt: Receipt, *, columns: int = 48, fmt: Format, profile: str | None = None
) -> bytes:
    """A sale's receipt: ``escpos`` bytes for the printer, ``text`` (UTF-8) or ``png`` for
    a screen.

    ``columns`` is the paper width (32 for 58 mm, 48 for 80 mm); ``profile`` names a
    printer model (``generic-58``, ``generic-80``, ``xprinter-xp58``, ``epson-tm-t88``),
    whose own width caps ``columns``. Without one, the generic printer of that width.
    Raises ``InvalidPrintRequest`` (400, naming the field) for a bad width, profile or
    format.
    """
    if not isinstance(receipt, Receipt):
        raise InvalidPrintRequest("receipt must be a printers.layout.Receipt", field="receipt")
    return render_document_as(receipt, columns=columns, fmt=fmt, profile=profile)


def encode_document(document: Document) -> str:
    return msgspec.json.encode(document).decode("utf-8")


def decode_document(text: str) -> Document | None:
    """The stored document of a job, or None for jobs stored as bytes only (or whose
    document no longer reads as today's model: their bytes still print and copy)."""
    if not text:
        return None
    try:
        return msgspec.json.decode(text, type=Document)  # type: ignore[arg-type]
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
        logger.warning("print job document does not decode; using its stored bytes")
        return None


def _check_transport(printer_spec: str) -> None:
    try:
        parse_transport(printer_spec)
    except ValueError as error:
        raise InvalidPrintRequest(str(error), field="printer_spec") from None


def durable_spool(**options: object) -> Spool:
    """A spool on the database that reaches each printer through the transport its jobs
    name: what the HTTP handlers and ``memberpos print-spool`` use."""
    return Spool(DatabaseSpoolStore(), transport_factory=parse_transport, **options)  # type: ignore[arg-type]


async def enqueue_document(
    document: Document,
    *,
    store_id: int | None,
    terminal_id: int | None,
    printer_spec: str,
    reference: str,
    columns: int | None = None,
    profile: str | None = None,
    printer_name: str | None = None,
) -> PrintJob:
    """Render ``document`` and store it as a queued job; nothing is sent yet."""
    printer, width = _printer(columns or (printer_profile_columns(profile) or 48), profile)
    _check_transport(printer_spec)
    if len(reference) > 100:
        raise InvalidPrintRequest("reference is at most 100 characters", field="reference")
    ops = layout_document(document, width)
    return await durable_spool().submit(
        printer_name or printer_spec,
        document_kind(document),
        render_escpos(ops, printer),
        transport_spec=printer_spec,
        profile=printer.name,
        columns=width,
        reference=reference,
        preview_text="\n".join(preview_text(ops, width)),
        document=encode_document(document),
        store_id=store_id,
        terminal_id=terminal_id,
    )


def printer_profile_columns(profile: str | None) -> int | None:
    if not profile:
        return None
    try:
        return printer_profile(profile).columns
    except ValueError as error:
        raise InvalidPrintRequest(str(error), field="profile") from None


async def enqueue_receipt(
    receipt: Receipt,
    *,
    store_id: int,
    terminal_id: int,
    printer_spec: str,
    reference: str,
    columns: int | None = None,
    profile: str | None = None,
    printer_name: str | None = None,
) -> int:
    """Store the sale's receipt as a print job before anything is sent; its id.

    ``printer_spec`` is how the service reaches the printer (``tcp:HOST:PORT``,
    ``serial:/dev/ttyUSB0,9600``, ``file:PATH``, ``preview:``); it also names the printer's
    queue unless ``printer_name`` does. ``reference`` is the sale number. The width is
    ``columns``, else the profile's, else 48. The job prints when a spool worker
    (``memberpos print-spool``) or a retry from the till sends it.
    """
    if not isinstance(receipt, Receipt):
        raise InvalidPrintRequest("receipt must be a printers.layout.Receipt", field="receipt")
    job = await enqueue_document(
        receipt,
        store_id=store_id,
        terminal_id=terminal_id,
        printer_spec=printer_spec,
        reference=reference,
        columns=columns,
        profile=profile,
        printer_name=printer_name,
    )
    return job.id


def copy_bytes(job: PrintJob, at: datetime | None = None) -> tuple[bytes, str]:
    """The ESC/POS bytes and text preview of a copy of ``job``: re-rendered from its
    document with the copy mark, or, for a job stored as bytes only, its bytes without the
    drawer kick behind a printed mark."""
    at = at or utc_now()
    printer, width = _printer(job.columns, job.profile or None)
    document = decode_document(job.document)
    if document is not None:
        ops = copy_ops(document, width, at)
        return render_escpos(ops, printer), "\n".join(preview_text(ops, width))
    page = Page(width, "zh-CN")
    page.line(COPY_MARK, bold=True, size="double", align="center")
    page.rule("*")
    # The mark's own bytes end in a line feed; the job's bytes start with ESC @, which
    # resets every style the mark set.
    data = render_escpos(page.ops, printer) + remove_drawer_kick(job.data)
    text = "\n".join(preview_text(page.ops, width))
    return data, f"{text}\n{job.preview_text}" if job.preview_text else text


def job_preview(job: PrintJob, fmt: Literal["text", "png"]) -> bytes:
    """A stored job as a screen shows it: drawn from its document when it has one, else from
    the text its bytes print."""
    document = decode_document(job.document)
    printer, width = _printer(job.columns, job.profile or None)
    if document is not None:
        if job.reprint_of is not None:
            ops = copy_ops(document, width, job.created_at)
        else:
            ops = layout_document(document, width)
        return render_ops(ops, columns=width, printer=printer, fmt=fmt)
    lines = job.preview_text.splitlines() or decode_escpos_text(job.data)
    if fmt == "text":
        return ("\n".join(lines) + "\n").encode("utf-8")
    return preview_png([TextLine(text=line) for line in lines], width)
