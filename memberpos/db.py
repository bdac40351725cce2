"""The database engine, chosen from ``MEMBERPOS_DATABASE_URL``, and the transaction helper.

SQLite (the embedded default) and PostgreSQL (production) behave differently under
concurrent writers; ``transaction()`` hides that: on SQLite a write transaction takes the
write lock at BEGIN (IMMEDIATE), so two writers queue instead of failing with
"database is locked" half way through.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import re
import sqlite3
import string
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction, Savepoint
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.querystring import QueryString

from memberpos.settings import Settings, get_settings


def build_engine(settings: Settings | None = None) -> Engine:
    settings = settings or get_settings()
    if settings.is_sqlite:
        path = settings.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        # A writer waits up to 30 s for the lock rather than failing at once.
        return _SQLiteEngine(path=str(path), timeout=30)
    dsn = settings.database_url.replace("postgresql://", "postgres://", 1)
    return _PostgresEngine(config={"dsn": dsn}, log_queries=False)


# ------------------------------------------------------------------ PostgreSQL transactions
#
# A write whose result nothing in its transaction needs (a ledger entry, the sale's lines,
# the outbox row, the stored answer) need not cost a round trip of its own: ``defer_write``
# keeps it, and the transaction sends all it kept with its COMMIT as one simple-query
# message. Each kept write goes as ``EXECUTE`` of a statement prepared once per connection
# (the PREPARE rides in the first message that needs it), its values as literals: the
# server reuses the statement's plan instead of parsing and planning literal SQL each time.
# A later statement of the same transaction that names a table with writes pending (a
# Piccolo query: any pending write) sends them first, so every statement still sees every
# earlier write. An error in a kept write fails the commit and rolls the whole transaction
# back, as it would have failed the statement.


class _Prepared:
    """The statements prepared on one connection (by :meth:`_Transaction.send`). A failed
    message may or may not have prepared its new ones, so after a failure the connection
    starts over with new names (``round``); the old ones die with the session."""

    __slots__ = ("names", "round")

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.round = 0


_prepared: weakref.WeakKeyDictionary[Any, _Prepared] = weakref.WeakKeyDictionary()


@functools.lru_cache(maxsize=1024)
def _statement_key(sql: str) -> tuple[str, str]:
    """(digest, numbered text) of a ``{}`` template, for PREPARE."""
    numbered = _numbered(sql)
    return hashlib.sha1(numbered.encode()).hexdigest()[:20], numbered


class _Transaction(PostgresTransaction):
    """Piccolo's PostgreSQL transaction, with deferred writes; BEGIN/COMMIT/ROLLBACK are sent
    as plain statements (asyncpg's own transaction object is not used, so a COMMIT that
    carries the deferred writes leaves nothing behind in it). ``lazy`` (``transaction(
    lazy=True)``): BEGIN is not sent on entry but with the first statement, in the same
    message when that statement is a :func:`write_count`."""

    __slots__ = ("begun", "lazy", "pending", "pending_tables")

    def __init__(
        self, engine: PostgresEngine, allow_nested: bool = True, *, lazy: bool = False
    ) -> None:
        super().__init__(engine, allow_nested=allow_nested)
        self.lazy = lazy and self._parent is None
        self.begun = False
        self.pending: list[tuple[str, str] | str] = []
        self.pending_tables: set[str] = set()

    async def begin(self) -> None:
        if not self.lazy:
            await self.connection.execute("BEGIN")
            self.begun = True

    def defer(self, sql: str, args: Sequence[Any], tables: frozenset[str]) -> None:
        # the values written as literals now: one with no literal is refused here
        self.pending.append((sql, _literals(args)))
        self.pending_tables |= tables

    async def send(self, *statements: tuple[str, str] | str) -> str:
        """``statements`` (a ``{}`` template with its values as literals, or plain SQL)
        after BEGIN (if not sent yet) and the pending writes, as one simple-query message;
        the last statement's status (``INSERT 0 1`` …)."""
        items = [*([] if self.begun else ["BEGIN"]), *self.pending, *statements]
        self.pending, self.pending_tables = [], set()
        self.begun = True  # from here on, a failure leaves a transaction to roll back
        if not items:
            return ""
        raw = getattr(self.connection, "_con", None) or self.connection
        prepared = _prepared.get(raw)
        if prepared is None:
            prepared = _prepared[raw] = _Prepared()
        script: list[str] = []
        new: set[str] = set()
        for item in items:
            if isinstance(item, str):
                script.append(item)
                continue
            sql, values = item
            digest, numbered = _statement_key(sql)
            name = f"memberpos_{prepared.round}_{digest}"
            if name not in prepared.names and name not in new:
                script.append(f"PREPARE {name} AS {numbered}")
                new.add(name)
            script.append(f"EXECUTE {name}({values})" if values else f"EXECUTE {name}")
        try:
            status = await self.connection.execute(";\n".join(script))
        except BaseException:
            if new:
                prepared.round += 1
                prepared.names.clear()
            raise
        prepared.names |= new
        return status

    async def flush(self) -> None:
        """Send the deferred writes now (before a statement that may read them)."""
        if self.pending or not self.begun:
            await self.send()

    async def before(self, sql: str) -> None:
        """Ready the connection for ``sql``: BEGIN sent, and the pending writes when ``sql``
        names one of their tables."""
        if not self.begun or (
            self.pending_tables and not self.pending_tables.isdisjoint(_names_in(sql))
        ):
            await self.send()

    async def commit(self) -> None:
        if self.begun or self.pending:
            await self.send("COMMIT")
        self._committed = True

    async def rollback(self) -> None:
        self.pending, self.pending_tables = [], set()
        if self.begun:
            await self.connection.execute("ROLLBACK")
        self._rolled_back = True

    async def savepoint(self, name: str | None = None) -> Savepoint:
        await self.flush()  # what a rollback to it undoes is then only what is still pending
        savepoint = await super().savepoint(name)
        return _Savepoint(name=savepoint.name, transaction=self)

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception is not None:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                try:
                    await self.commit()
                except BaseException:
                    # a deferred write failed (or the commit did): the transaction is void
                    if not self.connection.is_closed():
                        await self.rollback()
                    raise
        finally:
            try:
                if self.engine.pool:
                    await self.engine.pool.release(self.connection)
                else:
                    await self.connection.close()
            finally:
                self.engine.current_transaction.reset(self.context)
        return exception is None


class _Savepoint(Savepoint):
    async def rollback_to(self) -> None:
        transaction = self.transaction
        assert isinstance(transaction, _Transaction)
        transaction.pending, transaction.pending_tables = [], set()
        await super().rollback_to()


class _PostgresEngine(PostgresEngine):
    """Piccolo's PostgreSQL engine whose transactions keep deferred writes (``_Transaction``);
    a Piccolo query in such a transaction first sends what is pending."""

    def transaction(self, allow_nested: bool = True, *, lazy: bool = False) -> PostgresTransaction:
        return _Transaction(self, allow_nested=allow_nested, lazy=lazy)

    def open_transaction(self) -> _Transaction | None:
        """The transaction of this task, when one is open (it keeps deferred writes)."""
        current = self.current_transaction.get()
        return current if isinstance(current, _Transaction) else None

    async def run_querystring(self, querystring: QueryString, in_pool: bool = True) -> Any:
        if (current := self.open_transaction()) is not None:
            await current.flush()
        return await super().run_querystring(querystring, in_pool)

    async def run_ddl(self, ddl: str, in_pool: bool = True) -> Any:
        if (current := self.open_transaction()) is not None:
            await current.flush()
        return await super().run_ddl(ddl, in_pool)


# ---------------------------------------------------------------------- SQLite connections
#
# Piccolo's SQLite engine opens a new connection (a thread, the schema read again, a cold page
# cache) for every transaction and for every statement outside one - about ten a sale - and
# runs each statement in four thread hand-offs (``PRAGMA foreign_keys`` first, execute,
# fetch, close). ``_SQLiteEngine`` keeps the connections it opened and reuses them, and runs
# a statement in one hand-off. The SQL and the transactions are Piccolo's own (BEGIN
# IMMEDIATE for ``transaction()``'s writes, autocommit for a statement outside one); only how
# they reach the file changes.
#
# A transaction takes a connection of its own (an idle one, else a new one), so concurrent
# requests in one process still each have theirs and queue on SQLite's write lock as before.
# A connection goes back to the idle list only when it is not in a transaction: one whose
# COMMIT or ROLLBACK failed, or whose statement was cancelled half way, is closed (closing
# rolls back whatever it still holds). Per connection, once: ``PRAGMA foreign_keys = 1``
# (Piccolo sent it before every statement) and ``synchronous`` at FULL, SQLite's default
# made explicit: every commit is synced, money is never lost to a power cut.


class _Pooled:
    """What the pool knows of one of its connections."""

    __slots__ = ("generation", "synchronous")

    def __init__(self, generation: int, synchronous: str) -> None:
        self.generation = generation
        self.synchronous = synchronous


class SQLiteConnections:
    """The open connections of one :class:`_SQLiteEngine`: the idle ones (at most
    ``max_idle``, most recently used first out) and what each was set to.

    ``synchronous`` is the level every connection is at when a statement or transaction
    takes it (FULL; ``memberpos demo`` lowers it for its own run). ``close()`` closes the
    idle connections; one in use then is closed when it is handed back. The pool opens
    again by itself at the next statement."""

    def __init__(self, connection_kwargs: dict[str, Any], max_idle: int = 8) -> None:
        self.connection_kwargs = connection_kwargs
        self.max_idle = max_idle
        self.synchronous = "FULL"
        self.started = False
        self.opened = 0  # connections opened, ever
        self.idle: list[Any] = []
        self._generation = 0
        self._pooled: dict[Any, _Pooled] = {}

    @property
    def in_use(self) -> int:
        """Connections taken and not handed back yet."""
        return len(self._pooled) - len(self.idle)

    async def take(self) -> Any:
        """An aiosqlite connection, not in a transaction, for the caller alone until
        :meth:`give_back`."""
        connection = self.idle.pop() if self.idle else await self._open()
        pooled = self._pooled[connection]
        if pooled.synchronous != self.synchronous:
            try:
                await connection.execute(f"PRAGMA synchronous = {self.synchronous}")
            except BaseException:
                await self.discard(connection)
                raise
            pooled.synchronous = self.synchronous
        return connection

    async def _open(self) -> Any:
        import aiosqlite

        connection = aiosqlite.connect(**self.connection_kwargs)
        # aiosqlite runs each connection in a thread of its own, not a daemon: an idle
        # connection nobody closed would keep the process from exiting. Every lifespan
        # closes the pool (close_pool); this is for a process that never called it.
        thread = getattr(connection, "_thread", None)
        if isinstance(thread, threading.Thread):
            thread.daemon = True
        await connection
        try:
            connection.row_factory = dict_factory
            await connection.executescript(
                f"PRAGMA foreign_keys = 1; PRAGMA synchronous = {self.synchronous};"
            )
        except BaseException:
            await connection.close()
            raise
        self._pooled[connection] = _Pooled(self._generation, self.synchronous)
        self.opened += 1
        return connection

    async def give_back(self, connection: Any) -> None:
        """Back to the idle list if it is fit for the next caller, else closed."""
        pooled = self._pooled.get(connection)
        try:
            fit = (
                pooled is not None
                and pooled.generation == self._generation
                and len(self.idle) < self.max_idle
                and not connection.in_transaction
            )
        except ValueError:  # closed already
            fit = False
        if fit:
            self.idle.append(connection)
        else:
            await self.discard(connection)

    async def discard(self, connection: Any) -> None:
        """Close ``connection`` (a transaction still open on it is rolled back)."""
        self._pooled.pop(connection, None)
        await connection.close()

    async def close(self) -> None:
        """Close the idle connections; those in use close when handed back."""
        self.started = False
        self._generation += 1
        idle, self.idle = self.idle, []
        for connection in idle:
            await self.discard(connection)


class _SQLiteTransaction(SQLiteTransaction):
    """Piccolo's SQLite transaction on a connection of the engine's pool; a write
    transaction waits its turn in the engine's queue of writers first."""

    __slots__ = ("_queued",)

    engine: _SQLiteEngine

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        # A write transaction first queues behind this process's other writers. SQLite lets
        # one writer in at a time; a BEGIN IMMEDIATE that finds the file locked sleeps in
        # SQLite's busy handler (1, 2, 5 … 100 ms naps) and may wake long after the lock was
        # free, so a till behind three others waited up to a second. The queue hands the
        # turn on at once, in arrival order; other processes still meet the busy handler.
        self._queued = self.transaction_type is not TransactionType.deferred
        if self._queued:
            await self.engine.writers().acquire()
        connections = self.engine.connections
        try:
            self.connection = await connections.take()
        except BaseException:
            self._leave_queue()
            raise
        try:
            await self.begin()
        except Exception:  # BEGIN refused (the lock not had in time): nothing is open
            await connections.give_back(self.connection)
            self._leave_queue()
            raise
        except BaseException:  # cancelled: BEGIN may still run after us
            await connections.discard(self.connection)
            self._leave_queue()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    def _leave_queue(self) -> None:
        if self._queued:
            self._queued = False
            self.engine.writers().release()

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception is not None:
                if not self._rolled_back:  # unless rolled back by hand
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        finally:
            try:
                # a failed COMMIT or ROLLBACK leaves the transaction open: closed, not reused
                await self.engine.connections.give_back(self.connection)
            finally:
                self.engine.current_transaction.reset(self.context)
                self._leave_queue()
        return exception is None


class _SQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine on reused connections (:class:`SQLiteConnections`), one
    thread hand-off a statement."""

    __slots__ = ("_returning", "_writers", "connections")

    def __init__(self, path: str, max_idle: int = 8, **connection_kwargs: Any) -> None:
        super().__init__(path=path, **connection_kwargs)
        self.connections = SQLiteConnections(self.connection_kwargs, max_idle=max_idle)
        self._returning = sqlite3.sqlite_version_info >= (3, 35)  # INSERT … RETURNING
        self._writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def writers(self) -> asyncio.Lock:
        """The queue of this event loop's write transactions (a lock serves one loop)."""
        loop = asyncio.get_running_loop()
        if (lock := self._writers.get(loop)) is None:
            lock = self._writers[loop] = asyncio.Lock()
        return lock

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return _SQLiteTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        """A statement outside a transaction (autocommit) on an idle connection."""
        connection = await self.connections.take()
        try:
            rows = await self._run_in_existing_connection(
                connection, query, args, query_type, table
            )
        except Exception:
            await self.connections.give_back(connection)
            raise
        except BaseException:  # cancelled: the statement may still be running
            await self.connections.discard(connection)
            raise
        await self.connections.give_back(connection)
        return rows

    async def _run_in_existing_connection(
        self,
        connection: Any,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        if query_type == "insert" and not self._returning:
            return await super()._run_in_existing_connection(
                connection, query, args, query_type, table
            )
        # execute and fetch in one hand-off; foreign_keys and row_factory are set already
        return await connection.execute_fetchall(query, args or [])


_engine: Engine | None = None


def get_engine() -> Engine:
    """The engine every table is bound to (Piccolo resolves it through ``piccolo_conf``, once
    per process, as each table does for itself: the lookup costs more than a statement)."""
    global _engine
    if _engine is None:
        from piccolo.engine.finder import engine_finder

        _engine = engine_finder()
        if _engine is None:  # pragma: no cover - piccolo_conf always defines DB
            raise RuntimeError("no Piccolo engine configured")
    return _engine


def is_sqlite(engine: Engine | None = None) -> bool:
    return isinstance(engine or get_engine(), SQLiteEngine)


def transaction(*, lazy: bool = False) -> Any:
    """``async with transaction():`` — a write transaction on either engine.

    Nested use joins the outer transaction (Piccolo's ``allow_nested``), so a domain
    function that opens one can be called from a larger unit of work, such as a sale.
    ``lazy``: on PostgreSQL, BEGIN goes out with the first statement (one round trip less
    when that is a :func:`write_count`); only for work that reaches the connection through
    this module or Piccolo queries, never through the transaction's connection directly.
    """
    engine = get_engine()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    if isinstance(engine, _PostgresEngine):
        return engine.transaction(lazy=lazy)
    return engine.transaction()


async def start_pool(max_size: int = 20) -> bool:
    """Open the PostgreSQL pool (True), or find it open already (False: not ours to close).
    On SQLite: WAL mode, and True for the first caller, who closes the reused connections
    (:class:`SQLiteConnections`) at the end with :func:`close_pool`."""
    engine = get_engine()
    if isinstance(engine, PostgresEngine):
        if engine.pool is not None:
            return False
        # reset: nothing of ours that a reset must undo lives in a session (no advisory
        # locks, LISTEN, SET or cursors), so a connection goes back to the pool without
        # asyncpg's reset query (a round trip after every statement run outside a
        # transaction). An open transaction is still rolled back by the pool itself. The
        # deferred writes' prepared statements (_Prepared) are meant to outlive the
        # transaction: a reset that ran DISCARD ALL or DEALLOCATE would have to forget them.
        await engine.start_connection_pool(min_size=2, max_size=max_size, reset=_keep_session)
        return True
    if isinstance(engine, SQLiteEngine):
        # WAL lets readers go on while one writer commits; the setting lives in the file.
        await engine.run_ddl("PRAGMA journal_mode=WAL")
        if isinstance(engine, _SQLiteEngine) and not engine.connections.started:
            # the connections open as statements need them; ours to close at the end
            engine.connections.started = True
            return True
    return False


async def _keep_session(connection: Any) -> None:
    return None


async def close_pool() -> None:
    engine = get_engine()
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()
    elif isinstance(engine, _SQLiteEngine):
        await engine.connections.close()


def sqlite_file(engine: Engine | None = None) -> Path | None:
    engine = engine or get_engine()
    if isinstance(engine, SQLiteEngine):
        return Path(engine.path)
    return None


# ------------------------------------------------------------------------------ raw SQL
#
# The hot paths (a till's sale, its lookups) write their statements by hand: Piccolo's query
# builder costs several times the database's own work per statement (STACK-NOTES). These run
# in the current transaction when there is one, else on a pooled connection, on either
# engine. Placeholders are ``{}`` (Piccolo's QueryString); ``placeholders(n)`` writes a list
# for ``IN (...)``. On SQLite, columns come back converted by their declared types (dates,
# timestamps, booleans), JSON as text, as through Piccolo's own raw queries.


def placeholders(count: int) -> str:
    """``{}, {}, …`` for an ``IN (…)`` of ``count`` values."""
    return ", ".join(["{}"] * count)


def lock_clause() -> str:
    """`` FOR UPDATE`` on PostgreSQL; nothing on SQLite, whose IMMEDIATE transactions hold
    the single write lock already."""
    return "" if is_sqlite() else " FOR UPDATE"


@functools.lru_cache(maxsize=1024)
def _numbered(sql: str) -> str:
    """A ``{}`` template as PostgreSQL's ``$1, $2 …`` (``{{``/``}}`` are literal braces, as
    in Piccolo's QueryString), translated once per statement text."""
    parts: list[str] = []
    count = 0
    for literal, field, _, _ in string.Formatter().parse(sql):
        parts.append(literal)
        if field is not None:
            if field:
                raise ValueError(f"only bare {{}} placeholders, not {{{field}}}")
            count += 1
            parts.append(f"${count}")
    return "".join(parts)


async def fetch(sql: str, *args: Any) -> Sequence[Mapping[str, Any]]:
    """The rows of one hand-written statement (``{}`` placeholders). On PostgreSQL straight
    to asyncpg (the transaction's connection, else the pool's), on SQLite through Piccolo."""
    engine = get_engine()
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        current = engine.current_transaction.get()
        if current is not None:
            if isinstance(current, _Transaction):
                await current.before(sql)
            return await current.connection.fetch(_numbered(sql), *args)
        async with engine.pool.acquire() as connection:
            return await connection.fetch(_numbered(sql), *args)
    return await engine.run_querystring(QueryString(sql, *args))


async def fetchrow(sql: str, *args: Any) -> Mapping[str, Any] | None:
    rows = await fetch(sql, *args)
    return rows[0] if rows else None


async def fetchval(sql: str, *args: Any) -> Any:
    rows = await fetch(sql, *args)
    if not rows:
        return None
    return next(iter(rows[0].values()))


def json_text(value: Any) -> str:
    """A JSON column's value for a hand-written statement (text on both engines)."""
    return msgspec.json.encode(value).decode()


@dataclass(frozen=True)
class Expr:
    """A column's value in :func:`insert` written as SQL (``{}`` placeholders for ``args``),
    say a sub-select of the id of a row written in the same transaction."""

    sql: str
    args: tuple[Any, ...] = ()


async def insert(
    table: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    returning: str | None = None,
    deferred: bool = False,
) -> Sequence[Mapping[str, Any]]:
    """One multi-row ``INSERT`` of ``rows`` (dicts with the same keys, in the same order);
    JSON columns' values go through :func:`json_text` first. ``returning``: a column list.
    ``deferred``: sent with the transaction's commit (:func:`defer_write`); returns nothing."""
    if not rows:
        return []
    columns = list(rows[0])
    marks: list[str] = []
    values: list[Any] = []
    for row in rows:
        for column in columns:
            value = row[column]
            if isinstance(value, Expr):
                marks.append(value.sql)
                values.extend(value.args)
            else:
                marks.append("{}")
                values.append(value)
    width = len(columns)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        + ", ".join(
            "(" + ", ".join(marks[start : start + width]) + ")"
            for start in range(0, len(marks), width)
        )
        + (f" RETURNING {returning}" if returning else "")
    )
    if deferred:
        if returning:
            raise ValueError("a deferred insert returns nothing")
        await defer_write(sql, *values)
        return []
    return await fetch(sql, *values)


async def defer_write(sql: str, *args: Any) -> None:
    """A write (``{}`` placeholders) whose result nothing needs: inside a PostgreSQL
    transaction it is sent with the COMMIT, in the same round trip (a later statement that
    names one of its tables sends it first); elsewhere it runs now. Its values become SQL
    literals (:func:`sql_literal`), so only plain types: ``None``, ``bool``, ``int``,
    ``str``, ``bytes``, ``date``, ``datetime``."""
    engine = get_engine()
    if isinstance(engine, _PostgresEngine) and (current := engine.open_transaction()) is not None:
        current.defer(sql, args, _written_tables(sql))
        return
    await fetch(sql, *args)


async def write_count(sql: str, *args: Any) -> int:
    """A write (``{}`` placeholders, no RETURNING) whose only result is how many rows it
    wrote. In a PostgreSQL transaction it travels in one message with what is pending
    before it (BEGIN of a lazy transaction, deferred writes), its values as literals
    (:func:`sql_literal`); elsewhere it runs at once."""
    engine = get_engine()
    if isinstance(engine, _PostgresEngine) and (current := engine.open_transaction()) is not None:
        status = await current.send((sql, _literals(args)))
        return int(status.rsplit(" ", 1)[-1])
    return len(await fetch(sql + " RETURNING 1", *args))


def _literals(args: Sequence[Any]) -> str:
    """``args`` as a comma-separated list of SQL literals (an ``EXECUTE``'s parameters)."""
    return ", ".join(sql_literal(value) for value in args)


def sql_literal(value: Any) -> str:
    """``value`` as a PostgreSQL literal. Strings are escape strings (``E'…'``), right
    whatever ``standard_conforming_strings`` says; timestamps and dates carry their type."""
    if value is None:
        return "NULL"
    if value is True:
        return "TRUE"
    if value is False:
        return "FALSE"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("PostgreSQL text cannot hold NUL")
        return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
    if isinstance(value, bytes | bytearray | memoryview):
        return "decode('" + bytes(value).hex() + "', 'hex')"
    if isinstance(value, dt.datetime):
        kind = "timestamp" if value.tzinfo is None else "timestamptz"
        return f"'{value.isoformat()}'::{kind}"
    if isinstance(value, dt.date):
        return f"'{value.isoformat()}'::date"
    raise TypeError(f"no SQL literal for {type(value).__name__}")


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WRITTEN = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+([A-Za-z_][A-Za-z0-9_]*)", re.I)


@functools.lru_cache(maxsize=1024)
def _names_in(sql: str) -> frozenset[str]:
    return frozenset(name.lower() for name in _NAME.findall(sql))


@functools.lru_cache(maxsize=1024)
def _written_tables(sql: str) -> frozenset[str]:
    tables = frozenset(name.lower() for name in _WRITTEN.findall(sql))
    if not tables:
        raise ValueError("a deferred write names the table it writes")
    return tables
