"""Rate limits in memory and on a real Redis, shared by workers, and the fallback when Redis
is unreachable.

Redis tests use ``BOXOFFICE_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) and skip
when it does not answer, unless ``BOXOFFICE_REQUIRE_REDIS=1``. Each test counts under its own
key prefix and deletes only its own keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio
import redis.exceptions
from structlog.testing import capture_logs

from boxoffice.domain.errors import RateLimited
from boxoffice.security.ratelimit import (
    LOGIN_PER_IP,
    MAGIC_LINK_PER_ACCOUNT,
    RESET_PER_ACCOUNT,
    SIGNUP_PER_IP,
    RateLimiter,
    validate_rule,
)

REDIS_URL = os.environ.get("BOXOFFICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_REDIS = os.environ.get("BOXOFFICE_REQUIRE_REDIS") == "1"


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def exhaust(limiter: RateLimiter, rule: str, *keys: str, times: int) -> None:
    for _ in range(times):
        await limiter.hit(rule, *keys)


# --- rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule", [SIGNUP_PER_IP, LOGIN_PER_IP, RESET_PER_ACCOUNT, MAGIC_LINK_PER_ACCOUNT]
)
def test_default_rules_are_valid(rule: str) -> None:
    assert validate_rule(rule) == rule


@pytest.mark.parametrize(
    "rule", ["", "ten per minute", "10/fortnight", "10", "0/minute", "1/second;5/minute"]
)
def test_bad_rule_is_a_clear_value_error(rule: str) -> None:
    with pytest.raises(ValueError, match="rate limit rule"):
        validate_rule(rule)


@pytest.mark.parametrize("rule", [None, 10, b"10/minute"])
def test_rule_that_is_not_a_string_is_a_value_error(rule: Any) -> None:
    with pytest.raises(ValueError, match="must be a string"):
        validate_rule(rule)


async def test_hit_validates_rule_and_keys() -> None:
    limiter = RateLimiter.from_url(None)
    with pytest.raises(ValueError, match="rate limit rule"):
        await limiter.hit("lots/minute", "signup", "1.2.3.4")
    with pytest.raises(ValueError, match="at least one key"):
        await limiter.hit("1/minute")
    with pytest.raises(ValueError, match="non-empty"):
        await limiter.hit("1/minute", "signup", "")


def test_bad_redis_url_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Redis URL"):
        RateLimiter.from_url("http://127.0.0.1:6379")


# --- in memory ---------------------------------------------------------------------------


async def test_memory_limits_and_reports_retry_after() -> None:
    limiter = RateLimiter.from_url(None)
    assert not limiter.shared
    await exhaust(limiter, "3/minute", "signup", "203.0.113.7", times=3)
    with pytest.raises(RateLimited) as refused:
        await limiter.hit("3/minute", "signup", "203.0.113.7")
    assert 1 <= refused.value.retry_after <= 60
    assert isinstance(refused.value.retry_after, int)


async def test_memory_test_peeks_without_consuming() -> None:
    limiter = RateLimiter.from_url(None)
    for _ in range(5):
        assert await limiter.test("2/minute", "login", "198.51.100.1")
    await exhaust(limiter, "2/minute", "login", "198.51.100.1", times=2)
    assert not await limiter.test("2/minute", "login", "198.51.100.1")


async def test_memory_refused_hit_consumes_nothing_and_clear_resets() -> None:
    limiter = RateLimiter.from_url(None)
    await exhaust(limiter, "1/minute", "reset", "ada@example.org", times=1)
    for _ in range(3):
        with pytest.raises(RateLimited):
            await limiter.hit("1/minute", "reset", "ada@example.org")
    await limiter.clear("1/minute", "reset", "ada@example.org")
    assert await limiter.test("1/minute", "reset", "ada@example.org")
    await limiter.hit("1/minute", "reset", "ada@example.org")


async def test_memory_keys_and_actions_are_separate_counters() -> None:
    limiter = RateLimiter.from_url(None)
    await limiter.hit(RESET_PER_ACCOUNT, "reset", "ada@example.org")
    await exhaust(limiter, "1/minute", "signup", "a/b", "c", times=1)
    # another IP, another action with the same rule, and keys that only join alike
    await limiter.hit("1/minute", "signup", "a", "b/c")
    await limiter.hit("1/minute", "login", "a/b", "c")
    await limiter.hit("1/minute", "signup", "a/b", "d")
    await exhaust(limiter, MAGIC_LINK_PER_ACCOUNT, "magic-link", "ada@example.org", times=3)
    with pytest.raises(RateLimited):
        await limiter.hit(MAGIC_LINK_PER_ACCOUNT, "magic-link", "ada@example.org")
    await exhaust(limiter, RESET_PER_ACCOUNT, "reset", "ada@example.org", times=2)


async def test_memory_long_keys_are_hashed_but_still_distinct() -> None:
    limiter = RateLimiter.from_url(None)
    long_a = "a" * 500 + "@example.org"
    long_b = "a" * 500 + "@example.com"
    await limiter.hit("1/minute", "reset", long_a)
    await limiter.hit("1/minute", "reset", long_b)
    with pytest.raises(RateLimited):
        await limiter.hit("1/minute", "reset", long_a)


# --- on Redis ----------------------------------------------------------------------------


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own on the test Redis; its keys are deleted afterwards."""
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        try:
            await client.ping()
        except (redis.exceptions.RedisError, OSError) as exc:
            if REQUIRE_REDIS:
                raise
            pytest.skip(f"Redis at {REDIS_URL} unavailable: {type(exc).__name__}")
        prefix = f"boxoffice-test:{uuid.uuid4().hex}"
        yield prefix
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def make_limiter() -> AsyncIterator[Callable[..., RateLimiter]]:
    """Builds limiters and closes them after the test."""
    made: list[RateLimiter] = []

    def make(url: str | None, **options: Any) -> RateLimiter:
        limiter = RateLimiter.from_url(url, **options)
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.aclose()


async def test_redis_limits_and_reports_retry_after(
    redis_prefix: str, make_limiter: Callable[..., RateLimiter]
) -> None:
    limiter = make_limiter(REDIS_URL, key_prefix=redis_prefix)
    assert limiter.shared
    await exhaust(limiter, "3/10 minutes", "signup", "demo", "203.0.113.7", times=3)
    with pytest.raises(RateLimited) as refused:
        await limiter.hit("3/10 minutes", "signup", "demo", "203.0.113.7")
    assert 1 <= refused.value.retry_after <= 600
    assert not limiter.degraded


async def test_two_workers_share_one_count(
    redis_prefix: str, make_limiter: Callable[..., RateLimiter]
) -> None:
    worker_a = make_limiter(REDIS_URL, key_prefix=redis_prefix)
    worker_b = make_limiter(REDIS_URL, key_prefix=redis_prefix)
    await worker_a.hit("3/minute", "login", "198.51.100.9")
    await worker_b.hit("3/minute", "login", "198.51.100.9")
    assert await worker_b.test("3/minute", "login", "198.51.100.9")
    await worker_a.hit("3/minute", "login", "198.51.100.9")
    assert not await worker_a.test("3/minute", "login", "198.51.100.9")
    for worker in (worker_a, worker_b):
        with pytest.raises(RateLimited) as refused:
            await worker.hit("3/minute", "login", "198.51.100.9")
        assert refused.value.retry_after >= 1
    # a clear by one worker frees the other
    await worker_b.clear("3/minute", "login", "198.51.100.9")
    await worker_a.hit("3/minute", "login", "198.51.100.9")


async def test_redis_test_does_not_consume(
    redis_prefix: str, make_limiter: Callable[..., RateLimiter]
) -> None:
    limiter = make_limiter(REDIS_URL, key_prefix=redis_prefix)
    for _ in range(4):
        assert await limiter.test("1/minute", "reset", "ada@example.org")
    await limiter.hit("1/minute", "reset", "ada@example.org")
    assert not await limiter.test("1/minute", "reset", "ada@example.org")


async def test_redis_keys_live_under_the_prefix(
    redis_prefix: str, make_limiter: Callable[..., RateLimiter]
) -> None:
    limiter = make_limiter(REDIS_URL, key_prefix=redis_prefix)
    await limiter.hit("2/minute", "signup", "demo", "2001:db8::1")
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        keys = [key.decode() async for key in client.scan_iter(match=f"{redis_prefix}:*")]
    finally:
        await client.aclose()
    assert len(keys) == 1
    assert "signup/demo/2001%3Adb8%3A%3A1" in keys[0]


async def test_prefixes_do_not_share_counts(
    redis_prefix: str, make_limiter: Callable[..., RateLimiter]
) -> None:
    one = make_limiter(REDIS_URL, key_prefix=f"{redis_prefix}:one")
    two = make_limiter(REDIS_URL, key_prefix=f"{redis_prefix}:two")
    await one.hit("1/minute", "signup", "203.0.113.1")
    await two.hit("1/minute", "signup", "203.0.113.1")


# --- Redis unreachable -------------------------------------------------------------------


async def test_unreachable_redis_falls_back_and_still_limits(
    make_limiter: Callable[..., RateLimiter],
) -> None:
    url = f"redis://:hunter2@127.0.0.1:{unused_port()}/0"
    limiter = make_limiter(url, retry_interval=0)  # try Redis again on every call
    with capture_logs() as logs:
        await exhaust(limiter, "2/minute", "signup", "203.0.113.7", times=2)
        assert limiter.degraded
        with pytest.raises(RateLimited) as refused:
            await limiter.hit("2/minute", "signup", "203.0.113.7")
        assert not await limiter.test("2/minute", "signup", "203.0.113.7")
        await limiter.clear("2/minute", "signup", "203.0.113.7")
        await limiter.hit("2/minute", "signup", "203.0.113.7")
    assert refused.value.retry_after >= 1
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert len(warnings) == 1
    assert warnings[0]["storage"].startswith("redis://127.0.0.1:")
    assert "hunter2" not in repr(logs)


class RedisProxy:
    """A TCP proxy in front of the test Redis that can play an outage."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.up = True
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self.server is not None
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def go_down(self) -> None:
        self.up = False
        await self._drop_all()

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        await self._drop_all()
        await self.server.wait_closed()

    async def _drop_all(self) -> None:
        for writer in list(self.writers):
            writer.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for writer in list(self.writers):
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        self.writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        if not self.up:
            writer.close()
            self.writers.discard(writer)
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers.add(up_writer)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.close()


async def test_limits_are_shared_again_when_redis_comes_back(
    redis_prefix: str, make_limiter: Callable[..., RateLimiter]
) -> None:
    host, port = "127.0.0.1", 6379
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        kwargs = client.connection_pool.connection_kwargs
        host, port = kwargs.get("host", host), int(kwargs.get("port", port))
        db = int(kwargs.get("db", 0))
    finally:
        await client.aclose()
    proxy = RedisProxy(host, port)
    await proxy.start()
    try:
        limiter = make_limiter(
            f"redis://127.0.0.1:{proxy.port}/{db}", key_prefix=redis_prefix, retry_interval=0
        )
        other_worker = make_limiter(REDIS_URL, key_prefix=redis_prefix)
        with capture_logs() as logs:
            await limiter.hit("3/minute", "login", "198.51.100.2")  # shared count 1
            await proxy.go_down()
            await limiter.hit("3/minute", "login", "198.51.100.2")  # counted locally
            assert limiter.degraded
            proxy.up = True
            await limiter.hit("3/minute", "login", "198.51.100.2")  # shared count 2
            assert not limiter.degraded
            await other_worker.hit("3/minute", "login", "198.51.100.2")  # shared count 3
            with pytest.raises(RateLimited):
                await limiter.hit("3/minute", "login", "198.51.100.2")
        levels = [entry["log_level"] for entry in logs]
        assert levels == ["warning", "info"]
    finally:
        await proxy.close()
