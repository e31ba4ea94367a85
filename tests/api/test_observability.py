"""``Observe``: the request id, the metrics per route and the access log line, for any dialect."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import structlog
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from boxoffice.api.common import observability
from boxoffice.api.common.observability import Observe, configure_logging, new_request_id


class _Route:
    path = "/{client}/things/{id}"


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["path"] != "/nowhere":
        scope["route"] = _Route()
    status = 404 if scope["path"] == "/nowhere" else 201
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"x/y")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


def _call(
    path: str = "/t/things/1", headers: list[tuple[bytes, bytes]] | None = None, method: str = "GET"
) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    scope = {"type": "http", "method": method, "path": path, "headers": headers or []}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(Observe(_app, "testing")(scope, receive, send))
    return sent


def _request_id(sent: list[dict[str, Any]]) -> str:
    headers = sent[0]["headers"]
    assert headers[:-1] == [(b"content-type", b"x/y")]  # appended last, the rest unchanged
    name, value = headers[-1]
    assert name == b"x-request-id"
    return str(value.decode())


def _is_uuid4_hex(text: str) -> bool:
    parsed = uuid.UUID(hex=text)
    return parsed.hex == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_new_request_ids_have_uuid4s_form_and_do_not_repeat() -> None:
    ids = [new_request_id() for _ in range(1000)]  # several refills
    assert all(_is_uuid4_hex(i) for i in ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        (b"abc-123", True),
        (b"x" * 64, True),
        (b"x" * 65, False),
        ("caf\u00e9".encode("latin-1"), False),
        (b"", False),
    ],
)
def test_a_request_id_is_kept_when_short_and_ascii(sent: bytes, kept: bool) -> None:
    answered = _request_id(_call(headers=[(b"x-request-id", sent)]))
    if kept:
        assert answered == sent.decode()
    else:
        assert _is_uuid4_hex(answered)


def test_without_a_request_id_each_answer_gets_a_new_one() -> None:
    first, second = _request_id(_call()), _request_id(_call())
    assert _is_uuid4_hex(first) and _is_uuid4_hex(second) and first != second


def _count(method: str, route: str, status: str) -> float:
    labels = {"dialect": "testing", "method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("boxoffice_http_requests_total", labels) or 0.0


def _latency_count(route: str) -> float:
    labels = {"dialect": "testing", "route": route}
    return REGISTRY.get_sample_value("boxoffice_http_request_duration_seconds_count", labels) or 0.0


def test_every_answer_is_counted_by_method_route_and_status() -> None:
    route = _Route.path

    def counts() -> tuple[float, ...]:
        return (
            _count("GET", route, "201"),
            _count("POST", route, "201"),
            _count("GET", "unmatched", "404"),
            _latency_count(route),
            _latency_count("unmatched"),
        )

    before = counts()
    for _ in range(3):
        _call()
    _call(method="POST")
    _call("/nowhere")
    after = counts()
    assert [a - b for a, b in zip(after, before, strict=True)] == [3, 1, 1, 4, 1]


def test_the_access_log_line(monkeypatch: pytest.MonkeyPatch) -> None:
    configure_logging("INFO")
    monkeypatch.setattr(observability, "log", structlog.get_logger("boxoffice.http"))
    monkeypatch.setattr(observability, "_bound_log", None)
    with capture_logs() as logs:
        _call(headers=[(b"x-request-id", b"rid-1")])
    assert len(logs) == 1
    line = logs[0]
    assert isinstance(line.pop("ms"), float)
    assert line == {
        "event": "request",
        "dialect": "testing",
        "method": "GET",
        "route": _Route.path,
        "status": 201,
        "request_id": "rid-1",
        "log_level": "info",
    }


def test_the_access_log_names_the_route_never_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A matched request: its route's template only (the path of ``/tokens/{token_id}`` is the
    token). An unmatched one: its path, with every segment long enough to be a credential, or
    holding an ``@``, blanked."""
    configure_logging("INFO")
    monkeypatch.setattr(observability, "log", structlog.get_logger("boxoffice.http"))
    monkeypatch.setattr(observability, "_bound_log", None)
    token = "ab12" * 18
    with capture_logs() as logs:
        _call(f"/t/things/{token}")
        _call("/nowhere")
    assert token not in str(logs)
    assert logs[0]["route"] == _Route.path and "path" not in logs[0]
    assert logs[1]["route"] == "unmatched" and logs[1]["path"] == "/nowhere"


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        ("/venue/api/v3/customers/I-AK11-1ATK", "/venue/api/v3/customers/I-AK11-1ATK"),
        (
            "/venue/rest-api/customer-interface/v1.0/tokens/" + "0f" * 36 + "/actions/login",
            "/venue/rest-api/customer-interface/v1.0/tokens/…/actions/login",
        ),
        ("/venue/api/v3/customers/ada@example.org", "/venue/api/v3/customers/…"),
        (
            "/venue/website/secure/setpassword.aspx?token=s3cret&lang=en&flag",
            "/venue/website/secure/setpassword.aspx?token=…&lang=…&flag",
        ),
    ],
)
def test_redact_target(target: str, logged: str) -> None:
    assert observability.redact_target(target) == logged


def test_uvicorns_access_log_line_is_redacted() -> None:
    """uvicorn's access logger, when on, logs the raw target, query included: the filter that
    ``configure_logging`` puts on it blanks what could be a credential."""
    import logging

    configure_logging("INFO")
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        (
            "127.0.0.1:5000",
            "GET",
            "/v/website/secure/loginlogout.aspx?MagicToken=" + "x" * 43,
            "1.1",
            200,
        ),
        None,
    )
    logger = logging.getLogger("uvicorn.access")
    assert all(f.filter(record) for f in logger.filters)
    assert "x" * 43 not in record.getMessage()
    assert record.getMessage().endswith('loginlogout.aspx?MagicToken=… HTTP/1.1" 200')
