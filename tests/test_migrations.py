"""Migrations bring an empty database to head on both engines, and the schema they build is
the schema the models describe."""

from __future__ import annotations

from piccolo.apps.migrations.commands.new import AutoMigrationManager
from piccolo.conf.apps import Finder
from piccolo.querystring import QueryString

from memberpos.cli import run_migrations
from memberpos.db import get_engine, is_sqlite


async def _database_columns(table_name: str) -> set[str]:
    engine = get_engine()
    if is_sqlite():
        rows = await engine.run_querystring(QueryString(f"PRAGMA table_info({table_name})"))
        return {row["name"] for row in rows}
    rows = await engine.run_querystring(
        QueryString(
            "SELECT column_name FROM information_schema.columns WHERE table_name = {}", table_name
        )
    )
    return {row["column_name"] for row in rows}


async def test_every_table_in_the_database_has_exactly_the_model_columns(migrated: None):
    finder = Finder()
    tables = finder.get_table_classes()
    assert {t._meta.tablename for t in tables} >= {
        "store",
        "terminal",
        "staff",
        "product",
        "audit_entry",
    }
    for table in tables:
        model_columns = {c._meta.db_column_name for c in table._meta.columns}
        assert await _database_columns(table._meta.tablename) == model_columns, table


async def test_migrations_describe_the_models_with_nothing_left_to_generate(migrated: None):
    for app_config in Finder().get_app_configs():
        if not app_config.app_name.startswith(("piccolo", "session_auth", "user")):
            statements = await AutoMigrationManager().get_alter_statements(app_config)
            pending = [s for group in statements for s in group.statements]
            assert pending == [], f"{app_config.app_name} needs a migration: {pending}"


async def test_running_migrations_again_at_head_changes_nothing(migrated: None):
    await run_migrations(quiet=True)
    await run_migrations(quiet=True)
