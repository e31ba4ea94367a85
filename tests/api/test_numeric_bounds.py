"""Every parameter of every route of every dialect, given numbers no database column holds.

A number beyond what the database stores (SQLite and PostgreSQL: signed 64 bits), a negative
one, one that is not whole: each route answers with its dialect's own 4xx, never a 5xx (a
Python integer too large for SQLite's INTEGER, PostgreSQL's "out of range" were 500s).

The routes are the route matrix's (``test_route_matrix.MATRIX``); each is called with a valid
caller for it (a signed System Owner, a logged-in session, an API key with both permissions, a
CareCloud token with a customer logged in), valid ids in every other place, and one parameter
at a time replaced. The parameters: the path's, the query parameters in the dialect's OpenAPI
document, and those read by hand (:data:`HAND_READ`). A parameter documented as an integer
given a value no integer column holds gets a 4xx (refused, or "not found" for an id), never a
clamped or ignored value; any other parameter may also find nothing (a 200); none gets a 5xx.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from boxoffice.api.app import create_app
from boxoffice.api.carecloud import mappers as cc
from boxoffice.bootstrap import Core
from boxoffice.domain.ids import resource_code
from boxoffice.services import tenants as tenant_service
from boxoffice.settings import Settings
from tests.api.carecloud.support import Api as CareCloudApi
from tests.api.test_route_matrix import (
    MATRIX,
    _bc_victim,
    _cc_victim,
    _fastapi,
    _victim,
    _web_customer,
)
from tests.api.web.conftest import ORIGIN
from tests.conftest import SECRET, Signer, make_tenant

#: Numbers beyond the databases' integers (signed 64 bits), negative, and not whole: never
#: a valid value of an integer parameter.
BAD_NUMBERS = (
    "99999999999999999999",
    "9223372036854775808",
    "-1",
    "-9223372036854775809",
    "-99999999999999999999",
    "1.5",
    "1e400",
)
#: Numbers at the edges of 64 and 32 bits: valid integers, which may find nothing.
EDGE_NUMBERS = ("9223372036854775807", "4294967296", "2147483648")
#: Path ids that are well formed (their check letters or digits are right) for keys beyond
#: the databases' integers: anybody can make them.
SPEKTRIX_KINDS = {
    "address_id": "address",
    "statement_id": "statement",
    "tag_id": "tag",
    "event_id": "event",
    "instance_id": "instance",
    "plan_id": "plan",
    "area_id": "area",
    "venue_id": "venue",
    "membership_id": "membership",
}


def _crafted(app: str, where: str, name: str) -> tuple[str, ...]:
    if app == "spektrix" and where == "path" and name in SPEKTRIX_KINDS:
        kind = SPEKTRIX_KINDS[name]
        return (resource_code(kind, 2**63), resource_code(kind, 10**19 - 1))
    if app == "carecloud" and where == "path" and name == "customer_id":
        return (cc.encode(cc.CUSTOMER, 2**63), cc.encode(cc.CUSTOMER, 2**64 - 1))
    return ()


#: Parameters the routes read by hand (not in the OpenAPI document), by (app, method, path).
HAND_READ: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("carecloud", "GET", "/customers"): ("customer_ids[]", "customer_ids", "email_list[]"),
    ("carecloud", "GET", "/rewards"): ("customer_type_id[]",),
    ("carecloud", "GET", "/customers/{customer_id}/rewards"): ("customer_type_id[]",),
    ("carecloud", "GET", "/customers/{customer_id}/customer-source-records"): ("external_ids[]",),
}
#: brand/channel reads every parameter from the query string and the body alike, under several
#: spellings: its numeric ones, sent on every route (in the query string).
BC_NUMBERS = (
    "brand_id",
    "brandID",
    "customer_id",
    "customerID",
    "channel_id",
    "ticket_id",
    "itemStart",
    "itemLimit",
    "start",
    "limit",
)
#: The web pages' numeric query and form parameters.
WEB_NUMBERS: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/{client}/website/secure/myaccount.aspx"): ("AddressId", "id", "Saved"),
    ("POST", "/{client}/website/secure/myaccount.aspx"): ("AddressId",),
    ("GET", "/{client}/website/secure/signup.aspx"): ("SignedUp",),
}


def _documented() -> dict[tuple[str, str, str], dict[str, bool]]:
    """(app, method, path) -> {query parameter: documented as an integer}."""
    app = create_app(Settings(database_url="sqlite://", secret_key=SECRET))
    found: dict[tuple[str, str, str], dict[str, bool]] = {}
    for _, observed in app.dialects:
        name = observed.dialect  # type: ignore[attr-defined]
        if name not in ("spektrix", "brandchannel", "carecloud"):
            continue
        document = _fastapi(observed).openapi()
        for path, operations in document["paths"].items():
            if name == "carecloud":
                if "/webservice/" not in path:
                    continue
                path = path.split("/customer-interface/v1.0", 1)[1]
            if name == "brandchannel":
                path = path.replace("{id}", "{id:int}")
            for method, operation in operations.items():
                found[(name, method.upper(), path)] = {
                    p["name"]: _is_integer(p.get("schema", {}))
                    for p in operation.get("parameters", [])
                    if p["in"] == "query"
                }
    return found


def _is_integer(schema: dict[str, Any]) -> bool:
    kinds = [schema, *schema.get("anyOf", [])]
    return any(kind.get("type") == "integer" for kind in kinds)


DOCUMENTED = _documented()


def _parameters(app: str, method: str, path: str) -> Iterator[tuple[str, str, bool]]:
    """(where, name, must be refused): ``where`` is ``path`` or ``query``."""
    for name in re.findall(r"\{(\w+)(?::\w+)?\}", path):
        if name != "client":
            yield "path", name, False
    for name, integer in DOCUMENTED.get((app, method, path), {}).items():
        yield "query", name, integer
    for name in HAND_READ.get((app, method, path), ()):
        yield "query", name, False
    if app == "brandchannel":
        for name in BC_NUMBERS:
            yield "query", name, False
    if app == "web":
        for name in WEB_NUMBERS.get((method, path), ()):
            yield "query", name, False


CASES = [
    (app, method, path, where, name, integer)
    for (app, method, path), kind in sorted(MATRIX.items())
    if app in ("spektrix", "brandchannel", "carecloud", "web")
    and kind not in ("static", "page")
    and method != "MOUNT"
    for where, name, integer in _parameters(app, method, path)
]


def test_the_sweep_covers_every_documented_integer_and_every_path_id() -> None:
    documented = {
        (app, method, path, name)
        for (app, method, path), parameters in DOCUMENTED.items()
        for name, integer in parameters.items()
        if integer
    }
    swept = {(c[0], c[1], c[2], c[4]) for c in CASES if c[5]}
    assert documented and documented <= swept
    assert {(a, m, p) for a, m, p, w, *_ in CASES if w == "path"} >= {
        (a, m, p)
        for (a, m, p) in MATRIX
        if "{" in p.replace("{client}", "") and a in ("spektrix", "brandchannel", "carecloud")
    }


@dataclass
class Callers:
    spektrix_tenant: str
    spektrix_ids: dict[str, str]
    owner: Signer
    session: httpx.AsyncClient
    session_ids: dict[str, str]
    bc_ids: dict[str, str]
    bc_key: str
    carecloud: CareCloudApi
    cc_ids: dict[str, str]


@pytest.fixture
async def callers(http: httpx.AsyncClient, core: Core) -> Callers:
    tenant, ids = await _victim(core)
    secret = await tenant_service.create_api_user(core, tenant, "bounds-user")
    browser = await _web_customer(http, tenant, "bounds@example.org")
    addresses = (await browser.get(f"/{tenant}/api/v3/customer/addresses")).json()
    statements = (await browser.get(f"/{tenant}/api/v3/statements")).json()
    bc_tenant, bc_ids = await _bc_victim(core)
    key = await tenant_service.create_api_key(
        core, bc_tenant, permissions=("CUSTOMER_READ", "CUSTOMER_CUD")
    )
    carecloud, cc_ids = await _cc_victim(http, core)
    return Callers(
        spektrix_tenant=tenant,
        spektrix_ids=ids,
        owner=Signer(http, tenant, "bounds-user", secret),
        session=browser,
        session_ids={"address_id": addresses[0]["id"], "statement_id": statements[0]["id"]},
        bc_ids=bc_ids,
        bc_key=key,
        carecloud=carecloud,
        cc_ids=cc_ids,
    )


def _fill(path: str, ids: dict[str, str], name: str, where: str, value: str) -> str:
    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        return value if where == "path" and key == name else ids[key]

    return re.sub(r"\{(\w+)(?::\w+)?\}", one, path)


def _query(where: str, name: str, value: str) -> dict[str, str]:
    return {name: value} if where == "query" else {}


async def _call(
    callers: Callers,
    http: httpx.AsyncClient,
    case: tuple[str, str, str, str, str, bool],
    value: str,
) -> httpx.Response:
    app, method, path, where, name, _ = case
    kind = MATRIX[(app, method, path)]
    query = _query(where, name, value)
    if app == "spektrix":
        if kind == "session":
            ids = {**callers.spektrix_ids, **callers.session_ids, "client": callers.spektrix_tenant}
            url = _fill(path, ids, name, where, value)
            return await callers.session.request(
                method,
                url,
                params=query,
                content=None if method == "GET" else b"{}",
                headers={"Origin": ORIGIN, "Content-Type": "application/json"},
            )
        ids = {**callers.spektrix_ids, "client": callers.spektrix_tenant}
        url = _fill(path, ids, name, where, value).removeprefix(f"/{callers.spektrix_tenant}")
        relative = url.removeprefix("/api/v3/")
        if query:
            relative += "?" + str(httpx.QueryParams(query))
        if kind == "owner":
            return await callers.owner.request(
                method, relative, raw=None if method == "GET" else b"{}"
            )
        return await http.request(
            method,
            f"/{callers.spektrix_tenant}/api/v3/{relative}",
            content=None if method == "GET" else b"{}",
            headers={"Origin": ORIGIN, "Content-Type": "application/json"},
        )
    if app == "brandchannel":
        url = _fill(path, callers.bc_ids, name, where, value)
        return await http.request(
            method,
            url,
            params=query,
            data=None if method == "GET" else {"firstname": "X"},
            headers={"apiKey": callers.bc_key},
        )
    if app == "carecloud":
        url = _fill(path, callers.cc_ids, name, where, value)
        return await callers.carecloud.request(
            method, url, params=query, raw=None if method == "GET" else b"{}"
        )
    # web pages: the numeric parameter in the query, and in the form of a POST.
    url = path.replace("{client}", callers.spektrix_tenant)
    if method == "GET":
        return await callers.session.get(url, params=query)
    page = await callers.session.get(url)
    match = re.search(r'name="_csrf" value="([0-9a-f]+)"', page.text)
    assert match, page.text[:300]
    form = {"_csrf": match.group(1), "action": "address-save", name: value}
    return await callers.session.post(url, data=form)


def _dialect_error(app: str, response: httpx.Response) -> None:
    """The body of a 4xx is the dialect's own error shape."""
    if app == "web":
        assert response.headers["content-type"].startswith(("text/html", "text/plain"))
        return
    body = response.json()
    if app == "spektrix":
        assert isinstance(body, dict) and "message" in body, body
    elif app == "brandchannel":
        assert set(body) == {"message", "type"}, body
    else:
        assert set(body["error"]) >= {"type", "exception", "title", "detail"}, body


@pytest.mark.parametrize("app", ["spektrix", "brandchannel", "carecloud", "web"])
async def test_numbers_out_of_bounds_get_the_dialects_4xx(
    callers: Callers, http: httpx.AsyncClient, app: str
) -> None:
    """One test per dialect (the callers take a while to set up), every failure listed."""
    failures: list[str] = []
    cases = [c for c in CASES if c[0] == app]
    assert cases
    for case in cases:
        _, method, path, where, name, integer = case
        for value in BAD_NUMBERS + EDGE_NUMBERS + _crafted(app, where, name):
            try:
                response = await _call(callers, http, case, value)
            except Exception as exc:  # the application raised: a 500 for the server
                failures.append(f"{method} {path} {where} {name}={value}: {exc!r}")
                continue
            status = response.status_code
            bad = value not in EDGE_NUMBERS
            if status >= 500 or (integer and bad and not 400 <= status < 500):
                failures.append(f"{method} {path} {where} {name}={value}: {status}")
            elif status >= 400:
                try:
                    _dialect_error(app, response)
                except (AssertionError, ValueError, KeyError) as exc:
                    failures.append(f"{method} {path} {name}={value}: shape {exc!r}")
    assert not failures, "\n".join(failures)


async def test_a_tenant_with_numbers_as_names(http: httpx.AsyncClient, core: Core) -> None:
    """Tenant names are paths too: a number no tenant has is an unknown tenant, in each
    dialect's words."""
    await make_tenant(core)
    for value in BAD_NUMBERS:
        for url, app in (
            (f"/{value}/api/v3/tags", "spektrix"),
            (f"/{value}/rest-api/customer-interface/v1.0/languages", "carecloud"),
            (f"/{value}/api/v2/customer", "brandchannel"),
        ):
            response = await http.get(url)
            assert 400 <= response.status_code < 500, (url, response.text[:300])
            _dialect_error(app, response)
