"""Customers: registration (both bodies), reading, listing, replacing; who may see whom."""

from __future__ import annotations

import re
from typing import Any

from boxoffice.bootstrap import Core
from boxoffice.services import catalogue as catalogue_service
from tests.api.carecloud.support import PASSWORD, Api, error_of, reasons, unique_email

DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


async def _customer(api: Api, customer_id: str, **headers: str) -> dict[str, Any]:
    response = await api.get(f"customers/{customer_id}", headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_registration_with_the_vendors_body(api: Api) -> None:
    stores = await api.ids("stores", "stores", "store_id")
    agreements = await api.ids("agreements", "agreements", "agreement_id")
    customer_id = await api.logged_in(
        gender=2,
        first_name="Jane",
        last_name="Doe",
        pre_nominals="Dr.",
        post_nominals="Ph.D.",
        birthdate="1985-02-12",
        phone="420523828931",
        store_id=stores["Online Shop"],
        address={
            "address1": "Old Town Square",
            "address2": "34",
            "zip": "11000",
            "city": "Prague 1",
            "country_code": "cz",
        },
        agreement={
            "agreement_gtc": 1,
            "agreement_profiling": 0,
            "agreement_marketing_communication": 1,
            "custom_agreements": [
                {"agreement_id": agreements["Post from Demo Theatre"], "agreement_value": 1}
            ],
        },
    )
    data = await _customer(api, customer_id)
    assert list(data) == ["customer_id", "personal_information", "last_change", "state"]
    assert data["customer_id"] == customer_id and data["state"] == 1
    assert DATETIME.match(data["last_change"])
    info = data["personal_information"]
    assert info["salutation"] == "Dear Ms Doe"
    assert (info["gender"], info["first_name"], info["last_name"]) == (2, "Jane", "Doe")
    assert (info["pre_nominals"], info["post_nominals"]) == ("Dr.", "Ph.D.")
    assert info["birthdate"] == "1985-02-12" and info["phone"] == "420523828931"
    assert info["store_id"] == stores["Online Shop"] and info["language_id"] == "en"
    assert info["address"]["address1"] == "Old Town Square"
    assert info["address"]["country_code"] == "cz"
    assert info["agreement"] == {
        "agreement_gtc": 2,  # no statement answers to the GTC in the demo catalogue
        "agreement_profiling": 0,
        "agreement_marketing_communication": 1,
        "custom_agreements": [
            {"agreement_id": agreements["Post from Demo Theatre"], "agreement_value": 1}
        ],
    }
    values = {c["consent_id"]: c["consent_value"] for c in info["consents"]}
    assert values[agreements["Offers from our partners"]] == 0
    assert all(DATETIME.match(c["last_change"]) for c in info["consents"])
    # "Short salutations contain the first name of the customer only" (the vendor's OpenAPI),
    # on a customer's page and in the list, in any language.
    short = await api.get(f"customers/{customer_id}", params={"customer_short_salutation": "true"})
    assert short.json()["data"]["personal_information"]["salutation"] == "Jane"
    listed = await api.get(
        "customers", params={"customer_short_salutation": "true"}, headers={"Accept-Language": "cs"}
    )
    assert [
        c["personal_information"]["salutation"] for c in listed.json()["data"]["customers"]
    ] == ["Jane"]


async def test_consents_win_over_the_deprecated_agreement(api: Api) -> None:
    agreements = await api.ids("agreements", "agreements", "agreement_id")
    email_updates = agreements["Email updates from Demo Theatre"]
    customer_id = await api.logged_in(
        agreement={"agreement_marketing_communication": 0},
        consents=[{"consent_id": email_updates, "consent_value": 1}],
    )
    info = (await _customer(api, customer_id))["personal_information"]
    assert info["agreement"]["agreement_marketing_communication"] == 1


async def test_registration_refusals(api: Api) -> None:
    taken = unique_email()
    await api.register(email=taken, phone="420600000001")
    assert reasons(await api.post("customers", await api.customer_body(email=taken))) == {
        "email": "already_exists"
    }
    duplicate_phone = await api.customer_body(phone="420600000001")
    assert reasons(await api.post("customers", duplicate_phone)) == {"phone": "already_exists"}
    weak = await api.customer_body(password="password")
    assert reasons(await api.post("customers", weak)) == {"password": "invalid_value_format"}
    no_password = await api.customer_body(autologin=True, password=None)
    assert reasons(await api.post("customers", no_password)) == {"password": "required"}
    no_contact = await api.customer_body(email=None)
    assert reasons(await api.post("customers", no_contact)) == {"email": "required"}
    store = await api.customer_body(store_id="8ea2591121e636086a4a9c0992")
    assert reasons(await api.post("customers", store)) == {"store_id": "not_found"}
    language = await api.customer_body(language_id="de")
    assert reasons(await api.post("customers", language)) == {"language_id": "not_found"}
    bad = await api.customer_body(gender=9, birthdate="21.01.1993", phone="+420 1", email="x@")
    found = reasons(await api.post("customers", bad))
    assert found["customer.personal_information.gender"] == "not_allowed_value"
    body = await api.customer_body(birthdate="21.01.1993")
    assert reasons(await api.post("customers", body)) == {"birthdate": "invalid_value_format"}
    body = await api.customer_body()
    del body["customer"]["personal_information"]["language_id"]
    del body["customer_source"]
    assert reasons(await api.post("customers", body)) == {
        "customer.personal_information.language_id": "required",
        "customer_source": "required",
    }
    # A refused registration writes nothing: the email is still free.
    body = await api.customer_body(email=unique_email("free"), store_id="x")
    assert (await api.post("customers", body)).status_code == 400
    body["customer"]["personal_information"].pop("store_id")
    assert (await api.post("customers", body)).status_code == 201


async def test_a_token_sees_only_its_customer(api: Api, other_api: Api) -> None:
    anonymous_id = await api.register()
    error_of(await api.get("customers"), 403)
    error_of(await api.get(f"customers/{anonymous_id}"), 403)
    mine = await api.logged_in()
    listed = (await api.get("customers")).json()["data"]
    assert listed["total_items"] == 1
    assert [c["customer_id"] for c in listed["customers"]] == [mine]
    foreign = await other_api.logged_in()
    for customer_id in (anonymous_id, foreign, "garbage"):
        for path in (f"customers/{customer_id}", f"customers/{customer_id}/property-records"):
            assert reasons(await api.get(path)) == {
                "customer_id": "not_belong_to_logged_in_customer"
            }
    assert (await api.get("customers", params={"email": "someone@else.org"})).json()["data"] == {
        "customers": [],
        "total_items": 0,
    }
    email = (await _customer(api, mine))["personal_information"]["email"]
    for params in (
        {"email": email.upper()},
        {"email_list[]": [email, "x@y.org"]},
        {"customer_ids": [mine]},
        {"first_name": "john", "last_name": "SMITH"},
        {"sort_field": "last_change", "sort_direction": "DESC"},
    ):
        found = (await api.get("customers", params=params)).json()["data"]
        assert found["total_items"] == 1, params
    assert reasons(await api.get("customers", params={"sort_field": "salary"})) == {
        "sort_field": "not_allowed_value"
    }


async def test_customers_by_birthdate_in_either_documented_format(api: Api) -> None:
    """``GET /customers?birthdate=`` takes ``YYYY-MM-DD`` or ``DD.MM.YYYY`` (the vendor's
    OpenAPI); anything else is the documented 400."""
    mine = await api.logged_in(birthdate="1985-02-12")
    for value in ("1985-02-12", "12.02.1985", " 12.02.1985 ", "12.2.1985"):
        found = await api.get("customers", params={"birthdate": value})
        assert found.status_code == 200, (value, found.text)
        assert [c["customer_id"] for c in found.json()["data"]["customers"]] == [mine], value
    for value in ("13.02.1985", "1985-02-13"):
        found = await api.get("customers", params={"birthdate": value})
        assert found.json()["data"] == {"customers": [], "total_items": 0}, value
    for value in ("31.02.1985", "12.02.85", "12/02/1985", "1985.02.12"):
        assert reasons(await api.get("customers", params={"birthdate": value})) == {
            "birthdate": "invalid_value_format"
        }, value


async def test_put_replaces_the_record(api: Api) -> None:
    stores = await api.ids("stores", "stores", "store_id")
    customer_id = await api.logged_in(
        store_id=stores["Main Box Office"],
        birthdate="1990-05-05",
        phone="420600000777",
        address={"address1": "Street 1", "city": "Brno"},
    )
    email = (await _customer(api, customer_id))["personal_information"]["email"]
    new_password = "An0ther-Secret"
    response = await api.put(
        f"customers/{customer_id}",
        {
            "customer": {
                "personal_information": {
                    "first_name": "Johnny",
                    "email": email,
                    "language_id": "cs",
                }
            },
            "password": new_password,
            "current_password": PASSWORD,
            "property_records": [{"property_id": "favourite_genre", "property_value": "Jazz"}],
        },
    )
    assert response.status_code == 204 and response.content == b""
    info = (await _customer(api, customer_id))["personal_information"]
    assert info["first_name"] == "Johnny" and info["last_name"] == ""
    assert "birthdate" not in info and "phone" not in info and "address" not in info
    assert info["store_id"] == stores["Main Box Office"]  # kept: it can change, not go
    assert info["language_id"] == "cs"
    records = (await api.get(f"customers/{customer_id}/property-records")).json()["data"]
    assert records["property_records"][0]["property_value"] == "Jazz"
    await api.post(f"tokens/{api.token}/actions/logout")
    login = await api.post(
        f"tokens/{api.token}/actions/login",
        {"login_type": "email", "login_value": email, "password": new_password},
    )
    assert login.status_code == 200
    cleared = await api.put(
        f"customers/{customer_id}", {"customer": {"personal_information": {"language_id": "en"}}}
    )
    assert reasons(cleared) == {"email": "required"}


async def test_accept_language(api: Api, core: Core) -> None:
    async def names(**headers: str) -> set[str]:
        response = await api.get("interests", headers=headers)
        return {i["name"] for i in response.json()["data"]["interests"]}

    assert await names() == {"Drama", "Music"}  # the token's setup language: en
    assert await names(**{"Accept-Language": "cs"}) == {"Činohra", "Hudba"}
    assert await names(**{"Accept-Language": "cs-CZ, en;q=0.5"}) == {"Činohra", "Hudba"}
    assert await names(**{"Accept-Language": "de, cs;q=0.8, en;q=0.9"}) == {"Drama", "Music"}
    assert await names(**{"Accept-Language": "de"}) == {"Drama", "Music"}
    assert await names(**{"Accept-Language": "en;q=0, cs;q=0.1"}) == {"Činohra", "Hudba"}
    # A text without a translation falls back to the catalogue's own.
    await catalogue_service.load_catalogue(
        core, api.tenant, {"interests": [{"name": "Family", "tag": "Interests/Family"}]}
    )
    assert await names(**{"Accept-Language": "cs"}) == {"Činohra", "Hudba", "Family"}
    customer_id = await api.logged_in(gender=1)
    info = (await _customer(api, customer_id, **{"Accept-Language": "cs"}))["personal_information"]
    assert info["salutation"] == "Vážený pane Smith"


async def test_project_local_time(api: Api, core: Core) -> None:
    await catalogue_service.load_catalogue(
        core, api.tenant, {"settings": {"timezone": "Asia/Kathmandu"}}
    )
    customer_id = await api.logged_in()
    last_change = (await _customer(api, customer_id))["last_change"]
    assert DATETIME.match(last_change)
    from datetime import UTC, datetime, timedelta

    local = datetime.strptime(last_change, "%Y-%m-%d %H:%M:%S")
    now = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=5, minutes=45)
    assert abs((now - local).total_seconds()) < 3600


async def test_validate_and_check(api: Api) -> None:
    taken = unique_email()
    await api.register(email=taken, phone="420611111111")

    async def valid(kind: str, value: str) -> bool:
        response = await api.client.post(
            api.url("customers/actions/validate-customer-data"), json={"type": kind, "value": value}
        )
        assert response.status_code == 200, response.text
        result: bool = response.json()["data"]["is_valid"]
        return result

    assert await valid("password", PASSWORD)
    for weak in ("short1A", "alllowercase1", "NODIGITSHERE", "Password1"[:0] + "abc123"):
        assert not await valid("password", weak)
    assert not await valid("referral_code", "FRIEND2024")

    async def able(kind: str, value: str) -> bool:
        response = await api.post(
            "customers/actions/check-registration-ability", {"type": kind, "value": value}
        )
        assert response.status_code == 200, response.text
        result: bool = response.json()["data"]["registration_ability"]
        return result

    assert not await able("email", taken.upper())
    assert await able("email", unique_email())
    assert not await able("phone", "+420 611 111 111")
    assert await able("phone", "420622222222")
    assert reasons(
        await api.post(
            "customers/actions/check-registration-ability", {"type": "fax", "value": "1"}
        )
    ) == {"type": "not_allowed_value"}


async def test_newsletter_sign_up(api: Api) -> None:
    sources = await api.ids("customer-sources", "customer_sources", "customer_source_id")
    contact = unique_email("news")
    body = {
        "contact": contact,
        "customer_source_id": sources["Website"],
        "agreements": {"agreement_marketing_communication": 1, "agreement_profiling": 0},
        "language_id": "cs",
    }
    assert (await api.post("customers/actions/newsletters-sign-up", body)).status_code == 204
    able = await api.post(
        "customers/actions/check-registration-ability", {"type": "email", "value": contact}
    )
    # Double opt-in: nobody is a customer before the mailed link is followed
    # (test_public_writes.py).
    assert able.json()["data"]["registration_ability"] is True
    # Signing up again is fine, and never withdraws.
    body["agreements"] = {"agreement_marketing_communication": 0}
    assert (await api.post("customers/actions/newsletters-sign-up", body)).status_code == 204
    unknown = {**body, "customer_source_id": "8ea2591121e636086a4a9c0992"}
    assert reasons(await api.post("customers/actions/newsletters-sign-up", unknown)) == {
        "customer_source_id": "not_found"
    }
