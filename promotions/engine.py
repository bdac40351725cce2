"""The pricing engine: a basket and the active rules in, priced lines and explanations out.

Pure and deterministic: no database, no web, no clock, no I/O. It imports only the standard
library, msgspec (for the frozen input and output types), ``memberpos.money`` and
``memberpos.errors`` — leaves of the shared kernel with no imports of their own — so every
half-up rounding and every largest-remainder split here is the same one the ledgers and
reports use. Nothing else of the project is imported
(DESIGN.md: "promotions/engine.py imports nothing of the project").

Business rules, in the order a sale meets them:

* **Eligibility.** A promotion runs only inside its local date range (``valid_from`` inclusive,
  ``valid_to`` exclusive), on its ISO weekdays (1 = Monday), inside its hours (start inclusive,
  end exclusive; a window such as 22:00–02:00 runs over midnight, and the weekday is that of the
  sale's local date), in its stores or regions, for members / tiers when so restricted. Times
  are the store's local wall-clock time, so a sale uploaded late is priced as of its own time.
* **Stacking.** Promotions combine unless one is ``exclusive`` (combines with nothing), the
  :class:`StackingPolicy` lists their two groups as exclusive (a pair ``(g, g)`` makes a group
  "one per basket"), or one restricts itself to ``combinable_with`` groups that do not include
  the other's group. Exclusivity is basket-wide. Where promotions conflict the engine prices
  every maximal compatible set (bounded by ``StackingPolicy.max_combinations``; beyond that it
  falls back to greedy by priority and says so in ``notes``) and keeps the set best for the
  customer: largest saving, then higher priority, then lowest promotion ids. Every promotion
  that lost is listed with the promotions that excluded it and how much more they save.
  A compatible promotion is always applied, even when its discount takes the basket below the
  threshold of a later spend-and-save: thresholds count what the customer actually pays.
* **Order of application.** Item-level promotions first (member/tier price, percent or amount
  off, birthday, Nth item, buy N get M, bundles), by priority (higher first, then id), each on
  the running net price of every unit; then basket-level promotions (spend-and-save, spend-and-
  gift, first purchase) by priority on the running net amounts; then coupons (by priority, then
  code) on what the customer would otherwise pay; then the cashier's manual discounts.
* **Buy N get M free.** All matching units of all lines are pooled and sorted by their running
  unit price, highest first (ties by line id), then cut into consecutive sets of N+M; in each
  set the units after the first N — the cheapest of the set — are free (a trailing short set
  still gets its free units beyond N). Because the pool is sorted before it is cut, splitting
  a SKU over several lines, or several baskets, cannot pair expensive paid units with cheap
  free ones, and one line of 3 units prices exactly like three lines of 1.
* **Nth item at a discount.** Same pooling and sorting; every Nth unit of the sorted pool (so the
  cheapest of each group of N) gets the percentage off.
* **Bundles.** As many complete bundles as the basket holds, each filled with the most expensive
  matching units still free (SKU components before category components), as long as the units
  cost more than the bundle price; each bundle's discount is spread over its units by price.
* **Money.** Integers of minor units only. Per-unit percentages round half-up per unit (so the
  result does not depend on how units are split over lines). Every amount given to a set of
  lines is spread over them in proportion to their running net amounts by largest remainder, so
  the parts sum exactly to it and a refund of one line returns exactly that line's share. The
  split is made per kind of item (lines that differ only in line id and quantity are pooled,
  then their part is spread over the pool's units), so ringing 2 units up as two lines of 1
  cannot move a rounded fen from one item to another and change what a later coupon or
  threshold sees. No discount takes a line below zero: amounts larger than what is left are cut
  down, and each cut is recorded in :attr:`PricedBasket.clamps`.
* **Determinism.** Everything is keyed by line id and promotion id, so shuffling the lines or
  the promotions gives the same priced basket; output lines are sorted by ``line_id``.
* **Speed.** A chain runs thousands of promotions, a basket meets a few dozen. Passed as an
  :class:`IndexedPromotions` (built once per set of definitions), the promotions are looked up
  by what a line can match (SKU, category, brand, tag; basket-wide ones always), so the cost
  of a basket follows the promotions that can match it, not all that are live. The search
  for the best combination treats promotions with the same stacking signature as one, and a
  rule that certainly saves something alone is not priced alone to find that out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from itertools import pairwise
from typing import ClassVar, Literal

import msgspec

from memberpos.errors import DomainError
from memberpos.money import CURRENCY_EXPONENT, allocate, format_money, percent_of

BASIS_POINTS_WHOLE = 10_000  # 100 %, and also the points multiplier of 1×

# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class PricingError(DomainError):
    """A refusal of the pricing engine, with a stable machine ``code``.

    ``memberpos.errors`` is, like ``memberpos.money``, a leaf of the shared kernel, so the
    engine's refusals are ordinary domain errors and become problem+json the same way. The
    input errors also subclass ``ValueError`` so msgspec reports them as validation errors
    naming the field when definitions are decoded from JSON.
    """

    code: ClassVar[str] = "pricing_error"
    status: ClassVar[int] = 422
    title: ClassVar[str] = "The basket cannot be priced"
    message_zh: ClassVar[str] = "无法计价"


class InvalidBasket(PricingError, ValueError):
    code = "invalid_basket"
    title = "The basket is not valid"
    message_zh = "购物车数据有误"


class InvalidSaleContext(PricingError, ValueError):
    code = "invalid_sale_context"
    title = "The sale context is not valid"
    message_zh = "销售信息有误"


class InvalidPromotion(PricingError, ValueError):
    code = "invalid_promotion"
    title = "The promotion or coupon definition is not valid"
    message_zh = "促销或优惠券设置有误"


class InvalidManualDiscount(PricingError, ValueError):
    code = "invalid_manual_discount"
    title = "The manual discount is not valid"
    message_zh = "手工折扣有误"


class ManualDiscountOverLimit(PricingError):
    """The cashier asked for more manual discount than their staff limit allows."""

    code = "manual_discount_over_limit"
    title = "The manual discount is over the cashier's limit"
    message_zh = "手工折扣超出收银员权限"


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


class BasketLine(msgspec.Struct, frozen=True, kw_only=True):
    """One line as rung up: ``quantity`` units at the shelf price ``unit_price_minor``.

    ``category_path`` runs from the root category to the leaf, so a promotion on any ancestor
    category matches. ``member_price_minor`` and ``tier_prices`` (tier code → unit price) are
    the catalogue's special prices, used only by a :class:`MemberPrice` promotion.
    """

    line_id: str
    sku: str
    quantity: int
    unit_price_minor: int
    category_path: tuple[str, ...] = ()
    brand: str = ""
    tags: tuple[str, ...] = ()
    member_price_minor: int | None = None
    tier_prices: dict[str, int] = {}

    def __post_init__(self) -> None:
        if not self.line_id:
            raise InvalidBasket("A basket line needs a line id", field="line_id")
        if self.quantity < 1:
            raise InvalidBasket(
                f"Line {self.line_id}: quantity must be at least 1", field="quantity"
            )
        if self.unit_price_minor < 0:
            raise InvalidBasket(
                f"Line {self.line_id}: unit price must not be negative", field="unit_price_minor"
            )
        if self.member_price_minor is not None and self.member_price_minor < 0:
            raise InvalidBasket(
                f"Line {self.line_id}: member price must not be negative",
                field="member_price_minor",
            )
        if any(price < 0 for price in self.tier_prices.values()):
            raise InvalidBasket(
                f"Line {self.line_id}: tier prices must not be negative", field="tier_prices"
            )

    @property
    def gross_minor(self) -> int:
        return self.quantity * self.unit_price_minor


class Basket(msgspec.Struct, frozen=True, kw_only=True):
    """The lines of one sale in one currency; line ids are unique within the basket."""

    lines: tuple[BasketLine, ...]
    currency: str = "CNY"

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for line in self.lines:
            if line.line_id in seen:
                raise InvalidBasket(f"Line id {line.line_id} appears twice", field="lines")
            seen.add(line.line_id)


class SaleContext(msgspec.Struct, frozen=True, kw_only=True):
    """Who buys, where and when: everything eligibility depends on besides the basket.

    ``local_datetime`` is the sale's naive wall-clock time in the store's time zone (business
    dates are local, DESIGN.md "Time"). The staff limit caps the cashier's manual discounts:
    at most ``staff_manual_discount_limit_bp`` of what each discount applies to and of the whole
    sale, and at most ``staff_manual_discount_limit_minor`` in total when set.
    """

    local_datetime: datetime
    store_code: str
    region_code: str = ""
    is_member: bool = False
    tier_code: str | None = None
    tier_discount_bp: int = 0
    birthday_month: int | None = None
    birthday_day: int | None = None
    is_first_purchase: bool = False
    staff_manual_discount_limit_bp: int = 0
    staff_manual_discount_limit_minor: int | None = None

    def __post_init__(self) -> None:
        if self.local_datetime.tzinfo is not None:
            raise InvalidSaleContext(
                "local_datetime must be the naive wall-clock time of the store, not an aware "
                "datetime",
                field="local_datetime",
            )
        if not 0 <= self.tier_discount_bp <= BASIS_POINTS_WHOLE:
            raise InvalidSaleContext(
                "tier_discount_bp must be between 0 and 10000", field="tier_discount_bp"
            )
        if self.birthday_month is not None and not 1 <= self.birthday_month <= 12:
            raise InvalidSaleContext("birthday_month must be 1-12", field="birthday_month")
        if not 0 <= self.staff_manual_discount_limit_bp <= BASIS_POINTS_WHOLE:
            raise InvalidSaleContext(
                "staff_manual_discount_limit_bp must be between 0 and 10000",
                field="staff_manual_discount_limit_bp",
            )

    @property
    def weekday(self) -> int:
        """ISO weekday of the sale's local date: 1 = Monday … 7 = Sunday."""
        return self.local_datetime.isoweekday()

    @property
    def is_birthday_month(self) -> bool:
        """A member's birthday offer runs for the whole calendar month of the birthday."""
        return self.is_member and self.birthday_month == self.local_datetime.month


class Targeting(msgspec.Struct, frozen=True, kw_only=True):
    """Which lines a rule covers. All inclusion sets empty means every line.

    A line matches when its SKU, any category on its path (so a parent category covers its
    children), its brand or any of its tags is listed — unless its SKU or one of its
    categories is excluded (regulated goods such as infant formula, tobacco).
    """

    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    brands: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    excluded_skus: frozenset[str] = frozenset()
    excluded_categories: frozenset[str] = frozenset()

    def matches(self, line: BasketLine) -> bool:
        # frozenset.isdisjoint over the line's short tuples: the same test as any(... in ...),
        # without a generator per call (this runs for every candidate and line of a basket).
        if line.sku in self.excluded_skus:
            return False
        if self.excluded_categories and not self.excluded_categories.isdisjoint(line.category_path):
            return False
        if not (self.skus or self.categories or self.brands or self.tags):
            return True
        return (
            line.sku in self.skus
            or not self.categories.isdisjoint(line.category_path)
            or line.brand in self.brands
            or not self.tags.isdisjoint(line.tags)
        )


def _check_percent(value: int | None, field_name: str, owner: str) -> None:
    if value is not None and not 0 < value <= BASIS_POINTS_WHOLE:
        raise InvalidPromotion(
            f"{owner}: {field_name} must be between 1 and 10000 basis points", field=field_name
        )


def _check_positive(value: int | None, field_name: str, owner: str) -> None:
    if value is not None and value <= 0:
        raise InvalidPromotion(f"{owner}: {field_name} must be positive", field=field_name)


def _check_percent_or_amount(percent_bp: int | None, amount_minor: int | None, owner: str) -> None:
    if (percent_bp is None) == (amount_minor is None):
        raise InvalidPromotion(
            f"{owner}: give exactly one of percent_off_bp and amount_off_minor",
            field="percent_off_bp",
        )
    _check_percent(percent_bp, "percent_off_bp", owner)
    _check_positive(amount_minor, "amount_off_minor", owner)


class Promotion(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    """What every promotion has: identity, stacking, where/when/for whom, and which lines.

    ``priority``: higher applies first and wins ties. ``group`` and ``exclusive`` /
    ``combinable_with`` feed the stacking rules (module docstring). Use one of the subclasses;
    ``PromotionDefinition`` is their tagged union for decoding (the tag field is ``kind``).
    """

    id: str
    name: str
    name_zh: str = ""
    priority: int = 0
    group: str = "default"
    exclusive: bool = False
    combinable_with: frozenset[str] | None = None
    stores: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    member_only: bool = False
    tiers: frozenset[str] = frozenset()
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    weekdays: frozenset[int] = frozenset()
    hours_from: time | None = None
    hours_to: time | None = None
    targeting: Targeting = msgspec.field(default_factory=Targeting)

    def __post_init__(self) -> None:
        if not self.id:
            raise InvalidPromotion("A promotion needs an id", field="id")
        if any(day not in range(1, 8) for day in self.weekdays):
            raise InvalidPromotion(
                f"Promotion {self.id}: weekdays are 1 (Monday) to 7 (Sunday)", field="weekdays"
            )
        if self.valid_from and self.valid_to and self.valid_from >= self.valid_to:
            raise InvalidPromotion(
                f"Promotion {self.id}: valid_from must be before valid_to", field="valid_to"
            )
        if self.hours_from is not None and self.hours_from == self.hours_to:
            raise InvalidPromotion(
                f"Promotion {self.id}: hours_from equals hours_to", field="hours_to"
            )

    @property
    def kind(self) -> str:
        return str(type(self).__struct_config__.tag)


class MemberPrice(Promotion, frozen=True, kw_only=True, tag="member_price"):
    """Members pay the lowest of the line's member price, their tier's price and (when
    ``use_tier_discount``) the shelf price less their tier discount; never more than the
    shelf price, and never more than an earlier promotion already brought the unit to."""

    use_tier_discount: bool = True


class ItemDiscount(Promotion, frozen=True, kw_only=True, tag="item_discount"):
    """A percentage off, or an amount off each unit, of the matching items."""

    percent_off_bp: int | None = None
    amount_off_minor: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_percent_or_amount(self.percent_off_bp, self.amount_off_minor, self.id)


class SpendAndSave(Promotion, frozen=True, kw_only=True, tag="spend_save"):
    """满减: spend ``threshold_minor`` on matching items, save ``save_minor``; when
    ``repeating``, once per full threshold ("every ¥300 save ¥30"), at most ``max_repeats``."""

    threshold_minor: int
    save_minor: int
    repeating: bool = False
    max_repeats: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_positive(self.threshold_minor, "threshold_minor", self.id)
        _check_positive(self.save_minor, "save_minor", self.id)
        _check_positive(self.max_repeats, "max_repeats", self.id)


class SpendAndGetGift(Promotion, frozen=True, kw_only=True, tag="spend_gift"):
    """满赠: spend ``threshold_minor`` on matching items, receive a gift to hand over.

    No price changes. ``gift_value_minor`` is only used to compare this promotion with
    exclusive alternatives (a gift of unknown value counts as nothing).
    """

    threshold_minor: int
    gift_sku: str
    gift_quantity: int = 1
    repeating: bool = False
    max_repeats: int | None = None
    gift_value_minor: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_positive(self.threshold_minor, "threshold_minor", self.id)
        _check_positive(self.gift_quantity, "gift_quantity", self.id)
        _check_positive(self.max_repeats, "max_repeats", self.id)
        if self.gift_value_minor < 0:
            raise InvalidPromotion(
                f"{self.id}: gift_value_minor must not be negative", field="gift_value_minor"
            )


class BuyAndGetFree(Promotion, frozen=True, kw_only=True, tag="buy_get_free"):
    """买N送M: of every N+M matching units (sorted by price, highest first) the M cheapest
    are free. See the module docstring for why the pool is sorted before it is cut."""

    buy_quantity: int
    free_quantity: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_positive(self.buy_quantity, "buy_quantity", self.id)
        _check_positive(self.free_quantity, "free_quantity", self.id)


class NthItemDiscount(Promotion, frozen=True, kw_only=True, tag="nth_item"):
    """第N件X折: every Nth matching unit (sorted by price, highest first, so the cheapest of
    each group of N) gets ``percent_off_bp`` off. 第二件半价 is ``nth=2, percent_off_bp=5000``."""

    nth: int = 2
    percent_off_bp: int = 5_000

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.nth < 2:
            raise InvalidPromotion(f"{self.id}: nth must be at least 2", field="nth")
        _check_percent(self.percent_off_bp, "percent_off_bp", self.id)


class BundleComponent(msgspec.Struct, frozen=True, kw_only=True):
    """One part of a bundle: ``quantity`` units of a SKU, or of any SKU in a category."""

    quantity: int = 1
    sku: str | None = None
    category: str | None = None

    def __post_init__(self) -> None:
        if (self.sku is None) == (self.category is None):
            raise InvalidPromotion(
                "A bundle component names exactly one of sku and category", field="components"
            )
        _check_positive(self.quantity, "quantity", "bundle component")

    def matches(self, line: BasketLine) -> bool:
        if self.sku is not None:
            return line.sku == self.sku
        return self.category in line.category_path


class BundlePrice(Promotion, frozen=True, kw_only=True, tag="bundle"):
    """组合价: the components sold together for ``bundle_price_minor``, as often as the basket
    holds complete bundles that cost more than that apart."""

    components: tuple[BundleComponent, ...]
    bundle_price_minor: int

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.components:
            raise InvalidPromotion(f"{self.id}: a bundle needs components", field="components")
        if self.bundle_price_minor < 0:
            raise InvalidPromotion(
                f"{self.id}: bundle price must not be negative", field="bundle_price_minor"
            )


class BirthdayOffer(Promotion, frozen=True, kw_only=True, tag="birthday"):
    """For members in their birthday month: a percentage off each matching unit, or an amount
    off the matching items once (spread over them)."""

    percent_off_bp: int | None = None
    amount_off_minor: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_percent_or_amount(self.percent_off_bp, self.amount_off_minor, self.id)


class FirstPurchaseOffer(Promotion, frozen=True, kw_only=True, tag="first_purchase"):
    """A new member's first purchase: a percentage or an amount off the matching items, when
    they come to at least ``minimum_spend_minor``."""

    percent_off_bp: int | None = None
    amount_off_minor: int | None = None
    minimum_spend_minor: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_percent_or_amount(self.percent_off_bp, self.amount_off_minor, self.id)


class PointsMultiplier(Promotion, frozen=True, kw_only=True, tag="points_multiplier"):
    """Extra points on matching lines (20000 = double points); no price change. When several
    apply to one line the line gets the highest, they do not compound."""

    multiplier_bp: int

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.multiplier_bp <= BASIS_POINTS_WHOLE:
            raise InvalidPromotion(
                f"{self.id}: multiplier_bp must be above 10000 (1×)", field="multiplier_bp"
            )


PromotionDefinition = (
    MemberPrice
    | ItemDiscount
    | SpendAndSave
    | SpendAndGetGift
    | BuyAndGetFree
    | NthItemDiscount
    | BundlePrice
    | BirthdayOffer
    | FirstPurchaseOffer
    | PointsMultiplier
)

_ITEM_LEVEL_KINDS = (
    MemberPrice,
    ItemDiscount,
    BirthdayOffer,
    NthItemDiscount,
    BuyAndGetFree,
    BundlePrice,
    PointsMultiplier,
)


class Coupon(msgspec.Struct, frozen=True, kw_only=True):
    """A coupon the customer presented, already validated by the caller (owner, expiry, use).

    Coupons act as basket-level promotions applied after the store's promotions, in their own
    stacking group (``"coupon"`` unless set). The minimum spend is checked here, on the
    matching items' running net amount. Its id in the result is ``"coupon:" + code``.
    """

    code: str
    kind: Literal["amount_off", "percent_off", "gift"]
    name: str = ""
    name_zh: str = ""
    amount_off_minor: int = 0
    percent_off_bp: int = 0
    cap_minor: int | None = None
    minimum_spend_minor: int = 0
    gift_sku: str | None = None
    gift_quantity: int = 1
    gift_value_minor: int = 0
    targeting: Targeting = msgspec.field(default_factory=Targeting)
    group: str = "coupon"
    priority: int = 0
    exclusive: bool = False
    combinable_with: frozenset[str] | None = None

    def __post_init__(self) -> None:
        owner = f"Coupon {self.code}"
        if not self.code:
            raise InvalidPromotion("A coupon needs a code", field="code")
        if self.kind == "amount_off":
            _check_positive(self.amount_off_minor, "amount_off_minor", owner)
        elif self.kind == "percent_off":
            _check_percent(self.percent_off_bp, "percent_off_bp", owner)
            _check_positive(self.cap_minor, "cap_minor", owner)
        elif not self.gift_sku:
            raise InvalidPromotion(f"{owner}: a gift coupon needs gift_sku", field="gift_sku")
        _check_positive(self.gift_quantity, "gift_quantity", owner)
        if self.minimum_spend_minor < 0:
            raise InvalidPromotion(
                f"{owner}: minimum_spend_minor must not be negative", field="minimum_spend_minor"
            )

    @property
    def promotion_id(self) -> str:
        return f"coupon:{self.code}"


class ManualDiscount(msgspec.Struct, frozen=True, kw_only=True):
    """A cashier's own discount on one line (``line_id``) or the whole basket (``None``):
    a percentage or an amount, applied last, within the staff limit of the sale context.
    Its id in the result is ``"manual:<n>"``, n counting from 1 in the order given."""

    line_id: str | None = None
    percent_off_bp: int | None = None
    amount_off_minor: int | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if (self.percent_off_bp is None) == (self.amount_off_minor is None):
            raise InvalidManualDiscount(
                "Give exactly one of percent_off_bp and amount_off_minor", field="percent_off_bp"
            )
        if self.percent_off_bp is not None and not 0 < self.percent_off_bp <= BASIS_POINTS_WHOLE:
            raise InvalidManualDiscount(
                "percent_off_bp must be between 1 and 10000", field="percent_off_bp"
            )
        if self.amount_off_minor is not None and self.amount_off_minor <= 0:
            raise InvalidManualDiscount(
                "amount_off_minor must be positive", field="amount_off_minor"
            )


class StackingPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Which promotion groups exclude each other, and how hard to search for the best set.

    ``exclusive_groups`` holds unordered pairs; ``("member", "clearance")`` stops a member price
    and a clearance markdown from stacking, ``("spend_save", "spend_save")`` allows one
    spend-and-save per basket. Beyond ``max_combinations`` maximal compatible sets the engine
    stops comparing and picks greedily by priority.
    """

    exclusive_groups: frozenset[tuple[str, str]] = frozenset()
    max_combinations: int = 256

    def groups_exclude(self, first: str, second: str) -> bool:
        return (first, second) in self.exclusive_groups or (second, first) in self.exclusive_groups


DEFAULT_STACKING_POLICY = StackingPolicy()

# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


class LineAdjustment(msgspec.Struct, frozen=True):
    """What one promotion (or coupon, or manual discount) took off one line, in minor units."""

    promotion_id: str
    amount_minor: int


class PricedLine(msgspec.Struct, frozen=True, kw_only=True):
    line_id: str
    sku: str
    quantity: int
    unit_price_minor: int
    gross_minor: int
    adjustments: tuple[LineAdjustment, ...]
    net_minor: int
    points_multiplier_bp: int = BASIS_POINTS_WHOLE


class Gift(msgspec.Struct, frozen=True):
    """A gift the cashier hands over; it does not change any price."""

    promotion_id: str
    sku: str
    quantity: int


class AppliedPromotion(msgspec.Struct, frozen=True, kw_only=True):
    promotion_id: str
    kind: str
    name: str
    name_zh: str
    total_amount_minor: int
    reason_en: str
    reason_zh: str
    coupon_code: str | None = None


class RejectedPromotion(msgspec.Struct, frozen=True, kw_only=True):
    """A promotion or coupon that did not apply, and why.

    ``code`` is stable for machines: ``not_started``, ``ended``, ``wrong_weekday``,
    ``outside_hours``, ``store_not_in_scope``, ``members_only``, ``tier_not_in_scope``,
    ``not_birthday_month``, ``not_first_purchase``, ``no_matching_items``,
    ``threshold_not_met``, ``minimum_spend_not_met``, ``no_saving``, ``excluded``.
    """

    promotion_id: str
    name: str
    name_zh: str
    code: str
    reason_en: str
    reason_zh: str
    excluded_by: tuple[str, ...] = ()
    saving_difference_minor: int | None = None


class Clamp(msgspec.Struct, frozen=True, kw_only=True):
    """A discount cut down so no line goes below zero (``line_id`` None: a basket amount)."""

    promotion_id: str
    line_id: str | None
    requested_minor: int
    applied_minor: int


class Note(msgspec.Struct, frozen=True):
    code: str
    text_en: str
    text_zh: str


class PricedBasket(msgspec.Struct, frozen=True, kw_only=True):
    """The priced sale. ``discount_minor`` = ``gross_minor`` − ``net_minor`` = the sum of all
    line adjustments = the sum of ``applied`` amounts; lines are sorted by ``line_id``."""

    currency: str
    lines: tuple[PricedLine, ...]
    applied: tuple[AppliedPromotion, ...]
    rejected: tuple[RejectedPromotion, ...]
    gifts: tuple[Gift, ...]
    clamps: tuple[Clamp, ...]
    gross_minor: int
    discount_minor: int
    net_minor: int
    selection: Literal["exhaustive", "greedy"]
    combinations_evaluated: int
    notes: tuple[Note, ...] = ()


# --------------------------------------------------------------------------------------------
# Text helpers (en and zh-CN side by side)
# --------------------------------------------------------------------------------------------

_WEEKDAY_EN = {1: "Mon", 2: "Tue", 3: "Wed", 4: "Thu", 5: "Fri", 6: "Sat", 7: "Sun"}
_WEEKDAY_ZH = {1: "周一", 2: "周二", 3: "周三", 4: "周四", 5: "周五", 6: "周六", 7: "周日"}


def _money(amount_minor: int, currency: str) -> str:
    return format_money(amount_minor, currency)


def _short_money(amount_minor: int, currency: str, *, symbol: bool = True) -> str:
    """``30000`` → ``¥300``: whole amounts without the zero minor digits, as on posters."""
    text = format_money(amount_minor, currency, symbol=symbol)
    exponent = CURRENCY_EXPONENT.get(currency, 2)
    if exponent and amount_minor % 10**exponent == 0:
        text = text.rsplit(".", 1)[0]
    return text if symbol else text.replace(",", "")


def _decimal_text(value: int, scale: int) -> str:
    """``value / scale`` as text without floats: (1250, 100) → "12.5"."""
    whole, rest = divmod(value, scale)
    if rest == 0:
        return str(whole)
    digits = len(str(scale)) - 1
    return f"{whole}.{rest:0{digits}d}".rstrip("0")


def _percent_text(basis_points: int) -> str:
    return _decimal_text(basis_points, 100) + "%"


def _zhe_text(percent_off_bp: int) -> str:
    """Chinese discount notation: 10 % off is 9折, 15 % off is 8.5折, 100 % off is 免费."""
    remaining = BASIS_POINTS_WHOLE - percent_off_bp
    return "免费" if remaining == 0 else _decimal_text(remaining, 1000) + "折"


def _ordinal(number: int) -> str:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    if 10 <= number % 100 <= 20:
        suffix = "th"
    return f"{number}{suffix}"


def _times(count: int) -> str:
    return f" ×{count}" if count > 1 else ""


# --------------------------------------------------------------------------------------------
# Working state of one evaluation
# --------------------------------------------------------------------------------------------


def _line_kind(line: BasketLine) -> tuple[object, ...]:
    """Everything of a line a rule can read except its id and quantity: lines of one kind are
    the same item at the same prices, interchangeable units rung up on different lines."""
    return (
        line.sku,
        line.unit_price_minor,
        line.category_path,
        line.brand,
        line.tags,
        line.member_price_minor,
        tuple(sorted(line.tier_prices.items())),
    )


class _Working:
    """The running prices of one evaluation.

    Each line's units are kept as a multiset ``{net unit price: count}``: units of a line that
    received different discounts (one free, two paid) differ in price, units that did not are
    interchangeable, so a line of 500 identical units stays one entry.
    """

    def __init__(self, lines: Sequence[BasketLine]) -> None:
        self.lines = {line.line_id: line for line in lines}
        self.units: dict[str, dict[int, int]] = {
            line.line_id: {line.unit_price_minor: line.quantity} for line in lines
        }
        self.adjustments: dict[str, dict[str, int]] = {line.line_id: {} for line in lines}
        self.points_multiplier_bp: dict[str, int] = {
            line.line_id: BASIS_POINTS_WHOLE for line in lines
        }
        self.clamps: list[Clamp] = []
        # Each line's running net amount, kept up to date by discount_units (the only place
        # a unit price changes), so reading it costs nothing.
        self.nets: dict[str, int] = {line.line_id: line.gross_minor for line in lines}

    def net(self, line_id: str) -> int:
        return self.nets[line_id]

    def subtotal(self, line_ids: Iterable[str]) -> int:
        nets = self.nets
        return sum(nets[line_id] for line_id in line_ids)

    def unit_pool(self, line_ids: Iterable[str]) -> list[tuple[int, str, int]]:
        """(unit price, line id, count) of the lines' units, highest price first, then line id."""
        pool = [
            (price, line_id, count)
            for line_id in line_ids
            for price, count in self.units[line_id].items()
        ]
        pool.sort(key=lambda entry: (-entry[0], entry[1]))
        return pool

    def discount_units(self, promotion_id: str, plan: Iterable[tuple[str, int, int, int]]) -> int:
        """Take ``per_unit`` off ``count`` units priced ``price`` on a line, for each
        ``(line_id, price, count, per_unit)`` of the plan; returns the total taken."""
        moves = [entry for entry in plan if entry[2] > 0 and entry[3] > 0]
        units_by_line = self.units
        for line_id, price, count, per_unit in moves:
            units = units_by_line[line_id]
            held = units.get(price, 0)
            if per_unit > price or held < count:
                raise AssertionError("pricing plan takes more than the line holds")
            # A price no unit has any more goes (the order of the prices never matters:
            # whoever reads them sorts them or sums them).
            if held == count:
                del units[price]
            else:
                units[price] = held - count
        total = 0
        nets = self.nets
        for line_id, price, count, per_unit in moves:
            units = units_by_line[line_id]
            lowered = price - per_unit
            units[lowered] = units.get(lowered, 0) + count
            taken = count * per_unit
            adjustments = self.adjustments[line_id]
            adjustments[promotion_id] = adjustments.get(promotion_id, 0) + taken
            nets[line_id] -= taken
            total += taken
        return total

    def discount_lines(self, promotion_id: str, amount_minor: int, line_ids: Iterable[str]) -> int:
        """Spread ``amount_minor`` over the lines by their running net amounts (largest
        remainder), and inside each line over its units the same way.

        The split is made over kinds of lines (:func:`_line_kind`), not over lines: lines no
        rule can tell apart are pooled, their share is spread over the pool's units by price,
        and each line gets its units' part. So how a quantity is rung up (one line of 2, or
        two lines of 1) never changes what any kind of item costs after the discount, and no
        later rule (a brand coupon, a category spend-and-save, an Nth item) sees a different
        basket. Kinds are taken in the order of their first line id, so when every line is
        its own kind (the usual basket) this is exactly a split over lines.
        """
        if amount_minor <= 0:
            return 0
        lines = self.lines
        pools: dict[tuple[object, ...], list[str]] = {}
        for line_id in sorted(line_ids):
            pools.setdefault(_line_kind(lines[line_id]), []).append(line_id)
        members = list(pools.values())
        nets = [self.subtotal(pool) for pool in members]
        if amount_minor > sum(nets):
            raise AssertionError("basket discount larger than the lines it covers")
        plan: list[tuple[str, int, int, int]] = []
        for pool, share in zip(members, allocate(amount_minor, nets), strict=True):
            if share == 0:
                continue
            if len(pool) == 1 and len(self.units[pool[0]]) == 1:
                # Most lines: one line of its kind, all units at one price, nothing to split.
                line_id = pool[0]
                ((price, count),) = self.units[line_id].items()
                per_unit, extra_units = divmod(share, count)
                plan.append((line_id, price, count - extra_units, per_unit))
                plan.append((line_id, price, extra_units, per_unit + 1))
                continue
            # The pool's units by running price, each price with its lines in line-id order.
            holders: dict[int, list[tuple[str, int]]] = {}
            for line_id in pool:
                for price, count in self.units[line_id].items():
                    holders.setdefault(price, []).append((line_id, count))
            groups = sorted(holders.items(), reverse=True)
            totals = [sum(count for _, count in held) for _, held in groups]
            weights = [price * total for (price, _), total in zip(groups, totals, strict=True)]
            parts = allocate(share, weights)
            for (price, held), total, part in zip(groups, totals, parts, strict=True):
                per_unit, extra_units = divmod(part, total)
                # The units taking one more minor unit go to the earliest lines of the kind.
                for line_id, count in held:
                    extra = min(extra_units, count)
                    extra_units -= extra
                    plan.append((line_id, price, count - extra, per_unit))
                    plan.append((line_id, price, extra, per_unit + 1))
        return self.discount_units(promotion_id, plan)

    def clamp(self, promotion_id: str, line_id: str | None, requested: int, applied: int) -> None:
        """Record a discount cut down to what was left (one that found nothing left is not a
        clamp: the rule is reported as giving no saving instead)."""
        self.clamps.append(
            Clamp(
                promotion_id=promotion_id,
                line_id=line_id,
                requested_minor=requested,
                applied_minor=applied,
            )
        )


# Not frozen: built for every rule in every evaluation, and a frozen dataclass's __init__
# costs several times more (it sets each field through object.__setattr__). Never mutated.
@dataclass(slots=True)
class _Effect:
    """What one rule did in one evaluation, or (``missed_*``) why it did nothing."""

    amount_minor: int = 0
    gifts: tuple[Gift, ...] = ()
    gift_value_minor: int = 0
    points_lines: int = 0
    reason_en: str = ""
    reason_zh: str = ""
    missed_code: str = ""
    missed_en: str = ""
    missed_zh: str = ""

    @property
    def took_effect(self) -> bool:
        return self.amount_minor > 0 or bool(self.gifts) or self.points_lines > 0


def _missed(code: str, text_en: str, text_zh: str) -> _Effect:
    return _Effect(missed_code=code, missed_en=text_en, missed_zh=text_zh)


_NO_SAVING = ("no_saving", "No saving on these items", "对这些商品没有优惠")


@dataclass(slots=True)
class _Step:
    """One rule applied in one evaluation: its id, the lines it covers, and the sale."""

    promotion_id: str
    matching: tuple[str, ...]
    working: _Working
    context: SaleContext
    currency: str


# --------------------------------------------------------------------------------------------
# The rules
# --------------------------------------------------------------------------------------------


def _member_unit_price(rule: MemberPrice, line: BasketLine, context: SaleContext) -> int | None:
    candidates = []
    if line.member_price_minor is not None:
        candidates.append(line.member_price_minor)
    if context.tier_code is not None and context.tier_code in line.tier_prices:
        candidates.append(line.tier_prices[context.tier_code])
    if rule.use_tier_discount and context.tier_discount_bp > 0:
        candidates.append(
            line.unit_price_minor - percent_of(line.unit_price_minor, context.tier_discount_bp)
        )
    below_shelf = [price for price in candidates if price < line.unit_price_minor]
    return min(below_shelf) if below_shelf else None


def _apply_member_price(rule: MemberPrice, step: _Step) -> _Effect:
    working = step.working
    plan = []
    units_discounted = 0
    for line_id in step.matching:
        target = _member_unit_price(rule, working.lines[line_id], step.context)
        if target is None:
            continue
        for price, count in working.units[line_id].items():
            if target < price:
                plan.append((line_id, price, count, price - target))
                units_discounted += count
    amount = working.discount_units(step.promotion_id, plan)
    if amount == 0:
        return _missed(
            "no_saving",
            "No member or tier price below the current price",
            "没有低于现价的会员价或等级价",
        )
    return _Effect(
        amount_minor=amount,
        reason_en=f"Member price on {units_discounted} item(s)",
        reason_zh=f"会员价 {units_discounted}件",
    )


def _percent_off_units(step: _Step, percent_off_bp: int) -> tuple[int, int]:
    working = step.working
    plan = [
        (line_id, price, count, percent_of(price, percent_off_bp))
        for line_id in step.matching
        for price, count in working.units[line_id].items()
    ]
    amount = working.discount_units(step.promotion_id, plan)
    return amount, sum(entry[2] for entry in plan if entry[3] > 0)


def _amount_off_each_unit(step: _Step, amount_off_minor: int) -> tuple[int, int]:
    working = step.working
    plan = []
    for line_id in step.matching:
        requested = applied = 0
        for price, count in working.units[line_id].items():
            plan.append((line_id, price, count, min(amount_off_minor, price)))
            requested += count * amount_off_minor
            applied += count * min(amount_off_minor, price)
        if 0 < applied < requested:
            working.clamp(step.promotion_id, line_id, requested, applied)
    amount = working.discount_units(step.promotion_id, plan)
    return amount, sum(entry[2] for entry in plan if entry[3] > 0)


def _amount_off_lines(step: _Step, requested_minor: int) -> int:
    """An amount off the covered lines together, cut down to what they still cost."""
    subtotal = step.working.subtotal(step.matching)
    amount = min(requested_minor, subtotal)
    if 0 < amount < requested_minor:
        step.working.clamp(step.promotion_id, None, requested_minor, amount)
    return step.working.discount_lines(step.promotion_id, amount, step.matching)


def _apply_item_discount(rule: ItemDiscount, step: _Step) -> _Effect:
    if rule.percent_off_bp is not None:
        amount, units = _percent_off_units(step, rule.percent_off_bp)
        reason_en = f"{_percent_text(rule.percent_off_bp)} off {units} item(s)"
        reason_zh = f"{_zhe_text(rule.percent_off_bp)} {units}件"
    else:
        assert rule.amount_off_minor is not None
        amount, units = _amount_off_each_unit(step, rule.amount_off_minor)
        off = _short_money(rule.amount_off_minor, step.currency)
        reason_en = f"{off} off each of {units} item(s)"
        reason_zh = f"每件减{off} {units}件"
    if amount == 0:
        return _missed(*_NO_SAVING)
    return _Effect(amount_minor=amount, reason_en=reason_en, reason_zh=reason_zh)


def _apply_birthday(rule: BirthdayOffer, step: _Step) -> _Effect:
    if rule.percent_off_bp is not None:
        amount, _ = _percent_off_units(step, rule.percent_off_bp)
        reason_en = f"Birthday month {_percent_text(rule.percent_off_bp)} off"
        reason_zh = f"生日月{_zhe_text(rule.percent_off_bp)}"
    else:
        assert rule.amount_off_minor is not None
        amount = _amount_off_lines(step, rule.amount_off_minor)
        off = _short_money(rule.amount_off_minor, step.currency)
        reason_en = f"Birthday month {off} off"
        reason_zh = f"生日月减{off}"
    if amount == 0:
        return _missed(*_NO_SAVING)
    return _Effect(amount_minor=amount, reason_en=reason_en, reason_zh=reason_zh)


def _apply_nth_item(rule: NthItemDiscount, step: _Step) -> _Effect:
    plan = []
    position = 0
    for price, line_id, count in step.working.unit_pool(step.matching):
        # Positions are 0-based in the sorted pool; the Nth of each group sits at N-1, 2N-1 …
        discounted = (position + count) // rule.nth - position // rule.nth
        plan.append((line_id, price, discounted, percent_of(price, rule.percent_off_bp)))
        position += count
    amount = step.working.discount_units(step.promotion_id, plan)
    if amount == 0:
        if position < rule.nth:
            return _missed(
                "threshold_not_met",
                f"Needs {rule.nth} matching items, the basket has {position}",
                f"需购满{rule.nth}件参与商品，当前{position}件",
            )
        return _missed(*_NO_SAVING)
    units = sum(entry[2] for entry in plan if entry[3] > 0)
    return _Effect(
        amount_minor=amount,
        reason_en=f"{_ordinal(rule.nth)} item "
        f"{_percent_text(rule.percent_off_bp)} off{_times(units)}",
        reason_zh=f"第{rule.nth}件{_zhe_text(rule.percent_off_bp)}{_times(units)}",
    )


def _apply_buy_get_free(rule: BuyAndGetFree, step: _Step) -> _Effect:
    set_size = rule.buy_quantity + rule.free_quantity

    def free_before(position: int) -> int:
        """Free positions among the first ``position`` units of the sorted pool."""
        full_sets, into_set = divmod(position, set_size)
        return full_sets * rule.free_quantity + max(0, into_set - rule.buy_quantity)

    plan = []
    position = 0
    for price, line_id, count in step.working.unit_pool(step.matching):
        plan.append((line_id, price, free_before(position + count) - free_before(position), price))
        position += count
    amount = step.working.discount_units(step.promotion_id, plan)
    if amount == 0:
        if position <= rule.buy_quantity:
            return _missed(
                "threshold_not_met",
                f"Needs more than {rule.buy_quantity} matching items, the basket has {position}",
                f"需购满{rule.buy_quantity + 1}件参与商品，当前{position}件",
            )
        return _missed(*_NO_SAVING)
    free_units = sum(entry[2] for entry in plan if entry[3] > 0)
    return _Effect(
        amount_minor=amount,
        reason_en=f"Buy {rule.buy_quantity} get {rule.free_quantity} free: "
        f"{free_units} item(s) free",
        reason_zh=f"买{rule.buy_quantity}送{rule.free_quantity}：免费{free_units}件",
    )


def _apply_bundle(rule: BundlePrice, step: _Step) -> _Effect:
    working = step.working
    available: dict[tuple[str, int], int] = {
        (line_id, price): count for price, line_id, count in working.unit_pool(step.matching)
    }
    # SKU components are filled before category components, so "any drink + this cola" does not
    # spend the cola on the "any drink" slot; within a component the dearest units go first.
    components = sorted(rule.components, key=lambda component: component.sku is None)
    candidates = [
        [key for key in available if component.matches(working.lines[key[0]])]
        for component in components
    ]
    taken_units: dict[tuple[str, int, int], int] = {}
    bundles = 0
    while True:
        units: list[tuple[str, int]] = []
        for component, keys in zip(components, candidates, strict=True):
            needed = component.quantity
            for key in keys:
                if needed == 0:
                    break
                take = min(available[key], needed)
                available[key] -= take
                units.extend([key] * take)
                needed -= take
            if needed:
                break
        complete = len(units) == sum(component.quantity for component in components)
        apart = sum(price for _, price in units)
        if not complete or apart <= rule.bundle_price_minor:
            for key in units:
                available[key] += 1
            break
        # The next bundles pick exactly the same units while every unit group used still has
        # enough left, so they are taken in one go: a basket of 500 meals is not 500 loops.
        used: dict[tuple[str, int], int] = {}
        for key in units:
            used[key] = used.get(key, 0) + 1
        repeats = 1 + min(available[key] // count for key, count in used.items())
        for key, count in used.items():
            available[key] -= (repeats - 1) * count
        shares = allocate(apart - rule.bundle_price_minor, [price for _, price in units])
        for (line_id, price), share in zip(units, shares, strict=True):
            taken_key = (line_id, price, share)
            taken_units[taken_key] = taken_units.get(taken_key, 0) + repeats
        bundles += repeats
    plan = [
        (line_id, price, count, share) for (line_id, price, share), count in taken_units.items()
    ]
    amount = working.discount_units(step.promotion_id, plan)
    if amount == 0:
        return _missed(
            "threshold_not_met",
            "The basket holds no complete bundle that costs more than the bundle price",
            "购物车中没有可享组合价的完整组合",
        )
    price_text = _short_money(rule.bundle_price_minor, step.currency)
    return _Effect(
        amount_minor=amount,
        reason_en=f"Bundle for {price_text}{_times(bundles)}",
        reason_zh=f"组合价{price_text}{_times(bundles)}",
    )


def _apply_points_multiplier(rule: PointsMultiplier, step: _Step) -> _Effect:
    multipliers = step.working.points_multiplier_bp
    for line_id in step.matching:
        multipliers[line_id] = max(multipliers[line_id], rule.multiplier_bp)
    factor = _decimal_text(rule.multiplier_bp, BASIS_POINTS_WHOLE)
    lines = len(step.matching)
    return _Effect(
        points_lines=lines,
        reason_en=f"Points ×{factor} on {lines} line(s)",
        reason_zh=f"积分{factor}倍 {lines}行",
    )


def _repeats(subtotal: int, threshold: int, repeating: bool, max_repeats: int | None) -> int:
    if subtotal < threshold:
        return 0
    times = subtotal // threshold if repeating else 1
    return min(times, max_repeats) if max_repeats is not None else times


def _threshold_missed(threshold: int, subtotal: int, currency: str) -> _Effect:
    return _missed(
        "threshold_not_met",
        f"Spend {_short_money(threshold, currency)} on matching items "
        f"(they come to {_money(subtotal, currency)})",
        f"参与商品满{_short_money(threshold, currency, symbol=False)}可用"
        f"（当前{_money(subtotal, currency)}）",
    )


def _apply_spend_save(rule: SpendAndSave, step: _Step) -> _Effect:
    subtotal = step.working.subtotal(step.matching)
    times = _repeats(subtotal, rule.threshold_minor, rule.repeating, rule.max_repeats)
    if times == 0:
        return _threshold_missed(rule.threshold_minor, subtotal, step.currency)
    amount = _amount_off_lines(step, rule.save_minor * times)
    currency = step.currency
    return _Effect(
        amount_minor=amount,
        reason_en=f"Spend {_short_money(rule.threshold_minor, currency)} "
        f"save {_short_money(rule.save_minor, currency)}{_times(times)}",
        reason_zh=f"满{_short_money(rule.threshold_minor, currency, symbol=False)}"
        f"减{_short_money(rule.save_minor, currency, symbol=False)}{_times(times)}",
    )


def _apply_spend_gift(rule: SpendAndGetGift, step: _Step) -> _Effect:
    subtotal = step.working.subtotal(step.matching)
    times = _repeats(subtotal, rule.threshold_minor, rule.repeating, rule.max_repeats)
    if times == 0:
        return _threshold_missed(rule.threshold_minor, subtotal, step.currency)
    quantity = rule.gift_quantity * times
    return _Effect(
        gifts=(Gift(step.promotion_id, rule.gift_sku, quantity),),
        gift_value_minor=rule.gift_value_minor * times,
        reason_en=f"Spend {_short_money(rule.threshold_minor, step.currency)} "
        f"get {rule.gift_sku} ×{quantity}",
        reason_zh=f"满{_short_money(rule.threshold_minor, step.currency, symbol=False)}"
        f"赠{rule.gift_sku} ×{quantity}",
    )


def _minimum_spend_missed(minimum: int, subtotal: int, currency: str) -> _Effect:
    return _missed(
        "minimum_spend_not_met",
        f"Minimum spend {_money(minimum, currency)} on matching items "
        f"(they come to {_money(subtotal, currency)})",
        f"参与商品需满{_money(minimum, currency)}（当前{_money(subtotal, currency)}）",
    )


def _apply_first_purchase(rule: FirstPurchaseOffer, step: _Step) -> _Effect:
    subtotal = step.working.subtotal(step.matching)
    if subtotal < rule.minimum_spend_minor:
        return _minimum_spend_missed(rule.minimum_spend_minor, subtotal, step.currency)
    if rule.percent_off_bp is not None:
        amount = _amount_off_lines(step, percent_of(subtotal, rule.percent_off_bp))
        reason_en = f"First purchase {_percent_text(rule.percent_off_bp)} off"
        reason_zh = f"新会员首单{_zhe_text(rule.percent_off_bp)}"
    else:
        assert rule.amount_off_minor is not None
        amount = _amount_off_lines(step, rule.amount_off_minor)
        off = _short_money(rule.amount_off_minor, step.currency)
        reason_en = f"First purchase {off} off"
        reason_zh = f"新会员首单减{off}"
    if amount == 0:
        return _missed(*_NO_SAVING)
    return _Effect(amount_minor=amount, reason_en=reason_en, reason_zh=reason_zh)


def _apply_coupon(coupon: Coupon, step: _Step) -> _Effect:
    subtotal = step.working.subtotal(step.matching)
    currency = step.currency
    if subtotal < coupon.minimum_spend_minor:
        return _minimum_spend_missed(coupon.minimum_spend_minor, subtotal, currency)
    minimum_en = minimum_zh = ""
    if coupon.minimum_spend_minor:
        minimum_en = f" on {_short_money(coupon.minimum_spend_minor, currency)} or more"
        minimum_zh = f"满{_short_money(coupon.minimum_spend_minor, currency, symbol=False)}"
    if coupon.kind == "gift":
        assert coupon.gift_sku is not None
        return _Effect(
            gifts=(Gift(step.promotion_id, coupon.gift_sku, coupon.gift_quantity),),
            gift_value_minor=coupon.gift_value_minor,
            reason_en=f"Gift {coupon.gift_sku} ×{coupon.gift_quantity}{minimum_en}",
            reason_zh=f"{minimum_zh}赠{coupon.gift_sku} ×{coupon.gift_quantity}",
        )
    if coupon.kind == "amount_off":
        amount = _amount_off_lines(step, coupon.amount_off_minor)
        off = _short_money(coupon.amount_off_minor, currency)
        reason_en = f"{off} off{minimum_en}"
        reason_zh = f"{minimum_zh}减{off}"
    else:
        requested = percent_of(subtotal, coupon.percent_off_bp)
        if coupon.cap_minor is not None:
            requested = min(requested, coupon.cap_minor)
        amount = _amount_off_lines(step, requested)
        cap_en = cap_zh = ""
        if coupon.cap_minor is not None:
            cap_en = f" (at most {_short_money(coupon.cap_minor, currency)})"
            cap_zh = f"（最多减{_short_money(coupon.cap_minor, currency)}）"
        reason_en = f"{_percent_text(coupon.percent_off_bp)} off{minimum_en}{cap_en}"
        reason_zh = f"{minimum_zh}{_zhe_text(coupon.percent_off_bp)}{cap_zh}"
    if amount == 0:
        return _missed(*_NO_SAVING)
    return _Effect(amount_minor=amount, reason_en=reason_en, reason_zh=reason_zh)


_RULES: dict[type, Callable[..., _Effect]] = {
    MemberPrice: _apply_member_price,
    ItemDiscount: _apply_item_discount,
    BirthdayOffer: _apply_birthday,
    NthItemDiscount: _apply_nth_item,
    BuyAndGetFree: _apply_buy_get_free,
    BundlePrice: _apply_bundle,
    PointsMultiplier: _apply_points_multiplier,
    SpendAndSave: _apply_spend_save,
    SpendAndGetGift: _apply_spend_gift,
    FirstPurchaseOffer: _apply_first_purchase,
    Coupon: _apply_coupon,
}

# --------------------------------------------------------------------------------------------
# Eligibility
# --------------------------------------------------------------------------------------------


def _in_hours(moment: time, start: time | None, end: time | None) -> bool:
    start = start or time.min
    if end is None:
        return moment >= start
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end  # the window runs over midnight


def _ineligibility(rule: Promotion, context: SaleContext) -> tuple[str, str, str] | None:
    """Why the promotion does not run for this sale at all, or None when it does."""
    moment = context.local_datetime
    if rule.valid_from is not None and moment < rule.valid_from:
        starts = rule.valid_from.strftime("%Y-%m-%d %H:%M")
        return "not_started", f"Starts {starts}", f"活动{starts}开始"
    if rule.valid_to is not None and moment >= rule.valid_to:
        ended = rule.valid_to.strftime("%Y-%m-%d %H:%M")
        return "ended", f"Ended {ended}", f"活动已于{ended}结束"
    if rule.weekdays and context.weekday not in rule.weekdays:
        days = sorted(rule.weekdays)
        return (
            "wrong_weekday",
            "Only on " + ", ".join(_WEEKDAY_EN[day] for day in days),
            "仅限" + "、".join(_WEEKDAY_ZH[day] for day in days),
        )
    has_hours = rule.hours_from is not None or rule.hours_to is not None
    if has_hours and not _in_hours(moment.time(), rule.hours_from, rule.hours_to):
        start = (rule.hours_from or time.min).strftime("%H:%M")
        end = rule.hours_to.strftime("%H:%M") if rule.hours_to else "24:00"
        return "outside_hours", f"Only {start}–{end}", f"仅限{start}–{end}"
    if (rule.stores or rule.regions) and not (
        context.store_code in rule.stores or context.region_code in rule.regions
    ):
        return "store_not_in_scope", "Not running in this store", "本店不参加此活动"
    needs_member = (
        rule.member_only
        or bool(rule.tiers)
        or isinstance(rule, MemberPrice | BirthdayOffer | FirstPurchaseOffer)
    )
    if needs_member and not context.is_member:
        return "members_only", "Members only", "仅限会员"
    if rule.tiers and context.tier_code not in rule.tiers:
        tiers = sorted(rule.tiers)
        return (
            "tier_not_in_scope",
            "Only for tiers " + ", ".join(tiers),
            "仅限" + "、".join(tiers) + "等级会员",
        )
    if isinstance(rule, BirthdayOffer) and not context.is_birthday_month:
        return "not_birthday_month", "Only in the member's birthday month", "仅限会员生日月"
    if isinstance(rule, FirstPurchaseOffer) and not context.is_first_purchase:
        return ("not_first_purchase", "Only on a new member's first purchase", "仅限新会员首单")
    return None


# --------------------------------------------------------------------------------------------
# Choosing the best combination
# --------------------------------------------------------------------------------------------

_ITEM_PHASE, _BASKET_PHASE, _COUPON_PHASE = 0, 1, 2


@dataclass(frozen=True)
class _Candidate:
    """A promotion or coupon seen the same way by the stacking rules."""

    id: str
    name: str
    name_zh: str
    kind: str
    priority: int
    group: str
    exclusive: bool
    combinable_with: frozenset[str] | None
    phase: int
    rule: Promotion | Coupon
    targeting: Targeting
    coupon_code: str | None = None

    @property
    def application_order(self) -> tuple[int, int, str]:
        return self.phase, -self.priority, self.id

    def refuses(self, other: _Candidate) -> bool:
        return self.combinable_with is not None and other.group not in self.combinable_with


def _conflict(first: _Candidate, second: _Candidate, policy: StackingPolicy) -> bool:
    return (
        first.exclusive
        or second.exclusive
        or policy.groups_exclude(first.group, second.group)
        or first.refuses(second)
        or second.refuses(first)
    )


def _promotion_candidate(promotion: Promotion) -> _Candidate:
    if not isinstance(promotion, Promotion) or type(promotion) not in _RULES:
        raise InvalidPromotion(
            f"Unknown promotion type {type(promotion).__name__}", field="promotions"
        )
    return _Candidate(
        id=promotion.id,
        name=promotion.name,
        name_zh=promotion.name_zh or promotion.name,
        kind=promotion.kind,
        priority=promotion.priority,
        group=promotion.group,
        exclusive=promotion.exclusive,
        combinable_with=promotion.combinable_with,
        phase=_ITEM_PHASE if isinstance(promotion, _ITEM_LEVEL_KINDS) else _BASKET_PHASE,
        rule=promotion,
        targeting=promotion.targeting,
    )


def _candidates(
    promotions: Sequence[Promotion],
    coupons: Sequence[Coupon],
    prebuilt: Sequence[_Candidate] | None = None,
) -> list[_Candidate]:
    """Promotions and coupons as the stacking rules see them, by id (``prebuilt``: the
    promotions' candidates, already built by an index)."""
    if prebuilt is not None:
        candidates = list(prebuilt)
    else:
        candidates = [_promotion_candidate(promotion) for promotion in promotions]
    for coupon in coupons:
        candidates.append(
            _Candidate(
                id=coupon.promotion_id,
                name=coupon.name or f"Coupon {coupon.code}",
                name_zh=coupon.name_zh or coupon.name or f"优惠券{coupon.code}",
                kind=f"coupon_{coupon.kind}",
                priority=coupon.priority,
                group=coupon.group,
                exclusive=coupon.exclusive,
                combinable_with=coupon.combinable_with,
                phase=_COUPON_PHASE,
                rule=coupon,
                targeting=coupon.targeting,
                coupon_code=coupon.code,
            )
        )
    candidates.sort(key=lambda candidate: candidate.id)
    for earlier, later in pairwise(candidates):
        if earlier.id == later.id:
            raise InvalidPromotion(f"Promotion id {later.id} appears twice", field="promotions")
    return candidates


@dataclass
class _Evaluation:
    members: frozenset[str]
    working: _Working
    effects: dict[str, _Effect]
    order: list[_Candidate]
    saving_minor: int = 0
    effective_priorities: tuple[int, ...] = ()
    effective_ids: tuple[str, ...] = ()

    def better_than(self, other: _Evaluation) -> bool:
        """Best for the customer: more saved, then higher priorities, then lower ids."""
        if self.saving_minor != other.saving_minor:
            return self.saving_minor > other.saving_minor
        if self.effective_priorities != other.effective_priorities:
            return self.effective_priorities > other.effective_priorities
        return self.effective_ids < other.effective_ids


def _evaluate(
    members: Iterable[_Candidate],
    lines: Sequence[BasketLine],
    matching: dict[str, tuple[str, ...]],
    context: SaleContext,
    currency: str,
) -> _Evaluation:
    order = sorted(members, key=lambda candidate: candidate.application_order)
    working = _Working(lines)
    effects = {}
    for candidate in order:
        step = _Step(candidate.id, matching[candidate.id], working, context, currency)
        effects[candidate.id] = _RULES[type(candidate.rule)](candidate.rule, step)
    effective = [candidate for candidate in order if effects[candidate.id].took_effect]
    return _Evaluation(
        members=frozenset(candidate.id for candidate in order),
        working=working,
        effects=effects,
        order=order,
        saving_minor=sum(
            effects[candidate.id].amount_minor + effects[candidate.id].gift_value_minor
            for candidate in order
        ),
        effective_priorities=tuple(
            sorted((candidate.priority for candidate in effective), reverse=True)
        ),
        effective_ids=tuple(sorted(candidate.id for candidate in effective)),
    )


def _maximal_compatible_sets(
    candidates: Sequence[_Candidate], policy: StackingPolicy, limit: int
) -> list[frozenset[int]] | None:
    """Every maximal set of mutually compatible candidates (Bron–Kerbosch with pivoting on
    the compatibility graph), or None when there are more than ``limit``.

    Whether two candidates conflict depends only on their stacking signature (exclusive,
    group, combinable_with), and a basket's candidates share a few signatures. Candidates of
    a signature that combines with itself are all in a maximal set or none is, so each such
    class is one vertex of the search; a signature that excludes itself (an exclusive
    promotion, a "one per basket" group) keeps one vertex per candidate. The search then runs
    over a handful of vertices however many promotions match, and finds the same sets.
    """
    classes: dict[tuple[bool, str, frozenset[str] | None], list[int]] = {}
    for index, candidate in enumerate(candidates):
        signature = (candidate.exclusive, candidate.group, candidate.combinable_with)
        classes.setdefault(signature, []).append(index)
    signatures = list(classes)
    first = {signature: candidates[classes[signature][0]] for signature in signatures}
    combines = {
        (one, other): not _conflict(first[one], first[other], policy)
        for one in signatures
        for other in signatures
    }
    vertices: list[frozenset[int]] = []
    vertex_class: list[tuple[bool, str, frozenset[str] | None]] = []
    for signature in signatures:
        indexes = classes[signature]
        groups = [indexes] if combines[(signature, signature)] else [[i] for i in indexes]
        for group in groups:
            vertices.append(frozenset(group))
            vertex_class.append(signature)
    count = len(vertices)
    compatible = [
        {
            other
            for other in range(count)
            if other != vertex and combines[(vertex_class[vertex], vertex_class[other])]
        }
        for vertex in range(count)
    ]
    found: list[frozenset[int]] = []

    def expand(chosen: frozenset[int], possible: set[int], excluded: set[int]) -> bool:
        if not possible and not excluded:
            found.append(chosen)
            return len(found) <= limit
        pivot = max(sorted(possible | excluded), key=lambda v: len(compatible[v] & possible))
        for vertex in sorted(possible - compatible[pivot]):
            if not expand(
                chosen | {vertex}, possible & compatible[vertex], excluded & compatible[vertex]
            ):
                return False
            possible = possible - {vertex}
            excluded = excluded | {vertex}
        return True

    if not expand(frozenset(), set(range(count)), set()):
        return None
    return [frozenset().union(*(vertices[vertex] for vertex in chosen)) for chosen in found]


def _greedy_by_priority(candidates: Sequence[_Candidate], policy: StackingPolicy) -> frozenset[int]:
    chosen: list[int] = []
    ranked = sorted(
        range(len(candidates)),
        key=lambda index: (-candidates[index].priority, candidates[index].id),
    )
    for index in ranked:
        if not any(_conflict(candidates[index], candidates[other], policy) for other in chosen):
            chosen.append(index)
    return frozenset(chosen)


def _rejection(
    candidate: _Candidate,
    code: str,
    text_en: str,
    text_zh: str,
    *,
    excluded_by: tuple[str, ...] = (),
    saving_difference_minor: int | None = None,
) -> RejectedPromotion:
    return RejectedPromotion(
        promotion_id=candidate.id,
        name=candidate.name,
        name_zh=candidate.name_zh,
        code=code,
        reason_en=text_en,
        reason_zh=text_zh,
        excluded_by=excluded_by,
        saving_difference_minor=saving_difference_minor,
    )


def _exclusion_reason(
    loser: _Candidate, winners: Sequence[_Candidate], difference: int | None, currency: str
) -> RejectedPromotion:
    ids = [winner.id for winner in winners]
    names_en = ", ".join(ids)
    names_zh = "、".join(ids)
    if difference is None:
        text_en = (
            f"Excluded by {names_en}, which {'has' if len(ids) == 1 else 'have'} higher "
            "priority (too many combinations to compare savings)"
        )
        text_zh = f"与{names_zh}互斥，{names_zh}优先级更高（组合过多，未比较优惠金额）"
    elif difference > 0:
        saves = "saves" if len(ids) == 1 else "save"
        text_en = f"Excluded by {names_en}, which {saves} {_money(difference, currency)} more"
        text_zh = f"与{names_zh}互斥，{names_zh}多省{_money(difference, currency)}"
    else:
        text_en = f"Excluded by {names_en}: same saving, chosen by priority"
        text_zh = f"与{names_zh}互斥：优惠相同，按优先级选择{names_zh}"
    return _rejection(
        loser,
        "excluded",
        text_en,
        text_zh,
        excluded_by=tuple(ids),
        saving_difference_minor=difference,
    )


# --------------------------------------------------------------------------------------------
# Manual discounts
# --------------------------------------------------------------------------------------------


def _apply_manual_discounts(
    working: _Working, manual: Sequence[ManualDiscount], context: SaleContext, currency: str
) -> list[AppliedPromotion]:
    """The cashier's discounts, last, each on what is left; refused beyond the staff limit.

    The limit holds per discount (a share of what it applies to), per line for the discounts
    aimed at that line, and for the whole sale, so two 10 % discounts cannot make 19 %.
    """
    limit_bp = context.staff_manual_discount_limit_bp
    all_lines = sorted(working.lines)
    basket_before = working.subtotal(all_lines)
    line_before = {line_id: working.net(line_id) for line_id in all_lines}
    given_per_line: dict[str, int] = {}
    applied = []
    total_given = 0

    def refuse(amount: int, limit: int, base: int, what: str) -> ManualDiscountOverLimit:
        return ManualDiscountOverLimit(
            f"A manual discount of {_money(amount, currency)} on {what} is over this cashier's "
            f"limit of {_money(limit, currency)} ({_percent_text(limit_bp)} of "
            f"{_money(base, currency)})",
            field="manual",
            requested_minor=amount,
            limit_minor=limit,
        )

    for number, discount in enumerate(manual, start=1):
        promotion_id = f"manual:{number}"
        if discount.line_id is not None:
            if discount.line_id not in working.lines:
                raise InvalidManualDiscount(
                    f"No line {discount.line_id} in the basket", field="manual.line_id"
                )
            targets = [discount.line_id]
            what_en, what_zh = f"line {discount.line_id}", f"商品行{discount.line_id}"
        else:
            targets = all_lines
            what_en, what_zh = "the basket", "整单"
        base = working.subtotal(targets)
        if discount.percent_off_bp is not None:
            requested = percent_of(base, discount.percent_off_bp)
            text_en = f"Manual {_percent_text(discount.percent_off_bp)} off {what_en}"
            text_zh = f"手工折扣 {what_zh}{_zhe_text(discount.percent_off_bp)}"
        else:
            assert discount.amount_off_minor is not None
            requested = discount.amount_off_minor
            text_en = f"Manual {_money(requested, currency)} off {what_en}"
            text_zh = f"手工优惠 {what_zh}减{_money(requested, currency)}"
        amount = min(requested, base)
        if 0 < amount < requested:
            working.clamp(promotion_id, discount.line_id, requested, amount)
        limit = percent_of(base, limit_bp)
        if amount > limit:
            raise refuse(amount, limit, base, what_en)
        if discount.line_id is not None:
            given = given_per_line.get(discount.line_id, 0) + amount
            line_limit = percent_of(line_before[discount.line_id], limit_bp)
            if given > line_limit:
                raise refuse(given, line_limit, line_before[discount.line_id], what_en)
            given_per_line[discount.line_id] = given
        working.discount_lines(promotion_id, amount, targets)
        total_given += amount
        if amount == 0:
            continue  # the line or basket was already free
        if discount.note:
            text_en, text_zh = f"{text_en}: {discount.note}", f"{text_zh}：{discount.note}"
        applied.append(
            AppliedPromotion(
                promotion_id=promotion_id,
                kind="manual",
                name="Manual discount",
                name_zh="手工折扣",
                total_amount_minor=amount,
                reason_en=text_en,
                reason_zh=text_zh,
            )
        )
    sale_limit = percent_of(basket_before, limit_bp)
    if context.staff_manual_discount_limit_minor is not None:
        sale_limit = min(sale_limit, context.staff_manual_discount_limit_minor)
    if total_given > sale_limit:
        raise refuse(total_given, sale_limit, basket_before, "this sale")
    return applied


# --------------------------------------------------------------------------------------------
# The index: which promotions can match a basket at all
# --------------------------------------------------------------------------------------------


def _index_keys(promotion: Promotion) -> frozenset[tuple[str, str]] | None:
    """What a line must have for ``promotion`` to possibly cover it, or None when any line
    may do (no inclusion set: the promotion is basket-wide). Exclusions only narrow a
    targeting, so they are left to :meth:`Targeting.matches`."""
    targeting = promotion.targeting
    keys = (
        {("sku", sku) for sku in targeting.skus}
        | {("category", category) for category in targeting.categories}
        | {("brand", brand) for brand in targeting.brands}
        | {("tag", tag) for tag in targeting.tags}
    )
    if not keys and isinstance(promotion, BundlePrice):
        # A bundle takes only units its components match, whatever its targeting.
        keys = {
            ("sku", component.sku)
            if component.sku is not None
            else ("category", component.category or "")
            for component in promotion.components
        }
    return frozenset(keys) if keys else None


def _line_keys(line: BasketLine) -> Iterable[tuple[str, str]]:
    yield "sku", line.sku
    for category in line.category_path:
        yield "category", category
    if line.brand:
        yield "brand", line.brand
    for tag in line.tags:
        yield "tag", tag


def _targets_everything(promotion: Promotion) -> bool:
    """A promotion whose own targeting is empty (a bundle indexed by its components)."""
    targeting = promotion.targeting
    return not (targeting.skus or targeting.categories or targeting.brands or targeting.tags)


class IndexedPromotions(list[Promotion]):
    """A read-only list of active promotions indexed by what they can match (SKU, category,
    brand, tag, or anything for basket-wide ones), so :func:`price_basket` looks only at the
    promotions that can cover a line of the basket: the cost of pricing grows with the
    promotions that match, not with all that are live. Build it once per set of definitions
    (the service caches it) and pass it as ``promotions``; the result is deterministic and the
    same as with the plain list, except that promotions no line can match are not listed
    among the rejected."""

    def __init__(self, promotions: Iterable[Promotion] = ()) -> None:
        super().__init__(promotions)
        self._basket_wide: list[int] = []
        self._by_key: dict[tuple[str, str], list[int]] = {}
        # Whether the lines found through the index are all the promotion can cover (not so
        # for a bundle indexed by its components: its own targeting is every line).
        self._narrowed = [not _targets_everything(promotion) for promotion in self]
        self._built = [_promotion_candidate(promotion) for promotion in self]
        ids = sorted(candidate.id for candidate in self._built)
        for earlier, later in pairwise(ids):
            if earlier == later:
                raise InvalidPromotion(f"Promotion id {later} appears twice", field="promotions")
        for position, promotion in enumerate(self):
            keys = _index_keys(promotion)
            if keys is None:
                self._basket_wide.append(position)
                continue
            for key in keys:
                self._by_key.setdefault(key, []).append(position)

    def candidates_for(self, lines: Iterable[BasketLine]) -> list[Promotion]:
        """The promotions that can match at least one of ``lines``, in list order."""
        return [promotion for promotion, _ in self.candidate_lines(list(lines))]

    def candidate_lines(
        self, lines: Sequence[BasketLine]
    ) -> list[tuple[Promotion, list[int] | None]]:
        """Each promotion that can match one of ``lines`` (in list order), with the positions
        in ``lines`` of the lines its targeting can cover (None: any line)."""
        hits = self._hits(lines)
        result: list[tuple[Promotion, list[int] | None]] = []
        for position in sorted({*self._basket_wide, *hits}):
            narrowed = self._narrowed[position] and position in hits
            result.append((self[position], hits[position] if narrowed else None))
        return result

    def prepared(
        self, lines: Sequence[BasketLine]
    ) -> tuple[list[_Candidate], dict[str, list[BasketLine]]]:
        """For :func:`price_basket`: the candidates that can match ``lines`` and, for each
        that is narrowed by its targeting, the lines it can cover."""
        built: list[_Candidate] = []
        hints: dict[str, list[BasketLine]] = {}
        hits = self._hits(lines)
        for position in sorted({*self._basket_wide, *hits}):
            candidate = self._built[position]
            built.append(candidate)
            if self._narrowed[position] and position in hits:
                hints[candidate.id] = [lines[line] for line in hits[position]]
        return built, hints

    def _hits(self, lines: Sequence[BasketLine]) -> dict[int, list[int]]:
        hits: dict[int, list[int]] = {}
        by_key = self._by_key
        for line_position, line in enumerate(lines):
            for key in _line_keys(line):
                for position in by_key.get(key, ()):
                    found = hits.setdefault(position, [])
                    if not found or found[-1] != line_position:
                        found.append(line_position)
        return hits

    def _read_only(self, *args: object, **kwargs: object) -> None:
        raise TypeError("IndexedPromotions is read-only (it is shared); copy it with list()")

    append = extend = insert = remove = pop = clear = sort = reverse = _read_only  # type: ignore[assignment]
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only  # type: ignore[assignment]


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def price_basket(
    basket: Basket,
    context: SaleContext,
    promotions: Sequence[Promotion] = (),
    coupons: Sequence[Coupon] = (),
    manual: Sequence[ManualDiscount] = (),
    policy: StackingPolicy = DEFAULT_STACKING_POLICY,
) -> PricedBasket:
    """Price one basket: the best combination of the active promotions and the presented
    coupons for the customer, then the cashier's manual discounts.

    ``promotions`` are the chain's active definitions (the engine checks dates, hours, stores,
    member and tier scope itself); ``coupons`` have been validated by the caller. When
    ``promotions`` is an :class:`IndexedPromotions`, only the promotions that can match a line
    of the basket are considered (the result is the same, except that the others are not
    listed in ``rejected``). Raises
    :class:`ManualDiscountOverLimit` (code ``manual_discount_over_limit``) when the cashier's
    discounts exceed the staff limit, and the ``Invalid*`` errors for inconsistent input.
    """
    currency = basket.currency
    lines = sorted(basket.lines, key=lambda line: line.line_id)
    hints: dict[str, list[BasketLine]] = {}
    prebuilt = None
    if isinstance(promotions, IndexedPromotions):
        prebuilt, hints = promotions.prepared(lines)
    competing, matching, rejections = _competing_candidates(
        _candidates(promotions, coupons, prebuilt), lines, context, currency, hints
    )
    best, evaluations, selection, notes = _choose_best(
        competing, lines, matching, context, currency, policy
    )
    for loser in competing:
        if loser.id in best.members:
            continue
        winners = [winner for winner in best.order if _conflict(loser, winner, policy)]
        difference = None
        if selection == "exhaustive":
            alternative = max(
                evaluation.saving_minor
                for evaluation in evaluations
                if loser.id in evaluation.members
            )
            difference = best.saving_minor - alternative
        rejections.append(_exclusion_reason(loser, winners, difference, currency))

    applied: list[AppliedPromotion] = []
    gifts: list[Gift] = []
    for candidate in best.order:
        effect = best.effects[candidate.id]
        if not effect.took_effect:
            rejections.append(
                _rejection(
                    candidate,
                    effect.missed_code,
                    effect.missed_en + " after the other discounts",
                    effect.missed_zh + "（计入其他优惠后）",
                )
            )
            continue
        gifts.extend(effect.gifts)
        applied.append(
            AppliedPromotion(
                promotion_id=candidate.id,
                kind=candidate.kind,
                name=candidate.name,
                name_zh=candidate.name_zh,
                total_amount_minor=effect.amount_minor,
                reason_en=effect.reason_en,
                reason_zh=effect.reason_zh,
                coupon_code=candidate.coupon_code,
            )
        )
    working = best.working
    applied.extend(_apply_manual_discounts(working, manual, context, currency))

    priced_lines = tuple(_priced_line(line, working) for line in lines)
    gross = sum(line.gross_minor for line in priced_lines)
    net = sum(line.net_minor for line in priced_lines)
    return PricedBasket(
        currency=currency,
        lines=priced_lines,
        applied=tuple(applied),
        rejected=tuple(sorted(rejections, key=lambda entry: entry.promotion_id)),
        gifts=tuple(gifts),
        clamps=tuple(working.clamps),
        gross_minor=gross,
        discount_minor=gross - net,
        net_minor=net,
        selection=selection,
        combinations_evaluated=len(evaluations),
        notes=tuple(notes),
    )


def _competing_candidates(
    candidates: Sequence[_Candidate],
    lines: Sequence[BasketLine],
    context: SaleContext,
    currency: str,
    hints: dict[str, list[BasketLine]] | None = None,
) -> tuple[list[_Candidate], dict[str, tuple[str, ...]], list[RejectedPromotion]]:
    """The rules that can save something on this basket, the lines each covers, and a
    rejection with its own reason for every other rule. ``hints`` (from the index) narrow
    the lines a promotion's targeting is tested on to those that can match it."""
    hints = hints or {}
    competing: list[_Candidate] = []
    matching: dict[str, tuple[str, ...]] = {}
    rejections: list[RejectedPromotion] = []
    for candidate in candidates:
        if isinstance(candidate.rule, Promotion):
            reason = _ineligibility(candidate.rule, context)
            if reason is not None:
                rejections.append(_rejection(candidate, *reason))
                continue
        covered = [
            line for line in hints.get(candidate.id, lines) if candidate.targeting.matches(line)
        ]
        matching[candidate.id] = tuple(line.line_id for line in covered)
        if not covered:
            rejections.append(
                _rejection(
                    candidate,
                    "no_matching_items",
                    "No matching items in the basket",
                    "购物车中没有参与商品",
                )
            )
            continue
        # Other discounts only lower prices, and no rule saves more on lower prices, so a rule
        # that does nothing on its own does nothing in any combination: drop it before the
        # search, with its own reason rather than an exclusion.
        if _takes_effect_alone(candidate, covered, context):
            competing.append(candidate)
            continue
        # Alone, a rule reads and changes only the lines it covers.
        alone = _evaluate([candidate], covered, matching, context, currency).effects[candidate.id]
        if not alone.took_effect:
            rejections.append(
                _rejection(candidate, alone.missed_code, alone.missed_en, alone.missed_zh)
            )
            continue
        competing.append(candidate)
    return competing, matching, rejections


def _takes_effect_alone(
    candidate: _Candidate, covered_lines: Sequence[BasketLine], context: SaleContext
) -> bool:
    """True when a rule certainly does something on its own, so pricing it alone to find out
    can be skipped: a points multiplier on any line, a spend-and-save or spend-and-gift whose
    items reach the threshold at shelf prices, a member price below some shelf price, an item
    discount that takes at least one minor unit off some unit at its shelf price. (False
    means "price it alone to see".)"""
    rule = candidate.rule
    if isinstance(rule, PointsMultiplier):
        return True
    if type(rule) in (SpendAndSave, SpendAndGetGift):
        # Alone it meets its threshold on the shelf prices, and then saves or gives something.
        assert isinstance(rule, SpendAndSave | SpendAndGetGift)
        return sum(line.gross_minor for line in covered_lines) >= rule.threshold_minor
    if type(rule) is MemberPrice:
        assert isinstance(rule, MemberPrice)
        return any(_member_unit_price(rule, line, context) is not None for line in covered_lines)
    if type(rule) is not ItemDiscount:
        return False
    prices = [line.unit_price_minor for line in covered_lines]
    if rule.amount_off_minor is not None:
        return any(price > 0 for price in prices)
    assert rule.percent_off_bp is not None
    return any(percent_of(price, rule.percent_off_bp) > 0 for price in prices)


def _choose_best(
    competing: Sequence[_Candidate],
    lines: Sequence[BasketLine],
    matching: dict[str, tuple[str, ...]],
    context: SaleContext,
    currency: str,
    policy: StackingPolicy,
) -> tuple[_Evaluation, list[_Evaluation], Literal["exhaustive", "greedy"], list[Note]]:
    """Price every maximal compatible set and keep the best for the customer; beyond the
    policy's bound, take the greedy set by priority and say so."""
    notes: list[Note] = []
    sets = _maximal_compatible_sets(competing, policy, policy.max_combinations)
    selection: Literal["exhaustive", "greedy"] = "exhaustive"
    if sets is None:
        selection = "greedy"
        sets = [_greedy_by_priority(competing, policy)]
        notes.append(
            Note(
                "greedy_selection",
                f"More than {policy.max_combinations} combinations of competing promotions: "
                "chosen by priority instead of comparing savings",
                f"互斥促销组合超过{policy.max_combinations}种：按优先级选择，未比较优惠金额",
            )
        )
    evaluations = [
        _evaluate([competing[index] for index in chosen], lines, matching, context, currency)
        for chosen in sets
    ]
    best = evaluations[0]
    for evaluation in evaluations[1:]:
        if evaluation.better_than(best):
            best = evaluation
    return best, evaluations, selection, notes


def _priced_line(line: BasketLine, working: _Working) -> PricedLine:
    adjustments = tuple(
        LineAdjustment(promotion_id, amount)
        for promotion_id, amount in working.adjustments[line.line_id].items()
        if amount > 0
    )
    net = working.net(line.line_id)
    if net < 0 or line.gross_minor - sum(a.amount_minor for a in adjustments) != net:
        raise AssertionError(f"line {line.line_id} does not reconcile")
    return PricedLine(
        line_id=line.line_id,
        sku=line.sku,
        quantity=line.quantity,
        unit_price_minor=line.unit_price_minor,
        gross_minor=line.gross_minor,
        adjustments=adjustments,
        net_minor=net,
        points_multiplier_bp=working.points_multiplier_bp[line.line_id],
    )


def explain(priced: PricedBasket, language: Literal["en", "zh"] = "en") -> str:
    """A plain-text account of a priced basket for the cashier's screen or a support ticket:
    what applied and how much it saved, what did not and why, and the totals."""
    zh = language == "zh"
    currency = priced.currency
    rows = [("原价合计 " if zh else "Gross ") + _money(priced.gross_minor, currency)]
    for promotion in priced.applied:
        name = promotion.name_zh if zh else promotion.name
        reason = promotion.reason_zh if zh else promotion.reason_en
        saved = promotion.total_amount_minor
        rows.append(f"  - {name}: {reason}" + (f"  -{_money(saved, currency)}" if saved else ""))
    for gift in priced.gifts:
        label = "赠品" if zh else "Gift"
        rows.append(f"  + {label} {gift.sku} ×{gift.quantity} ({gift.promotion_id})")
    if priced.rejected:
        rows.append("未使用的优惠：" if zh else "Not applied:")
        for rejected in priced.rejected:
            name = rejected.name_zh if zh else rejected.name
            reason = rejected.reason_zh if zh else rejected.reason_en
            rows.append(f"  · {name} ({rejected.promotion_id}): {reason}")
    for note in priced.notes:
        rows.append(f"  ! {note.text_zh if zh else note.text_en}")
    rows.append(("优惠合计 " if zh else "Discount ") + _money(priced.discount_minor, currency))
    rows.append(("应付 " if zh else "Net ") + _money(priced.net_minor, currency))
    return "\n".join(rows)
