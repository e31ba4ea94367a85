"""The ``apiKey`` header -> the caller (a tenant, maybe limited to one brand) and its rights.

The tenant comes from the key. At ``/{tenant}/api/v2/`` the key must also belong to that
tenant; a key of another tenant is refused exactly like an unknown key. A missing or unknown
key is a 401; a key without the permission an endpoint needs is a 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import structlog
from fastapi import Depends, Request

from boxoffice.api.common.state import core_of
from boxoffice.domain.errors import Unauthenticated
from boxoffice.domain.views import ApiKeyCaller
from boxoffice.services import brandchannel as svc

log = structlog.get_logger("boxoffice.brandchannel.auth")

API_KEY_HEADER = "apiKey"
#: Where ``app.py`` leaves the tenant name of a ``/{tenant}/api/v2/`` request.
TENANT_SCOPE_KEY = "boxoffice.brandchannel.tenant"
READ, CUD = svc.CUSTOMER_READ, svc.CUSTOMER_CUD


def tenant_name(request: Request) -> str | None:
    name = request.scope.get(TENANT_SCOPE_KEY)
    return name if isinstance(name, str) else None


#: Where a request keeps its caller once its key is checked (an endpoint naming two of the
#: dependencies below checks the key once).
_CALLER_KEY = "boxoffice.brandchannel.caller"


async def caller(request: Request) -> ApiKeyCaller:
    """The key's caller. It takes the core itself and the dependencies below call it rather
    than nest in it (each dependency FastAPI resolves costs about as much CPU as the key's
    lookup: ``state.core_of``)."""
    cached = request.scope.get(_CALLER_KEY)
    if isinstance(cached, ApiKeyCaller):
        return cached
    tenant = tenant_name(request)
    try:
        found = await svc.authenticate_api_key(
            core_of(request), request.headers.get(API_KEY_HEADER), tenant
        )
    except Unauthenticated as exc:
        log.warning("api_key_refused", reason=exc.reason, tenant=tenant, method=request.method)
        raise
    request.scope[_CALLER_KEY] = found
    return found


def _with(permission: str) -> Callable[[Request], Awaitable[ApiKeyCaller]]:
    async def check(request: Request) -> ApiKeyCaller:
        who = await caller(request)
        svc.require_permission(who, permission)
        return who

    return check


#: A caller with ``CUSTOMER_READ``.
Reader = Annotated[ApiKeyCaller, Depends(_with(READ))]
#: A caller with ``CUSTOMER_CUD``.
Writer = Annotated[ApiKeyCaller, Depends(_with(CUD))]
