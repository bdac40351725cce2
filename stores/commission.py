"""Salesperson commission (营业员提成): posting a sale's lines and taking back refunds.

The POS gateway calls ``record_sale`` and ``reverse_refund`` inside the sale's (refund's) own
open transaction; both join it through ``memberpos.db.transaction()``.

Which rule pays a line (precedence, most specific first):
1. the item: a SKU rule, then a rule naming a brand *and* a category, then a brand rule, then
   a category rule (a deeper category beats its ancestors; a rule on ``FOOD`` matches every
   product under ``FOOD/…``), then a rule naming no item (the default);
2. then the place: a store's rule, then its region's, then the chain's;
3. then the later ``valid_from``, then the later rule.
A rule applies on the line's business date between ``valid_from`` and ``valid_until``. A line
sold by nobody is paid by the store's default rule (no item named; store, region, chain) and
all of it goes to the store's pool (公佣); nobody's sales reach a level, so such a line is
paid at the rule's first level.

Levels count a salesperson's net sales in the store's period (the running ``CommissionTally``,
whose row lock also serialises two sales of the same person). Marginal levels pay each part of
a line at the rate of the band it falls in. Whole-amount levels (全额累进) pay each line at the
rate of the level reached with it, and at the period's close a ``level_true_up`` entry pays the
month's whole base under the rule at the level the month ended on. Entries already recorded
are never changed; differences are new entries. A refund takes back
exactly the refunded share of what each entry of the sale paid (cumulatively, so the last
partial refund takes the remainder). A sale's or refund's entries land in their own period,
or, when that one is closed, in the first open period after it, marked as an adjustment.

Round trips per sale on PostgreSQL: one. A single statement claims the sale (idempotency),
reads what it needs (the store's region, the rules' version token, the products, the period's
status under a key-share lock that a period close waits for) and adds every salesperson's sales
to their tally, answering the tallies before the sale; the entries are computed from that and
their insert is sent with the transaction's COMMIT (``memberpos.db.defer_write``). The first
sale of a month, or one whose month is closed, adds to the tallies once its period is known.
The rules are cached per process and reloaded when the version token changes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from memberpos.clock import business_date as date_in_zone
from memberpos.clock import utc_now
from memberpos.db import defer_write, fetch, is_sqlite, placeholders, transaction
from memberpos.errors import Forbidden, InvalidInput, OutOfScope
from memberpos.money import allocate, divide_half_up, percent_of
from stores import audit
from stores.access import CHAIN_WIDE_ROLES, Actor, Role
from stores.commission_calc import (
    FLAT,
    MARGINAL,
    PER_UNIT,
    RATE,
    WHOLE,
    Level,
    Seller,
    Terms,
    level_reached,
    line_commission,
    refunded_part,
)
from stores.commission_errors import (
    CommissionRuleNotFound,
    InvalidCommissionRule,
    InvalidCommissionSale,
    NotOwnStatement,
    PeriodAlreadyClosed,
    PeriodNotEnded,
    RefundExceedsSale,
    SaleCommissionNotRecorded,
    UnknownSalesperson,
)
from stores.commission_tables import (
    CommissionEntry,
    CommissionPeriod,
    CommissionPoolShare,
    CommissionRule,
    CommissionRulesVersion,
    CommissionTally,
    CommissionTarget,
)
from stores.errors import DuplicateCode, StoreNotFound
from stores.tables import Brand, Category, Product, Region, Staff, Store

BP = 10_000
NOBODY = 0  # the key of lines sold by nobody (they keep no level tally)


@dataclass(frozen=True)
class SoldLine:
    line_no: int
    sku: str
    quantity: int
    net_minor: int  # the line's amount after its share of every discount and coupon
    points_paid_minor: int  # the part of net_minor paid with points
    # (staff_id, share_bp) summing to 10000; () = no salesperson -> the store's default / pool
    salespeople: tuple[tuple[int, int], ...]


# ----------------------------------------------------------------------------- the rules


@dataclass(frozen=True)
class ActiveRule:
    id: int
    code: str
    valid_from: dt.date
    valid_until: dt.date | None
    store_id: int | None
    region_id: int | None
    category_path: str | None
    brand_id: int | None
    product_id: int | None
    terms: Terms

    @property
    def names_item(self) -> bool:
        return (
            self.product_id is not None
            or self.brand_id is not None
            or self.category_path is not None
        )

    def specificity(self) -> tuple[int, int, int, int, dt.date, int]:
        depth = self.category_path.count("/") + 1 if self.category_path else 0
        place = 2 if self.store_id is not None else 1 if self.region_id is not None else 0
        return (
            int(self.product_id is not None),
            int(self.brand_id is not None),
            depth,
            place,
            self.valid_from,
            self.id,
        )


@dataclass(frozen=True)
class ProductInfo:
    product_id: int
    brand_id: int | None
    category_path: str


def terms_of(row: dict[str, Any]) -> Terms:
    levels = row["levels"]
    if isinstance(levels, str):
        levels = json.loads(levels or "[]")
    return Terms(
        basis=row["basis"],
        rate_bp=row["rate_bp"],
        amount_per_unit_minor=row["amount_per_unit_minor"],
        exclude_points_paid=bool(row["exclude_points_paid"]),
        pool_share_bp=row["pool_share_bp"],
        level_mode=row["level_mode"],
        levels=tuple(Level(int(x["above_minor"]), int(x["rate_bp"])) for x in levels),
    )


def choose_rule(
    rules: Sequence[ActiveRule],
    *,
    on: dt.date,
    store_id: int,
    region_id: int | None,
    product: ProductInfo | None,
    defaults_only: bool = False,
) -> ActiveRule | None:
    """The most specific rule for a line (see the module's precedence), or None."""
    best: ActiveRule | None = None
    for rule in rules:
        if rule.valid_from > on or (rule.valid_until is not None and rule.valid_until < on):
            continue
        if rule.store_id is not None and rule.store_id != store_id:
            continue
        if rule.region_id is not None and rule.region_id != region_id:
            continue
        if defaults_only and rule.names_item:
            continue
        if rule.product_id is not None and (
            product is None or product.product_id != rule.product_id
        ):
            continue
        if rule.brand_id is not None and (product is None or product.brand_id != rule.brand_id):
            continue
        if rule.category_path is not None:
            path = product.category_path if product else None
            if path is None or not (
                path == rule.category_path or path.startswith(rule.category_path + "/")
            ):
                continue
        if best is None or rule.specificity() > best.specificity():
            best = rule
    return best


_rules_cache: dict[str, Any] = {"token": None, "loaded": False, "rules": ()}


def invalidate_rules() -> None:
    _rules_cache.update(token=None, loaded=False, rules=())


async def _load_rules() -> tuple[ActiveRule, ...]:
    rows = await fetch(
        "SELECT r.id, r.code, r.valid_from, r.valid_until, r.store, r.region, r.brand,"
        " r.product, r.basis, r.rate_bp, r.amount_per_unit_minor, r.exclude_points_paid,"
        " r.pool_share_bp, r.level_mode, r.levels, c.path AS category_path"
        " FROM commission_rule r LEFT JOIN category c ON c.id = r.category"
    )
    return tuple(
        ActiveRule(
            id=row["id"],
            code=row["code"],
            valid_from=row["valid_from"],
            valid_until=row["valid_until"],
            store_id=row["store"],
            region_id=row["region"],
            category_path=row["category_path"],
            brand_id=row["brand"],
            product_id=row["product"],
            terms=terms_of(row),
        )
        for row in rows
    )


async def rules_for_token(token: str | None) -> tuple[ActiveRule, ...]:
    """The cached rules, reloaded when the version token read with the sale differs."""
    if not _rules_cache["loaded"] or _rules_cache["token"] != token:
        rules = await _load_rules()
        _rules_cache.update(token=token, loaded=True, rules=rules)
    return _rules_cache["rules"]  # type: ignore[no-any-return]


async def bump_rules_version() -> None:
    """Mark the rules changed (in the transaction that changes them)."""
    token = secrets.token_hex(8)
    updated = (
        await CommissionRulesVersion.update(
            {CommissionRulesVersion.token: token, CommissionRulesVersion.changed_at: utc_now()}
        )
        .where(CommissionRulesVersion.id > 0)
        .returning(CommissionRulesVersion.id)
    )
    if not updated:
        await CommissionRulesVersion.insert(
            CommissionRulesVersion(token=token, changed_at=utc_now())
        ).run()
    invalidate_rules()


# ------------------------------------------------------------------------------ raw SQL


def month_start(on: dt.date) -> dt.date:
    return on.replace(day=1)


def next_month(start: dt.date) -> dt.date:
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


async def _lock_period(store_id: int, start: dt.date) -> tuple[int, str]:
    """The store's period of the month beginning ``start`` (created if missing) and its
    status, under a key-share lock that a close waits for (PostgreSQL)."""
    lock = "" if is_sqlite() else " FOR KEY SHARE"
    sql = "SELECT id, status FROM commission_period WHERE store = {} AND month_start = {}"
    rows = await fetch(sql + lock, store_id, start)
    if not rows:
        await fetch(
            "INSERT INTO commission_period (store, month_start, status, sales_minor, "
            "commission_minor, personal_minor, pool_minor, pool_paid_minor, entry_count, "
            "created_at) VALUES ({}, {}, 'open', 0, 0, 0, 0, 0, 0, {}) "
            "ON CONFLICT (store, month_start) DO NOTHING",
            store_id,
            start,
            utc_now(),
        )
        rows = await fetch(sql + lock, store_id, start)
    return rows[0]["id"], rows[0]["status"]


async def landing_period(
    store_id: int, on: dt.date, known: tuple[int, str] | None = None
) -> tuple[int, bool]:
    """(period id, adjustment): the period of ``on``'s month, or when it is closed the first
    open one after it."""
    start = month_start(on)
    period_id, status = known if known is not None else await _lock_period(store_id, start)
    adjustment = False
    while status != "open":
        adjustment = True
        start = next_month(start)
        period_id, status = await _lock_period(store_id, start)
    return period_id, adjustment


# Adds each person's sales to their period tally, rows in key order (so two sales never lock
# the same two rows crosswise); answers the tallies after it.
_TALLY_UPSERT = (
    "ON CONFLICT (period, staff_key) DO UPDATE SET "
    "sales_minor = commission_tally.sales_minor + excluded.sales_minor "
    "RETURNING staff_key, sales_minor"
)


async def _add_to_tallies(period_id: int, deltas: dict[int, int]) -> dict[int, int]:
    """Add each person's sales to their period tally in one statement; their tallies
    *before* it."""
    if not deltas:
        return {}
    keys = sorted(deltas)
    rows = await fetch(
        "INSERT INTO commission_tally (period, staff_key, sales_minor) VALUES "
        + ", ".join(["({}, {}, {})"] * len(keys))
        + " "
        + _TALLY_UPSERT,
        *[value for key in keys for value in (period_id, key, deltas[key])],
    )
    return {row["staff_key"]: row["sales_minor"] - deltas[row["staff_key"]] for row in rows}


ENTRY_COLUMNS = (
    "period",
    "store",
    "staff",
    "kind",
    "source_ref",
    "sale_ref",
    "adjustment",
    "line_no",
    "sku",
    "quantity",
    "share_bp",
    "sales_minor",
    "base_minor",
    "rule",
    "rate_bp",
    "amount_per_unit_minor",
    "level",
    "commission_minor",
    "personal_minor",
    "pool_minor",
    "pool_share_minor",
    "business_date",
    "occurred_at",
    "recorded_at",
)


_ENTRY_ZEROS: dict[str, Any] = {
    "sale_ref": "",
    "adjustment": False,
    "line_no": 0,
    "sku": "",
    "quantity": 0,
    "share_bp": 0,
    "sales_minor": 0,
    "base_minor": 0,
    "rule": None,
    "rate_bp": 0,
    "amount_per_unit_minor": 0,
    "level": 0,
    "commission_minor": 0,
    "personal_minor": 0,
    "pool_minor": 0,
    "pool_share_minor": 0,
}


def _entry(**fields: Any) -> dict[str, Any]:
    """A ``commission_entry`` row for ``insert_entries``; the columns not given are zero."""
    return {**_ENTRY_ZEROS, **fields}


_ENTRY_INSERT = f"INSERT INTO commission_entry ({', '.join(ENTRY_COLUMNS)}) VALUES "
_ENTRY_ROW = "(" + placeholders(len(ENTRY_COLUMNS)) + ")"


async def insert_entries(entries: Sequence[dict[str, Any]]) -> None:
    """Every entry of one posting in one statement (chunked for very large ones), sent with
    the transaction's commit (``defer_write``: nothing reads them before a later statement
    naming ``commission_entry`` sends them)."""
    for start in range(0, len(entries), 400):
        chunk = entries[start : start + 400]
        args: list[Any] = []
        for entry in chunk:
            args.extend([entry[column] for column in ENTRY_COLUMNS])
        await defer_write(_ENTRY_INSERT + ", ".join([_ENTRY_ROW] * len(chunk)), *args)


# ------------------------------------------------------------------------------- a sale


def _validate_lines(lines: Sequence[SoldLine]) -> None:
    seen: set[int] = set()
    for index, line in enumerate(lines):
        field = f"lines[{index}]"
        if line.line_no in seen:
            raise InvalidCommissionSale(f"Line {line.line_no} appears twice", field=field)
        seen.add(line.line_no)
        if line.quantity <= 0:
            raise InvalidCommissionSale("quantity must be positive", field=f"{field}.quantity")
        if line.net_minor < 0:
            raise InvalidCommissionSale(
                "net_minor must not be negative", field=f"{field}.net_minor"
            )
        if not 0 <= line.points_paid_minor <= line.net_minor:
            raise InvalidCommissionSale(
                "points_paid_minor must be between 0 and net_minor",
                field=f"{field}.points_paid_minor",
            )
        if line.salespeople:
            staff_ids = [staff_id for staff_id, _ in line.salespeople]
            shares = [share for _, share in line.salespeople]
            if len(set(staff_ids)) != len(staff_ids) or any(s <= 0 for s in staff_ids):
                raise InvalidCommissionSale(
                    "a salesperson appears twice or has no id", field=f"{field}.salespeople"
                )
            if any(share <= 0 for share in shares) or sum(shares) != BP:
                raise InvalidCommissionSale(
                    "salespeople's shares must be positive and total 10000 basis points",
                    field=f"{field}.salespeople",
                )


def _line_sales(line: SoldLine) -> list[tuple[int, int, int]]:
    """(staff key, share, net sales) of each salesperson of a line (nobody: key 0)."""
    if not line.salespeople:
        return [(NOBODY, BP, line.net_minor)]
    shares = [share for _, share in line.salespeople]
    return [
        (staff_id, share, sales)
        for (staff_id, share), sales in zip(
            line.salespeople, allocate(line.net_minor, shares), strict=True
        )
    ]


SALE_CLAIM = (
    "INSERT INTO commission_sale (sale_ref, store, business_date, occurred_at, net_minor, "
    "line_count, recorded_at) VALUES ({}, {}, {}, {}, {}, {}, {}) "
    "ON CONFLICT (sale_ref) DO NOTHING RETURNING id"
)


@dataclass(frozen=True)
class _SaleReads:
    """What a sale reads with its claim."""

    region_id: int | None
    token: str | None
    products: dict[str, ProductInfo]
    period: tuple[int, str] | None  # (id, status) of the month's period, when there is one
    tallies_before: dict[int, int] | None  # None: not added to yet (SQLite, no open period)


async def _claim_sale_and_read(
    claim: Sequence[Any],
    store_id: int,
    business_date: dt.date,
    skus: Sequence[str],
    deltas: dict[int, int],
) -> _SaleReads | None:
    """Claim ``sale_ref`` (None: recorded before) and read what the sale needs: the store's
    region, the rules' version token, the products and the period's status, under a key-share
    lock that a close of the period waits for. On PostgreSQL all in one statement, which also
    adds ``deltas`` to the tallies when that period is open (the claim and the lock first)."""
    start = month_start(business_date)
    period = "SELECT id, status FROM commission_period WHERE store = {} AND month_start = {}"
    sqlite = is_sqlite()
    if sqlite:
        if not await fetch(SALE_CLAIM, *claim):
            return None
        head, head_args = f"WITH this_period AS ({period}) SELECT ", [store_id, start]
    else:
        keys = sorted(deltas)
        head = (
            f"WITH claim AS ({SALE_CLAIM}), this_period AS ({period} FOR KEY SHARE), "
            "tally AS (INSERT INTO commission_tally (period, staff_key, sales_minor) "
            "SELECT this_period.id, d.staff_key, d.sales_minor FROM this_period, "
            "unnest({}::int[], {}::bigint[]) AS d(staff_key, sales_minor) "
            "WHERE this_period.status = 'open' AND EXISTS (SELECT FROM claim) "
            f"ORDER BY d.staff_key {_TALLY_UPSERT}) "
            "SELECT (SELECT id FROM claim) AS claimed, "
            "(SELECT array_agg(ARRAY[staff_key, sales_minor]) FROM tally) AS tallies, "
        )
        head_args = [*claim, store_id, start, keys, [deltas[key] for key in keys]]
    unique_skus = sorted(set(skus)) or [""]
    rows = await fetch(
        head + "s.region AS region_id, "
        "(SELECT token FROM commission_rules_version ORDER BY id LIMIT 1) AS token, "
        "(SELECT id FROM this_period) AS period_id, "
        "(SELECT status FROM this_period) AS period_status, "
        "p.sku AS sku, p.id AS product_id, p.brand AS brand_id, c.path AS category_path "
        f"FROM store s LEFT JOIN product p ON p.sku IN ({placeholders(len(unique_skus))}) "
        "LEFT JOIN category c ON c.id = p.category WHERE s.id = {}",
        *head_args,
        *unique_skus,
        store_id,
    )
    if not rows:
        raise InvalidCommissionSale(f"No store {store_id}", field="store_id")
    first = rows[0]
    if not sqlite and first["claimed"] is None:
        return None
    known = (first["period_id"], first["period_status"]) if first["period_id"] is not None else None
    tallies_before = None
    if not sqlite and known is not None and known[1] == "open":
        tallies_before = {key: after - deltas[key] for key, after in first["tallies"] or ()}
    return _SaleReads(
        region_id=first["region_id"],
        token=first["token"],
        products={
            row["sku"]: ProductInfo(row["product_id"], row["brand_id"], row["category_path"])
            for row in rows
            if row["sku"] is not None
        },
        period=known,
        tallies_before=tallies_before,
    )


async def _recorded_total(kind: str, source_ref: str) -> int:
    rows = await fetch(
        "SELECT COALESCE(SUM(commission_minor), 0) AS total FROM commission_entry "
        "WHERE kind = {} AND source_ref = {}",
        kind,
        source_ref,
    )
    return int(rows[0]["total"])


async def record_sale(
    *,
    sale_ref: str,
    store_id: int,
    business_date: dt.date,
    at: dt.datetime,
    lines: Sequence[SoldLine],
) -> int:
    """Post the commission of a sale's lines; the total in minor units. Idempotent by
    ``sale_ref``: a replay writes nothing and returns the same total."""
    if not sale_ref or len(sale_ref) > 64:
        raise InvalidCommissionSale("sale_ref must be 1 to 64 characters", field="sale_ref")
    _validate_lines(lines)
    now = utc_now()
    split = [_line_sales(line) for line in lines]
    deltas: dict[int, int] = defaultdict(int)
    for parts in split:
        for key, _, sales in parts:
            if key != NOBODY:
                deltas[key] += sales
    async with transaction():
        claim = (
            sale_ref,
            store_id,
            business_date,
            at,
            sum(line.net_minor for line in lines),
            len(lines),
            now,
        )
        reads = await _claim_sale_and_read(
            claim, store_id, business_date, [line.sku for line in lines], deltas
        )
        if reads is None:
            return await _recorded_total("sale", sale_ref)
        if not lines:
            return 0
        rules = await rules_for_token(reads.token)
        period_id, adjustment = await landing_period(store_id, business_date, reads.period)
        before = reads.tallies_before
        if before is None:  # SQLite, or the sale's own month had no open period
            before = await _add_to_tallies(period_id, deltas)
        running: defaultdict[int, int] = defaultdict(int, before)

        entries: list[dict[str, Any]] = []
        total = 0
        for line, parts in zip(lines, split, strict=True):
            pooled = not line.salespeople
            rule = choose_rule(
                rules,
                on=business_date,
                store_id=store_id,
                region_id=reads.region_id,
                product=reads.products.get(line.sku),
                defaults_only=pooled,
            )
            terms = rule.terms if rule is not None else Terms()
            if pooled and terms.levels:
                # Nobody's sales reach a level: such a line is paid at the first one (and
                # keeps no tally, which would be one hot row every sale of the store locks).
                terms = replace(terms, level_mode=FLAT, rate_bp=terms.levels[0].rate_bp, levels=())
            sellers = [Seller(key, share, running[key]) for key, share, _ in parts]
            results = line_commission(
                terms,
                quantity=line.quantity,
                net_minor=line.net_minor,
                points_paid_minor=line.points_paid_minor,
                sellers=sellers,
                pooled=pooled,
            )
            for result in results:
                if result.staff_key != NOBODY:
                    running[result.staff_key] += result.sales_minor
                total += result.commission_minor
                entries.append(
                    _entry(
                        period=period_id,
                        store=store_id,
                        staff=result.staff_key or None,
                        kind="sale",
                        source_ref=sale_ref,
                        sale_ref=sale_ref,
                        adjustment=adjustment,
                        line_no=line.line_no,
                        sku=line.sku[:40],
                        quantity=line.quantity,
                        share_bp=result.share_bp,
                        sales_minor=result.sales_minor,
                        base_minor=result.base_minor,
                        rule=rule.id if rule is not None else None,
                        rate_bp=result.rate_bp,
                        amount_per_unit_minor=(
                            terms.amount_per_unit_minor if terms.basis == PER_UNIT else 0
                        ),
                        level=result.level,
                        commission_minor=result.commission_minor,
                        personal_minor=result.personal_minor,
                        pool_minor=result.pool_minor,
                        business_date=business_date,
                        occurred_at=at,
                        recorded_at=now,
                    )
                )
        await insert_entries(entries)
    return total


# ----------------------------------------------------------------------------- a refund


async def reverse_refund(
    *,
    refund_ref: str,
    sale_ref: str,
    store_id: int,
    business_date: dt.date,
    at: dt.datetime,
    lines: Sequence[tuple[int, int]],
) -> int:
    """Take back the commission of ``(line_no, quantity refunded now)``; the (positive)
    amount taken back. Idempotent by ``refund_ref``."""
    if not refund_ref or len(refund_ref) > 64:
        raise InvalidCommissionSale("refund_ref must be 1 to 64 characters", field="refund_ref")
    now = utc_now()
    async with transaction():
        claimed = await fetch(
            "INSERT INTO commission_refund (refund_ref, sale_ref, store, business_date, "
            "occurred_at, recorded_at) VALUES ({}, {}, {}, {}, {}, {}) "
            "ON CONFLICT (refund_ref) DO NOTHING RETURNING id",
            refund_ref,
            sale_ref,
            store_id,
            business_date,
            at,
            now,
        )
        if not claimed:
            return -await _recorded_total("refund", refund_ref)
        # Locked, so two partial refunds of one sale take their parts one after the other
        # (each counts what the one before took).
        sale = await fetch(
            "SELECT store FROM commission_sale WHERE sale_ref = {}"
            + ("" if is_sqlite() else " FOR UPDATE"),
            sale_ref,
        )
        if not sale or sale[0]["store"] != store_id:
            raise SaleCommissionNotRecorded(
                f"No commission was recorded for sale {sale_ref} in this store", field="sale_ref"
            )
        rows = await fetch(
            "SELECT id, period, staff, kind, source_ref, line_no, sku, quantity, share_bp, "
            "sales_minor, base_minor, rule, rate_bp, amount_per_unit_minor, level, "
            "commission_minor, pool_minor FROM commission_entry "
            "WHERE sale_ref = {} AND kind IN ('sale', 'refund') ORDER BY id",
            sale_ref,
        )
        originals: dict[int, list[dict[str, Any]]] = defaultdict(list)
        refunded: dict[int, int] = defaultdict(int)
        seen_refunds: set[tuple[str, int]] = set()
        for row in rows:
            if row["kind"] == "sale":
                originals[row["line_no"]].append(row)
            elif (row["source_ref"], row["line_no"]) not in seen_refunds:
                seen_refunds.add((row["source_ref"], row["line_no"]))
                refunded[row["line_no"]] += -row["quantity"]
        asked: dict[int, int] = {}
        for index, (line_no, quantity) in enumerate(lines):
            field = f"lines[{index}]"
            if line_no in asked:
                raise InvalidCommissionSale(f"Line {line_no} appears twice", field=field)
            if line_no not in originals:
                raise InvalidCommissionSale(f"Sale {sale_ref} has no line {line_no}", field=field)
            if quantity <= 0:
                raise InvalidCommissionSale("quantity must be positive", field=field)
            sold = originals[line_no][0]["quantity"]
            if refunded[line_no] + quantity > sold:
                raise RefundExceedsSale(
                    f"Line {line_no}: {refunded[line_no]} of {sold} refunded already, "
                    f"{quantity} more asked",
                    field=field,
                )
            asked[line_no] = quantity
        if not asked:
            return 0

        sale_period = originals[next(iter(asked))][0]["period"]
        status = await fetch(
            "SELECT status FROM commission_period WHERE id = {}"
            + ("" if is_sqlite() else " FOR KEY SHARE"),
            sale_period,
        )
        if status[0]["status"] == "open":
            period_id, adjustment = sale_period, False
        else:  # the sale's period is closed: an adjustment in the current open one
            period_id, _ = await landing_period(store_id, business_date)
            adjustment = True

        entries: list[dict[str, Any]] = []
        deltas: dict[int, int] = defaultdict(int)
        taken = 0
        for line_no, quantity in asked.items():
            before = refunded[line_no]
            for original in originals[line_no]:
                sold = original["quantity"]

                def back(
                    amount: int, sold: int = sold, before: int = before, now_: int = quantity
                ) -> int:
                    return refunded_part(amount, sold, before, now_)

                commission = back(original["commission_minor"])
                pool = back(original["pool_minor"])
                sales = back(original["sales_minor"])
                taken += commission
                if original["staff"] is not None:
                    deltas[original["staff"]] -= sales
                entries.append(
                    _entry(
                        period=period_id,
                        store=store_id,
                        staff=original["staff"],
                        kind="refund",
                        source_ref=refund_ref,
                        sale_ref=sale_ref,
                        adjustment=adjustment,
                        line_no=line_no,
                        sku=original["sku"],
                        quantity=-quantity,
                        share_bp=original["share_bp"],
                        sales_minor=-sales,
                        base_minor=-back(original["base_minor"]),
                        rule=original["rule"],
                        rate_bp=original["rate_bp"],
                        amount_per_unit_minor=original["amount_per_unit_minor"],
                        level=original["level"],
                        commission_minor=-commission,
                        personal_minor=-(commission - pool),
                        pool_minor=-pool,
                        business_date=business_date,
                        occurred_at=at,
                        recorded_at=now,
                    )
                )
        await _add_to_tallies(period_id, deltas)
        await insert_entries(entries)
    return taken


# ------------------------------------------------------------------------------- access
#
# Commission permissions live here rather than in stores.access: they are this domain's.


class CommissionPermission(StrEnum):
    read = "read_commission"  # store statements, periods, targets, CSV
    close = "close_commission_period"
    manage_rules = "manage_commission_rules"  # chain-wide only
    manage_targets = "manage_commission_targets"  # targets and pool shares of a store


COMMISSION_PERMISSIONS: dict[Role, frozenset[CommissionPermission]] = {
    Role.store_manager: frozenset(
        {CommissionPermission.read, CommissionPermission.close, CommissionPermission.manage_targets}
    ),
    Role.hq_admin: frozenset(CommissionPermission),
    Role.analyst: frozenset({CommissionPermission.read}),
}


def can(actor: Actor, permission: CommissionPermission, store_id: int | None = None) -> bool:
    """A chain-wide role's permissions reach every store; a store role's its home store."""
    for role in actor.roles:
        if permission not in COMMISSION_PERMISSIONS.get(role, frozenset()):
            continue
        if role in CHAIN_WIDE_ROLES:
            return True
        if store_id is not None and store_id == actor.home_store_id:
            return True
    return False


def require(actor: Actor, permission: CommissionPermission, store_id: int | None = None) -> None:
    if can(actor, permission, store_id):
        return
    if store_id is not None and any(
        permission in COMMISSION_PERMISSIONS.get(role, frozenset()) for role in actor.roles
    ):
        raise OutOfScope("You may see and change commission only of your own store")
    raise Forbidden(f"Your role may not {permission.value.replace('_', ' ')}")


def may_read_statement(actor: Actor, store_id: int, staff_id: int | None) -> bool:
    """Managers and analysts in scope read any statement; anyone reads their own."""
    return can(actor, CommissionPermission.read, store_id) or (
        staff_id is not None and staff_id == actor.staff_id
    )


# ------------------------------------------------------------------------------ lookups


async def store_by_code(code: str, field: str = "store_code") -> dict[str, Any]:
    row = (
        await Store.select(Store.id, Store.code, Store.name, Store.time_zone, Store.region)
        .where(Store.code == code)
        .first()
    )
    if row is None:
        raise StoreNotFound(f"No store {code}", field=field)
    return row


async def staff_by_employee_no(employee_no: str, field: str = "employee_no") -> dict[str, Any]:
    row = (
        await Staff.select(Staff.id, Staff.employee_no, Staff.name, Staff.home_store)
        .where(Staff.employee_no == employee_no)
        .first()
    )
    if row is None:
        raise UnknownSalesperson(f"No staff member {employee_no}", field=field)
    return row


def parse_month(text: str, field: str = "month") -> dt.date:
    """``2026-11`` → 2026-11-01, or a 400 naming ``field``."""
    try:
        year, month = text.split("-")
        return dt.date(int(year), int(month), 1)
    except ValueError as error:
        raise InvalidInput(f"{text!r} is not a month like 2026-11", field=field) from error


def month_label(start: dt.date) -> str:
    return f"{start.year:04d}-{start.month:02d}"


# ------------------------------------------------------------------------ managing rules

RULE_MODES = (FLAT, MARGINAL, WHOLE)


def _check_levels(level_mode: str, levels: Sequence[dict[str, int]], basis: str) -> list[dict]:
    if level_mode not in RULE_MODES:
        raise InvalidCommissionRule("level_mode is flat, marginal or whole", field="level_mode")
    if level_mode == FLAT:
        if levels:
            raise InvalidCommissionRule("a flat rule has no levels", field="levels")
        return []
    if basis != RATE:
        raise InvalidCommissionRule("levels apply to rate rules only", field="level_mode")
    if not levels:
        raise InvalidCommissionRule("marginal and whole rules need levels", field="levels")
    checked: list[dict[str, int]] = []
    previous = -1
    for index, level in enumerate(levels):
        above, rate = int(level["above_minor"]), int(level["rate_bp"])
        if index == 0 and above != 0:
            raise InvalidCommissionRule(
                "the first level starts at 0", field="levels[0].above_minor"
            )
        if above <= previous:
            raise InvalidCommissionRule("levels must rise", field=f"levels[{index}].above_minor")
        if not 0 <= rate <= BP:
            raise InvalidCommissionRule("rate_bp is 0 to 10000", field=f"levels[{index}].rate_bp")
        previous = above
        checked.append({"above_minor": above, "rate_bp": rate})
    return checked


async def _id_by_code(table: Any, code: str | None, field: str, column: Any = None) -> int | None:
    if code is None:
        return None
    column = column if column is not None else table.code
    row = await table.select(table.id).where(column == code).first()
    if row is None:
        raise InvalidCommissionRule(f"Unknown {field.removesuffix('_code')} {code}", field=field)
    return row["id"]  # type: ignore[no-any-return]


async def create_rule(
    actor: Actor,
    *,
    code: str,
    name: str,
    valid_from: dt.date,
    valid_until: dt.date | None = None,
    store_code: str | None = None,
    region_code: str | None = None,
    category_code: str | None = None,
    brand_code: str | None = None,
    sku: str | None = None,
    basis: str = RATE,
    rate_bp: int = 0,
    amount_per_unit_minor: int = 0,
    exclude_points_paid: bool = False,
    pool_share_bp: int = 0,
    level_mode: str = FLAT,
    levels: Sequence[dict[str, int]] = (),
) -> dict[str, Any]:
    """A new rule (hq_admin). Its terms never change; end it and add another instead."""
    require(actor, CommissionPermission.manage_rules)
    if store_code and region_code:
        raise InvalidCommissionRule("name a store or a region, not both", field="region_code")
    if valid_until is not None and valid_until < valid_from:
        raise InvalidCommissionRule("valid_until is before valid_from", field="valid_until")
    if basis not in (RATE, PER_UNIT):
        raise InvalidCommissionRule("basis is rate or per_unit", field="basis")
    if basis == PER_UNIT and amount_per_unit_minor <= 0:
        raise InvalidCommissionRule(
            "a per_unit rule needs amount_per_unit_minor", field="amount_per_unit_minor"
        )
    if basis == RATE and amount_per_unit_minor:
        raise InvalidCommissionRule(
            "a rate rule has no amount_per_unit_minor", field="amount_per_unit_minor"
        )
    if not 0 <= rate_bp <= BP:
        raise InvalidCommissionRule("rate_bp is 0 to 10000", field="rate_bp")
    if not 0 <= pool_share_bp <= BP:
        raise InvalidCommissionRule("pool_share_bp is 0 to 10000", field="pool_share_bp")
    checked_levels = _check_levels(level_mode, levels, basis)
    async with transaction():
        if await CommissionRule.exists().where(CommissionRule.code == code):
            raise DuplicateCode(f"Commission rule {code} exists", field="code")
        row = {
            "code": code,
            "name": name,
            "valid_from": valid_from,
            "valid_until": valid_until,
            "store": await _id_by_code(Store, store_code, "store_code"),
            "region": await _id_by_code(Region, region_code, "region_code"),
            "category": await _id_by_code(Category, category_code, "category_code"),
            "brand": await _id_by_code(Brand, brand_code, "brand_code"),
            "product": await _id_by_code(Product, sku, "sku", Product.sku),
            "basis": basis,
            "rate_bp": rate_bp if level_mode == FLAT else 0,
            "amount_per_unit_minor": amount_per_unit_minor,
            "exclude_points_paid": exclude_points_paid,
            "pool_share_bp": pool_share_bp,
            "level_mode": level_mode,
            "levels": json.dumps(checked_levels),
        }
        now = utc_now()
        await CommissionRule.insert(
            CommissionRule(**row, created_at=now, updated_at=now, created_by=actor.staff_id)
        ).run()
        await bump_rules_version()
        await audit.record(
            actor,
            "commission_rule.create",
            "commission_rule",
            code,
            store_code=store_code,
            after={**row, "levels": checked_levels},
        )
    return await get_rule(code)


RULE_COLUMNS = (
    CommissionRule.id,
    CommissionRule.code,
    CommissionRule.name,
    CommissionRule.valid_from,
    CommissionRule.valid_until,
    CommissionRule.store.code.as_alias("store_code"),
    CommissionRule.region.code.as_alias("region_code"),
    CommissionRule.category.code.as_alias("category_code"),
    CommissionRule.brand.code.as_alias("brand_code"),
    CommissionRule.product.sku.as_alias("sku"),
    CommissionRule.basis,
    CommissionRule.rate_bp,
    CommissionRule.amount_per_unit_minor,
    CommissionRule.exclude_points_paid,
    CommissionRule.pool_share_bp,
    CommissionRule.level_mode,
    CommissionRule.levels,
)


async def get_rule(code: str) -> dict[str, Any]:
    rows = (
        await CommissionRule.select(*RULE_COLUMNS)
        .where(CommissionRule.code == code)
        .output(load_json=True)
    )
    if not rows:
        raise CommissionRuleNotFound(f"No commission rule {code}", field="code")
    return rows[0]


async def list_rules(actor: Actor, on: dt.date | None = None) -> list[dict[str, Any]]:
    """Every rule (managers and analysts read them to explain a statement)."""
    if not (actor.chain_wide or Role.store_manager in actor.roles):
        raise Forbidden("Your role may not read commission rules")
    query = CommissionRule.select(*RULE_COLUMNS).order_by(CommissionRule.code)
    if on is not None:
        query = query.where(
            (CommissionRule.valid_from <= on)
            & ((CommissionRule.valid_until.is_null()) | (CommissionRule.valid_until >= on))
        )
    return await query.output(load_json=True)  # type: ignore[no-any-return]


async def end_rule(actor: Actor, code: str, valid_until: dt.date) -> dict[str, Any]:
    """End a rule after ``valid_until`` (its last day). What it paid stays as it was."""
    require(actor, CommissionPermission.manage_rules)
    async with transaction():
        before = await get_rule(code)
        if valid_until < before["valid_from"]:
            raise InvalidCommissionRule("valid_until is before valid_from", field="valid_until")
        await CommissionRule.update(
            {CommissionRule.valid_until: valid_until, CommissionRule.updated_at: utc_now()}
        ).where(CommissionRule.code == code)
        await bump_rules_version()
        await audit.record(
            actor,
            "commission_rule.end",
            "commission_rule",
            code,
            before={"valid_until": before["valid_until"]},
            after={"valid_until": valid_until},
        )
    return await get_rule(code)


# ------------------------------------------------------------------- targets, pool shares


async def set_target(
    actor: Actor,
    store_code: str,
    month: dt.date,
    target_minor: int,
    employee_no: str | None = None,
) -> dict[str, Any]:
    """A month's sales target of a store, or of one salesperson in it (upsert)."""
    store = await store_by_code(store_code)
    require(actor, CommissionPermission.manage_targets, store["id"])
    if target_minor < 0:
        raise InvalidInput("target_minor must not be negative", field="target_minor")
    staff_id = (await staff_by_employee_no(employee_no))["id"] if employee_no else None
    month = month_start(month)
    async with transaction():
        condition = (
            (CommissionTarget.store == store["id"])
            & (CommissionTarget.month_start == month)
            & (
                CommissionTarget.staff.is_null()
                if staff_id is None
                else CommissionTarget.staff == staff_id
            )
        )
        existing = await CommissionTarget.select(CommissionTarget.target_minor).where(condition)
        values = {
            CommissionTarget.target_minor: target_minor,
            CommissionTarget.updated_at: utc_now(),
            CommissionTarget.updated_by: actor.staff_id,
        }
        if existing:
            await CommissionTarget.update(values).where(condition)
        else:
            await CommissionTarget.insert(
                CommissionTarget(
                    store=store["id"],
                    staff=staff_id,
                    month_start=month,
                    target_minor=target_minor,
                    updated_at=utc_now(),
                    updated_by=actor.staff_id,
                )
            ).run()
        await audit.record(
            actor,
            "commission_target.set",
            "commission_target",
            f"{store_code}:{month_label(month)}:{employee_no or '*'}",
            store_code=store_code,
            before={"target_minor": existing[0]["target_minor"]} if existing else None,
            after={"target_minor": target_minor},
        )
    return {
        "store_code": store_code,
        "month": month_label(month),
        "employee_no": employee_no,
        "target_minor": target_minor,
    }


async def set_pool_shares(
    actor: Actor, store_code: str, weights: Sequence[tuple[str, int]]
) -> list[dict[str, Any]]:
    """Replace how the store's pool is split at close: (employee_no, weight) pairs."""
    store = await store_by_code(store_code)
    require(actor, CommissionPermission.manage_targets, store["id"])
    resolved: list[tuple[int, str, int]] = []
    for index, (employee_no, weight) in enumerate(weights):
        if weight < 0:
            raise InvalidInput("weight must not be negative", field=f"shares[{index}].weight")
        person = await staff_by_employee_no(employee_no, field=f"shares[{index}].employee_no")
        if any(person["id"] == r[0] for r in resolved):
            raise InvalidInput(f"{employee_no} appears twice", field=f"shares[{index}]")
        resolved.append((person["id"], employee_no, weight))
    async with transaction():
        await CommissionPoolShare.delete().where(CommissionPoolShare.store == store["id"])
        if resolved:
            await CommissionPoolShare.insert(
                *(
                    CommissionPoolShare(
                        store=store["id"], staff=staff_id, weight=weight, updated_at=utc_now()
                    )
                    for staff_id, _, weight in resolved
                )
            ).run()
        await audit.record(
            actor,
            "commission_pool_shares.set",
            "commission_pool_share",
            store_code,
            store_code=store_code,
            after={employee_no: weight for _, employee_no, weight in resolved},
        )
    return [{"employee_no": e, "weight": w} for _, e, w in resolved]


# ------------------------------------------------------------------------------ periods


async def _period_sums(period_id: int) -> dict[str, int]:
    rows = await fetch(
        "SELECT COALESCE(SUM(sales_minor), 0) AS sales_minor, "
        "COALESCE(SUM(commission_minor), 0) AS commission_minor, "
        "COALESCE(SUM(personal_minor), 0) AS personal_minor, "
        "COALESCE(SUM(pool_minor), 0) AS pool_minor, "
        "COALESCE(SUM(pool_share_minor), 0) AS pool_paid_minor, "
        "COUNT(*) AS entry_count FROM commission_entry WHERE period = {}",
        period_id,
    )
    return {key: int(value) for key, value in rows[0].items()}


async def _whole_amount_true_ups(
    period_id: int, store_id: int, last_day: dt.date, now: dt.datetime
) -> None:
    """Whole-amount levels (全额累进) pay the month's whole base under a rule at the rate of
    the level the person's month ended on. During the month each line is paid at the level
    reached with it; at close one ``level_true_up`` entry per person and rule pays the
    difference (negative when refunds took them back below a level). Adjustments landing
    from closed months are left out: they belong to those months' terms."""
    rows = await fetch(
        "SELECT e.staff, e.rule, SUM(e.base_minor) AS base_minor, "
        "SUM(e.commission_minor) AS commission_minor, SUM(e.pool_minor) AS pool_minor "
        "FROM commission_entry e JOIN commission_rule r ON r.id = e.rule "
        "WHERE e.period = {} AND r.level_mode = 'whole' AND e.adjustment = {} "
        "AND e.staff IS NOT NULL AND e.kind IN ('sale', 'refund') "
        "GROUP BY e.staff, e.rule ORDER BY e.rule, e.staff",
        period_id,
        False,
    )
    if not rows:
        return
    tallies = {
        row["staff_key"]: row["sales_minor"]
        for row in await CommissionTally.select(
            CommissionTally.staff_key, CommissionTally.sales_minor
        ).where(CommissionTally.period == period_id)
    }
    rules = {rule.id: rule for rule in await _load_rules()}
    entries = []
    for row in rows:
        terms = rules[row["rule"]].terms
        index = level_reached(terms.levels, tallies.get(row["staff"], 0))
        rate = terms.levels[index].rate_bp
        due = percent_of(int(row["base_minor"]), rate)
        due_pool = percent_of(due, terms.pool_share_bp)
        true_up = due - int(row["commission_minor"])
        pool_true_up = due_pool - int(row["pool_minor"])
        if true_up == 0 and pool_true_up == 0:
            continue
        entries.append(
            _entry(
                period=period_id,
                store=store_id,
                staff=row["staff"],
                kind="level_true_up",
                source_ref=f"close:{period_id}:{row['rule']}",  # one per person and rule
                rule=row["rule"],
                rate_bp=rate,
                level=index + 1,
                commission_minor=true_up,
                personal_minor=true_up - pool_true_up,
                pool_minor=pool_true_up,
                business_date=last_day,
                occurred_at=now,
                recorded_at=now,
            )
        )
    await insert_entries(entries)


async def close_period(actor: Actor, store_code: str, month: dt.date) -> dict[str, Any]:
    """Close a store's month (store_manager of the store, or hq_admin) once it has ended in
    the store's zone: split the pool, freeze the figures. Nothing in it changes after."""
    store = await store_by_code(store_code)
    require(actor, CommissionPermission.close, store["id"])
    month = month_start(month)
    today = date_in_zone(utc_now(), store["time_zone"])
    if today < next_month(month):
        raise PeriodNotEnded(
            f"{month_label(month)} has not ended in {store['time_zone']}", field="month"
        )
    async with transaction():
        period_id, _ = await _lock_period(store["id"], month)
        lock = "" if is_sqlite() else " FOR UPDATE"
        status = await fetch("SELECT status FROM commission_period WHERE id = {}" + lock, period_id)
        if status[0]["status"] != "open":
            raise PeriodAlreadyClosed(f"{store_code} {month_label(month)} is closed already")
        now = utc_now()
        last_day = next_month(month) - dt.timedelta(days=1)
        await _whole_amount_true_ups(period_id, store["id"], last_day, now)
        sums = await _period_sums(period_id)
        weights = await CommissionPoolShare.select(
            CommissionPoolShare.staff, CommissionPoolShare.weight
        ).where((CommissionPoolShare.store == store["id"]) & (CommissionPoolShare.weight > 0))
        recipients = sorted((row["staff"], row["weight"]) for row in weights)
        if not recipients:
            sellers = await fetch(
                "SELECT DISTINCT staff FROM commission_entry WHERE period = {} "
                "AND kind = 'sale' AND staff IS NOT NULL",
                period_id,
            )
            recipients = sorted((row["staff"], 1) for row in sellers)
        entries = []
        if recipients and sums["pool_minor"]:
            shares = allocate(sums["pool_minor"], [weight for _, weight in recipients])
            for (staff_id, weight), share in zip(recipients, shares, strict=True):
                entries.append(
                    _entry(
                        period=period_id,
                        store=store["id"],
                        staff=staff_id,
                        kind="pool_share",
                        source_ref=f"close:{period_id}",
                        share_bp=weight,
                        pool_share_minor=share,
                        business_date=last_day,
                        occurred_at=now,
                        recorded_at=now,
                    )
                )
            await insert_entries(entries)
        frozen = await _period_sums(period_id)
        await CommissionPeriod.update(
            {
                CommissionPeriod.status: "closed",
                CommissionPeriod.closed_at: now,
                CommissionPeriod.closed_by: actor.staff_id,
                CommissionPeriod.sales_minor: frozen["sales_minor"],
                CommissionPeriod.commission_minor: frozen["commission_minor"],
                CommissionPeriod.personal_minor: frozen["personal_minor"],
                CommissionPeriod.pool_minor: frozen["pool_minor"],
                CommissionPeriod.pool_paid_minor: frozen["pool_paid_minor"],
                CommissionPeriod.entry_count: frozen["entry_count"],
            }
        ).where(CommissionPeriod.id == period_id)
        await audit.record(
            actor,
            "commission_period.close",
            "commission_period",
            f"{store_code}:{month_label(month)}",
            store_code=store_code,
            after=frozen,
        )
    return {"store_code": store_code, "month": month_label(month), "status": "closed", **frozen}


async def list_periods(actor: Actor, store_code: str | None = None) -> list[dict[str, Any]]:
    """Periods of the stores in the caller's reach, newest first."""
    query = CommissionPeriod.select(
        CommissionPeriod.store.code.as_alias("store_code"),
        CommissionPeriod.month_start,
        CommissionPeriod.status,
        CommissionPeriod.closed_at,
        CommissionPeriod.closed_by.employee_no.as_alias("closed_by"),
    ).order_by(CommissionPeriod.month_start, ascending=False)
    if store_code is not None:
        store = await store_by_code(store_code)
        require(actor, CommissionPermission.read, store["id"])
        query = query.where(CommissionPeriod.store == store["id"])
    elif not can(actor, CommissionPermission.read):
        if actor.home_store_id is None:
            raise Forbidden("Your role may not read commission periods")
        require(actor, CommissionPermission.read, actor.home_store_id)
        query = query.where(CommissionPeriod.store == actor.home_store_id)
    rows = await query
    for row in rows:
        row["month"] = month_label(row.pop("month_start"))
    return rows  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- statements

LINE_COLUMNS = (
    "kind",
    "source_ref",
    "sale_ref",
    "line_no",
    "sku",
    "quantity",
    "share_bp",
    "sales_minor",
    "base_minor",
    "rule_code",
    "rate_bp",
    "amount_per_unit_minor",
    "level",
    "commission_minor",
    "personal_minor",
    "pool_minor",
    "pool_share_minor",
    "adjustment",
    "business_date",
)
SUM_COLUMNS = (
    "sales_minor",
    "commission_minor",
    "personal_minor",
    "pool_minor",
    "pool_share_minor",
)


def attainment_bp(sales_minor: int, target_minor: int | None) -> int | None:
    """Sales as basis points of the target (10000 = 100 %), half-up; None without one."""
    if not target_minor:
        return None
    return divide_half_up(sales_minor * BP, target_minor)


async def _period(store_id: int, month: dt.date) -> dict[str, Any] | None:
    return await (  # type: ignore[no-any-return]
        CommissionPeriod.select()
        .where((CommissionPeriod.store == store_id) & (CommissionPeriod.month_start == month))
        .first()
    )


async def _targets(store_id: int, month: dt.date) -> dict[int | None, int]:
    rows = await CommissionTarget.select(
        CommissionTarget.staff, CommissionTarget.target_minor
    ).where((CommissionTarget.store == store_id) & (CommissionTarget.month_start == month))
    return {row["staff"]: row["target_minor"] for row in rows}


async def _lines(period_id: int, staff_id: int | None = None) -> list[dict[str, Any]]:
    query = CommissionEntry.select(
        CommissionEntry.staff,
        CommissionEntry.staff.employee_no.as_alias("employee_no"),
        CommissionEntry.staff.name.as_alias("staff_name"),
        CommissionEntry.rule.code.as_alias("rule_code"),
        *(getattr(CommissionEntry, column) for column in LINE_COLUMNS if column != "rule_code"),
    ).where(CommissionEntry.period == period_id)
    if staff_id is not None:
        query = query.where(CommissionEntry.staff == staff_id)
    rows = await query.order_by(CommissionEntry.id)
    for row in rows:
        row["adjustment"] = bool(row["adjustment"])
    return rows  # type: ignore[no-any-return]


def _summary(lines: Sequence[dict[str, Any]]) -> dict[str, int]:
    sums = {column: sum(line[column] for line in lines) for column in SUM_COLUMNS}
    sums["adjustments_minor"] = sum(
        line["commission_minor"] for line in lines if line["adjustment"]
    )
    sums["payable_minor"] = sums["personal_minor"] + sums["pool_share_minor"]
    return sums


def _levels_reached(lines: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    best: dict[str, tuple[int, int]] = {}
    for line in lines:
        if line["kind"] == "sale" and line["level"] and line["rule_code"]:
            current = best.get(line["rule_code"], (0, 0))
            if line["level"] > current[0]:
                best[line["rule_code"]] = (line["level"], line["rate_bp"])
    return [
        {"rule_code": code, "level": level, "rate_bp": rate}
        for code, (level, rate) in sorted(best.items())
    ]


async def staff_statement(
    actor: Actor, store_code: str, month: dt.date, employee_no: str
) -> dict[str, Any]:
    """One salesperson's month in one store: every line with its rate and level, the levels
    reached, pool contributed and received, adjustments, target attainment."""
    store = await store_by_code(store_code)
    person = await staff_by_employee_no(employee_no)
    if not may_read_statement(actor, store["id"], person["id"]):
        if not any(role in COMMISSION_PERMISSIONS for role in actor.roles):
            raise NotOwnStatement()
        require(actor, CommissionPermission.read, store["id"])
    month = month_start(month)
    period = await _period(store["id"], month)
    lines = await _lines(period["id"], person["id"]) if period else []
    summary = _summary(lines)
    target = (await _targets(store["id"], month)).get(person["id"])
    return {
        "store_code": store_code,
        "month": month_label(month),
        "status": period["status"] if period else "open",
        "employee_no": employee_no,
        "name": person["name"],
        **summary,
        "pool_contributed_minor": summary["pool_minor"],
        "levels_reached": _levels_reached(lines),
        "target_minor": target,
        "attainment_bp": attainment_bp(summary["sales_minor"], target),
        "lines": [{column: line[column] for column in LINE_COLUMNS} for line in lines],
    }


async def store_statement(actor: Actor, store_code: str, month: dt.date) -> dict[str, Any]:
    """A store's month: one row per salesperson (and one for lines sold by nobody), the
    pool, the totals and the store's target attainment."""
    store = await store_by_code(store_code)
    require(actor, CommissionPermission.read, store["id"])
    month = month_start(month)
    period = await _period(store["id"], month)
    lines = await _lines(period["id"]) if period else []
    targets = await _targets(store["id"], month)
    by_staff: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
    names: dict[int | None, tuple[str | None, str | None]] = {None: (None, None)}
    for line in lines:
        by_staff[line["staff"]].append(line)
        names[line["staff"]] = (line["employee_no"], line["staff_name"])
    people = []
    for staff_id in sorted(by_staff, key=lambda key: (key is None, key or 0)):
        summary = _summary(by_staff[staff_id])
        target = targets.get(staff_id) if staff_id is not None else None
        people.append(
            {
                "employee_no": names[staff_id][0],
                "name": names[staff_id][1],
                **summary,
                "levels_reached": _levels_reached(by_staff[staff_id]),
                "target_minor": target,
                "attainment_bp": attainment_bp(summary["sales_minor"], target),
            }
        )
    totals = _summary(lines)
    store_target = targets.get(None)
    return {
        "store_code": store_code,
        "month": month_label(month),
        "status": period["status"] if period else "open",
        **totals,
        "pool_unpaid_minor": (
            totals["pool_minor"] - totals["pool_share_minor"]
            if period and period["status"] == "closed"
            else 0
        ),
        "target_minor": store_target,
        "attainment_bp": attainment_bp(totals["sales_minor"], store_target),
        "salespeople": people,
    }


async def chain_statement(actor: Actor, month: dt.date) -> dict[str, Any]:
    """Every store's month side by side (hq_admin, analyst)."""
    require(actor, CommissionPermission.read)
    month = month_start(month)
    stores = await Store.select(Store.code).order_by(Store.code)
    rows = []
    for store in stores:
        statement = await store_statement(actor, store["code"], month)
        statement.pop("salespeople")
        rows.append(statement)
    totals = {column: sum(row[column] for row in rows) for column in SUM_COLUMNS}
    return {"month": month_label(month), **totals, "stores": rows}


CSV_LINE_HEADER = ("store_code", "month", "employee_no", "name", *LINE_COLUMNS)
CSV_SUMMARY_HEADER = (
    "store_code",
    "month",
    "employee_no",
    "name",
    "sales_minor",
    "commission_minor",
    "personal_minor",
    "pool_minor",
    "pool_share_minor",
    "adjustments_minor",
    "payable_minor",
    "target_minor",
    "attainment_bp",
)


async def statement_csv(
    actor: Actor,
    store_code: str,
    month: dt.date,
    *,
    employee_no: str | None = None,
    detail: str = "lines",
) -> str:
    """CSV for payroll: every entry (``detail="lines"``) or one row per salesperson
    (``"summary"``); amounts in minor units. A salesperson exports only their own."""
    month = month_start(month)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if detail == "summary":
        if employee_no is not None:
            raise InvalidInput("a summary covers the whole store", field="employee_no")
        statement = await store_statement(actor, store_code, month)
        writer.writerow(CSV_SUMMARY_HEADER)
        for person in statement["salespeople"]:
            writer.writerow(
                [store_code, month_label(month), person["employee_no"] or "", person["name"] or ""]
                + ["" if person[c] is None else person[c] for c in CSV_SUMMARY_HEADER[4:]]
            )
        return out.getvalue()
    if detail != "lines":
        raise InvalidInput("detail is lines or summary", field="detail")
    store = await store_by_code(store_code)
    if employee_no is not None:
        statement = await staff_statement(actor, store_code, month, employee_no)
        rows = [
            {**line, "employee_no": employee_no, "staff_name": statement["name"]}
            for line in statement["lines"]
        ]
    else:
        require(actor, CommissionPermission.read, store["id"])
        period = await _period(store["id"], month)
        rows = await _lines(period["id"]) if period else []
    writer.writerow(CSV_LINE_HEADER)
    for row in rows:
        writer.writerow(
            [store_code, month_label(month), row["employee_no"] or "", row["staff_name"] or ""]
            + [
                "" if row[c] is None else int(row[c]) if isinstance(row[c], bool) else row[c]
                for c in LINE_COLUMNS
            ]
        )
    return out.getvalue()


__all__ = [
    "FLAT",
    "MARGINAL",
    "PER_UNIT",
    "RATE",
    "WHOLE",
    "ActiveRule",
    "CommissionPermission",
    "ProductInfo",
    "SoldLine",
    "chain_statement",
    "choose_rule",
    "close_period",
    "create_rule",
    "end_rule",
    "list_periods",
    "list_rules",
    "record_sale",
    "reverse_refund",
    "set_pool_shares",
    "set_target",
    "staff_statement",
    "statement_csv",
    "store_statement",
]
