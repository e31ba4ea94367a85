"""Helpers for the brand/channel contract tests (no fixtures here)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import orjson

from boxoffice.bootstrap import Core
from boxoffice.services import catalogue as catalogue_service

ENCODINGS = ("multipart", "urlencoded", "json")
CUSTOMER_KEYS = [
    "id",
    "external_primary_id",
    "brand_id",
    "brand_name",
    "firstname",
    "lastname",
    "channels",
]
ENVELOPE_KEYS = ["type", "itemStart", "itemTotal", "itemLimit", "items"]
TIMELINE_KEYS = ["id", "kind", "created_at", "initiated_by", "message", "source_url"]
UNAUTHORIZED = {"message": "A valid apiKey header is required.", "type": "error"}
#: The brands of a brand/channel test tenant: the demo one, and one searched by channels.
BRANDS = [
    {"id": 1, "name": "Demo Theatre"},
    {"id": 2, "name": "Studio", "search_by_channels": True},
]


def unique(prefix: str = "C") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def unique_email(prefix: str = "jana") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}@example.org"


def unique_phone() -> str:
    return "+420" + str(uuid.uuid4().int)[:9]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Api:
    """Calls ``/api/v2/`` (or ``/{tenant}/api/v2/``) with an ``apiKey``, in one encoding."""

    def __init__(self, http: httpx.AsyncClient, key: str | None, *, tenant: str | None = None):
        self.http = http
        self.key = key
        self.prefix = f"/{tenant}/api/v2" if tenant else "/api/v2"

    def with_key(self, key: str | None) -> Api:
        other = Api(self.http, key)
        other.prefix = self.prefix
        return other

    def url(self, path: str) -> str:
        return f"{self.prefix}/{path.lstrip('/')}"

    async def request(
        self,
        method: str,
        path: str,
        fields: dict[str, Any] | None = None,
        *,
        encoding: str = "json",
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        headers = {"apiKey": self.key} if self.key is not None else {}
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if fields is not None:
            if encoding == "json":
                kwargs["content"] = orjson.dumps(fields)
                headers["Content-Type"] = "application/json"
            elif encoding == "urlencoded":
                kwargs["content"] = urlencode({k: _text(v) for k, v in fields.items()})
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            elif encoding == "multipart":
                # (None, value): a plain form field, no file name.
                kwargs["files"] = [(k, (None, _text(v))) for k, v in fields.items()]
            else:
                raise ValueError(encoding)
        return await self.http.request(method, self.url(path), **kwargs)

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.request("GET", path, params=params or None)

    async def post(
        self, path: str, fields: dict[str, Any], encoding: str = "json"
    ) -> httpx.Response:
        return await self.request("POST", path, fields, encoding=encoding)

    async def put(
        self, path: str, fields: dict[str, Any], encoding: str = "json"
    ) -> httpx.Response:
        return await self.request("PUT", path, fields, encoding=encoding)

    async def delete(
        self, path: str, fields: dict[str, Any] | None = None, encoding: str = "json", **params: Any
    ) -> httpx.Response:
        return await self.request("DELETE", path, fields, encoding=encoding, params=params or None)

    async def create(self, encoding: str = "json", **fields: Any) -> int:
        """Create a customer with POST index; return its id (asserting success)."""
        response = await self.post("customer", fields, encoding)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["message"] == "Customer created." and body["type"] == "result"
        customer_id: int = body["id"]
        return customer_id

    async def customer(self, customer_id: int) -> dict[str, Any]:
        response = await self.get(f"customer/{customer_id}")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data


def assert_result(response: httpx.Response, message: str) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body: dict[str, Any] = response.json()
    assert list(body)[:2] == ["message", "type"]
    assert body["message"] == message and body["type"] == "result"
    return body


def assert_error(response: httpx.Response, status: int, *fragments: str) -> dict[str, Any]:
    """``{"message": ..., "type": "error"}`` with a message naming every fragment."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body: dict[str, Any] = response.json()
    assert list(body) == ["message", "type"] and body["type"] == "error", body
    for fragment in fragments:
        assert fragment.lower() in body["message"].lower(), body
    return body


def channels_of(customer: dict[str, Any]) -> set[tuple[str, str]]:
    return {(ch["type"], ch["value"]) for ch in customer["channels"]}


async def configure(core: Core, tenant: str, **doc: Any) -> None:
    """Load a partial catalogue (brands, settings...) into the tenant."""
    await catalogue_service.load_catalogue(core, tenant, doc)


# --- a CRM on 127.0.0.1 ---------------------------------------------------------------------


#: How long a hanging CRM holds a request at most (it is released when the test ends).
HANG_GUARD = 300.0


@dataclass
class Answer:
    """What the CRM does with one request: answer (status, JSON), hang, or drop the line."""

    status: int = 200
    body: Any = None
    hang: bool = False
    drop: bool = False


@dataclass
class CrmServer:
    url: str = ""
    #: Answers for the next requests, in order; then ``default``.
    script: list[Answer] = field(default_factory=list)
    default: Answer = field(default_factory=lambda: Answer(404))
    requests: list[dict[str, str]] = field(default_factory=list)
    #: Called (in the server's thread) when a request arrives.
    on_request: Callable[[], None] | None = None
    release: threading.Event = field(default_factory=threading.Event)

    def answer(self) -> Answer:
        return self.script.pop(0) if self.script else self.default


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        crm = self.server.crm
        crm.requests.append(
            {"path": urlsplit(self.path).path, **dict(parse_qsl(urlsplit(self.path).query))}
            | {"accept": self.headers.get("Accept", "")}
        )
        if crm.on_request is not None:
            crm.on_request()
        answer = crm.answer()
        try:
            if answer.hang:
                # Until the test ends (never within a client's timeout, however slow the
                # machine); the bound only guards against a test that forgets to end.
                crm.release.wait(HANG_GUARD)
            if answer.drop:
                self.close_connection = True
                return
            payload = b"" if answer.body is None else orjson.dumps(answer.body)
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout): nothing to answer

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    crm: CrmServer


class RunningCrm:
    def __init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.crm = CrmServer()
        host, port = self.server.server_address[:2]
        self.server.crm.url = f"http://{host!s}:{port}/lookup"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> CrmServer:
        self.thread.start()
        return self.server.crm

    def __exit__(self, *exc: object) -> None:
        self.server.crm.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
