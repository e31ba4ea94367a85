"""The CareCloud mappers and wire parsing, without a database."""

from __future__ import annotations

import pytest

from boxoffice.api.carecloud import mappers as m
from boxoffice.api.carecloud import schemas as s
from boxoffice.domain.errors import InvalidInput, NotFound
from boxoffice.domain.ids import CUSTOMER_KEY_SPACE


@pytest.mark.parametrize("key", [1, 2, 12345, CUSTOMER_KEY_SPACE - 1, 2**53 - 1])
def test_ids_round_trip_and_look_like_the_vendors(key: int) -> None:
    code = m.encode(m.CUSTOMER, key)
    assert len(code) == 26 and all(c in "0123456789abcdef" for c in code)
    assert m.decode(m.CUSTOMER, code) == (key,)
    assert m.decode(m.CUSTOMER, code.upper()) == (key,)
    assert m.decode(m.STORE, code) is None  # never another kind's id
    pair = m.encode(m.INTEREST_RECORD, 7, key)
    assert len(pair) == 42 and m.decode(m.INTEREST_RECORD, pair, parts=2) == (7, key)


def test_ids_are_stable() -> None:
    """Ids already handed out must keep resolving: the encoding may never change."""
    assert [m.encode(kind, 42) for kind in (m.CUSTOMER, m.STORE, m.STATEMENT)] == [
        "8fbfc4c5d899604dca79b0d48f",
        "acc4cb2e230aaaac7bfe2f3601",
        "cf26dd2af5055d0727897af91c",
    ]
    assert m.encode(m.INTEREST_RECORD, 7, 2**40) == "7b44d7c679ab05c67b44d6c679ab05c16bfea74c01"


@pytest.mark.parametrize("code", ["", "x", "8ea2591121e636086a4a9c0992", "g" * 26, "0" * 26])
def test_foreign_ids_do_not_resolve(code: str) -> None:
    assert m.decode(m.CUSTOMER, code) is None
    with pytest.raises(NotFound):
        m.path_id(m.CUSTOMER, code, "Customer")
    with pytest.raises(InvalidInput) as caught:
        m.body_id(m.STORE, code, "store_id")
    assert (caught.value.field, caught.value.reason) == ("store_id", "not_found")


def test_property_record_ids() -> None:
    record = m.property_record_id("wedding_date", 42)
    assert record == f"wedding_date:{m.encode(m.CUSTOMER, 42)}"
    assert m.parse_property_record_id(record, 42) == "wedding_date"
    for bad in (record, "wedding_date", ":x"):
        with pytest.raises(NotFound):
            m.parse_property_record_id(bad, 43)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, []),
        ("cs, en-gb;q=0.8", ["cs", "en-gb"]),
        ("en-GB;q=0.5, de;q=0.9, *;q=0.1", ["de", "en-gb", "*"]),
        ("fr;q=0, cs", ["cs"]),
        ("cs;q=bogus, en", ["en"]),
    ],
)
def test_accept_language(header: str | None, expected: list[str]) -> None:
    assert m.accept_language(header) == expected


def test_paging_and_sorting() -> None:
    items = [{"name": "b", "n": 2}, {"name": "a", "n": None}, {"name": "C", "n": 1}]
    page = m.page("things", items, count=2, offset=0, sort_field="name", sort_direction=None)
    assert page == {"data": {"things": [items[1], items[0]], "total_items": 3}}
    desc = m.page("things", items, count=100, offset=1, sort_field="n", sort_direction="DESC")
    assert [i["name"] for i in desc["data"]["things"]] == ["b", "C"]
    with pytest.raises(InvalidInput):
        m.page("things", items, count=1, offset=0, sort_field="nope", sort_direction=None)
    assert m.page("things", [], count=1, offset=0, sort_field="nope", sort_direction=None)[
        "data"
    ] == {"things": [], "total_items": 0}


def test_dates() -> None:
    assert str(m.parse_date("1993-01-21", "birthdate")) == "1993-01-21"
    assert str(m.parse_date("1993-01-21 10:00:00", "birthdate")) == "1993-01-21"
    assert str(m.parse_date("1993-01-21T10:00:00", "birthdate")) == "1993-01-21"
    assert m.parse_date(" ", "birthdate") is None
    with pytest.raises(InvalidInput):
        m.parse_date("21.01.1993", "birthdate")  # bodies: YYYY-MM-DD only


def test_query_dates_take_both_documented_formats() -> None:
    assert str(m.parse_query_date("1993-01-21", "birthdate")) == "1993-01-21"
    assert str(m.parse_query_date("21.01.1993", "birthdate")) == "1993-01-21"
    assert str(m.parse_query_date("1.2.1993", "birthdate")) == "1993-02-01"
    assert m.parse_query_date("", "birthdate") is None
    for bad in ("29.02.1993", "21.13.1993", "21.01.93", "21-01-1993", "1993.01.21", "x"):
        with pytest.raises(InvalidInput) as refused:
            m.parse_query_date(bad, "birthdate")
        assert (refused.value.field, refused.value.reason) == ("birthdate", "invalid_value_format")


def test_the_seeds_flat_body_is_normalised() -> None:
    flat = {
        "customer_sources": [{"customer_source_id": "a"}, {"customer_source_id": "b"}],
        "personal_information": {"language_id": "en"},
        "additional_properties": [{"property_id": "p", "property_value": 1}],
        "password": "",
        "autologin": False,
    }
    assert s.normalise_new_customer(flat) == {
        "additional_properties": [{"property_id": "p", "property_value": 1}],
        "autologin": False,
        "customer": {"personal_information": {"language_id": "en"}},
        "customer_source": {"customer_source_id": "a"},
        "property_records": [{"property_id": "p", "property_value": 1}],
    }
    nested = {"customer": {}, "personal_information": {}}
    assert s.normalise_new_customer(nested) is nested


def test_invalid_params_never_echo_passwords() -> None:
    with pytest.raises(s.InvalidParams) as caught:
        s.validate(s.LoginRequest, {"login_type": "email", "login_value": "a", "password": 12345})
    (problem,) = caught.value.params
    assert problem["name"] == "password" and problem["value"] == ""
    with pytest.raises(s.InvalidParams) as caught:
        s.parse(s.TokenUpdate, b'{"setup": {"language_id": "", "allowed_gps": "yes"}}')
    found = {p["name"]: p["reason"] for p in caught.value.params}
    assert found == {
        "setup.language_id": "empty",
        "setup.allowed_gps": "invalid_value_format",
        "setup.allowed_notifications": "required",
    }
