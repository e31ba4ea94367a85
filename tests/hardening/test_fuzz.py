"""Schemathesis against every dialect's own OpenAPI document (as served at
``/openapi/<dialect>.json``) and against the vendor's CareCloud description.

Each request carries valid credentials (a signed System Owner request, a CareCloud token with a
customer logged in, a brand/channel key with both permissions), so the fuzzing reaches the
handlers, not only the authentication. Checks: no 5xx, a documented status code, content type
and body schema, negative cases refused with a 4xx, and an answer within a bound.

Where our answer legitimately differs from the vendor's document, ``VENDOR_ALLOWED`` says so,
with the reason; nothing else is tolerated.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from boxoffice.bootstrap import Core
from boxoffice.services import tenants as tenant_service
from tests.api.carecloud.support import BASE as CARECLOUD_BASE
from tests.api.carecloud.support import Api as CareCloudApi
from tests.conftest import Signer, make_tenant
from tests.hardening.fuzzing import Fuzzer, asgi_sender, fuzz, report

ORIGIN = "http://localhost:8080"


#: Where our answer legitimately differs from the vendor's CareCloud description:
#: (operation or "*", a fragment of the finding) -> the reason. Keep it short and reasoned;
#: anything not listed is a failure.
VENDOR_ALLOWED: dict[tuple[str, str], str] = {}


async def _document(http: httpx.AsyncClient, dialect: str) -> dict[str, Any]:
    response = await http.get(f"/openapi/{dialect}.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_fuzz_spektrix(http: httpx.AsyncClient, core: Core) -> None:
    tenant, _ = await make_tenant(core)
    secret = await tenant_service.create_api_user(core, tenant, "fuzz-user")
    signer = Signer(http, tenant, "fuzz-user", secret)
    fuzzer = Fuzzer(
        document=await _document(http, "spektrix"),
        send=asgi_sender(http, sign=lambda m, u, b: signer.headers(m, u, b)),
        loop=asyncio.get_running_loop(),
        path_parameters={"client": tenant},
    )
    findings = await fuzz(fuzzer)
    assert fuzzer.requests_sent > 0
    assert not findings, report(findings)


async def test_fuzz_brandchannel(http: httpx.AsyncClient, core: Core) -> None:
    tenant, _ = await make_tenant(core)
    key = await tenant_service.create_api_key(
        core, tenant, permissions=("CUSTOMER_READ", "CUSTOMER_CUD")
    )
    fuzzer = Fuzzer(
        document=await _document(http, "brandchannel"),
        send=asgi_sender(http, auth={"apiKey": key}, auth_if_present=True),
        loop=asyncio.get_running_loop(),
    )
    findings = await fuzz(fuzzer)
    assert fuzzer.requests_sent > 0
    assert not findings, report(findings)


async def _carecloud_caller(http: httpx.AsyncClient, core: Core) -> tuple[str, str, str]:
    """(tenant, token with a customer logged in, that customer's id)."""
    tenant, _ = await make_tenant(core)
    api = CareCloudApi(http, tenant)
    customer_id = await api.logged_in()
    assert api.token
    return tenant, api.token, customer_id


async def test_fuzz_carecloud(http: httpx.AsyncClient, core: Core) -> None:
    tenant, token, customer_id = await _carecloud_caller(http, core)
    fuzzer = Fuzzer(
        document=await _document(http, "carecloud"),
        send=asgi_sender(http, auth={"Authorization": f"Bearer {token}"}),
        loop=asyncio.get_running_loop(),
        path_parameters={"tenant": tenant, "customer_id": customer_id},
    )
    findings = await fuzz(fuzzer)
    assert fuzzer.requests_sent > 0
    assert not findings, report(findings)


async def test_fuzz_carecloud_against_the_vendor_document(
    carecloud_openapi: dict[str, Any], http: httpx.AsyncClient, core: Core
) -> None:
    """The vendor's own description (``BOXOFFICE_CARECLOUD_OPENAPI``, outside the repository;
    skipped by name without it), limited to the operations we implement."""
    from tests.api.carecloud.test_conformance import IMPLEMENTED

    tenant, token, customer_id = await _carecloud_caller(http, core)
    fuzzer = Fuzzer(
        document=carecloud_openapi,
        send=asgi_sender(http, auth={"Authorization": f"Bearer {token}"}),
        loop=asyncio.get_running_loop(),
        path_parameters={"customer_id": customer_id},
        prefix=f"/{tenant}/{CARECLOUD_BASE}",
        only=set(IMPLEMENTED),
        allowed=VENDOR_ALLOWED,
    )
    findings = await fuzz(fuzzer)
    assert fuzzer.requests_sent > 0
    assert not findings, report(findings)


async def test_fuzz_spektrix_web_mode(http: httpx.AsyncClient, core: Core) -> None:
    """The web-mode routes, from the venue's website (its Origin) with a customer logged in
    (the session cookie): the logged-in customer's routes first, then the public and open ones
    (which may log the customer out)."""
    from tests.api.test_route_matrix import MATRIX

    tenant, _ = await make_tenant(core)
    signed_up = await http.post(
        f"/{tenant}/api/v3/customer",
        json={
            "firstName": "Fuzz",
            "lastName": "Web",
            "email": "fuzz-web@example.org",
            "password": "Correct horse battery 1",
        },
        headers={"Origin": ORIGIN},
    )
    assert signed_up.status_code == 201, signed_up.text
    document = await _document(http, "spektrix")
    findings = []
    sent = 0
    for kinds in ({"session"}, {"public", "open"}):
        fuzzer = Fuzzer(
            document=document,
            send=asgi_sender(http, auth={"Origin": ORIGIN}),
            loop=asyncio.get_running_loop(),
            path_parameters={"client": tenant},
            only={(m, p) for (a, m, p), k in MATRIX.items() if a == "spektrix" and k in kinds},
        )
        findings += await fuzz(fuzzer)
        sent += fuzzer.requests_sent
    assert sent > 0
    assert not findings, report(findings)
