"""Pricing a basket at the till: the store's prices of the day, the member and their tier,
the promotions and coupons valid at the sale's own time, the cashier's manual discounts,
and the points the sale would earn. Reads only; the quote and the sale share it, so a sale
books exactly what its quote showed for the same basket at the same time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from loyalty import earning
from loyalty.points import points_summary
from loyalty.program import Program, load_program
from loyalty.stored_value import stored_value_summary
from memberpos.db import fetch, placeholders
from memberpos.money import allocate
from memberpos.settings import get_settings
from members import family, tiers
from members.cards import MemberRef, find_member, find_member_with
from pos_gateway import schemas
from pos_gateway.errors import (
    ManagerNotAuthorised,
    ManagerRequired,
    MemberRequired,
    SalespersonShares,
    UnknownCashier,
    UnknownSalesperson,
)
from promotions import engine, service
from stores.access import Role
from stores.errors import ProductNotFound
from stores.staff import verify_pin
from stores.terminals import TerminalIdentity

BASIS = 10_000
MANAGER_ROLES = frozenset({Role.store_manager, Role.hq_admin})


@dataclass(frozen=True)
class ProductInfo:
    product_id: int
    sku: str
    name: str
    category_path: str
    brand_code: str | None
    tags: tuple[str, ...]
    retail_price_minor: int
    member_price_minor: int | None


@dataclass(frozen=True)
class MemberContext:
    ref: MemberRef
    account_member_id: int  # whose points and stored value: the member or a family parent
    tier: tiers.TierBenefits
    birthday: dt.date | None
    consents: frozenset[str]
    phone: str
    is_first_purchase: bool


@dataclass
class PricedSale:
    """Everything a quote shows and a sale books."""

    terminal: TerminalIdentity
    local_time: dt.datetime  # naive, the store's wall clock
    occurred_at: dt.datetime  # UTC
    business_date: dt.date
    products: list[ProductInfo]
    lines: list[schemas.LineIn]
    unit_prices: list[int]
    salespeople: list[tuple[tuple[int, int], ...]]
    priced: engine.PricedBasket
    member: MemberContext | None
    program: Program
    earn: earning.EarnResult
    cashier_id: int | None
    manager_id: int | None = None
    # the configuration generation pricing read (promotions.service.promotions_and_policy):
    # the sale reads the tiers under it too
    config_generation: int | None = None

    @property
    def total_minor(self) -> int:
        return self.priced.net_minor

    @property
    def engine_lines(self) -> list[engine.PricedLine]:
        """The engine's priced lines in the order of the sale's lines."""
        return lines_in_order(self.priced, len(self.lines))

    @property
    def points_by_line(self) -> list[int]:
        """The points each line earns, in the order of the sale's lines."""
        earned = {line.line_id: line.points for line in self.earn.lines}
        return [earned.get(line_id(n), 0) for n in range(1, len(self.lines) + 1)]


def lines_in_order(priced: engine.PricedBasket, count: int) -> list[engine.PricedLine]:
    by_id = {line.line_id: line for line in priced.lines}
    return [by_id[line_id(n)] for n in range(1, count + 1)]


def sale_times(local_time: dt.datetime | None, time_zone: str) -> tuple[dt.datetime, dt.datetime]:
    """(naive local wall-clock time, UTC instant) of a till's time stamp. A naive time is
    the store's wall clock; an aware one is converted to it."""
    zone = ZoneInfo(time_zone)
    if local_time is None:
        aware = dt.datetime.now(dt.UTC)
    elif local_time.tzinfo is None:
        aware = local_time.replace(tzinfo=zone)
    else:
        aware = local_time
    local = aware.astimezone(zone)
    return local.replace(tzinfo=None), aware.astimezone(dt.UTC)


async def load_products(
    skus: list[str], store_id: int, on: dt.date
) -> tuple[dict[str, ProductInfo], Mapping[str, Any]]:
    """The products of a basket and their prices in the store on the business date (the
    latest store price in effect, else the catalog's), in one statement whatever the basket;
    and a row carrying the promotions' generation row, read in the same statement
    (``promotions_and_policy(carrier=...)``: one round trip less per basket)."""
    wanted = sorted(set(skus))
    rows = await fetch(
        "SELECT p.id, p.sku, p.name, p.tags, p.retail_price_minor, p.member_price_minor,"
        " c.path AS category_path, b.code AS brand_code,"
        " sp.id AS override, sp.retail_price_minor AS store_retail_price_minor,"
        " sp.member_price_minor AS store_member_price_minor, "
        + service.SETTINGS_COLUMNS
        + " FROM (SELECT 1 AS one) one"  # one row even when no product matches
        + service.SETTINGS_JOIN
        + f" LEFT JOIN product p ON p.sku IN ({placeholders(len(wanted))})"
        " LEFT JOIN category c ON c.id = p.category"
        " LEFT JOIN brand b ON b.id = p.brand"
        " LEFT JOIN store_price sp ON sp.id = ("
        "   SELECT x.id FROM store_price x WHERE x.product = p.id AND x.store = {}"
        "   AND x.effective_from <= {} ORDER BY x.effective_from DESC, x.id DESC LIMIT 1)",
        *wanted,
        store_id,
        on,
    )
    found = {row["sku"]: row for row in rows if row["id"] is not None}
    for position, sku in enumerate(skus):
        if sku not in found:
            raise ProductNotFound(f"No product {sku}", field=f"lines[{position}].sku")
    products: dict[str, ProductInfo] = {}
    for sku, row in found.items():
        prefix = "store_" if row["override"] is not None else ""
        products[sku] = ProductInfo(
            product_id=row["id"],
            sku=sku,
            name=row["name"],
            category_path=row["category_path"] or "",
            brand_code=row["brand_code"],
            tags=tuple(row["tags"] or ()),
            retail_price_minor=row[f"{prefix}retail_price_minor"],
            member_price_minor=row[f"{prefix}member_price_minor"],
        )
    return products, rows[0]


async def staff_ids(employee_nos: set[str]) -> dict[str, dict[str, Any]]:
    """The active staff of these employee numbers, by number (id, employee_no, home_store,
    roles, status, manual_discount_limit_bp); an unknown or inactive one is missing. On every
    sale with a cashier or salespeople: one hand-written statement."""
    if not employee_nos:
        return {}
    wanted = sorted(employee_nos)
    rows = await fetch(
        "SELECT id, employee_no, home_store, roles, status, manual_discount_limit_bp"
        f" FROM staff WHERE employee_no IN ({placeholders(len(wanted))}) AND status = 'active'",
        *wanted,
    )
    return {row["employee_no"]: dict(row) for row in rows}


def _salespeople(
    lines: list[schemas.LineIn], staff: dict[str, dict[str, Any]]
) -> list[tuple[tuple[int, int], ...]]:
    result = []
    for position, line in enumerate(lines):
        people = line.salespeople
        if not people:
            result.append(())
            continue
        ids = []
        for person in people:
            row = staff.get(person.employee_no)
            if row is None:
                raise UnknownSalesperson(
                    f"No active salesperson {person.employee_no}",
                    field=f"lines[{position}].salespeople",
                )
            ids.append(row["id"])
        if len(set(ids)) != len(ids):
            raise SalespersonShares(
                "A salesperson is named twice on one line", field=f"lines[{position}].salespeople"
            )
        given = [person.share_bp for person in people]
        if all(share is None for share in given):
            shares = allocate(BASIS, [1] * len(people))
        elif any(share is None for share in given) or sum(given) != BASIS:  # type: ignore[arg-type]
            raise SalespersonShares(field=f"lines[{position}].salespeople")
        else:
            shares = [int(share) for share in given]  # type: ignore[arg-type]
        result.append(tuple(zip(ids, shares, strict=True)))
    return result


def _require_identification(identification: schemas.MemberIn) -> None:
    if not (identification.card_number or identification.qr_token or identification.phone):
        raise MemberRequired("Give a card number, a QR code or a phone number", field="card_number")


async def identify(identification: schemas.MemberIn) -> MemberRef:
    """The member the cashier identified by card, QR code or phone."""
    _require_identification(identification)
    return await find_member(
        card_number=identification.card_number,
        qr_token=identification.qr_token,
        phone=identification.phone,
    )


# Read with the card (or phone) in the same statement (members.cards.find_member_with): the
# member's row and tier, whose account it pays and earns with (a family parent's), and
# whether it has bought before.
_CONTEXT_COLUMNS = (
    "m.birthday, m.phone, m.consent_sms_at, m.consent_email_at, m.consent_push_at,"
    " t.code AS tier_code, t.name AS tier_name, t.points_multiplier_bp AS tier_multiplier,"
    " t.discount_bp AS tier_discount,"
    " (SELECT f.parent FROM family_link f WHERE f.child = m.id AND f.detached_at IS NULL"
    "  LIMIT 1) AS parent,"
    " (SELECT s.id FROM sale s WHERE s.member = m.id LIMIT 1) AS a_sale"
)
_CONTEXT_JOINS = "LEFT JOIN tier t ON t.id = m.tier"


async def member_context(
    identification: schemas.MemberIn, at: dt.datetime, *, config_generation: int | None = None
) -> MemberContext:
    """The identified member (refused as :func:`identify` refuses) and what pricing needs of
    them: one statement for a card, a QR code or a phone."""
    _require_identification(identification)
    ref, row = await find_member_with(
        _CONTEXT_COLUMNS,
        _CONTEXT_JOINS,
        card_number=identification.card_number,
        qr_token=identification.qr_token,
        phone=identification.phone,
    )
    consents = frozenset(
        channel for channel in ("sms", "email", "push") if row[f"consent_{channel}_at"]
    )
    return MemberContext(
        ref=ref,
        account_member_id=row["parent"] or ref.member_id,
        tier=await tiers.benefits_from_row(row, config_generation=config_generation),
        birthday=row["birthday"],
        consents=consents,
        phone=row["phone"],
        is_first_purchase=row["a_sale"] is None,
    )


async def authorise_manager(
    manager: schemas.ManagerIn | None, terminal: TerminalIdentity, why: str
) -> int:
    """A manager of this store (or HQ) typed their PIN at the till; their staff id."""
    if manager is None:
        raise ManagerRequired(f"A manager's PIN is needed: {why}", field="manager")
    actor = await verify_pin(manager.employee_no, manager.pin)
    store_manager_here = Role.store_manager in actor.roles and (
        actor.home_store_id == terminal.store_id
    )
    if not (Role.hq_admin in actor.roles or store_manager_here):
        raise ManagerNotAuthorised(field="manager")
    return actor.staff_id


def _basket_line(
    line_no: int, line: schemas.LineIn, product: ProductInfo, unit_price: int
) -> engine.BasketLine:
    path = tuple(product.category_path.split("/")) if product.category_path else ()
    return engine.BasketLine(
        line_id=line_id(line_no),
        sku=product.sku,
        quantity=line.quantity,
        unit_price_minor=unit_price,
        category_path=path,
        brand=product.brand_code or "",
        tags=product.tags,
        member_price_minor=product.member_price_minor,
    )


def line_id(line_no: int) -> str:
    """Engine line ids sort like the line numbers (the engine orders lines by id)."""
    return f"{line_no:04d}"


async def price(
    terminal: TerminalIdentity,
    *,
    lines: list[schemas.LineIn],
    member: schemas.MemberIn | None,
    coupons: list[str],
    manual: list[schemas.ManualDiscountIn],
    local_time: dt.datetime | None,
    cashier_employee_no: str | None,
    manager: schemas.ManagerIn | None = None,
    paid_with_points_minor: int = 0,
    paid_with_stored_value_minor: int = 0,
) -> PricedSale:
    local, occurred_at = sale_times(local_time, terminal.time_zone)
    business_date = local.date()
    # First: the products, and in the same statement the generation that versions the
    # promotions, the program, the earning rules and the tiers read below (each then served
    # from this process's copy).
    products, carrier = await load_products(
        [line.sku for line in lines], terminal.store_id, business_date
    )
    promotions, policy, generation = await service.promotions_and_policy(
        terminal.store_id, occurred_at, carrier=carrier
    )
    wanted_staff = {p.employee_no for line in lines for p in line.salespeople}
    if cashier_employee_no:
        wanted_staff.add(cashier_employee_no)
    staff = await staff_ids(wanted_staff)
    cashier_id = None
    limit_bp = 0
    if cashier_employee_no:
        cashier = staff.get(cashier_employee_no)
        if cashier is None:
            raise UnknownCashier(field="cashier_employee_no")
        cashier_id = cashier["id"]
        limit_bp = cashier["manual_discount_limit_bp"]
    salespeople = _salespeople(lines, staff)

    context_member = (
        await member_context(member, occurred_at, config_generation=generation) if member else None
    )
    unit_prices = []
    overridden = False
    for line in lines:
        product = products[line.sku]
        listed = product.retail_price_minor
        rung = listed if line.unit_price_minor is None else line.unit_price_minor
        overridden = overridden or rung != listed
        unit_prices.append(rung)
    manager_id = None
    if overridden:
        manager_id = await authorise_manager(manager, terminal, "a price differs from the shelf")
        limit_bp = BASIS  # a manager authorised the sale's prices and discounts
    elif manual and manager is not None:
        manager_id = await authorise_manager(manager, terminal, "manual discount")
        limit_bp = BASIS

    basket = engine.Basket(
        lines=tuple(
            _basket_line(number, line, products[line.sku], unit_prices[number - 1])
            for number, line in enumerate(lines, start=1)
        ),
        currency=get_settings().currency,
    )
    tier = context_member.tier if context_member else None
    birthday = context_member.birthday if context_member else None
    context = engine.SaleContext(
        local_datetime=local,
        store_code=terminal.store_code,
        region_code=(await service.store_scope(terminal.store_id))[1],
        is_member=context_member is not None,
        tier_code=tier.tier_code if tier else None,
        tier_discount_bp=tier.discount_bp if tier else 0,
        birthday_month=birthday.month if birthday else None,
        birthday_day=birthday.day if birthday else None,
        is_first_purchase=bool(context_member and context_member.is_first_purchase),
        staff_manual_discount_limit_bp=limit_bp,
    )
    presented = (
        await service.coupons_for_sale(
            coupons,
            member_id=context_member.ref.member_id if context_member else None,
            store_id=terminal.store_id,
            at=occurred_at,
        )
        if coupons
        else []
    )
    manual_discounts = [
        engine.ManualDiscount(
            line_id=line_id(item.line_no) if item.line_no else None,
            percent_off_bp=item.percent_off_bp,
            amount_off_minor=item.amount_off_minor,
            note=item.note,
        )
        for item in manual
    ]
    priced = engine.price_basket(
        basket,
        context,
        promotions,
        presented,
        manual_discounts,
        policy,
    )
    program = await load_program(generation=generation)
    earn = earning.EarnResult(0, ())
    if context_member is not None:
        earn_lines = [
            earning.EarnLine(
                line_id=priced_line.line_id,
                sku=line.sku,
                category_path=products[line.sku].category_path,
                brand_code=products[line.sku].brand_code,
                net_minor=priced_line.net_minor,
                promotion_multiplier_bp=priced_line.points_multiplier_bp,
            )
            for line, priced_line in zip(lines, lines_in_order(priced, len(lines)), strict=True)
        ]
        earn = earning.points_for_lines(
            earn_lines,
            await earning.active_rules(occurred_at, generation=generation),
            program,
            tier_multiplier_bp=context_member.tier.points_multiplier_bp,
            paid_with_points_minor=paid_with_points_minor,
            paid_with_stored_value_minor=paid_with_stored_value_minor,
        )
    return PricedSale(
        terminal=terminal,
        local_time=local,
        occurred_at=occurred_at,
        business_date=business_date,
        products=[products[line.sku] for line in lines],
        lines=lines,
        unit_prices=unit_prices,
        salespeople=salespeople,
        priced=priced,
        member=context_member,
        program=program,
        earn=earn,
        cashier_id=cashier_id,
        manager_id=manager_id,
        config_generation=generation,
    )


async def member_view(ref: MemberRef, account_member_id: int | None = None) -> schemas.MemberView:
    """What a cashier sees: masked phone, name, tier, balances (a family child sees the
    parent's, which it pays and earns with)."""
    view, _ = await member_view_and_balances(ref, account_member_id)
    return view


async def member_view_and_balances(
    ref: MemberRef,
    account_member_id: int | None = None,
    *,
    program: Program | None = None,
    benefits: tiers.TierBenefits | None = None,
    at: dt.datetime | None = None,
    stored: dict[str, int] | None = None,
    points_account: dict[str, int] | None = None,
) -> tuple[schemas.MemberView, schemas.BalancesOut]:
    """The cashier's view and the balances after a posting, from one read of each account
    (``stored``: the stored-value summary the caller has just written, read no more;
    ``points_account``: the points account as the caller's posting left it)."""
    owner = account_member_id or await family.points_owner(ref.member_id)
    points = await points_summary(owner, at, account=points_account)
    stored = stored or await stored_value_summary(owner)
    program = program or await load_program()
    benefits = benefits or await tiers.tier_benefits(ref.member_id)
    balances = balances_out(points, stored)
    return schemas.MemberView(
        member_id=ref.member_id,
        card_number=ref.card_number,
        name=ref.name,
        masked_phone=ref.masked_phone,
        tier_code=benefits.tier_code,
        tier_name=benefits.tier_name,
        points_balance=points["balance"],
        points_spendable=points["spendable"],
        points_value_minor=earning.points_value_minor(points["spendable"], program),
        stored_value_minor=stored["balance"],
        stored_value_principal_minor=stored["principal"],
        stored_value_bonus_minor=stored["bonus"],
        family_parent=owner != ref.member_id,
    ), balances


def balances_out(points: dict[str, int], stored: dict[str, int]) -> schemas.BalancesOut:
    """The answer's balances from a points summary and a stored-value summary."""
    return schemas.BalancesOut(
        points_balance=points["balance"],
        points_spendable=points["spendable"],
        points_pending=points["pending"],
        stored_value_minor=stored["balance"],
        stored_value_principal_minor=stored["principal"],
        stored_value_bonus_minor=stored["bonus"],
    )


async def balances(member_id: int, at: dt.datetime) -> schemas.BalancesOut:
    """A member's balances as they stand (after a refund's postings)."""
    return balances_out(await points_summary(member_id, at), await stored_value_summary(member_id))
