"""Searches, addChannelOnly and DELETE itemChannel; in every body encoding."""

from __future__ import annotations

from boxoffice.bootstrap import Core
from boxoffice.domain.principal import Principal
from boxoffice.services import customers as spektrix_side
from tests.api.brandchannel.support import (
    ENVELOPE_KEYS,
    Api,
    assert_error,
    assert_result,
    channels_of,
    unique,
    unique_email,
    unique_phone,
)


async def test_search_by_primary_external_id(api: Api, encoding: str) -> None:
    external = unique()
    customer_id = await api.create(brand_id=1, primary_id=external, firstname="Karel")
    response = await api.post(
        "customer/SearchByPrimaryExternalID", {"primary_id": external, "brand_id": 1}, encoding
    )
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ENVELOPE_KEYS
    assert (body["type"], body["itemTotal"]) == ("customer", 1)
    assert body["items"][0]["id"] == customer_id
    assert body["items"][0]["firstname"] == "Karel"
    other_brand = await api.post(
        "customer/SearchByPrimaryExternalID", {"primary_id": external, "brand_id": 2}, encoding
    )
    assert other_brand.status_code == 200
    assert (other_brand.json()["itemTotal"], other_brand.json()["items"]) == (0, [])
    missing = await api.post("customer/SearchByPrimaryExternalID", {"brand_id": 1}, encoding)
    assert_error(missing, 400, "primary_id", "required")


async def test_search_by_customer_channel_value(api: Api, encoding: str) -> None:
    email = unique_email()
    first = await api.create(brand_id=1, extra_email=email)
    second = await api.create(brand_id=2, extra_email=email.upper())
    response = await api.post(
        "customer/SearchByCustomerChannelValue", {"customerChannelValue": email}, encoding
    )
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["items"]] == sorted([first, second])
    in_brand = await api.post(
        "customer/SearchByCustomerChannelValue",
        {"customerChannelValue": email, "brand_id": 2},
        encoding,
    )
    assert [c["id"] for c in in_brand.json()["items"]] == [second]
    nothing = await api.post(
        "customer/SearchByCustomerChannelValue", {"customerChannelValue": unique_email()}, encoding
    )
    assert nothing.json()["itemTotal"] == 0


async def test_add_channel_only(api: Api, encoding: str) -> None:
    external = unique()
    customer_id = await api.create(brand_id=1, primary_id=external)
    email, phone = unique_email(), unique_phone()
    response = await api.post(
        "customer/addChannelOnly",
        {
            "primary_id": external,
            "brand_id": 1,
            "extra_email": email,
            "extra_telephone": phone,
            "extra_twitter": "jana_n",
            "extra_facebook": 1,
        },
        encoding,
    )
    assert_result(response, "Channel added.")
    customer = await api.customer(customer_id)
    assert channels_of(customer) == {
        ("email", email),
        ("telephone", phone),
        ("twitter", "jana_n"),
        ("facebook", "1"),
    }
    by_id = await api.post(
        "customer/addChannelOnly",
        {
            "customer_id": customer_id,
            "customerChannelType_0": "email",
            "customerChannelValue_0": email,
        },
        encoding,
    )
    assert_result(by_id, "Channel added.")  # already there: nothing changes
    assert len((await api.customer(customer_id))["channels"]) == 4


async def test_add_channel_only_refusals(api: Api, encoding: str) -> None:
    customer_id = await api.create(brand_id=1)
    nothing = await api.post("customer/addChannelOnly", {"customer_id": customer_id}, encoding)
    assert_error(nothing, 400, "no channel")
    twitter = await api.post(
        "customer/addChannelOnly",
        {"customer_id": customer_id, "extra_twitter": "not/valid"},
        encoding,
    )
    assert_error(twitter, 400, "extra_twitter")
    phone = await api.post(
        "customer/addChannelOnly",
        {"customer_id": customer_id, "extra_telephone": "+42 0"},
        encoding,
    )
    assert_error(phone, 400, "extra_telephone", "^\\+[0-9]+$")
    unknown_type = await api.post(
        "customer/addChannelOnly", {"customer_id": customer_id, "extra_fax": "123"}, encoding
    )
    assert_error(unknown_type, 400, "extra_fax", "unknown channel type")
    missing = await api.post(
        "customer/addChannelOnly", {"customer_id": 1, "extra_email": unique_email()}, encoding
    )
    assert_error(missing, 404, "Customer not found")


async def test_delete_channel_by_id_and_by_type_and_value(api: Api, encoding: str) -> None:
    email, phone = unique_email(), unique_phone()
    customer_id = await api.create(
        brand_id=1, extra_email=email, extra_telephone=phone, extra_twitter="jana_n"
    )
    channels = {ch["type"]: ch["id"] for ch in (await api.customer(customer_id))["channels"]}
    by_id = await api.delete(f"customer/{customer_id}/channel", channel_id=channels["twitter"])
    assert_result(by_id, "Channel deleted.")
    by_body = await api.delete(
        f"customer/{customer_id}/channel",
        {"customerChannelType": "phoneNumber", "customerChannelValue": phone},
        encoding,
    )
    assert_result(by_body, "Channel deleted.")
    assert channels_of(await api.customer(customer_id)) == {("email", email)}
    again = await api.delete(f"customer/{customer_id}/channel", channel_id=channels["twitter"])
    assert_error(again, 404, "Channel not found")
    neither = await api.delete(f"customer/{customer_id}/channel")
    assert_error(neither, 400, "channel_id")
    other = await api.delete("customer/1/channel", channel_id=channels["email"])
    assert_error(other, 404, "Customer not found")


async def test_deleting_the_email_channel_frees_the_email(
    api: Api, core: Core, bc_tenant: tuple[str, int]
) -> None:
    """The customer's email follows its email channels: delete one, the next one takes over."""
    owner = Principal(tenant_id=bc_tenant[1], actor="test", full_access=True)
    first, second = unique_email(), unique_email()
    customer_id = await api.create(brand_id=1, extra_email=first)
    await api.post("customer/addChannelOnly", {"customer_id": customer_id, "extra_email": second})
    assert (await spektrix_side.find_customer_by_email(core, owner, first)).id == customer_id
    await api.delete(
        f"customer/{customer_id}/channel",
        customerChannelType="email",
        customerChannelValue=first,
    )
    assert (await spektrix_side.find_customer_by_email(core, owner, second)).id == customer_id
    # Another customer may now have the first address as its email.
    other = await api.create(brand_id=2, extra_email=first)
    assert (await spektrix_side.find_customer_by_email(core, owner, first)).id == other
