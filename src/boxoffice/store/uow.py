"""The unit of work: one transaction, opened for one tenant (or explicitly for none)."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.store.audit import write_pending
from boxoffice.store.db import WRITE_OPTION
from boxoffice.store.repositories import Catalogue, Customers, Operators
from boxoffice.store.scoping import TENANT_KEY
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
