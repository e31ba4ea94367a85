"""What a venue sells as the Spektrix mappers build it from views: key order, date formats,
money, the availability field sets, and the parsing of filters (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import orjson
import pytest

from boxoffice.api.spektrix import mappers as m
from boxoffice.api.spektrix.errors import wire_field
from boxoffice.domain.errors import InvalidInput, NotFound
from boxoffice.domain.ids import resource_code
from boxoffice.domain.views import (
    AreaStatusView,
    BandStatusView,
    BandView,
    EventView,
    InstanceView,
    LockQuantityView,
    PriceListView,
    PriceView,
    TicketTypeView,
)

# Hamlet at 19:30 in London in summer (BST, UTC+1): the UTC twins are an hour earlier.
START_LOCAL = datetime(2026, 7, 1, 19, 30)
START_UTC = datetime(2026, 7, 1, 18, 30, tzinfo=UTC)


def _instance(**changes: object) -> InstanceView:
    fields: dict[str, object] = {
        "id": 112659,
        "event_id": 7,
        "plan_id": 3,
        "price_list_id": 4,
        "start_local": START_LOCAL,
        "start_utc": START_UTC,
        "sale_start_local": datetime(2026, 6, 1, 10, 0),
        "sale_start_utc": datetime(2026, 6, 1, 9, 0, tzinfo=UTC),
        "sale_stop_local": datetime(2026, 7, 1, 19, 0),
        "sale_stop_utc": datetime(2026, 7, 1, 18, 0, tzinfo=UTC),
        "web_instance_id": None,
        "cancelled": False,
        "on_sale": True,
        "web_visible": True,
        "has_best_available_overlay": True,
        "attributes": (("Relaxed", False), ("Captioned", None)),
    }
    fields.update(changes)
    return InstanceView(**fields)  # type: ignore[arg-type]


def test_instance_in_the_vendors_order_and_formats() -> None:
    body = m.instance(_instance())

    assert body == {
        "isOnSale": True,
        "planId": resource_code("plan", 3),
        "priceList": {"id": resource_code("price-list", 4)},
        "event": {"id": resource_code("event", 7)},
        "start": "2026-07-01T19:30:00",
        "startUtc": "2026-07-01T18:30:00",
        "startSellingAtWeb": "2026-06-01T10:00:00",
        "startSellingAtWebUtc": "2026-06-01T09:00:00Z",
        "stopSellingAtWeb": "2026-07-01T19:00:00",
        "stopSellingAtWebUtc": "2026-07-01T18:00:00Z",
        "webInstanceId": None,
        "cancelled": False,
        "id": resource_code("instance", 112659),
        "hasBestAvailableOverlay": True,
        "attribute_Relaxed": False,
        "attribute_Captioned": None,
    }
    assert list(body)[-2:] == ["attribute_Relaxed", "attribute_Captioned"]
    assert body["id"].startswith("112659A") and len(body["id"]) == 33


def _event(instances: tuple[InstanceView, ...] | None = None) -> EventView:
    return EventView(
        id=7,
        name="Hamlet",
        description="A play",
        html_description="<div id>\r\nA play\r\n</div>",
        duration_minutes=180,
        image_url="",
        thumbnail_url="",
        on_sale=True,
        web_event_id=None,
        first_instance_local=START_LOCAL,
        first_instance_utc=START_UTC,
        last_instance_local=START_LOCAL,
        last_instance_utc=START_UTC,
        instance_dates="1 July-1 July",
        attributes=(("Gala Event", True), ("Genre", "Drama"), ("Company", None)),
        instances=instances,
    )


def test_event_in_the_vendors_order_attributes_last() -> None:
    body = m.event(_event())

    assert list(body) == [
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
        "attribute_GalaEvent",
        "attribute_Genre",
        "attribute_Company",
    ]
    assert body["duration"] == 180
    assert body["firstInstanceDateTime"] == "2026-07-01T19:30:00"
    assert body["firstInstanceDateTimeUtc"] == "2026-07-01T18:30:00Z"
    assert (body["attribute_GalaEvent"], body["attribute_Company"]) == (True, None)


def test_event_with_instances_expanded() -> None:
    body = m.event(_event((_instance(),)))

    keys = list(body)
    assert keys.index("instances") == keys.index("lastInstanceDateTimeUtc") + 1
    assert keys[-1].startswith("attribute_")
    assert body["instances"] == [m.instance(_instance())]


def test_event_without_instances_has_null_dates() -> None:
    empty = replace(
        _event(),
        first_instance_local=None,
        first_instance_utc=None,
        last_instance_local=None,
        last_instance_utc=None,
    )
    body = m.event(empty)
    assert body["firstInstanceDateTime"] is None and body["lastInstanceDateTimeUtc"] is None


def test_price_list_with_two_decimal_amounts() -> None:
    adult = TicketTypeView(1, "Adult", (("Eligible For Dynamic Pricing", True),))
    view = PriceListView(
        4, "Hamlet", (PriceView(9, Decimal("35"), True, adult, BandView(2, "Band A")),)
    )

    body = m.price_list(view)

    assert orjson.dumps(body) == orjson.dumps(
        {
            "id": resource_code("price-list", 4),
            "prices": [
                {
                    "id": resource_code("price", 9),
                    "isBandDefault": True,
                    "amount": orjson.Fragment(b"35.00"),
                    "ticketType": {
                        "id": resource_code("ticket-type", 1),
                        "name": "Adult",
                        "attribute_EligibleForDynamicPricing": True,
                    },
                    "priceBand": {"id": resource_code("band", 2), "name": "Band A"},
                }
            ],
        }
    )
    assert b'"amount":35.00' in orjson.dumps(body)
    assert orjson.loads(orjson.dumps(m.price_amount(Decimal("12.5")))) == 12.5


def _status(area_id: int, name: str, children: tuple[AreaStatusView, ...] = ()) -> AreaStatusView:
    lock = LockQuantityView(quantity=4, lock_type_id=8, lock_type_name="House seats")
    return AreaStatusView(
        area_id=area_id,
        name=name,
        capacity=260,
        available=240,
        wheelchair_available=4,
        special_available=2,
        in_basket=0,
        in_other_basket=6,
        unavailable=20,
        sold=8,
        locked=4,
        reserved=2,
        lock_info_available=(lock,),
        lock_info_special_available=(),
        areas=children,
    )


WEB = [
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
OWNER = [
    *WEB,
    "inOtherBasket",
    "locked",
    "reserved",
    "sold",
    "scanned",
    "masked",
    "lockInformation",
]


def test_status_field_sets_by_mode() -> None:
    view = _status(1, "Main House", (_status(2, "Stalls"),))

    web = m.status(view, owner=False, lock_information=False, child_plans=False)
    owner = m.status(view, owner=True, lock_information=False, child_plans=False)

    assert list(web) == WEB and list(owner) == OWNER
    assert web["lockInfoAvailable"] is None and owner["lockInformation"] is None
    assert (owner["sold"], owner["locked"], owner["scanned"], owner["masked"]) == (8, 4, 0, 0)


def test_status_bands_are_the_bands_with_their_places() -> None:
    view = _status(1, "Main House")
    view = AreaStatusView(
        **{
            **{f: getattr(view, f) for f in view.__slots__},
            "bands": (
                BandStatusView(band_id=3, name="A", capacity=200, available=190),
                BandStatusView(band_id=5, name="B", capacity=60, available=50),
            ),
        }
    )

    body = m.status(view, owner=False, lock_information=False, child_plans=False)

    assert body["bands"] == [
        {"id": resource_code("band", 3), "name": "A", "available": 190, "capacity": 200},
        {"id": resource_code("band", 5), "name": "B", "available": 50, "capacity": 60},
    ]


def test_status_with_locks_and_child_areas() -> None:
    view = _status(1, "Main House", (_status(2, "Stalls"),))

    body = m.status(view, owner=True, lock_information=True, child_plans=True)

    lock = {"quantity": 4, "lockType": {"id": resource_code("lock-type", 8), "name": "House seats"}}
    assert body["lockInfoAvailable"] == [lock] and body["lockInformation"] == [lock]
    assert body["lockInfoSpecialAvailable"] == []
    assert list(body) == [*OWNER, "areas"]
    (child,) = body["areas"]
    assert list(child) == ["id", *OWNER, "areas"]
    assert child["id"] == resource_code("area", 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-07-01", date(2026, 7, 1)),
        ("2026-07-01T19:30:00", datetime(2026, 7, 1, 19, 30)),
        ("2026-07-01T18:30:00Z", datetime(2026, 7, 1, 18, 30, tzinfo=UTC)),
        (" 2026-07-01 ", date(2026, 7, 1)),
        ("", None),
        (None, None),
    ],
)
def test_filter_dates(text: str | None, expected: object) -> None:
    assert m.filter_date("instanceStart_from", text) == expected


@pytest.mark.parametrize(
    "text",
    ["notadate", "2026-13-01", "0001-01-01", "9999-12-31", "1e400", "-1", "2026-07-01T25:00"],
)
def test_bad_filter_dates_name_the_parameter_as_sent(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        m.filter_date("instanceStart_from", text)
    assert wire_field(caught.value.field) == "instanceStart_from"


def test_filter_booleans() -> None:
    assert m.filter_bool("onSale", "True") is True
    assert m.filter_bool("onSale", "false") is False
    assert m.filter_bool("onSale", None) is None
    with pytest.raises(InvalidInput):
        m.filter_bool("onSale", "maybe")


def test_attribute_filters_by_prefix() -> None:
    query = [
        ("attribute_Genre", "Drama"),
        ("Attribute_Gala Event", "true"),
        ("instanceattribute_Relaxed", "true"),
        ("attribute_", "ignored"),
        ("name", "Hamlet"),
    ]
    assert m.attribute_filters(query, "attribute_") == {"Genre": "Drama", "Gala Event": "true"}
    assert m.attribute_filters(query, "instanceattribute_") == {"Relaxed": "true"}
    with pytest.raises(InvalidInput):
        m.attribute_filters([("attribute_Genre", "a\x00b")], "attribute_")


def test_catalogue_ids_long_or_short() -> None:
    code = resource_code("instance", 112659)
    assert m.catalogue_id("instance", code, "Instance") == 112659
    assert m.catalogue_id("instance", "112659", "Instance") == 112659
    for bad in (resource_code("event", 112659), "0", "-1", "1.5", "99999999999999999999", ""):
        with pytest.raises(NotFound):
            m.catalogue_id("instance", bad, "Instance")


def test_expand_names_ignore_the_unknown() -> None:
    assert m.expand_names("Instances, nonsense/deep") == {"instances", "nonsense"}
    assert m.expand_names(None) == frozenset()
