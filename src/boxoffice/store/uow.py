"""The unit of work: one transaction, opened for one tenant (or explicitly for none).

Every request reaches the database through a unit of work (decision 0113): :class:`UnitOfWork`
(the ORM session, for whatever writes or needs the model's objects) or :class:`ReadUnitOfWork`
(a tenant's key lookups by Core statements, ``store/lookups.py``, for requests that only read).
Both are covered by the tenant guard (``store/scoping.py``): the ORM's statements by its session
hook, Core statements by :meth:`UnitOfWork.rows` / :meth:`ReadUnitOfWork.rows`, which check each
one and bind its tenant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from sqlalchemy import Select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from boxoffice.store.audit import write_pending
from boxoffice.store.db import ALONE_OPTION, WRITE_OPTION
from boxoffice.store.inline_sqlite import busy
from boxoffice.store.lookups import Lookups
from boxoffice.store.repositories import Catalogue, Customers, Operators
from boxoffice.store.scoping import (
    SET_SESSION_TENANT,
    TENANT_KEY,
    UnscopedQueryError,
    bind_session_tenant,
    scoped_parameters,
)
from boxoffice.store.write_gate import WriteGate


class UnitOfWork:
    """``async with uow:`` opens the transaction; ``commit()`` makes it last.

    Leaving the block without ``commit()`` rolls everything back, so a refused request writes
    nothing. Repositories are bound to the tenant here and never take a tenant argument.
    """

    session: AsyncSession
    customers: Customers
    catalogue: Catalogue
    operators: Operators
    lookups: Lookups

    def __init__(
        self,
        sessions: async_sessionmaker[Any],
        tenant_id: int | None,
        *,
        write: bool = False,
        gate: WriteGate | None = None,
    ) -> None:
        self._sessions = sessions
        self.tenant_id = tenant_id
        self.write = write
        #: SQLite's writers' queue (``store/write_gate.py``), passed by writing units of work.
        self._gate = gate if write else None
        self._through = False

    async def __aenter__(self) -> UnitOfWork:
        if self._gate is not None:
            self._through = await self._gate.enter()
        self.session = self._sessions()
        self.session.info[TENANT_KEY] = self.tenant_id
        if self.write:
            try:
                await self.session.connection(execution_options={WRITE_OPTION: True})
            except BaseException:
                await self.session.close()
                self._leave()
                raise
        self.customers = Customers(self.session)
        self.catalogue = Catalogue(self.session)
        self.operators = Operators(self.session)
        self.lookups = Lookups(self)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Closing rolls back whatever was not committed (without expiring loaded rows).
        try:
            await self.session.close()
        finally:
            self._leave()

    def _leave(self) -> None:
        if self._through and self._gate is not None:
            self._through = False
            self._gate.leave()

    async def commit(self) -> None:
        """Commit, with the audit entries of what was written (see ``store/audit.py``)."""
        await self.session.flush()
        await write_pending(self.session, self.tenant_id)
        await self.session.commit()

    async def flush(self) -> None:
        await self.session.flush()

    async def savepoint(self) -> Any:
        return self.session.begin_nested()

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    async def rows(
        self, stmt: Select[Any], params: Mapping[str, Any] | None = None
    ) -> Sequence[Any]:
        """A Core read's rows, in this transaction: checked by the tenant guard and bound to
        this unit of work's tenant (``scoping.scoped_parameters``)."""
        bound = scoped_parameters(stmt, params, self.tenant_id)
        connection = await self.session.connection()
        found: Sequence[Any] = (await connection.execute(stmt, bound)).all()
        return found

    async def first(self, stmt: Select[Any], params: Mapping[str, Any] | None = None) -> Any:
        found = await self.rows(stmt, params)
        return found[0] if found else None


class ReadConnections:
    """The connections kept by a process's read-only units of work between requests
    (``Core.read``): a unit of work takes one (or opens one when none is free) and gives it back
    when it ends, so a request pays neither a pool checkout nor a new SQLAlchemy
    ``Connection`` (about 30 us of CPU each time). A connection is one unit of work's at a
    time, so two in flight at once (one waiting for SQLite in a thread, or for PostgreSQL)
    never share one; at most :attr:`keep` are kept, the others go back to the pool."""

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self._free: list[AsyncConnection] = []

    def take(self) -> AsyncConnection | None:
        return self._free.pop() if self._free else None

    async def give(self, connection: AsyncConnection) -> None:
        if len(self._free) < self.keep and not connection.closed:
            self._free.append(connection)
        else:
            await connection.close()

    async def close(self) -> None:
        """Back to their pool, before the engine is disposed (``Core.dispose``)."""
        while self._free:
            await self._free.pop().close()


class ReadUnitOfWork:
    """``async with core.read(tenant_id) as uow:`` a tenant's key lookups (``uow.lookups``),
    without the ORM: for a request that only reads.

    Each statement alone, on both databases: no ``BEGIN``, no ``COMMIT`` or ``ROLLBACK``, so
    related rows that must agree are read in one statement (``lookups.rows_of``). SQLite: a
    connection of the application's engine, each statement its own snapshot (no ``BEGIN``:
    :data:`~boxoffice.store.db.ALONE_OPTION`), run by the driver on the event loop
    (``store/inline_sqlite.py``). PostgreSQL (decision 0080): a connection of the read-only
    engine in ``AUTOCOMMIT``, its row-level security tenant a session setting sent only when
    the connection's names another (``scoping.bind_session_tenant``); that engine does not
    ping a connection before lending it, so a statement that finds its connection closed by
    the server (a restart, an idle timeout) is sent once more on a new one (a statement alone
    can be: it was its own transaction). The connection comes from ``kept``
    (:class:`ReadConnections`) when the unit of work has one, and goes back to it.
    """

    lookups: Lookups

    def __init__(
        self, engine: AsyncEngine, tenant_id: int, kept: ReadConnections | None = None
    ) -> None:
        if type(tenant_id) is not int:
            raise UnscopedQueryError("a read-only unit of work needs an integer tenant")
        self._engine = engine
        self._kept = kept
        self.tenant_id = tenant_id
        self.dialect = engine.dialect.name
        self._connection: AsyncConnection | None = None
        self.lookups = Lookups(self)

    async def __aenter__(self) -> ReadUnitOfWork:
        self._connection = await self._connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._connection is None:
            return
        connection, self._connection = self._connection, None
        if self._kept is not None and exc_type is None:
            # Nothing to roll back: its statements ran alone.
            await self._kept.give(connection)
        else:
            await connection.close()

    async def _connect(self, *, fresh: bool = False) -> AsyncConnection:
        connection = self._kept.take() if self._kept is not None and not fresh else None
        if connection is None:
            connection = await self._engine.connect()
            if self.dialect == "sqlite":
                await connection.execution_options(**{ALONE_OPTION: True})
        if self.dialect != "postgresql":
            return connection
        try:

            async def send(tenant: str) -> None:
                await connection.execute(SET_SESSION_TENANT, {"tenant": tenant})

            await bind_session_tenant(connection.info, self.tenant_id, send)
        except BaseException:
            await connection.close()
            raise
        return connection

    async def rows(
        self, stmt: Select[Any], params: Mapping[str, Any] | None = None
    ) -> Sequence[Any]:
        """A Core read's rows: checked by the tenant guard and bound to this unit of work's
        tenant (``scoping.scoped_parameters``)."""
        bound = scoped_parameters(stmt, params, self.tenant_id)
        connection = self._connection
        if connection is None:
            raise RuntimeError("a read-only unit of work is used inside its `async with` block")
        found: Sequence[Any]
        if self.dialect == "sqlite":
            # The driver runs SQLite inline and awaits nothing (``store/inline_sqlite.py``):
            # the statement runs on SQLAlchemy's synchronous connection, without a greenlet.
            try:
                found = connection.sync_connection.execute(stmt, bound).all()  # type: ignore[union-attr]
                return found
            except OperationalError as exc:
                if exc.orig is None or not busy(exc.orig):
                    raise
            # SQLite is busy: the statement again, in the greenlet, where it may wait.
            found = (await connection.execute(stmt, bound)).all()
            return found
        try:
            found = (await connection.execute(stmt, bound)).all()
            return found
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        # The server closed that connection; SQLAlchemy has replaced it and every one as old.
        self._connection = None
        await connection.close()
        self._connection = connection = await self._connect(fresh=True)
        found = (await connection.execute(stmt, bound)).all()
        return found

    async def first(self, stmt: Select[Any], params: Mapping[str, Any] | None = None) -> Any:
        found = await self.rows(stmt, params)
        return found[0] if found else None
