"""The printer test page behind ``memberpos print-test``: is the printer wired, does it print
Chinese, do the columns line up, do the QR code, the barcode and the cutter work.
"""

from __future__ import annotations

from datetime import UTC, datetime

from printers.escpos_render import printer_profile, profile_for_columns, render_escpos
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
from printers.transports import parse_transport

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
