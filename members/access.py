"""Who among the staff may change a member: HQ for every member, a store manager for the
members whose home store is theirs (``store_out_of_scope`` otherwise). A cashier may do
what they would do at the till (register a member, report a card lost, replace it) for the
members of their store; sales staff and analysts only read."""

from __future__ import annotations

from memberpos.errors import Forbidden
from stores.access import Actor, Permission, Role

MANAGER_ROLES = frozenset({Role.store_manager, Role.hq_admin})
COUNTER_ROLES = frozenset({Role.cashier, Role.store_manager, Role.hq_admin})


def is_member_manager(actor: Actor) -> bool:
    return bool(actor.roles & MANAGER_ROLES)


def require_member_manager(actor: Actor, home_store_id: int) -> None:
    """A manager reaching the member's home store (HQ reaches every store)."""
    if not is_member_manager(actor):
        raise Forbidden("Only a store manager or HQ may change a member")
    actor.require(Permission.edit_store, home_store_id)


def require_member_reader(actor: Actor, home_store_id: int) -> None:
    """Anyone signed in whose scope reaches the member's home store."""
    actor.require(Permission.read, home_store_id)


def require_hq(actor: Actor) -> None:
    """Chain-level changes about members (tiers, merges): HQ administrators only."""
    actor.require(Permission.manage_chain)


def require_member_operator(actor: Actor, home_store_id: int) -> None:
    """A cashier or manager whose scope reaches the member's home store."""
    if not actor.roles & COUNTER_ROLES:
        raise Forbidden("Your role may only read members")
    actor.require(Permission.read, home_store_id)
