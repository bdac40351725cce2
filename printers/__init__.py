"""Receipts on paper: layout of receipts and slips, ESC/POS rendering, printer transports
(serial, network, file, preview) and the print spool that loses no job when a printer fails.

Renders what ``pos_gateway`` hands it; imports no domain tables. The gateway's entry points
are ``printers.receipts.render`` (bytes for a sale's receipt: ESC/POS, text or PNG) and
``printers.receipts.enqueue_receipt`` (a durable print job); ``printers.api`` gives tills
their queue, retries and manager-approved reprints, and HQ its previews.
"""

from printers.cli import print_test
from printers.escpos_render import (
    PRINTER_PROFILES,
    PrinterProfile,
    decode_escpos_text,
    printer_profile,
    render_document,
    render_escpos,
)
from printers.layout import (
    CardIssueSlip,
    Document,
    EndOfDaySummary,
    PrintOp,
    Receipt,
    RefundSlip,
    TopUpSlip,
    document_kind,
    layout_document,
)
from printers.preview import preview_png, preview_text
from printers.spool import InMemorySpoolStore, PrintJob, Spool, SpoolStore, UnknownPrinter
from printers.transports import PrinterUnavailable, Transport, parse_transport

__all__ = [
    "PRINTER_PROFILES",
    "CardIssueSlip",
    "Document",
    "EndOfDaySummary",
    "InMemorySpoolStore",
    "PrintJob",
    "PrintOp",
    "PrinterProfile",
    "PrinterUnavailable",
    "Receipt",
    "RefundSlip",
    "Spool",
    "SpoolStore",
    "TopUpSlip",
    "Transport",
    "UnknownPrinter",
    "decode_escpos_text",
    "document_kind",
    "layout_document",
    "parse_transport",
    "preview_png",
    "preview_text",
    "print_test",
    "printer_profile",
    "render_document",
    "render_escpos",
]
