"""Authentication of HQ staff (bearer token) and POS terminals (API key) for Litestar.

Router-level middleware, so an unauthenticated request is refused with 401 before its body
is even parsed. Handlers read the result as the ``actor`` or ``terminal`` dependency.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from stores import staff, terminals
from stores.access import Actor
from stores.terminals import TerminalIdentity

EXCLUDE_OPT = "exclude_from_auth"


def bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class StaffAuthentication(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        actor = await staff.authenticate(bearer(connection))
        return AuthenticationResult(user=actor, auth="staff")


class TerminalAuthentication(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        key = bearer(connection) or connection.headers.get("x-terminal-key")
        terminal = await terminals.authenticate(key)
        return AuthenticationResult(user=terminal, auth="terminal")


def staff_middleware() -> Any:
    from litestar.middleware import DefineMiddleware

    return DefineMiddleware(StaffAuthentication, exclude_from_auth_key=EXCLUDE_OPT)


def terminal_middleware() -> Any:
    from litestar.middleware import DefineMiddleware

    return DefineMiddleware(TerminalAuthentication, exclude_from_auth_key=EXCLUDE_OPT)


async def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    return request.user  # type: ignore[no-any-return]


async def provide_terminal(request: Request[Any, Any, Any]) -> TerminalIdentity:
    return request.user  # type: ignore[no-any-return]
