"""Rate limits for bot management: per IP and per account, on sign-up, login and account mail.

Rules are strings in the ``limits`` notation (``"10/10 minutes"``, ``"20/minute"``), checked
with :func:`validate_rule`. A limiter counts with the **moving window** strategy: it remembers
the time of each hit in the window, so it never allows a burst at a window boundary (as a
fixed window would) and it can tell exactly when the next unit frees, which becomes the
``retry_after`` of :class:`~boxoffice.domain.errors.RateLimited`. Our rules are small (a few
dozen hits), so keeping one timestamp per hit is cheap.

Storage: in process memory when no Redis URL is configured (one worker), else Redis, so every
worker process and every host counts together. Keys live under one prefix
(``boxoffice:ratelimit:`` by default); each key part is percent-encoded (long parts are
hashed), so ``("a/b", "c")`` and ``("a", "b/c")`` never share a counter.

The first key should name the action (``"signup"``, ``"login"``, ``"reset"``...): the rule is
part of the counter's name, but two actions with the same rule (``RESET_PER_ACCOUNT`` and
``MAGIC_LINK_PER_ACCOUNT``) must not share a budget. Callers normalise what they pass (e.g.
the account's email, lower-cased).

When Redis is unreachable
-------------------------
Failing open (no limits) would let a sign-up flood through exactly when the system is under
stress; failing closed (refuse everything) would turn a Redis outage into a full outage of
sign-up and login. We do neither: the limiter falls back to an **in-process memory limiter**,
so each worker still enforces the rules on its own (an attacker gains at most one budget per
worker process while Redis is down), and logs one warning per outage on the
``boxoffice.ratelimit`` logger (never the Redis password). While degraded it retries Redis
every ``retry_interval`` seconds (30 by default) and logs once more when Redis is back; the
shared counts then apply again. Redis calls have short socket timeouts, so an unreachable host
costs at most about a second per retry interval, not per request.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import quote, urlsplit

import structlog
from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.util import parse_many

from boxoffice.domain.errors import RateLimited

if TYPE_CHECKING:
    from redis.asyncio import ConnectionPool

__all__ = [
    "BASKET_WRITES_PER_IP",
    "DEFAULT_KEY_PREFIX",
    "LOGIN_PER_IP",
    "MAGIC_LINK_PER_ACCOUNT",
    "NEWSLETTER_PER_ADDRESS",
    "NEWSLETTER_PER_IP",
    "REDIS_RETRY_INTERVAL_SECONDS",
    "RESET_PER_ACCOUNT",
    "SIGNUP_PER_IP",
    "RateLimiter",
    "validate_rule",
]

SIGNUP_PER_IP: Final = "10/10 minutes"
LOGIN_PER_IP: Final = "20/minute"
RESET_PER_ACCOUNT: Final = "3/10 minutes"
MAGIC_LINK_PER_ACCOUNT: Final = "3/10 minutes"
NEWSLETTER_PER_IP: Final = "10/10 minutes"
#: Web-mode basket writes (adds, changes, removals) from one address: a buyer makes a few a
#: minute; a script holding every seat of a show makes hundreds.
BASKET_WRITES_PER_IP: Final = "120/minute"
#: Confirmation mails to one address (nobody's inbox is flooded by strangers' sign-ups).
NEWSLETTER_PER_ADDRESS: Final = "3/hour"

DEFAULT_KEY_PREFIX: Final = "boxoffice:ratelimit"
REDIS_RETRY_INTERVAL_SECONDS: Final = 30.0
REDIS_TIMEOUT_SECONDS: Final = 0.5

_LOGGER_NAME: Final = "boxoffice.ratelimit"
_MAX_KEY_PART: Final = 128
_REDIS_SCHEMES: Final = {
    "redis": "redis",
    "rediss": "rediss",
    "unix": "redis+unix",
    "redis+unix": "redis+unix",
}

_T = TypeVar("_T")


def validate_rule(rule: str) -> str:
    """Return ``rule`` when it is one valid rate-limit rule, else raise ``ValueError``.

    A rule is ``"<amount>/<period>"`` or ``"<amount> per <period>"`` (``"10/10 minutes"``,
    ``"20/minute"``, ``"5 per hour"``), with an amount of at least 1.
    """
    _parse_rule(rule)
    return rule


def _parse_rule(rule: str) -> RateLimitItem:
    if not isinstance(rule, str):
        raise ValueError(f"rate limit rule must be a string, not {type(rule).__name__}")
    return _parse_rule_text(rule)


@functools.lru_cache(maxsize=256)
def _parse_rule_text(rule: str) -> RateLimitItem:
    try:
        items = parse_many(rule)
    except ValueError:
        items = []
    if len(items) != 1:
        raise ValueError(
            f"invalid rate limit rule {rule!r}: expected one rule such as '10/10 minutes' "
            "or '20 per minute'"
        )
    item = items[0]
    if item.amount < 1:
        raise ValueError(f"invalid rate limit rule {rule!r}: the amount must be at least 1")
    return item


def _identifiers(keys: tuple[str, ...]) -> tuple[str, ...]:
    if not keys:
        raise ValueError("a rate limit needs at least one key (the action, e.g. 'signup')")
    parts = []
    for key in keys:
        if not isinstance(key, str) or not key:
            raise ValueError("rate limit keys must be non-empty strings")
        part = quote(key, safe="")
        if len(part) > _MAX_KEY_PART:
            part = "sha256-" + hashlib.sha256(key.encode("utf-8")).hexdigest()
        parts.append(part)
    return tuple(parts)


def _redis_urls(url: str) -> tuple[str, str]:
    """(the redis-py URL, the ``limits`` storage URI) for a Redis URL in either spelling."""
    scheme, sep, rest = url.partition("://")
    base = scheme.lower().removeprefix("async+")
    if not sep or base not in _REDIS_SCHEMES:
        raise ValueError(
            "invalid Redis URL: expected redis://, rediss:// or unix:// "
            "(optionally spelled async+redis://)"
        )
    client_scheme = "unix" if base == "redis+unix" else base
    return f"{client_scheme}://{rest}", f"async+{_REDIS_SCHEMES[base]}://{rest}"


def _safe_location(url: str) -> str:
    """Where a Redis URL points, without user name or password (for logs)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    host = parts.hostname or "localhost"
    port = parts.port or 6379
    return f"{parts.scheme}://{host}:{port}{parts.path}"


class RateLimiter:
    """Counts hits per rule and key; raises :class:`RateLimited` when a budget is spent.

    Build one per process with :meth:`from_url` and share it; close it with :meth:`aclose`.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        fallback: Storage | None = None,
        retry_interval: float = REDIS_RETRY_INTERVAL_SECONDS,
        location: str = "memory",
        pool: ConnectionPool | None = None,
    ) -> None:
        """Prefer :meth:`from_url`. ``fallback`` (a memory storage) takes over while
        ``storage`` fails; ``location`` names the storage in logs (no secrets)."""
        if retry_interval < 0 or not math.isfinite(retry_interval):
            raise ValueError("retry_interval must be a finite number of seconds >= 0")
        self._primary = MovingWindowRateLimiter(storage)
        self._fallback = MovingWindowRateLimiter(fallback) if fallback is not None else None
        self._retry_interval = retry_interval
        self._location = location
        self._pool = pool
        self._retry_at: float | None = None  # set while degraded: when to try Redis again

    @classmethod
    def from_url(
        cls,
        redis_url: str | None,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        retry_interval: float = REDIS_RETRY_INTERVAL_SECONDS,
        timeout_seconds: float = REDIS_TIMEOUT_SECONDS,
    ) -> RateLimiter:
        """A limiter in process memory (``redis_url`` None or empty) or in Redis.

        ``redis_url`` is ``redis://[:password@]host:port/db``, ``rediss://...``,
        ``unix:///path`` or the same with ``async+`` in front. Nothing connects until the
        first hit, so an unreachable Redis never stops the application from starting.
        """
        if not redis_url:
            return cls(MemoryStorage())
        if not key_prefix or not isinstance(key_prefix, str):
            raise ValueError("key_prefix must be a non-empty string")
        if not (timeout_seconds > 0 and math.isfinite(timeout_seconds)):
            raise ValueError("timeout_seconds must be a finite number of seconds > 0")
        # redis-py (about 6 MB per process) is imported only when Redis is configured.
        from redis.asyncio import ConnectionPool
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        client_url, storage_uri = _redis_urls(redis_url)
        pool = ConnectionPool.from_url(
            client_url,
            socket_connect_timeout=timeout_seconds,
            socket_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 1),
        )
        options: dict[str, Any] = {"connection_pool": pool}
        storage = RedisStorage(
            storage_uri,
            wrap_exceptions=True,
            implementation="redispy",
            key_prefix=key_prefix,
            **options,
        )
        return cls(
            storage,
            fallback=MemoryStorage(),
            retry_interval=retry_interval,
            location=_safe_location(client_url),
            pool=pool,
        )

    @property
    def shared(self) -> bool:
        """True when counts live in Redis (shared by workers and hosts)."""
        return self._fallback is not None

    @property
    def degraded(self) -> bool:
        """True while Redis is unreachable and this process counts on its own."""
        return self._retry_at is not None

    async def hit(self, rule: str, *keys: str) -> None:
        """Consume one unit of ``rule`` for ``keys``, or raise :class:`RateLimited`.

        ``RateLimited.retry_after`` is the whole number of seconds (at least 1) until a unit
        frees. A refused hit consumes nothing.
        """
        item = _parse_rule(rule)
        ids = _identifiers(keys)
        if await self._run(lambda limiter: limiter.hit(item, *ids)):
            return
        stats = await self._run(lambda limiter: limiter.get_window_stats(item, *ids))
        raise RateLimited(retry_after=max(1, math.ceil(stats.reset_time - time.time())))

    async def test(self, rule: str, *keys: str) -> bool:
        """True when a :meth:`hit` would pass now; consumes nothing."""
        item = _parse_rule(rule)
        ids = _identifiers(keys)
        return await self._run(lambda limiter: limiter.test(item, *ids))

    async def clear(self, rule: str, *keys: str) -> None:
        """Forget the hits of ``rule`` for ``keys`` (e.g. after a successful login)."""
        item = _parse_rule(rule)
        ids = _identifiers(keys)
        if self._fallback is not None:
            await self._fallback.clear(item, *ids)
        await self._run(lambda limiter: limiter.clear(item, *ids))

    async def aclose(self) -> None:
        """Close the Redis connections (no-op in memory)."""
        if self._pool is not None:
            await self._pool.aclose()

    async def _run(self, operation: Callable[[MovingWindowRateLimiter], Awaitable[_T]]) -> _T:
        fallback = self._fallback
        if fallback is None:
            return await operation(self._primary)
        from redis.exceptions import RedisError  # a limiter with a fallback is a Redis one

        if self._retry_at is not None and time.monotonic() < self._retry_at:
            return await operation(fallback)
        try:
            result = await operation(self._primary)
        except (StorageError, RedisError, OSError) as exc:
            if self._retry_at is None:
                error = exc.storage_error if isinstance(exc, StorageError) else exc
                structlog.get_logger(_LOGGER_NAME).warning(
                    "rate limit storage unreachable; limiting per process until it is back",
                    storage=self._location,
                    error=type(error).__name__,
                    retry_interval=self._retry_interval,
                )
            self._retry_at = time.monotonic() + self._retry_interval
            return await operation(fallback)
        if self._retry_at is not None:
            self._retry_at = None
            structlog.get_logger(_LOGGER_NAME).info(
                "rate limit storage reachable again; limits are shared",
                storage=self._location,
            )
        return result
