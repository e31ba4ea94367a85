"""Web mode against the real server: a venue website's browser, real SMTP, Redis shared by workers."""

from __future__ import annotations

import email
import os
import re
import threading
import uuid
from collections.abc import Iterator
from email.message import Message

import httpx
import pytest
import redis
from aiosmtpd.controller import Controller

from tests.e2e.conftest import (
    HTTP_TIMEOUT,
    LiveServer,
    clean_env,
    free_port,
    make_live_tenant,
    run_server,
)

pytestmark = pytest.mark.e2e
SITE = "http://localhost:8080"
FOREIGN = "https://evil.example"
REDIS_URL = os.environ.get("BOXOFFICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "Correct horse battery 1"


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        message = email.message_from_bytes(envelope.content)  # type: ignore[attr-defined]
        with self.arrived:
            self.messages.append(message)
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = HTTP_TIMEOUT) -> list[Message]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
            return list(self.messages)


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[str, _Inbox]]:
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{controller.port}", inbox
    finally:
        controller.stop()


def _redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("BOXOFFICE_REQUIRE_REDIS") == "1":
            raise
        pytest.skip(f"Redis not reachable: {exc}")


@pytest.fixture(scope="module")
def web_server(
    database_url: str, smtp: tuple[str, _Inbox], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Two workers sharing sessions and rate limits through Redis, mailing through SMTP."""
    _redis_or_skip()
    env = {
        **clean_env(database_url),
        "BOXOFFICE_REDIS_URL": REDIS_URL,
        "BOXOFFICE_SMTP_URL": smtp[0],
    }
    with run_server(env, tmp_path_factory.mktemp("web"), workers=2) as server:
        yield server


def _client(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=HTTP_TIMEOUT, trust_env=False)


def _link(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True).decode()  # type: ignore[union-attr]
            match = re.search(r"https?://\S+", text)
            assert match
            return match.group(0)
    raise AssertionError("no text part")


def test_a_browser_on_the_venue_site(web_server: LiveServer) -> None:
    tenant = make_live_tenant(web_server)
    api = f"/{tenant.name}/api/v3"
    with _client(web_server) as browser:
        preflight = browser.options(
            f"{api}/customer",
            headers={
                "Origin": SITE,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == SITE
        assert preflight.headers["access-control-allow-credentials"] == "true"
        foreign = browser.options(
            f"{api}/customer", headers={"Origin": FOREIGN, "Access-Control-Request-Method": "POST"}
        )
        assert "access-control-allow-origin" not in foreign.headers

        email_address = f"web-{uuid.uuid4().hex[:8]}@example.org"
        signed_up = browser.post(
            f"{api}/customer",
            json={
                "firstName": "Ada",
                "lastName": "Lovelace",
                "email": email_address,
                "password": PASSWORD,
            },
            headers={"Origin": SITE},
        )
        assert signed_up.status_code == 201, signed_up.text
        assert "HttpOnly" in signed_up.headers["set-cookie"]
        # Logged in on both workers: the session lives in Redis.
        for _ in range(4):
            me = browser.get(f"{api}/customer", headers={"Origin": SITE, "Connection": "close"})
            assert me.status_code == 200 and me.json()["email"] == email_address
            assert me.headers["access-control-allow-origin"] == SITE
        hijack = browser.patch(
            f"{api}/customer", json={"firstName": "Mallory"}, headers={"Origin": FOREIGN}
        )
        assert hijack.status_code == 403
        assert browser.get(f"{api}/customer").json()["firstName"] == "Ada"
        out = browser.post(f"{api}/customer/deauthenticate", headers={"Origin": SITE})
        assert out.status_code == 204
        assert browser.get(f"{api}/customer").status_code == 401


def test_password_reset_through_real_smtp(web_server: LiveServer, smtp: tuple[str, _Inbox]) -> None:
    tenant = make_live_tenant(web_server)
    api = f"/{tenant.name}/api/v3"
    inbox = smtp[1]
    before = len(inbox.messages)
    address = f"reset-{uuid.uuid4().hex[:8]}@example.org"
    with _client(web_server) as browser:
        body = {"firstName": "Ada", "lastName": "L", "email": address, "password": PASSWORD}
        assert browser.post(f"{api}/customer", json=body).status_code == 201
        browser.cookies.clear()
        sent = browser.post(f"{api}/customer/forgot-password", params={"emailAddress": address})
        assert sent.status_code == 204, sent.text
        message = [m for m in inbox.wait_for(before + 1) if m["To"] == address][-1]
        link = _link(message)
        assert link.startswith(
            f"{web_server.base_url}/{tenant.name}/website/Secure/SetPassword.aspx?token="
        )
        page = browser.get(link)
        assert page.status_code == 200
        token = link.split("token=", 1)[1]
        done = browser.post(
            link.split("?")[0],
            data={"token": token, "password": "A new secret 1", "confirm": "A new secret 1"},
        )
        assert done.status_code == 200 and "has been set" in done.text
        old = browser.post(
            f"{api}/customer/authenticate", json={"email": address, "password": PASSWORD}
        )
        assert old.status_code == 404
        new = browser.post(
            f"{api}/customer/authenticate", json={"email": address, "password": "A new secret 1"}
        )
        assert new.status_code == 200


def test_rate_limits_are_shared_by_the_workers(web_server: LiveServer) -> None:
    tenant = make_live_tenant(web_server)
    url = f"{web_server.base_url}/{tenant.name}/api/v3/customer"
    statuses = []
    for i in range(14):
        # A new connection each time, so the two workers both take requests.
        with httpx.Client(timeout=HTTP_TIMEOUT, trust_env=False) as client:
            response = client.post(
                url,
                json={
                    "firstName": "A",
                    "lastName": "B",
                    "email": f"rl{i}-{uuid.uuid4().hex[:6]}@example.org",
                },
            )
            statuses.append(response.status_code)
    assert statuses.count(201) == 10, statuses
    assert statuses.count(429) == 4, statuses
    keys = redis.Redis.from_url(REDIS_URL).keys("boxoffice:ratelimit*")
    assert any(tenant.name.encode() in k for k in keys)
