"""Server-side CAPTCHA verification for public sign-up and login (Turnstile, hCaptcha,
reCAPTCHA).

The browser widget gives the form a token; the server sends it, with the tenant's secret, to the
vendor's ``siteverify`` endpoint. The three vendors share one protocol: a form-encoded POST of
``secret``, ``response`` and (optional) ``remoteip`` (hCaptcha also takes the ``sitekey``),
answered by JSON with a boolean ``success`` (and, for reCAPTCHA v3, a ``score`` from 0.0 to
1.0).

Every outcome a caller sees is :class:`~boxoffice.domain.errors.InvalidInput` on the
``captcha`` field, so each dialect answers with its own 4xx, never a 5xx:

=====================================  ==========================================
no token                               ``InvalidInput("captcha", "required")``
the vendor says no (or a low score)    ``InvalidInput("captcha", "verification failed")``
the vendor cannot be reached or        ``InvalidInput("captcha", "could not be verified; try again")``
answers nonsense (after retries), or
rejects our own secret
=====================================  ==========================================

Each attempt has ``timeout_seconds``; network errors and 5xx answers are retried twice with a
short pause. Turnstile tokens are single-use, so Turnstile requests carry an
``idempotency_key``: a retry of a request the vendor did receive is not taken as a replay.
Logs name the provider, HTTP status and the vendor's error codes, never the secret or the
token. Call this outside any database transaction.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, cast, get_args
from urllib.parse import urlsplit

import httpx
import structlog

from boxoffice.domain.errors import InvalidInput

__all__ = [
    "DEFAULT_VERIFY_URLS",
    "CaptchaConfig",
    "CaptchaProvider",
    "verify_captcha",
]

CaptchaProvider = Literal["turnstile", "hcaptcha", "recaptcha"]

DEFAULT_VERIFY_URLS: Final[Mapping[CaptchaProvider, str]] = {
    "turnstile": "https://challenges.cloudflare.com/turnstile/v0/siteverify",
    "hcaptcha": "https://api.hcaptcha.com/siteverify",
    "recaptcha": "https://www.google.com/recaptcha/api/siteverify",
}

FIELD: Final = "captcha"
REQUIRED: Final = "required"
FAILED: Final = "verification failed"
UNAVAILABLE: Final = "could not be verified; try again"

MAX_TOKEN_LENGTH: Final = 8192
"""Longer tokens are refused without asking the vendor (Turnstile's are at most 2048)."""

_RETRY_PAUSES_SECONDS: Final = (0.1, 0.25)  # two retries after the first attempt
_SECRET_ERRORS: Final = frozenset({"missing-input-secret", "invalid-input-secret"})
_LOGGER_NAME: Final = "boxoffice.captcha"
_PROVIDERS: Final = frozenset(get_args(CaptchaProvider))
_FIELDS: Final = frozenset(
    {"provider", "secret", "verify_url", "min_score", "timeout_seconds", "site_key"}
)


@dataclass(frozen=True)
class CaptchaConfig:
    """One tenant's (or instance's) CAPTCHA verifier. ``repr`` never shows the secret."""

    provider: CaptchaProvider
    secret: str = field(repr=False)
    verify_url: str | None = None
    """Overrides the vendor's siteverify URL (a proxy, a test server)."""
    min_score: float | None = None
    """reCAPTCHA v3 only: the lowest score accepted (0.0 to 1.0)."""
    timeout_seconds: float = 5.0
    """Per attempt."""
    site_key: str | None = None
    """The public key the browser widget uses. hCaptcha receives it as ``sitekey`` and checks
    that the token was issued for it; the other vendors do not take it."""

    def __post_init__(self) -> None:
        if self.provider not in _PROVIDERS:
            raise ValueError(
                f"captcha provider must be one of {', '.join(sorted(_PROVIDERS))}, "
                f"not {self.provider!r}"
            )
        if not isinstance(self.secret, str) or not self.secret.strip():
            raise ValueError("captcha secret must be a non-empty string")
        if self.verify_url is not None:
            _check_url(self.verify_url)
        if self.min_score is not None:
            if self.provider != "recaptcha":
                raise ValueError("captcha min_score applies to the recaptcha provider only")
            if not _is_number(self.min_score) or not 0.0 <= self.min_score <= 1.0:
                raise ValueError("captcha min_score must be a number from 0.0 to 1.0")
        if self.site_key is not None and (
            not isinstance(self.site_key, str) or not self.site_key.strip()
        ):
            raise ValueError("captcha site_key must be a non-empty string")
        if (
            not _is_number(self.timeout_seconds)
            or not math.isfinite(self.timeout_seconds)
            or not 0 < self.timeout_seconds <= 60
        ):
            raise ValueError("captcha timeout_seconds must be a number above 0 and at most 60")

    @property
    def endpoint(self) -> str:
        """The URL the verifier posts to."""
        return self.verify_url or DEFAULT_VERIFY_URLS[self.provider]

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> CaptchaConfig:
        """Build from settings or a catalogue (``{"provider": ..., "secret": ...}``).

        Raises ``ValueError`` on an unknown key, a missing or mistyped value, or a value out
        of range. Numbers may be given as numeric strings (as environment variables are).
        """
        if not isinstance(data, Mapping):
            raise ValueError("captcha configuration must be a mapping")
        unknown = sorted(str(key) for key in data if key not in _FIELDS)
        if unknown:
            raise ValueError(f"unknown captcha configuration key(s): {', '.join(unknown)}")
        for required in ("provider", "secret"):
            if required not in data:
                raise ValueError(f"captcha configuration needs {required!r}")
        provider = data["provider"]
        if not isinstance(provider, str) or provider not in _PROVIDERS:
            raise ValueError(
                f"captcha provider must be one of {', '.join(sorted(_PROVIDERS))}, not {provider!r}"
            )
        secret = data["secret"]
        if not isinstance(secret, str):
            raise ValueError("captcha secret must be a string")
        verify_url = data.get("verify_url")
        if verify_url is not None and not isinstance(verify_url, str):
            raise ValueError("captcha verify_url must be a string")
        site_key = data.get("site_key")
        if site_key is not None and not isinstance(site_key, str):
            raise ValueError("captcha site_key must be a string")
        min_score = data.get("min_score")
        timeout = data.get("timeout_seconds", 5.0)
        return cls(
            provider=cast(CaptchaProvider, provider),
            secret=secret,
            verify_url=verify_url or None,
            min_score=None if min_score is None else _number("min_score", min_score),
            timeout_seconds=_number("timeout_seconds", timeout),
            site_key=site_key or None,
        )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(name: str, value: object) -> float:
    if _is_number(value):
        return float(cast(float, value))
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            if math.isfinite(number):
                return number
    raise ValueError(f"captcha {name} must be a number, not {value!r}")


def _check_url(url: str) -> None:
    if not isinstance(url, str):
        raise ValueError("captcha verify_url must be a string")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("captcha verify_url must be an absolute http:// or https:// URL")


async def verify_captcha(
    config: CaptchaConfig,
    token: str | None,
    remote_ip: str | None,
    *,
    client: httpx.AsyncClient | None = None,
) -> None:
    """Return when the vendor accepts ``token``; else raise ``InvalidInput("captcha", ...)``.

    ``remote_ip`` is the visitor's address, sent as ``remoteip`` when known. Pass a shared
    ``client`` to reuse connections; without one, a client is opened for this call.
    """
    if token is None or (isinstance(token, str) and not token.strip()):
        raise InvalidInput(FIELD, REQUIRED)
    log = structlog.get_logger(_LOGGER_NAME).bind(
        provider=config.provider, verifier=urlsplit(config.endpoint).hostname
    )
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        log.info("captcha token refused without asking the verifier", reason="malformed")
        raise InvalidInput(FIELD, FAILED)
    form = {"secret": config.secret, "response": token}
    if remote_ip:
        form["remoteip"] = remote_ip
    if config.provider == "turnstile":
        form["idempotency_key"] = str(uuid.uuid4())
    if config.provider == "hcaptcha" and config.site_key:
        form["sitekey"] = config.site_key
    if client is None:
        async with httpx.AsyncClient(follow_redirects=False) as own_client:
            answer = await _post(own_client, config, form, log)
    else:
        answer = await _post(client, config, form, log)
    _judge(config, answer, log)


async def _post(
    client: httpx.AsyncClient,
    config: CaptchaConfig,
    form: dict[str, str],
    log: structlog.typing.FilteringBoundLogger,
) -> dict[str, object]:
    """The vendor's JSON answer, retrying network errors and 5xx answers."""
    attempts = len(_RETRY_PAUSES_SECONDS) + 1
    for attempt in range(1, attempts + 1):
        problem: dict[str, object]
        try:
            response = await client.post(
                config.endpoint,
                data=form,
                headers={"Accept": "application/json"},
                timeout=config.timeout_seconds,
            )
        except httpx.TransportError as exc:
            problem = {"error": type(exc).__name__}
        except httpx.HTTPError as exc:  # not worth retrying (e.g. a broken redirect)
            log.warning("captcha verifier unusable", error=type(exc).__name__)
            raise InvalidInput(FIELD, UNAVAILABLE) from None
        else:
            if response.status_code < 500:
                return _decode(response, log)
            problem = {"status": response.status_code}
        log.warning("captcha verifier unavailable", attempt=attempt, attempts=attempts, **problem)
        if attempt < attempts:
            await asyncio.sleep(_RETRY_PAUSES_SECONDS[attempt - 1])
    raise InvalidInput(FIELD, UNAVAILABLE)


def _decode(
    response: httpx.Response, log: structlog.typing.FilteringBoundLogger
) -> dict[str, object]:
    if response.status_code != 200:
        log.warning("captcha verifier refused the request", status=response.status_code)
        raise InvalidInput(FIELD, UNAVAILABLE)
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("success"), bool):
        log.warning("captcha verifier answered without a success flag", status=200)
        raise InvalidInput(FIELD, UNAVAILABLE)
    return cast(dict[str, object], answer)


def _error_codes(answer: Mapping[str, object]) -> list[str]:
    codes = answer.get("error-codes")
    if not isinstance(codes, list):
        return []
    return [code[:64] for code in codes[:10] if isinstance(code, str)]


def _judge(
    config: CaptchaConfig,
    answer: Mapping[str, object],
    log: structlog.typing.FilteringBoundLogger,
) -> None:
    codes = _error_codes(answer)
    if answer["success"] is not True:
        if codes and _SECRET_ERRORS.issuperset(codes):
            log.error("captcha verifier rejected our secret; check the configuration")
            raise InvalidInput(FIELD, UNAVAILABLE)
        log.info("captcha rejected", error_codes=codes)
        raise InvalidInput(FIELD, FAILED)
    if config.min_score is not None:
        score = answer.get("score")
        if not _is_number(score) or cast(float, score) < config.min_score:
            log.info("captcha score too low", score=score if _is_number(score) else None)
            raise InvalidInput(FIELD, FAILED)
