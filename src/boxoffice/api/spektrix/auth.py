"""Spektrix credentials -> a Principal.

No ``Authorization`` header is web mode (public data; a customer's cookie session comes with
the web-mode work). ``Authorization: SpektrixAPI3 <login>:<signature>`` is System Owner mode: the
signature must verify against the URL as the client sent it, or any failure is a 401.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Annotated

import structlog
from fastapi import Depends, Request
from starlette.types import Scope

from boxoffice.api.common.headers import first_values
from boxoffice.api.common.session import (
    SESSION_COOKIE,
    clear_session_cookie,
    client_info,
    is_https,
    session_token,
    set_session_cookie,
)
from boxoffice.api.common.state import AppState, CoreDep, core_of
from boxoffice.domain.errors import NotFound, Unauthenticated
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import TenantView
from boxoffice.security import signatures
from boxoffice.security.signatures import BODYLESS_METHODS
from boxoffice.services.accounts import (
    customer_principal,
    session_customer,
)
from boxoffice.services.tenants import get_tenant, verify_signed_request

__all__ = [
    "SESSION_COOKIE",
    "clear_session_cookie",
    "client_info",
    "is_https",
    "session_token",
    "set_session_cookie",
]

log = structlog.get_logger("boxoffice.spektrix.auth")


VENDOR_HOST = "system.spektrix.com"
VENDOR_BASE_URL = f"https://{VENDOR_HOST}"


def signed_for_the_vendor_host(scope: Scope, host: str | None) -> bool:
    """The edge's exception for this dialect (``api/common/edge.py``): a System Owner request
    addressed to the vendor's own host (clients that hard-code it and override ``Host``). Its
    signature decides the rest; it never reaches a page or a mail."""
    if host != VENDOR_HOST:
        return False
    (header,) = first_values(scope, b"authorization")
    return header is not None and is_signed(header)


def is_signed(authorization: str) -> bool:
    """Whether an ``Authorization`` value is this dialect's server-to-server credential
    (``SpektrixAPI3 login:signature``, however valid), which browsers never send by
    themselves: the cross-site check lets such requests through to the signature check."""
    return signatures.parse_authorization(authorization) is not None


def candidate_urls(request: Request, public_urls: list[str]) -> list[str]:
    """The URLs a client may have signed: as sent to this host, to a configured public base
    URL, or to the vendor's own host (clients that override ``Host``). The likeliest come
    first (signatures are tried in this order): this host with the request's own scheme.
    The host and scheme are the ones the edge settled (a trusted proxy's ``X-Forwarded-*``
    already applied; an untrusted one never read)."""
    (host,) = first_values(request.scope, b"host")
    return list(_candidate_urls(request.scope, host, public_urls))


def _candidate_urls(scope: Scope, host: str | None, public_urls: list[str]) -> Iterator[str]:
    """:func:`candidate_urls`, each made when the check comes to it (most requests match the
    first)."""
    raw_path = scope.get("raw_path") or scope["path"].encode()
    target = raw_path.decode("latin-1")
    if scope.get("query_string"):
        target += "?" + scope["query_string"].decode("latin-1")
    schemes = ("http", "https") if scope.get("scheme") == "http" else ("https", "http")
    seen: set[str] = set()
    for url in chain(
        (f"{scheme}://{host}{target}" for scheme in schemes if host),
        (base.rstrip("/") + target for base in public_urls),
        (VENDOR_BASE_URL + target,),
    ):
        if url not in seen:
            seen.add(url)
            yield url


async def tenant(client: str, core: CoreDep) -> TenantView:
    try:
        return await get_tenant(core, client)
    except NotFound as exc:
        raise NotFound("Client", client) from exc


TenantDep = Annotated[TenantView, Depends(tenant)]


async def _principal(request: Request, client: str) -> Principal:
    """Who is asking: the tenant from the path, then web mode (no ``Authorization``) or a
    System Owner whose signature verifies. One function under one dependency
    (:func:`principal`, :func:`owner`), taking the core itself (``state.core_of``)."""
    core = core_of(request)
    state: AppState = request.app.state.boxoffice
    try:
        tenant = await get_tenant(core, client)
    except NotFound as exc:
        raise NotFound("Client", client) from exc
    scope = request.scope
    header, date, host = first_values(scope, b"authorization", b"date", b"host")
    if header is None:
        return Principal(tenant_id=tenant.id, actor="web", full_access=False)
    method = request.method
    try:
        return await verify_signed_request(
            core,
            tenant.id,
            authorization=header,
            method=method,
            candidate_urls=_candidate_urls(scope, host, state.settings.public_urls),
            date_header=date,
            # GET and HEAD are signed without a body line: nothing to read.
            body=b"" if method in BODYLESS_METHODS else await request.body(),
        )
    except Unauthenticated as exc:
        log.warning("signature_refused", tenant=tenant.name, reason=exc.reason, method=method)
        raise


async def principal(request: Request, client: str) -> Principal:
    """Web mode or a verified System Owner (``client``: the path's tenant, declared here for
    the API document)."""
    return await _principal(request, client)


async def owner(request: Request, client: str) -> Principal:
    p = await _principal(request, client)
    if not p.full_access:
        raise Unauthenticated("System Owner mode needs a signed request")
    return p


AnyPrincipal = Annotated[Principal, Depends(principal)]
OwnerPrincipal = Annotated[Principal, Depends(owner)]


# --- web mode: the customer's browser session ----------------------------------------------


async def web_customer(request: Request, tenant: TenantDep, core: CoreDep) -> Principal:
    customer_id = await session_customer(core, tenant.id, session_token(request))
    if customer_id is None:
        raise Unauthenticated("no customer is logged in")
    return customer_principal(tenant.id, customer_id)


WebCustomer = Annotated[Principal, Depends(web_customer)]
