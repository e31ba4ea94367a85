"""Bad input gets a clear 4xx JSON error with a ``message``; never a 5xx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from boxoffice.bootstrap import Core
from boxoffice.settings import Settings
from tests.api.spektrix.conftest import Catalogue
from tests.api.spektrix.support import (
    assert_error,
    create,
    customer_body,
    customer_count,
    signed_headers,
)
from tests.conftest import BASE_URL, Signer


async def _body_routes(api: Signer) -> list[tuple[str, str]]:
    """Every System Owner route that reads a body, for a real customer and address."""
    created = await create(api, addresses=[{"line1": "1 Main Street"}])
    cid, aid = created["id"], created["billingAddress"]["id"]
    return [
        ("POST", "customers"),
        ("PATCH", f"customers/{cid}"),
        ("POST", f"customers/{cid}/tags"),
        ("POST", f"customers/{cid}/agreed-statements"),
        ("PUT", f"customers/{cid}/agreed-statements"),
        ("POST", f"customers/{cid}/addresses"),
        ("PATCH", f"customers/{cid}/addresses/{aid}"),
    ]


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"firstName": "Ada",}',
        b"{'firstName': 'Ada'}",
        b"NaN",
        b'{"firstName": "Ada"} trailing',
        b"\xff\xfe{}",
        b'{"firstName": "\xc3\x28"}',
        b"[" * 5000 + b"]" * 5000,
        b"   ",
    ],
)
async def test_malformed_json_is_400_on_every_body_route(owner_api: Signer, raw: bytes) -> None:
    for method, path in await _body_routes(owner_api):
        response = await owner_api.request(method, path, raw=raw)

        assert_error(response, 400)


async def test_missing_body_is_400_on_every_body_route(owner_api: Signer) -> None:
    for method, path in await _body_routes(owner_api):
        response = await owner_api.request(method, path)

        assert_error(response, 400, "body")


@pytest.mark.parametrize("body", [5, "text", None, True, [], [1], [{}, {}], [[{}]]])
async def test_customer_body_must_be_an_object(
    core: Core, tenant: tuple[str, int], owner_api: Signer, body: Any
) -> None:
    created = await create(owner_api)

    post = await owner_api.request("POST", "customers", raw=orjson.dumps(body))
    patch = await owner_api.request("PATCH", f"customers/{created['id']}", raw=orjson.dumps(body))

    assert_error(post, 400)
    assert_error(patch, 400)
    assert await customer_count(core, tenant[1]) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("firstName", 5),
        ("firstName", ["Ada"]),
        ("lastName", {"x": 1}),
        ("email", 5),
        ("email", ["a@example.org"]),
        ("title", 5),
        ("phone", 123456),
        ("mobile", False),
        ("birthDate", 19900131),
        ("friendlyId", {"id": 1}),
        ("password", 12345678),
        ("addresses", "x"),
        ("addresses", {"line1": "1 Main Street"}),
        ("addresses", ["1 Main Street"]),
        ("addresses", [{"isBilling": "yes"}]),
        ("addresses", [{"line1": 5}]),
        ("tags", "x"),
        ("tags", [5]),
        ("tags", [{"name": "Drama"}]),
        ("agreedStatements", {"id": "x"}),
        ("agreedStatements", [None]),
    ],
)
async def test_wrong_types_are_400_naming_the_field(
    core: Core, tenant: tuple[str, int], owner_api: Signer, field: str, value: Any
) -> None:
    response = await owner_api.post("customers", customer_body(**{field: value}))

    assert_error(response, 400, field)
    assert await customer_count(core, tenant[1]) == 0


async def test_too_many_addresses_is_400(owner_api: Signer) -> None:
    addresses = [{"line1": f"{n} Main Street"} for n in range(21)]

    response = await owner_api.post("customers", customer_body(addresses=addresses))

    assert_error(response, 400, "addresses")


async def test_too_many_tags_is_400(owner_api: Signer, ids: Catalogue) -> None:
    response = await owner_api.post("customers", customer_body(tags=[ids.tags["Drama"]] * 201))

    assert_error(response, 400, "tags")


async def test_overlong_string_is_400(owner_api: Signer) -> None:
    response = await owner_api.post("customers", customer_body(friendlyId="x" * 5000))

    assert_error(response, 400, "friendlyid")


# --- body size --------------------------------------------------------------------------------


async def test_body_over_the_default_limit_is_413(
    core: Core, tenant: tuple[str, int], owner_api: Signer, settings: Settings
) -> None:
    assert settings.max_body_bytes == 1_000_000
    body = customer_body(friendlyId="x" * settings.max_body_bytes)

    response = await owner_api.post("customers", body)

    assert_error(response, 413)
    assert await customer_count(core, tenant[1]) == 0


async def test_body_at_the_limit_is_not_413(owner_api: Signer, settings: Settings) -> None:
    padding = settings.max_body_bytes - len(orjson.dumps(customer_body(padding="")))
    body = orjson.dumps(customer_body(padding="x" * padding))
    assert len(body) == settings.max_body_bytes

    response = await owner_api.request("POST", "customers", raw=body)

    assert response.status_code == 200, response.text


async def test_unsigned_oversized_body_is_413(
    http: httpx.AsyncClient, tenant: tuple[str, int], settings: Settings
) -> None:
    response = await http.post(
        f"/{tenant[0]}/api/v3/customers", content=b"x" * (settings.max_body_bytes + 1)
    )

    assert_error(response, 413)


@pytest.fixture
async def small_limit_client(settings: Settings, core: Core) -> AsyncIterator[httpx.AsyncClient]:
    from boxoffice.api.app import create_app

    app = create_app(settings.model_copy(update={"max_body_bytes": 2048}))
    app.state.core = core
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL
    ) as client:
        yield client


async def test_configured_limit_applies(
    small_limit_client: httpx.AsyncClient, core: Core, tenant: tuple[str, int], owner_api: Signer
) -> None:
    api = Signer(small_limit_client, owner_api.tenant, owner_api.login, owner_api.secret)

    small = await api.post("customers", customer_body())
    large = await api.post("customers", customer_body(friendlyId="x" * 3000))

    assert small.status_code == 200, small.text
    assert_error(large, 413)
    assert await customer_count(core, tenant[1]) == 1


async def test_streamed_body_without_content_length_is_limited(
    small_limit_client: httpx.AsyncClient, core: Core, tenant: tuple[str, int], owner_api: Signer
) -> None:
    body = orjson.dumps(customer_body(friendlyId="x" * 3000))
    url = f"{BASE_URL}/{tenant[0]}/api/v3/customers"
    headers = signed_headers(owner_api.secret, owner_api.login, "POST", url, body)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 512):
            yield body[start : start + 512]

    response = await small_limit_client.post(url, content=chunks(), headers=headers)

    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_error(response, 413)
    assert await customer_count(core, tenant[1]) == 0


# --- routes and methods -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "nope",
        "customers/I-AAAA-AAAA/nope",
        "customers/I-AAAA-AAAA/tags/x/y",
        "events/1/nope",
        "",
        "Customers/I-AAAA-AAAA/orders/1/2",
    ],
)
async def test_unknown_route_is_404_json(owner_api: Signer, path: str) -> None:
    response = await owner_api.get(path)

    assert_error(response, 404)


async def test_unknown_route_unsigned_is_404_json(
    http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    response = await http.get(f"/{tenant[0]}/api/v3/nope")

    assert_error(response, 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "customers/I-AAAA-AAAA"),
        ("DELETE", "customers/I-AAAA-AAAA"),
        ("DELETE", "customers"),
        ("PUT", "customers"),
        ("PATCH", "customers/I-AAAA-AAAA/tags"),
        ("PUT", "customers/I-AAAA-AAAA/addresses"),
        ("POST", "tag-groups"),
        ("DELETE", "statements"),
    ],
)
async def test_wrong_method_is_405_json(owner_api: Signer, method: str, path: str) -> None:
    response = await owner_api.request(method, path, {"x": 1} if method != "DELETE" else None)

    assert_error(response, 405, method)


# --- never a 5xx ------------------------------------------------------------------------------

ODD_VALUES: list[Any] = [
    None,
    0,
    -1,
    2**63 - 1,
    1.5e308,
    True,
    "",
    " ",
    "\u0000",
    "\ud7ff\ue000",
    "💥" * 100,
    "x" * 3999,
    [],
    {},
    [None],
    {"id": {"id": "x"}},
]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"firstName": 1e400, "lastName": "L", "email": "big@example.org"}',
        b'{"firstName": "A", "lastName": "L", "email": "big@example.org", "title": '
        + b"9" * 400
        + b"}",
        b'{"firstName": "A", "lastName": "L", "email": "big@example.org", "firstName": "B"}',
        b'{"firstName": "A\\ud800", "lastName": "L", "email": "big@example.org"}',
        b'\xef\xbb\xbf{"firstName": "A", "lastName": "L", "email": "bom@example.org"}',
    ],
)
async def test_odd_json_never_causes_a_5xx(owner_api: Signer, raw: bytes) -> None:
    response = await owner_api.request("POST", "customers", raw=raw)

    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("value", ODD_VALUES)
async def test_odd_values_never_cause_a_5xx(owner_api: Signer, value: Any) -> None:
    created = await create(owner_api, addresses=[{"line1": "1 Main Street"}])
    cid, aid = created["id"], created["billingAddress"]["id"]
    fields = [
        "firstName",
        "lastName",
        "email",
        "title",
        "phone",
        "mobile",
        "birthDate",
        "friendlyId",
        "password",
        "addresses",
        "tags",
        "agreedStatements",
        "Attribute_Favourite Genre",
    ]
    for field in fields:
        response = await owner_api.post("customers", customer_body(**{field: value}))
        assert response.status_code < 500, (field, response.text)
        response = await owner_api.patch(f"customers/{cid}", {field: value})
        assert response.status_code < 500, (field, response.text)
    for path in (f"customers/{cid}/tags", f"customers/{cid}/agreed-statements"):
        for body in (value, {"id": value}, [{"id": value}]):
            response = await owner_api.post(path, body)
            assert response.status_code < 500, (path, body, response.text)
    for field in ("line1", "town", "country", "isBilling", "isDelivery", "postcode"):
        response = await owner_api.patch(f"customers/{cid}/addresses/{aid}", {field: value})
        assert response.status_code < 500, (field, response.text)
        response = await owner_api.post(f"customers/{cid}/addresses", {field: value})
        assert response.status_code < 500, (field, response.text)


@pytest.mark.parametrize(
    "path",
    [
        "customers/%00",
        "customers/%FF%FE",
        "customers/I-AAAA-AAAA%00",
        "customers/I-AAAA-AAAA/tags/%00",
        "customers/I-AAAA-AAAA/addresses/" + "9" * 40 + "A",
        "customers/I-AAAA-AAAA/agreed-statements/" + "9" * 19 + "ABBBBBBBBBBBBB",
        "customers?email=%00",
        "customers?email=" + "a" * 3000 + "@example.org",
        "customers?email=%FF",
        "customers/I-AAAA-AAAA?$expand=" + "tags," * 500,
        "customers/I-AAAA-AAAA?$expand=%00",
        "customers/tags/x?id=%00",
        "customers/tags/x?id=",
        "countries/%00",
    ],
)
async def test_odd_paths_never_cause_a_5xx(owner_api: Signer, path: str) -> None:
    for method in ("GET", "DELETE", "PATCH"):
        response = await owner_api.request(
            method, path, {"town": "x"} if method == "PATCH" else None
        )

        assert response.status_code < 500, (method, response.text)
        assert response.headers["content-type"].startswith("application/json")


# --- NUL characters (PostgreSQL refuses them in text: they must be refused before the database) --


@pytest.mark.parametrize("client", ["%00", "a%00b", "%FF", "a" * 300, "Upper-Case"])
@pytest.mark.parametrize("origin", [None, "http://localhost:8080"])
async def test_odd_client_names_are_404(
    http: httpx.AsyncClient, client: str, origin: str | None
) -> None:
    headers = {"Origin": origin} if origin else {}

    response = await http.get(f"/{client}/api/v3/tag-groups", headers=headers)

    assert_error(response, 404)


async def test_nul_in_the_email_query_is_not_found(owner_api: Signer) -> None:
    response = await owner_api.get("customers?email=ada%00@example.org")

    assert response.status_code in (400, 404), response.text
    assert isinstance(response.json()["message"], str)


async def test_nul_in_an_attribute_value_is_400(
    core: Core, tenant: tuple[str, int], owner_api: Signer
) -> None:
    created = await create(owner_api)
    value = {"Attribute_Favourite Genre": "Jazz\u0000Funk"}

    on_create = await owner_api.post("customers", customer_body(**value))
    on_patch = await owner_api.patch(f"customers/{created['id']}", value)

    assert_error(on_create, 400, "Favourite Genre")
    assert_error(on_patch, 400, "Favourite Genre")
    assert await customer_count(core, tenant[1]) == 1
    assert (await owner_api.get(f"customers/{created['id']}")).json() == created
