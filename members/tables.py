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


class QualifyingSpend(Table):
    """Spend that counts towards a tier: one row per sale (positive) or refund (negative),
    appended by the POS gateway inside the sale's own transaction. Append-only and unique by
    source (kind + id), so a replayed sale counts once; merges append compensating rows."""

    member = ForeignKey(Member, null=False, on_delete=RESTRICT)
    store = ForeignKey(Store, null=False, on_delete=RESTRICT)
    business_date = Date(null=False)  # in the store's zone; the rolling window counts these
    amount_minor = BigInt(null=False)
    source_kind = Varchar(length=24, null=False)  # sale | refund | merge_in | merge_out | demo
    source_id = Varchar(length=64, null=False)
    occurred_at = Timestamptz()
    recorded_at = Timestamptz()


class TierEvent(Table):
    """Every change of a member's tier (or of its hold), why and who. Append-only; the
    member's tier history in their data export."""

    member = ForeignKey(Member, null=False, on_delete=RESTRICT)
    from_tier = ForeignKey(Tier, null=True, default=None, on_delete=RESTRICT)
    to_tier = ForeignKey(Tier, null=True, default=None, on_delete=RESTRICT)
    # upgrade | downgrade | manual | paid | renewal | lapse | hold_ended | merge
    reason = Varchar(length=16, null=False)
    rolling_spend_minor = BigInt(null=True, default=None)
    held_until = Timestamptz(null=True, default=None)
    staff = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)
    source_kind = Varchar(length=24, null=True, default=None)
    source_id = Varchar(length=64, null=True, default=None)
    note = Text(default="")
    at = Timestamptz()


class FamilySpend(Table):
    """Stored value a child card spent from its parent (positive) or got back on a refund
    (negative, ``reverses`` the reservation). The per-day and per-month limits are checked
    against these rows with the family link locked. Append-only, unique by source."""

    link = ForeignKey(FamilyLink, null=False, on_delete=RESTRICT)
    child = ForeignKey(Member, null=False, on_delete=RESTRICT)
    parent = ForeignKey(Member, null=False, on_delete=RESTRICT)
    business_date = Date(null=False)
    amount_minor = BigInt(null=False)
    source_kind = Varchar(length=24, null=False)
    source_id = Varchar(length=64, null=False)
    reverses = ForeignKey("self", null=True, default=None, on_delete=RESTRICT)
    at = Timestamptz()


class MemberSession(Table):
    """A member signed in on their phone: a bearer token, of which only the SHA-256 is
    stored (like staff sessions)."""

    token_hash = Varchar(length=64, unique=True, null=False)
    member = ForeignKey(Member, null=False, on_delete=RESTRICT)
    method = Varchar(length=8, null=False)  # pin | code
    created_at = Timestamptz()
    expires_at = Timestamptz(null=False)
    revoked_at = Timestamptz(null=True, default=None)


class SignInCode(Table):
    """A one-time sign-in code sent to a member's phone: only its keyed hash is stored here
    (the outbox row that carries it to the SMS gateway holds the code itself)."""

    phone = Varchar(length=20, null=False)
    member = ForeignKey(Member, null=False, on_delete=RESTRICT)
    code_hash = Varchar(length=64, null=False)
    created_at = Timestamptz()
    expires_at = Timestamptz(null=False)
    used_at = Timestamptz(null=True, default=None)
    attempts = Integer(default=0, null=False)


class MemberMerge(Table):
    """HQ merged a duplicate member into a survivor: cards, history and (through each
    domain's merge hook) balances moved over. One row per merge, unique by ``merge_ref`` and
    by the merged member (a member is merged once)."""

    merge_ref = Varchar(length=64, null=False)
    survivor = ForeignKey(Member, null=False, on_delete=RESTRICT)
    merged = ForeignKey(Member, null=False, on_delete=RESTRICT)
    staff = ForeignKey(Staff, null=True, default=None, on_delete=RESTRICT)
    reason = Text(default="")
    moved = JSON(default="{}")  # what moved: card numbers, spend, links …
    at = Timestamptz()
