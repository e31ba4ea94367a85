"""Customers acting for themselves (web mode): sign-up, login, sessions, passwords, magic links.

Bot management comes before any write: the sign-up goes through ``bots.check_public_write``
(the per-IP limit, honeypot and CAPTCHA every dialect's public writes share); login and account
mail have their rate limits per IP and per account here. A refused request writes nothing.

Failed logins are counted per (account, IP) and per account, whether the account exists or not
(so counting tells an attacker nothing), and an unknown address, an account without a password
and a wrong password are answered alike after the same work (see :func:`authenticate`). After a
few failures each answer is slowed; after more, the pair is locked for a while
(``RateLimited``). The lock only ever lasts one window, and a password reset or magic link
still works while it holds: nobody can lock a customer out.

Mail goes only ever to the address stored on the account, never to the caller's spelling of it:
an address finds an account by its key (``rules.normalise_email``), and a key is shared only by
spellings of one mailbox (decision 0093).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlalchemy import select

from boxoffice.domain import rules
from boxoffice.domain.commands import NewCustomer
from boxoffice.domain.errors import (
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from boxoffice.domain.ids import customer_code
from boxoffice.domain.principal import Principal
from boxoffice.domain.rules import normalise_email
from boxoffice.domain.views import CustomerView, TenantView
from boxoffice.security import ratelimit
from boxoffice.security.passwords import (
    hash_password_async,
    verify_dummy_async,
    verify_password_async,
)
from boxoffice.services import audit, bots, credentials, mail
from boxoffice.services import customers as customer_service
from boxoffice.services.core import Core
from boxoffice.store.lookups import CustomerRecord
from boxoffice.store.models import CustomerToken
from boxoffice.store.uow import ReadUnitOfWork, UnitOfWork

log = structlog.get_logger("boxoffice.accounts")

RESET, MAGIC = "reset", "magic"
TOKEN_MINUTES = {RESET: 60, MAGIC: 15}
#: Failed logins: slow down after this rule is used up, lock after ``credentials``' rules.
SLOW_AFTER = "3/15 minutes"
SLOWDOWN_SECONDS = 1.0
#: Timeline entries waiting to be written after their answer, per process; beyond this many
#: (a storm of failed logins), further ones are logged and left out: the rate limits still
#: count every failure.
MAX_PENDING_RECORDS = 1000


@dataclass(frozen=True, slots=True)
class Client:
    """What the web layer knows about the browser's request."""

    ip: str
    #: Where links in mail point, e.g. ``https://tickets.example.org``.
    base_url: str


async def _count(core: Core, rule: str, *keys: str) -> None:
    """Count one failure; being over the limit is answered by the next attempt."""
    with contextlib.suppress(RateLimited):
        await core.limiter.hit(rule, *keys)


def customer_principal(tenant_id: int, customer_id: int) -> Principal:
    return Principal(
        tenant_id=tenant_id, actor="customer", full_access=False, customer_id=customer_id
    )


async def sign_up(
    core: Core,
    tenant: TenantView,
    client: Client,
    cmd: NewCustomer,
    *,
    honeypot: str | None,
    captcha_token: str | None,
    parts: Collection[str] = (),
) -> tuple[CustomerView, str | None]:
    """Create a customer from the website; returns it and, with a password, a session token.

    A public write: ``bots.check_public_write`` first, and the password hashed in the bounded
    sign-up lane once everything else is checked (``create_customer(public=True)``)."""
    signals = bots.BotSignals(honeypot=honeypot, captcha_token=captcha_token)
    await bots.check_public_write(core, tenant, client.ip, bots.SIGN_UP, signals)
    web = Principal(tenant_id=tenant.id, actor="web", full_access=False)
    view = await customer_service.create_customer(
        core, web, cmd, channel="website", parts=parts, public=True
    )
    token = None
    if cmd.password:
        audit.identify(_customer_caller(view.id, "customer-password"))
        token = await core.session_store.create(tenant.id, view.id)
        await _record(core, tenant.id, view.id, "logged_in", method="sign-up")
    return view, token


async def _record(core: Core, tenant_id: int, customer_id: int, kind: str, **data: Any) -> None:
    async with core.uow(tenant_id, write=True) as uow:
        uow.customers.record(customer_id, kind, "customer", **data)
        await uow.commit()


def record_after_answer(
    core: Core, tenant_id: int, customer_id: int, kind: str, **data: Any
) -> None:
    """Append a timeline entry in a task of its own, so the request answers without waiting
    for the write (``Core.background``; ``Core.settle`` and ``Core.dispose`` wait for it)."""
    if len(core.background) >= MAX_PENDING_RECORDS:
        log.warning("timeline_entry_left_out", kind=kind, pending=len(core.background))
        return
    task = asyncio.create_task(_record(core, tenant_id, customer_id, kind, **data))
    core.background.add(task)
    task.add_done_callback(functools.partial(_recorded, core, kind))


def _recorded(core: Core, kind: str, task: asyncio.Task[None]) -> None:
    core.background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("timeline_entry_failed", kind=kind, error=type(task.exception()).__name__)


async def authenticate(
    core: Core, tenant: TenantView, client: Client, email: str, password: str
) -> tuple[int, str]:
    """Check a password; returns (customer id, new session token).

    An unknown address, an account without a password and a wrong password get one answer
    after the same work: one read of the account by its key, one Argon2 verification in the
    same threads with the stored hashes' parameters (the dummy hash's for no hash), the same
    rate-limit counting, and no write. The known account's ``login_failed`` timeline entry is
    written after the answer (:func:`record_after_answer`), so that path waits for nothing
    the unknown one skips (issue 15, finding 5)."""
    await core.limiter.hit(
        bots.limit_rule(tenant, "login_per_ip", ratelimit.LOGIN_PER_IP),
        "login",
        tenant.name,
        client.ip,
    )
    key = normalise_email(email or "")
    pair, account = credentials.login_locks(tenant.name, credentials.WEB_LOGIN, key, client.ip)
    if not await core.limiter.test(
        credentials.LOCK_PAIR_AFTER, *pair
    ) or not await core.limiter.test(credentials.LOCK_ACCOUNT_AFTER, *account):
        raise RateLimited(retry_after=15 * 60)
    async with core.uow(tenant.id) as uow:
        row = await uow.customers.by_email_key(key)
        customer_id = row.id if row is not None else None
        stored = row.password_hash if row is not None else None
    if stored is not None:
        ok = await verify_password_async(stored, password or "")
    else:
        ok = await verify_dummy_async(password or "")
    if not ok or customer_id is None or stored is None:
        slow = not await core.limiter.test(SLOW_AFTER, *pair)
        await _count(core, SLOW_AFTER, *pair)
        await _count(core, credentials.LOCK_PAIR_AFTER, *pair)
        await _count(core, credentials.LOCK_ACCOUNT_AFTER, *account)
        if customer_id is not None:
            record_after_answer(core, tenant.id, customer_id, "login_failed")
        if slow:
            await asyncio.sleep(SLOWDOWN_SECONDS)
        raise NotFound("Customer", "invalid email or password")
    audit.identify(_customer_caller(customer_id, "customer-password"))
    await core.limiter.clear(SLOW_AFTER, *pair)
    await core.limiter.clear(credentials.LOCK_PAIR_AFTER, *pair)
    rehashed = await credentials.rehash_due(stored, password)
    token = await core.session_store.create(tenant.id, customer_id)
    async with core.uow(tenant.id, write=True) as uow:
        await credentials.store_rehash(uow, customer_id, stored, rehashed)
        uow.customers.record(customer_id, "logged_in", "customer", method="password")
        await uow.commit()
    return customer_id, token


async def session_customer(core: Core, tenant_id: int, token: str | None) -> int | None:
    if not token or len(token) > 200:
        return None
    customer_id = await core.session_store.customer(tenant_id, token)
    if customer_id is not None:
        audit.identify(_customer_caller(customer_id, "customer-session"))
    return customer_id


async def session_customer_view(
    core: Core, tenant_id: int, token: str | None
) -> tuple[Principal, CustomerView]:
    """The customer logged in on a web session, and their view (``customers.get_customer``
    without parts), the session and the customer read together where the store can
    (``SessionStore.customer_with``, decision 0085)."""
    found = None
    if token and len(token) <= 200:
        found = await core.session_store.customer_with(
            tenant_id, token, core.read, _customer_record
        )
    if found is None:
        raise Unauthenticated("no customer is logged in")
    customer_id, record = found
    audit.identify(_customer_caller(customer_id, "customer-session"))
    if record is None:
        raise NotFound("Customer", customer_id)
    principal = customer_principal(tenant_id, customer_id)
    return principal, customer_service.record_view(principal, record)


async def _customer_record(uow: ReadUnitOfWork, customer_id: int) -> CustomerRecord | None:
    return await uow.lookups.customer_by_id(customer_id)


def _customer_caller(customer_id: int, credential: str) -> audit.Caller:
    code = customer_code(customer_id)
    return audit.Caller(f"customer:{code}", credential, code)


async def log_out(core: Core, tenant_id: int, token: str) -> None:
    customer_id = await core.session_store.customer(tenant_id, token)
    await core.session_store.delete(tenant_id, token)
    if customer_id is not None:
        await _record(core, tenant_id, customer_id, "logged_out")


async def change_password(core: Core, tenant_id: int, customer_id: int, old: str, new: str) -> str:
    """Change a password, given the current one. Every credential of the customer ends
    (``credentials.write_password``), this browser's session too: returns a fresh one."""
    new = rules.check_password(new)
    current = await credentials.check_current_password(core, tenant_id, customer_id, old)
    hashed = await hash_password_async(new)
    await _set_password(core, tenant_id, customer_id, hashed, "password_changed", current=current)
    return await core.session_store.create(tenant_id, customer_id)


async def _set_password(
    core: Core, tenant_id: int, customer_id: int, hashed: str, kind: str, *, current: str
) -> None:
    """Write a checked change (``credentials.write_password``) in a transaction of its own."""
    async with core.uow(tenant_id, write=True) as uow:
        row = await uow.customers.get(customer_id, for_update=True)
        if row is None:
            raise NotFound("Customer", customer_id)
        await credentials.write_password(
            uow, row, hashed, kind=kind, actor="customer", current=current
        )
        await uow.commit()
    await credentials.end_sessions_elsewhere(core, tenant_id, customer_id)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _issue_token(core: Core, tenant_id: int, customer_id: int, purpose: str) -> str:
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with core.uow(tenant_id, write=True) as uow:
        uow.customers.add(
            CustomerToken(
                token_hash=_hash(token),
                customer_id=customer_id,
                purpose=purpose,
                created_at=now,
                expires_at=now + timedelta(minutes=TOKEN_MINUTES[purpose]),
                used_at=None,
            )
        )
        await uow.commit()
    return token


async def _valid_token(
    uow: UnitOfWork, token: str, purpose: str, *, for_update: bool = False
) -> CustomerToken:
    """A mailed token that may be used now; an unknown, used, expired or foreign token (or
    one ended by a password change since: ``credentials``) is refused alike."""
    if not token or len(token) > 200:
        raise InvalidInput("token", "invalid or expired")
    stmt = select(CustomerToken).where(
        CustomerToken.token_hash == _hash(token), CustomerToken.purpose == purpose
    )
    if for_update:
        stmt = stmt.with_for_update()
    row = (await uow.session.execute(stmt)).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= datetime.now(UTC):
        raise InvalidInput("token", "invalid or expired")
    return row


async def _redeem_token(uow: UnitOfWork, token: str, purpose: str) -> int:
    """Use a mailed token once, in the caller's transaction; returns its customer."""
    row = await _valid_token(uow, token, purpose, for_update=True)
    row.used_at = datetime.now(UTC)
    return row.customer_id


@dataclass(frozen=True, slots=True)
class _Recipient:
    customer_id: int
    first_name: str
    #: The address stored on the account: the only one mail is sent to.
    email: str


async def _find_for_mail(core: Core, tenant: TenantView, email: str) -> _Recipient:
    """The account an address names (by its key), and the address to mail: the stored one,
    never the caller's spelling (issue 15, finding 2)."""
    async with core.uow(tenant.id) as uow:
        row = await uow.customers.by_email_key(normalise_email(email))
        if row is None or row.email is None:
            raise NotFound("Customer", "no account with this email address")
        return _Recipient(row.id, row.first_name, row.email)


async def request_password_reset(
    core: Core, tenant: TenantView, client: Client, email: str
) -> None:
    email = (email or "").strip()
    if not email:
        raise InvalidInput("email", "required")
    await core.limiter.hit(
        bots.limit_rule(tenant, "reset_per_ip", ratelimit.LOGIN_PER_IP),
        "reset-ip",
        tenant.name,
        client.ip,
    )
    await core.limiter.hit(
        bots.limit_rule(tenant, "reset_per_account", ratelimit.RESET_PER_ACCOUNT),
        "reset",
        tenant.name,
        normalise_email(email),
    )
    recipient = await _find_for_mail(core, tenant, email)
    token = await _issue_token(core, tenant.id, recipient.customer_id, RESET)
    link = (
        f"{client.base_url.rstrip('/')}/{tenant.name}/website/Secure/SetPassword.aspx?token={token}"
    )
    await mail.deliver(
        core.mailer,
        tenant,
        recipient.email,
        "password_reset",
        {
            "tenant_name": tenant.display_name,
            "customer_first_name": recipient.first_name,
            "link": link,
            "expires_minutes": TOKEN_MINUTES[RESET],
        },
    )
    await _record(core, tenant.id, recipient.customer_id, "password_reset_requested")


async def reset_password(core: Core, tenant: TenantView, token: str, password: str) -> int:
    """Set a password with a mailed reset token. The token is checked first (a read: a bad
    one costs no hash), then used in the transaction that writes the password and ends every
    credential of the customer, itself and every other mailed token included
    (``credentials.write_password``)."""
    password = rules.check_password(password)
    async with core.uow(tenant.id) as uow:
        await _valid_token(uow, token, RESET)
    hashed = await hash_password_async(password)
    async with core.uow(tenant.id, write=True) as uow:
        customer_id = (await _valid_token(uow, token, RESET, for_update=True)).customer_id
        row = await uow.customers.get(customer_id, for_update=True)
        if row is None:
            raise InvalidInput("token", "invalid or expired")
        await credentials.write_password(uow, row, hashed, kind="password_reset", actor="customer")
        await uow.commit()
    await credentials.end_sessions_elsewhere(core, tenant.id, customer_id)
    await credentials.clear_login_locks(core, tenant.name, tenant.id, customer_id)
    return customer_id


def check_callback(tenant: TenantView, client: Client, callback: str) -> str:
    """A magic-link callback must carry ``{token}`` and point at one of the tenant's sites."""
    if not callback or "{token}" not in callback:
        raise InvalidInput("callbackUrl", "must contain the {token} placeholder")
    parts = urlsplit(callback.replace("{token}", "x"))
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    allowed = {o.lower() for o in tenant.origins} | {client.base_url.rstrip("/").lower()}
    if parts.scheme not in ("http", "https") or origin not in allowed:
        raise InvalidInput("callbackUrl", "must be on one of the venue's allowed websites")
    return callback


async def send_magic_link(
    core: Core, tenant: TenantView, client: Client, email: str, callback: str
) -> None:
    email = (email or "").strip()
    if not email:
        raise InvalidInput("email", "required")
    callback = check_callback(tenant, client, callback)
    await core.limiter.hit(
        bots.limit_rule(tenant, "magic_link_per_ip", ratelimit.LOGIN_PER_IP),
        "magic-ip",
        tenant.name,
        client.ip,
    )
    await core.limiter.hit(
        bots.limit_rule(tenant, "magic_link_per_account", ratelimit.MAGIC_LINK_PER_ACCOUNT),
        "magic",
        tenant.name,
        normalise_email(email),
    )
    try:
        recipient = await _find_for_mail(core, tenant, email)
    except NotFound:
        return  # the same answer whether or not the address has an account
    token = await _issue_token(core, tenant.id, recipient.customer_id, MAGIC)
    await mail.deliver(
        core.mailer,
        tenant,
        recipient.email,
        "magic_link",
        {
            "tenant_name": tenant.display_name,
            "customer_first_name": recipient.first_name,
            "link": callback.replace("{token}", token),
            "expires_minutes": TOKEN_MINUTES[MAGIC],
        },
    )


async def authenticate_magic_link(core: Core, tenant: TenantView, token: str) -> tuple[int, str]:
    async with core.uow(tenant.id, write=True) as uow:
        customer_id = await _redeem_token(uow, token, MAGIC)
        await uow.commit()
    session = await core.session_store.create(tenant.id, customer_id)
    await credentials.clear_login_locks(core, tenant.name, tenant.id, customer_id)
    await _record(core, tenant.id, customer_id, "logged_in", method="magic-link")
    return customer_id, session
