"""``/api/v1/me``: the member's own API, behind the member sign-in (card number + PIN, or
phone + one-time code). Every handler acts on the signed-in member only, given as the
``member`` dependency (``MemberIdentity``); other domains add theirs (``ME_HANDLERS``)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, Router, get, post, put
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.middleware import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
    DefineMiddleware,
)
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from members import family, self_service, tiers
from members.cards import check_card_number
from members.errors import InvalidMemberToken
from members.family import FamilyActor
from members.identity import MemberIdentity
from members.registration import verify_payment_pin
from members.schemas import (
    CardActionOut,
    CodeRequestedOut,
    CodeRequestIn,
    CodeSignInIn,
    ConsentsIn,
    ConsentsOut,
    EraseIn,
    FamilyLinkOut,
    FamilyOut,
    MeAttachIn,
    MeLimitsIn,
    MemberSignedInOut,
    PinSignInIn,
    ProfileOut,
    QrOut,
    ReportLostIn,
    TierProgressOut,
)
from members.tables import Card
from stores.guards import EXCLUDE_OPT, bearer

QR_REFRESH_MARGIN_SECONDS = 20


def _out(value: Any, kind: type) -> Any:
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return msgspec.convert(value, kind, strict=False)


class MemberAuthentication(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        identity = await self_service.authenticate(bearer(connection))
        return AuthenticationResult(user=identity, auth="member")


async def provide_member(request: Request[Any, Any, Any]) -> MemberIdentity:
    if not isinstance(request.user, MemberIdentity):  # pragma: no cover - middleware's job
        raise InvalidMemberToken()
    return request.user


def _signed_in(result: self_service.SignedIn) -> MemberSignedInOut:
    return MemberSignedInOut(token=result.token, token_type="Bearer", expires_at=result.expires_at)


class MeAuthController(Controller):
    path = "/auth"
    tags = ["Members: sign-in"]

    @post(
        "/sign-in/pin",
        status_code=HTTP_200_OK,
        opt={EXCLUDE_OPT: True},
        summary="Sign in with card number and payment PIN",
    )
    async def sign_in_pin(self, data: JSONBody[PinSignInIn]) -> MemberSignedInOut:
        return _signed_in(await self_service.sign_in_with_pin(data.card_number, data.pin))

    @post(
        "/code",
        status_code=HTTP_202_ACCEPTED,
        opt={EXCLUDE_OPT: True},
        summary="Send a one-time sign-in code to a member's phone (same answer for any phone)",
    )
    async def request_code(self, data: JSONBody[CodeRequestIn]) -> CodeRequestedOut:
        await self_service.request_sign_in_code(data.phone)
        return CodeRequestedOut(sent=True, expires_in_seconds=self_service.CODE_SECONDS)

    @post(
        "/sign-in/code",
        status_code=HTTP_200_OK,
        opt={EXCLUDE_OPT: True},
        summary="Sign in with phone and the one-time code",
    )
    async def sign_in_code(self, data: JSONBody[CodeSignInIn]) -> MemberSignedInOut:
        return _signed_in(await self_service.sign_in_with_code(data.phone, data.code))

    @post("/sign-out", status_code=HTTP_204_NO_CONTENT)
    async def sign_out(self, member: NamedDependency[MemberIdentity]) -> None:
        await self_service.sign_out(member)


class MeController(Controller):
    path = "/"
    tags = ["Members: self-service"]

    @get("/profile")
    async def profile(self, member: NamedDependency[MemberIdentity]) -> ProfileOut:
        return _out(await self_service.profile(member.member_id), ProfileOut)

    @put("/consents", summary="Give or withdraw marketing consent per channel")
    async def consents(
        self, data: JSONBody[ConsentsIn], member: NamedDependency[MemberIdentity]
    ) -> ConsentsOut:
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        return _out(await self_service.set_consents(member.member_id, changes), ConsentsOut)

    @get("/tier", summary="Tier, rolling 12-month spend and what is left to the next tier")
    async def tier(self, member: NamedDependency[MemberIdentity]) -> TierProgressOut:
        return _out(await tiers.tier_progress(member.member_id), TierProgressOut)

    @get("/qr", summary="A short-lived signed code to show at the counter")
    async def qr(self, member: NamedDependency[MemberIdentity]) -> QrOut:
        from members.cards import QR_TOKEN_SECONDS

        code = await self_service.current_qr(member.member_id)
        return QrOut(
            **code, refresh_after_seconds=max(10, QR_TOKEN_SECONDS - QR_REFRESH_MARGIN_SECONDS)
        )

    @get("/qr.svg", summary="The current code as an SVG image (fresh on every call)")
    async def qr_svg(self, member: NamedDependency[MemberIdentity]) -> Response[bytes]:
        code = await self_service.current_qr(member.member_id)
        return Response(
            qr_svg(code["token"]),
            media_type="image/svg+xml",
            headers={
                "cache-control": "no-store",
                "x-qr-expires-at": code["expires_at"].isoformat(),
            },
        )

    @post("/cards/report-lost", status_code=HTTP_200_OK, summary="Block one of my cards at once")
    async def report_lost(
        self, data: JSONBody[ReportLostIn], member: NamedDependency[MemberIdentity]
    ) -> CardActionOut:
        result = await self_service.report_own_card_lost(member.member_id, data.card_number)
        return _out(result, CardActionOut)

    @get("/family")
    async def get_family(self, member: NamedDependency[MemberIdentity]) -> FamilyOut:
        return _out(await family.family_of(member.member_id), FamilyOut)

    @post(
        "/family",
        summary="Attach a child card (the child's holder confirms with that card's PIN)",
    )
    async def attach(
        self, data: JSONBody[MeAttachIn], member: NamedDependency[MemberIdentity]
    ) -> FamilyLinkOut:
        number = check_card_number(data.child_card_number, field="child_card_number")
        card = await Card.select(Card.member).where(Card.number == number).first()
        if card is None:
            from members.errors import WrongPin

            raise WrongPin("Wrong child card number or PIN", field="child_pin")
        await verify_payment_pin(card["member"], data.child_pin)
        link = await family.attach_child(
            member.member_id,
            card["member"],
            daily_limit_minor=data.daily_limit_minor,
            monthly_limit_minor=data.monthly_limit_minor,
            who=FamilyActor(by_parent=True),
        )
        return _out(link, FamilyLinkOut)

    @put("/family/{child_id:int}/limits", summary="Change a child card's limits")
    async def limits(
        self,
        child_id: FromPath[int],
        data: JSONBody[MeLimitsIn],
        member: NamedDependency[MemberIdentity],
    ) -> FamilyLinkOut:
        link = await family.set_limits(
            member.member_id,
            child_id,
            daily_limit_minor=data.daily_limit_minor,
            monthly_limit_minor=data.monthly_limit_minor,
            who=FamilyActor(by_parent=True),
        )
        return _out(link, FamilyLinkOut)

    @post(
        "/family/{child_id:int}/detach",
        status_code=HTTP_200_OK,
        summary="Detach a child card: points and spending stop at once",
    )
    async def detach(
        self, child_id: FromPath[int], member: NamedDependency[MemberIdentity]
    ) -> FamilyLinkOut:
        link = await family.detach_child(
            member.member_id, child_id, who=FamilyActor(by_parent=True), reason="by the parent"
        )
        return _out(link, FamilyLinkOut)

    @get("/export", summary="Everything kept about me, as JSON")
    async def export(self, member: NamedDependency[MemberIdentity]) -> Response[dict[str, Any]]:
        data = await self_service.export_data(member.member_id)
        return Response(
            data,
            headers={
                "content-disposition": 'attachment; filename="memberpos-my-data.json"',
                "cache-control": "no-store",
            },
        )

    @post(
        "/erase",
        status_code=HTTP_204_NO_CONTENT,
        summary="Erase my personal data (ledgers are kept, anonymised); signs out everywhere",
    )
    async def erase(self, data: JSONBody[EraseIn], member: NamedDependency[MemberIdentity]) -> None:
        await self_service.erase(member.member_id)


def qr_svg(text: str) -> bytes:
    """An SVG QR code (qrcode's path renderer), readable by any counter scanner."""
    import io

    import qrcode
    import qrcode.image.svg

    image = qrcode.make(
        text,
        image_factory=qrcode.image.svg.SvgPathFillImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=10,
        border=2,
    )
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def me_router(extra_handlers: list[Any]) -> Router:
    """``/api/v1/me`` with its own authentication; every domain's ``ME_HANDLERS`` join it."""
    return Router(
        path="/api/v1/me",
        route_handlers=[MeAuthController, MeController, *extra_handlers],
        middleware=[DefineMiddleware(MemberAuthentication, exclude_from_auth_key=EXCLUDE_OPT)],
        dependencies={"member": Provide(provide_member)},
    )
