"""CAPTCHA verification against a real local siteverify server (``http.server`` in a thread).

The server answers by token: ``ok``, ``bad``, ``bad-secret``, ``score-<x>``, ``slow`` (answers
only after the client gave up), ``error500``, ``flaky`` (500, 502, then success), ``garbage``
(not JSON) and ``notfound`` (404). It records every request it receives.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, get_args
from urllib.parse import parse_qs

import httpx
import pytest
from structlog.testing import capture_logs

from boxoffice.domain.errors import InvalidInput
from boxoffice.security.captcha import (
    DEFAULT_VERIFY_URLS,
    CaptchaConfig,
    CaptchaProvider,
    verify_captcha,
)

SECRET = "0x4AAAAAAA-test-secret-never-logged"
PROVIDERS: tuple[CaptchaProvider, ...] = get_args(CaptchaProvider)
#: Seconds per attempt where the verifier answers: a minute, however busy the machine.
ANSWERS = 60.0
#: Seconds per attempt in the tests of a verifier that never answers in time ("slow" holds the
#: request until the test ends; nothing listens on an unused port): small, so they stay short.
FAST = 0.2
#: How long "slow" holds a request at most (released when the test ends).
HANG_GUARD = 300.0


@dataclass
class Received:
    path: str
    content_type: str
    fields: dict[str, list[str]]


@dataclass
class Verifier:
    base_url: str
    requests: list[Received] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def config(self, provider: CaptchaProvider = "turnstile", **options: Any) -> CaptchaConfig:
        options.setdefault("timeout_seconds", ANSWERS)
        return CaptchaConfig(
            provider=provider,
            secret=SECRET,
            verify_url=f"{self.base_url}/{provider}/siteverify",
            **options,
        )

    def seen(self, token: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.fields.get("response") == [token]]


def _handler(verifier: Verifier) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            fields = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
            received = Received(self.path, self.headers.get("Content-Type", ""), fields)
            with verifier.lock:
                verifier.requests.append(received)
            token = fields.get("response", [""])[0]
            attempt = len(verifier.seen(token))
            if token == "slow":
                verifier.stop.wait(HANG_GUARD)
                self._json(200, {"success": True})
            elif token == "error500":
                self._json(500, {"error": "internal"})
            elif token == "flaky":
                if attempt < 3:
                    self._json(500 if attempt == 1 else 502, {"error": "upstream"})
                else:
                    self._json(200, {"success": True})
            elif token == "bad":
                self._json(200, {"success": False, "error-codes": ["invalid-input-response"]})
            elif token == "bad-secret":
                self._json(200, {"success": False, "error-codes": ["invalid-input-secret"]})
            elif token.startswith("score-"):
                self._json(200, {"success": True, "score": float(token.removeprefix("score-"))})
            elif token == "garbage":
                self._send(200, "text/html", b"<html>maintenance</html>")
            elif token == "notfound":
                self._send(404, "text/plain", b"not found")
            elif token == "ok":
                self._json(200, {"success": True, "hostname": "venue.example"})
            else:
                self._json(200, {"success": False, "error-codes": ["invalid-input-response"]})

        def _json(self, status: int, body: dict[str, Any]) -> None:
            self._send(status, "application/json", json.dumps(body).encode())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the client gave up (the "slow" token)
                pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@pytest.fixture
def verifier() -> Iterator[Verifier]:
    holder = Verifier(base_url="")
    server = _Server(("127.0.0.1", 0), _handler(holder))
    holder.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield holder
    finally:
        holder.stop.set()
        server.shutdown()
        server.server_close()
        thread.join()


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def refused_with(reason: str, config: CaptchaConfig, token: str | None, **kw: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        await verify_captcha(config, token, kw.pop("remote_ip", "203.0.113.7"), **kw)
    assert refused.value.field == "captcha"
    assert refused.value.reason == reason


# --- the wire ----------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_each_provider_posts_secret_response_and_remoteip(
    verifier: Verifier, provider: CaptchaProvider
) -> None:
    await verify_captcha(verifier.config(provider), "ok", "203.0.113.7")
    [received] = verifier.requests
    assert received.path == f"/{provider}/siteverify"
    assert received.content_type == "application/x-www-form-urlencoded"
    assert received.fields["secret"] == [SECRET]
    assert received.fields["response"] == ["ok"]
    assert received.fields["remoteip"] == ["203.0.113.7"]
    if provider == "turnstile":
        assert uuid.UUID(received.fields["idempotency_key"][0])
        assert set(received.fields) == {"secret", "response", "remoteip", "idempotency_key"}
    else:
        assert set(received.fields) == {"secret", "response", "remoteip"}


async def test_hcaptcha_receives_the_site_key(verifier: Verifier) -> None:
    await verify_captcha(verifier.config("hcaptcha", site_key="10000000-ffff"), "ok", None)
    await verify_captcha(
        verifier.config("turnstile", site_key="1x00000000000000000000AA"), "ok", None
    )
    hcaptcha, turnstile = verifier.requests
    assert hcaptcha.fields["sitekey"] == ["10000000-ffff"]
    assert "sitekey" not in turnstile.fields


async def test_remoteip_is_left_out_when_unknown(verifier: Verifier) -> None:
    await verify_captcha(verifier.config("hcaptcha"), "ok", None)
    [received] = verifier.requests
    assert "remoteip" not in received.fields


async def test_a_shared_client_is_used_and_left_open(verifier: Verifier) -> None:
    async with httpx.AsyncClient() as client:
        await verify_captcha(verifier.config("recaptcha"), "ok", "2001:db8::1", client=client)
        await verify_captcha(verifier.config("turnstile"), "ok", "2001:db8::1", client=client)
        assert not client.is_closed
    assert len(verifier.requests) == 2


# --- outcomes ----------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "   "])
async def test_missing_token_is_required_and_asks_nobody(
    verifier: Verifier, token: str | None
) -> None:
    await refused_with("required", verifier.config(), token)
    assert verifier.requests == []


async def test_oversized_token_fails_without_asking(verifier: Verifier) -> None:
    await refused_with("verification failed", verifier.config(), "x" * 10_000)
    assert verifier.requests == []


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_rejected_token_fails_verification(
    verifier: Verifier, provider: CaptchaProvider
) -> None:
    await refused_with("verification failed", verifier.config(provider), "bad")
    assert len(verifier.seen("bad")) == 1  # a refusal is an answer: no retry


async def test_5xx_is_retried_twice_then_could_not_be_verified(verifier: Verifier) -> None:
    await refused_with("could not be verified; try again", verifier.config(), "error500")
    assert len(verifier.seen("error500")) == 3


async def test_retries_recover_and_reuse_the_idempotency_key(verifier: Verifier) -> None:
    await verify_captcha(verifier.config("turnstile"), "flaky", "203.0.113.7")
    attempts = verifier.seen("flaky")
    assert len(attempts) == 3
    assert len({tuple(a.fields["idempotency_key"]) for a in attempts}) == 1


async def test_slow_verifier_times_out_and_is_retried(verifier: Verifier) -> None:
    config = verifier.config(timeout_seconds=FAST)
    await refused_with("could not be verified; try again", config, "slow")
    assert len(verifier.seen("slow")) == 3


async def test_unreachable_verifier_could_not_be_verified() -> None:
    config = CaptchaConfig(
        provider="hcaptcha",
        secret=SECRET,
        verify_url=f"http://127.0.0.1:{unused_port()}/siteverify",
        timeout_seconds=FAST,
    )
    await refused_with("could not be verified; try again", config, "ok")


@pytest.mark.parametrize("token", ["garbage", "notfound"])
async def test_nonsense_answer_could_not_be_verified(verifier: Verifier, token: str) -> None:
    await refused_with("could not be verified; try again", verifier.config(), token)
    assert len(verifier.seen(token)) == 1


async def test_our_own_bad_secret_is_not_blamed_on_the_visitor(verifier: Verifier) -> None:
    with capture_logs() as logs:
        await refused_with("could not be verified; try again", verifier.config(), "bad-secret")
    assert [entry["log_level"] for entry in logs] == ["error"]


async def test_recaptcha_score_is_checked_against_min_score(verifier: Verifier) -> None:
    strict = verifier.config("recaptcha", min_score=0.5)
    await verify_captcha(strict, "score-0.9", "203.0.113.7")
    await verify_captcha(strict, "score-0.5", "203.0.113.7")
    await refused_with("verification failed", strict, "score-0.3")
    await refused_with("verification failed", strict, "ok")  # no score at all
    await verify_captcha(verifier.config("recaptcha"), "score-0.1", "203.0.113.7")


async def test_logs_never_hold_the_secret_or_the_token(verifier: Verifier) -> None:
    with capture_logs() as logs:
        for token in ("bad", "error500", "garbage", "bad-secret", "x" * 9000):
            with pytest.raises(InvalidInput):
                await verify_captcha(verifier.config(), token, "203.0.113.7")
    assert logs
    text = repr(logs)
    assert SECRET not in text
    assert "xxxxxxxx" not in text
    assert "'bad'" not in text


# --- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_default_endpoints(provider: CaptchaProvider) -> None:
    config = CaptchaConfig(provider=provider, secret=SECRET)
    assert config.endpoint == DEFAULT_VERIFY_URLS[provider]
    assert config.endpoint.startswith("https://")
    assert config.timeout_seconds == 5.0


def test_defaults_are_the_vendors_siteverify_urls() -> None:
    assert DEFAULT_VERIFY_URLS == {
        "turnstile": "https://challenges.cloudflare.com/turnstile/v0/siteverify",
        "hcaptcha": "https://api.hcaptcha.com/siteverify",
        "recaptcha": "https://www.google.com/recaptcha/api/siteverify",
    }


def test_repr_hides_the_secret() -> None:
    assert SECRET not in repr(CaptchaConfig(provider="turnstile", secret=SECRET))


def test_from_mapping() -> None:
    config = CaptchaConfig.from_mapping(
        {
            "provider": "recaptcha",
            "secret": SECRET,
            "verify_url": "https://proxy.example/siteverify",
            "min_score": "0.5",
            "timeout_seconds": 2,
            "site_key": "6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI",
        }
    )
    assert config == CaptchaConfig(
        provider="recaptcha",
        secret=SECRET,
        verify_url="https://proxy.example/siteverify",
        min_score=0.5,
        timeout_seconds=2.0,
        site_key="6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI",
    )
    assert CaptchaConfig.from_mapping({"provider": "hcaptcha", "secret": "s"}).verify_url is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"provider": "turnstile", "secret": "s", "min_scroe": 0.5}, "unknown"),
        ({"provider": "turnstile", "secret": "s", "site_key": 5}, "site_key"),
        ({"secret": "s"}, "needs 'provider'"),
        ({"provider": "turnstile"}, "needs 'secret'"),
        ({"provider": "friendlycaptcha", "secret": "s"}, "provider must be one of"),
        ({"provider": "turnstile", "secret": ""}, "secret"),
        ({"provider": "turnstile", "secret": 123}, "secret"),
        ({"provider": "turnstile", "secret": "s", "verify_url": "ftp://x/y"}, "verify_url"),
        ({"provider": "turnstile", "secret": "s", "verify_url": "siteverify"}, "verify_url"),
        ({"provider": "turnstile", "secret": "s", "verify_url": 5}, "verify_url"),
        ({"provider": "turnstile", "secret": "s", "min_score": 0.5}, "recaptcha"),
        ({"provider": "recaptcha", "secret": "s", "min_score": 1.5}, "min_score"),
        ({"provider": "recaptcha", "secret": "s", "min_score": "high"}, "min_score"),
        ({"provider": "turnstile", "secret": "s", "timeout_seconds": 0}, "timeout_seconds"),
        ({"provider": "turnstile", "secret": "s", "timeout_seconds": True}, "timeout_seconds"),
        ({"provider": "turnstile", "secret": "s", "timeout_seconds": "nan"}, "timeout_seconds"),
    ],
)
def test_from_mapping_refuses_bad_input(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CaptchaConfig.from_mapping(data)


def test_from_mapping_needs_a_mapping() -> None:
    with pytest.raises(ValueError, match="mapping"):
        CaptchaConfig.from_mapping(["turnstile"])  # type: ignore[arg-type]
