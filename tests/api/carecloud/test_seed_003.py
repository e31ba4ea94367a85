"""Seed 003's whole walkthrough, as an app written against the 2021 documentation does it:
legacy Basic credentials, the base path without ``/webservice``, the flat registration body,
then interest and property records, rewards, login and logout. Every answer is checked against
the vendor's OpenAPI description (``BOXOFFICE_CARECLOUD_OPENAPI``; skipped by name without it)."""

from __future__ import annotations

from typing import Any

import httpx

from boxoffice.bootstrap import Core
from boxoffice.domain.ids import customer_code
from boxoffice.services import tenants as tenant_service
from tests.api.carecloud import vendor_document as openapi
from tests.api.carecloud.support import LEGACY_BASE, PASSWORD, Api, basic, error_of, unique_email
from tests.conftest import Signer

USER = "customer_interface"
#: The documentation's own header: base64("customer_interface: "), with the trailing space.
SEED_AUTHORIZATION = "Basic Y3VzdG9tZXJfaW50ZXJmYWNlOiA="
HEADERS = {"Content-Type": "application/json", "Accept-Language": "cs, en-gb;q=0.8"}


def seed_registration(store_id: str, source_id: str, email: str) -> dict[str, Any]:
    """Seed 003's body, word for word but for the live ids and a unique email."""
    return {
        "customer_sources": [{"customer_source_id": source_id, "external_id": "94826712"}],
        "personal_information": {
            "gender": 1,
            "first_name": "John",
            "last_name": "Smith",
            "email": email,
            "language_id": "en",
            "store_id": store_id,
            "birthdate": "1993-01-21",
            "phone": "420221634695",
            "address": {
                "address1": "Old Town Square",
                "address2": "35",
                "zip": 11000,
                "city": "Prague",
                "country_code": "cz",
            },
            "agreement": {
                "agreement_gtc": 2,
                "agreement_profiling": 2,
                "agreement_marketing_communication": 2,
            },
        },
        "additional_properties": [
            {
                "property_id": "wedding_date",
                "property_name": "Date of wedding",
                "property_value": "2001-08-13",
                "last_change": "2019-04-15 14:37:3.574408",
            }
        ],
        "social_network_credentials": {
            "social_network_id": "twitter",
            "social_network_token": "38e123j1jedu12d1jnjqwd",
        },
        "autologin": False,
        "password": "",
    }


def legacy(user: str, token: str) -> dict[str, str]:
    return {**HEADERS, **basic(user, token)}


def checked(method: str, template: str, response: httpx.Response) -> httpx.Response:
    problems = openapi.response_problems(method, template, response.status_code, response.content)
    assert not problems, problems
    return response


async def test_the_seed_walkthrough(
    carecloud_openapi: object,
    http: httpx.AsyncClient,
    core: Core,
    tenant: tuple[str, int],
    owner_api: Signer,
) -> None:
    name = tenant[0]
    assert await tenant_service.create_interface_user(core, name, USER) == USER
    base = f"/{name}/{LEGACY_BASE}"

    # 1. A token, with the documentation's Basic header ("customer_interface: ").
    response = await http.post(
        f"{base}/tokens",
        json={
            "device": {
                "device_id": "seed-device-1",
                "device_system": "iOS",
                "device_name": "Seed phone",
                "device_type": "iPhone",
            },
            "setup": {"language_id": "cs", "allowed_gps": False, "allowed_notifications": True},
            "external_application_id": "82de12eb8b138791e678fd11c3",
        },
        headers={**HEADERS, "Authorization": SEED_AUTHORIZATION},
    )
    checked("POST", "/tokens", response)
    assert response.status_code == 201
    assert list(response.json()) == ["data"]
    token = response.json()["data"]["token_id"]
    assert len(token) == 72 and int(token, 16) >= 0

    # 2. The stores, in Czech first (Accept-Language), with Basic base64("<user>:<token>").
    response = checked(
        "GET", "/stores", await http.get(f"{base}/stores", headers=legacy(USER, token))
    )
    stores = response.json()["data"]
    assert stores["total_items"] == 2
    names = {s["name"]: s for s in stores["stores"]}
    assert set(names) == {"Hlavní pokladna", "Internetový obchod"}
    store = names["Hlavní pokladna"]
    assert store["store_address"]["city"] == "London"
    assert isinstance(store["system_id"], str)

    # 3. Registration with the seed's flat body, its store and its property; logging the new
    # customer in on the token (the seed posts interest records next, with the same token).
    sources = checked(
        "GET",
        "/customer-sources",
        await http.get(f"{base}/customer-sources", headers=legacy(USER, token)),
    ).json()["data"]["customer_sources"]
    email = unique_email("happy_customer")
    body = seed_registration(store["store_id"], sources[0]["customer_source_id"], email)
    body.update(autologin=True, password=PASSWORD)
    response = checked(
        "POST",
        "/customers",
        await http.post(f"{base}/customers", json=body, headers=legacy(USER, token)),
    )
    assert response.status_code == 201, response.text
    customer_id = response.json()["data"]["customer_id"]

    customer = checked(
        "GET",
        "/customers/{customer_id}",
        await http.get(f"{base}/customers/{customer_id}", headers=legacy(USER, token)),
    ).json()["data"]
    info = customer["personal_information"]
    assert info["store_id"] == store["store_id"]
    assert info["birthdate"] == "1993-01-21"
    assert info["phone"] == "420221634695"
    assert info["address"]["zip"] == "11000"
    assert info["address"]["country_code"] == "cz"
    assert info["agreement"]["agreement_marketing_communication"] == 2

    # 4. An interest record (the seed's body; the seed's response lacks the envelope, ours
    # has it, as the description says).
    interests = checked(
        "GET", "/interests", await http.get(f"{base}/interests", headers=legacy(USER, token))
    ).json()["data"]["interests"]
    drama = next(i for i in interests if i["name"] == "Činohra")
    response = await http.post(
        f"{base}/customers/{customer_id}/interest-records",
        json={"interest_record": {"interest_id": drama["interest_id"], "customer_id": customer_id}},
        headers=legacy(USER, token),
    )
    checked("POST", "/customers/{customer_id}/interest-records", response)
    assert response.status_code == 201
    assert set(response.json()["data"]) == {"interest_record_id"}
    misspelt = await http.post(
        f"{base}/customers/{customer_id}/interst-records", json={}, headers=legacy(USER, token)
    )
    error_of(misspelt, 404)

    # 5. A property record.
    response = await http.post(
        f"{base}/customers/{customer_id}/property-records",
        json={
            "property_record": {
                "property_id": "favourite_genre",
                "customer_id": customer_id,
                "property_value": "Opera",
            }
        },
        headers=legacy(USER, token),
    )
    checked("POST", "/customers/{customer_id}/property-records", response)
    assert response.json() == {"data": {"property_record_id": f"favourite_genre:{customer_id}"}}
    records = checked(
        "GET",
        "/customers/{customer_id}/property-records",
        await http.get(
            f"{base}/customers/{customer_id}/property-records", headers=legacy(USER, token)
        ),
    ).json()["data"]
    assert {r["property_id"]: r["property_value"] for r in records["property_records"]} == {
        "wedding_date": "2001-08-13",
        "favourite_genre": "Opera",
    }

    # 6. Rewards (a GET, not the seed's "POST ... /rewards"), with additional properties.
    rewards = checked(
        "GET", "/rewards", await http.get(f"{base}/rewards", headers=legacy(USER, token))
    ).json()["data"]
    assert rewards["total_items"] >= 2
    assert all(isinstance(r["additional_properties"], list) for r in rewards["rewards"])
    assert "Program zdarma" in {r["name"] for r in rewards["rewards"]}
    mine = checked(
        "GET",
        "/customers/{customer_id}/rewards",
        await http.get(f"{base}/customers/{customer_id}/rewards", headers=legacy(USER, token)),
    ).json()["data"]
    assert mine["total_items"] == rewards["total_items"]

    # 7. Log out, then log in again by email (the seed's login body) and out again.
    response = await http.post(f"{base}/tokens/{token}/actions/logout", headers=legacy(USER, token))
    checked("POST", "/tokens/{token_id}/actions/logout", response)
    assert response.status_code == 204 and response.content == b""
    error_of(await http.get(f"{base}/customers/{customer_id}", headers=legacy(USER, token)), 403)
    response = await http.post(
        f"{base}/tokens/{token}/actions/login",
        json={"login_type": "email", "login_value": email, "password": PASSWORD},
        headers=legacy(USER, token),
    )
    checked("POST", "/tokens/{token_id}/actions/login", response)
    assert response.json() == {"data": {"customer_id": customer_id}}
    response = await http.get(
        f"/{name}/webservice/rest-api/customer-interface/v1.0/customers/{customer_id}",
        headers={**HEADERS, "Authorization": f"Bearer {token}"},
    )
    assert checked("GET", "/customers/{customer_id}", response).status_code == 200
    response = await http.post(f"{base}/tokens/{token}/actions/logout", headers=legacy(USER, token))
    assert response.status_code == 204

    # The same customer, through the Spektrix dialect: same person, interest as a tag, the
    # property as an attribute value.
    spektrix = await owner_api.get(f"customers?email={email}&$expand=tags")
    assert spektrix.status_code == 200, spektrix.text
    seen = spektrix.json()
    assert seen["firstName"] == "John" and seen["lastName"] == "Smith"
    assert [t["name"] for t in seen["tags"]] == ["Drama"]
    assert seen["attribute_WeddingDate"] == "2001-08-13"
    assert seen["attribute_FavouriteGenre"] == "Opera"
    assert seen["id"] == customer_code(_key_of(customer_id, seen["id"]))


def _key_of(carecloud_id: str, spektrix_id: str) -> int:
    from boxoffice.api.carecloud import mappers
    from boxoffice.domain.ids import parse_customer_code

    keys = mappers.decode(mappers.CUSTOMER, carecloud_id)
    assert keys is not None
    assert parse_customer_code(spektrix_id) == keys[0]
    return keys[0]


async def test_the_seed_body_verbatim(
    carecloud_openapi: object, http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    """The flat body as the seed shows it (no password, autologin false) registers; the token
    stays anonymous, so the seed's next step (an interest record) needs a login first."""
    api = Api(http, tenant[0])
    api.token = await api.new_token()
    stores = await api.ids("stores", "stores", "store_id")
    sources = await api.ids("customer-sources", "customer_sources", "customer_source_id")
    body = seed_registration(stores["Main Box Office"], sources["Website"], unique_email())
    response = await api.post("customers", body)
    checked("POST", "/customers", response)
    assert response.status_code == 201, response.text
    customer_id = response.json()["data"]["customer_id"]
    refused = await api.post(
        f"customers/{customer_id}/interest-records",
        {"interest_record": {"interest_id": "x", "customer_id": customer_id}},
    )
    assert error_of(refused, 403)["exception"] == "forbidden_exception"
