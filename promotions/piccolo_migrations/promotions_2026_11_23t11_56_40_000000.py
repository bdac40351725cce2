"""Indexes of the promotion tables: idempotency keys and lookups.

Raw steps run before a migration's table changes, so they live in a migration of their own,
after the one that creates the tables.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-23T11:56:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "promotion and coupon idempotency keys and lookup indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="promotions", description=DESCRIPTION)

    async def promotion_indexes():
        for statement in (
            "CREATE UNIQUE INDEX IF NOT EXISTS promotion_revision_version_uq "
            "ON promotion_revision (promotion, version)",
            "CREATE UNIQUE INDEX IF NOT EXISTS promotion_use_sale_uq "
            "ON promotion_use (sale, promotion)",
            "CREATE UNIQUE INDEX IF NOT EXISTS promotion_member_usage_uq "
            "ON promotion_member_usage (promotion, member, period)",
            "CREATE UNIQUE INDEX IF NOT EXISTS coupon_redemption_sale_uq "
            "ON coupon_redemption (coupon, sale_ref)",
            "CREATE UNIQUE INDEX IF NOT EXISTS coupon_batch_issue_ref_uq "
            "ON coupon (batch, issue_ref)",
            "CREATE INDEX IF NOT EXISTS coupon_member_ix ON coupon (member)",
            "CREATE INDEX IF NOT EXISTS coupon_redemption_sale_ix ON coupon_redemption (sale_ref)",
            "CREATE INDEX IF NOT EXISTS promotion_revision_from_ix "
            "ON promotion_revision (effective_from)",
        ):
            await engine_finder().run_ddl(statement)

    manager.add_raw(promotion_indexes)

    return manager
