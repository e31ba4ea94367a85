"""Bot management for public writes: the checks every write a caller nobody has authenticated
can make goes through first, whatever the dialect (web-mode and hosted-page sign-ups, app
registrations, newsletter sign-ups).

In this order, before anything is validated, hashed or written:

1. a **per-IP rate limit** for the action, shared by every dialect (an address that signed up
   ten times on the website has no fresh budget in the app): the tenant's
   ``settings.rate_limits.<action>_per_ip`` when it is a valid rule, else the default;
2. the **honeypot** field (``settings.honeypot_field``, ``website`` by default) must be empty;
3. the tenant's **CAPTCHA** verifier (``settings.captcha``), when one is configured.

Each refusal is a domain error (``RateLimited``, ``InvalidInput``) that each dialect answers
in its own words; a refused request writes nothing (the limiter's own counter aside).
Decision 0099 says what each public write checks and how each dialect passes the fields.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import structlog

from boxoffice.domain.errors import InvalidInput
from boxoffice.domain.views import TenantView
from boxoffice.security import ratelimit
from boxoffice.security.captcha import CaptchaConfig, verify_captcha
from boxoffice.services.core import Core

log = structlog.get_logger("boxoffice.bots")

DEFAULT_HONEYPOT: Final = "website"
HONEYPOT_FILLED: Final = "this field must be left empty"


@dataclass(frozen=True, slots=True)
class Action:
    """A kind of public write: its limiter counter and the tenant setting that tunes it."""

    #: The limiter's counter name (shared by every dialect).
    key: str
    #: The key in ``settings.rate_limits``.
    setting: str
    default: str


#: Creating a customer: web-mode sign-up, the hosted sign-up page, CareCloud registration.
SIGN_UP: Final = Action("signup", "signup_per_ip", ratelimit.SIGNUP_PER_IP)
#: A newsletter sign-up (a pending request and a confirmation mail).
NEWSLETTER: Final = Action("newsletter", "newsletter_per_ip", ratelimit.NEWSLETTER_PER_IP)
#: A web-mode basket write (seats held for a visitor: ``v3/basket/...``, the booking pages).
BASKET: Final = Action("basket", "basket_writes_per_ip", ratelimit.BASKET_WRITES_PER_IP)


@dataclass(frozen=True, slots=True)
class BotSignals:
    """What a form or an app sends besides its data: the honeypot field's value (None or
    empty: left alone) and the CAPTCHA widget's token."""

    honeypot: str | None = None
    captcha_token: str | None = None


def limit_rule(tenant: TenantView, name: str, default: str) -> str:
    """The tenant's rule ``settings.rate_limits.<name>``, or ``default`` when it has none or
    an invalid one (logged: a typo in a catalogue must not turn every sign-up into a 500)."""
    limits = tenant.settings.get("rate_limits")
    value = limits.get(name) if isinstance(limits, dict) else None
    if value is None:
        return default
    try:
        return ratelimit.validate_rule(value)
    except ValueError:
        log.warning("invalid_rate_limit_setting", tenant=tenant.name, setting=name)
        return default


def honeypot_field(tenant: TenantView) -> str:
    """The honeypot's field name for the tenant's forms."""
    value = tenant.settings.get("honeypot_field")
    return value if isinstance(value, str) and value else DEFAULT_HONEYPOT


async def check_public_write(
    core: Core, tenant: TenantView, client_ip: str, action: Action, signals: BotSignals
) -> None:
    """Refuse a public write over the per-IP limit (``RateLimited``), with a filled honeypot
    or a failed CAPTCHA (``InvalidInput``). Call first, outside any transaction."""
    await core.limiter.hit(
        limit_rule(tenant, action.setting, action.default), action.key, tenant.name, client_ip
    )
    await check_bots(core, tenant, client_ip, signals)


async def check_bots(core: Core, tenant: TenantView, client_ip: str, signals: BotSignals) -> None:
    """Refuse bot-like requests: a filled honeypot, a failed CAPTCHA."""
    if signals.honeypot:
        log.info("honeypot_filled", tenant=tenant.name)
        raise InvalidInput(honeypot_field(tenant), HONEYPOT_FILLED)
    config = tenant.settings.get("captcha")
    if isinstance(config, dict):
        secret_blob = config.get("secret_encrypted")
        if isinstance(secret_blob, str):
            secret = core.secret_box.decrypt(base64.b64decode(secret_blob))
            captcha = CaptchaConfig.from_mapping({**_public(config), "secret": secret})
            await verify_captcha(captcha, signals.captcha_token, client_ip)


def _public(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in ("secret", "secret_encrypted")}
