"""Spektrix API v3 ``SpektrixAPI3`` request signatures (HMAC-SHA1).

See the Spektrix v3 reference, section 2::

    StringToSign = UPPER(method) "\\n" FULL_URL "\\n" Date [ "\\n" base64(md5(body)) ]
    Signature    = base64(HMAC-SHA1(base64decode(SecretKey), utf8(StringToSign)))
    Authorization: SpektrixAPI3 <login>:<Signature>
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

SCHEME = "SpektrixAPI3"
SECRET_KEY_BYTES = 32
_PREFIX = SCHEME + " "
_MAX_HEADER_LEN = 4096
_MAX_DATE_LEN = 64
_SIGNATURE_RE = re.compile(r"[A-Za-z0-9+/]+={0,2}")
#: Methods signed without the body line (the 3-line string to sign).
BODYLESS_METHODS = frozenset({"GET", "HEAD"})


def new_secret_key() -> str:
    """A new secret key: 32 random bytes, standard base64 (44 characters)."""
    return base64.b64encode(secrets.token_bytes(SECRET_KEY_BYTES)).decode("ascii")


def body_digest(body: bytes) -> str:
    """``base64(md5(body).digest())``, the 4th line of the string to sign."""
    # MD5 is mandated by the wire protocol; it is an integrity check under the HMAC.
    digest = hashlib.md5(body, usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def string_to_sign(method: str, url: str, date: str, body: bytes | None) -> str:
    """The string to sign; the body line is present only when ``body`` is not None."""
    before, after = _around_url(method, date, body)
    return before + url + after


def _around_url(method: str, date: str, body: bytes | None) -> tuple[str, str]:
    """What comes before and after the URL in the string to sign (built once per check,
    whatever the number of candidate URLs)."""
    after = f"\n{date}" if body is None else f"\n{date}\n{body_digest(body)}"
    return f"{method.upper()}\n", after


def _decode_secret(secret_key_b64: str) -> bytes:
    return base64.b64decode(secret_key_b64, validate=True)


def _sign_with_key(key: bytes, method: str, url: str, date: str, body: bytes | None) -> str:
    message = string_to_sign(method, url, date, body).encode("utf-8")
    return base64.b64encode(hmac.digest(key, message, "sha1")).decode("ascii")


def sign(secret_key_b64: str, method: str, url: str, date: str, body: bytes | None) -> str:
    """The base64 HMAC-SHA1 signature of a request.

    Raises ``ValueError`` (``binascii.Error``) when the secret key is not valid base64.
    """
    return _sign_with_key(_decode_secret(secret_key_b64), method, url, date, body)


def authorization_header(login: str, signature: str) -> str:
    """The ``Authorization`` header value: ``SpektrixAPI3 login:signature``."""
    return f"{_PREFIX}{login}:{signature}"


def parse_authorization(value: str) -> tuple[str, str] | None:
    """Split an ``Authorization`` value into ``(login, signature)``; None when malformed.

    The scheme must be exactly ``SpektrixAPI3`` followed by one space. The login may
    contain backslashes and colons (the credential is split on the last colon).
    """
    if len(value) > _MAX_HEADER_LEN:
        return None
    value = value.strip(" \t")
    if not value.startswith(_PREFIX):
        return None
    credentials = value[len(_PREFIX) :]
    if not credentials.isprintable():
        return None
    login, sep, signature = credentials.rpartition(":")
    if not sep or not login or login != login.strip():
        return None
    if _SIGNATURE_RE.fullmatch(signature) is None:
        return None
    return login, signature


def parse_http_date(value: str) -> datetime | None:
    """Parse an RFC 1123 / IMF-fixdate ``Date`` header into an aware UTC datetime.

    A date without zone information (``-0000``) is taken as UTC; a date with an offset is
    converted to UTC. Returns None for anything that does not parse.
    """
    if not value or len(value) > _MAX_DATE_LEN:
        return None
    return _parse_http_date(value)


@functools.lru_cache(maxsize=256)
def _parse_http_date(value: str) -> datetime | None:
    """Kept per text: busy clients sign many requests within the same second, and the
    standard library's parser costs more than the rest of a signature check."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def verify(
    secret_key_b64: str,
    method: str,
    candidate_urls: Iterable[str],
    date: str,
    body: bytes,
    signature: str,
) -> bool:
    """True when ``signature`` signs this request for any of ``candidate_urls`` (tried in
    their order: the likeliest first).

    GET and HEAD: only the 3-line form. Other methods: the 4-line form with
    ``md5(body)``; when ``body`` is empty, the 3-line form too. Never raises on malformed
    input (including an undecodable secret key): returns False.
    """
    if not signature.isascii() or _SIGNATURE_RE.fullmatch(signature) is None:
        return False
    try:
        key = _decode_secret(secret_key_b64)
    except (binascii.Error, ValueError):
        return False
    verb = method.upper()
    bodies: list[bytes | None]
    if verb in BODYLESS_METHODS:
        bodies = [None]
    elif body:
        bodies = [body]
    else:
        bodies = [body, None]
    forms = [_around_url(verb, date, b) for b in bodies]
    given = signature.encode("ascii")
    for url in candidate_urls:
        for before, after in forms:
            message = (before + url + after).encode("utf-8")
            expected = base64.b64encode(hmac.digest(key, message, "sha1"))
            # Each comparison is constant-time; the loop stops at the first match (decision
            # 0082): the time then tells only which of the URLs the client signed, which the
            # client knows. A refusal always tries every candidate.
            if hmac.compare_digest(expected, given):
                return True
    return False


def date_within_window(date: datetime, now: datetime, window_seconds: int) -> bool:
    """True when ``date`` is at most ``window_seconds`` before or after ``now``.

    Both datetimes must be timezone-aware; ``ValueError`` otherwise.
    """
    if date.tzinfo is None or now.tzinfo is None:
        raise ValueError("date_within_window needs timezone-aware datetimes")
    if window_seconds < 0:
        raise ValueError("window_seconds must not be negative")
    return abs((date - now).total_seconds()) <= window_seconds
