"""Print jobs over HTTP: a till lists what is still to print, retries it, has a printed receipt
copied with a manager's PIN; HQ previews a job. Another store's jobs do not exist for a till.

The app here mounts ``printers.api``'s handlers exactly as ``memberpos.app`` does (the
terminal-key router under ``/api/v1/pos``, ``stores.api.hq_router`` under ``/api/v1/hq``),
so these tests do not depend on the other domains' routes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar, Router
from litestar.di import Provide

from memberpos.problems import EXCEPTION_HANDLERS
from printers import receipts
from printers.api import HQ_HANDLERS, POS_HANDLERS
from printers.escpos_render import decode_escpos_text
from stores.api import hq_router
from stores.guards import provide_terminal, terminal_middleware
from stores.tables import AuditEntry
from tests import factories

PIN = "2468"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def printers_app() -> Litestar:
    pos = Router(
        path="/api/v1/pos",
        route_handlers=POS_HANDLERS,
        middleware=[terminal_middleware()],
        dependencies={"terminal": Provide(provide_terminal)},
    )
    return Litestar(
        route_handlers=[hq_router(HQ_HANDLERS), pos],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    )


@pytest.fixture
async def http(db: None) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=printers_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://memberpos.test") as c:
        yield c


class Chain:
    def __init__(self) -> None:
        self.store_ids: dict[str, int] = {}
        self.tills: dict[str, tuple[int, dict[str, str]]] = {}


@pytest.fixture
async def chain(db: None) -> Chain:
    admin = await factories.hq_admin()
    made = await factories.small_chain(admin)
    result = Chain()
    result.store_ids = {code: store["id"] for code, store in made["stores"].items()}
    for name, store_code in (("T1", "SH001"), ("T2", "SH001"), ("T3", "SH002")):
        terminal, key = await factories.terminal(admin, store_code, name)
        result.tills[name] = (terminal["id"], {"X-Terminal-Key": key})
    await factories.employee(admin, "M1", ["store_manager"], "SH001", pin=PIN)
    await factories.employee(admin, "M2", ["store_manager"], "SH002", pin=PIN)
    await factories.employee(admin, "C1", ["cashier"], "SH001", pin=PIN)
    await factories.employee(admin, "H2", ["hq_admin"], None, pin=PIN)
    await factories.employee(admin, "A1", ["analyst"], None)
    return result


async def enqueue(chain: Chain, samples: Any, till: str, printer_spec: str) -> int:
    terminal_id, _ = chain.tills[till]
    store_code = {"T1": "SH001", "T2": "SH001", "T3": "SH002"}[till]
    receipt = samples.receipt("zh-CN")
    return await receipts.enqueue_receipt(
        receipt,
        store_id=chain.store_ids[store_code],
        terminal_id=terminal_id,
        printer_spec=printer_spec,
        reference=receipt.sale_number,
    )


def problem_code(response: httpx.Response) -> str:
    return str(response.json()["code"])


async def test_a_till_lists_its_jobs_retries_one_and_it_prints_when_the_printer_is_back(
    http, chain, samples, free_port, start_network_printer
) -> None:
    _, till = chain.tills["T1"]
    job_id = await enqueue(chain, samples, "T1", f"tcp:127.0.0.1:{free_port}")
    await enqueue(chain, samples, "T2", f"tcp:127.0.0.1:{free_port}")  # another till's

    listed = await http.get("/api/v1/pos/printers/jobs", headers=till)
    assert listed.status_code == 200, listed.text
    [job] = listed.json()["jobs"]
    assert (job["id"], job["status"], job["kind"], job["attempts"]) == (
        job_id,
        "queued",
        "receipt",
        0,
    )

    offline = await http.post(f"/api/v1/pos/printers/jobs/{job_id}/retry", headers=till)
    assert offline.status_code == 200, offline.text
    assert (offline.json()["status"], offline.json()["last_error_reason"]) == (
        "queued",
        "offline",
    )

    printer = start_network_printer(free_port)
    printed = await http.post(f"/api/v1/pos/printers/jobs/{job_id}/retry", headers=till)
    assert printed.json()["status"] == "printed", printed.text
    assert printer.jobs[0] == receipts.render(samples.receipt("zh-CN"), fmt="escpos")

    assert (await http.get("/api/v1/pos/printers/jobs", headers=till)).json()["jobs"] == []
    done = await http.get("/api/v1/pos/printers/jobs?status=printed", headers=till)
    assert [job["id"] for job in done.json()["jobs"]] == [job_id]

    again = await http.post(f"/api/v1/pos/printers/jobs/{job_id}/retry", headers=till)
    assert (again.status_code, problem_code(again)) == (409, "print_job_not_retryable")


async def test_a_reprint_needs_a_manager_of_this_store_and_prints_a_marked_copy(
    http, chain, samples, tmp_path: Path
) -> None:
    paper = tmp_path / "lp0"
    _, till = chain.tills["T1"]
    job_id = await enqueue(chain, samples, "T1", f"file:{paper}")
    url = f"/api/v1/pos/printers/jobs/{job_id}/reprint"

    not_printed = await http.post(url, headers=till, json={})
    assert (not_printed.status_code, problem_code(not_printed)) == (
        403,
        "manager_approval_required",
    )
    await http.post(f"/api/v1/pos/printers/jobs/{job_id}/retry", headers=till)
    original = paper.read_bytes()

    refusals = [
        ({}, 403, "manager_approval_required"),
        ({"manager_employee_no": "M1"}, 403, "manager_approval_required"),
        ({"manager_employee_no": "M1", "manager_pin": "0000"}, 403, "manager_approval_refused"),
        ({"manager_employee_no": "C1", "manager_pin": PIN}, 403, "manager_approval_refused"),
        ({"manager_employee_no": "M2", "manager_pin": PIN}, 403, "manager_approval_refused"),
        ({"manager_employee_no": "A1", "manager_pin": PIN}, 403, "manager_approval_refused"),
        ({"manager_pin": PIN, "extra": 1}, 400, None),
    ]
    for body, status, code in refusals:
        response = await http.post(url, headers=till, json=body)
        assert response.status_code == status, (body, response.text)
        if code:
            assert problem_code(response) == code
    assert paper.read_bytes() == original  # nothing printed by any refusal

    copy = await http.post(
        url, headers=till, json={"manager_employee_no": "M1", "manager_pin": PIN}
    )
    assert copy.status_code == 200, copy.text
    body = copy.json()
    assert (body["reprint_of"], body["status"], body["authorised_by"]) == (job_id, "printed", "M1")
    copied = paper.read_bytes()[len(original) :]
    lines = decode_escpos_text(copied)
    assert lines[0] == "重印 REPRINT"
    assert b"\x1bp" in original and b"\x1bp" not in copied  # the drawer stays shut
    assert samples.receipt("zh-CN").sale_number in "\n".join(lines)
    audit = await AuditEntry.select().where(AuditEntry.action == "reprint")
    assert [(row["entity_key"], row["actor_name"].split()[0]) for row in audit] == [
        (str(job_id), "M1")
    ]

    # An HQ admin's PIN approves too; the copy of a copy is refused only if not printed.
    by_hq = await http.post(
        url, headers=till, json={"manager_employee_no": "H2", "manager_pin": PIN}
    )
    assert by_hq.status_code == 200, by_hq.text


async def test_another_stores_jobs_are_not_found_even_with_a_manager_pin(
    http, chain, samples, tmp_path: Path
) -> None:
    job_id = await enqueue(chain, samples, "T1", f"file:{tmp_path / 'lp0'}")
    _, other_store_till = chain.tills["T3"]
    _, same_store_till = chain.tills["T2"]
    base = f"/api/v1/pos/printers/jobs/{job_id}"
    assert (await http.get("/api/v1/pos/printers/jobs", headers=other_store_till)).json() == {
        "jobs": []
    }
    retry = await http.post(f"{base}/retry", headers=other_store_till)
    assert (retry.status_code, problem_code(retry)) == (404, "print_job_not_found")
    reprint = await http.post(
        f"{base}/reprint",
        headers=other_store_till,
        json={"manager_employee_no": "M2", "manager_pin": PIN},
    )
    assert (reprint.status_code, problem_code(reprint)) == (404, "print_job_not_found")
    missing = await http.post("/api/v1/pos/printers/jobs/999999/retry", headers=same_store_till)
    assert missing.status_code == 404
    # A till of the same store may send it (the customer came to the next till).
    assert (await http.post(f"{base}/retry", headers=same_store_till)).json()["status"] == "printed"
    assert (await http.post(f"{base}/retry")).status_code == 401  # no terminal key


async def test_wrong_manager_pins_lock_the_till_out_for_a_while(
    http, chain, samples, tmp_path: Path
) -> None:
    _, till = chain.tills["T1"]
    job_id = await enqueue(chain, samples, "T1", f"file:{tmp_path / 'lp0'}")
    await http.post(f"/api/v1/pos/printers/jobs/{job_id}/retry", headers=till)
    url = f"/api/v1/pos/printers/jobs/{job_id}/reprint"
    wrong = {"manager_employee_no": "M1", "manager_pin": "9999"}
    codes = [problem_code(await http.post(url, headers=till, json=wrong)) for _ in range(6)]
    assert codes == ["manager_approval_refused"] * 5 + ["too_many_pin_attempts"]
    right = await http.post(
        url, headers=till, json={"manager_employee_no": "M1", "manager_pin": PIN}
    )
    assert (right.status_code, problem_code(right)) == (429, "too_many_pin_attempts")


async def test_hq_previews_a_job_as_png_or_text_within_its_scope(
    http, chain, samples, free_port
) -> None:
    job_id = await enqueue(chain, samples, "T1", f"tcp:127.0.0.1:{free_port}")
    url = f"/api/v1/hq/printers/jobs/{job_id}/preview"
    admin = await factories.sign_in(http, "H0001")
    png = await http.get(url, headers=admin)
    assert png.status_code == 200, png.text
    assert png.headers["content-type"] == "image/png" and png.content.startswith(PNG_SIGNATURE)

    manager = await factories.sign_in(http, "M1")
    text = await http.get(f"{url}?format=text", headers=manager)
    assert text.status_code == 200, text.text
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text == receipts.render(samples.receipt("zh-CN"), fmt="text").decode()
    state = await http.get(f"/api/v1/hq/printers/jobs/{job_id}", headers=manager)
    assert state.json()["status"] == "queued"

    for outsider in ("M2", "C1", "A1"):
        refused = await http.get(url, headers=await factories.sign_in(http, outsider))
        assert (refused.status_code, problem_code(refused)) == (404, "print_job_not_found")
    bad_format = await http.get(f"{url}?format=pdf", headers=admin)
    assert bad_format.status_code == 400
    assert (await http.get(url)).status_code == 401


async def test_hq_lists_the_jobs_still_to_print_store_by_store(
    http, chain, samples, free_port
) -> None:
    spec = f"tcp:127.0.0.1:{free_port}"
    first = await enqueue(chain, samples, "T1", spec)
    other = await enqueue(chain, samples, "T3", spec)
    url = "/api/v1/hq/printers/jobs"
    admin = await factories.sign_in(http, "H0001")
    everything = await http.get(url, headers=admin)
    assert [job["id"] for job in everything.json()["jobs"]] == [other, first]
    one_store = await http.get(f"{url}?store_code=SH002", headers=admin)
    assert [job["id"] for job in one_store.json()["jobs"]] == [other]
    assert (await http.get(f"{url}?status=printed", headers=admin)).json()["jobs"] == []

    manager = await factories.sign_in(http, "M1")
    own = await http.get(url, headers=manager)
    assert [job["id"] for job in own.json()["jobs"]] == [first]
    elsewhere = await http.get(f"{url}?store_code=SH002", headers=manager)
    assert (elsewhere.status_code, problem_code(elsewhere)) == (403, "store_out_of_scope")
    cashier = await http.get(url, headers=await factories.sign_in(http, "C1"))
    assert cashier.status_code == 403
    missing = await http.get(f"{url}?store_code=NOPE", headers=admin)
    assert missing.status_code == 404
    bad_status = await http.get(f"{url}?status=lost", headers=admin)
    assert bad_status.status_code == 400


async def test_parallel_retries_of_one_job_print_it_once(http, chain, samples, network_printer):
    _, till = chain.tills["T1"]
    job_id = await enqueue(chain, samples, "T1", f"tcp:127.0.0.1:{network_printer.port}")
    url = f"/api/v1/pos/printers/jobs/{job_id}/retry"
    responses = await asyncio.gather(*(http.post(url, headers=till) for _ in range(5)))
    assert all(response.status_code in (200, 409) for response in responses)
    assert len(network_printer.jobs) == 1


async def test_the_printing_routes_are_in_the_openapi_document(http) -> None:
    schema = await http.get("/schema/openapi.json")
    assert schema.status_code == 200, schema.text
    paths = schema.json()["paths"]
    assert {
        "/api/v1/pos/printers/jobs",
        "/api/v1/pos/printers/jobs/{job_id}/retry",
        "/api/v1/pos/printers/jobs/{job_id}/reprint",
        "/api/v1/hq/printers/jobs/{job_id}/preview",
    } <= set(paths)


async def test_the_real_app_serves_the_printing_routes(client, chain, samples, tmp_path) -> None:
    """The same handlers, mounted by ``memberpos.app`` through ``memberpos.domains``."""
    _, till = chain.tills["T1"]
    job_id = await enqueue(chain, samples, "T1", f"file:{tmp_path / 'lp0'}")
    listed = await client.get("/api/v1/pos/printers/jobs", headers=till)
    assert [job["id"] for job in listed.json()["jobs"]] == [job_id]
    printed = await client.post(f"/api/v1/pos/printers/jobs/{job_id}/retry", headers=till)
    assert printed.json()["status"] == "printed"
    admin = await factories.sign_in(client, "H0001")
    preview = await client.get(f"/api/v1/hq/printers/jobs/{job_id}/preview", headers=admin)
    assert preview.content.startswith(PNG_SIGNATURE)
