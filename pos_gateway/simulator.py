"""Simulated tills: realistic counter traffic through ``pos_gateway.client``.

Each simulated terminal rings up baskets of 1–8 lines from the chain's catalogue, identifies a
member part of the time (card or phone), quotes, and takes payment mixed over cash, bank card,
stored value and points, with an occasional coupon; between sales it refunds an earlier sale,
tops up a card or registers a new member. Offline it queues cash/bank-card sales priced at the
shelf prices it knows and uploads them later. Everything is driven by one seed, so a run (and
its transaction ids) can be repeated exactly: ``memberpos demo`` relies on that.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from pos_gateway.client import (
    PosClient,
    PosError,
    PosRefused,
    ProvisionalSale,
    ReplayReport,
)
from pos_gateway.schemas import (
    ConsentIn,
    LineIn,
    ManagerIn,
    MemberIn,
    PaymentIn,
    QuoteIn,
    RefundIn,
    RefundLineIn,
    RegistrationIn,
    SaleIn,
    SaleOut,
    SalespersonIn,
    TopUpIn,
)

PAYMENT_PIN = "135790"  # the payment PIN of members the simulator registers
# Refusals a cashier answers by asking for cash instead (the basket itself is fine).
RETENDER_CODES = frozenset(
    {
        "points_redemption_refused",
        "insufficient_points",
        "insufficient_stored_value",
        "payment_pin_required",
        "wrong_pin",
        "pin_locked",
        "family_limit_exceeded",
        "stored_value_daily_limit",
        "member_required",
    }
)


@dataclass(frozen=True)
class Product:
    sku: str
    retail_price_minor: int
    member_price_minor: int | None = None
    weight: float = 1.0  # how often it is bought


@dataclass(frozen=True)
class KnownMember:
    card_number: str | None
    phone: str | None = None
    payment_pin: str | None = None


@dataclass(frozen=True)
class StoreStaff:
    cashiers: tuple[str, ...] = ()
    salespeople: tuple[str, ...] = ()
    manager: tuple[str, str] | None = None  # (employee number, PIN) for big refunds


@dataclass
class TerminalSpec:
    key: str
    label: str  # e.g. "SH001/POS-01"
    staff: StoreStaff = field(default_factory=StoreStaff)


@dataclass
class Mix:
    """How often each thing happens, per operation or per sale."""

    member_share: float = 0.6  # sales with a member identified
    phone_share: float = 0.3  # of those, identified by phone rather than card
    coupon_share: float = 0.05
    points_share: float = 0.15  # member sales paying partly with points
    stored_value_share: float = 0.2  # member sales paying partly with stored value
    bank_card_share: float = 0.5  # of what is left, by card rather than cash
    refund_rate: float = 0.03  # operations that are refunds of an earlier sale
    top_up_rate: float = 0.03
    registration_rate: float = 0.02
    salesperson_share: float = 0.3  # lines credited to a salesperson
    max_lines: int = 8
    cash_without_quote: bool = True  # plain cash sales skip the quote (shelf prices known)


@dataclass
class Stats:
    sales: int = 0
    provisional_sales: int = 0
    quotes: int = 0
    refunds: int = 0
    top_ups: int = 0
    registrations: int = 0
    sales_total_minor: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)  # sale requests (quote excluded)
    requests: int = 0
    retries: int = 0
    elapsed_s: float = 0.0
    upload: ReplayReport | None = None
    upload_s: float = 0.0

    def merge(self, other: Stats) -> None:
        for name in (
            "sales",
            "provisional_sales",
            "quotes",
            "refunds",
            "top_ups",
            "registrations",
            "sales_total_minor",
            "requests",
            "retries",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.update(other.errors)
        self.latencies_ms.extend(other.latencies_ms)

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def summary(self) -> str:
        rate = self.sales / self.elapsed_s if self.elapsed_s else 0.0
        lines = [
            f"sales {self.sales} ({self.provisional_sales} queued offline), "
            f"refunds {self.refunds}, top-ups {self.top_ups}, registrations "
            f"{self.registrations}, quotes {self.quotes} in {self.elapsed_s:.1f} s: "
            f"{rate:.1f} sales/s; sale latency p50 {self.percentile(50):.1f} ms, "
            f"p95 {self.percentile(95):.1f} ms, p99 {self.percentile(99):.1f} ms; "
            f"{self.requests} requests, {self.retries} retries",
            f"sales total {self.sales_total_minor / 100:.2f}",
        ]
        if self.upload is not None:
            u = self.upload
            lines.append(
                f"upload: {u.uploaded} items in {u.batches} batches: {u.applied} applied, "
                f"{u.replayed} replayed, {u.rejected} rejected, {u.pending} still pending "
                f"in {self.upload_s:.1f} s"
                + (f" (rejected: {dict(u.rejected_codes)})" if u.rejected_codes else "")
            )
        if self.errors:
            by_code = ", ".join(f"{code} {n}" for code, n in self.errors.most_common())
            lines.append(f"errors by code: {by_code}")
        else:
            lines.append("errors: none")
        return "\n".join(lines)


@dataclass
class _Done:
    sale_no: str
    total_minor: int
    lines: list[tuple[int, int]]  # (line_no, quantity)
    member: KnownMember | None


LocalClock = Callable[[int], dt.datetime]  # operation number -> the till's local time


class SimulatedTerminal:
    """One till. ``run(n)`` performs ``n`` sales plus the refunds, top-ups and registrations
    the mix adds between them."""

    def __init__(
        self,
        client: PosClient,
        spec: TerminalSpec,
        products: Sequence[Product],
        *,
        members: list[KnownMember],
        coupons: Sequence[str] = (),
        mix: Mix | None = None,
        rng: random.Random,
        time_zone: str = "Asia/Shanghai",
        clock: LocalClock | None = None,
        txn_prefix: str | None = None,
        phone_base: int = 0,
        turn: asyncio.Lock | None = None,
    ) -> None:
        self.client = client
        self.spec = spec
        self.products = list(products)
        self.weights = [p.weight for p in self.products]
        self.members = members  # shared between the tills of a run: registrations add to it
        self.coupons = list(coupons)
        self.mix = mix or Mix()
        self.rng = rng
        self.zone = ZoneInfo(time_zone)
        self.clock = clock
        self.txn_prefix = txn_prefix
        self.phone_base = phone_base
        # Tills sharing a lock take turns, one operation each (FIFO): on SQLite that beats
        # writers queueing on the file lock, and the tills' clocks advance together.
        self.turn = turn
        self.stats = Stats()
        self.done: list[_Done] = []
        self._op = 0
        self._registered = 0

    # -------------------------------------------------------------- helpers

    def _txn(self) -> str:
        """Deterministic ids when a prefix is given (repeatable runs), else the client's."""
        self._op += 1
        if self.txn_prefix is not None:
            return f"{self.txn_prefix}-{self._op:06d}"
        return self.client.new_txn_id()

    def _now(self) -> dt.datetime:
        if self.clock is not None:
            return self.clock(self._op)
        return dt.datetime.now(self.zone).replace(microsecond=0)

    def _member_in(self, member: KnownMember) -> MemberIn:
        if member.phone and (not member.card_number or self.rng.random() < self.mix.phone_share):
            return MemberIn(phone=member.phone)
        return MemberIn(card_number=member.card_number)

    def _basket(self) -> list[LineIn]:
        count = min(self.mix.max_lines, max(1, int(self.rng.expovariate(1 / 2.5)) + 1))
        chosen: dict[str, int] = {}
        for product in self.rng.choices(self.products, weights=self.weights, k=count):
            quantity = 1 if self.rng.random() < 0.75 else self.rng.randint(2, 4)
            chosen[product.sku] = chosen.get(product.sku, 0) + quantity
        lines = []
        by_sku = {p.sku: p for p in self.products}
        for sku, quantity in chosen.items():
            salespeople: list[SalespersonIn] = []
            if (
                self.spec.staff.salespeople
                and by_sku[sku].retail_price_minor >= 10_000
                and self.rng.random() < self.mix.salesperson_share
            ):
                people = self.rng.sample(
                    self.spec.staff.salespeople,
                    k=1 if len(self.spec.staff.salespeople) < 2 or self.rng.random() < 0.8 else 2,
                )
                salespeople = [SalespersonIn(employee_no=p) for p in people]
            lines.append(LineIn(sku=sku, quantity=quantity, salespeople=salespeople))
        return lines

    def _cashier(self) -> str | None:
        return self.rng.choice(self.spec.staff.cashiers) if self.spec.staff.cashiers else None

    def _record_error(self, error: PosError) -> None:
        self.stats.errors[error.code] += 1

    # ----------------------------------------------------------- operations

    def _shelf_cash(self, lines: list[LineIn]) -> int:
        """Round notes covering the basket at shelf prices: promotions and member prices only
        lower the total, so this always pays; the service gives the change."""
        by_sku = {p.sku: p for p in self.products}
        estimate = sum(by_sku[line.sku].retail_price_minor * line.quantity for line in lines)
        return max(1000, -(-estimate // 1000) * 1000)

    async def one_sale(self) -> None:
        mix = self.mix
        member = (
            self.rng.choice(self.members)
            if self.members and self.rng.random() < mix.member_share
            else None
        )
        member_in = self._member_in(member) if member else None
        coupons = (
            [self.rng.choice(self.coupons)]
            if self.coupons and self.rng.random() < mix.coupon_share
            else []
        )
        lines = self._basket()
        txn = self._txn()
        local_time = self._now()
        cashier = self._cashier()
        # How the customer means to pay, decided before the till knows the total.
        wants_points = member is not None and self.rng.random() < mix.points_share
        wants_stored_value = member is not None and self.rng.random() < mix.stored_value_share
        by_card = self.rng.random() < mix.bank_card_share
        exact_cash = self.rng.random() < 0.3
        if not self.client.online:
            await self._offline_sale(txn, local_time, lines, member, member_in, cashier)
            return
        plain_cash = not (wants_points or wants_stored_value or by_card or coupons)
        if plain_cash and mix.cash_without_quote:
            # The till knows its shelf prices; cash needs no quote, the answer gives change.
            request = SaleIn(
                client_txn_id=txn,
                local_time=local_time,
                lines=lines,
                payments=[PaymentIn(method="cash", amount_minor=self._shelf_cash(lines))],
                member=member_in,
                cashier_employee_no=cashier,
            )
            await self._post_sale(request, member)
            return
        try:
            quote = await self.client.quote(
                QuoteIn(
                    lines=lines,
                    member=member_in,
                    coupons=coupons,
                    local_time=local_time,
                    cashier_employee_no=cashier,
                )
            )
            self.stats.quotes += 1
        except PosRefused as error:
            self._record_error(error)
            return
        except PosError as error:  # unreachable: go on as the offline till it now is
            self._record_error(error)
            await self._offline_sale(txn, local_time, lines, member, member_in, cashier)
            return
        total = quote.total_minor
        payments: list[PaymentIn] = []
        due = total
        pin = None
        if quote.member is not None and due > 0:
            if quote.max_points_redeemable and wants_points:
                payments.append(
                    PaymentIn(
                        method="points",
                        amount_minor=quote.max_points_value_minor,
                        points=quote.max_points_redeemable,
                    )
                )
                due -= quote.max_points_value_minor
            balance = quote.member.stored_value_minor
            if due > 0 and balance > 0 and wants_stored_value:
                knows_pin = member is not None and member.payment_pin is not None
                amount = min(balance, due if knows_pin else min(due, 19_900))
                if amount > 0:
                    payments.append(PaymentIn(method="stored_value", amount_minor=amount))
                    due -= amount
                    pin = member.payment_pin if member is not None else None
        if due > 0:
            if by_card:
                payments.append(PaymentIn(method="bank_card", amount_minor=due))
            else:
                # Customers hand over round notes; the change is given in cash.
                given = due if exact_cash else -(-due // 1000) * 1000
                payments.append(PaymentIn(method="cash", amount_minor=given))
        if not payments:  # a basket made free by a coupon still records how it was paid
            payments.append(PaymentIn(method="cash", amount_minor=1))
        request = SaleIn(
            client_txn_id=txn,
            local_time=local_time,
            lines=lines,
            payments=payments,
            member=member_in,
            coupons=coupons,
            cashier_employee_no=cashier,
            payment_pin=pin,
            expected_total_minor=total,
        )
        await self._post_sale(request, member)

    async def _offline_sale(
        self,
        txn: str,
        local_time: dt.datetime,
        lines: list[LineIn],
        member: KnownMember | None,
        member_in: MemberIn | None,
        cashier: str | None,
    ) -> None:
        """Priced at the shelf prices the till knows (promotions and member prices only
        lower them, so this is never short); paid in cash, change given at upload, or part
        by card and the rest in cash."""
        by_sku = {p.sku: p for p in self.products}
        estimate = sum(by_sku[line.sku].retail_price_minor * line.quantity for line in lines)
        payments: list[PaymentIn] = []
        if estimate >= 20_000 and self.rng.random() < self.mix.bank_card_share:
            card = estimate // 2
            payments.append(PaymentIn(method="bank_card", amount_minor=card))
            payments.append(
                PaymentIn(method="cash", amount_minor=-(-(estimate - card) // 1000) * 1000)
            )
        else:
            payments.append(PaymentIn(method="cash", amount_minor=-(-estimate // 1000) * 1000))
        request = SaleIn(
            client_txn_id=txn,
            local_time=local_time,
            lines=lines,
            payments=payments,
            member=member_in,
            cashier_employee_no=cashier,
            offline=True,
        )
        await self._post_sale(request, member)

    async def _post_sale(self, request: SaleIn, member: KnownMember | None) -> None:
        started = time.perf_counter()
        try:
            answer = await self.client.sale(request)
        except PosError as error:
            self._record_error(error)
            if error.code in RETENDER_CODES and not request.offline:
                # The card or points could not pay: the customer pays cash instead.
                retender = msgspec.structs.replace(
                    request,
                    client_txn_id=self._txn(),
                    payments=[
                        PaymentIn(method="cash", amount_minor=self._shelf_cash(request.lines))
                    ],
                    payment_pin=None,
                    expected_total_minor=None,
                )
                await self._post_sale(retender, member)
            return
        self.stats.latencies_ms.append((time.perf_counter() - started) * 1000)
        self.stats.sales += 1
        if isinstance(answer, ProvisionalSale):
            self.stats.provisional_sales += 1
            self.stats.sales_total_minor += answer.total_minor
            return
        assert isinstance(answer, SaleOut)
        self.stats.sales_total_minor += answer.total_minor
        self.done.append(
            _Done(
                answer.sale_no,
                answer.total_minor,
                [(line.line_no, line.quantity) for line in answer.lines],
                member,
            )
        )

    async def one_refund(self) -> None:
        if not self.done or not self.client.online:
            return
        sale = self.done.pop(self.rng.randrange(len(self.done)))
        lines: list[RefundLineIn] = []
        if len(sale.lines) > 1 and self.rng.random() < 0.6:
            line_no, quantity = self.rng.choice(sale.lines)
            lines = [RefundLineIn(line_no=line_no, quantity=self.rng.randint(1, quantity))]
        manager = self.spec.staff.manager
        try:
            await self.client.refund(
                RefundIn(
                    client_txn_id=self._txn(),
                    local_time=self._now(),
                    sale_no=sale.sale_no,
                    lines=lines,
                    reason="顾客退货",
                    cashier_employee_no=self._cashier(),
                    # Big refunds need the manager's PIN (the service's threshold: 500.00).
                    manager=ManagerIn(employee_no=manager[0], pin=manager[1])
                    if manager and sale.total_minor > 50_000
                    else None,
                )
            )
            self.stats.refunds += 1
        except PosError as error:
            self._record_error(error)

    async def one_top_up(self) -> None:
        if not self.members or not self.client.online:
            return
        member = self.rng.choice(self.members)
        try:
            await self.client.top_up(
                TopUpIn(
                    client_txn_id=self._txn(),
                    local_time=self._now(),
                    member=self._member_in(member),
                    amount_minor=self.rng.choice((10_000, 20_000, 50_000, 100_000)),
                    method=self.rng.choice(("cash", "bank_card")),
                    cashier_employee_no=self._cashier(),
                )
            )
            self.stats.top_ups += 1
        except PosError as error:
            self._record_error(error)

    async def one_registration(self) -> None:
        if not self.client.online:
            return
        self._registered += 1
        # 19<seed:2><till:2><n:5>: a valid mainland mobile, the same for the same run.
        phone = f"19{self.phone_base % 10_000:04d}{self._registered % 100_000:05d}"
        try:
            answer = await self.client.register(
                RegistrationIn(
                    client_txn_id=self._txn(),
                    phone=phone,
                    name=self.rng.choice(("张", "王", "李", "赵", "陈"))
                    + self.rng.choice(("伟", "静", "敏", "磊", "婷", "杰")),
                    consent=ConsentIn(sms=self.rng.random() < 0.7),
                    payment_pin=PAYMENT_PIN,
                    cashier_employee_no=self._cashier(),
                )
            )
            self.stats.registrations += 1
            self.members.append(KnownMember(answer.card_number, phone, PAYMENT_PIN))
        except PosError as error:
            self._record_error(error)

    async def run(self, sales: int) -> Stats:
        started = time.perf_counter()
        mix = self.mix
        other = mix.refund_rate + mix.top_up_rate + mix.registration_rate
        done_sales = 0
        while done_sales < sales:
            draw = self.rng.random()
            if self.turn is not None:
                await self.turn.acquire()
            try:
                if draw < mix.refund_rate:
                    await self.one_refund()
                elif draw < mix.refund_rate + mix.top_up_rate:
                    await self.one_top_up()
                elif draw < other:
                    await self.one_registration()
                else:
                    await self.one_sale()
                    done_sales += 1
            finally:
                if self.turn is not None:
                    self.turn.release()
        self.stats.requests = self.client.attempts
        self.stats.retries = self.client.retries
        self.stats.elapsed_s = time.perf_counter() - started
        return self.stats


# ------------------------------------------------------------------------------ the catalogue


def demo_products() -> list[Product]:
    """The demo chain's SKUs with their list prices, computed as ``stores.demo`` makes them
    (same seed, same order), so no catalogue download is needed. Cheap everyday goods are
    bought far more often than jewellery."""
    from stores import demo

    rng = random.Random(2026)
    # Replay the demo's draws up to the products: store phones, then staff names.
    for _store in demo.STORES:
        rng.randint(60000000, 69999999)
        for _ in range(5):
            demo._person(rng)
    products = []
    for category_code in sorted(demo.ITEMS):
        brands, items, _tags = demo.ITEMS[category_code]
        for item_index, (_item, _en, (low, high), _unit) in enumerate(items):
            for brand_index, _brand in enumerate(brands):
                for variant in range(demo.PRODUCTS_PER_ITEM if len(brands) == 1 else 3):
                    sku = f"{category_code[:3]}{item_index:02d}{brand_index}{variant}"
                    retail = rng.randint(low, high) * 100 - (10 if rng.random() < 0.5 else 0)
                    member = retail - retail * rng.choice((0, 0, 5, 10)) // 100
                    rng.randint(10**10, 10**11 - 1)  # barcode
                    weight = 1.0 if retail < 20_000 else 0.3 if retail < 100_000 else 0.04
                    products.append(
                        Product(sku, retail, member if member < retail else None, weight)
                    )
    return products


def demo_staff(store_code: str) -> StoreStaff:
    """The demo chain's cashiers and salespeople of a store (``stores.demo`` numbers them
    E1001… five per store in store order: manager-cashier, two cashiers, two salespeople)."""
    from stores import demo

    codes = [s[0] for s in demo.STORES]
    if store_code not in codes:
        return StoreStaff()
    first = 1001 + 5 * codes.index(store_code)
    return StoreStaff(
        cashiers=tuple(f"E{first + i}" for i in range(3)),
        salespeople=tuple(f"E{first + i}" for i in (3, 4)),
        manager=(f"E{first}", demo.DEMO_MANAGER_PIN),
    )


# ----------------------------------------------------------------------------------- a run


@dataclass
class RunConfig:
    base_url: str = "http://127.0.0.1:8000"
    terminals: list[TerminalSpec] = field(default_factory=list)
    sales: int = 200  # in all, spread over the terminals
    seed: int = 1
    offline: bool = False
    upload: bool = False
    mix: Mix = field(default_factory=Mix)
    members: list[KnownMember] = field(default_factory=list)
    coupons: list[str] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    queue_dir: str | None = None  # the tills' offline queue files; None: a temporary folder
    deterministic_ids: bool = False  # ids from the seed: a repeated run replays, adds nothing
    clock: Callable[[int, int], dt.datetime] | None = None  # (terminal index, op) -> local time
    transport: Any = None  # an httpx transport (in-process app for demo and tests)
    timeout: float = 10.0
    take_turns: bool = False  # one operation at a time over all tills (SQLite, the demo)


async def run_terminals(config: RunConfig) -> Stats:
    """Drives every terminal of ``config`` at once and returns the combined statistics."""
    import tempfile

    if not config.terminals:
        raise ValueError("no terminals to drive")
    products = config.products or demo_products()
    members = list(config.members)
    queue_dir = config.queue_dir or tempfile.mkdtemp(prefix="memberpos-tills-")
    per_terminal = [config.sales // len(config.terminals)] * len(config.terminals)
    for i in range(config.sales % len(config.terminals)):
        per_terminal[i] += 1
    tills: list[SimulatedTerminal] = []
    turn = asyncio.Lock() if config.take_turns else None
    clients: list[PosClient] = []
    try:
        for index, spec in enumerate(config.terminals):
            safe = spec.label.replace("/", ".")
            client = PosClient(
                config.base_url,
                spec.key,
                queue_path=f"{queue_dir}/{safe}-{config.seed}.sqlite",
                txn_prefix=f"sim{config.seed}.{safe}",
                transport=config.transport,
                timeout=config.timeout,
                rng=random.Random(f"{config.seed}/{index}/client"),
                backoff_base=0.05,
            )
            clients.append(client)
            if config.offline:
                client.go_offline()
            info_zone = "Asia/Shanghai"
            if not config.offline:
                try:
                    info_zone = (await client.terminal()).time_zone
                except PosError:
                    pass
            clock = config.clock
            tills.append(
                SimulatedTerminal(
                    client,
                    spec,
                    products,
                    members=members,
                    coupons=config.coupons,
                    mix=config.mix,
                    rng=random.Random(f"{config.seed}/{index}"),
                    time_zone=info_zone,
                    clock=(lambda op, i=index, c=clock: c(i, op)) if clock else None,  # type: ignore[misc]
                    txn_prefix=f"s{config.seed}t{index}" if config.deterministic_ids else None,
                    phone_base=(config.seed % 100) * 100 + index % 100,
                    turn=turn,
                )
            )
        started = time.perf_counter()
        results = await asyncio.gather(
            *(till.run(n) for till, n in zip(tills, per_terminal, strict=True))
        )
        total = Stats()
        for stats in results:
            total.merge(stats)
        total.elapsed_s = time.perf_counter() - started
        if config.upload:
            upload_started = time.perf_counter()
            upload = ReplayReport()
            for client in clients:
                client.go_online()
                report = await client.replay()
                upload.uploaded += report.uploaded
                upload.applied += report.applied
                upload.replayed += report.replayed
                upload.rejected += report.rejected
                upload.batches += report.batches
                upload.pending += report.pending
                for code, n in report.rejected_codes.items():
                    upload.rejected_codes[code] = upload.rejected_codes.get(code, 0) + n
            total.upload = upload
            total.upload_s = time.perf_counter() - upload_started
            total.requests = sum(c.attempts for c in clients)
        return total
    finally:
        for client in clients:
            await client.aclose()
