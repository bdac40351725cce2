"""Test session set-up for both backends.

``MEMBERPOS_TEST_BACKEND=sqlite`` (default): a fresh SQLite file per session.
``MEMBERPOS_TEST_BACKEND=postgres``: a fresh PostgreSQL database (created here, dropped at the
end) and Redis, on 127.0.0.1 unless ``MEMBERPOS_TEST_POSTGRES_URL`` /
``MEMBERPOS_TEST_REDIS_URL`` say otherwise. A missing server skips the run with the reason,
or fails it when ``MEMBERPOS_REQUIRE_SERVICES=1`` (as CI sets).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

BACKEND = os.environ.get("MEMBERPOS_TEST_BACKEND", "sqlite")
POSTGRES_ADMIN_URL = os.environ.get(
    "MEMBERPOS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REDIS_SERVER = "redis://127.0.0.1:6379"
REDIS_URL = os.environ.get("MEMBERPOS_TEST_REDIS_URL", f"{REDIS_SERVER}/14")
# Two PostgreSQL runs at once (helpers, a CI run beside a developer's) each take a Redis
# database of their own: each test empties its database, and a shared one would reset the
# other run's rate-limit counters half way through its test. The claim is a key in it.
_REDIS_CLAIM_KEY = "memberpos:test-run"
_REDIS_CANDIDATES = (14, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2)  # not 0 (default), 13 (bench)
_run_token = f"{os.getpid()}-{secrets.token_hex(4)}"
REQUIRE = os.environ.get("MEMBERPOS_REQUIRE_SERVICES", "") not in ("", "0")

_unavailable: str | None = None
_test_database: str | None = None
_tmp = Path(tempfile.mkdtemp(prefix="memberpos-test-"))


async def _probe_postgres() -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    await connection.close()


async def _probe_redis() -> None:
    """Reachable, and (unless MEMBERPOS_TEST_REDIS_URL names one) a database of our own."""
    global REDIS_URL
    import redis.asyncio as redis_asyncio

    candidates = (
        [REDIS_URL]
        if "MEMBERPOS_TEST_REDIS_URL" in os.environ
        else [f"{REDIS_SERVER}/{n}" for n in _REDIS_CANDIDATES]
    )
    for url in candidates:
        client = redis_asyncio.from_url(url, socket_connect_timeout=3)
        try:
            await client.ping()
            if len(candidates) == 1 or await client.set(
                _REDIS_CLAIM_KEY, _run_token, nx=True, ex=3 * 3600
            ):
                REDIS_URL = url
                return
        finally:
            await client.aclose()
    raise RuntimeError("every test Redis database is taken by another run")


async def _release_redis() -> None:
    import redis.asyncio as redis_asyncio

    client = redis_asyncio.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        if (await client.get(_REDIS_CLAIM_KEY)) == _run_token.encode():
            await client.delete(_REDIS_CLAIM_KEY)
    finally:
        await client.aclose()


async def _create_database(name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _drop_database(name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def _with_database(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


def pytest_configure(config: pytest.Config) -> None:
    global _unavailable, _test_database
    # The admin site's own user table hashes with 600,000 PBKDF2 rounds (half a second a
    # user); tests create hundreds of admins and test our rules, not that hash's strength.
    from piccolo.apps.user.tables import BaseUser

    BaseUser._pbkdf2_iteration_count = 1_000
    # Likewise our own argon2id cost, set before memberpos.security is imported.
    os.environ.setdefault("MEMBERPOS_ARGON2_MEMORY_KIB", "1024")
    os.environ.setdefault("MEMBERPOS_ARGON2_TIME_COST", "1")
    os.environ["MEMBERPOS_SECRET_KEY"] = "test-secret-key"
    os.environ.pop("MEMBERPOS_REDIS_URL", None)
    if BACKEND == "sqlite":
        os.environ["MEMBERPOS_DATABASE_URL"] = f"sqlite:///{_tmp / 'memberpos.sqlite'}"
        return
    if BACKEND != "postgres":
        raise pytest.UsageError(
            f"MEMBERPOS_TEST_BACKEND must be sqlite or postgres, not {BACKEND!r}"
        )
    try:
        asyncio.run(_probe_postgres())
    except Exception as error:
        _unavailable = f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {error!r}"
    if _unavailable is None:
        try:
            asyncio.run(_probe_redis())
        except Exception as error:
            _unavailable = f"Redis not reachable at {REDIS_URL}: {error!r}"
    if _unavailable is not None:
        if REQUIRE:
            raise pytest.UsageError(f"MEMBERPOS_REQUIRE_SERVICES is set and {_unavailable}")
        # Keep the SQLite engine configured so collection works; every test is skipped.
        os.environ["MEMBERPOS_DATABASE_URL"] = f"sqlite:///{_tmp / 'unused.sqlite'}"
        return
    _test_database = f"memberpos_test_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_create_database(_test_database))
    os.environ["MEMBERPOS_DATABASE_URL"] = _with_database(POSTGRES_ADMIN_URL, _test_database)
    os.environ["MEMBERPOS_REDIS_URL"] = REDIS_URL


def pytest_unconfigure(config: pytest.Config) -> None:
    if _test_database is not None:
        asyncio.run(_drop_database(_test_database))
        asyncio.run(_release_redis())


def pytest_report_header(config: pytest.Config) -> str:
    where = os.environ.get("MEMBERPOS_DATABASE_URL", "")
    return (
        f"memberpos backend: {BACKEND} ({where}; redis: "
        f"{os.environ.get('MEMBERPOS_REDIS_URL', 'none')})"
        + (f" — SKIPPED: {_unavailable}" if _unavailable else "")
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_all = pytest.mark.skip(reason=_unavailable) if _unavailable else None
    skip_postgres = pytest.mark.skip(
        reason="needs PostgreSQL: runs in the postgres half (MEMBERPOS_TEST_BACKEND=postgres)"
    )
    for item in items:
        if skip_all is not None:
            item.add_marker(skip_all)
        elif BACKEND != "postgres" and (
            item.get_closest_marker("postgres") or item.get_closest_marker("redis")
        ):
            item.add_marker(skip_postgres)


# ---------------------------------------------------------------------------- database


@pytest.fixture(scope="session")
async def migrated() -> AsyncIterator[None]:
    """The test database brought from empty to head once per session, pool open."""
    import memberpos  # noqa: F401
    from memberpos.cli import run_migrations
    from memberpos.db import close_pool, start_pool

    await start_pool()
    await run_migrations(quiet=True)
    yield
    await close_pool()


def _all_tables() -> list[type]:
    from piccolo.conf.apps import Finder
    from piccolo.table import sort_table_classes

    tables = Finder().get_table_classes()
    return sort_table_classes(tables)


async def reset_database() -> None:
    """Empty every table (migrations' own bookkeeping stays)."""
    from memberpos.counters import MemoryCounter, RedisCounter, get_counter, set_counter
    from memberpos.db import get_engine, is_sqlite

    tables = _all_tables()
    engine = get_engine()
    if is_sqlite():
        async with engine.transaction():
            # Self-references (a category's parent) make any delete order fail midway;
            # checked at commit, when every table is empty, the keys hold.
            await engine.run_ddl("PRAGMA defer_foreign_keys = ON")
            for table in reversed(tables):
                await table.delete(force=True)
    else:
        # DELETE of a few rows per table with the foreign-key triggers off, then every id
        # sequence back to 1, in one round trip: far cheaper than TRUNCATE, which makes new
        # files for every table and index (~5 s a test on a busy 2-core machine).
        names = [t._meta.tablename for t in tables]
        statements = ["SET session_replication_role = replica"]
        statements += [f'DELETE FROM "{name}"' for name in names]
        statements.append("SET session_replication_role = DEFAULT")
        statements += [
            f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), 1, false)" for name in names
        ]
        async with engine.pool.acquire() as connection:  # type: ignore[attr-defined]
            await connection.execute("; ".join(statements))  # a script: several commands
    counter = get_counter()
    if isinstance(counter, RedisCounter):
        await counter._client.flushdb()  # this run's own test Redis database only
        await counter._client.set(_REDIS_CLAIM_KEY, _run_token, ex=3 * 3600)  # still ours
    else:
        set_counter(MemoryCounter())


@pytest.fixture
async def db(migrated: None) -> AsyncIterator[None]:
    """An empty, migrated database for this test."""
    await reset_database()
    yield


# ------------------------------------------------------------------------------- the app


@pytest.fixture(scope="session")
async def app(migrated: None) -> AsyncIterator[object]:
    from memberpos.app import create_app
    from memberpos.settings import load_settings

    application = create_app(load_settings())
    # The lifespan's task group must be entered and left in one task; pytest-asyncio runs
    # a fixture's teardown in another, so the lifespan lives in a task of its own.
    started, stop = asyncio.Event(), asyncio.Event()

    async def run_lifespan() -> None:
        async with application.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(run_lifespan())
    await started.wait()
    yield application
    stop.set()
    await task


@pytest.fixture
async def client(app: object, db: None) -> AsyncIterator[object]:
    """An HTTP client on the app's own event loop, over an empty database."""
    import httpx

    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://memberpos.test") as c:
        yield c
