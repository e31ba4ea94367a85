"""What every service needs: a way to open units of work, and the secret box."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from boxoffice.security.secrets_at_rest import SecretBox
from boxoffice.store.uow import UnitOfWork


@dataclass
class Core:
    engine: AsyncEngine
    sessions: async_sessionmaker[Any]
    secret_box: SecretBox
    #: Accepted clock skew for signed requests, in seconds.
    signature_window_seconds: int = 15 * 60
    #: Small per-process caches (tenant names -> ids); safe to drop at any time.
    cache: dict[str, Any] = field(default_factory=dict)

    def uow(self, tenant_id: int | None, *, write: bool = False) -> UnitOfWork:
        return UnitOfWork(self.sessions, tenant_id, write=write)

    async def dispose(self) -> None:
        await self.engine.dispose()
