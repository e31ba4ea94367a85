"""Interest, property and source records, extra addresses and rewards of a customer; and what
the Spektrix dialect sees of them."""

from __future__ import annotations

import uuid

from boxoffice.bootstrap import Core
from boxoffice.services import catalogue as catalogue_service
from tests.api.carecloud.support import Api, error_of, reasons
from tests.conftest import Signer


async def test_interest_records(api: Api, owner_api: Signer) -> None:
    customer_id = await api.logged_in()
    interests = await api.ids("interests", "interests", "interest_id")
    path = f"customers/{customer_id}/interest-records"

    def body(name: str) -> dict[str, object]:
        return {"interest_record": {"interest_id": interests[name], "customer_id": customer_id}}

    first = await api.post(path, body("Drama"))
    assert first.status_code == 201
    again = await api.post(path, body("Drama"))  # adding it twice changes nothing
    assert again.json() == first.json()
    record_id = first.json()["data"]["interest_record_id"]
    listed = (await api.get(path)).json()["data"]
    assert listed["total_items"] == 1
    (record,) = listed["interest_records"]
    assert record["interest_record_id"] == record_id
    assert record["interest_id"] == interests["Drama"] and record["customer_id"] == customer_id
    spektrix = (
        await owner_api.get(f"customers?email={await _email(api, customer_id)}&$expand=tags")
    ).json()
    assert [t["name"] for t in spektrix["tags"]] == ["Drama"]

    assert (await api.put(f"{path}/{record_id}", body("Music"))).status_code == 204
    records = (await api.get(path)).json()["data"]["interest_records"]
    assert [r["interest_id"] for r in records] == [interests["Music"]]
    error_of(await api.delete(f"{path}/{record_id}"), 404)  # it became the Music record
    music_id = records[0]["interest_record_id"]
    assert (await api.delete(f"{path}/{music_id}")).status_code == 204
    error_of(await api.delete(f"{path}/{music_id}"), 404)
    assert (await api.get(path)).json()["data"] == {"interest_records": [], "total_items": 0}
    wrong_owner = {"interest_record": {"interest_id": interests["Drama"], "customer_id": "x"}}
    assert reasons(await api.post(path, wrong_owner)) == {
        "customer_id": "not_belong_to_logged_in_customer"
    }
    unknown = {
        "interest_record": {"interest_id": "8ea2591121e636086a4a9c0992", "customer_id": customer_id}
    }
    assert reasons(await api.post(path, unknown)) == {"interest_id": "not_found"}


async def _email(api: Api, customer_id: str) -> str:
    data = (await api.get(f"customers/{customer_id}")).json()["data"]
    email: str = data["personal_information"]["email"]
    return email


async def test_property_records(api: Api, owner_api: Signer) -> None:
    customer_id = await api.logged_in()
    path = f"customers/{customer_id}/property-records"
    response = await api.post(
        path,
        {
            "property_record": {
                "property_id": "wedding_date",
                "property_value": "2001-08-13T10:00:00",
            }
        },
    )
    assert response.json() == {"data": {"property_record_id": f"wedding_date:{customer_id}"}}
    record_id = f"wedding_date:{customer_id}"
    listed = (await api.get(path)).json()["data"]
    assert listed == {
        "property_records": [
            {
                "property_record_id": record_id,
                "property_id": "wedding_date",
                "property_name": "Date of wedding",
                "property_value": "2001-08-13",
            }
        ],
        "total_items": 1,
    }
    cs = (await api.get(path, headers={"Accept-Language": "cs"})).json()["data"]
    assert cs["property_records"][0]["property_name"] == "Datum svatby"
    changed = await api.put(
        f"{path}/{record_id}",
        {"property_record": {"property_id": "wedding_date", "property_value": "2002-02-02"}},
    )
    assert changed.status_code == 204
    spektrix = (await owner_api.get(f"customers?email={await _email(api, customer_id)}")).json()
    assert spektrix["attribute_WeddingDate"] == "2002-02-02"
    assert reasons(
        await api.put(
            f"{path}/{record_id}",
            {"property_record": {"property_id": "favourite_genre", "property_value": "x"}},
        )
    ) == {"property_id": "not_allowed_value"}
    error_of(
        await api.put(
            f"{path}/favourite_genre:{customer_id}",
            {"property_record": {"property_id": "favourite_genre", "property_value": "x"}},
        ),
        404,
    )
    assert reasons(
        await api.post(
            path, {"property_record": {"property_id": "wedding_date", "property_value": "soon"}}
        )
    ) == {"property_value": "invalid_value_format"}
    assert reasons(
        await api.post(
            path, {"property_record": {"property_id": "shoe_size", "property_value": 44}}
        )
    ) == {"property_id": "not_found"}
    assert (await api.delete(f"{path}/{record_id}")).status_code == 204
    error_of(await api.delete(f"{path}/{record_id}"), 404)
    error_of(await api.delete(f"{path}/wedding_date:8ea2591121e636086a4a9c0992"), 404)


async def test_the_property_batch_rolls_back_on_any_error(api: Api) -> None:
    customer_id = await api.logged_in()
    path = f"customers/{customer_id}/property-records"
    good = {"property_id": "favourite_genre", "property_value": "Opera"}
    bad = {"property_id": "wedding_date", "property_value": "not a date"}
    refused = await api.post(f"{path}/batch", {"property_records": [good, bad]})
    assert reasons(refused) == {"property_value": "invalid_value_format"}
    assert (await api.get(path)).json()["data"]["total_items"] == 0
    partial = await api.post(
        f"{path}/batch", {"property_records": [good, bad], "error_processing": 2}
    )
    assert reasons(partial) == {"property_records.wedding_date": "invalid_value_format"}
    records = (await api.get(path)).json()["data"]["property_records"]
    assert [(r["property_id"], r["property_value"]) for r in records] == [
        ("favourite_genre", "Opera")
    ]
    ok = await api.post(
        f"{path}/batch",
        {
            "property_records": [
                {"property_id": "favourite_genre", "property_value": "Jazz"},
                {"property_id": "wedding_date", "property_value": "2001-08-13"},
            ]
        },
    )
    assert ok.status_code == 204
    values = {
        r["property_id"]: r["property_value"]
        for r in (await api.get(path)).json()["data"]["property_records"]
    }
    assert values == {"favourite_genre": "Jazz", "wedding_date": "2001-08-13"}
    page = (
        await api.get(path, params={"count": 1, "offset": 1, "sort_field": "property_id"})
    ).json()
    assert page["data"]["total_items"] == 2
    assert [r["property_id"] for r in page["data"]["property_records"]] == ["wedding_date"]


async def test_extra_addresses(api: Api) -> None:
    customer_id = await api.logged_in(address={"address1": "Main 1", "city": "Prague"})
    types = await api.ids("customer-address-types", "customer_address_types", "address_type_id")
    path = f"customers/{customer_id}/addresses"
    assert (await api.get(path)).json()["data"]["total_items"] == 0  # the main one is apart
    body = {
        "additional_address": {
            "address_type": types["Delivery address"],
            "address": {"address1": "Cottage 2", "zip": 12345, "country_code": "CZ"},
        }
    }
    created = await api.post(path, body)
    assert created.status_code == 201
    address_id = created.json()["data"]["additional_address_id"]
    one = (await api.get(f"{path}/{address_id}")).json()["data"]
    assert one["address_type"] == types["Delivery address"]
    assert one["address"]["address1"] == "Cottage 2" and one["address"]["zip"] == "12345"
    assert one["address"]["country_code"] == "cz"
    body["additional_address"]["address_type"] = types["Other address"]
    body["additional_address"]["address"] = {"address1": "Cottage 3"}
    assert (await api.put(f"{path}/{address_id}", body)).status_code == 204
    listed = (
        await api.get(path, params={"customer_address_type_id": types["Other address"]})
    ).json()
    assert [a["address"]["address1"] for a in listed["data"]["addresses"]] == ["Cottage 3"]
    main = (await api.get(f"customers/{customer_id}")).json()["data"]["personal_information"]
    assert main["address"]["address1"] == "Main 1"
    body["additional_address"]["address_type"] = "nonsense"
    assert reasons(await api.post(path, body)) == {"address_type": "not_found"}
    error_of(await api.get(f"{path}/8ea2591121e636086a4a9c0992"), 404)


async def test_source_records(api: Api, core: Core) -> None:
    await catalogue_service.load_catalogue(
        core, api.tenant, {"customer_sources": [{"code": "app", "name": "Mobile app"}]}
    )
    customer_id = await api.logged_in()
    sources = await api.ids("customer-sources", "customer_sources", "customer_source_id")
    path = f"customers/{customer_id}/customer-source-records"
    listed = (await api.get(path)).json()["data"]
    assert listed["total_items"] == 1
    assert listed["customer_source_records"][0]["customer_source_id"] == sources["Website"]
    again = await api.post(
        path, {"customer_source_record": {"customer_source_id": sources["Website"]}}
    )
    assert reasons(again) == {"customer_source_id": "relation_already_exists"}
    external = f"ext-{uuid.uuid4().hex[:8]}"
    body = {
        "customer_source_record": {
            "customer_source_id": sources["Mobile app"],
            "external_id": external,
        }
    }
    created = await api.post(path, body)
    assert created.status_code == 201
    record_id = created.json()["data"]["customer_source_record_id"]
    found = (await api.get(path, params={"external_id": external})).json()["data"]
    assert [r["customer_source_record_id"] for r in found["customer_source_records"]] == [record_id]
    # ``external_ids`` (array syntax) takes priority over ``external_id``; over 1000 is a 400.
    found = await api.get(path, params={"external_ids[]": [external, "x"], "external_id": "y"})
    assert [r["external_id"] for r in found.json()["data"]["customer_source_records"]] == [external]
    missing = await api.get(path, params={"external_ids": ["nothing"], "external_id": external})
    assert missing.json()["data"]["total_items"] == 0
    too_many = await api.get(path, params={"external_ids": [external] * 1001})
    assert reasons(too_many) == {"external_ids": "invalid_value_format"}
    # The same external id of the same source belongs to one customer only.
    other = Api(api.client, api.tenant)
    other_id = await other.logged_in()
    taken = await other.post(f"customers/{other_id}/customer-source-records", body)
    assert reasons(taken) == {"external_id": "already_exists"}
    by_source = await other.get("customers", params={"customer_source_id": sources["Mobile app"]})
    assert by_source.json()["data"]["total_items"] == 0


async def test_customer_rewards_and_filters(api: Api) -> None:
    customer_id = await api.logged_in()
    rewards = (await api.get(f"customers/{customer_id}/rewards")).json()["data"]
    assert rewards["total_items"] == 2
    codes = {r["code"] for r in rewards["rewards"]}
    assert codes == {"FREE-PROGRAMME", "INTERVAL-DRINK"}
    by_code = (await api.get("rewards", params={"code": "INTERVAL-DRINK"})).json()["data"]
    assert [r["name"] for r in by_code["rewards"]] == ["Interval drink"]
    one = by_code["rewards"][0]
    detail = (await api.get(f"rewards/{one['reward_id']}")).json()["data"]
    assert detail == one
    assert (await api.get("rewards", params={"is_valid": "true", "without_stores": "true"})).json()[
        "data"
    ]["total_items"] == 2
    assert (await api.get("rewards", params={"reward_group": 2})).json()["data"]["total_items"] == 0
    assert (await api.get("rewards", params={"name": "drink"})).json()["data"]["total_items"] == 1
    sorted_desc = (
        await api.get("rewards", params={"sort_field": "code", "sort_direction": "DESC"})
    ).json()
    assert [r["code"] for r in sorted_desc["data"]["rewards"]] == [
        "INTERVAL-DRINK",
        "FREE-PROGRAMME",
    ]
    assert reasons(await api.get("rewards", params={"valid_from": "yesterday"})) == {
        "valid_from": "invalid_value_format"
    }
    error_of(await api.get("rewards/8ea2591121e636086a4a9c0992"), 404)
