"""The demo chain is believable and idempotent, and passes ``memberpos verify``."""

from __future__ import annotations

import pytest

from memberpos.verify import run_checks
from stores.demo import create_demo_chain
from stores.tables import Product, Store, Terminal


@pytest.mark.slow
async def test_demo_chain_is_created_once_and_verifies(db):
    first = await create_demo_chain()
    assert (first.regions, first.stores) == (2, 6)
    assert 2 * 6 <= first.terminals <= 3 * 6
    assert 25 <= first.staff <= 40
    assert 250 <= first.products <= 400
    assert len(first.new_terminal_keys) == first.terminals
    zones = {row["time_zone"] for row in await Store.select(Store.time_zone)}
    assert zones == {"Asia/Shanghai", "Asia/Urumqi"}
    tree_depths = {
        row["category.path"].count("/") for row in await Product.select(Product.category.path)
    }
    assert tree_depths == {1}

    second = await create_demo_chain()
    assert second.new_terminal_keys == {}
    assert (second.stores, second.terminals, second.staff, second.products) == (
        first.stores,
        first.terminals,
        first.staff,
        first.products,
    )
    assert await Terminal.count() == first.terminals
    assert await run_checks() == []
