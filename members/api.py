"""HQ API of members under ``/api/v1/hq`` (search, view, register, card operations, tiers,
family, merge) and the member's phone page ``/me``. Controllers parse, authorise, call the
domain, serialise; the rules are in the domain modules."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from memberpos.errors import InvalidInput
from members import cards, directory, family, merge, tiers
from members.access import require_member_operator, require_member_reader
from members.cards import Operator
from members.family import FamilyActor
from members.registration import Registration, register
from members.schemas import (
    AttachIn,
    CancelIn,
    CancellationOut,
    CardActionIn,
    CardActionOut,
    CardEventOut,
    CardOut,
    DetachIn,
    FamilyLinkOut,
    FamilyOut,
    LimitsIn,
    MemberDetailOut,
    MemberSummaryOut,
    MergeIn,
    MergeOut,
    RegisteredOut,
    RegisterIn,
    SetTierIn,
    TierChangeOut,
    TierIn,
    TierOut,
    TierPatch,
    TierProgressOut,
)
from members.tables import Tier
from stores.access import Actor
from stores.tables import Store


def _out(value: Any, kind: type) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return msgspec.convert(value, kind, strict=False, from_attributes=True)


async def _store_id(code: str, field: str = "home_store_code") -> int:
    row = await Store.select(Store.id).where(Store.code == code).first()
    if row is None:
        raise InvalidInput(f"No store {code}", field=field)
    return int(row["id"])


Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000)]


class MemberController(Controller):
    path = "/members"
    tags = ["HQ: members"]

    @get("/", summary="Search members in scope (phone, last digits, card number or name)")
    async def search(
        self,
        actor: NamedDependency[Actor],
        q: FromQuery[str | None] = None,
        store_code: FromQuery[str | None] = None,
        limit: FromQuery[Limit] = 50,
        offset: FromQuery[Offset] = 0,
    ) -> list[MemberSummaryOut]:
        found = await directory.search_members(
            actor, query=q, store_code=store_code, limit=limit, offset=offset
        )
        return [_out(m, MemberSummaryOut) for m in found]

    @post("/", summary="Register a member; an existing phone answers with that member")
    async def register_member(
        self, data: JSONBody[RegisterIn], actor: NamedDependency[Actor]
    ) -> RegisteredOut:
        store_id = await _store_id(data.home_store_code)
        require_member_operator(actor, store_id)
        result = await register(
            Registration(
                phone=data.phone,
                name=data.name,
                home_store_id=store_id,
                birthday=data.birthday,
                gender=data.gender,
                email=data.email,
                consents=tuple(data.consents),
                referrer_phone=data.referrer_phone,
                payment_pin=data.payment_pin,
                card_number=data.card_number,
            ),
            Operator.staff(actor),
        )
        return RegisteredOut(
            member_id=result.member_id,
            created=result.created,
            card=_out(result.card, CardOut) if result.card else None,
        )

    @get("/{member_id:int}", summary="A member's profile, cards, tier progress and family")
    async def view(
        self, member_id: FromPath[int], actor: NamedDependency[Actor]
    ) -> MemberDetailOut:
        return _out(await directory.member_detail(actor, member_id), MemberDetailOut)

    @post(
        "/{member_id:int}/cancel",
        status_code=HTTP_200_OK,
        summary="Cancel the membership (manager): cards cancelled, stored value stays owed",
    )
    async def cancel(
        self, member_id: FromPath[int], data: JSONBody[CancelIn], actor: NamedDependency[Actor]
    ) -> CancellationOut:
        return _out(
            await directory.cancel_membership(actor, member_id, data.reason), CancellationOut
        )

    @get("/{member_id:int}/tier", summary="Tier, rolling spend and what is left to the next")
    async def tier(
        self, member_id: FromPath[int], actor: NamedDependency[Actor]
    ) -> TierProgressOut:
        require_member_reader(actor, await directory.home_store_of(member_id))
        return _out(await tiers.tier_progress(member_id), TierProgressOut)

    @post(
        "/{member_id:int}/tier",
        status_code=HTTP_200_OK,
        summary="Set a tier by hand until an end date (HQ)",
    )
    async def set_tier(
        self, member_id: FromPath[int], data: JSONBody[SetTierIn], actor: NamedDependency[Actor]
    ) -> TierChangeOut:
        change = await tiers.set_tier_manually(
            actor, member_id, data.tier_code, data.until, data.reason
        )
        return _out(change, TierChangeOut)

    @get("/{member_id:int}/family")
    async def get_family(
        self, member_id: FromPath[int], actor: NamedDependency[Actor]
    ) -> FamilyOut:
        require_member_reader(actor, await directory.home_store_of(member_id))
        return _out(await family.family_of(member_id), FamilyOut)

    @post("/{member_id:int}/family", summary="Attach a child card to this parent (manager/HQ)")
    async def attach(
        self, member_id: FromPath[int], data: JSONBody[AttachIn], actor: NamedDependency[Actor]
    ) -> FamilyLinkOut:
        link = await family.attach_child(
            member_id,
            data.child_member_id,
            daily_limit_minor=data.daily_limit_minor,
            monthly_limit_minor=data.monthly_limit_minor,
            who=FamilyActor(actor=actor),
        )
        return _out(link, FamilyLinkOut)

    @put("/{member_id:int}/family/{child_id:int}/limits", summary="Change a child's limits")
    async def limits(
        self,
        member_id: FromPath[int],
        child_id: FromPath[int],
        data: JSONBody[LimitsIn],
        actor: NamedDependency[Actor],
    ) -> FamilyLinkOut:
        link = await family.set_limits(
            member_id,
            child_id,
            daily_limit_minor=data.daily_limit_minor,
            monthly_limit_minor=data.monthly_limit_minor,
            who=FamilyActor(actor=actor),
        )
        return _out(link, FamilyLinkOut)

    @post(
        "/{member_id:int}/family/{child_id:int}/detach",
        status_code=HTTP_200_OK,
        summary="Detach a child card: its points and spending stop going to this parent",
    )
    async def detach(
        self,
        member_id: FromPath[int],
        child_id: FromPath[int],
        data: JSONBody[DetachIn],
        actor: NamedDependency[Actor],
    ) -> FamilyLinkOut:
        link = await family.detach_child(
            member_id, child_id, who=FamilyActor(actor=actor), reason=data.reason
        )
        return _out(link, FamilyLinkOut)

    @post("/merge", summary="Merge a duplicate member into a survivor (HQ administrators)")
    async def merge_members(
        self, data: JSONBody[MergeIn], actor: NamedDependency[Actor]
    ) -> MergeOut:
        result = await merge.merge_members(
            actor, data.survivor_id, data.merged_id, reason=data.reason, merge_ref=data.merge_ref
        )
        return _out(result, MergeOut)


class CardController(Controller):
    path = "/cards"
    tags = ["HQ: members"]

    @get("/{number:str}/history", summary="Every life-cycle step of a card")
    async def history(
        self, number: FromPath[str], actor: NamedDependency[Actor]
    ) -> list[CardEventOut]:
        require_member_reader(actor, await directory.card_owner_store(number))
        return _out(await cards.card_history(number), list[CardEventOut])

    @post(
        "/{number:str}/{action:str}",
        status_code=HTTP_200_OK,
        summary="report-lost | found | freeze | unfreeze | replace | cancel "
        "(freeze, unfreeze, found and cancel need a manager)",
    )
    async def act(
        self,
        number: FromPath[str],
        action: FromPath[str],
        data: JSONBody[CardActionIn],
        actor: NamedDependency[Actor],
    ) -> CardActionOut:
        name = action.replace("-", "_")
        if name not in cards.TRANSITIONS:
            raise InvalidInput(f"Unknown card action {action!r}", field="action")
        require_member_operator(actor, await directory.card_owner_store(number))
        if data.new_card_number and name != "replace":
            raise InvalidInput(
                "Only a replacement takes a new card number", field="new_card_number"
            )
        result = await cards.change_card(
            number, name, Operator.staff(actor), data.reason, new_number=data.new_card_number
        )
        return _out(result, CardActionOut)


class TierController(Controller):
    path = "/tiers"
    tags = ["HQ: tiers"]

    @get("/")
    async def list_tiers(self, actor: NamedDependency[Actor]) -> list[TierOut]:
        return _out(await tiers.list_tiers(), list[TierOut])

    @post("/", summary="Define a tier (HQ); a paid tier has annual_fee_minor")
    async def create(self, data: JSONBody[TierIn], actor: NamedDependency[Actor]) -> TierOut:
        return _out(await tiers.create_tier(actor, **msgspec.structs.asdict(data)), TierOut)

    @patch("/{code:str}", summary="Change a tier (HQ); deactivate with active=false")
    async def update(
        self, code: FromPath[str], data: JSONBody[TierPatch], actor: NamedDependency[Actor]
    ) -> TierOut:
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        return _out(await tiers.update_tier(actor, code, changes), TierOut)


# ------------------------------------------------------------------------- the phone page

_PAGE = Path(__file__).parent / "static" / "me.html"


@functools.cache
def _page() -> bytes:
    return _PAGE.read_bytes()


@get("/me", include_in_schema=False, summary="The member's phone page")
async def member_page() -> Response[bytes]:
    return Response(
        _page(),
        media_type="text/html; charset=utf-8",
        headers={
            "cache-control": "no-store",
            "content-security-policy": "default-src 'self'; img-src 'self' data:; "
            "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
            "frame-ancestors 'none'",
            "referrer-policy": "no-referrer",
        },
    )


HQ_HANDLERS = [MemberController, CardController, TierController]
ROUTERS = [member_page]
ADMIN_TABLES = [Tier]
