"""Indexes the commission tables need: idempotency keys and lookups.

Raw steps run before a migration's table changes, so they live in a migration of their own,
after the one that creates the commission tables.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-23T11:57:29:000000"
VERSION = "1.38.0"
DESCRIPTION = "commission idempotency keys and lookup indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="stores", description=DESCRIPTION)

    async def commission_indexes():
        # A line sold by nobody has no staff (NULL); NULLs never collide in a unique index,
        # so the keys use COALESCE(staff, 0). Expression indexes work on both engines.
        for statement in (
            "CREATE UNIQUE INDEX IF NOT EXISTS commission_entry_source_uq "
            "ON commission_entry (kind, source_ref, line_no, COALESCE(staff, 0))",
            "CREATE INDEX IF NOT EXISTS commission_entry_sale_ref_ix "
            "ON commission_entry (sale_ref)",
            "CREATE INDEX IF NOT EXISTS commission_entry_period_staff_ix "
            "ON commission_entry (period, staff)",
            "CREATE UNIQUE INDEX IF NOT EXISTS commission_period_store_month_uq "
            "ON commission_period (store, month_start)",
            "CREATE UNIQUE INDEX IF NOT EXISTS commission_tally_period_staff_uq "
            "ON commission_tally (period, staff_key)",
            "CREATE UNIQUE INDEX IF NOT EXISTS commission_target_store_month_staff_uq "
            "ON commission_target (store, month_start, COALESCE(staff, 0))",
            "CREATE UNIQUE INDEX IF NOT EXISTS commission_pool_share_store_staff_uq "
            "ON commission_pool_share (store, staff)",
        ):
            await engine_finder().run_ddl(statement)

    manager.add_raw(commission_indexes)

    return manager
