"""Transports: settings strings, a real serial path through a pseudo-terminal, a network printer
on 127.0.0.1 that refuses, resets, stalls or runs out of paper, files, and the preview."""

from __future__ import annotations

import io
import os
import select
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from printers.escpos_render import render_document
from printers.transports import (
    PAPER_STATUS_QUERY,
    FileTransport,
    NetworkTransport,
    PreviewTransport,
    PrinterUnavailable,
    SerialTransport,
    parse_transport,
)


def test_serial_settings_with_port_and_baud_rate() -> None:
    assert parse_transport("serial:/dev/ttyUSB0,9600") == SerialTransport(
        port="/dev/ttyUSB0", baudrate=9600
    )


def test_serial_settings_with_framing_and_flow_control() -> None:
    transport = parse_transport("serial:COM3,115200,7E2,rtscts")
    assert transport == SerialTransport(
        port="COM3", baudrate=115200, bytesize=7, parity="E", stopbits=2, rtscts=True
    )
    assert parse_transport("serial:/dev/ttyS0,19200,8N1,xonxoff") == SerialTransport(
        port="/dev/ttyS0", baudrate=19200, xonxoff=True
    )


def test_network_file_and_preview_settings() -> None:
    assert parse_transport("tcp:192.168.1.50:9100") == NetworkTransport(host="192.168.1.50")
    assert parse_transport("tcp:printer-03.store.lan") == NetworkTransport(
        host="printer-03.store.lan", port=9100
    )
    assert parse_transport("tcp:[fe80::1]:9101") == NetworkTransport(host="fe80::1", port=9101)
    assert parse_transport("file:/dev/usb/lp0") == FileTransport(path="/dev/usb/lp0")
    assert isinstance(parse_transport("preview:"), PreviewTransport)


@pytest.mark.parametrize(
    "spec",
    [
        "usb:0x0416:0x5011",
        "serial:",
        "serial:/dev/ttyUSB0,fast",
        "tcp:host:port",
        "file:",
        "/dev/ttyUSB0",
    ],
)
def test_bad_settings_are_refused_with_a_reason(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_transport(spec)


@pytest.fixture
def pseudo_terminal() -> Iterator[tuple[int, str]]:
    """(master fd, slave path): the slave path is the printer's serial port, the master end
    is the printer."""
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    os.close(slave)
    os.close(master)


def read_until(master: int, expected_size: int, received: bytearray, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(received) < expected_size and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            received.extend(os.read(master, 65536))


def test_receipt_goes_through_a_real_serial_port_byte_for_byte(samples, pseudo_terminal) -> None:
    master, port = pseudo_terminal
    data = render_document(samples.receipt("zh-CN"), "generic-58")  # with a QR image: ~8 kB
    received = bytearray()
    printer = threading.Thread(target=read_until, args=(master, len(data), received, 10))
    printer.start()
    parse_transport(f"serial:{port},9600").send(data)
    printer.join()
    assert bytes(received) == data


def test_serial_paper_out_is_reported_before_the_receipt_is_sent(pseudo_terminal) -> None:
    master, port = pseudo_terminal
    received = bytearray()

    def printer_without_paper() -> None:
        read_until(master, len(PAPER_STATUS_QUERY), received, 5)
        os.write(master, bytes([0x12 | 0x60]))  # status: paper end
        read_until(master, len(PAPER_STATUS_QUERY) + 1, received, 0.3)  # anything after?

    printer = threading.Thread(target=printer_without_paper)
    printer.start()
    with pytest.raises(PrinterUnavailable) as raised:
        SerialTransport(port=port, check_paper=True, write_timeout=2).send(b"\x1b@receipt\n")
    printer.join()
    assert raised.value.reason == "paper_out"
    assert bytes(received) == PAPER_STATUS_QUERY  # and not a byte of the receipt


def test_a_missing_serial_port_is_offline() -> None:
    with pytest.raises(PrinterUnavailable) as raised:
        SerialTransport(port="/dev/memberpos-no-such-port").send(b"x")
    assert raised.value.reason == "offline"


def test_network_printer_receives_the_exact_bytes(samples, network_printer) -> None:
    data = render_document(samples.receipt("en"), "generic-80")
    NetworkTransport(host="127.0.0.1", port=network_printer.port).send(data)
    assert network_printer.jobs == [data]


def test_a_printer_that_is_not_listening_is_offline(free_port) -> None:
    with pytest.raises(PrinterUnavailable) as raised:
        NetworkTransport(host="127.0.0.1", port=free_port, connect_timeout=1).send(b"x\n")
    assert raised.value.reason == "offline"


def test_a_printer_that_accepts_then_drops_the_connection_is_offline(network_printer) -> None:
    network_printer.mode = "drop"
    with pytest.raises(PrinterUnavailable) as raised:
        NetworkTransport(host="127.0.0.1", port=network_printer.port, close_wait=2).send(
            b"\x1b@receipt\n"
        )
    assert raised.value.reason == "offline"
    assert network_printer.jobs == []


def test_a_printer_that_stops_reading_times_out(network_printer) -> None:
    network_printer.mode = "stall"
    transport = NetworkTransport(host="127.0.0.1", port=network_printer.port, write_timeout=0.3)
    with pytest.raises(PrinterUnavailable) as raised:
        transport.send(b"\x00" * 32_000_000)  # more than the socket buffers hold
    assert raised.value.reason == "timeout"


def test_a_network_printer_out_of_paper_says_so_before_anything_is_sent(network_printer) -> None:
    network_printer.mode = "paper_out"
    transport = NetworkTransport(host="127.0.0.1", port=network_printer.port, check_paper=True)
    with pytest.raises(PrinterUnavailable) as raised:
        transport.send(b"\x1b@receipt\n")
    assert raised.value.reason == "paper_out"


def test_file_transport_appends(tmp_path: Path) -> None:
    target = tmp_path / "lp0"
    transport = parse_transport(f"file:{target}")
    transport.send(b"first\n")
    transport.send(b"second\n")
    assert target.read_bytes() == b"first\nsecond\n"


def test_file_transport_in_a_missing_directory_is_offline(tmp_path: Path) -> None:
    with pytest.raises(PrinterUnavailable) as raised:
        FileTransport(path=str(tmp_path / "no" / "lp0")).send(b"x")
    assert raised.value.reason == "offline"


def test_preview_transport_shows_the_text(samples) -> None:
    stream = io.StringIO()
    preview = PreviewTransport(stream=stream)
    data = render_document(samples.top_up("zh-CN"), "generic-58")
    preview.send(data)
    assert bytes(preview.received) == data
    assert "储值充值凭条" in preview.documents[0]
    assert "储值充值凭条" in stream.getvalue()
