"""Commission rules: defining, ending and listing them, the per-process cache of the active
rules and its version token, and choosing the rule that pays a line.

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
The rules are cached per process and reloaded when the version token changes.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from memberpos.clock import utc_now
from memberpos.db import fetch, transaction
from memberpos.errors import Forbidden
from stores import audit
from stores.access import Actor, Role
from stores.commission_access import CommissionPermission, require
from stores.commission_calc import BP, FLAT, MARGINAL, PER_UNIT, RATE, WHOLE, Level, Terms
from stores.commission_errors import CommissionRuleNotFound, InvalidCommissionRule
from stores.commission_tables import CommissionRule, CommissionRulesVersion
from stores.errors import DuplicateCode
from stores.tables import Brand, Category, Product, Region, Store

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


__all__ = [
    "ActiveRule",
    "ProductInfo",
    "choose_rule",
    "create_rule",
    "end_rule",
    "list_rules",
]
