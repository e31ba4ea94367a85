"""Session stores: database and Redis behave alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from boxoffice.bootstrap import Core
from boxoffice.domain.commands import NewCustomer
from boxoffice.domain.principal import Principal
from boxoffice.services import customers
from boxoffice.store.models import CustomerSession
from boxoffice.store.session_store import (
    TOUCH_EVERY,
    DatabaseSessions,
    SessionStore,
    token_hash,
)
from tests.conftest import make_tenant, redis_sessions


@pytest.fixture(params=["database", "database-lookups", "redis"])
async def store(request: pytest.FixtureRequest, core: Core) -> AsyncIterator[SessionStore]:
    if request.param.startswith("database"):
        reader = core.read if request.param == "database-lookups" else None
        yield DatabaseSessions(core.sessions, idle=3600, absolute=7200, reader=reader)
        return
    async with redis_sessions(idle=3600, absolute=7200) as redis_store:
        yield redis_store


async def _customer(core: Core, tenant_id: int, email: str) -> int:
    principal = Principal(tenant_id=tenant_id, actor="t", full_access=True)
    view = await customers.create_customer(
        core, principal, NewCustomer(first_name="A", last_name="B", email=email)
    )
    return view.id


async def test_create_read_delete(store: SessionStore, core: Core) -> None:
    _, tenant_id = await make_tenant(core, catalogue=False)
    customer = await _customer(core, tenant_id, "s@example.org")
    token = await store.create(tenant_id, customer)
    assert await store.customer(tenant_id, token) == customer
    assert await store.customer(tenant_id, token + "x") is None
    await store.delete(tenant_id, token)
    assert await store.customer(tenant_id, token) is None


async def test_a_token_is_bound_to_its_tenant(store: SessionStore, core: Core) -> None:
    _, a = await make_tenant(core, catalogue=False)
    _, b = await make_tenant(core, catalogue=False)
    token = await store.create(a, await _customer(core, a, "t@example.org"))
    assert await store.customer(b, token) is None


async def test_delete_for_customer_keeps_only_what_is_asked(
    store: SessionStore, core: Core
) -> None:
    _, tenant_id = await make_tenant(core, catalogue=False)
    customer = await _customer(core, tenant_id, "k@example.org")
    other = await _customer(core, tenant_id, "o@example.org")
    tokens = [await store.create(tenant_id, customer) for _ in range(3)]
    someone_else = await store.create(tenant_id, other)
    await store.delete_for_customer(tenant_id, customer, keep=tokens[0])
    assert await store.customer(tenant_id, tokens[0]) == customer
    assert [await store.customer(tenant_id, t) for t in tokens[1:]] == [None, None]
    assert await store.customer(tenant_id, someone_else) == other


@pytest.mark.parametrize("hot", [False, True], ids=["unit-of-work", "key-lookups"])
async def test_idle_and_absolute_expiry_in_the_database(core: Core, hot: bool) -> None:
    store = DatabaseSessions(
        core.sessions, idle=600, absolute=3600, reader=core.read if hot else None
    )
    _, tenant_id = await make_tenant(core, catalogue=False)
    customer = await _customer(core, tenant_id, "e@example.org")
    idle, absolute = (
        await store.create(tenant_id, customer),
        await store.create(tenant_id, customer),
    )
    now = datetime.now(UTC)
    async with core.uow(tenant_id, write=True) as uow:
        await uow.session.execute(
            update(CustomerSession)
            .where(CustomerSession.token_hash == token_hash(idle))
            .values(last_seen_at=now - timedelta(seconds=601))
        )
        await uow.session.execute(
            update(CustomerSession)
            .where(CustomerSession.token_hash == token_hash(absolute))
            .values(expires_at=now - timedelta(seconds=1))
        )
        await uow.commit()
    assert await store.customer(tenant_id, idle) is None
    assert await store.customer(tenant_id, absolute) is None
    async with core.uow(tenant_id) as uow:  # an expired session is deleted when seen
        for token in (idle, absolute):
            assert await uow.session.get(CustomerSession, (tenant_id, token_hash(token))) is None


async def test_redis_sessions_expire_with_their_ttl() -> None:
    # The idle timeout (10 minutes, not the absolute hour) is the key's TTL; a test slower
    # than a second no longer finds the key expired.
    async with redis_sessions(idle=600, absolute=3600) as store:
        await store.create(1, 42)
        key = next(iter([k async for k in store._redis.scan_iter(f"{store.prefix}:session:*")]))
        assert 0 < await store._redis.pttl(key) <= 600_000


async def _last_seen(core: Core, tenant_id: int, token: str) -> datetime:
    async with core.uow(tenant_id) as uow:
        row = await uow.session.get(CustomerSession, (tenant_id, token_hash(token)))
        assert row is not None
        return row.last_seen_at


async def _set_last_seen(core: Core, tenant_id: int, token: str, when: datetime) -> None:
    async with core.uow(tenant_id, write=True) as uow:
        await uow.session.execute(
            update(CustomerSession)
            .where(CustomerSession.token_hash == token_hash(token))
            .values(last_seen_at=when)
        )
        await uow.commit()


@pytest.mark.parametrize("hot", [False, True], ids=["unit-of-work", "key-lookups"])
async def test_reads_write_the_last_seen_time_at_most_once_a_minute(core: Core, hot: bool) -> None:
    store = DatabaseSessions(
        core.sessions, idle=600, absolute=3600, reader=core.read if hot else None
    )
    _, tenant_id = await make_tenant(core, catalogue=False)
    customer = await _customer(core, tenant_id, "l@example.org")
    token = await store.create(tenant_id, customer)
    recent = datetime.now(UTC) - timedelta(seconds=TOUCH_EVERY - 20)
    await _set_last_seen(core, tenant_id, token, recent)
    for _ in range(3):
        assert await store.customer(tenant_id, token) == customer
    assert await _last_seen(core, tenant_id, token) == recent
    stale = datetime.now(UTC) - timedelta(seconds=TOUCH_EVERY + 1)
    await _set_last_seen(core, tenant_id, token, stale)
    before = datetime.now(UTC)
    assert await store.customer(tenant_id, token) == customer
    touched = await _last_seen(core, tenant_id, token)
    assert before - timedelta(seconds=1) <= touched <= datetime.now(UTC)
    # Idle expiry counts from the last write: a session used now and then stays open.
    await _set_last_seen(core, tenant_id, token, datetime.now(UTC) - timedelta(seconds=599))
    assert await store.customer(tenant_id, token) == customer
    assert await store.customer(tenant_id, token) == customer


async def test_redis_reads_push_the_idle_ttl_back_at_most_once_a_minute() -> None:
    async with redis_sessions(idle=3600, absolute=7200) as store:
        token = await store.create(1, 42)
        key = store._key(1, token_hash(token))
        await store._redis.pexpire(key, (3600 - TOUCH_EVERY + 20) * 1000)
        assert await store.customer(1, token) == 42
        assert await store._redis.pttl(key) <= (3600 - TOUCH_EVERY + 20) * 1000
        await store._redis.pexpire(key, (3600 - TOUCH_EVERY - 1) * 1000)
        assert await store.customer(1, token) == 42
        assert await store._redis.pttl(key) > (3600 - 5) * 1000
