"""One regression test per bug the fuzzing and the hostile bodies found (issue 8)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from boxoffice.bootstrap import Core
from boxoffice.services import tenants as tenant_service
from boxoffice.settings import Settings
from tests.api.carecloud.support import Api as CareCloudApi
from tests.api.carecloud.support import reasons
from tests.conftest import Signer, make_tenant


async def _document(http: httpx.AsyncClient, dialect: str) -> dict[str, Any]:
    document: dict[str, Any] = (await http.get(f"/openapi/{dialect}.json")).json()
    return document


async def test_spektrix_documents_both_400_shapes_of_create(http: httpx.AsyncClient) -> None:
    """An invalid field answered ``{message, modelState}``, which the document did not allow
    (it only described the duplicate body)."""
    document = await _document(http, "spektrix")
    schema = document["paths"]["/{client}/api/v3/customers"]["post"]["responses"]["400"]
    refs = {
        option["$ref"].rsplit("/", 1)[1]
        for option in schema["content"]["application/json"]["schema"]["anyOf"]
    }
    assert refs == {"Error", "DuplicateEntry"}


async def test_spektrix_documents_429_where_it_rate_limits(http: httpx.AsyncClient) -> None:
    document = await _document(http, "spektrix")
    for path in ("customer", "customer/authenticate", "customer/forgot-password"):
        operation = document["paths"][f"/{{client}}/api/v3/{path}"]["post"]
        assert "429" in operation["responses"], path
    assert "429" not in document["paths"]["/{client}/api/v3/customers"]["post"]["responses"]


async def test_carecloud_documents_503_where_it_answers_it(http: httpx.AsyncClient) -> None:
    """A full sign-up lane (registration) or mail that cannot be sent (password setup,
    newsletter confirmation) is a 503; nothing else answers one."""
    document = await _document(http, "carecloud")
    answering = {
        "/customers",
        "/tokens/{token_id}/actions/send-password-setup-email",
        "/customers/actions/newsletters-sign-up",
    }
    documented = [
        path
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "503" in operation["responses"]
    ]
    # Each under the document's base path(s), as a POST.
    assert {path.split("/v1.0", 1)[1] for path in documented} == answering
    assert all(
        "503" in document["paths"][path]["post"]["responses"]
        for path in document["paths"]
        if path.split("/v1.0", 1)[1] in answering
    )


async def test_spektrix_deep_nesting_is_a_400_not_a_recursion_error(owner_api: Signer) -> None:
    body = b'{"firstName": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    response = await owner_api.request("POST", "customers", raw=body)
    assert response.status_code == 400
    assert response.json()["message"] == "body: nested deeper than 32 levels"


async def test_brandchannel_json_scalars_are_documented_as_accepted(
    http: httpx.AsyncClient, core: Core
) -> None:
    """A JSON number where the form takes text is read as its text (as a form would send it):
    the document now says so for JSON bodies instead of promising a refusal."""
    tenant, _ = await make_tenant(core)
    key = await tenant_service.create_api_key(
        core, tenant, permissions=("CUSTOMER_READ", "CUSTOMER_CUD")
    )
    found = await http.post(
        "/api/v2/customer/SearchByPrimaryExternalID",
        json={"primary_id": 6},
        headers={"apiKey": key},
    )
    assert found.status_code < 500 and found.json()["type"] in ("result", "error", "customer")
    document = await _document(http, "brandchannel")
    content = document["paths"]["/api/v2/customer/SearchByPrimaryExternalID"]["post"][
        "requestBody"
    ]["content"]
    assert content["application/json"]["schema"]["$ref"].endswith("/SearchByPrimaryExternalIDJson")
    assert content["multipart/form-data"]["schema"]["$ref"].endswith("/SearchByPrimaryExternalID")
    as_json = document["components"]["schemas"]["SearchByPrimaryExternalIDJson"]["properties"]
    assert {o["type"] for o in as_json["primary_id"]["anyOf"]} == {"string", "number", "boolean"}


async def test_carecloud_array_filters_are_bounded(http: httpx.AsyncClient, core: Core) -> None:
    """``customer_type_id[]`` on rewards (and ``external_ids[]``, see test_records) took any
    number of values; the vendor allows at most 1000."""
    api = CareCloudApi(http, (await make_tenant(core))[0])
    customer_id = await api.logged_in()
    path = f"customers/{customer_id}/rewards"
    assert (await api.get(path, params={"customer_type_id[]": ["a"] * 3})).status_code == 200
    too_many = await api.get(path, params={"customer_type_id[]": ["a"] * 1001})
    assert reasons(too_many) == {"customer_type_id": "invalid_value_format"}


async def test_web_page_answers_an_unparsable_form_as_a_page(
    http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    response = await http.post(
        f"/{tenant[0]}/website/Secure/SetPassword.aspx",
        content=b"--x\r\nnot multipart",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")


async def test_web_page_refuses_a_chunked_oversized_form_with_413(
    http: httpx.AsyncClient, tenant: tuple[str, int], settings: Settings
) -> None:
    """Without Content-Length the form parser turned the limit into its own 400 JSON."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(settings.max_body_bytes // 65_536 + 2):
            yield b"token=" + b"x" * 65_530

    response = await http.post(
        f"/{tenant[0]}/website/Secure/SetPassword.aspx",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")


async def test_carecloud_refuses_a_repeated_single_value_parameter(
    http: httpx.AsyncClient, core: Core
) -> None:
    """``?name=a&name=b`` was answered with one of the two, silently; array filters still take
    many values."""
    api = CareCloudApi(http, (await make_tenant(core))[0])
    await api.logged_in()
    repeated = await api.get("interests", params={"name": ["Drama", "Music"]})
    assert reasons(repeated) == {"name": "invalid_value_format"}
    many = await api.get("customers", params={"customer_ids[]": ["a", "b"]})
    assert many.status_code == 200, many.text


async def test_nul_in_a_looked_up_text_finds_nothing(
    http: httpx.AsyncClient, core: Core, owner_api: Signer
) -> None:
    """On PostgreSQL a NUL in a lookup value (an email to mail a reset link to, a tenant name in
    the path) was a database error, a 500; it now matches nothing, as on SQLite."""
    tenant = owner_api.tenant
    reset = await http.post(
        f"/{tenant}/api/v3/customer/forgot-password",
        json={"emailAddress": "a\x00@example.org"},
        headers={"Origin": "http://localhost:8080"},
    )
    assert reset.status_code in (400, 404), reset.text
    login = await http.post(
        f"/{tenant}/api/v3/customer/authenticate",
        json={"email": "a\x00@example.org", "password": "whatever it is"},
        headers={"Origin": "http://localhost:8080"},
    )
    assert login.status_code in (400, 404), login.text
    found = await owner_api.get("customers?email=a%00@example.org")
    assert found.status_code in (400, 404), found.text
    unknown = await http.get("/a%00b/api/v3/tags")
    assert unknown.status_code == 404, unknown.text
