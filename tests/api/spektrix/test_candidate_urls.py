"""The URLs a System Owner signature is checked against, and their order (the likeliest first:
the check stops at the first match, decision 0082)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from boxoffice.api.spektrix.auth import VENDOR_BASE_URL, candidate_urls

TARGET = "/t/api/v3/customers?email=a%40b.org"


def _request(scheme: str, headers: list[tuple[bytes, bytes]]) -> Request:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "scheme": scheme,
        "path": "/t/api/v3/customers",
        "raw_path": b"/t/api/v3/customers",
        "query_string": b"email=a%40b.org",
        "headers": headers,
    }
    return Request(scope)


@pytest.mark.parametrize(("scheme", "other"), [("http", "https"), ("https", "http")])
def test_this_host_with_the_request_scheme_comes_first(scheme: str, other: str) -> None:
    request = _request(scheme, [(b"host", b"api.example.org")])
    assert candidate_urls(request, ["https://tickets.example.org/"]) == [
        f"{scheme}://api.example.org{TARGET}",
        f"{other}://api.example.org{TARGET}",
        f"https://tickets.example.org{TARGET}",
        f"{VENDOR_BASE_URL}{TARGET}",
    ]


def test_the_first_host_is_read_and_a_forwarded_host_never() -> None:
    """``X-Forwarded-Host`` from a trusted proxy is already in ``Host`` (the edge put it
    there); from anyone else it is a client's claim, not a URL it signed against."""
    request = _request(
        "http",
        [
            (b"host", b"api.example.org"),
            (b"x-forwarded-host", b"tickets.example.org, proxy.internal"),
            (b"host", b"ignored.example.org"),
            (b"x-forwarded-host", b"ignored.example.org"),
        ],
    )
    assert candidate_urls(request, ["https://api.example.org"]) == [
        f"http://api.example.org{TARGET}",
        f"https://api.example.org{TARGET}",
        f"{VENDOR_BASE_URL}{TARGET}",
    ]


def test_without_a_host_only_the_configured_and_vendor_urls() -> None:
    request = _request("http", [])
    assert candidate_urls(request, []) == [f"{VENDOR_BASE_URL}{TARGET}"]
