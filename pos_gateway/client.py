"""The terminal client: what a POS vendor embeds to talk to ``/api/v1/pos``.

Typed (the request and answer Structs of ``pos_gateway.schemas``), exactly once (every
mutating call carries a ``client_txn_id`` made once and is retried on network errors, 5xx
and timeouts with the same id and the same bytes), and offline-capable: when the service
cannot be reached a cash/bank-card sale is kept in the till's own SQLite file and answered
provisionally; ``replay()`` uploads the queue in order through ``POST /batches`` and keeps
items the service refused visible for a manager (``rejected_items()``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import msgspec

from pos_gateway.schemas import (
    BatchIn,
    BatchItemIn,
    BatchOut,
    CardOperationIn,
    CardOperationOut,
    MemberView,
    QuoteIn,
    QuoteOut,
    RefundIn,
    RefundOut,
    RegistrationIn,
    RegistrationOut,
    SaleIn,
    SaleOut,
    TopUpIn,
    TopUpOut,
)

T = TypeVar("T")

API_PREFIX = "/api/v1/pos"
OFFLINE_METHODS = frozenset({"cash", "bank_card"})
RETRY_STATUSES = frozenset({500, 502, 503, 504})
# A 409 that means "your twin request is still being applied": ask again, same id.
RETRY_CODES = frozenset({"request_in_progress"})
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PREFIX_CHARS = re.compile(r"[^A-Za-z0-9._:\-]")


# ------------------------------------------------------------------------------- errors


class PosError(Exception):
    """A call that did not succeed. ``code`` is the stable machine code the till acts on
    (``insufficient_stored_value``, ``card_lost`` …; ``unreachable`` for the network)."""

    def __init__(
        self,
        code: str,
        status: int = 0,
        detail: str = "",
        *,
        problem: dict[str, Any] | None = None,
    ) -> None:
        self.code = code
        self.status = status
        self.detail = detail or code
        self.problem = problem or {}
        self.field: str | None = self.problem.get("field")
        super().__init__(f"{code} ({status}): {self.detail}" if status else f"{code}: {detail}")


class PosRefused(PosError):
    """The service answered and said no (4xx): retrying the same request will not help."""


class PosAuthenticationError(PosRefused):
    """The terminal key is wrong, rotated or revoked, or the store is not trading (401/403
    on the key itself)."""


class IdempotencyConflict(PosRefused):
    """The transaction id was used before for a different request (409)."""


class PosServerError(PosError):
    """The service kept failing (5xx) after every retry."""


class PosUnreachable(PosError):
    """No answer from the service after every retry (connection, timeout)."""


_AUTH_CODES = frozenset(
    {"invalid_terminal_key", "terminal_revoked", "store_not_trading", "unauthenticated"}
)


def error_from_response(response: httpx.Response) -> PosError:
    try:
        problem = response.json()
        if not isinstance(problem, dict):
            problem = {}
    except ValueError:
        problem = {}
    code = str(problem.get("code") or f"http_{response.status_code}")
    detail = str(problem.get("detail") or problem.get("title") or response.reason_phrase)
    status = response.status_code
    if status >= 500:
        return PosServerError(code, status, detail, problem=problem)
    if code == "idempotency_conflict":
        return IdempotencyConflict(code, status, detail, problem=problem)
    if code in _AUTH_CODES or status == 401:
        return PosAuthenticationError(code, status, detail, problem=problem)
    return PosRefused(code, status, detail, problem=problem)


# ------------------------------------------------------------------------------ answers


class _Answer(msgspec.Struct, kw_only=True):
    pass


class TerminalInfo(_Answer):
    terminal_id: int
    name: str
    store_code: str
    time_zone: str
    business_date: str


class ProductPrice(_Answer):
    sku: str
    name: str
    retail_price_minor: int
    member_price_minor: int | None
    source: str


class ProvisionalSale(_Answer):
    """What the till knows of a sale it could not post: queued, to be uploaded in order.
    Points are earned (and the sale number given) when the upload is applied."""

    client_txn_id: str
    local_time: dt.datetime
    queued_seq: int
    total_minor: int  # what the customer paid, as the till rang it up
    provisional: bool = True


@dataclass
class QueuedItem:
    seq: int
    kind: str
    client_txn_id: str
    body: dict[str, Any]
    status: str  # pending | applied | replayed | rejected | resolved
    queued_at: str
    http_status: int | None = None
    answer: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    batch_id: str | None = None
    sent_online: bool = False

    @property
    def code(self) -> str | None:
        return (self.error or {}).get("code")


@dataclass
class ReplayReport:
    uploaded: int = 0
    applied: int = 0
    replayed: int = 0
    rejected: int = 0
    batches: int = 0
    pending: int = 0  # still queued (service unreachable or failing mid-way)
    rejected_codes: dict[str, int] = field(default_factory=dict)


def _known_fields_only(value: Any, info: Any) -> Any:
    """``value`` (decoded JSON) without the object keys ``info`` (a msgspec type) does not
    know, at every depth."""
    from msgspec import inspect

    if isinstance(info, inspect.UnionType):
        for member in info.types:
            if isinstance(member, inspect.StructType) and isinstance(value, dict):
                return _known_fields_only(value, member)
        for member in info.types:
            if isinstance(member, inspect.ListType) and isinstance(value, list):
                return _known_fields_only(value, member)
        return value
    if isinstance(info, inspect.StructType) and isinstance(value, dict):
        fields = {f.encode_name: f.type for f in info.fields}
        return {k: _known_fields_only(v, fields[k]) for k, v in value.items() if k in fields}
    if isinstance(info, inspect.ListType) and isinstance(value, list):
        return [_known_fields_only(item, info.item_type) for item in value]
    return value


def decode_answer(content: bytes, answer: type[T]) -> T:
    """The service's answer as ``answer``. The answer Structs forbid unknown fields (they
    are the server's contract); a newer service that added a field must not break a till
    that was built against the older one, so unknown fields are dropped and decoding is
    tried again."""
    try:
        return msgspec.json.decode(content, type=answer)
    except msgspec.ValidationError as error:
        if "unknown field" not in str(error).lower():
            raise
        from msgspec import inspect

        cleaned = _known_fields_only(msgspec.json.decode(content), inspect.type_info(answer))
        return msgspec.convert(cleaned, answer)


# ----------------------------------------------------------------------- transaction ids


def new_txn_id(prefix: str, *, now: float | None = None, rng: random.Random | None = None) -> str:
    """``<prefix>-<10 chars of milliseconds><8 random chars>`` in Crockford base 32: sortable
    by time like a ULID, unique per terminal, at most 64 characters of the allowed set."""
    millis = int((time.time() if now is None else now) * 1000)
    stamp = "".join(_CROCKFORD[(millis >> (5 * i)) & 31] for i in reversed(range(10)))
    source = rng or random.SystemRandom()
    tail = "".join(source.choice(_CROCKFORD) for _ in range(8))
    clean = _PREFIX_CHARS.sub("", prefix)[:44]
    return f"{clean}-{stamp}{tail}" if clean else f"{stamp}{tail}"


def terminal_key_id(key: str) -> str:
    """The public id part of ``mpt_<16hex>_<secret>`` (never the secret)."""
    parts = key.split("_", 2)
    return parts[1] if len(parts) == 3 and parts[0] == "mpt" else "till"


def local_now(time_zone: str) -> dt.datetime:
    """The till's wall clock in the store's zone, as ``local_time`` wants it."""
    return dt.datetime.now(ZoneInfo(time_zone)).replace(microsecond=0)


# ---------------------------------------------------------------------- the offline queue


class OfflineQueue:
    """The till's own SQLite file of operations waiting for upload, in the order they
    happened. Done items stay (with their answer) so the till can show what the service
    booked; rejected ones stay until a manager resolves them."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a queued sale must survive a power cut
        self._db.execute(
            """CREATE TABLE IF NOT EXISTS queued_operation (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                kind TEXT NOT NULL,
                client_txn_id TEXT NOT NULL UNIQUE,
                body TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending',
                queued_at TEXT NOT NULL,
                uploaded_at TEXT,
                batch_id TEXT,
                http_status INTEGER,
                answer TEXT,
                error TEXT,
                sent_online INTEGER NOT NULL DEFAULT 0
            )"""
        )

    def close(self) -> None:
        self._db.close()

    def add(self, kind: str, client_txn_id: str, body: bytes, *, sent_online: bool = False) -> int:
        """Queues an operation (idempotent by its transaction id); returns its position.
        ``sent_online``: it was posted and may have been applied before the answer was lost,
        so it is re-posted as it was rather than uploaded as an offline item."""
        self._db.execute(
            "INSERT OR IGNORE INTO queued_operation "
            "(kind, client_txn_id, body, queued_at, sent_online) VALUES (?, ?, ?, ?, ?)",
            (
                kind,
                client_txn_id,
                body.decode(),
                dt.datetime.now(dt.UTC).isoformat(),
                int(sent_online),
            ),
        )
        row = self._db.execute(
            "SELECT seq FROM queued_operation WHERE client_txn_id = ?", (client_txn_id,)
        ).fetchone()
        return int(row[0])

    def _items(self, where: str, args: tuple[Any, ...] = (), limit: int = -1) -> list[QueuedItem]:
        rows = self._db.execute(
            "SELECT seq, kind, client_txn_id, body, status, queued_at, http_status, answer, "
            f"error, batch_id, sent_online FROM queued_operation WHERE {where} "
            "ORDER BY seq LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [
            QueuedItem(
                seq=r[0],
                kind=r[1],
                client_txn_id=r[2],
                body=json.loads(r[3]),
                status=r[4],
                queued_at=r[5],
                http_status=r[6],
                answer=json.loads(r[7]) if r[7] else None,
                error=json.loads(r[8]) if r[8] else None,
                batch_id=r[9],
                sent_online=bool(r[10]),
            )
            for r in rows
        ]

    def pending(self, limit: int = -1) -> list[QueuedItem]:
        return self._items("status = 'pending'", limit=limit)

    def pending_count(self) -> int:
        row = self._db.execute(
            "SELECT count(*) FROM queued_operation WHERE status = 'pending'"
        ).fetchone()
        return int(row[0])

    def rejected(self) -> list[QueuedItem]:
        return self._items("status = 'rejected'")

    def all(self) -> list[QueuedItem]:
        return self._items("1 = 1")

    def get(self, client_txn_id: str) -> QueuedItem | None:
        found = self._items("client_txn_id = ?", (client_txn_id,))
        return found[0] if found else None

    def mark(
        self,
        seq: int,
        status: str,
        *,
        batch_id: str,
        http_status: int,
        answer: Any = None,
        error: Any = None,
    ) -> None:
        self._db.execute(
            "UPDATE queued_operation SET status = ?, batch_id = ?, http_status = ?, answer = ?, "
            "error = ?, uploaded_at = ? WHERE seq = ?",
            (
                status,
                batch_id,
                http_status,
                None if answer is None else json.dumps(answer, ensure_ascii=False),
                None if error is None else json.dumps(error, ensure_ascii=False),
                dt.datetime.now(dt.UTC).isoformat(),
                seq,
            ),
        )

    def resolve(self, client_txn_id: str) -> bool:
        """A manager has dealt with a rejected item: it leaves the rejected list."""
        cursor = self._db.execute(
            "UPDATE queued_operation SET status = 'resolved' "
            "WHERE client_txn_id = ? AND status = 'rejected'",
            (client_txn_id,),
        )
        return cursor.rowcount == 1


# ----------------------------------------------------------------------------- the client


def _only_offline_payments(sale: SaleIn) -> bool:
    return all(p.method in OFFLINE_METHODS for p in sale.payments)


class PosClient:
    """One terminal's connection to the service.

    ``async with PosClient(url, key, queue_path="var/till.sqlite") as pos:`` then
    ``await pos.sale(SaleIn(client_txn_id="", local_time=..., lines=..., payments=...))``:
    an empty ``client_txn_id`` is filled with a new one (kept on the queued item and every
    retry). Without ``queue_path`` the client has no offline mode and raises
    ``PosUnreachable`` instead of queueing.
    """

    def __init__(
        self,
        base_url: str,
        terminal_key: str,
        *,
        queue_path: str | os.PathLike[str] | None = None,
        txn_prefix: str | None = None,
        timeout: float = 10.0,
        max_attempts: int = 5,
        backoff_base: float = 0.2,
        backoff_max: float = 5.0,
        reconnect_after: float = 15.0,
        batch_size: int = 200,
        transport: httpx.AsyncBaseTransport | None = None,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.txn_prefix = txn_prefix or terminal_key_id(terminal_key)
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.reconnect_after = reconnect_after
        self.batch_size = batch_size
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._headers = {
            "Authorization": f"Bearer {terminal_key}",
            "Accept": "application/json",
        }
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout,
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
        )
        self.queue = OfflineQueue(queue_path) if queue_path is not None else None
        self.forced_offline = False
        self._offline_since: float | None = None
        self.last_maybe_delivered = False
        self.attempts = 0  # HTTP requests sent, retries included (for the simulator's stats)
        self.retries = 0

    async def __aenter__(self) -> PosClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()
        if self.queue is not None:
            self.queue.close()

    # ---------------------------------------------------------------- plumbing

    def new_txn_id(self) -> str:
        return new_txn_id(self.txn_prefix, rng=self._rng)

    @property
    def online(self) -> bool:
        return not self.forced_offline and self._offline_since is None

    def _delay(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * (2**attempt))
        return ceiling / 2 + self._rng.random() * ceiling / 2  # jitter: tills don't stampede

    async def _send(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
        attempts: int | None = None,
    ) -> httpx.Response:
        """One logical request, retried with the same bytes on network errors, timeouts,
        5xx and "in progress" 409s; the last failure is raised typed."""
        headers = dict(self._headers)
        if content is not None:
            headers["Content-Type"] = "application/json"
        failure: PosError | None = None
        # Whether any attempt may have reached the service (only a refused connection
        # proves it did not): decides how an unanswered sale is queued.
        self.last_maybe_delivered = False
        tries = attempts or self.max_attempts
        for attempt in range(tries):
            if attempt:
                self.retries += 1
                await self._sleep(self._delay(attempt - 1))
            self.attempts += 1
            try:
                response = await self._http.request(
                    method, API_PREFIX + path, content=content, params=params, headers=headers
                )
            except httpx.TransportError as error:  # connect, read, write, timeouts, protocol
                if not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
                    self.last_maybe_delivered = True
                failure = PosUnreachable("unreachable", 0, f"{type(error).__name__}: {error}")
                continue
            if response.status_code < 400:
                self._offline_since = None
                return response
            failure = error_from_response(response)
            self.last_maybe_delivered = True
            if response.status_code in RETRY_STATUSES or failure.code in RETRY_CODES:
                continue
            self._offline_since = None
            raise failure
        assert failure is not None
        if isinstance(failure, PosUnreachable):
            self._offline_since = time.monotonic()
        raise failure

    async def _get(self, path: str, answer: type[T], params: dict[str, str] | None = None) -> T:
        response = await self._send("GET", path, params=params)
        return decode_answer(response.content, answer)

    async def _post(self, path: str, body: msgspec.Struct, answer: type[T]) -> T:
        response = await self._send("POST", path, content=msgspec.json.encode(body))
        return decode_answer(response.content, answer)

    def _with_id(self, request: Any) -> Any:
        if not request.client_txn_id:
            return msgspec.structs.replace(request, client_txn_id=self.new_txn_id())
        return request

    # --------------------------------------------------------------- reads

    async def health(self) -> bool:
        """Whether the service answers at all (one quick try, no retries)."""
        try:
            response = await self._http.get("/health", timeout=3.0)
        except httpx.TransportError:
            return False
        return response.status_code < 500

    async def terminal(self) -> TerminalInfo:
        return await self._get("/terminal", TerminalInfo)

    async def product(self, sku: str) -> ProductPrice:
        return await self._get(f"/products/{sku}", ProductPrice)

    async def find_member(
        self,
        *,
        card_number: str | None = None,
        qr_token: str | None = None,
        phone: str | None = None,
    ) -> MemberView:
        given = {"card_number": card_number, "qr_token": qr_token, "phone": phone}
        params = {k: v for k, v in given.items() if v}
        if len(params) != 1:
            raise ValueError("identify the member by exactly one of card_number, qr_token, phone")
        return await self._get("/members", MemberView, params)

    async def sale_detail(self, sale_no: str) -> dict[str, Any]:
        """A sale of this till's store with its lines, payments and refunds (to refund it)."""
        response = await self._send("GET", f"/sales/{sale_no}")
        return msgspec.json.decode(response.content, type=dict[str, Any])

    async def quote(self, request: QuoteIn) -> QuoteOut:
        return await self._post("/quote", request, QuoteOut)

    # ------------------------------------------------------------ mutations

    async def sale(self, request: SaleIn) -> SaleOut | ProvisionalSale:
        """Posts a sale exactly once. Offline (or unreachable after every retry), a sale
        paid only in cash or by bank card is queued and answered provisionally; anything
        else raises ``PosUnreachable``."""
        request = self._with_id(request)
        can_queue = self.queue is not None and _only_offline_payments(request)
        # A till back online uploads what it queued first, whatever this sale is paid with,
        # so the service sees the operations in the order they happened.
        ready = self.queue is None or await self._ready_for_online()
        if can_queue and not ready:
            # Never sent: safe to mark it as the offline sale it is.
            return self._enqueue_sale(msgspec.structs.replace(request, offline=True))
        if self.forced_offline:
            raise PosUnreachable(
                "unreachable", 0, "offline: only cash and bank-card sales can be queued"
            )
        try:
            return await self._post("/sales", request, SaleOut)
        except (PosUnreachable, PosServerError) as error:
            if not can_queue or (isinstance(error, PosServerError) and error.status == 500):
                raise
            self._offline_since = self._offline_since or time.monotonic()
            if not self.last_maybe_delivered:
                return self._enqueue_sale(msgspec.structs.replace(request, offline=True))
            # It may have been booked before the answer was lost: queue the very same body,
            # to be re-posted as it was, so the service answers with what it stored.
            return self._enqueue_sale(request, sent_online=True)

    async def refund(self, request: RefundIn) -> RefundOut:
        return await self._post("/refunds", self._with_id(request), RefundOut)

    async def top_up(self, request: TopUpIn) -> TopUpOut:
        return await self._post("/top-ups", self._with_id(request), TopUpOut)

    async def register(self, request: RegistrationIn) -> RegistrationOut:
        return await self._post("/members", self._with_id(request), RegistrationOut)

    async def card_operation(self, card_number: str, request: CardOperationIn) -> CardOperationOut:
        return await self._post(
            f"/cards/{card_number}/operations", self._with_id(request), CardOperationOut
        )

    async def upload_batch(self, request: BatchIn) -> BatchOut:
        return await self._post("/batches", request, BatchOut)

    # -------------------------------------------------------------- offline

    def go_offline(self) -> None:
        """Act as if the network were down (a till's "offline mode" switch; the simulator)."""
        self.forced_offline = True

    def go_online(self) -> None:
        self.forced_offline = False
        self._offline_since = None

    async def _ready_for_online(self) -> bool:
        """False while offline; after ``reconnect_after`` seconds one probe decides, and a
        till that is back uploads its queue first so the service sees the operations in the
        order they happened."""
        if self.forced_offline:
            return False
        if self._offline_since is not None:
            if time.monotonic() - self._offline_since < self.reconnect_after:
                return False
            if not await self.health():
                self._offline_since = time.monotonic()
                return False
            self._offline_since = None
        if self.queue is not None and self.queue.pending_count():
            report = await self.replay()
            return report.pending == 0
        return True

    def _enqueue_sale(self, request: SaleIn, *, sent_online: bool = False) -> ProvisionalSale:
        assert self.queue is not None
        seq = self.queue.add(
            "sale", request.client_txn_id, msgspec.json.encode(request), sent_online=sent_online
        )
        return ProvisionalSale(
            client_txn_id=request.client_txn_id,
            local_time=request.local_time,
            queued_seq=seq,
            total_minor=sum(p.amount_minor for p in request.payments),
        )

    def enqueue(self, kind: str, request: SaleIn | RefundIn | TopUpIn) -> int:
        """Queues an operation for the next upload without trying the network (a till
        recording a day it spent offline)."""
        if self.queue is None:
            raise RuntimeError("this client has no offline queue (queue_path)")
        request = self._with_id(request)
        return self.queue.add(kind, request.client_txn_id, msgspec.json.encode(request))

    def pending_items(self) -> list[QueuedItem]:
        return self.queue.pending() if self.queue is not None else []

    def rejected_items(self) -> list[QueuedItem]:
        """Queued operations the service refused at upload, with the problem (``code``)."""
        return self.queue.rejected() if self.queue is not None else []

    def queued_answer(self, client_txn_id: str) -> QueuedItem | None:
        return self.queue.get(client_txn_id) if self.queue is not None else None

    async def replay(self, *, batch_size: int | None = None) -> ReplayReport:
        """Uploads every pending queued operation, in order, ``batch_size`` at a time, and
        marks each by its own answer. Stops (items stay pending) when the service cannot be
        reached or an item fails on the server's side; a refused item does not stop the
        rest (the service answers each on its own).

        An item that was posted online before the network failed may already be booked: it
        is re-posted to its own endpoint with the very same body (the service answers with
        the stored answer), not uploaded as an offline item, whose body would differ."""
        report = ReplayReport()
        if self.queue is None or self.forced_offline:
            report.pending = self.queue.pending_count() if self.queue is not None else 0
            return report
        size = batch_size or self.batch_size
        while True:
            pending = self.queue.pending(limit=size)
            if not pending:
                break
            if pending[0].sent_online:
                if not await self._repost(pending[0], report):
                    break
                continue
            chunk = []
            for item in pending:
                if item.sent_online:
                    break
                chunk.append(item)
            if not await self._upload(chunk, report):
                break
        report.pending = self.queue.pending_count()
        return report

    def _count(self, report: ReplayReport, outcome: str, error: dict[str, Any] | None) -> None:
        report.uploaded += 1
        if outcome == "rejected":
            report.rejected += 1
            code = str((error or {}).get("code", "unknown"))
            report.rejected_codes[code] = report.rejected_codes.get(code, 0) + 1
        elif outcome == "replayed":
            report.replayed += 1
        else:
            report.applied += 1

    async def _upload(self, chunk: list[QueuedItem], report: ReplayReport) -> bool:
        """One batch; False when the rest must wait for a later replay."""
        assert self.queue is not None
        # The id names the exact items, so a retried upload is the same batch.
        batch_id = f"b.{self.txn_prefix}.{chunk[0].seq}-{chunk[-1].seq}.{len(chunk)}"[:64]
        batch = BatchIn(
            batch_id=batch_id,
            items=[BatchItemIn(kind=item.kind, body=item.body) for item in chunk],
        )
        try:
            answer = await self.upload_batch(batch)
        except (PosUnreachable, PosServerError):
            return False
        report.batches += 1
        results = sorted(answer.items, key=lambda r: r.index)
        for item, result in zip(chunk, results, strict=False):
            if result.status >= 500:
                return False  # keep it and what follows for the next upload, in order
            self._count(report, result.outcome, result.error)
            self.queue.mark(
                item.seq,
                result.outcome,
                batch_id=batch_id,
                http_status=result.status,
                answer=result.answer,
                error=result.error,
            )
        return len(results) >= len(chunk)

    async def _repost(self, item: QueuedItem, report: ReplayReport) -> bool:
        assert self.queue is not None
        path = {"sale": "/sales", "refund": "/refunds", "top_up": "/top-ups"}[item.kind]
        try:
            response = await self._send("POST", path, content=msgspec.json.encode(item.body))
        except (PosUnreachable, PosServerError):
            return False
        except PosRefused as error:
            problem = error.problem or {"code": error.code, "detail": error.detail}
            self._count(report, "rejected", problem)
            self.queue.mark(
                item.seq, "rejected", batch_id="", http_status=error.status, error=problem
            )
            return True
        outcome = "replayed" if response.headers.get("Idempotent-Replay") else "applied"
        self._count(report, outcome, None)
        self.queue.mark(
            item.seq,
            outcome,
            batch_id="",
            http_status=response.status_code,
            answer=response.json(),
        )
        return True


def chunks(items: list[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
