"""The end-of-day (Z) summary from plain figures: totals that agree with each other, the cash
the drawer should hold, and a slip that fits both paper widths."""

from __future__ import annotations

from datetime import date

import pytest

from printers import receipts
from printers.columns import display_width
from printers.end_of_day import RefundFigures, SaleFigures, TopUpFigures, end_of_day_summary
from printers.escpos_render import decode_escpos
from printers.layout import layout_document

SALES = [
    SaleFigures(gross_minor=10_000, discount_minor=1_000, payments=(("cash", 9_000),)),
    SaleFigures(
        gross_minor=5_000,
        payments=(("bank_card", 3_000), ("points", 500), ("stored_value", 1_500)),
        points_earned=30,
        points_used=500,
    ),
    SaleFigures(
        gross_minor=2_000,
        discount_minor=200,
        payments=(("cash", 1_000), ("cash", 800)),
        points_earned=18,
    ),
]


def summary(samples, **changes):
    arguments = {
        "sales": SALES,
        "refunds": [RefundFigures(amount_minor=1_200, cash_minor=1_200)],
        "top_ups": [TopUpFigures(amount_minor=50_000, cash_minor=20_000)],
        **changes,
    }
    store = samples.end_of_day("zh-CN").store
    return end_of_day_summary(
        store, date(2025, 3, 8), samples.end_of_day("zh-CN").printed_at, **arguments
    )


def test_totals_add_up_and_payment_kinds_sum_to_the_net(samples) -> None:
    z = summary(samples)
    assert (z.sales_count, z.gross_minor, z.discount_minor, z.net_minor) == (
        3,
        17_000,
        1_200,
        15_800,
    )
    assert [(t.kind, t.count, t.amount_minor) for t in z.by_payment_kind] == [
        ("cash", 2, 10_800),  # the sale paid in two cash lines counts once
        ("bank_card", 1, 3_000),
        ("stored_value", 1, 1_500),
        ("points", 1, 500),
    ]
    assert sum(t.amount_minor for t in z.by_payment_kind) == z.net_minor
    assert (z.refunds_count, z.refunds_minor, z.top_ups_count, z.top_ups_minor) == (
        1,
        1_200,
        1,
        50_000,
    )
    assert (z.points_issued, z.points_redeemed) == (48, 500)
    assert z.cash_expected_minor == 10_800 - 1_200 + 20_000


def test_an_empty_day_prints_zeros(samples) -> None:
    z = summary(samples, sales=[], refunds=[], top_ups=[])
    assert (z.sales_count, z.net_minor, z.by_payment_kind, z.cash_expected_minor) == (0, 0, (), 0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sales": [SaleFigures(gross_minor=100, payments=(("cash", 90),))]}, "sales[0]"),
        ({"sales": [SaleFigures(gross_minor=100, discount_minor=101, payments=())]}, "discount"),
        (
            {"sales": [SaleFigures(gross_minor=0, payments=(("cash", -1), ("bank_card", 1)))]},
            "negative",
        ),
        ({"refunds": [RefundFigures(amount_minor=100, cash_minor=101)]}, "refunds[0]"),
        ({"top_ups": [TopUpFigures(amount_minor=100, cash_minor=-1)]}, "top_ups[0]"),
    ],
)
def test_figures_that_do_not_add_up_are_refused_naming_the_entry(samples, changes, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        summary(samples, **changes)


@pytest.mark.parametrize("columns", [32, 48])
def test_the_z_slip_fits_the_paper_and_shows_the_cash_expected(samples, columns) -> None:
    z = summary(samples)
    data = receipts.render_document_as(z, columns=columns, fmt="escpos")
    lines = decode_escpos(data)
    assert all(display_width(line.text) * line.width_multiplier <= columns for line in lines)
    texts = [line.text for line in lines]
    assert any(text.startswith("应有现金") and text.endswith("￥296.00") for text in texts)
    assert "?" not in "".join(texts)
    assert b"\x1bp" not in data  # printing the Z slip does not open the drawer


def test_without_the_cash_figure_the_slip_is_as_before(samples) -> None:
    texts = [op.text for op in layout_document(samples.end_of_day("en"), 48) if hasattr(op, "text")]
    assert not any("Cash expected" in text for text in texts)


async def test_a_z_slip_goes_through_the_spool_as_a_slip(db, samples) -> None:
    from printers.spool_store import DatabaseSpoolStore

    job = await receipts.enqueue_document(
        summary(samples),
        store_id=1,
        terminal_id=None,
        printer_spec="tcp:127.0.0.1:9",
        reference="Z-2025-03-08",
    )
    stored = await DatabaseSpoolStore().get(job.id)
    assert stored is not None
    assert (stored.kind, stored.document_kind, stored.reference) == (
        "slip",
        "end_of_day",
        "Z-2025-03-08",
    )
