"""The test page behind ``memberpos print-test`` and the PNG preview, with or without a font
that can draw Chinese."""

from __future__ import annotations

from pathlib import Path

import pytest

from printers import preview
from printers.cli import build_test_page, print_test
from printers.columns import display_width
from printers.escpos_render import decode_escpos, render_escpos
from printers.layout import Barcode, Cut, QrCode, TextLine, layout_document
from printers.preview import preview_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("width", [32, 48])
def test_test_page_goes_to_a_file_in_chinese_and_english(tmp_path: Path, width: int) -> None:
    target = tmp_path / "lp0"
    print_test(f"file:{target}", width=width)
    lines = decode_escpos(target.read_bytes())
    texts = [line.text for line in lines]
    assert "1234567890" in texts[next(i for i, t in enumerate(texts) if t.startswith("1234"))]
    assert any("可口可乐 Coca-Cola" in text for text in texts)
    assert any("￥" in text for text in texts)
    assert all(display_width(line.text) * line.width_multiplier <= width for line in lines)
    assert "?" not in "".join(texts)


def test_test_page_has_qr_barcode_and_cut_and_no_drawer_kick() -> None:
    ops = build_test_page(48, "en")
    assert any(isinstance(op, QrCode) for op in ops)
    assert any(isinstance(op, Barcode) for op in ops)
    assert isinstance(ops[-1], Cut)
    assert b"\x1bp" not in render_escpos(ops, "generic-80")


def test_column_ruler_fills_the_line_exactly() -> None:
    rulers = [op.text for op in build_test_page(32) if isinstance(op, TextLine)][3:6]
    assert [display_width(text) for text in rulers[:2]] == [32, 32]


def test_preview_png_is_drawn_without_any_chinese_font(samples, monkeypatch) -> None:
    monkeypatch.setattr(preview, "find_cjk_font", lambda: None)
    image = preview_png(layout_document(samples.receipt("zh-CN"), 32), 32)
    assert image.startswith(PNG_SIGNATURE)


def test_preview_png_uses_a_chinese_font_when_the_system_has_one(samples) -> None:
    font = preview.find_cjk_font()
    if font is None:
        pytest.skip("no font with Chinese glyphs on this machine (fc-list :lang=zh is empty)")
    image = preview_png(layout_document(samples.receipt("zh-CN"), 48), 48)
    assert image.startswith(PNG_SIGNATURE)
