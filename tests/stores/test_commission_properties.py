"""Property: whatever the rules, shares and levels, a sale followed by refunds of all of it
(in any number of parts) nets to zero for every salesperson and for the pool."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stores import commission_rules
from stores.commission import SoldLine, record_sale, reverse_refund
from stores.commission_tables import CommissionEntry, CommissionTally
from stores.commission_verify import check_commission
from tests import factories

ON = dt.date(2026, 9, 15)
AT = dt.datetime(2026, 9, 15, 3, 0, tzinfo=dt.UTC)
LEVELS = [
    {"above_minor": 0, "rate_bp": 150},
    {"above_minor": 100_000, "rate_bp": 275},
    {"above_minor": 400_000, "rate_bp": 333},
]
_refs = itertools.count()
_world: dict[str, Any] = {}


async def _ensure_world() -> dict[str, Any]:
    """One chain with one rule of every kind, made once per test database."""
    from stores.tables import Store

    if _world.get("store_id") and await Store.exists().where(Store.id == _world["store_id"]):
        return _world
    admin = await factories.hq_admin()
    chain = await factories.small_chain(admin)
    staff = [
        (await factories.employee(admin, f"P{n:03d}", ["salesperson"], "SH001"))["id"]
        for n in range(3)
    ]
    start = dt.date(2026, 1, 1)
    for code, terms in {
        "CHAIN": {"rate_bp": 120, "pool_share_bp": 3000},
        "SKU1": {"sku": "SNACK-1", "level_mode": "whole", "levels": LEVELS, "pool_share_bp": 1500},
        "FOOD": {
            "category_code": "FOOD",
            "level_mode": "marginal",
            "levels": LEVELS,
            "exclude_points_paid": True,
        },
        "UNIT": {
            "basis": "per_unit",
            "amount_per_unit_minor": 37,
            "brand_code": "HEFENG",
            "store_code": "SH002",
        },
    }.items():
        await commission_rules.create_rule(admin, code=code, name=code, valid_from=start, **terms)
    _world.update(store_id=chain["stores"]["SH001"]["id"], staff=staff)
    return _world


@st.composite
def sales(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 4))
    lines = []
    for line_no in range(1, count + 1):
        quantity = draw(st.integers(1, 5))
        net = draw(st.integers(0, 300_000))
        points = draw(st.integers(0, net))
        people = draw(st.lists(st.integers(0, 2), unique=True, max_size=3))
        shares: list[int] = []
        if people:
            cuts = sorted(
                draw(
                    st.lists(
                        st.integers(1, 9_999),
                        min_size=len(people) - 1,
                        max_size=len(people) - 1,
                        unique=True,
                    )
                )
            )
            bounds = [0, *cuts, 10_000]
            shares = [b - a for a, b in itertools.pairwise(bounds)]
        parts = draw(st.integers(1, quantity))
        lines.append(
            {
                "line_no": line_no,
                "sku": draw(st.sampled_from(["SNACK-1", "SNACK-2", "OTHER"])),
                "quantity": quantity,
                "net": net,
                "points": points,
                "people": people,
                "shares": shares,
                "refund_parts": parts,
            }
        )
    return lines


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines=sales())
async def test_a_sale_then_its_full_refund_nets_to_zero_per_salesperson(db, lines):
    world = await _ensure_world()
    ref = f"P-{next(_refs)}"
    sold = [
        SoldLine(
            line_no=line["line_no"],
            sku=line["sku"],
            quantity=line["quantity"],
            net_minor=line["net"],
            points_paid_minor=line["points"],
            salespeople=tuple(
                (world["staff"][person], share)
                for person, share in zip(line["people"], line["shares"], strict=True)
            ),
        )
        for line in lines
    ]
    tallies_before = {
        row["staff_key"]: row["sales_minor"] for row in await CommissionTally.select()
    }
    total = await record_sale(
        sale_ref=ref, store_id=world["store_id"], business_date=ON, at=AT, lines=sold
    )
    taken = 0
    for part in range(max(line["refund_parts"] for line in lines)):
        refund_lines = []
        for line in lines:
            parts = line["refund_parts"]
            if part < parts:
                size = line["quantity"] // parts + (1 if part < line["quantity"] % parts else 0)
                refund_lines.append((line["line_no"], size))
        taken += await reverse_refund(
            refund_ref=f"{ref}-R{part}",
            sale_ref=ref,
            store_id=world["store_id"],
            business_date=ON,
            at=AT,
            lines=refund_lines,
        )
    assert taken == total
    net: dict[Any, list[int]] = {}
    for entry in await CommissionEntry.select().where(CommissionEntry.sale_ref == ref):
        figures = net.setdefault(entry["staff"], [0, 0, 0, 0])
        figures[0] += entry["commission_minor"]
        figures[1] += entry["personal_minor"]
        figures[2] += entry["pool_minor"]
        figures[3] += entry["sales_minor"]
    assert all(figures == [0, 0, 0, 0] for figures in net.values()), net
    tallies_after = {row["staff_key"]: row["sales_minor"] for row in await CommissionTally.select()}
    for key in set(tallies_before) | set(tallies_after):
        assert tallies_after.get(key, 0) == tallies_before.get(key, 0)
    assert await check_commission() == []
