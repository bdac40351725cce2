"""Ledger indexes: every posting is unique by its source, so posting it twice changes nothing
(raw steps run before table changes, so they stand in a migration of their own)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-23T12:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger idempotency keys and lookup indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="loyalty", description=DESCRIPTION)

    async def indexes():
        for statement in (
            "CREATE UNIQUE INDEX IF NOT EXISTS points_entry_source_uq "
            "ON points_entry (account, source_kind, source_id, kind)",
            "CREATE UNIQUE INDEX IF NOT EXISTS stored_value_entry_source_uq "
            "ON stored_value_entry (account, source_kind, source_id, kind)",
            "CREATE UNIQUE INDEX IF NOT EXISTS service_package_entry_source_uq "
            "ON service_package_entry (package, source_kind, source_id, kind)",
            "CREATE INDEX IF NOT EXISTS points_entry_source_ix "
            "ON points_entry (source_kind, source_id)",
            "CREATE INDEX IF NOT EXISTS stored_value_entry_source_ix "
            "ON stored_value_entry (source_kind, source_id)",
            "CREATE INDEX IF NOT EXISTS stored_value_entry_day_ix "
            "ON stored_value_entry (account, business_date)",
            "CREATE INDEX IF NOT EXISTS points_lot_account_ix "
            "ON points_lot (account, expires_on)",
            "CREATE INDEX IF NOT EXISTS points_lot_use_lot_ix ON points_lot_use (lot)",
            "CREATE INDEX IF NOT EXISTS points_lot_use_entry_ix ON points_lot_use (entry)",
        ):
            await engine_finder().run_ddl(statement)

    manager.add_raw(indexes)
    return manager
