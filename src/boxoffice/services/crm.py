"""The CRM lookup behind ``syncWithCRM``: the one place that knows how a brand's CRM is called.

Nothing in the vendor's documentation says how the CRM is asked, so every guessed detail of the
exchange lives here (docs/brandchannel.md, "syncWithCRM"):

- the request: ``GET {crm_url}?brand_id=<id>&channel=<type code>&address=<value>`` with
  ``Accept: application/json``; no redirects are followed;
- the answer: ``200`` with a JSON object. Its keys ``external_primary_id``, ``firstname``,
  ``lastname``, ``custom_<name>`` and ``channels: [{"type", "value"}]`` are read, the others are
  ignored. ``404``, or an empty object, means the CRM does not know the address;
- failures: a timeout, a connection error, ``429`` or a ``5xx`` is retried (``retries`` times,
  waiting ``backoff_seconds``, then twice that, and so on); any other status, an answer that is
  not a JSON object, or one larger than ``max_bytes`` fails at once.

:func:`lookup` never touches the database: the caller holds no transaction while it waits.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import structlog

from boxoffice import __version__
from boxoffice.domain.commands import UNSET, BrandCustomerPatch, NewChannel

log = structlog.get_logger("boxoffice.crm")

CUSTOM_PREFIX = "custom_"


@dataclass(frozen=True, slots=True)
class CrmPolicy:
    """How patiently a CRM is asked. Per tenant: ``settings: {crm: {timeout_seconds: 5,
    retries: 2, backoff_seconds: 0.5}}`` in the catalogue."""

    #: The longest one attempt may take, connecting and reading the answer included.
    timeout_seconds: float = 5.0
    #: Further attempts after the first fails with a timeout, connection error, 429 or 5xx.
    retries: int = 2
    #: The wait before the first retry; it doubles before each further one.
    backoff_seconds: float = 0.5
    #: The largest answer accepted.
    max_bytes: int = 1_000_000

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> CrmPolicy:
        """The policy in a tenant's settings; values that are missing or out of range are
        replaced by the defaults (and logged), so a typo never stops the lookups."""
        raw = settings.get("crm")
        if not isinstance(raw, Mapping):
            return cls()
        default = cls()
        limits = {
            "timeout_seconds": (0.01, 60.0),
            "retries": (0, 5),
            "backoff_seconds": (0.0, 30.0),
            "max_bytes": (1024, 10_000_000),
        }
        values: dict[str, Any] = {}
        for name, (low, high) in limits.items():
            value = raw.get(name, getattr(default, name))
            number = value if isinstance(value, int | float) and not isinstance(value, bool) else -1
            if not (low <= number <= high and math.isfinite(number)):
                log.warning("crm_setting_ignored", setting=f"crm.{name}", value=repr(value))
                number = getattr(default, name)
            values[name] = int(number) if name in ("retries", "max_bytes") else float(number)
        return cls(**values)


class CrmError(Exception):
    """The CRM could not be asked, or its answer cannot be used. ``reason`` is for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Retry(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise CrmError("the brand's CRM lookup URL is not a valid URL") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise CrmError("the brand's CRM lookup URL is not an http(s) URL")
    return url


async def lookup(
    url: str,
    *,
    brand_id: int,
    channel: str,
    address: str,
    policy: CrmPolicy,
    transport: httpx.AsyncBaseTransport | None = None,
) -> BrandCustomerPatch | None:
    """Ask the brand's CRM about ``address``: what it knows as a patch, or ``None``."""
    check_url(url)
    params = {"brand_id": str(brand_id), "channel": channel, "address": address}
    headers = {"Accept": "application/json", "User-Agent": f"boxoffice/{__version__}"}
    attempts = policy.retries + 1
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(policy.timeout_seconds),
        follow_redirects=False,
        headers=headers,
        transport=transport,
    ) as client:
        for attempt in range(attempts):
            try:
                return await _attempt(client, url, params, policy)
            except _Retry as exc:
                log.warning(
                    "crm_attempt_failed", brand=brand_id, attempt=attempt + 1, reason=exc.reason
                )
                if attempt + 1 == attempts:
                    raise CrmError(f"{exc.reason} ({attempts} attempts)") from exc
                await asyncio.sleep(policy.backoff_seconds * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


async def _attempt(
    client: httpx.AsyncClient, url: str, params: dict[str, str], policy: CrmPolicy
) -> BrandCustomerPatch | None:
    try:
        async with asyncio.timeout(policy.timeout_seconds):
            status, body = await _get(client, url, params, policy.max_bytes)
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise _Retry("the CRM did not answer in time") from exc
    except httpx.TransportError as exc:
        raise _Retry(f"the CRM could not be reached ({type(exc).__name__})") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise CrmError(f"the CRM could not be asked ({type(exc).__name__})") from exc
    if status == 404:
        return None
    if status == 429 or status >= 500:
        raise _Retry(f"the CRM answered HTTP {status}")
    if not 200 <= status < 300:
        raise CrmError(f"the CRM answered HTTP {status}")
    return parse_answer(body)


async def _get(
    client: httpx.AsyncClient, url: str, params: dict[str, str], max_bytes: int
) -> tuple[int, bytes]:
    async with client.stream("GET", url, params=params) as response:
        if response.status_code == 404 or not 200 <= response.status_code < 300:
            return response.status_code, b""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise CrmError(f"the CRM's answer is larger than {max_bytes} bytes")
            chunks.append(chunk)
        return response.status_code, b"".join(chunks)


def _text(key: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise CrmError(f"the CRM's answer has a {key!r} that is not text")


def parse_answer(body: bytes) -> BrandCustomerPatch | None:
    """The CRM's JSON object as a patch of the customer; ``None`` for an empty object."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise CrmError("the CRM's answer is not JSON") from exc
    if not isinstance(data, dict):
        raise CrmError("the CRM's answer is not a JSON object")
    if not data:
        return None
    external = data.get("external_primary_id")
    first = data.get("firstname")
    last = data.get("lastname")
    attributes: dict[str, str | None] = {}
    for key, value in data.items():
        if key.lower().startswith(CUSTOM_PREFIX) and len(key) > len(CUSTOM_PREFIX):
            attributes[key[len(CUSTOM_PREFIX) :]] = None if value is None else _text(key, value)
    raw_channels = data.get("channels", [])
    if not isinstance(raw_channels, list):
        raise CrmError("the CRM's answer has 'channels' that are not a list")
    channels: list[NewChannel] = []
    for index, item in enumerate(raw_channels):
        if not isinstance(item, dict) or "type" not in item or "value" not in item:
            raise CrmError(f"the CRM's channels[{index}] is not {{'type', 'value'}}")
        field = f"channels[{index}]"
        channels.append(
            NewChannel(
                type=_text(f"{field}.type", item["type"]),
                value=_text(f"{field}.value", item["value"]),
                field=f"{field}.value",
                type_field=f"{field}.type",
            )
        )
    return BrandCustomerPatch(
        first_name=UNSET if first is None else _text("firstname", first),
        last_name=UNSET if last is None else _text("lastname", last),
        external_primary_id=UNSET if external is None else _text("external_primary_id", external),
        channels=tuple(channels),
        attributes=attributes,
    )
