"""Small rules shared by every entrypoint."""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from datetime import date

import idna

from boxoffice.domain.errors import InvalidInput

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_NAME_PART_RE = re.compile(r"[^0-9A-Za-z]+")
_CONTROL_RE = re.compile(r"[\x00-\x1f]")


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
    raise InvalidInput("login_type", "not_allowed_value")
