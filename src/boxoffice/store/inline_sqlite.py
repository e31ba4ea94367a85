"""SQLite on the event loop: the driver under SQLAlchemy's async engine (decision 0113).

SQLAlchemy's ``aiosqlite`` dialect awaits its driver for every call: aiosqlite runs each one on
a thread of its own, so every statement of a unit of work was a hand-off to that thread and
back (tens of microseconds of CPU, and a wait for the GIL on a busy worker), and three switches
of SQLAlchemy's greenlet. A key lookup in SQLite takes microseconds: waiting for a thread costs
more than the work.

:class:`InlineSqliteDialect` (``sqlite+boxoffice_inline``) is the aiosqlite dialect over
:class:`InlineConnection`, whose calls run ``sqlite3`` at once, on the event loop, without
awaiting anything. That is safe because SQLite never makes them wait here:

- the connection's busy timeout is 0, so a call that would wait for a lock fails at once with
  ``SQLITE_BUSY`` instead; a statement that fails so has done nothing, and the same call is
  then made again in a thread that may wait (:data:`WAIT_SECONDS`), so the event loop never
  blocks on a lock;
- in WAL mode a reader never waits for a writer, and writers queue before they ask SQLite
  (``store/write_gate.py``): ``SQLITE_BUSY`` is rare (another process's writer, a checkpoint).

Long work is moved off the loop by its caller (:meth:`InlineConnection._execute`, the bulk
import's batches; ``db.clear_erased_data``'s checkpoint).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util.concurrency import await_, in_greenlet

T = TypeVar("T")

#: How long a call moved to a thread may wait for a lock (as long as the write gate's queue).
WAIT_SECONDS = 30.0
_BUSY = 5  # SQLITE_BUSY, the primary code of every extended busy code


def busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's "busy": the call did nothing and may be made again."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF == _BUSY
    return "database is locked" in str(exc).lower()


class InlineCursor:
    """A DBAPI cursor over a ``sqlite3`` cursor, run inline: nothing here awaits unless SQLite
    is busy (:meth:`InlineConnection.run`)."""

    __slots__ = ("_cursor", "_owner")

    def __init__(self, owner: InlineConnection) -> None:
        self._owner = owner
        self._cursor = owner._conn.cursor()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        self._owner.run(self._cursor.execute, sql, () if parameters is None else parameters)
        return self

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        # Each row is a statement: only the first can meet a lock (it takes the one the rest
        # need), and failing it has done nothing, so the whole call can be made again.
        self._owner.run(self._cursor.executemany, sql, list(parameters))
        return self

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)

    def close(self) -> None:
        self._cursor.close()

    def setinputsizes(self, *_sizes: Any) -> None:
        return None

    async def _async_soft_close(self) -> None:
        """SQLAlchemy's async results call this once the statement has run: its rows stay
        with ``sqlite3`` until fetched (inline, no await needed)."""
        return None


class InlineConnection:
    """A ``sqlite3`` connection run inline (see the module's docstring). ``_conn`` and
    :meth:`_execute` are aiosqlite's names, used by the bulk import (``store/bulk.py``)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        #: None once closed.
        self._connection: sqlite3.Connection | None = conn

    @classmethod
    async def open(cls, database: str, *, uri: bool = False) -> InlineConnection:
        """Connect (in a thread: opening a file is the operating system's to wait for)."""
        return cls(await asyncio.to_thread(_connect, database, uri))

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` now. Should SQLite be busy, the call is made again in a thread
        that may wait, awaited through SQLAlchemy's greenlet; outside one (a read-only unit of
        work's statement run inline, ``uow.ReadUnitOfWork``) the error is raised for the
        caller to run the statement again inside one."""
        inside = in_greenlet()
        if inside:
            # SQLAlchemy's async API insists that the driver awaited something (else it takes
            # it for a synchronous driver used by mistake): one switch, no hand-off.
            await_(_nothing())
        try:
            return function(*args)
        except sqlite3.OperationalError as exc:
            if not busy(exc) or not inside:
                raise
        return await_(self._execute(function, *args))

    async def _execute(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a thread, SQLite's busy handler waiting up to
        :data:`WAIT_SECONDS` for a lock. The caller waits for the thread even when cancelled
        (the connection is the thread's until it returns), then is cancelled."""
        future = asyncio.get_running_loop().run_in_executor(None, self._waiting, function, args)
        cancelled = False
        while True:
            try:
                result = await asyncio.shield(future)
                break
            except asyncio.CancelledError:
                if future.done():
                    raise
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError
        return result

    def _waiting(self, function: Callable[..., T], args: tuple[Any, ...]) -> T:
        self._conn.execute(f"PRAGMA busy_timeout={int(WAIT_SECONDS * 1000)}")
        try:
            return function(*args)
        finally:
            self._conn.execute("PRAGMA busy_timeout=0")


class _AdaptedConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's view of an :class:`InlineConnection`: the aiosqlite dialect's adapter, with
    calls made inline instead of awaited."""

    __slots__ = ()
    _connection: InlineConnection  # type: ignore[assignment]

    @property
    def isolation_level(self) -> str | None:
        level: str | None = self._connection._conn.isolation_level
        return level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection._conn.isolation_level = value  # type: ignore[assignment]

    def cursor(self, server_side: bool = False) -> Any:
        return InlineCursor(self._connection)

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._connection._conn.create_function(*args, **kwargs)

    def commit(self) -> None:
        if self._connection._connection is not None:
            self._connection.run(self._connection._conn.commit)

    def rollback(self) -> None:
        if self._connection._connection is not None:
            self._connection._conn.rollback()

    def close(self) -> None:
        self._connection.close()

    async def _terminate_graceful_close(self) -> None:
        self._connection.close()

    def _terminate_force_close(self) -> None:
        self._connection.close()


class _Driver(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module the dialect sees: ``sqlite3``'s names, :class:`InlineConnection`'s
    connections."""

    def __init__(self) -> None:
        super().__init__(sqlite3, sqlite3)
        self.has_stop = True

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        database = str(args[0] if args else kwargs.get("database", ":memory:"))
        opened = InlineConnection.open(database, uri=bool(kwargs.get("uri", False)))
        return _AdaptedConnection(self, await_(opened))  # type: ignore[arg-type]


class InlineSqliteDialect(SQLiteDialect_aiosqlite):
    """``sqlite+boxoffice_inline://``: the aiosqlite dialect over :class:`InlineConnection`."""

    driver = "boxoffice_inline"
    supports_statement_cache = True
    supports_server_side_cursors = False

    @classmethod
    def import_dbapi(cls) -> Any:
        return _Driver()

    def retrieve_dbapi_version(self, dbapi: Any) -> Any:
        return tuple(int(part) for part in sqlite3.sqlite_version.split("."))


registry.register("sqlite.boxoffice_inline", __name__, "InlineSqliteDialect")


async def _nothing() -> None:
    return None


def _connect(database: str, uri: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(
        database,
        timeout=WAIT_SECONDS,
        isolation_level=None,  # transactions are SQLAlchemy's (``db._configure_sqlite``)
        check_same_thread=False,  # used inline, and by a thread when busy
        uri=uri,
    )
    conn.execute("PRAGMA busy_timeout=0")  # inline: never wait (module docstring)
    return conn
