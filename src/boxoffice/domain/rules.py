"""The rules a customer's values obey, written once for every entrypoint.

Every dialect, the hosted pages and the command line check a value with these functions (a
dialect may first check its vendor's documented wire pattern, in its ``mappers.py``). A refusal
is an :class:`InvalidInput` with a neutral field name (``first_name``, ``birth_date``,
``attribute:<name>``, ``statements``...) and a reason in plain words; each dialect's
``errors.py`` says it in its vendor's words. ``tests/api/test_conformance.py`` checks that one
input is accepted or refused alike through every dialect that carries the field.
"""

from __future__ import annotations

import functools
import hashlib
import re
import string
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

import idna

from boxoffice.domain.commands import ADDRESS_PARTS
from boxoffice.domain.errors import NOT_ALLOWED, InvalidInput

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_NAME_PART_RE = re.compile(r"[^0-9A-Za-z]+")
_CONTROL_RE = re.compile(r"[\x00-\x1f]")
_CONTROL_BUT_WHITESPACE_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


#: The longest email key (the ``customers.email_key`` column's length).
EMAIL_KEY_LENGTH = 254


def normalise_email(email: str) -> str:
    """The key under which an address is unique in its tenant (decision 0093): two addresses
    have one key only when they name the same mailbox, ignoring case.

    - The local part is compared as Unicode text: NFC (canonically equivalent spellings are
      one text), then ``str.lower()``. Never ``casefold()``: it makes ``ß`` ``ss`` and ``ς``
      ``σ``, and those are other mailboxes.
    - The domain is the name DNS looks up: its IDNA2008 A-label form after the UTS #46
      mapping, non-transitional (``ß`` stays ``ß``: ``großbank`` is ``xn--grobank-2va``, not
      ``grossbank``; full-width letters are their ASCII letters, as in every browser). A domain
      IDNA refuses is compared as text, like the local part.
    - Surrounding white space is ignored. A key longer than :data:`EMAIL_KEY_LENGTH` (Unicode
      can grow as it is lowered or converted) keeps its beginning and ends with a digest of the
      whole key, after a space no address can hold.

    ASCII addresses (nearly all) are lower-cased and nothing else.
    """
    text = email.strip()
    if text.isascii():
        key = text.lower()
    else:
        local, at, domain = text.rpartition("@")
        key = f"{_fold(local)}@{_domain_key(domain)}" if at else _fold(text)
    if len(key) > EMAIL_KEY_LENGTH:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        key = f"{key[: EMAIL_KEY_LENGTH - len(digest) - 1]} {digest}"
    return key


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).lower())


def _domain_key(domain: str) -> str:
    if domain.isascii():
        return domain.lower()
    try:
        return idna.encode(domain, uts46=True, transitional=False).decode("ascii")
    except UnicodeError:  # idna.IDNAError included: not a domain IDNA can convert
        return _fold(domain)


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


#: The ways a customer logs in on an app (CareCloud ``login_type``).
EMAIL_LOGIN, PHONE_LOGIN, CARD_LOGIN = "email", "phone", "card"


def phone_variants(value: str) -> list[str]:
    """The digits a stored number may have (separators and ``+`` aside): with the country
    code, or with the international ``00`` prefix."""
    digits = "".join(c for c in value if c.isdigit()).lstrip("0")
    if not digits:
        return []
    return [digits, f"00{digits}"]


def login_identity(login_type: str, value: str) -> str:
    """The account a login value names, as the customer lookup reads it: a normalised email
    address, a phone number's digits without its international prefix (``+44 7700 900123``,
    ``0044 7700-900123`` and ``447700900123`` alike) or a card number. Failed logins are
    counted against it, so writing the same value another way starts no fresh count."""
    if login_type == EMAIL_LOGIN:
        return normalise_email(value)
    if login_type == PHONE_LOGIN:
        variants = phone_variants(value)
        return variants[0] if variants else ""
    if login_type == CARD_LOGIN:
        return value.strip()
    raise InvalidInput("login_type", NOT_ALLOWED)


# --- the values of a customer -------------------------------------------------------------------

#: The longest value of each text field (the columns' lengths); addresses' parts included.
TEXT_LIMITS = {
    "title": 50,
    "first_name": 200,
    "last_name": 200,
    "phone": 50,
    "mobile": 50,
    "friendly_id": 100,
    "gender": 20,
    "language": 16,
    "post_nominals": 50,
    "name": 200,
    "line1": 200,
    "line2": 200,
    "line3": 200,
    "line4": 200,
    "line5": 200,
    "town": 200,
    "postcode": 50,
    "administrative_division": 200,
}
#: The text parts of an address (``country`` aside: :func:`clean_country`).
ADDRESS_TEXT_FIELDS = tuple(part for part in ADDRESS_PARTS if part != "country")
#: The longest attribute value.
ATTRIBUTE_VALUE_LIMIT = 4000
#: The field an attribute's value is refused under: ``attribute:<name>``.
ATTRIBUTE_FIELD_PREFIX = "attribute:"
EARLIEST_BIRTH_DATE = date(1900, 1, 1)


def clean_text(
    field: str,
    value: str | None,
    *,
    required: bool = False,
    limit: int | None = None,
    multiline: bool = False,
) -> str | None:
    """A text value without its surrounding white space (None stays None). Refused: empty
    when ``required``, longer than ``limit`` (by default the field's :data:`TEXT_LIMITS`),
    control characters (``multiline``: tab and line breaks allowed)."""
    if value is None:
        if required:
            raise InvalidInput(field, "required")
        return None
    value = value.strip()
    if required and not value:
        raise InvalidInput(field, "required")
    limit = TEXT_LIMITS.get(field) if limit is None else limit
    if limit is not None and len(value) > limit:
        raise InvalidInput(field, f"at most {limit} characters")
    control = _CONTROL_BUT_WHITESPACE_RE if multiline else _CONTROL_RE
    if control.search(value):
        raise InvalidInput(field, "control characters are not allowed")
    return value


def clean_email(value: str | None, field: str = "email") -> str:
    """An email address, required: ``(thing)@(thing).(thing)``, at most 254 characters."""
    email = clean_text(field, value, required=True)
    assert email is not None
    if not is_valid_email(email):
        raise InvalidInput(field, "not a valid email address")
    return email


def clean_phone(value: str | None, field: str = "phone") -> str | None:
    """A phone number as written (None or empty: none): at most 50 characters, no control
    characters, and digits that can be dialled (:func:`phone_variants`). The dialects check
    their vendors' own formats first."""
    text = clean_text(field, value, limit=TEXT_LIMITS["phone"]) or None
    if text is not None and not phone_variants(text):
        raise InvalidInput(field, "a phone number")
    return text


#: The fields of a customer that hold a phone number.
PHONE_FIELDS = frozenset({"phone", "mobile"})


def clean_optional(field: str, value: str | None) -> str | None:
    """An optional value of a customer (phone numbers by :func:`clean_phone`, the rest by
    :func:`clean_text`); empty is None."""
    if field in PHONE_FIELDS:
        return clean_phone(value, field)
    return clean_text(field, value) or None


def clean_birth_date(value: date | None, today: date) -> date | None:
    """A birth date between 1900-01-01 and ``today``."""
    if value is not None and not EARLIEST_BIRTH_DATE <= value <= today:
        raise InvalidInput("birth_date", "must be between 1900-01-01 and today")
    return value


def clean_country(value: str | None, field: str = "country") -> str | None:
    """A two-letter ISO 3166 code, upper case (None or empty: none)."""
    if value is None or value.strip() == "":
        return None
    value = value.strip().upper()
    if len(value) != 2 or not value.isalpha():
        raise InvalidInput(field, "a two-letter ISO 3166 country code")
    return value


def attribute_field(name: str) -> str:
    """The field an attribute's value is refused under (each dialect names it its way)."""
    return f"{ATTRIBUTE_FIELD_PREFIX}{name}"


def clean_attribute_value(kind: str, raw: str | None, field: str) -> str | None:
    """An attribute value as stored (None or empty: no value) for an attribute of type
    ``kind``: text of at most 4000 characters without control characters (tab and line breaks
    allowed); a date ``YYYY-MM-DD``; a finite number; ``true`` or ``false``."""
    if raw is None:
        return None
    value = str(raw).strip()
    if value == "":
        return None
    if len(value) > ATTRIBUTE_VALUE_LIMIT:
        raise InvalidInput(field, f"at most {ATTRIBUTE_VALUE_LIMIT} characters")
    if _CONTROL_BUT_WHITESPACE_RE.search(value):
        raise InvalidInput(field, "control characters are not allowed")
    if kind == "date":
        try:
            return date.fromisoformat(value[:10]).isoformat()
        except ValueError as exc:
            raise InvalidInput(field, "a date (YYYY-MM-DD)") from exc
    if kind == "number":
        try:
            number = Decimal(value)
        except InvalidOperation as exc:
            raise InvalidInput(field, "a number") from exc
        if not number.is_finite():
            raise InvalidInput(field, "a number")
        return value
    if kind == "boolean":
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise InvalidInput(field, "true or false")
        return lowered
    return value


# --- passwords ---------------------------------------------------------------------------------

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
#: Passwords refused whatever their length (the vendor's examples and the usual suspects).
COMMON_PASSWORDS = frozenset(
    {
        "12345",
        "123456",
        "12345678",
        "123456789",
        "1234567890",
        "abc123",
        "password",
        "password1",
        "password123",
        "passw0rd",
        "qwerty",
        "qwerty123",
        "letmein",
        "welcome",
        "welcome1",
        "iloveyou",
        "admin",
        "admin123",
        "monkey",
        "dragon",
        "football",
        "baseball",
        "sunshine",
        "princess",
        "trustno1",
        "password_example",
    }
)


def password_problem(password: str) -> str | None:
    """Why a password may not be set (None: it may), the one policy of every entrypoint
    (decision 0117): 8 to 256 characters, a digit and an upper-case letter, not a common
    password."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        return f"between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH} characters"
    if not any(c in string.digits for c in password):
        return "at least one digit"
    if not any(c.isupper() for c in password):
        return "at least one upper-case letter"
    if password.casefold() in COMMON_PASSWORDS:
        return "a common password"
    return None


def check_password(password: str, field: str = "password") -> str:
    """``password`` when :func:`password_problem` finds nothing, else ``InvalidInput``."""
    problem = password_problem(password)
    if problem is not None:
        raise InvalidInput(field, problem)
    return password
