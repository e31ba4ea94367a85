"""The rules a customer's values obey (``domain/rules.py``), written once for every dialect:
what each accepts, what it refuses, and the neutral field each refusal names."""

from __future__ import annotations

from datetime import date

import pytest

from boxoffice.domain import rules
from boxoffice.domain.errors import InvalidInput

TODAY = date(2026, 12, 7)


def _refusal(call: object) -> InvalidInput:
    assert callable(call)
    with pytest.raises(InvalidInput) as info:
        call()
    return info.value


def test_text_is_stripped_and_limited_by_its_field() -> None:
    assert rules.clean_text("first_name", "  Ada  ") == "Ada"
    assert rules.clean_text("first_name", None) is None
    assert rules.clean_text("first_name", "A" * 200) == "A" * 200
    error = _refusal(lambda: rules.clean_text("first_name", "A" * 201))
    assert (error.field, error.reason) == ("first_name", "at most 200 characters")
    assert _refusal(lambda: rules.clean_text("title", "T" * 51)).field == "title"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_required_text(value: str | None) -> None:
    error = _refusal(lambda: rules.clean_text("last_name", value, required=True))
    assert (error.field, error.reason) == ("last_name", "required")


@pytest.mark.parametrize("value", ["Ada\x00", "Ada\tLovelace", "Ada\nLovelace", "\x1b[31m"])
def test_text_refuses_control_characters(value: str) -> None:
    error = _refusal(lambda: rules.clean_text("first_name", value))
    assert error.reason == "control characters are not allowed"


def test_multiline_text_allows_tabs_and_line_breaks_only() -> None:
    assert rules.clean_text("message", "a\tb\r\nc", limit=10, multiline=True) == "a\tb\r\nc"
    _refusal(lambda: rules.clean_text("message", "a\x07b", limit=10, multiline=True))


def test_email() -> None:
    assert rules.clean_email(" ada@example.org ") == "ada@example.org"
    assert _refusal(lambda: rules.clean_email("ada@example")).field == "email"
    assert _refusal(lambda: rules.clean_email(None)).reason == "required"
    assert _refusal(lambda: rules.clean_email("x", "extra_email")).field == "extra_email"


@pytest.mark.parametrize("value", ["+44 7700 900123", "447700900123", "0044-7700-900123"])
def test_phone_numbers(value: str) -> None:
    assert rules.clean_phone(value) == value


@pytest.mark.parametrize("value", ["+", "call me", "000", "+" + "4" * 50, "+44\x00123"])
def test_refused_phone_numbers(value: str) -> None:
    assert _refusal(lambda: rules.clean_phone(value, "mobile")).field == "mobile"


def test_empty_phone_is_none() -> None:
    assert rules.clean_phone("") is None and rules.clean_phone(None) is None
    assert rules.clean_optional("mobile", " ") is None
    assert rules.clean_optional("friendly_id", " F-1 ") == "F-1"
    _refusal(lambda: rules.clean_optional("phone", "no digits"))


def test_birth_date_is_between_1900_and_today() -> None:
    assert rules.clean_birth_date(date(1900, 1, 1), TODAY) == date(1900, 1, 1)
    assert rules.clean_birth_date(TODAY, TODAY) == TODAY
    assert rules.clean_birth_date(None, TODAY) is None
    for day in (date(1899, 12, 31), date(2026, 12, 8)):
        assert _refusal(lambda: rules.clean_birth_date(day, TODAY)).field == "birth_date"  # noqa: B023


def test_country() -> None:
    assert rules.clean_country(" gb ") == "GB"
    assert rules.clean_country("") is None
    assert _refusal(lambda: rules.clean_country("GBR")).field == "country"


@pytest.mark.parametrize(
    ("kind", "raw", "stored"),
    [
        ("text", "  Opera ", "Opera"),
        ("text", "Opera\tand\nballet", "Opera\tand\nballet"),
        ("text", "", None),
        ("text", None, None),
        ("date", "2026-05-01T10:00:00", "2026-05-01"),
        ("number", "12.5", "12.5"),
        ("boolean", "TRUE", "true"),
    ],
)
def test_attribute_values(kind: str, raw: str | None, stored: str | None) -> None:
    assert rules.clean_attribute_value(kind, raw, "attribute:X") == stored


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("text", "Jazz\x07Funk"),
        ("text", "Jazz\x00Funk"),
        ("text", "x" * 4001),
        ("date", "soon"),
        ("number", "NaN"),
        ("number", "twelve"),
        ("boolean", "yes"),
    ],
)
def test_refused_attribute_values_name_the_attribute(kind: str, raw: str) -> None:
    field = rules.attribute_field("Favourite Genre")
    error = _refusal(lambda: rules.clean_attribute_value(kind, raw, field))
    assert error.field == "attribute:Favourite Genre"


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Sup3rSecret!", None),
        ("Correct horse battery 1", None),
        ("A1" + "x" * 254, None),
        ("A1" + "x" * 255, "between 8 and 256 characters"),
        ("short1A", "between 8 and 256 characters"),
        ("alllowercase1", "at least one upper-case letter"),
        ("NODIGITSHERE", "at least one digit"),
        ("Password1", "a common password"),
        ("QWERTY123", "a common password"),
    ],
)
def test_one_password_policy(password: str, problem: str | None) -> None:
    assert rules.password_problem(password) == problem
    if problem is None:
        assert rules.check_password(password) == password
    else:
        error = _refusal(lambda: rules.check_password(password))
        assert (error.field, error.reason) == ("password", problem)
