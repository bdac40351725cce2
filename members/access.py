"""Who among the staff may change a member: HQ for every member, a store manager for the
members whose home store is theirs (``store_out_of_scope`` otherwise); cashiers, sales staff
and analysts change nothing about a member through the HQ API."""

from __future__ import annotations

from memberpos.errors import Forbidden
from stores.access import Actor, Permission, Role

MANAGER_ROLES = frozenset({Role.store_manager, Role.hq_admin})


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
