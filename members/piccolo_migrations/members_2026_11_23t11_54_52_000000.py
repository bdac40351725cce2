"""Unique and lookup indexes of the tier, family, sign-in and merge tables (raw steps run
before table changes in one migration, so they come in a migration of their own)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-23T11:54:52:000000"
VERSION = "1.38.0"
DESCRIPTION = "tier, family, sign-in and merge indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def indexes():
        for statement in (
            # A sale or refund counts once towards a tier, whatever the network does.
            "CREATE UNIQUE INDEX IF NOT EXISTS qualifying_spend_source_uq "
            "ON qualifying_spend (source_kind, source_id)",
            "CREATE INDEX IF NOT EXISTS qualifying_spend_member_date_ix "
            "ON qualifying_spend (member, business_date)",
            "CREATE INDEX IF NOT EXISTS tier_event_member_ix ON tier_event (member)",
            # A child's charge on the parent's stored value is recorded once per source.
            "CREATE UNIQUE INDEX IF NOT EXISTS family_spend_source_uq "
            "ON family_spend (source_kind, source_id)",
            "CREATE INDEX IF NOT EXISTS family_spend_link_date_ix "
            "ON family_spend (link, business_date)",
            "CREATE INDEX IF NOT EXISTS family_link_child_ix ON family_link (child)",
            "CREATE INDEX IF NOT EXISTS member_session_member_ix ON member_session (member)",
            "CREATE INDEX IF NOT EXISTS sign_in_code_phone_ix ON sign_in_code (phone, id)",
            "CREATE UNIQUE INDEX IF NOT EXISTS member_merge_ref_uq ON member_merge (merge_ref)",
            # A member is merged away once.
            "CREATE UNIQUE INDEX IF NOT EXISTS member_merge_merged_uq ON member_merge (merged)",
        ):
            await engine_finder().run_ddl(statement)

    manager.add_raw(indexes)
    return manager
