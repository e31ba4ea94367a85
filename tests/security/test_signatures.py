"""Spektrix ``SpektrixAPI3`` HMAC signatures (reference section 2)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from boxoffice.security.signatures import (
    authorization_header,
    body_digest,
    date_within_window,
    new_secret_key,
    parse_authorization,
    parse_http_date,
    sign,
    string_to_sign,
    verify,
)

SECRET = "dGhpcyBpcyBhIHRlc3Q="
DATE = "Mon, 21 Oct 2020 07:28:00 GMT"
BASE = "https://system.spektrix.com/apitesting/api/v3"
GET_CUSTOMER_URL = f"{BASE}/customers/I-AK11-1ATK"
GET_BY_EMAIL_URL = f"{BASE}/customers?email=a@b.com"
POST_URL = f"{BASE}/customers"
POST_BODY = b'{"email": "a@b.com", "firstName": "A", "lastName": "B"}'
DELETE_URL = f"{BASE}/customers/I-AK11-1ATK/agreed-statements/201AGBHDRLQHNHPHKKMPKLGPMDRDTDMVL"
EMPTY_MD5 = "1B2M2Y8AsgTpgAmY7PhCfg=="

# Reference section 2.5: (method, url, body, 4th line, signature).
VECTORS = [
    ("GET", GET_CUSTOMER_URL, None, None, "Tn/2Y/c/MXkQUAIqbNeni8F6B1I="),
    ("GET", GET_BY_EMAIL_URL, None, None, "oSg8nVytuaJIe0FcF2XL+j9Ca+w="),
    ("POST", POST_URL, POST_BODY, "FP/Ku+DgY9mhr7IuhOYnUg==", "WnXLe1lKODRcMg1Hqmdt0KmNcrU="),
    ("DELETE", DELETE_URL, b"", EMPTY_MD5, "PoHasEDr9AGIKORPrwSjwD4HBjo="),
]

OTHER_SECRET = base64.b64encode(b"this is another test").decode()


# --- the reference test vectors -------------------------------------------------------


def test_post_body_is_python_json_dumps_output() -> None:
    import json

    payload = {"email": "a@b.com", "firstName": "A", "lastName": "B"}
    assert json.dumps(payload).encode() == POST_BODY


@pytest.mark.parametrize(("method", "url", "body", "line4", "signature"), VECTORS)
def test_reference_vectors_sign(
    method: str, url: str, body: bytes | None, line4: str | None, signature: str
) -> None:
    if body is not None:
        assert body_digest(body) == line4
    assert sign(SECRET, method, url, DATE, body) == signature


@pytest.mark.parametrize(("method", "url", "body", "line4", "signature"), VECTORS)
def test_reference_vectors_verify(
    method: str, url: str, body: bytes | None, line4: str | None, signature: str
) -> None:
    assert verify(SECRET, method, [url], DATE, body or b"", signature)


@pytest.mark.parametrize(("method", "url", "body", "line4", "signature"), VECTORS)
def test_reference_vectors_string_to_sign(
    method: str, url: str, body: bytes | None, line4: str | None, signature: str
) -> None:
    expected = f"{method}\n{url}\n{DATE}"
    if line4 is not None:
        expected += f"\n{line4}"
    assert string_to_sign(method.lower(), url, DATE, body) == expected


def test_empty_body_digest_is_md5_of_empty_string() -> None:
    assert body_digest(b"") == EMPTY_MD5


def test_string_to_sign_uppercases_method_and_omits_body_line_for_none() -> None:
    assert string_to_sign("get", "u", "d", None) == "GET\nu\nd"
    assert string_to_sign("delete", "u", "d", b"") == f"DELETE\nu\nd\n{EMPTY_MD5}"


def test_sign_is_case_insensitive_on_method() -> None:
    assert sign(SECRET, "get", GET_CUSTOMER_URL, DATE, None) == "Tn/2Y/c/MXkQUAIqbNeni8F6B1I="


def test_sign_rejects_non_base64_secret() -> None:
    with pytest.raises(ValueError):
        sign("not base64!!", "GET", GET_CUSTOMER_URL, DATE, None)


# --- verification failures ------------------------------------------------------------


def test_wrong_key_refused() -> None:
    assert not verify(
        OTHER_SECRET, "GET", [GET_CUSTOMER_URL], DATE, b"", "Tn/2Y/c/MXkQUAIqbNeni8F6B1I="
    )


def test_altered_url_refused() -> None:
    sig = "Tn/2Y/c/MXkQUAIqbNeni8F6B1I="
    assert not verify(SECRET, "GET", [GET_CUSTOMER_URL + "X"], DATE, b"", sig)
    assert not verify(SECRET, "GET", [GET_CUSTOMER_URL.replace("https", "http")], DATE, b"", sig)


def test_altered_query_refused() -> None:
    sig = "oSg8nVytuaJIe0FcF2XL+j9Ca+w="
    encoded = GET_BY_EMAIL_URL.replace("@", "%40")
    assert not verify(SECRET, "GET", [encoded], DATE, b"", sig)


def test_altered_body_refused() -> None:
    sig = "WnXLe1lKODRcMg1Hqmdt0KmNcrU="
    assert not verify(SECRET, "POST", [POST_URL], DATE, POST_BODY.replace(b"A", b"Z"), sig)
    assert not verify(SECRET, "POST", [POST_URL], DATE, POST_BODY + b" ", sig)
    assert not verify(SECRET, "POST", [POST_URL], DATE, b"", sig)


def test_altered_method_refused() -> None:
    assert not verify(SECRET, "PUT", [POST_URL], DATE, POST_BODY, "WnXLe1lKODRcMg1Hqmdt0KmNcrU=")
    assert not verify(
        SECRET, "DELETE", [GET_CUSTOMER_URL], DATE, b"", "Tn/2Y/c/MXkQUAIqbNeni8F6B1I="
    )


def test_altered_date_refused() -> None:
    other_date = "Mon, 21 Oct 2020 07:28:01 GMT"
    assert not verify(
        SECRET, "GET", [GET_CUSTOMER_URL], other_date, b"", "Tn/2Y/c/MXkQUAIqbNeni8F6B1I="
    )


def test_empty_body_delete_accepts_four_line_form() -> None:
    four_line = sign(SECRET, "DELETE", DELETE_URL, DATE, b"")
    assert four_line == "PoHasEDr9AGIKORPrwSjwD4HBjo="
    assert verify(SECRET, "DELETE", [DELETE_URL], DATE, b"", four_line)


def test_empty_body_delete_accepts_three_line_form() -> None:
    three_line = sign(SECRET, "DELETE", DELETE_URL, DATE, None)
    assert three_line != "PoHasEDr9AGIKORPrwSjwD4HBjo="
    assert verify(SECRET, "DELETE", [DELETE_URL], DATE, b"", three_line)


def test_empty_body_post_accepts_both_forms() -> None:
    for body in (b"", None):
        signature = sign(SECRET, "POST", POST_URL, DATE, body)
        assert verify(SECRET, "POST", [POST_URL], DATE, b"", signature)


def test_non_empty_body_refuses_three_line_form() -> None:
    three_line = sign(SECRET, "POST", POST_URL, DATE, None)
    assert not verify(SECRET, "POST", [POST_URL], DATE, POST_BODY, three_line)


def test_placeholder_delete_body_is_signed_like_any_body() -> None:
    body = b'{"lol": "lel"}'
    signature = sign(SECRET, "DELETE", DELETE_URL, DATE, body)
    assert verify(SECRET, "DELETE", [DELETE_URL], DATE, body, signature)
    assert not verify(SECRET, "DELETE", [DELETE_URL], DATE, b"", signature)


@pytest.mark.parametrize("method", ["GET", "HEAD", "get"])
def test_get_with_four_line_signature_refused(method: str) -> None:
    four_line = sign(SECRET, method, GET_CUSTOMER_URL, DATE, b"")
    assert not verify(SECRET, method, [GET_CUSTOMER_URL], DATE, b"", four_line)


def test_head_accepts_three_line_form() -> None:
    signature = sign(SECRET, "HEAD", GET_CUSTOMER_URL, DATE, None)
    assert verify(SECRET, "HEAD", [GET_CUSTOMER_URL], DATE, b"", signature)


def test_any_candidate_url_may_match() -> None:
    sig = "Tn/2Y/c/MXkQUAIqbNeni8F6B1I="
    custom = "https://tickets.example.org/apitesting/api/v3/customers/I-AK11-1ATK"
    assert verify(SECRET, "GET", [custom, GET_CUSTOMER_URL], DATE, b"", sig)
    assert verify(SECRET, "GET", [GET_CUSTOMER_URL, custom], DATE, b"", sig)
    assert not verify(SECRET, "GET", [custom], DATE, b"", sig)
    assert not verify(SECRET, "GET", [], DATE, b"", sig)


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "garbage",
        "Tn/2Y/c/MXkQUAIqbNeni8F6B1I",  # padding removed
        "Tn/2Y/c/MXkQUAIqbNeni8F6B1I=\n",
        " Tn/2Y/c/MXkQUAIqbNeni8F6B1I=",
        "Tn_2Y_c_MXkQUAIqbNeni8F6B1I=",  # urlsafe alphabet
        "Tn/2Y/c/MXkQUAIqbNeni8F6B1I=é",
        "Tn/2Y/c/MXkQUAIqbNeni8F6B1I=\x00",
        "=" * 28,
        "A" * 10_000,
    ],
)
def test_malformed_signature_refused_without_raising(signature: str) -> None:
    assert not verify(SECRET, "GET", [GET_CUSTOMER_URL], DATE, b"", signature)


@pytest.mark.parametrize("secret", ["", "not base64!!", "dGhpcyBpcyBhIHRlc3Q", "é"])
def test_malformed_secret_refused_without_raising(secret: str) -> None:
    assert not verify(secret, "GET", [GET_CUSTOMER_URL], DATE, b"", "Tn/2Y/c/MXkQUAIqbNeni8F6B1I=")


def test_non_ascii_url_is_signed_as_utf8() -> None:
    url = f"{BASE}/customers?email=zoë@example.org"
    signature = sign(SECRET, "GET", url, DATE, None)
    assert verify(SECRET, "GET", [url], DATE, b"", signature)


# --- secret keys ----------------------------------------------------------------------


def test_new_secret_key_is_32_random_bytes_in_standard_base64() -> None:
    key = new_secret_key()
    assert len(base64.b64decode(key, validate=True)) == 32
    assert len(key) == 44
    assert new_secret_key() != key


def test_round_trip_with_new_key() -> None:
    key = new_secret_key()
    signature = sign(key, "PATCH", GET_CUSTOMER_URL, DATE, b'{"firstName": "Z"}')
    assert verify(key, "PATCH", [GET_CUSTOMER_URL], DATE, b'{"firstName": "Z"}', signature)
    assert not verify(SECRET, "PATCH", [GET_CUSTOMER_URL], DATE, b'{"firstName": "Z"}', signature)


# --- Authorization header -------------------------------------------------------------


def test_authorization_header_format() -> None:
    header = authorization_header("TestLogin", "frJIUN8DYpKDtOLCwo//yllqDzg=")
    assert header == "SpektrixAPI3 TestLogin:frJIUN8DYpKDtOLCwo//yllqDzg="


def test_parse_authorization_round_trip() -> None:
    header = authorization_header("TestLogin", "frJIUN8DYpKDtOLCwo//yllqDzg=")
    assert parse_authorization(header) == ("TestLogin", "frJIUN8DYpKDtOLCwo//yllqDzg=")


def test_parse_authorization_login_with_backslash() -> None:
    value = "SpektrixAPI3 greg\\brightflair:Tn/2Y/c/MXkQUAIqbNeni8F6B1I="
    assert parse_authorization(value) == ("greg\\brightflair", "Tn/2Y/c/MXkQUAIqbNeni8F6B1I=")


def test_parse_authorization_login_with_colon_splits_on_last() -> None:
    value = "SpektrixAPI3 domain:user:Tn/2Y/c/MXkQUAIqbNeni8F6B1I="
    assert parse_authorization(value) == ("domain:user", "Tn/2Y/c/MXkQUAIqbNeni8F6B1I=")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "SpektrixAPI3",
        "SpektrixAPI3 ",
        "SpektrixAPI3 login",
        "SpektrixAPI3 login:",
        "SpektrixAPI3 :sig=",
        "SpektrixAPI3  login:sig=",
        "SpektrixAPI3 login :sig=",
        "SpektrixAPI3 login: sig=",
        "SpektrixAPI3 login:sig=\x00",
        "SpektrixAPI3 lo\ngin:sig=",
        "SpektrixAPI3 login:s ig=",
        "SpektrixAPI3 login:sig!",
        "SpektrixAPI3\tlogin:sig=",
        "spektrixapi3 login:sig=",
        "SPEKTRIXAPI3 login:sig=",
        "SpektrixAPI login:sig=",
        "SpektrixAPI3x login:sig=",
        "Bearer abc.def.ghi",
        "Basic dXNlcjpwYXNz",
        "SpektrixAPI3 " + "a" * 5000 + ":sig=",
    ],
)
def test_parse_authorization_garbage_returns_none(value: str) -> None:
    assert parse_authorization(value) is None


# --- dates ----------------------------------------------------------------------------


def test_parse_http_date_reference_date() -> None:
    parsed = parse_http_date(DATE)
    assert parsed == datetime(2020, 10, 21, 7, 28, tzinfo=UTC)
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)


def test_parse_http_date_offset_is_converted_to_utc() -> None:
    parsed = parse_http_date("Mon, 21 Oct 2020 08:28:00 +0100")
    assert parsed == datetime(2020, 10, 21, 7, 28, tzinfo=UTC)
    assert parsed is not None
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "1",
        "2020-10-21T07:28:00Z",
        "Mon, 32 Oct 2020 07:28:00 GMT",
        "Mon, 21 Oct 2020 25:28:00 GMT",
        "Mon, 21 Foo 2020 07:28:00 GMT",
        "Mon, 21 Oct 99999 07:28:00 GMT",
        ", , ,",
        "Mon, 21 Oct 2020 07:28:00 GMT" + " " * 100,
    ],
)
def test_parse_http_date_garbage_returns_none(value: str) -> None:
    assert parse_http_date(value) is None


def test_date_window_inside() -> None:
    now = datetime(2020, 10, 21, 7, 28, tzinfo=UTC)
    assert date_within_window(now, now, 900)
    assert date_within_window(now - timedelta(minutes=15), now, 900)
    assert date_within_window(now + timedelta(minutes=15), now, 900)
    assert date_within_window(now + timedelta(minutes=14, seconds=59), now, 900)


def test_date_window_outside() -> None:
    now = datetime(2020, 10, 21, 7, 28, tzinfo=UTC)
    assert not date_within_window(now - timedelta(minutes=15, seconds=1), now, 900)
    assert not date_within_window(now + timedelta(minutes=15, seconds=1), now, 900)
    assert not date_within_window(now + timedelta(days=1), now, 900)


def test_date_window_compares_across_zones() -> None:
    now = datetime(2020, 10, 21, 7, 28, tzinfo=UTC)
    same_instant = datetime(2020, 10, 21, 9, 28, tzinfo=timezone(timedelta(hours=2)))
    assert date_within_window(same_instant, now, 0)


def test_date_window_with_parsed_header() -> None:
    parsed = parse_http_date(DATE)
    assert parsed is not None
    assert date_within_window(parsed, datetime(2020, 10, 21, 7, 40, tzinfo=UTC), 900)
    assert not date_within_window(parsed, datetime(2020, 10, 21, 7, 44, tzinfo=UTC), 900)


def test_date_window_rejects_naive_datetimes() -> None:
    aware = datetime(2020, 10, 21, 7, 28, tzinfo=UTC)
    naive = datetime(2020, 10, 21, 7, 28)
    with pytest.raises(ValueError):
        date_within_window(naive, aware, 900)
    with pytest.raises(ValueError):
        date_within_window(aware, naive, 900)


def test_a_match_on_any_candidate_with_a_body_in_either_form() -> None:
    custom = "https://tickets.example.org/apitesting/api/v3/customers/I-AK11-1ATK/tags"
    other = "https://other.example.org/apitesting/api/v3/customers/I-AK11-1ATK/tags"
    for body in (None, b""):
        signature = sign(SECRET, "DELETE", custom, DATE, body)
        assert verify(SECRET, "DELETE", [other, custom], DATE, b"", signature)
        assert not verify(SECRET, "DELETE", [other], DATE, b"", signature)
    signature = sign(SECRET, "POST", custom, DATE, POST_BODY)
    assert verify(SECRET, "POST", [other, custom], DATE, POST_BODY, signature)
    assert not verify(SECRET, "POST", [other, custom], DATE, POST_BODY + b" ", signature)
