"""Gateway indexes: the idempotency key (the database is the authority on exactly once),
one sequence row per terminal and day, one sale line number per sale, lookups by member."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-23T11:55:56:000000"
VERSION = "1.38.0"
DESCRIPTION = "idempotency key, sequences and lookup indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pos_gateway", description=DESCRIPTION)

    async def indexes():
        for statement in (
            "CREATE UNIQUE INDEX IF NOT EXISTS idempotency_record_key_uq "
            "ON idempotency_record (terminal, client_txn_id)",
            "CREATE UNIQUE INDEX IF NOT EXISTS terminal_sequence_day_uq "
            "ON terminal_sequence (terminal, business_date)",
            "CREATE UNIQUE INDEX IF NOT EXISTS sale_line_no_uq ON sale_line (sale, line_no)",
            "CREATE INDEX IF NOT EXISTS sale_member_ix ON sale (member, occurred_at)",
            "CREATE INDEX IF NOT EXISTS sale_store_day_ix ON sale (store, business_date)",
            "CREATE INDEX IF NOT EXISTS sale_payment_sale_ix ON sale_payment (sale)",
            "CREATE INDEX IF NOT EXISTS refund_sale_ix ON refund (sale)",
            "CREATE INDEX IF NOT EXISTS refund_line_refund_ix ON refund_line (refund)",
            "CREATE INDEX IF NOT EXISTS offline_rejection_store_ix "
            "ON offline_rejection (store, resolved_at)",
        ):
            await engine_finder().run_ddl(statement)

    manager.add_raw(indexes)
    return manager
