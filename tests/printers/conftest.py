"""Fixtures of the printers tests: sample documents at fixed times, golden files, a clock the
test moves, and a stand-in network printer on 127.0.0.1 that can be made to fail.

Everything is handed out as fixtures (tests import nothing from here), so the tests run the
same whatever pytest's import mode and whatever other conftest files the repository grows.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest

from printers.layout import (
    CardIssueSlip,
    Coupon,
    Discount,
    EndOfDaySummary,
    Locale,
    Member,
    Payment,
    PaymentTotal,
    Receipt,
    ReceiptLine,
    RefundSlip,
    Store,
    TopUpSlip,
    Totals,
)

GOLDEN_DIRECTORY = Path(__file__).parent / "golden"
SOLD_AT = datetime(2025, 3, 8, 6, 30, 5, tzinfo=UTC)  # 14:30:05 in Shanghai


def sample_store(locale: Locale) -> Store:
    if locale == "zh-CN":
        return Store(
            code="SH-0012",
            name="鲜悦生活超市 徐汇店",
            address="上海市徐汇区漕溪北路 88 号",
            phone="021-6488 1234",
            time_zone="Asia/Shanghai",
        )
    return Store(
        code="SH-0012",
        name="FreshJoy Market Xuhui",
        address="88 Caoxi North Rd, Shanghai",
        phone="021-6488 1234",
        time_zone="Asia/Shanghai",
    )


def sample_receipt(locale: Locale = "zh-CN") -> Receipt:
    """A sale with every block: item and basket discounts, two salespeople, cash with change,
    stored value, a member with expiring points, coupons used and issued."""
    chinese = locale == "zh-CN"
    return Receipt(
        store=sample_store(locale),
        terminal_code="T03",
        cashier_name="王丽" if chinese else "Li Wang",
        sale_number="2503080012030042",
        sold_at=SOLD_AT,
        currency="CNY",
        locale=locale,
        lines=(
            ReceiptLine(
                name="农夫山泉 天然饮用水 550ml" if chinese else "Nongfu Spring Water 550ml",
                sku="6921168509256",
                quantity=2,
                unit_price_minor=200,
                line_amount_minor=400,
            ),
            ReceiptLine(
                name="Lavazza 意式浓缩咖啡豆 Espresso Italiano Classico 1kg",
                sku="8000070018709",
                quantity=1,
                unit_price_minor=16_800,
                line_amount_minor=14_800,
                salespeople=("张敏", "Tom Lee"),
                discounts=(
                    Discount(reason="会员价" if chinese else "Member price", amount_minor=2_000),
                ),
            ),
            ReceiptLine(
                name="有机菠菜" if chinese else "Organic spinach",
                sku="2000123",
                quantity=3,
                unit_price_minor=1_250,
                line_amount_minor=3_750,
            ),
        ),
        basket_discounts=(
            Discount(reason="满100减10" if chinese else "10 off 100", amount_minor=1_000),
        ),
        totals=Totals(gross_minor=20_950, discount_minor=3_000, net_minor=17_950),
        payments=(
            Payment(kind="stored_value", amount_minor=5_000),
            Payment(kind="coupon", amount_minor=1_000, reference="CP-7781"),
            Payment(kind="cash", amount_minor=11_950, tendered_minor=12_000, change_minor=50),
        ),
        member=Member(
            card_number="8800012345679012",
            masked_phone="138****1234",
            tier_name="金卡会员" if chinese else "Gold",
            points_earned=179,
            points_used=0,
            points_balance=12_345,
            stored_value_used_minor=5_000,
            stored_value_balance_minor=15_000,
            points_expiring=300,
            points_expiring_on=date(2025, 3, 31),
        ),
        coupons_used=(
            Coupon(
                code="CP-7781",
                name="春季满减券" if chinese else "Spring voucher",
                amount_minor=1_000,
            ),
        ),
        coupons_issued=(
            Coupon(
                code="CP-9902",
                name="下次购物立减 ¥5" if chinese else "¥5 off next visit",
                amount_minor=500,
                valid_until=date(2025, 4, 30),
            ),
        ),
        member_page_url="https://m.freshjoy.cn/me?c=9012",
    )


def sample_top_up(locale: Locale = "zh-CN") -> TopUpSlip:
    return TopUpSlip(
        store=sample_store(locale),
        terminal_code="T03",
        cashier_name="王丽" if locale == "zh-CN" else "Li Wang",
        top_up_number="TU0012-0007",
        topped_up_at=SOLD_AT,
        locale=locale,
        member=sample_receipt(locale).member,  # type: ignore[arg-type]
        amount_minor=50_000,
        bonus_minor=5_000,
        payments=(Payment(kind="bank_card", amount_minor=50_000, reference="**** 6622"),),
        stored_value_balance_minor=70_000,
    )


def sample_card_issue(locale: Locale = "zh-CN") -> CardIssueSlip:
    return CardIssueSlip(
        store=sample_store(locale),
        terminal_code="T03",
        cashier_name="王丽" if locale == "zh-CN" else "Li Wang",
        issued_at=SOLD_AT,
        locale=locale,
        replacement=True,
        member=sample_receipt(locale).member,  # type: ignore[arg-type]
        replaced_card_number="8800012345670001",
        fee_minor=1_000,
        member_page_url="https://m.freshjoy.cn/me?c=9012",
    )


def sample_refund(locale: Locale = "zh-CN") -> RefundSlip:
    receipt = sample_receipt(locale)
    return RefundSlip(
        store=receipt.store,
        terminal_code="T03",
        cashier_name=receipt.cashier_name,
        refund_number="R0012-250308-0003",
        original_sale_number=receipt.sale_number,
        refunded_at=SOLD_AT,
        locale=locale,
        reason="包装破损" if locale == "zh-CN" else "Damaged packaging",
        lines=(receipt.lines[1],),
        refund_total_minor=14_800,
        refunded_to=(
            Payment(kind="stored_value", amount_minor=5_000),
            Payment(kind="cash", amount_minor=9_800),
        ),
        member=receipt.member,
        points_reversed=148,
        points_returned=0,
    )


def sample_end_of_day(locale: Locale = "zh-CN") -> EndOfDaySummary:
    return EndOfDaySummary(
        store=sample_store(locale),
        business_date=date(2025, 3, 8),
        printed_at=SOLD_AT,
        locale=locale,
        sales_count=412,
        gross_minor=8_812_300,
        discount_minor=402_150,
        net_minor=8_410_150,
        by_payment_kind=(
            PaymentTotal(kind="cash", count=120, amount_minor=1_830_000),
            PaymentTotal(kind="bank_card", count=201, amount_minor=5_012_000),
            PaymentTotal(kind="stored_value", count=77, amount_minor=1_402_150),
            PaymentTotal(kind="points", count=14, amount_minor=66_000),
            PaymentTotal(kind="coupon", count=30, amount_minor=100_000),
        ),
        refunds_count=3,
        refunds_minor=45_600,
        top_ups_count=9,
        top_ups_minor=900_000,
        points_issued=84_101,
        points_redeemed=6_600,
    )


@pytest.fixture
def golden() -> Callable[[str, bytes], None]:
    """Compare bytes to ``golden/<name>``; with ``UPDATE_GOLDEN=1`` write them instead."""

    def compare(name: str, actual: bytes) -> None:
        path = GOLDEN_DIRECTORY / name
        if os.environ.get("UPDATE_GOLDEN") == "1":
            GOLDEN_DIRECTORY.mkdir(exist_ok=True)
            path.write_bytes(actual)
            return
        assert path.exists(), f"{path.name} missing: run with UPDATE_GOLDEN=1 to create it"
        expected = path.read_bytes()
        if actual != expected:
            first_difference = next(
                (
                    index
                    for index, (new, old) in enumerate(zip(actual, expected, strict=False))
                    if new != old
                ),
                min(len(actual), len(expected)),
            )
            pytest.fail(
                f"{path.name}: {len(actual)} bytes rendered, {len(expected)} stored, first "
                f"difference at byte {first_difference}; UPDATE_GOLDEN=1 accepts the new ones"
            )

    return compare


class FakeClock:
    """A clock the test moves by hand, so retry delays take no real time."""

    def __init__(self, start: datetime = SOLD_AT) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


StandInMode = Literal["work", "drop", "drop_first", "paper_out", "stall"]


class StandInPrinter:
    """A network printer on 127.0.0.1 that the test can make misbehave.

    ``work``: reads everything until the client closes, keeps it in ``jobs``.
    ``drop``: accepts, then resets the connection without reading a byte.
    ``drop_first``: drops the next connection, then works.
    ``paper_out``: answers the paper status query with "paper end", reads nothing else.
    ``stall``: accepts and never reads, as a jammed printer does.
    """

    def __init__(self, port: int = 0) -> None:
        self.mode: StandInMode = "work"
        self.jobs: list[bytes] = []
        self.connections = 0
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", port))
        self._server.listen(8)
        self._server.settimeout(0.05)
        self.port: int = self._server.getsockname()[1]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            with connection:
                self._handle(connection)

    def _handle(self, connection: socket.socket) -> None:
        connection.settimeout(5)
        if self.mode in ("drop", "drop_first"):
            if self.mode == "drop_first":
                self.mode = "work"
            # Linger 0: close sends a reset at once, whatever the client has sent.
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif self.mode == "work":
            received = bytearray()
            while chunk := connection.recv(65536):
                received.extend(chunk)
            self.jobs.append(bytes(received))
        elif self.mode == "paper_out":
            connection.recv(3)
            connection.sendall(bytes([0x12 | 0x60]))
            self._stopping.wait(1)
        elif self.mode == "stall":
            self._stopping.wait(5)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        self._server.close()


@pytest.fixture
def start_network_printer() -> Iterator[Callable[..., StandInPrinter]]:
    """Starts stand-in printers (on a given port, or any free one); all stop at the end."""
    started: list[StandInPrinter] = []

    def start(port: int = 0) -> StandInPrinter:
        printer = StandInPrinter(port)
        started.append(printer)
        return printer

    yield start
    for printer in started:
        printer.stop()


@pytest.fixture
def network_printer(start_network_printer: Callable[..., StandInPrinter]) -> StandInPrinter:
    return start_network_printer()


@pytest.fixture
def free_port() -> int:
    """A loopback port nobody listens on (bound, then released): a printer switched off."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Samples:
    """The sample documents, by locale."""

    receipt = staticmethod(sample_receipt)
    top_up = staticmethod(sample_top_up)
    card_issue = staticmethod(sample_card_issue)
    refund = staticmethod(sample_refund)
    end_of_day = staticmethod(sample_end_of_day)

    def all(self, locale: Locale) -> list[object]:
        return [
            builder(locale)
            for builder in (
                sample_receipt,
                sample_top_up,
                sample_card_issue,
                sample_refund,
                sample_end_of_day,
            )
        ]


@pytest.fixture
def samples() -> Samples:
    return Samples()
