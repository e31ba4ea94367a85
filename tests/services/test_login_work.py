"""A failed login does the same work whether the address has an account or not (issue 15,
finding 5): the same statements, no write before the answer, one Argon2 verification with the
same parameters in the same threads, the same rate-limit counting. Counted, never timed; through
the service and through every entrypoint that logs in with a password (the Spektrix web-mode
``customer/authenticate`` route and the hosted LoginLogout page)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from boxoffice.bootstrap import Core
from boxoffice.domain.commands import NewCustomer
from boxoffice.domain.errors import NotFound
from boxoffice.domain.principal import Principal
from boxoffice.security import passwords
from boxoffice.security.ratelimit import RateLimiter
from boxoffice.services import accounts, tenants
from boxoffice.services import customers as customer_service
from boxoffice.store.models import TimelineEntry
from tests.api.web.conftest import ORIGIN
from tests.web.test_pages import form_token, page

PASSWORD = "Correct horse battery 1"
KNOWN, NO_PASSWORD, UNKNOWN = "known@example.org", "nopass@example.org", "nobody@example.org"


@dataclass
class Work:
    """What one request did: statements, Argon2 calls, rate-limit calls."""

    statements: list[str] = field(default_factory=list)
    argon2: list[tuple[str, str, str]] = field(default_factory=list)
    limits: list[tuple[str, str]] = field(default_factory=list)

    def writes(self) -> list[str]:
        return [s for s in self.statements if s.split(None, 1)[0] in ("INSERT", "UPDATE", "DELETE")]


class _CountingHasher:
    """The real hasher, noting each call: what, with which parameters, in which thread."""

    def __init__(self, real: Any, work: list[Work]) -> None:
        self.real, self.work = real, work

    def _note(self, what: str, hash: str) -> None:
        if self.work:
            parameters = "$".join(hash.split("$")[:4])  # $argon2id$v=19$m=...,t=...,p=...
            pool = threading.current_thread().name.rsplit("_", 1)[0]  # argon2_0 -> argon2
            self.work[-1].argon2.append((what, parameters, pool))

    def verify(self, hash: str, password: str) -> bool:
        self._note("verify", hash)
        return bool(self.real.verify(hash, password))

    def hash(self, password: str) -> str:
        hashed = str(self.real.hash(password))
        self._note("hash", hashed)
        return hashed

    def check_needs_rehash(self, hash: str) -> bool:
        return bool(self.real.check_needs_rehash(hash))


@contextmanager
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Work]]:
    """Notes every statement (any engine), Argon2 call and rate-limit call into the last
    :class:`Work` of the yielded list (append one to start a request)."""
    work: list[Work] = []
    passwords.dummy_hash()  # made once per process, before counting
    monkeypatch.setattr(passwords, "_HASHER", _CountingHasher(passwords._HASHER, work))

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if work:
            work[-1].statements.append(" ".join(sql.split()))

    for name in ("hit", "test", "clear"):
        real = getattr(RateLimiter, name)

        async def call(
            self: RateLimiter, rule: str, *keys: str, _n: str = name, _r: Any = real
        ) -> Any:
            if work:
                work[-1].limits.append((_n, rule))
            return await _r(self, rule, *keys)

        monkeypatch.setattr(RateLimiter, name, call)
    event.listen(Engine, "before_cursor_execute", statement)
    try:
        yield work
    finally:
        event.remove(Engine, "before_cursor_execute", statement)


async def _customers(core: Core, tenant: tuple[str, int]) -> dict[str, int]:
    owner = Principal(tenant_id=tenant[1], actor="test", full_access=True)
    ids = {}
    for email, password in ((KNOWN, PASSWORD), (NO_PASSWORD, None)):
        view = await customer_service.create_customer(
            core,
            owner,
            NewCustomer(first_name="Ada", last_name="Lovelace", email=email, password=password),
        )
        ids[email] = view.id
    return ids


async def _failed_logins(core: Core, tenant_id: int, customer_id: int) -> int:
    async with core.uow(tenant_id) as uow:
        stmt = select(TimelineEntry).where(
            TimelineEntry.customer_id == customer_id, TimelineEntry.kind == "login_failed"
        )
        return len((await uow.session.execute(stmt)).scalars().all())


def _assert_alike(work: dict[str, Work]) -> None:
    unknown = work[UNKNOWN]
    for email, done in work.items():
        assert done.statements == unknown.statements, email
        assert done.limits == unknown.limits, email
        assert done.argon2 == unknown.argon2, email
        assert done.writes() == [], email
    ((what, parameters, thread),) = unknown.argon2
    assert what == "verify" and thread == "argon2"
    stored = passwords.hash_password("anything")
    assert parameters == "$".join(stored.split("$")[:4])


async def test_unknown_address_no_password_and_wrong_password_do_the_same_work(
    core: Core, tenant: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _customers(core, tenant)
    view = await tenants.get_tenant(core, tenant[0])
    client = accounts.Client(ip="192.0.2.1", base_url="http://testserver")
    await core.settle()
    with counting(monkeypatch) as work:
        by_email: dict[str, Work] = {}
        after: dict[str, Work] = {}
        for email in (UNKNOWN, KNOWN, NO_PASSWORD):
            work.append(Work())
            with pytest.raises(NotFound):
                await accounts.authenticate(core, view, client, email, "wrong password")
            by_email[email] = work[-1]
            work.append(Work())
            await core.settle()  # what follows the answer: the known accounts' entries
            after[email] = work[-1]
        _assert_alike(by_email)
        assert after[UNKNOWN].statements == []
        for email in (KNOWN, NO_PASSWORD):
            assert after[email].writes()[0].startswith("INSERT INTO timeline_entries")
    assert await _failed_logins(core, tenant[1], ids[KNOWN]) == 1
    assert await _failed_logins(core, tenant[1], ids[NO_PASSWORD]) == 1


async def test_a_login_storm_leaves_out_entries_beyond_the_limit(
    core: Core, tenant: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _customers(core, tenant)
    view = await tenants.get_tenant(core, tenant[0])
    monkeypatch.setattr(accounts, "MAX_PENDING_RECORDS", 0)
    with pytest.raises(NotFound):
        await accounts.authenticate(
            core, view, accounts.Client("192.0.2.2", "http://testserver"), KNOWN, "wrong"
        )
    assert not core.background
    assert await _failed_logins(core, tenant[1], ids[KNOWN]) == 0


async def test_a_hash_with_older_parameters_is_replaced_at_the_next_login(
    core: Core, tenant: tuple[str, int]
) -> None:
    from argon2 import PasswordHasher, Type

    ids = await _customers(core, tenant)
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID).hash(PASSWORD)
    async with core.uow(tenant[1], write=True) as uow:
        row = await uow.customers.get(ids[KNOWN])
        assert row is not None
        row.password_hash = old
        await uow.commit()
    view = await tenants.get_tenant(core, tenant[0])
    client = accounts.Client("192.0.2.3", "http://testserver")
    await accounts.authenticate(core, view, client, KNOWN, PASSWORD)
    async with core.uow(tenant[1]) as uow:
        row = await uow.customers.get(ids[KNOWN])
        assert row is not None and row.password_hash != old
        assert not passwords.needs_rehash(row.password_hash or "")
    assert (await accounts.authenticate(core, view, client, KNOWN, PASSWORD))[0] == ids[KNOWN]


async def _spektrix(http: httpx.AsyncClient, tenant: str, email: str) -> int:
    response = await http.post(
        f"/{tenant}/api/v3/customer/authenticate",
        json={"email": email, "password": "wrong password"},
        headers={"Origin": ORIGIN},
    )
    return response.status_code


async def _hosted(http: httpx.AsyncClient, tenant: str, email: str, token: str) -> int:
    response = await http.post(
        page(tenant, "secure/LoginLogout.aspx"),
        data={"_csrf": token, "Email": email, "Password": "wrong password"},
    )
    return response.status_code


@pytest.mark.parametrize("entrypoint", ["spektrix", "hosted page"])
async def test_every_login_entrypoint_does_the_same_work_for_unknown_and_known(
    http: httpx.AsyncClient,
    core: Core,
    tenant: tuple[str, int],
    monkeypatch: pytest.MonkeyPatch,
    entrypoint: str,
) -> None:
    await _customers(core, tenant)
    token = await form_token(http, page(tenant[0], "secure/LoginLogout.aspx"))

    async def attempt(email: str) -> int:
        if entrypoint == "spektrix":
            return await _spektrix(http, tenant[0], email)
        return await _hosted(http, tenant[0], email, token)

    assert await attempt("warm-up@example.org") in (400, 404)  # tenant and catalogue cached
    await core.settle()
    with counting(monkeypatch) as work:
        by_email: dict[str, Work] = {}
        statuses = set()
        for email in (UNKNOWN, KNOWN, NO_PASSWORD):
            work.append(Work())
            statuses.add(await attempt(email))
            by_email[email] = work[-1]
            work.append(Work())
            await core.settle()
        assert statuses == {404 if entrypoint == "spektrix" else 400}
        _assert_alike(by_email)
