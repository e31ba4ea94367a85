"""Concurrent creates against the real server: the unique email holds under a race, and a
burst of distinct creates all succeed. Never a 5xx, on SQLite as on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import httpx
import pytest

from tests.e2e.conftest import HTTP_TIMEOUT, LiveServer, LiveTenant, build_signed, unique_email

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-server")]

CONCURRENCY = 50
RACE_TIMEOUT = 600.0  # a hang guard, above the clients' HTTP_TIMEOUT


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=HTTP_TIMEOUT,
        trust_env=False,
        limits=httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY),
    )


async def _create_all(
    client: httpx.AsyncClient, tenant: LiveTenant, payloads: list[dict[str, str]]
) -> list[httpx.Response]:
    requests = [build_signed(client, tenant, "POST", "customers", p) for p in payloads]
    async with asyncio.timeout(RACE_TIMEOUT):
        return await asyncio.gather(*(client.send(r) for r in requests))


def _summary(responses: list[httpx.Response]) -> str:
    return "\n".join(f"{r.status_code} {r.text[:200]}" for r in responses)


async def test_identical_concurrent_creates_make_one_customer(live_tenant: LiveTenant) -> None:
    email = unique_email("race")
    payload = {"firstName": "Race", "lastName": "Condition", "email": email}
    async with _client() as client:
        responses = await _create_all(client, live_tenant, [payload] * CONCURRENCY)
        statuses = Counter(r.status_code for r in responses)
        assert not [r for r in responses if r.status_code >= 500], _summary(responses)
        assert statuses == {200: 1, 400: CONCURRENCY - 1}, _summary(responses)
        winner = next(r for r in responses if r.status_code == 200).json()
        assert winner["email"] == email
        for response in responses:
            if response.status_code == 400:
                assert response.json()["message"] == "Duplicate Entry", response.text

        found = await client.send(
            build_signed(client, live_tenant, "GET", f"customers?email={email}")
        )
        assert found.status_code == 200, found.text
        assert found.json()["id"] == winner["id"]
        again = await client.send(
            build_signed(client, live_tenant, "GET", f"customers/{winner['id']}")
        )
        assert again.status_code == 200
        assert again.json() == found.json()


async def test_distinct_concurrent_creates_all_succeed(live_tenant: LiveTenant) -> None:
    emails = [unique_email(f"burst{i}") for i in range(CONCURRENCY)]
    payloads = [
        {"firstName": "Burst", "lastName": str(i), "email": e} for i, e in enumerate(emails)
    ]
    async with _client() as client:
        responses = await _create_all(client, live_tenant, payloads)
        assert [r.status_code for r in responses] == [200] * CONCURRENCY, _summary(responses)
        ids = [r.json()["id"] for r in responses]
        assert len(set(ids)) == CONCURRENCY
        assert [r.json()["email"] for r in responses] == emails

        async with asyncio.timeout(RACE_TIMEOUT):
            found = await asyncio.gather(
                *(
                    client.send(build_signed(client, live_tenant, "GET", f"customers?email={e}"))
                    for e in emails
                )
            )
        assert [r.status_code for r in found] == [200] * CONCURRENCY, _summary(found)
        assert [r.json()["id"] for r in found] == ids


async def test_concurrent_creates_differing_only_in_case_make_one_customer(
    live_tenant: LiveTenant,
) -> None:
    local = f"case-{uuid.uuid4().hex[:10]}"
    variants = [
        "".join(c.upper() if (i >> (j % 8)) & 1 else c for j, c in enumerate(local))
        + "@Example.ORG"
        for i in range(CONCURRENCY)
    ]
    payloads = [{"firstName": "Case", "lastName": "Race", "email": e} for e in variants]
    async with _client() as client:
        responses = await _create_all(client, live_tenant, payloads)
        statuses = Counter(r.status_code for r in responses)
        assert statuses == {200: 1, 400: CONCURRENCY - 1}, _summary(responses)
        assert all(
            r.json()["message"] == "Duplicate Entry" for r in responses if r.status_code == 400
        )


async def test_concurrent_tag_and_statement_writes_on_one_customer(
    live_tenant: LiveTenant,
) -> None:
    async with _client() as client:

        async def send(method: str, path: str, payload: object = None) -> httpx.Response:
            return await client.send(build_signed(client, live_tenant, method, path, payload))

        created = await send(
            "POST", "customers", {"firstName": "Tag", "lastName": "Race", "email": unique_email()}
        )
        assert created.status_code == 200, created.text
        customer_id = created.json()["id"]
        groups = (await send("GET", "tag-groups")).json()
        tag_ids = [t["id"] for g in groups for t in g["tags"]]
        statement_ids = [s["id"] for s in (await send("GET", "statements")).json()]

        # The same tag and statement, many times at once, mixed with every other one.
        calls = []
        for i in range(CONCURRENCY):
            calls.append(
                send("POST", f"customers/{customer_id}/tags", {"id": tag_ids[i % len(tag_ids)]})
            )
            calls.append(
                send(
                    "POST",
                    f"customers/{customer_id}/agreed-statements",
                    [{"id": statement_ids[i % len(statement_ids)]}],
                )
            )
        async with asyncio.timeout(RACE_TIMEOUT):
            responses = await asyncio.gather(*calls)
        assert [r.status_code for r in responses] == [200] * len(calls), _summary(responses)

        tags = await send("GET", f"customers/{customer_id}/tags")
        assert sorted(t["id"] for t in tags.json()) == sorted(tag_ids)
        agreed = await send("GET", f"customers/{customer_id}/agreed-statements")
        assert sorted(s["id"] for s in agreed.json()) == sorted(statement_ids)


async def test_concurrent_email_changes_to_one_address(
    live_server: LiveServer, live_tenant: LiveTenant
) -> None:
    """Many customers patched to the same new email at once: exactly one gets it."""
    count = 10
    payloads = [
        {"firstName": "Patch", "lastName": str(i), "email": unique_email("before")}
        for i in range(count)
    ]
    target = unique_email("after")
    async with _client() as client:
        created = await _create_all(client, live_tenant, payloads)
        assert [r.status_code for r in created] == [200] * count, _summary(created)
        ids = [r.json()["id"] for r in created]
        requests = [
            build_signed(client, live_tenant, "PATCH", f"customers/{cid}", {"email": target})
            for cid in ids
        ]
        async with asyncio.timeout(RACE_TIMEOUT):
            responses = await asyncio.gather(*(client.send(r) for r in requests))
        statuses = Counter(r.status_code for r in responses)
        assert statuses == {200: 1, 400: count - 1}, (
            _summary(responses) + "\n--- server log ---\n" + live_server.log()
        )
        assert all(
            r.json()["message"] == "Duplicate Entry" for r in responses if r.status_code == 400
        )
        found = await client.send(
            build_signed(client, live_tenant, "GET", f"customers?email={target}")
        )
        assert found.status_code == 200
        winner = next(i for i, r in zip(ids, responses, strict=True) if r.status_code == 200)
        assert found.json()["id"] == winner
