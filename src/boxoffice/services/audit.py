"""The audit log, seen from the services: who is calling, and reading the log.

The recording itself happens in one place, the unit of work (``store/audit.py``). The services
that verify a credential call :func:`identify`; the HTTP entry point gives every request a fresh
context with :func:`start_request`; the CLI identifies the operator.
"""

from __future__ import annotations

import contextvars
import getpass
from datetime import datetime

from boxoffice.domain.views import AuditEntryView
from boxoffice.services.core import Core
from boxoffice.store.audit import AuditLog, Caller, reset_caller, set_caller

__all__ = ["Caller", "identify", "list_entries", "operator", "start_request"]


def identify(caller: Caller) -> None:
    """Name the caller for the audit entries of the writes that follow (in this context)."""
    set_caller(caller)


def start_request() -> contextvars.Token[Caller | None]:
    """A request starts with no caller (writes are ``anonymous`` until a credential is
    verified); pass the token to :func:`end_request` when it is done."""
    return set_caller(None)


def end_request(token: contextvars.Token[Caller | None]) -> None:
    reset_caller(token)


def operator() -> Caller:
    """The operator at the command line, named by the operating-system account."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return Caller("cli", "operator-cli", user)


async def list_entries(
    core: Core,
    tenant_name: str,
    *,
    since: datetime | None = None,
    customer_id: int | None = None,
    limit: int = 100_000,
) -> list[AuditEntryView]:
    """A tenant's audit entries, oldest first."""
    from boxoffice.services.tenants import get_tenant

    tenant = await get_tenant(core, tenant_name)
    async with core.uow(tenant.id) as uow:
        rows = await AuditLog(uow.session).entries(
            since=since, customer_id=customer_id, limit=limit
        )
        return [
            AuditEntryView(
                occurred_at=row.occurred_at,
                tenant_id=row.tenant_id,
                actor=row.actor,
                credential=row.credential,
                credential_id=row.credential_id,
                action=row.action,
                target_kind=row.target_kind,
                target_id=row.target_id,
                customer_id=row.customer_id,
                changes=tuple(row.changes or ()),
            )
            for row in rows
        ]
