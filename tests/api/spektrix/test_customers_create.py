"""POST /{client}/api/v3/customers (System Owner): the NewCustomer body and the Customer reply."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from boxoffice.bootstrap import Core
from boxoffice.domain.ids import resource_code
from tests.api.spektrix.conftest import Catalogue
from tests.api.spektrix.support import (
    ADDRESS_KEYS,
    COLLECTIONS,
    CUSTOMER_ID,
    DEFAULT_KEYS,
    OWNER_ATTRIBUTES,
    RESOURCE_ID_LENGTH,
    age_on,
    assert_error,
    attribute_keys,
    create,
    customer_body,
    customer_count,
    duplicate_body,
    non_attribute_keys,
    unique_email,
    utc_today,
)
from tests.conftest import Signer

# --- the default shape ------------------------------------------------------------------------


async def test_minimal_create_returns_the_default_customer(owner_api: Signer) -> None:
    email = unique_email("Ann")
    response = await owner_api.post(
        "customers", {"firstName": "Ann", "lastName": "Lee", "email": email}
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert non_attribute_keys(body) == [*DEFAULT_KEYS, "creditBalance"]
    assert CUSTOMER_ID.match(body["id"])
    assert {k: v for k, v in body.items() if not k.startswith("attribute_") and k != "id"} == {
        "age": None,
        "billingAddress": None,
        "deliveryAddress": None,
        "birthDate": None,
        "email": email,
        "firstName": "Ann",
        "lastName": "Lee",
        "mobile": None,
        "name": "Ann Lee",
        "phone": None,
        "title": "",
        "passwordSet": False,
        "giftAidDeclarationRequired": False,
        "creditBalance": 0,
    }


async def test_default_key_order_puts_attributes_between_id_and_credit_balance(
    owner_api: Signer,
) -> None:
    body = await create(owner_api)

    keys = list(body)
    assert keys[: len(DEFAULT_KEYS)] == DEFAULT_KEYS
    assert keys[len(DEFAULT_KEYS) : -1] == attribute_keys(body)
    assert keys[-1] == "creditBalance"
    # Owner mode sees every attribute of the catalogue, hidden ones included, unset as "".
    assert attribute_keys(body)[: len(OWNER_ATTRIBUTES)] == OWNER_ATTRIBUTES
    assert all(body[k] == "" for k in attribute_keys(body))


async def test_no_collection_is_returned_without_expand(owner_api: Signer, ids: Catalogue) -> None:
    body = await create(
        owner_api,
        tags=[ids.tags["Drama"]],
        agreedStatements=[ids.statements["Post from Demo Theatre"]],
        addresses=[{"line1": "1 Theatre Square"}],
    )

    assert not set(COLLECTIONS) & set(body)


async def test_get_by_id_returns_what_create_returned(owner_api: Signer) -> None:
    created = await create(owner_api, title="Dr", phone="020 7946 0000")

    response = await owner_api.get(f"customers/{created['id']}")

    assert response.status_code == 200
    assert response.json() == created
    assert list(response.json()) == list(created)


# --- every NewCustomer field ------------------------------------------------------------------


async def test_create_with_every_field(owner_api: Signer, ids: Catalogue) -> None:
    email = unique_email("grace")
    before = utc_today()
    response = await owner_api.post(
        "customers",
        {
            "title": "Ms",
            "firstName": "Grace",
            "lastName": "Hopper",
            "email": email,
            "phone": "+44 20 7946 0000",
            "mobile": "+44 7700 900123",
            "birthDate": "1990-01-31",
            "friendlyId": "GH-1990",
            "password": "Correct horse battery 1",
            "addresses": [
                {
                    "name": "Home",
                    "line1": "1 Theatre Square",
                    "line2": "Covent Garden",
                    "town": "London",
                    "postcode": "WC2N 5DU",
                    "country": "gb",
                    "administrativeDivision": "Greater London",
                }
            ],
            "tags": [ids.tags["Drama"], ids.tags["Website Form"]],
            "agreedStatements": [
                ids.statements["Email updates from Demo Theatre"],
                {"id": ids.statements["Post from Demo Theatre"]},
            ],
            "Attribute_Favourite Genre": "Opera",
        },
    )
    after = utc_today()

    assert response.status_code == 200, response.text
    body = response.json()
    assert CUSTOMER_ID.match(body["id"])
    assert body["title"] == "Ms"
    assert body["firstName"] == "Grace"
    assert body["lastName"] == "Hopper"
    assert body["name"] == "Grace Hopper"
    assert body["email"] == email
    assert body["phone"] == "+44 20 7946 0000"
    assert body["mobile"] == "+44 7700 900123"
    assert body["birthDate"] == "1990-01-31T00:00:00"
    assert body["age"] in {age_on(date(1990, 1, 31), before), age_on(date(1990, 1, 31), after)}
    assert body["passwordSet"] is True
    assert body["giftAidDeclarationRequired"] is False
    assert body["attribute_FavouriteGenre"] == "Opera"
    assert body["creditBalance"] == 0

    billing = body["billingAddress"]
    assert list(billing) == ADDRESS_KEYS
    assert len(billing["id"]) == RESOURCE_ID_LENGTH
    assert billing == {
        "id": billing["id"],
        "isBilling": True,
        "isDelivery": True,
        "country": "GB",
        "administrativeDivision": "Greater London",
        "name": "Home",
        "line1": "1 Theatre Square",
        "line2": "Covent Garden",
        "line3": None,
        "line4": None,
        "line5": None,
        "town": "London",
        "postcode": "WC2N 5DU",
    }
    assert body["deliveryAddress"] == billing

    expanded = (
        await owner_api.get(f"customers/{body['id']}?$expand=tags,agreedStatements,addresses")
    ).json()
    assert expanded["tags"] == [
        {"id": ids.tags["Drama"], "name": "Drama"},
        {"id": ids.tags["Website Form"], "name": "Website Form"},
    ]
    assert sorted(expanded["agreedStatements"], key=lambda s: s["text"]) == [
        {
            "id": ids.statements["Email updates from Demo Theatre"],
            "text": "Email updates from Demo Theatre",
            "agreed": True,
        },
        {
            "id": ids.statements["Post from Demo Theatre"],
            "text": "Post from Demo Theatre",
            "agreed": True,
        },
    ]
    assert expanded["addresses"] == [billing]


async def test_age_follows_birth_date(owner_api: Signer) -> None:
    before = utc_today()
    body = await create(owner_api, birthDate="1990-01-31")
    after = utc_today()

    assert body["age"] in {age_on(date(1990, 1, 31), before), age_on(date(1990, 1, 31), after)}


@pytest.mark.parametrize(
    "sent",
    [
        "1990-01-31",
        "1990-01-31T00:00:00",
        "1990-01-31T16:16:55.2682262+00:00",  # the vendor's own Help sample format
        "1990-01-31T23:30:00-05:00",
        "1990-01-31T00:00:00Z",
        " 1990-01-31 ",
    ],
)
async def test_birth_date_formats(owner_api: Signer, sent: str) -> None:
    body = await create(owner_api, birthDate=sent)

    assert body["birthDate"] == "1990-01-31T00:00:00"


@pytest.mark.parametrize("sent", [None, ""])
async def test_empty_birth_date_is_no_birth_date(owner_api: Signer, sent: str | None) -> None:
    body = await create(owner_api, birthDate=sent)

    assert body["birthDate"] is None
    assert body["age"] is None


@pytest.mark.parametrize(
    "sent",
    ["31/01/1990", "1990-02-30", "not a date", "2999-01-01", "1899-12-31", 19900131, True],
)
async def test_invalid_birth_date_is_400(
    core: Core, tenant: tuple[str, int], owner_api: Signer, sent: Any
) -> None:
    response = await owner_api.post("customers", customer_body(birthDate=sent))

    assert_error(response, 400, "birthdate")
    assert await customer_count(core, tenant[1]) == 0


async def test_without_password_password_set_is_false(owner_api: Signer) -> None:
    body = await create(owner_api)

    assert body["passwordSet"] is False


@pytest.mark.parametrize("password", ["short", "x" * 257])
async def test_password_length_is_checked(owner_api: Signer, password: str) -> None:
    response = await owner_api.post("customers", customer_body(password=password))

    assert_error(response, 400, "password")


async def test_title_defaults_to_empty_string(owner_api: Signer) -> None:
    assert (await create(owner_api, title=None))["title"] == ""
    assert (await create(owner_api))["title"] == ""


async def test_blank_optional_texts_are_null(owner_api: Signer) -> None:
    body = await create(owner_api, phone="", mobile="   ")

    assert body["phone"] is None
    assert body["mobile"] is None


# --- addresses --------------------------------------------------------------------------------


async def test_first_address_becomes_billing_and_delivery_even_when_sent_false(
    owner_api: Signer,
) -> None:
    body = await create(
        owner_api,
        addresses=[
            {"line1": "1 Main Street", "isBilling": False, "isDelivery": False},
            {"line1": "2 Side Street", "isBilling": False, "isDelivery": False},
        ],
    )

    assert body["billingAddress"]["line1"] == "1 Main Street"
    assert body["billingAddress"]["isBilling"] is True
    assert body["billingAddress"]["isDelivery"] is True
    assert body["deliveryAddress"] == body["billingAddress"]
    addresses = (await owner_api.get(f"customers/{body['id']}/addresses")).json()
    second = next(a for a in addresses if a["line1"] == "2 Side Street")
    assert (second["isBilling"], second["isDelivery"]) == (False, False)


async def test_create_keeps_a_single_billing_and_delivery_address(owner_api: Signer) -> None:
    body = await create(
        owner_api,
        addresses=[
            {"line1": "1 Main Street"},
            {"line1": "2 Side Street", "isBilling": True, "isDelivery": True},
        ],
    )

    addresses = (await owner_api.get(f"customers/{body['id']}/addresses")).json()
    billing = [a for a in addresses if a["isBilling"]]
    delivery = [a for a in addresses if a["isDelivery"]]
    assert len(billing) == 1, addresses
    assert len(delivery) == 1, addresses
    assert body["billingAddress"] == billing[0]
    assert body["deliveryAddress"] == delivery[0]


async def test_address_keys_are_case_insensitive(owner_api: Signer) -> None:
    body = await create(
        owner_api, Addresses=[{"Line1": "1 Main Street", "Town": "York", "PostCode": "YO1 7HH"}]
    )

    assert body["billingAddress"]["line1"] == "1 Main Street"
    assert body["billingAddress"]["town"] == "York"
    assert body["billingAddress"]["postcode"] == "YO1 7HH"


async def test_invalid_address_country_is_400(
    core: Core, tenant: tuple[str, int], owner_api: Signer
) -> None:
    response = await owner_api.post(
        "customers", customer_body(addresses=[{"line1": "1 Main Street", "country": "Narnia"}])
    )

    assert_error(response, 400, "country")
    assert await customer_count(core, tenant[1]) == 0


# --- attributes -------------------------------------------------------------------------------


async def test_attribute_name_with_space_comes_back_in_pascal_case(owner_api: Signer) -> None:
    body = await create(owner_api, **{"Attribute_Favourite Genre": "Musicals"})

    assert body["attribute_FavouriteGenre"] == "Musicals"
    assert "attribute_Favourite Genre" not in body


@pytest.mark.parametrize(
    "key",
    [
        "Attribute_Favourite Genre",
        "attribute_Favourite Genre",
        "attribute_FavouriteGenre",
        "ATTRIBUTE_favourite genre",
    ],
)
async def test_attribute_keys_are_case_insensitive(owner_api: Signer, key: str) -> None:
    body = await create(owner_api, **{key: "Jazz"})

    assert body["attribute_FavouriteGenre"] == "Jazz"


async def test_owner_can_set_a_hidden_attribute(owner_api: Signer) -> None:
    body = await create(owner_api, Attribute_testfield="internal note")

    assert body["attribute_Testfield"] == "internal note"


async def test_several_attributes_at_once(owner_api: Signer) -> None:
    body = await create(
        owner_api,
        **{
            "Attribute_Favourite Genre": "Drama",
            "Attribute_Access Requirements": "Step-free",
            "Attribute_Heard About Us": "Radio",
        },
    )

    assert body["attribute_FavouriteGenre"] == "Drama"
    assert body["attribute_AccessRequirements"] == "Step-free"
    assert body["attribute_HeardAboutUs"] == "Radio"


async def test_unknown_attribute_is_400_naming_it(
    core: Core, tenant: tuple[str, int], owner_api: Signer
) -> None:
    response = await owner_api.post("customers", customer_body(Attribute_ShoeSize="42"))

    assert_error(response, 400, "ShoeSize")
    assert await customer_count(core, tenant[1]) == 0


@pytest.mark.parametrize("value", [{"a": 1}, ["Jazz"]])
async def test_attribute_value_must_be_scalar(owner_api: Signer, value: Any) -> None:
    response = await owner_api.post(
        "customers", customer_body(**{"Attribute_Favourite Genre": value})
    )

    assert_error(response, 400, "Favourite")


# --- tags and statements on create ------------------------------------------------------------


async def test_tags_and_statements_accept_strings_and_id_objects(
    owner_api: Signer, ids: Catalogue
) -> None:
    body = await create(
        owner_api,
        tags=[{"id": ids.tags["Music"]}, ids.tags["Family"]],
        agreedStatements=[{"id": ids.statements["Offers from our partners"]}],
    )

    expanded = (await owner_api.get(f"customers/{body['id']}?$expand=tags,agreedStatements")).json()
    assert [t["name"] for t in expanded["tags"]] == ["Music", "Family"]
    assert [s["text"] for s in expanded["agreedStatements"]] == ["Offers from our partners"]


async def test_owner_can_create_with_an_internal_tag(owner_api: Signer, ids: Catalogue) -> None:
    body = await create(owner_api, tags=[ids.tags["VIP"]])

    tags = (await owner_api.get(f"customers/{body['id']}/tags")).json()
    assert tags == [{"id": ids.tags["VIP"], "name": "VIP"}]


async def test_repeated_ids_are_added_once(owner_api: Signer, ids: Catalogue) -> None:
    drama, post = ids.tags["Drama"], ids.statements["Post from Demo Theatre"]
    body = await create(owner_api, tags=[drama, drama], agreedStatements=[post, {"id": post}])

    expanded = (await owner_api.get(f"customers/{body['id']}?$expand=tags,agreedStatements")).json()
    assert expanded["tags"] == [{"id": drama, "name": "Drama"}]
    assert [s["id"] for s in expanded["agreedStatements"]] == [post]


async def test_pascal_case_input_keys(owner_api: Signer, ids: Catalogue) -> None:
    email = unique_email()
    response = await owner_api.post(
        "customers",
        {
            "FirstName": "Ada",
            "LastName": "Lovelace",
            "Email": email,
            "Title": "Countess",
            "BirthDate": "1985-12-10",
            "Tags": [ids.tags["Ticket Ballot"]],
            "AgreedStatements": [ids.statements["Email updates from Demo Theatre"]],
        },
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["firstName"], body["lastName"], body["email"], body["title"]) == (
        "Ada",
        "Lovelace",
        email,
        "Countess",
    )
    assert body["birthDate"] == "1985-12-10T00:00:00"
    expanded = (await owner_api.get(f"customers/{body['id']}?$expand=tags,agreedStatements")).json()
    assert [t["name"] for t in expanded["tags"]] == ["Ticket Ballot"]
    assert [s["text"] for s in expanded["agreedStatements"]] == ["Email updates from Demo Theatre"]


async def test_a_one_element_array_body_is_accepted(owner_api: Signer) -> None:
    email = unique_email()
    response = await owner_api.post(
        "customers", [{"firstName": "Ada", "lastName": "Lovelace", "email": email}]
    )

    assert response.status_code == 200, response.text
    assert response.json()["email"] == email


async def test_unknown_body_keys_are_ignored(owner_api: Signer) -> None:
    body = await create(owner_api, favouriteColour="green", gender=None)

    assert "favouriteColour" not in body


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tags", "well-formed"),
        ("tags", "not-an-id"),
        ("agreedStatements", "well-formed"),
        ("agreedStatements", "not-an-id"),
    ],
)
async def test_unknown_tag_or_statement_is_400_and_nothing_is_written(
    core: Core, tenant: tuple[str, int], owner_api: Signer, field: str, value: str
) -> None:
    kind = "tag" if field == "tags" else "statement"
    unknown = resource_code(kind, 9999) if value == "well-formed" else value

    response = await owner_api.post("customers", customer_body(**{field: [unknown]}))

    assert_error(response, 400, field)
    assert await customer_count(core, tenant[1]) == 0


async def test_a_statement_id_is_not_a_tag_id(owner_api: Signer, ids: Catalogue) -> None:
    response = await owner_api.post(
        "customers", customer_body(tags=[ids.statements["Post from Demo Theatre"]])
    )

    assert_error(response, 400, "tags")


# --- required fields and validation -----------------------------------------------------------


@pytest.mark.parametrize("field", ["firstName", "lastName", "email"])
async def test_missing_required_field_is_400_naming_it(
    core: Core, tenant: tuple[str, int], owner_api: Signer, field: str
) -> None:
    body = customer_body()
    del body[field]

    response = await owner_api.post("customers", body)

    assert_error(response, 400, field)
    assert await customer_count(core, tenant[1]) == 0


@pytest.mark.parametrize("field", ["firstName", "lastName", "email"])
@pytest.mark.parametrize("value", [None, "", "   "])
async def test_empty_required_field_is_400_naming_it(
    core: Core, tenant: tuple[str, int], owner_api: Signer, field: str, value: str | None
) -> None:
    response = await owner_api.post("customers", customer_body(**{field: value}))

    assert_error(response, 400, field)
    assert await customer_count(core, tenant[1]) == 0


@pytest.mark.parametrize("field", ["firstName", "lastName"])
async def test_missing_required_field_is_named_in_camel_case(owner_api: Signer, field: str) -> None:
    """Errors name fields as the API spells them (``firstName``), as PATCH already does."""
    body = customer_body()
    del body[field]

    response = await owner_api.post("customers", body)

    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{field}:")
    assert field in response.json()["modelState"]


@pytest.mark.parametrize(
    "email",
    [
        "plainaddress",
        "a@b",
        "a@@example.org",
        "a b@example.org",
        "@example.org",
        "ada@",
        "ada@example.",
        "x" * 250 + "@example.org",
    ],
)
async def test_invalid_email_is_400(
    core: Core, tenant: tuple[str, int], owner_api: Signer, email: str
) -> None:
    response = await owner_api.post("customers", customer_body(email=email))

    assert_error(response, 400, "email")
    assert await customer_count(core, tenant[1]) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("firstName", "x" * 201),
        ("lastName", "x" * 201),
        ("title", "x" * 51),
        ("phone", "1" * 51),
        ("mobile", "1" * 51),
        ("friendlyId", "x" * 101),
        ("firstName", "Ada\u0000"),
        ("lastName", "Love\nlace"),
    ],
)
async def test_overlong_or_control_characters_are_400(
    owner_api: Signer, field: str, value: str
) -> None:
    response = await owner_api.post("customers", customer_body(**{field: value}))

    assert_error(response, 400, field)


async def test_surrounding_whitespace_is_trimmed(owner_api: Signer) -> None:
    email = unique_email()
    body = await create(owner_api, firstName="  Ada ", lastName=" Lovelace", email=f" {email} ")

    assert body["firstName"] == "Ada"
    assert body["name"] == "Ada Lovelace"
    assert body["email"] == email


# --- duplicates -------------------------------------------------------------------------------


async def test_duplicate_email_is_duplicate_entry(
    core: Core, tenant: tuple[str, int], owner_api: Signer
) -> None:
    email = unique_email()
    await create(owner_api, email=email)

    response = await owner_api.post("customers", customer_body(email=email))

    assert response.status_code == 400
    assert response.json() == duplicate_body(email)
    assert list(response.json()) == ["resourceType", "resourceIdentifiers", "errorCode", "message"]
    assert await customer_count(core, tenant[1]) == 1


async def test_duplicate_email_is_case_insensitive_and_names_the_email_as_sent(
    core: Core, tenant: tuple[str, int], owner_api: Signer, ids: Catalogue
) -> None:
    original = await create(owner_api, email="Grace.Hopper@Example.org", firstName="Grace")

    sent = "grace.hopper@EXAMPLE.ORG"
    response = await owner_api.post(
        "customers",
        customer_body(
            email=sent,
            firstName="Impostor",
            tags=[ids.tags["VIP"]],
            agreedStatements=[ids.statements["Offers from our partners"]],
            addresses=[{"line1": "1 Elsewhere"}],
            **{"Attribute_Favourite Genre": "Overwritten"},
        ),
    )

    assert response.status_code == 400
    assert response.json() == duplicate_body(sent)
    # Nothing was written: no second record, the first one untouched.
    assert await customer_count(core, tenant[1]) == 1
    again = await owner_api.get(
        f"customers/{original['id']}?$expand=tags,agreedStatements,addresses"
    )
    assert again.json()["firstName"] == "Grace"
    assert again.json()["attribute_FavouriteGenre"] == ""
    assert again.json()["tags"] == []
    assert again.json()["agreedStatements"] == []
    assert again.json()["addresses"] == []


async def test_duplicate_through_a_one_element_array(owner_api: Signer) -> None:
    email = unique_email()
    await create(owner_api, email=email)

    response = await owner_api.post("customers", [customer_body(email=email)])

    assert response.status_code == 400
    assert response.json() == duplicate_body(email)


# --- $expand on create ------------------------------------------------------------------------


async def test_create_honours_expand(owner_api: Signer, ids: Catalogue) -> None:
    response = await owner_api.post(
        "customers?$expand=tags,agreedStatements",
        customer_body(
            tags=[ids.tags["Drama"]], agreedStatements=[ids.statements["Post from Demo Theatre"]]
        ),
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tags"] == [{"id": ids.tags["Drama"], "name": "Drama"}]
    assert body["agreedStatements"] == [
        {
            "id": ids.statements["Post from Demo Theatre"],
            "text": "Post from Demo Theatre",
            "agreed": True,
        }
    ]
    keys = list(body)
    assert keys.index("agreedStatements") < keys.index("billingAddress")
    assert keys.index("phone") < keys.index("tags") < keys.index("title")


async def test_create_with_unknown_expand_is_400_and_writes_nothing(
    core: Core, tenant: tuple[str, int], owner_api: Signer
) -> None:
    response = await owner_api.post("customers?$expand=friends", customer_body())

    assert_error(response, 400, "friends")
    assert await customer_count(core, tenant[1]) == 0
