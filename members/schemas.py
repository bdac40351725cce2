"""What crosses HTTP for members: msgspec Structs that name the field on bad input."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec

from stores.schemas import BasisPoints, Code, Input, MinorUnits, Name, Pin

Phone = Annotated[str, msgspec.Meta(min_length=5, max_length=24, description="Mobile number")]
CardNumber = Annotated[
    str, msgspec.Meta(min_length=12, max_length=24, description="16 digits with check digit")
]
Reason = Annotated[str, msgspec.Meta(max_length=500)]
Channel = Literal["sms", "email", "push"]
Gender = Literal["female", "male", "other"]
OneTimeCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$")]
LimitMinor = Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]


# ---------------------------------------------------------------------------------- HQ


class RegisterIn(Input):
    phone: Phone
    name: Name
    home_store_code: Code
    birthday: dt.date | None = None
    gender: Gender | None = None
    email: Annotated[str, msgspec.Meta(max_length=255, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    consents: list[Channel] = []
    referrer_phone: Phone | None = None
    payment_pin: Pin | None = None
    card_number: CardNumber | None = None


class CardOut(msgspec.Struct):
    number: str
    kind: str
    status: str
    issued_at: dt.datetime | None = None
    status_changed_at: dt.datetime | None = None


class RegisteredOut(msgspec.Struct):
    member_id: int
    created: bool
    card: CardOut | None


class MemberSummaryOut(msgspec.Struct):
    id: int
    phone: str
    name: str
    status: str
    tier_code: str | None
    home_store_code: str
    card_number: str | None
    created_at: dt.datetime


class TierProgressOut(msgspec.Struct):
    tier_code: str | None
    tier_name: str
    tier_since: dt.datetime | None
    held_until: dt.datetime | None
    rolling_spend_minor: int
    window_start: dt.date
    window_end: dt.date
    next_tier_code: str | None
    next_tier_name: str | None
    next_threshold_minor: int | None
    remaining_minor: int | None
    tier_name_en: str = ""
    next_tier_name_en: str | None = None


class FamilyLinkOut(msgspec.Struct):
    link_id: int
    parent_id: int
    child_id: int
    child_name: str
    parent_name: str
    daily_limit_minor: int
    monthly_limit_minor: int
    spent_today_minor: int
    spent_this_month_minor: int
    attached_at: dt.datetime
    detached_at: dt.datetime | None


class FamilyOut(msgspec.Struct):
    parent: FamilyLinkOut | None
    children: list[FamilyLinkOut]


class MemberDetailOut(msgspec.Struct):
    id: int
    phone: str
    name: str
    birthday: dt.date | None
    gender: str | None
    email: str | None
    status: str
    home_store_code: str
    tier_code: str | None
    tier_held_until: dt.datetime | None
    merged_into: int | None
    consents: dict[str, dt.datetime | None]
    created_at: dt.datetime
    cards: list[CardOut]
    progress: TierProgressOut
    family: FamilyOut


class CardActionIn(Input):
    reason: Reason = ""
    new_card_number: CardNumber | None = None


class CardActionOut(msgspec.Struct):
    number: str
    status: str
    replaced_by: CardOut | None = None


class CardEventOut(msgspec.Struct):
    action: str
    from_status: str | None
    to_status: str
    staff_employee_no: str | None
    by_member: bool
    reason: str
    at: dt.datetime


class CancelIn(Input):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class CancellationOut(msgspec.Struct):
    member_id: int
    cancelled_cards: list[str]
    detached_links: int
    stored_value_note: str


class TierIn(Input):
    code: Code
    name: Name
    rank: Annotated[int, msgspec.Meta(ge=0, le=1000)]
    threshold_minor: MinorUnits = 0
    name_en: Annotated[str, msgspec.Meta(max_length=64)] = ""
    points_multiplier_bp: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 10_000
    discount_bp: BasisPoints = 0
    annual_fee_minor: MinorUnits | None = None
    active: bool = True


class TierPatch(Input):
    name: Name | None = None
    name_en: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    rank: Annotated[int, msgspec.Meta(ge=0, le=1000)] | None = None
    threshold_minor: MinorUnits | None = None
    points_multiplier_bp: Annotated[int, msgspec.Meta(ge=0, le=100_000)] | None = None
    discount_bp: BasisPoints | None = None
    annual_fee_minor: MinorUnits | None = None
    active: bool | None = None


class TierOut(msgspec.Struct):
    code: str
    name: str
    name_en: str
    rank: int
    threshold_minor: int
    points_multiplier_bp: int
    discount_bp: int
    annual_fee_minor: int | None
    active: bool


class SetTierIn(Input):
    tier_code: Code
    until: dt.date
    reason: Reason = ""


class TierChangeOut(msgspec.Struct):
    member_id: int
    from_tier: str | None
    to_tier: str | None
    reason: str
    rolling_spend_minor: int | None = None
    held_until: dt.datetime | None = None


class AttachIn(Input):
    child_member_id: Annotated[int, msgspec.Meta(ge=1)]
    daily_limit_minor: LimitMinor = 0
    monthly_limit_minor: LimitMinor = 0


class LimitsIn(Input):
    daily_limit_minor: LimitMinor
    monthly_limit_minor: LimitMinor


class DetachIn(Input):
    reason: Reason = ""


class MergeIn(Input):
    survivor_id: Annotated[int, msgspec.Meta(ge=1)]
    merged_id: Annotated[int, msgspec.Meta(ge=1)]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    merge_ref: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{4,40}$")] | None = None


class MergeOut(msgspec.Struct):
    merge_ref: str
    survivor_id: int
    merged_id: int
    moved: dict[str, Any]
    at: dt.datetime
    replay: bool


# --------------------------------------------------------------------------- /api/v1/me


class PinSignInIn(Input):
    card_number: CardNumber
    pin: Pin


class CodeRequestIn(Input):
    phone: Phone


class CodeSignInIn(Input):
    phone: Phone
    code: OneTimeCode


class MemberSignedInOut(msgspec.Struct):
    token: str
    token_type: str
    expires_at: dt.datetime


class CodeRequestedOut(msgspec.Struct):
    sent: bool
    expires_in_seconds: int


class ProfileOut(msgspec.Struct):
    member_id: int
    phone: str
    name: str
    birthday: dt.date | None
    gender: str | None
    email: str | None
    consents: dict[str, dt.datetime | None]
    home_store_code: str
    home_store_name: str
    member_since: dt.datetime
    has_payment_pin: bool
    tier_code: str | None
    tier_name: str
    cards: list[CardOut]


class ConsentsIn(Input):
    sms: bool | None = None
    email: bool | None = None
    push: bool | None = None


class ConsentsOut(msgspec.Struct):
    consents: dict[str, dt.datetime | None]


class QrOut(msgspec.Struct):
    token: str
    expires_at: dt.datetime
    card_number_masked: str
    refresh_after_seconds: int


class ReportLostIn(Input):
    card_number: CardNumber


class EraseIn(Input):
    confirm: Literal["ERASE"]


class MeLimitsIn(Input):
    daily_limit_minor: LimitMinor
    monthly_limit_minor: LimitMinor


class MeAttachIn(Input):
    child_card_number: CardNumber
    child_pin: Pin
    daily_limit_minor: LimitMinor = 0
    monthly_limit_minor: LimitMinor = 0
