"""Demo members: the default tiers and ~5,000 members across the demo stores, each with a
card, a spread of tiers reached by qualifying spend, and some family (parent/child) cards.

Bulk inserts (a few statements per 500 rows) keep it well under a minute on SQLite. Every
demo member's payment PIN is ``DEMO_MEMBER_PIN``; phones are ``+86137000xxxxx``. Running it
again creates nothing twice.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from piccolo.table import Table

from memberpos.clock import utc_now
from memberpos.db import get_engine, is_sqlite, transaction
from memberpos.security import hash_secret
from members.cards import CARD_PREFIX, luhn_check_digit
from members.tables import Card, CardEvent, FamilyLink, Member, QualifyingSpend, Tier, TierEvent
from members.tiers import chain_today, seed_default_tiers
from stores.tables import Store

DEMO_MEMBERS = 5_000
DEMO_MEMBER_PIN = "123456"
DEMO_PHONE_PREFIX = "+86137000"
DEMO_FAMILIES = 150
BATCH = 500
SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何林罗高梁郑谢宋唐许韩冯邓曹彭曾"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红娥玲"
# Share of members per tier code (the rest have no tier, i.e. the entry tier).
SPREAD = (("DIAMOND", 0.02), ("GOLD", 0.08), ("SILVER", 0.20))


def demo_phone(index: int) -> str:
    return f"{DEMO_PHONE_PREFIX}{index:05d}"


def demo_card_number(index: int) -> str:
    body = f"{CARD_PREFIX}{9_000_000_000_000 + index:013d}"
    return body + luhn_check_digit(body)


async def _insert(table: type[Table], rows: list[dict[str, Any]]) -> None:
    """Many rows in one prepared statement on the transaction's own connection: Piccolo's
    per-row objects cost ~1 ms each, which is most of a minute for the demo."""
    if not rows:
        return
    columns = list(rows[0])
    names = ", ".join(f'"{column}"' for column in columns)
    values = [tuple(row[column] for column in columns) for row in rows]
    engine = get_engine()
    connection = engine.current_transaction.get().connection  # type: ignore[attr-defined]
    if is_sqlite(engine):
        marks = ", ".join("?" for _ in columns)
    else:
        marks = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
    sql = f'INSERT INTO "{table._meta.tablename}" ({names}) VALUES ({marks})'
    for start in range(0, len(values), BATCH):
        await connection.executemany(sql, values[start : start + BATCH])


async def create_demo_members() -> str:
    await seed_default_tiers()
    existing = await Member.count().where(Member.phone.like(f"{DEMO_PHONE_PREFIX}%"))
    if existing >= DEMO_MEMBERS:
        return f"members: {existing} demo members already there (PIN {DEMO_MEMBER_PIN})"
    stores = await Store.select(Store.id, Store.code).order_by(Store.id)
    if not stores:
        return "members: no stores yet, no demo members"
    tiers = {row["code"]: row for row in await Tier.select()}
    rng = random.Random(20261123)
    now = utc_now()
    today = chain_today()
    pin_hash = hash_secret(DEMO_MEMBER_PIN)  # one hash for all: the demo is not about KDF cost
    taken = {
        row["phone"]
        for row in await Member.select(Member.phone).where(
            Member.phone.like(f"{DEMO_PHONE_PREFIX}%")
        )
    }
    async with transaction():
        new_members = []
        plan: list[tuple[int, str | None]] = []  # (index, tier code)
        for index in range(DEMO_MEMBERS):
            phone = demo_phone(index)
            if phone in taken:
                continue
            roll = rng.random()
            tier_code, cumulative = None, 0.0
            for code, share in SPREAD:
                cumulative += share
                if roll < cumulative and code in tiers:
                    tier_code = code
                    break
            store = stores[index % len(stores)]
            created = now - dt.timedelta(days=rng.randint(1, 900), minutes=rng.randint(0, 1440))
            consent = created if rng.random() < 0.6 else None
            new_members.append(
                dict(
                    phone=phone,
                    name=rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2)))),
                    birthday=dt.date(
                        rng.randint(1955, 2006), rng.randint(1, 12), rng.randint(1, 28)
                    )
                    if rng.random() < 0.8
                    else None,
                    gender=rng.choice(("female", "male", None)),
                    home_store=store["id"],
                    payment_pin_hash=pin_hash,
                    consent_sms_at=consent,
                    consent_email_at=None,
                    consent_push_at=consent if rng.random() < 0.5 else None,
                    tier=tiers[tier_code]["id"] if tier_code else None,
                    tier_since=created if tier_code else None,
                    status="active",
                    created_at=created,
                    updated_at=created,
                )
            )
            plan.append((index, tier_code))
        await _insert(Member, new_members)
        ids = {
            row["phone"]: row["id"]
            for row in await Member.select(Member.id, Member.phone).where(
                Member.phone.like(f"{DEMO_PHONE_PREFIX}%")
            )
        }
        card_rows, spend_rows, tier_rows = [], [], []
        for (index, tier_code), member in zip(plan, new_members, strict=True):
            member_id = ids[member["phone"]]
            card_rows.append(
                dict(
                    number=demo_card_number(index),
                    member=member_id,
                    kind="physical" if index % 3 else "virtual",
                    status="active",
                    issued_at=member["created_at"],
                    status_changed_at=member["created_at"],
                )
            )
            # Rolling spend that explains the tier (or stays below the first threshold).
            if tier_code:
                threshold = tiers[tier_code]["threshold_minor"]
                amount = threshold + rng.randint(0, max(1, threshold // 5))
                tier_rows.append(
                    dict(
                        member=member_id,
                        from_tier=None,
                        to_tier=tiers[tier_code]["id"],
                        reason="upgrade",
                        rolling_spend_minor=amount,
                        source_kind="demo",
                        source_id=f"demo-{index}",
                        note="demo data",
                        at=member["created_at"],
                    )
                )
            else:
                silver = tiers.get("SILVER", {}).get("threshold_minor", 500_000)
                amount = rng.randint(0, max(1, silver - 1))
            if amount:
                spend_rows.append(
                    dict(
                        member=member_id,
                        store=member["home_store"],
                        business_date=today - dt.timedelta(days=rng.randint(0, 300)),
                        amount_minor=amount,
                        source_kind="demo",
                        source_id=f"demo-{index}",
                        occurred_at=now,
                        recorded_at=now,
                    )
                )
        await _insert(Card, card_rows)
        wanted = {c["number"] for c in card_rows}
        card_ids = {
            row["number"]: row["id"]
            for row in await Card.select(Card.id, Card.number)
            if row["number"] in wanted
        }
        await _insert(
            CardEvent,
            [
                dict(
                    card=card_ids[c["number"]],
                    action="issue",
                    from_status=None,
                    to_status="active",
                    by_member=False,
                    reason="demo registration",
                    at=c["issued_at"],
                )
                for c in card_rows
                if c["number"] in card_ids
            ],
        )
        await _insert(QualifyingSpend, spend_rows)
        await _insert(TierEvent, tier_rows)
        # Families: a parent with one or two children, at the parent's home store.
        member_ids = [ids[m["phone"]] for m in new_members]
        links = []
        used: set[int] = set()
        for family in range(min(DEMO_FAMILIES, len(member_ids) // 4)):
            parent = member_ids[family * 4]
            children = member_ids[family * 4 + 1 : family * 4 + 1 + rng.choice((1, 2))]
            if parent in used:
                continue
            for child in children:
                used.add(child)
                links.append(
                    dict(
                        parent=parent,
                        child=child,
                        daily_limit_minor=rng.choice((5_000, 10_000, 20_000)),
                        monthly_limit_minor=rng.choice((50_000, 100_000, 200_000)),
                        attached_at=now,
                    )
                )
        await _insert(FamilyLink, links)
    total = await Member.count().where(Member.phone.like(f"{DEMO_PHONE_PREFIX}%"))
    tiered = sum(1 for _, code in plan if code)
    return (
        f"members: {len(new_members)} new demo members ({total} in all) across "
        f"{len(stores)} stores, {tiered} with a tier above the entry tier, "
        f"{len(links)} child cards; member PIN {DEMO_MEMBER_PIN}, phones {DEMO_PHONE_PREFIX}xxxxx"
    )
