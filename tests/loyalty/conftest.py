from __future__ import annotations

import pytest

from members.cards import Operator
from members.registration import Registration, register
from stores.access import Role
from tests import factories


@pytest.fixture
async def chain(db):
    admin = await factories.hq_admin()
    return await factories.small_chain(admin)


@pytest.fixture
async def member_id(chain) -> int:
    registered = await register(
        Registration(
            phone="13812340000", name="王芳", home_store_id=chain["stores"]["SH001"]["id"]
        ),
        Operator(roles=frozenset({Role.cashier})),
    )
    return registered.member_id
