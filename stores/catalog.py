"""The product catalog: a category tree, brands, products with retail and member prices,
and store-level prices that take effect from a business date in the store's zone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from memberpos.clock import utc_now
from memberpos.db import is_sqlite, transaction
from stores import audit
from stores.access import Actor, Permission
from stores.chain import store_by_code
from stores.errors import (
    DuplicateCode,
    MemberPriceAboveRetail,
    ProductNotFound,
    UnknownBrand,
    UnknownCategory,
)
from stores.tables import Brand, Category, Product, StorePrice

PRODUCT_COLUMNS = (
    Product.id,
    Product.sku,
    Product.name,
    Product.name_en,
    Product.category.code.as_alias("category_code"),
    Product.category.path.as_alias("category_path"),
    Product.brand.code.as_alias("brand_code"),
    Product.barcode,
    Product.unit,
    Product.tags,
    Product.retail_price_minor,
    Product.member_price_minor,
    Product.status,
    Product.created_at,
    Product.updated_at,
)


def _check_prices(retail: int, member: int | None) -> None:
    if member is not None and member > retail:
        raise MemberPriceAboveRetail(
            f"Member price {member} is above the retail price {retail}", field="member_price_minor"
        )


async def list_categories() -> list[dict[str, Any]]:
    return await Category.select(
        Category.id,
        Category.code,
        Category.name,
        Category.name_en,
        Category.parent.code.as_alias("parent_code"),
        Category.path,
    ).order_by(Category.path)


async def create_category(
    actor: Actor, *, code: str, name: str, name_en: str = "", parent_code: str | None = None
) -> dict[str, Any]:
    actor.require(Permission.manage_catalog)
    async with transaction():
        parent_id, path = None, code
        if parent_code:
            parent = (
                await Category.select(Category.id, Category.path)
                .where(Category.code == parent_code)
                .first()
            )
            if parent is None:
                raise UnknownCategory(f"No category {parent_code}", field="parent_code")
            parent_id, path = parent["id"], f"{parent['path']}/{code}"
        if await Category.exists().where(Category.code == code):
            raise DuplicateCode(f"Category {code} exists", field="code")
        await Category.insert(
            Category(code=code, name=name, name_en=name_en, parent=parent_id, path=path)
        ).run()
        await audit.record(
            actor,
            "category.create",
            "category",
            code,
            after={"name": name, "name_en": name_en, "path": path},
        )
    return {
        "code": code,
        "name": name,
        "name_en": name_en,
        "parent_code": parent_code,
        "path": path,
    }


async def list_brands() -> list[dict[str, Any]]:
    return await Brand.select(Brand.id, Brand.code, Brand.name, Brand.name_en).order_by(Brand.code)


async def create_brand(actor: Actor, *, code: str, name: str, name_en: str = "") -> dict[str, Any]:
    actor.require(Permission.manage_catalog)
    async with transaction():
        if await Brand.exists().where(Brand.code == code):
            raise DuplicateCode(f"Brand {code} exists", field="code")
        await Brand.insert(Brand(code=code, name=name, name_en=name_en)).run()
        await audit.record(
            actor, "brand.create", "brand", code, after={"name": name, "name_en": name_en}
        )
    return {"code": code, "name": name, "name_en": name_en}


async def _category_id(code: str) -> int:
    row = await Category.select(Category.id).where(Category.code == code).first()
    if row is None:
        raise UnknownCategory(f"No category {code}", field="category_code")
    return row["id"]


async def _brand_id(code: str | None) -> int | None:
    if not code:
        return None
    row = await Brand.select(Brand.id).where(Brand.code == code).first()
    if row is None:
        raise UnknownBrand(f"No brand {code}", field="brand_code")
    return row["id"]


async def get_product(sku: str) -> dict[str, Any]:
    row = await Product.select(*PRODUCT_COLUMNS).where(Product.sku == sku).first()
    if row is None:
        raise ProductNotFound(f"No product {sku}")
    return row


async def list_products(
    *,
    search: str | None = None,
    category_code: str | None = None,
    brand_code: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    query = Product.select(*PRODUCT_COLUMNS)
    count = Product.count()
    conditions = []
    if search:
        # SQLite's LIKE is already case-insensitive for ASCII; PostgreSQL needs ILIKE.
        pattern = f"%{search}%"
        match = (
            (lambda column: column.like(pattern))
            if is_sqlite()
            else (lambda column: column.ilike(pattern))
        )
        conditions.append(match(Product.sku) | match(Product.name) | match(Product.name_en))
    if category_code:
        path = await Category.select(Category.path).where(Category.code == category_code).first()
        if path is None:
            raise UnknownCategory(f"No category {category_code}", field="category_code")
        conditions.append(Product.category.path.like(f"{path['path']}%"))
    if brand_code:
        conditions.append(Product.brand.code == brand_code)
    for condition in conditions:
        query = query.where(condition)
        count = count.where(condition)
    rows = await query.order_by(Product.sku).limit(limit).offset(offset)
    return rows, await count


async def create_product(
    actor: Actor,
    *,
    sku: str,
    name: str,
    category_code: str,
    retail_price_minor: int,
    member_price_minor: int | None = None,
    name_en: str = "",
    brand_code: str | None = None,
    barcode: str | None = None,
    unit: str = "件",
    tags: list[str] | None = None,
) -> dict[str, Any]:
    actor.require(Permission.manage_catalog)
    _check_prices(retail_price_minor, member_price_minor)
    async with transaction():
        category_id = await _category_id(category_code)
        brand_id = await _brand_id(brand_code)
        if await Product.exists().where(Product.sku == sku):
            raise DuplicateCode(f"SKU {sku} exists", field="sku")
        now = utc_now()
        await Product.insert(
            Product(
                sku=sku,
                name=name,
                name_en=name_en,
                category=category_id,
                brand=brand_id,
                barcode=barcode,
                unit=unit,
                tags=sorted(set(tags or [])),
                retail_price_minor=retail_price_minor,
                member_price_minor=member_price_minor,
                status="active",
                created_at=now,
                updated_at=now,
            )
        ).run()
        product = await get_product(sku)
        await audit.record(
            actor, "product.create", "product", sku, after=_product_audit_view(product)
        )
    return product


def _product_audit_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: row[k]
        for k in (
            "name",
            "name_en",
            "category_code",
            "brand_code",
            "barcode",
            "unit",
            "tags",
            "retail_price_minor",
            "member_price_minor",
            "status",
        )
    }


async def update_product(actor: Actor, sku: str, changes: dict[str, Any]) -> dict[str, Any]:
    actor.require(Permission.manage_catalog)
    async with transaction():
        before = await get_product(sku)
        retail = changes.get("retail_price_minor", before["retail_price_minor"])
        member = changes.get("member_price_minor", before["member_price_minor"])
        _check_prices(retail, member)
        values: dict[Any, Any] = {}
        for key, value in changes.items():
            if key == "category_code":
                values[Product.category] = await _category_id(value)
            elif key == "brand_code":
                values[Product.brand] = await _brand_id(value)
            elif key == "tags":
                values[Product.tags] = sorted(set(value))
            else:
                values[Product._meta.get_column_by_name(key)] = value
        diff = audit.changed_fields(before, changes)
        if diff:
            values[Product.updated_at] = utc_now()
            await Product.update(values).where(Product.sku == sku)
            await audit.record(
                actor,
                "product.update",
                "product",
                sku,
                before={k: before.get(k) for k in diff},
                after=diff,
            )
    return await get_product(sku)


async def set_store_price(
    actor: Actor,
    *,
    sku: str,
    store_code: str,
    effective_from: dt.date,
    retail_price_minor: int,
    member_price_minor: int | None = None,
) -> dict[str, Any]:
    """A store's own price from ``effective_from`` on. A second price for the same date
    replaces nothing: the date is taken (409), set one for another date."""
    store = await store_by_code(store_code)
    actor.require(Permission.manage_store_prices, store["id"])
    _check_prices(retail_price_minor, member_price_minor)
    async with transaction():
        product = await get_product(sku)
        if await StorePrice.exists().where(
            (StorePrice.product == product["id"])
            & (StorePrice.store == store["id"])
            & (StorePrice.effective_from == effective_from)
        ):
            raise DuplicateCode(
                f"{sku} already has a price in {store_code} from {effective_from}",
                field="effective_from",
            )
        await StorePrice.insert(
            StorePrice(
                product=product["id"],
                store=store["id"],
                effective_from=effective_from,
                retail_price_minor=retail_price_minor,
                member_price_minor=member_price_minor,
                created_at=utc_now(),
                created_by=actor.staff_id,
            )
        ).run()
        after = {
            "effective_from": effective_from,
            "retail_price_minor": retail_price_minor,
            "member_price_minor": member_price_minor,
        }
        await audit.record(
            actor, "store_price.set", "product", sku, store_code=store_code, after=after
        )
    return {"sku": sku, "store_code": store_code, **after}


async def list_store_prices(
    actor: Actor, sku: str, store_code: str | None = None
) -> list[dict[str, Any]]:
    product = await get_product(sku)
    query = (
        StorePrice.select(
            StorePrice.store.code.as_alias("store_code"),
            StorePrice.store.id.as_alias("store_id"),
            StorePrice.effective_from,
            StorePrice.retail_price_minor,
            StorePrice.member_price_minor,
        )
        .where(StorePrice.product == product["id"])
        .order_by(StorePrice.effective_from)
    )
    if store_code:
        query = query.where(StorePrice.store.code == store_code)
    visible = actor.visible_store_ids()
    rows = await query
    return [dict(row, sku=sku) for row in rows if visible is None or row["store_id"] in visible]


@dataclass(frozen=True)
class EffectivePrice:
    sku: str
    retail_price_minor: int
    member_price_minor: int | None
    source: str  # "catalog" or "store:<code>:<date>"


async def effective_price(sku: str, store_id: int, on: dt.date) -> EffectivePrice:
    """The price of ``sku`` in a store on a business date: the latest store price in effect,
    else the catalog's."""
    product = await get_product(sku)
    override = (
        await StorePrice.select(
            StorePrice.effective_from,
            StorePrice.retail_price_minor,
            StorePrice.member_price_minor,
            StorePrice.store.code.as_alias("store_code"),
        )
        .where(
            (StorePrice.product == product["id"])
            & (StorePrice.store == store_id)
            & (StorePrice.effective_from <= on)
        )
        .order_by(StorePrice.effective_from, ascending=False)
        .first()
    )
    if override is None:
        return EffectivePrice(
            sku, product["retail_price_minor"], product["member_price_minor"], "catalog"
        )
    return EffectivePrice(
        sku,
        override["retail_price_minor"],
        override["member_price_minor"],
        f"store:{override['store_code']}:{override['effective_from']}",
    )
