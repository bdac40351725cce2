"""Fixtures of the members tests: a small chain, the default tiers and a way to register
members through the domain's own registration."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from members.cards import Operator
from members.registration import Registration, register
from members.tiers import seed_default_tiers
from stores.access import Role
from tests import factories

CASHIER = Operator(staff_id=None, roles=frozenset({Role.cashier}))
MANAGER = Operator(staff_id=None, roles=frozenset({Role.store_manager}))
MEMBER_PIN = "8642"


@pytest.fixture
async def chain(db: None) -> dict[str, Any]:
    admin = await factories.hq_admin()
    built = await factories.small_chain(admin)
    built["admin"] = admin
    await seed_default_tiers()
    return built


@pytest.fixture
def new_member(chain: dict[str, Any]) -> Callable[..., Awaitable[int]]:
    counter = iter(range(1, 10_000))

    async def make(phone: str | None = None, store: str = "SH001", **extra: Any) -> int:
        number = phone or f"1390000{next(counter):04d}"
        registered = await register(
            Registration(
                phone=number,
                name=extra.pop("name", "测试会员"),
                home_store_id=chain["stores"][store]["id"],
                payment_pin=extra.pop("payment_pin", MEMBER_PIN),
                **extra,
            ),
            CASHIER,
        )
        return registered.member_id

    return make
