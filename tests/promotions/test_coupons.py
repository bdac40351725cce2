"""Coupons: codes with a check character, every refusal at the till in its order, atomic
redemption by a sale, reinstatement by a full refund, a member's own list, merges."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest

from promotions import codes, coupons, engine, service
from promotions.coupons import BatchSpec
from promotions.errors import (
    CouponExpired,
    CouponNotFound,
    CouponNotStarted,
    CouponNotValidHere,
    CouponNotYours,
    CouponUsedUp,
    InvalidCouponBatch,
    InvalidCouponCode,
)
from promotions.verify import check_promotions
from tests.promotions.conftest import NOW, new_member

DAY = date(2030, 1, 7)
LOCAL = datetime(2030, 1, 7, 14, 0)


def spec(**changes) -> BatchSpec:
    values = dict(
        code="WELCOME30",
        name="¥30 off ¥200",
        name_zh="满200减30",
        kind="amount_off",
        amount_off_minor=3000,
        minimum_spend_minor=20000,
        valid_from=NOW - timedelta(days=1),
        valid_to=NOW + timedelta(days=30),
    )
    values.update(changes)
    return BatchSpec(**values)


def test_every_generated_code_is_valid_and_every_single_typo_or_swap_is_caught():
    rng = random.Random(6)
    for _ in range(200):
        code = codes.new_code()
        assert codes.is_valid(code) and len(code) == 12
        assert codes.is_valid(codes.normalise(codes.display(code).lower()))
        position = rng.randrange(12)
        for symbol in codes.ALPHABET:
            if symbol != code[position]:
                assert not codes.is_valid(code[:position] + symbol + code[position + 1 :])
        swap = rng.randrange(11)
        swapped = code[:swap] + code[swap + 1] + code[swap] + code[swap + 2 :]
        if swapped != code:
            assert not codes.is_valid(swapped)
    assert len({codes.new_code() for _ in range(1000)}) == 1000


async def test_presented_coupons_are_checked_in_order(chain, member_id):
    admin = chain["admin"]
    sh001 = chain["stores"]["SH001"]["id"]
    await coupons.create_batch(admin, spec())
    await coupons.create_batch(
        admin,
        spec(code="LATER", valid_from=NOW + timedelta(days=1), valid_to=NOW + timedelta(days=2)),
    )
    await coupons.create_batch(admin, spec(code="URUMQI", store_codes=("UR001",)))
    bearer = (await coupons.issue(admin, "WELCOME30", bearer_count=1))[0]["code"]
    mine = (await coupons.issue(admin, "WELCOME30", member_ids=[member_id]))[0]["code"]
    later = (await coupons.issue(admin, "LATER", bearer_count=1))[0]["code"]
    urumqi = (await coupons.issue(admin, "URUMQI", bearer_count=1))[0]["code"]
    other = await new_member(chain, "13900001111")

    def present(code, *, member=None, store=sh001, at=NOW):
        return service.coupons_for_sale([code], member_id=member, store_id=store, at=at)

    found = await present(bearer)
    assert [(c.code, c.kind, c.amount_off_minor, c.minimum_spend_minor) for c in found] == [
        (codes.normalise(bearer), "amount_off", 3000, 20000)
    ]
    assert len(await present(mine, member=member_id)) == 1
    typo = bearer[:-1] + ("2" if bearer[-1] != "2" else "3")
    cases = [
        (present(typo), InvalidCouponCode, 400),
        (present(codes.display(codes.new_code())), CouponNotFound, 404),
        (present(later), CouponNotStarted, 422),
        (present(bearer, at=NOW + timedelta(days=31)), CouponExpired, 422),
        (present(mine, member=other), CouponNotYours, 403),
        (present(mine), CouponNotYours, 403),
        (present(urumqi), CouponNotValidHere, 422),
    ]
    for call, error, status in cases:
        with pytest.raises(error) as refused:
            await call
        assert refused.value.status == status
    assert len(await present(urumqi, store=chain["stores"]["UR001"]["id"])) == 1


def _basket(amount=25000):
    return engine.Basket(
        lines=(engine.BasketLine(line_id="1", sku="SNACK-1", quantity=1, unit_price_minor=amount),)
    )


CONTEXT = engine.SaleContext(local_datetime=LOCAL, store_code="SH001")


async def test_a_single_use_coupon_is_redeemed_once_and_reinstated_by_a_full_refund(chain):
    admin = chain["admin"]
    store_id = chain["stores"]["SH001"]["id"]
    await coupons.create_batch(admin, spec())
    code = (await coupons.issue(admin, "WELCOME30", bearer_count=1))[0]["code"]
    presented = await service.coupons_for_sale([code], member_id=None, store_id=store_id, at=NOW)
    priced = engine.price_basket(_basket(), CONTEXT, [], presented)
    assert priced.discount_minor == 3000 and priced.applied[0].coupon_code == codes.normalise(code)
    commit = dict(member_id=None, store_id=store_id, business_date=DAY, at=NOW, priced=priced)
    await service.commit_sale(sale_ref="S1", **commit)
    await service.commit_sale(sale_ref="S1", **commit)  # replay
    with pytest.raises(CouponUsedUp):
        await service.commit_sale(sale_ref="S2", **commit)
    with pytest.raises(CouponUsedUp):
        await service.coupons_for_sale([code], member_id=None, store_id=store_id, at=NOW)
    await service.reverse_refund(refund_ref="R1", sale_ref="S1", full=False, at=NOW)
    with pytest.raises(CouponUsedUp):
        await service.coupons_for_sale([code], member_id=None, store_id=store_id, at=NOW)
    await service.reverse_refund(refund_ref="R2", sale_ref="S1", full=True, at=NOW)
    assert (
        len(await service.coupons_for_sale([code], member_id=None, store_id=store_id, at=NOW)) == 1
    )
    await service.commit_sale(sale_ref="S3", **commit)
    assert await check_promotions() == []


async def test_a_multi_use_coupon_counts_its_uses(chain):
    admin = chain["admin"]
    store_id = chain["stores"]["SH001"]["id"]
    await coupons.create_batch(
        admin,
        spec(
            code="TENTIMES",
            kind="percent_off",
            amount_off_minor=0,
            percent_off_bp=1000,
            cap_minor=2000,
            max_uses=3,
        ),
    )
    code = (await coupons.issue(admin, "TENTIMES", bearer_count=1))[0]["code"]
    presented = await service.coupons_for_sale(
        [code, code], member_id=None, store_id=store_id, at=NOW
    )
    assert len(presented) == 1
    priced = engine.price_basket(_basket(), CONTEXT, [], presented)
    assert priced.discount_minor == 2000  # 10 % of 250 is 25, capped at 20
    for number in range(3):
        await service.commit_sale(
            sale_ref=f"S{number}",
            member_id=None,
            store_id=store_id,
            business_date=DAY,
            at=NOW,
            priced=priced,
        )
    with pytest.raises(CouponUsedUp):
        await service.commit_sale(
            sale_ref="S9",
            member_id=None,
            store_id=store_id,
            business_date=DAY,
            at=NOW,
            priced=priced,
        )
    assert await check_promotions() == []


async def test_bad_batches_are_refused_naming_the_field(chain):
    admin = chain["admin"]
    for changes, field in [
        ({"valid_to": NOW - timedelta(days=2)}, "valid_to"),
        ({"amount_off_minor": 0}, "amount_off_minor"),
        ({"kind": "percent_off", "percent_off_bp": 20000}, "percent_off_bp"),
        ({"kind": "gift"}, "gift_sku"),
        ({"max_uses": 0}, "max_uses"),
        ({"store_codes": ("NOPE",)}, "store_codes"),
    ]:
        with pytest.raises(InvalidCouponBatch) as refused:
            await coupons.create_batch(admin, spec(**changes))
        assert refused.value.field == field
    assert await coupons.list_batches(admin) == []


async def test_issue_is_idempotent_by_reference_and_members_see_their_own(chain, member_id):
    admin = chain["admin"]
    await coupons.create_batch(admin, spec())
    first = await coupons.issue(admin, "WELCOME30", member_ids=[member_id], issue_ref="camp-1")
    again = await coupons.issue(admin, "WELCOME30", member_ids=[member_id], issue_ref="camp-1")
    assert first == again and len(first) == 1
    mine = await coupons.member_coupons(member_id, NOW)
    assert [(c["code"], c["state"], c["uses_left"]) for c in mine] == [
        (first[0]["code"], "usable", 1)
    ]
    assert (await coupons.member_coupons(member_id, NOW + timedelta(days=60)))[0][
        "state"
    ] == "expired"


async def test_a_merge_moves_the_merged_members_coupons(chain, member_id):
    admin = chain["admin"]
    other = await new_member(chain, "13900001111")
    await coupons.create_batch(admin, spec())
    await coupons.issue(admin, "WELCOME30", member_ids=[member_id, other])
    await coupons.merge_members(member_id, other, "M1", NOW)
    await coupons.merge_members(member_id, other, "M1", NOW)
    assert len(await coupons.member_coupons(member_id, NOW)) == 2
    assert await coupons.member_coupons(other, NOW) == []
