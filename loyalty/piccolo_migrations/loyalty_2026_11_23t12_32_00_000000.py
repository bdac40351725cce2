"""Unique keys of adjustments (by the caller's id) and expiry warnings (one per account and
date), as raw steps in a migration of their own (raw steps run before table changes)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-23T12:32:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "adjustment and expiry-warning idempotency keys; package lookups"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="loyalty", description=DESCRIPTION)

    async def indexes():
        for statement in (
            "CREATE UNIQUE INDEX IF NOT EXISTS adjustment_ref_uq ON adjustment (ref)",
            "CREATE UNIQUE INDEX IF NOT EXISTS expiry_warning_uq "
            "ON expiry_warning (account, expires_on)",
            "CREATE INDEX IF NOT EXISTS service_package_member_ix ON service_package (member)",
            "CREATE INDEX IF NOT EXISTS service_package_entry_package_ix "
            "ON service_package_entry (package)",
        ):
            await engine_finder().run_ddl(statement)

    manager.add_raw(indexes)
    return manager
