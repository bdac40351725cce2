"""A day at one store, through the terminal client only: registrations, top-ups, sales paid
in every way, points redeemed, a partial and a full refund, a network hiccup. Then the
members' balances, the ledgers, the sales and refunds are checked against figures computed
here from the inputs and the loyalty rules (1 point per whole yuan paid other than with
points, per line, rounded down; tenders spread over lines by largest remainder), never from
the service's answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pos_gateway.client import PosClient, PosRefused
from pos_gateway.schemas import (
    LineIn,
    ManagerIn,
    MemberIn,
    PaymentIn,
    RefundIn,
    RefundLineIn,
    SaleIn,
    SaleOut,
    SalespersonIn,
    TopUpIn,
)
from tests.pos_gateway.test_client import LoseAnswers, at, open_store, pos, register

PRICE = {"SNACK-1": 12_800, "SNACK-2": 3_990}  # shelf prices; no promotions in this chain
PIN = "246810"  # the payment PIN register() gives every member


def largest_remainder(total: int, weights: list[int]) -> list[int]:
    """Independent of memberpos.money: floor shares, then the leftover units to the largest
    remainders (earlier line first on a tie)."""
    whole = sum(weights)
    shares = [total * w // whole for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def commission(net: int) -> int:
    return (net * COMMISSION_BP * 2 + 10_000) // 20_000  # half-up


def points_for(nets: list[int], paid_with_points: int = 0) -> int:
    excluded = largest_remainder(paid_with_points, nets) if paid_with_points else [0] * len(nets)
    return sum((net - cut) // 100 for net, cut in zip(nets, excluded, strict=True))


def sale(
    local: Any,
    lines: list[tuple[str, int]],
    payments: list[PaymentIn],
    member: MemberIn | None = None,
    **extra: Any,
) -> SaleIn:
    return SaleIn(
        client_txn_id="",
        local_time=local,
        # The salesperson sold every nut box; the cashier is credited with the rest.
        lines=[
            LineIn(
                sku=sku,
                quantity=qty,
                salespeople=[SalespersonIn(employee_no="E2002")] if sku == "SNACK-1" else [],
            )
            for sku, qty in lines
        ],
        payments=payments,
        member=member,
        cashier_employee_no="E2001",
        **extra,
    )


COMMISSION_BP = 300


@pytest.fixture
async def day(app: Any, db: None) -> Any:
    import datetime as dt

    from stores.commission_rules import create_rule

    store = await open_store(terminals=2)
    await create_rule(
        store.admin,
        code="SH001-3PCT",
        name="3% in SH001",
        valid_from=dt.date.today() - dt.timedelta(days=30),
        store_code="SH001",
        rate_bp=COMMISSION_BP,
    )
    return store


async def test_a_day_at_one_store_adds_up_exactly(app: Any, day: Any) -> None:
    from piccolo.query.functions.aggregate import Sum

    from loyalty.points import points_summary
    from loyalty.stored_value import stored_value_summary
    from loyalty.tables import PointsAccount, PointsEntry, StoredValueAccount, StoredValueEntry
    from memberpos.verify import run_checks
    from members.cards import find_member
    from pos_gateway.tables import Refund, Sale, SalePayment
    from stores.commission_tables import CommissionEntry

    till: PosClient = pos(app, day.keys["POS-01"])
    hiccup = LoseAnswers(httpx.ASGITransport(app=app), "/api/v1/pos/sales", times=1)
    till2: PosClient = pos(app, day.keys["POS-02"], transport=hiccup)

    # -- morning: three customers join, two top up
    card_a = await register(till, "13911110001", "张伟")
    card_b = await register(till, "13911110002", "王静")
    await register(till, "13911110003", "李磊")  # C, identified by phone later
    a, b = MemberIn(card_number=card_a), MemberIn(card_number=card_b)
    c = MemberIn(phone="13911110003")
    await till.top_up(TopUpIn(client_txn_id="", local_time=at(9), member=a, amount_minor=100_000))
    await till.top_up(TopUpIn(client_txn_id="", local_time=at(9, 5), member=b, amount_minor=50_000))
    expected_sales: list[int] = []
    paid_by: dict[str, int] = {"cash": 0, "bank_card": 0, "stored_value": 0, "points": 0}

    # 1. A: nuts + 2 jerky, 200.00 of stored value (PIN: at the threshold) + cash
    nets1 = [PRICE["SNACK-1"], 2 * PRICE["SNACK-2"]]
    total1 = sum(nets1)
    s1 = await till.sale(
        sale(
            at(10),
            [("SNACK-1", 1), ("SNACK-2", 2)],
            [
                PaymentIn(method="stored_value", amount_minor=20_000),
                PaymentIn(method="cash", amount_minor=1_000),
            ],
            a,
            payment_pin=PIN,
            expected_total_minor=total1,
        )
    )
    assert isinstance(s1, SaleOut)
    expected_sales.append(total1)
    paid_by["stored_value"] += 20_000
    paid_by["cash"] += total1 - 20_000
    points1 = points_for(nets1)  # stored value earns points in this program

    # 2. B: 3 jerky, cash with change
    total2 = 3 * PRICE["SNACK-2"]
    s2 = await till.sale(
        sale(at(10, 30), [("SNACK-2", 3)], [PaymentIn(method="cash", amount_minor=12_000)], b)
    )
    assert isinstance(s2, SaleOut) and s2.change_minor == 12_000 - total2
    expected_sales.append(total2)
    paid_by["cash"] += total2
    points2 = points_for([total2])

    # 3. no member: 2 nut boxes by card, on the other till, whose first answer is lost
    total3 = 2 * PRICE["SNACK-1"]
    s3 = await till2.sale(
        sale(at(11), [("SNACK-1", 2)], [PaymentIn(method="bank_card", amount_minor=total3)])
    )
    assert isinstance(s3, SaleOut) and till2.retries == 1
    expected_sales.append(total3)
    paid_by["bank_card"] += total3

    # 4. A returns the jerky of sale 1: that line's net and its share of the stored value
    sv_shares1 = largest_remainder(20_000, nets1)
    refund1 = await till.refund(
        RefundIn(
            client_txn_id="",
            local_time=at(12),
            sale_no=s1.sale_no,
            lines=[RefundLineIn(line_no=2, quantity=2)],
            reason="口味不合适",
        )
    )
    assert refund1.amount_minor == nets1[1]
    detail = await till.sale_detail(s1.sale_no)
    assert [line["refundable_quantity"] for line in detail["lines"]] == [1, 0]
    points1_line2 = nets1[1] // 100
    # Refunding more than is left is refused, typed.
    with pytest.raises(PosRefused) as too_much:
        await till.refund(
            RefundIn(
                client_txn_id="",
                local_time=at(12, 1),
                sale_no=s1.sale_no,
                lines=[RefundLineIn(line_no=2, quantity=1)],
            )
        )
    assert too_much.value.code in {"refund_exceeds_sale", "nothing_to_refund"}

    # 5. A pays 1.00 of a jerky with 100 points, the rest by card
    total5 = PRICE["SNACK-2"]
    s5 = await till.sale(
        sale(
            at(14),
            [("SNACK-2", 1)],
            [
                PaymentIn(method="points", amount_minor=100, points=100),
                PaymentIn(method="bank_card", amount_minor=total5 - 100),
            ],
            a,
        )
    )
    assert isinstance(s5, SaleOut)
    expected_sales.append(total5)
    paid_by["points"] += 100
    paid_by["bank_card"] += total5 - 100
    points5 = points_for([total5], paid_with_points=100)

    # 6. B buys a nut box with stored value below the PIN threshold; C (by phone) in cash
    total6 = PRICE["SNACK-1"]
    s6 = await till.sale(
        sale(at(15), [("SNACK-1", 1)], [PaymentIn(method="stored_value", amount_minor=total6)], b)
    )
    total7 = PRICE["SNACK-1"] + PRICE["SNACK-2"]
    s7 = await till2.sale(
        sale(
            at(16),
            [("SNACK-1", 1), ("SNACK-2", 1)],
            [PaymentIn(method="cash", amount_minor=20_000)],
            c,
        )
    )
    assert isinstance(s6, SaleOut) and isinstance(s7, SaleOut)
    expected_sales += [total6, total7]
    paid_by["stored_value"] += total6
    paid_by["cash"] += total7
    points6 = points_for([total6])
    points7 = points_for([PRICE["SNACK-1"], PRICE["SNACK-2"]])

    # 7. B brings all of sale 2 back (a manager authorises, though not required)
    refund2 = await till.refund(
        RefundIn(
            client_txn_id="",
            local_time=at(17),
            sale_no=s2.sale_no,
            manager=ManagerIn(employee_no="E2000", pin="2468"),
        )
    )
    assert refund2.amount_minor == total2 and refund2.fully_refunded

    # -------------------------------------------------------------- the end of the day
    async def balances(card: str) -> tuple[int, int]:
        member = await find_member(card_number=card)
        return (
            (await points_summary(member.member_id))["balance"],
            (await stored_value_summary(member.member_id))["balance"],
        )

    assert await balances(card_a) == (
        points1 - points1_line2 - 100 + points5,
        100_000 - 20_000 + sv_shares1[1],
    )
    assert await balances(card_b) == (points2 - points2 + points6, 50_000 - total6)
    member_c = await till.find_member(phone="13911110003")
    assert (member_c.points_balance, member_c.stored_value_minor) == (points7, 0)
    # The refund gave back exactly the line's stored-value share, the rest in cash.
    assert {r["method"]: r["amount_minor"] for r in refund1.refund_to} == {
        "stored_value": sv_shares1[1],
        "cash": nets1[1] - sv_shares1[1],
    }

    # Sales and refunds, as booked. Commission: 3% of each line's net, half-up to the fen
    # (to the line's salesperson, else the cashier), reversed with a refunded line.
    sales = await Sale.select(
        Sale.total_minor, Sale.refunded_minor, Sale.commission_minor
    ).order_by(Sale.id)
    assert [s["total_minor"] for s in sales] == expected_sales
    assert [s["commission_minor"] for s in sales] == [
        sum(commission(net) for net in nets)
        for nets in (
            nets1,
            [total2],
            [total3],
            [total5],
            [total6],
            [PRICE["SNACK-1"], PRICE["SNACK-2"]],
        )
    ]
    salesperson = await CommissionEntry.select(
        Sum(CommissionEntry.commission_minor).as_alias("s")
    ).where(CommissionEntry.staff.employee_no == "E2002")
    assert salesperson[0]["s"] == 5 * commission(PRICE["SNACK-1"])  # five nut boxes sold
    all_commission = await CommissionEntry.select(
        Sum(CommissionEntry.commission_minor).as_alias("s")
    )
    assert all_commission[0]["s"] == sum(s["commission_minor"] for s in sales) - commission(
        nets1[1]
    ) - commission(total2)
    reversed_commission = await Refund.select(Refund.commission_reversed_minor).order_by(Refund.id)
    assert [r["commission_reversed_minor"] for r in reversed_commission] == [
        commission(nets1[1]),
        commission(total2),
    ]
    assert sum(s["refunded_minor"] for s in sales) == nets1[1] + total2
    refunds = await Refund.select(Refund.amount_minor).order_by(Refund.id)
    assert [r["amount_minor"] for r in refunds] == [nets1[1], total2]
    by_method: dict[str, int] = {}
    for row in await SalePayment.select(SalePayment.method, SalePayment.amount_minor):
        by_method[row["method"]] = by_method.get(row["method"], 0) + row["amount_minor"]
    change = (1_000 - (total1 - 20_000)) + (12_000 - total2) + (20_000 - total7)
    assert by_method.get("cash", 0) - change == paid_by["cash"]
    for method in ("bank_card", "stored_value", "points"):
        assert by_method.get(method, 0) == paid_by[method], method

    # Ledgers: each balance is the sum of its entries; the chain's totals match.
    for account in await PointsAccount.select(PointsAccount.id, PointsAccount.balance):
        total = await PointsEntry.select(Sum(PointsEntry.delta).as_alias("s")).where(
            PointsEntry.account == account["id"]
        )
        assert (total[0]["s"] or 0) == account["balance"]
    for account in await StoredValueAccount.select(
        StoredValueAccount.id, StoredValueAccount.principal, StoredValueAccount.bonus
    ):
        total = await StoredValueEntry.select(
            Sum(StoredValueEntry.principal_delta).as_alias("p"),
            Sum(StoredValueEntry.bonus_delta).as_alias("b"),
        ).where(StoredValueEntry.account == account["id"])
        assert (total[0]["p"] or 0, total[0]["b"] or 0) == (account["principal"], account["bonus"])
    all_points = await PointsEntry.select(Sum(PointsEntry.delta).as_alias("s"))
    assert all_points[0]["s"] == (points1 - points1_line2 - 100 + points5 + points6 + points7)
    all_stored = await StoredValueEntry.select(Sum(StoredValueEntry.principal_delta).as_alias("p"))
    assert all_stored[0]["p"] == 150_000 - 20_000 + sv_shares1[1] - total6
    assert await run_checks() == []
    await till.aclose()
    await till2.aclose()
