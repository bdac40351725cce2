"""ESC/POS rendering: the exact bytes of Chinese and English receipts on 58 and 80 mm paper,
text that decodes back without a single '?', Chinese mode, codes and the drawer per profile."""

from __future__ import annotations

import pytest

from printers.columns import display_width
from printers.escpos_render import (
    CHINESE_MODE_ON,
    PRINTER_PROFILES,
    EscposFormatError,
    code128_data,
    decode_escpos,
    decode_escpos_text,
    printer_profile,
    profile_for_columns,
    remove_drawer_kick,
    render_document,
    render_escpos,
)
from printers.layout import Barcode, Cut, OpenDrawer, QrCode, TextLine

DRAWER_KICK = b"\x1bp\x00\x32\x32"  # ESC p, pin 2, 50 × 2 ms on and off
FULL_CUT = b"\x1dV\x00"
NATIVE_QR_PRINT = b"\x1d(k\x03\x001Q0"
IMAGE_RASTER = b"\x1dv0"


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize("columns", [32, 48])
def test_receipt_bytes_match_the_golden_file(samples, golden, locale: str, columns: int) -> None:
    data = render_document(samples.receipt(locale), profile_for_columns(columns))
    golden(f"receipt-{locale}-{columns}.bin", data)


@pytest.mark.parametrize("profile_name", sorted(PRINTER_PROFILES))
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_decoded_lines_fit_the_paper_and_no_character_became_a_question_mark(
    samples, profile_name: str, locale: str
) -> None:
    profile = printer_profile(profile_name)
    for document in samples.all(locale):
        lines = decode_escpos(render_document(document, profile))
        assert lines, type(document).__name__
        for line in lines:
            assert display_width(line.text) * line.width_multiplier <= profile.columns, line
            assert "?" not in line.text, line


def test_decoded_receipt_reads_like_the_layout(samples) -> None:
    lines = decode_escpos_text(render_document(samples.receipt("zh-CN"), "generic-58"))
    assert lines[0] == "鲜悦生活超市 徐"  # double width: 16 columns hold 7 characters
    assert "购物小票" in lines
    assert "  3 x ￥12.50" + " " * 12 + "￥37.50" in lines
    assert "谢谢惠顾，欢迎再次光临" in lines


def test_yuan_sign_and_chinese_comma_alone_are_sent_as_gb18030() -> None:
    # python-escpos's text() turns this line into "?12.00?": it has no CJK ideograph.
    data = render_escpos([TextLine(text="￥12.00，")], "generic-80")
    assert "￥12.00，".encode("gb18030") + b"\n" in data
    assert decode_escpos_text(data) == ["￥12.00，"]


def test_chinese_mode_is_switched_on_first_where_the_profile_says_so() -> None:
    ops = [TextLine(text="会员")]
    assert render_escpos(ops, "generic-80").startswith(b"\x1b@" + CHINESE_MODE_ON)
    assert CHINESE_MODE_ON not in render_escpos(ops, "xprinter-xp58")


def test_headings_are_bold_and_double_size_with_gs_exclamation() -> None:
    data = render_escpos(
        [TextLine(text="鲜悦", bold=True, size="double", align="center")], "generic-80"
    )
    assert data == b"\x1b@\x1c&" + b"\x1ba\x01\x1bE\x01\x1d!\x11" + "鲜悦".encode("gb18030") + b"\n"
    assert decode_escpos(data)[0].width_multiplier == 2


def test_qr_is_native_where_the_printer_draws_it_and_an_image_elsewhere() -> None:
    ops = [QrCode(payload="https://m.freshjoy.cn/me?c=9012")]
    native = render_escpos(ops, "generic-80")
    assert NATIVE_QR_PRINT in native and b"https://m.freshjoy.cn/me?c=9012" in native
    assert IMAGE_RASTER not in native
    image = render_escpos(ops, "generic-58")
    assert IMAGE_RASTER in image and b"\x1d(k" not in image
    width_bytes = image[image.index(IMAGE_RASTER) + 4]
    assert width_bytes * 8 <= printer_profile("generic-58").dots_per_line


def test_sale_number_barcode_is_code128_starting_with_a_code_set() -> None:
    data = render_escpos([Barcode(data="TU0012-0007")], "generic-58")
    code = b"{BTU0012-{C\x00\x07"  # "0007" at the end goes two digits per symbol
    assert b"\x1dkI" + bytes([len(code)]) + code in data


def test_a_numeric_sale_number_fits_58_mm_paper_in_code_set_c() -> None:
    encoded, modules = code128_data("2503080012030042")
    assert encoded == "{C" + "".join(chr(pair) for pair in (25, 3, 8, 0, 12, 3, 0, 42))
    assert modules == 123
    data = render_escpos([Barcode(data="2503080012030042")], "generic-58")
    module_width = data[data.index(b"\x1dw") + 2]
    assert module_width == 3 and modules * module_width <= 384


def test_code128_escapes_a_literal_brace() -> None:
    assert code128_data("a{b")[0] == "{Ba{{b"


def test_a_barcode_too_wide_for_the_paper_is_printed_as_text() -> None:
    number = "S0012-250308-0042"  # 200 modules: 400 dots at the thinnest bars, paper has 384
    data = render_escpos([Barcode(data=number)], "generic-58")
    assert b"\x1dk" not in data
    assert decode_escpos_text(data) == [number]
    assert b"\x1dk" in render_escpos([Barcode(data=number)], "generic-80")


def test_cut_only_where_a_cutter_is_fitted() -> None:
    assert render_escpos([Cut()], "generic-80").endswith(FULL_CUT)
    assert FULL_CUT not in render_escpos([Cut()], "generic-58")


def test_drawer_kick_is_sent_for_cash_and_removed_for_reprints(samples) -> None:
    data = render_document(samples.receipt("zh-CN"), "generic-80")
    assert DRAWER_KICK in data
    copy = remove_drawer_kick(data)
    assert DRAWER_KICK not in copy
    assert len(copy) == len(data) - len(DRAWER_KICK)
    assert decode_escpos_text(copy) == decode_escpos_text(data)
    assert render_escpos([OpenDrawer()], "generic-58").endswith(DRAWER_KICK)


def test_removing_the_drawer_kick_leaves_image_bytes_that_look_like_one_alone(samples) -> None:
    # The QR image's raster bytes may contain ESC p by chance; only real commands go.
    data = render_document(samples.receipt("zh-CN"), "generic-58")
    image_start = data.index(IMAGE_RASTER)
    doctored = data[: image_start + 8] + DRAWER_KICK + data[image_start + 8 + len(DRAWER_KICK) :]
    assert remove_drawer_kick(doctored).count(DRAWER_KICK) == 1


def test_decoding_refuses_bytes_it_does_not_understand() -> None:
    with pytest.raises(EscposFormatError):
        decode_escpos_text(b"\x1b\x7fabc\n")


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="generic-58"):
        printer_profile("star-tsp100")
