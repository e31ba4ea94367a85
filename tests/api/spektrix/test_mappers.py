"""The Customer resource as ``mappers.customer`` builds it from a view."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from boxoffice.api.spektrix import mappers as m
from boxoffice.domain.ids import resource_code
from boxoffice.domain.views import (
    AddressView,
    AttributeDefinitionView,
    AttributeValueView,
    CustomerView,
)
from tests.api.spektrix.support import DEFAULT_KEYS

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _address(key: int, *, billing: bool, delivery: bool, town: str) -> AddressView:
    return AddressView(
        key, billing, delivery, "Home", "1 Road", None, None, None, None, town, "AB1", "GB", None
    )


def _view(*addresses: AddressView) -> CustomerView:
    genre = AttributeDefinitionView(5, "Favourite genre", "text", True)
    return CustomerView(
        id=123456789,
        title="Dr",
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.org",
        phone=None,
        mobile="07000",
        birth_date=date(1990, 6, 30),
        friendly_id=None,
        password_set=False,
        credit_balance=Decimal("2.50"),
        created_at=NOW,
        updated_at=NOW,
        attributes=(AttributeValueView(genre, "Opera"),),
        addresses=addresses,
    )


def _address_out(view: AddressView) -> dict[str, object]:
    return {
        "id": resource_code("address", view.id),
        "isBilling": view.is_billing,
        "isDelivery": view.is_delivery,
        "country": "GB",
        "administrativeDivision": None,
        "name": "Home",
        "line1": "1 Road",
        "line2": None,
        "line3": None,
        "line4": None,
        "line5": None,
        "town": view.town,
        "postcode": "AB1",
    }


def test_one_address_for_billing_and_delivery_is_shown_as_both() -> None:
    home = _address(77, billing=True, delivery=True, town="Bath")
    out = m.customer(_view(home), today=date(2026, 6, 29))
    assert list(out) == [*DEFAULT_KEYS, "attribute_FavouriteGenre", "creditBalance"]
    assert out["age"] == 35
    assert out["billingAddress"] == out["deliveryAddress"] == _address_out(home)
    assert out["billingAddress"] is not out["deliveryAddress"]  # two objects, as before
    assert out["id"] == "I-0021-I3V9"
    assert out["creditBalance"] == 2.5
    assert out["attribute_FavouriteGenre"] == "Opera"


def test_separate_or_missing_addresses() -> None:
    billing = _address(1, billing=True, delivery=False, town="Bath")
    delivery = _address(2, billing=False, delivery=True, town="York")
    out = m.customer(_view(billing, delivery), today=date(2026, 1, 1))
    assert out["billingAddress"] == _address_out(billing)
    assert out["deliveryAddress"] == _address_out(delivery)
    only_delivery = m.customer(_view(delivery), today=date(2026, 1, 1))
    assert only_delivery["billingAddress"] is None
    assert only_delivery["deliveryAddress"] == _address_out(delivery)
    none = m.customer(_view(), today=date(2026, 1, 1))
    assert none["billingAddress"] is None and none["deliveryAddress"] is None
