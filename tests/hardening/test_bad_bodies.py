"""Handwritten hostile bodies against a body-taking route of every dialect and the web pages:
broken encodings (invalid UTF-8, UTF-16 with a BOM, NUL bytes), deep nesting, wrong content
types, oversized bodies (with and without ``Content-Length``) and every field of a valid body
given the wrong JSON type.

Each gets the dialect's own clear 4xx (its error shape), never a 5xx, and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from boxoffice.bootstrap import Core
from boxoffice.services import tenants as tenant_service
from boxoffice.settings import Settings
from tests.api.carecloud.support import Api as CareCloudApi
from tests.conftest import Signer, make_tenant, owner_connection


@dataclass
class Target:
    """One body-taking route: how to send a body to it, a valid body, and its error shape."""

    name: str
    send: Callable[[bytes | Any, dict[str, str]], Awaitable[httpx.Response]]
    valid: dict[str, Any]
    is_error_shape: Callable[[httpx.Response], bool]
    #: Counts the customers of the target's tenant (nothing may be written by a refusal).
    count: Callable[[], Awaitable[int]]


def _spektrix_error(response: httpx.Response) -> bool:
    body = response.json()
    return isinstance(body, dict) and isinstance(body.get("message"), str)


def _carecloud_error(response: httpx.Response) -> bool:
    error = response.json().get("error")
    return isinstance(error, dict) and {"type", "exception", "title", "detail"} <= set(error)


def _brandchannel_error(response: httpx.Response) -> bool:
    body = response.json()
    return body.get("type") == "error" and isinstance(body.get("message"), str)


def _html_error(response: httpx.Response) -> bool:
    return response.headers["content-type"].startswith("text/html")


async def _count_customers(core: Core, tenant: str) -> int:
    from sqlalchemy import text

    async with owner_connection(core) as connection:
        found = await connection.execute(
            text(
                "SELECT count(*) FROM customers c JOIN tenants t ON t.id = c.tenant_id"
                " WHERE t.name = :name"
            ),
            {"name": tenant},
        )
        return int(found.scalar_one())


TARGETS = ["spektrix-owner", "spektrix-web", "carecloud", "brandchannel", "web"]


@pytest.fixture(params=TARGETS)
async def target(request: pytest.FixtureRequest, http: httpx.AsyncClient, core: Core) -> Target:
    tenant, _ = await make_tenant(core)

    async def count() -> int:
        return await _count_customers(core, tenant)

    def raw(body: bytes | Any) -> Any:
        if isinstance(body, bytes) or hasattr(body, "__aiter__"):
            return body  # as it is: bytes, or a stream sent without Content-Length
        return json.dumps(body).encode()  # (orjson refuses integers beyond 64 bits)

    name = request.param
    if name == "spektrix-owner":
        secret = await tenant_service.create_api_user(core, tenant, "bodies")
        signer = Signer(http, tenant, "bodies", secret)

        async def send_owner(body: bytes | Any, headers: dict[str, str]) -> httpx.Response:
            url = signer.url("customers")
            data = raw(body)
            signed = signer.headers("POST", url, data if isinstance(data, bytes) else None)
            return await http.post(url, content=data, headers={**signed, **headers})

        valid = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.org"}
        return Target(name, send_owner, valid, _spektrix_error, count)
    if name == "spektrix-web":

        async def send_web(body: bytes | Any, headers: dict[str, str]) -> httpx.Response:
            return await http.post(
                f"/{tenant}/api/v3/customer",
                content=raw(body),
                headers={"Content-Type": "application/json", **headers},
            )

        valid = {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "email": "ada@example.org",
            "password": "Sup3rSecret!pass",
        }
        return Target(name, send_web, valid, _spektrix_error, count)
    if name == "carecloud":
        api = CareCloudApi(http, tenant)
        api.token = await api.new_token()
        valid = await api.customer_body()

        async def send_carecloud(body: bytes | Any, headers: dict[str, str]) -> httpx.Response:
            return await api.request("POST", "customers", raw=raw(body), headers=headers)

        return Target(name, send_carecloud, valid, _carecloud_error, count)
    if name == "brandchannel":
        key = await tenant_service.create_api_key(
            core, tenant, permissions=("CUSTOMER_READ", "CUSTOMER_CUD")
        )

        async def send_brandchannel(body: bytes | Any, headers: dict[str, str]) -> httpx.Response:
            return await http.post(
                "/api/v2/customer",
                content=raw(body),
                headers={"apiKey": key, "Content-Type": "application/json", **headers},
            )

        valid = {"brand_id": 1, "primary_id": "P-1", "firstname": "Ada", "extra_email": "a@x.org"}
        return Target(name, send_brandchannel, valid, _brandchannel_error, count)

    async def send_page(body: bytes | Any, headers: dict[str, str]) -> httpx.Response:
        return await http.post(
            f"/{tenant}/website/Secure/SetPassword.aspx",
            content=raw(body),
            headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
        )

    return Target(
        name, send_page, {"token": "t", "password": "p", "confirm": "p"}, _html_error, count
    )


def _refused(target: Target, response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    assert target.is_error_shape(response), response.text[:500]


BROKEN = {
    "invalid utf-8": b'{"firstName": "\xff\xfe\xfa", "lastName": "B", "email": "x@example.org"}',
    "utf-16 with bom": '{"firstName": "A", "lastName": "B", "email": "x@example.org"}'.encode(
        "utf-16"
    ),
    "utf-8 bom": b'\xef\xbb\xbf{"firstName": 1}',
    "nul byte": b'{"firstName": "A\x00B", "lastName": "B"\x00}',
    "escaped nul": b'{"firstName": "A\\u0000B", "lastName": "B", "email": "x@example.org"}',
    "lone surrogate": b'{"firstName": "\\ud800", "lastName": "B", "email": "x@example.org"}',
    "deep arrays": b"[" * 10_000 + b"]" * 10_000,
    "deep objects": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "nesting under the parser's limit": b"[" * 1000 + b"]" * 1000,
    "nested under a field": b'{"firstName": ' + b"[" * 1000 + b"]" * 1000 + b"}",
    "not json": b"<customer><firstName>A</firstName></customer>",
    "truncated": b'{"firstName": "A", "lastName": ',
    "empty": b"",
    "just null": b"null",
    "huge number": b'{"firstName": 1' + b"0" * 5000 + b"}",
}


#: Broken bodies a dialect accepts on purpose, with the reason.
ACCEPTED = {
    ("brandchannel", "empty"): "the vendor's create requires no field (a customer of the "
    "key's brand with nothing else is valid)",
}


async def test_broken_bodies_are_refused(target: Target) -> None:
    before = await target.count()
    problems = []
    for case, body in BROKEN.items():
        response = await target.send(body, {})
        if (target.name, case) in ACCEPTED:
            if response.status_code != 200:
                problems.append((case, response.status_code, response.text[:300]))
            before += 1
            continue
        if target.name == "web" and response.status_code == 404:
            continue  # the page answers "not found" to an unknown token before any value
        if not (400 <= response.status_code < 500 and target.is_error_shape(response)):
            problems.append((case, response.status_code, response.text[:300]))
    assert not problems, problems
    assert await target.count() == before


CONTENT_TYPES = [
    "text/plain",
    "application/xml",
    "multipart/form-data; boundary=x",
    "application/json; charset=latin-1",
    "image/png",
    "",
]


async def test_wrong_content_types(target: Target) -> None:
    """A valid JSON body under a wrong content type: refused, or read as JSON (lenient
    dialects), never a 5xx, never an error in another shape."""
    problems = []
    for content_type in CONTENT_TYPES:
        before = await target.count()
        response = await target.send(orjson.dumps(target.valid), {"Content-Type": content_type})
        if response.status_code >= 500 or (
            response.status_code >= 400 and not target.is_error_shape(response)
        ):
            problems.append((content_type, response.status_code, response.text[:300]))
        elif response.status_code < 300 and target.name != "web":
            assert await target.count() == before + 1
            target.valid = _fresh(target.valid)
    assert not problems, problems


def _fresh(valid: dict[str, Any]) -> dict[str, Any]:
    """The same body with a new email / external id, so it can be created again."""
    import uuid

    tag = uuid.uuid4().hex[:8]
    out = json.loads(json.dumps(valid))
    for key in ("email", "extra_email"):
        if key in out:
            out[key] = f"{tag}-{out[key]}"
    if "primary_id" in out:
        out["primary_id"] = f"P-{tag}"
    info = out.get("customer", {}).get("personal_information", {})
    if "email" in info:
        info["email"] = f"{tag}-{info['email']}"
    return out


WRONG: list[Any] = [[], {}, 1.5, -(2**70), True, None, "x" * 100_000, [{"a": []}]]


async def test_every_field_of_the_wrong_type(target: Target) -> None:
    """Each field of a valid body, one at a time, given a value of each wrong type."""

    def fields(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if isinstance(value, dict):
            out = [(*path, k) for k in value]
            for k, v in value.items():
                out += fields(v, (*path, k))
            return out
        if isinstance(value, list):
            return [p for i, v in enumerate(value) for p in fields(v, (*path, i))]
        return []

    def replaced(value: Any, path: tuple[Any, ...], wrong: Any) -> Any:
        if not path:
            return wrong
        copy = value.copy()
        copy[path[0]] = replaced(value[path[0]], path[1:], wrong)
        return copy

    problems = []
    for path in fields(target.valid):
        for wrong in WRONG:
            response = await target.send(replaced(target.valid, path, wrong), {})
            if response.status_code >= 500 or (
                response.status_code >= 400 and not target.is_error_shape(response)
            ):
                problems.append((path, repr(wrong)[:20], response.status_code, response.text[:300]))
            elif response.status_code < 300:
                target.valid = _fresh(target.valid)
    assert not problems, problems


async def test_oversized_bodies_are_413(target: Target, settings: Settings) -> None:
    big = b'{"firstName": "' + b"x" * (settings.max_body_bytes + 10) + b'"}'
    before = await target.count()
    response = await target.send(big, {})
    assert response.status_code == 413, response.text[:300]
    assert target.is_error_shape(response), response.text[:300]

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(settings.max_body_bytes // 65_536 + 2):
            yield b"x" * 65_536

    chunked = await target.send(chunks(), {})  # type: ignore[arg-type]
    assert chunked.status_code == 413, chunked.text[:300]
    assert target.is_error_shape(chunked), chunked.text[:300]
    assert await target.count() == before
