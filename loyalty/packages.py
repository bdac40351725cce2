"""Prepaid service packages (次卡 / 项目储值): N uses of a service or product, valid until a date,
possibly at one store only.

HQ defines a package product; a member buys one (idempotent by source); each use at the
counter is a ledger entry; unused uses can be refunded pro rata; a package past its last day
expires by a ledger entry of the nightly job. Every entry carries ``uses_delta`` and
``amount_minor``, the change of the package's unearned value (what the chain still owes in
service): + price on purchase, − on each use (revenue), refund (cash back) or expiry. So at any
time ``uses_left = sum(uses_delta)`` and value left ``= sum(amount_minor)``, and a use or refund
of ``k`` of ``n`` uses left is worth ``value_left × k / n`` half-up, the last one exactly what is
left: the parts always add up to the price, to the cent.

For the POS gateway (inside the sale's transaction; each joins it):
- ``sell_package(member_id, product_code, source, *, at, price_minor=None) -> PackagePosting``
- ``use_package(member_id, package_id, source, *, at, uses=1) -> PackagePosting``
- ``return_use(member_id, package_id, source, *, original, at) -> PackagePosting``
- ``refund_package(member_id, package_id, source, *, at, uses=None) -> PackagePosting``
  (the cash to hand back is ``-posting.amount_minor``)
``source.store_id`` is the store at the counter; business dates are in its time zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from piccolo.query.functions.aggregate import Sum

from loyalty.accounts import local_date, local_dates
from loyalty.configuration import require_hq_admin
from loyalty.errors import (
    InvalidAmount,
    PackageExpired,
    PackageNotActive,
    PackageNotFound,
    PackageProductNotFound,
    PackageUsedUp,
    PackageWrongStore,
    SourceConflict,
)
from loyalty.points import Source
from loyalty.tables import ServicePackage, ServicePackageEntry, ServicePackageProduct
from memberpos.clock import utc_now
from memberpos.db import transaction
from memberpos.errors import Conflict, InvalidInput
from memberpos.money import divide_half_up
from members.locks import for_update
from stores import audit
from stores.access import Actor
from stores.tables import Store

PRODUCT_FIELDS = ("name", "sku", "uses", "price_minor", "validity_days", "store_code", "active")


@dataclass(frozen=True)
class PackagePosting:
    package_id: int
    entry_id: int
    kind: str
    uses_delta: int
    amount_minor: int
    uses_left: int
    value_left_minor: int
    replayed: bool = False


# ----------------------------------------------------------------------------- products


async def _store_id(store_code: str | None) -> int | None:
    if store_code is None:
        return None
    row = await Store.select(Store.id).where(Store.code == store_code).first()
    if row is None:
        raise InvalidInput(f"No store {store_code!r}", field="store_code")
    return row["id"]


async def _checked_fields(
    changes: dict[str, Any], product: dict[str, Any], *, code: str | None = None
) -> dict[str, Any]:
    """The columns to write for ``changes`` (by name; ``store_code`` becomes the store's id)
    once the product they make (``product``) passes the checks, in this order: known fields,
    name, uses, price, validity, a new product's ``code``, the store."""
    unknown = set(changes) - set(PRODUCT_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    if not str(product.get("name", "")).strip():
        raise InvalidInput("A package needs a name", field="name")
    if product["uses"] < 1 or product["uses"] > 10_000:
        raise InvalidInput("uses must be between 1 and 10,000", field="uses")
    if product["price_minor"] < 0:
        raise InvalidInput("price_minor must not be negative", field="price_minor")
    if product["validity_days"] < 1 or product["validity_days"] > 3_660:
        raise InvalidInput("validity_days must be between 1 and 3,660", field="validity_days")
    if code is not None and (not code.strip() or len(code) > 32):
        raise InvalidInput("code must be 1 to 32 characters", field="code")
    columns = {key: value for key, value in changes.items() if key != "store_code"}
    if "store_code" in changes:
        columns["store"] = await _store_id(changes["store_code"])
    return columns


def _products_query() -> Any:
    return ServicePackageProduct.select(
        *ServicePackageProduct.all_columns(), ServicePackageProduct.store.code.as_alias("sc")
    )


def _product_dict(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": row["code"],
        "name": row["name"],
        "sku": row["sku"],
        "uses": row["uses"],
        "price_minor": row["price_minor"],
        "validity_days": row["validity_days"],
        "store_code": row["sc"],
        "active": row["active"],
    }


async def product_out(code: str) -> dict[str, Any]:
    row = await _products_query().where(ServicePackageProduct.code == code).first()
    if row is None:
        raise PackageProductNotFound(field="code")
    return _product_dict(row)


async def list_products(active_only: bool = False) -> list[dict[str, Any]]:
    """Every product (or the active ones) by code, in one query."""
    query = _products_query().order_by(ServicePackageProduct.code)
    if active_only:
        query = query.where(ServicePackageProduct.active == True)  # noqa: E712
    return [_product_dict(row) for row in await query]


async def define_product(
    actor: Actor | audit.SystemActor,
    *,
    code: str,
    name: str,
    uses: int,
    price_minor: int,
    validity_days: int,
    sku: str | None = None,
    store_code: str | None = None,
) -> dict[str, Any]:
    """HQ defines a package product (audited). Codes are unique."""
    require_hq_admin(actor)
    fields = {
        "name": name.strip(),
        "sku": sku,
        "uses": uses,
        "price_minor": price_minor,
        "validity_days": validity_days,
        "store_code": store_code,
    }
    columns = await _checked_fields(fields, fields, code=code)
    async with transaction():
        inserted = (
            await ServicePackageProduct.insert(
                ServicePackageProduct(code=code, active=True, created_at=utc_now(), **columns)
            )
            .on_conflict(target=(ServicePackageProduct.code,), action="DO NOTHING")
            .returning(ServicePackageProduct.id)
            .run()
        )
        if not inserted:
            raise Conflict(f"A package product {code!r} exists already", field="code")
        result = await product_out(code)
        await audit.record(actor, "create", "package_product", code, after=result)
    return result


async def update_product(
    actor: Actor | audit.SystemActor, code: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Changes a product for future sales; packages sold keep their own terms."""
    require_hq_admin(actor)
    before = await product_out(code)
    columns = await _checked_fields(changes, {**before, **changes})
    values: dict[Any, Any] = {
        getattr(ServicePackageProduct, key): value for key, value in columns.items()
    }
    async with transaction():
        if values:
            await ServicePackageProduct.update(values).where(ServicePackageProduct.code == code)
        after = await product_out(code)
        await audit.record(actor, "update", "package_product", code, before=before, after=after)
    return after


# ----------------------------------------------------------------------------- packages


async def _state(package_id: int) -> tuple[int, int]:
    """(uses left, value left) from the package's entries."""
    row = (
        await ServicePackageEntry.select(
            Sum(ServicePackageEntry.uses_delta).as_alias("uses"),
            Sum(ServicePackageEntry.amount_minor).as_alias("value"),
        )
        .where(ServicePackageEntry.package == package_id)
        .first()
    )
    return (int(row["uses"] or 0), int(row["value"] or 0)) if row else (0, 0)


async def _lock_package(member_id: int, package_id: int) -> dict[str, Any]:
    query = ServicePackage.select().where(
        (ServicePackage.id == package_id) & (ServicePackage.member == member_id)
    )
    row = await for_update(query).first()
    if row is None:
        raise PackageNotFound(field="package_id")
    return row


async def _existing(package_id: int, source: Source, kind: str) -> PackagePosting | None:
    row = (
        await ServicePackageEntry.select()
        .where(
            (ServicePackageEntry.package == package_id)
            & (ServicePackageEntry.source_kind == source.kind)
            & (ServicePackageEntry.source_id == source.id)
            & (ServicePackageEntry.kind == kind)
        )
        .first()
    )
    if row is None:
        return None
    uses_left, value_left = await _state(package_id)
    return PackagePosting(
        package_id,
        row["id"],
        kind,
        row["uses_delta"],
        row["amount_minor"],
        uses_left,
        value_left,
        replayed=True,
    )


async def _post(
    package_id: int,
    uses_delta: int,
    amount_minor: int,
    kind: str,
    source: Source,
    at: dt.datetime,
    status: str | None = None,
) -> PackagePosting:
    inserted = (
        await ServicePackageEntry.insert(
            ServicePackageEntry(
                package=package_id,
                uses_delta=uses_delta,
                kind=kind,
                source_kind=source.kind,
                source_id=source.id,
                amount_minor=amount_minor,
                store=source.store_id,
                created_at=at,
            )
        )
        .returning(ServicePackageEntry.id)
        .run()
    )
    changes: dict[Any, Any] = {ServicePackage.uses_left: ServicePackage.uses_left + uses_delta}
    if status is not None:
        changes[ServicePackage.status] = status
    updated = (
        await ServicePackage.update(changes)
        .where((ServicePackage.id == package_id) & (ServicePackage.uses_left >= -uses_delta))
        .returning(ServicePackage.uses_left)
    )
    if not updated:  # pragma: no cover - the package lock makes this unreachable
        raise PackageUsedUp(field="uses")
    uses_left, value_left = await _state(package_id)
    return PackagePosting(
        package_id, inserted[0]["id"], kind, uses_delta, amount_minor, uses_left, value_left
    )


async def _sold(key: str, member_id: int, product_id: int, source: Source) -> PackagePosting | None:
    """The package this source sold already (a replay), or None; another member's or
    product's package under the same source is a conflict."""
    existing = (
        await ServicePackage.select(
            ServicePackage.id, ServicePackage.member, ServicePackage.product
        )
        .where(ServicePackage.source_id == key)
        .first()
    )
    if existing is None:
        return None
    if existing["member"] != member_id or existing["product"] != product_id:
        raise SourceConflict(field="source_id")
    return await _existing(existing["id"], source, "purchase")


async def sell_package(
    member_id: int,
    product_code: str,
    source: Source,
    *,
    at: dt.datetime,
    price_minor: int | None = None,
) -> PackagePosting:
    """The member buys one package of ``product_code`` (at the product's price unless the
    sale says otherwise, e.g. after a discount). One package per source: a sale buying two
    gives each line its own source id ("S123/2"). A replay returns the first posting."""
    product = (
        await ServicePackageProduct.select()
        .where(ServicePackageProduct.code == product_code)
        .first()
    )
    if product is None:
        raise PackageProductNotFound(field="product_code")
    price = product["price_minor"] if price_minor is None else price_minor
    if price < 0:
        raise InvalidAmount(field="price_minor")
    key = f"{source.kind}:{source.id}"
    if len(key) > 64:
        raise InvalidInput("source id too long", field="source_id")
    async with transaction():
        if (done := await _sold(key, member_id, product["id"], source)) is not None:
            return done
        if not product["active"]:
            raise PackageNotActive("That package product is no longer sold", field="product_code")
        if product["store"] is not None and source.store_id not in (None, product["store"]):
            raise PackageWrongStore("That package is sold at its own store only")
        today = await local_date(at, source.store_id or product["store"])
        inserted = (
            await ServicePackage.insert(
                ServicePackage(
                    member=member_id,
                    product=product["id"],
                    name=product["name"],
                    sku=product["sku"],
                    uses_bought=product["uses"],
                    uses_left=0,
                    price_minor=price,
                    valid_until=today + dt.timedelta(days=product["validity_days"]),
                    store=product["store"],
                    status="active",
                    source_id=key,
                    created_at=at,
                )
            )
            .on_conflict(target=(ServicePackage.source_id,), action="DO NOTHING")
            .returning(ServicePackage.id)
            .run()
        )
        if not inserted:  # the same sale posted at the same moment by another request
            done = await _sold(key, member_id, product["id"], source)
            assert done is not None
            return done
        return await _post(inserted[0]["id"], product["uses"], price, "purchase", source, at)


async def _check_usable(package: dict[str, Any], at: dt.datetime, store_id: int | None) -> None:
    if package["status"] != "active":
        raise PackageNotActive(field="package_id", status=package["status"])
    if package["store"] is not None and store_id != package["store"]:
        raise PackageWrongStore(field="package_id")
    today = await local_date(at, store_id or package["store"])
    if today > package["valid_until"]:
        raise PackageExpired(field="package_id", valid_until=package["valid_until"].isoformat())


async def use_package(
    member_id: int, package_id: int, source: Source, *, at: dt.datetime, uses: int = 1
) -> PackagePosting:
    """One use (or ``uses``) at the counter: one entry, refused when the package is expired
    (by the store's business date), used up, closed or of another store."""
    if uses < 1:
        raise InvalidAmount("uses must be at least 1", field="uses")
    async with transaction():
        package = await _lock_package(member_id, package_id)
        if (done := await _existing(package_id, source, "use")) is not None:
            return done
        await _check_usable(package, at, source.store_id)
        uses_left, value_left = await _state(package_id)
        if uses > uses_left:
            raise PackageUsedUp(field="uses", uses_left=uses_left)
        value = value_left if uses == uses_left else divide_half_up(value_left * uses, uses_left)
        status = "used_up" if uses == uses_left else None
        return await _post(package_id, -uses, -value, "use", source, at, status)


async def return_use(
    member_id: int, package_id: int, source: Source, *, original: Source, at: dt.datetime
) -> PackagePosting:
    """A refund of a sale that used the package gives its uses (and their value) back. The
    package reopens if that use had used it up; a closed (refunded, expired) one refuses."""
    async with transaction():
        package = await _lock_package(member_id, package_id)
        if (done := await _existing(package_id, source, "use_return")) is not None:
            return done
        used = await _existing(package_id, original, "use")
        if used is None:
            raise InvalidInput("That sale did not use this package", field="package_id")
        totals = {
            row["kind"]: int(row["uses"] or 0)
            for row in await ServicePackageEntry.select(
                ServicePackageEntry.kind, Sum(ServicePackageEntry.uses_delta).as_alias("uses")
            )
            .where(
                (ServicePackageEntry.package == package_id)
                & ServicePackageEntry.kind.is_in(["use", "use_return"])
            )
            .group_by(ServicePackageEntry.kind)
        }
        # Never more uses given back than were taken (a refund names its sale once; the
        # gateway's refund bookkeeping keeps one sale's use from being returned twice).
        if totals.get("use_return", 0) - used.uses_delta > -totals.get("use", 0):
            raise Conflict("Those uses were returned already", field="package_id")
        if package["status"] not in ("active", "used_up"):
            raise PackageNotActive(field="package_id", status=package["status"])
        return await _post(
            package_id,
            -used.uses_delta,
            -used.amount_minor,
            "use_return",
            source,
            at,
            "active",
        )


async def refund_package(
    member_id: int,
    package_id: int,
    source: Source,
    *,
    at: dt.datetime,
    uses: int | None = None,
) -> PackagePosting:
    """Refunds ``uses`` unused uses (all when None) pro rata, to the cent: the money handed
    back is ``-amount_minor``. Refused once the package has expired."""
    async with transaction():
        package = await _lock_package(member_id, package_id)
        if (done := await _existing(package_id, source, "refund")) is not None:
            return done
        if package["status"] != "active":
            raise PackageNotActive(field="package_id", status=package["status"])
        today = await local_date(at, source.store_id or package["store"])
        if today > package["valid_until"]:
            raise PackageExpired(field="package_id")
        uses_left, value_left = await _state(package_id)
        count = uses_left if uses is None else uses
        if count < 1:
            raise InvalidAmount("uses must be at least 1", field="uses")
        if count > uses_left:
            raise PackageUsedUp(field="uses", uses_left=uses_left)
        value = value_left if count == uses_left else divide_half_up(value_left * count, uses_left)
        status = "refunded" if count == uses_left else None
        return await _post(package_id, -count, -value, "refund", source, at, status)


async def expire_packages(*, at: dt.datetime | None = None) -> int:
    """Writes an expiry entry (uses and value left, to zero) for every active package whose
    last day has passed in its store's zone (the chain's for any-store packages); returns how
    many expired. Idempotent: an expired package is no longer active."""
    at = at or utc_now()
    # No zone is more than a day from UTC: packages whose last day is before UTC's tomorrow
    # are the candidates; each is then checked against its own business date.
    horizon = at.date() + dt.timedelta(days=1)
    candidates = await ServicePackage.select(
        ServicePackage.id, ServicePackage.member, ServicePackage.store, ServicePackage.valid_until
    ).where((ServicePackage.status == "active") & (ServicePackage.valid_until < horizon))
    # Each store's business date once per run (the stores' zones in one statement).
    today = await local_dates(at, (row["store"] for row in candidates))
    expired = 0
    for candidate in candidates:
        if today[candidate["store"]] <= candidate["valid_until"]:
            continue
        async with transaction():
            package = await _lock_package(candidate["member"], candidate["id"])
            if package["status"] != "active":
                continue
            uses_left, value_left = await _state(package["id"])
            await _post(
                package["id"],
                -uses_left,
                -value_left,
                "expire",
                Source("job", "package-expiry", package["store"]),
                at,
                "expired",
            )
            expired += 1
    return expired


async def member_packages(member_id: int, *, include_closed: bool = True) -> list[dict[str, Any]]:
    query = ServicePackage.select(
        ServicePackage.id,
        ServicePackage.name,
        ServicePackage.sku,
        ServicePackage.uses_bought,
        ServicePackage.uses_left,
        ServicePackage.price_minor,
        ServicePackage.valid_until,
        ServicePackage.status,
        ServicePackage.store.code.as_alias("store_code"),
        ServicePackage.product.code.as_alias("product_code"),
    ).where(ServicePackage.member == member_id)
    if not include_closed:
        query = query.where(ServicePackage.status == "active")
    rows = await query.order_by(ServicePackage.id)
    # Value left = sum of each package's entries (as in _state), for all of them in one query.
    values: dict[int, int] = {}
    if rows:
        values = {
            row["package"]: int(row["value"] or 0)
            for row in await ServicePackageEntry.select(
                ServicePackageEntry.package,
                Sum(ServicePackageEntry.amount_minor).as_alias("value"),
            )
            .where(ServicePackageEntry.package.is_in([row["id"] for row in rows]))
            .group_by(ServicePackageEntry.package)
        }
    for row in rows:
        row["value_left_minor"] = values.get(row["id"], 0)
    return rows


async def package_entries(package_id: int) -> list[dict[str, Any]]:
    return (
        await ServicePackageEntry.select(
            ServicePackageEntry.id,
            ServicePackageEntry.kind,
            ServicePackageEntry.uses_delta,
            ServicePackageEntry.amount_minor,
            ServicePackageEntry.source_kind,
            ServicePackageEntry.source_id,
            ServicePackageEntry.created_at,
        )
        .where(ServicePackageEntry.package == package_id)
        .order_by(ServicePackageEntry.id)
    )
