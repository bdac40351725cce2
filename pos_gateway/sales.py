"""A sale, in one transaction: the sale with its lines and payments, coupon redemption and
promotion limits, points spent and earned, stored value spent (a family child's from the
parent, within the parent's limits), commission, the member's tier, the message to the
member, and the stored answer of the request. Nothing of it happens, or all of it does.

Tender shares: each tender the member's accounts paid (points, stored value) is spread over
the lines by their net amount (largest remainder) and kept on the line, as are the points
the line earned; a refund of a line gives back exactly its shares.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from loyalty import points as points_ledger
from loyalty import stored_value
from loyalty.accounts import POINTS_ACCOUNT_COLUMNS, STORED_VALUE_ACCOUNT_COLUMNS
from loyalty.earning import check_redemption, expiry_date
from loyalty.points import Source, points_summary
from memberpos.clock import utc_now
from memberpos.db import Expr, insert, json_text
from memberpos.money import allocate
from members import family, tiers
from members.registration import verify_payment_pin
from pos_gateway import schemas
from pos_gateway.errors import (
    ChangeNotCash,
    MemberRequired,
    OfflinePaymentNotAllowed,
    PaymentPinRequired,
    PaymentsMismatch,
    PointsValueMismatch,
    PriceChanged,
)
from pos_gateway.idempotency import Answer, Outcome, run_once
from pos_gateway.numbers import RowLock, next_number_locking
from pos_gateway.pricing import (
    MemberContext,
    PricedSale,
    member_view_and_balances,
    price,
)
from promotions import service as promotions
from stores import commission
from stores.terminals import TerminalIdentity

ACCOUNT_METHODS = frozenset({"points", "stored_value"})


@dataclass
class PreparedSale:
    request: schemas.SaleIn
    priced: PricedSale
    points_used: int
    points_value_minor: int
    stored_value_minor: int
    change_minor: int
    via_batch: bool = False


def _paid_by(payments: list[schemas.PaymentIn], method: str) -> int:
    return sum(p.amount_minor for p in payments if p.method == method)


def _check_payments(request: schemas.SaleIn, total: int) -> tuple[int, int]:
    """(points used, change) — or the refusal that says why the payments cannot settle
    ``total``."""
    if request.offline:
        for position, payment in enumerate(request.payments):
            if payment.method in ACCOUNT_METHODS:
                raise OfflinePaymentNotAllowed(field=f"payments[{position}].method")
    points_used = sum(p.points or 0 for p in request.payments if p.method == "points")
    for position, payment in enumerate(request.payments):
        if payment.method == "points" and not payment.points:
            raise PointsValueMismatch(
                "A points payment names its points", field=f"payments[{position}].points"
            )
        if payment.method != "points" and payment.points:
            raise PointsValueMismatch(
                "Only a points payment carries points", field=f"payments[{position}].points"
            )
    paid = sum(p.amount_minor for p in request.payments)
    cash = _paid_by(request.payments, "cash")
    if paid < total:
        raise PaymentsMismatch(
            f"Payments {paid} do not cover the amount due {total}",
            field="payments",
            amount_due_minor=total,
            paid_minor=paid,
        )
    change = paid - total
    if change > cash:
        raise ChangeNotCash(
            f"Payments exceed the amount due {total} by {change}, more than the cash given",
            field="payments",
            amount_due_minor=total,
            paid_minor=paid,
        )
    return points_used, change


async def prepare_sale(terminal: TerminalIdentity, request: schemas.SaleIn) -> PreparedSale:
    has_account_payment = any(p.method in ACCOUNT_METHODS for p in request.payments)
    if has_account_payment and request.member is None:
        raise MemberRequired(field="member")
    stored = _paid_by(request.payments, "stored_value")
    points_value = _paid_by(request.payments, "points")
    priced = await price(
        terminal,
        lines=request.lines,
        member=request.member,
        coupons=request.coupons,
        manual=request.manual_discounts,
        local_time=request.local_time,
        cashier_employee_no=request.cashier_employee_no,
        manager=request.manager,
        paid_with_points_minor=points_value,
        paid_with_stored_value_minor=stored,
    )
    total = priced.total_minor
    if request.expected_total_minor is not None and request.expected_total_minor != total:
        raise PriceChanged(
            f"The till showed {request.expected_total_minor}, the basket now costs {total}",
            field="expected_total_minor",
            total_minor=total,
        )
    points_used, change = _check_payments(request, total)
    member = priced.member
    if points_used:
        assert member is not None
        spendable = (await points_summary(member.account_member_id, priced.occurred_at))[
            "spendable"
        ]
        value = check_redemption(points_used, total, spendable, priced.program)
        if value != points_value:
            raise PointsValueMismatch(
                f"{points_used} points are worth {value}, not {points_value}",
                field="payments",
                value_minor=value,
            )
    if stored:
        assert member is not None
        if stored >= priced.program.pin_threshold_minor:
            if not request.payment_pin:
                raise PaymentPinRequired(field="payment_pin")
            await verify_payment_pin(member.ref.member_id, request.payment_pin)
    return PreparedSale(request, priced, points_used, points_value, stored, change)


def _tender_shares(nets: list[int], amount: int) -> list[int]:
    if not amount:
        return [0] * len(nets)
    return allocate(amount, nets if sum(nets) else [1] * len(nets))


async def apply_sale(prepared: PreparedSale) -> Outcome:
    request, priced = prepared.request, prepared.priced
    terminal = priced.terminal
    member = priced.member
    now = utc_now()
    at = priced.occurred_at
    # The sale's number, its members locked and the accounts it posts to locked and read, in
    # one statement (on SQLite the postings read their accounts themselves).
    owner = member.account_member_id if member is not None else None
    wanted: list[RowLock] = []
    if owner is not None:
        if prepared.points_used or priced.earn.points > 0:
            wanted.append(RowLock("points_account", POINTS_ACCOUNT_COLUMNS, "member", owner))
        if prepared.stored_value_minor:
            wanted.append(
                RowLock("stored_value_account", STORED_VALUE_ACCOUNT_COLUMNS, "member", owner)
            )
    sale_no, locked = await next_number_locking(
        terminal.terminal_id,
        priced.business_date,
        lock_members=(member.ref.member_id, member.account_member_id) if member else (),
        rows=wanted,
    )
    accounts = {lock.table: row for lock, row in zip(wanted, locked, strict=True)}
    source = Source("sale", sale_no, terminal.store_id, priced.cashier_id)

    engine_lines = priced.engine_lines
    nets = [line.net_minor for line in engine_lines]
    points_paid = _tender_shares(nets, prepared.points_value_minor)
    points_used = _tender_shares(points_paid, prepared.points_used)
    stored_paid = _tender_shares(nets, prepared.stored_value_minor)
    earned_by_line = priced.points_by_line

    await promotions.commit_sale(
        sale_ref=sale_no,
        member_id=member.ref.member_id if member else None,
        store_id=terminal.store_id,
        business_date=priced.business_date,
        at=at,
        priced=priced.priced,
    )
    tier_change = None
    points_available_from = None
    stored_after: dict[str, int] | None = None  # the account as this sale's spend left it
    points_after: dict[str, int] | None = None  # the points account as this sale left it
    if member is not None:
        assert owner is not None
        if prepared.points_used:
            posting = await points_ledger.spend(
                owner, prepared.points_used, source, at=at, account=accounts["points_account"]
            )
            points_after = posting.account_after
        if prepared.stored_value_minor:
            if owner != member.ref.member_id:
                await family.charge_parent(
                    member.ref.member_id,
                    prepared.stored_value_minor,
                    source_kind="sale",
                    source_id=sale_no,
                    business_date=priced.business_date,
                    at=at,
                )
            spent = await stored_value.spend(
                owner,
                prepared.stored_value_minor,
                source,
                at=at,
                business_date=priced.business_date,
                order=priced.program.stored_value_order,
                daily_limit_minor=priced.program.daily_spend_limit_minor,
                account=accounts["stored_value_account"],
            )
            if not spent.replayed:
                stored_after = {
                    "principal": spent.principal_after,
                    "bonus": spent.bonus_after,
                    "balance": spent.balance_after,
                }
        if priced.earn.points > 0:
            available = at + dt.timedelta(days=priced.program.pending_days)
            points_available_from = available
            posting = await points_ledger.earn(
                owner,
                priced.earn.points,
                source,
                at=at,
                available_from=available,
                expires_on=expiry_date(priced.business_date, priced.program),
                detail={"rules": {lp.line_id: list(lp.rules) for lp in priced.earn.lines}},
                # as this sale's spend left it, or as its number's statement locked it
                account=points_after if prepared.points_used else accounts["points_account"],
            )
            points_after = posting.account_after
        qualifying = priced.total_minor - prepared.points_value_minor
        if qualifying > 0:
            change = await tiers.on_qualifying_spend(
                member.ref.member_id,
                qualifying,
                "sale",
                sale_no,
                terminal.store_id,
                priced.business_date,
                at,
                config_generation=priced.config_generation,
            )
            if change is not None:
                tier_change = {
                    "from": change.from_tier,
                    "to": change.to_tier,
                    "reason": change.reason,
                }
    commission_total = await commission.record_sale(
        sale_ref=sale_no,
        store_id=terminal.store_id,
        business_date=priced.business_date,
        at=at,
        lines=[
            commission.SoldLine(
                line_no=n,
                sku=priced.lines[n - 1].sku,
                quantity=priced.lines[n - 1].quantity,
                net_minor=nets[n - 1],
                points_paid_minor=points_paid[n - 1],
                salespeople=priced.salespeople[n - 1],
            )
            for n in range(1, len(priced.lines) + 1)
        ],
    )

    # The sale's own rows: three hand-written inserts sent with the commit (nothing in the
    # transaction reads them; memberpos.db.insert(deferred=True)), the lines and payments
    # pointing at the sale by its number.
    await insert(
        "sale",
        [
            {
                "sale_no": sale_no,
                "store": terminal.store_id,
                "terminal": terminal.terminal_id,
                "cashier": priced.cashier_id,
                "manager": priced.manager_id,
                "member": member.ref.member_id if member else None,
                "account_member": member.account_member_id if member else None,
                "card_number": member.ref.card_number if member else None,
                "client_txn_id": request.client_txn_id,
                "occurred_at": at,
                "received_at": now,
                "business_date": priced.business_date,
                "offline": request.offline or prepared.via_batch,
                "currency": priced.priced.currency,
                "gross_minor": priced.priced.gross_minor,
                "discount_minor": priced.priced.discount_minor,
                "total_minor": priced.total_minor,
                "change_minor": prepared.change_minor,
                "points_used": prepared.points_used,
                "points_value_minor": prepared.points_value_minor,
                "stored_value_minor": prepared.stored_value_minor,
                "points_earned": priced.earn.points,
                "commission_minor": commission_total,
                "refunded_minor": 0,
                "pricing": json_text(
                    {
                        "applied": [
                            {
                                "id": a.promotion_id,
                                "kind": a.kind,
                                "amount_minor": a.total_amount_minor,
                                "reason_en": a.reason_en,
                                "reason_zh": a.reason_zh,
                                "coupon_code": a.coupon_code,
                            }
                            for a in priced.priced.applied
                        ],
                        "rejected": [
                            {"id": r.promotion_id, "code": r.code, "reason_en": r.reason_en}
                            for r in priced.priced.rejected
                        ],
                        "gifts": [[g.promotion_id, g.sku, g.quantity] for g in priced.priced.gifts],
                    }
                ),
                "earning": json_text({lp.line_id: list(lp.rules) for lp in priced.earn.lines}),
            }
        ],
        deferred=True,
    )
    sale_id = Expr("(SELECT id FROM sale WHERE sale_no = {})", (sale_no,))
    await insert(
        "sale_line",
        [
            {
                "sale": sale_id,
                "line_no": n,
                "sku": priced.lines[n - 1].sku,
                "name": priced.products[n - 1].name,
                "category_path": priced.products[n - 1].category_path,
                "brand_code": priced.products[n - 1].brand_code,
                "quantity": priced.lines[n - 1].quantity,
                "unit_price_minor": priced.unit_prices[n - 1],
                "list_price_minor": priced.products[n - 1].retail_price_minor,
                "gross_minor": engine_lines[n - 1].gross_minor,
                "discount_minor": engine_lines[n - 1].gross_minor - nets[n - 1],
                "net_minor": nets[n - 1],
                "points_paid_minor": points_paid[n - 1],
                "points_used": points_used[n - 1],
                "stored_value_paid_minor": stored_paid[n - 1],
                "points_earned": earned_by_line[n - 1],
                "salespeople": json_text([list(pair) for pair in priced.salespeople[n - 1]]),
                "adjustments": json_text(
                    [[a.promotion_id, a.amount_minor] for a in engine_lines[n - 1].adjustments]
                ),
                "refunded_quantity": 0,
            }
            for n in range(1, len(priced.lines) + 1)
        ],
        deferred=True,
    )
    await insert(
        "sale_payment",
        [
            {
                "sale": sale_id,
                "method": p.method,
                "amount_minor": p.amount_minor,
                "points": p.points or 0,
                "reference": p.reference,
            }
            for p in request.payments
        ],
        deferred=True,
    )

    view = None
    balances = None
    if member is not None:
        view, balances = await member_view_and_balances(
            member.ref,
            member.account_member_id,
            program=priced.program,
            benefits=member.tier if tier_change is None else None,
            at=at,
            stored=stored_after,
            points_account=points_after,
        )
        await _tell_member(member, sale_no, priced, prepared, balances)
    answer = schemas.SaleOut(
        sale_no=sale_no,
        client_txn_id=request.client_txn_id,
        business_date=priced.business_date.isoformat(),
        occurred_at=at.isoformat(),
        currency=priced.priced.currency,
        lines=priced_lines_out(priced),
        applied=promotions_out(priced, request.receipt.locale),
        gross_minor=priced.priced.gross_minor,
        discount_minor=priced.priced.discount_minor,
        total_minor=priced.total_minor,
        payments=[
            {"method": p.method, "amount_minor": p.amount_minor, "points": p.points or 0}
            for p in request.payments
        ],
        change_minor=prepared.change_minor,
        points_earned=priced.earn.points,
        points_available_from=points_available_from.isoformat() if points_available_from else None,
        points_used=prepared.points_used,
        stored_value_used_minor=prepared.stored_value_minor,
        member=view,
        balances=balances,
        commission_minor=commission_total,
        tier_change=tier_change,
    )
    if request.receipt.format != "none":
        from pos_gateway.receipts import attach_sale_receipt

        answer = await attach_sale_receipt(answer, terminal, request.receipt, priced)
    return Outcome(201, answer, sale_no)


async def _tell_member(
    member: MemberContext,
    sale_no: str,
    priced: PricedSale,
    prepared: PreparedSale,
    balances: schemas.BalancesOut,
) -> None:
    """The outbox message of the sale (written with it, sent afterwards), on the first
    channel the member consented to; none without consent."""
    channel = next((c for c in ("push", "sms") if c in member.consents), None)
    if channel is None:
        return
    await insert(
        "outbox",
        [
            {
                "member": member.ref.member_id,
                "channel": channel,
                "recipient": member.phone,
                "template": "sale_receipt",
                "payload": json_text(
                    {
                        "sale_no": sale_no,
                        "store_code": priced.terminal.store_code,
                        "total_minor": priced.total_minor,
                        "points_earned": priced.earn.points,
                        "points_used": prepared.points_used,
                        "stored_value_used_minor": prepared.stored_value_minor,
                        "points_balance": balances.points_balance,
                        "stored_value_minor": balances.stored_value_minor,
                    }
                ),
                "created_at": utc_now(),
                "sent_at": None,
                "attempts": 0,
            }
        ],
        deferred=True,
    )


def priced_lines_out(priced: PricedSale) -> list[schemas.PricedLineOut]:
    earned = priced.points_by_line
    out = []
    for n, (line, engine_line) in enumerate(
        zip(priced.lines, priced.engine_lines, strict=True), start=1
    ):
        out.append(
            schemas.PricedLineOut(
                line_no=n,
                sku=line.sku,
                name=priced.products[n - 1].name,
                quantity=line.quantity,
                unit_price_minor=engine_line.unit_price_minor,
                gross_minor=engine_line.gross_minor,
                discount_minor=engine_line.gross_minor - engine_line.net_minor,
                net_minor=engine_line.net_minor,
                points=earned[n - 1],
                adjustments=[
                    {"promotion_id": a.promotion_id, "amount_minor": a.amount_minor}
                    for a in engine_line.adjustments
                ],
            )
        )
    return out


def promotions_out(priced: PricedSale, locale: str) -> list[schemas.PromotionOut]:
    zh = locale.startswith("zh")
    return [
        schemas.PromotionOut(
            promotion_id=a.promotion_id,
            name=(a.name_zh or a.name) if zh else a.name,
            amount_minor=a.total_amount_minor,
            reason=a.reason_zh if zh else a.reason_en,
            coupon_code=a.coupon_code,
        )
        for a in priced.priced.applied
    ]


async def post_sale(
    terminal: TerminalIdentity, request: schemas.SaleIn, *, via_batch: bool = False
) -> Answer:
    """Book a sale exactly once. ``via_batch``: uploaded from the till's offline queue (the
    sale is marked offline; the request is hashed as the till sent it, so a sale booked
    online whose answer was lost and that then went out in a batch is a replay)."""

    async def prepare() -> PreparedSale:
        prepared = await prepare_sale(terminal, request)
        prepared.via_batch = via_batch
        return prepared

    return await run_once(
        terminal_id=terminal.terminal_id,
        client_txn_id=request.client_txn_id,
        operation="sale",
        request=request,
        prepare=prepare,
        apply=apply_sale,
    )
