"""Device tokens (the CareCloud token flow): one per device and application; a customer logs
in on one, and from then on the token reaches only that customer.

A token is 36 random bytes, shown once as 72 hex digits; only its SHA-256 is stored, and a
presented token is found by its hash and then compared in constant time. A new token for the
same device and application replaces the old one.

A token ends (decision 0096; the vendor's never do) when unused for the idle lifetime
(``BOXOFFICE_DEVICE_TOKEN_IDLE_SECONDS``, 30 days) or at the latest at ``expires_at``, the
absolute lifetime from its issue (``..._ABSOLUTE_SECONDS``, a year); logging in on it does not
extend that, since the token itself stays the same. Both are checked by :func:`_accepted` on
every authenticated request, whichever path reads the token (the application's dependencies
and the fast lane both come through :func:`authenticated_read`). The last use is written at
most every :func:`touch_every` seconds, not on every request. A token also ends when its
customer's password is set (``services/credentials.py``).

Logins are counted like the website's (``accounts``): per IP, and failures per (account, IP)
and per account, whether the account exists or not; past the limits the pair is locked for a
while (``RateLimited``). The account is the login value as the customer lookup reads it
(:func:`login_identity`): another way of writing the same email address or phone number counts
against the same account. A wrong login value and a wrong password answer alike, after the
same work (:func:`log_in`, decision 0111); the locks' rules and keys, and their clearing by a
password reset, are ``credentials``'.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from boxoffice.domain.commands import DeviceSetup, NewDevice
from boxoffice.domain.errors import (
    UNKNOWN,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
)
from boxoffice.domain.ids import customer_code
from boxoffice.domain.principal import Principal
from boxoffice.domain.rules import EMAIL_LOGIN, PHONE_LOGIN
from boxoffice.domain.rules import login_identity as login_identity
from boxoffice.domain.rules import phone_variants as phone_variants
from boxoffice.domain.views import DeviceTokenView, TenantView
from boxoffice.security import ratelimit
from boxoffice.security.passwords import verify_dummy_async, verify_password_async
from boxoffice.services import accounts, audit, credentials
from boxoffice.services.core import Core
from boxoffice.store.lookups import TokenRecord
from boxoffice.store.models import Customer, DeviceToken, InterfaceUser, Language
from boxoffice.store.repositories import DeviceTokens, Profiles
from boxoffice.store.uow import ReadUnitOfWork, UnitOfWork

T = TypeVar("T")

TOKEN_BYTES = 36
MAX_TOKEN_LENGTH = 200
#: New tokens per IP (apps ask for one at installation; more is a script).
TOKENS_PER_IP = "30/minute"
#: Argon2 verifications of every phone login, whoever the number names (decision 0111): up
#: to this many customers sharing a number (a family's) each log in with their own password,
#: and dummy hashes fill up, so the work does not tell how many share it. Email and card
#: logins name at most one customer and verify one hash.
PHONE_LOGIN_HASHES = 3


#: The last use of a token is written at most this often (seconds; less for short lifetimes).
TOUCH_EVERY = 3600


def _now() -> datetime:
    return datetime.now(UTC)


def touch_every(core: Core) -> float:
    """How stale a token's last use may be before a request writes it again."""
    return min(TOUCH_EVERY, core.device_token_idle_seconds / 10)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _view(row: Any, customer_id: int | None) -> DeviceTokenView:
    """A token's view, from its ORM object or its row (``store/lookups.py``)."""
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
        raise InvalidInput(field, UNKNOWN)
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
                    last_used_at=now,
                    expires_at=now + timedelta(seconds=core.device_token_absolute_seconds),
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


async def _nothing(_device: DeviceTokenView, _uow: ReadUnitOfWork) -> None:
    return None


async def authenticated_read(
    core: Core,
    tenant_id: int,
    token: str,
    user_name: str | None,
    then: Callable[[DeviceTokenView, ReadUnitOfWork], Awaitable[T]],
) -> tuple[DeviceTokenView, T]:
    """:func:`authenticate_token`, and ``then(token, uow)``'s read in the same read-only unit
    of work once the token is accepted: one unit of work for a request that reads what its
    token reaches (decision 0085). ``then`` may raise (a dialect's own checks): its error is
    the answer."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise Unauthenticated("no token")
    hashed = token_hash(token)
    now = _now()
    lifetimes = _Lifetimes(core.device_token_idle_seconds, touch_every(core))
    async with core.read(tenant_id) as uow:
        # The token, its interface user's state and its customer's (no writing unit of work
        # for a request that only reads).
        found = await uow.lookups.device_token(hashed, user_name)
        device, caller, due = _accepted(found, hashed, user_name, now, lifetimes)
        audit.identify(caller)
        answer = device, await then(device, uow)
    if due:
        await _touch(core, tenant_id, hashed, now, lifetimes.touch)
    return answer


@dataclass(frozen=True, slots=True)
class _Lifetimes:
    idle: int
    touch: float


def _accepted(
    found: TokenRecord | None,
    hashed: str,
    user_name: str | None,
    now: datetime,
    lifetimes: _Lifetimes,
) -> tuple[DeviceTokenView, audit.Caller, bool]:
    """The token's view and caller, and whether its last use is due to be written; refused
    (``Unauthenticated``) when unknown, ended, or not the named interface user's."""
    if found is None or not hmac.compare_digest(found.token.token_hash, hashed):
        raise Unauthenticated("unknown token")
    row = found.token
    idle = (now - row.last_used_at).total_seconds()
    if row.expires_at <= now or idle >= lifetimes.idle:
        raise Unauthenticated("expired token")
    if user_name is not None and row.user_name is not None and row.user_name != user_name:
        raise Unauthenticated("the token belongs to another interface user")
    checked = user_name if user_name is not None else row.user_name
    if checked is not None and not found.user_usable:
        raise Unauthenticated(f"unknown or disabled interface user {checked!r}")
    # A customer erased since: the token is anonymous again.
    customer_id = row.customer_id if found.customer_active else None
    actor = f"customer:{customer_code(customer_id)}" if customer_id is not None else "app"
    caller = audit.Caller(actor, "device-token", row.user_name)
    return _view(row, customer_id), caller, idle >= lifetimes.touch


async def _touch(core: Core, tenant_id: int, hashed: str, now: datetime, every: float) -> None:
    """Write a token's last use: one ``UPDATE``, a no-op when another request just did."""
    async with core.uow(tenant_id, write=True) as uow:
        await uow.session.execute(
            update(DeviceToken)
            .where(
                DeviceToken.token_hash == hashed,
                DeviceToken.last_used_at <= now - timedelta(seconds=every),
            )
            .values(last_used_at=now)
        )
        await uow.commit()


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
        row.updated_at = row.last_used_at = _now()
        await uow.commit()


async def bind_customer(uow: UnitOfWork, token: str, customer_id: int | None) -> None:
    """Log a customer in on a token (None: log out), inside the caller's transaction."""
    row = await _token_row(uow, token)
    row.customer_id = customer_id
    row.updated_at = row.last_used_at = _now()


async def _candidates(uow: UnitOfWork, login_type: str, identity: str) -> list[Customer]:
    """The customers a login identity (:func:`login_identity`) names."""
    profiles = Profiles(uow.session)
    if not identity:
        return []
    if login_type == EMAIL_LOGIN:
        row = await uow.customers.by_email_key(identity)
        return [row] if row is not None else []
    if login_type == PHONE_LOGIN:
        return list(await profiles.by_phone(phone_variants(identity)))
    row = await profiles.by_friendly_id(identity)
    return [row] if row is not None else []


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
    """Check a customer's credentials and log the customer in on the token.

    Every failure does the same work before its answer, whatever the value names (issue 15,
    finding 5; decision 0111): one read of the candidates, the same number of Argon2
    verifications in the Argon2 threads (:data:`PHONE_LOGIN_HASHES` for a phone, one
    otherwise; dummy hashes for the missing ones), the same rate-limit calls, no write. The
    named customers' ``login_failed`` entries are written after the answer."""
    identity = login_identity(login_type, login_value)
    await core.limiter.hit(ratelimit.LOGIN_PER_IP, "app-login", tenant.name, client_ip)
    pair, account = credentials.login_locks(
        tenant.name,
        credentials.APP_LOGIN,
        credentials.app_login_account(login_type, identity),
        client_ip,
    )
    if not await core.limiter.test(
        credentials.LOCK_PAIR_AFTER, *pair
    ) or not await core.limiter.test(credentials.LOCK_ACCOUNT_AFTER, *account):
        raise RateLimited(retry_after=15 * 60)
    slots = PHONE_LOGIN_HASHES if login_type == PHONE_LOGIN else 1
    async with core.uow(tenant.id) as uow:
        named = [
            (row.id, row.password_hash) for row in await _candidates(uow, login_type, identity)
        ]
    verified = [(customer_id, hashed) for customer_id, hashed in named if hashed is not None]
    verified = verified[:slots]
    checks = [verify_password_async(hashed, password) for _, hashed in verified]
    checks += [verify_dummy_async(password) for _ in range(slots - len(verified))]
    results = await asyncio.gather(*checks)
    matched = next((found for found, ok in zip(verified, results, strict=False) if ok), None)
    if matched is None:
        for rule, keys in (
            (credentials.LOCK_PAIR_AFTER, pair),
            (credentials.LOCK_ACCOUNT_AFTER, account),
        ):
            with contextlib.suppress(RateLimited):
                await core.limiter.hit(rule, *keys)
        for customer_id, _ in named:
            accounts.record_after_answer(
                core, tenant.id, customer_id, "login_failed", method="app", type=login_type
            )
        raise InvalidInput("login_value", UNKNOWN)
    customer_id, stored = matched
    await core.limiter.clear(credentials.LOCK_PAIR_AFTER, *pair)
    code = customer_code(customer_id)
    audit.identify(audit.Caller(f"customer:{code}", "customer-password", code))
    rehashed = await credentials.rehash_due(stored, password)
    async with core.uow(tenant.id, write=True) as uow:
        await credentials.store_rehash(uow, customer_id, stored, rehashed)
        await bind_customer(uow, token, customer_id)
        uow.customers.record(customer_id, "logged_in", "customer", method="app", type=login_type)
        await uow.commit()
    return customer_id


async def log_out(core: Core, tenant_id: int, token: str) -> None:
    async with core.uow(tenant_id, write=True) as uow:
        row = await _token_row(uow, token)
        customer_id = row.customer_id
        row.customer_id = None
        row.updated_at = row.last_used_at = _now()
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
