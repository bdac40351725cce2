"""The stored-value ledger: top-ups with their bonus, spending, refunds of spends and of
top-ups. Principal (money the member paid in) and bonus (money the chain gave) are kept apart.

Rules:
- A balance never goes below zero, whatever the concurrency: postings to one account are
  serialised (``loyalty.accounts``) and every debit is a conditional update
  (``… WHERE principal >= p AND bonus >= b``) in the transaction that writes its entry.
- The spending order of principal and bonus is the program's ``stored_value_order``
  (``principal_first``, ``bonus_first`` or ``proportional``); a refund of a spend gives back
  the same split, proportionally for a partial refund (largest remainder).
- A top-up earns the bonus of the highest active top-up rule its amount reaches. Refunding a
  top-up returns only principal the member has not spent (at most what that top-up paid in)
  and takes back the bonus it gave (as much as is left).
- A daily spend limit (program setting, 0 = none) counts the store's business date.
- Every posting is unique by (account, source kind, source id, kind).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from loyalty.accounts import lock_stored_value_account_of
from loyalty.errors import (
    DailyLimitExceeded,
    InsufficientStoredValue,
    InvalidAmount,
    TopUpNotRefundable,
)
from loyalty.points import Source
from loyalty.tables import StoredValueEntry, TopUpRule
from memberpos.db import fetchrow, fetchval, insert, transaction
from memberpos.money import allocate


@dataclass(frozen=True)
class StoredValuePosting:
    entry_id: int | None  # None: written with the transaction's commit (memberpos.db)
    principal_delta: int
    bonus_delta: int
    principal_after: int
    bonus_after: int
    replayed: bool = False

    @property
    def amount(self) -> int:
        return self.principal_delta + self.bonus_delta

    @property
    def balance_after(self) -> int:
        return self.principal_after + self.bonus_after


# The entry of (account, source kind, source id, kind): at most one (a unique index).
_POSTED = (
    " FROM stored_value_entry"
    " WHERE account = {} AND source_kind = {} AND source_id = {} AND kind = {}"
)


async def _existing(account_id: int, source: Source, kind: str) -> StoredValuePosting | None:
    row = await fetchrow(
        "SELECT id, principal_delta, bonus_delta, principal_after, bonus_after" + _POSTED,
        account_id,
        source.kind,
        source.id,
        kind,
    )
    if row is None:
        return None
    return StoredValuePosting(
        row["id"],
        row["principal_delta"],
        row["bonus_delta"],
        row["principal_after"],
        row["bonus_after"],
        replayed=True,
    )


async def _post(
    account: dict,
    principal_delta: int,
    bonus_delta: int,
    kind: str,
    source: Source,
    at: dt.datetime,
    business_date: dt.date | None,
    reverses: Source | None = None,
) -> StoredValuePosting:
    posting = await _try_post(
        account, principal_delta, bonus_delta, kind, source, at, business_date, reverses
    )
    if posting is None:
        raise InsufficientStoredValue(field="amount_minor")
    return posting


async def _try_post(
    account: dict,
    principal_delta: int,
    bonus_delta: int,
    kind: str,
    source: Source,
    at: dt.datetime,
    business_date: dt.date | None,
    reverses: Source | None = None,
    *,
    only_if: str = "",
    only_if_args: tuple = (),
) -> StoredValuePosting | None:
    """The conditional update of the balances (``… WHERE principal >= p AND bonus >= b``,
    and ``only_if``, more conditions on the account row) and its entry; ``None`` when the
    update refused, nothing written."""
    account_id = account["id"]
    updated = await fetchrow(
        "UPDATE stored_value_account"
        " SET principal = principal + {}, bonus = bonus + {}, updated_at = {}"
        " WHERE id = {} AND principal >= {} AND bonus >= {}"
        + only_if
        + " RETURNING principal, bonus",
        principal_delta,
        bonus_delta,
        at,
        account_id,
        -min(principal_delta, 0),
        -min(bonus_delta, 0),
        *only_if_args,
    )
    if updated is None:
        return None
    principal_after, bonus_after = updated["principal"], updated["bonus"]
    # the entry beside its update, sent with the commit (memberpos.db.defer_write)
    await insert(
        "stored_value_entry",
        [
            {
                "account": account_id,
                "principal_delta": principal_delta,
                "bonus_delta": bonus_delta,
                "kind": kind,
                "source_kind": source.kind,
                "source_id": source.id,
                "principal_after": principal_after,
                "bonus_after": bonus_after,
                "reverses": f"{reverses.kind}:{reverses.id}" if reverses else None,
                "store": source.store_id,
                "staff": source.staff_id,
                "business_date": business_date,
                "created_at": at,
            }
        ],
        deferred=True,
    )
    return StoredValuePosting(None, principal_delta, bonus_delta, principal_after, bonus_after)


async def bonus_for(amount_minor: int, at: dt.datetime) -> tuple[int, str | None]:
    """The bonus a top-up of ``amount_minor`` earns at ``at`` and the rule that gives it."""
    rules = (
        await TopUpRule.select(TopUpRule.code, TopUpRule.pay_minor, TopUpRule.bonus_minor)
        .where(
            (TopUpRule.active == True)  # noqa: E712
            & (TopUpRule.valid_from <= at)
            & (TopUpRule.valid_to.is_null() | (TopUpRule.valid_to > at))
            & (TopUpRule.pay_minor <= amount_minor)
        )
        .order_by(TopUpRule.pay_minor, ascending=False)
    )
    if not rules:
        return 0, None
    return rules[0]["bonus_minor"], rules[0]["code"]


async def top_up(
    member_id: int, amount_minor: int, source: Source, *, at: dt.datetime, business_date: dt.date
) -> StoredValuePosting:
    if amount_minor <= 0:
        raise InvalidAmount(field="amount_minor")
    async with transaction():
        account = await lock_stored_value_account_of(member_id)
        account_id = account["id"]
        if (done := await _existing(account_id, source, "top_up")) is not None:
            return done
        bonus, _rule = await bonus_for(amount_minor, at)
        return await _post(account, amount_minor, bonus, "top_up", source, at, business_date)


# The day's spends net of their returns (negative: spent), for the daily limit.
_SPENT_ON_DAY = (
    "CAST(COALESCE((SELECT SUM(principal_delta + bonus_delta) FROM stored_value_entry"
    " WHERE account = {} AND business_date = {} AND kind IN ('spend', 'spend_return')), 0)"
    " AS BIGINT)"
)


def split_spend(amount: int, principal: int, bonus: int, order: str) -> tuple[int, int]:
    """How much of ``amount`` comes out of principal and bonus, by the program's order."""
    if amount > principal + bonus:
        raise InsufficientStoredValue(field="amount_minor")
    if order == "bonus_first":
        from_bonus = min(bonus, amount)
        return amount - from_bonus, from_bonus
    if order == "proportional":
        from_principal, from_bonus = allocate(amount, [principal, bonus])
        # Rounding may ask a fen more of one side than it holds; take it from the other.
        if from_principal > principal:
            from_principal, from_bonus = principal, amount - principal
        if from_bonus > bonus:
            from_principal, from_bonus = amount - bonus, bonus
        return from_principal, from_bonus
    from_principal = min(principal, amount)
    return from_principal, amount - from_principal


async def spend(
    member_id: int,
    amount_minor: int,
    source: Source,
    *,
    at: dt.datetime,
    business_date: dt.date,
    order: str = "principal_first",
    daily_limit_minor: int = 0,
    account: dict[str, int] | None = None,
) -> StoredValuePosting:
    """Debits ``amount_minor`` (principal and bonus split by ``order``); refuses beyond the
    balance or the day's limit. ``account``: the member's account
    (``STORED_VALUE_ACCOUNT_COLUMNS``) as the caller's transaction locked it, not locked and
    read again."""
    if amount_minor <= 0:
        raise InvalidAmount(field="amount_minor")
    async with transaction():
        if account is None:
            account = await lock_stored_value_account_of(member_id)
        account_id = account["id"]
        balance = account["principal"] + account["bonus"]
        if balance >= amount_minor:
            # The debit carries the other checks (not posted yet, within the day's limit): a
            # spend that passes them all is one update and one insert. Under the account's
            # lock they see what the checks below would.
            only_if = " AND NOT EXISTS (SELECT 1" + _POSTED + ")"
            only_if_args: tuple = (account_id, source.kind, source.id, "spend")
            if daily_limit_minor:
                only_if += " AND " + _SPENT_ON_DAY + " >= {}"
                only_if_args += (account_id, business_date, amount_minor - daily_limit_minor)
            principal, bonus = split_spend(
                amount_minor, account["principal"], account["bonus"], order
            )
            posting = await _try_post(
                account,
                -principal,
                -bonus,
                "spend",
                source,
                at,
                business_date,
                only_if=only_if,
                only_if_args=only_if_args,
            )
            if posting is not None:
                return posting
        # Refused: the checks in their order, each with its own answer.
        if (done := await _existing(account_id, source, "spend")) is not None:
            return done
        if daily_limit_minor:
            spent = -await fetchval("SELECT " + _SPENT_ON_DAY, account_id, business_date)
            if spent + amount_minor > daily_limit_minor:
                raise DailyLimitExceeded(
                    field="amount_minor", remaining_today=max(0, daily_limit_minor - spent)
                )
        if balance < amount_minor:
            raise InsufficientStoredValue(
                f"Balance {balance}, asked {amount_minor}",
                field="amount_minor",
                balance_minor=balance,
            )
        raise InsufficientStoredValue(field="amount_minor")  # the conditional debit refused


async def return_spend(
    member_id: int,
    amount_minor: int,
    source: Source,
    *,
    original: Source,
    at: dt.datetime,
    business_date: dt.date,
) -> StoredValuePosting:
    """Gives back ``amount_minor`` of what ``original`` spent, in the same principal/bonus
    proportion (never more of either than that spend took, over several refunds too)."""
    if amount_minor <= 0:
        raise InvalidAmount(field="amount_minor")
    async with transaction():
        account = await lock_stored_value_account_of(member_id)
        account_id = account["id"]
        if (done := await _existing(account_id, source, "spend_return")) is not None:
            return done
        spent = await _existing(account_id, original, "spend")
        if spent is None:
            raise TopUpNotRefundable("That sale spent no stored value", field="amount_minor")
        earlier = await StoredValueEntry.select(
            StoredValueEntry.principal_delta,
            StoredValueEntry.bonus_delta,
        ).where(
            (StoredValueEntry.account == account_id)
            & (StoredValueEntry.kind == "spend_return")
            & (StoredValueEntry.reverses == f"{original.kind}:{original.id}")
        )
        principal_left = -spent.principal_delta - sum(r["principal_delta"] for r in earlier)
        bonus_left = -spent.bonus_delta - sum(r["bonus_delta"] for r in earlier)
        if amount_minor > principal_left + bonus_left:
            raise InvalidAmount(
                "More than that sale's stored value is being returned", field="amount_minor"
            )
        if amount_minor == principal_left + bonus_left:
            principal, bonus = principal_left, bonus_left
        else:
            principal, bonus = allocate(amount_minor, [-spent.principal_delta, -spent.bonus_delta])
            principal, bonus = min(principal, principal_left), min(bonus, bonus_left)
            # Earlier partial refunds may have used up one side; the rest goes to the other.
            short = amount_minor - principal - bonus
            extra_principal = min(short, principal_left - principal)
            principal, bonus = principal + extra_principal, bonus + short - extra_principal
        return await _post(
            account, principal, bonus, "spend_return", source, at, business_date, reverses=original
        )


async def refund_top_up(
    member_id: int, source: Source, *, original: Source, at: dt.datetime, business_date: dt.date
) -> StoredValuePosting:
    """Returns the unspent principal of a top-up (at most what it paid in) and takes back its
    bonus (as much as is left). The cash handed back is ``-principal_delta``."""
    async with transaction():
        account = await lock_stored_value_account_of(member_id)
        account_id = account["id"]
        if (done := await _existing(account_id, source, "top_up_refund")) is not None:
            return done
        paid_in = await _existing(account_id, original, "top_up")
        if paid_in is None:
            raise TopUpNotRefundable("No such top-up on this card", field="top_up")
        if await StoredValueEntry.exists().where(
            (StoredValueEntry.account == account_id)
            & (StoredValueEntry.kind == "top_up_refund")
            & (StoredValueEntry.reverses == f"{original.kind}:{original.id}")
        ):
            raise TopUpNotRefundable("That top-up was refunded already", field="top_up")
        principal = min(paid_in.principal_delta, account["principal"])
        bonus = min(paid_in.bonus_delta, account["bonus"])
        if principal == 0 and bonus == 0:
            raise TopUpNotRefundable(field="top_up")
        return await _post(
            account,
            -principal,
            -bonus,
            "top_up_refund",
            source,
            at,
            business_date,
            reverses=original,
        )


async def adjust(
    member_id: int,
    principal_minor: int,
    bonus_minor: int,
    source: Source,
    *,
    at: dt.datetime,
    business_date: dt.date | None,
) -> StoredValuePosting:
    """A manual correction of principal and/or bonus (kind ``adjust``); a debit is the same
    conditional update as a spend, so it is refused rather than leave either side negative."""
    if principal_minor == 0 and bonus_minor == 0:
        raise InvalidAmount("An adjustment must change the balance", field="principal_minor")
    async with transaction():
        account = await lock_stored_value_account_of(member_id)
        account_id = account["id"]
        if (done := await _existing(account_id, source, "adjust")) is not None:
            return done
        return await _post(
            account, principal_minor, bonus_minor, "adjust", source, at, business_date
        )


async def stored_value_summary(member_id: int) -> dict[str, int]:
    row = await fetchrow(
        "SELECT principal, bonus FROM stored_value_account WHERE member = {}", member_id
    )
    if row is None:
        return {"principal": 0, "bonus": 0, "balance": 0}
    return {
        "principal": row["principal"],
        "bonus": row["bonus"],
        "balance": row["principal"] + row["bonus"],
    }
