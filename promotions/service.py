"""What the POS gateway calls around the pricing engine: the promotions live at a sale's own
time for its store, the stacking policy, the coupons a customer presents (validated), and, in
the sale's own transaction, the consumption of limits and coupons (and their return on a full
refund).

Active promotions are cached per process as one snapshot per *generation*: a number in the
single ``promotion_settings`` row that every change HQ makes, and every sell-out, replaces.
Each call reads that one row by primary key (cheap, and exact across any number of
processes) and rebuilds the snapshot only when the number moved. A sale older than the last
definition change (an offline sale uploaded late) is priced from the revisions valid at its
own time instead, read from the database.

Limits: only a promotion with a total units or budget limit keeps counters on its own row
(``used_units``, ``used_budget_minor``, ``used_sales``); they rise by one conditional
``UPDATE … WHERE used + n <= limit`` each, so any number of terminals can never over-sell it.
Unlimited promotions are not counted on their row (a popular one would make every sale of
the chain queue on that row lock); their uses are the ``promotion_use`` rows.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import msgspec

from memberpos.clock import utc_now
from memberpos.db import fetch, fetchrow, insert, is_sqlite, placeholders, transaction
from promotions import codes, engine
from promotions.errors import (
    CouponExpired,
    CouponNotFound,
    CouponNotStarted,
    CouponNotValidHere,
    CouponNotYours,
    CouponUsedUp,
    InvalidCouponCode,
    PromotionSoldOut,
)
from promotions.tables import (
    Coupon,
    CouponRedemption,
    Promotion,
    PromotionRefund,
    PromotionRevision,
    PromotionSettings,
    PromotionUse,
)
from stores.tables import Store

_DEFINITION = msgspec.json.Decoder(engine.PromotionDefinition)
_TARGETING = msgspec.json.Decoder(engine.Targeting)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def decode_definition(raw: str | bytes) -> engine.Promotion:
    return _DEFINITION.decode(raw)


def encode_definition(definition: engine.Promotion) -> str:
    return msgspec.json.encode(definition).decode()


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# The generation row and the per-process cache
# --------------------------------------------------------------------------------------------


async def ensure_settings() -> None:
    await (
        PromotionSettings.insert(
            PromotionSettings(
                id=1,
                exclusive_groups="[]",
                max_combinations=engine.DEFAULT_STACKING_POLICY.max_combinations,
                generation=0,
                changed_at=_EPOCH,
            )
        )
        .on_conflict(target=(PromotionSettings.id,), action="DO NOTHING")
        .run()
    )


async def bump_generation(*, definitions_changed: bool) -> None:
    """Tell every process its cache is stale (in the caller's transaction). A random new
    number, not +1, so a database emptied and refilled (tests, restores) never repeats one.
    Changes of the loyalty program, earning rules and tiers bump it too (their per-process
    copies are kept by generation; see :func:`promotions_and_policy`)."""
    await ensure_settings()
    values: dict[Any, Any] = {PromotionSettings.generation: secrets.randbits(62)}
    if definitions_changed:
        values[PromotionSettings.changed_at] = utc_now()
    await PromotionSettings.update(values).where(PromotionSettings.id == 1)
    invalidate_cache()


@dataclass
class _Snapshot:
    generation: int
    changed_at: datetime
    policy: engine.StackingPolicy
    # (definition, stores, regions) of every active promotion that is not sold out
    promotions: list[engine.Promotion]
    per_store: dict[int, engine.IndexedPromotions] = field(default_factory=dict)


_snapshot: _Snapshot | None = None
_stores: dict[int, tuple[str, str]] = {}


def invalidate_cache() -> None:
    """Drop this process's snapshot (other processes see the new generation on their next
    call)."""
    global _snapshot
    _snapshot = None
    _stores.clear()


# The generation row as columns of another statement, so a caller's read before pricing can
# carry it (a till's basket: the products read; see promotions_and_policy(carrier=...)).
SETTINGS_JOIN = " LEFT JOIN promotion_settings ps ON ps.id = 1"
SETTINGS_COLUMNS = (
    "ps.generation AS settings_generation, ps.changed_at AS settings_changed_at,"
    " ps.exclusive_groups AS settings_exclusive_groups,"
    " ps.max_combinations AS settings_max_combinations"
)


async def _settings(carrier: Mapping[str, Any] | None = None) -> dict[str, Any]:
    # Read before every priced basket: one hand-written statement, unless a row of the
    # caller's own read carries it (``carrier``, read with SETTINGS_COLUMNS).
    if carrier is None:
        carrier = await fetchrow(
            f"SELECT {SETTINGS_COLUMNS} FROM (SELECT 1 AS one) one{SETTINGS_JOIN}"
        )
    assert carrier is not None  # one row, whether the settings row exists or not
    row: dict[str, Any] | None = None
    if carrier["settings_generation"] is not None:
        names = ("generation", "changed_at", "exclusive_groups", "max_combinations")
        row = {name: carrier[f"settings_{name}"] for name in names}
    if row is None:
        return {
            "generation": 0,
            "changed_at": _EPOCH,
            "exclusive_groups": "[]",
            "max_combinations": engine.DEFAULT_STACKING_POLICY.max_combinations,
        }
    row["changed_at"] = aware(row["changed_at"])
    return row


def _policy(row: dict[str, Any]) -> engine.StackingPolicy:
    pairs = msgspec.json.decode(row["exclusive_groups"] or "[]", type=list[tuple[str, str]])
    return engine.StackingPolicy(
        exclusive_groups=frozenset(pairs), max_combinations=row["max_combinations"]
    )


def _sold_out(row: dict[str, Any]) -> bool:
    return (row["limit_units"] is not None and row["used_units"] >= row["limit_units"]) or (
        row["limit_budget_minor"] is not None
        and row["used_budget_minor"] >= row["limit_budget_minor"]
    )


async def _current_snapshot(carrier: Mapping[str, Any] | None = None) -> _Snapshot:
    """The promotions of the generation read now (or carried by ``carrier``: _settings)."""
    global _snapshot
    settings = await _settings(carrier)
    if _snapshot is not None and _snapshot.generation == settings["generation"]:
        return _snapshot
    rows = (
        await Promotion.select(
            Promotion.code,
            Promotion.definition,
            Promotion.limit_units,
            Promotion.limit_budget_minor,
            Promotion.used_units,
            Promotion.used_budget_minor,
        )
        .where(Promotion.status == "active")
        .order_by(Promotion.code)
    )
    snapshot = _Snapshot(
        generation=settings["generation"],
        changed_at=settings["changed_at"],
        policy=_policy(settings),
        promotions=[decode_definition(row["definition"]) for row in rows if not _sold_out(row)],
    )
    _snapshot = snapshot
    return snapshot


async def store_scope(store_id: int) -> tuple[str, str]:
    """(store code, region code) of a store, cached per process."""
    found = _stores.get(store_id)
    if found is None:
        row = (
            await Store.select(Store.code, Store.region.code.as_alias("region_code"))
            .where(Store.id == store_id)
            .first()
        )
        if row is None:
            from stores.errors import UnknownStore

            raise UnknownStore(f"No store with id {store_id}", field="store_id")
        found = (row["code"], row["region_code"])
        _stores[store_id] = found
    return found


def _in_scope(definition: engine.Promotion, store_code: str, region_code: str) -> bool:
    if not definition.stores and not definition.regions:
        return True
    return store_code in definition.stores or region_code in definition.regions


def _for_store(
    promotions: list[engine.Promotion], store_code: str, region_code: str
) -> engine.IndexedPromotions:
    """The promotions in scope for the store. One that runs in the store through its region
    also lists the store itself, so the engine finds it in scope from the store code alone
    (a sale context that carries no region code still gets its region's promotions)."""
    found = []
    for promotion in promotions:
        if not _in_scope(promotion, store_code, region_code):
            continue
        if promotion.stores or promotion.regions:
            if store_code not in promotion.stores:
                promotion = msgspec.structs.replace(
                    promotion, stores=promotion.stores | {store_code}
                )
        found.append(promotion)
    return engine.IndexedPromotions(found)


async def _promotions_at(at: datetime) -> list[engine.Promotion]:
    """Definitions of the revisions that were active at ``at`` (and are not sold out now)."""
    rows = (
        await PromotionRevision.select(
            PromotionRevision.definition,
            PromotionRevision.promotion.code.as_alias("code"),
            PromotionRevision.promotion.limit_units.as_alias("limit_units"),
            PromotionRevision.promotion.limit_budget_minor.as_alias("limit_budget_minor"),
            PromotionRevision.promotion.used_units.as_alias("used_units"),
            PromotionRevision.promotion.used_budget_minor.as_alias("used_budget_minor"),
        )
        .where(
            (PromotionRevision.status == "active")
            & (PromotionRevision.effective_from <= at)
            & (PromotionRevision.effective_to.is_null() | (PromotionRevision.effective_to > at))
        )
        .order_by(PromotionRevision.promotion.code)
    )
    return [decode_definition(row["definition"]) for row in rows if not _sold_out(row)]


# --------------------------------------------------------------------------------------------
# What the gateway calls to price
# --------------------------------------------------------------------------------------------


async def active_promotions(store_id: int, at: datetime) -> list[engine.Promotion]:
    """The promotions live at ``at`` in scope for the store (or its region: such a
    definition comes back with the store added to its ``stores``), sold-out ones left out,
    as an :class:`engine.IndexedPromotions` (read-only, shared: copy it with ``list()`` to
    change it). Cached per process; see the module docstring."""
    return await _active_in(await _current_snapshot(), store_id, at)


async def promotions_and_policy(
    store_id: int, at: datetime, *, carrier: Mapping[str, Any] | None = None
) -> tuple[list[engine.Promotion], engine.StackingPolicy, int]:
    """:func:`active_promotions` and :func:`stacking_policy` from one snapshot (one read of
    the generation row instead of two), and the generation read. The generation also
    versions the per-process copies of the loyalty program, the earning rules and the tiers
    (every change of those bumps it in its own transaction): a caller passes it on to read
    them from those copies. ``carrier``: a row of the caller's own statement that read the
    generation row with it (:data:`SETTINGS_JOIN`, :data:`SETTINGS_COLUMNS`), not read again."""
    snapshot = await _current_snapshot(carrier)
    return await _active_in(snapshot, store_id, at), snapshot.policy, snapshot.generation


async def _active_in(snapshot: _Snapshot, store_id: int, at: datetime) -> list[engine.Promotion]:
    at = aware(at)
    store_code, region_code = await store_scope(store_id)
    if at < snapshot.changed_at:
        # Priced with the definitions of its own time: not cached, late uploads are rare.
        return _for_store(await _promotions_at(at), store_code, region_code)
    indexed = snapshot.per_store.get(store_id)
    if indexed is None:
        indexed = _for_store(snapshot.promotions, store_code, region_code)
        snapshot.per_store[store_id] = indexed
    return indexed


async def stacking_policy() -> engine.StackingPolicy:
    """Which promotion groups exclude each other (HQ sets it; cached like the promotions)."""
    return (await _current_snapshot()).policy


# --------------------------------------------------------------------------------------------
# Coupons presented at the till
# --------------------------------------------------------------------------------------------

_COUPON_COLUMNS = (
    Coupon.id,
    Coupon.code,
    Coupon.member,
    Coupon.uses,
    Coupon.max_uses,
    Coupon.batch.code.as_alias("batch_code"),
    Coupon.batch.name.as_alias("name"),
    Coupon.batch.name_zh.as_alias("name_zh"),
    Coupon.batch.kind.as_alias("kind"),
    Coupon.batch.amount_off_minor.as_alias("amount_off_minor"),
    Coupon.batch.percent_off_bp.as_alias("percent_off_bp"),
    Coupon.batch.cap_minor.as_alias("cap_minor"),
    Coupon.batch.minimum_spend_minor.as_alias("minimum_spend_minor"),
    Coupon.batch.gift_sku.as_alias("gift_sku"),
    Coupon.batch.gift_quantity.as_alias("gift_quantity"),
    Coupon.batch.gift_value_minor.as_alias("gift_value_minor"),
    Coupon.batch.targeting.as_alias("targeting"),
    Coupon.batch.store_codes.as_alias("store_codes"),
    Coupon.batch.region_codes.as_alias("region_codes"),
    Coupon.batch.valid_from.as_alias("valid_from"),
    Coupon.batch.valid_to.as_alias("valid_to"),
    Coupon.batch.status.as_alias("batch_status"),
)


def engine_coupon(row: dict[str, Any]) -> engine.Coupon:
    return engine.Coupon(
        code=row["code"],
        kind=row["kind"],
        name=row["name"],
        name_zh=row["name_zh"] or row["name"],
        amount_off_minor=row["amount_off_minor"],
        percent_off_bp=row["percent_off_bp"],
        cap_minor=row["cap_minor"],
        minimum_spend_minor=row["minimum_spend_minor"],
        gift_sku=row["gift_sku"],
        gift_quantity=row["gift_quantity"],
        gift_value_minor=row["gift_value_minor"],
        targeting=_TARGETING.decode(row["targeting"] or "{}"),
    )


def normalise_code(text: str, *, field: str = "coupons") -> str:
    """The stored form of a typed code, or ``invalid_coupon_code`` (400) when its check
    character says it was mistyped — refused before any lookup."""
    code = codes.normalise(text)
    if not codes.is_valid(code):
        raise InvalidCouponCode(
            f"{text!r} is not a valid coupon code; check it was typed correctly", field=field
        )
    return code


async def coupons_for_sale(
    codes_presented: Sequence[str],
    *,
    member_id: int | None,
    store_id: int,
    at: datetime,
) -> list[engine.Coupon]:
    """The presented coupons as the engine takes them, each checked in this order: check
    character (``invalid_coupon_code`` 400), existence (``coupon_not_found`` 404), validity
    at ``at`` (``coupon_not_started`` / ``coupon_expired`` 422), uses left
    (``coupon_used_up`` 409), owner (``coupon_not_yours`` 403), store scope
    (``coupon_not_valid_here`` 422). A code presented twice counts once."""
    at = aware(at)
    wanted: list[str] = []
    for text in codes_presented:
        code = normalise_code(text)
        if code not in wanted:
            wanted.append(code)
    if not wanted:
        return []
    rows = {
        row["code"]: row
        for row in await Coupon.select(*_COUPON_COLUMNS).where(Coupon.code.is_in(wanted))
    }
    store_code, region_code = await store_scope(store_id)
    found = []
    for code in wanted:
        row = rows.get(code)
        shown = codes.display(code)
        if row is None:
            raise CouponNotFound(f"No coupon {shown}", field="coupons", coupon_code=code)
        if at < aware(row["valid_from"]):
            raise CouponNotStarted(
                f"Coupon {shown} is valid from {aware(row['valid_from']).isoformat()}",
                field="coupons",
                coupon_code=code,
            )
        if at >= aware(row["valid_to"]) or row["batch_status"] != "active":
            raise CouponExpired(
                f"Coupon {shown} expired {aware(row['valid_to']).isoformat()}",
                field="coupons",
                coupon_code=code,
            )
        if row["uses"] >= row["max_uses"]:
            raise CouponUsedUp(f"Coupon {shown} has been used", field="coupons", coupon_code=code)
        if row["member"] is not None and row["member"] != member_id:
            raise CouponNotYours(
                f"Coupon {shown} belongs to another member", field="coupons", coupon_code=code
            )
        stores = msgspec.json.decode(row["store_codes"] or "[]", type=list[str])
        regions = msgspec.json.decode(row["region_codes"] or "[]", type=list[str])
        if (stores or regions) and store_code not in stores and region_code not in regions:
            raise CouponNotValidHere(
                f"Coupon {shown} is not valid in store {store_code}",
                field="coupons",
                coupon_code=code,
            )
        found.append(engine_coupon(row))
    return found


# --------------------------------------------------------------------------------------------
# Committing a sale, reversing a refund
# --------------------------------------------------------------------------------------------


def _units_of(priced: engine.PricedBasket, promotion_id: str) -> int:
    """Units a promotion used in a sale, for its units limit: the items that received part
    of its discount, plus the gifts it handed over; one that changes no price (points) or
    whose gift is handed over counts at least one."""
    units = sum(
        line.quantity
        for line in priced.lines
        if any(a.promotion_id == promotion_id and a.amount_minor > 0 for a in line.adjustments)
    )
    units += sum(gift.quantity for gift in priced.gifts if gift.promotion_id == promotion_id)
    return max(units, 1)


async def _consume_member_limit(
    promotion: dict[str, Any], member_id: int, period: str, limit: int
) -> None:
    # One round trip: the first use inserts the row at 1 (limits are positive), a later one
    # raises it only while it stays within the limit; no row back means the limit is reached.
    updated = await fetch(
        "INSERT INTO promotion_member_usage (promotion, member, period, uses) "
        "VALUES ({}, {}, {}, 1) "
        "ON CONFLICT (promotion, member, period) DO UPDATE "
        "SET uses = promotion_member_usage.uses + 1 "
        "WHERE promotion_member_usage.uses + 1 <= {} "
        "RETURNING uses",
        promotion["id"],
        member_id,
        period,
        limit,
    )
    if not updated:
        what = "today" if period.startswith("day:") else "during this promotion"
        raise PromotionSoldOut(
            f"Promotion {promotion['code']} is limited to {limit} use(s) per member {what}",
            field="promotions",
            promotion_id=promotion["code"],
        )


async def commit_sale(
    *,
    sale_ref: str,
    member_id: int | None,
    store_id: int,
    business_date: date,
    at: datetime,
    priced: engine.PricedBasket,
) -> None:
    """In the sale's open transaction: consume the limits of every applied promotion (total
    units, budget, per member per day and per promotion) and redeem every applied coupon, each
    by a conditional atomic update. Raises ``promotion_sold_out`` (409: quote again) or
    ``coupon_used_up`` (409), which roll the sale back. Idempotent by ``sale_ref``."""
    at = aware(at)
    applied = sorted(
        (a for a in priced.applied if a.coupon_code is None and a.kind != "manual"),
        key=lambda a: a.promotion_id,
    )
    coupons = sorted(
        (a for a in priced.applied if a.coupon_code is not None), key=lambda a: a.coupon_code or ""
    )
    if not applied and not coupons:
        return  # nothing to count or redeem: no round trip on the sale's path
    async with transaction():
        wanted = [
            (a.promotion_id, _units_of(priced, a.promotion_id), a.total_amount_minor)
            for a in applied
        ]
        claim = (sale_ref, member_id, store_id, business_date, at)
        sqlite = is_sqlite()
        if sqlite:
            claimed = await fetch(_CLAIM_SALE, *claim)
            if not claimed:
                return  # committed before: a replay
            sale_id = claimed[0]["id"]
            found = (
                await fetch(
                    f"SELECT {_LIMIT_COLUMNS} FROM promotion"
                    f" WHERE code IN ({placeholders(len(wanted))})",
                    *[code for code, _, _ in wanted],
                )
                if wanted
                else []
            )
        else:
            # One statement: the sale claimed, the promotions' limits read, and (when it was
            # claimed) their uses written; a refusal below rolls it all back with the sale.
            found = await _claim_and_use(claim, wanted, member_id, business_date, at)
            if not found or found[0]["sale_id"] is None:
                return  # committed before: a replay
            sale_id = found[0]["sale_id"]
        rows = {row["code"]: row for row in found if row["code"] is not None}
        sold_out_now = False
        uses: list[dict[str, Any]] = []
        redemptions: list[dict[str, Any]] = []
        # Promotions in id order, then coupons in code order: every sale takes its row locks
        # in the same order, so two sales never wait on each other in a cycle.
        for code, units, amount in wanted:
            promotion = rows.get(code)
            if promotion is None:
                continue  # not a stored promotion (priced from a definition given directly)
            if promotion["limit_units"] is not None or promotion["limit_budget_minor"] is not None:
                updated = await fetch(
                    "UPDATE promotion SET used_units = used_units + {}, "
                    "used_budget_minor = used_budget_minor + {}, used_sales = used_sales + 1 "
                    "WHERE id = {} "
                    "AND (limit_units IS NULL OR used_units + {} <= limit_units) "
                    "AND (limit_budget_minor IS NULL "
                    "OR used_budget_minor + {} <= limit_budget_minor) "
                    "RETURNING used_units, used_budget_minor, limit_units, limit_budget_minor",
                    units,
                    amount,
                    promotion["id"],
                    units,
                    amount,
                )
                if not updated:
                    raise PromotionSoldOut(
                        f"Promotion {promotion['code']} has no {units} unit(s) or "
                        f"{amount} of budget left for this sale",
                        field="promotions",
                        promotion_id=promotion["code"],
                    )
                sold_out_now = sold_out_now or _sold_out(updated[0])
            if member_id is not None and promotion["limit_per_member_per_day"] is not None:
                await _consume_member_limit(
                    promotion,
                    member_id,
                    f"day:{business_date.isoformat()}",
                    promotion["limit_per_member_per_day"],
                )
            if member_id is not None and promotion["limit_per_member"] is not None:
                await _consume_member_limit(
                    promotion, member_id, "all", promotion["limit_per_member"]
                )
            if sqlite:
                uses.append(
                    {
                        "promotion": promotion["id"],
                        "sale": sale_id,
                        "member": member_id,
                        "business_date": business_date,
                        "units": units,
                        "amount_minor": amount,
                        "at": at,
                    }
                )
        for coupon_applied in coupons:
            code = coupon_applied.coupon_code or ""
            redemption = (
                code,
                sale_ref,
                member_id,
                store_id,
                coupon_applied.total_amount_minor,
                at,
            )
            if sqlite:
                updated = await fetch(_USE_COUPON + " RETURNING id", code)
            else:
                # One statement: the use counted and, when it was, the redemption written.
                updated = await fetch(
                    f"WITH used AS ({_USE_COUPON} RETURNING id) INSERT INTO coupon_redemption"
                    f" ({_REDEMPTION_COLUMNS}) SELECT used.id, CAST({{}} AS VARCHAR),"
                    " CAST({} AS INTEGER), CAST({} AS INTEGER), CAST({} AS BIGINT),"
                    " CAST({} AS TIMESTAMPTZ) FROM used RETURNING coupon AS id",
                    *redemption,
                )
            if not updated:
                if not await fetch("SELECT 1 FROM coupon WHERE code = {}", code):
                    raise CouponNotFound(
                        f"No coupon {codes.display(code)}", field="coupons", coupon_code=code
                    )
                raise CouponUsedUp(
                    f"Coupon {codes.display(code)} has been used",
                    field="coupons",
                    coupon_code=code,
                )
            if sqlite:
                redemptions.append(
                    {
                        "coupon": updated[0]["id"],
                        "sale_ref": sale_ref,
                        "member": member_id,
                        "store": store_id,
                        "amount_minor": coupon_applied.total_amount_minor,
                        "at": at,
                    }
                )
        if sqlite:
            # One INSERT each for the sale's uses and redemptions, not one per promotion/coupon
            # (on PostgreSQL they were written above, with the claim and with each coupon).
            await insert("promotion_use", uses)
            await insert("coupon_redemption", redemptions)
        if sold_out_now:
            await bump_generation(definitions_changed=False)


_CLAIM_SALE = (
    "INSERT INTO promotion_sale (sale_ref, member, store, business_date, at)"
    " VALUES ({}, {}, {}, {}, {}) ON CONFLICT (sale_ref) DO NOTHING RETURNING id"
)
_LIMIT_COLUMNS = (
    "id, code, limit_units, limit_budget_minor, limit_per_member_per_day, limit_per_member"
)
_USE_COUPON = "UPDATE coupon SET uses = uses + 1 WHERE code = {} AND uses < max_uses"
_REDEMPTION_COLUMNS = "coupon, sale_ref, member, store, amount_minor, at"


async def _claim_and_use(
    claim: tuple[Any, ...],
    wanted: list[tuple[str, int, int]],
    member_id: int | None,
    business_date: date,
    at: datetime,
) -> Sequence[Any]:
    """PostgreSQL: claim the sale and, when claimed, write the use of each stored promotion
    of ``wanted`` (code, units, amount; in that order); the rows of those promotions, each
    with the claimed sale's id (None: a replay), or one row of the id alone."""
    if not wanted:
        return await fetch(
            f"WITH claim AS ({_CLAIM_SALE}) SELECT (SELECT id FROM claim) AS sale_id, NULL AS code",
            *claim,
        )
    values = ", ".join(
        ["(CAST({} AS INTEGER), CAST({} AS VARCHAR), CAST({} AS BIGINT), CAST({} AS BIGINT))"]
        * len(wanted)
    )
    args: list[Any] = []
    for position, (code, units, amount) in enumerate(wanted):
        args.extend((position, code, units, amount))
    columns = ", ".join(f"p.{column.strip()}" for column in _LIMIT_COLUMNS.split(","))
    return await fetch(
        f"WITH claim AS ({_CLAIM_SALE}),"
        f" wanted (position, code, units, amount) AS (VALUES {values}),"
        " uses AS (INSERT INTO promotion_use"
        " (promotion, sale, member, business_date, units, amount_minor, at)"
        " SELECT p.id, claim.id, CAST({} AS INTEGER), CAST({} AS DATE), w.units, w.amount,"
        " CAST({} AS TIMESTAMPTZ) FROM claim, wanted w JOIN promotion p ON p.code = w.code"
        " ORDER BY w.position RETURNING id)"
        f" SELECT (SELECT id FROM claim) AS sale_id, {columns}"
        " FROM wanted w JOIN promotion p ON p.code = w.code"
        " UNION ALL SELECT (SELECT id FROM claim), NULL, NULL, NULL, NULL, NULL, NULL",
        *claim,
        *args,
        member_id,
        business_date,
        at,
    )


async def reverse_refund(*, refund_ref: str, sale_ref: str, full: bool, at: datetime) -> None:
    """A refund of a committed sale. A full refund reinstates the sale's coupons (one use
    back each) and gives its promotions' limit use back (units, budget, per-member uses). A
    partial refund keeps both: the customer keeps the rest of the basket the promotion or
    coupon paid for, and a coupon is not split. Idempotent by ``refund_ref``; a sale is
    reversed at most once whatever the number of refunds."""
    at = aware(at)
    async with transaction():
        inserted = (
            await PromotionRefund.insert(
                PromotionRefund(
                    refund_ref=refund_ref,
                    sale_ref=sale_ref,
                    full="full" if full else "partial",
                    at=at,
                )
            )
            .on_conflict(target=(PromotionRefund.refund_ref,), action="DO NOTHING")
            .returning(PromotionRefund.id)
        )
        if not inserted or not full:
            return
        # The conditional update makes one full refund the one that reverses the sale, even
        # when two arrive at once.
        reversed_sale = await fetch(
            "UPDATE promotion_sale SET reversed_by = {}, reversed_at = {} "
            "WHERE sale_ref = {} AND reversed_at IS NULL RETURNING id, member",
            refund_ref,
            at,
            sale_ref,
        )
        if not reversed_sale:
            return
        sale_id, member_id = reversed_sale[0]["id"], reversed_sale[0]["member"]
        uses = await PromotionUse.select(
            PromotionUse.id,
            PromotionUse.units,
            PromotionUse.amount_minor,
            PromotionUse.business_date,
            PromotionUse.promotion.id.as_alias("promotion_id"),
            PromotionUse.promotion.limit_units.as_alias("limit_units"),
            PromotionUse.promotion.limit_budget_minor.as_alias("limit_budget_minor"),
        ).where((PromotionUse.sale == sale_id) & PromotionUse.reversed_at.is_null())
        back_on_sale = False
        for use in sorted(uses, key=lambda row: row["promotion_id"]):
            if use["limit_units"] is not None or use["limit_budget_minor"] is not None:
                after = await fetch(
                    "UPDATE promotion SET used_units = used_units - {}, "
                    "used_budget_minor = used_budget_minor - {}, used_sales = used_sales - 1 "
                    "WHERE id = {} "
                    "RETURNING used_units, used_budget_minor, limit_units, limit_budget_minor",
                    use["units"],
                    use["amount_minor"],
                    use["promotion_id"],
                )
                before = {
                    **dict(after[0]),
                    "used_units": after[0]["used_units"] + use["units"],
                    "used_budget_minor": after[0]["used_budget_minor"] + use["amount_minor"],
                }
                back_on_sale = back_on_sale or (_sold_out(before) and not _sold_out(after[0]))
            if member_id is not None:
                business_day = use["business_date"]
                for period in (f"day:{business_day.isoformat()}", "all"):
                    await fetch(
                        "UPDATE promotion_member_usage SET uses = uses - 1 "
                        "WHERE promotion = {} AND member = {} AND period = {} AND uses > 0",
                        use["promotion_id"],
                        member_id,
                        period,
                    )
            await PromotionUse.update({PromotionUse.reversed_at: at}).where(
                PromotionUse.id == use["id"]
            )
        redemptions = await CouponRedemption.select(
            CouponRedemption.id, CouponRedemption.coupon
        ).where((CouponRedemption.sale_ref == sale_ref) & CouponRedemption.reversed_at.is_null())
        for redemption in sorted(redemptions, key=lambda row: row["coupon"]):
            await fetch(
                "UPDATE coupon SET uses = uses - 1 WHERE id = {} AND uses > 0",
                redemption["coupon"],
            )
            await CouponRedemption.update(
                {CouponRedemption.reversed_at: at, CouponRedemption.reversed_by: refund_ref}
            ).where(CouponRedemption.id == redemption["id"])
        if back_on_sale:  # a sold-out promotion has units again: every cache must see it
            await bump_generation(definitions_changed=False)
