"""Prepaid service packages: sell (idempotent), use at the counter, refund pro rata to the cent,
expiry by the store's business date, store-only packages."""

from __future__ import annotations

import datetime as dt

import pytest

from loyalty import packages
from loyalty.errors import (
    PackageExpired,
    PackageNotActive,
    PackageUsedUp,
    PackageWrongStore,
    SourceConflict,
)
from loyalty.points import Source
from loyalty.tables import ServicePackage, ServicePackageEntry
from loyalty.verify import check_packages
from memberpos.errors import Conflict
from stores.audit import SystemActor
from tests.loyalty.conftest import another_member

T0 = dt.datetime(2026, 3, 1, 4, 0, tzinfo=dt.UTC)


async def test_package_life_cycle_uses_then_pro_rata_refund_to_the_cent(chain, member_id):
    sh001 = chain["stores"]["SH001"]["id"]
    await packages.define_product(
        SystemActor(),
        code="WASH10",
        name="洗车十次卡",
        uses=3,
        price_minor=10_000,
        validity_days=90,
    )
    sold = await packages.sell_package(member_id, "WASH10", Source("sale", "S1", sh001), at=T0)
    assert (sold.uses_left, sold.value_left_minor) == (3, 10_000)
    again = await packages.sell_package(member_id, "WASH10", Source("sale", "S1", sh001), at=T0)
    assert again.replayed and again.package_id == sold.package_id
    assert await ServicePackage.count() == 1
    other = await another_member(chain, "13812349999")
    with pytest.raises(SourceConflict):
        await packages.sell_package(other, "WASH10", Source("sale", "S1", sh001), at=T0)

    used = await packages.use_package(
        member_id, sold.package_id, Source("sale", "S2", sh001), at=T0
    )
    # 10,000 / 3 = 3,333.33 → 3,333 recognised, 6,667 left for two uses
    assert (used.uses_delta, used.amount_minor, used.uses_left) == (-1, -3_333, 2)
    replay = await packages.use_package(
        member_id, sold.package_id, Source("sale", "S2", sh001), at=T0
    )
    assert replay.replayed and replay.uses_left == 2
    refund = await packages.refund_package(
        member_id, sold.package_id, Source("refund", "R1", sh001), at=T0, uses=1
    )
    assert refund.amount_minor == -3_334  # 6,667 / 2 half-up
    last = await packages.refund_package(
        member_id, sold.package_id, Source("refund", "R2", sh001), at=T0
    )
    assert last.amount_minor == -3_333 and last.uses_left == 0 and last.value_left_minor == 0
    assert 3_333 + 3_334 + 3_333 == 10_000
    with pytest.raises(PackageNotActive):
        await packages.use_package(member_id, sold.package_id, Source("sale", "S3", sh001), at=T0)
    kinds = [row["kind"] for row in await packages.package_entries(sold.package_id)]
    assert kinds == ["purchase", "use", "refund", "refund"]
    assert await check_packages() == []


async def test_a_member_with_several_packages_sees_each_with_its_own_value_left(chain, member_id):
    sh001 = chain["stores"]["SH001"]["id"]
    await packages.define_product(
        SystemActor(), code="WASH10", name="洗车", uses=3, price_minor=10_000, validity_days=90
    )
    await packages.define_product(
        SystemActor(),
        code="TEA",
        name="茶饮",
        uses=2,
        price_minor=5_000,
        validity_days=30,
        store_code="SH001",
    )
    wash = await packages.sell_package(member_id, "WASH10", Source("sale", "S1", sh001), at=T0)
    await packages.use_package(member_id, wash.package_id, Source("sale", "S2", sh001), at=T0)
    tea = await packages.sell_package(
        member_id, "TEA", Source("sale", "S3", sh001), at=T0, price_minor=1_235
    )
    await packages.use_package(member_id, tea.package_id, Source("sale", "S4", sh001), at=T0)
    closed = await packages.sell_package(member_id, "WASH10", Source("sale", "S5", sh001), at=T0)
    await packages.refund_package(member_id, closed.package_id, Source("refund", "R1"), at=T0)
    other = await another_member(chain, "13812349999")
    await packages.sell_package(other, "WASH10", Source("sale", "S6", sh001), at=T0)

    held = await packages.member_packages(member_id)
    assert [
        (
            p["id"],
            p["product_code"],
            p["store_code"],
            p["uses_bought"],
            p["uses_left"],
            p["price_minor"],
            p["value_left_minor"],
            p["status"],
        )
        for p in held
    ] == [
        (wash.package_id, "WASH10", None, 3, 2, 10_000, 6_667, "active"),
        (tea.package_id, "TEA", "SH001", 2, 1, 1_235, 617, "active"),  # 1,235 / 2 = 618 used
        (closed.package_id, "WASH10", None, 3, 0, 10_000, 0, "refunded"),
    ]
    assert all(type(p["value_left_minor"]) is int for p in held)
    active = await packages.member_packages(member_id, include_closed=False)
    assert [p["id"] for p in active] == [wash.package_id, tea.package_id]
    assert active == held[:2]
    assert await packages.member_packages(await another_member(chain, "13812348888")) == []


async def test_used_up_wrong_store_and_expired_packages_are_refused(chain, member_id):
    sh001, sh002 = chain["stores"]["SH001"]["id"], chain["stores"]["SH002"]["id"]
    await packages.define_product(
        SystemActor(),
        code="COFFEE2",
        name="咖啡两杯",
        uses=2,
        price_minor=3_000,
        validity_days=30,
        store_code="SH001",
    )
    # sold 2026-03-01 (Shanghai) → valid through 2026-03-31
    sold = await packages.sell_package(member_id, "COFFEE2", Source("sale", "S1", sh001), at=T0)
    package = await ServicePackage.select().where(ServicePackage.id == sold.package_id).first()
    assert package["valid_until"] == dt.date(2026, 3, 31)
    with pytest.raises(PackageWrongStore):
        await packages.use_package(member_id, sold.package_id, Source("sale", "S2", sh002), at=T0)
    with pytest.raises(PackageUsedUp):
        await packages.use_package(
            member_id, sold.package_id, Source("sale", "S2", sh001), at=T0, uses=3
        )
    # 2026-04-01 00:30 in Shanghai is still 31 March in UTC: expired by the store's date
    late = dt.datetime(2026, 3, 31, 16, 30, tzinfo=dt.UTC)
    with pytest.raises(PackageExpired):
        await packages.use_package(member_id, sold.package_id, Source("sale", "S3", sh001), at=late)
    ok = await packages.use_package(
        member_id, sold.package_id, Source("sale", "S4", sh001), at=late - dt.timedelta(hours=1)
    )
    assert ok.uses_left == 1 and ok.amount_minor == -1_500
    assert await packages.expire_packages(at=late - dt.timedelta(hours=1)) == 0
    assert await packages.expire_packages(at=late) == 1
    assert await packages.expire_packages(at=late) == 0  # idempotent
    with pytest.raises(PackageNotActive):
        await packages.refund_package(member_id, sold.package_id, Source("refund", "R1"), at=late)
    expiry = await ServicePackageEntry.select().where(ServicePackageEntry.kind == "expire").first()
    assert (expiry["uses_delta"], expiry["amount_minor"]) == (-1, -1_500)
    assert await check_packages() == []


async def test_a_returned_use_reopens_a_used_up_package(chain, member_id):
    sh001 = chain["stores"]["SH001"]["id"]
    await packages.define_product(
        SystemActor(), code="ONE", name="单次", uses=1, price_minor=999, validity_days=10
    )
    sold = await packages.sell_package(member_id, "ONE", Source("sale", "S1", sh001), at=T0)
    await packages.use_package(member_id, sold.package_id, Source("sale", "S2", sh001), at=T0)
    back = await packages.return_use(
        member_id,
        sold.package_id,
        Source("refund", "R2", sh001),
        original=Source("sale", "S2"),
        at=T0,
    )
    assert (back.uses_left, back.value_left_minor) == (1, 999)
    with pytest.raises(Conflict):
        await packages.return_use(
            member_id,
            sold.package_id,
            Source("refund", "R3", sh001),
            original=Source("sale", "S2"),
            at=T0,
        )
    assert await check_packages() == []


@pytest.mark.postgres
async def test_the_same_sale_posted_at_once_from_many_connections_sells_one_package(
    chain, member_id
):
    import asyncio

    sh001 = chain["stores"]["SH001"]["id"]
    await packages.define_product(
        SystemActor(), code="TEA", name="茶饮卡", uses=5, price_minor=5_000, validity_days=30
    )
    postings = await asyncio.gather(
        *(
            packages.sell_package(member_id, "TEA", Source("sale", "S9", sh001), at=T0)
            for _ in range(20)
        )
    )
    assert len({posting.package_id for posting in postings}) == 1
    assert sum(not posting.replayed for posting in postings) == 1
    assert await ServicePackage.count() == 1 and await ServicePackageEntry.count() == 1
    assert await check_packages() == []


@pytest.mark.postgres
async def test_twenty_uses_at_once_of_a_ten_use_package_use_exactly_ten(chain, member_id):
    import asyncio

    sh001 = chain["stores"]["SH001"]["id"]
    await packages.define_product(
        SystemActor(), code="WASH", name="洗车", uses=10, price_minor=10_001, validity_days=30
    )
    sold = await packages.sell_package(member_id, "WASH", Source("sale", "S1", sh001), at=T0)

    async def one(number: int) -> bool:
        try:
            await packages.use_package(
                member_id, sold.package_id, Source("sale", f"U{number}", sh001), at=T0
            )
            return True
        except (PackageUsedUp, PackageNotActive):
            return False

    results = await asyncio.gather(*(one(n) for n in range(20)))
    assert sum(results) == 10
    uses = await ServicePackageEntry.select().where(ServicePackageEntry.kind == "use")
    assert len(uses) == 10 and -sum(row["amount_minor"] for row in uses) == 10_001
    assert await check_packages() == []
