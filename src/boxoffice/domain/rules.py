"""Small rules shared by every entrypoint."""

from __future__ import annotations

import functools
import re
from datetime import date

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_NAME_PART_RE = re.compile(r"[^0-9A-Za-z]+")
_CONTROL_RE = re.compile(r"[\x00-\x1f]")


def normalise_email(email: str) -> str:
    """Emails are unique per tenant, compared case-insensitively."""
    return email.strip().casefold()


def is_valid_email(email: str) -> bool:
    """``(thing)@(thing).(thing)``, as the vendor validates it, and no longer than 254."""
    return (
        len(email) <= 254
        and _CONTROL_RE.search(email) is None
        and _EMAIL_RE.match(email) is not None
    )


@functools.lru_cache(maxsize=1024)
def pascal_case(name: str) -> str:
    """``Favourite Genre`` -> ``FavouriteGenre``: how attribute names are returned (kept
    per name: every customer view converts the tenant's few attribute names)."""
    parts = [p for p in _NAME_PART_RE.split(name) if p]
    return "".join(p[0].upper() + p[1:] for p in parts)


def attribute_lookup_key(name: str) -> str:
    """The key under which an attribute name is matched, whatever its case and spacing."""
    return pascal_case(name).casefold()


def age_on(birth_date: date | None, today: date) -> int | None:
    if birth_date is None:
        return None
    years = today.year - birth_date.year
    if (today.month, today.day) < (birth_date.month, birth_date.day):
        years -= 1
    return max(years, 0)


def full_name(first_name: str, last_name: str) -> str:
    return " ".join(p for p in (first_name, last_name) if p)
