"""A customer's credentials: the password, and what stands for it once it has been proven.

A customer proves who they are with their password (or a link mailed to their address) and
gets credentials that stand for it from then on: web sessions (``store/session_store.py``),
device tokens an app logged them in on (``services/devices.py``) and mailed single-use tokens
(password reset, magic link: ``services/accounts.py``).

**One rule** (decision 0097): whenever a customer's password is set, whether changed by the
customer (website or app) or reset with a mailed link, every credential that stood for the
old one ends, in the transaction that writes the new hash (:func:`write_password`):

- web sessions: deleted there; a store that keeps them outside the database (Redis) ends them
  right after the commit (:func:`end_sessions_elsewhere`);
- device tokens the customer is logged in on: deleted (the app's next call is a 401, as for an
  expired token: it asks for a new token and logs in again);
- mailed tokens: deleted, so an earlier reset or magic link no longer works.

That is three set-based ``DELETE`` statements beside the password's ``UPDATE``. The credential
that made a change by the customer may carry on: an app's own token stays logged in
(``keep_device_token``, by its hash: the app cannot be handed a new one, and its caller has just proven the
current password); a website's session ends with the others and the browser gets a fresh one
(``accounts.change_password``).

A change by the customer needs the current password (:func:`check_current_password`). Wrong
ones are counted per customer, like failed logins: after :data:`LOCK_AFTER` the check is
refused for a while, so a stolen session or token is no way to guess the password either.

**Login locks** are kept here too, for every way of logging in (website: ``accounts``; apps:
``devices``): the rules (:data:`LOCK_PAIR_AFTER`, :data:`LOCK_ACCOUNT_AFTER`), the limiter keys
(:func:`login_locks`) and their clearing when the customer proves to own the account by mail
(:func:`clear_login_locks`: a password reset or a magic link ends the website's and the apps'
account locks alike). A successful login with a hash of older parameters stores a current one
(:func:`rehash_due`, :func:`store_rehash`).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from sqlalchemy import delete

from boxoffice.domain.errors import InvalidInput, RateLimited, Unauthenticated
from boxoffice.domain.rules import CARD_LOGIN, EMAIL_LOGIN, PHONE_LOGIN, login_identity
from boxoffice.security.passwords import hash_password_async, needs_rehash, verify_password_async
from boxoffice.services.core import Core
from boxoffice.store.models import Customer, CustomerToken, DeviceToken
from boxoffice.store.session_store import customer_sessions_deletion
from boxoffice.store.uow import UnitOfWork

#: The core's name of the current password, where a change needs it.
CURRENT_PASSWORD = "old_password"  # noqa: S105 (a field name)
#: Wrong current passwords per customer before the check is refused for a while.
LOCK_AFTER = "10/15 minutes"
LOCK_SECONDS = 15 * 60

#: Failed logins per (account, IP) and per account before they are refused for a while.
LOCK_PAIR_AFTER = "10/15 minutes"
LOCK_ACCOUNT_AFTER = "50/hour"
#: The ways of logging in, each with counters of its own: the website's (by email key) and
#: the apps' (by login type and identity: :func:`app_login_account`).
WEB_LOGIN, APP_LOGIN = "login", "app-login"


def app_login_account(login_type: str, identity: str) -> str:
    """The account an app login counts against: its type and ``rules.login_identity``."""
    return f"{login_type}:{identity[:254]}"


def login_locks(
    tenant_name: str, way: str, account: str, client_ip: str
) -> tuple[tuple[str, str, str, str], tuple[str, str, str]]:
    """The limiter keys of a way of logging in (:data:`WEB_LOGIN`, :data:`APP_LOGIN`): failures
    per (account, IP), counted with :data:`LOCK_PAIR_AFTER`, and per account, counted with
    :data:`LOCK_ACCOUNT_AFTER`."""
    return (f"{way}-fail", tenant_name, account, client_ip), (
        f"{way}-fail-account",
        tenant_name,
        account,
    )


async def clear_login_locks(core: Core, tenant_name: str, tenant_id: int, customer_id: int) -> None:
    """End the customer's account locks (a reset or magic link proved the mailbox): the
    website's by email key and the apps' by email, each phone number and card number. One
    read, then one limiter call per account key (the pair locks end by themselves)."""
    async with core.uow(tenant_id) as uow:
        row = await uow.customers.get(customer_id)
        if row is None:
            return
        email_key, phones, card = row.email_key, (row.mobile, row.phone), row.friendly_id
    accounts: set[tuple[str, str]] = set()
    if email_key:
        accounts.add((WEB_LOGIN, email_key))
        accounts.add((APP_LOGIN, app_login_account(EMAIL_LOGIN, email_key)))
    for login_type, value in (
        (PHONE_LOGIN, phones[0]),
        (PHONE_LOGIN, phones[1]),
        (CARD_LOGIN, card),
    ):
        identity = login_identity(login_type, value) if value else ""
        if identity:
            accounts.add((APP_LOGIN, app_login_account(login_type, identity)))
    for way, account in sorted(accounts):
        _pair, keys = login_locks(tenant_name, way, account, "")
        await core.limiter.clear(LOCK_ACCOUNT_AFTER, *keys)


async def rehash_due(stored: str, password: str) -> str | None:
    """After a successful login: a hash of ``password`` with the current parameters when
    ``stored`` was made with older ones (it costs another time to verify than the dummy
    hash), else None. Store it with :func:`store_rehash`."""
    return await hash_password_async(password) if needs_rehash(stored) else None


async def store_rehash(
    uow: UnitOfWork, customer_id: int, stored: str, rehashed: str | None
) -> None:
    """Replace ``stored`` with :func:`rehash_due`'s hash in the caller's transaction, unless
    the password changed meanwhile. Nothing to do (no statement) for None."""
    if rehashed is None:
        return
    current = await uow.customers.get(customer_id, for_update=True)
    if current is not None and current.password_hash == stored:
        current.password_hash = rehashed


async def check_current_password(
    core: Core, tenant_id: int, customer_id: int, given: str | None
) -> str:
    """Check the password a customer gives as their current one; returns the stored hash it
    matched (for :func:`write_password`'s ``current``). Missing: ``required``; wrong (or the
    customer has none): refused; too many wrong ones lately: ``RateLimited``."""
    if not given:
        raise InvalidInput(CURRENT_PASSWORD, "required")
    keys = ("password-check-fail", str(tenant_id), str(customer_id))
    if not await core.limiter.test(LOCK_AFTER, *keys):
        raise RateLimited(retry_after=LOCK_SECONDS)
    async with core.uow(tenant_id) as uow:
        row = await uow.customers.get(customer_id)
        if row is None:
            raise Unauthenticated("customer gone")
        stored = row.password_hash
    if stored is None or not await verify_password_async(stored, given):
        with contextlib.suppress(RateLimited):
            await core.limiter.hit(LOCK_AFTER, *keys)
        raise InvalidInput(CURRENT_PASSWORD, "does not match the current password")
    await core.limiter.clear(LOCK_AFTER, *keys)
    return stored


async def write_password(
    uow: UnitOfWork,
    row: Customer,
    hashed: str,
    *,
    kind: str,
    actor: str,
    current: str | None = None,
    keep_device_token: str | None = None,
) -> None:
    """Set a customer's password hash in the caller's transaction (``row`` read for update),
    with its timeline entry (``kind``), and end every other credential of the customer
    (:func:`end_credentials`). ``current``: the hash :func:`check_current_password` matched;
    should the stored one differ now (changed meanwhile), the change is refused like a wrong
    password. After the commit, call :func:`end_sessions_elsewhere`."""
    if current is not None and row.password_hash != current:
        raise InvalidInput(CURRENT_PASSWORD, "does not match the current password")
    row.password_hash = hashed
    row.updated_at = datetime.now(UTC)
    uow.customers.record(row.id, kind, actor)
    await end_credentials(uow, row.id, keep_device_token=keep_device_token)


async def end_credentials(
    uow: UnitOfWork, customer_id: int, *, keep_device_token: str | None = None
) -> None:
    """End, in the caller's transaction, the customer's web sessions kept in the database,
    the device tokens they are logged in on (but ``keep_device_token``, the SHA-256 of one:
    ``devices.token_hash``) and their mailed tokens: three ``DELETE`` statements."""
    await uow.session.execute(customer_sessions_deletion(customer_id))
    tokens = delete(DeviceToken).where(DeviceToken.customer_id == customer_id)
    if keep_device_token is not None:
        tokens = tokens.where(DeviceToken.token_hash != keep_device_token)
    await uow.session.execute(tokens)
    await uow.session.execute(delete(CustomerToken).where(CustomerToken.customer_id == customer_id))


async def end_sessions_elsewhere(core: Core, tenant_id: int, customer_id: int) -> None:
    """After the commit of :func:`write_password`: the customer's web sessions kept outside
    the database (Redis), which no transaction reaches. Nothing to do for the database's."""
    if not core.session_store.in_database:
        await core.session_store.delete_for_customer(tenant_id, customer_id)
