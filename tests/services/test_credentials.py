"""``services/credentials.py``: every way a password is set ends the customer's web sessions,
those kept in Redis too (after the commit; the database's in its transaction)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from boxoffice.bootstrap import Core
from boxoffice.domain.commands import NewCustomer, NewProfile, Profile
from boxoffice.domain.principal import Principal
from boxoffice.services import accounts, profiles
from boxoffice.services import customers as customer_service
from boxoffice.services import tenants as tenant_service
from boxoffice.store.session_store import DatabaseSessions, SessionStore
from tests.conftest import redis_sessions

PASSWORD = "Sup3rSecret!"
NEW = "An0ther-Secret"

Change = Callable[[Core, str, int, int], Awaitable[None]]


async def _web_change(core: Core, tenant: str, tenant_id: int, customer_id: int) -> None:
    fresh = await accounts.change_password(core, tenant_id, customer_id, PASSWORD, NEW)
    assert await core.session_store.customer(tenant_id, fresh) == customer_id


async def _app_change(core: Core, tenant: str, tenant_id: int, customer_id: int) -> None:
    principal = accounts.customer_principal(tenant_id, customer_id)
    profile = Profile(first_name="Ada", last_name="Lovelace", email="ada@example.org")
    cmd = NewProfile(profile=profile, password=NEW, current_password=PASSWORD)
    await profiles.replace_profile(core, principal, customer_id, cmd)


async def _reset(core: Core, tenant: str, tenant_id: int, customer_id: int) -> None:
    token = await accounts._issue_token(core, tenant_id, customer_id, accounts.RESET)
    view = await tenant_service.get_tenant(core, tenant)
    assert await accounts.reset_password(core, view, token, NEW) == customer_id


@pytest.mark.parametrize("store_kind", ["database", "redis"])
@pytest.mark.parametrize("change", [_web_change, _app_change, _reset])
async def test_every_password_change_ends_the_web_sessions(
    core: Core,
    tenant: tuple[str, int],
    monkeypatch: pytest.MonkeyPatch,
    store_kind: str,
    change: Change,
) -> None:
    owner = Principal(tenant_id=tenant[1], actor="test", full_access=True)
    view = await customer_service.create_customer(
        core,
        owner,
        NewCustomer(
            first_name="Ada", last_name="Lovelace", email="ada@example.org", password=PASSWORD
        ),
    )

    async def check(store: SessionStore) -> None:
        monkeypatch.setattr(core, "session_store", store)
        sessions = [await store.create(tenant[1], view.id) for _ in range(2)]
        await change(core, tenant[0], tenant[1], view.id)
        for session in sessions:
            assert await store.customer(tenant[1], session) is None

    if store_kind == "redis":
        async with redis_sessions(idle=3600, absolute=7200) as redis_store:
            await check(redis_store)
    else:
        await check(DatabaseSessions(core.sessions, idle=3600, absolute=7200))
