"""Indexes the first migration's tables need: composite unique keys and lookups.

Raw steps run before a migration's table changes, so they live in a migration of their own.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-23T11:15:45:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique keys and lookup indexes of the chain"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="stores", description=DESCRIPTION)

    async def composite_unique_indexes():
        # Unique(...) emits ALTER TABLE ... ADD CONSTRAINT, which SQLite rejects; an index
        # works on both engines and is what the database enforces under concurrency.
        for statement in (
            "CREATE UNIQUE INDEX IF NOT EXISTS terminal_store_name_uq "
            "ON terminal (store, name)",
            "CREATE UNIQUE INDEX IF NOT EXISTS store_price_product_store_from_uq "
            "ON store_price (product, store, effective_from)",
            "CREATE INDEX IF NOT EXISTS staff_session_staff_ix ON staff_session (staff)",
            "CREATE INDEX IF NOT EXISTS audit_entry_entity_ix "
            "ON audit_entry (entity, entity_key)",
            "CREATE INDEX IF NOT EXISTS audit_entry_store_at_ix ON audit_entry (store_code, at)",
            "CREATE INDEX IF NOT EXISTS product_category_ix ON product (category)",
        ):
            await engine_finder().run_ddl(statement)

    manager.add_raw(composite_unique_indexes)

    return manager
