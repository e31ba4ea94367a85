"""The apiKey header, the two permissions, and keys limited to one brand."""

from __future__ import annotations

import httpx
import pytest

from boxoffice.bootstrap import Core
from boxoffice.services import tenants as tenant_service
from tests.api.brandchannel.conftest import Keys
from tests.api.brandchannel.support import (
    UNAUTHORIZED,
    Api,
    assert_error,
    assert_result,
    unique,
    unique_email,
)
from tests.conftest import make_tenant

#: (method, path, body): one call of every endpoint, on customer ``{id}`` / external id ``{ext}``.
READS = [
    ("GET", "customer", None),
    ("GET", "customer/{id}", None),
    ("POST", "customer/SearchByPrimaryExternalID", {"primary_id": "{ext}", "brand_id": 1}),
    ("POST", "customer/SearchByCustomerChannelValue", {"customerChannelValue": "x@example.org"}),
    ("GET", "customer/timelineByCustomerExternalID?brand_id=1&external_id={ext}", None),
]
WRITES = [
    ("POST", "customer", {"brand_id": 1}),
    ("PUT", "customer", {"customerID": "{id}", "firstname": "A"}),
    ("PUT", "customer/{id}", {"firstname": "A"}),
    ("POST", "customer/addChannelOnly", {"customer_id": "{id}", "extra_twitter": "a"}),
    ("PUT", "customer/updateCustomer", {"externalPrimaryID": "{ext}", "brandID": 1}),
    ("POST", "customer/externalEvent", {"customer_id": "{id}", "message": "m"}),
    ("POST", "customer/syncWithCRM", {"brandID": 1, "channel": "email", "address": "a@b.cz"}),
    ("POST", "customer/createCustomerCRUD", {"brandID": 1}),
    ("DELETE", "customer/{id}/channel?channel_id=1", None),
    ("DELETE", "customer/{id}/purgeData", None),
    ("DELETE", "customer/{id}", None),
]


async def _call(
    api: Api, method: str, path: str, body: dict[str, object] | None, ids: dict[str, str]
) -> httpx.Response:
    path = path.format(**ids)
    fields = None if body is None else {k: str(v).format(**ids) for k, v in body.items()}
    return await api.request(method, path, fields)


async def _ids(api: Api) -> dict[str, str]:
    external = unique()
    return {"id": str(await api.create(brand_id=1, primary_id=external)), "ext": external}


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=lambda v: str(v))
async def test_a_read_key_cannot_write(
    api: Api, keys: Keys, method: str, path: str, body: dict[str, object] | None
) -> None:
    ids = await _ids(api)
    response = await _call(api.with_key(keys.read), method, path, body, ids)
    assert_error(response, 403, "CUSTOMER_CUD")
    assert (await api.customer(int(ids["id"])))["external_primary_id"] == ids["ext"]


@pytest.mark.parametrize(("method", "path", "body"), READS, ids=lambda v: str(v))
async def test_a_write_key_cannot_read(
    api: Api, keys: Keys, method: str, path: str, body: dict[str, object] | None
) -> None:
    ids = await _ids(api)
    response = await _call(api.with_key(keys.cud), method, path, body, ids)
    assert_error(response, 403, "CUSTOMER_READ")


@pytest.mark.parametrize(("method", "path", "body"), READS + WRITES, ids=lambda v: str(v))
async def test_no_key_or_an_unknown_key_is_401(
    api: Api, method: str, path: str, body: dict[str, object] | None
) -> None:
    ids = await _ids(api)
    for key in (None, "", "bo_unknown", "x" * 500):
        response = await _call(api.with_key(key), method, path, body, ids)
        assert response.status_code == 401, (key, response.text)
        assert response.json() == UNAUTHORIZED


async def test_key_is_read_from_the_header_only(api: Api, keys: Keys) -> None:
    response = await api.http.get("/api/v2/customer", params={"apiKey": keys.full})
    assert response.status_code == 401
    headers = {"APIKEY": keys.full}
    assert (await api.http.get("/api/v2/customer", headers=headers)).status_code == 200
    latin = await api.http.get("/api/v2/customer", headers={"apiKey": "b\xfcro".encode("latin-1")})
    assert latin.status_code == 401


async def test_a_key_of_another_tenant_in_the_tenant_path_is_401(
    http: httpx.AsyncClient, core: Core, keys: Keys, bc_tenant: tuple[str, int]
) -> None:
    other, _ = await make_tenant(core)
    response = await Api(http, keys.full, tenant=other).get("customer")
    assert response.status_code == 401 and response.json() == UNAUTHORIZED
    unknown = await Api(http, keys.full, tenant="no-such-tenant").get("customer")
    assert unknown.status_code == 401
    own = await Api(http, keys.full, tenant=bc_tenant[0]).get("customer")
    assert own.status_code == 200


async def test_another_tenants_customers_look_missing(
    http: httpx.AsyncClient, core: Core, api: Api
) -> None:
    external = unique()
    victim = await api.create(brand_id=1, primary_id=external, extra_email=unique_email())
    attacker_tenant, _ = await make_tenant(core)
    key = await tenant_service.create_api_key(
        core, attacker_tenant, permissions=("CUSTOMER_READ", "CUSTOMER_CUD")
    )
    attacker = Api(http, key)
    assert_error(await attacker.get(f"customer/{victim}"), 404)
    assert_error(await attacker.put(f"customer/{victim}", {"firstname": "X"}), 404)
    assert_error(await attacker.delete(f"customer/{victim}/purgeData"), 404)
    assert_error(await attacker.delete(f"customer/{victim}"), 404)
    found = await attacker.post(
        "customer/SearchByPrimaryExternalID", {"primary_id": external, "brand_id": 1}
    )
    assert found.json()["itemTotal"] == 0
    assert (await attacker.get("customer")).json()["itemTotal"] == 0
    assert (await api.customer(victim))["external_primary_id"] == external


async def test_a_key_limited_to_a_brand(api: Api, keys: Keys) -> None:
    brand1 = await api.create(brand_id=1, primary_id=unique())
    external = unique()
    limited = api.with_key(keys.brand2)
    # Creates in its own brand (by default, or named); another brand is refused.
    own = await limited.create(primary_id=external)
    assert (await limited.customer(own))["brand_id"] == 2
    assert_error(await limited.post("customer", {"brand_id": 1}), 403, "limited to brand 2")
    assert_error(await limited.get("customer", brand_id=1), 403, "brand 2")
    # It sees only its brand's customers; others look missing.
    listed = (await limited.get("customer")).json()
    assert [c["id"] for c in listed["items"]] == [own]
    assert_error(await limited.get(f"customer/{brand1}"), 404)
    assert_error(await limited.put(f"customer/{brand1}", {"firstname": "X"}), 404)
    assert_error(await limited.put("customer", {"customerID": brand1, "firstname": "X"}), 404)
    assert_error(await limited.delete(f"customer/{brand1}/purgeData"), 404)
    assert_error(await limited.delete(f"customer/{brand1}"), 404)
    assert_error(
        await limited.post("customer/externalEvent", {"customer_id": brand1, "message": "m"}), 404
    )
    assert_result(
        await limited.post("customer/externalEvent", {"customer_id": own, "message": "m"}),
        "Event created.",
    )
    search = await limited.post("customer/SearchByPrimaryExternalID", {"primary_id": external})
    assert [c["id"] for c in search.json()["items"]] == [own]
    assert (await api.customer(brand1))["firstname"] == ""
