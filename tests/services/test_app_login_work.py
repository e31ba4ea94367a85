"""A failed CareCloud app login (``devices.log_in``) does the same work whatever its value
names (issue 15, finding 5; decision 0111): the same statements, no write before the answer,
the same number of Argon2 verifications with the same parameters in the same (Argon2) threads,
the same rate-limit calls. An email naming nobody, an account without a password and a wrong
password alike; a phone number shared by two customers, one customer's and nobody's alike.
Counted, never timed (the counting is ``test_login_work``'s). And a password reset ends the
apps' account locks too, not only the website's."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import select

from boxoffice.bootstrap import Core
from boxoffice.domain.commands import DeviceSetup, NewCustomer, NewDevice
from boxoffice.domain.errors import InvalidInput, RateLimited
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import TenantView
from boxoffice.security import passwords
from boxoffice.services import accounts, devices, tenants
from boxoffice.services import customers as customer_service
from boxoffice.store.models import TimelineEntry
from tests.services.test_login_work import Work, counting

PASSWORD = "Correct horse battery 1"
FAMILY_PASSWORD = "Another horse battery 1"
KNOWN, NO_PASSWORD, UNKNOWN = "known@example.org", "nopass@example.org", "nobody@example.org"
SHARED, OWN, NOBODYS = "+44 7700 900111", "+44 7700 900222", "+44 7700 900999"
NEW_PASSWORD = "Brand-new-pass1"


async def _customer(
    core: Core, tenant_id: int, email: str, password: str | None, mobile: str | None = None
) -> int:
    owner = Principal(tenant_id=tenant_id, actor="test", full_access=True)
    view = await customer_service.create_customer(
        core,
        owner,
        NewCustomer(
            first_name="Ada", last_name="Lovelace", email=email, password=password, mobile=mobile
        ),
    )
    return view.id


async def _token(core: Core, tenant: TenantView) -> str:
    device = NewDevice(
        user_name=None,
        device_id="device-1",
        device_system="android",
        device_name="phone",
        device_type="phone",
        external_application_id="app",
        push_token=None,
        setup=DeviceSetup(language="en", allowed_gps=False, allowed_notifications=False),
    )
    return await devices.create_token(core, tenant, "192.0.2.100", device)


async def _log_in(
    core: Core, tenant: TenantView, token: str, login_type: str, value: str, password: str
) -> int:
    return await devices.log_in(
        core,
        tenant,
        "192.0.2.10",
        token,
        login_type=login_type,
        login_value=value,
        password=password,
    )


def _assert_alike(work: dict[str, Work], unknown: str) -> list[tuple[str, str, str]]:
    """Every request did what the unknown value's did, and wrote nothing; returns its Argon2
    calls, each a verification with the current parameters in the Argon2 threads."""
    for value, done in work.items():
        assert done.statements == work[unknown].statements, value
        assert done.limits == work[unknown].limits, value
        assert sorted(done.argon2) == sorted(work[unknown].argon2), value
        assert done.writes() == [], value
    stored = passwords.hash_password("anything")
    parameters = "$".join(stored.split("$")[:4])
    assert set(work[unknown].argon2) == {("verify", parameters, "argon2")}
    return work[unknown].argon2


async def _failed_logins(core: Core, tenant_id: int, customer_id: int) -> int:
    async with core.uow(tenant_id) as uow:
        stmt = select(TimelineEntry).where(
            TimelineEntry.customer_id == customer_id, TimelineEntry.kind == "login_failed"
        )
        return len((await uow.session.execute(stmt)).scalars().all())


async def test_email_logins_do_the_same_work_for_unknown_known_and_passwordless(
    core: Core, tenant: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    known = await _customer(core, tenant[1], KNOWN, PASSWORD)
    no_password = await _customer(core, tenant[1], NO_PASSWORD, None)
    view = await tenants.get_tenant(core, tenant[0])
    token = await _token(core, view)
    await core.settle()
    with counting(monkeypatch) as work:
        by_value: dict[str, Work] = {}
        after: dict[str, Work] = {}
        for email in (UNKNOWN, KNOWN, NO_PASSWORD):
            work.append(Work())
            with pytest.raises(InvalidInput):
                await _log_in(core, view, token, "email", email, "wrong password")
            by_value[email] = work[-1]
            work.append(Work())
            await core.settle()  # what follows the answer: the named accounts' entries
            after[email] = work[-1]
        assert len(_assert_alike(by_value, UNKNOWN)) == 1
        assert after[UNKNOWN].statements == []
        for email in (KNOWN, NO_PASSWORD):
            assert after[email].writes()[0].startswith("INSERT INTO timeline_entries")
    assert await _failed_logins(core, tenant[1], known) == 1
    assert await _failed_logins(core, tenant[1], no_password) == 1


async def test_phone_logins_do_the_same_work_however_many_share_the_number(
    core: Core, tenant: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = await _customer(core, tenant[1], "parent@example.org", PASSWORD, SHARED)
    child = await _customer(core, tenant[1], "child@example.org", FAMILY_PASSWORD, SHARED)
    await _customer(core, tenant[1], "single@example.org", PASSWORD, OWN)
    view = await tenants.get_tenant(core, tenant[0])
    token = await _token(core, view)
    await core.settle()
    with counting(monkeypatch) as work:
        failed: dict[str, Work] = {}
        for phone in (NOBODYS, SHARED, OWN):
            work.append(Work())
            with pytest.raises(InvalidInput):
                await _log_in(core, view, token, "phone", phone, "wrong password")
            failed[phone] = work[-1]
            work.append(Work())
            await core.settle()
        assert len(_assert_alike(failed, NOBODYS)) == devices.PHONE_LOGIN_HASHES
        # Each of the family logs in with their own password, after the same verifications.
        logged_in = {}
        for password, customer_id in ((PASSWORD, parent), (FAMILY_PASSWORD, child)):
            work.append(Work())
            assert await _log_in(core, view, token, "phone", "0044 7700 900111", password) == (
                customer_id
            )
            logged_in[password] = work[-1]
        assert [len(done.argon2) for done in logged_in.values()] == [devices.PHONE_LOGIN_HASHES] * 2
    assert await _failed_logins(core, tenant[1], parent) == 1
    assert await _failed_logins(core, tenant[1], child) == 1


async def test_an_app_login_replaces_a_hash_with_older_parameters(
    core: Core, tenant: tuple[str, int]
) -> None:
    from argon2 import PasswordHasher, Type

    customer_id = await _customer(core, tenant[1], KNOWN, PASSWORD)
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID).hash(PASSWORD)
    async with core.uow(tenant[1], write=True) as uow:
        row = await uow.customers.get(customer_id)
        assert row is not None
        row.password_hash = old
        await uow.commit()
    view = await tenants.get_tenant(core, tenant[0])
    token = await _token(core, view)
    assert await _log_in(core, view, token, "email", KNOWN, PASSWORD) == customer_id
    async with core.uow(tenant[1]) as uow:
        row = await uow.customers.get(customer_id)
        assert row is not None and row.password_hash != old
        assert not passwords.needs_rehash(row.password_hash or "")
    assert await _log_in(core, view, token, "email", KNOWN, PASSWORD) == customer_id


async def test_a_password_reset_ends_the_app_login_locks(
    core: Core, tenant: tuple[str, int]
) -> None:
    owner = Principal(tenant_id=tenant[1], actor="test", full_access=True)
    customer = await customer_service.create_customer(
        core,
        owner,
        NewCustomer(
            first_name="Ada",
            last_name="Lovelace",
            email="Locked@Example.org",
            password=PASSWORD,
            mobile=SHARED,
            friendly_id="CARD-4711",
        ),
    )
    view = await tenants.get_tenant(core, tenant[0])
    token = await _token(core, view)
    logins = (("email", "LOCKED@example.org"), ("phone", "0044 7700 900111"), ("card", "CARD-4711"))
    # The accounts' failures used up (as from many addresses: no pair is locked), under the
    # keys the logins count them with: the value as the lookup reads it.
    for account in ("email:locked@example.org", "phone:447700900111", "card:CARD-4711"):
        for _ in range(50):
            with contextlib.suppress(RateLimited):
                await core.limiter.hit("50/hour", "app-login-fail-account", view.name, account)
    for login_type, value in logins:
        with pytest.raises(RateLimited):
            await _log_in(core, view, token, login_type, value, PASSWORD)
    reset = await accounts._issue_token(core, tenant[1], customer.id, accounts.RESET)
    assert await accounts.reset_password(core, view, reset, NEW_PASSWORD) == customer.id
    token = await _token(core, view)  # the reset ended the device's token
    for login_type, value in logins:
        assert await _log_in(core, view, token, login_type, value, NEW_PASSWORD) == customer.id
