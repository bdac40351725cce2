"""Where the composition root finds each domain's contributions, so domains add routes,
commands, demo data and invariant checks without editing the root.

Each entry names a module and the attribute it may define:
- API modules: ``HQ_HANDLERS`` (under ``/api/v1/hq``, staff sign-in), ``POS_HANDLERS`` (under
  ``/api/v1/pos``, terminal key), ``ROUTERS`` (their own path and authentication, e.g.
  ``/api/v1/me`` and the ``/me`` page), ``ADMIN_TABLES`` (read-only in piccolo-admin).
- CLI modules: ``add_commands(subparsers)``; each sub-command sets ``run`` (a callable taking the
  parsed arguments and returning an exit code) with ``set_defaults``.
- Demo steps: an async function returning one line for the summary; run in this order after
  the chain exists, each idempotent.
- Verify checks: an async function returning a list of problems.
- ``ME_HANDLERS`` (API modules): handlers under ``/api/v1/me``, behind the member sign-in of
  ``members.self_service_api.me_router``; they take ``member: NamedDependency[MemberIdentity]``.
- Merge hooks: ``async def hook(survivor_id: int, merged_id: int, merge_ref: str,
  at: datetime) -> None``, called in order inside the transaction of a member merge, each
  moving what its domain keeps for the merged member to the survivor (idempotent by
  ``merge_ref``).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

API_MODULES = (
    "members.api",
    "loyalty.api",
    "promotions.api",
    "stores.commission_api",
    "pos_gateway.api",
    "printers.api",
    "reports.api",
)
CLI_MODULES = (
    "loyalty.cli",
    "members.cli",
    "promotions.cli",
    "stores.commission_cli",
    "pos_gateway.cli",
    "printers.cli",
)
DEMO_STEPS = (
    "members.demo:create_demo_members",
    "loyalty.demo:create_demo_loyalty",
    "promotions.demo:create_demo_promotions",
    "stores.commission_demo:create_demo_commission",
    "pos_gateway.demo:create_demo_history",
    "stores.commission_demo:close_demo_months",
)
MERGE_HOOKS = (
    "loyalty.merge:merge_members",
    "promotions.coupons:merge_members",
)
ME_ROUTER = "members.self_service_api:me_router"
VERIFY_CHECKS = (
    "stores.verify:check_chain",
    "loyalty.verify:check_points",
    "loyalty.verify:check_stored_value",
    "loyalty.verify:check_packages",
    "members.verify:check_members",
    "promotions.verify:check_promotions",
    "stores.commission_verify:check_commission",
    "pos_gateway.verify:check_sales",
    "printers.verify:check_print_jobs",
)


def _optional_module(name: str) -> ModuleType | None:
    """The module, or None when it does not exist (yet). An import error inside an existing
    module is raised, never hidden."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name is not None and (name == error.name or name.startswith(error.name + ".")):
            return None
        raise


def collect(attribute: str, modules: tuple[str, ...] = API_MODULES) -> list[Any]:
    """Every module's list under ``attribute``, concatenated in module order."""
    found: list[Any] = []
    for name in modules:
        module = _optional_module(name)
        if module is not None:
            found.extend(getattr(module, attribute, ()))
    return found


def cli_modules() -> list[ModuleType]:
    return [m for m in map(_optional_module, CLI_MODULES) if m and hasattr(m, "add_commands")]


def _functions(specs: tuple[str, ...]) -> list[Callable[[], Awaitable[Any]]]:
    functions = []
    for spec in specs:
        module_name, _, attribute = spec.partition(":")
        module = _optional_module(module_name)
        if module is not None and hasattr(module, attribute):
            functions.append(getattr(module, attribute))
    return functions


def demo_steps() -> list[Callable[[], Awaitable[str]]]:
    return _functions(DEMO_STEPS)


def verify_checks() -> list[Callable[[], Awaitable[list[str]]]]:
    return _functions(VERIFY_CHECKS)


def merge_hooks() -> list[Callable[..., Awaitable[None]]]:
    return _functions(MERGE_HOOKS)


def me_router_factory() -> Callable[[list[Any]], Any] | None:
    found = _functions((ME_ROUTER,))
    return found[0] if found else None
