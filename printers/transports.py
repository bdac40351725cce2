"""The ways bytes reach a printer: serial port, raw TCP (port 9100), a file or device, a preview.

Every transport has one method, ``send(data)``, and one way of failing: ``PrinterUnavailable``
with a reason (offline, timeout, paper_out) the spool records before it tries again later.
``parse_transport`` builds a transport from the settings string a till is configured with.
"""

from __future__ import annotations

import re
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Literal, Protocol, TextIO

import serial

from printers.escpos_render import decode_escpos_text
from printers.preview import preview_png, preview_text

__all__ = [
    "FileTransport",
    "NetworkTransport",
    "PreviewTransport",
    "PrinterUnavailable",
    "SerialTransport",
    "Transport",
    "parse_transport",
    "preview_png",
    "preview_text",
]

UnavailableReason = Literal["offline", "timeout", "paper_out"]

# DLE EOT 4: the printer answers one status byte about its paper roll at once, even while
# busy printing. Bits 5 and 6 set mean the paper has run out.
PAPER_STATUS_QUERY = b"\x10\x04\x04"
PAPER_OUT_BITS = 0x60


class PrinterUnavailable(Exception):
    """The printer did not take the data; ``reason`` says why, ``detail`` for the log."""

    def __init__(self, reason: UnavailableReason, detail: str = "") -> None:
        self.reason: UnavailableReason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class Transport(Protocol):
    def send(self, data: bytes) -> None:
        """Deliver ``data`` to the printer, or raise ``PrinterUnavailable``."""
        ...


def _check_paper_status(answer: bytes) -> None:
    if not answer:
        raise PrinterUnavailable("timeout", "no answer to the paper status query")
    if answer[0] & PAPER_OUT_BITS == PAPER_OUT_BITS:
        raise PrinterUnavailable("paper_out", "the paper roll is empty")


@dataclass(frozen=True)
class SerialTransport:
    """An RS-232 or USB-serial printer, through pyserial."""

    port: str
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    xonxoff: bool = False
    rtscts: bool = False
    dsrdtr: bool = False
    write_timeout: float = 5.0
    """Seconds allowed beyond the time the bytes take on the wire at ``baudrate``."""
    check_paper: bool = False

    def _open(self) -> serial.Serial:
        try:
            return serial.Serial(
                port=self.port,
                baudrate=self.baudrate,
                bytesize=self.bytesize,
                parity=self.parity,
                stopbits=self.stopbits,
                xonxoff=self.xonxoff,
                rtscts=self.rtscts,
                dsrdtr=self.dsrdtr,
                timeout=self.write_timeout,
                write_timeout=self.write_timeout,
            )
        except (serial.SerialException, OSError) as error:
            raise PrinterUnavailable("offline", f"{self.port}: {error}") from error

    def send(self, data: bytes) -> None:
        connection = self._open()
        try:
            if self.check_paper:
                connection.reset_input_buffer()  # a stale status byte would answer for now
                connection.write(PAPER_STATUS_QUERY)
                _check_paper_status(connection.read(1))
            connection.write(data)
            self._wait_until_sent(connection, len(data))
        except serial.SerialTimeoutException as error:
            raise PrinterUnavailable("timeout", f"{self.port}: {error}") from error
        except (serial.SerialException, OSError) as error:
            raise PrinterUnavailable("offline", f"{self.port}: {error}") from error
        finally:
            connection.close()

    def _wait_until_sent(self, connection: serial.Serial, size: int) -> None:
        # flush() (tcdrain) would wait for ever when flow control holds the line, as an
        # offline printer does with RTS/CTS; the output queue is watched with a deadline.
        bits_per_byte = 1 + self.bytesize + (0 if self.parity == "N" else 1) + self.stopbits
        deadline = time.monotonic() + self.write_timeout + size * bits_per_byte / self.baudrate
        while True:
            try:
                waiting = connection.out_waiting
            except (serial.SerialException, OSError):
                connection.flush()  # a port that cannot report its queue: plain drain
                return
            if not waiting:
                return
            if time.monotonic() > deadline:
                connection.reset_output_buffer()
                raise PrinterUnavailable(
                    "timeout", f"{self.port}: {waiting} bytes still not sent to the printer"
                )
            time.sleep(0.01)


@dataclass(frozen=True)
class NetworkTransport:
    """A network printer taking raw ESC/POS on a TCP port (9100, "JetDirect")."""

    host: str
    port: int = 9100
    connect_timeout: float = 3.0
    write_timeout: float = 10.0
    close_wait: float = 2.0
    """How long to wait for the printer to close its end after taking everything."""
    check_paper: bool = False

    def send(self, data: bytes) -> None:
        where = f"{self.host}:{self.port}"
        try:
            connection = socket.create_connection(
                (self.host, self.port), timeout=self.connect_timeout
            )
        except TimeoutError as error:
            raise PrinterUnavailable("timeout", f"{where}: no answer to connect") from error
        except OSError as error:
            raise PrinterUnavailable("offline", f"{where}: {error}") from error
        with connection:
            try:
                connection.settimeout(self.write_timeout)
                if self.check_paper:
                    connection.sendall(PAPER_STATUS_QUERY)
                    _check_paper_status(connection.recv(1))
                connection.sendall(data)
                connection.shutdown(socket.SHUT_WR)
                self._await_close(connection)
            except TimeoutError as error:
                raise PrinterUnavailable(
                    "timeout", f"{where}: {error or 'write timed out'}"
                ) from error
            except OSError as error:
                raise PrinterUnavailable("offline", f"{where}: {error}") from error

    def _await_close(self, connection: socket.socket) -> None:
        # sendall only means the bytes left for the network: a printer that accepted the
        # connection and then dropped it answers our data with a reset, which shows up
        # here. A printer that took everything closes its end (or keeps it open, which
        # some do: after close_wait the data counts as delivered).
        connection.settimeout(self.close_wait)
        try:
            while connection.recv(1024):
                pass
        except TimeoutError:
            return


@dataclass(frozen=True)
class FileTransport:
    """A file or a device node (``/dev/usb/lp0``); bytes are appended."""

    path: str

    def send(self, data: bytes) -> None:
        try:
            with open(self.path, "ab") as device:
                device.write(data)
                device.flush()
        except OSError as error:
            raise PrinterUnavailable("offline", f"{self.path}: {error}") from error


@dataclass
class PreviewTransport:
    """Keeps what it is sent and shows it as text, for demos and tests; never fails."""

    stream: TextIO | None = None
    received: bytearray = field(default_factory=bytearray)
    documents: list[list[str]] = field(default_factory=list)

    def send(self, data: bytes) -> None:
        self.received.extend(data)
        lines = decode_escpos_text(data)
        self.documents.append(lines)
        if self.stream is not None:
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()


_FRAMING = re.compile(r"^([5-8])([NEOMS])(1|1\.5|2)$", re.IGNORECASE)
_FLOW_CONTROL = {"rtscts", "xonxoff", "dsrdtr", "none"}


def _parse_serial(settings: str) -> SerialTransport:
    """``/dev/ttyUSB0,9600[,8N1][,rtscts|xonxoff|dsrdtr|none]`` (any order after the port)."""
    port, *options = [part.strip() for part in settings.split(",")]
    if not port:
        raise ValueError("serial transport needs a port: serial:/dev/ttyUSB0,9600")
    values: dict[str, object] = {}
    for option in options:
        lowered = option.lower()
        framing = _FRAMING.match(option)
        if option.isdigit():
            values["baudrate"] = int(option)
        elif framing:
            values["bytesize"] = int(framing.group(1))
            values["parity"] = framing.group(2).upper()
            values["stopbits"] = (
                float(framing.group(3)) if "." in framing.group(3) else int(framing.group(3))
            )
        elif lowered in _FLOW_CONTROL:
            if lowered != "none":
                values[lowered] = True
        else:
            raise ValueError(
                f"serial option {option!r} is not a baud rate, a framing like 8N1, "
                "or a flow control (rtscts, xonxoff, dsrdtr, none)"
            )
    return SerialTransport(port=port, **values)  # type: ignore[arg-type]


def _parse_network(address: str) -> NetworkTransport:
    """``HOST[:PORT]``, ``[IPv6][:PORT]``; the port defaults to 9100."""
    host, port = address, "9100"
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        if rest.startswith(":"):
            port = rest[1:]
    elif address.count(":") == 1:
        host, port = address.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"tcp transport needs HOST:PORT, got {address!r}")
    return NetworkTransport(host=host, port=int(port))


def parse_transport(spec: str) -> Transport:
    """A transport from its settings string.

    ``serial:/dev/ttyUSB0,9600`` · ``serial:COM3,115200,8N1,rtscts`` · ``tcp:192.168.1.50:9100``
    · ``file:/dev/usb/lp0`` · ``preview:`` (the text on standard output).
    """
    kind, separator, rest = spec.partition(":")
    if not separator:
        raise ValueError(f"transport {spec!r} must start with serial:, tcp:, file: or preview:")
    match kind.lower():
        case "serial":
            return _parse_serial(rest)
        case "tcp":
            return _parse_network(rest)
        case "file":
            if not rest:
                raise ValueError("file transport needs a path: file:/dev/usb/lp0")
            return FileTransport(path=rest)
        case "preview":
            return PreviewTransport(stream=sys.stdout)
    raise ValueError(f"unknown transport kind {kind!r} in {spec!r}: serial, tcp, file, preview")
