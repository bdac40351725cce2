"""Exactly once, as DESIGN.md says: every mutating terminal request carries a client
transaction id; the first answer is stored with the operation, in its transaction, under the
unique key (terminal, id). A replay gets that answer byte for byte; the same id with another
body is a 409; two identical requests racing on two connections apply once, because the
second one's insert of the key waits for the first transaction and then finds the key taken.

Refused requests are not stored: nothing was written, so a retry is evaluated afresh (a
sale refused for insufficient stored value may succeed after a top-up).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from memberpos.cache import get_redis
from memberpos.clock import utc_now
from memberpos.db import defer_write, fetchrow, transaction, write_count
from memberpos.errors import DomainError
from pos_gateway.errors import IdempotencyConflict, RequestInProgress

_encoder = msgspec.json.Encoder(order="sorted")


def request_hash(request: msgspec.Struct) -> str:
    """SHA-256 of the request's canonical JSON (sorted keys, no whitespace), so the same
    request re-serialised by another client library still matches."""
    return hashlib.sha256(_encoder.encode(request)).hexdigest()


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: bytes
    replayed: bool = False
    reference: str = ""


@dataclass(frozen=True)
class Outcome:
    """What an operation's apply step returns: its HTTP status, the answer to store, and a
    short reference (sale number …) kept beside it."""

    status_code: int
    answer: Any
    reference: str = ""


class _Taken(Exception):
    pass


_REPLAY_SECONDS = 24 * 3600
log = logging.getLogger("memberpos.pos")


def _conflict(client_txn_id: str) -> IdempotencyConflict:
    return IdempotencyConflict(
        f"Transaction id {client_txn_id} was used for another request", field="client_txn_id"
    )


def _redis_key(terminal_id: int, client_txn_id: str) -> str:
    return f"memberpos:idem:{terminal_id}:{client_txn_id}"


async def _cached(terminal_id: int, client_txn_id: str, digest: str) -> Answer | None:
    """The Redis copy of a stored answer, when there is one: a replay answered without a
    database round trip. Any Redis failure falls back to the database, the authority."""
    redis = get_redis()
    if redis is None:
        return None
    try:
        raw = await redis.get(_redis_key(terminal_id, client_txn_id))
    except Exception as error:  # Redis is a shortcut; the database answers instead
        log.warning("idempotency cache unavailable: %s", type(error).__name__)
        return None
    if raw is None:
        return None
    cached = msgspec.json.decode(raw)
    if cached["hash"] != digest:
        raise _conflict(client_txn_id)
    return Answer(cached["status"], cached["body"].encode(), True, cached["reference"])


async def _remember(terminal_id: int, client_txn_id: str, digest: str, answer: Answer) -> None:
    redis = get_redis()
    if redis is None:
        return
    payload = msgspec.json.encode(
        {
            "hash": digest,
            "status": answer.status_code,
            "body": answer.body.decode(),
            "reference": answer.reference,
        }
    )
    try:
        await redis.set(_redis_key(terminal_id, client_txn_id), payload, ex=_REPLAY_SECONDS)
    except Exception as error:
        log.warning("idempotency cache not written: %s", type(error).__name__)


async def stored_answer(terminal_id: int, client_txn_id: str, digest: str) -> Answer | None:
    if (cached := await _cached(terminal_id, client_txn_id, digest)) is not None:
        return cached
    row = await fetchrow(
        "SELECT request_hash, status_code, response, reference FROM idempotency_record"
        " WHERE terminal = {} AND client_txn_id = {}",
        terminal_id,
        client_txn_id,
    )
    if row is None:
        return None
    if row["request_hash"] != digest:
        raise _conflict(client_txn_id)
    if not row["status_code"]:  # pragma: no cover - never visible outside its transaction
        raise RequestInProgress()
    return Answer(row["status_code"], bytes(row["response"]), True, row["reference"])


async def _claim(terminal_id: int, client_txn_id: str, operation: str, digest: str) -> None:
    """The key, taken in the operation's transaction (on PostgreSQL in one message with its
    BEGIN); a racing twin's insert waits for this transaction and then finds the key taken
    (``_Taken``)."""
    claimed = await write_count(
        "INSERT INTO idempotency_record"
        " (terminal, client_txn_id, operation, request_hash, status_code, reference, created_at)"
        " VALUES ({}, {}, {}, {}, 0, '', {})"
        " ON CONFLICT (terminal, client_txn_id) DO NOTHING",
        terminal_id,
        client_txn_id,
        operation,
        digest,
        utc_now(),
    )
    if not claimed:
        raise _Taken()


async def run_once(
    *,
    terminal_id: int,
    client_txn_id: str,
    operation: str,
    request: msgspec.Struct,
    prepare: Callable[[], Awaitable[Any]],
    apply: Callable[[Any], Awaitable[Outcome]],
) -> Answer:
    """Answer a mutating request exactly once.

    ``prepare`` reads and validates without writing (pricing, lookups); ``apply`` writes,
    inside the one transaction that also stores the answer. A stored answer short-cuts both.
    """
    digest = request_hash(request)
    # A replay is answered from Redis without touching the database; otherwise the claim
    # of the key below finds a stored answer (no read of the record before every request).
    if (done := await _cached(terminal_id, client_txn_id, digest)) is not None:
        return done
    try:
        prepared = await prepare()
    except DomainError:
        # The same request may have been applied already, by a racing twin or before the
        # answer was lost (its effect is what now refuses this one): that answer stands.
        if (done := await stored_answer(terminal_id, client_txn_id, digest)) is not None:
            return done
        raise
    try:
        async with transaction(lazy=True):
            await _claim(terminal_id, client_txn_id, operation, digest)
            outcome = await apply(prepared)
            body = msgspec.json.encode(outcome.answer)
            await defer_write(  # sent with the commit
                "UPDATE idempotency_record SET status_code = {}, response = {}, reference = {}"
                " WHERE terminal = {} AND client_txn_id = {}",
                outcome.status_code,
                body,
                outcome.reference,
                terminal_id,
                client_txn_id,
            )
    except _Taken:
        if (done := await stored_answer(terminal_id, client_txn_id, digest)) is not None:
            return done
        raise RequestInProgress() from None
    except DomainError:
        if (done := await stored_answer(terminal_id, client_txn_id, digest)) is not None:
            return done
        raise
    answer = Answer(outcome.status_code, body, False, outcome.reference)
    await _remember(terminal_id, client_txn_id, digest, answer)
    return answer
