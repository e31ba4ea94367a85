"""What a venue sells, on the Spektrix wire (issue 17): events, instances, price lists, plans,
availability, venues, ticket types, bands, funds, stock items and memberships, in web mode
(unsigned) and System Owner mode (signed), against the demo box office."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from boxoffice.bootstrap import Core
from boxoffice.domain.ids import resource_code
from boxoffice.domain.principal import Principal
from boxoffice.services import catalogue as catalogue_service
from boxoffice.services import inventory
from boxoffice.store.models import LockType
from tests.api.spektrix.support import RESOURCE_ID, RESOURCE_ID_LENGTH, UNAUTHORIZED
from tests.conftest import Signer, make_tenant

LONDON = ZoneInfo("Europe/London")
LOCAL = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
UTC_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
EVENT_KEYS = [
    "description",
    "htmlDescription",
    "duration",
    "imageUrl",
    "isOnSale",
    "name",
    "instanceDates",
    "thumbnailUrl",
    "webEventId",
    "id",
    "firstInstanceDateTime",
    "lastInstanceDateTime",
    "firstInstanceDateTimeUtc",
    "lastInstanceDateTimeUtc",
]
INSTANCE_KEYS = [
    "isOnSale",
    "planId",
    "priceList",
    "event",
    "start",
    "startUtc",
    "startSellingAtWeb",
    "startSellingAtWebUtc",
    "stopSellingAtWeb",
    "stopSellingAtWebUtc",
    "webInstanceId",
    "cancelled",
    "id",
    "hasBestAvailableOverlay",
]
WEB_STATUS_KEYS = [
    "name",
    "available",
    "wheelchairAvailable",
    "specialAvailable",
    "capacity",
    "bands",
    "inBasket",
    "unavailable",
    "lockInfoAvailable",
    "lockInfoSpecialAvailable",
]
OWNER_STATUS_KEYS = [
    *WEB_STATUS_KEYS,
    "inOtherBasket",
    "locked",
    "reserved",
    "sold",
    "scanned",
    "masked",
    "lockInformation",
]
SEAT_KEYS = ["id", "name", "row", "number", "priceBand", "wheelchair", "special", "x", "y"]
AREA_KEYS = ["id", "name", "type", "capacity", "priceBand", "areas", "seats"]
PLAN_KEYS = ["id", "name", "type", "backgroundImageUrl", "capacity", "areas", "venue"]
#: The demo box office's prices: band -> (Adult, Concession, Under 18).
HAMLET_PRICES = {"A": (35, 30, 15), "B": (25, 20, 10), "C": (18, 15, 8)}


def _today() -> date:
    return datetime.now(LONDON).date()


def _day(offset: int) -> str:
    return (_today() + timedelta(days=offset)).isoformat()


def _short(code: str) -> str:
    return re.split(r"[A-Za-z]", code, maxsplit=1)[0]


def _assert_id(value: str) -> None:
    assert len(value) == RESOURCE_ID_LENGTH and RESOURCE_ID.match(value), value


async def _web(http: httpx.AsyncClient, tenant: str, path: str, status: int = 200) -> Any:
    response = await http.get(f"/{tenant}/api/v3/{path}")
    assert response.status_code == status, response.text
    return response.json()


async def _owner(api: Signer, path: str, status: int = 200) -> Any:
    response = await api.get(path)
    assert response.status_code == status, response.text
    return response.json()


def _attribute_keys(body: dict[str, Any]) -> list[str]:
    return [k for k in body if k.startswith("attribute_")]


def _assert_event(event: dict[str, Any], *, expanded: bool = False) -> None:
    keys = list(event)
    attributes = _attribute_keys(event)
    expected = EVENT_KEYS + (["instances"] if expanded else [])
    assert keys == expected + attributes, keys  # attribute_* last
    _assert_id(event["id"])
    assert isinstance(event["duration"], int)
    for key in ("firstInstanceDateTime", "lastInstanceDateTime"):
        assert event[key] is None or LOCAL.match(event[key]), event[key]
    for key in ("firstInstanceDateTimeUtc", "lastInstanceDateTimeUtc"):
        assert event[key] is None or UTC_Z.match(event[key]), event[key]
    if expanded:
        for instance in event["instances"]:
            _assert_instance(instance)
            assert instance["event"] == {"id": event["id"]}


def _assert_instance(instance: dict[str, Any]) -> None:
    keys = list(instance)
    assert keys == INSTANCE_KEYS + _attribute_keys(instance), keys
    for key in ("start", "startUtc", "startSellingAtWeb", "stopSellingAtWeb"):
        assert LOCAL.match(instance[key]), (key, instance[key])  # startUtc: no Z
    for key in ("startSellingAtWebUtc", "stopSellingAtWebUtc"):
        assert UTC_Z.match(instance[key]), (key, instance[key])
    for key in ("planId", "id"):
        _assert_id(instance[key])
    assert list(instance["priceList"]) == ["id"] and list(instance["event"]) == ["id"]
    # The local times and their UTC twins are the same instants in Europe/London.
    for local, utc in (
        ("start", "startUtc"),
        ("startSellingAtWeb", "startSellingAtWebUtc"),
        ("stopSellingAtWeb", "stopSellingAtWebUtc"),
    ):
        wall = datetime.fromisoformat(instance[local]).replace(tzinfo=LONDON)
        assert wall.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") == instance[utc].rstrip("Z")


async def _events(api: Signer, query: str = "") -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in await _owner(api, f"events{query}")}


# --- events ---------------------------------------------------------------------------------


async def test_events_in_the_vendors_key_order_and_formats(
    http: httpx.AsyncClient, box_office: Signer
) -> None:
    owner = await _owner(box_office, "events")
    web = await _web(http, box_office.tenant, "events")

    assert {"Hamlet", "The Little Prince", "Jazz Night"} <= {e["name"] for e in owner}
    for event in owner + web:
        _assert_event(event)
    hamlet = next(e for e in owner if e["name"] == "Hamlet")
    assert hamlet["duration"] == 180
    assert hamlet["firstInstanceDateTime"] == f"{_day(14)}T19:30:00"
    first_utc = datetime(*map(int, _day(14).split("-")), 19, 30, tzinfo=LONDON).astimezone(UTC)
    assert hamlet["firstInstanceDateTimeUtc"] == first_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert hamlet["isOnSale"] is True
    # Every attribute the tenant defines for events is on every event (null when unset).
    assert len({tuple(_attribute_keys(e)) for e in owner}) == 1


async def test_events_expand_instances(http: httpx.AsyncClient, box_office: Signer) -> None:
    for events in (
        await _owner(box_office, "events?$expand=instances"),
        await _web(http, box_office.tenant, "events?$expand=Instances"),
    ):
        for event in events:
            _assert_event(event, expanded=True)
        hamlet = next(e for e in events if e["name"] == "Hamlet")
        assert [i["start"] for i in hamlet["instances"]] == [
            f"{_day(d)}T19:30:00" for d in (14, 15, 16)
        ]
    without = await _owner(box_office, "events")
    assert all("instances" not in e for e in without)


async def test_one_event_by_long_and_short_id(http: httpx.AsyncClient, box_office: Signer) -> None:
    hamlet = (await _events(box_office))["Hamlet"]

    assert await _owner(box_office, f"events/{hamlet['id']}") == hamlet
    assert await _web(http, box_office.tenant, f"events/{_short(hamlet['id'])}") == hamlet
    expanded = await _owner(box_office, f"events/{hamlet['id']}?$expand=instances")
    _assert_event(expanded, expanded=True)
    assert len(expanded["instances"]) == 3


async def test_event_filters(box_office: Signer) -> None:
    everything = await _events(box_office)
    on_day_15 = await _events(
        box_office, f"?instanceStart_from={_day(15)}&instanceStart_to={_day(15)}"
    )
    assert set(on_day_15) == {"Hamlet"}
    # A date and time, as firstInstanceDateTime shows it, is accepted too.
    hamlet = everything["Hamlet"]
    from_first = await _events(box_office, f"?instanceStart_from={hamlet['firstInstanceDateTime']}")
    assert "Hamlet" in from_first and "Winter Gala" not in from_first
    # Without instanceStart_from, past events come too.
    assert "Winter Gala" in everything
    assert set(await _events(box_office, "?name=Hamlet")) == {"Hamlet"}
    on_sale = await _events(box_office, "?onSale=true")
    assert "Hamlet" in on_sale and all(e["isOnSale"] for e in on_sale.values())
    off_sale = await _events(box_office, "?onSale=false")
    assert all(not e["isOnSale"] for e in off_sale.values())
    assert set(on_sale) | set(off_sale) == set(everything)
    # Filters combine, in any order.
    both = await _events(box_office, f"?name=Hamlet&instanceStart_from={_day(17)}")
    assert both == {}


async def test_unknown_parameters_are_ignored(http: httpx.AsyncClient, box_office: Signer) -> None:
    assert await _owner(box_office, "events?colour=blue&page=2") == await _owner(
        box_office, "events"
    )
    # ``start_from`` is not a filter of ``instances`` (the vendor returns everything).
    everything = await _owner(box_office, "instances")
    assert await _owner(box_office, f"instances?start_from={_day(100)}") == everything
    assert await _owner(box_office, f"instances?instanceStart_from={_day(100)}") == everything
    assert everything


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("events?instanceStart_from=notadate", "instanceStart_from"),
        ("events?instanceStart_to=2026-13-01", "instanceStart_to"),
        ("events?onSale=maybe", "onSale"),
        ("instances?startFrom=tomorrow", "startFrom"),
        ("instances?startTo=0000-01-01", "startTo"),
        ("instances?eventName=a%00b", "eventName"),
        ("instances/{instance}/status?includeLockInformation=perhaps", "includeLockInformation"),
        ("instances/{instance}/status?includeChildPlans=2", "includeChildPlans"),
    ],
)
async def test_bad_filter_values_are_400_naming_the_parameter(
    http: httpx.AsyncClient, box_office: Signer, path: str, parameter: str
) -> None:
    instance = (await _owner(box_office, "instances"))[0]["id"]
    path = path.replace("{instance}", instance)
    for response in (
        await box_office.get(path),
        await http.get(f"/{box_office.tenant}/api/v3/{path}"),
    ):
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["message"].startswith(f"{parameter}: "), body
        assert list(body["modelState"]) == [parameter]


async def test_bad_snake_case_window_of_an_events_instances(box_office: Signer) -> None:
    hamlet = (await _events(box_office))["Hamlet"]
    response = await box_office.get(f"events/{hamlet['id']}/instances?start_from=x")
    assert response.status_code == 400
    assert response.json()["message"].startswith("start_from: ")


# --- instances ------------------------------------------------------------------------------


async def test_instances_key_order_formats_and_filters(
    http: httpx.AsyncClient, box_office: Signer
) -> None:
    instances = await _owner(box_office, "instances")
    for instance in instances + await _web(http, box_office.tenant, "instances"):
        _assert_instance(instance)
    hamlet = (await _events(box_office))["Hamlet"]
    # startFrom inclusive, startTo exclusive.
    window = await _owner(box_office, f"instances?startFrom={_day(14)}&startTo={_day(16)}")
    assert [i["start"] for i in window if i["event"]["id"] == hamlet["id"]] == [
        f"{_day(14)}T19:30:00",
        f"{_day(15)}T19:30:00",
    ]
    # eventName matches part of the name.
    named = await _owner(box_office, "instances?eventName=amle")
    assert len(named) == 3 and {i["event"]["id"] for i in named} == {hamlet["id"]}
    assert await _owner(box_office, "instances?eventName=No%20Such%20Show") == []


async def test_an_events_instances_with_the_snake_case_window(box_office: Signer) -> None:
    hamlet = (await _events(box_office))["Hamlet"]
    all_three = await _owner(box_office, f"events/{hamlet['id']}/instances")
    assert [i["start"][:10] for i in all_three] == [_day(14), _day(15), _day(16)]
    later = await _owner(box_office, f"events/{hamlet['id']}/instances?start_from={_day(15)}")
    assert [i["start"][:10] for i in later] == [_day(15), _day(16)]
    # The camelCase spelling is not this endpoint's: ignored.
    assert await _owner(box_office, f"events/{hamlet['id']}/instances?startFrom={_day(15)}") == (
        all_three
    )


async def test_one_instance_by_long_and_short_id(
    http: httpx.AsyncClient, box_office: Signer
) -> None:
    instance = (await _owner(box_office, "instances"))[0]
    assert await _owner(box_office, f"instances/{instance['id']}") == instance
    assert await _web(http, box_office.tenant, f"instances/{_short(instance['id'])}") == instance


def _stubbed(instance: dict[str, Any]) -> dict[str, Any]:
    """An expanded instance with its event and price list back to ``{"id"}`` stubs."""
    return {
        **instance,
        "priceList": {"id": instance["priceList"]["id"]},
        "event": {"id": instance["event"]["id"]},
    }


async def test_instances_expand_their_event_and_price_list(
    http: httpx.AsyncClient, box_office: Signer
) -> None:
    events = {e["id"]: e for e in await _owner(box_office, "events")}
    web_events = {e["id"]: e for e in await _web(http, box_office.tenant, "events")}
    hamlet = next(e for e in events.values() if e["name"] == "Hamlet")
    plain = await _owner(box_office, "instances")
    price_lists = {
        i["priceList"]["id"]: await _owner(box_office, f"instances/{i['id']}/price-list")
        for i in plain
    }
    paths = (
        "instances?$expand=event,priceList",
        "instances?$expand=PriceList,EVENT",
        f"events/{hamlet['id']}/instances?$expand=event,priceList",
    )
    for path in paths:
        for expanded, known in (
            (await _owner(box_office, path), events),
            (await _web(http, box_office.tenant, path), web_events),
        ):
            assert expanded
            for instance in expanded:
                assert list(instance) == INSTANCE_KEYS + _attribute_keys(instance)
                assert instance["event"] == known[instance["event"]["id"]]
                _assert_event(instance["event"])
                assert instance["priceList"] == price_lists[instance["priceList"]["id"]]
                _assert_instance(_stubbed(instance))
    assert [_stubbed(i) for i in await _owner(box_office, paths[0])] == plain
    # One of the two alone; the other stays a stub.
    only_event = await _owner(box_office, "instances?$expand=event")
    assert all(list(i["priceList"]) == ["id"] and "name" in i["event"] for i in only_event)
    only_prices = await _owner(box_office, "instances?$expand=priceList")
    assert all(list(i["event"]) == ["id"] and "prices" in i["priceList"] for i in only_prices)
    # One instance, by long and short id.
    first = plain[0]
    for key in (first["id"], _short(first["id"])):
        one = await _web(http, box_office.tenant, f"instances/{key}?$expand=event,priceList")
        assert one["event"] == web_events[first["event"]["id"]]
        assert one["priceList"] == price_lists[first["priceList"]["id"]]
    # Unknown names are ignored, as on events.
    assert await _owner(box_office, "instances?$expand=seats") == plain


# --- prices, plans, venues ------------------------------------------------------------------


async def _hamlet_instance(api: Signer) -> dict[str, Any]:
    hamlet = (await _events(api))["Hamlet"]
    instances: list[dict[str, Any]] = await _owner(api, f"events/{hamlet['id']}/instances")
    return instances[0]


async def test_price_list(http: httpx.AsyncClient, box_office: Signer) -> None:
    instance = await _hamlet_instance(box_office)
    response = await box_office.get(f"instances/{instance['id']}/price-list")
    assert response.status_code == 200
    price_list = response.json()

    assert list(price_list) == ["id", "prices"]
    assert price_list["id"] == instance["priceList"]["id"]
    found = {}
    for price in price_list["prices"]:
        assert list(price) == ["id", "isBandDefault", "amount", "ticketType", "priceBand"]
        assert list(price["ticketType"])[:2] == ["id", "name"]
        assert list(price["priceBand"]) == ["id", "name"]
        found[(price["priceBand"]["name"], price["ticketType"]["name"])] = price["amount"]
    for band, amounts in HAMLET_PRICES.items():
        for name, amount in zip(("Adult", "Concession", "Under 18"), amounts, strict=True):
            assert found[(band, name)] == amount
    assert '"amount":35.00' in response.text  # two decimals
    assert await _web(http, box_office.tenant, f"instances/{instance['id']}/price-list") == (
        price_list
    )


async def test_plan_of_an_instance_and_by_id(http: httpx.AsyncClient, box_office: Signer) -> None:
    instance = await _hamlet_instance(box_office)
    plan = await _owner(box_office, f"instances/{instance['id']}/plan")

    assert list(plan) == PLAN_KEYS
    assert plan["id"] == instance["planId"]
    assert plan["name"] == "Main House" and plan["capacity"] == 260
    areas = {a["name"]: a for a in plan["areas"]}
    assert set(areas) == {"Stalls", "Circle"}
    assert (areas["Stalls"]["capacity"], areas["Circle"]["capacity"]) == (200, 60)
    for area in plan["areas"]:
        assert list(area) == AREA_KEYS and area["type"] == "Reserved"
        for seat in area["seats"]:
            assert list(seat) == SEAT_KEYS
            _assert_id(seat["id"])
    seats = {s["name"]: s for s in areas["Stalls"]["seats"]}
    assert len(seats) == 200 and seats["A1"]["row"] == "A" and seats["A1"]["number"] == "1"
    bands = {b["id"]: b["name"] for b in await _owner(box_office, "bands")}
    assert bands[seats["A1"]["priceBand"]["id"]] == "A"
    assert bands[seats["J20"]["priceBand"]["id"]] == "B"
    assert await _owner(box_office, f"plans/{plan['id']}") == plan
    assert await _web(http, box_office.tenant, f"plans/{_short(plan['id'])}") == plan
    venues = await _owner(box_office, "venues")
    assert plan["venue"]["id"] in {v["id"] for v in venues}


async def test_plans_venues_ticket_types_bands(http: httpx.AsyncClient, box_office: Signer) -> None:
    plans = await _owner(box_office, "plans")
    assert {"Main House", "Studio"} <= {p["name"] for p in plans}
    studio = next(p for p in plans if p["name"] == "Studio")
    assert studio["capacity"] == 60 and studio["type"] == "Unreserved"

    venues = await _web(http, box_office.tenant, "venues")
    assert [v["name"] for v in venues] == ["Demo Theatre"]
    assert list(venues[0]) == ["id", "name", "address"]
    assert await _owner(box_office, f"venues/{venues[0]['id']}") == venues[0]

    types = await _web(http, box_office.tenant, "ticket-types")
    assert [t["name"] for t in types] == ["Adult", "Concession", "Under 18"]
    assert all(list(t)[:2] == ["id", "name"] for t in types)
    bands = await _web(http, box_office.tenant, "bands")
    assert [b["name"] for b in bands] == ["A", "B", "C"]
    assert all(list(b) == ["id", "name"] for b in bands)


# --- availability ---------------------------------------------------------------------------


async def test_status_web_and_owner_field_sets(http: httpx.AsyncClient, box_office: Signer) -> None:
    instance = await _hamlet_instance(box_office)
    path = f"instances/{instance['id']}/status"

    web = await _web(http, box_office.tenant, path)
    owner = await _owner(box_office, path)

    assert list(web) == WEB_STATUS_KEYS
    assert list(owner) == OWNER_STATUS_KEYS
    assert web == {k: owner[k] for k in WEB_STATUS_KEYS}
    assert owner["capacity"] == 260
    assert owner["capacity"] == (
        owner["available"]
        + owner["inBasket"]
        + owner["inOtherBasket"]
        + owner["sold"]
        + owner["locked"]
        + owner["reserved"]
    )
    assert owner["unavailable"] == owner["capacity"] - owner["available"]
    assert web["lockInfoAvailable"] is None and web["lockInfoSpecialAvailable"] is None
    assert owner["lockInformation"] is None


async def test_status_with_lock_information_and_child_plans(
    http: httpx.AsyncClient, box_office: Signer
) -> None:
    instance = await _hamlet_instance(box_office)
    path = f"instances/{instance['id']}/status?includeLockInformation=true&includeChildPlans=true"

    web = await _web(http, box_office.tenant, path)
    owner = await _owner(box_office, path)

    assert list(web) == [*WEB_STATUS_KEYS, "areas"]
    assert list(owner) == [*OWNER_STATUS_KEYS, "areas"]
    assert isinstance(web["lockInfoAvailable"], list)
    for lock in owner["lockInformation"]:
        assert list(lock) == ["quantity", "lockType"]
    areas = {a["name"]: a for a in web["areas"]}
    assert set(areas) == {"Stalls", "Circle"}
    assert list(areas["Stalls"]) == ["id", *WEB_STATUS_KEYS, "areas"]
    assert areas["Stalls"]["capacity"] == 200
    assert sum(a["available"] for a in web["areas"]) == web["available"]
    # Each area's bands add up to it, and the plan's to the areas' by band.
    plan_bands: dict[str, int] = {}
    for area in web["areas"]:
        assert sum(b["capacity"] for b in area["bands"]) == area["capacity"]
        assert sum(b["available"] for b in area["bands"]) == area["available"]
        for band in area["bands"]:
            plan_bands[band["id"]] = plan_bands.get(band["id"], 0) + band["capacity"]
    assert {b["id"]: b["capacity"] for b in web["bands"]} == plan_bands
    # One area's status, by its id (long or short).
    stalls = areas["Stalls"]["id"]
    one = await _owner(box_office, f"instances/{instance['id']}/status/areas/{stalls}")
    assert list(one) == OWNER_STATUS_KEYS
    assert one["capacity"] == 200 and one["name"] == "Stalls"
    short = await _web(
        http, box_office.tenant, f"instances/{instance['id']}/status/areas/{_short(stalls)}"
    )
    assert list(short) == WEB_STATUS_KEYS and short["capacity"] == 200
    assert short["bands"] == areas["Stalls"]["bands"]


async def test_an_unreserved_plans_bands_are_its_areas_band(
    http: httpx.AsyncClient, box_office: Signer
) -> None:
    plans = {p["id"]: p for p in await _owner(box_office, "plans")}
    instance = next(
        i
        for i in await _owner(box_office, "instances")
        if plans[i["planId"]]["type"] == "Unreserved"
    )
    plan = plans[instance["planId"]]
    (area,) = plan["areas"]
    status = await _web(http, box_office.tenant, f"instances/{instance['id']}/status")
    bands = {b["id"]: b["name"] for b in await _web(http, box_office.tenant, "bands")}
    assert status["bands"] == [
        {
            "id": area["priceBand"]["id"],
            "name": bands[area["priceBand"]["id"]],
            "available": status["available"],
            "capacity": status["capacity"],
        }
    ]


# --- products -------------------------------------------------------------------------------


async def test_funds_stock_items_memberships(http: httpx.AsyncClient, box_office: Signer) -> None:
    funds = await _web(http, box_office.tenant, "funds")
    assert [f["name"] for f in funds] == ["Annual Fund", "Education Programme"]
    assert all(
        list(f) == ["id", "name", "description", "code", "defaultDonationAmount"] for f in funds
    )
    response = await http.get(f"/{box_office.tenant}/api/v3/stock-items")
    items = {i["name"]: i for i in response.json()}
    assert (items["Programme"]["price"], items["Programme"]["stockLevel"]) == (5, 500)
    assert (items["Tote Bag"]["price"], items["Tote Bag"]["stockLevel"]) == (12, 50)
    assert '"price":5.00' in response.text
    memberships = {m["name"]: m for m in await _owner(box_office, "memberships")}
    assert (memberships["Friends"]["price"], memberships["Patrons"]["price"]) == (60, 250)
    friends = memberships["Friends"]
    assert await _web(http, box_office.tenant, f"memberships/{friends['id']}") == friends
    assert await _owner(box_office, f"memberships/{_short(friends['id'])}") == friends


# --- not found ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "events/{other}",
        "events/999999999",
        "events/{other}/instances",
        "instances/{other}",
        "instances/{other}/price-list",
        "instances/{other}/plan",
        "instances/{other}/status",
        "instances/{instance}/status/areas/{other}",
        "plans/{other}",
        "venues/{other}",
        "memberships/{other}",
        "events/not-an-id",
        "instances/-1",
        "instances/1.5",
    ],
)
async def test_unknown_ids_are_404(http: httpx.AsyncClient, box_office: Signer, path: str) -> None:
    instance = (await _owner(box_office, "instances"))[0]["id"]
    # A well-formed id of another kind (a tag's) never resolves.
    other = resource_code("tag", int(_short(instance)))
    path = path.format(other=other, instance=instance)
    for response in (
        await box_office.get(path),
        await http.get(f"/{box_office.tenant}/api/v3/{path}"),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["message"].endswith("not found")


async def test_a_bad_signature_is_401_not_web_mode(
    http: httpx.AsyncClient, box_office: Signer
) -> None:
    response = await http.get(
        f"/{box_office.tenant}/api/v3/events",
        headers={"Authorization": "SpektrixAPI3 test-user:AAAAAAAAAAAAAAAAAAAAAAAAAAA="},
    )
    assert response.status_code == 401 and response.json() == UNAUTHORIZED


async def test_another_tenants_catalogue_is_not_seen(
    http: httpx.AsyncClient, core: Core, box_office: Signer
) -> None:
    """A tenant without a box office lists nothing and finds none of this one's ids.
    (Catalogue keys are small and per tenant: two tenants with the same catalogue may show the
    same ids, each naming its own records.)"""
    bare, _ = await make_tenant(core, catalogue=False)
    instance = await _hamlet_instance(box_office)
    for path in ("events", "instances", "plans", "venues", "funds", "stock-items"):
        assert await _web(http, bare, path) == [], path
    for path in (
        f"instances/{instance['id']}",
        f"instances/{_short(instance['id'])}",
        f"instances/{instance['id']}/status",
        f"instances/{instance['id']}/price-list",
        f"events/{instance['event']['id']}",
        f"plans/{instance['planId']}",
    ):
        response = await http.get(f"/{bare}/api/v3/{path}")
        assert response.status_code == 404, (path, response.text)


# --- web visibility -------------------------------------------------------------------------

HIDDEN = {
    "events": [
        {
            "name": "Dress Rehearsal",
            "duration": 180,
            "instances": [
                {
                    "plan": "Main House",
                    "price_list": "Hamlet",
                    "start": {"day": 12, "time": "19:30"},
                },
                {
                    "plan": "Main House",
                    "price_list": "Hamlet",
                    "start": {"day": 13, "time": "19:30"},
                    "web_visible": False,
                },
            ],
        },
        {
            "name": "Closed Rehearsal",
            "duration": 60,
            "instances": [
                {
                    "plan": "Studio",
                    "price_list": "Studio",
                    "start": {"day": 11, "time": "10:00"},
                    "web_visible": False,
                }
            ],
        },
    ]
}


async def test_web_mode_sees_only_web_visible_instances(
    http: httpx.AsyncClient, core: Core, box_office: Signer
) -> None:
    await catalogue_service.load_catalogue(core, box_office.tenant, HIDDEN)
    tenant = box_office.tenant

    owner_events = await _events(box_office, "?$expand=instances")
    web_events = {e["name"]: e for e in await _web(http, tenant, "events?$expand=instances")}

    assert {"Dress Rehearsal", "Closed Rehearsal"} <= set(owner_events)
    assert "Closed Rehearsal" not in web_events  # no web-visible instance
    owner_dress = owner_events["Dress Rehearsal"]["instances"]
    web_dress = web_events["Dress Rehearsal"]["instances"]
    assert [i["start"][:10] for i in owner_dress] == [_day(12), _day(13)]
    assert [i["start"][:10] for i in web_dress] == [_day(12)]
    hidden = owner_dress[1]["id"]
    closed = owner_events["Closed Rehearsal"]
    for path in (
        f"instances/{hidden}",
        f"instances/{_short(hidden)}",
        f"instances/{hidden}/status",
        f"instances/{hidden}/price-list",
        f"instances/{hidden}/plan",
        f"events/{closed['id']}",
    ):
        response = await http.get(f"/{tenant}/api/v3/{path}")
        assert response.status_code == 404, (path, response.text)
        assert (await box_office.get(path)).status_code == 200, path
    web_instances = {i["id"] for i in await _web(http, tenant, "instances")}
    owner_instances = {i["id"] for i in await _owner(box_office, "instances")}
    assert hidden in owner_instances and hidden not in web_instances
    assert owner_instances - web_instances == {hidden, closed["instances"][0]["id"]}
    dress = owner_events["Dress Rehearsal"]["id"]
    assert [i["id"] for i in await _web(http, tenant, f"events/{dress}/instances")] == [
        owner_dress[0]["id"]
    ]


# --- availability as seats change -----------------------------------------------------------


async def test_status_follows_the_seats(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int], box_office: Signer
) -> None:
    """Seats held by a basket, sold, locked (with a lock type) and reserved: each mode's
    counts follow, and web mode never shows whose."""
    instance = await _hamlet_instance(box_office)
    key = int(_short(instance["id"]))
    owner = Principal(tenant_id=tenant[1], actor="test", full_access=True)
    seats = [s.seat_id for s in await inventory.seat_states(core, owner, key)][:6]
    async with core.uow(tenant[1], write=True) as uow:
        lock_type = (
            await uow.session.execute(select(LockType.id).where(LockType.name == "House Seats"))
        ).scalar_one()
        assert await inventory.hold_seat(uow, key, seats[0], holder=1)
        assert await inventory.hold_seat(uow, key, seats[1], holder=1)
        assert await inventory.sell_seat(uow, key, seats[1], holder=1)
        assert await inventory.lock_seat(uow, key, seats[2], lock_type)
        assert await inventory.lock_seat(uow, key, seats[3], lock_type)
        assert await inventory.reserve_seat(uow, key, seats[4])
        assert not await inventory.hold_seat(uow, key, seats[2], holder=2)  # locked: refused
        await uow.commit()
    path = f"instances/{instance['id']}/status?includeLockInformation=true"

    owner_status = await _owner(box_office, path)
    web_status = await _web(http, tenant[0], path)

    assert owner_status["capacity"] == 260
    assert (owner_status["inOtherBasket"], owner_status["sold"]) == (1, 1)
    assert (owner_status["locked"], owner_status["reserved"]) == (2, 1)
    assert owner_status["available"] == 255 and owner_status["unavailable"] == 5
    assert owner_status["lockInformation"] == [
        {
            "quantity": 2,
            "lockType": {"id": resource_code("lock-type", lock_type), "name": "House Seats"},
        }
    ]
    assert (web_status["available"], web_status["unavailable"]) == (255, 5)
    assert web_status["inBasket"] == 0
    assert list(web_status) == WEB_STATUS_KEYS
    # Per band: the plan's seats of each band, less the five taken of that band.
    plan = await _owner(box_office, f"instances/{instance['id']}/plan")
    band_of = {
        seat["id"]: seat["priceBand"]["id"] for area in plan["areas"] for seat in area["seats"]
    }
    capacity: dict[str, int] = {}
    for band in band_of.values():
        capacity[band] = capacity.get(band, 0) + 1
    taken = [band_of[resource_code("seat", seat)] for seat in seats[:5]]
    assert web_status["bands"] == owner_status["bands"]
    assert [b["name"] for b in owner_status["bands"]] == ["A", "B", "C"]
    for band in owner_status["bands"]:
        assert list(band) == ["id", "name", "available", "capacity"]
        assert band["capacity"] == capacity[band["id"]]
        assert band["available"] == capacity[band["id"]] - taken.count(band["id"])


# --- the tenant's time zone across a daylight-saving change ---------------------------------

AROUND_THE_CHANGE = {
    "events": [
        {
            "name": "Clocks Go Forward",
            "duration": 90,
            "instances": [
                # Europe/London: GMT on 27 March 2027, BST (UTC+1) from 01:00 UTC on the 28th.
                {"plan": "Studio", "price_list": "Studio", "start": "2027-03-27T19:30:00"},
                {"plan": "Studio", "price_list": "Studio", "start": "2027-03-28T19:30:00"},
                {"plan": "Studio", "price_list": "Studio", "start": "2027-03-28T00:30:00"},
            ],
        }
    ]
}


async def test_local_and_utc_times_across_a_daylight_saving_change(
    http: httpx.AsyncClient, core: Core, box_office: Signer
) -> None:
    await catalogue_service.load_catalogue(core, box_office.tenant, AROUND_THE_CHANGE)
    event = (await _events(box_office))["Clocks Go Forward"]

    instances = await _web(http, box_office.tenant, f"events/{event['id']}/instances")

    assert [(i["start"], i["startUtc"]) for i in instances] == [
        ("2027-03-27T19:30:00", "2027-03-27T19:30:00"),
        ("2027-03-28T00:30:00", "2027-03-28T00:30:00"),
        ("2027-03-28T19:30:00", "2027-03-28T18:30:00"),
    ]
    assert event["firstInstanceDateTime"] == "2027-03-27T19:30:00"
    assert event["firstInstanceDateTimeUtc"] == "2027-03-27T19:30:00Z"
    # A day is a day of the tenant's wall clock: the 28th has two of them.
    on_the_28th = await _owner(
        box_office, "instances?eventName=Clocks&startFrom=2027-03-28&startTo=2027-03-29"
    )
    assert [i["start"] for i in on_the_28th] == ["2027-03-28T00:30:00", "2027-03-28T19:30:00"]
    events = await _events(
        box_office,
        "?instanceStart_from=2027-03-28&instanceStart_to=2027-03-28&name=Clocks%20Go%20Forward",
    )
    assert list(events) == ["Clocks Go Forward"]
    # A date and time with Z is that instant: 18:30 UTC on the 28th is 19:30 in London.
    later = await _owner(box_office, "instances?eventName=Clocks&startFrom=2027-03-28T18:30:00Z")
    assert [i["start"] for i in later] == ["2027-03-28T19:30:00"]


# --- attributes -----------------------------------------------------------------------------


async def test_attributes_on_the_wire_and_their_filters(
    http: httpx.AsyncClient, box_office: Signer
) -> None:
    events = await _events(box_office, "?$expand=instances")
    hamlet, prince = events["Hamlet"], events["The Little Prince"]

    assert _attribute_keys(hamlet) == ["attribute_Genre", "attribute_GalaEvent"]
    assert (hamlet["attribute_Genre"], hamlet["attribute_GalaEvent"]) == ("Drama", False)
    assert [i["attribute_RelaxedPerformance"] for i in prince["instances"]] == [None, True]
    assert all(
        _attribute_keys(i) == ["attribute_RelaxedPerformance"]
        for e in events.values()
        for i in e["instances"]
    )
    assert set(await _events(box_office, "?attribute_Genre=Drama")) == {"Hamlet"}
    assert set(await _events(box_office, "?Attribute_GalaEvent=true")) == {"Winter Gala"}
    relaxed = await _events(box_office, "?instanceattribute_RelaxedPerformance=true")
    assert set(relaxed) == {"The Little Prince"}
    both = await _events(box_office, "?attribute_Genre=Music&attribute_GalaEvent=false")
    assert set(both) == {"Jazz Night"}
    instances = await _web(http, box_office.tenant, "instances?attribute_RelaxedPerformance=true")
    assert [i["id"] for i in instances] == [prince["instances"][1]["id"]]
    music = await _owner(box_office, "instances?eventattribute_Genre=Music")
    assert {i["event"]["id"] for i in music} == {
        events["Jazz Night"]["id"],
        events["Winter Gala"]["id"],
    }


async def test_an_area_of_another_plan_is_not_found(
    http: httpx.AsyncClient, box_office: Signer
) -> None:
    instance = await _hamlet_instance(box_office)  # Main House
    studio = next(p for p in await _owner(box_office, "plans") if p["name"] == "Studio")
    area = studio["areas"][0]["id"]
    path = f"instances/{instance['id']}/status/areas/{area}"

    assert (await box_office.get(path)).status_code == 404
    response = await http.get(f"/{box_office.tenant}/api/v3/{path}")
    assert response.status_code == 404 and response.json() == {"message": "Area not found"}
