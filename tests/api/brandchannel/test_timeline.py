"""externalEvent and timelineByCustomerExternalID."""

from __future__ import annotations

from datetime import datetime

from tests.api.brandchannel.support import (
    ENVELOPE_KEYS,
    TIMELINE_KEYS,
    Api,
    assert_error,
    assert_result,
    unique,
)


async def test_external_event_lands_on_the_timeline(api: Api, encoding: str) -> None:
    external = unique()
    customer_id = await api.create(brand_id=1, primary_id=external)
    response = await api.post(
        "customer/externalEvent",
        {
            "customer_id": customer_id,
            "external_id": external,
            "brand_id": 1,
            "initiated_by": "webshop",
            "message": "Order 1001: two tickets for Hamlet",
            "source_url": "https://shop.example.org/orders/1001",
        },
        encoding,
    )
    body = assert_result(response, "Event created.")
    assert isinstance(body["id"], int)
    timeline = await api.get(
        "customer/timelineByCustomerExternalID", brand_id=1, external_id=external
    )
    assert timeline.status_code == 200
    page = timeline.json()
    assert list(page) == ENVELOPE_KEYS
    assert page["type"] == "timeline"
    newest = page["items"][0]
    assert list(newest) == TIMELINE_KEYS
    assert newest == {
        "id": body["id"],
        "kind": "event",
        "created_at": newest["created_at"],
        "initiated_by": "webshop",
        "message": "Order 1001: two tickets for Hamlet",
        "source_url": "https://shop.example.org/orders/1001",
    }
    assert datetime.fromisoformat(newest["created_at"]).utcoffset() is not None
    assert page["items"][-1]["message"] == "Customer created."


async def test_external_event_by_brand_and_external_id(api: Api, encoding: str) -> None:
    external = unique()
    await api.create(brand_id=2, primary_id=external)
    response = await api.post(
        "customer/externalEvent",
        {"external_id": external, "brand_id": 2, "message": "Newsletter sent"},
        encoding,
    )
    assert_result(response, "Event created.")
    timeline = (
        await api.get("customer/timelineByCustomerExternalID", brand_id=2, external_id=external)
    ).json()
    assert timeline["items"][0]["message"] == "Newsletter sent"
    assert timeline["items"][0]["source_url"] is None


async def test_external_event_refusals(api: Api, encoding: str) -> None:
    customer_id = await api.create(brand_id=1)
    no_message = await api.post("customer/externalEvent", {"customer_id": customer_id}, encoding)
    assert_error(no_message, 400, "message", "required")
    bad_url = await api.post(
        "customer/externalEvent",
        {"customer_id": customer_id, "message": "x", "source_url": "javascript:alert(1)"},
        encoding,
    )
    assert_error(bad_url, 400, "source_url")
    missing = await api.post(
        "customer/externalEvent", {"external_id": unique(), "brand_id": 1, "message": "x"}, encoding
    )
    assert_error(missing, 404, "Customer not found")


async def test_ticket_history_only_when_asked(api: Api) -> None:
    external = unique()
    await api.create(brand_id=1, primary_id=external, ticket_id=9)
    plain = (
        await api.get("customer/timelineByCustomerExternalID", brand_id=1, external_id=external)
    ).json()
    assert {i["kind"] for i in plain["items"]} == {"event"}
    with_tickets = (
        await api.get(
            "customer/timelineByCustomerExternalID",
            brand_id=1,
            external_id=external,
            include_tickets="yes",
        )
    ).json()
    assert [i["message"] for i in with_tickets["items"] if i["kind"] == "ticket"] == [
        "Linked to ticket 9."
    ]
    assert with_tickets["itemTotal"] == plain["itemTotal"] + 1


async def test_timeline_pages_newest_first(api: Api) -> None:
    external = unique()
    customer_id = await api.create(brand_id=1, primary_id=external)
    for n in range(4):
        await api.post("customer/externalEvent", {"customer_id": customer_id, "message": f"e{n}"})
    first = (
        await api.get(
            "customer/timelineByCustomerExternalID",
            brand_id=1,
            external_id=external,
            itemLimit=2,
        )
    ).json()
    second = (
        await api.get(
            "customer/timelineByCustomerExternalID",
            brand_id=1,
            external_id=external,
            itemStart=2,
            itemLimit=2,
        )
    ).json()
    assert first["itemTotal"] == 5
    messages = [i["message"] for i in first["items"] + second["items"]]
    assert messages == ["e3", "e2", "e1", "e0"]


async def test_timeline_records_updates_and_channels(api: Api) -> None:
    external = unique()
    customer_id = await api.create(brand_id=1, primary_id=external)
    await api.put(f"customer/{customer_id}", {"firstname": "Ema", "custom_testfield": "x"})
    await api.post("customer/addChannelOnly", {"customer_id": customer_id, "extra_twitter": "ema"})
    items = (
        await api.get("customer/timelineByCustomerExternalID", brand_id=1, external_id=external)
    ).json()["items"]
    assert [i["message"] for i in items] == [
        "Channel added.",
        "Customer updated: custom_testfield, firstname.",
        "Customer created.",
    ]
    assert all(i["initiated_by"].startswith("api-key:") for i in items)


async def test_timeline_refusals(api: Api) -> None:
    assert_error(await api.get("customer/timelineByCustomerExternalID"), 400, "customer_id")
    missing = await api.get(
        "customer/timelineByCustomerExternalID", brand_id=1, external_id=unique()
    )
    assert_error(missing, 404, "Customer not found")
