"""Prepaid service packages: sell (idempotent), use at the counter, refund pro rata to the cent,
expiry by the store's business date, store-only packages."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from loyalty import packages
from loyalty.errors import (
    PackageExpired,
    PackageNotActive,
    PackageProductNotFound,
    PackageUsedUp,
    PackageWrongStore,
    SourceConflict,
)
from loyalty.points import Source
from loyalty.tables import ServicePackage, ServicePackageEntry, ServicePackageProduct
from loyalty.verify import check_packages
from memberpos.errors import Conflict, Forbidden, InvalidInput
from stores.audit import SystemActor
from stores.tables import AuditEntry, Store
from tests.loyalty.conftest import another_member, staff_actor

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


# ----------------------------------------------------------------------------- products


async def test_products_are_listed_by_code_each_with_its_own_data(chain):
    await packages.define_product(
        SystemActor(), code="WASH10", name="洗车", uses=10, price_minor=30_000, validity_days=365
    )
    await packages.define_product(
        SystemActor(),
        code="COFFEE2",
        name="咖啡两杯",
        sku="C-2",
        uses=2,
        price_minor=3_000,
        validity_days=30,
        store_code="SH001",
    )
    await packages.define_product(
        SystemActor(),
        code="TEA",
        name="茶饮",
        uses=5,
        price_minor=5_000,
        validity_days=60,
        store_code="UR001",
    )
    await packages.update_product(SystemActor(), "TEA", {"active": False})
    listed = await packages.list_products()
    assert listed == [
        {
            "code": "COFFEE2",
            "name": "咖啡两杯",
            "sku": "C-2",
            "uses": 2,
            "price_minor": 3_000,
            "validity_days": 30,
            "store_code": "SH001",
            "active": True,
        },
        {
            "code": "TEA",
            "name": "茶饮",
            "sku": None,
            "uses": 5,
            "price_minor": 5_000,
            "validity_days": 60,
            "store_code": "UR001",
            "active": False,
        },
        {
            "code": "WASH10",
            "name": "洗车",
            "sku": None,
            "uses": 10,
            "price_minor": 30_000,
            "validity_days": 365,
            "store_code": None,
            "active": True,
        },
    ]
    assert listed == [await packages.product_out(p["code"]) for p in listed]
    assert await packages.list_products(active_only=True) == [listed[0], listed[2]]


async def test_no_products_list_empty(chain):
    assert await packages.list_products() == []
    assert await packages.list_products(active_only=True) == []


def _json(value):
    """An audit column as stored (JSON text) read back as data."""
    return json.loads(value) if isinstance(value, str) else value


DEFINE = {"code": "P1", "name": "卡", "uses": 1, "price_minor": 0, "validity_days": 1}


@pytest.mark.parametrize(
    ("changes", "field", "detail"),
    [
        ({"name": "  "}, "name", "A package needs a name"),
        ({"uses": 0}, "uses", "uses must be between 1 and 10,000"),
        ({"uses": 10_001}, "uses", "uses must be between 1 and 10,000"),
        ({"price_minor": -1}, "price_minor", "price_minor must not be negative"),
        ({"validity_days": 0}, "validity_days", "validity_days must be between 1 and 3,660"),
        ({"validity_days": 3_661}, "validity_days", "validity_days must be between 1 and 3,660"),
        ({"code": ""}, "code", "code must be 1 to 32 characters"),
        ({"code": "  "}, "code", "code must be 1 to 32 characters"),
        ({"code": "X" * 33}, "code", "code must be 1 to 32 characters"),
        ({"store_code": "NOPE"}, "store_code", "No store 'NOPE'"),
        # the order of the checks: name, uses, price, validity, code, store
        ({"name": "", "uses": 0, "code": ""}, "name", "A package needs a name"),
        ({"uses": 0, "price_minor": -1}, "uses", "uses must be between 1 and 10,000"),
        (
            {"price_minor": -1, "validity_days": 0},
            "price_minor",
            "price_minor must not be negative",
        ),
        (
            {"validity_days": 0, "code": ""},
            "validity_days",
            "validity_days must be between 1 and 3,660",
        ),
        ({"code": "", "store_code": "NOPE"}, "code", "code must be 1 to 32 characters"),
    ],
)
async def test_define_product_refuses_bad_fields_naming_the_field(chain, changes, field, detail):
    with pytest.raises(InvalidInput) as refused:
        await packages.define_product(SystemActor(), **{**DEFINE, **changes})
    assert (refused.value.code, refused.value.field, refused.value.detail) == (
        "validation_error",
        field,
        detail,
    )
    assert await ServicePackageProduct.count() == 0
    assert await AuditEntry.count().where(AuditEntry.entity == "package_product") == 0


async def test_define_product_accepts_the_limits_audits_and_refuses_a_second_code(chain, admin):
    cashier = await staff_actor(admin, "C0101", ["cashier"], "SH001")
    with pytest.raises(Forbidden):  # the role is checked before any field
        await packages.define_product(cashier, **{**DEFINE, "name": ""})
    code = "X" * 32
    made = await packages.define_product(
        SystemActor(),
        code=code,
        name="  卡  ",
        uses=10_000,
        price_minor=0,
        validity_days=3_660,
        sku="S",
        store_code="SH002",
    )
    assert made == {
        "code": code,
        "name": "卡",
        "sku": "S",
        "uses": 10_000,
        "price_minor": 0,
        "validity_days": 3_660,
        "store_code": "SH002",
        "active": True,
    }
    with pytest.raises(Conflict) as duplicate:
        await packages.define_product(SystemActor(), **{**DEFINE, "code": code})
    assert duplicate.value.field == "code"
    assert duplicate.value.detail == f"A package product {code!r} exists already"
    entries = await AuditEntry.select().where(AuditEntry.entity == "package_product")
    assert [
        (e["action"], e["entity_key"], _json(e["before"]), _json(e["after"])) for e in entries
    ] == [("create", code, None, made)]


@pytest.mark.parametrize(
    ("changes", "error", "field", "detail"),
    [
        ({"bogus": 1}, InvalidInput, "bogus", "Unknown field 'bogus'"),
        ({"zeta": 1, "alpha": 2, "name": ""}, InvalidInput, "alpha", "Unknown field 'alpha'"),
        ({"code": "P2"}, InvalidInput, "code", "Unknown field 'code'"),
        ({"name": " "}, InvalidInput, "name", "A package needs a name"),
        ({"uses": 0}, InvalidInput, "uses", "uses must be between 1 and 10,000"),
        ({"uses": 10_001}, InvalidInput, "uses", "uses must be between 1 and 10,000"),
        ({"price_minor": -1}, InvalidInput, "price_minor", "price_minor must not be negative"),
        (
            {"validity_days": 0},
            InvalidInput,
            "validity_days",
            "validity_days must be between 1 and 3,660",
        ),
        (
            {"validity_days": 3_661},
            InvalidInput,
            "validity_days",
            "validity_days must be between 1 and 3,660",
        ),
        ({"store_code": "NOPE"}, InvalidInput, "store_code", "No store 'NOPE'"),
        # the order of the checks: name, uses, price, validity, store
        ({"store_code": "NOPE", "uses": 0, "name": ""}, InvalidInput, "name", None),
        ({"validity_days": 0, "price_minor": -1, "uses": 0}, InvalidInput, "uses", None),
        ({"validity_days": 0, "price_minor": -1}, InvalidInput, "price_minor", None),
        ({"store_code": "NOPE", "validity_days": 0}, InvalidInput, "validity_days", None),
    ],
)
async def test_update_product_refuses_bad_fields_naming_the_field(
    chain, changes, error, field, detail
):
    before = await packages.define_product(SystemActor(), **{**DEFINE, "store_code": "SH001"})
    with pytest.raises(error) as refused:
        await packages.update_product(SystemActor(), "P1", changes)
    assert (refused.value.code, refused.value.field) == ("validation_error", field)
    if detail is not None:
        assert refused.value.detail == detail
    assert await packages.product_out("P1") == before
    assert [
        row["action"]
        for row in await AuditEntry.select().where(AuditEntry.entity == "package_product")
    ] == ["create"]


async def test_update_product_checks_the_product_then_changes_and_audits(chain, admin):
    with pytest.raises(PackageProductNotFound) as missing:
        await packages.update_product(SystemActor(), "NOPE", {"bogus": 1})
    assert (missing.value.code, missing.value.field) == ("package_product_not_found", "code")
    before = await packages.define_product(SystemActor(), **{**DEFINE, "store_code": "SH001"})
    cashier = await staff_actor(admin, "C0101", ["cashier"], "SH001")
    with pytest.raises(Forbidden):
        await packages.update_product(cashier, "P1", {"uses": 0})
    # a name that is only valid merged with the stored one: the check runs on the result
    after = await packages.update_product(
        SystemActor(),
        "P1",
        {"uses": 10_000, "validity_days": 3_660, "store_code": None, "sku": "K", "active": False},
    )
    assert after == {
        **before,
        "uses": 10_000,
        "validity_days": 3_660,
        "store_code": None,
        "sku": "K",
        "active": False,
    }
    assert await packages.update_product(SystemActor(), "P1", {"store_code": "UR001"}) == {
        **after,
        "store_code": "UR001",
    }
    unchanged = await packages.update_product(SystemActor(), "P1", {})
    assert unchanged["store_code"] == "UR001"
    entries = await AuditEntry.select().where(AuditEntry.entity == "package_product")
    assert [(e["action"], e["entity_key"]) for e in entries] == [
        ("create", "P1"),
        ("update", "P1"),
        ("update", "P1"),
        ("update", "P1"),
    ]
    assert (_json(entries[1]["before"]), _json(entries[1]["after"])) == (before, after)
    assert _json(entries[3]["before"]) == _json(entries[3]["after"]) == unchanged


# ----------------------------------------------------------------------------- expiry


async def test_expiry_uses_each_packages_store_zone_and_the_chain_zone_without_store(
    chain, member_id
):
    """SH001 (UTC+8), UR001 (UTC+6), and no store (the chain's zone, Asia/Shanghai): all sold
    valid through 2026-03-31; each expires when 1 April begins in its own zone."""
    stores = {code: chain["stores"][code]["id"] for code in ("SH001", "SH002", "UR001")}
    for code, store_code in (("SHP", "SH001"), ("SH2", "SH002"), ("URP", "UR001"), ("ANY", None)):
        await packages.define_product(
            SystemActor(),
            code=code,
            name=code,
            uses=2,
            price_minor=1_001,
            validity_days=30,
            store_code=store_code,
        )
    sold: dict[str, int] = {}
    for key, product, store in (
        ("sh_a", "SHP", "SH001"),
        ("sh_b", "SHP", "SH001"),
        ("sh2", "SH2", "SH002"),
        ("ur", "URP", "UR001"),
        ("any_sold_in_urumqi", "ANY", "UR001"),
    ):
        posting = await packages.sell_package(
            member_id, product, Source("sale", key, stores[store]), at=T0
        )
        sold[key] = posting.package_id
    other = await another_member(chain, "13812349999", "UR001")
    other_any = await packages.sell_package(
        other, "ANY", Source("sale", "other_any", stores["SH001"]), at=T0
    )
    sold["other_any"] = other_any.package_id
    # a package already used up is not active: never expired
    await packages.use_package(
        member_id, sold["sh_b"], Source("sale", "use_b", stores["SH001"]), at=T0, uses=2
    )
    rows = await ServicePackage.select(ServicePackage.valid_until)
    assert {row["valid_until"] for row in rows} == {dt.date(2026, 3, 31)}

    async def statuses() -> dict[str, str]:
        by_id = {
            row["id"]: row["status"]
            for row in await ServicePackage.select(ServicePackage.id, ServicePackage.status)
        }
        return {key: by_id[package_id] for key, package_id in sold.items()}

    shanghai_midnight = dt.datetime(2026, 3, 31, 16, 0, tzinfo=dt.UTC)
    urumqi_midnight = dt.datetime(2026, 3, 31, 18, 0, tzinfo=dt.UTC)
    second = dt.timedelta(seconds=1)
    assert await packages.expire_packages(at=shanghai_midnight - second) == 0
    assert set((await statuses()).values()) == {"active", "used_up"}
    assert await packages.expire_packages(at=shanghai_midnight) == 4
    assert await statuses() == {
        "sh_a": "expired",
        "sh_b": "used_up",
        "sh2": "expired",
        "ur": "active",
        "any_sold_in_urumqi": "expired",
        "other_any": "expired",
    }
    assert await packages.expire_packages(at=urumqi_midnight - second) == 0
    assert await packages.expire_packages(at=urumqi_midnight) == 1
    assert (await statuses())["ur"] == "expired"
    assert await packages.expire_packages(at=urumqi_midnight + dt.timedelta(days=3)) == 0
    expiries = await ServicePackageEntry.select().where(ServicePackageEntry.kind == "expire")
    assert sorted((e["package"], e["uses_delta"], e["amount_minor"]) for e in expiries) == sorted(
        (sold[key], -2, -1_001) for key in ("sh_a", "sh2", "ur", "any_sold_in_urumqi", "other_any")
    )
    assert await check_packages() == []


async def test_expiry_reads_a_zone_corrected_by_hq_on_the_next_run(chain, member_id):
    await packages.define_product(
        SystemActor(),
        code="URP",
        name="URP",
        uses=1,
        price_minor=500,
        validity_days=30,
        store_code="UR001",
    )
    ur001 = chain["stores"]["UR001"]["id"]
    sold = await packages.sell_package(member_id, "URP", Source("sale", "S1", ur001), at=T0)
    shanghai_midnight = dt.datetime(2026, 3, 31, 16, 0, tzinfo=dt.UTC)
    assert await packages.expire_packages(at=shanghai_midnight) == 0
    await Store.update({Store.time_zone: "Asia/Shanghai"}).where(Store.id == ur001)
    assert await packages.expire_packages(at=shanghai_midnight) == 1
    package = await ServicePackage.select().where(ServicePackage.id == sold.package_id).first()
    assert package["status"] == "expired"
