"""Indexes on the remaining references to members, so deleting or checking a member never
scans a whole table (SQLite checks every foreign key on delete, row by row)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-23T12:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes on member references"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def indexes():
        for statement in (
            "CREATE INDEX IF NOT EXISTS member_referrer_ix ON member (referrer)",
            "CREATE INDEX IF NOT EXISTS member_merged_into_ix ON member (merged_into)",
            "CREATE INDEX IF NOT EXISTS member_tier_ix ON member (tier)",
            "CREATE INDEX IF NOT EXISTS card_replaced_by_ix ON card (replaced_by)",
            "CREATE INDEX IF NOT EXISTS outbox_member_ix ON outbox (member)",
            "CREATE INDEX IF NOT EXISTS sign_in_code_member_ix ON sign_in_code (member)",
            "CREATE INDEX IF NOT EXISTS member_merge_survivor_ix ON member_merge (survivor)",
            "CREATE INDEX IF NOT EXISTS family_spend_reverses_ix ON family_spend (reverses)",
            "CREATE INDEX IF NOT EXISTS family_spend_parent_ix ON family_spend (parent)",
            "CREATE INDEX IF NOT EXISTS family_spend_child_ix ON family_spend (child)",
        ):
            await engine_finder().run_ddl(statement)

    manager.add_raw(indexes)
    return manager
