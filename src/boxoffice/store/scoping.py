"""The tenant guard: the one place where tenant isolation is enforced.

A session opened for a tenant carries ``session.info["tenant_id"]``. Every ORM ``SELECT``,
``UPDATE`` and ``DELETE`` on a :class:`TenantScoped` table then gets ``tenant_id = :tenant``
added (including in joins and relationship loads), and every new row is stamped with the
tenant, or refused when it names another. A query on a tenant-owned table from a session
without a tenant is refused, unless the statement asks for the unscoped form with
``execution_options(unscoped=True)``: only authentication lookups and operator commands do.

On PostgreSQL the database enforces the same rule a second time, with row-level security
(migration 0005): each transaction of a session opened for a tenant sets the transaction-local
``boxoffice.tenant_id``, and a session opened explicitly for no tenant sets
``boxoffice.bypass_rls``. A session that says neither sees no tenant-owned row at all. SQLite
has no row-level security: there, this module is the only guard.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, with_loader_criteria

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


_SET_DATABASE_TENANT = text(
    "SELECT set_config('boxoffice.tenant_id', :tenant, true),"
    " set_config('boxoffice.bypass_rls', :bypass, true)"
)


@event.listens_for(Session, "after_begin")
def _set_database_tenant(
    session: Session, transaction: SessionTransaction, connection: Connection
) -> None:
    if transaction.nested or connection.dialect.name != "postgresql":
        return  # a savepoint is inside a transaction that has the setting already
    if TENANT_KEY not in session.info:
        return
    tenant_id = session.info[TENANT_KEY]
    connection.execute(
        _SET_DATABASE_TENANT,
        {
            "tenant": "" if tenant_id is None else str(int(tenant_id)),
            "bypass": "on" if tenant_id is None else "off",
        },
    )


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
