"""Load test of the POS sale path as deployed, with the database's own ceiling beside it.

    .venv/bin/python -m bench.pos_load [--terminals 64 --duration 30 --workers 2]

1. A fresh PostgreSQL database ``memberpos_bench`` (and Redis db 13), migrated and seeded: the
   demo chain, its loyalty/promotion/commission set-up, one till per simulated terminal and
   ``--members`` members with stored value and spendable points.
2. ``memberpos serve --workers N`` as a subprocess on a free loopback port.
3. Sale bodies generated up front (baskets quoted once through ``/quote``; members,
   stored value, points, cash and card mixed; a unique ``client_txn_id`` each) and posted by
   ``wrk`` with a Lua script (``bench/pos_wrk.lua``), one connection per terminal; without
   wrk, by a lean asyncio HTTP/1.1 client in its own process.
4. Prints sales/s, p50/p95/p99 latency, the server's peak RSS (all its processes, /proc),
   the PostgreSQL CPU per sale (its processes for the database, /proc) and the ceiling that
   implies for exactly these writes, then pgbench with a lighter copy of one sale's writes
   (``bench/pos_sale.pgbench``) on shadow tables in the same database: the service's share
   of the database ceiling, both ways.
5. ``memberpos verify`` on the bench database: the ledgers must still add up.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
ADMIN_URL = os.environ.get("MEMBERPOS_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("MEMBERPOS_BENCH_REDIS", "redis://127.0.0.1:6379/13")
DATABASE = "memberpos_bench"
PAYMENT_PIN = "135790"


def bench_env(database: str = DATABASE) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        MEMBERPOS_DATABASE_URL=f"{ADMIN_URL}/{database}",
        MEMBERPOS_REDIS_URL=REDIS_URL,
        MEMBERPOS_SECRET_KEY="bench-secret-key",
        PYTHONPATH=str(ROOT),
    )
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------------------ seeding


async def _recreate_database() -> None:
    import asyncpg
    import redis.asyncio as redis_asyncio

    connection = await asyncpg.connect(f"{ADMIN_URL}/postgres")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await connection.close()
    client = redis_asyncio.from_url(REDIS_URL)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


async def _seed(terminals: int, members: int, full_demo: int = 0) -> dict[str, Any]:
    """Runs inside the bench environment (a subprocess): migrate, demo set-up, tills,
    members with money on their cards."""
    from loyalty.points import Source as PointsSource
    from loyalty.points import earn
    from loyalty.stored_value import top_up
    from memberpos.cli import run_migrations
    from memberpos.db import close_pool, start_pool
    from memberpos.domains import demo_steps
    from members.cards import Operator
    from members.registration import Registration, register
    from stores import terminals as terminal_domain
    from stores.access import Role
    from stores.demo import STORES, create_demo_chain
    from stores.staff import bootstrap_admin
    from stores.tables import Store

    await start_pool()
    try:
        await run_migrations(quiet=True)
        summary = await create_demo_chain()
        # The chain's loyalty, promotion and commission set-up, as the demo makes it; not
        # the 90-day history, nor (unless asked) the demo's thousands of members.
        skipped = {"pos_gateway.demo"} | (set() if full_demo else {"members.demo"})
        for step in demo_steps():
            if step.__module__ not in skipped:
                print(f"seed: {await step()}", file=sys.stderr)
        admin = await bootstrap_admin("H0001", "王芳", "memberpos-demo")
        keys: list[dict[str, str]] = []
        codes = [s[0] for s in STORES]
        for index in range(terminals):
            store_code = codes[index % len(codes)]
            _, key = await terminal_domain.create_terminal(
                admin, store_code, f"BENCH-{index + 1:03d}"
            )
            keys.append({"store": store_code, "key": key})
        stores = {r["code"]: r["id"] for r in await Store.select(Store.code, Store.id)}
        now = dt.datetime.now(dt.UTC)
        month_ago = now - dt.timedelta(days=30)
        cards: list[str] = []
        operator = Operator(roles=frozenset({Role.cashier}))
        for number in range(members):
            registered = await register(
                Registration(
                    phone=f"1780{number:07d}",
                    name=f"压测会员{number}",
                    home_store_id=stores[codes[number % len(codes)]],
                    payment_pin=PAYMENT_PIN,
                ),
                operator,
            )
            assert registered.card is not None
            cards.append(registered.card["number"])
            source = PointsSource("adjustment", f"bench-seed-{number}")
            await top_up(
                registered.member_id,
                2_000_000,
                source,  # type: ignore[arg-type]
                at=now,
                business_date=now.date(),
            )
            await earn(
                registered.member_id,
                20_000,
                source,
                at=month_ago,
                available_from=month_ago,
                expires_on=None,
            )
        return {"keys": keys, "cards": cards, "chain_terminals": summary.terminals}
    finally:
        await close_pool()


def seed(terminals: int, members: int, full_demo: bool) -> dict[str, Any]:
    asyncio.run(_recreate_database())
    process = subprocess.run(
        [
            PYTHON,
            "-m",
            "bench.pos_load",
            "--seed-only",
            str(terminals),
            str(members),
            str(int(full_demo)),
        ],
        env=bench_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if process.returncode != 0:
        raise SystemExit(f"seeding failed:\n{process.stderr[-4000:]}")
    return json.loads(process.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------- server


class Server:
    def __init__(self, workers: int, profile: str | None = None) -> None:
        self.profile = profile
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None
        self.peak_rss_kib = 0
        self._sampling = False
        self._thread: threading.Thread | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="memberpos-bench-server-", delete=False)

    def start(self) -> None:
        import httpx

        # --profile: the server under py-spy (its workers too), folded stacks to a file.
        py_spy = shutil.which("py-spy", path=str(Path(PYTHON).parent)) or "py-spy"
        spy = (
            [py_spy, "record", "--subprocesses", "--format", "raw", "-o", self.profile, "--"]
            if self.profile
            else []
        )
        self.process = subprocess.Popen(
            [
                *spy,
                PYTHON,
                "-m",
                "memberpos.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
                "--log-level",
                "warning",
            ],
            env=bench_env(),
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    # Every worker answers before the clock starts.
                    for _ in range(self.workers * 4):
                        httpx.get(f"{self.base}/health", timeout=2)
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.3)
        self.stop()
        raise SystemExit(f"server did not start; see {self.log.name}")

    def _pids(self) -> list[int]:
        assert self.process is not None
        root = self.process.pid
        pids = [root]
        try:
            children = Path(f"/proc/{root}/task/{root}/children").read_text().split()
        except OSError:
            return pids
        for child in children:
            pids.append(int(child))
            try:
                grand = Path(f"/proc/{child}/task/{child}/children").read_text().split()
                pids.extend(int(g) for g in grand)
            except OSError:
                pass
        return pids

    def rss_kib(self) -> int:
        total = 0
        for pid in self._pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                continue
        return total

    def cpu_seconds(self) -> float:
        return cpu_seconds(self._pids())

    def sample_memory(self) -> None:
        self._sampling = True

        def loop() -> None:
            while self._sampling:
                self.peak_rss_kib = max(self.peak_rss_kib, self.rss_kib())
                time.sleep(0.2)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._sampling = False
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self.profile and self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)  # py-spy writes its file on SIGINT
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def cpu_seconds(pids: Iterable[int | str]) -> float:
    """User and system CPU used so far by the processes ``pids`` (/proc; gone ones count 0)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            continue
    return total


def database_cpu_seconds(database: str = DATABASE) -> float:
    """CPU used so far by the PostgreSQL processes working for ``database`` (its backends and
    autovacuum workers: the database's name is in their title) and by the WAL writer, read
    from /proc; the server must be on this machine. Backends that exited are not counted, so
    read it around a run whose connections stay open (the service's pool)."""

    def works_for_database(pid: str) -> bool:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            title = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return stat[stat.index("(") + 1 : stat.rindex(")")].startswith("postgres") and (
            database.encode() in title or b"walwriter" in title
        )

    pids = [pid for pid in os.listdir("/proc") if pid.isdigit()]
    return cpu_seconds(pid for pid in pids if works_for_database(pid))


# ------------------------------------------------------------------------------- bodies


def _basket(rng: random.Random, products: list[Any]) -> list[dict[str, Any]]:
    count = rng.choice((1, 1, 2, 2, 3, 4))
    chosen = rng.sample(products, k=count)
    return [{"sku": p.sku, "quantity": 1 if rng.random() < 0.8 else 2} for p in chosen]


def make_templates(
    base: str, seeded: dict[str, Any], local_time: str, count: int, rng: random.Random
) -> list[dict[str, Any]]:
    """Baskets quoted once each: with a member (priced as any bench member: all new, same
    tier) or without, and the payments that settle them."""
    import httpx

    from pos_gateway.simulator import demo_products

    everyday = [p for p in demo_products() if p.retail_price_minor < 20_000]
    card = seeded["cards"][0]
    templates = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for index in range(count):
            terminal = seeded["keys"][index % len(seeded["keys"])]
            with_member = rng.random() < 0.7
            body: dict[str, Any] = {"lines": _basket(rng, everyday), "local_time": local_time}
            if with_member:
                body["member"] = {"card_number": card}
            answer = http.post(
                "/api/v1/pos/quote",
                json=body,
                headers={"Authorization": f"Bearer {terminal['key']}"},
            )
            if answer.status_code != 200:
                raise SystemExit(f"quote failed: {answer.status_code} {answer.text[:500]}")
            quote = answer.json()
            total, gross = quote["total_minor"], quote["gross_minor"]
            # During the run a basket's price moves within [its first purchase discounts,
            # the shelf price]: a promotion's use limit runs out, a member's first purchase
            # is over. Card, points and stored value stay within half of today's total; the
            # cash covers the rest up to the shelf price, the service gives the change.
            payments: list[dict[str, Any]] = []
            non_cash = 0
            if with_member:
                draw = rng.random()
                if draw < 0.15 and quote["max_points_redeemable"] >= 100 and total > 400:
                    payments.append({"method": "points", "amount_minor": 100, "points": 100})
                    non_cash += 100
                elif draw < 0.55 and total >= 200:
                    amount = min(total // 2, 15_000)  # below the payment PIN threshold
                    payments.append({"method": "stored_value", "amount_minor": amount})
                    non_cash += amount
            elif rng.random() < 0.5 and total >= 200:
                payments.append({"method": "bank_card", "amount_minor": total // 2})
                non_cash += total // 2
            cash = max(1000, -(-(gross - non_cash) // 1000) * 1000)
            payments.append({"method": "cash", "amount_minor": cash})
            templates.append({"lines": body["lines"], "member": with_member, "payments": payments})
    return templates


def write_bodies(
    path: Path,
    templates: list[dict[str, Any]],
    cards: list[str],
    count: int,
    terminals: int,
    threads: int,
    local_time: str,
    rng: random.Random,
    first_id: int = 0,
) -> None:
    """``<terminal index>\\t<sale JSON>`` per line. Line i goes to load thread i % threads;
    a thread's k-th body to its terminal k % (terminals per thread), so each connection
    posts for its own till, as a till would."""
    per_thread = max(1, terminals // threads)
    with path.open("w") as out:
        for i in range(count):
            thread, k = i % threads, i // threads
            terminal = min(terminals - 1, thread * per_thread + k % per_thread)
            template = templates[rng.randrange(len(templates))]
            body: dict[str, Any] = {
                "client_txn_id": f"bench-{first_id + i:08d}",
                "local_time": local_time,
                "lines": template["lines"],
                "payments": template["payments"],
            }
            if template["member"]:
                body["member"] = {"card_number": cards[rng.randrange(len(cards))]}
            out.write(f"{terminal}\t{json.dumps(body, separators=(',', ':'))}\n")


# ------------------------------------------------------------------------ load generators


def run_wrk(
    base: str, bodies: Path, keys: Path, connections: int, threads: int, duration: int
) -> dict[str, Any]:
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(HERE / "pos_wrk.lua"),
            base,
            "--",
            str(threads),
            str(bodies),
            str(keys),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise SystemExit(f"wrk gave no result:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")


async def _lean_connection(
    port: int,
    requests: list[bytes],
    stop_at: float,
    latencies: list[float],
    statuses: dict[int, int],
    codes: dict[str, int],
    interval: float = 0.0,
    first_at: float = 0.0,
) -> None:
    """Closed loop (``interval`` 0: the next sale as soon as the answer is in) or open loop
    (a sale every ``interval`` seconds from ``first_at``, latency counted from the time the
    sale was due, so a slow answer also delays, and is charged for, the sales behind it)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    index = 0
    due = first_at
    try:
        while time.perf_counter() < stop_at and index < len(requests):
            if interval:
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                started = due
                due += interval
            else:
                started = time.perf_counter()
            writer.write(requests[index])
            index += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length) if length else b""
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
            if status >= 400:
                found = re.search(rb'"code":"([a-z_]+)"', body)
                code = found.group(1).decode() if found else str(status)
                codes[code] = codes.get(code, 0) + 1
    finally:
        writer.close()


def run_lean(
    port: int, bodies: Path, keys: Path, connections: int, duration: int, rate: float = 0.0
) -> dict[str, Any]:
    """A minimal keep-alive HTTP/1.1 client (no parsing beyond status and length), used when
    wrk is not installed or an open-loop ``rate`` (sales/s over all tills) is asked for; run
    in this process after the server is up."""
    key_list = keys.read_text().split()
    per_connection: list[list[bytes]] = [[] for _ in range(connections)]
    with bodies.open() as source:
        for line in source:
            terminal, body = line.rstrip("\n").split("\t", 1)
            data = body.encode()
            request = (
                f"POST /api/v1/pos/sales HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Authorization: Bearer {key_list[int(terminal)]}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
            ).encode() + data
            per_connection[int(terminal) % connections].append(request)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    codes: dict[str, int] = {}

    async def main() -> float:
        started = time.perf_counter()
        stop_at = started + duration
        interval = connections / rate if rate else 0.0
        await asyncio.gather(
            *(
                _lean_connection(
                    port,
                    reqs,
                    stop_at,
                    latencies,
                    statuses,
                    codes,
                    interval,
                    started + interval * n / connections,  # the tills' sales interleaved
                )
                for n, reqs in enumerate(per_connection)
            )
        )
        return time.perf_counter() - started

    elapsed = asyncio.run(main())
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1e6 if ordered else 0

    return {
        "requests": len(latencies),
        "duration_us": elapsed * 1e6,
        "statuses": {str(k): v for k, v in statuses.items()},
        "codes": codes,
        "p50": pct(50),
        "p95": pct(95),
        "p99": pct(99),
        "socket_errors": 0,
        "generator": "asyncio",
    }


# ----------------------------------------------------------------------------- pgbench


PGBENCH_SETUP = """
DROP SCHEMA IF EXISTS pgb CASCADE;
CREATE SCHEMA pgb;
CREATE TABLE pgb.idempotency (id bigserial PRIMARY KEY, terminal int NOT NULL,
  client_txn_id varchar(64) NOT NULL, operation varchar(16) NOT NULL,
  request_hash varchar(64) NOT NULL, status_code int NOT NULL DEFAULT 0, response bytea,
  reference varchar(32) NOT NULL DEFAULT '', created_at timestamptz NOT NULL DEFAULT now());
CREATE UNIQUE INDEX ON pgb.idempotency (terminal, client_txn_id);
CREATE TABLE pgb.terminal_sequence (terminal int PRIMARY KEY, last_seq int NOT NULL);
INSERT INTO pgb.terminal_sequence SELECT g, 0 FROM generate_series(1, {terminals}) g;
CREATE TABLE pgb.sale (id bigserial PRIMARY KEY, sale_no varchar(20) UNIQUE NOT NULL,
  store int NOT NULL, terminal int NOT NULL, member int, client_txn_id varchar(64) NOT NULL,
  occurred_at timestamptz NOT NULL, business_date date NOT NULL, gross_minor bigint NOT NULL,
  discount_minor bigint NOT NULL, total_minor bigint NOT NULL, points_earned bigint NOT NULL,
  stored_value_minor bigint NOT NULL, pricing json NOT NULL DEFAULT '{{}}');
CREATE TABLE pgb.sale_line (id bigserial PRIMARY KEY, sale bigint NOT NULL
  REFERENCES pgb.sale (id), line_no int NOT NULL, sku varchar(40) NOT NULL,
  quantity int NOT NULL, net_minor bigint NOT NULL, points_earned bigint NOT NULL,
  salespeople json NOT NULL DEFAULT '[]');
CREATE INDEX ON pgb.sale_line (sale);
CREATE TABLE pgb.sale_payment (id bigserial PRIMARY KEY, sale bigint NOT NULL
  REFERENCES pgb.sale (id), method varchar(16) NOT NULL, amount_minor bigint NOT NULL);
CREATE INDEX ON pgb.sale_payment (sale);
CREATE TABLE pgb.points_account (id serial PRIMARY KEY, member int UNIQUE NOT NULL,
  balance bigint NOT NULL DEFAULT 0);
CREATE TABLE pgb.points_entry (id bigserial PRIMARY KEY, account int NOT NULL
  REFERENCES pgb.points_account (id), delta bigint NOT NULL, kind varchar(20) NOT NULL,
  source_id varchar(64) NOT NULL, balance_after bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE UNIQUE INDEX ON pgb.points_entry (account, source_id, kind);
CREATE TABLE pgb.stored_value_account (id serial PRIMARY KEY, member int UNIQUE NOT NULL,
  principal bigint NOT NULL);
CREATE TABLE pgb.stored_value_entry (id bigserial PRIMARY KEY, account int NOT NULL
  REFERENCES pgb.stored_value_account (id), principal_delta bigint NOT NULL,
  kind varchar(20) NOT NULL, source_id varchar(64) NOT NULL, principal_after bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE UNIQUE INDEX ON pgb.stored_value_entry (account, source_id, kind);
CREATE TABLE pgb.commission_entry (id bigserial PRIMARY KEY, staff int NOT NULL,
  source_ref varchar(64) NOT NULL, amount_minor bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO pgb.points_account (member, balance)
  SELECT g, 0 FROM generate_series(1, {members}) g;
INSERT INTO pgb.stored_value_account (member, principal)
  SELECT g, 1000000000 FROM generate_series(1, {members}) g;
ANALYZE;
"""


def run_pgbench(terminals: int, members: int, connections: int, duration: int) -> dict[str, Any]:
    import asyncpg

    async def setup() -> None:
        connection = await asyncpg.connect(f"{ADMIN_URL}/{DATABASE}")
        try:
            await connection.execute(PGBENCH_SETUP.format(terminals=terminals, members=members))
        finally:
            await connection.close()

    asyncio.run(setup())
    env = dict(os.environ, PGOPTIONS="-c search_path=pgb")
    host_port = ADMIN_URL.split("@")[-1]
    host, _, port = host_port.partition(":")
    user = ADMIN_URL.split("//")[1].split("@")[0]
    out = subprocess.run(
        [
            shutil.which("pgbench") or "/usr/bin/pgbench",
            "-n",
            "-h",
            host,
            "-p",
            port or "5432",
            "-U",
            user,
            "-c",
            str(connections),
            "-j",
            "2",
            "-T",
            str(duration),
            "-M",
            "prepared",
            "-D",
            f"terminals={terminals}",
            "-D",
            f"members={members}",
            "-f",
            str(HERE / "pos_sale.pgbench"),
            DATABASE,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    tps = 0.0
    latency = 0.0
    for line in out.stdout.splitlines():
        if line.startswith("tps ="):
            tps = float(line.split()[2])
        if line.startswith("latency average"):
            latency = float(line.split()[3])
    if not tps:
        print(out.stdout[-2000:], out.stderr[-2000:], file=sys.stderr)

    async def cleanup() -> None:
        connection = await asyncpg.connect(f"{ADMIN_URL}/{DATABASE}")
        try:
            await connection.execute("DROP SCHEMA IF EXISTS pgb CASCADE")
        finally:
            await connection.close()

    asyncio.run(cleanup())
    return {"tps": tps, "latency_ms": latency}


# --------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.pos_load", description=__doc__)
    parser.add_argument("--terminals", type=int, default=64, help="tills = connections")
    parser.add_argument("--duration", type=int, default=30, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--templates", type=int, default=300, help="distinct quoted baskets")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of load not counted")
    parser.add_argument("--generator", choices=("auto", "wrk", "asyncio"), default="auto")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="open loop: offer this many sales/s over all tills (each till posts at a steady "
        "pace, latency counted from when a sale was due) instead of each till posting its next "
        "sale as soon as the last is answered",
    )
    parser.add_argument("--no-pgbench", action="store_true")
    parser.add_argument(
        "--full-demo", action="store_true", help="seed the demo's members as well (slower)"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="run the server under py-spy; folded stacks to FILE"
    )
    parser.add_argument("--seed-only", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.seed_only:
        seeded = asyncio.run(_seed(*args.seed_only))
        print(json.dumps(seeded))
        return 0

    rng = random.Random(2026)
    generator = args.generator
    if args.rate:
        generator = "asyncio"  # wrk has no open-loop pace
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "asyncio"
    threads = 2 if generator == "wrk" else 1
    started = time.perf_counter()
    print(
        f"pos_load: {args.terminals} terminals, {args.duration} s, {args.workers} workers, "
        f"{args.members} members, load by {generator}; seeding {DATABASE} …",
        flush=True,
    )
    seeded = seed(args.terminals, args.members, args.full_demo)
    print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)
    work = Path(tempfile.mkdtemp(prefix="memberpos-bench-"))
    keys_file = work / "keys.txt"
    keys_file.write_text("\n".join(k["key"] for k in seeded["keys"]) + "\n")
    server = Server(args.workers, args.profile)
    server.start()
    result: dict[str, Any] = {}
    try:
        local_time = dt.datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
        stamp = local_time.replace(microsecond=0).isoformat()
        templates = make_templates(server.base, seeded, stamp, args.templates, rng)
        total_bodies = (args.duration + args.warmup) * 3_000
        warm_bodies, bodies = work / "warm.tsv", work / "bodies.tsv"
        write_bodies(
            warm_bodies,
            templates,
            seeded["cards"],
            args.warmup * 3_000,
            args.terminals,
            threads,
            stamp,
            rng,
        )
        write_bodies(
            bodies,
            templates,
            seeded["cards"],
            total_bodies,
            args.terminals,
            threads,
            stamp,
            rng,
            first_id=10_000_000,  # after the warm-up's ids
        )
        if args.warmup:
            _load(generator, server, warm_bodies, keys_file, args, threads, args.warmup)
        cpu_before, database_before = server.cpu_seconds(), database_cpu_seconds()
        server.sample_memory()
        result = _load(generator, server, bodies, keys_file, args, threads, args.duration)
        cpu_used = server.cpu_seconds() - cpu_before
        database_used = database_cpu_seconds() - database_before
    finally:
        server.stop()
    seconds = result["duration_us"] / 1e6
    statuses = result["statuses"]
    created = int(statuses.get("201", 0))
    errors = result.get("codes") or {k: v for k, v in statuses.items() if k != "201"}
    rate = created / seconds if seconds else 0.0
    if args.rate:
        print(f"open loop: {args.rate:,.0f} sales/s offered by {args.terminals} tills")
    print(
        f"service: {rate:,.0f} sales/s ({created} sales in {seconds:.1f} s), latency "
        f"p50 {result['p50'] / 1000:.1f} ms, p95 {result['p95'] / 1000:.1f} ms, "
        f"p99 {result['p99'] / 1000:.1f} ms; refused/failed by code {errors or 'none'}"
        + (f", socket errors {result['socket_errors']}" if result.get("socket_errors") else "")
    )
    print(
        f"server: peak RSS {server.peak_rss_kib / 1024:,.0f} MiB over {args.workers} workers "
        f"(+ supervisor); {cpu_used / max(created, 1) * 1000:.2f} ms of server CPU per sale"
    )
    if database_used:
        # What the database alone spends on a sale, as the service sends it: with every core
        # of this machine given to PostgreSQL and nothing else running, no more than this many
        # sales a second; the ceiling of exactly these writes, where pgbench's script is a
        # lighter copy of them.
        per_sale = database_used / max(created, 1)
        cores = os.cpu_count() or 1
        print(
            f"database: {per_sale * 1000:.2f} ms of PostgreSQL CPU per sale; with all {cores}"
            f" cores PostgreSQL alone would top out near {cores / per_sale:,.0f} sales/s;"
            f" service share {rate * per_sale / cores:.0%}"
        )
    if not args.no_pgbench:
        ceiling = run_pgbench(args.terminals, args.members, args.terminals, args.duration)
        share = rate / ceiling["tps"] if ceiling["tps"] else 0.0
        print(
            f"database ceiling: pgbench {ceiling['tps']:,.0f} sale transactions/s "
            f"(same writes, {args.terminals} clients, avg {ceiling['latency_ms']:.1f} ms); "
            f"service share {share:.0%}"
        )
    print("targets: >= 1,000 sales/s, p99 <= 50 ms, >= 50% of the pgbench ceiling")
    verify = subprocess.run(
        [PYTHON, "-m", "memberpos.cli", "verify"],
        env=bench_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    print(f"verify: {verify.stdout.strip().splitlines()[-1] if verify.stdout else verify.stderr}")
    if verify.returncode != 0:
        print(verify.stdout[-3000:])
    return verify.returncode


def _load(
    generator: str,
    server: Server,
    bodies: Path,
    keys: Path,
    args: argparse.Namespace,
    threads: int,
    duration: int,
) -> dict[str, Any]:
    if generator == "wrk":
        return run_wrk(server.base, bodies, keys, args.terminals, threads, duration)
    return run_lean(server.port, bodies, keys, args.terminals, duration, args.rate)


if __name__ == "__main__":
    raise SystemExit(main())
