"""ESC/POS bytes for a list of print operations, per printer model, and the way back to text.

Rendering goes through python-escpos's ``Dummy`` printer, but every text line is encoded to
GB18030 here and sent raw: the library only switches to GB18030 for strings containing CJK
ideographs, so "￥12.00，" alone would print as "?12.00?".
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Sequence

import msgspec
from escpos.capabilities import Profile as EscposProfile
from escpos.printer import Dummy

from printers.layout import (
    Barcode,
    Cut,
    Document,
    Feed,
    OpenDrawer,
    PrintOp,
    QrCode,
    TextLine,
    TextSize,
    layout_document,
)

ESC, GS, FS, DLE, LF, CR = 0x1B, 0x1D, 0x1C, 0x10, 0x0A, 0x0D
INITIALIZE = b"\x1b@"
CHINESE_MODE_ON = b"\x1c\x26"  # FS &: double-byte (GB18030) characters from here on

ALIGN_COMMAND = {"left": b"\x1ba\x00", "center": b"\x1ba\x01", "right": b"\x1ba\x02"}
BOLD_COMMAND = {False: b"\x1bE\x00", True: b"\x1bE\x01"}
# GS ! (not ESC !): on a printer in Chinese mode ESC ! only enlarges the ASCII characters.
SIZE_COMMAND: dict[TextSize, bytes] = {
    "normal": b"\x1d!\x00",
    "double_height": b"\x1d!\x01",
    "double": b"\x1d!\x11",
}


class PrinterProfile(msgspec.Struct, frozen=True, kw_only=True):
    """What the layout and the renderer need to know about one printer model."""

    name: str
    columns: int
    """Characters of the normal ASCII font per line; a Chinese character takes two."""
    dots_per_line: int
    """Printable width in dots: the limit for QR images and barcodes."""
    paper_mm: int
    dpi: int = 203
    chinese_mode: bool = True
    """Send FS & first, for printers that do not start in Chinese (double-byte) mode."""
    native_qr: bool = True
    """The printer draws QR codes itself (GS ( k); otherwise a QR image is sent."""
    cut: bool = True
    """A cutter is fitted; without one the paper is fed past the tear bar instead."""
    qr_module_size: int = 6


PRINTER_PROFILES: dict[str, PrinterProfile] = {
    profile.name: profile
    for profile in (
        # Unbranded 58 mm printers: most cannot draw QR codes and have a tear bar only.
        PrinterProfile(
            name="generic-58",
            columns=32,
            dots_per_line=384,
            paper_mm=58,
            native_qr=False,
            cut=False,
            qr_module_size=5,
        ),
        PrinterProfile(name="generic-80", columns=48, dots_per_line=576, paper_mm=80),
        # Ships in Chinese mode from the factory, draws QR codes, has no cutter.
        PrinterProfile(
            name="xprinter-xp58",
            columns=32,
            dots_per_line=384,
            paper_mm=58,
            chinese_mode=False,
            cut=False,
            qr_module_size=5,
        ),
        # 512 dots at 12 dots per character: 42 columns, not 48, on 80 mm paper.
        PrinterProfile(name="epson-tm-t88", columns=42, dots_per_line=512, paper_mm=80, dpi=180),
    )
}


def printer_profile(name: str) -> PrinterProfile:
    """The profile named ``name``; ``ValueError`` listing the known ones otherwise."""
    try:
        return PRINTER_PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PRINTER_PROFILES))
        raise ValueError(f"unknown printer profile {name!r}; known: {known}") from None


def profile_for_columns(columns: int) -> PrinterProfile:
    """The generic profile of a paper width: 32 columns is 58 mm, anything wider 80 mm."""
    return PRINTER_PROFILES["generic-58" if columns <= 32 else "generic-80"]


def _escpos_printer(profile: PrinterProfile) -> Dummy:
    """A python-escpos ``Dummy`` whose capabilities match ``profile``.

    The image path needs the paper width in dots to centre a QR image (and prints a warning
    to stdout without it), so the library's default profile is copied with our media.
    """
    escpos_profile = EscposProfile(columns=profile.columns)
    data = copy.deepcopy(escpos_profile.profile_data)
    data["media"] = {
        "dpi": profile.dpi,
        "width": {"mm": profile.paper_mm, "pixels": profile.dots_per_line},
    }
    data["features"].update(
        qrCode=profile.native_qr, paperFullCut=profile.cut, paperPartCut=profile.cut
    )
    escpos_profile.profile_data = data
    escpos_profile.features = data["features"]
    return Dummy(profile=escpos_profile)


def code128_data(data: str) -> tuple[str, int]:
    """``data`` as GS k CODE128 data with code-set switches, and its width in modules.

    Runs of digits go in code set C, two digits per symbol (at least 4 digits at the start or
    end, 6 in the middle, for the switch to pay off); the rest in code set B. A 16-digit sale
    number then takes 123 modules instead of 211 and fits 58 mm paper. ``{`` is escaped as
    ``{{``, which is how ESC/POS tells a literal brace from a code-set switch.
    """
    if not data or not all(" " <= character <= "~" for character in data):
        raise ValueError(f"CODE128 code set B/C holds printable ASCII only: {data!r}")
    segments: list[tuple[str, str]] = []
    for match in re.finditer(r"\d+|\D+", data):
        run = match.group()
        at_start, at_end = match.start() == 0, match.end() == len(data)
        needed = 2 if at_start and at_end else 4 if at_start or at_end else 6
        if run.isdigit() and len(run) >= needed:
            if len(run) % 2:
                # The odd digit out goes with the text before (or opens the code).
                segments.append(("B", run[0]))
                run = run[1:]
            segments.append(("C", run))
        else:
            segments.append(("B", run))
    merged: list[tuple[str, str]] = []
    for code_set, text in segments:
        if merged and merged[-1][0] == code_set == "B":
            merged[-1] = ("B", merged[-1][1] + text)
        else:
            merged.append((code_set, text))
    encoded = ""
    symbols = 0
    for code_set, text in merged:
        encoded += "{" + code_set
        if code_set == "C":
            encoded += "".join(
                chr(int(text[index : index + 2])) for index in range(0, len(text), 2)
            )
            symbols += 1 + len(text) // 2
        else:
            encoded += text.replace("{", "{{")
            symbols += 1 + len(text)
    # Start (counted above as the first code-set symbol), data, check: 11 modules each;
    # the stop pattern 13.
    return encoded, 11 * (symbols + 1) + 13


def _code128_module_width(modules: int, profile: PrinterProfile) -> int | None:
    """The widest bar module (3 or 2 dots) at which the barcode fits the paper, or None."""
    for module_width in (3, 2):
        if modules * module_width <= profile.dots_per_line:
            return module_width
    return None


class _Style(msgspec.Struct):
    align: str = "left"
    bold: bool = False
    size: TextSize = "normal"


def render_escpos(ops: Sequence[PrintOp], profile: PrinterProfile | str) -> bytes:
    """The ESC/POS bytes that print ``ops`` on a printer of ``profile``."""
    if isinstance(profile, str):
        profile = printer_profile(profile)
    printer = _escpos_printer(profile)
    printer._raw(INITIALIZE)
    if profile.chinese_mode:
        printer._raw(CHINESE_MODE_ON)
    style = _Style()

    def set_style(align: str, bold: bool = False, size: TextSize = "normal") -> None:
        # Only changes are sent, so the bytes (and the golden files) stay small and readable.
        if align != style.align:
            printer._raw(ALIGN_COMMAND[align])
            style.align = align
        if bold != style.bold:
            printer._raw(BOLD_COMMAND[bold])
            style.bold = bold
        if size != style.size:
            printer._raw(SIZE_COMMAND[size])
            style.size = size

    for op in ops:
        match op:
            case TextLine(text=text, bold=bold, size=size, align=align):
                set_style(align, bold, size)
                printer._raw(text.encode("gb18030") + b"\n")
            case QrCode(payload=payload):
                set_style("center")
                if profile.native_qr:
                    printer.qr(payload, native=True, size=profile.qr_module_size)
                else:
                    printer.qr(payload, native=False, size=profile.qr_module_size, center=True)
            case Barcode(data=data):
                try:
                    encoded, modules = code128_data(data)
                except ValueError:
                    encoded, modules = "", 0
                module_width = _code128_module_width(modules, profile) if encoded else None
                if module_width is None:
                    # Too long for the paper or not ASCII: the number itself, readable.
                    set_style("center")
                    printer._raw(data.encode("gb18030") + b"\n")
                    continue
                set_style("left")
                # _hw_barcode, not barcode(): the public method prints "Using hardware
                # barcode renderer" to stdout on every call. It centres by itself.
                printer._hw_barcode(
                    encoded,
                    "CODE128",
                    height=64,
                    width=module_width,
                    pos="BELOW",
                    font="A",
                    align_ct=True,
                    function_type="B",
                    check=True,
                )
                style.align = "center"
            case Feed(lines=lines):
                printer.print_and_feed(lines)
            case Cut():
                set_style("left")
                if profile.cut:
                    printer.cut()
                else:
                    # Feed the last line past the tear bar.
                    printer.print_and_feed(4)
            case OpenDrawer():
                printer.cashdraw(2)
    return printer.output


def render_document(document: Document, profile: PrinterProfile | str) -> bytes:
    """Lay out ``document`` for the profile's width and render it to ESC/POS bytes."""
    if isinstance(profile, str):
        profile = printer_profile(profile)
    return render_escpos(layout_document(document, profile.columns), profile)


# --- reading ESC/POS back ----------------------------------------------------------------


class EscposFormatError(ValueError):
    """The bytes hold a command this reader does not know, so the text cannot be trusted."""


def _command_length(data: bytes, start: int) -> int:
    """Length of the command starting at ``data[start]`` (an ESC, GS, FS or DLE byte)."""

    def byte(offset: int) -> int:
        if start + offset >= len(data):
            raise EscposFormatError(f"command cut short at byte {start}")
        return data[start + offset]

    prefix, code = data[start], chr(byte(1))
    if prefix == ESC:
        if code in "@2<S":
            return 2
        if code in "!EGM-a{dJtVR3 r":
            return 3
        if code == "p":
            return 5
        if code == "*":
            columns = byte(3) + 256 * byte(4)
            return 5 + columns * (3 if byte(2) >= 32 else 1)
    elif prefix == GS:
        if code in "!BHhwfba":
            return 3
        if code == "V":
            return 4 if byte(2) in (65, 66, 97, 98, 103, 104) else 3
        if code == "k":
            kind = byte(2)
            if kind <= 6:
                end = data.find(b"\x00", start + 3)
                if end < 0:
                    raise EscposFormatError(f"barcode data not terminated at byte {start}")
                return end - start + 1
            return 4 + byte(3)
        if code == "v":
            width_bytes = byte(4) + 256 * byte(5)
            height = byte(6) + 256 * byte(7)
            return 8 + width_bytes * height
        if code == "(":
            return 5 + byte(3) + 256 * byte(4)
    elif prefix == FS:
        if code in "&.":
            return 2
        if code in "!C-":
            return 3
    elif prefix == DLE and code == "\x04":
        return 3
    raise EscposFormatError(f"unknown ESC/POS command {data[start : start + 2]!r} at byte {start}")


def iterate_commands(data: bytes) -> Iterator[tuple[bytes, bool]]:
    """Split ESC/POS bytes into ``(chunk, is_command)``: commands and runs of text bytes."""
    position = 0
    text_start = 0
    while position < len(data):
        if data[position] in (ESC, GS, FS, DLE):
            if text_start < position:
                yield data[text_start:position], False
            length = _command_length(data, position)
            yield data[position : position + length], True
            position += length
            text_start = position
        else:
            position += 1
    if text_start < len(data):
        yield data[text_start:], False


class PrintedLine(msgspec.Struct, frozen=True):
    text: str
    width_multiplier: int = 1
    """2 when the line was printed in double width: it takes twice its display columns."""


def decode_escpos(data: bytes) -> list[PrintedLine]:
    """The text lines ESC/POS ``data`` prints, with the width they were printed at.

    Commands (styles, codes, images, cuts) are skipped; a feed of n lines gives n empty
    lines; text is decoded as GB18030, strictly, so a wrong byte raises instead of hiding.
    """
    lines: list[PrintedLine] = []
    current = bytearray()
    width_multiplier = 1
    widest_on_line = 0  # the largest width multiplier any character of this line had

    def end_line() -> None:
        nonlocal widest_on_line
        lines.append(PrintedLine(current.decode("gb18030"), widest_on_line or width_multiplier))
        current.clear()
        widest_on_line = 0

    for chunk, is_command in iterate_commands(data):
        if is_command:
            if chunk[:2] == b"\x1d!":
                width_multiplier = (chunk[2] >> 4) + 1
            elif chunk[:2] == b"\x1bd":
                for _ in range(chunk[2]):
                    end_line()
            continue
        for value in chunk:
            if value == LF:
                end_line()
            elif value == CR:
                continue
            elif value < 0x20:
                raise EscposFormatError(f"stray control byte {value:#04x} in text")
            else:
                current.append(value)
                widest_on_line = max(widest_on_line, width_multiplier)
    if current:
        end_line()
    return lines


def decode_escpos_text(data: bytes) -> list[str]:
    """The text lines ESC/POS ``data`` prints, commands stripped, GB18030 decoded."""
    return [line.text for line in decode_escpos(data)]


def remove_drawer_kick(data: bytes) -> bytes:
    """``data`` without its cash-drawer pulses (ESC p), for reprints: a copy of a receipt
    must not open the drawer a second time."""
    return b"".join(
        chunk
        for chunk, is_command in iterate_commands(data)
        if not (is_command and chunk[:2] == b"\x1bp")
    )
