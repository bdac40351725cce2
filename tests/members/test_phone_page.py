"""The member's phone page ``/me`` in a real headless Chromium (Debian's ``chromium``) at
phone width, against the real served process: sign in with card + PIN through the form,
see name, tier progress and a QR code that scans back to the member; a screenshot is saved
under var/. Driven over the DevTools protocol with ``websockets`` (no selenium)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from members.tables import Card
from tests.members.conftest import MEMBER_PIN

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRE = os.environ.get("MEMBERPOS_REQUIRE_SERVICES", "") not in ("", "0")
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "var"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DevTools:
    """The smallest DevTools-protocol client: one page, commands answered by id."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.next_id = 0

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        await self.connection.send(
            json.dumps({"id": self.next_id, "method": method, "params": params})
        )
        while True:
            message = json.loads(await asyncio.wait_for(self.connection.recv(), 30))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, seconds: float = 15) -> Any:
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            try:
                value = await self.evaluate(expression)
            except RuntimeError:  # the page is still loading
                value = None
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                text = await self.evaluate("document.body.innerText")
                raise AssertionError(f"timed out waiting for {expression!r}; page: {text!r}")
            await asyncio.sleep(0.2)

    async def screenshot(self, path: Path) -> None:
        shot = await self.send("Page.captureScreenshot", format="png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))  # noqa: ASYNC240 - a test, small file


async def _serve() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(  # noqa: ASYNC220 - returns at once; polled below
        [
            sys.executable,
            "-m",
            "memberpos.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        for _ in range(150):
            try:
                if (await client.get(f"{base}/health", timeout=1)).status_code in (200, 503):
                    return process, base
            except httpx.TransportError:
                await asyncio.sleep(0.2)
    process.kill()
    pytest.fail("the server did not start")


async def _browser(profile: str) -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(  # noqa: ASYNC220 - returns at once; polled below
        [
            CHROMIUM or "chromium",
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port_file = Path(profile) / "DevToolsActivePort"
    for _ in range(150):
        if port_file.exists() and port_file.read_text().count("\n") >= 1:
            port = port_file.read_text().splitlines()[0]
            async with httpx.AsyncClient() as client:
                targets = (await client.get(f"http://127.0.0.1:{port}/json/list")).json()
            pages = [t for t in targets if t["type"] == "page"]
            if pages:
                return process, pages[0]["webSocketDebuggerUrl"]
        await asyncio.sleep(0.2)
    process.kill()
    pytest.fail("chromium did not open its DevTools port")


async def test_phone_page_signs_in_and_shows_a_scannable_member_code(chain, new_member):
    if CHROMIUM is None:
        if REQUIRE:
            pytest.fail("chromium is required (apt-get install chromium) but missing")
        pytest.skip("chromium is not installed")
    import websockets

    from memberpos.clock import utc_now
    from members.cards import find_member
    from members.tiers import chain_today, on_qualifying_spend

    member = await new_member("13812348888", name="林小雨")
    store = chain["stores"]["SH001"]["id"]
    await on_qualifying_spend(member, 321_000, "sale", "PAGE-1", store, chain_today(), utc_now())
    number = (await Card.select(Card.number).where(Card.member == member))[0]["number"]

    server, base = await _serve()
    profile = tempfile.mkdtemp(prefix="memberpos-chromium-")
    browser = None
    try:
        browser, ws_url = await _browser(profile)
        async with websockets.connect(ws_url, max_size=None) as connection:
            page = DevTools(connection)
            await page.send(
                "Emulation.setDeviceMetricsOverride",
                width=390,
                height=844,
                deviceScaleFactor=2,
                mobile=True,
            )
            await page.send("Page.enable")
            await page.send("Page.navigate", url=f"{base}/me?lang=zh-CN")
            await page.wait_for("!document.getElementById('signin').hidden")
            await page.screenshot(SCREENSHOT_DIR / "me-phone-signin.png")
            # Sign in through the form as a person would.
            await page.evaluate("document.getElementById('tab-pin').click()")
            await page.evaluate(
                f"document.getElementById('card').value = '{number}';"
                f"document.getElementById('pin').value = '{MEMBER_PIN}';"
                "document.getElementById('form-pin').requestSubmit()"
            )
            await page.wait_for("!document.getElementById('home').hidden")
            await page.wait_for("document.querySelector('#qr-image svg') !== null")
            await page.wait_for("document.getElementById('progress-text').textContent.length > 0")
            text = await page.evaluate("document.body.innerText")
            assert "林小雨" in text and "138****8888" in text and "13812348888" not in text
            assert "银卡" in text  # the next tier, in the progress line
            assert MEMBER_PIN not in await page.evaluate("document.body.innerHTML")
            balances = await page.evaluate(
                "fetch('/api/v1/me/balances', {headers: {authorization: 'Bearer ' + "
                "sessionStorage.getItem('mp-token')}}).then(r => r.status)"
            )
            if balances == 200:  # the loyalty domain's handler is there: the page shows it
                await page.wait_for("!document.getElementById('balances-card').hidden")
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, "the page must not scroll sideways on a phone"
            await page.screenshot(SCREENSHOT_DIR / "me-phone.png")
            # The code the page shows is the member's, and the cashier's lookup accepts it.
            token = await page.evaluate(
                "fetch('/api/v1/me/qr', {headers: {authorization: 'Bearer ' + "
                "sessionStorage.getItem('mp-token')}}).then(r => r.json()).then(j => j.token)"
            )
            assert (await find_member(qr_token=token)).member_id == member
            # English, then sign out back to the form.
            await page.evaluate("document.getElementById('lang').click()")
            await page.wait_for("document.body.innerText.includes('Show at the counter')")
            await page.wait_for(
                "document.getElementById('progress-text').textContent"
                ".includes('more to reach Silver')"
            )
            await page.screenshot(SCREENSHOT_DIR / "me-phone-en.png")
            await page.evaluate("document.getElementById('signout').click()")
            await page.wait_for("!document.getElementById('signin').hidden")
            assert await page.evaluate("sessionStorage.getItem('mp-token')") is None
    finally:
        if browser is not None:
            browser.terminate()
            browser.wait(timeout=10)
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)
    assert (SCREENSHOT_DIR / "me-phone.png").stat().st_size > 10_000
