"""The other things a cashier does at the counter: find a member, register one, top up a
card, and card steps (report lost, freeze, unfreeze, replace). The writes are exactly once
by the terminal's transaction id, like sales."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loyalty import packages, stored_value
from loyalty.points import Source
from members.cards import MemberRef, Operator, change_card, find_member
from members.registration import Registration, register
from members.tables import Member
from pos_gateway import schemas
from pos_gateway.idempotency import Answer, Outcome, run_once
from pos_gateway.numbers import next_number
from pos_gateway.pricing import (
    MANAGER_ROLES,
    authorise_manager,
    identify,
    member_view,
    sale_times,
    staff_ids,
)
from pos_gateway.tables import TopUp
from stores.access import Role
from stores.terminals import TerminalIdentity


async def lookup(identification: schemas.MemberIn) -> schemas.MemberView:
    return await member_view(await identify(identification))


async def _cashier(terminal: TerminalIdentity, employee_no: str | None) -> Operator:
    if not employee_no:
        return Operator(terminal_id=terminal.terminal_id)
    staff = await staff_ids({employee_no})
    row = staff.get(employee_no)
    if row is None:
        return Operator(terminal_id=terminal.terminal_id)
    return Operator(
        staff_id=row["id"],
        terminal_id=terminal.terminal_id,
        roles=frozenset(Role(role) for role in row["roles"]),
    )


# ------------------------------------------------------------------------------- top-up


@dataclass
class PreparedTopUp:
    request: schemas.TopUpIn
    terminal: TerminalIdentity
    ref: MemberRef
    operator: Operator


async def _prepare_top_up(terminal: TerminalIdentity, request: schemas.TopUpIn) -> PreparedTopUp:
    ref = await identify(request.member)
    return PreparedTopUp(
        request, terminal, ref, await _cashier(terminal, request.cashier_employee_no)
    )


async def _apply_top_up(prepared: PreparedTopUp) -> Outcome:
    request, terminal = prepared.request, prepared.terminal
    local, at = sale_times(request.local_time, terminal.time_zone)
    number = await next_number(terminal.terminal_id, local.date())
    posting = await stored_value.top_up(
        prepared.ref.member_id,
        request.amount_minor,
        Source("top_up", number, terminal.store_id, prepared.operator.staff_id),
        at=at,
        business_date=local.date(),
    )
    await TopUp.insert(
        TopUp(
            top_up_no=number,
            store=terminal.store_id,
            terminal=terminal.terminal_id,
            cashier=prepared.operator.staff_id,
            member=prepared.ref.member_id,
            client_txn_id=request.client_txn_id,
            method=request.method,
            amount_minor=request.amount_minor,
            bonus_minor=posting.bonus_delta,
            occurred_at=at,
            business_date=local.date(),
        )
    )
    answer = schemas.TopUpOut(
        top_up_no=number,
        client_txn_id=request.client_txn_id,
        amount_minor=request.amount_minor,
        bonus_minor=posting.bonus_delta,
        member=await member_view(prepared.ref, prepared.ref.member_id),
    )
    if request.receipt.format != "none":
        from pos_gateway.receipts import attach_top_up_receipt

        answer = await attach_top_up_receipt(answer, terminal, request.receipt, local)
    return Outcome(201, answer, number)


async def post_top_up(terminal: TerminalIdentity, request: schemas.TopUpIn) -> Answer:
    return await run_once(
        terminal_id=terminal.terminal_id,
        client_txn_id=request.client_txn_id,
        operation="top_up",
        request=request,
        prepare=lambda: _prepare_top_up(terminal, request),
        apply=_apply_top_up,
    )


# -------------------------------------------------------------------- service packages


async def _package_operation(
    terminal: TerminalIdentity,
    request: schemas.PackageSaleIn | schemas.PackageUseIn | schemas.PackageRefundIn,
    kind: str,
) -> Answer:
    """Sell, use or refund a prepaid service package (次卡), exactly once. A refund of unused
    uses needs a manager of this store; it hands back their value pro rata, to the cent."""

    async def prepare() -> tuple[MemberRef, Operator]:
        ref = await identify(request.member)
        operator = await _cashier(terminal, request.cashier_employee_no)
        if isinstance(request, schemas.PackageRefundIn):
            manager_id = await authorise_manager(request.manager, terminal, "package refund")
            operator = Operator(
                staff_id=manager_id, terminal_id=terminal.terminal_id, roles=MANAGER_ROLES
            )
        return ref, operator

    async def apply(prepared: tuple[MemberRef, Operator]) -> Outcome:
        ref, operator = prepared
        local, at = sale_times(request.local_time, terminal.time_zone)
        number = await next_number(terminal.terminal_id, local.date())
        source = Source(f"package_{kind}", number, terminal.store_id, operator.staff_id)
        if isinstance(request, schemas.PackageSaleIn):
            posting = await packages.sell_package(
                ref.member_id, request.product_code, source, at=at
            )
        elif isinstance(request, schemas.PackageUseIn):
            posting = await packages.use_package(
                ref.member_id, request.package_id, source, at=at, uses=request.uses
            )
        else:
            posting = await packages.refund_package(
                ref.member_id, request.package_id, source, at=at, uses=request.uses
            )
        answer = schemas.PackageOut(
            reference=number,
            client_txn_id=request.client_txn_id,
            package_id=posting.package_id,
            kind=kind,
            uses_delta=posting.uses_delta,
            amount_minor=abs(posting.amount_minor),
            uses_left=posting.uses_left,
            value_left_minor=posting.value_left_minor,
        )
        return Outcome(201, answer, number)

    return await run_once(
        terminal_id=terminal.terminal_id,
        client_txn_id=request.client_txn_id,
        operation=f"package_{kind}"[:16],
        request=request,
        prepare=prepare,
        apply=apply,
    )


async def post_package_sale(terminal: TerminalIdentity, request: schemas.PackageSaleIn) -> Answer:
    return await _package_operation(terminal, request, "sale")


async def post_package_use(terminal: TerminalIdentity, request: schemas.PackageUseIn) -> Answer:
    return await _package_operation(terminal, request, "use")


async def post_package_refund(
    terminal: TerminalIdentity, request: schemas.PackageRefundIn
) -> Answer:
    return await _package_operation(terminal, request, "refund")


async def member_packages(identification: schemas.MemberIn) -> list[dict[str, Any]]:
    ref = await identify(identification)
    return await packages.member_packages(ref.member_id, include_closed=False)


# ------------------------------------------------------------------------- registration


async def _referrer_phone(card_number: str | None) -> str | None:
    if not card_number:
        return None
    ref = await find_member(card_number=card_number)
    row = await Member.select(Member.phone).where(Member.id == ref.member_id).first()
    return row["phone"] if row else None


async def post_registration(terminal: TerminalIdentity, request: schemas.RegistrationIn) -> Answer:
    async def prepare() -> tuple[Operator, str | None]:
        return (
            await _cashier(terminal, request.cashier_employee_no),
            await _referrer_phone(request.referrer_card_number),
        )

    async def apply(prepared: tuple[Operator, str | None]) -> Outcome:
        operator, referrer_phone = prepared
        consents = tuple(
            channel for channel in ("sms", "email", "push") if getattr(request.consent, channel)
        )
        registered = await register(
            Registration(
                phone=request.phone,
                name=request.name,
                home_store_id=terminal.store_id,
                birthday=request.birthday,
                gender=request.gender,
                email=request.email,
                consents=consents,
                referrer_phone=referrer_phone,
                payment_pin=request.payment_pin,
                card_number=request.physical_card_number,
            ),
            operator,
        )
        card = registered.card or {}
        ref = await find_member(phone=request.phone)
        answer = schemas.RegistrationOut(
            member_id=registered.member_id,
            created=registered.created,
            card_number=card.get("number"),
            member=await member_view(ref),
        )
        return Outcome(201 if registered.created else 200, answer, str(registered.member_id))

    return await run_once(
        terminal_id=terminal.terminal_id,
        client_txn_id=request.client_txn_id,
        operation="registration",
        request=request,
        prepare=prepare,
        apply=apply,
    )


# ---------------------------------------------------------------------------- card steps


async def post_card_operation(
    terminal: TerminalIdentity, card_number: str, request: schemas.CardOperationIn
) -> Answer:
    needs_manager = request.action in ("freeze", "unfreeze")

    async def prepare() -> Operator:
        operator = await _cashier(terminal, request.cashier_employee_no)
        if needs_manager or request.manager is not None:
            manager_id = await authorise_manager(request.manager, terminal, request.action)
            operator = Operator(
                staff_id=manager_id, terminal_id=terminal.terminal_id, roles=MANAGER_ROLES
            )
        return operator

    async def apply(operator: Operator) -> Outcome:
        result: dict[str, Any] = await change_card(
            card_number,
            request.action,
            operator,
            request.reason,
            new_number=request.new_card_number,
        )
        answer = schemas.CardOperationOut(
            card_number=card_number,
            status=str(result.get("status", "")),
            new_card_number=(result.get("new_card") or {}).get("number")
            if isinstance(result.get("new_card"), dict)
            else result.get("new_card_number"),
        )
        return Outcome(200, answer, card_number)

    return await run_once(
        terminal_id=terminal.terminal_id,
        client_txn_id=request.client_txn_id,
        operation="card",
        request=_CardRequest(card_number=card_number, body=request),
        prepare=prepare,
        apply=apply,
    )


class _CardRequest(schemas.Struct):
    """The card number is part of what makes a card request the same request."""

    card_number: str
    body: schemas.CardOperationIn
