"""Width math: Chinese characters take two printer columns, English one, and lines built from
both still line up, wrap without cutting a character in half, and keep amounts flush right."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from printers.columns import (
    display_width,
    pad,
    printable_text,
    table_row,
    truncate,
    two_sides,
    wrap,
)


def test_chinese_and_full_width_characters_count_two_columns_ascii_one() -> None:
    assert display_width("abc") == 3
    assert display_width("会员") == 4
    assert display_width("￥12.00") == 7
    assert display_width("可口可乐 Coca-Cola") == 18
    assert display_width("，") == 2


def test_combining_marks_take_no_column() -> None:
    assert display_width("e\u0301") == 1


def test_wrapping_mixed_text_breaks_english_between_words_and_chinese_anywhere() -> None:
    lines = wrap("Lavazza 意式浓缩咖啡豆 Espresso Italiano Classico 1kg", 20)
    assert lines == ["Lavazza 意式浓缩咖啡", "豆 Espresso Italiano", "Classico 1kg"]
    assert all(display_width(line) <= 20 for line in lines)


def test_wrapping_never_cuts_a_double_width_character_in_half() -> None:
    # 7 columns hold three Chinese characters (6 columns), never three and a half.
    assert wrap("会员积分兑换礼品", 7) == ["会员积", "分兑换", "礼品"]
    assert wrap("a会员积分", 4) == ["a会", "员积", "分"]


def test_a_word_longer_than_the_line_is_split() -> None:
    assert wrap("S0012-250308-0042-LONG", 10) == ["S0012-2503", "08-0042-LO", "NG"]


def test_empty_text_gives_one_empty_line() -> None:
    assert wrap("", 32) == [""]


def test_truncate_stops_before_a_character_that_does_not_fit() -> None:
    assert truncate("会员abc", 3) == "会"
    assert truncate("会员abc", 5) == "会员a"


def test_amounts_end_in_the_same_column_after_chinese_and_english_labels() -> None:
    lines = [
        *two_sides("应付", "￥179.50", 32),
        *two_sides("TOTAL", "￥179.50", 32),
        *two_sides("储值余额 Stored value", "￥1,150.00", 32),
    ]
    assert all(display_width(line) == 32 for line in lines)
    assert all(line.endswith(".50") or line.endswith(".00") for line in lines)


def test_a_label_too_long_for_one_line_puts_the_amount_flush_right_below() -> None:
    lines = two_sides("整单优惠 满100减10 满200减30 会员日加赠", "-￥10.00", 32)
    assert [display_width(line) for line in lines][-1] == 32
    assert lines[-1].endswith("-￥10.00")
    assert all(display_width(line) <= 32 for line in lines)


def test_padding_aligns_by_display_columns() -> None:
    assert pad("会员", 6, "right") == "  会员"
    assert pad("会员", 7, "center") == " 会员  "
    assert pad("ab", 4) == "ab  "


def test_table_rows_wrap_inside_their_cell_and_keep_columns_aligned() -> None:
    rows = table_row(
        [
            ("农夫山泉 天然饮用水 550ml", 20, "left"),
            ("2", 4, "right"),
            ("￥2.00", 10, "right"),
            ("￥4.00", 11, "right"),
        ]
    )
    assert rows == [
        "农夫山泉 天然饮用水 " + " " + "   2" + " " + "    ￥2.00" + " " + "     ￥4.00",
        "550ml",
    ]
    assert display_width(rows[0]) == 20 + 1 + 4 + 1 + 10 + 1 + 11


def test_control_characters_in_names_never_reach_the_printer() -> None:
    # An ESC p inside a product name would open the cash drawer.
    assert printable_text("可乐\x1bp\x00\n330ml") == "可乐 p  330ml"
    assert all(ord(character) >= 0x20 for character in printable_text("\x1b\x1d\x1c\t\r"))


def test_half_width_yen_becomes_the_full_width_sign_every_chinese_printer_has() -> None:
    assert printable_text("立减 ¥5") == "立减 ￥5"


_receipt_text = st.text(
    alphabet=st.sampled_from(list("abc XYZ 123 -.,") + list("会员积分￥，。漕溪")),
    max_size=80,
)


@settings(derandomize=True, max_examples=300, database=None, deadline=None)
@given(text=_receipt_text, columns=st.integers(min_value=2, max_value=48))
def test_wrapped_lines_fit_and_keep_every_non_space_character_in_order(
    text: str, columns: int
) -> None:
    lines = wrap(text, columns)
    assert all(display_width(line) <= columns for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
