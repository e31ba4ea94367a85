"""CareCloud credentials -> the app's token and its Principal.

``POST /tokens`` needs no credentials; the legacy ``Basic base64("<user>:")`` names an interface
user, which must exist. Every other call sends ``Authorization: Bearer <token>`` or the legacy
``Basic base64("<user>:<token>")`` (the text after the first colon, trimmed, is the token).
A token with nobody logged in reaches the catalogue and sign-up; a token with a customer
logged in reaches that customer only. Any failure is a 401 whose reason goes to the log.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, Request

from boxoffice.api.carecloud import mappers as m
from boxoffice.api.common.observability import loggable_path
from boxoffice.api.common.session import client_info
from boxoffice.api.common.state import CoreDep, StateDep, core_of
from boxoffice.domain.errors import InvalidInput, NotFound, PermissionDenied, Unauthenticated
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import DeviceTokenView, ProfileView, TenantView
from boxoffice.services import devices, profiles
from boxoffice.services.accounts import Client
from boxoffice.services.tenants import get_tenant

log = structlog.get_logger("boxoffice.carecloud.auth")


async def tenant(tenant: str, core: CoreDep) -> TenantView:
    return await get_tenant(core, tenant)


TenantDep = Annotated[TenantView, Depends(tenant)]


@dataclass(frozen=True, slots=True)
class Credentials:
    """What an ``Authorization`` header says: an interface user (Basic) and/or a token."""

    user_name: str | None
    token: str


def parse_authorization(header: str | None) -> Credentials | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return Credentials(None, value.strip())
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, colon, token = decoded.partition(":")
        if not colon or not user:
            return None
        return Credentials(user, token.strip())
    return None


def has_credentials(authorization: str) -> bool:
    """Whether an ``Authorization`` value is one of this dialect's credentials (``Basic``,
    ``Bearer``), however valid: the cross-site check lets such requests through to
    authentication, which a browser never sends by itself (``api/common/browser.py``)."""
    return parse_authorization(authorization) is not None


async def sign_up_user(request: Request, tenant: TenantDep, core: CoreDep) -> str | None:
    """``POST /tokens``: the interface user of the legacy Basic form, else none."""
    credentials = parse_authorization(request.headers.get("authorization"))
    if credentials is None or credentials.user_name is None:
        return None
    return credentials.user_name


InterfaceUser = Annotated[str | None, Depends(sign_up_user)]


@dataclass(frozen=True, slots=True)
class App:
    """The calling app: its tenant, token, rights and language preferences (best first)."""

    tenant: TenantView
    token: str
    device: DeviceTokenView
    principal: Principal
    languages: tuple[str, ...]


def languages(request: Request, device: DeviceTokenView | None = None) -> tuple[str, ...]:
    """``Accept-Language`` first, then the language the app chose at setup."""
    preferred = m.accept_language(request.headers.get("accept-language"))
    if device is not None and device.language:
        preferred.append(device.language)
    return tuple(preferred)


def _token(request: Request) -> Credentials:
    credentials = parse_authorization(request.headers.get("authorization"))
    if credentials is None or not credentials.token:
        raise Unauthenticated("no token")
    return credentials


def _app(request: Request, tenant: TenantView, token: str, device: DeviceTokenView) -> App:
    return App(
        tenant=tenant,
        token=token,
        device=device,
        principal=devices.token_principal(tenant.id, device),
        languages=languages(request, device),
    )


def _refused(request: Request, tenant: TenantView, exc: Unauthenticated) -> None:
    # The route's template, not the path: the path of a token's own routes holds the token.
    log.warning(
        "token_refused", tenant=tenant.name, reason=exc.reason, route=loggable_path(request.scope)
    )


#: Where a request keeps its caller once authenticated: the dependencies below take it from
#: there, so an endpoint that names two of them checks the token once.
_CALLER_KEY = "boxoffice.carecloud.caller"


async def _caller(request: Request, tenant_name: str) -> App:
    """The app behind the request's token. The dependencies below call it rather than nest
    in one another (each dependency FastAPI resolves costs about as much CPU as the token's
    lookup: ``state.core_of``)."""
    cached = request.scope.get(_CALLER_KEY)
    if isinstance(cached, App):
        return cached
    core = core_of(request)
    tenant = await get_tenant(core, tenant_name)
    credentials = _token(request)
    try:
        device = await devices.authenticate_token(
            core, tenant.id, credentials.token, credentials.user_name
        )
    except Unauthenticated as exc:
        _refused(request, tenant, exc)
        raise
    found = request.scope[_CALLER_KEY] = _app(request, tenant, credentials.token, device)
    return found


async def token_profile(
    request: Request, tenant_name: str, customer_code: str
) -> tuple[App, tuple[ProfileView, str, str]]:
    """``GET customers/{customer_id}``: the caller (a token with a customer logged in, asking
    for that customer) and the customer's profile, read in one read-only unit of work
    (``profiles.get_token_profile``, decision 0085)."""
    core = core_of(request)
    tenant = await get_tenant(core, tenant_name)
    credentials = _token(request)
    made: list[App] = []

    def choose(device: DeviceTokenView) -> tuple[int, tuple[str, ...]]:
        caller = require_customer(_app(request, tenant, credentials.token, device))
        made.append(caller)
        return own_customer(customer_code, caller), caller.languages

    try:
        _device, found = await profiles.get_token_profile(
            core, tenant.id, credentials.token, credentials.user_name, choose
        )
    except Unauthenticated as exc:
        _refused(request, tenant, exc)
        raise
    request.scope[_CALLER_KEY] = made[0]
    return made[0], found


async def app(request: Request, tenant: str) -> App:
    """The calling app (``tenant``: the path's, declared here for the API document)."""
    return await _caller(request, tenant)


AppDep = Annotated[App, Depends(app)]


def require_customer(caller: App) -> App:
    if caller.device.customer_id is None:
        raise PermissionDenied("No customer is logged in on this token.")
    return caller


async def logged_in(request: Request, tenant: str) -> App:
    return require_customer(await _caller(request, tenant))


CustomerApp = Annotated[App, Depends(logged_in)]


def own_customer(code: str, caller: App) -> int:
    """A customer id sent by an app with a logged-in customer: that customer's, or a 400
    ``not_belong_to_logged_in_customer`` (the same for another customer, another tenant's
    customer and no customer at all)."""
    keys = m.decode(m.CUSTOMER, code)
    if keys is None or keys[0] != caller.device.customer_id:
        raise InvalidInput("customer_id", "not_belong_to_logged_in_customer")
    return keys[0]


async def path_customer(customer_id: str, request: Request, tenant: str) -> int:
    return own_customer(customer_id, require_customer(await _caller(request, tenant)))


PathCustomer = Annotated[int, Depends(path_customer)]


async def path_token(token_id: str, request: Request, tenant: str) -> App:
    """``/tokens/{token_id}``: the caller's own token, else it looks missing."""
    caller = await _caller(request, tenant)
    if not hmac.compare_digest(token_id.encode(), caller.token.encode()):
        raise NotFound("Token", token_id)
    return caller


OwnToken = Annotated[App, Depends(path_token)]


async def client(request: Request, state: StateDep) -> Client:
    return client_info(request, state)


ClientDep = Annotated[Client, Depends(client)]
