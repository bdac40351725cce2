"""Who may do what, and in which stores: roles, the signed-in actor and the policy.

Roles (a person may hold several): ``cashier`` and ``salesperson`` work in their home store
and change nothing at HQ; ``store_manager`` reads and changes only their own store;
``hq_admin`` manages the whole chain; ``analyst`` reads the whole chain and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from memberpos.errors import Forbidden, OutOfScope


class Role(StrEnum):
    cashier = "cashier"
    salesperson = "salesperson"
    store_manager = "store_manager"
    hq_admin = "hq_admin"
    analyst = "analyst"


ALL_ROLES = frozenset(Role)
# Roles whose reach is the whole chain; every other role is held to the home store.
CHAIN_WIDE_ROLES = frozenset({Role.hq_admin, Role.analyst})


class Permission(StrEnum):
    read = "read"  # stores, terminals, staff, catalog, prices in scope
    manage_chain = "manage_chain"  # regions; create stores, change their region or status
    edit_store = "edit_store"  # a store's name, address, phone
    manage_terminals = "manage_terminals"
    manage_staff = "manage_staff"
    manage_catalog = "manage_catalog"  # products, categories, brands, chain prices
    manage_store_prices = "manage_store_prices"
    read_audit = "read_audit"
    admin_site = "admin_site"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.cashier: frozenset({Permission.read}),
    Role.salesperson: frozenset({Permission.read}),
    Role.store_manager: frozenset(
        {
            Permission.read,
            Permission.edit_store,
            Permission.manage_terminals,
            Permission.manage_staff,
            Permission.manage_store_prices,
            Permission.read_audit,
        }
    ),
    Role.hq_admin: frozenset(Permission),
    Role.analyst: frozenset({Permission.read, Permission.read_audit}),
}

# A store manager may hire and edit store-floor staff, never grant management roles.
STORE_MANAGER_GRANTABLE = frozenset({Role.cashier, Role.salesperson})


@dataclass(frozen=True)
class Actor:
    """The signed-in person a request acts for."""

    staff_id: int
    employee_no: str
    name: str
    roles: frozenset[Role]
    home_store_id: int | None
    home_store_code: str | None

    @property
    def chain_wide(self) -> bool:
        return bool(self.roles & CHAIN_WIDE_ROLES)

    def permissions(self) -> frozenset[Permission]:
        granted: set[Permission] = set()
        for role in self.roles:
            granted |= ROLE_PERMISSIONS[role]
        return frozenset(granted)

    def can(self, permission: Permission, store_id: int | None = None) -> bool:
        """Whether any of the actor's roles grants ``permission`` reaching ``store_id``.

        A chain-wide role's permissions reach every store; a store-scoped role's reach only
        the home store (and nothing chain-level when ``store_id`` is None)."""
        for role in self.roles:
            if permission not in ROLE_PERMISSIONS[role]:
                continue
            if role in CHAIN_WIDE_ROLES:
                return True
            if store_id is not None and store_id == self.home_store_id:
                return True
        return False

    def require(self, permission: Permission, store_id: int | None = None) -> None:
        if self.can(permission, store_id):
            return
        if permission in self.permissions() and store_id is not None:
            raise OutOfScope(f"You may {permission.value.replace('_', ' ')} only in your own store")
        raise Forbidden(f"Your role may not {permission.value.replace('_', ' ')}")

    def visible_store_ids(self) -> set[int] | None:
        """None means every store; otherwise the set this actor may read."""
        if self.chain_wide:
            return None
        return {self.home_store_id} if self.home_store_id is not None else set()

    def audit_name(self) -> str:
        return f"{self.employee_no} {self.name}"
