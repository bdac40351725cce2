"""The Litestar app factory: every domain's routes, problem+json errors, the database pool,
Redis (optional), ``/health``, the OpenAPI document at ``/schema`` and the admin at ``/admin``.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Litestar, Response, get
from litestar.config.cors import CORSConfig
from litestar.handlers import asgi
from litestar.openapi import OpenAPIConfig
from litestar.stores.memory import MemoryStore
from litestar.stores.registry import StoreRegistry
from litestar.types import Receive, Scope, Send

from memberpos import __version__
from memberpos.cache import set_redis
from memberpos.counters import MemoryCounter, RedisCounter, set_counter
from memberpos.db import close_pool, get_engine, start_pool
from memberpos.problems import EXCEPTION_HANDLERS
from memberpos.settings import Settings, get_settings

log = logging.getLogger("memberpos")


class Services:
    """What the app opens at start-up and closes at shutdown (on the app's own loop)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.redis: Any = None
        self.owns_pool = False

    async def start(self) -> None:
        self.owns_pool = await start_pool()
        if self.settings.redis_url:
            import redis.asyncio as redis_asyncio

            self.redis = redis_asyncio.from_url(self.settings.redis_url)
            set_counter(RedisCounter(self.redis))
        else:
            set_counter(MemoryCounter())
        set_redis(self.redis)

    async def stop(self) -> None:
        if self.redis is not None:
            set_redis(None)
            await self.redis.aclose()
            self.redis = None
        if self.owns_pool:
            await close_pool()

    async def health(self) -> dict[str, Any]:
        engine = get_engine()
        database: dict[str, Any] = {"engine": "sqlite" if self.settings.is_sqlite else "postgres"}
        try:
            await engine.run_querystring(_select_one())
            database["ok"] = True
        except Exception as error:  # the point is to report it, whatever it is
            database.update(ok=False, error=type(error).__name__)
        redis_status: dict[str, Any] = {"configured": self.redis is not None}
        if self.redis is not None:
            try:
                redis_status["ok"] = bool(await self.redis.ping())
            except Exception as error:
                redis_status.update(ok=False, error=type(error).__name__)
        ok = database["ok"] and redis_status.get("ok", True)
        return {
            "status": "ok" if ok else "degraded",
            "version": __version__,
            "database": database,
            "redis": redis_status,
        }


def _select_one() -> Any:
    from piccolo.querystring import QueryString

    return QueryString("SELECT 1")


def _admin_app() -> Any:
    """piccolo-admin over the chain's tables, read-only: every change goes through the HQ
    API so it is authorised and audited, and ledgers are never edited in place."""
    from piccolo_admin.endpoints import create_admin

    from stores import tables as store_tables

    tables = [
        store_tables.Region,
        store_tables.Store,
        store_tables.Terminal,
        store_tables.Staff,
        store_tables.Category,
        store_tables.Brand,
        store_tables.Product,
        store_tables.StorePrice,
        store_tables.AuditEntry,
    ]
    from memberpos.domains import collect

    tables.extend(collect("ADMIN_TABLES"))
    return create_admin(tables=tables, read_only=True, site_name="memberpos HQ", allowed_hosts=[])


def _me_routers() -> list[Any]:
    from memberpos.domains import collect, me_router_factory

    factory = me_router_factory()
    return [factory(collect("ME_HANDLERS"))] if factory else []


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    services = Services(settings)

    from memberpos.domains import collect
    from pos_gateway.api import pos_router
    from stores.api import hq_router

    @get("/health", tags=["service"], summary="Database and Redis status", exclude_from_auth=True)
    async def health() -> Response[dict[str, Any]]:
        report = await services.health()
        return Response(report, status_code=200 if report["status"] == "ok" else 503)

    admin = _admin_app()

    @asgi("/admin/", is_mount=True, copy_scope=True, include_in_schema=False)
    async def admin_site(scope: Scope, receive: Receive, send: Send) -> None:
        await admin(scope, receive, send)

    stores_registry = StoreRegistry(default_factory=lambda name: MemoryStore())
    if settings.redis_url:
        from litestar.stores.redis import RedisStore

        root = RedisStore.with_client(url=settings.redis_url, namespace="memberpos")
        stores_registry = StoreRegistry(default_factory=root.with_namespace)

    app = Litestar(
        route_handlers=[
            health,
            hq_router(collect("HQ_HANDLERS")),
            pos_router(collect("POS_HANDLERS")),
            *collect("ROUTERS"),
            *_me_routers(),
            admin_site,
        ],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        on_startup=[services.start],
        on_shutdown=[services.stop],
        stores=stores_registry,
        openapi_config=OpenAPIConfig(
            title="memberpos",
            version=__version__,
            path="/schema",
            description="Membership and loyalty CRM for retail chains: terminals under "
            "/api/v1/pos, HQ under /api/v1/hq, members under /api/v1/me.",
        ),
        cors_config=CORSConfig(allow_origins=[]),
        debug=False,
    )
    app.state.services = services
    app.state.settings = settings
    return app
