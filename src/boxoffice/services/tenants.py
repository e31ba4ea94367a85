"""Tenants and the credentials that open them."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from boxoffice.domain.errors import AlreadyExists, InvalidInput, NotFound, Unauthenticated
from boxoffice.domain.ids import new_row_key
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import ApiKeyView, ApiUserView, InterfaceUserView, TenantView
from boxoffice.security import signatures
from boxoffice.services import audit
from boxoffice.services.core import Core
from boxoffice.store.models import ApiKey, ApiUser, Brand, InterfaceUser, Tenant, TenantOrigin
from boxoffice.store.repositories import Credentials
from boxoffice.store.uow import UnitOfWork

TENANT_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
ORIGIN_RE = re.compile(r"(?i)^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
LOGIN_RE = re.compile(r"^[^\s:]{1,200}$")
_TENANT_TTL = 30.0
#: How long a worker keeps an API user's decrypted secret: a disabled or replaced credential
#: stops working on every worker within this time (decision 0071).
API_USER_TTL = 10.0
_API_USERS_MAX = 1024


def _view(tenant: Tenant, origins: tuple[str, ...]) -> TenantView:
    return TenantView(tenant.id, tenant.name, tenant.display_name, origins, dict(tenant.settings))


def normalise_origin(origin: str) -> str:
    origin = origin.strip().rstrip("/")
    if not ORIGIN_RE.match(origin):
        raise InvalidInput("origin", f"not an origin (scheme://host[:port]): {origin!r}")
    scheme, rest = origin.split("://", 1)
    return f"{scheme.lower()}://{rest.lower()}"


async def create_tenant(
    core: Core, name: str, *, origins: tuple[str, ...] = (), display_name: str = ""
) -> TenantView:
    if not TENANT_NAME_RE.match(name):
        raise InvalidInput("name", "lower-case letters, digits, '-' and '_', at most 63")
    clean = tuple(dict.fromkeys(normalise_origin(o) for o in origins))
    async with core.uow(None, write=True) as uow:
        if await uow.operators.tenant_by_name(name) is not None:
            raise AlreadyExists("tenant", name)
        tenant = Tenant(
            name=name, display_name=display_name or name, settings={}, created_at=datetime.now(UTC)
        )
        uow.operators.add(tenant)
        try:
            await uow.flush()
            for origin in clean:
                uow.operators.add(TenantOrigin(tenant_id=tenant.id, origin=origin))
            await uow.commit()
        except IntegrityError as exc:
            raise AlreadyExists("tenant", name) from exc
        return _view(tenant, clean)


async def get_tenant(core: Core, name: str) -> TenantView:
    """The tenant called ``name``, from a short-lived per-process cache."""
    if not TENANT_NAME_RE.match(name):
        raise NotFound("tenant", name)
    cached = core.cache.get(f"tenant:{name}")
    if cached is not None and cached[0] > time.monotonic():
        view: TenantView = cached[1]
        return view
    async with core.uow(None) as uow:
        tenant = await uow.operators.tenant_by_name(name)
        if tenant is None:
            raise NotFound("tenant", name)
        view = _view(tenant, tuple(await uow.operators.origins(tenant.id)))
    core.cache[f"tenant:{name}"] = (time.monotonic() + _TENANT_TTL, view)
    return view


def forget_tenant(core: Core, name: str) -> None:
    core.cache.pop(f"tenant:{name}", None)


async def create_api_user(core: Core, tenant_name: str, login: str) -> str:
    """Create a System Owner credential; returns its base64 secret key (shown once)."""
    if not LOGIN_RE.match(login):
        raise InvalidInput("login", "1 to 200 characters, no spaces or ':'")
    tenant = await get_tenant(core, tenant_name)
    secret = signatures.new_secret_key()
    async with core.uow(tenant.id, write=True) as uow:
        if await uow.operators.api_user(tenant.id, login) is not None:
            raise AlreadyExists("api user", login)
        uow.operators.add(
            ApiUser(
                login=login,
                secret_encrypted=core.secret_box.encrypt(secret),
                created_at=datetime.now(UTC),
            )
        )
        try:
            await uow.commit()
        except IntegrityError as exc:
            raise AlreadyExists("api user", login) from exc
    return secret


async def list_tenants(core: Core) -> list[TenantView]:
    """Every tenant, by name."""
    async with core.uow(None) as uow:
        return [
            _view(tenant, tuple(await uow.operators.origins(tenant.id)))
            for tenant in await uow.operators.tenants()
        ]


async def list_api_users(core: Core, tenant_name: str) -> list[ApiUserView]:
    tenant = await get_tenant(core, tenant_name)
    async with core.uow(tenant.id) as uow:
        users = await Credentials(uow.session).api_users()
        return [ApiUserView(u.login, u.created_at, u.disabled) for u in users]


async def disable_api_user(core: Core, tenant_name: str, login: str) -> None:
    """Refuse the user's signed requests: at once in this process, within
    :data:`API_USER_TTL` seconds on every server worker (decision 0071)."""
    await _set_api_user(core, tenant_name, login, disabled=True)


async def enable_api_user(core: Core, tenant_name: str, login: str) -> None:
    await _set_api_user(core, tenant_name, login, disabled=False)


async def rotate_api_user(core: Core, tenant_name: str, login: str) -> str:
    """Give the user a new secret key (returned, shown once); the old one stops verifying
    like a disabled user's (decision 0108). Whether the user is enabled does not change."""
    secret = signatures.new_secret_key()
    await _set_api_user(core, tenant_name, login, secret=secret)
    return secret


async def _set_api_user(
    core: Core,
    tenant_name: str,
    login: str,
    *,
    disabled: bool | None = None,
    secret: str | None = None,
) -> None:
    tenant = await get_tenant(core, tenant_name)
    async with core.uow(tenant.id, write=True) as uow:
        user = await uow.operators.api_user(tenant.id, login)
        if user is None:
            raise NotFound("api user", login)
        if disabled is not None:
            user.disabled = disabled
        if secret is not None:
            user.secret_encrypted = core.secret_box.encrypt(secret)
        await uow.commit()
    forget_api_users(core)


async def verify_signed_request(
    core: Core,
    tenant_id: int,
    *,
    authorization: str,
    method: str,
    candidate_urls: Iterable[str],
    date_header: str | None,
    body: bytes,
) -> Principal:
    """Verify a ``SpektrixAPI3`` signed request; the reason of a refusal is for logs only.

    ``candidate_urls`` is gone through once (it may make each URL when asked)."""
    parsed = signatures.parse_authorization(authorization)
    if parsed is None:
        raise Unauthenticated("malformed Authorization header")
    login, signature = parsed
    if not date_header:
        raise Unauthenticated("missing Date header")
    signed_at = signatures.parse_http_date(date_header)
    if signed_at is None:
        raise Unauthenticated("unreadable Date header")
    window = core.signature_window_seconds
    if not signatures.date_within_window(signed_at, datetime.now(UTC), window):
        raise Unauthenticated("Date header outside the accepted window")
    secret = await _api_user_secret(core, tenant_id, login)
    if secret is None:
        # Spend the same work as a real check, so unknown logins are not told apart by timing.
        signatures.verify(
            signatures.new_secret_key(), method, candidate_urls, date_header, body, signature
        )
        raise Unauthenticated(f"unknown or disabled login {login!r}")
    if not signatures.verify(secret, method, candidate_urls, date_header, body, signature):
        raise Unauthenticated(f"signature mismatch for login {login!r}")
    audit.identify(audit.Caller(f"api-user:{login}", "api-user", login))
    return Principal(tenant_id=tenant_id, actor=f"api-user:{login}", full_access=True)


async def _api_user_secret(core: Core, tenant_id: int, login: str) -> str | None:
    """An enabled API user's secret key, kept by this worker for :data:`API_USER_TTL` seconds.

    Only found users are kept (a flood of unknown logins cannot fill the cache), at most
    ``_API_USERS_MAX`` of them."""
    users: dict[tuple[int, str], tuple[float, str]] = core.cache.setdefault("api-users", {})
    now = time.monotonic()
    cached = users.get((tenant_id, login))
    if cached is not None and cached[0] > now:
        return cached[1]
    async with core.read(tenant_id) as uow:
        blob = await uow.lookups.api_user_secret(login)
    if blob is None:
        users.pop((tenant_id, login), None)
        return None
    secret = core.secret_box.decrypt(blob)
    if len(users) >= _API_USERS_MAX:
        users.clear()
    users[(tenant_id, login)] = (now + API_USER_TTL, secret)
    return secret


def forget_api_users(core: Core) -> None:
    """Drop this worker's kept API user secrets (after a change to API users)."""
    core.cache.pop("api-users", None)


PERMISSIONS = ("CUSTOMER_READ", "CUSTOMER_CUD")
USER_NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,200}$")


async def create_api_key(
    core: Core, tenant_name: str, *, permissions: tuple[str, ...], brand_id: int | None = None
) -> str:
    """Create a brand/channel API key; returns the key (shown once, stored hashed)."""
    unknown = [p for p in permissions if p not in PERMISSIONS]
    if unknown or not permissions:
        raise InvalidInput("permission", f"one or more of {', '.join(PERMISSIONS)}")
    tenant = await get_tenant(core, tenant_name)
    key = f"bo_{secrets.token_urlsafe(32)}"
    async with core.uow(tenant.id, write=True) as uow:
        if brand_id is not None and await uow.session.get(Brand, (tenant.id, brand_id)) is None:
            raise NotFound("brand", brand_id)
        uow.operators.add(
            ApiKey(
                id=new_row_key(),
                key_hash=hashlib.sha256(key.encode()).hexdigest(),
                brand_id=brand_id,
                permissions=sorted(set(permissions)),
                created_at=datetime.now(UTC),
            )
        )
        await uow.commit()
    return key


async def list_api_keys(core: Core, tenant_name: str) -> list[ApiKeyView]:
    tenant = await get_tenant(core, tenant_name)
    async with core.uow(tenant.id) as uow:
        keys = await Credentials(uow.session).api_keys()
        return [
            ApiKeyView(k.id, k.brand_id, tuple(k.permissions), k.created_at, k.disabled)
            for k in keys
        ]


async def _api_key(uow: UnitOfWork, tenant_id: int, ref: str) -> ApiKey:
    """A key of the tenant by its id (``api-key list``) or by the key itself."""
    ref = ref.strip()
    row: ApiKey | None = None
    if ref.isdigit() and len(ref) <= 19:
        row = await Credentials(uow.session).api_key(int(ref))
    elif ref and len(ref) <= 200 and ref.isascii():
        row = await uow.operators.api_key_by_hash(hashlib.sha256(ref.encode()).hexdigest())
        row = row if row is not None and row.tenant_id == tenant_id else None
        ref = "(the key given)"
    if row is None:
        raise NotFound("api key", ref)
    return row


async def set_api_key_disabled(core: Core, tenant_name: str, ref: str, disabled: bool) -> int:
    """Disable (or enable again) an API key, named by its id or the key itself; returns its
    id. Its next request is refused: keys are looked up on every request, never kept."""
    tenant = await get_tenant(core, tenant_name)
    async with core.uow(tenant.id, write=True) as uow:
        key = await _api_key(uow, tenant.id, ref)
        key.disabled = disabled
        await uow.commit()
        return key.id


async def rotate_api_key(core: Core, tenant_name: str, ref: str) -> tuple[int, str]:
    """Replace an API key (its id or the key itself) by a new one with the same brand and
    permissions, in one transaction: the old key is disabled; the new one's id and key are
    returned (the key shown once). Rotating a disabled key gives an enabled one (decision
    0108)."""
    tenant = await get_tenant(core, tenant_name)
    key = f"bo_{secrets.token_urlsafe(32)}"
    async with core.uow(tenant.id, write=True) as uow:
        old = await _api_key(uow, tenant.id, ref)
        old.disabled = True
        new = ApiKey(
            id=new_row_key(),
            key_hash=hashlib.sha256(key.encode()).hexdigest(),
            brand_id=old.brand_id,
            permissions=list(old.permissions),
            created_at=datetime.now(UTC),
        )
        uow.operators.add(new)
        await uow.commit()
        return new.id, key


async def list_interface_users(core: Core, tenant_name: str) -> list[InterfaceUserView]:
    tenant = await get_tenant(core, tenant_name)
    async with core.uow(tenant.id) as uow:
        credentials = Credentials(uow.session)
        counts = await credentials.device_token_counts()
        return [
            InterfaceUserView(u.user_name, u.created_at, u.disabled, counts.get(u.user_name, 0))
            for u in await credentials.interface_users()
        ]


async def set_interface_user_disabled(
    core: Core, tenant_name: str, user_name: str, disabled: bool
) -> None:
    """Disable (or enable again) an interface user: no new token is issued with its name, and
    the tokens issued with it are refused from their next request (each request reads the
    user's state with the token); they work again once it is enabled."""
    tenant = await get_tenant(core, tenant_name)
    async with core.uow(tenant.id, write=True) as uow:
        user = await Credentials(uow.session).interface_user(user_name)
        if user is None:
            raise NotFound("interface user", user_name)
        user.disabled = disabled
        await uow.commit()


async def rotate_interface_user(core: Core, tenant_name: str, user_name: str) -> int:
    """End every device token issued with the user name (how many): the name itself is no
    secret (apps ship it), the tokens are. Apps ask for new tokens (decision 0108)."""
    tenant = await get_tenant(core, tenant_name)
    async with core.uow(tenant.id, write=True) as uow:
        credentials = Credentials(uow.session)
        if await credentials.interface_user(user_name) is None:
            raise NotFound("interface user", user_name)
        ended = await credentials.end_device_tokens(user_name)
        await uow.commit()
    return ended


async def create_interface_user(core: Core, tenant_name: str, user_name: str) -> str:
    if not USER_NAME_RE.match(user_name):
        raise InvalidInput("user_name", "1 to 200 letters, digits, '_', '.', '@' or '-'")
    tenant = await get_tenant(core, tenant_name)
    async with core.uow(tenant.id, write=True) as uow:
        if await uow.session.get(InterfaceUser, (tenant.id, user_name)) is not None:
            raise AlreadyExists("interface user", user_name)
        uow.operators.add(InterfaceUser(user_name=user_name, created_at=datetime.now(UTC)))
        await uow.commit()
    return user_name
