"""Random sequences of ledger postings on a few accounts keep every invariant.

A hypothesis state machine sells (earning points, paying with points and stored value, all in
one transaction), refunds sales partly or fully, tops up, refunds top-ups, expires lots,
adjusts, and replays earlier postings. After every step: no stored value below zero,
balance = sum(entries) on every account, lots consistent with balance and debt, the balances
equal a simple model of what happened, and replays changed nothing.

The machine runs in a worker thread; each step hands its coroutine to the test's own event
loop (where the database pool lives) and waits for it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from loyalty import points, stored_value
from loyalty.adjustments import adjust
from loyalty.errors import InsufficientPoints, InsufficientStoredValue, TopUpNotRefundable
from loyalty.points import Source
from loyalty.tables import TopUpRule
from loyalty.verify import check_points, check_stored_value
from memberpos.db import is_sqlite, transaction
from tests.loyalty.conftest import another_member

START = dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)
ACCOUNTS = 3
_numbers = itertools.count(1)


@dataclass
class Sale:
    member: int
    source: Source
    earned: int
    spent_points: int
    spent_stored_value: int
    refunds: int = 0


class LedgerMachine(RuleBasedStateMachine):
    loop: asyncio.AbstractEventLoop
    chain: dict[str, Any]
    admin: Any

    def run(self, work: Awaitable[Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result()  # type: ignore[arg-type]

    @initialize()
    def open_accounts(self) -> None:
        self.now = START
        self.members = [
            self.run(another_member(self.chain, f"139{next(_numbers):08d}"))
            for _ in range(ACCOUNTS)
        ]
        self.points_model = {member: 0 for member in self.members}
        self.stored_model = {member: 0 for member in self.members}
        self.sales: list[Sale] = []
        self.top_ups: list[tuple[int, Source]] = []
        self.done: list[Callable[[], Awaitable[Any]]] = []
        self.expired_through = START.date()

    def tick(self) -> dt.datetime:
        self.now += dt.timedelta(hours=7)
        return self.now

    def source(self, kind: str) -> Source:
        return Source(kind, f"{kind[0].upper()}{next(_numbers)}")

    @rule(
        index=st.integers(0, ACCOUNTS - 1),
        earned=st.integers(0, 600),
        spend_points=st.sampled_from([0, 0, 100, 200, 500]),
        spend_stored=st.sampled_from([0, 0, 1, 999, 5_000, 30_000]),
        pending=st.booleans(),
        expiry_days=st.sampled_from([None, 3, 30, 400]),
        order=st.sampled_from(["principal_first", "bonus_first", "proportional"]),
    )
    def sale(self, index, earned, spend_points, spend_stored, pending, expiry_days, order):
        member, source, at = self.members[index], self.source("sale"), self.tick()
        expires_on = None if expiry_days is None else at.date() + dt.timedelta(days=expiry_days)
        available = at + dt.timedelta(days=7 if pending else 0)

        async def post() -> None:
            async with transaction():
                if spend_points:
                    await points.spend(member, spend_points, source, at=at)
                if spend_stored:
                    await stored_value.spend(
                        member, spend_stored, source, at=at, business_date=at.date(), order=order
                    )
                if earned:
                    await points.earn(
                        member,
                        earned,
                        source,
                        at=at,
                        available_from=available,
                        expires_on=expires_on,
                    )

        try:
            self.run(post())
        except (InsufficientPoints, InsufficientStoredValue):
            return  # the whole sale rolled back: nothing changed (the invariants check it)
        self.points_model[member] += earned - spend_points
        self.stored_model[member] -= spend_stored
        self.sales.append(Sale(member, source, earned, spend_points, spend_stored))
        self.done.append(post)

    @precondition(lambda self: bool(self.sales))
    @rule(pick=st.integers(0, 10_000), share=st.sampled_from([1, 2, 3]))
    def refund(self, pick: int, share: int) -> None:
        """Refund of (a part of) a sale: points earned taken back, points and stored value
        used given back, each proportionally (1/share of what the sale did, the rest later)."""
        sale = self.sales[pick % len(self.sales)]
        if sale.refunds >= 2:
            return
        sale.refunds += 1
        last = sale.refunds == 2 or share == 1
        take = (lambda amount: amount) if last else (lambda amount: amount // share)
        earned, spent, stored = (
            take(sale.earned),
            take(sale.spent_points),
            take(sale.spent_stored_value),
        )
        sale.earned -= earned
        sale.spent_points -= spent
        sale.spent_stored_value -= stored
        if last:
            sale.refunds = 2
        member, source, at = sale.member, self.source("refund"), self.tick()

        async def post() -> None:
            async with transaction():
                if earned:
                    await points.reverse_earn(member, earned, source, original=sale.source, at=at)
                if spent:
                    await points.return_spent(member, spent, source, original=sale.source, at=at)
                if stored:
                    await stored_value.return_spend(
                        member,
                        stored,
                        source,
                        original=sale.source,
                        at=at,
                        business_date=at.date(),
                    )

        self.run(post())
        self.points_model[member] += spent - earned
        self.stored_model[member] += stored
        self.done.append(post)

    @rule(index=st.integers(0, ACCOUNTS - 1), amount=st.sampled_from([1, 5_000, 50_000]))
    def top_up(self, index: int, amount: int) -> None:
        member, source, at = self.members[index], self.source("top_up"), self.tick()

        async def post() -> Any:
            return await stored_value.top_up(member, amount, source, at=at, business_date=at.date())

        posting = self.run(post())
        self.stored_model[member] += posting.amount
        self.top_ups.append((member, source))
        self.done.append(post)

    @precondition(lambda self: bool(self.top_ups))
    @rule(pick=st.integers(0, 10_000))
    def refund_top_up(self, pick: int) -> None:
        member, original = self.top_ups.pop(pick % len(self.top_ups))
        source, at = self.source("refund"), self.tick()

        async def post() -> Any:
            return await stored_value.refund_top_up(
                member, source, original=original, at=at, business_date=at.date()
            )

        try:
            posting = self.run(post())
        except TopUpNotRefundable:
            return
        assert posting.principal_delta <= 0 and posting.bonus_delta <= 0
        self.stored_model[member] += posting.amount
        self.done.append(post)

    @rule(days=st.integers(1, 60))
    def expire(self, days: int) -> None:
        self.expired_through += dt.timedelta(days=days)
        as_of, at = self.expired_through, self.tick()
        before = self.run(self.balances())
        expired_total = self.run(points.expire_lots(as_of, at=at))
        # The job run again at once finds nothing (replaying it later, after refunds gave
        # points back to expired lots, would rightly expire those: not a replay).
        assert self.run(points.expire_lots(as_of, at=at)) == 0
        after = self.run(self.balances())
        for member in self.members:
            expired = before[member][0] - after[member][0]
            assert expired >= 0
            self.points_model[member] -= expired
        # (the job is chain-wide: accounts of earlier examples may expire too)
        assert sum(before[m][0] - after[m][0] for m in self.members) <= expired_total

    @rule(
        index=st.integers(0, ACCOUNTS - 1),
        delta_points=st.sampled_from([0, 50, -50, -700]),
        delta_principal=st.sampled_from([0, 100, -100, -20_000]),
    )
    def adjustment(self, index: int, delta_points: int, delta_principal: int) -> None:
        if not delta_points and not delta_principal:
            return
        member, ref, at = self.members[index], f"ADJ{next(_numbers)}", self.tick()

        async def post() -> Any:
            return await adjust(
                self.admin,
                ref=ref,
                member_id=member,
                reason="state machine",
                points=delta_points,
                principal_minor=delta_principal,
                at=at,
            )

        try:
            self.run(post())
        except (InsufficientPoints, InsufficientStoredValue):
            return
        self.points_model[member] += delta_points
        self.stored_model[member] += delta_principal
        self.done.append(post)

    @precondition(lambda self: bool(self.done))
    @rule(pick=st.integers(0, 10_000))
    def replay(self, pick: int) -> None:
        before = self.run(self.balances())
        self.run(self.done[pick % len(self.done)]())
        assert self.run(self.balances()) == before

    async def balances(self) -> dict[int, tuple[int, int, int, int]]:
        async with transaction():
            return await self._balances()

    async def _balances(self) -> dict[int, tuple[int, int, int, int]]:
        result = {}
        for member in self.members:
            summary = await points.points_summary(member, at=self.now)
            stored = await stored_value.stored_value_summary(member)
            result[member] = (
                summary["balance"],
                summary["debt"],
                stored["principal"],
                stored["bonus"],
            )
        return result

    async def checks(self) -> tuple[list[str], list[str], dict[int, tuple[int, int, int, int]]]:
        # One transaction: one connection for all the reads (SQLite opens one per query).
        async with transaction():
            return await check_points(), await check_stored_value(), await self.balances()

    @invariant()
    def ledgers_hold(self) -> None:
        points_problems, stored_problems, balances = self.run(self.checks())
        assert points_problems == [] and stored_problems == []
        for member, (balance, debt, principal, bonus) in balances.items():
            assert principal >= 0 and bonus >= 0
            assert debt >= 0
            assert balance == self.points_model[member]
            assert principal + bonus == self.stored_model[member]


async def test_random_postings_keep_every_invariant(chain, admin):
    # Top-ups of ¥50 and more get a bonus, so spends and refunds split principal and bonus.
    await TopUpRule.insert(
        TopUpRule(code="P50", name="充50送5", pay_minor=5_000, bonus_minor=500, valid_from=START)
    ).run()
    LedgerMachine.loop = asyncio.get_running_loop()
    LedgerMachine.chain = chain
    LedgerMachine.admin = admin
    # Few examples, short runs: the suite's time budget (MEMBERPOS_STATEFUL_EXAMPLES raises it
    # for a longer hunt).
    examples = int(os.environ.get("MEMBERPOS_STATEFUL_EXAMPLES", 25 if is_sqlite() else 15))
    budget = settings(max_examples=examples, stateful_step_count=20)
    await asyncio.to_thread(
        run_state_machine_as_test,
        LedgerMachine,
        settings=settings(
            budget,
            deadline=None,
            derandomize=False,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )
