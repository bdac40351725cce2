"""``memberpos print-test`` as an installed command, run as a subprocess without any database:
to a file, through a real serial port (a pseudo-terminal pair), to a network printer that
drops the first connection, and as a preview."""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import subprocess
import sys
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from printers.cli import add_commands, build_test_page
from printers.columns import display_width
from printers.escpos_render import decode_escpos, printer_profile, render_escpos

MEMBERPOS = Path(sys.executable).with_name("memberpos")


def memberpos(*arguments: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    # No database anywhere: the command must not need one.
    environment["MEMBERPOS_DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/none"
    environment.pop("MEMBERPOS_REDIS_URL", None)
    return subprocess.run(
        [str(MEMBERPOS), *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        check=False,
    )


def expected_bytes(transport: str, width: int, locale: str = "zh-CN", profile: str = "") -> bytes:
    printer = printer_profile(profile or ("generic-58" if width <= 32 else "generic-80"))
    ops = build_test_page(width, locale, transport_spec=transport, profile_name=printer.name)  # type: ignore[arg-type]
    return render_escpos(ops, printer)


def assert_readable_test_page(data: bytes, width: int) -> None:
    lines = decode_escpos(data)
    texts = [line.text for line in lines]
    assert any(text.startswith("打印测试 PRINT") for text in texts)
    assert any(text.startswith("可口可乐") for text in texts)
    assert "?" not in "".join(texts)
    assert all(display_width(line.text) * line.width_multiplier <= width for line in lines)


def run_in_process(arguments: list[str]) -> int:
    """The command's own parser and function, without a process: for the refusals."""
    parser = argparse.ArgumentParser(prog="memberpos")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(arguments)
    return int(args.run(args))


@pytest.mark.parametrize(("columns", "locale"), [("32", "zh-CN"), ("48", "en")])
def test_print_test_to_a_file_without_a_database(tmp_path: Path, columns: str, locale: str):
    target = tmp_path / "x.bin"
    spec = f"file:{target}"
    result = memberpos("print-test", "--transport", spec, "--columns", columns, "--locale", locale)
    assert result.returncode == 0, result.stderr
    assert f"sent to {spec}" in result.stdout
    data = target.read_bytes()
    assert data == expected_bytes(spec, int(columns), locale)
    assert_readable_test_page(data, int(columns))


def test_print_test_with_a_profile_takes_its_width(tmp_path: Path, capsys) -> None:
    target = tmp_path / "x.bin"
    spec = f"file:{target}"
    assert run_in_process(["print-test", "--transport", spec, "--profile", "epson-tm-t88"]) == 0
    assert "(42 columns)" in capsys.readouterr().out
    assert target.read_bytes() == expected_bytes(spec, 42, profile="epson-tm-t88")
    assert_readable_test_page(target.read_bytes(), 42)


@pytest.fixture
def pseudo_terminal() -> Iterator[tuple[int, str]]:
    """(master fd, slave path): the slave is the printer's serial port, the master the
    printer."""
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    os.close(slave)
    os.close(master)


def test_print_test_through_a_real_serial_port(pseudo_terminal) -> None:
    master, port = pseudo_terminal
    spec = f"serial:{port},9600"
    expected = expected_bytes(spec, 32)
    received = bytearray()

    def printer() -> None:
        deadline = time.monotonic() + 20
        while len(received) < len(expected) and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                received.extend(os.read(master, 65536))

    reader = threading.Thread(target=printer)
    reader.start()
    result = memberpos("print-test", "--transport", spec, "--columns", "32")
    reader.join()
    assert result.returncode == 0, result.stderr
    assert bytes(received) == expected
    assert_readable_test_page(bytes(received), 32)


def test_print_test_to_a_network_printer_that_drops_the_first_connection(network_printer):
    spec = f"tcp:127.0.0.1:{network_printer.port}"
    network_printer.mode = "drop"
    refused = memberpos("print-test", "--transport", spec)
    assert refused.returncode == 1
    assert "printer unavailable (offline" in refused.stderr
    assert network_printer.jobs == []

    network_printer.mode = "drop_first"
    result = memberpos("print-test", "--transport", spec, "--attempts", "3", "--retry-delay", "0.2")
    assert result.returncode == 0, result.stderr
    assert "attempt 1 failed (offline" in result.stderr
    assert network_printer.jobs == [expected_bytes(spec, 48)]
    assert network_printer.connections == 3  # refused, dropped, printed


def test_print_test_preview_shows_the_page_on_standard_output() -> None:
    result = memberpos("print-test", "--transport", "preview:", "--columns", "32")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "12345678901234567890123456789012" in lines
    assert any("可口可乐" in line for line in lines)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--transport", "usb:0x0416"], "unknown transport kind"),
        (["--transport", "tcp:host:port"], "HOST:PORT"),
        (["--transport", "file:/tmp/x", "--profile", "generic-58", "--columns", "48"], "wider"),
    ],
)
def test_bad_settings_are_refused_with_exit_code_2(arguments, message, capsys) -> None:
    assert run_in_process(["print-test", *arguments]) == 2
    assert message in capsys.readouterr().err


def test_a_missing_serial_port_exits_1_with_the_reason(capsys) -> None:
    spec = "serial:/dev/memberpos-no-such-port,9600"
    assert run_in_process(["print-test", "--transport", spec]) == 1
    assert "printer unavailable (offline" in capsys.readouterr().err


def test_the_installed_command_refuses_a_bad_transport_with_exit_code_2() -> None:
    result = memberpos("print-test", "--transport", "usb:0x0416")
    assert result.returncode == 2
    assert "unknown transport kind" in result.stderr


async def test_print_spool_worker_sends_the_jobs_stored_by_another_process(
    db, samples, tmp_path: Path
) -> None:
    from printers import receipts
    from printers.spool_store import DatabaseSpoolStore

    paper = tmp_path / "lp0"
    receipt = samples.receipt("en")
    job_id = await receipts.enqueue_receipt(
        receipt, store_id=1, terminal_id=2, printer_spec=f"file:{paper}", reference="S-9"
    )
    process = await asyncio.create_subprocess_exec(
        str(MEMBERPOS),
        "print-spool",
        "--once",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    assert f"print job {job_id} receipt S-9 on file:{paper}: printed" in stdout.decode()
    assert paper.read_bytes() == receipts.render(receipt, fmt="escpos")
    job = await DatabaseSpoolStore().get(job_id)
    assert job is not None and (job.status, job.attempts) == ("printed", 1)
