"""A store open for business: terminals with keys, a cashier, salespeople, a manager with a
PIN, a loyalty program and a member with a card and a payment PIN — all made through the
domains' own functions."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest

from loyalty.program import save_program
from members.cards import Operator
from members.registration import Registration, register
from stores.access import Role
from tests import factories

MEMBER_PIN = "246810"
MANAGER_PIN = "2468"
_txn = itertools.count(1)


@dataclass
class Shop:
    client: Any
    headers: dict[str, str]  # SH001 POS-01
    other_store_headers: dict[str, str]  # SH002 POS-01
    stores: dict[str, dict[str, Any]]
    member_id: int
    card_number: str
    phone: str = "13812340000"
    extra: dict[str, Any] = field(default_factory=dict)

    async def post(self, path: str, body: dict[str, Any], headers: dict | None = None) -> Any:
        return await self.client.post(
            f"/api/v1/pos{path}", json=body, headers=headers or self.headers
        )

    async def get(self, path: str, headers: dict | None = None, **params: Any) -> Any:
        return await self.client.get(
            f"/api/v1/pos{path}", params=params, headers=headers or self.headers
        )

    async def sale(self, lines: list[dict], payments: list[dict], **extra: Any) -> Any:
        body = {
            "client_txn_id": extra.pop("client_txn_id", f"t-{next(_txn)}"),
            "local_time": extra.pop("local_time", now_local()),
            "lines": lines,
            "payments": payments,
            **extra,
        }
        return await self.post("/sales", body)

    async def top_up(self, amount_minor: int, **extra: Any) -> Any:
        return await self.post(
            "/top-ups",
            {
                "client_txn_id": f"t-{next(_txn)}",
                "local_time": "2026-11-23T09:00:00",
                "member": {"card_number": self.card_number},
                "amount_minor": amount_minor,
                **extra,
            },
        )

    @property
    def member(self) -> dict[str, str]:
        return {"card_number": self.card_number}


def now_local() -> str:
    """The till's wall clock now (Shanghai): promotions HQ activates in a test are live."""
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None).isoformat()


def txn() -> str:
    return f"t-{next(_txn)}"


@pytest.fixture
async def shop(client: Any) -> Shop:
    admin = await factories.hq_admin()
    built = await factories.small_chain(admin)
    await factories.employee(admin, "C001", ["cashier"], "SH001")
    await factories.employee(admin, "S001", ["salesperson"], "SH001")
    await factories.employee(admin, "S002", ["salesperson"], "SH001")
    await factories.employee(admin, "M001", ["store_manager"], "SH001", pin=MANAGER_PIN)
    await factories.employee(admin, "M002", ["store_manager"], "SH002", pin=MANAGER_PIN)
    _, key = await factories.terminal(admin, "SH001")
    _, other_key = await factories.terminal(admin, "SH002")
    await save_program(
        {
            "pending_days": 0,
            "pin_threshold_minor": 20_000,
            "expiry_policy": "year_end",
            "min_redeem_points": 100,
            "redeem_step_points": 100,
            "points_per_minor_unit": 1,
        }
    )
    registered = await register(
        Registration(
            phone="13812340000",
            name="王芳",
            home_store_id=built["stores"]["SH001"]["id"],
            payment_pin=MEMBER_PIN,
            consents=("sms",),
            birthday=dt.date(1990, 3, 14),
        ),
        Operator(roles=frozenset({Role.cashier})),
    )
    assert registered.card is not None
    return Shop(
        client=client,
        headers={"Authorization": f"Bearer {key}"},
        other_store_headers={"Authorization": f"Bearer {other_key}"},
        stores=built["stores"],
        member_id=registered.member_id,
        card_number=registered.card["number"],
    )
