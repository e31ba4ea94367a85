"""Snapshot reads for the hot paths: prebuilt Core statements, outside the unit of work.

The busiest requests (a customer by id or by email, the API user behind a signed request)
read a handful of rows by key. Through the ORM unit of work each statement costs a session, a
greenlet switch and, on SQLite, a hop to aiosqlite's thread: about 0.5 ms of CPU per
statement. Here a read is a plain function of a :class:`~boxoffice.store.scoping.ScopedConnection`
running prebuilt statements (decision 0070):

- **SQLite**: a synchronous ``sqlite3`` connection of this process, read-only
  (``PRAGMA query_only``), used inline on the event loop inside ``BEGIN`` ... ``ROLLBACK``: in
  WAL mode a reader never waits for a writer, and a key lookup takes microseconds. Statements
  are compiled once by SQLAlchemy (SQL text, parameter order, and the column types' own
  conversions) and run by the driver directly. Should SQLite answer "busy" anyway (a
  checkpoint or recovery in progress), the read is retried in a thread that may wait, so the
  event loop is never blocked on a lock.
- **PostgreSQL** (decision 0080): every round trip costs the server CPU on the same cores, so
  a read is one statement wherever it can be (a customer with its attributes and addresses
  comes as one row, the related rows as arrays of records: :func:`rows_of`), sent to asyncpg
  directly (its statement cache: parsed once per connection), outside any transaction (a single
  statement is its own snapshot). The connections are opened by an engine of their own,
  read-only (``default_transaction_read_only``), and then kept by the reads themselves (at
  most the engine's pool size, no overflow; decision 0083), without a ping before each use (a
  connection the server closed is retried once on a new one, and every connection as old is
  replaced); their row-level security tenant is a session setting, sent only when the
  connection's differs (``scoping.bind_session_tenant``). A connection on which anything but
  an SQL error happened (a lost connection, a cancelled request) is discarded, so its setting
  is never in doubt. The driver is awaited directly, without SQLAlchemy's pool or greenlet:
  a read function runs again with each statement's rows (:class:`_PostgresReads`).

Every statement is checked by the tenant guard (``scoping.check_scoped``) and bound to the
tenant by it; writes never come here.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
from collections import namedtuple
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, String, bindparam, func, select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import MissingGreenlet
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import UserDefinedType
from sqlalchemy.util import await_only, greenlet_spawn

from boxoffice.store.models import (
    ApiUser,
    AttributeDefinition,
    ConsentChange,
    Customer,
    CustomerAddress,
    CustomerAttributeValue,
    CustomerConsent,
    CustomerSession,
    DeviceToken,
    InterfaceUser,
    Language,
    Statement,
)
from boxoffice.store.repositories import storable
from boxoffice.store.scoping import ScopedConnection, bind_session_tenant, of_tenant

T = TypeVar("T")
Read = Callable[[ScopedConnection], T]

#: How long a thread-run SQLite read may wait for a lock (the event loop never waits).
_THREAD_BUSY_SECONDS = 30.0


class _Rows(UserDefinedType[list[Any]]):
    """The type of :func:`rows_of`'s column: PostgreSQL's ``record[]``, read as a list of rows
    of the subquery's columns (with their own conversions, like a statement's)."""

    cache_ok = False  # holds a statement; compiled once anyway

    def __init__(self, stmt: Select[Any]) -> None:
        self.stmt = stmt

    def get_col_spec(self, **_kw: Any) -> str:
        return "record[]"


def rows_of(stmt: Select[Any]) -> ColumnElement[list[Any]]:
    """``array((SELECT row(<stmt's columns>) ...))``: the rows of ``stmt`` (usually correlated to
    the enclosing statement's row) in one column of it, so that one statement reads a row and
    its related rows (PostgreSQL only; an empty list when there are none). Each ``SELECT``
    filters its tenant-owned tables itself (``scoping.check_scoped``)."""
    nested = stmt.with_only_columns(func.row(*stmt.selected_columns))
    return func.array(nested.scalar_subquery(), type_=_Rows(stmt))


class _Compiled:
    """A prebuilt statement compiled once for a dialect: its SQL, the order of its parameters,
    their bind conversions and the result conversions of its columns (SQLAlchemy's own, from
    the column types), so that the driver can run it without SQLAlchemy's per-call work."""

    def __init__(self, stmt: Select[Any], dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.compiled = compiled
        self.sql = compiled.string
        self.order = tuple(compiled.positiontup or ())
        self.binds = {
            name: compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in self.order
        }
        #: Per positional parameter: its name, whether its value is the statement's own (a
        #: literal: then converted here, once), that value, and the conversion of a given one.
        self.plan: list[tuple[str, bool, Any, Callable[[Any], Any] | None]] = []
        for name in self.order:
            bind, convert = compiled.binds[name], self.binds[name]
            fixed = not bind.required and bind.callable is None
            value = None
            if fixed:
                value = bind.value if convert is None else convert(bind.value)
            self.plan.append((name, fixed, value, convert))
        columns = list(stmt.selected_columns)
        self.columns = columns
        self.dialect = dialect
        #: Set by :meth:`typed` before the first rows are read.
        self.processors: list[Any] | None = None
        self.converted: list[tuple[int, Callable[[Any], Any]]] = []
        self.row: Callable[..., Any] = namedtuple("row", [c.key for c in columns])  # type: ignore[misc]
        #: A row from a sequence of its values, in C (``tuple.__new__``): the namedtuple's own
        #: ``__new__`` is a Python function, a frame per row. The values always number the
        #: columns (they come from this statement).
        self.make: Callable[[Sequence[Any]], Any] = functools.partial(tuple.__new__, self.row)

    def typed(
        self,
        coltypes: Sequence[Any],
        nested: Callable[[_Compiled], Sequence[Any]] | None = None,
    ) -> None:
        """Result conversions for the driver's own column types (PostgreSQL's type oids,
        which some conversions depend on); ``nested(compiled)`` gives those of a
        :func:`rows_of` column's subquery."""
        dialect = self.dialect
        processors: list[Any] = []
        for column, coltype in zip(self.columns, coltypes, strict=True):
            if isinstance(column.type, _Rows):
                assert nested is not None, "rows_of() columns are read on PostgreSQL only"
                inner = _Compiled(column.type.stmt, dialect)
                inner.typed(nested(inner), nested)
                processors.append(inner.rows)
            else:
                processors.append(
                    column.type.dialect_impl(dialect).result_processor(dialect, coltype)
                )
        self.processors = processors
        #: Only the columns that have a conversion, with their positions.
        self.converted = [(i, f) for i, f in enumerate(self.processors) if f is not None]

    def parameters(self, params: dict[str, Any]) -> list[Any]:
        """The driver's positional parameters: ``params`` by name, and the statement's own
        fixed values (literals bound by SQLAlchemy), converted once."""
        out = []
        for name, fixed, value, convert in self.plan:
            if not fixed:
                value = params[name]
                if convert is not None:
                    value = convert(value)
            out.append(value)
        return out

    def rows(self, found: Iterable[Sequence[Any]]) -> list[Any]:
        assert self.processors is not None
        make, converted = self.make, self.converted
        if not converted:
            return list(map(make, found))
        out = []
        for raw in found:
            values = list(raw)
            for i, convert in converted:
                values[i] = convert(values[i])
            out.append(make(values))
        return out


class _Statements:
    """Prebuilt statements compiled for one dialect, each once."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.compiled: dict[int, _Compiled] = {}
        #: Statements sent so far (counted for the per-request benchmark).
        self.sent = 0

    def get(self, stmt: Select[Any]) -> _Compiled:
        self.sent += 1
        found = self.compiled.get(id(stmt))
        if found is None or found.compiled.statement is not stmt:
            found = _Compiled(stmt, self.dialect)
            if self.dialect.name != "postgresql":  # conversions that need no column types
                found.typed([None] * len(found.columns))
            self.compiled[id(stmt)] = found
        return found


class _SqliteReads:
    """Read-only ``sqlite3`` connections to the application's database file: one per thread
    (the event loop's is used inline), never waiting for a lock on the event loop."""

    def __init__(self, path: str, dialect: Dialect) -> None:
        self.path = path
        self.dialect = dialect
        self.local = threading.local()
        self.opened: list[sqlite3.Connection] = []
        self.statements = _Statements(dialect)
        self.lock = threading.Lock()

    def connection(self, wait: float) -> sqlite3.Connection:
        key = f"c{wait}"
        found: sqlite3.Connection | None = getattr(self.local, key, None)
        if found is None:
            found = sqlite3.connect(
                self.path, timeout=wait, isolation_level=None, check_same_thread=False
            )
            found.execute("PRAGMA query_only=1")
            found.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
            setattr(self.local, key, found)
            with self.lock:
                self.opened.append(found)
        return found

    def run(self, tenant_id: int, read: Read[T], wait: float) -> T:
        connection = self.connection(wait)

        def execute(stmt: Select[Any], params: dict[str, Any]) -> Sequence[Any]:
            compiled = self.statements.get(stmt)
            cursor = connection.execute(compiled.sql, compiled.parameters(params))
            return compiled.rows(cursor.fetchall())

        connection.execute("BEGIN")  # one snapshot for the whole read
        try:
            return read(ScopedConnection(execute, tenant_id, connection, "sqlite"))
        finally:
            if connection.in_transaction:
                connection.execute("ROLLBACK")

    def close(self) -> None:
        with self.lock:
            for connection in self.opened:
                connection.close()
            self.opened.clear()


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class _Discard(Exception):
    """The read's connection is in doubt (see :meth:`_PostgresReads.attempt`); ``lost``: the
    driver found it closed."""

    def __init__(self, cause: BaseException, lost: bool) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.lost = lost


class _Unanswered(BaseException):
    """A PostgreSQL read asked for the rows of a statement not sent yet: raised through the
    read function (a ``BaseException``: no ``except Exception`` of a read stops it), which runs
    again once they are there (:meth:`_PostgresReads.answer`)."""

    def __init__(self, stmt: Select[Any], params: dict[str, Any]) -> None:
        self.stmt = stmt
        self.params = params


@dataclass(eq=False)
class _Held:
    """A server connection the reads keep: the driver's, what its session names (``info``,
    :func:`~boxoffice.store.scoping.bind_session_tenant`), and the generation it was opened in
    (:meth:`_Connections.lost`)."""

    driver: Any
    generation: int
    info: dict[Any, Any]


class _Connections:
    """At most ``size`` server connections for the reads, no more whatever the burst (a read
    holds one for well under a millisecond: the next waits for it rather than opening and
    closing one more), the last given back used first. SQLAlchemy opens each (through the
    reads' engine: its dialect's set-up of the driver, the role switch of ``store/db.py``)
    and lets go of it (``detach``): a read then costs no pool checkout, checkin or reset, and
    no greenlet switch to wait for a connection. A queue of ``size`` places, each empty or a
    connection, is the bound."""

    def __init__(self, engine: AsyncEngine, size: int) -> None:
        self.engine = engine
        self.places: asyncio.LifoQueue[_Held | None] = asyncio.LifoQueue()
        for _ in range(size):
            self.places.put_nowait(None)
        #: Connections opened in an earlier generation are closed, not used (:meth:`lost`).
        self.generation = 0

    async def take(self) -> _Held:
        places = self.places
        while True:
            held = places.get_nowait() if places.qsize() else await places.get()
            if held is not None and held.generation == self.generation:
                return held
            if held is not None:  # as old as one the server closed: closed too
                held.driver.terminate()
            try:
                return await self.open()
            except BaseException:
                places.put_nowait(None)
                raise

    async def open(self) -> _Held:
        fairy = await self.engine.raw_connection()
        try:
            driver = fairy.driver_connection
        finally:
            fairy.detach()  # ours from now on: SQLAlchemy's pool forgets it
        return _Held(driver, self.generation, {})

    def give_back(self, held: _Held) -> None:
        if held.generation == self.generation:
            self.places.put_nowait(held)
        else:  # as old as one the server closed meanwhile, or the reads were disposed of
            self.discard(held)

    def discard(self, held: _Held) -> None:
        """A connection in doubt: closed at once, its place free for a new one."""
        held.driver.terminate()
        self.places.put_nowait(None)

    def lost(self, held: _Held) -> None:
        """The server closed ``held`` (a restart, an idle timeout): so it may have closed every
        connection opened before; each is replaced when next taken."""
        self.generation = max(self.generation, held.generation + 1)
        self.discard(held)

    async def close(self) -> None:
        """Closes the idle connections; one given back later is closed then."""
        self.generation += 1
        found = []
        while self.places.qsize():
            found.append(self.places.get_nowait())
        for held in found:
            if held is not None:
                try:
                    await held.driver.close(timeout=2)
                except Exception:
                    held.driver.terminate()
            self.places.put_nowait(None)


class _PostgresReads:
    """Reads on asyncpg connections of their own (module docstring), awaiting the driver
    directly: a read function is synchronous, so it runs without its rows first; the first
    statement it asks for stops it (:class:`_Unanswered`), is sent, and the read runs again
    from the start with that statement's rows, until it returns. A read of one statement
    thus runs its Python twice (microseconds) instead of in SQLAlchemy's greenlet (a switch
    out and back per statement, tens of microseconds). A read must therefore ask for the same
    statements whenever it runs with the same rows (every read here does: they are functions
    of their rows); one that awaits the driver itself (through ``ScopedConnection.raw``, as
    tests do) runs in SQLAlchemy's greenlet instead."""

    def __init__(self, engine: AsyncEngine) -> None:
        import asyncpg  # type: ignore[import-untyped]

        self.engine = engine
        self.statements = _Statements(engine.dialect)
        self.connections = _Connections(engine, engine.sync_engine.pool.size())  # type: ignore[attr-defined]
        #: Messages to the server that wait for its answer: statements, tenant settings and
        #: the one-time ``prepare`` of a statement's column types.
        self.round_trips = 0
        self.sql_error = asyncpg.PostgresError

    async def run(self, tenant_id: int, read: Read[T]) -> T:
        try:
            return await self.attempt(tenant_id, read)
        except _Discard as doubt:
            if not doubt.lost:
                raise doubt.cause from None
        # The server closed that connection (a restart, an idle timeout): it is gone, and
        # every connection as old is replaced when next taken; one new attempt.
        try:
            return await self.attempt(tenant_id, read)
        except _Discard as doubt:
            raise doubt.cause from None

    async def attempt(self, tenant_id: int, read: Read[T]) -> T:
        """One read on one connection. An SQL error leaves the connection as it was (a
        statement outside a transaction is undone whole); anything else raised by the driver
        or while it was awaited (a lost connection, a cancelled request), or any error of the
        tenant setting, puts the connection in doubt: it is discarded (and, when it was lost,
        every connection as old)."""
        connections = self.connections
        held = await connections.take()
        try:
            sends: list[tuple[str, str]] = []
            # Remembered before it is sent: should the sending fail, the connection is
            # discarded with what it remembers.
            bind_session_tenant(
                held.info, tenant_id, lambda sql, tenant: sends.append((sql, tenant))
            )
            for sql, tenant in sends:
                await self.call(held, held.driver.fetch(sql, tenant), setting=True)
            result = await self.answer(held, tenant_id, read)
        except _Discard as doubt:
            (connections.lost if doubt.lost else connections.discard)(held)
            raise
        except BaseException:
            connections.give_back(held)  # the read's own error: nothing in flight
            raise
        connections.give_back(held)
        return result

    async def answer(self, held: _Held, tenant_id: int, read: Read[T]) -> T:
        """Runs ``read`` again and again, each time with one more statement's rows, until it
        needs none it does not have."""
        answered: list[tuple[Select[Any], dict[str, Any], Sequence[Any]]] = []

        def execute(stmt: Select[Any], params: dict[str, Any]) -> Sequence[Any]:
            index = len(asked)
            asked.append(stmt)
            if index == len(answered):
                raise _Unanswered(stmt, params)
            sent, sent_params, rows = answered[index]
            if sent is not stmt or sent_params != params:
                raise RuntimeError("a PostgreSQL read must ask for the same statements again")
            return rows

        while True:
            asked: list[Select[Any]] = []
            try:
                return read(ScopedConnection(execute, tenant_id, held.driver, "postgresql"))
            except _Unanswered as missing:
                rows = await self.fetch(held, missing.stmt, missing.params)
                answered.append((missing.stmt, missing.params, rows))
            except MissingGreenlet:  # the read awaits the driver itself
                return await greenlet_spawn(self.in_greenlet, held, tenant_id, read)

    def in_greenlet(self, held: _Held, tenant_id: int, read: Read[T]) -> T:
        """``read`` in SQLAlchemy's greenlet, its statements sent as it asks for them. What it
        awaits itself is not told apart from its own Python: anything but an SQL error puts
        the connection in doubt."""

        def execute(stmt: Select[Any], params: dict[str, Any]) -> Sequence[Any]:
            return await_only(self.fetch(held, stmt, params))

        try:
            return read(ScopedConnection(execute, tenant_id, held.driver, "postgresql"))
        except (_Discard, self.sql_error):
            raise
        except BaseException as exc:
            raise _Discard(exc, held.driver.is_closed()) from exc

    async def fetch(self, held: _Held, stmt: Select[Any], params: dict[str, Any]) -> Sequence[Any]:
        compiled = self.statements.get(stmt)
        if compiled.processors is None:  # first use: the conversions need the column types
            types: dict[str, list[Any]] = {}
            await self.coltypes(held, compiled, types)
            compiled.typed(types[compiled.sql], lambda inner: types[inner.sql])
        found = await self.call(held, held.driver.fetch(compiled.sql, *compiled.parameters(params)))
        return compiled.rows(found)

    async def coltypes(self, held: _Held, compiled: _Compiled, types: dict[str, list[Any]]) -> None:
        """The driver's column types of ``compiled`` and of its :func:`rows_of` subqueries."""
        prepared = await self.call(held, held.driver.prepare(compiled.sql))
        types[compiled.sql] = [a.type.oid for a in prepared.get_attributes()]
        for column in compiled.columns:
            if isinstance(column.type, _Rows):
                await self.coltypes(held, _Compiled(column.type.stmt, compiled.dialect), types)

    async def call(self, held: _Held, awaitable: Any, setting: bool = False) -> Any:
        self.round_trips += 1
        try:
            return await awaitable
        except self.sql_error as exc:
            if setting:  # undone with its statement; discarded all the same
                raise _Discard(exc, held.driver.is_closed()) from exc
            raise
        except BaseException as exc:
            raise _Discard(exc, held.driver.is_closed()) from exc

    async def dispose(self) -> None:
        await self.connections.close()


class Reads:
    """Runs read functions for a tenant (see the module's docstring)."""

    def __init__(self, engine: AsyncEngine, server_engine: AsyncEngine | None = None) -> None:
        """``engine``: the application's; ``server_engine``: one for the reads alone (required
        on PostgreSQL: its connections keep a tenant in their session, decision 0080)."""
        self._engine = server_engine or engine
        self._own = server_engine
        self._statements = _Statements(self._engine.dialect)
        self._sqlite: _SqliteReads | None = None
        self._postgres: _PostgresReads | None = None
        url = engine.url
        if url.get_backend_name() == "sqlite":
            database = url.database or ""
            if database and database != ":memory:":
                self._sqlite = _SqliteReads(database, engine.dialect)
        elif url.get_backend_name() == "postgresql":
            if server_engine is None:
                raise ValueError("PostgreSQL reads need an engine of their own")
            self._postgres = _PostgresReads(server_engine)

    async def run(self, tenant_id: int, read: Read[T]) -> T:
        """``read`` on the tenant's rows: on SQLite one snapshot for all of it; on PostgreSQL
        one per statement (as at ``READ COMMITTED`` in a transaction), so related rows that must
        agree are read in one statement."""
        if self._sqlite is not None:
            try:
                return _run_sqlite(self._sqlite, tenant_id, read, 0.0)
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    raise
            return await asyncio.to_thread(
                _run_sqlite, self._sqlite, tenant_id, read, _THREAD_BUSY_SECONDS
            )
        if self._postgres is not None:
            return await self._postgres.run(tenant_id, read)
        async with self._engine.connect() as connection:  # SQLite in memory
            return await connection.run_sync(_run_in_transaction, tenant_id, read, self._statements)

    @property
    def sent(self) -> int:
        """How many statements the reads have sent so far (their SELECTs; not SQLite's
        ``BEGIN`` and ``ROLLBACK``, nor PostgreSQL's tenant setting)."""
        own = self._sqlite.statements.sent if self._sqlite is not None else 0
        own += self._postgres.statements.sent if self._postgres is not None else 0
        return own + self._statements.sent

    @property
    def round_trips(self) -> int:
        """PostgreSQL: how many messages the reads have sent the server and waited for (their
        statements, tenant settings and first ``prepare`` of each statement); 0 elsewhere."""
        return self._postgres.round_trips if self._postgres is not None else 0

    async def dispose(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
        if self._postgres is not None:
            await self._postgres.dispose()
        if self._own is not None:
            await self._own.dispose()


def _run_sqlite(reads: _SqliteReads, tenant_id: int, read: Read[T], wait: float) -> T:
    return reads.run(tenant_id, read, wait)


def _run_in_transaction(
    connection: Connection, tenant_id: int, read: Read[T], statements: _Statements
) -> T:
    """A SQLite database in memory has no second connection: the reads go through the
    application's engine, in SQLAlchemy's greenlet (``run_sync``), in one transaction."""

    def execute(stmt: Select[Any], params: dict[str, Any]) -> Sequence[Any]:
        statements.sent += 1
        return connection.execute(stmt, params).all()

    with connection.begin() as transaction:
        try:
            return read(ScopedConnection(execute, tenant_id, connection, connection.dialect.name))
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


# PostgreSQL: the customer and its related rows in one statement, one row (decision 0080).
_VALUES_OF_ROW = select(_values.c.attribute_id, _values.c.value).where(
    of_tenant(CustomerAttributeValue, Customer), _values.c.customer_id == _customers.c.id
)
_ADDRESSES_OF_ROW = (
    select(_addresses)
    .where(of_tenant(CustomerAddress, Customer), _addresses.c.customer_id == _customers.c.id)
    .order_by(_addresses.c.created_at, _addresses.c.id)
)
_WHOLE = (
    rows_of(_ATTRIBUTES).label("whole_attributes"),
    rows_of(_VALUES_OF_ROW).label("whole_values"),
    rows_of(_ADDRESSES_OF_ROW).label("whole_addresses"),
)
_WHOLE_CUSTOMER_BY_ID = _CUSTOMER_BY_ID.add_columns(*_WHOLE)
_WHOLE_CUSTOMER_BY_EMAIL_KEY = _CUSTOMER_BY_EMAIL_KEY.add_columns(*_WHOLE)
_CUSTOMER_COLUMNS = len(_customers.c)
_CustomerRow: Callable[..., Any] = namedtuple(  # type: ignore[misc]
    "row", [c.key for c in _customers.c]
)


@dataclass(frozen=True)
class CustomerRecord:
    """A customer's row with what every view of it shows: the tenant's attribute definitions,
    the customer's attribute values and addresses (rows with the columns' names)."""

    customer: Any
    attributes: Sequence[Any]
    values: Sequence[Any]
    addresses: Sequence[Any]


def _record(connection: ScopedConnection, row: Any | None) -> CustomerRecord | None:
    if row is None:
        return None
    key = {"customer": row.id}
    return CustomerRecord(
        row,
        connection.rows(_ATTRIBUTES),
        connection.rows(_ATTRIBUTE_VALUES, key),
        connection.rows(_ADDRESSES, key),
    )


def _whole_record(row: Any | None) -> CustomerRecord | None:
    if row is None:
        return None
    customer = _CustomerRow(*row[:_CUSTOMER_COLUMNS])
    return CustomerRecord(customer, row.whole_attributes, row.whole_values, row.whole_addresses)


def customer_by_id(customer_id: int) -> Read[CustomerRecord | None]:
    def read(connection: ScopedConnection) -> CustomerRecord | None:
        if connection.dialect == "postgresql":
            return _whole_record(connection.first(_WHOLE_CUSTOMER_BY_ID, {"key": customer_id}))
        return _record(connection, connection.first(_CUSTOMER_BY_ID, {"key": customer_id}))

    return read


def customer_by_email_key(email_key: str) -> Read[CustomerRecord | None]:
    def read(connection: ScopedConnection) -> CustomerRecord | None:
        if not storable(email_key):
            return None
        key = {"email_key": email_key}
        if connection.dialect == "postgresql":
            return _whole_record(connection.first(_WHOLE_CUSTOMER_BY_EMAIL_KEY, key))
        return _record(connection, connection.first(_CUSTOMER_BY_EMAIL_KEY, key))

    return read


def api_user_secret(login: str) -> Read[bytes | None]:
    """The encrypted secret of an enabled API user, or None."""

    def read(connection: ScopedConnection) -> bytes | None:
        if not storable(login):
            return None
        row = connection.first(_API_USER, {"login": login})
        return None if row is None or row.disabled else bytes(row.secret_encrypted)

    return read


# --- customer sessions and device tokens (decision 0085) -------------------------------------

_sessions = CustomerSession.__table__
_SESSION = select(_sessions.c.customer_id, _sessions.c.last_seen_at, _sessions.c.expires_at).where(
    of_tenant(CustomerSession), _sessions.c.token_hash == bindparam("hash")
)


def customer_session(hashed: str) -> Read[Any | None]:
    """A web session by the SHA-256 of its token: ``customer_id``, ``last_seen_at``,
    ``expires_at``, or None. Expiry and the last-seen time are the caller's to judge and to
    write (``session_store.DatabaseSessions``)."""

    def read(connection: ScopedConnection) -> Any | None:
        if not storable(hashed):
            return None
        return connection.first(_SESSION, {"hash": hashed})

    return read


_tokens = DeviceToken.__table__
_TOKEN = select(_tokens).where(of_tenant(DeviceToken), _tokens.c.token_hash == bindparam("hash"))
_interface_users = InterfaceUser.__table__
_INTERFACE_USER = select(_interface_users.c.disabled).where(
    of_tenant(InterfaceUser), _interface_users.c.user_name == bindparam("user")
)
_ACTIVE_CUSTOMER = select(_customers.c.id).where(
    of_tenant(Customer), _customers.c.id == bindparam("key"), _customers.c.state == "active"
)


# PostgreSQL: the token with its user's and customer's state in one statement (decision 0080).
_TOKEN_WHOLE = select(
    _tokens,
    select(_interface_users.c.disabled)
    .where(
        of_tenant(InterfaceUser, DeviceToken),
        _interface_users.c.user_name
        == func.coalesce(bindparam("user", type_=String), _tokens.c.user_name),
    )
    .scalar_subquery()
    .label("whole_user_disabled"),
    select(_customers.c.id)
    .where(
        of_tenant(Customer, DeviceToken),
        _customers.c.id == _tokens.c.customer_id,
        _customers.c.state == "active",
    )
    .scalar_subquery()
    .label("whole_active_customer"),
).where(of_tenant(DeviceToken), _tokens.c.token_hash == bindparam("hash"))
_TOKEN_COLUMNS = len(_tokens.c)
_TokenRow: Callable[..., Any] = namedtuple("row", [c.key for c in _tokens.c])  # type: ignore[misc]


@dataclass(frozen=True)
class TokenRecord:
    """A device token's row, whether the interface user checked (the one named, else the
    token's own) exists and is enabled (False when there is none to check), and whether the
    customer logged in on the token is still an active customer."""

    token: Any
    user_usable: bool
    customer_active: bool


def device_token(hashed: str, user_name: str | None) -> Read[TokenRecord | None]:
    """A presented token (by its SHA-256) for ``devices.authenticate_token``, with its
    interface user's and its customer's state: on PostgreSQL one statement (correlated
    subqueries, each filtering its own tenant); on SQLite up to three key lookups."""

    def read(connection: ScopedConnection) -> TokenRecord | None:
        if not storable(hashed):
            return None
        if connection.dialect == "postgresql" and (user_name is None or storable(user_name)):
            whole = connection.first(_TOKEN_WHOLE, {"hash": hashed, "user": user_name})
            if whole is None:
                return None
            token: Any = _TokenRow(*whole[:_TOKEN_COLUMNS])
            checked = user_name if user_name is not None else token.user_name
            disabled = whole.whole_user_disabled
            usable = checked is not None and disabled is not None and not disabled
            return TokenRecord(token, usable, whole.whole_active_customer is not None)
        row = connection.first(_TOKEN, {"hash": hashed})
        if row is None:
            return None
        checked = user_name if user_name is not None else row.user_name
        usable = False
        if checked is not None and storable(checked):
            user = connection.first(_INTERFACE_USER, {"user": checked})
            usable = user is not None and not user.disabled
        active = False
        if row.customer_id is not None:
            active = connection.first(_ACTIVE_CUSTOMER, {"key": row.customer_id}) is not None
        return TokenRecord(row, usable, active)

    return read


# --- CareCloud profiles ------------------------------------------------------------------------

_consents = CustomerConsent.__table__
_CONSENTS = (
    select(_consents.c.statement_id, _consents.c.agreed_at)
    .where(of_tenant(CustomerConsent), _consents.c.customer_id == bindparam("customer"))
    .order_by(_consents.c.agreed_at, _consents.c.statement_id)
)
_changes = ConsentChange.__table__
_CONSENT_CHANGES = (
    select(_changes.c.statement_id, _changes.c.occurred_at)
    .where(of_tenant(ConsentChange), _changes.c.customer_id == bindparam("customer"))
    .order_by(_changes.c.occurred_at, _changes.c.id)
)
_statements = Statement.__table__
_STATEMENTS = (
    select(_statements.c.id, _statements.c.code)
    .where(of_tenant(Statement))
    .order_by(_statements.c.position, _statements.c.id)
)
_languages = Language.__table__
_LANGUAGES = (
    select(_languages.c.code, _languages.c.is_default)
    .where(of_tenant(Language))
    .order_by(_languages.c.tenant_id, _languages.c.code)
)


# PostgreSQL: the profile in one statement, like a customer (decision 0080).
_CONSENTS_OF_ROW = (
    select(_consents.c.statement_id, _consents.c.agreed_at)
    .where(of_tenant(CustomerConsent, Customer), _consents.c.customer_id == _customers.c.id)
    .order_by(_consents.c.agreed_at, _consents.c.statement_id)
)
_CONSENT_CHANGES_OF_ROW = (
    select(_changes.c.statement_id, _changes.c.occurred_at)
    .where(of_tenant(ConsentChange, Customer), _changes.c.customer_id == _customers.c.id)
    .order_by(_changes.c.occurred_at, _changes.c.id)
)
_WHOLE_PROFILE_BY_ID = _WHOLE_CUSTOMER_BY_ID.add_columns(
    rows_of(_CONSENTS_OF_ROW).label("whole_consents"),
    rows_of(_CONSENT_CHANGES_OF_ROW).label("whole_changes"),
    rows_of(_STATEMENTS).label("whole_statements"),
    rows_of(_LANGUAGES).label("whole_languages"),
)


@dataclass(frozen=True)
class ProfileRecord:
    """A customer with what a CareCloud profile shows besides: agreed statements, the
    history of consent changes and the tenant's statements, and the tenant's languages to
    answer in (rows with the columns' names)."""

    record: CustomerRecord
    consents: Sequence[Any]
    changes: Sequence[Any]
    statements: Sequence[Any]
    languages: Sequence[Any]


def profile_by_id(customer_id: int) -> Read[ProfileRecord | None]:
    def read(connection: ScopedConnection) -> ProfileRecord | None:
        if connection.dialect == "postgresql":
            row = connection.first(_WHOLE_PROFILE_BY_ID, {"key": customer_id})
            whole = _whole_record(row)
            if row is None or whole is None:
                return None
            return ProfileRecord(
                whole,
                row.whole_consents,
                row.whole_changes,
                row.whole_statements,
                row.whole_languages,
            )
        record = _record(connection, connection.first(_CUSTOMER_BY_ID, {"key": customer_id}))
        if record is None:
            return None
        key = {"customer": customer_id}
        return ProfileRecord(
            record,
            connection.rows(_CONSENTS, key),
            connection.rows(_CONSENT_CHANGES, key),
            connection.rows(_STATEMENTS),
            languages(connection),
        )

    return read


def languages(connection: ScopedConnection) -> Sequence[Any]:
    """The tenant's languages (``code``, ``is_default``), in the order of their codes."""
    return connection.rows(_LANGUAGES)
