"""The loyalty program's settings (one row), read often, changed rarely by HQ."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from loyalty.tables import LoyaltyProgram
from memberpos.clock import utc_now
from memberpos.db import transaction


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


_cached: tuple[int, Program] | None = None  # (configuration generation, program)


async def load_program(*, generation: int | None = None) -> Program:
    """The program. ``generation``: the configuration generation the caller has just read
    (``promotions.service.promotions_and_policy``); every change of the program bumps it in
    the change's transaction, so the copy this process read under the same generation is
    the program as it stands, and no query is made."""
    global _cached
    if generation is not None and _cached is not None and _cached[0] == generation:
        return _cached[1]
    row = await LoyaltyProgram.select().where(LoyaltyProgram.id == 1).first()
    program = Program() if row is None else Program(**{n: row[n] for n in PROGRAM_FIELDS})
    if generation is not None:
        _cached = (generation, program)
    return program


async def save_program(changes: dict[str, Any]) -> Program:
    """Creates the row on first change; the caller audits. Bumps the configuration
    generation in the same transaction (every process then reads the program afresh)."""
    from promotions.service import bump_generation

    async with transaction():
        current = await load_program()
        values = {**{name: getattr(current, name) for name in PROGRAM_FIELDS}, **changes}
        if await LoyaltyProgram.exists().where(LoyaltyProgram.id == 1):
            await LoyaltyProgram.update(
                {LoyaltyProgram._meta.get_column_by_name(k): v for k, v in values.items()}
                | {LoyaltyProgram.updated_at: utc_now()}
            ).where(LoyaltyProgram.id == 1)
        else:
            await LoyaltyProgram.insert(LoyaltyProgram(id=1, updated_at=utc_now(), **values)).run()
        await bump_generation(definitions_changed=False)
    return Program(**values)
