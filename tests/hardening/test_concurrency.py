"""Races against the real server process (real concurrency: one event loop in the server
handling many connections at once), on SQLite and PostgreSQL. Extends tests/e2e/test_race.py
(racing System Owner creates, tag and statement adds, email changes) with: racing sign-ups in
web mode and in CareCloud, racing PATCHes of different and of the same field, and racing adds
and removals of one tag and one statement, checked down to the rows and the consent history.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from boxoffice.bootstrap import Core
from boxoffice.domain.ids import parse_customer_code
from tests.api.carecloud.support import BASE as CARECLOUD_BASE
from tests.api.carecloud.support import token_body
from tests.conftest import owner_connection
from tests.e2e.conftest import (
    HTTP_TIMEOUT,
    LiveServer,
    LiveTenant,
    build_signed,
    make_live_tenant,
    unique_email,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-server")]

RACE_TIMEOUT = 600.0  # a hang guard, above the clients' HTTP_TIMEOUT
ORIGIN = "http://localhost:8080"
#: Below the per-IP sign-up limit of a fresh tenant (10 in 10 minutes).
SIGN_UPS = 8
ROUNDS = 8


def _client(connections: int = 50) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=HTTP_TIMEOUT,
        trust_env=False,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


def _summary(responses: list[httpx.Response]) -> str:
    return "\n".join(f"{r.status_code} {r.text[:200]}" for r in responses)


async def _race(*calls: Any) -> list[httpx.Response]:
    async with asyncio.timeout(RACE_TIMEOUT):
        return list(await asyncio.gather(*calls))


async def _rows(core: Core, sql: str, **params: Any) -> list[Any]:
    async with owner_connection(core) as connection:
        return list((await connection.execute(text(sql), params)).all())


async def _count_email(core: Core, tenant: str, email: str) -> int:
    rows = await _rows(
        core,
        "SELECT count(*) FROM customers c JOIN tenants t ON t.id = c.tenant_id"
        " WHERE t.name = :tenant AND c.email_key = :email",
        tenant=tenant,
        email=email.lower(),
    )
    return int(rows[0][0])


async def test_racing_web_sign_ups_with_one_email(live_server: LiveServer, core: Core) -> None:
    tenant = make_live_tenant(live_server)  # a fresh sign-up budget
    email = unique_email("signup-race")
    body = {
        "firstName": "Race",
        "lastName": "Signup",
        "email": email,
        "password": "Correct horse 1",
    }
    async with _client() as client:
        url = f"{tenant.api}/customer"
        responses = await _race(
            *(client.post(url, json=body, headers={"Origin": ORIGIN}) for _ in range(SIGN_UPS))
        )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 400: SIGN_UPS - 1}, _summary(responses)
    for response in responses:
        if response.status_code == 400:
            assert response.json()["message"] == "Duplicate Entry", response.text
    assert await _count_email(core, tenant.name, email) == 1


async def test_racing_carecloud_registrations_with_one_email(
    live_server: LiveServer, core: Core
) -> None:
    tenant = make_live_tenant(live_server)
    email = unique_email("register-race")
    base = f"{live_server.base_url}/{tenant.name}/{CARECLOUD_BASE}"
    async with _client() as client:
        token = await client.post(f"{base}/tokens", json=token_body())
        assert token.status_code == 201, token.text
        headers = {"Authorization": f"Bearer {token.json()['data']['token_id']}"}
        sources = await client.get(f"{base}/customer-sources", headers=headers)
        source = sources.json()["data"]["customer_sources"][0]["customer_source_id"]
        body = {
            "customer": {
                "personal_information": {
                    "first_name": "Race",
                    "last_name": "Register",
                    "email": email,
                    "language_id": "en",
                },
            },
            "customer_source": {"customer_source_id": source},
            "autologin": False,
            "password": "Sup3rSecret!",
        }
        responses = await _race(
            *(client.post(f"{base}/customers", json=body, headers=headers) for _ in range(SIGN_UPS))
        )
    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] == 1, _summary(responses)
    assert statuses[400] == SIGN_UPS - 1, _summary(responses)
    for response in responses:
        if response.status_code == 400:
            error = response.json()["error"]
            assert error["error_data"]["invalid_params"][0]["name"].endswith("email"), error
    assert await _count_email(core, tenant.name, email) == 1


async def _owner_customer(client: httpx.AsyncClient, tenant: LiveTenant) -> str:
    created = await client.send(
        build_signed(
            client,
            tenant,
            "POST",
            "customers",
            {"firstName": "Patch", "lastName": "Race", "email": unique_email("patch")},
        )
    )
    assert created.status_code == 200, created.text
    customer_id: str = created.json()["id"]
    return customer_id


async def test_racing_patches_of_different_fields_lose_nothing(live_tenant: LiveTenant) -> None:
    async with _client() as client:
        customer_id = await _owner_customer(client, live_tenant)
        path = f"customers/{customer_id}"
        for round_ in range(ROUNDS):
            patches = [
                {"firstName": f"First{round_}"},
                {"lastName": f"Last{round_}"},
                {"mobile": f"0770090{round_:04d}"},
                {"birthDate": f"19{50 + round_}-01-31"},
            ]
            responses = await _race(
                *(client.send(build_signed(client, live_tenant, "PATCH", path, p)) for p in patches)
            )
            assert [r.status_code for r in responses] == [200] * len(patches), _summary(responses)
            now = (await client.send(build_signed(client, live_tenant, "GET", path))).json()
            assert now["firstName"] == f"First{round_}", now
            assert now["lastName"] == f"Last{round_}", now
            assert now["mobile"] == f"0770090{round_:04d}", now
            assert now["birthDate"].startswith(f"19{50 + round_}-01-31"), now


async def test_racing_patches_of_one_field_last_writer_wins(live_tenant: LiveTenant) -> None:
    async with _client() as client:
        customer_id = await _owner_customer(client, live_tenant)
        path = f"customers/{customer_id}"
        names = [f"Name{i}" for i in range(20)]
        responses = await _race(
            *(
                client.send(build_signed(client, live_tenant, "PATCH", path, {"firstName": n}))
                for n in names
            )
        )
        assert [r.status_code for r in responses] == [200] * len(names), _summary(responses)
        # Each answer shows its own write (nothing half-applied), and the stored name is one
        # of them: the last transaction to commit.
        assert [r.json()["firstName"] for r in responses] == names
        final = (await client.send(build_signed(client, live_tenant, "GET", path))).json()
        assert final["firstName"] in names
        assert final["lastName"] == "Race"


async def test_racing_adds_and_removals_of_one_tag(live_tenant: LiveTenant, core: Core) -> None:
    async with _client() as client:

        async def send(method: str, path: str, payload: object = None) -> httpx.Response:
            return await client.send(build_signed(client, live_tenant, method, path, payload))

        customer_id = await _owner_customer(client, live_tenant)
        groups = (await send("GET", "tag-groups")).json()
        tag_id = groups[0]["tags"][0]["id"]
        calls = []
        for _ in range(15):
            calls.append(send("POST", f"customers/{customer_id}/tags", {"id": tag_id}))
            calls.append(send("DELETE", f"customers/{customer_id}/tags/{tag_id}"))
        responses = await _race(*calls)
        assert all(r.status_code in (200, 204, 404) for r in responses), _summary(responses)
        assert all(r.status_code != 404 or "not" in r.text.lower() for r in responses)

        listed = [t["id"] for t in (await send("GET", f"customers/{customer_id}/tags")).json()]
        assert listed.count(tag_id) <= 1
        rows = await _rows(
            core,
            "SELECT count(*) FROM customer_tags WHERE customer_id = :c",
            c=parse_customer_code(customer_id),
        )
        assert rows[0][0] == len(listed)
        # And it is in a clean state: one more add holds exactly one.
        assert (
            await send("POST", f"customers/{customer_id}/tags", {"id": tag_id})
        ).status_code == 200
        listed = [t["id"] for t in (await send("GET", f"customers/{customer_id}/tags")).json()]
        assert listed == [tag_id]


async def test_racing_agreements_and_withdrawals_keep_a_consistent_history(
    live_tenant: LiveTenant, core: Core
) -> None:
    async with _client() as client:

        async def send(method: str, path: str, payload: object = None) -> httpx.Response:
            return await client.send(build_signed(client, live_tenant, method, path, payload))

        customer_id = await _owner_customer(client, live_tenant)
        statement_id = (await send("GET", "statements")).json()[0]["id"]
        base = f"customers/{customer_id}/agreed-statements"
        calls = []
        for _ in range(15):
            calls.append(send("POST", base, [{"id": statement_id}]))
            calls.append(send("DELETE", f"{base}/{statement_id}"))
        responses = await _race(*calls)
        assert all(r.status_code in (200, 204, 404) for r in responses), _summary(responses)

        agreed = [s["id"] for s in (await send("GET", base)).json()]
        assert agreed.count(statement_id) <= 1
        number = parse_customer_code(customer_id)
        current = await _rows(
            core, "SELECT count(*) FROM customer_consents WHERE customer_id = :c", c=number
        )
        assert current[0][0] == len(agreed)
        history = [
            bool(row[0])
            for row in await _rows(
                core,
                "SELECT agreed FROM consent_changes WHERE customer_id = :c ORDER BY occurred_at",
                c=number,
            )
        ]
        # Changes alternate (agreed, withdrawn, agreed...), never twice the same in a row, and
        # the last one is the current state.
        assert history, "no consent history"
        assert history[0] is True
        assert all(a != b for a, b in itertools.pairwise(history)), history
        assert history[-1] is bool(agreed)
        changed = sum(1 for r in responses if r.status_code in (200, 204))
        assert len(history) <= changed
