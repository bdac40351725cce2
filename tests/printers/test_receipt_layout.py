"""Receipt and slip layout: what is on the paper, in which language, masked how, at what time,
and that every line fits the paper in display columns."""

from __future__ import annotations

from datetime import datetime

import msgspec
import pytest

from printers.columns import display_width
from printers.layout import (
    LABELS,
    Barcode,
    Cut,
    Member,
    OpenDrawer,
    Payment,
    QrCode,
    Receipt,
    Store,
    TextLine,
    document_kind,
    layout_document,
    mask_card_number,
    money,
)
from printers.preview import preview_text


def texts(ops: list) -> list[str]:
    return [op.text for op in ops if isinstance(op, TextLine)]


@pytest.mark.parametrize("columns", [32, 42, 48])
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_every_line_of_every_document_fits_the_paper(samples, columns: int, locale: str) -> None:
    for document in samples.all(locale):
        for op in layout_document(document, columns):
            if isinstance(op, TextLine):
                width = display_width(op.text) * (2 if op.size == "double" else 1)
                assert width <= columns, (type(document).__name__, op)


def test_labels_exist_in_both_languages() -> None:
    assert all(set(translations) == {"zh-CN", "en"} for translations in LABELS.values())


def test_chinese_receipt_uses_chinese_labels_and_english_receipt_english_ones(samples) -> None:
    chinese = "\n".join(texts(layout_document(samples.receipt("zh-CN"), 48)))
    english = "\n".join(texts(layout_document(samples.receipt("en"), 48)))
    assert "购物小票" in chinese and "应付" in chinese and "找零" in chinese
    assert "SALES RECEIPT" in english and "TOTAL" in english and "Change" in english
    assert "应付" not in english


def test_time_is_printed_in_the_store_time_zone(samples) -> None:
    receipt = samples.receipt("zh-CN")  # sold at 06:30:05 UTC
    assert any("2025-03-08 14:30:05" in line for line in texts(layout_document(receipt, 48)))
    in_urumqi = msgspec.structs.replace(
        receipt, store=msgspec.structs.replace(receipt.store, time_zone="Asia/Urumqi")
    )
    assert any("2025-03-08 12:30:05" in line for line in texts(layout_document(in_urumqi, 48)))


def test_a_naive_sale_time_is_refused(samples) -> None:
    with pytest.raises(ValueError, match="time-zone-aware"):
        msgspec.structs.replace(samples.receipt("zh-CN"), sold_at=datetime(2025, 3, 8, 14, 30))


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="IANA"):
        Store(code="X", name="X", time_zone="Mars/Olympus")


def test_card_number_shows_only_its_last_four_digits(samples) -> None:
    lines = "\n".join(texts(layout_document(samples.receipt("zh-CN"), 32)))
    assert "****9012" in lines
    assert "8800012345679012" not in lines
    assert mask_card_number("8800012345679012") == "****9012"


def test_a_phone_that_is_not_masked_cannot_reach_a_receipt() -> None:
    with pytest.raises(ValueError, match="masked"):
        Member(card_number="8800012345679012", masked_phone="13812341234")


def test_amounts_use_the_full_width_yuan_sign() -> None:
    assert money(12_345, "CNY") == "￥123.45"
    assert money(-100, "CNY") == "-￥1.00"
    assert money(12_345, "USD") == "$123.45"


def test_receipt_has_member_qr_sale_barcode_and_ends_with_a_cut(samples) -> None:
    ops = layout_document(samples.receipt("zh-CN"), 48)
    assert QrCode(payload="https://m.freshjoy.cn/me?c=9012") in ops
    assert Barcode(data="2503080012030042") in ops
    assert isinstance(ops[-1], Cut)


def test_drawer_opens_only_when_cash_was_taken(samples) -> None:
    receipt = samples.receipt("zh-CN")
    assert isinstance(layout_document(receipt, 48)[0], OpenDrawer)
    by_card = msgspec.structs.replace(
        receipt, payments=(Payment(kind="bank_card", amount_minor=17_950),)
    )
    assert not any(isinstance(op, OpenDrawer) for op in layout_document(by_card, 48))
    assert not any(
        isinstance(op, OpenDrawer) for op in layout_document(samples.card_issue("zh-CN"), 48)
    )


def test_narrow_paper_puts_quantity_and_price_under_the_item_name(samples) -> None:
    lines = texts(layout_document(samples.receipt("zh-CN"), 32))
    name_index = lines.index("有机菠菜")
    assert lines[name_index + 2] == "  3 x ￥12.50" + " " * 12 + "￥37.50"


def test_wide_paper_puts_quantity_price_and_amount_in_columns(samples) -> None:
    lines = texts(layout_document(samples.receipt("zh-CN"), 48))
    row = next(line for line in lines if line.startswith("有机菠菜"))
    assert display_width(row) == 48 and row.endswith("￥37.50")
    header = next(line for line in lines if line.startswith("商品"))
    assert header.endswith("金额")


def test_item_discount_reason_and_salespeople_are_printed(samples) -> None:
    lines = texts(layout_document(samples.receipt("en"), 32))
    assert any(line.startswith("  Member price") and line.endswith("-￥20.00") for line in lines)
    assert "  Sales: 张敏, Tom Lee" in lines


def test_member_block_shows_points_stored_value_and_expiry(samples) -> None:
    lines = texts(layout_document(samples.receipt("zh-CN"), 32))
    assert any(line.startswith("本次积分") and line.endswith("+179") for line in lines)
    assert any(line.startswith("积分余额") and line.endswith("12,345") for line in lines)
    assert any(line.startswith("储值余额") and line.endswith("￥150.00") for line in lines)
    assert "300 积分将于 2025-03-31 到期" in lines
    assert any(line.startswith("手机") and line.endswith("138****1234") for line in lines)


def test_end_of_day_summary_totals_by_payment_kind(samples) -> None:
    lines = texts(layout_document(samples.end_of_day("en"), 48))
    assert any(
        line.startswith("  Bank card 201 x") and line.endswith("￥50,120.00") for line in lines
    )
    assert any(line.startswith("Points issued") and line.endswith("84,101") for line in lines)


def test_document_kind_names_the_spool_uses(samples) -> None:
    kinds = [document_kind(document) for document in samples.all("zh-CN")]
    assert kinds == ["receipt", "top_up", "card_issue", "refund", "end_of_day"]


def test_documents_cross_the_wire_as_json_and_come_back_equal(samples) -> None:
    receipt = samples.receipt("zh-CN")
    assert msgspec.json.decode(msgspec.json.encode(receipt), type=Receipt) == receipt


def test_text_preview_is_laid_out_like_the_paper(samples) -> None:
    lines = preview_text(layout_document(samples.receipt("zh-CN"), 32), 32)
    assert all(display_width(line) <= 32 for line in lines)
    assert lines[4] == " " * 12 + "购物小票"
    assert any(line.strip() == "[||| 2503080012030042 |||]" for line in lines)


def test_large_amounts_widen_their_column_instead_of_wrapping(samples) -> None:
    receipt = samples.receipt("zh-CN")
    expensive = msgspec.structs.replace(
        receipt.lines[0],
        quantity=1_000,
        unit_price_minor=1_680_000,
        line_amount_minor=1_680_000_000,
    )
    receipt = msgspec.structs.replace(receipt, lines=(expensive,))
    lines = texts(layout_document(receipt, 48))
    row = next(line for line in lines if line.startswith("农夫山泉"))
    assert row.endswith(" 1000 ￥16,800.00 ￥16,800,000.00")
    assert display_width(row) == 48


def test_a_payment_kind_the_labels_do_not_know_prints_under_its_own_name(samples) -> None:
    import msgspec

    from printers.layout import Payment

    receipt = msgspec.structs.replace(
        samples.receipt("zh-CN"),
        payments=(Payment(kind="wechat_pay", amount_minor=100),),  # type: ignore[arg-type]
    )
    lines = texts(layout_document(receipt, 32))
    assert any(line.startswith("wechat_pay") for line in lines)
