"""Row locks for read-check-write steps (tier upgrade, family limits, merges).

On PostgreSQL a ``SELECT … FOR UPDATE`` makes concurrent transactions on the same member or
family link queue, so a check made after the lock sees every committed write before it. On
SQLite ``lock_rows`` is not supported and not needed: ``memberpos.db.transaction()`` opens
IMMEDIATE transactions, which already hold the database's single write lock.
"""

from __future__ import annotations

from typing import TypeVar

from piccolo.query import Select

from memberpos.db import is_sqlite

Q = TypeVar("Q", bound=Select)


def for_update(query: Q) -> Q:
    return query if is_sqlite() else query.lock_rows()
