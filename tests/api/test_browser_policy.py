"""``BrowserPolicy`` at the ASGI level: which headers it reads (the first of each), what it
refuses and what it adds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.responses import JSONResponse, Response

from boxoffice.api.common.browser import BrowserPolicy

ALLOWED = "https://shop.example"
FOREIGN = "https://evil.example"


def _credentials(authorization: str) -> bool:
    """The test dialect's server-to-server scheme."""
    return authorization.startswith("Signed ")


async def _allowed(_scope: Any) -> frozenset[str]:
    return frozenset({ALLOWED})


def _refuse(message: str) -> Response:
    return JSONResponse({"message": message}, status_code=403)


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-app", b"1")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _call(method: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, list[Any]]:
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "method": method,
        "scheme": "http",
        "path": "/t/api/v3/customer",
        "headers": [(b"host", b"api.example"), *headers],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    policy = BrowserPolicy(_app, allowed_origins=_allowed, refuse=_refuse, credentials=_credentials)
    asyncio.run(policy(scope, receive, send))
    return sent[0]["status"], sent[0]["headers"]


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_without_origin_or_fetch_site_the_app_answers_untouched(method: str) -> None:
    assert _call(method, []) == (200, [(b"x-app", b"1")])


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("POST", [(b"sec-fetch-site", b"cross-site")], 403),
        ("PUT", [(b"sec-fetch-site", b"cross-site")], 403),
        ("GET", [(b"sec-fetch-site", b"cross-site")], 200),
        ("POST", [(b"sec-fetch-site", b"same-site")], 200),
        ("POST", [(b"sec-fetch-site", b"Cross-Site")], 200),
        ("POST", [(b"sec-fetch-site", b"same-site"), (b"sec-fetch-site", b"cross-site")], 200),
        ("POST", [(b"sec-fetch-site", b"cross-site"), (b"sec-fetch-site", b"same-site")], 403),
        ("POST", [(b"sec-fetch-site", b"cross-site"), (b"authorization", b"Signed x")], 200),
        ("POST", [(b"sec-fetch-site", b"cross-site"), (b"authorization", b"x")], 403),
        ("POST", [(b"sec-fetch-site", b"cross-site"), (b"authorization", b"Bearer x")], 403),
        ("POST", [(b"authorization", b""), (b"sec-fetch-site", b"cross-site")], 403),
    ],
)
def test_cross_site_writes_without_origin(
    method: str, headers: list[tuple[bytes, bytes]], status: int
) -> None:
    assert _call(method, headers)[0] == status


def test_an_allowed_origin_gets_credentialed_cors_headers() -> None:
    status, headers = _call("GET", [(b"origin", b"HTTPS://Shop.Example")])
    assert status == 200
    assert headers == [
        (b"x-app", b"1"),
        (b"access-control-allow-origin", ALLOWED.encode()),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-expose-headers", b"Retry-After, X-Request-ID"),
        (b"vary", b"Origin"),
    ]


def test_the_first_origin_header_is_the_one_judged() -> None:
    assert _call("POST", [(b"origin", ALLOWED.encode()), (b"origin", FOREIGN.encode())])[0] == 200
    assert _call("POST", [(b"origin", FOREIGN.encode()), (b"origin", ALLOWED.encode())])[0] == 403


def test_a_foreign_origin_reads_without_grant_and_cannot_write_unless_signed() -> None:
    assert _call("GET", [(b"origin", FOREIGN.encode())]) == (
        200,
        [(b"x-app", b"1"), (b"vary", b"Origin")],
    )
    assert _call("POST", [(b"origin", FOREIGN.encode())])[0] == 403
    signed = [(b"origin", FOREIGN.encode()), (b"authorization", b"Signed x")]
    assert _call("POST", signed)[0] == 200


@pytest.mark.parametrize("authorization", [b"x", b"Bearer x", b"signed x", b" ", b""])
def test_an_authorization_that_is_not_the_dialects_scheme_is_no_exemption(
    authorization: bytes,
) -> None:
    """Any ``Authorization`` header used to exempt a write from the cross-site check (issue
    15, finding 14): only the dialect's own credentials do."""
    headers = [(b"origin", FOREIGN.encode()), (b"authorization", authorization)]
    assert _call("POST", headers)[0] == 403


def test_without_a_scheme_no_authorization_exempts() -> None:
    """The hosted pages take no ``Authorization`` at all: the default exempts nothing."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "http",
        "path": "/t/website/Login.aspx",
        "headers": [
            (b"host", b"api.example"),
            (b"origin", FOREIGN.encode()),
            (b"authorization", b"Signed x"),
        ],
    }
    asyncio.run(BrowserPolicy(_app, allowed_origins=_allowed, refuse=_refuse)(scope, receive, send))
    assert sent[0]["status"] == 403


def test_the_instance_itself_is_an_allowed_origin() -> None:
    status, headers = _call("POST", [(b"origin", b"http://api.example")])
    assert status == 200
    assert (b"access-control-allow-origin", b"http://api.example") in headers


def _call_with(app_headers: list[tuple[bytes, bytes]], origin: bytes) -> list[tuple[bytes, bytes]]:
    sent: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": app_headers})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "headers": [(b"host", b"api.example"), (b"origin", origin)],
    }
    asyncio.run(BrowserPolicy(app, allowed_origins=_allowed, refuse=_refuse)(scope, receive, send))
    headers: list[tuple[bytes, bytes]] = sent[0]["headers"]
    return headers


def test_headers_the_application_set_are_replaced_or_joined() -> None:
    app_headers = [
        (b"vary", b"Accept-Encoding"),
        (b"access-control-allow-origin", b"*"),
        (b"x-app", b"1"),
        (b"vary", b"Cookie"),
        (b"access-control-allow-credentials", b"false"),
    ]
    assert _call_with(list(app_headers), ALLOWED.encode()) == [
        (b"vary", b"Accept-Encoding, Cookie, Origin"),
        (b"access-control-allow-origin", ALLOWED.encode()),
        (b"x-app", b"1"),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-expose-headers", b"Retry-After, X-Request-ID"),
    ]
    assert _call_with(list(app_headers), FOREIGN.encode()) == [
        (b"vary", b"Accept-Encoding, Cookie, Origin"),
        (b"access-control-allow-origin", b"*"),
        (b"x-app", b"1"),
        (b"access-control-allow-credentials", b"false"),
    ]


def test_the_application_list_is_copied_not_extended() -> None:
    app_headers = [(b"x-app", b"1")]
    assert _call_with(app_headers, ALLOWED.encode())[0] == (b"x-app", b"1")
    assert _call_with(app_headers, FOREIGN.encode()) == [(b"x-app", b"1"), (b"vary", b"Origin")]
    assert app_headers == [(b"x-app", b"1")]
