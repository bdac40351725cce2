"""The terminal client against the in-process app: retries with the same id apply once, the
offline queue uploads to the same end state as online, refusals arrive typed with their code."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec
import pytest

from pos_gateway.client import (
    IdempotencyConflict,
    PosAuthenticationError,
    PosClient,
    PosRefused,
    PosUnreachable,
    ProvisionalSale,
    new_txn_id,
)
from pos_gateway.schemas import (
    LineIn,
    MemberIn,
    PaymentIn,
    RegistrationIn,
    SaleIn,
    SaleOut,
    TopUpIn,
)
from tests import factories

BASE_URL = "http://memberpos.test"
SHANGHAI = ZoneInfo("Asia/Shanghai")


# --------------------------------------------------------------------------- transports


class LoseAnswers(httpx.AsyncBaseTransport):
    """Forwards each request to the app, then (for the first ``times`` requests to ``path``)
    throws the answer away and fails as a dropped connection would: the server committed,
    the till never heard."""

    def __init__(self, inner: httpx.AsyncBaseTransport, path: str, times: int = 1) -> None:
        self.inner, self.path, self.times = inner, path, times
        self.forwarded = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.forwarded += 1
        if self.times and request.url.path.endswith(self.path):
            self.times -= 1
            await response.aread()
            raise httpx.ReadError("connection reset after the request was sent")
        return response


class Switchable(httpx.AsyncBaseTransport):
    """The network: up (forwards to the app) or down (every request fails to connect); can
    also answer 503 a few times, as a load balancer in front of a restarting service does."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.up = True
        self.unavailable = 0
        self.seen: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}")
        if not self.up:
            raise httpx.ConnectError("network is unreachable")
        if self.unavailable:
            self.unavailable -= 1
            return httpx.Response(503, json={"code": "service_unavailable", "status": 503})
        return await self.inner.handle_async_request(request)


async def no_sleep(_: float) -> None:
    return None


# ------------------------------------------------------------------------------ a store


@dataclass
class Store:
    admin: Any
    keys: dict[str, str]  # terminal name -> key
    cashier: str = "E2001"
    manager: str = "E2000"
    salesperson: str = "E2002"


async def open_store(terminals: int = 1) -> Store:
    """SH001 of the small chain with a manager (PIN), a cashier, a salesperson and tills."""
    admin = await factories.hq_admin()
    await factories.small_chain(admin)
    await factories.employee(admin, "E2000", ["store_manager", "cashier"], "SH001", pin="2468")
    await factories.employee(admin, "E2001", ["cashier"], "SH001")
    await factories.employee(admin, "E2002", ["salesperson"], "SH001")
    keys = {}
    for number in range(1, terminals + 1):
        _, key = await factories.terminal(admin, "SH001", f"POS-{number:02d}")
        keys[f"POS-{number:02d}"] = key
    return Store(admin, keys)


def pos(
    app: Any, key: str, transport: httpx.AsyncBaseTransport | None = None, **kw: Any
) -> PosClient:
    return PosClient(
        BASE_URL,
        key,
        transport=transport or httpx.ASGITransport(app=app),
        sleep=no_sleep,
        rng=random.Random(7),
        **kw,
    )


def at(hour: int, minute: int = 0, day: dt.date | None = None) -> dt.datetime:
    day = day or dt.datetime.now(SHANGHAI).date()
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


async def register(client: PosClient, phone: str, name: str = "王芳") -> str:
    answer = await client.register(
        RegistrationIn(client_txn_id="", phone=phone, name=name, payment_pin="246810")
    )
    assert answer.card_number
    return answer.card_number


@pytest.fixture
async def store(app: Any, db: None) -> AsyncIterator[Store]:
    yield await open_store(terminals=2)


# --------------------------------------------------------------------------------- tests


def test_transaction_ids_are_unique_sortable_and_valid() -> None:
    from pos_gateway.schemas import TxnId

    rng = random.Random(1)
    ids = [new_txn_id("a1b2c3d4e5f60718", now=1_700_000_000 + i, rng=rng) for i in range(200)]
    assert len(set(ids)) == 200
    assert ids == sorted(ids)
    for txn in ids:
        assert msgspec.convert(txn, TxnId) == txn  # the schema's own length and pattern
        assert txn.startswith("a1b2c3d4e5f60718-") and len(txn) == 17 + 18


async def test_sale_whose_answer_was_lost_is_retried_with_the_same_id_and_applied_once(
    app: Any, store: Store
) -> None:
    from loyalty.stored_value import stored_value_summary
    from members.cards import find_member
    from pos_gateway.tables import IdempotencyRecord, Sale

    setup = pos(app, store.keys["POS-01"])
    card = await register(setup, "13900001111")
    await setup.top_up(
        TopUpIn(
            client_txn_id="",
            local_time=at(9),
            member=MemberIn(card_number=card),
            amount_minor=50_000,
        )
    )
    lossy = LoseAnswers(httpx.ASGITransport(app=app), "/api/v1/pos/sales", times=2)
    till = pos(app, store.keys["POS-01"], transport=lossy)
    request = SaleIn(
        client_txn_id=till.new_txn_id(),
        local_time=at(10),
        lines=[LineIn(sku="SNACK-2", quantity=3)],  # 3 × 39.90
        payments=[
            PaymentIn(method="stored_value", amount_minor=10_000),
            PaymentIn(method="cash", amount_minor=2_000),
        ],
        member=MemberIn(card_number=card),
    )
    answer = await till.sale(request)
    assert isinstance(answer, SaleOut)
    assert till.retries == 2 and lossy.forwarded == 3
    assert answer.total_minor == 11_970 and answer.change_minor == 30
    assert await Sale.count().where(Sale.client_txn_id == request.client_txn_id) == 1
    assert (
        await IdempotencyRecord.count().where(
            IdempotencyRecord.client_txn_id == request.client_txn_id
        )
        == 1
    )
    member = await find_member(card_number=card)
    balance = await stored_value_summary(member.member_id)
    assert balance["balance"] == 40_000
    # A replay posted by hand answers the first answer byte for byte, flagged.
    raw = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)
    replay = await raw.post(
        "/api/v1/pos/sales",
        content=msgspec.json.encode(request),
        headers={
            "Authorization": f"Bearer {store.keys['POS-01']}",
            "Content-Type": "application/json",
        },
    )
    assert replay.status_code == 200 and replay.headers["Idempotent-Replay"] == "true"
    assert msgspec.json.decode(replay.content, type=SaleOut) == answer
    await raw.aclose()
    await till.aclose()
    await setup.aclose()


async def test_same_id_with_another_body_and_refusals_arrive_typed_with_their_code(
    app: Any, store: Store
) -> None:
    till = pos(app, store.keys["POS-01"])
    first = SaleIn(
        client_txn_id="same-id-1",
        local_time=at(11),
        lines=[LineIn(sku="SNACK-2", quantity=1)],
        payments=[PaymentIn(method="cash", amount_minor=3_990)],
    )
    assert isinstance(await till.sale(first), SaleOut)
    with pytest.raises(IdempotencyConflict) as conflict:
        await till.sale(
            msgspec.structs.replace(
                first,
                lines=[LineIn(sku="SNACK-2", quantity=2)],
                payments=[PaymentIn(method="cash", amount_minor=7_980)],
            )
        )
    assert conflict.value.status == 409 and conflict.value.code == "idempotency_conflict"
    with pytest.raises(PosRefused) as short:
        await till.sale(
            SaleIn(
                client_txn_id="",
                local_time=at(11, 5),
                lines=[LineIn(sku="SNACK-2", quantity=2)],
                payments=[PaymentIn(method="cash", amount_minor=5_000)],
            )
        )
    assert (
        short.value.code == "payments_mismatch" and short.value.problem["amount_due_minor"] == 7_980
    )
    with pytest.raises(PosRefused) as unknown:
        await till.find_member(phone="13700000000")
    assert unknown.value.code == "unknown_member" and unknown.value.status == 404
    assert till.retries == 0  # refusals are not retried
    intruder = pos(app, "mpt_0123456789abcdef_not-a-real-key")
    with pytest.raises(PosAuthenticationError) as refused:
        await intruder.terminal()
    assert refused.value.status == 401
    await intruder.aclose()
    await till.aclose()


async def test_503s_are_retried_then_answered(app: Any, store: Store) -> None:
    network = Switchable(httpx.ASGITransport(app=app))
    network.unavailable = 2
    till = pos(app, store.keys["POS-01"], transport=network)
    answer = await till.sale(
        SaleIn(
            client_txn_id="",
            local_time=at(12),
            lines=[LineIn(sku="SNACK-1", quantity=1)],
            payments=[PaymentIn(method="bank_card", amount_minor=12_800)],
        )
    )
    assert isinstance(answer, SaleOut) and answer.total_minor == 12_800
    assert till.retries == 2
    await till.aclose()


async def test_unreachable_service_queues_cash_sales_refuses_stored_value_and_replays_in_order(
    app: Any, store: Store, tmp_path: Path
) -> None:
    from pos_gateway.tables import Sale

    network = Switchable(httpx.ASGITransport(app=app))
    till = pos(
        app,
        store.keys["POS-01"],
        transport=network,
        queue_path=tmp_path / "till.sqlite",
        reconnect_after=0.0,
    )
    card = await register(till, "13900002222")
    network.up = False
    queued = []
    for minute, quantity in ((1, 1), (2, 2), (3, 1)):
        answer = await till.sale(
            SaleIn(
                client_txn_id="",
                local_time=at(13, minute),
                lines=[LineIn(sku="SNACK-2", quantity=quantity)],
                payments=[PaymentIn(method="cash", amount_minor=10_000)],
                member=MemberIn(card_number=card),
            )
        )
        assert isinstance(answer, ProvisionalSale)
        queued.append(answer)
    with pytest.raises(PosUnreachable):
        await till.sale(
            SaleIn(
                client_txn_id="",
                local_time=at(13, 4),
                lines=[LineIn(sku="SNACK-2", quantity=1)],
                payments=[PaymentIn(method="stored_value", amount_minor=3_990)],
                member=MemberIn(card_number=card),
            )
        )
    assert [q.queued_seq for q in queued] == [1, 2, 3]
    assert len(till.pending_items()) == 3
    assert await Sale.count() == 0
    network.up = True
    # The next sale finds the network back: the queue goes first, in order.
    after = await till.sale(
        SaleIn(
            client_txn_id="",
            local_time=at(13, 10),
            lines=[LineIn(sku="SNACK-2", quantity=1)],
            payments=[PaymentIn(method="cash", amount_minor=3_990)],
        )
    )
    assert isinstance(after, SaleOut)
    assert till.pending_items() == [] and till.rejected_items() == []
    sales = await Sale.select(
        Sale.client_txn_id, Sale.offline, Sale.total_minor, Sale.sale_no
    ).order_by(Sale.id)
    assert [s["client_txn_id"] for s in sales] == [q.client_txn_id for q in queued] + [
        after.client_txn_id
    ]
    assert [s["offline"] for s in sales] == [True, True, True, False]
    assert [s["total_minor"] for s in sales] == [3_990, 7_980, 3_990, 3_990]
    first = till.queued_answer(queued[0].client_txn_id)
    assert first is not None and first.status == "applied"
    assert first.answer is not None and first.answer["sale_no"] == sales[0]["sale_no"]
    await till.aclose()


async def test_sale_sent_before_the_network_fell_is_queued_as_sent_and_booked_once(
    app: Any, store: Store, tmp_path: Path
) -> None:
    """The worst case: the service booked the sale, the answer was lost and every retry
    failed. The till queues it; the upload finds the stored answer instead of a conflict."""
    from pos_gateway.tables import Sale

    class CommitThenDown(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.ASGITransport(app=app)
            self.down = False
            self.lose_next_sale = True

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if self.down:
                raise httpx.ConnectError("network is unreachable")
            response = await self.inner.handle_async_request(request)
            if request.url.path.endswith("/sales") and self.lose_next_sale:
                self.lose_next_sale = False
                self.down = True
                raise httpx.ReadError("connection reset")
            return response

    network = CommitThenDown()
    till = pos(
        app,
        store.keys["POS-01"],
        transport=network,
        queue_path=tmp_path / "q.sqlite",
        max_attempts=3,
        reconnect_after=0.0,
    )
    answer = await till.sale(
        SaleIn(
            client_txn_id="",
            local_time=at(14),
            lines=[LineIn(sku="SNACK-1", quantity=1)],
            payments=[PaymentIn(method="cash", amount_minor=13_000)],
        )
    )
    assert isinstance(answer, ProvisionalSale)
    assert await Sale.count() == 1  # booked, though the till does not know it
    network.down = False
    network.inner = httpx.ASGITransport(app=app)
    report = await till.replay()
    assert report.replayed == 1 and report.rejected == 0 and report.pending == 0
    assert await Sale.count() == 1
    item = till.queued_answer(answer.client_txn_id)
    assert item is not None and item.status == "replayed"
    assert item.answer is not None and item.answer["total_minor"] == 12_800
    await till.aclose()


async def test_offline_item_that_cannot_be_honoured_is_rejected_and_kept_visible(
    app: Any, store: Store, tmp_path: Path
) -> None:
    till = pos(app, store.keys["POS-02"], queue_path=tmp_path / "q.sqlite")
    till.go_offline()
    good = await till.sale(
        SaleIn(
            client_txn_id="",
            local_time=at(15),
            lines=[LineIn(sku="SNACK-2", quantity=1)],
            payments=[PaymentIn(method="cash", amount_minor=5_000)],
        )
    )
    short = await till.sale(
        SaleIn(
            client_txn_id="",
            local_time=at(15, 5),
            lines=[LineIn(sku="SNACK-1", quantity=1)],
            payments=[PaymentIn(method="bank_card", amount_minor=10_000)],  # 128.00 due
        )
    )
    also_good = await till.sale(
        SaleIn(
            client_txn_id="",
            local_time=at(15, 10),
            lines=[LineIn(sku="SNACK-2", quantity=2)],
            payments=[PaymentIn(method="bank_card", amount_minor=7_980)],
        )
    )
    assert all(isinstance(a, ProvisionalSale) for a in (good, short, also_good))
    assert (await till.replay()).pending == 3  # still offline: nothing sent
    till.go_online()
    report = await till.replay(batch_size=2)
    assert (report.applied, report.rejected, report.batches) == (2, 1, 2)
    assert report.rejected_codes == {"payments_mismatch": 1}
    rejected = till.rejected_items()
    assert [r.client_txn_id for r in rejected] == [short.client_txn_id]
    assert rejected[0].code == "payments_mismatch"
    # Uploading again changes nothing.
    again = await till.replay()
    assert again.uploaded == 0
    assert till.queue is not None and till.queue.resolve(short.client_txn_id)
    assert till.rejected_items() == []
    await till.aclose()


async def test_same_day_offline_then_uploaded_ends_as_the_same_day_online(
    app: Any, store: Store, tmp_path: Path
) -> None:
    """One customer shops online at POS-01, her twin shops the same baskets at POS-02 while
    it is offline; after the upload both have the same points, the same sale totals."""
    from loyalty.points import points_summary
    from members.cards import find_member
    from pos_gateway.tables import Sale

    online = pos(app, store.keys["POS-01"])
    offline = pos(app, store.keys["POS-02"], queue_path=tmp_path / "q.sqlite")
    card_a = await register(online, "13900003333", "李静")
    card_b = await register(online, "13900004444", "李敏")
    offline.go_offline()
    baskets = [
        ([("SNACK-1", 1), ("SNACK-2", 2)], "cash"),
        ([("SNACK-2", 5)], "bank_card"),
        ([("SNACK-1", 2)], "cash"),
        ([("SNACK-2", 1), ("SNACK-1", 1)], "bank_card"),
    ]
    price = {"SNACK-1": 12_800, "SNACK-2": 3_990}  # shelf prices: no member-price rule here
    for hour, (lines, method) in enumerate(baskets, start=9):
        total = sum(price[sku] * qty for sku, qty in lines)
        paid = -(-total // 1000) * 1000 if method == "cash" else total
        for till, card in ((online, card_a), (offline, card_b)):
            answer = await till.sale(
                SaleIn(
                    client_txn_id="",
                    local_time=at(hour),
                    lines=[LineIn(sku=s, quantity=q) for s, q in lines],
                    payments=[PaymentIn(method=method, amount_minor=paid)],
                    member=MemberIn(card_number=card),
                )
            )
            assert isinstance(answer, ProvisionalSale if till is offline else SaleOut)
    offline.go_online()
    report = await offline.replay()
    assert (report.applied, report.rejected) == (4, 0)

    async def end_state(card: str, terminal: str) -> tuple[Any, ...]:
        member = await find_member(card_number=card)
        points = await points_summary(member.member_id)
        sales = (
            await Sale.select(Sale.total_minor, Sale.points_earned, Sale.change_minor)
            .where(Sale.member == member.member_id)
            .order_by(Sale.id)
        )
        return points["balance"], [tuple(s.values()) for s in sales]

    state_a = await end_state(card_a, "POS-01")
    state_b = await end_state(card_b, "POS-02")
    assert state_a == state_b
    expected_totals = [sum(price[s] * q for s, q in lines) for lines, _ in baskets]
    assert [s[0] for s in state_a[1]] == expected_totals
    assert state_a[0] == sum(sum(price[s] * q // 100 for s, q in lines) for lines, _ in baskets)
    await online.aclose()
    await offline.aclose()


@pytest.mark.postgres
async def test_the_same_sale_from_two_connections_at_once_is_booked_once(
    app: Any, store: Store
) -> None:
    """A till that retried on a second connection while the first was still in flight:
    both answers are the one sale."""
    import asyncio

    from pos_gateway.tables import Sale

    first = pos(app, store.keys["POS-01"])
    second = pos(app, store.keys["POS-01"])
    request = SaleIn(
        client_txn_id=first.new_txn_id(),
        local_time=at(16),
        lines=[LineIn(sku="SNACK-1", quantity=1), LineIn(sku="SNACK-2", quantity=1)],
        payments=[PaymentIn(method="bank_card", amount_minor=16_790)],
    )
    answers = await asyncio.gather(first.sale(request), second.sale(request))
    assert all(isinstance(a, SaleOut) for a in answers)
    assert answers[0] == answers[1]
    assert await Sale.count().where(Sale.client_txn_id == request.client_txn_id) == 1
    await first.aclose()
    await second.aclose()


async def test_retries_back_off_exponentially_within_bounds_then_give_up_typed() -> None:
    """No service at all: the client tries max_attempts times, waiting longer each time
    (with jitter, never above backoff_max), then raises PosUnreachable."""
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    till = PosClient(
        BASE_URL,
        "mpt_0123456789abcdef_secret",
        transport=httpx.MockTransport(refuse),
        max_attempts=6,
        backoff_base=0.1,
        backoff_max=1.0,
        sleep=record,
        rng=random.Random(3),
    )
    with pytest.raises(PosUnreachable) as failed:
        await till.terminal()
    assert failed.value.code == "unreachable" and till.attempts == 6 and len(waits) == 5
    ceilings = [min(1.0, 0.1 * 2**n) for n in range(5)]
    assert all(c / 2 <= w <= c for w, c in zip(waits, ceilings, strict=True))
    assert not till.online
    await till.aclose()


def test_answers_with_fields_a_newer_service_added_still_decode() -> None:
    from pos_gateway.client import decode_answer
    from pos_gateway.schemas import RegistrationOut

    view = {
        "member_id": 7,
        "card_number": "8000000000000001",
        "name": "王芳",
        "masked_phone": "139****1111",
        "tier_code": None,
        "tier_name": None,
        "points_balance": 10,
        "points_spendable": 0,
        "points_value_minor": 0,
        "stored_value_minor": 0,
        "stored_value_principal_minor": 0,
        "stored_value_bonus_minor": 0,
        "family_parent": False,
        "nickname": "added later",  # unknown to this till
    }
    body = {
        "member_id": 7,
        "created": True,
        "card_number": "8000000000000001",
        "member": view,
        "welcome_coupon": "added later",
    }
    answer = decode_answer(msgspec.json.encode(body), RegistrationOut)
    assert answer.member.member_id == 7 and answer.created
    with pytest.raises(msgspec.ValidationError):  # a missing field is still an error
        decode_answer(msgspec.json.encode({"member_id": 7}), RegistrationOut)
