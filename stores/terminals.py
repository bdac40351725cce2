"""POS terminals: registration to a store, the API key (shown once, kept only as a
SHA-256), rotation, revocation and authentication of each terminal request."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from memberpos.clock import utc_now
from memberpos.db import fetch, fetchrow, transaction
from memberpos.security import digests_equal, new_terminal_key, split_terminal_key, token_digest
from stores import audit
from stores.access import Actor, Permission
from stores.chain import store_by_code
from stores.errors import (
    DuplicateTerminalName,
    InvalidTerminalKey,
    StoreNotTrading,
    TerminalNotFound,
    TerminalRevoked,
)
from stores.tables import Store, Terminal

# last_seen_at is written at most this often per terminal, not on every sale.
LAST_SEEN_RESOLUTION = dt.timedelta(seconds=60)

TERMINAL_COLUMNS = (
    Terminal.id,
    Terminal.name,
    Terminal.store.code.as_alias("store_code"),
    Terminal.key_id,
    Terminal.key_created_at,
    Terminal.status,
    Terminal.revoked_at,
    Terminal.last_seen_at,
    Terminal.created_at,
)


@dataclass(frozen=True)
class TerminalIdentity:
    """The authenticated till a POS request comes from."""

    terminal_id: int
    name: str
    store_id: int
    store_code: str
    time_zone: str


async def list_terminals(actor: Actor, store_code: str) -> list[dict[str, Any]]:
    store = await store_by_code(store_code)
    actor.require(Permission.read, store["id"])
    return (
        await Terminal.select(*TERMINAL_COLUMNS)
        .where(Terminal.store == store["id"])
        .order_by(Terminal.name)
    )


async def get_terminal(actor: Actor, terminal_id: int) -> dict[str, Any]:
    row = (
        await Terminal.select(*TERMINAL_COLUMNS, Terminal.store.id.as_alias("store_id"))
        .where(Terminal.id == terminal_id)
        .first()
    )
    if row is None:
        raise TerminalNotFound(f"No terminal {terminal_id}")
    actor.require(Permission.read, row["store_id"])
    return row


async def create_terminal(actor: Actor, store_code: str, name: str) -> tuple[dict[str, Any], str]:
    """Registers a till; returns it and its API key, which is never shown again."""
    store = await store_by_code(store_code)
    actor.require(Permission.manage_terminals, store["id"])
    key_id, key, digest = new_terminal_key()
    now = utc_now()
    async with transaction():
        if await Terminal.exists().where((Terminal.store == store["id"]) & (Terminal.name == name)):
            raise DuplicateTerminalName(
                f"Store {store_code} already has a terminal {name!r}", field="name"
            )
        inserted = (
            await Terminal.insert(
                Terminal(
                    store=store["id"],
                    name=name,
                    key_id=key_id,
                    key_hash=digest,
                    key_created_at=now,
                    status="active",
                    created_at=now,
                )
            )
            .returning(Terminal.id)
            .run()
        )
        await audit.record(
            actor,
            "terminal.create",
            "terminal",
            str(inserted[0]["id"]),
            store_code=store_code,
            after={"name": name, "key_id": key_id},
        )
    return await get_terminal(actor, inserted[0]["id"]), key


async def rotate_key(actor: Actor, terminal_id: int) -> tuple[dict[str, Any], str]:
    """A new key for the till; the old one stops working at once."""
    async with transaction():
        before = await get_terminal(actor, terminal_id)
        actor.require(Permission.manage_terminals, before["store_id"])
        key_id, key, digest = new_terminal_key()
        await Terminal.update(
            {
                Terminal.key_id: key_id,
                Terminal.key_hash: digest,
                Terminal.key_created_at: utc_now(),
                Terminal.status: "active",
                Terminal.revoked_at: None,
            }
        ).where(Terminal.id == terminal_id)
        await audit.record(
            actor,
            "terminal.rotate_key",
            "terminal",
            str(terminal_id),
            store_code=before["store_code"],
            before={"key_id": before["key_id"]},
            after={"key_id": key_id},
        )
    return await get_terminal(actor, terminal_id), key


async def revoke(actor: Actor, terminal_id: int, reason: str = "") -> dict[str, Any]:
    async with transaction():
        before = await get_terminal(actor, terminal_id)
        actor.require(Permission.manage_terminals, before["store_id"])
        if before["status"] != "revoked":
            await Terminal.update(
                {Terminal.status: "revoked", Terminal.revoked_at: utc_now()}
            ).where(Terminal.id == terminal_id)
            await audit.record(
                actor,
                "terminal.revoke",
                "terminal",
                str(terminal_id),
                store_code=before["store_code"],
                before={"status": before["status"]},
                after={"status": "revoked"},
                reason=reason,
            )
    return await get_terminal(actor, terminal_id)


async def authenticate(presented_key: str | None) -> TerminalIdentity:
    """The terminal a key belongs to, or a 401 saying why."""
    key_id = split_terminal_key(presented_key or "")
    if key_id is None:
        raise InvalidTerminalKey()
    # Every till request starts here: one hand-written statement (memberpos.db.fetchrow).
    row = await fetchrow(
        "SELECT t.id, t.name, t.key_hash, t.status, t.last_seen_at, s.id AS store_id,"
        " s.code AS store_code, s.time_zone, s.status AS store_status"
        " FROM terminal t JOIN store s ON s.id = t.store WHERE t.key_id = {}",
        key_id,
    )
    if row is None or not digests_equal(row["key_hash"], token_digest(presented_key or "")):
        raise InvalidTerminalKey()
    if row["status"] != "active":
        raise TerminalRevoked()
    if row["store_status"] != "active":
        raise StoreNotTrading()
    now = utc_now()
    if row["last_seen_at"] is None or now - row["last_seen_at"] > LAST_SEEN_RESOLUTION:
        await fetch("UPDATE terminal SET last_seen_at = {} WHERE id = {}", now, row["id"])
    return TerminalIdentity(
        terminal_id=row["id"],
        name=row["name"],
        store_id=row["store_id"],
        store_code=row["store_code"],
        time_zone=row["time_zone"],
    )


async def store_terminal_count(store_id: int) -> int:
    return await Terminal.count().where(Terminal.store == store_id)


__all__ = [
    "Store",
    "TerminalIdentity",
    "authenticate",
    "create_terminal",
    "get_terminal",
    "list_terminals",
    "revoke",
    "rotate_key",
]
