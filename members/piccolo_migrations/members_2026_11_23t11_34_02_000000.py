"""Indexes of the members tables (raw steps run before table changes, so they stand alone)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-23T11:34:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "member, card and family indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def indexes():
        for statement in (
            "CREATE INDEX IF NOT EXISTS card_member_ix ON card (member)",
            "CREATE INDEX IF NOT EXISTS card_event_card_ix ON card_event (card)",
            "CREATE INDEX IF NOT EXISTS member_home_store_ix ON member (home_store)",
            "CREATE INDEX IF NOT EXISTS family_link_parent_ix ON family_link (parent)",
            # A member is the child of at most one parent at a time.
            "CREATE UNIQUE INDEX IF NOT EXISTS family_link_child_active_uq "
            "ON family_link (child) WHERE detached_at IS NULL",
            "CREATE INDEX IF NOT EXISTS outbox_unsent_ix ON outbox (sent_at, id)",
        ):
            await engine_finder().run_ddl(statement)

    manager.add_raw(indexes)
    return manager
