"""Indexes the print spool's lookups need.

Raw steps run before a migration's table changes, so they live in a migration of their own,
after the one that creates the print_job table.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-23T11:57:14:000000"
VERSION = "1.38.0"
DESCRIPTION = "print spool lookup indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="printers", description=DESCRIPTION)

    async def print_job_indexes():
        for statement in (
            # The head of a printer's queue: its oldest job still queued or printing.
            "CREATE INDEX IF NOT EXISTS print_job_printer_status_ix "
            "ON print_job (printer_name, status, id)",
            "CREATE INDEX IF NOT EXISTS print_job_status_ix ON print_job (status, printer_name)",
            "CREATE INDEX IF NOT EXISTS print_job_terminal_status_ix "
            "ON print_job (terminal_id, status, id)",
            "CREATE INDEX IF NOT EXISTS print_job_store_reference_ix "
            "ON print_job (store_id, reference)",
        ):
            await engine_finder().run_ddl(statement)

    manager.add_raw(print_job_indexes)

    return manager
