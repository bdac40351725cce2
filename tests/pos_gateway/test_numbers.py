"""Document numbers, and the rows a sale locks in its numbering statement."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from loyalty.accounts import POINTS_ACCOUNT_COLUMNS, STORED_VALUE_ACCOUNT_COLUMNS
from memberpos.db import transaction
from memberpos.settings import get_settings
from pos_gateway.numbers import RowLock, next_number, next_number_locking
from stores.tables import Terminal
from tests.pos_gateway.conftest import Shop

DAY = dt.date(2026, 11, 24)


def _accounts(member_id: int) -> list[RowLock]:
    return [
        RowLock("points_account", POINTS_ACCOUNT_COLUMNS, "member", member_id),
        RowLock("stored_value_account", STORED_VALUE_ACCOUNT_COLUMNS, "member", member_id),
    ]


async def _terminal_id() -> int:
    return (await Terminal.select(Terminal.id).first())["id"]


async def test_numbers_count_per_terminal_and_day(shop: Shop) -> None:
    terminal = await _terminal_id()
    first = await next_number(terminal, DAY)
    second, rows = await next_number_locking(
        terminal, DAY, lock_members=(shop.member_id,), rows=_accounts(shop.member_id)
    )
    assert first == f"261124{terminal:04d}000001" and second == f"261124{terminal:04d}000002"
    assert await next_number(terminal, DAY + dt.timedelta(days=1)) == f"261125{terminal:04d}000001"
    # PostgreSQL: a new member has neither account yet; SQLite: no row locks, the postings
    # read their accounts themselves.
    assert rows == [None, None]


@pytest.mark.postgres
async def test_the_numbering_statement_locks_the_members_and_their_accounts(shop: Shop) -> None:
    assert (await shop.top_up(5000)).status_code == 201  # opens the stored-value account
    terminal = await _terminal_id()
    other = await asyncpg.connect(get_settings().database_url)
    try:
        async with transaction():
            number, (points, stored) = await next_number_locking(
                terminal, DAY, lock_members=(shop.member_id,), rows=_accounts(shop.member_id)
            )
            assert number.startswith("261124")
            assert points is None  # no points account yet: the posting opens and locks it
            assert stored is not None and stored["principal"] + stored["bonus"] == 5000
            for table, key in (("member", "id"), ("stored_value_account", "member")):
                with pytest.raises(asyncpg.LockNotAvailableError):
                    await other.fetch(
                        f"SELECT 1 FROM {table} WHERE {key} = $1 FOR UPDATE NOWAIT", shop.member_id
                    )
        # The locks go with the transaction.
        assert await other.fetch(
            "SELECT 1 FROM stored_value_account WHERE member = $1 FOR UPDATE NOWAIT",
            shop.member_id,
        )
    finally:
        await other.close()
