"""The printer test page behind ``memberpos print-test``: is the printer wired, does it print
Chinese, do the columns line up, do the QR code, the barcode and the cutter work.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime

from printers.escpos_render import (
    PRINTER_PROFILES,
    printer_profile,
    profile_for_columns,
    render_escpos,
)
from printers.layout import (
    Locale,
    Page,
    Payment,
    PrintOp,
    Receipt,
    ReceiptLine,
    Store,
    Totals,
    layout_receipt,
)
from printers.transports import PrinterUnavailable, parse_transport

TEST_PAGE_TIME = datetime(2025, 1, 1, 4, 0, tzinfo=UTC)


def build_test_page(
    width: int, locale: Locale = "zh-CN", *, transport_spec: str = "", profile_name: str = ""
) -> list[PrintOp]:
    """The test page: a bilingual banner, column rulers, then a sample receipt mixing
    Chinese and English names, ¥ amounts, a QR code, a barcode and the cut."""
    page = Page(width, locale)
    page.line("打印测试 PRINT TEST", bold=True, size="double", align="center")
    if profile_name:
        page.pair("型号 Profile", profile_name)
    page.pair("宽度 Columns", str(width))
    if transport_spec:
        page.line(f"接口 Transport: {transport_spec}")
    page.rule("=")
    # Rulers: the digits must end exactly at the right edge, the Chinese one with them.
    page.rows(["".join(str(column % 10) for column in range(1, width + 1))])
    page.rows(["中" * (width // 2)])
    page.pair("中文左 Left", "右 Right ￥1,234.56")
    test_receipt = Receipt(
        store=Store(code="TEST", name="会员收银 memberpos", address="打印测试页 Test page"),
        terminal_code="T00",
        cashier_name="测试 Test",
        sale_number="TEST-0001",
        sold_at=TEST_PAGE_TIME,
        locale=locale,
        lines=(
            ReceiptLine(
                name="可口可乐 Coca-Cola 330ml",
                sku="6928804011173",
                quantity=2,
                unit_price_minor=350,
                line_amount_minor=700,
            ),
            ReceiptLine(
                name="Organic 有机全脂牛奶 Whole Milk 1L",
                sku="6907992100128",
                quantity=1,
                unit_price_minor=1_880,
                line_amount_minor=1_880,
                salespeople=("李娜",),
            ),
            ReceiptLine(
                name="English-only item with a rather long name that has to wrap",
                sku="0000000000017",
                quantity=3,
                unit_price_minor=99_999,
                line_amount_minor=299_997,
            ),
        ),
        totals=Totals(gross_minor=302_577, discount_minor=0, net_minor=302_577),
        # A bank card, not cash: a test page must not open the cash drawer.
        payments=(Payment(kind="bank_card", amount_minor=302_577, reference="**** 0000"),),
        member_page_url="https://memberpos.example/print-test",
    )
    return page.ops + layout_receipt(test_receipt, width)


def print_test(
    transport_spec: str, width: int = 48, locale: Locale = "zh-CN", profile: str | None = None
) -> None:
    """Print the test page through ``transport_spec`` (``serial:/dev/ttyUSB0,9600``,
    ``tcp:HOST:PORT``, ``file:PATH``, ``preview:``).

    The page is laid out ``width`` columns wide; the printer ``profile`` (by default the
    generic one of that width) decides Chinese mode, native QR and the cutter. Raises
    ``PrinterUnavailable`` when the printer does not take it.
    """
    printer = printer_profile(profile) if profile else profile_for_columns(width)
    transport = parse_transport(transport_spec)
    ops = build_test_page(width, locale, transport_spec=transport_spec, profile_name=printer.name)
    transport.send(render_escpos(ops, printer))


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _run_print_test(args: argparse.Namespace) -> int:
    """``memberpos print-test``: no database, only the printer."""
    try:
        profile = printer_profile(args.profile) if args.profile else None
        width = args.columns or (profile.columns if profile else 48)
        if profile is not None and width > profile.columns:
            raise ValueError(
                f"--columns {width} is wider than the {profile.name} printer "
                f"({profile.columns} columns)"
            )
        for attempt in range(1, args.attempts + 1):
            try:
                print_test(args.transport, width, args.locale, args.profile)
                break
            except PrinterUnavailable as error:
                if attempt == args.attempts:
                    raise
                print(
                    f"memberpos print-test: attempt {attempt} failed ({error}); "
                    f"trying again in {args.retry_delay:g} s",
                    file=sys.stderr,
                )
                time.sleep(args.retry_delay)
    except ValueError as error:
        print(f"memberpos print-test: {error}", file=sys.stderr)
        return 2
    except PrinterUnavailable as error:
        print(f"memberpos print-test: printer unavailable ({error})", file=sys.stderr)
        return 1
    if not args.transport.lower().startswith("preview:"):
        print(f"memberpos print-test: test page sent to {args.transport} ({width} columns)")
    return 0


async def _print_spool(once: bool, interval: float) -> int:
    from memberpos.db import close_pool, start_pool
    from printers.receipts import durable_spool

    await start_pool()
    try:
        spool = durable_spool()
        while True:
            for job in await spool.retry_due():
                outcome = job.status
                if job.status != "printed":
                    outcome += f" ({job.last_error_reason}: {job.last_error})"
                print(
                    f"print job {job.id} {job.document_kind} {job.reference} on "
                    f"{job.printer_id}: {outcome}",
                    flush=True,
                )
            if once:
                return 0
            await asyncio.sleep(interval)
    finally:
        await close_pool()


def _run_print_spool(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_print_spool(args.once, args.interval))
    except KeyboardInterrupt:
        return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``memberpos print-test``: the test page, straight to a printer (no database);
    ``memberpos print-spool``: the worker that sends the spooled jobs."""
    command = subparsers.add_parser(
        "print-test",
        help="print a test page in Chinese and English (no database needed)",
        description="Print the test page through a transport: serial:/dev/ttyUSB0,9600 "
        "(also ,8N1 and rtscts|xonxoff), tcp:HOST:PORT (port 9100 by default), "
        "file:PATH (a file or /dev/usb/lp0), or preview: (the text on standard output).",
    )
    command.add_argument(
        "--transport",
        required=True,
        help="serial:PORT,BAUD[,8N1][,rtscts] | tcp:HOST[:PORT] | file:PATH | preview:",
    )
    command.add_argument(
        "--columns",
        type=int,
        choices=(32, 48),
        default=None,
        help="paper width: 32 (58 mm) or 48 (80 mm); default the profile's, else 48",
    )
    command.add_argument(
        "--profile",
        choices=sorted(PRINTER_PROFILES),
        default=None,
        help="printer model (Chinese mode, native QR, cutter)",
    )
    command.add_argument("--locale", choices=("zh-CN", "en"), default="zh-CN")
    command.add_argument(
        "--attempts",
        type=_positive_int,
        default=1,
        help="tries before giving up, for a printer that is waking up (default 1)",
    )
    command.add_argument(
        "--retry-delay", type=float, default=2.0, help="seconds between tries (default 2)"
    )
    command.set_defaults(run=_run_print_test)

    worker = subparsers.add_parser(
        "print-spool",
        help="send the queued print jobs, retrying failed printers with backoff",
        description="The print spool worker: every few seconds, each printer's due jobs in "
        "order, through the transport each job names. Any number of workers may run; a job "
        "is printed by one of them.",
    )
    worker.add_argument("--once", action="store_true", help="one pass, then exit")
    worker.add_argument(
        "--interval", type=float, default=2.0, help="seconds between passes (default 2)"
    )
    worker.set_defaults(run=_run_print_spool)
