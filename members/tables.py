"""Tables of members: the member (unique by phone in the chain), their cards and every card
life-cycle step, tier definitions, family (parent/child) links and the outbox of messages."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from stores.tables import Staff, Store, Terminal

RESTRICT = OnDelete.restrict


class Tier(Table):
    """A membership level. ``rank`` orders them (0 = entry level); a member qualifies by
    spend over a rolling 12 months, or buys a paid tier (``annual_fee_minor``)."""

    code = Varchar(length=32, unique=True, null=False)
    name = Varchar(length=64, null=False)
    name_en = Varchar(length=64, default="")
    rank = Integer(unique=True, null=False)
    threshold_minor = BigInt(null=False, default=0)
    points_multiplier_bp = Integer(null=False, default=10_000)  # 10,000 = ×1
    discount_bp = Integer(null=False, default=0)
    annual_fee_minor = BigInt(null=True, default=None)
    active = Boolean(default=True, null=False)
    created_at = Timestamptz()


class Member(Table):
    # E.164 (+8613812341234): unique in the chain; shown masked (138****1234) to cashiers.
    phone = Varchar(length=20, unique=True, null=False)
    name = Varchar(length=100, null=False)
    birthday = Date(null=True, default=None)
    gender = Varchar(length=8, null=True, default=None)  # female | male | other
    email = Varchar(length=255, null=True, default=None)
    home_store = ForeignKey(Store, null=False, on_delete=RESTRICT)
    registered_by_staff = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)
    registered_by_terminal = ForeignKey(Terminal, null=True, default=None, on_delete=RESTRICT)
    referrer = ForeignKey("self", null=True, default=None, on_delete=RESTRICT)
    payment_pin_hash = Varchar(length=255, null=True, default=None)
    # Marketing consent per channel: the time it was given, or None.
    consent_sms_at = Timestamptz(null=True, default=None)
    consent_email_at = Timestamptz(null=True, default=None)
    consent_push_at = Timestamptz(null=True, default=None)
    tier = ForeignKey(Tier, null=True, default=None, on_delete=RESTRICT)
    tier_since = Timestamptz(null=True, default=None)
    # A tier set by HQ by hand (or paid for) holds until this instant, whatever the spend.
    tier_held_until = Timestamptz(null=True, default=None)
    # active | cancelled | merged | erased
    status = Varchar(length=16, default="active", null=False)
    merged_into = ForeignKey("self", null=True, default=None, on_delete=RESTRICT)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Card(Table):
    """A member card: a physical card or the virtual card behind the phone's QR code. The
    number carries a Luhn check digit; a replaced card's number is dead for good."""

    number = Varchar(length=20, unique=True, null=False)
    member = ForeignKey(Member, null=False, on_delete=RESTRICT)
    kind = Varchar(length=16, default="physical", null=False)  # physical | virtual
    # active | lost | frozen | replaced | cancelled
    status = Varchar(length=16, default="active", null=False)
    replaced_by = ForeignKey("self", null=True, default=None, on_delete=RESTRICT)
    issued_at = Timestamptz()
    status_changed_at = Timestamptz()


class CardEvent(Table):
    """Every life-cycle step of a card, who did it and why. Append-only."""

    card = ForeignKey(Card, null=False, on_delete=RESTRICT)
    action = Varchar(length=24, null=False)  # issue | report_lost | freeze | unfreeze | …
    from_status = Varchar(length=16, null=True, default=None)
    to_status = Varchar(length=16, null=False)
    staff = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)
    terminal = ForeignKey(Terminal, null=True, default=None, on_delete=RESTRICT)
    by_member = Boolean(default=False, null=False)
    reason = Text(default="")
    at = Timestamptz()


class FamilyLink(Table):
    """A child card's holder attached to a parent member (主附卡): the child's purchases earn
    into the parent's points, and the child may spend the parent's stored value up to the
    parent's limits. Detaching sets ``detached_at``; the row stays for history."""

    parent = ForeignKey(Member, null=False, on_delete=RESTRICT)
    child = ForeignKey(Member, null=False, on_delete=RESTRICT)
    daily_limit_minor = BigInt(null=False, default=0)
    monthly_limit_minor = BigInt(null=False, default=0)
    attached_at = Timestamptz()
    detached_at = Timestamptz(null=True, default=None)


class Outbox(Table):
    """Messages to members (one-time codes, points earned, expiry warnings), written in the
    transaction that caused them and sent afterwards by a sender behind an interface."""

    member = ForeignKey(Member, null=True, default=None, on_delete=RESTRICT)
    channel = Varchar(length=16, null=False)  # sms | email | push
    recipient = Varchar(length=255, null=False)
    template = Varchar(length=64, null=False)
    payload = JSON(default="{}")
    created_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)
    attempts = Integer(default=0, null=False)
