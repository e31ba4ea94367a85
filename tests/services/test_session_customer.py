"""A web session's customer read on one snapshot with the session (``accounts.session_customer_view``,
decision 0085): the same answers, expiry and last-seen writes as the session store's own
``customer`` followed by the customer's read, with the session in the database or in Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from boxoffice.bootstrap import Core
from boxoffice.domain.commands import NewCustomer
from boxoffice.domain.errors import NotFound, Unauthenticated
from boxoffice.domain.principal import Principal
from boxoffice.services import accounts, audit, customers
from boxoffice.store.audit import current_caller
from boxoffice.store.models import Customer, CustomerSession
from boxoffice.store.session_store import TOUCH_EVERY, token_hash
from tests.conftest import make_tenant, redis_sessions


async def _customer(core: Core, tenant_id: int, email: str) -> int:
    principal = Principal(tenant_id=tenant_id, actor="t", full_access=True)
    view = await customers.create_customer(
        core, principal, NewCustomer(first_name="Web", last_name="User", email=email)
    )
    return view.id


async def _set(core: Core, tenant_id: int, token: str, **values: datetime) -> None:
    async with core.uow(tenant_id, write=True) as uow:
        await uow.session.execute(
            update(CustomerSession)
            .where(CustomerSession.token_hash == token_hash(token))
            .values(**values)
        )
        await uow.commit()


async def _row(core: Core, tenant_id: int, token: str) -> CustomerSession | None:
    async with core.uow(tenant_id) as uow:
        return await uow.session.get(CustomerSession, (tenant_id, token_hash(token)))


async def test_the_session_and_its_customer_in_the_database(core: Core) -> None:
    _, tenant_id = await make_tenant(core, catalogue=False)
    _, other = await make_tenant(core, catalogue=False)
    key = await _customer(core, tenant_id, "web@example.org")
    token = await core.session_store.create(tenant_id, key)

    marker = audit.start_request()
    try:
        principal, view = await accounts.session_customer_view(core, tenant_id, token)
        caller = current_caller()
    finally:
        audit.end_request(marker)
    assert principal.customer_id == key and not principal.full_access
    assert view.id == key and view.email == "web@example.org"
    assert caller.credential == "customer-session"

    for wrong in (None, "", token + "x", "x" * 201):
        with pytest.raises(Unauthenticated):
            await accounts.session_customer_view(core, tenant_id, wrong)
    with pytest.raises(Unauthenticated):
        await accounts.session_customer_view(core, other, token)

    # Due for its last-seen write: answered all the same, and written.
    stale = datetime.now(UTC) - timedelta(seconds=TOUCH_EVERY + 1)
    await _set(core, tenant_id, token, last_seen_at=stale)
    assert (await accounts.session_customer_view(core, tenant_id, token))[1].id == key
    row = await _row(core, tenant_id, token)
    assert row is not None and row.last_seen_at > stale + timedelta(seconds=1)

    # A customer gone (erased) behind an open session: not found, as before.
    async with core.uow(tenant_id, write=True) as uow:
        await uow.session.execute(update(Customer).where(Customer.id == key).values(state="erased"))
        await uow.commit()
    with pytest.raises(NotFound):
        await accounts.session_customer_view(core, tenant_id, token)

    # Expired: refused, and the session is deleted when seen.
    await _set(core, tenant_id, token, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(Unauthenticated):
        await accounts.session_customer_view(core, tenant_id, token)
    assert await _row(core, tenant_id, token) is None


@pytest.fixture
async def redis_core(core: Core) -> AsyncIterator[Core]:
    async with redis_sessions(idle=600, absolute=3600) as store:
        kept, core.session_store = core.session_store, store
        try:
            yield core
        finally:
            core.session_store = kept


async def test_the_session_and_its_customer_with_redis(redis_core: Core) -> None:
    core = redis_core
    _, tenant_id = await make_tenant(core, catalogue=False)
    key = await _customer(core, tenant_id, "redis@example.org")
    token = await core.session_store.create(tenant_id, key)
    principal, view = await accounts.session_customer_view(core, tenant_id, token)
    assert principal.customer_id == key and view.id == key
    await core.session_store.delete(tenant_id, token)
    with pytest.raises(Unauthenticated):
        await accounts.session_customer_view(core, tenant_id, token)
