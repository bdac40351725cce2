"""Simulated tills against the in-process app: online traffic of every kind books what the
tills counted; an offline run uploaded later books every queued sale; the simulator's idea
of the demo catalogue is the demo chain's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from pos_gateway.simulator import (
    Mix,
    Product,
    RunConfig,
    StoreStaff,
    TerminalSpec,
    demo_products,
    demo_staff,
    run_terminals,
)
from tests.pos_gateway.test_client import BASE_URL, open_store

PRODUCTS = [Product("SNACK-1", 12_800, None, 1.0), Product("SNACK-2", 3_990, None, 3.0)]
STAFF = StoreStaff(cashiers=("E2000", "E2001"), salespeople=("E2002",), manager=("E2000", "2468"))


def config(app: Any, keys: dict[str, str], tmp_path: Path, **kw: Any) -> RunConfig:
    return RunConfig(
        base_url=BASE_URL,
        terminals=[TerminalSpec(key, f"SH001/{name}", STAFF) for name, key in keys.items()],
        products=PRODUCTS,
        transport=httpx.ASGITransport(app=app),
        queue_dir=str(tmp_path),
        **kw,
    )


async def test_online_tills_book_what_they_counted(app: Any, db: None, tmp_path: Path) -> None:
    from loyalty.tables import StoredValueEntry
    from memberpos.verify import run_checks
    from pos_gateway.tables import Refund, Sale, TopUp

    store = await open_store(terminals=2)
    mix = Mix(refund_rate=0.1, top_up_rate=0.15, registration_rate=0.15, stored_value_share=0.5)
    # Taking turns keeps a quote and its sale together: two tills serving one member at the
    # same instant could otherwise be refused (rightly) for points the other just spent.
    stats = await run_terminals(
        config(app, store.keys, tmp_path, sales=30, seed=3, mix=mix, take_turns=True)
    )
    assert stats.sales == 30 and stats.provisional_sales == 0
    assert stats.registrations > 0 and stats.top_ups > 0 and stats.refunds > 0
    assert not stats.errors, stats.errors
    assert await Sale.count() == 30
    assert await Refund.count() == stats.refunds
    assert await TopUp.count() == stats.top_ups
    totals = await Sale.select(Sale.total_minor)
    assert sum(r["total_minor"] for r in totals) == stats.sales_total_minor
    assert await StoredValueEntry.count().where(StoredValueEntry.kind == "spend") > 0
    assert await run_checks() == []
    assert "30 sales" not in stats.summary() and "sales 30" in stats.summary()


async def test_tills_in_the_demos_bulk_load_book_what_they_counted(
    app: Any, db: None, tmp_path: Path
) -> None:
    """``memberpos demo`` books its history inside ``demo_bulk_load`` (reused connections,
    synchronous=NORMAL on SQLite): every sale, refund and top-up is booked, the books balance,
    and what the run wrote is there after it."""
    from memberpos.cli import demo_bulk_load
    from memberpos.verify import run_checks
    from pos_gateway.tables import Refund, Sale, TopUp

    store = await open_store(terminals=2)
    mix = Mix(refund_rate=0.1, top_up_rate=0.15, registration_rate=0.1, stored_value_share=0.5)
    async with demo_bulk_load():
        stats = await run_terminals(
            config(
                app,
                store.keys,
                tmp_path,
                sales=20,
                seed=5,
                mix=mix,
                take_turns=True,
                deterministic_ids=True,
            )
        )
    # read after the bulk load, through the service's own connections
    assert stats.sales == 20 and not stats.errors, stats.errors
    assert await Sale.count() == 20
    assert await Refund.count() == stats.refunds > 0
    assert await TopUp.count() == stats.top_ups > 0
    totals = await Sale.select(Sale.total_minor)
    assert sum(r["total_minor"] for r in totals) == stats.sales_total_minor
    assert await run_checks() == []


async def test_offline_tills_upload_every_queued_sale(app: Any, db: None, tmp_path: Path) -> None:
    from pos_gateway.tables import Sale

    store = await open_store(terminals=2)
    stats = await run_terminals(
        config(app, store.keys, tmp_path, sales=20, seed=4, offline=True, upload=True)
    )
    assert stats.sales == 20 and stats.provisional_sales == 20
    assert stats.upload is not None
    assert (stats.upload.applied, stats.upload.rejected, stats.upload.pending) == (20, 0, 0)
    assert await Sale.count().where(Sale.offline == True) == 20  # noqa: E712
    totals = await Sale.select(Sale.total_minor, Sale.change_minor)
    # Offline tills took cash rounded up to 10 yuan (or part by card): the change is the rest.
    assert sum(r["total_minor"] + r["change_minor"] for r in totals) == stats.sales_total_minor


async def test_the_simulators_demo_catalogue_and_staff_are_the_demo_chains(db: None) -> None:
    from stores.demo import create_demo_chain
    from stores.tables import Product as ProductTable
    from stores.tables import Staff

    await create_demo_chain()
    rows = await ProductTable.select(
        ProductTable.sku, ProductTable.retail_price_minor, ProductTable.member_price_minor
    )
    actual = {r["sku"]: (r["retail_price_minor"], r["member_price_minor"]) for r in rows}
    expected = {p.sku: (p.retail_price_minor, p.member_price_minor) for p in demo_products()}
    assert expected == actual
    staff = demo_staff("UR001")
    rows = await Staff.select(Staff.employee_no, Staff.roles).where(
        Staff.home_store.code == "UR001"
    )
    roles = {r["employee_no"]: r["roles"] for r in rows}
    assert all("cashier" in roles[e] for e in staff.cashiers)
    assert all("salesperson" in roles[e] for e in staff.salespeople)


def test_terminal_command_spreads_tills_over_the_keys_and_knows_the_demo_staff(
    tmp_path: Path,
) -> None:
    import json

    from pos_gateway.cli import load_terminal_keys

    keys = tmp_path / "keys.json"
    keys.write_text(
        json.dumps({"SH001/POS-01": "mpt_a", "SH001/POS-02": "mpt_b", "UR001/POS-01": "mpt_c"})
    )
    specs = load_terminal_keys(keys, 5)
    assert [s.label for s in specs] == [
        "SH001/POS-01",
        "SH001/POS-02",
        "UR001/POS-01",
        "SH001/POS-01#1",
        "SH001/POS-02#1",
    ]
    assert [s.key for s in specs] == ["mpt_a", "mpt_b", "mpt_c", "mpt_a", "mpt_b"]
    assert specs[2].staff.cashiers == ("E1021", "E1022", "E1023")  # UR001 is the fifth store
    assert specs[2].staff.manager == ("E1021", "2468")
    only = load_terminal_keys(keys, 2, ["UR001"])
    assert [s.label for s in only] == ["UR001/POS-01", "UR001/POS-01#1"]
