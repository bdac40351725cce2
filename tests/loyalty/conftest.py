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


@pytest.fixture
async def admin(chain):
    from stores.staff import actor_for
    from stores.tables import Staff

    row = await Staff.select(Staff.id).where(Staff.employee_no == "H0001").first()
    return await actor_for(row["id"])


async def staff_actor(admin, employee_no: str, roles: list[str], store_code: str | None = None):
    from stores.staff import actor_for

    row = await factories.employee(admin, employee_no, roles, store_code)
    return await actor_for(row["id"])


async def another_member(chain, phone: str, store_code: str = "SH001") -> int:
    registered = await register(
        Registration(phone=phone, name="李雷", home_store_id=chain["stores"][store_code]["id"]),
        Operator(roles=frozenset({Role.cashier})),
    )
    return registered.member_id
