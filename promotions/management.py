"""HQ's side of promotions: create and change definitions, activate, pause and end them, set
limits and the stacking policy, and price a sample basket against a draft before it goes live.

Who may: ``hq_admin`` manages every promotion; a ``store_manager`` manages only promotions
of their own store (scoped to it, owned by it); ``analyst`` (and a store manager) reads.
Every change is audited in its own transaction and writes a new revision, so the definition
valid at any past instant can be read back (``service.active_promotions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from memberpos.clock import utc_now
from memberpos.db import transaction
from memberpos.errors import Forbidden, InvalidInput, OutOfScope
from promotions import engine, service
from promotions.errors import (
    DuplicatePromotion,
    InvalidLimit,
    PromotionNotFound,
    PromotionStatusConflict,
)
from promotions.tables import Promotion, PromotionRevision, PromotionSettings
from stores import audit
from stores.access import Actor, Role
from stores.audit import SystemActor
from stores.chain import store_id_for

READERS = frozenset({Role.hq_admin, Role.analyst, Role.store_manager})


@dataclass(frozen=True)
class Limits:
    """None: unlimited. ``units``/``budget_minor`` over the whole promotion and all stores;
    ``per_member_per_day`` (business day of the store) and ``per_member`` count sales."""

    units: int | None = None
    budget_minor: int | None = None
    per_member_per_day: int | None = None
    per_member: int | None = None

    def check(self) -> None:
        for name in ("units", "budget_minor", "per_member_per_day", "per_member"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise InvalidLimit(f"{name} must be a positive whole number", field=name)


def require_read(actor: Actor | SystemActor) -> None:
    if isinstance(actor, Actor) and not (actor.roles & READERS):
        raise Forbidden("Your role may not read promotions")


def _require_manage(actor: Actor | SystemActor, owner_store_id: int | None) -> None:
    """hq_admin: any promotion; store_manager: only their own store's."""
    if isinstance(actor, SystemActor) or Role.hq_admin in actor.roles:
        return
    if Role.store_manager in actor.roles:
        if owner_store_id is None or owner_store_id != actor.home_store_id:
            raise OutOfScope("A store manager may manage only their own store's promotions")
        return
    raise Forbidden("Your role may not manage promotions")


def _is_hq(actor: Actor | SystemActor) -> bool:
    return isinstance(actor, SystemActor) or Role.hq_admin in actor.roles


def _scoped_for_manager(actor: Actor, definition: engine.Promotion) -> engine.Promotion:
    """A store manager's promotion runs in their store only: no other store, no region."""
    home = actor.home_store_code or ""
    if definition.regions or (definition.stores and definition.stores != {home}):
        raise OutOfScope(
            f"A store manager's promotion may run only in store {home}",
            field="definition.stores",
        )
    return msgspec.structs.replace(definition, stores=frozenset({home}))


def _view(row: dict[str, Any]) -> dict[str, Any]:
    definition = service.decode_definition(row["definition"])
    return {
        "code": row["code"],
        "name": row["name"],
        "kind": row["kind"],
        "status": row["status"],
        "store_code": row.get("store_code"),
        "definition": msgspec.to_builtins(definition),
        "limits": {
            "units": row["limit_units"],
            "budget_minor": row["limit_budget_minor"],
            "per_member_per_day": row["limit_per_member_per_day"],
            "per_member": row["limit_per_member"],
        },
        "usage": {
            "units": row["used_units"],
            "budget_minor": row["used_budget_minor"],
            "sales": row["used_sales"],
        },
        "version": row["version"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


_COLUMNS = (
    Promotion.id,
    Promotion.code,
    Promotion.name,
    Promotion.kind,
    Promotion.definition,
    Promotion.status,
    Promotion.store.as_alias("store_id"),
    Promotion.store.code.as_alias("store_code"),
    Promotion.limit_units,
    Promotion.limit_budget_minor,
    Promotion.limit_per_member_per_day,
    Promotion.limit_per_member,
    Promotion.used_units,
    Promotion.used_budget_minor,
    Promotion.used_sales,
    Promotion.version,
    Promotion.created_at,
    Promotion.updated_at,
)


async def _row(code: str) -> dict[str, Any]:
    row = await Promotion.select(*_COLUMNS).where(Promotion.code == code).first()
    if row is None:
        raise PromotionNotFound(f"No promotion {code}")
    return row


def _visible(actor: Actor | SystemActor, row: dict[str, Any]) -> bool:
    if not isinstance(actor, Actor) or actor.chain_wide:
        return True
    return row["store_id"] is None or row["store_id"] == actor.home_store_id


async def list_promotions(
    actor: Actor | SystemActor, *, status: str | None = None, store_code: str | None = None
) -> list[dict[str, Any]]:
    require_read(actor)
    query = Promotion.select(*_COLUMNS).order_by(Promotion.code)
    if status:
        query = query.where(Promotion.status == status)
    if store_code:
        query = query.where(Promotion.store.code == store_code)
    return [_view(row) for row in await query if _visible(actor, row)]


async def get_promotion(actor: Actor | SystemActor, code: str) -> dict[str, Any]:
    require_read(actor)
    row = await _row(code)
    if not _visible(actor, row):
        raise PromotionNotFound(f"No promotion {code}")
    return _view(row)


async def _add_revision(
    promotion_id: int, version: int, status: str, definition: str, at: datetime
) -> None:
    await PromotionRevision.update({PromotionRevision.effective_to: at}).where(
        (PromotionRevision.promotion == promotion_id) & PromotionRevision.effective_to.is_null()
    )
    await PromotionRevision.insert(
        PromotionRevision(
            promotion=promotion_id,
            version=version,
            status=status,
            definition=definition,
            effective_from=at,
        )
    )


def _limit_values(limits: Limits) -> dict[Any, Any]:
    return {
        Promotion.limit_units: limits.units,
        Promotion.limit_budget_minor: limits.budget_minor,
        Promotion.limit_per_member_per_day: limits.per_member_per_day,
        Promotion.limit_per_member: limits.per_member,
    }


async def create_promotion(
    actor: Actor | SystemActor,
    definition: engine.Promotion,
    limits: Limits | None = None,
    *,
    store_code: str | None = None,
) -> dict[str, Any]:
    """A new promotion, as a draft. A store manager's is owned by and runs in their store;
    HQ may own one by a store with ``store_code`` (so that store's manager can run it)."""
    limits = limits or Limits()
    limits.check()
    owner_store_id = None
    if isinstance(actor, Actor) and not _is_hq(actor):
        _require_manage(actor, actor.home_store_id)
        definition = _scoped_for_manager(actor, definition)
        owner_store_id = actor.home_store_id
    elif store_code:
        owner_store_id = await store_id_for(store_code)
        if not definition.stores and not definition.regions:
            # Owned by a store and scoped nowhere else: it runs in that store.
            definition = msgspec.structs.replace(definition, stores=frozenset({store_code}))
    now = utc_now()
    encoded = service.encode_definition(definition)
    async with transaction():
        if await Promotion.exists().where(Promotion.code == definition.id):
            raise DuplicatePromotion(f"Promotion {definition.id} exists", field="definition.id")
        inserted = await Promotion.insert(
            Promotion(
                code=definition.id,
                name=definition.name,
                kind=definition.kind,
                definition=encoded,
                status="draft",
                store=owner_store_id,
                created_by=actor.staff_id if isinstance(actor, Actor) else None,
                created_at=now,
                updated_at=now,
                version=1,
                **{column._meta.name: value for column, value in _limit_values(limits).items()},
            )
        ).returning(Promotion.id)
        await _add_revision(inserted[0]["id"], 1, "draft", encoded, now)
        await audit.record(
            actor,
            "promotion.create",
            "promotion",
            definition.id,
            after={"definition": msgspec.to_builtins(definition), "limits": limits.__dict__},
        )
        await service.bump_generation(definitions_changed=True)
    return await get_promotion(actor, definition.id)


async def update_promotion(
    actor: Actor | SystemActor,
    code: str,
    *,
    definition: engine.Promotion | None = None,
    limits: Limits | None = None,
) -> dict[str, Any]:
    """A changed definition and/or limits: a new revision from now on (sales before keep
    the old one). An ended promotion changes no more."""
    if limits is not None:
        limits.check()
    async with transaction():
        row = await _row(code)
        _require_manage(actor, row["store_id"])
        if row["status"] == "ended":
            raise PromotionStatusConflict(f"Promotion {code} has ended", field="status")
        if definition is not None:
            if definition.id != code:
                raise InvalidInput(f"The definition's id must stay {code}", field="definition.id")
            if isinstance(actor, Actor) and not _is_hq(actor):
                definition = _scoped_for_manager(actor, definition)
        values: dict[Any, Any] = {Promotion.updated_at: utc_now()}
        before = _view(row)
        encoded = row["definition"]
        if definition is not None:
            encoded = service.encode_definition(definition)
            values.update(
                {
                    Promotion.definition: encoded,
                    Promotion.name: definition.name,
                    Promotion.kind: definition.kind,
                }
            )
        if limits is not None:
            values.update(_limit_values(limits))
        version = row["version"] + 1
        values[Promotion.version] = version
        now = values[Promotion.updated_at]
        await Promotion.update(values).where(Promotion.id == row["id"])
        await _add_revision(row["id"], version, row["status"], encoded, now)
        after = _view(await _row(code))
        await audit.record(
            actor,
            "promotion.update",
            "promotion",
            code,
            store_code=row["store_code"],
            before={"definition": before["definition"], "limits": before["limits"]},
            after={"definition": after["definition"], "limits": after["limits"]},
        )
        await service.bump_generation(definitions_changed=True)
    return after


# From which statuses each action may be taken, and the status it leads to.
_TRANSITIONS = {
    "activate": ({"draft", "paused"}, "active"),
    "pause": ({"active"}, "paused"),
    "end": ({"draft", "active", "paused"}, "ended"),
}


async def change_status(actor: Actor | SystemActor, code: str, action: str) -> dict[str, Any]:
    """``activate`` (draft or paused → active), ``pause`` (active → paused) or ``end``."""
    if action not in _TRANSITIONS:
        raise InvalidInput(f"Unknown action {action}", field="action")
    allowed, target = _TRANSITIONS[action]
    async with transaction():
        row = await _row(code)
        _require_manage(actor, row["store_id"])
        if row["status"] not in allowed:
            raise PromotionStatusConflict(
                f"Promotion {code} is {row['status']}; it cannot {action}", field="status"
            )
        now = utc_now()
        version = row["version"] + 1
        await Promotion.update(
            {Promotion.status: target, Promotion.version: version, Promotion.updated_at: now}
        ).where(Promotion.id == row["id"])
        await _add_revision(row["id"], version, target, row["definition"], now)
        await audit.record(
            actor,
            f"promotion.{action}",
            "promotion",
            code,
            store_code=row["store_code"],
            before={"status": row["status"]},
            after={"status": target},
        )
        await service.bump_generation(definitions_changed=True)
    return await get_promotion(actor, code)


async def get_stacking_policy(actor: Actor | SystemActor) -> engine.StackingPolicy:
    require_read(actor)
    return await service.stacking_policy()


async def set_stacking_policy(
    actor: Actor | SystemActor, policy: engine.StackingPolicy
) -> engine.StackingPolicy:
    if not _is_hq(actor):
        raise Forbidden("Only HQ sets the stacking policy")
    if policy.max_combinations < 1:
        raise InvalidInput("max_combinations must be at least 1", field="max_combinations")
    pairs = sorted(tuple(sorted(pair)) for pair in policy.exclusive_groups)
    async with transaction():
        before = await service.stacking_policy()
        await service.ensure_settings()
        await PromotionSettings.update(
            {
                PromotionSettings.exclusive_groups: msgspec.json.encode(pairs).decode(),
                PromotionSettings.max_combinations: policy.max_combinations,
            }
        ).where(PromotionSettings.id == 1)
        await audit.record(
            actor,
            "promotion.stacking_policy",
            "stacking_policy",
            "chain",
            before=msgspec.to_builtins(before),
            after={"exclusive_groups": pairs, "max_combinations": policy.max_combinations},
        )
        await service.bump_generation(definitions_changed=True)
    return await service.stacking_policy()


async def dry_run(
    actor: Actor | SystemActor,
    code: str,
    *,
    store_code: str,
    basket: engine.Basket,
    context: engine.SaleContext,
    coupons: list[engine.Coupon] | None = None,
) -> tuple[engine.PricedBasket, str, str]:
    """Price a sample basket with the promotion ``code`` (whatever its status, typically a
    draft) together with the promotions live in the store now, and explain every cent.
    Nothing is written. Returns the priced basket and the explanation in English and Chinese.
    """
    require_read(actor)
    row = await _row(code)
    if not _visible(actor, row):
        raise PromotionNotFound(f"No promotion {code}")
    store_id = await store_id_for(store_code)
    if isinstance(actor, Actor) and not actor.chain_wide and store_id != actor.home_store_id:
        raise OutOfScope("A store manager may try promotions only in their own store")
    draft = service.decode_definition(row["definition"])
    live = [p for p in await service.active_promotions(store_id, utc_now()) if p.id != code]
    # The plain list, not the index: a dry run lists every promotion that did not apply.
    priced = engine.price_basket(
        basket,
        context,
        [*live, draft],
        coupons or [],
        policy=await service.stacking_policy(),
    )
    return priced, engine.explain(priced, "en"), engine.explain(priced, "zh")


def zone_of(time_zone: str) -> ZoneInfo:
    return ZoneInfo(time_zone)


def local_now(time_zone: str) -> datetime:
    """The store's wall-clock time now, naive, as the engine takes it."""
    return utc_now().astimezone(ZoneInfo(time_zone)).replace(tzinfo=None)
