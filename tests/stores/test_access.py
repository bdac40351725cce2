"""The role policy on its own, without HTTP."""

import pytest

from memberpos.errors import Forbidden, OutOfScope
from stores.access import Actor, Permission, Role


def actor(*roles: Role, store_id: int | None = 1) -> Actor:
    return Actor(
        staff_id=1,
        employee_no="E1",
        name="x",
        roles=frozenset(roles),
        home_store_id=store_id,
        home_store_code="S1" if store_id else None,
    )


def test_store_manager_changes_their_own_store_only():
    manager = actor(Role.store_manager)
    manager.require(Permission.manage_terminals, 1)
    with pytest.raises(OutOfScope):
        manager.require(Permission.manage_terminals, 2)
    with pytest.raises(Forbidden):
        manager.require(Permission.manage_chain)


def test_analyst_reads_everything_and_changes_nothing():
    analyst = actor(Role.analyst, store_id=None)
    analyst.require(Permission.read, 7)
    analyst.require(Permission.read_audit)
    for permission in set(Permission) - {Permission.read, Permission.read_audit}:
        assert not analyst.can(permission, 7)


def test_cashier_cannot_manage_staff_terminals_or_prices():
    cashier = actor(Role.cashier, Role.salesperson)
    for permission in (
        Permission.manage_staff,
        Permission.manage_terminals,
        Permission.manage_catalog,
        Permission.manage_store_prices,
    ):
        assert not cashier.can(permission, 1)
    assert cashier.can(Permission.read, 1)
    assert not cashier.can(Permission.read, 2)


def test_a_manager_who_is_also_analyst_reads_all_but_changes_only_home():
    person = actor(Role.store_manager, Role.analyst)
    assert person.can(Permission.read, 9)
    assert not person.can(Permission.manage_terminals, 9)
    assert person.can(Permission.manage_terminals, 1)
