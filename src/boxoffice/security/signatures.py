"""Spektrix ``SpektrixAPI3`` request signatures (HMAC-SHA1), as clients compute them::

StringToSign = METHOD "\\n" FULL_URL "\\n" Date [ "\\n" base64(md5(body)) ]
Signature    = base64(HMAC-SHA1(base64decode(secret), utf8(StringToSign)))
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

SCHEME = "SpektrixAPI3"


def new_secret_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def body_digest(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324 (vendor protocol)


def string_to_sign(method: str, url: str, date: str, body: bytes | None) -> str:
    text = f"{method.upper()}\n{url}\n{date}"
    if body is not None:
        text += "\n" + body_digest(body)
    return text


def _digest(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha1).digest()


def sign(secret_key_b64: str, method: str, url: str, date: str, body: bytes | None) -> str:
    key = base64.b64decode(secret_key_b64)
    return base64.b64encode(_digest(key, string_to_sign(method, url, date, body))).decode()


def authorization_header(login: str, signature: str) -> str:
    return f"{SCHEME} {login}:{signature}"


def parse_authorization(value: str) -> tuple[str, str] | None:
    if not value.startswith(SCHEME + " "):
        return None
    credentials = value[len(SCHEME) + 1 :].strip()
    if ":" not in credentials:
        return None
    login, signature = credentials.rsplit(":", 1)
    if not login or not signature or any(c.isspace() for c in login):
        return None
    return login, signature


def parse_http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def date_within_window(date: datetime, now: datetime, window_seconds: int) -> bool:
    return abs((now - date).total_seconds()) <= window_seconds


def verify(
    secret_key_b64: str,
    method: str,
    candidate_urls: Sequence[str],
    date: str,
    body: bytes,
    signature: str,
) -> bool:
    """Whether ``signature`` signs this request for any candidate URL.

    GET and HEAD are signed without a body line. Other methods carry the body's MD5 line; an
    empty body is also accepted without it (clients differ).
    """
    try:
        key = base64.b64decode(secret_key_b64)
        sent = base64.b64decode(signature.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False
    method = method.upper()
    bodies: list[bytes | None]
    if method in ("GET", "HEAD"):
        bodies = [None]
    elif body:
        bodies = [body]
    else:
        bodies = [b"", None]
    matched = False
    for url in candidate_urls:
        for candidate_body in bodies:
            expected = _digest(key, string_to_sign(method, url, date, candidate_body))
            matched |= hmac.compare_digest(expected, sent)
    return matched
