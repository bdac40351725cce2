"""A manager's approval typed at the till (employee number + PIN) for what a cashier may not
do alone: reprinting a receipt. Wrong PINs are counted per till and locked out for a while.
"""

from __future__ import annotations

from memberpos.counters import get_counter
from printers.errors import ManagerApprovalRefused, ManagerApprovalRequired, TooManyPinAttempts
from stores.access import Actor, Role

PIN_ATTEMPTS = 5
PIN_WINDOW_SECONDS = 15 * 60


def _counter_key(terminal_id: int) -> str:
    return f"printers:manager-pin:{terminal_id}"


def may_approve(manager: Actor, store_id: int | None) -> bool:
    """An HQ admin anywhere, a store manager in their own store."""
    return Role.hq_admin in manager.roles or (
        Role.store_manager in manager.roles and manager.home_store_id == store_id
    )


async def approve(
    employee_no: str | None, pin: str | None, *, store_id: int, terminal_id: int
) -> Actor:
    """The manager approving, or a refusal with a stable code: none given
    (``manager_approval_required``), wrong or not a manager of this store
    (``manager_approval_refused``), too many wrong tries (``too_many_pin_attempts``)."""
    from stores import staff
    from stores.errors import InvalidCredentials

    if not employee_no or not pin:
        raise ManagerApprovalRequired()
    counter = get_counter()
    key = _counter_key(terminal_id)
    if await counter.count(key) >= PIN_ATTEMPTS:
        raise TooManyPinAttempts()
    try:
        manager = await staff.verify_pin(employee_no, pin)
    except InvalidCredentials:
        await counter.hit(key, PIN_WINDOW_SECONDS)
        raise ManagerApprovalRefused() from None
    if not may_approve(manager, store_id):
        await counter.hit(key, PIN_WINDOW_SECONDS)
        raise ManagerApprovalRefused(
            f"{employee_no} is not a store manager of this store", field="manager_employee_no"
        )
    await counter.reset(key)
    return manager
