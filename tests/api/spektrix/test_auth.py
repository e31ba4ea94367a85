"""System Owner authentication: ``Authorization: SpektrixAPI3 <login>:<HMAC-SHA1 signature>``.

Signed over ``METHOD \\n FULL_URL \\n Date [\\n base64(md5(body))]``; any failure is a 401.
"""

from __future__ import annotations

import base64

import httpx
import orjson
import pytest

from boxoffice.bootstrap import Core
from boxoffice.security import signatures
from boxoffice.services import tenants as tenant_service
from boxoffice.settings import Settings
from tests.api.spektrix.support import (
    UNAUTHORIZED,
    create,
    customer_body,
    customer_count,
    http_date,
    signed_headers,
)
from tests.conftest import BASE_URL, Signer

VENDOR = "https://system.spektrix.com"

#: Every System Owner route, with a placeholder customer id (auth is checked first).
OWNER_ROUTES = [
    ("POST", "customers"),
    ("GET", "customers?email=a@example.org"),
    ("GET", "customers/I-AAAA-AAAA"),
    ("PATCH", "customers/I-AAAA-AAAA"),
    ("GET", "customers/I-AAAA-AAAA/tags"),
    ("POST", "customers/I-AAAA-AAAA/tags"),
    ("DELETE", "customers/I-AAAA-AAAA/tags/1ARCTVSQCCCKKSVRTTHPNRHRNMHPPLQHG"),
    ("DELETE", "customers/tags/1ARCTVSQCCCKKSVRTTHPNRHRNMHPPLQHG?id=I-AAAA-AAAA"),
    ("GET", "customers/I-AAAA-AAAA/agreed-statements"),
    ("POST", "customers/I-AAAA-AAAA/agreed-statements"),
    ("PUT", "customers/I-AAAA-AAAA/agreed-statements"),
    ("DELETE", "customers/I-AAAA-AAAA/agreed-statements/1ALDVRJTNHJMSNMKMLJJDSRBJDPDQLJMS"),
    ("GET", "customers/I-AAAA-AAAA/addresses"),
    ("POST", "customers/I-AAAA-AAAA/addresses"),
    ("PATCH", "customers/I-AAAA-AAAA/addresses/1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ("DELETE", "customers/I-AAAA-AAAA/addresses/1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
]


def _body_for(method: str) -> bytes | None:
    return b'{"id": "x"}' if method in ("POST", "PUT", "PATCH") else None


async def _send(
    api: Signer,
    method: str,
    path: str,
    body: bytes | None = None,
    *,
    sign_url: str | None = None,
    sign_method: str | None = None,
    sign_body: bytes | None = None,
    date: str | None = None,
    secret: str | None = None,
    login: str | None = None,
    extra: dict[str, str] | None = None,
) -> httpx.Response:
    """Send ``method path body`` with a signature computed over the given (maybe other) parts."""
    url = api.url(path)
    headers = signed_headers(
        secret or api.secret,
        login or api.login,
        sign_method or method,
        sign_url or url,
        sign_body if sign_body is not None else body,
        date=date,
    )
    if body is not None:
        headers["Content-Type"] = "application/json"
    headers.update(extra or {})
    return await api.client.request(method, url, content=body, headers=headers)


def _assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == UNAUTHORIZED


# --- unsigned ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), OWNER_ROUTES)
async def test_unsigned_owner_routes_are_401(
    http: httpx.AsyncClient, tenant: tuple[str, int], method: str, path: str
) -> None:
    body = _body_for(method)
    response = await http.request(
        method,
        f"/{tenant[0]}/api/v3/{path}",
        content=body,
        headers={"Content-Type": "application/json"} if body else {},
    )

    _assert_401(response)


async def test_unsigned_create_writes_nothing(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    response = await http.post(f"/{tenant[0]}/api/v3/customers", json=customer_body())

    _assert_401(response)
    assert await customer_count(core, tenant[1]) == 0


# --- accepted signatures ----------------------------------------------------------------------


async def test_signed_request_is_accepted(owner_api: Signer) -> None:
    response = await owner_api.get("tag-groups")

    assert response.status_code == 200


async def test_signature_over_the_vendor_host_is_accepted(owner_api: Signer) -> None:
    """Clients that hard-code ``https://system.spektrix.com`` (and override ``Host``)."""
    created = await create(owner_api)
    path = f"customers/{created['id']}"
    vendor_url = f"{VENDOR}/{owner_api.tenant}/api/v3/{path}"

    plain = await _send(owner_api, "GET", path, sign_url=vendor_url)
    with_host = await _send(
        owner_api, "GET", path, sign_url=vendor_url, extra={"Host": "system.spektrix.com"}
    )

    assert plain.status_code == 200, plain.text
    assert with_host.status_code == 200, with_host.text
    assert plain.json()["id"] == created["id"]


async def test_signature_over_the_vendor_host_with_a_body(owner_api: Signer) -> None:
    path = "customers"
    body = orjson.dumps(customer_body())

    response = await _send(
        owner_api, "POST", path, body, sign_url=f"{VENDOR}/{owner_api.tenant}/api/v3/{path}"
    )

    assert response.status_code == 200, response.text


async def test_signature_over_https_to_this_host_is_accepted(owner_api: Signer) -> None:
    """Behind a TLS-terminating proxy the client signed ``https://`` and we see ``http://``."""
    https_url = owner_api.url("tag-groups").replace("http://", "https://", 1)

    response = await _send(owner_api, "GET", "tag-groups", sign_url=https_url)

    assert response.status_code == 200


async def test_signature_over_a_configured_public_url_is_accepted(
    settings: Settings, core: Core, owner_api: Signer
) -> None:
    from boxoffice.api.app import create_app

    app = create_app(settings.model_copy(update={"public_urls": ["https://tickets.example.org"]}))
    app.state.core = core
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL
    ) as client:
        api = Signer(client, owner_api.tenant, owner_api.login, owner_api.secret)
        signed_url = f"https://tickets.example.org/{api.tenant}/api/v3/tag-groups"

        accepted = await _send(api, "GET", "tag-groups", sign_url=signed_url)
        refused = await _send(
            api,
            "GET",
            "tag-groups",
            sign_url=f"https://other.example.org/{api.tenant}/api/v3/tag-groups",
        )

    assert accepted.status_code == 200
    _assert_401(refused)


async def test_signature_over_another_host_is_401(owner_api: Signer) -> None:
    response = await _send(
        owner_api,
        "GET",
        "tag-groups",
        sign_url=f"https://evil.example.org/{owner_api.tenant}/api/v3/tag-groups",
    )

    _assert_401(response)


async def test_query_is_verified_as_sent_percent_encoded(owner_api: Signer) -> None:
    created = await create(owner_api, email="encoded@example.org")

    response = await owner_api.get("customers?email=encoded%40example.org")

    assert response.status_code == 200, response.text
    assert response.json()["id"] == created["id"]


async def test_python_style_json_bytes_are_hashed_as_sent(owner_api: Signer) -> None:
    """``json.dumps`` default separators (", ", ": "): the raw bytes are hashed, never re-serialised."""
    body = b'{"email": "spaced@example.org", "firstName": "A", "lastName": "B"}'

    response = await _send(owner_api, "POST", "customers", body)

    assert response.status_code == 200, response.text
    assert response.json()["email"] == "spaced@example.org"


@pytest.mark.parametrize("with_body_line", [True, False])
async def test_empty_body_delete_signed_with_or_without_the_body_line(
    owner_api: Signer, with_body_line: bool
) -> None:
    created = await create(owner_api, addresses=[{"line1": "1 Main Street"}])
    path = f"customers/{created['id']}/addresses/{created['billingAddress']['id']}"

    response = await _send(
        owner_api, "DELETE", path, None, sign_body=b"" if with_body_line else None
    )

    assert response.status_code == 204, response.text


async def test_delete_with_a_placeholder_body_is_accepted(owner_api: Signer) -> None:
    """One public client sends a junk body with DELETE, and signs it."""
    created = await create(owner_api, tags=[])
    tags = (await owner_api.get("tags")).json()
    path = f"customers/{created['id']}/tags/{tags[0]['id']}"

    response = await _send(owner_api, "DELETE", path, b'{"lol": "lel"}')

    assert response.status_code == 204, response.text


async def test_post_with_empty_body_signed_without_the_body_line_reaches_validation(
    owner_api: Signer,
) -> None:
    response = await _send(owner_api, "POST", "customers", None)

    assert response.status_code == 400


@pytest.mark.parametrize("offset_minutes", [-14, -5, 5, 14])
async def test_date_within_the_window_is_accepted(owner_api: Signer, offset_minutes: int) -> None:
    response = await _send(owner_api, "GET", "tag-groups", date=http_date(offset_minutes * 60))

    assert response.status_code == 200


async def test_login_with_a_backslash(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    login = "greg\\brightflair"
    secret = await tenant_service.create_api_user(core, tenant[0], login)
    api = Signer(http, tenant[0], login, secret)

    response = await api.get("tag-groups")

    assert response.status_code == 200


async def test_login_is_split_on_the_last_colon_and_signature_checked(owner_api: Signer) -> None:
    url = owner_api.url("tag-groups")
    date = http_date()
    signature = signatures.sign(owner_api.secret, "GET", url, date, None)

    response = await owner_api.client.get(
        url,
        headers={"Date": date, "Authorization": f"SpektrixAPI3 {owner_api.login}:x:{signature}"},
    )

    _assert_401(response)


# --- refused signatures -----------------------------------------------------------------------


async def test_wrong_key_is_401(owner_api: Signer) -> None:
    response = await _send(owner_api, "GET", "tag-groups", secret=signatures.new_secret_key())

    _assert_401(response)


async def test_key_used_without_base64_decoding_is_401(owner_api: Signer) -> None:
    """A frequent client mistake: HMAC keyed with the base64 text instead of its bytes."""
    wrong = base64.b64encode(owner_api.secret.encode()).decode()

    response = await _send(owner_api, "GET", "tag-groups", secret=wrong)

    _assert_401(response)


@pytest.mark.parametrize("offset_minutes", [-16, -60, -24 * 60, 16, 24 * 60])
async def test_date_outside_the_window_is_401(owner_api: Signer, offset_minutes: int) -> None:
    response = await _send(owner_api, "GET", "tag-groups", date=http_date(offset_minutes * 60))

    _assert_401(response)


async def test_stale_date_refuses_a_write(
    core: Core, tenant: tuple[str, int], owner_api: Signer
) -> None:
    body = orjson.dumps(customer_body())

    response = await _send(owner_api, "POST", "customers", body, date=http_date(-16 * 60))

    _assert_401(response)
    assert await customer_count(core, tenant[1]) == 0


async def test_missing_date_is_401(owner_api: Signer) -> None:
    url = owner_api.url("tag-groups")
    headers = owner_api.headers("GET", url, None)
    del headers["Date"]

    response = await owner_api.client.get(url, headers=headers)

    _assert_401(response)


@pytest.mark.parametrize(
    "date", ["yesterday", "2020-10-21T07:28:00Z", "Mon, 99 Oct 2020 07:28:00 GMT", " "]
)
async def test_unreadable_date_is_401(owner_api: Signer, date: str) -> None:
    response = await _send(owner_api, "GET", "tag-groups", date=date)

    _assert_401(response)


async def test_date_header_must_be_the_signed_date(owner_api: Signer) -> None:
    url = owner_api.url("tag-groups")
    headers = owner_api.headers("GET", url, None, date=http_date(-60))
    headers["Date"] = http_date()

    response = await owner_api.client.get(url, headers=headers)

    _assert_401(response)


async def test_altered_body_is_401_and_writes_nothing(
    core: Core, tenant: tuple[str, int], owner_api: Signer
) -> None:
    signed = orjson.dumps(customer_body(firstName="Signed"))
    sent = orjson.dumps(customer_body(firstName="Tampered"))

    response = await _send(owner_api, "POST", "customers", sent, sign_body=signed)

    _assert_401(response)
    assert await customer_count(core, tenant[1]) == 0


async def test_body_sent_but_not_signed_is_401(
    core: Core, tenant: tuple[str, int], owner_api: Signer
) -> None:
    """A request body must be covered by the 4th line of the string to sign."""
    url = owner_api.url("customers")
    body = orjson.dumps(customer_body())
    headers = signed_headers(owner_api.secret, owner_api.login, "POST", url, None)

    response = await owner_api.client.post(url, content=body, headers=headers)

    _assert_401(response)
    assert await customer_count(core, tenant[1]) == 0


async def test_altered_path_is_401(owner_api: Signer) -> None:
    first = await create(owner_api)
    second = await create(owner_api)

    response = await _send(
        owner_api,
        "GET",
        f"customers/{second['id']}",
        sign_url=owner_api.url(f"customers/{first['id']}"),
    )

    _assert_401(response)


async def test_altered_query_is_401(owner_api: Signer) -> None:
    first = await create(owner_api)
    second = await create(owner_api)

    response = await _send(
        owner_api,
        "GET",
        f"customers?email={second['email']}",
        sign_url=owner_api.url(f"customers?email={first['email']}"),
    )

    _assert_401(response)


async def test_added_query_is_401(owner_api: Signer) -> None:
    created = await create(owner_api)

    response = await _send(
        owner_api,
        "GET",
        f"customers/{created['id']}?$expand=tags",
        sign_url=owner_api.url(f"customers/{created['id']}"),
    )

    _assert_401(response)


async def test_altered_method_is_401(owner_api: Signer) -> None:
    created = await create(owner_api, addresses=[{"line1": "1 Main Street"}])
    path = f"customers/{created['id']}/addresses/{created['billingAddress']['id']}"

    response = await _send(owner_api, "DELETE", path, sign_method="GET")

    _assert_401(response)
    assert len((await owner_api.get(f"customers/{created['id']}/addresses")).json()) == 1


async def test_unknown_login_is_401(owner_api: Signer) -> None:
    response = await _send(owner_api, "GET", "tag-groups", login="nobody")

    _assert_401(response)


@pytest.mark.parametrize(
    "authorization",
    [
        "garbage",
        "SpektrixAPI3",
        "SpektrixAPI3 ",
        "SpektrixAPI3 test-user",
        "SpektrixAPI3 test-user:",
        "SpektrixAPI3 :AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "SpektrixAPI3 test-user:not base64!",
        "SpektrixAPI3test-user:AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "SpektrixAPI2 test-user:AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "Basic dGVzdC11c2VyOnNlY3JldA==",
        "Bearer abc.def.ghi",
        "",
        "SpektrixAPI3 test-user:" + "A" * 5000,
    ],
)
async def test_malformed_authorization_is_401(
    http: httpx.AsyncClient, owner_api: Signer, authorization: str
) -> None:
    response = await http.get(
        owner_api.url("customers?email=a@example.org"),
        headers={"Authorization": authorization, "Date": http_date()},
    )

    _assert_401(response)


async def test_basic_auth_with_valid_looking_credentials_is_401(owner_api: Signer) -> None:
    token = base64.b64encode(f"{owner_api.login}:{owner_api.secret}".encode()).decode()

    response = await owner_api.client.get(
        owner_api.url("tag-groups"), headers={"Authorization": f"Basic {token}"}
    )

    _assert_401(response)


async def test_a_replayed_signature_for_another_body_is_401(owner_api: Signer) -> None:
    created = await create(owner_api)
    path = f"customers/{created['id']}"
    url = owner_api.url(path)
    date = http_date()
    first = orjson.dumps({"firstName": "One"})
    headers = signed_headers(owner_api.secret, owner_api.login, "PATCH", url, first, date=date)
    headers["Content-Type"] = "application/json"

    ok = await owner_api.client.patch(url, content=first, headers=headers)
    replayed = await owner_api.client.patch(
        url, content=orjson.dumps({"firstName": "Two"}), headers=headers
    )

    assert ok.status_code == 200
    _assert_401(replayed)
    assert (await owner_api.get(path)).json()["firstName"] == "One"


# --- clients ----------------------------------------------------------------------------------


async def test_unknown_client_is_404(http: httpx.AsyncClient, owner_api: Signer) -> None:
    url = f"{BASE_URL}/no-such-venue/api/v3/customers?email=a@example.org"
    headers = signed_headers(owner_api.secret, owner_api.login, "GET", url, None)

    signed = await http.get(url, headers=headers)
    unsigned = await http.get(url)

    for response in (signed, unsigned):
        assert response.status_code == 404
        assert isinstance(response.json()["message"], str)
