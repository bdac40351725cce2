"""Staff: employees with roles and a home store, their passwords and PINs (argon2id),
sign-in with bearer tokens, and the mirror of HQ admins into the admin site's users."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from piccolo.apps.user.tables import BaseUser

from memberpos.clock import utc_now
from memberpos.counters import get_counter
from memberpos.db import transaction
from memberpos.errors import DomainError
from memberpos.security import hash_secret, new_token, token_digest, verify_secret
from stores import audit
from stores.access import STORE_MANAGER_GRANTABLE, Actor, Permission, Role
from stores.chain import store_id_for
from stores.errors import (
    DuplicateCode,
    InvalidCredentials,
    InvalidToken,
    RoleNotGrantable,
    StaffNotFound,
)
from stores.tables import Staff, StaffSession, Store

STAFF_COLUMNS = (
    Staff.id,
    Staff.employee_no,
    Staff.name,
    Staff.home_store.code.as_alias("store_code"),
    Staff.home_store.id.as_alias("store_id"),
    Staff.roles,
    Staff.status,
    Staff.manual_discount_limit_bp,
    Staff.created_at,
)
# Ten wrong passwords in fifteen minutes lock an employee number for the rest of the window.
SIGN_IN_ATTEMPTS = 10
SIGN_IN_WINDOW_SECONDS = 15 * 60


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    status = 429
    title = "Too many failed sign-in attempts; try again later"
    message_zh = "登录失败次数过多，请稍后再试"


@dataclass(frozen=True)
class SignIn:
    token: str
    expires_at: dt.datetime
    actor: Actor


async def _row(employee_no: str) -> dict[str, Any]:
    row = await Staff.select(*STAFF_COLUMNS).where(Staff.employee_no == employee_no).first()
    if row is None:
        raise StaffNotFound(f"No staff member {employee_no}")
    return row


def _check_grant(actor: Actor, store_id: int | None, roles: set[Role]) -> None:
    """A store manager hires only store-floor roles into their own store."""
    actor.require(Permission.manage_staff, store_id)
    if not actor.chain_wide and not roles <= STORE_MANAGER_GRANTABLE:
        raise RoleNotGrantable(
            "A store manager may grant only cashier and salesperson", field="roles"
        )


async def list_staff(actor: Actor, store_code: str | None = None) -> list[dict[str, Any]]:
    query = Staff.select(*STAFF_COLUMNS).order_by(Staff.employee_no)
    visible = actor.visible_store_ids()
    if visible is not None:
        query = query.where(Staff.home_store.is_in(list(visible) or [-1]))
    if store_code:
        query = query.where(Staff.home_store.code == store_code)
    return await query


async def get_staff(actor: Actor, employee_no: str) -> dict[str, Any]:
    row = await _row(employee_no)
    if row["store_id"] is None:
        if not actor.chain_wide and actor.staff_id != row["id"]:
            raise StaffNotFound(f"No staff member {employee_no}")
    else:
        actor.require(Permission.read, row["store_id"])
    return row


async def create_staff(
    actor: Actor,
    *,
    employee_no: str,
    name: str,
    roles: list[str],
    password: str,
    store_code: str | None = None,
    pin: str | None = None,
    manual_discount_limit_bp: int = 0,
) -> dict[str, Any]:
    store_id = await store_id_for(store_code, field="store_code") if store_code else None
    role_set = {Role(role) for role in roles}
    _check_grant(actor, store_id, role_set)
    password_hash = hash_secret(password)
    pin_hash = hash_secret(pin) if pin else None
    async with transaction():
        if await Staff.exists().where(Staff.employee_no == employee_no):
            raise DuplicateCode(f"Employee number {employee_no} is taken", field="employee_no")
        await Staff.insert(
            Staff(
                employee_no=employee_no,
                name=name,
                home_store=store_id,
                roles=sorted(role_set),
                password_hash=password_hash,
                pin_hash=pin_hash,
                status="active",
                manual_discount_limit_bp=manual_discount_limit_bp,
                created_at=utc_now(),
            )
        ).run()
        await audit.record(
            actor,
            "staff.create",
            "staff",
            employee_no,
            store_code=store_code,
            after={
                "name": name,
                "roles": sorted(role_set),
                "store_code": store_code,
                "pin_set": pin is not None,
                "manual_discount_limit_bp": manual_discount_limit_bp,
            },
        )
        await sync_admin_user(employee_no, password, role_set, active=True)
    return await _row(employee_no)


async def update_staff(actor: Actor, employee_no: str, changes: dict[str, Any]) -> dict[str, Any]:
    async with transaction():
        before = await _row(employee_no)
        actor.require(Permission.manage_staff, before["store_id"])
        new_store_id = before["store_id"]
        if "store_code" in changes:
            new_store_id = (
                await store_id_for(changes["store_code"]) if changes["store_code"] else None
            )
        roles = {Role(r) for r in changes.get("roles", before["roles"])}
        _check_grant(actor, new_store_id, roles)
        if not actor.chain_wide:
            # Not even one's own store's managers: a store manager edits floor staff only.
            _check_grant(actor, before["store_id"], {Role(r) for r in before["roles"]})
        values: dict[Any, Any] = {}
        for key in ("name", "status", "manual_discount_limit_bp"):
            if key in changes:
                values[Staff._meta.get_column_by_name(key)] = changes[key]
        if "roles" in changes:
            values[Staff.roles] = sorted(roles)
        if "store_code" in changes:
            values[Staff.home_store] = new_store_id
        if changes.get("password"):
            values[Staff.password_hash] = hash_secret(changes["password"])
        if changes.get("pin"):
            values[Staff.pin_hash] = hash_secret(changes["pin"])
        if values:
            await Staff.update(values).where(Staff.employee_no == employee_no)
        visible = {k: v for k, v in changes.items() if k not in ("password", "pin")}
        diff = audit.changed_fields(before, visible)
        secrets_changed = [k for k in ("password", "pin") if changes.get(k)]
        await audit.record(
            actor,
            "staff.update",
            "staff",
            employee_no,
            store_code=before["store_code"],
            before={k: before.get(k) for k in diff},
            after={**diff, **{f"{k}_changed": True for k in secrets_changed}},
        )
        if changes.get("status") == "inactive" or "password" in changes or "roles" in changes:
            # A changed password, lost role or departure ends every open session at once.
            await StaffSession.update({StaffSession.revoked_at: utc_now()}).where(
                (StaffSession.staff == before["id"]) & StaffSession.revoked_at.is_null()
            )
        status = changes.get("status", before["status"])
        await sync_admin_user(
            employee_no, changes.get("password"), roles, active=status == "active"
        )
    return await _row(employee_no)


async def sync_admin_user(
    employee_no: str, password: str | None, roles: set[Role], *, active: bool
) -> None:
    """HQ admins sign in to /admin with their employee number and password; the admin site
    keeps its own user table, so it mirrors theirs. Losing the role deactivates it."""
    is_admin = Role.hq_admin in roles and active
    existing = await BaseUser.select(BaseUser.id).where(BaseUser.username == employee_no).first()
    if existing is None:
        if is_admin and password:
            await BaseUser.create_user(
                username=employee_no,
                password=password,
                email=f"{employee_no.lower()}@staff.memberpos.invalid",  # unique, never mailed
                admin=True,
                superuser=True,
                active=True,
            )
        return
    await BaseUser.update(
        {BaseUser.admin: is_admin, BaseUser.superuser: is_admin, BaseUser.active: is_admin}
    ).where(BaseUser.id == existing["id"])
    if password and is_admin:
        await BaseUser.update_password(existing["id"], password)


async def sign_in(employee_no: str, password: str, token_hours: int = 12) -> SignIn:
    counter = get_counter()
    limit_key = f"staff-sign-in:{employee_no}"
    if await counter.count(limit_key) >= SIGN_IN_ATTEMPTS:
        raise TooManyAttempts()
    row = (
        await Staff.select(*STAFF_COLUMNS, Staff.password_hash)
        .where(Staff.employee_no == employee_no)
        .first()
    )
    if (
        row is None
        or row["status"] != "active"
        or not verify_secret(row["password_hash"], password)
    ):
        await counter.hit(limit_key, SIGN_IN_WINDOW_SECONDS)
        raise InvalidCredentials()
    await counter.reset(limit_key)
    token = new_token("mps")
    now = utc_now()
    expires_at = now + dt.timedelta(hours=token_hours)
    await StaffSession.insert(
        StaffSession(
            token_hash=token_digest(token), staff=row["id"], created_at=now, expires_at=expires_at
        )
    ).run()
    return SignIn(token=token, expires_at=expires_at, actor=_actor(row))


async def sign_out(token: str) -> None:
    await StaffSession.update({StaffSession.revoked_at: utc_now()}).where(
        StaffSession.token_hash == token_digest(token)
    )


async def actor_for(staff_id: int) -> Actor:
    row = await Staff.select(*STAFF_COLUMNS).where(Staff.id == staff_id).first()
    if row is None:
        raise InvalidToken()
    return _actor(row)


def _actor(row: dict[str, Any]) -> Actor:
    """The Actor a row of ``STAFF_COLUMNS`` describes."""
    return Actor(
        staff_id=row["id"],
        employee_no=row["employee_no"],
        name=row["name"],
        roles=frozenset(Role(r) for r in row["roles"]),
        home_store_id=row["store_id"],
        home_store_code=row["store_code"],
    )


async def authenticate(token: str | None) -> Actor:
    """The staff member a bearer token signs in, or a 401."""
    if not token:
        raise InvalidToken()
    session = (
        await StaffSession.select(
            StaffSession.expires_at,
            StaffSession.revoked_at,
            StaffSession.staff.id.as_alias("id"),
            StaffSession.staff.employee_no.as_alias("employee_no"),
            StaffSession.staff.name.as_alias("name"),
            StaffSession.staff.roles.as_alias("roles"),
            StaffSession.staff.status.as_alias("status"),
            StaffSession.staff.home_store.id.as_alias("store_id"),
            StaffSession.staff.home_store.code.as_alias("store_code"),
        )
        .where(StaffSession.token_hash == token_digest(token))
        .first()
    )
    if (
        session is None
        or session["revoked_at"] is not None
        or session["expires_at"] <= utc_now()
        or session["status"] != "active"
    ):
        raise InvalidToken()
    return _actor(session)


async def verify_pin(employee_no: str, pin: str) -> Actor:
    """A manager's PIN typed at the till to authorise a refund or a big discount."""
    row = (
        await Staff.select(*STAFF_COLUMNS, Staff.pin_hash)
        .where(Staff.employee_no == employee_no)
        .first()
    )
    if row is None or row["status"] != "active" or not verify_secret(row["pin_hash"], pin):
        raise InvalidCredentials("Wrong employee number or PIN")
    return _actor(row)


__all__ = [
    "SignIn",
    "Store",
    "authenticate",
    "create_staff",
    "get_staff",
    "list_staff",
    "sign_in",
    "sign_out",
    "update_staff",
    "verify_pin",
]


async def bootstrap_admin(employee_no: str, name: str, password: str) -> Actor:
    """The first HQ admin of a new chain (nobody exists yet to create them), or the existing
    one. Audited as a system change."""
    from stores.audit import SystemActor

    existing = await Staff.select(Staff.id).where(Staff.employee_no == employee_no).first()
    if existing is None:
        async with transaction():
            await Staff.insert(
                Staff(
                    employee_no=employee_no,
                    name=name,
                    home_store=None,
                    roles=[Role.hq_admin],
                    password_hash=hash_secret(password),
                    pin_hash=None,
                    status="active",
                    manual_discount_limit_bp=10_000,
                    created_at=utc_now(),
                )
            ).run()
            await audit.record(
                SystemActor("bootstrap"),
                "staff.create",
                "staff",
                employee_no,
                after={"name": name, "roles": [Role.hq_admin]},
            )
            await sync_admin_user(employee_no, password, {Role.hq_admin}, active=True)
        existing = await Staff.select(Staff.id).where(Staff.employee_no == employee_no).first()
    assert existing is not None
    return await actor_for(existing["id"])
