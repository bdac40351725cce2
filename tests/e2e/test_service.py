"""The service as deployed: the real ``memberpos serve`` process on a loopback port, driven
over HTTP (the contract other tools rely on: /health, /schema/openapi.json, 401s)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(migrated: None) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "memberpos.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its workers in its group: stopped (and their pipe closed) with it
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code in (200, 503):
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            os.killpg(process.pid, signal.SIGKILL)
            output = process.communicate(timeout=10)[0] or b""
            pytest.fail(f"server did not start: {output.decode()[-2000:]}")
        yield base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.slow
def test_served_process_answers_health_schema_and_refuses_without_a_token(server):
    health = httpx.get(f"{server}/health").json()
    assert health["status"] == "ok" and health["database"]["ok"]
    expected_redis = bool(os.environ.get("MEMBERPOS_REDIS_URL"))
    assert health["redis"]["configured"] is expected_redis
    schema = httpx.get(f"{server}/schema/openapi.json")
    assert schema.status_code == 200 and "/api/v1/hq/stores" in schema.json()["paths"]
    refused = httpx.get(f"{server}/api/v1/hq/stores")
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert httpx.get(f"{server}/admin/").status_code == 200
