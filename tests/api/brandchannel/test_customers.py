"""Index and item endpoints: create, list, read, update, delete; in every body encoding."""

from __future__ import annotations

import httpx
import pytest

from boxoffice.bootstrap import Core
from boxoffice.domain.principal import Principal
from boxoffice.services import customers as spektrix_side
from tests.api.brandchannel.conftest import Keys
from tests.api.brandchannel.support import (
    CUSTOMER_KEYS,
    ENVELOPE_KEYS,
    Api,
    assert_error,
    assert_result,
    channels_of,
    unique,
    unique_email,
    unique_phone,
)

# --- POST index ---------------------------------------------------------------------------------


async def test_create_with_every_field_the_seed_shows(api: Api, encoding: str) -> None:
    external, email, phone = unique(), unique_email(), unique_phone()
    customer_id = await api.create(
        encoding,
        channel_id="twitter",
        customer_link_channel="jana_tweets",
        brand_id=1,
        primary_id=external,
        noSync=True,
        firstname="Jana",
        lastname="Nováková-O'Neil",
        ticket_id=7,
        extra_email=email,
        extra_telephone=phone,
        custom_testfield="from the seed",
    )
    customer = await api.customer(customer_id)
    assert list(customer)[: len(CUSTOMER_KEYS)] == CUSTOMER_KEYS
    assert customer["id"] == customer_id
    assert customer["external_primary_id"] == external
    assert (customer["brand_id"], customer["brand_name"]) == (1, "Demo Theatre")
    assert (customer["firstname"], customer["lastname"]) == ("Jana", "Nováková-O'Neil")
    assert channels_of(customer) == {
        ("twitter", "jana_tweets"),
        ("email", email),
        ("telephone", phone),
    }
    assert all(isinstance(ch["id"], int) for ch in customer["channels"])
    assert customer["custom_testfield"] == "from the seed"
    assert customer["custom_Favourite_Genre"] == ""


async def test_created_customer_is_the_core_customer(
    api: Api, core: Core, bc_tenant: tuple[str, int]
) -> None:
    """The first email and phone channels are the email and phone the other dialects show."""
    email, phone = unique_email(), unique_phone()
    customer_id = await api.create(
        brand_id=1, firstname="Jana", lastname="Novak", extra_email=email, extra_telephone=phone
    )
    owner = Principal(tenant_id=bc_tenant[1], actor="test", full_access=True)
    view = await spektrix_side.find_customer_by_email(core, owner, email.upper())
    assert view.id == customer_id
    assert (view.first_name, view.last_name, view.phone) == ("Jana", "Novak", phone)


async def test_create_minimal_defaults_to_the_only_brand(
    http: httpx.AsyncClient, core: Core
) -> None:
    """A tenant with one brand: brand_id may be left out; names default to ""."""
    from boxoffice.services import tenants as tenant_service
    from tests.conftest import make_tenant

    name, _ = await make_tenant(core)
    key = await tenant_service.create_api_key(
        core, name, permissions=("CUSTOMER_READ", "CUSTOMER_CUD")
    )
    api = Api(http, key)
    customer = await api.customer(await api.create(primary_id="only-brand"))
    assert (customer["brand_id"], customer["firstname"], customer["channels"]) == (1, "", [])


async def test_create_without_brand_when_there_are_several(api: Api) -> None:
    assert_error(await api.post("customer", {"primary_id": unique()}), 400, "brand_id", "required")


async def test_create_unknown_brand(api: Api) -> None:
    assert_error(await api.post("customer", {"brand_id": 99}), 404, "Brand not found")


async def test_duplicate_primary_id_in_a_brand_is_409(api: Api, encoding: str) -> None:
    external = unique()
    await api.create(brand_id=1, primary_id=external)
    response = await api.post("customer", {"brand_id": 1, "primary_id": external}, encoding)
    assert_error(response, 409, "already exists", external)
    # The same external id in another brand is another customer.
    await api.create(brand_id=2, primary_id=external)


async def test_ticket_link_is_on_the_timeline_with_its_channels(api: Api) -> None:
    external, email = unique(), unique_email()
    await api.create(brand_id=1, primary_id=external, ticket_id=42, extra_email=email)
    timeline = await api.get(
        "customer/timelineByCustomerExternalID",
        brand_id=1,
        external_id=external,
        include_tickets="",
    )
    tickets = [i for i in timeline.json()["items"] if i["kind"] == "ticket"]
    assert [t["message"] for t in tickets] == ["Linked to ticket 42."]


async def test_channel_search_value_identifies_a_new_customer(api: Api) -> None:
    """Brand 2 searches by channels: search_customer_channel_value stands in for primary_id."""
    phone = unique_phone()
    customer_id = await api.create(brand_id=2, search_customer_channel_value=phone)
    customer = await api.customer(customer_id)
    assert customer["external_primary_id"] is None
    assert channels_of(customer) == {("telephone", phone)}
    again = await api.post("customer", {"brand_id": 2, "search_customer_channel_value": phone})
    assert_error(again, 409, "already exists")
    # Brand 1 does not search by channels.
    refused = await api.post(
        "customer", {"brand_id": 1, "search_customer_channel_value": unique_phone()}
    )
    assert_error(refused, 400, "search_customer_channel_value", "not enabled")


async def test_primary_id_takes_precedence_over_the_channel_value(api: Api) -> None:
    external, phone = unique(), unique_phone()
    customer_id = await api.create(
        brand_id=2,
        primary_id=external,
        search_customer_channel_value=phone,
        extra_telephone=phone,
    )
    assert (await api.customer(customer_id))["external_primary_id"] == external


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"firstname": "Jana2"}, "firstname"),
        ({"lastname": "<script>"}, "lastname"),
        ({"extra_telephone": "00420123"}, "extra_telephone"),
        ({"extra_email": "not-an-email"}, "extra_email"),
        ({"channel_id": "fax", "customer_link_channel": "+420"}, "channel_id"),
        ({"channel_id": "email"}, "channel_id"),
        ({"custom_nosuchfield": "x"}, "custom_nosuchfield"),
        ({"custom_bad-name": "x"}, "custom_bad-name"),
        ({"ticket_id": "seven"}, "ticket_id"),
        ({"noSync": "maybe"}, "noSync"),
        ({"brand_id": "one"}, "brand_id"),
        ({"brand_id": 1, "brandID": 2}, "brand_id/brandID"),
        ({"customerChannelType_0": "email"}, "customerChannelValue_0"),
        ({"customerChannelValue_3": "x@example.org"}, "customerChannelType_3"),
        ({"customerChannelType_0": "9", "customerChannelValue_0": "x"}, "customerChannelType_0"),
    ],
)
async def test_create_refusals_name_the_field(
    api: Api, encoding: str, fields: dict[str, object], named: str
) -> None:
    response = await api.post("customer", {"brand_id": 1, **fields}, encoding)
    assert_error(response, 400, named)


async def test_create_crud(api: Api, encoding: str) -> None:
    external, email = unique(), unique_email()
    response = await api.post(
        "customer/createCustomerCRUD",
        {
            "primaryID": external,
            "brandID": 1,
            "firstname": "Petr",
            "lastname": "Svoboda",
            "custom_testfield": "crud",
            "customerChannelType_0": "email",
            "customerChannelValue_0": email,
            "customerChannelType_1": "phoneNumber",
            "customerChannelValue_1": "+420777000111",
        },
        encoding,
    )
    body = assert_result(response, "Customer created.")
    customer = await api.customer(body["id"])
    assert customer["external_primary_id"] == external
    assert customer["firstname"] == "Petr" and customer["custom_testfield"] == "crud"
    assert channels_of(customer) == {("email", email), ("telephone", "+420777000111")}
    duplicate = await api.post(
        "customer/createCustomerCRUD", {"primaryID": external, "brandID": 1}, encoding
    )
    assert_error(duplicate, 409, external)


async def test_create_crud_ignores_the_index_only_fields(api: Api) -> None:
    """Linked channel and ticket are POST index's: createCustomerCRUD leaves them alone."""
    body = assert_result(
        await api.post(
            "customer/createCustomerCRUD",
            {"brandID": 1, "channel_id": "email", "ticket_id": 3},
        ),
        "Customer created.",
    )
    assert (await api.customer(body["id"]))["channels"] == []


# --- GET index ----------------------------------------------------------------------------------


async def test_list_pages_through_every_customer(api: Api) -> None:
    ids = [await api.create(brand_id=1, primary_id=unique()) for _ in range(5)]
    first = await api.get("customer", itemLimit=2)
    assert first.status_code == 200
    body = first.json()
    assert list(body) == ENVELOPE_KEYS
    assert (body["type"], body["itemStart"], body["itemTotal"], body["itemLimit"]) == (
        "customer",
        0,
        5,
        2,
    )
    seen = [c["id"] for c in body["items"]]
    for start in (2, 4):
        page = (await api.get("customer", itemStart=start, itemLimit=2)).json()
        assert page["itemStart"] == start
        seen += [c["id"] for c in page["items"]]
    assert seen == sorted(ids)
    default = (await api.get("customer")).json()
    assert (default["itemStart"], default["itemLimit"]) == (0, 15)
    aliases = (await api.get("customer", start=1, limit=1)).json()
    assert [c["id"] for c in aliases["items"]] == sorted(ids)[1:2]


async def test_list_search_and_brand_filter(api: Api) -> None:
    email = unique_email("zdenka")
    anna = await api.create(brand_id=1, firstname="Annabel", primary_id=unique())
    zdenka = await api.create(brand_id=2, firstname="Zdenka", extra_email=email)
    found = (await api.get("customer", search="NNAB")).json()
    assert [c["id"] for c in found["items"]] == [anna]
    by_channel = (await api.get("customer", search=email.split("@")[0].split(".")[1])).json()
    assert [c["id"] for c in by_channel["items"]] == [zdenka]
    brand2 = (await api.get("customer", brand_id=2)).json()
    assert [c["id"] for c in brand2["items"]] == [zdenka]
    assert brand2["items"][0]["brand_name"] == "Studio"


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"itemStart": -1}, "itemStart"),
        ({"itemLimit": 0}, "itemLimit"),
        ({"itemLimit": 101}, "itemLimit"),
        ({"itemLimit": "ten"}, "itemLimit"),
        ({"search": "a@b"}, "search"),
        ({"brand_id": 99}, "Brand"),
    ],
)
async def test_list_refusals(api: Api, params: dict[str, object], named: str) -> None:
    response = await api.get("customer", **params)
    assert_error(response, 404 if named == "Brand" else 400, named)


async def test_tenant_in_the_path(http: httpx.AsyncClient, keys: Keys, bc_tenant: tuple[str, int]):
    api = Api(http, keys.full, tenant=bc_tenant[0])
    customer_id = await api.create(brand_id=1, primary_id=unique())
    assert (await api.customer(customer_id))["id"] == customer_id


# --- PUT index, PUT item, updateCustomer ----------------------------------------------------------


async def test_put_index_updates_the_name_by_customer_id(api: Api, encoding: str) -> None:
    customer_id = await api.create(brand_id=1, firstname="Old", lastname="Name")
    response = await api.put(
        "customer",
        {"customerID": customer_id, "firstname": "New", "custom_testfield": "t"},
        encoding,
    )
    assert_result(response, "Customer updated.")
    customer = await api.customer(customer_id)
    assert (customer["firstname"], customer["lastname"]) == ("New", "Name")
    assert customer["custom_testfield"] == "t"


async def test_put_index_by_brand_and_primary_id(api: Api, encoding: str) -> None:
    external = unique()
    customer_id = await api.create(brand_id=2, primary_id=external, firstname="A")
    response = await api.put(
        "customer",
        {"primaryID": external, "brandID": 2, "lastname": "Müller", "custom_testfield": ""},
        encoding,
    )
    assert_result(response, "Customer updated.")
    assert (await api.customer(customer_id))["lastname"] == "Müller"
    missing = await api.put("customer", {"primaryID": external, "brandID": 1}, encoding)
    assert_error(missing, 404, "Customer not found")
    nothing = await api.put("customer", {"firstname": "X"}, encoding)
    assert_error(nothing, 400, "customer_id")


async def test_put_index_by_channel_value_on_a_brand_searched_by_channels(api: Api) -> None:
    phone = unique_phone()
    customer_id = await api.create(brand_id=2, extra_telephone=phone)
    response = await api.put(
        "customer", {"brandID": 2, "search_customer_channel_value": phone, "firstname": "Eva"}
    )
    assert_result(response, "Customer updated.")
    assert (await api.customer(customer_id))["firstname"] == "Eva"


async def test_put_item_with_channel_pairs(api: Api, encoding: str) -> None:
    customer_id = await api.create(brand_id=1, firstname="Jan", custom_testfield="keep me")
    email, phone = unique_email(), unique_phone()
    response = await api.put(
        f"customer/{customer_id}",
        {
            "brandID": 1,
            "firstname": "Jana",
            "lastname": "Králová",
            "customerChannelType_0": "email",
            "customerChannelValue_0": email,
            "customerChannelType_1": "2",  # a channel type id: telephone in the demo catalogue
            "customerChannelValue_1": phone,
            "customerChannelType_2": "facebook",
            "customerChannelValue_2": "1",
        },
        encoding,
    )
    assert response.json() == {"message": "Customer updated.", "type": "result"}
    customer = await api.customer(customer_id)
    assert (customer["firstname"], customer["lastname"]) == ("Jana", "Králová")
    assert customer["custom_testfield"] == "keep me"
    assert channels_of(customer) == {("email", email), ("telephone", phone), ("facebook", "1")}
    # The same pair again changes nothing; an email differing only in case is the same.
    again = await api.put(
        f"customer/{customer_id}",
        {"customerChannelType_0": "email", "customerChannelValue_0": email.upper()},
        encoding,
    )
    assert_result(again, "Customer updated.")
    assert len((await api.customer(customer_id))["channels"]) == 3


async def test_put_item_refusals(api: Api, encoding: str) -> None:
    customer_id = await api.create(brand_id=1)
    wrong_brand = await api.put(f"customer/{customer_id}", {"brandID": 2}, encoding)
    assert_error(wrong_brand, 404, "Customer not found")
    missing = await api.put("customer/1", {"firstname": "X"}, encoding)
    assert_error(missing, 404, "Customer not found")
    bad_phone = await api.put(
        f"customer/{customer_id}",
        {"customerChannelType_0": "telephone", "customerChannelValue_0": "123"},
        encoding,
    )
    assert_error(bad_phone, 400, "customerChannelValue_0", "^\\+[0-9]+$")
    bad_name = await api.put(f"customer/{customer_id}", {"lastname": "R2D2"}, encoding)
    assert_error(bad_name, 400, "lastname", "pattern")


async def test_update_customer_by_external_primary_id(api: Api, encoding: str) -> None:
    external = unique()
    customer_id = await api.create(brand_id=1, primary_id=external)
    email = unique_email()
    response = await api.put(
        "customer/updateCustomer",
        {
            "externalPrimaryID": external,
            "brandID": 1,
            "firstname": "Ota",
            "lastname": "Pavel",
            "custom_testfield": "u",
            "customerChannelType_0": "email",
            "customerChannelValue_0": email,
        },
        encoding,
    )
    assert_result(response, "Customer updated.")
    customer = await api.customer(customer_id)
    assert (customer["firstname"], customer["custom_testfield"]) == ("Ota", "u")
    assert channels_of(customer) == {("email", email)}
    missing = await api.put(
        "customer/updateCustomer", {"externalPrimaryID": unique(), "brandID": 1}, encoding
    )
    assert_error(missing, 404)


async def test_values_are_taken_literally(api: Api) -> None:
    """The seed prints values in quotes (firstname=''): quotes are part of the value."""
    response = await api.put("customer", {"customerID": 1, "firstname": "'text'"})
    assert_error(response, 404)  # the name is valid (quotes are allowed), the id is not
    customer_id = await api.create(brand_id=1, firstname="'Jo'")
    assert (await api.customer(customer_id))["firstname"] == "'Jo'"


# --- GET item, DELETE item ------------------------------------------------------------------------


async def test_get_item_not_found(api: Api) -> None:
    assert_error(await api.get("customer/12345"), 404, "Customer not found")


async def test_delete_item_removes_everything(api: Api) -> None:
    external = unique()
    customer_id = await api.create(brand_id=1, primary_id=external, extra_email=unique_email())
    await api.post(
        "customer/externalEvent", {"customer_id": customer_id, "message": "Booked a seat"}
    )
    assert_result(await api.delete(f"customer/{customer_id}"), "Customer deleted.")
    assert_error(await api.get(f"customer/{customer_id}"), 404)
    assert_error(await api.delete(f"customer/{customer_id}"), 404)
    # The external id is free again.
    await api.create(brand_id=1, primary_id=external)


# --- HTTP details -------------------------------------------------------------------------------


async def test_action_names_match_whatever_their_case(api: Api) -> None:
    external = unique()
    await api.create(brand_id=1, primary_id=external)
    for path in (
        "customer/SearchByPrimaryExternalID",
        "customer/searchByPrimaryExternalId",
        "CUSTOMER/searchbyprimaryexternalid",
    ):
        response = await api.post(path, {"primary_id": external, "brand_id": 1})
        assert response.status_code == 200, path
        assert response.json()["itemTotal"] == 1


async def test_known_path_with_another_method_is_405(api: Api) -> None:
    for method, path in (
        ("GET", "customer/syncWithCRM"),
        ("POST", "customer/5"),
        ("PATCH", "customer"),
        ("GET", "customer/5/purgeData"),
    ):
        response = await api.request(method, path)
        assert_error(response, 405, method)


async def test_unknown_path_is_404(api: Api) -> None:
    assert_error(await api.get("customer/nosuchaction"), 404)
    assert_error(await api.get("orders"), 404)


async def test_broken_bodies_are_400(api: Api, http: httpx.AsyncClient, keys: Keys) -> None:
    headers = {"apiKey": keys.full}
    cases = [
        ("application/json", b"{not json", "JSON"),
        ("application/json", b'["a"]', "JSON object"),
        ("application/json", b'{"brand_id": [1]}', "brand_id"),
        ("application/x-www-form-urlencoded", b"firstname=%FF", "UTF-8"),
        ("application/x-www-form-urlencoded", b"firstname=\xff", "UTF-8"),
        ("multipart/form-data", b"--x\r\nbroken", "boundary"),
        ("multipart/form-data; boundary=x", b"--x\r\nno headers", ""),
    ]
    for content_type, body, fragment in cases:
        response = await http.post(
            "/api/v2/customer", content=body, headers={**headers, "Content-Type": content_type}
        )
        assert_error(response, 400, fragment)


async def test_oversized_body_is_413(http: httpx.AsyncClient, keys: Keys) -> None:
    response = await http.post(
        "/api/v2/customer",
        content=b"x" * 1_000_001,
        headers={"apiKey": keys.full, "Content-Type": "application/json"},
    )
    assert_error(response, 413, "larger than")


async def test_openapi_document_and_docs_page(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi/brandchannel.json")).json()
    paths = document["paths"]
    assert "/api/v2/customer/syncWithCRM" in paths
    create = paths["/api/v2/customer"]["post"]["requestBody"]["content"]
    assert set(create) == {
        "multipart/form-data",
        "application/x-www-form-urlencoded",
        "application/json",
    }
    assert document["components"]["securitySchemes"]["apiKey"]["name"] == "apiKey"
    page = await http.get("/docs/brandchannel")
    assert page.status_code == 200 and "/openapi/brandchannel.json" in page.text
