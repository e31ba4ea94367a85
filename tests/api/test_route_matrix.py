"""Every route of every dialect, against every kind of wrong caller.

Routes are read from the application itself, so a new route is in the matrix the moment it
exists: it is treated as System Owner only unless listed in ``PUBLIC`` below.
"""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.routing import APIRoute

from boxoffice.api.brandchannel import routes as brandchannel_routes
from boxoffice.api.spektrix import routes as spektrix_routes
from boxoffice.bootstrap import Core
from boxoffice.domain.commands import NewAddress, NewBrandCustomer, NewChannel, NewCustomer
from boxoffice.domain.ids import customer_code, resource_code
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import ApiKeyCaller
from boxoffice.services import brandchannel as brandchannel_service
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


# --- brand/channel (apiKey header; the tenant comes from the key) -----------------------------

V2 = "/api/v2"
BC_ROUTES = sorted(
    (method, route.path)
    for route in brandchannel_routes.router.routes
    if isinstance(route, APIRoute)
    for method in route.methods
)
#: Routes that need ``CUSTOMER_READ``; every other one needs ``CUSTOMER_CUD``.
BC_READS = {
    ("GET", f"{V2}/customer"),
    ("GET", f"{V2}/customer/{{id:int}}"),
    ("POST", f"{V2}/customer/SearchByPrimaryExternalID"),
    ("POST", f"{V2}/customer/SearchByCustomerChannelValue"),
    ("GET", f"{V2}/customer/timelineByCustomerExternalID"),
}
#: Routes that, given another tenant's ids, answer 200 in the caller's own tenant: lists and
#: searches (finding nothing), and creates (a new customer of the caller's).
BC_OWN_TENANT = BC_READS - {
    ("GET", f"{V2}/customer/{{id:int}}"),
    ("GET", f"{V2}/customer/timelineByCustomerExternalID"),
} | {("POST", f"{V2}/customer"), ("POST", f"{V2}/customer/createCustomerCRUD")}
BC_UNAUTHORIZED = {"message": "A valid apiKey header is required.", "type": "error"}


async def _bc_victim(core: Core) -> tuple[str, dict[str, str]]:
    """A tenant with a customer of brand 1: an external id and an email channel."""
    name, tenant_id = await make_tenant(core)
    owner = ApiKeyCaller(
        principal=Principal(tenant_id=tenant_id, actor="test", full_access=True),
        brand_id=None,
        permissions=frozenset({"CUSTOMER_READ", "CUSTOMER_CUD"}),
    )
    view = await brandchannel_service.create_customer(
        core,
        owner,
        NewBrandCustomer(
            brand_id=1,
            external_primary_id="VICTIM-1",
            first_name="Victim",
            channels=(NewChannel(type="email", value="victim@example.org"),),
        ),
    )
    return name, {
        "id": str(view.id),
        "ext": "VICTIM-1",
        "email": "victim@example.org",
        "channel_id": str(view.channels[0].id),
    }


def _bc_request(template: str, ids: dict[str, str]) -> tuple[str, dict[str, str] | None]:
    """The route's path and query, filled with the victim's ids."""
    path = template.replace("{id:int}", ids["id"])
    query = {"brand_id": "1", "customer_id": ids["id"], "external_id": ids["ext"]}
    if template.endswith("/channel"):
        query["channel_id"] = ids["channel_id"]
    return path, query


#: One body for every write, naming the victim's customer in each spelling the API accepts.
def _bc_body(ids: dict[str, str]) -> dict[str, str]:
    return {
        "customer_id": ids["id"],
        "primary_id": ids["ext"],
        "brand_id": "1",
        "customerChannelValue": ids["email"],
        "firstname": "Attacker",
        "extra_twitter": "attacker",
        "message": "attacker was here",
        "channel": "email",
        "address": ids["email"],
    }


async def _bc_call(
    http: httpx.AsyncClient,
    method: str,
    template: str,
    ids: dict[str, str],
    key: str | None,
    *,
    tenant: str | None = None,
) -> httpx.Response:
    path, query = _bc_request(template, ids)
    if tenant is not None:
        path = f"/{tenant}{path}"
    headers = {"apiKey": key} if key is not None else {}
    body = None if method == "GET" else _bc_body(ids)
    return await http.request(method, path, params=query, data=body, headers=headers)


@pytest.fixture
async def bc_matrix(core: Core) -> tuple[str, dict[str, str], dict[str, str], str]:
    """(victim tenant, victim ids, victim keys by permission, the attacker's full key)."""
    victim, ids = await _bc_victim(core)
    attacker, _ = await make_tenant(core)
    both = ("CUSTOMER_READ", "CUSTOMER_CUD")
    keys = {
        "CUSTOMER_READ": await tenant_service.create_api_key(
            core, victim, permissions=("CUSTOMER_READ",)
        ),
        "CUSTOMER_CUD": await tenant_service.create_api_key(
            core, victim, permissions=("CUSTOMER_CUD",)
        ),
    }
    attacker_key = await tenant_service.create_api_key(core, attacker, permissions=both)
    return victim, ids, keys, attacker_key


def test_the_brandchannel_matrix_knows_every_route() -> None:
    assert len(BC_ROUTES) == 16
    assert set(BC_ROUTES) >= BC_READS | BC_OWN_TENANT


@pytest.mark.parametrize(("method", "template"), BC_ROUTES)
async def test_brandchannel_no_or_wrong_key(
    bc_matrix: tuple[str, dict[str, str], dict[str, str], str],
    http: httpx.AsyncClient,
    method: str,
    template: str,
) -> None:
    victim, ids, _, _ = bc_matrix
    for key in (None, "", "bo_wrong-key"):
        for tenant in (None, victim):
            response = await _bc_call(http, method, template, ids, key, tenant=tenant)
            assert response.status_code == 401, (key, tenant, response.text)
            assert response.json() == BC_UNAUTHORIZED


@pytest.mark.parametrize(("method", "template"), BC_ROUTES)
async def test_brandchannel_key_of_another_tenant(
    bc_matrix: tuple[str, dict[str, str], dict[str, str], str],
    http: httpx.AsyncClient,
    method: str,
    template: str,
) -> None:
    """The attacker's own key, at the victim's tenant path: refused like an unknown key."""
    victim, ids, _, attacker_key = bc_matrix
    response = await _bc_call(http, method, template, ids, attacker_key, tenant=victim)
    assert response.status_code == 401
    assert response.json() == BC_UNAUTHORIZED


@pytest.mark.parametrize(("method", "template"), BC_ROUTES)
async def test_brandchannel_another_tenants_ids_look_missing(
    bc_matrix: tuple[str, dict[str, str], dict[str, str], str],
    http: httpx.AsyncClient,
    method: str,
    template: str,
) -> None:
    """The attacker, in its own tenant, naming the victim's ids: not found, never data."""
    _, ids, keys, attacker_key = bc_matrix
    response = await _bc_call(http, method, template, ids, attacker_key)
    if (method, template) in BC_OWN_TENANT:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body.get("itemTotal", 0) == 0 or method == "POST"
    elif template.endswith("/syncWithCRM"):
        assert response.status_code == 400  # the attacker's brand has no CRM
    else:
        assert response.status_code == 404, response.text
    for value in (ids["id"], ids["email"], "victim"):
        assert value not in response.text.lower()
    # The victim's customer is as it was.
    check = await http.get(f"{V2}/customer/{ids['id']}", headers={"apiKey": keys["CUSTOMER_READ"]})
    assert check.json()["firstname"] == "Victim"
    assert check.json()["channels"] == [
        {"id": int(ids["channel_id"]), "type": "email", "value": ids["email"]}
    ]


@pytest.mark.parametrize(("method", "template"), BC_ROUTES)
async def test_brandchannel_missing_permission(
    bc_matrix: tuple[str, dict[str, str], dict[str, str], str],
    http: httpx.AsyncClient,
    method: str,
    template: str,
) -> None:
    """A key with only the other permission: 403, naming the one it lacks."""
    victim, ids, keys, _ = bc_matrix
    needed = "CUSTOMER_READ" if (method, template) in BC_READS else "CUSTOMER_CUD"
    other = keys["CUSTOMER_CUD" if needed == "CUSTOMER_READ" else "CUSTOMER_READ"]
    for tenant in (None, victim):
        response = await _bc_call(http, method, template, ids, other, tenant=tenant)
        assert response.status_code == 403, response.text
        assert response.json() == {
            "message": f"This API key does not have the {needed} permission.",
            "type": "error",
        }


# --- carecloud -------------------------------------------------------------------------------

import base64  # noqa: E402

from boxoffice.api.carecloud import routes as carecloud_routes  # noqa: E402
from boxoffice.services import catalogue as catalogue_service  # noqa: E402
from tests.api.carecloud.support import Api as CareCloudApi  # noqa: E402

CC_ROUTES = sorted(
    (method, route.path)
    for route in carecloud_routes.router.routes
    if isinstance(route, APIRoute)
    for method in route.methods
)
#: Routes that need no token at all (the vendor's ``security: []``).
CC_OPEN = {
    ("POST", "/tokens"),
    ("GET", "/languages"),
    ("GET", "/tests/connection"),
    ("POST", "/customers/actions/validate-customer-data"),
}
#: Routes that answer any token; every other one needs a customer logged in on the token.
CC_ANY_TOKEN = {
    (m, p)
    for m, p in CC_ROUTES
    if not p.startswith("/customers/{customer_id}")
    and (m, p) != ("GET", "/customers")
    and not p.startswith("/tokens/{token_id}")
} | {(m, p) for m, p in CC_ROUTES if p.startswith("/tokens/{token_id}")}
CC_BODY = b'{"setup": {"language_id": "en", "allowed_gps": true, "allowed_notifications": true}}'


def _cc_kind(method: str, template: str) -> str:
    if (method, template) in CC_OPEN:
        return "open"
    if (method, template) in CC_ANY_TOKEN:
        return "token"
    return "customer"


VICTIM_CATALOGUE = {
    "statements": [{"text": "Victim statement"}],
    "stores": [{"name": "Victim Store"}],
    "interests": [{"name": "Victim Interest", "tag": "Interests/Family"}],
    "customer_properties": [{"code": "hidden_prop", "name": "Victim Prop"}],
    "rewards": [{"code": "VICTIM", "name": "Victim Reward"}],
    "customer_sources": [{"code": "victim", "name": "Victim Source"}],
}


async def _cc_victim(
    http: httpx.AsyncClient, core: Core, *, victim: bool = False
) -> tuple[CareCloudApi, dict[str, str]]:
    """A tenant with a customer logged in on a token, an interest, a property, an address.
    The victim's catalogue has one more item of each kind, and its ids name those."""
    name, _ = await make_tenant(core)
    if victim:
        await catalogue_service.load_catalogue(core, name, VICTIM_CATALOGUE)
    api = CareCloudApi(http, name)
    customer_id = await api.logged_in()
    interests = await api.ids("interests", "interests", "interest_id")
    types = await api.ids("customer-address-types", "customer_address_types", "address_type_id")
    record = await api.post(
        f"customers/{customer_id}/interest-records",
        {"interest_record": {"interest_id": interests["Drama"], "customer_id": customer_id}},
    )
    address = await api.post(
        f"customers/{customer_id}/addresses",
        {"additional_address": {"address_type": types["Other address"], "address": {}}},
    )
    await api.post(
        f"customers/{customer_id}/property-records",
        {"property_record": {"property_id": "wedding_date", "property_value": "2001-08-13"}},
    )
    prefix = "Victim" if victim else ""

    def pick(found: dict[str, str]) -> str:
        return next(v for k, v in found.items() if k.startswith(prefix))

    ids = {
        "token_id": api.token or "",
        "customer_id": customer_id,
        "store_id": pick(await api.ids("stores", "stores", "store_id")),
        "interest_id": pick(interests),
        "customer_property_id": "hidden_prop" if victim else "wedding_date",
        "customer_source_id": pick(
            await api.ids("customer-sources", "customer_sources", "customer_source_id")
        ),
        "agreement_id": pick(await api.ids("agreements", "agreements", "agreement_id", "name")),
        "reward_id": pick(await api.ids("rewards", "rewards", "reward_id")),
        "interest_record_id": record.json()["data"]["interest_record_id"],
        "property_record_id": f"wedding_date:{customer_id}",
        "additional_customer_address_id_path": address.json()["data"]["additional_address_id"],
    }
    return api, ids


def _cc_path(template: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], template)


@pytest.fixture
async def cc_matrix(
    http: httpx.AsyncClient, core: Core
) -> tuple[CareCloudApi, dict[str, str], CareCloudApi, dict[str, str]]:
    victim, victim_ids = await _cc_victim(http, core, victim=True)
    attacker, attacker_ids = await _cc_victim(http, core)
    return victim, victim_ids, attacker, attacker_ids


def _cc_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["exception"] == "unauthorized_exception" and error["error_data"] == {}


def test_the_carecloud_matrix_knows_every_route() -> None:
    assert len(CC_ROUTES) >= 44
    assert set(CC_ROUTES) >= CC_OPEN


@pytest.mark.parametrize(("method", "template"), CC_ROUTES)
async def test_carecloud_without_a_valid_token(
    cc_matrix: tuple[CareCloudApi, dict[str, str], CareCloudApi, dict[str, str]],
    method: str,
    template: str,
) -> None:
    """No token, a wrong one, another tenant's (valid there), or a legacy Basic one with an
    unknown user: refused alike."""
    victim, ids, attacker, _ = cc_matrix
    for token, headers in (
        ("", {}),
        ("0" * 72, {}),
        (attacker.token or "", {}),
        (
            "",
            {
                "Authorization": "Basic "
                + base64.b64encode(f"nobody:{victim.token}".encode()).decode()
            },
        ),
    ):
        response = await victim.request(
            method,
            _cc_path(template, ids),
            raw=CC_BODY if method != "GET" else None,
            token=token,
            headers=headers,
        )
        if _cc_kind(method, template) == "open":
            assert response.status_code < 500 and response.status_code != 401, response.text
        else:
            _cc_unauthorized(response)


@pytest.mark.parametrize(
    ("method", "template"), [r for r in CC_ROUTES if "{" in r[1] or r[1] == "/customers"]
)
async def test_carecloud_another_tenants_ids_look_missing(
    cc_matrix: tuple[CareCloudApi, dict[str, str], CareCloudApi, dict[str, str]],
    method: str,
    template: str,
) -> None:
    """The attacker, with its own logged-in token on its own tenant, naming the victim's ids."""
    _, victim_ids, attacker, attacker_ids = cc_matrix
    ids = {**victim_ids, "token_id": victim_ids["token_id"]}
    if template == "/customers":  # a filter naming the victim matches nobody
        response = await attacker.get(
            "customers", params={"customer_ids[]": victim_ids["customer_id"]}
        )
        assert response.json()["data"] == {"customers": [], "total_items": 0}
        return
    response = await attacker.request(
        method, _cc_path(template, ids), raw=CC_BODY if method != "GET" else None
    )
    assert 400 <= response.status_code < 500, response.text
    if template.startswith("/customers/{customer_id}"):
        params = response.json()["error"]["error_data"]["invalid_params"]
        assert params[0]["reason"] == "not_belong_to_logged_in_customer"
    elif "{" in template:
        assert response.status_code == 404, response.text
    assert victim_ids["customer_id"] not in response.text
    assert "victim" not in response.text.lower()
    # The same request with the attacker's own ids reaches its own data (or a 400 on the body).
    own = await attacker.request(
        method, _cc_path(template, attacker_ids), raw=CC_BODY if method != "GET" else None
    )
    assert own.status_code not in (401, 403, 404, 500), own.text


@pytest.mark.parametrize(
    ("method", "template"), [r for r in CC_ROUTES if _cc_kind(*r) == "customer"]
)
async def test_carecloud_a_token_of_another_customer(
    cc_matrix: tuple[CareCloudApi, dict[str, str], CareCloudApi, dict[str, str]],
    method: str,
    template: str,
) -> None:
    """Another customer of the same tenant, logged in on its own token: not theirs."""
    victim, ids, _, _ = cc_matrix
    neighbour = CareCloudApi(victim.client, victim.tenant)
    await neighbour.logged_in()
    response = await neighbour.request(
        method, _cc_path(template, ids), raw=CC_BODY if method != "GET" else None
    )
    if template == "/customers":
        assert response.status_code == 200
        assert ids["customer_id"] not in response.text
        return
    assert response.status_code == 400, response.text
    params = response.json()["error"]["error_data"]["invalid_params"]
    assert params[0]["reason"] == "not_belong_to_logged_in_customer"
    # And a token with nobody logged in is refused outright.
    anonymous = CareCloudApi(victim.client, victim.tenant)
    anonymous.token = await anonymous.new_token()
    refused = await anonymous.request(
        method, _cc_path(template, ids), raw=CC_BODY if method != "GET" else None
    )
    assert refused.status_code == 403, refused.text
