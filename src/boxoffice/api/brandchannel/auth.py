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

from boxoffice.api.common.state import CoreDep
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


async def caller(request: Request, core: CoreDep) -> ApiKeyCaller:
    tenant = tenant_name(request)
    try:
        return await svc.authenticate_api_key(core, request.headers.get(API_KEY_HEADER), tenant)
    except Unauthenticated as exc:
        log.warning("api_key_refused", reason=exc.reason, tenant=tenant, method=request.method)
        raise


def _with(permission: str) -> Callable[[ApiKeyCaller], Awaitable[ApiKeyCaller]]:
    async def check(who: Annotated[ApiKeyCaller, Depends(caller)]) -> ApiKeyCaller:
        svc.require_permission(who, permission)
        return who

    return check


#: A caller with ``CUSTOMER_READ``.
Reader = Annotated[ApiKeyCaller, Depends(_with(READ))]
#: A caller with ``CUSTOMER_CUD``.
Writer = Annotated[ApiKeyCaller, Depends(_with(CUD))]
