"""The audit log: every change HQ makes, written in the same transaction as the change."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from memberpos.clock import utc_now
from stores.access import Actor, Permission
from stores.tables import AuditEntry


@dataclass(frozen=True)
class SystemActor:
    """Changes made by a job or the demo loader rather than a person."""

    name: str = "system"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items() if k not in _SECRET_FIELDS}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


# Hashes of secrets never go into the log, not even hashed.
_SECRET_FIELDS = {"password_hash", "pin_hash", "key_hash", "token_hash", "password", "pin"}


async def record(
    actor: Actor | SystemActor,
    action: str,
    entity: str,
    entity_key: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    store_code: str | None = None,
    reason: str = "",
) -> None:
    if isinstance(actor, Actor):
        kind, actor_id, name = "staff", actor.staff_id, actor.audit_name()
    else:
        kind, actor_id, name = "system", None, actor.name
    await AuditEntry.insert(
        AuditEntry(
            at=utc_now(),
            actor_kind=kind,
            actor_id=actor_id,
            actor_name=name,
            action=action,
            entity=entity,
            entity_key=entity_key,
            store_code=store_code,
            before=_jsonable(before) if before is not None else None,
            after=_jsonable(after) if after is not None else None,
            reason=reason,
        )
    ).run()


def changed_fields(before: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``changes`` that actually differs from ``before``."""
    return {key: value for key, value in changes.items() if before.get(key) != value}


async def list_entries(
    actor: Actor,
    *,
    entity: str | None = None,
    entity_key: str | None = None,
    store_code: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The log newest first, within the actor's scope: a store-scoped reader sees only their
    home store's entries, whatever ``store_code`` asks for."""
    if not actor.chain_wide:
        actor.require(Permission.read_audit, actor.home_store_id)
        store_code = actor.home_store_code
    else:
        actor.require(Permission.read_audit)
    query = AuditEntry.select().order_by(AuditEntry.id, ascending=False).limit(limit)
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if entity_key:
        query = query.where(AuditEntry.entity_key == entity_key)
    if store_code:
        query = query.where(AuditEntry.store_code == store_code)
    return await query.output(load_json=True)
