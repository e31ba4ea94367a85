"""Shared helpers for the CareCloud contract tests (no fixtures here)."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import orjson

BASE = "webservice/rest-api/customer-interface/v1.0"
LEGACY_BASE = "rest-api/customer-interface/v1.0"
PASSWORD = "Sup3rSecret!"


def unique(prefix: str = "x") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def unique_email(prefix: str = "happy") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}@example.org"


def basic(user: str, token: str = "") -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{token}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "device": {
            "device_id": unique("device"),
            "device_system": "OSX",
            "device_name": "Test device",
            "device_type": "iPhone",
        },
        "setup": {"language_id": "en", "allowed_gps": True, "allowed_notifications": False},
        "external_application_id": "82de12eb8b138791e678fd11c3",
    }
    body.update(overrides)
    return body


class Api:
    """A CareCloud client for one tenant; ``token`` is sent as Bearer unless told otherwise."""

    def __init__(self, client: httpx.AsyncClient, tenant: str, base: str = BASE) -> None:
        self.client = client
        self.tenant = tenant
        self.base = base
        self.token: str | None = None

    def url(self, path: str) -> str:
        return f"/{self.tenant}/{self.base}/{path.lstrip('/')}"

    async def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        token: str | None = None,
        params: Any = None,
    ) -> httpx.Response:
        sent = {"Content-Type": "application/json"}
        use = token if token is not None else self.token
        if use:
            sent.update(bearer(use))
        sent.update(headers or {})
        content = raw if raw is not None else (orjson.dumps(json) if json is not None else None)
        return await self.client.request(
            method, self.url(path), content=content, headers=sent, params=params
        )

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.request("POST", path, json, **kw)

    async def put(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.request("PUT", path, json, **kw)

    async def delete(self, path: str, **kw: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kw)

    async def new_token(self, **body: Any) -> str:
        response = await self.client.post(self.url("tokens"), json=token_body(**body), headers={})
        assert response.status_code == 201, response.text
        token: str = response.json()["data"]["token_id"]
        return token

    async def ids(self, path: str, plural: str, key: str, name: str = "name") -> dict[str, str]:
        response = await self.get(path)
        assert response.status_code == 200, response.text
        return {item[name]: item[key] for item in response.json()["data"][plural]}

    async def register(self, **fields: Any) -> str:
        """Register a customer (nested body); returns its id."""
        response = await self.post("customers", await self.customer_body(**fields))
        assert response.status_code == 201, response.text
        customer_id: str = response.json()["data"]["customer_id"]
        return customer_id

    async def customer_body(
        self, *, autologin: bool = False, password: str | None = PASSWORD, **info: Any
    ) -> dict[str, Any]:
        sources = await self.ids("customer-sources", "customer_sources", "customer_source_id")
        personal: dict[str, Any] = {
            "gender": 1,
            "first_name": "John",
            "last_name": "Smith",
            "email": unique_email(),
            "language_id": "en",
        }
        personal.update(info)
        body: dict[str, Any] = {
            "customer": {"personal_information": personal},
            "customer_source": {"customer_source_id": sources["Website"]},
            "autologin": autologin,
        }
        if password is not None:
            body["password"] = password
        return body

    async def logged_in(self, **fields: Any) -> str:
        """A fresh token with a newly registered customer logged in (autologin)."""
        self.token = await self.new_token()
        return await self.register(autologin=True, **fields)


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The vendor's error body, checked for its required keys."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()["error"]
    assert set(body) >= {"type", "exception", "title", "detail"}, body
    return body


def reasons(response: httpx.Response) -> dict[str, str]:
    body = error_of(response, 400)
    return {p["name"]: p["reason"] for p in body["error_data"]["invalid_params"]}
