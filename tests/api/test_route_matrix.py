"""Every route of every dialect, against every kind of wrong caller.

Routes are read from the application itself, so a new route is in the matrix the moment it
exists: it is treated as System Owner only unless listed in ``PUBLIC`` below.
"""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.routing import APIRoute

from boxoffice.api.spektrix import routes as spektrix_routes
from boxoffice.bootstrap import Core
from boxoffice.domain.commands import NewAddress, NewCustomer
from boxoffice.domain.ids import customer_code, resource_code
from boxoffice.domain.principal import Principal
from boxoffice.services import customers as svc
from boxoffice.services import tenants as tenant_service
from tests.conftest import Signer, make_tenant

V3 = "/{client}/api/v3"
#: Routes that answer in web mode (no credentials) with 200.
PUBLIC = {
    ("GET", f"{V3}/tag-groups"),
    ("GET", f"{V3}/tags"),
    ("GET", f"{V3}/statements"),
    ("GET", f"{V3}/memberships"),
    ("GET", f"{V3}/countries"),
    ("GET", f"{V3}/countries/{{iso_code}}"),
}
#: Web-mode routes anybody may call (sign-up, logging in): never a 401, never a 5xx.
OPEN = {
    ("POST", f"{V3}/customer"),
    ("POST", f"{V3}/customer/authenticate"),
    ("POST", f"{V3}/customer/deauthenticate"),
    ("POST", f"{V3}/customer/forgot-password"),
    ("POST", f"{V3}/customer/send-magic-link"),
    ("POST", f"{V3}/customer/authenticate-magic-link"),
}
#: Every other ``/customer`` route needs a logged-in customer (cookie session); all the rest are
#: System Owner only.


def _kind(method: str, template: str) -> str:
    if (method, template) in PUBLIC:
        return "public"
    if (method, template) in OPEN:
        return "open"
    if template == f"{V3}/customer" or template.startswith(f"{V3}/customer/"):
        return "session"
    return "owner"


ROUTES = sorted(
    (method, route.path)
    for route in spektrix_routes.router.routes
    if isinstance(route, APIRoute)
    for method in route.methods
)


async def _victim(core: Core) -> tuple[str, dict[str, str]]:
    """A tenant with a customer, a tag on it, an agreed statement and an address."""
    name, tenant_id = await make_tenant(core)
    owner = Principal(tenant_id=tenant_id, actor="test", full_access=True)
    async with core.uow(tenant_id) as uow:
        tag = (await uow.catalogue.tags())[0].id
        statement = (await uow.catalogue.statements())[0].id
    view = await svc.create_customer(
        core,
        owner,
        NewCustomer(
            first_name="V",
            last_name="Ictim",
            email="victim@example.org",
            tag_ids=(tag,),
            statement_ids=(statement,),
            addresses=(NewAddress(line1="1 Street"),),
        ),
    )
    return name, {
        "id": customer_code(view.id),
        "tag_id": resource_code("tag", tag),
        "statement_id": resource_code("statement", statement),
        "address_id": resource_code("address", view.addresses[0].id),
        "iso_code": "GB",
    }


def _path(template: str, client: str, ids: dict[str, str]) -> str:
    path = template.replace("{client}", client)
    path = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)
    if template.endswith("/customers") or "/customers/tags/" in path:
        path += f"?email=victim@example.org&id={ids['id']}"
    return path.removeprefix(f"/{client}/api/v3/")


BODY = b'{"id": "x", "firstName": "A", "lastName": "B", "email": "new@example.org"}'


@pytest.fixture
async def matrix(http: httpx.AsyncClient, core: Core) -> tuple[str, dict[str, str], Signer, Signer]:
    victim, ids = await _victim(core)
    attacker, _ = await make_tenant(core)
    victim_key = await tenant_service.create_api_user(core, victim, "victim-user")
    attacker_key = await tenant_service.create_api_user(core, attacker, "attacker-user")
    return (
        victim,
        ids,
        Signer(http, victim, "victim-user", victim_key),
        Signer(http, attacker, "attacker-user", attacker_key),
    )


def test_the_matrix_knows_every_route() -> None:
    assert len(ROUTES) >= 20
    assert set(ROUTES) >= PUBLIC


@pytest.mark.parametrize(("method", "template"), ROUTES)
async def test_no_credentials(
    matrix: tuple[str, dict[str, str], Signer, Signer],
    http: httpx.AsyncClient,
    method: str,
    template: str,
) -> None:
    victim, ids, _, _ = matrix
    url = f"/{victim}/api/v3/{_path(template, victim, ids)}"
    response = await http.request(method, url, content=BODY if method != "GET" else None)
    kind = _kind(method, template)
    if kind == "public":
        assert response.status_code == 200
    elif kind == "open":
        assert response.status_code < 500 and response.status_code != 401, response.text
    else:
        assert response.status_code == 401
        assert response.json() == {"message": "Authorization has been denied for this request."}


@pytest.mark.parametrize(("method", "template"), ROUTES)
async def test_wrong_credentials(
    matrix: tuple[str, dict[str, str], Signer, Signer], method: str, template: str
) -> None:
    victim, ids, good, _ = matrix
    forged = Signer(good.client, victim, "victim-user", "d3Jvbmcga2V5IHdyb25nIGtleQ==")
    response = await forged.request(
        method, _path(template, victim, ids), raw=BODY if method != "GET" else None
    )
    if _kind(method, template) == "open":  # web mode: a signature is not a credential here
        assert response.status_code < 500
    else:
        assert response.status_code == 401


@pytest.mark.parametrize(("method", "template"), ROUTES)
async def test_another_tenants_credentials(
    matrix: tuple[str, dict[str, str], Signer, Signer], method: str, template: str
) -> None:
    """The attacker's own key, signed for the victim's URL: refused."""
    victim, ids, _, attacker = matrix
    misused = Signer(attacker.client, victim, attacker.login, attacker.secret)
    response = await misused.request(
        method, _path(template, victim, ids), raw=BODY if method != "GET" else None
    )
    if _kind(method, template) == "open":
        assert response.status_code < 500
    else:
        assert response.status_code == 401


@pytest.mark.parametrize(
    ("method", "template"),
    [
        r
        for r in ROUTES
        if _kind(*r) == "owner"
        and ("{" in r[1].removeprefix("/{client}") or r[1].endswith("/customers"))
    ],
)
async def test_another_tenants_ids_look_missing(
    matrix: tuple[str, dict[str, str], Signer, Signer], method: str, template: str
) -> None:
    """The attacker, on its own tenant, naming the victim's ids: not found, never data."""
    _, ids, _, attacker = matrix
    path = _path(template, attacker.tenant, ids)
    response = await attacker.request(method, path, raw=BODY if method != "GET" else None)
    if (method, template) == ("POST", "/{client}/api/v3/customers"):
        assert response.status_code == 200  # creating in one's own tenant is allowed
        assert response.json()["email"] == "new@example.org"
        return
    assert response.status_code == 404, response.text
    assert "victim" not in response.text.lower()
