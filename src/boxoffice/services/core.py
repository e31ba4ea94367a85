"""What every service needs: a way to open units of work, and the secret box."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from boxoffice.security.ratelimit import RateLimiter
from boxoffice.security.secrets_at_rest import SecretBox
from boxoffice.services.mail import Mailer
from boxoffice.store.session_store import SessionStore
from boxoffice.store.uow import ReadConnections, ReadUnitOfWork, UnitOfWork
from boxoffice.store.write_gate import WriteGate


@dataclass
class Core:
    engine: AsyncEngine
    sessions: async_sessionmaker[Any]
    secret_box: SecretBox
    session_store: SessionStore
    limiter: RateLimiter
    mailer: Mailer
    #: The engine of read-only units of work (:meth:`read`): on PostgreSQL one of its own
    #: (read-only connections keeping their tenant in the session, decision 0080); on SQLite,
    #: ``engine`` (None: ``engine``).
    read_engine: AsyncEngine | None = None
    #: Accepted clock skew for signed requests, in seconds.
    signature_window_seconds: int = 15 * 60
    #: Device tokens' idle and absolute lifetimes, in seconds (``services/devices.py``).
    device_token_idle_seconds: int = 30 * 86400
    device_token_absolute_seconds: int = 365 * 86400
    #: Small per-process caches (tenant names -> ids); safe to drop at any time.
    cache: dict[str, Any] = field(default_factory=dict)
    #: The SQLite writers' queue of this process (a database file only; decision 0078).
    write_gate: WriteGate | None = None
    #: Writes that follow an answer rather than delay it (a failed login's timeline entry:
    #: ``accounts.record_after_answer``); awaited by :meth:`settle` and :meth:`dispose`.
    background: set[asyncio.Task[None]] = field(default_factory=set)
    #: The connections :meth:`read`'s units of work keep between requests.
    read_connections: ReadConnections = field(default_factory=ReadConnections)

    def uow(self, tenant_id: int | None, *, write: bool = False) -> UnitOfWork:
        return UnitOfWork(self.sessions, tenant_id, write=write, gate=self.write_gate)

    def read(self, tenant_id: int) -> ReadUnitOfWork:
        """A read-only unit of work for the tenant's key lookups (``uow.lookups``)."""
        return ReadUnitOfWork(self.read_engine or self.engine, tenant_id, self.read_connections)

    async def settle(self) -> None:
        """Wait for the writes that follow answers already given (:attr:`background`)."""
        while self.background:
            await asyncio.gather(*self.background, return_exceptions=True)

    async def dispose(self) -> None:
        await self.settle()
        await self.session_store.close()
        await self.limiter.aclose()
        await self.read_connections.close()
        if self.read_engine is not None and self.read_engine is not self.engine:
            await self.read_engine.dispose()
        await self.engine.dispose()
        if self.write_gate is not None:
            self.write_gate.close()
