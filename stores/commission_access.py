"""Who may read and change commission (its permissions, per role and store scope), and the
store and salesperson a request names by code.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from memberpos.errors import Forbidden, OutOfScope
from stores.access import CHAIN_WIDE_ROLES, Actor, Role
from stores.commission_errors import UnknownSalesperson
from stores.errors import StoreNotFound
from stores.tables import Staff, Store

# ------------------------------------------------------------------------------- access
#
# Commission permissions live here rather than in stores.access: they are this domain's.


class CommissionPermission(StrEnum):
    read = "read_commission"  # store statements, periods, targets, CSV
    close = "close_commission_period"
    manage_rules = "manage_commission_rules"  # chain-wide only
    manage_targets = "manage_commission_targets"  # targets and pool shares of a store


COMMISSION_PERMISSIONS: dict[Role, frozenset[CommissionPermission]] = {
    Role.store_manager: frozenset(
        {CommissionPermission.read, CommissionPermission.close, CommissionPermission.manage_targets}
    ),
    Role.hq_admin: frozenset(CommissionPermission),
    Role.analyst: frozenset({CommissionPermission.read}),
}


def can(actor: Actor, permission: CommissionPermission, store_id: int | None = None) -> bool:
    """A chain-wide role's permissions reach every store; a store role's its home store."""
    for role in actor.roles:
        if permission not in COMMISSION_PERMISSIONS.get(role, frozenset()):
            continue
        if role in CHAIN_WIDE_ROLES:
            return True
        if store_id is not None and store_id == actor.home_store_id:
            return True
    return False


def require(actor: Actor, permission: CommissionPermission, store_id: int | None = None) -> None:
    if can(actor, permission, store_id):
        return
    if store_id is not None and any(
        permission in COMMISSION_PERMISSIONS.get(role, frozenset()) for role in actor.roles
    ):
        raise OutOfScope("You may see and change commission only of your own store")
    raise Forbidden(f"Your role may not {permission.value.replace('_', ' ')}")


def may_read_statement(actor: Actor, store_id: int, staff_id: int | None) -> bool:
    """Managers and analysts in scope read any statement; anyone reads their own."""
    return can(actor, CommissionPermission.read, store_id) or (
        staff_id is not None and staff_id == actor.staff_id
    )


# ------------------------------------------------------------------------------ lookups


async def store_by_code(code: str, field: str = "store_code") -> dict[str, Any]:
    row = (
        await Store.select(Store.id, Store.code, Store.name, Store.time_zone, Store.region)
        .where(Store.code == code)
        .first()
    )
    if row is None:
        raise StoreNotFound(f"No store {code}", field=field)
    return row


async def staff_by_employee_no(employee_no: str, field: str = "employee_no") -> dict[str, Any]:
    row = (
        await Staff.select(Staff.id, Staff.employee_no, Staff.name, Staff.home_store)
        .where(Staff.employee_no == employee_no)
        .first()
    )
    if row is None:
        raise UnknownSalesperson(f"No staff member {employee_no}", field=field)
    return row


__all__ = [
    "COMMISSION_PERMISSIONS",
    "CommissionPermission",
    "can",
    "may_read_statement",
    "require",
    "staff_by_employee_no",
    "store_by_code",
]
