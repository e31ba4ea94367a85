"""Snapshot reads for the hot paths: prebuilt Core statements in one read-only transaction.

The busiest requests (a customer by id or by email, the API user behind a signed request)
read a handful of rows by key. Through the ORM unit of work each statement costs a session, a
greenlet switch and, on SQLite, a hop to aiosqlite's thread: about 0.5 ms of CPU per
statement. Here a read is a plain function of a :class:`~boxoffice.store.scoping.ScopedConnection`
running prebuilt statements (decision 0070):

- **SQLite**: a synchronous ``sqlite3`` connection of this process, read-only
  (``PRAGMA query_only``), used inline on the event loop inside ``BEGIN`` ... ``ROLLBACK``: in
  WAL mode a reader never waits for a writer, and a key lookup takes microseconds. Should
  SQLite answer "busy" anyway (a checkpoint or recovery in progress), the read is retried in a
  thread that may wait, so the event loop is never blocked on a lock.
- **PostgreSQL**: a pooled connection of an engine of its own (same database and role, no
  ping before each use: a connection the server closed is retried once on a new one), all
  statements in one greenlet switch (``run_sync``), in one transaction whose row-level
  security tenant is set like any unit of work's.

Every statement is checked by the tenant guard (``scoping.check_scoped``) and bound to the
tenant by it; writes never come here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Row, bindparam, create_engine, event, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from boxoffice.store.models import (
    ApiUser,
    AttributeDefinition,
    Customer,
    CustomerAddress,
    CustomerAttributeValue,
)
from boxoffice.store.repositories import storable
from boxoffice.store.scoping import ScopedConnection, of_tenant, set_database_tenant

T = TypeVar("T")
Read = Callable[[ScopedConnection], T]

#: How long a thread-run SQLite read may wait for a lock (the event loop never waits).
_THREAD_BUSY_MS = 30_000


def _sqlite_engine(url: str, busy_ms: int) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_ms / 1000},
        pool_size=2,
        max_overflow=4,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # BEGIN is ours (below): one snapshot per read
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA query_only=1",
            f"PRAGMA busy_timeout={busy_ms}",
            "PRAGMA foreign_keys=ON",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


def _busy(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text


class Reads:
    """Runs read functions for a tenant (see the module's docstring)."""

    def __init__(self, engine: AsyncEngine, server_engine: AsyncEngine | None = None) -> None:
        """``engine``: the application's; ``server_engine``: one for the reads alone, made
        without a ping before each use (PostgreSQL; ``engine`` is used when not given)."""
        self._engine = server_engine or engine
        self._own = server_engine
        self._inline: Engine | None = None
        self._threaded: Engine | None = None
        url = engine.url
        if url.get_backend_name() == "sqlite":
            database = url.database or ""
            if database and database != ":memory:":
                sync_url = url.set(drivername="sqlite+pysqlite").render_as_string(False)
                self._inline = _sqlite_engine(sync_url, busy_ms=0)
                self._threaded = _sqlite_engine(sync_url, busy_ms=_THREAD_BUSY_MS)

    async def run(self, tenant_id: int, read: Read[T]) -> T:
        """``read`` on one consistent snapshot of the tenant's rows."""
        if self._inline is not None and self._threaded is not None:
            try:
                return _run_sqlite(self._inline, tenant_id, read)
            except OperationalError as exc:
                if not _busy(exc):
                    raise
            return await asyncio.to_thread(_run_sqlite, self._threaded, tenant_id, read)
        try:
            async with self._engine.connect() as connection:
                return await connection.run_sync(_run_in_transaction, tenant_id, read)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        # The server closed that connection (a restart, an idle timeout): the pool has let go
        # of it and of every connection as old; one new attempt.
        async with self._engine.connect() as connection:
            return await connection.run_sync(_run_in_transaction, tenant_id, read)

    def engines(self) -> tuple[Engine, ...]:
        """The synchronous engines of this object's own (SQLite: the inline and the threaded
        one; PostgreSQL: the server engine given, if any), e.g. to count their statements."""
        own = self._own.sync_engine if self._own is not None else None
        return tuple(e for e in (self._inline, self._threaded, own) if e is not None)

    async def dispose(self) -> None:
        for engine in (self._inline, self._threaded):
            if engine is not None:
                engine.dispose()
        if self._own is not None:
            await self._own.dispose()


def _run_sqlite(engine: Engine, tenant_id: int, read: Read[T]) -> T:
    with engine.connect() as connection:
        return _run_in_transaction(connection, tenant_id, read)


def _run_in_transaction(connection: Connection, tenant_id: int, read: Read[T]) -> T:
    with connection.begin() as transaction:
        set_database_tenant(connection, tenant_id)
        try:
            return read(ScopedConnection(connection, tenant_id))
        finally:
            transaction.rollback()  # nothing to keep: a read ends by letting go of its snapshot


# --- the reads -------------------------------------------------------------------------------

_customers = Customer.__table__
_CUSTOMER_BY_ID = select(_customers).where(
    of_tenant(Customer), _customers.c.id == bindparam("key"), _customers.c.state == "active"
)
_CUSTOMER_BY_EMAIL_KEY = select(_customers).where(
    of_tenant(Customer),
    _customers.c.email_key == bindparam("email_key"),
    _customers.c.state == "active",
)
_definitions = AttributeDefinition.__table__
_ATTRIBUTES = (
    select(_definitions)
    .where(of_tenant(AttributeDefinition))
    .order_by(_definitions.c.position, _definitions.c.id)
)
_values = CustomerAttributeValue.__table__
_ATTRIBUTE_VALUES = select(_values.c.attribute_id, _values.c.value).where(
    of_tenant(CustomerAttributeValue), _values.c.customer_id == bindparam("customer")
)
_addresses = CustomerAddress.__table__
_ADDRESSES = (
    select(_addresses)
    .where(of_tenant(CustomerAddress), _addresses.c.customer_id == bindparam("customer"))
    .order_by(_addresses.c.created_at, _addresses.c.id)
)
_api_users = ApiUser.__table__
_API_USER = select(_api_users.c.secret_encrypted, _api_users.c.disabled).where(
    of_tenant(ApiUser), _api_users.c.login == bindparam("login")
)


@dataclass(frozen=True)
class CustomerRecord:
    """A customer's row with what every view of it shows: the tenant's attribute definitions,
    the customer's attribute values and addresses (rows with the columns' names)."""

    customer: Row[Any]
    attributes: Sequence[Row[Any]]
    values: Sequence[Row[Any]]
    addresses: Sequence[Row[Any]]


def _record(connection: ScopedConnection, row: Row[Any] | None) -> CustomerRecord | None:
    if row is None:
        return None
    key = {"customer": row.id}
    return CustomerRecord(
        row,
        connection.execute(_ATTRIBUTES).all(),
        connection.execute(_ATTRIBUTE_VALUES, key).all(),
        connection.execute(_ADDRESSES, key).all(),
    )


def customer_by_id(customer_id: int) -> Read[CustomerRecord | None]:
    def read(connection: ScopedConnection) -> CustomerRecord | None:
        return _record(
            connection, connection.execute(_CUSTOMER_BY_ID, {"key": customer_id}).first()
        )

    return read


def customer_by_email_key(email_key: str) -> Read[CustomerRecord | None]:
    def read(connection: ScopedConnection) -> CustomerRecord | None:
        if not storable(email_key):
            return None
        row = connection.execute(_CUSTOMER_BY_EMAIL_KEY, {"email_key": email_key}).first()
        return _record(connection, row)

    return read


def api_user_secret(login: str) -> Read[bytes | None]:
    """The encrypted secret of an enabled API user, or None."""

    def read(connection: ScopedConnection) -> bytes | None:
        if not storable(login):
            return None
        row = connection.execute(_API_USER, {"login": login}).first()
        return None if row is None or row.disabled else bytes(row.secret_encrypted)

    return read
