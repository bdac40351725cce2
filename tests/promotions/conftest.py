from __future__ import annotations

from datetime import UTC, datetime

import pytest

from members.cards import Operator
from members.registration import Registration, register
from promotions import service
from stores.access import Role
from tests import factories

# A Monday 14:00 in Shanghai, after every definition a test creates "now".
NOW = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)


@pytest.fixture
async def chain(db):
    service.invalidate_cache()
    admin = await factories.hq_admin()
    built = await factories.small_chain(admin)
    built["admin"] = admin
    return built


async def new_member(chain, phone: str = "13812340000", store: str = "SH001") -> int:
    registered = await register(
        Registration(phone=phone, name="王芳", home_store_id=chain["stores"][store]["id"]),
        Operator(roles=frozenset({Role.cashier})),
    )
    return registered.member_id


@pytest.fixture
async def member_id(chain) -> int:
    return await new_member(chain)
