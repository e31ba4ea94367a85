"""GET customers?email=, GET customers/{id} and PATCH customers/{id} (System Owner)."""

from __future__ import annotations

from typing import Any

import pytest

from boxoffice.domain.ids import customer_code
from tests.api.spektrix.support import (
    assert_error,
    create,
    duplicate_body,
    unique_email,
)
from tests.conftest import Signer

# --- GET customers?email= ---------------------------------------------------------------------


async def test_find_by_email_returns_one_object(owner_api: Signer) -> None:
    created = await create(owner_api, email="Ada.Find@Example.org")
    await create(owner_api)  # another customer, not to be returned

    response = await owner_api.get("customers?email=Ada.Find@Example.org")

    assert response.status_code == 200
    assert isinstance(response.json(), dict)
    assert response.json() == created


@pytest.mark.parametrize(
    "query", ["ada.find@example.org", "ADA.FIND@EXAMPLE.ORG", "ada.find%40example.org"]
)
async def test_find_by_email_ignores_case_and_accepts_encoded_at(
    owner_api: Signer, query: str
) -> None:
    created = await create(owner_api, email="Ada.Find@Example.org")

    response = await owner_api.get(f"customers?email={query}")

    assert response.status_code == 200, response.text
    assert response.json()["id"] == created["id"]


async def test_find_by_email_with_encoded_plus(owner_api: Signer) -> None:
    created = await create(owner_api, email="ada+news@example.org")

    response = await owner_api.get("customers?email=ada%2Bnews%40example.org")

    assert response.status_code == 200, response.text
    assert response.json()["id"] == created["id"]


async def test_find_by_email_with_no_match_is_404(owner_api: Signer) -> None:
    await create(owner_api)

    response = await owner_api.get(f"customers?email={unique_email()}")

    assert_error(response, 404)


async def test_find_by_email_does_not_match_a_prefix(owner_api: Signer) -> None:
    await create(owner_api, email="ada@example.org")

    response = await owner_api.get("customers?email=ada@example.or")

    assert_error(response, 404)


@pytest.mark.parametrize("path", ["customers", "customers?email=", "customers?name=Ada"])
async def test_find_without_email_is_400(owner_api: Signer, path: str) -> None:
    response = await owner_api.get(path)

    assert_error(response, 400, "email")


async def test_find_by_email_honours_expand(owner_api: Signer) -> None:
    created = await create(owner_api, addresses=[{"line1": "1 Main Street"}])

    response = await owner_api.get(f"customers?email={created['email']}&$expand=addresses")

    assert response.status_code == 200
    assert response.json()["addresses"] == [created["billingAddress"]]


# --- GET customers/{id} -----------------------------------------------------------------------


async def test_get_unknown_id_is_404(owner_api: Signer) -> None:
    created = await create(owner_api)
    # A well-formed id that belongs to no one: change the last character.
    last = created["id"][-1]
    other = created["id"][:-1] + ("0" if last != "0" else "1")

    response = await owner_api.get(f"customers/{other}")

    assert_error(response, 404)


@pytest.mark.parametrize(
    "bad_id",
    [
        "garbage",
        "I-0000-0000",
        "I-ABC-12345",
        "I-AAAA-AAAAA",
        "12345",
        "I-AAAA-AAA%21",
        "1ARCTVSQCCCKKSVRTTHPNRHRNMHPPLQHG",
        "I-" + "A" * 300,
    ],
)
async def test_get_malformed_id_is_404(owner_api: Signer, bad_id: str) -> None:
    response = await owner_api.get(f"customers/{bad_id}")

    assert_error(response, 404)


async def test_id_of_the_highest_key_is_still_a_valid_id(owner_api: Signer) -> None:
    response = await owner_api.get(f"customers/{customer_code(36**8 - 1)}")

    assert_error(response, 404)


# --- PATCH customers/{id} ---------------------------------------------------------------------


async def test_patch_changes_only_what_is_sent(owner_api: Signer) -> None:
    created = await create(
        owner_api,
        title="Ms",
        phone="0100",
        mobile="0700",
        birthDate="1990-01-31",
        **{"Attribute_Favourite Genre": "Opera"},
    )

    response = await owner_api.patch(f"customers/{created['id']}", {"phone": "0200"})

    assert response.status_code == 200, response.text
    assert response.json() == {**created, "phone": "0200"}
    assert list(response.json()) == list(created)
    assert (await owner_api.get(f"customers/{created['id']}")).json() == response.json()


async def test_patch_every_scalar_field(owner_api: Signer) -> None:
    created = await create(owner_api)
    email = unique_email("new")

    response = await owner_api.patch(
        f"customers/{created['id']}",
        {
            "title": "Dr",
            "firstName": "Grace",
            "lastName": "Hopper",
            "email": email,
            "phone": "0300",
            "mobile": "0777",
            "birthDate": "1980-06-15T12:00:00+00:00",
            "friendlyId": "GH-1",
        },
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["title"] == "Dr"
    assert body["firstName"] == "Grace"
    assert body["lastName"] == "Hopper"
    assert body["name"] == "Grace Hopper"
    assert body["email"] == email
    assert body["phone"] == "0300"
    assert body["mobile"] == "0777"
    assert body["birthDate"] == "1980-06-15T00:00:00"
    assert isinstance(body["age"], int)
    assert body["id"] == created["id"]


async def test_patch_with_pascal_case_keys_and_a_one_element_array(owner_api: Signer) -> None:
    created = await create(owner_api)

    response = await owner_api.patch(
        f"customers/{created['id']}", [{"FirstName": "Grace", "Attribute_Heard About Us": "Radio"}]
    )

    assert response.status_code == 200, response.text
    assert response.json()["firstName"] == "Grace"
    assert response.json()["name"] == "Grace Lovelace"
    assert response.json()["attribute_HeardAboutUs"] == "Radio"


async def test_patch_empty_object_changes_nothing(owner_api: Signer) -> None:
    created = await create(owner_api, phone="0100")

    response = await owner_api.patch(f"customers/{created['id']}", {})

    assert response.status_code == 200
    assert response.json() == created


async def test_patch_sets_and_clears_attributes(owner_api: Signer) -> None:
    created = await create(owner_api, **{"Attribute_Favourite Genre": "Opera"})
    path = f"customers/{created['id']}"

    changed = await owner_api.patch(
        path, {"attribute_FavouriteGenre": "Jazz", "Attribute_Access Requirements": "Wheelchair"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["attribute_FavouriteGenre"] == "Jazz"
    assert changed.json()["attribute_AccessRequirements"] == "Wheelchair"

    cleared = await owner_api.patch(
        path, {"Attribute_Favourite Genre": None, "Attribute_Access Requirements": ""}
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["attribute_FavouriteGenre"] == ""
    assert cleared.json()["attribute_AccessRequirements"] == ""
    assert (await owner_api.get(path)).json() == cleared.json()


async def test_patch_unknown_attribute_is_400_naming_it(owner_api: Signer) -> None:
    created = await create(owner_api)

    response = await owner_api.patch(f"customers/{created['id']}", {"Attribute_Shoe Size": "9"})

    assert_error(response, 400, "Shoe Size")
    assert (await owner_api.get(f"customers/{created['id']}")).json() == created


async def test_patch_clears_birth_date_and_title(owner_api: Signer) -> None:
    created = await create(owner_api, birthDate="1990-01-31", title="Ms")

    response = await owner_api.patch(
        f"customers/{created['id']}", {"birthDate": None, "title": None}
    )

    assert response.status_code == 200
    assert response.json()["birthDate"] is None
    assert response.json()["age"] is None
    assert response.json()["title"] == ""


async def test_patch_blank_optional_text_becomes_null(owner_api: Signer) -> None:
    created = await create(owner_api, phone="0100", mobile="0700")

    response = await owner_api.patch(f"customers/{created['id']}", {"phone": "", "mobile": None})

    assert response.status_code == 200
    assert response.json()["phone"] is None
    assert response.json()["mobile"] is None


@pytest.mark.parametrize("field", ["firstName", "lastName", "email"])
@pytest.mark.parametrize("value", [None, "", "  "])
async def test_patch_cannot_empty_a_required_field(
    owner_api: Signer, field: str, value: str | None
) -> None:
    created = await create(owner_api)

    response = await owner_api.patch(f"customers/{created['id']}", {field: value})

    assert_error(response, 400, field)
    assert (await owner_api.get(f"customers/{created['id']}")).json() == created


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"birthDate": "31/01/1990"}, "birthdate"),
        ({"birthDate": "2999-01-01"}, "birthdate"),
        ({"firstName": 5}, "firstname"),
        ({"phone": ["0100"]}, "phone"),
        ({"title": {"x": 1}}, "title"),
        ({"giftAidConfirmed": "yes"}, "giftaidconfirmed"),
    ],
)
async def test_patch_invalid_values_are_400(
    owner_api: Signer, body: dict[str, Any], field: str
) -> None:
    created = await create(owner_api)

    response = await owner_api.patch(f"customers/{created['id']}", body)

    assert_error(response, 400, field)
    assert (await owner_api.get(f"customers/{created['id']}")).json() == created


async def test_patch_email_to_a_free_address(owner_api: Signer) -> None:
    created = await create(owner_api)
    new_email = unique_email("moved")

    response = await owner_api.patch(f"customers/{created['id']}", {"email": new_email})

    assert response.status_code == 200
    assert response.json()["email"] == new_email
    assert (await owner_api.get(f"customers?email={new_email}")).json()["id"] == created["id"]
    assert (await owner_api.get(f"customers?email={created['email']}")).status_code == 404


async def test_patch_email_to_own_email_in_other_case(owner_api: Signer) -> None:
    created = await create(owner_api, email="ada.case@example.org")

    response = await owner_api.patch(
        f"customers/{created['id']}", {"email": "Ada.Case@Example.org"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["email"] == "Ada.Case@Example.org"


async def test_patch_email_to_a_taken_email_is_duplicate_entry(owner_api: Signer) -> None:
    await create(owner_api, email="taken@example.org")
    created = await create(owner_api, firstName="Grace")

    sent = "TAKEN@example.org"
    response = await owner_api.patch(
        f"customers/{created['id']}", {"email": sent, "firstName": "Changed"}
    )

    assert response.status_code == 400
    assert response.json() == duplicate_body(sent)
    assert (await owner_api.get(f"customers/{created['id']}")).json() == created


async def test_patch_unknown_customer_is_404(owner_api: Signer) -> None:
    response = await owner_api.patch("customers/I-ZZZZ-ZZZ0", {"firstName": "Ghost"})

    assert_error(response, 404)


async def test_patch_ignores_unknown_and_read_only_keys(owner_api: Signer) -> None:
    created = await create(owner_api)

    response = await owner_api.patch(
        f"customers/{created['id']}",
        {"id": "I-AAAA-AAAA", "creditBalance": 100, "passwordSet": True, "name": "Someone Else"},
    )

    assert response.status_code == 200
    assert response.json() == created


async def test_patch_honours_expand(owner_api: Signer) -> None:
    created = await create(owner_api)

    response = await owner_api.patch(
        f"customers/{created['id']}?$expand=addresses,tags", {"phone": "0100"}
    )

    assert response.status_code == 200
    assert response.json()["addresses"] == []
    assert response.json()["tags"] == []
