"""The composition root: settings -> engine -> sessions -> the services' ``Core``."""

from __future__ import annotations

import functools
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import configure_mappers

from boxoffice.security.ratelimit import RateLimiter
from boxoffice.security.secrets_at_rest import SecretBox
from boxoffice.services.core import Core
from boxoffice.services.mail import mailer_from_settings
from boxoffice.settings import ConfigurationError, Settings
from boxoffice.store import migrate
from boxoffice.store.db import (
    AUTO_ROLE,
    connection_problem,
    create_engine,
    is_sqlite,
    session_factory,
    sqlite_file,
)
from boxoffice.store.session_store import DatabaseSessions, RedisSessions, SessionStore
from boxoffice.store.uow import ReadUnitOfWork
from boxoffice.store.write_gate import WriteGate


def build_core(settings: Settings, *, pool_size: int = 10) -> Core:
    url = settings.resolved_database_url()
    role = settings.database_role or AUTO_ROLE
    engine = create_engine(url, pool_size=pool_size, role=role)
    read_engine = None
    if not is_sqlite(url):
        # Read-only units of work (``uow.ReadUnitOfWork``, decision 0113). One holds its
        # connection for well under a millisecond: a request that finds them all in use waits
        # for one rather than opening (and, given back, closing) one more. Connections opened
        # and closed per burst made the p99 of these reads ~100 ms (a new server process, the
        # role switch, asyncpg's type introspection each time).
        read_engine = create_engine(
            url, pool_size=pool_size, overflow=0, role=role, pre_ping=False, read_only=True
        )
    sessions = session_factory(engine)
    idle, absolute = settings.session_idle_seconds, settings.session_absolute_seconds
    session_store: SessionStore
    if settings.redis_url:
        session_store = RedisSessions(settings.redis_url, idle=idle, absolute=absolute)
    else:
        session_store = DatabaseSessions(
            sessions, idle=idle, absolute=absolute, reader=_reader(read_engine or engine)
        )
    return Core(
        engine=engine,
        sessions=sessions,
        secret_box=SecretBox(settings.resolved_secret_key()),
        session_store=session_store,
        limiter=RateLimiter.from_url(settings.redis_url),
        mailer=mailer_from_settings(settings.smtp_url, settings.var_dir / "outbox"),
        signature_window_seconds=settings.signature_window_seconds,
        device_token_idle_seconds=settings.device_token_idle_seconds,
        device_token_absolute_seconds=settings.device_token_absolute_seconds,
        read_engine=read_engine,
        write_gate=_write_gate(engine),
    )


def _reader(engine: AsyncEngine) -> Callable[[int], ReadUnitOfWork]:
    """The session store's read-only units of work (``Core.read``'s, before there is a Core)."""
    return functools.partial(ReadUnitOfWork, engine)


def _write_gate(engine: AsyncEngine) -> WriteGate | None:
    """SQLite's writers' queue, for a database file (``store/write_gate.py``)."""
    url = engine.url
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return WriteGate(database)


def configure_orm() -> None:
    """Build the ORM's mappers now rather than at the first query (a server worker does it
    before freezing its startup objects, decision 0079)."""
    configure_mappers()


def migrate_database(settings: Settings) -> None:
    """Create or upgrade the schema (synchronous; call outside an event loop)."""
    migrate.upgrade(settings.resolved_database_url())


def require_database(settings: Settings) -> None:
    """Refuse a SQLite database file that does not exist (``migrate`` creates one)."""
    path = sqlite_file(settings.resolved_database_url())
    if path is not None and not path.exists():
        raise ConfigurationError(
            f"no database at {path}: run boxoffice from the directory holding var/ (where you"
            " ran `boxoffice demo`), set BOXOFFICE_DATABASE_URL, or create one with"
            " `boxoffice migrate`"
        )


def require_schema(settings: Settings) -> None:
    """Refuse to run against a database without the current schema (synchronous).

    A SQLite file that does not exist is not created here (only ``migrate`` creates one): a
    command run from another directory than the installation's would otherwise make an empty
    ``./var/boxoffice.db`` there."""
    require_database(settings)
    if not migrate.schema_is_current(settings.resolved_database_url()):
        raise ConfigurationError(
            "the database schema is missing or out of date: run `boxoffice migrate` first"
        )


def database_problem(exc: BaseException, settings: Settings) -> str | None:
    """What the operator can do about ``exc`` when it is a problem with the configured
    database (unreachable, missing, login refused, unwritable) rather than a bug."""
    return connection_problem(exc, settings.resolved_database_url())


async def check_database(core: Core) -> None:
    """Readiness: one round trip to the database."""
    from sqlalchemy import text

    async with core.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
