"""Device tokens (the CareCloud token flow): one per device and application; a customer logs
in on one, and from then on the token reaches only that customer.

A token is 36 random bytes, shown once as 72 hex digits; only its SHA-256 is stored, and a
presented token is found by its hash and then compared in constant time. Tokens never expire
(as the vendor's do not); a new token for the same device and application replaces the old one.

Logins are counted like the website's (``accounts``): per IP, and failures per (account, IP)
and per account, whether the account exists or not; past the limits the pair is locked for a
while (``RateLimited``). A wrong login value and a wrong password answer alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError

from boxoffice.domain.commands import DeviceSetup, NewDevice
from boxoffice.domain.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
)
from boxoffice.domain.ids import customer_code
from boxoffice.domain.principal import Principal
from boxoffice.domain.rules import normalise_email
from boxoffice.domain.views import DeviceTokenView, TenantView
from boxoffice.security import ratelimit
from boxoffice.security.passwords import verify_dummy, verify_password_async
from boxoffice.services import accounts, audit
from boxoffice.services.core import Core
from boxoffice.store import reads
from boxoffice.store.models import Customer, DeviceToken, InterfaceUser, Language
from boxoffice.store.repositories import DeviceTokens, Profiles
from boxoffice.store.scoping import ScopedConnection
from boxoffice.store.uow import UnitOfWork

T = TypeVar("T")

TOKEN_BYTES = 36
MAX_TOKEN_LENGTH = 200
#: New tokens per IP (apps ask for one at installation; more is a script).
TOKENS_PER_IP = "30/minute"
EMAIL, PHONE, CARD = "email", "phone", "card"


def _now() -> datetime:
    return datetime.now(UTC)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _view(row: Any, customer_id: int | None) -> DeviceTokenView:
    """A token's view, from its ORM object or its row (``store/reads.py``)."""
    return DeviceTokenView(
        row.user_name, row.device_id, row.external_application_id, row.language, customer_id
    )


def token_principal(tenant_id: int, token: DeviceTokenView) -> Principal:
    """An app's rights: its logged-in customer only, or (nobody logged in) public data."""
    if token.customer_id is not None:
        return accounts.customer_principal(tenant_id, token.customer_id)
    return Principal(tenant_id=tenant_id, actor="app", full_access=False)


async def _check_user(uow: UnitOfWork, user_name: str, *, signing_up: bool = False) -> None:
    """The interface user must exist and be enabled: asking for a token without one is
    forbidden; using a token with one is not authenticated."""
    user = await uow.session.get(InterfaceUser, (uow.tenant_id, user_name))
    if user is None or user.disabled:
        reason = f"unknown or disabled interface user {user_name!r}"
        raise PermissionDenied(reason) if signing_up else Unauthenticated(reason)


async def _check_language(uow: UnitOfWork, field: str, language: str) -> str:
    language = language.strip().lower()
    codes = {lang.code.lower() for lang in await uow.catalogue.all(Language)}
    if codes and language not in codes:
        raise InvalidInput(field, "not_found")
    return language


async def create_token(core: Core, tenant: TenantView, client_ip: str, device: NewDevice) -> str:
    """A new token for a device and application (the previous one for them stops working)."""
    await core.limiter.hit(TOKENS_PER_IP, "device-token", tenant.name, client_ip)
    token = secrets.token_hex(TOKEN_BYTES)
    if device.user_name is not None:  # checked below, in the transaction that writes
        audit.identify(audit.Caller("app", "interface-user", device.user_name))
    for attempt in range(2):
        async with core.uow(tenant.id, write=True) as uow:
            if device.user_name is not None:
                await _check_user(uow, device.user_name, signing_up=True)
            language = await _check_language(uow, "setup.language_id", device.setup.language)
            tokens = DeviceTokens(uow.session)
            old = await tokens.for_device(device.device_id, device.external_application_id)
            if old is not None:
                await uow.session.delete(old)
                await uow.flush()
            now = _now()
            uow.session.add(
                DeviceToken(
                    token_hash=token_hash(token),
                    user_name=device.user_name,
                    device_id=device.device_id,
                    device_system=device.device_system,
                    device_name=device.device_name,
                    device_type=device.device_type,
                    external_application_id=device.external_application_id,
                    push_token=device.push_token,
                    language=language,
                    allowed_gps=device.setup.allowed_gps,
                    allowed_notifications=device.setup.allowed_notifications,
                    customer_id=None,
                    created_at=now,
                    updated_at=now,
                )
            )
            try:
                await uow.commit()
            except IntegrityError:
                if attempt:  # the same device asked twice at once, twice in a row
                    raise
                continue
            return token
    raise RuntimeError("unreachable")


async def authenticate_token(
    core: Core, tenant_id: int, token: str, user_name: str | None = None
) -> DeviceTokenView:
    """The token behind a request; with the legacy Basic form, the user must match too."""
    device, _ = await authenticated_read(core, tenant_id, token, user_name, _nothing)
    return device


def _nothing(_device: DeviceTokenView) -> reads.Read[None]:
    return lambda _connection: None


async def authenticated_read(
    core: Core,
    tenant_id: int,
    token: str,
    user_name: str | None,
    then: Callable[[DeviceTokenView], reads.Read[T]],
) -> tuple[DeviceTokenView, T]:
    """:func:`authenticate_token`, and ``then(token)``'s read in the same ``Reads.run`` once the
    token is accepted: one read for a request that reads what its token reaches (decision
    0085). ``then`` may raise (a dialect's own checks): its error is the answer."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise Unauthenticated("no token")
    hashed = token_hash(token)
    accepted: list[audit.Caller] = []

    def read(connection: ScopedConnection) -> tuple[DeviceTokenView, T]:
        # The token, its interface user's state and its customer's (no unit of work for a
        # request that only reads).
        device, caller = _accepted(
            reads.device_token(hashed, user_name)(connection), hashed, user_name
        )
        accepted[:] = [caller]
        return device, then(device)(connection)

    try:
        return await core.reads.run(tenant_id, read)
    finally:
        if accepted:  # named here: a read may run in a thread, in a copy of this context
            audit.identify(accepted[0])


def _accepted(
    found: reads.TokenRecord | None, hashed: str, user_name: str | None
) -> tuple[DeviceTokenView, audit.Caller]:
    if found is None or not hmac.compare_digest(found.token.token_hash, hashed):
        raise Unauthenticated("unknown token")
    row = found.token
    if user_name is not None and row.user_name is not None and row.user_name != user_name:
        raise Unauthenticated("the token belongs to another interface user")
    checked = user_name if user_name is not None else row.user_name
    if checked is not None and not found.user_usable:
        raise Unauthenticated(f"unknown or disabled interface user {checked!r}")
    # A customer erased since: the token is anonymous again.
    customer_id = row.customer_id if found.customer_active else None
    actor = f"customer:{customer_code(customer_id)}" if customer_id is not None else "app"
    return _view(row, customer_id), audit.Caller(actor, "device-token", row.user_name)


async def _token_row(uow: UnitOfWork, token: str) -> DeviceToken:
    row = await DeviceTokens(uow.session).by_hash(token_hash(token), for_update=True)
    if row is None:
        raise Unauthenticated("unknown token")
    return row


async def update_token(
    core: Core, tenant_id: int, token: str, setup: DeviceSetup, push_token: str | None
) -> None:
    async with core.uow(tenant_id, write=True) as uow:
        row = await _token_row(uow, token)
        row.language = await _check_language(uow, "setup.language_id", setup.language)
        row.allowed_gps = setup.allowed_gps
        row.allowed_notifications = setup.allowed_notifications
        if push_token is not None:
            row.push_token = push_token
        row.updated_at = _now()
        await uow.commit()


async def bind_customer(uow: UnitOfWork, token: str, customer_id: int | None) -> None:
    """Log a customer in on a token (None: log out), inside the caller's transaction."""
    row = await _token_row(uow, token)
    row.customer_id = customer_id
    row.updated_at = _now()


def phone_variants(value: str) -> list[str]:
    """The digits a stored number may have (separators and ``+`` aside): with the country
    code, or with the international ``00`` prefix."""
    digits = "".join(c for c in value if c.isdigit()).lstrip("0")
    if not digits:
        return []
    return [digits, f"00{digits}"]


async def _candidates(uow: UnitOfWork, login_type: str, value: str) -> list[Customer]:
    profiles = Profiles(uow.session)
    if login_type == EMAIL:
        row = await uow.customers.by_email_key(normalise_email(value))
        return [row] if row is not None else []
    if login_type == PHONE:
        variants = phone_variants(value)
        return list(await profiles.by_phone(variants)) if variants else []
    if login_type == CARD:
        row = await profiles.by_friendly_id(value.strip())
        return [row] if row is not None else []
    raise InvalidInput("login_type", "not_allowed_value")


async def log_in(
    core: Core,
    tenant: TenantView,
    client_ip: str,
    token: str,
    *,
    login_type: str,
    login_value: str,
    password: str,
) -> int:
    """Check a customer's credentials and log the customer in on the token."""
    if login_type not in (EMAIL, PHONE, CARD):
        raise InvalidInput("login_type", "not_allowed_value")
    await core.limiter.hit(ratelimit.LOGIN_PER_IP, "app-login", tenant.name, client_ip)
    key = f"{login_type}:{login_value.strip().casefold()[:254]}"
    pair = ("app-login-fail", tenant.name, key, client_ip)
    account = ("app-login-fail-account", tenant.name, key)
    if not await core.limiter.test(accounts.LOCK_PAIR_AFTER, *pair) or not await core.limiter.test(
        accounts.LOCK_ACCOUNT_AFTER, *account
    ):
        raise RateLimited(retry_after=15 * 60)
    async with core.uow(tenant.id) as uow:
        found = [
            (row.id, row.password_hash)
            for row in await _candidates(uow, login_type, login_value)
            if row.password_hash is not None
        ]
    customer_id = None
    for candidate, hashed in found:
        assert hashed is not None
        if await verify_password_async(hashed, password):
            customer_id = candidate
            break
    if not found:
        await asyncio.to_thread(verify_dummy, password)
    if customer_id is None:
        for rule, keys in (
            (accounts.LOCK_PAIR_AFTER, pair),
            (accounts.LOCK_ACCOUNT_AFTER, account),
        ):
            with contextlib.suppress(RateLimited):
                await core.limiter.hit(rule, *keys)
        raise InvalidInput("login_value", "not_found")
    await core.limiter.clear(accounts.LOCK_PAIR_AFTER, *pair)
    code = customer_code(customer_id)
    audit.identify(audit.Caller(f"customer:{code}", "customer-password", code))
    async with core.uow(tenant.id, write=True) as uow:
        await bind_customer(uow, token, customer_id)
        uow.customers.record(customer_id, "logged_in", "customer", method="app", type=login_type)
        await uow.commit()
    return customer_id


async def log_out(core: Core, tenant_id: int, token: str) -> None:
    async with core.uow(tenant_id, write=True) as uow:
        row = await _token_row(uow, token)
        customer_id = row.customer_id
        row.customer_id = None
        row.updated_at = _now()
        if customer_id is not None and await uow.customers.exists(customer_id):
            uow.customers.record(customer_id, "logged_out", "customer", method="app")
        await uow.commit()


async def send_password_setup(
    core: Core, tenant: TenantView, client: accounts.Client, token: DeviceTokenView, email: str
) -> None:
    """Mail a link to set a password. The answer is the same whether or not the address has
    an account (the app cannot tell who is a customer)."""
    if not email and token.customer_id is not None:
        async with core.uow(tenant.id) as uow:
            row = await uow.customers.get(token.customer_id)
            email = (row.email or "") if row is not None else ""
    if not email:
        raise InvalidInput("recipient", "required")
    with contextlib.suppress(NotFound):
        await accounts.request_password_reset(core, tenant, client, email)
