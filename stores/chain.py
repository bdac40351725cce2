"""The chain's shape: HQ → regions → stores, each store with its own time zone."""

from __future__ import annotations

from typing import Any

from memberpos.clock import utc_now, zone
from memberpos.db import transaction
from stores import audit
from stores.access import Actor, Permission
from stores.errors import (
    DuplicateCode,
    RegionNotFound,
    StoreNotFound,
    UnknownRegion,
    UnknownStore,
)
from stores.tables import Region, Store

STORE_STATUSES = ("active", "suspended", "closed")
STORE_COLUMNS = (
    Store.id,
    Store.code,
    Store.name,
    Store.region.code.as_alias("region_code"),
    Store.time_zone,
    Store.address,
    Store.phone,
    Store.status,
    Store.created_at,
)


async def list_regions() -> list[dict[str, Any]]:
    return await Region.select(Region.id, Region.code, Region.name).order_by(Region.code)


async def create_region(actor: Actor, code: str, name: str) -> dict[str, Any]:
    actor.require(Permission.manage_chain)
    async with transaction():
        if await Region.exists().where(Region.code == code):
            raise DuplicateCode(f"Region {code} already exists", field="code")
        await Region.insert(Region(code=code, name=name, created_at=utc_now())).run()
        await audit.record(
            actor, "region.create", "region", code, after={"code": code, "name": name}
        )
    return await get_region(code)


async def get_region(code: str) -> dict[str, Any]:
    row = (
        await Region.select(Region.id, Region.code, Region.name).where(Region.code == code).first()
    )
    if row is None:
        raise RegionNotFound(f"No region {code}", field="code")
    return row


async def update_region(actor: Actor, code: str, name: str) -> dict[str, Any]:
    actor.require(Permission.manage_chain)
    async with transaction():
        before = await get_region(code)
        await Region.update({Region.name: name}).where(Region.code == code)
        await audit.record(
            actor,
            "region.update",
            "region",
            code,
            before={"name": before["name"]},
            after={"name": name},
        )
    return await get_region(code)


async def list_stores(
    actor: Actor, region_code: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    query = Store.select(*STORE_COLUMNS).order_by(Store.code)
    visible = actor.visible_store_ids()
    if visible is not None:
        if not visible:
            return []
        query = query.where(Store.id.is_in(list(visible)))
    if region_code:
        query = query.where(Store.region.code == region_code)
    if status:
        query = query.where(Store.status == status)
    return await query


async def store_by_code(code: str) -> dict[str, Any]:
    row = await Store.select(*STORE_COLUMNS).where(Store.code == code).first()
    if row is None:
        raise StoreNotFound(f"No store {code}")
    return row


async def _region_id(code: str) -> int:
    """The id of the region a request body names, or a 422 naming ``region_code``."""
    row = await Region.select(Region.id).where(Region.code == code).first()
    if row is None:
        raise UnknownRegion(f"No region with code {code}", field="region_code")
    return row["id"]


async def store_id_for(code: str, *, field: str = "store_code") -> int:
    """The id of the store a request body names, or a 422 naming the field."""
    row = await Store.select(Store.id).where(Store.code == code).first()
    if row is None:
        raise UnknownStore(f"No store with code {code}", field=field)
    return row["id"]


async def get_store(actor: Actor, code: str) -> dict[str, Any]:
    row = await store_by_code(code)
    actor.require(Permission.read, row["id"])
    return row


async def create_store(
    actor: Actor,
    *,
    code: str,
    name: str,
    region_code: str,
    time_zone: str,
    address: str = "",
    phone: str = "",
    status: str = "active",
) -> dict[str, Any]:
    actor.require(Permission.manage_chain)
    zone(time_zone)
    async with transaction():
        region_id = await _region_id(region_code)
        if await Store.exists().where(Store.code == code):
            raise DuplicateCode(f"Store {code} already exists", field="code")
        values = {
            "code": code,
            "name": name,
            "time_zone": time_zone,
            "address": address,
            "phone": phone,
            "status": status,
        }
        await Store.insert(Store(region=region_id, created_at=utc_now(), **values)).run()
        await audit.record(
            actor,
            "store.create",
            "store",
            code,
            store_code=code,
            after={**values, "region_code": region_code},
        )
    return await store_by_code(code)


# What a store manager may change about their own store; the rest is HQ's.
STORE_MANAGER_FIELDS = frozenset({"name", "address", "phone"})


async def update_store(actor: Actor, code: str, changes: dict[str, Any]) -> dict[str, Any]:
    async with transaction():
        before = await store_by_code(code)
        if set(changes) - STORE_MANAGER_FIELDS:
            actor.require(Permission.manage_chain)
        else:
            actor.require(Permission.edit_store, before["id"])
        values = dict(changes)
        if "time_zone" in values:
            zone(values["time_zone"])
        if "region_code" in values:
            values["region"] = await _region_id(values["region_code"])
        diff = audit.changed_fields(before, changes)
        if diff:
            columns = {
                Store._meta.get_column_by_name(k): v
                for k, v in values.items()
                if k != "region_code"
            }
            await Store.update(columns).where(Store.code == code)
            await audit.record(
                actor,
                "store.update",
                "store",
                code,
                store_code=code,
                before={k: before.get(k) for k in diff},
                after=diff,
            )
    return await store_by_code(code)
