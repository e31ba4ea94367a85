"""Engines and sessions. Nothing is created at import time: ``bootstrap`` calls these."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from boxoffice.store.inline_sqlite import InlineConnection

#: Execution option set by a unit of work that will write: SQLite then takes the write lock
#: at ``BEGIN`` (``BEGIN IMMEDIATE``), so two writers queue instead of deadlocking.
WRITE_OPTION = "boxoffice_write"
#: Execution option of a read-only unit of work's SQLite connection: no ``BEGIN``, each
#: statement is its own snapshot, as on PostgreSQL (``uow.ReadUnitOfWork``, decision 0113).
ALONE_OPTION = "boxoffice_alone"
#: The PostgreSQL role the application's queries run as (created by migration 0005), so that
#: row-level security applies: superusers and BYPASSRLS roles would ignore it.
APP_ROLE = "boxoffice_app"
#: ``role=AUTO_ROLE``: switch to :data:`APP_ROLE` when the login role would bypass row-level
#: security (a superuser, BYPASSRLS) and the role exists; otherwise stay as logged in.
AUTO_ROLE = "auto"


def async_url(url: str) -> URL:
    """``sqlite:///x`` and ``postgresql://...`` as given by operators -> async driver URLs."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+boxoffice_inline")  # decision 0113
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database: {backend} (use sqlite:/// or postgresql://)")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    echo: bool = False,
    role: str | None = None,
    pre_ping: bool = True,
    read_only: bool = False,
    overflow: int | None = None,
) -> AsyncEngine:
    """An engine for ``url``. On PostgreSQL, ``role`` (a role name, or :data:`AUTO_ROLE`) is
    the role every connection switches to (``SET ROLE``); ``None`` stays as logged in, which
    is what migrations (run by the tables' owner) need. ``pre_ping`` tests each pooled
    connection before use (a round trip); without it, the caller retries on a connection the
    server closed (``uow.ReadUnitOfWork`` does). ``read_only`` (PostgreSQL): the server
    refuses every write on these connections (``default_transaction_read_only``, set in the
    connection request itself: no round trip), and each statement runs alone (``AUTOCOMMIT``:
    no ``BEGIN`` or ``COMMIT``). ``overflow``: connections opened beyond ``pool_size`` when
    all are in use, and closed when given back (default: ``pool_size``); 0 makes a request
    wait for a pooled connection instead."""
    target = async_url(url)
    # SQL parameters hold personal data and password hashes: never in a log line or an error
    # message, whatever the log level (decision 0100).
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    quiet_parameter_logs()
    if target.get_backend_name() == "sqlite":
        # sqlite3 on the event loop, never waiting for a lock there (``store/inline_sqlite.py``).
        if target.database and target.database != ":memory:":
            create_sqlite_file(Path(target.database))
    else:
        kwargs.update(
            pool_size=pool_size,
            max_overflow=pool_size if overflow is None else overflow,
            pool_pre_ping=pre_ping,
        )
        if read_only:
            kwargs["connect_args"] = {"server_settings": {"default_transaction_read_only": "on"}}
            # A read-only unit of work sends its statements alone: each is its own snapshot,
            # without BEGIN and COMMIT (``store/uow.py``, decision 0113).
            kwargs["isolation_level"] = "AUTOCOMMIT"
    engine = create_async_engine(target, **kwargs)
    if target.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    elif role:
        _configure_postgres_role(engine, role)
    return engine


def sqlite_file(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL (None: PostgreSQL, or in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return None if parsed.database == ":memory:" else Path(parsed.database)


def create_sqlite_file(path: Path) -> None:
    """Make a missing SQLite database file readable by its owner only (0600), in a directory
    made for it with mode 0700, like the generated secret key: SQLite would make it 0644.
    Its ``-wal`` and ``-shm`` files take the database file's mode."""
    if path.exists():
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


#: PostgreSQL's SQLSTATE codes a user can cause, and what to do about each.
_SQLSTATES = {
    "3D000": "database {database!r} does not exist on {where}: create it (createdb, see"
    " docs/deploying.md) or fix BOXOFFICE_DATABASE_URL",
    "28000": "PostgreSQL at {where} refused the login of role {user!r}: check the user in"
    " BOXOFFICE_DATABASE_URL and pg_hba.conf",
    "28P01": "PostgreSQL at {where} refused the password of role {user!r}: check the password"
    " in BOXOFFICE_DATABASE_URL",
    "42501": "PostgreSQL at {where}: role {user!r} lacks a privilege it needs (run `boxoffice"
    " migrate` as the tables' owner, see docs/deploying.md)",
    "53300": "PostgreSQL at {where} has too many connections: raise max_connections or use"
    " fewer workers",
    "57P03": "PostgreSQL at {where} is starting up or shutting down: try again shortly",
}


def connection_problem(exc: BaseException, url: str) -> str | None:
    """What a user can do about ``exc``, raised while using the database at ``url`` (the URL
    given by the operator), when it is a problem of configuration rather than a bug: the
    server is unreachable, the database or the role does not exist, a password is wrong, a
    SQLite file cannot be opened. None otherwise."""
    parsed = make_url(url)
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    for cause in _causes(exc):
        state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if isinstance(state, str) and state in _SQLSTATES:
            return _SQLSTATES[state].format(
                database=parsed.database, user=parsed.username or "", where=where
            )
        if parsed.get_backend_name() == "postgresql" and isinstance(cause, OSError):
            reason = cause.strerror or str(cause)
            if isinstance(cause, ConnectionRefusedError):
                reason = "connection refused"
            return (
                f"cannot connect to PostgreSQL at {where} ({reason}): start it, or fix the host"
                " and port in BOXOFFICE_DATABASE_URL"
            )
        if parsed.get_backend_name() == "sqlite" and _about_file(cause, parsed.database):
            reason = (cause.strerror if isinstance(cause, OSError) else None) or str(cause)
            return (
                f"cannot use the SQLite database {parsed.database} ({reason}): check that its"
                " directory exists and is writable, or set BOXOFFICE_DATABASE_URL"
            )
    return None


def _about_file(exc: BaseException, database: str | None) -> bool:
    """Whether ``exc`` is SQLite's, or an OS error about the database file or its folders."""
    if isinstance(exc, sqlite3.Error):
        return True
    if not isinstance(exc, OSError) or not exc.filename or not database:
        return False
    path = Path(database).absolute()
    return Path(str(exc.filename)).absolute() in (path, *path.parents)


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (``__cause__``, ``__context__``, SQLAlchemy's ``orig``)."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop(0)
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        orig = getattr(current, "orig", None)
        pending.extend(
            [
                orig if isinstance(orig, BaseException) else None,
                current.__cause__,
                current.__context__,
            ]
        )
    return seen


#: Loggers of database drivers that write SQL parameters at DEBUG: aiosqlite repeats every
#: statement it runs with its parameters (it is not used since decision 0113, but stays
#: installed: quiet should anything load it). asyncpg logs none.
PARAMETER_LOGGERS = ("aiosqlite",)


def quiet_parameter_logs() -> None:
    """Keep :data:`PARAMETER_LOGGERS` at INFO or above, whatever the application's level (an
    operator's ``BOXOFFICE_LOG_LEVEL=DEBUG`` included): their DEBUG lines carry parameters."""
    for name in PARAMETER_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:  # NOTSET (0) included: it would follow the root
            logger.setLevel(logging.INFO)


def _configure_postgres_role(engine: AsyncEngine, role: str) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        async def switch(connection: Any) -> None:
            target: str | None = role
            if role == AUTO_ROLE:
                row = await connection.fetchrow(
                    "SELECT (rolsuper OR rolbypassrls) AS bypasses,"
                    " EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS present"
                    " FROM pg_roles WHERE rolname = current_user",
                    APP_ROLE,
                )
                target = (
                    APP_ROLE if row is not None and row["bypasses"] and row["present"] else None
                )
            if target:
                quoted = '"' + target.replace('"', '""') + '"'
                try:
                    await connection.execute(f"SET ROLE {quoted}")
                except Exception as exc:  # the driver's own error type, for a clear message
                    raise RuntimeError(
                        f"cannot switch to database role {target!r} (BOXOFFICE_DATABASE_ROLE): "
                        f"{exc}"
                    ) from exc

        dbapi_connection.run_async(switch)


#: Set on every SQLite connection when it is opened.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    # Deleted and overwritten content is zeroed in the file, not left in free space
    # (decision 0102): an erased person's data must not stay readable in the file.
    "PRAGMA secure_delete=ON",
)


def _configure_sqlite(engine: AsyncEngine) -> None:
    """Each connection's pragmas, and transactions: a writing unit of work's ``BEGIN`` takes
    the write lock at once. The driver runs both (``store/inline_sqlite.py``: SQLite's busy
    timeout is 0 on the event loop, a call that meets a lock moves to a thread that waits)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        driver: InlineConnection = dbapi_connection.driver_connection
        for pragma in SQLITE_PRAGMAS:
            driver.run(driver._conn.execute, pragma)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(ALONE_OPTION, False):
            return
        write = options.get(WRITE_OPTION, False)
        driver: InlineConnection = conn.connection.driver_connection
        # Sent by the driver itself: a statement through SQLAlchemy costs ten times more.
        driver.run(driver._conn.execute, "BEGIN IMMEDIATE" if write else "BEGIN")


async def clear_erased_data(engine: AsyncEngine) -> bool:
    """After an erasure: no byte of what it deleted may stay in the database's files.

    SQLite: ``secure_delete`` (on every connection, ``store/inline_sqlite.py``) zeroes deleted
    content in the pages, but the write-ahead log still holds earlier versions of every page
    written since its last reset; a ``TRUNCATE`` checkpoint copies the log into the database
    and empties it. It waits for readers and writers (in a thread, not on the event loop) as
    long as the busy timeout; False when it could not finish then (the log is emptied by a
    later one). PostgreSQL: nothing to do here (dead rows stay until ``VACUUM``, WAL segments
    until recycled: ``docs/security.md``)."""
    if engine.dialect.name != "sqlite":
        return True
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, InlineConnection)

        def checkpoint() -> Any:
            return driver._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

        row = await driver._execute(checkpoint)
    return row is None or row[0] == 0


def session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
