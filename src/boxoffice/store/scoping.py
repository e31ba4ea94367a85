"""The tenant guard: the one place where tenant isolation is enforced.

A session opened for a tenant carries ``session.info["tenant_id"]``. Every ORM ``SELECT``,
``UPDATE`` and ``DELETE`` on a :class:`TenantScoped` table then gets ``tenant_id = :tenant``
added (including in joins and relationship loads), and every new row is stamped with the
tenant, or refused when it names another. A query on a tenant-owned table from a session
without a tenant is refused, unless the statement asks for the unscoped form with
``execution_options(unscoped=True)``: only authentication lookups and operator commands do.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from boxoffice.store.models import TenantScoped

TENANT_KEY = "tenant_id"


class UnscopedQueryError(RuntimeError):
    """A tenant-owned table was queried from a session that has no tenant."""


def _touches_tenant_tables(state: ORMExecuteState) -> bool:
    return any(issubclass(m.class_, TenantScoped) for m in state.all_mappers)


@event.listens_for(Session, "do_orm_execute")
def _add_tenant_criteria(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("unscoped", False):
        return
    tenant_id = state.session.info.get(TENANT_KEY)
    if tenant_id is None:
        if _touches_tenant_tables(state):
            raise UnscopedQueryError(
                "query on a tenant-owned table without a tenant; "
                "use execution_options(unscoped=True) where that is intended"
            )
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
        )
    )


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, _ctx: Any, _instances: Any) -> None:
    tenant_id = session.info.get(TENANT_KEY)
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        current = getattr(obj, "tenant_id", None)
        if current is None:
            if tenant_id is None:
                raise UnscopedQueryError(f"new {type(obj).__name__} without a tenant")
            obj.tenant_id = tenant_id
        elif tenant_id is not None and current != tenant_id:
            raise UnscopedQueryError(f"new {type(obj).__name__} for another tenant")


def stamp_rows(session: Session | Any, rows: list[dict[str, Any]]) -> None:
    """Stamp the session's tenant on rows for a bulk (Core or ``COPY``) insert.

    Bulk inserts bypass the ORM flush, so :func:`_stamp_tenant` never sees them: this is its
    counterpart, with the same rules (no tenant: refused; another tenant: refused).
    """
    tenant_id = session.info.get(TENANT_KEY)
    if tenant_id is None:
        raise UnscopedQueryError("bulk insert without a tenant")
    for row in rows:
        current = row.get("tenant_id")
        if current is None:
            row["tenant_id"] = tenant_id
        elif current != tenant_id:
            raise UnscopedQueryError("bulk insert of a row for another tenant")
