"""Request ids, structured access logs and Prometheus metrics, for every dialect.

The access log names a request by its route's template (``/tokens/{token_id}``), never by its
path: paths carry credentials (CareCloud's device tokens) and personal data. A path no route
matched is logged with its long segments and its query values blanked (:func:`redact_target`),
and so is uvicorn's own access log line when it is on (decision 0100).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import MutableMapping
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from boxoffice.api.common.headers import first_values

REQUESTS = Counter(
    "boxoffice_http_requests_total",
    "HTTP requests answered",
    ["dialect", "method", "route", "status"],
)
LATENCY = Histogram(
    "boxoffice_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["dialect", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
log = structlog.get_logger("boxoffice.http")
_SENSITIVE = {"authorization", "cookie", "set-cookie", "password", "secret", "secret_key", "token"}


def _redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key.lower() in _SENSITIVE:
            event[key] = "[redacted]"
    return event


#: A path segment this long is logged as :data:`BLANK`: every credential the application
#: hands out is longer (device tokens 72 characters, session, reset and login tokens 43, API
#: keys 46), and names and the vendors' words are shorter.
SECRET_SEGMENT = 24
BLANK = "…"
_QUERY_VALUE = re.compile(r"=[^&]*")


def route_template(scope: Scope) -> str | None:
    """The template of the route that answered (``/customers/{customer_id}``), if one did."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else None


def redact_path(path: str) -> str:
    """``path`` with every segment that could be a credential or an address blanked: those of
    :data:`SECRET_SEGMENT` characters or more, and those with an ``@``."""
    return "/".join(
        BLANK if len(segment) >= SECRET_SEGMENT or "@" in segment else segment
        for segment in path.split("/")
    )


def redact_target(target: str) -> str:
    """A request target (``path?query``) for a log: :func:`redact_path`, and every query
    value blanked (mailed login and reset links carry their token in the query)."""
    path, question, query = target.partition("?")
    if not question:
        return redact_path(path)
    return f"{redact_path(path)}?{_QUERY_VALUE.sub('=' + BLANK, query)}"


def loggable_path(scope: Scope) -> str:
    """What a log line may say of a request's path: its route's template, or the redacted
    path when no route matched."""
    return route_template(scope) or redact_path(scope.get("path", ""))


class RedactAccessLog(logging.Filter):
    """uvicorn's access log line (``client - "METHOD target HTTP/x" status``) with its
    target redacted (:func:`redact_target`). uvicorn logs the raw target, query included."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_target(args[2]), *args[3:])
        return True


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level.upper())
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactAccessLog) for f in access.filters):
        access.addFilter(RedactAccessLog())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def metrics_payload() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()


class Observe:
    """Wraps a dialect app: request id, one access log line, and metrics per route."""

    def __init__(self, app: ASGIApp, dialect: str) -> None:
        self.app = app
        self.dialect = dialect
        #: The metrics' children per (method, route, status): what ``labels(...)`` finds on
        #: every call, kept here (``labels`` checks and joins the label values each time).
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = first_values(scope, b"x-request-id")[0] or new_request_id()
        if len(request_id) > 64 or not request_id.isascii():
            request_id = new_request_id()
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            template = route_template(scope)
            route = template or "unmatched"
            method = scope["method"]
            requests, latency = self._metrics(method, route, status)
            requests.inc()
            latency.observe(elapsed)
            # The path itself only when no route matched, redacted: paths hold credentials.
            extra = {} if template else {"path": redact_path(scope["path"])}
            _access_log().info(
                "request",
                dialect=self.dialect,
                method=method,
                route=route,
                status=status,
                ms=round(elapsed * 1000, 2),
                request_id=request_id,
                **extra,
            )

    def _metrics(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            if len(self._children) >= _MAX_CHILDREN:  # methods are the client's to invent
                self._children.clear()
            children = (
                REQUESTS.labels(self.dialect, method, route, str(status)),
                LATENCY.labels(self.dialect, route),
            )
            self._children[key] = children
        return children


_MAX_CHILDREN = 1024


def _access_log() -> Any:
    """The access log's logger. ``log`` is structlog's lazy proxy: each call on it assembles,
    or (``cache_logger_on_first_use``) looks up, the bound logger; this asks for it once. The
    same logger, so the same level, processors and line."""
    global _bound_log
    if _bound_log is None:
        _bound_log = log.bind()
    return _bound_log


_bound_log: Any = None

#: Request ids made ahead, 256 per read of the system's random source (``uuid4`` reads it
#: for each): the same form, the hex of a random (version 4) UUID.
_REQUEST_IDS: list[str] = []
_REQUEST_IDS_AT_ONCE = 256


def new_request_id() -> str:
    """A new request id: ``uuid.uuid4().hex``'s form and randomness."""
    try:
        return _REQUEST_IDS.pop()
    except IndexError:
        _REQUEST_IDS.extend(_random_uuid_hexes(_REQUEST_IDS_AT_ONCE))
        return _REQUEST_IDS.pop()


def _random_uuid_hexes(count: int) -> list[str]:
    data = bytearray(os.urandom(16 * count))
    # The version (4) and variant (RFC 4122) bits, as ``uuid.UUID(bytes=..., version=4)``.
    data[6::16] = bytes(b & 0x0F | 0x40 for b in data[6::16])
    data[8::16] = bytes(b & 0x3F | 0x80 for b in data[8::16])
    text = data.hex()
    return [text[i : i + 32] for i in range(0, 32 * count, 32)]


# A forked child must not hand out its parent's ids.
os.register_at_fork(after_in_child=_REQUEST_IDS.clear)
