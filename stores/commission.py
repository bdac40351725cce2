"""Salesperson commission (营业员提成): posting a sale's lines and taking back refunds.

The POS gateway calls ``record_sale`` and ``reverse_refund`` inside the sale's (refund's) own
open transaction; both join it through ``memberpos.db.transaction()``.

Which rule pays a line is ``stores.commission_rules.choose_rule``'s choice (its module gives
the precedence). A line sold by nobody is paid by the store's default rule and all of it goes
to the store's pool (公佣); nobody's sales reach a level, so such a line is paid at the rule's
first level.

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

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from memberpos.clock import utc_now
from memberpos.db import fetch, is_sqlite, placeholders, transaction
from memberpos.money import allocate
from stores.commission_calc import (
    BP,
    FLAT,
    PER_UNIT,
    Seller,
    Terms,
    line_commission,
    refunded_part,
)
from stores.commission_errors import (
    InvalidCommissionSale,
    RefundExceedsSale,
    SaleCommissionNotRecorded,
)
from stores.commission_periods import (
    _TALLY_UPSERT,
    _add_to_tallies,
    _entry,
    insert_entries,
    landing_period,
    month_start,
)
from stores.commission_rules import ProductInfo, choose_rule, rules_for_token

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


__all__ = [
    "SoldLine",
    "record_sale",
    "reverse_refund",
]
