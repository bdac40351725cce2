"""Receipt previews for screens: plain text and a PNG picture of the paper.

Both are drawn from the same print operations the ESC/POS renderer uses, so what the
manager sees on screen is laid out exactly like what the printer prints.
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import barcode as python_barcode  # python-escpos's own dependency for software barcodes
import qrcode  # python-escpos's own dependency for QR images
from PIL import Image, ImageDraw, ImageFont

from printers.columns import char_width, display_width, pad
from printers.layout import Barcode, Cut, Feed, OpenDrawer, PrintOp, QrCode, TextLine

# Fonts that draw Chinese, looked for when fontconfig is not there to ask.
COMMON_CJK_FONT_PATHS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simsun.ttc",
)

FONT_SIZE = 20
CELL_WIDTH = FONT_SIZE // 2  # one ASCII column; a Chinese character takes two
LINE_HEIGHT = FONT_SIZE + 6
MARGIN = 16


@functools.cache
def find_cjk_font() -> str | None:
    """Path of a font with Chinese glyphs: fontconfig's answer first, then usual places."""
    if shutil.which("fc-list"):
        try:
            listing = subprocess.run(
                ["fc-list", ":lang=zh", "file"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            listing = ""
        for line in sorted(listing.splitlines()):
            path = line.split(":", 1)[0].strip()
            if path and Path(path).is_file():
                return path
    for path in COMMON_CJK_FONT_PATHS:
        if Path(path).is_file():
            return path
    return None


def _load_font(font_path: str | None) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = font_path or find_cjk_font()
    if path:
        try:
            return ImageFont.truetype(path, FONT_SIZE)
        except OSError:
            pass
    # Without a CJK font the picture still comes out; Chinese shows as empty boxes.
    return ImageFont.load_default(FONT_SIZE)


def _text_image(
    text: str, columns: int, bold: bool, font: ImageFont.FreeTypeFont | ImageFont.ImageFont
) -> Image.Image:
    """One line at normal size, every character placed in its own cell so the columns
    line up whatever the font's own advance widths are."""
    image = Image.new("L", (max(columns, 1) * CELL_WIDTH, LINE_HEIGHT), 255)
    draw = ImageDraw.Draw(image)
    column = 0
    for character in text:
        width = char_width(character)
        if character != " " and width:
            for offset in (0, 1) if bold else (0,):
                draw.text((column * CELL_WIDTH + offset, 2), character, fill=0, font=font)
        column += width
    return image


def _paste(page: list[Image.Image], image: Image.Image, paper_width: int, align: str) -> None:
    row = Image.new("L", (paper_width, image.height), 255)
    gap = max(paper_width - image.width, 0)
    x = {"left": 0, "center": gap // 2, "right": gap}[align]
    row.paste(image, (x, 0))
    page.append(row)


def _barcode_image(data: str, paper_width: int) -> Image.Image:
    modules = python_barcode.get("code128", data).build()[0]
    module_width, bar_height = max(1, min(2, paper_width // len(modules))), 60
    image = Image.new("L", (len(modules) * module_width, bar_height), 255)
    draw = ImageDraw.Draw(image)
    for index, module in enumerate(modules):
        if module == "1":
            left = index * module_width
            draw.rectangle((left, 0, left + module_width - 1, bar_height - 1), fill=0)
    return image


def preview_text(ops: Sequence[PrintOp], columns: int) -> list[str]:
    """The receipt as plain text lines, ``columns`` wide, alignment applied.

    Double-width text gets a space after each character so the preview keeps its
    proportions; codes show as bracketed placeholders, the cut as a line of tildes.
    """
    lines: list[str] = []
    for op in ops:
        match op:
            case TextLine(text=text, size=size, align=align):
                if size == "double":
                    text = "".join(
                        character + " " * char_width(character) for character in text
                    ).rstrip()
                lines.append(pad(text, columns, align).rstrip())
            case QrCode(payload=payload):
                lines.append(pad(f"[QR {payload}]", columns, "center").rstrip())
            case Barcode(data=data):
                lines.append(pad(f"[||| {data} |||]", columns, "center").rstrip())
            case Feed(lines=count):
                lines.extend([""] * count)
            case Cut():
                lines.append("~" * columns)
            case OpenDrawer():
                pass
    return lines


def preview_png(
    ops: Sequence[PrintOp], columns: int = 48, *, font_path: str | None = None
) -> bytes:
    """A PNG picture of the receipt ``ops`` print on paper ``columns`` wide."""
    font = _load_font(font_path)
    paper_width = columns * CELL_WIDTH
    rows: list[Image.Image] = []
    for op in ops:
        match op:
            case TextLine(text=text, bold=bold, size=size, align=align):
                line = _text_image(text, display_width(text), bold, font)
                if size != "normal":
                    horizontal = 2 if size == "double" else 1
                    line = line.resize(
                        (line.width * horizontal, line.height * 2), Image.Resampling.NEAREST
                    )
                _paste(rows, line, paper_width, align)
            case QrCode(payload=payload):
                code = qrcode.QRCode(box_size=4, border=2)
                code.add_data(payload)
                _paste(rows, code.make_image().get_image().convert("L"), paper_width, "center")
            case Barcode(data=data):
                try:
                    bars = _barcode_image(data, paper_width)
                except Exception:  # python-barcode refuses some characters: show the text
                    bars = _text_image(data, display_width(data), False, font)
                _paste(rows, bars, paper_width, "center")
                _paste(
                    rows, _text_image(data, display_width(data), False, font), paper_width, "center"
                )
            case Feed(lines=count):
                rows.extend(Image.new("L", (paper_width, LINE_HEIGHT), 255) for _ in range(count))
            case Cut():
                rows.append(_text_image("- " * (columns // 2), columns, False, font))
            case OpenDrawer():
                pass
    height = sum(row.height for row in rows) + 2 * MARGIN
    picture = Image.new("L", (paper_width + 2 * MARGIN, height), 255)
    top = MARGIN
    for row in rows:
        picture.paste(row, (MARGIN, top))
        top += row.height
    output = io.BytesIO()
    picture.save(output, format="PNG")
    return output.getvalue()
