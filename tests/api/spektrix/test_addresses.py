"""A customer's addresses: GET/POST customers/{id}/addresses, PATCH/DELETE .../{addressId}."""

from __future__ import annotations

from typing import Any

import pytest

from boxoffice.domain.ids import resource_code
from tests.api.spektrix.support import (
    ADDRESS_KEYS,
    RESOURCE_ID_LENGTH,
    assert_error,
    create,
)
from tests.conftest import Signer


async def _addresses(api: Signer, customer_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"customers/{customer_id}/addresses")
    assert response.status_code == 200, response.text
    addresses: list[dict[str, Any]] = response.json()
    return addresses


async def _add(api: Signer, customer_id: str, **fields: Any) -> dict[str, Any]:
    response = await api.post(f"customers/{customer_id}/addresses", fields)
    assert response.status_code == 200, response.text
    address: dict[str, Any] = response.json()
    return address


def _flags(addresses: list[dict[str, Any]]) -> dict[str, tuple[bool, bool]]:
    return {a["line1"]: (a["isBilling"], a["isDelivery"]) for a in addresses}


async def test_new_customer_has_no_addresses(owner_api: Signer) -> None:
    created = await create(owner_api)

    assert await _addresses(owner_api, created["id"]) == []


async def test_add_the_first_address(owner_api: Signer) -> None:
    created = await create(owner_api)

    response = await owner_api.post(
        f"customers/{created['id']}/addresses",
        {
            "isBilling": False,
            "isDelivery": False,
            "name": "Home",
            "line1": "1 Theatre Square",
            "line2": "Flat 2",
            "line3": "Covent Garden",
            "line4": "Westminster",
            "line5": "Greater London",
            "town": "London",
            "postcode": "WC2N 5DU",
            "country": "gb",
            "administrativeDivision": "England",
        },
    )

    assert response.status_code == 200, response.text
    address = response.json()
    assert list(address) == ADDRESS_KEYS
    assert len(address["id"]) == RESOURCE_ID_LENGTH
    assert address == {
        "id": address["id"],
        # The first address is billing and delivery, whatever was sent.
        "isBilling": True,
        "isDelivery": True,
        "country": "GB",
        "administrativeDivision": "England",
        "name": "Home",
        "line1": "1 Theatre Square",
        "line2": "Flat 2",
        "line3": "Covent Garden",
        "line4": "Westminster",
        "line5": "Greater London",
        "town": "London",
        "postcode": "WC2N 5DU",
    }
    assert await _addresses(owner_api, created["id"]) == [address]
    customer = (await owner_api.get(f"customers/{created['id']}")).json()
    assert customer["billingAddress"] == address
    assert customer["deliveryAddress"] == address


async def test_pascal_case_address_keys(owner_api: Signer) -> None:
    created = await create(owner_api)

    address = await _add(owner_api, created["id"], Line1="1 Main Street", PostCode="AB1 2CD")

    assert address["line1"] == "1 Main Street"
    assert address["postcode"] == "AB1 2CD"


async def test_a_second_address_without_flags_leaves_the_first_in_place(owner_api: Signer) -> None:
    created = await create(owner_api)
    first = await _add(owner_api, created["id"], line1="1 Main Street")

    second = await _add(owner_api, created["id"], line1="2 Side Street")

    assert (second["isBilling"], second["isDelivery"]) == (False, False)
    assert _flags(await _addresses(owner_api, created["id"])) == {
        "1 Main Street": (True, True),
        "2 Side Street": (False, False),
    }
    customer = (await owner_api.get(f"customers/{created['id']}")).json()
    assert customer["billingAddress"]["id"] == first["id"]


async def test_a_new_billing_address_takes_over_billing(owner_api: Signer) -> None:
    created = await create(owner_api)
    await _add(owner_api, created["id"], line1="1 Main Street")

    second = await _add(owner_api, created["id"], line1="2 Side Street", isBilling=True)

    assert _flags(await _addresses(owner_api, created["id"])) == {
        "1 Main Street": (False, True),
        "2 Side Street": (True, False),
    }
    customer = (await owner_api.get(f"customers/{created['id']}")).json()
    assert customer["billingAddress"] == second
    assert customer["deliveryAddress"]["line1"] == "1 Main Street"


async def test_patch_changes_only_what_is_sent(owner_api: Signer) -> None:
    created = await create(owner_api)
    address = await _add(owner_api, created["id"], line1="1 Main Street", town="York")

    response = await owner_api.patch(
        f"customers/{created['id']}/addresses/{address['id']}", {"town": "Leeds", "postcode": "LS1"}
    )

    assert response.status_code == 200, response.text
    assert response.json() == {**address, "town": "Leeds", "postcode": "LS1"}
    assert await _addresses(owner_api, created["id"]) == [response.json()]


async def test_patch_can_clear_a_line(owner_api: Signer) -> None:
    created = await create(owner_api)
    address = await _add(owner_api, created["id"], line1="1 Main Street", line2="Flat 2")

    response = await owner_api.patch(
        f"customers/{created['id']}/addresses/{address['id']}", {"line2": None}
    )

    assert response.status_code == 200
    assert response.json()["line2"] is None


async def test_patch_moves_delivery(owner_api: Signer) -> None:
    created = await create(owner_api)
    await _add(owner_api, created["id"], line1="1 Main Street")
    second = await _add(owner_api, created["id"], line1="2 Side Street")

    response = await owner_api.patch(
        f"customers/{created['id']}/addresses/{second['id']}", {"IsDelivery": True}
    )

    assert response.status_code == 200
    assert _flags(await _addresses(owner_api, created["id"])) == {
        "1 Main Street": (True, False),
        "2 Side Street": (False, True),
    }
    customer = (await owner_api.get(f"customers/{created['id']}")).json()
    assert customer["deliveryAddress"]["id"] == second["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"isBilling": None}, "isBilling"),
        ({"isDelivery": "yes"}, "isdelivery"),
        ({"country": "Narnia"}, "country"),
        ({"country": "G1"}, "country"),
        ({"line1": 5}, "line1"),
        ({"town": "x" * 201}, "town"),
        ({"postcode": "x" * 51}, "postcode"),
        ({"line1": "bad\u0007bell"}, "line1"),
    ],
)
async def test_patch_invalid_values_are_400(
    owner_api: Signer, body: dict[str, Any], field: str
) -> None:
    created = await create(owner_api)
    address = await _add(owner_api, created["id"], line1="1 Main Street")

    response = await owner_api.patch(f"customers/{created['id']}/addresses/{address['id']}", body)

    assert_error(response, 400, field)
    assert await _addresses(owner_api, created["id"]) == [address]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"line1": ["1 Main Street"]}, "line1"),
        ({"isBilling": "true"}, "isbilling"),
        ({"country": "Narnia"}, "country"),
        ({"name": "x" * 201}, "name"),
        ({"administrativeDivision": "x" * 201}, "administrativeDivision"),
    ],
)
async def test_add_invalid_values_are_400(
    owner_api: Signer, body: dict[str, Any], field: str
) -> None:
    created = await create(owner_api)

    response = await owner_api.post(f"customers/{created['id']}/addresses", body)

    assert_error(response, 400, field)
    assert await _addresses(owner_api, created["id"]) == []


async def test_delete_an_address(owner_api: Signer) -> None:
    created = await create(owner_api)
    first = await _add(owner_api, created["id"], line1="1 Main Street")
    second = await _add(owner_api, created["id"], line1="2 Side Street")

    response = await owner_api.delete(f"customers/{created['id']}/addresses/{second['id']}")

    assert response.status_code == 204
    assert response.content == b""
    assert await _addresses(owner_api, created["id"]) == [first]


async def test_deleting_twice_is_404_the_second_time(owner_api: Signer) -> None:
    created = await create(owner_api)
    address = await _add(owner_api, created["id"], line1="1 Main Street")
    path = f"customers/{created['id']}/addresses/{address['id']}"

    assert (await owner_api.delete(path)).status_code == 204
    assert_error(await owner_api.delete(path), 404)
    assert_error(await owner_api.patch(path, {"town": "York"}), 404)
    customer = (await owner_api.get(f"customers/{created['id']}")).json()
    assert customer["billingAddress"] is None
    assert customer["deliveryAddress"] is None


@pytest.mark.parametrize(
    "address_id", [resource_code("address", 12345), "garbage", resource_code("tag", 1)]
)
async def test_unknown_address_is_404(owner_api: Signer, address_id: str) -> None:
    created = await create(owner_api, addresses=[{"line1": "1 Main Street"}])
    path = f"customers/{created['id']}/addresses/{address_id}"

    assert_error(await owner_api.patch(path, {"town": "York"}), 404)
    assert_error(await owner_api.delete(path), 404)


async def test_another_customers_address_is_404(owner_api: Signer) -> None:
    owner_of_address = await create(owner_api, addresses=[{"line1": "1 Main Street"}])
    other = await create(owner_api)
    address_id = owner_of_address["billingAddress"]["id"]
    path = f"customers/{other['id']}/addresses/{address_id}"

    assert_error(await owner_api.patch(path, {"town": "Elsewhere"}), 404)
    assert_error(await owner_api.delete(path), 404)

    assert await _addresses(owner_api, owner_of_address["id"]) == [
        owner_of_address["billingAddress"]
    ]


async def test_addresses_of_an_unknown_customer_are_404(owner_api: Signer) -> None:
    path = "customers/I-ZZZZ-ZZZ0/addresses"

    assert_error(await owner_api.get(path), 404)
    assert_error(await owner_api.post(path, {"line1": "1 Main Street"}), 404)
    assert_error(
        await owner_api.patch(f"{path}/{resource_code('address', 1)}", {"town": "York"}), 404
    )
    assert_error(await owner_api.delete(f"{path}/{resource_code('address', 1)}"), 404)


@pytest.mark.parametrize("body", [[], [{"line1": "a"}, {"line1": "b"}], "1 Main Street", 5])
async def test_address_body_must_be_one_object(owner_api: Signer, body: Any) -> None:
    created = await create(owner_api)

    response = await owner_api.post(f"customers/{created['id']}/addresses", body)

    assert_error(response, 400)
    assert await _addresses(owner_api, created["id"]) == []
