"""Web-mode sessions: in the database, or in Redis when ``BOXOFFICE_REDIS_URL`` is set.

The browser's cookie holds a random token; stores keep only its SHA-256. A session expires when
idle for ``idle`` seconds or ``absolute`` seconds after login, whichever comes first.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import Delete, delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from boxoffice.store.db import WRITE_OPTION
from boxoffice.store.models import CustomerSession
from boxoffice.store.scoping import TENANT_KEY
from boxoffice.store.uow import ReadUnitOfWork

T = TypeVar("T")
#: A read-only unit of work for a tenant (``Core.read``).
Reader = Callable[[int], ReadUnitOfWork]
#: What a caller reads of a session's customer, in the unit of work that read the session.
Then = Callable[[ReadUnitOfWork, int], Awaitable[T]]

#: Last-seen times are written at most this often (seconds), not on every request.
TOUCH_EVERY = 60


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def customer_sessions_deletion(customer_id: int, *, keep: str | None = None) -> Delete:
    """The statement that ends a customer's sessions kept in the database (all but ``keep``):
    for :meth:`DatabaseSessions.delete_for_customer`, and for a caller's own transaction
    (``services/credentials.py``)."""
    stmt = delete(CustomerSession).where(CustomerSession.customer_id == customer_id)
    if keep is not None:
        stmt = stmt.where(CustomerSession.token_hash != token_hash(keep))
    return stmt


class SessionStore(Protocol):
    #: Whether the sessions are rows of the application's database (then a caller's
    #: transaction can end them with :func:`customer_sessions_deletion`).
    in_database: bool

    async def create(self, tenant_id: int, customer_id: int) -> str: ...
    async def customer(self, tenant_id: int, token: str) -> int | None: ...
    async def customer_with(
        self, tenant_id: int, token: str, reader: Reader, then: Then[T]
    ) -> tuple[int, T] | None:
        """The session's customer (as :meth:`customer`) and ``then(uow, customer_id)``, read in
        a unit of work of ``reader``; None when no session is open."""
        ...

    async def delete(self, tenant_id: int, token: str) -> None: ...
    async def delete_for_customer(
        self, tenant_id: int, customer_id: int, *, keep: str | None = None
    ) -> None: ...
    async def close(self) -> None: ...


class DatabaseSessions:
    in_database = True

    def __init__(
        self,
        sessions: async_sessionmaker[Any],
        *,
        idle: int,
        absolute: int,
        reader: Reader | None = None,
    ) -> None:
        """``reader``: read-only units of work (``Core.read``); with them, a session that is
        neither expired nor due for a last-seen write is looked up by a key lookup
        (``lookups.customer_session``) rather than through the ORM (decision 0085)."""
        self._sessions = sessions
        self.idle = idle
        self.absolute = absolute
        self._reader = reader

    def _open(self, tenant_id: int) -> Any:
        session = self._sessions()
        session.info[TENANT_KEY] = tenant_id
        return session

    async def create(self, tenant_id: int, customer_id: int) -> str:
        token = new_token()
        now = datetime.now(UTC)
        async with self._open(tenant_id) as session:
            await session.connection(execution_options={WRITE_OPTION: True})
            session.add(
                CustomerSession(
                    token_hash=token_hash(token),
                    customer_id=customer_id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + timedelta(seconds=self.absolute),
                )
            )
            await session.commit()
        return token

    def current(self, found: Any, now: datetime) -> bool:
        """Whether a session (its row, or ``lookups.customer_session``'s) is open and needs no
        write: neither expired nor due for its last-seen time."""
        return bool(
            found.expires_at > now
            and found.last_seen_at + timedelta(seconds=self.idle) > now
            and (now - found.last_seen_at).total_seconds() < TOUCH_EVERY
        )

    async def customer(self, tenant_id: int, token: str) -> int | None:
        now = datetime.now(UTC)
        if self._reader is not None:
            async with self._reader(tenant_id) as uow:
                found = await uow.lookups.customer_session(token_hash(token))
            if found is None:
                return None
            if self.current(found, now):
                customer_id: int = found.customer_id
                return customer_id
            # Expired, or its last-seen time is due: the unit of work below reads it again
            # and writes.
        async with self._open(tenant_id) as session:
            stmt = select(CustomerSession).where(CustomerSession.token_hash == token_hash(token))
            row = (await session.execute(stmt)).scalar_one_or_none()
            if row is None:
                return None
            if row.expires_at <= now or row.last_seen_at + timedelta(seconds=self.idle) <= now:
                await session.delete(row)
                await session.commit()
                return None
            customer_id = row.customer_id
            if (now - row.last_seen_at).total_seconds() >= TOUCH_EVERY:
                row.last_seen_at = now
                await session.commit()
            return customer_id

    async def customer_with(
        self, tenant_id: int, token: str, reader: Reader, then: Then[T]
    ) -> tuple[int, T] | None:
        """The session and ``then``'s read in one read-only unit of work (each statement
        alone, decision 0113), unless the session has expired or its last-seen time is due: then
        :meth:`customer` writes, and ``then`` reads after it (decision 0085)."""
        hashed, now = token_hash(token), datetime.now(UTC)
        async with reader(tenant_id) as uow:
            session = await uow.lookups.customer_session(hashed)
            if session is None:
                return None
            if self.current(session, now):
                customer_id: int = session.customer_id
                return customer_id, await then(uow, customer_id)
        return await _customer_then(self, tenant_id, token, reader, then)

    async def delete(self, tenant_id: int, token: str) -> None:
        async with self._open(tenant_id) as session:
            await session.execute(
                delete(CustomerSession).where(CustomerSession.token_hash == token_hash(token))
            )
            await session.commit()

    async def delete_for_customer(
        self, tenant_id: int, customer_id: int, *, keep: str | None = None
    ) -> None:
        async with self._open(tenant_id) as session:
            await session.execute(customer_sessions_deletion(customer_id, keep=keep))
            await session.commit()

    async def close(self) -> None:
        return None


class RedisSessions:
    in_database = False

    def __init__(self, url: str, *, idle: int, absolute: int, prefix: str = "boxoffice") -> None:
        import redis.asyncio as redis

        self._redis: Any = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.idle = idle
        self.absolute = absolute
        self.prefix = prefix

    def _key(self, tenant_id: int, hashed: str) -> str:
        return f"{self.prefix}:session:{tenant_id}:{hashed}"

    def _index(self, tenant_id: int, customer_id: int) -> str:
        return f"{self.prefix}:customer-sessions:{tenant_id}:{customer_id}"

    async def create(self, tenant_id: int, customer_id: int) -> str:
        token = new_token()
        hashed = token_hash(token)
        now = datetime.now(UTC).timestamp()
        record = json.dumps({"customer": customer_id, "expires": now + self.absolute})
        index = self._index(tenant_id, customer_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(tenant_id, hashed), record, ex=min(self.idle, self.absolute))
            pipe.sadd(index, hashed)
            pipe.expire(index, self.absolute)
            await pipe.execute()
        return token

    async def customer(self, tenant_id: int, token: str) -> int | None:
        key = self._key(tenant_id, token_hash(token))
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.pttl(key)
            raw, ttl_ms = await pipe.execute()
        if raw is None:
            return None
        record = json.loads(raw)
        remaining = record["expires"] - datetime.now(UTC).timestamp()
        if remaining <= 0:
            await self._redis.delete(key)
            return None
        # The idle timeout is the key's TTL. Like the database's last-seen time, it is pushed
        # back at most every TOUCH_EVERY seconds, not on every read.
        ttl = max(1, int(min(self.idle, remaining)))
        if ttl_ms < 0 or ttl * 1000 - ttl_ms >= min(TOUCH_EVERY, self.idle / 2) * 1000:
            await self._redis.expire(key, ttl)
        customer: int = record["customer"]
        return customer

    async def customer_with(
        self, tenant_id: int, token: str, reader: Reader, then: Then[T]
    ) -> tuple[int, T] | None:
        return await _customer_then(self, tenant_id, token, reader, then)

    async def delete(self, tenant_id: int, token: str) -> None:
        await self._redis.delete(self._key(tenant_id, token_hash(token)))

    async def delete_for_customer(
        self, tenant_id: int, customer_id: int, *, keep: str | None = None
    ) -> None:
        index = self._index(tenant_id, customer_id)
        kept = token_hash(keep) if keep is not None else None
        members = [
            m.decode() if isinstance(m, bytes) else m for m in await self._redis.smembers(index)
        ]
        doomed = [m for m in members if m != kept]
        if doomed:
            await self._redis.delete(*(self._key(tenant_id, m) for m in doomed))
            await self._redis.srem(index, *doomed)

    async def close(self) -> None:
        await self._redis.aclose()


async def _customer_then(
    store: SessionStore, tenant_id: int, token: str, reader: Reader, then: Then[T]
) -> tuple[int, T] | None:
    """The session's customer, then ``then``'s read of them (two steps)."""
    customer_id = await store.customer(tenant_id, token)
    if customer_id is None:
        return None
    async with reader(tenant_id) as uow:
        return customer_id, await then(uow, customer_id)
