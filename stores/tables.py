"""Tables of the chain: regions, stores, terminals, staff and their sessions, the product
catalog with store-level prices, and the audit log of every change HQ makes."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    Array,
    BigInt,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

RESTRICT = OnDelete.restrict


class Region(Table):
    code = Varchar(length=32, unique=True, null=False)
    name = Varchar(length=100, null=False)
    created_at = Timestamptz()


class Store(Table):
    code = Varchar(length=32, unique=True, null=False)
    name = Varchar(length=100, null=False)
    region = ForeignKey(Region, null=False, on_delete=RESTRICT)
    time_zone = Varchar(length=64, null=False)
    address = Varchar(length=255, default="")
    phone = Varchar(length=32, default="")
    # active: trading; suspended: temporarily closed, terminals refused; closed: for good.
    status = Varchar(length=16, default="active", null=False)
    created_at = Timestamptz()


class Terminal(Table):
    """A POS till. Its API key is ``mpt_<key_id>_<secret>``; only a hash of it is kept."""

    store = ForeignKey(Store, null=False, on_delete=RESTRICT)
    name = Varchar(length=64, null=False)
    key_id = Varchar(length=32, unique=True, null=False)
    key_hash = Varchar(length=64, null=False)
    key_created_at = Timestamptz()
    status = Varchar(length=16, default="active", null=False)  # active | revoked
    revoked_at = Timestamptz(null=True, default=None)
    last_seen_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class Staff(Table):
    employee_no = Varchar(length=32, unique=True, null=False)
    name = Varchar(length=100, null=False)
    home_store = ForeignKey(Store, null=True, default=None, on_delete=RESTRICT)
    roles = Array(Varchar(length=20), null=False)
    password_hash = Varchar(length=255, null=False)
    pin_hash = Varchar(length=255, null=True, default=None)
    status = Varchar(length=16, default="active", null=False)  # active | inactive
    # Largest manual discount this person may give at the till, in basis points of a line.
    manual_discount_limit_bp = Integer(default=0, null=False)
    created_at = Timestamptz()


class StaffSession(Table):
    """A signed-in staff member's bearer token (only its SHA-256 is stored)."""

    token_hash = Varchar(length=64, unique=True, null=False)
    staff = ForeignKey(Staff, null=False, on_delete=RESTRICT)
    created_at = Timestamptz()
    expires_at = Timestamptz(null=False)
    revoked_at = Timestamptz(null=True, default=None)


class Category(Table):
    code = Varchar(length=32, unique=True, null=False)
    name = Varchar(length=100, null=False)
    name_en = Varchar(length=100, default="")
    parent = ForeignKey("self", null=True, default=None, on_delete=RESTRICT)
    # Codes from the root down, joined by '/': the engine matches a promotion on a prefix.
    path = Varchar(length=255, null=False)


class Brand(Table):
    code = Varchar(length=32, unique=True, null=False)
    name = Varchar(length=100, null=False)
    name_en = Varchar(length=100, default="")


class Product(Table):
    sku = Varchar(length=40, unique=True, null=False)
    name = Varchar(length=200, null=False)
    name_en = Varchar(length=200, default="")
    category = ForeignKey(Category, null=False, on_delete=RESTRICT)
    brand = ForeignKey(Brand, null=True, default=None, on_delete=RESTRICT)
    barcode = Varchar(length=32, null=True, default=None)
    unit = Varchar(length=16, default="件")
    tags = Array(Varchar(length=32), null=False, default=list)
    retail_price_minor = BigInt(null=False)
    member_price_minor = BigInt(null=True, default=None)
    status = Varchar(length=16, default="active", null=False)  # active | discontinued
    created_at = Timestamptz()
    updated_at = Timestamptz()


class StorePrice(Table):
    """A store's own price for a product from a business date on (in the store's zone).

    Rows are never changed: a new price is a new row with a later ``effective_from``, so the
    price on any past date can be read back (an offline sale is priced as of its own time).
    """

    product = ForeignKey(Product, null=False, on_delete=RESTRICT)
    store = ForeignKey(Store, null=False, on_delete=RESTRICT)
    effective_from = Date(null=False)
    retail_price_minor = BigInt(null=False)
    member_price_minor = BigInt(null=True, default=None)
    created_at = Timestamptz()
    created_by = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)


class AuditEntry(Table):
    """Who changed what, when, with the state before and after. Append-only."""

    at = Timestamptz()
    actor_kind = Varchar(length=16, null=False)  # staff | terminal | system | member
    actor_id = Integer(null=True, default=None)
    actor_name = Varchar(length=100, default="")
    action = Varchar(length=64, null=False)
    entity = Varchar(length=32, null=False)
    entity_key = Varchar(length=64, null=False)
    store_code = Varchar(length=32, null=True, default=None)
    before = JSON(null=True, default=None)
    after = JSON(null=True, default=None)
    reason = Text(default="")
