from datetime import date

import pytest

from boxoffice.domain import rules


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Favourite Genre", "FavouriteGenre"),
        ("favourite genre", "FavouriteGenre"),
        ("Heard About-Us", "HeardAboutUs"),
        ("testfield", "Testfield"),
        ("Access  Requirements ", "AccessRequirements"),
    ],
)
def test_attribute_names_are_returned_in_pascal_case(name: str, expected: str) -> None:
    assert rules.pascal_case(name) == expected


def test_attribute_lookup_ignores_case_and_spacing() -> None:
    assert rules.attribute_lookup_key("Favourite Genre") == rules.attribute_lookup_key(
        "FAVOURITEGENRE"
    )


@pytest.mark.parametrize("email", ["a@b.co", "first.last+tag@example.org", "ü@例え.jp"])
def test_valid_emails(email: str) -> None:
    assert rules.is_valid_email(email)


@pytest.mark.parametrize(
    "email", ["", "a", "a@b", "a@@b.c", "a b@c.d", "@b.c", "a@b.", "a@" + "b" * 260 + ".c"]
)
def test_invalid_emails(email: str) -> None:
    assert not rules.is_valid_email(email)


def test_emails_compare_case_insensitively() -> None:
    assert rules.normalise_email(" Ada@Example.ORG ") == rules.normalise_email("ada@example.org")


def test_age() -> None:
    today = date(2026, 11, 23)
    assert rules.age_on(None, today) is None
    assert rules.age_on(date(1990, 11, 23), today) == 36
    assert rules.age_on(date(1990, 11, 24), today) == 35


def test_full_name() -> None:
    assert rules.full_name("Ada", "Lovelace") == "Ada Lovelace"


@pytest.mark.parametrize("control", ["\x00", "\x09", "\x1f"])
def test_emails_with_control_characters_are_refused(control: str) -> None:
    assert not rules.is_valid_email(f"a{control}b@example.org")
    assert rules.is_valid_email("a\x7fb@example.org")  # DEL is not below 32: as before
