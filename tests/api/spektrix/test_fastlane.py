"""The fast lane (``api/spektrix/fastlane.py``) answers exactly what the FastAPI routes answer.

Every request here is sent twice with the same headers: through the whole application (the
lane answers what it recognises) and with the lane switched off (FastAPI answers everything).
Status, body and headers must be the same, byte for byte, apart from the request id.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update

from boxoffice.api.common.session import SESSION_COOKIE
from boxoffice.api.spektrix import fastlane
from boxoffice.bootstrap import Core
from boxoffice.services import tenants as tenant_service
from boxoffice.store.models import Customer, CustomerSession
from boxoffice.store.session_store import TOUCH_EVERY, token_hash
from tests.api.lanes import same_answer_of, spy_on
from tests.conftest import BASE_URL, Signer, make_tenant

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def lane_taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the lane recognised (answered, or handed on for their query)."""
    return spy_on(monkeypatch, fastlane.FastLane)


same_answer = same_answer_of(fastlane.FastLane)


def signed(api: Signer, path: str) -> dict[str, str]:
    return api.headers("GET", f"{BASE_URL}{path}", None)


async def test_owner_reads_answer_the_same_both_ways(
    http: httpx.AsyncClient,
    core: Core,
    owner_api: Signer,
    monkeypatch: pytest.MonkeyPatch,
    lane_taken: list[str],
) -> None:
    created = await owner_api.post(
        "customers",
        {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "email": "ada@example.org",
            "attribute_AccessRequirements": "step-free",
        },
    )
    assert created.status_code == 200, created.text
    cid = created.json()["id"]
    other, _ = await make_tenant(core)
    other_secret = await tenant_service.create_api_user(core, other, owner_api.login)
    stranger = Signer(http, other, owner_api.login, other_secret)
    t = owner_api.tenant
    paths = [
        f"/{t}/api/v3/customers/{cid}",
        f"/{t}/api/v3/customers/{cid.lower()}",
        f"/{t}/api/v3/customers/{cid}?$expand=tags,addresses",
        f"/{t}/api/v3/customers/{cid}?$expand=nonsense",
        f"/{t}/api/v3/customers/{cid}?unknown=1",
        f"/{t}/api/v3/customers/I-ZZZZ-ZZZZ",
        f"/{t}/api/v3/customers/not-an-id",
        f"/{t}/api/v3/customers/%20",
        f"/{t}/api/v3/customers?email=ada@example.org",
        f"/{t}/api/v3/customers?email=ADA@Example.org&$expand=agreedStatements",
        f"/{t}/api/v3/customers?email=nobody@example.org",
        f"/{t}/api/v3/customers?email=not-an-email",
        f"/{t}/api/v3/customers?email=",
        f"/{t}/api/v3/customers",
        f"/{t}/api/v3/customers?email=a@example.org&email=ada@example.org",
        f"/{t}/api/v3/customers?email=ada@example.org&x=1&x=2",
        f"/{t}/api/v3/customers?email=ada@example.org&Email=a@example.org",
        f"/{t}/api/v3/customers/{cid}?$expand=tags&$expand=addresses",
        f"/{t}/api/v3/customers/{cid}?$expand=&",
        f"/{t}/api/v3/customers/{cid}/",
    ]
    for path in paths:
        await same_answer(http, monkeypatch, path, signed(owner_api, path))
    # Without a signature, with a wrong one, for another tenant's customer, for no tenant.
    path = f"/{t}/api/v3/customers/{cid}"
    await same_answer(http, monkeypatch, path)
    await same_answer(http, monkeypatch, path, {**signed(owner_api, path), "Date": "yesterday"})
    forged = Signer(http, t, owner_api.login, other_secret)
    assert (await same_answer(http, monkeypatch, path, signed(forged, path))).status_code == 401
    elsewhere = f"/{other}/api/v3/customers/{cid}"
    answer = await same_answer(http, monkeypatch, elsewhere, signed(stranger, elsewhere))
    assert answer.status_code == 404
    ghost = f"/no-such-venue/api/v3/customers/{cid}"
    await same_answer(http, monkeypatch, ghost, signed(owner_api, ghost))
    answer = await same_answer(http, monkeypatch, path, signed(owner_api, path))
    assert answer.status_code == 200 and answer.json()["email"] == "ada@example.org"
    # Each of those was seen by the lane, but for the trailing slash (FastAPI's redirect).
    assert len(lane_taken) == len(paths) - 1 + 6


async def test_the_web_mode_customer_answers_the_same_both_ways(
    http: httpx.AsyncClient, owner_api: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = owner_api.tenant
    path = f"/{t}/api/v3/customer"
    origin = {"Origin": "http://localhost:8080"}
    assert (await same_answer(http, monkeypatch, path, origin)).status_code == 401
    signup = await http.post(
        f"{BASE_URL}/{t}/api/v3/customer",
        json={
            "firstName": "Web",
            "lastName": "User",
            "email": "web@example.org",
            "password": PASSWORD,
        },
        headers=origin,
    )
    assert signup.status_code in (200, 201), signup.text
    for query in ("", "?$expand=tags", "?$expand=addresses&$expand=tags"):
        answer = await same_answer(http, monkeypatch, path + query, origin)
        assert answer.status_code == 200 and answer.json()["email"] == "web@example.org"
    foreign = {"Origin": "https://evil.example.com"}
    await same_answer(http, monkeypatch, path, foreign)


async def test_the_lane_keeps_the_route_in_the_metrics(
    http: httpx.AsyncClient, owner_api: Signer
) -> None:
    path = f"/{owner_api.tenant}/api/v3/customers/I-ZZZZ-ZZZZ"
    assert (await http.get(f"{BASE_URL}{path}", headers=signed(owner_api, path))).status_code == 404
    metrics = (await http.get(f"{BASE_URL}/metrics")).text
    assert 'route="/{client}/api/v3/customers/{id}",status="404"' in metrics


async def test_a_web_session_due_expired_or_of_a_gone_customer_answers_the_same(
    http: httpx.AsyncClient, core: Core, owner_api: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lane reads the session and the customer on one snapshot (decision 0085) unless
    the session must be written: each case answers as FastAPI's route does."""
    t = owner_api.tenant
    tenant = await tenant_service.get_tenant(core, t)
    path = f"/{t}/api/v3/customer"
    origin = {"Origin": "http://localhost:8080"}
    signup = await http.post(
        f"{BASE_URL}{path}",
        json={
            "firstName": "Web",
            "lastName": "User",
            "email": "due@example.org",
            "password": PASSWORD,
        },
        headers=origin,
    )
    assert signup.status_code in (200, 201), signup.text
    token = http.cookies.get(SESSION_COOKIE)
    assert token
    hashed = token_hash(token)

    async def set_session(**values: datetime) -> None:
        async with core.uow(tenant.id, write=True) as uow:
            await uow.session.execute(
                update(CustomerSession).where(CustomerSession.token_hash == hashed).values(**values)
            )
            await uow.commit()

    stale = datetime.now(UTC) - timedelta(seconds=TOUCH_EVERY + 1)
    await set_session(last_seen_at=stale)
    assert (await same_answer(http, monkeypatch, path, origin)).status_code == 200
    async with core.uow(tenant.id) as uow:
        row = await uow.session.get(CustomerSession, (tenant.id, hashed))
        assert row is not None and row.last_seen_at > stale  # the lane wrote it
    async with core.uow(tenant.id, write=True) as uow:
        await uow.session.execute(
            update(Customer).where(Customer.email == "due@example.org").values(state="erased")
        )
        await uow.commit()
    assert (await same_answer(http, monkeypatch, path, origin)).status_code == 404
    await set_session(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert (await same_answer(http, monkeypatch, path, origin)).status_code == 401
