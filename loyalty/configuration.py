"""HQ's set-up of the program: its settings, earning rules and top-up bonus rules. Every change
is validated (a 400 naming the field), made by an HQ admin, and audited in its transaction.
Rules are never deleted (sales name the rules that made their points): they are deactivated
or given an end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from loyalty.program import PROGRAM_FIELDS, Program, load_program, save_program
from loyalty.tables import EarningRule, TopUpRule
from memberpos.db import transaction
from memberpos.errors import Conflict, Forbidden, InvalidInput, NotFound
from stores import audit
from stores.access import Actor, Role

EXPIRY_POLICIES = ("year_end", "months", "never")
STORED_VALUE_ORDERS = ("principal_first", "bonus_first", "proportional")
RULE_SCOPES = ("sku", "brand", "category")


def require_hq_admin(actor: Actor | audit.SystemActor) -> None:
    if isinstance(actor, audit.SystemActor):
        return
    if Role.hq_admin not in actor.roles:
        raise Forbidden("Only HQ admins change the loyalty program")


def require_reader(actor: Actor) -> None:
    if not actor.roles & {Role.hq_admin, Role.analyst, Role.store_manager}:
        raise Forbidden("Your role may not read the loyalty set-up")


# ------------------------------------------------------------------------------ program

_NON_NEGATIVE = (
    "points_per_unit",
    "pending_days",
    "min_redeem_points",
    "redeem_step_points",
    "expiry_months",
    "pin_threshold_minor",
    "daily_spend_limit_minor",
    "manager_points_limit",
    "manager_stored_value_limit_minor",
    "hq_points_limit",
    "hq_stored_value_limit_minor",
    "expiry_warning_days",
)


def _validate_program(values: Program) -> None:
    for name in _NON_NEGATIVE:
        if getattr(values, name) < 0:
            raise InvalidInput(f"{name} must not be negative", field=name)
    if values.points_per_minor_unit < 1:
        raise InvalidInput(
            "points_per_minor_unit must be at least 1", field="points_per_minor_unit"
        )
    if not 0 <= values.max_redeem_share_bp <= 10_000:
        raise InvalidInput("max_redeem_share_bp must be 0..10000", field="max_redeem_share_bp")
    if values.pending_days > 365:
        raise InvalidInput("pending_days must be at most 365", field="pending_days")
    if values.expiry_policy not in EXPIRY_POLICIES:
        raise InvalidInput(f"expiry_policy must be one of {EXPIRY_POLICIES}", field="expiry_policy")
    if values.expiry_policy == "months" and not 1 <= values.expiry_months <= 120:
        raise InvalidInput("expiry_months must be 1..120", field="expiry_months")
    if values.stored_value_order not in STORED_VALUE_ORDERS:
        raise InvalidInput(
            f"stored_value_order must be one of {STORED_VALUE_ORDERS}", field="stored_value_order"
        )


async def update_program(actor: Actor | audit.SystemActor, changes: dict[str, Any]) -> Program:
    require_hq_admin(actor)
    unknown = set(changes) - set(PROGRAM_FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput(f"Unknown setting {field!r}", field=field)
    before = await load_program()
    candidate = Program(**{**before.__dict__, **changes})
    _validate_program(candidate)
    async with transaction():
        after = await save_program(changes)
        await audit.record(
            actor,
            "update",
            "loyalty_program",
            "1",
            before={k: getattr(before, k) for k in changes},
            after={k: getattr(after, k) for k in changes},
        )
    return after


# -------------------------------------------------------------------------------- rules
# Earning rules and top-up rules are kept the same way: created once under a unique code,
# changed field by field, each change validated, audited and made in one transaction.


def _validate_range(valid_from: dt.datetime, valid_to: dt.datetime | None) -> None:
    if valid_from.tzinfo is None or (valid_to is not None and valid_to.tzinfo is None):
        raise InvalidInput("Times need a time zone offset", field="valid_from")
    if valid_to is not None and valid_to <= valid_from:
        raise InvalidInput("valid_to must be after valid_from", field="valid_to")


def _code(code: str) -> str:
    code = code.strip()
    if not code or len(code) > 32:
        raise InvalidInput("code must be 1 to 32 characters", field="code")
    return code


@dataclass(frozen=True)
class _RuleKind:
    table: type[EarningRule] | type[TopUpRule]
    label: str  # "earning rule", as in "No earning rule 'X'"
    article: str  # "An" / "A", as in "An earning rule 'X' exists already"
    entity: str  # the audit entity type
    fields: frozenset[str]  # what an update may change
    validate: Callable[[dict[str, Any]], None]
    changed: Callable[[], Awaitable[None]] | None = None  # in the change's transaction


async def _rule(kind: _RuleKind, code: str) -> dict[str, Any]:
    row = await kind.table.select().where(kind.table.code == code).first()
    if row is None:
        raise NotFound(f"No {kind.label} {code!r}", field="code")
    return row


async def _create_rule(
    kind: _RuleKind, actor: Actor | audit.SystemActor, code: str, values: dict[str, Any]
) -> dict[str, Any]:
    kind.validate(values)
    table = kind.table
    async with transaction():
        inserted = (
            await table.insert(table(**values))
            .on_conflict(target=(table.code,), action="DO NOTHING")
            .returning(table.id)
            .run()
        )
        if not inserted:
            raise Conflict(f"{kind.article} {kind.label} {code!r} exists already", field="code")
        row = await _rule(kind, values["code"])
        await audit.record(actor, "create", kind.entity, values["code"], after=row)
        if kind.changed is not None:
            await kind.changed()
    return row


async def _update_rule(
    kind: _RuleKind, actor: Actor | audit.SystemActor, code: str, changes: dict[str, Any]
) -> dict[str, Any]:
    require_hq_admin(actor)
    before = await _rule(kind, code)
    unknown = set(changes) - kind.fields
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput(f"Unknown field {field!r}", field=field)
    kind.validate({**before, **changes})
    table = kind.table
    async with transaction():
        if changes:
            await table.update({getattr(table, k): v for k, v in changes.items()}).where(
                table.code == code
            )
        after = await _rule(kind, code)
        await audit.record(actor, "update", kind.entity, code, before=before, after=after)
        if kind.changed is not None:
            await kind.changed()
    return after


# ------------------------------------------------------------------------ earning rules


def _validate_earning_rule(values: dict[str, Any]) -> None:
    if values["scope"] not in RULE_SCOPES:
        raise InvalidInput(f"scope must be one of {RULE_SCOPES}", field="scope")
    if not str(values["target"]).strip() or len(values["target"]) > 64:
        raise InvalidInput("target must be 1 to 64 characters", field="target")
    if not 0 <= values["multiplier_bp"] <= 100_000:
        raise InvalidInput("multiplier_bp must be 0 (excluded) to 100000", field="multiplier_bp")
    _validate_range(values["valid_from"], values["valid_to"])


async def _rules_changed() -> None:
    """In the change's transaction: every process reads the earning rules afresh (their
    per-process copy is kept by configuration generation, ``loyalty.earning.active_rules``)."""
    from promotions.service import bump_generation

    await bump_generation(definitions_changed=False)


_EARNING_RULE = _RuleKind(
    table=EarningRule,
    label="earning rule",
    article="An",
    entity="earning_rule",
    fields=frozenset({"scope", "target", "multiplier_bp", "valid_from", "valid_to", "active"}),
    validate=_validate_earning_rule,
    changed=_rules_changed,
)


async def list_earning_rules() -> list[dict[str, Any]]:
    return await EarningRule.select().order_by(EarningRule.code)


async def create_earning_rule(
    actor: Actor | audit.SystemActor,
    *,
    code: str,
    scope: str,
    target: str,
    multiplier_bp: int,
    valid_from: dt.datetime,
    valid_to: dt.datetime | None = None,
    active: bool = True,
) -> dict[str, Any]:
    require_hq_admin(actor)
    values = {
        "code": _code(code),
        "scope": scope,
        "target": target.strip(),
        "multiplier_bp": multiplier_bp,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "active": active,
    }
    return await _create_rule(_EARNING_RULE, actor, code, values)


async def update_earning_rule(
    actor: Actor | audit.SystemActor, code: str, changes: dict[str, Any]
) -> dict[str, Any]:
    return await _update_rule(_EARNING_RULE, actor, code, changes)


# ------------------------------------------------------------------------ top-up rules


def _validate_top_up_rule(values: dict[str, Any]) -> None:
    if not str(values["name"]).strip():
        raise InvalidInput("A rule needs a name", field="name")
    if values["pay_minor"] < 1:
        raise InvalidInput("pay_minor must be positive", field="pay_minor")
    if not 0 <= values["bonus_minor"] <= values["pay_minor"]:
        raise InvalidInput("bonus_minor must be 0..pay_minor", field="bonus_minor")
    _validate_range(values["valid_from"], values["valid_to"])


_TOP_UP_RULE = _RuleKind(
    table=TopUpRule,
    label="top-up rule",
    article="A",
    entity="top_up_rule",
    fields=frozenset({"name", "pay_minor", "bonus_minor", "valid_from", "valid_to", "active"}),
    validate=_validate_top_up_rule,
)


async def list_top_up_rules() -> list[dict[str, Any]]:
    return await TopUpRule.select().order_by(TopUpRule.pay_minor)


async def create_top_up_rule(
    actor: Actor | audit.SystemActor,
    *,
    code: str,
    name: str,
    pay_minor: int,
    bonus_minor: int,
    valid_from: dt.datetime,
    valid_to: dt.datetime | None = None,
    active: bool = True,
) -> dict[str, Any]:
    require_hq_admin(actor)
    values = {
        "code": _code(code),
        "name": name.strip(),
        "pay_minor": pay_minor,
        "bonus_minor": bonus_minor,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "active": active,
    }
    return await _create_rule(_TOP_UP_RULE, actor, code, values)


async def update_top_up_rule(
    actor: Actor | audit.SystemActor, code: str, changes: dict[str, Any]
) -> dict[str, Any]:
    return await _update_rule(_TOP_UP_RULE, actor, code, changes)
