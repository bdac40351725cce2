"""Display-column arithmetic for receipt printers: how wide a string prints, wrapping and padding.

A thermal printer in Chinese mode draws every double-byte character in a full cell, twice the
width of an ASCII one, so every width here is counted in printer columns, never in characters.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

Align = Literal["left", "center", "right"]


def char_width(character: str) -> int:
    """Printer columns taken by one character: 2 for full-width, 0 for combining, else 1.

    East Asian Width W and F are two columns, as are the Ambiguous ones (A): "·", "×", "é",
    Greek and Cyrillic are double-byte in GB2312/GBK, so a Chinese printer draws them in a
    full cell, the same as a CJK ideograph.
    """
    if unicodedata.combining(character):
        return 0
    return 2 if unicodedata.east_asian_width(character) in ("W", "F", "A") else 1


def display_width(text: str) -> int:
    """Printer columns taken by ``text``."""
    return sum(char_width(character) for character in text)


def printable_text(text: str) -> str:
    """``text`` as it may go to a printer: control characters become spaces, ``¥`` ``￥``.

    Names typed at a till end up on paper; an ESC or GS byte inside a product name would be
    read by the printer as a command (a drawer kick, a cut), so none reaches the printer.
    The half-width ``¥`` (U+00A5) is a four-byte sequence in GB18030 that GBK-only printers
    cannot draw; the full-width ``￥`` (U+FFE5) is in GB2312, so every Chinese printer has it.
    """
    return "".join(
        " "
        if unicodedata.category(character) in ("Cc", "Cf", "Zl", "Zp")
        else "￥"
        if character == "¥"
        else character
        for character in text
    )


def truncate(text: str, columns: int) -> str:
    """The longest prefix of ``text`` that fits in ``columns``."""
    used = 0
    for index, character in enumerate(text):
        used += char_width(character)
        if used > columns:
            return text[:index]
    return text


def _tokens(text: str) -> list[str]:
    """Split into wrap units: runs of spaces, runs of narrow non-space characters (words),
    and single wide characters (a line may break between any two CJK characters)."""
    tokens: list[str] = []
    for character in text:
        if character == " ":
            kind = "space"
        elif char_width(character) == 2:
            kind = "wide"
        else:
            kind = "word"
        if tokens and kind != "wide":
            previous = tokens[-1]
            previous_kind = (
                "space"
                if previous[-1] == " "
                else "wide"
                if char_width(previous[-1]) == 2
                else "word"
            )
            if previous_kind == kind:
                tokens[-1] += character
                continue
        tokens.append(character)
    return tokens


def wrap(text: str, columns: int) -> list[str]:
    """Wrap ``text`` into lines of at most ``columns`` display columns.

    English breaks between words when it can; Chinese breaks between any two characters; a
    word longer than a line is split, but never inside a double-width character. Always at
    least one line (an empty one for empty text).
    """
    if columns < 2:
        raise ValueError("a line needs at least two columns to hold a double-width character")
    lines: list[str] = []
    current = ""
    current_width = 0
    for token in _tokens(printable_text(text)):
        token_width = display_width(token)
        if token[0] == " ":
            if current and current_width + token_width < columns:
                current += token
                current_width += token_width
            elif current:
                # A space run at the end of a line is dropped rather than carried over.
                lines.append(current)
                current, current_width = "", 0
            continue
        if current_width + token_width <= columns:
            current += token
            current_width += token_width
            continue
        if current.strip():
            lines.append(current.rstrip())
        current, current_width = "", 0
        while token_width > columns:
            head = truncate(token, columns)
            lines.append(head)
            token = token[len(head) :]
            token_width = display_width(token)
        current, current_width = token, token_width
    if current.strip() or not lines:
        lines.append(current.rstrip())
    return lines


def pad(text: str, columns: int, align: Align = "left") -> str:
    """``text`` padded with spaces to exactly ``columns`` (cut first if it is wider)."""
    text = truncate(text, columns)
    gap = columns - display_width(text)
    if align == "right":
        return " " * gap + text
    if align == "center":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    return text + " " * gap


def two_sides(left: str, right: str, columns: int) -> list[str]:
    """``left`` flush left and ``right`` flush right on one line, or on two when both
    do not fit with a space between (the right side then ends the second line)."""
    left_width, right_width = display_width(left), display_width(right)
    if left_width + 1 + right_width <= columns:
        return [left + " " * (columns - left_width - right_width) + right]
    lines = wrap(left, columns)
    last_width = display_width(lines[-1])
    if last_width + 1 + right_width <= columns:
        lines[-1] = lines[-1] + " " * (columns - last_width - right_width) + right
    else:
        lines.append(pad(right, columns, "right"))
    return lines


def table_row(cells: list[tuple[str, int, Align]]) -> list[str]:
    """Lay cells side by side, each ``(text, columns, align)``, one space between cells.

    A cell's text wraps inside its own column, so the row may take several lines; the
    other cells are blank on the continuation lines.
    """
    wrapped = [wrap(text, width) for text, width, _ in cells]
    height = max(len(lines) for lines in wrapped)
    rows: list[str] = []
    for line_number in range(height):
        parts = []
        for (_, width, align), lines in zip(cells, wrapped, strict=True):
            text = lines[line_number] if line_number < len(lines) else ""
            parts.append(pad(text, width, align))
        rows.append(" ".join(parts).rstrip())
    return rows
