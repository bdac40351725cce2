"""The loyalty program's settings (one row), read often, changed rarely by HQ."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from loyalty.tables import LoyaltyProgram
from memberpos.clock import utc_now


@dataclass(frozen=True)
class Program:
    points_per_unit: int = 1
    earn_on_stored_value: bool = True
    earn_on_points: bool = False
    pending_days: int = 0
    points_per_minor_unit: int = 1
    min_redeem_points: int = 100
    max_redeem_share_bp: int = 5_000
    redeem_step_points: int = 100
    expiry_policy: str = "year_end"
    expiry_months: int = 12
    stored_value_order: str = "principal_first"
    pin_threshold_minor: int = 20_000
    daily_spend_limit_minor: int = 0
    manager_points_limit: int = 5_000
    manager_stored_value_limit_minor: int = 50_000
    hq_points_limit: int = 1_000_000
    hq_stored_value_limit_minor: int = 10_000_000
    expiry_warning_days: int = 30


PROGRAM_FIELDS = tuple(f.name for f in fields(Program))


async def load_program() -> Program:
    row = await LoyaltyProgram.select().where(LoyaltyProgram.id == 1).first()
    if row is None:
        return Program()
    return Program(**{name: row[name] for name in PROGRAM_FIELDS})


async def save_program(changes: dict[str, Any]) -> Program:
    """Creates the row on first change; the caller audits."""
    current = await load_program()
    values = {**{name: getattr(current, name) for name in PROGRAM_FIELDS}, **changes}
    if await LoyaltyProgram.exists().where(LoyaltyProgram.id == 1):
        await LoyaltyProgram.update(
            {LoyaltyProgram._meta.get_column_by_name(k): v for k, v in values.items()}
            | {LoyaltyProgram.updated_at: utc_now()}
        ).where(LoyaltyProgram.id == 1)
    else:
        await LoyaltyProgram.insert(LoyaltyProgram(id=1, updated_at=utc_now(), **values)).run()
    return Program(**values)
