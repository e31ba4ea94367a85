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

Statements written with SQLAlchemy Core (the key lookups of ``store/lookups.py``) bypass the
ORM, so the hook above never sees them: a unit of work runs them through
:func:`scoped_parameters`, which refuses any statement that reads a tenant-owned table without
filtering it by :data:`TENANT_PARAM` (in the ``SELECT`` that reads it, subqueries included),
and binds that parameter to the unit of work's tenant itself. A Core ``UPDATE`` or ``DELETE``
sent through a session (the inventory's conditional updates) does reach the hook, which gets no
ORM criteria into it: the hook refuses one whose ``WHERE`` does not require the session's own
tenant of the table it changes (:func:`_check_core_write`). A read-only unit of work on
PostgreSQL runs each statement alone, outside a transaction, on connections of its own, so its
row-level security tenant is a session setting instead (:func:`bind_session_tenant`,
decision 0080).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from sqlalchemy import (
    BinaryExpression,
    BindParameter,
    ColumnElement,
    Executable,
    Select,
    and_,
    bindparam,
    event,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, with_loader_criteria
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BooleanClauseList, ColumnClause, Grouping, TextClause
from sqlalchemy.sql.selectable import AliasedReturnsRows, Join, TableClause
from sqlalchemy.sql.util import find_tables
from sqlalchemy.sql.visitors import iterate

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
    if not state.all_mappers and (state.is_update or state.is_delete):
        params = state.parameters if isinstance(state.parameters, Mapping) else {}
        _check_core_write(state.statement, tenant_id, params)
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
        )
    )


def _check_core_write(stmt: Any, tenant_id: int, params: Mapping[str, Any]) -> None:
    """An ``UPDATE`` or ``DELETE`` written on a table (Core: no ORM criteria are added to it)
    must require, through ``AND``, ``tenant_id`` = the session's tenant (a bound value, or
    :data:`TENANT_PARAM` given as it) of the tenant-owned table it changes; refused otherwise."""
    table: Any = stmt.table
    if not _tenant_owned(table):
        return
    for column, bound in _tenant_equalities(getattr(stmt, "whereclause", None)):
        if column.table is table and params.get(bound.key, bound.value) == tenant_id:
            return
    raise UnscopedQueryError(
        f"{'update' if stmt.is_update else 'delete'} of {table.name} without its tenant"
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


def set_database_tenant(connection: Connection, tenant_id: int | None) -> None:
    """Tell PostgreSQL's row-level security the tenant of the current transaction (``None``:
    explicitly no tenant, for operator lookups). Nothing to do on SQLite."""
    if connection.dialect.name != "postgresql":
        return
    connection.execute(
        _SET_DATABASE_TENANT,
        {
            "tenant": "" if tenant_id is None else str(int(tenant_id)),
            "bypass": "on" if tenant_id is None else "off",
        },
    )


@event.listens_for(Session, "after_begin")
def _set_database_tenant(
    session: Session, transaction: SessionTransaction, connection: Connection
) -> None:
    if transaction.nested:
        return  # a savepoint is inside a transaction that has the setting already
    if TENANT_KEY not in session.info:
        return
    set_database_tenant(connection, session.info[TENANT_KEY])


#: The session-level form, for read-only units of work only (:func:`bind_session_tenant`).
SET_SESSION_TENANT = text(
    "SELECT set_config('boxoffice.tenant_id', :tenant, false),"
    " set_config('boxoffice.bypass_rls', 'off', false)"
)
#: Key of a connection's ``info`` (the pool's, kept for the life of the server connection and
#: cleared when it is replaced): the tenant its session setting names.
SESSION_TENANT_KEY = "boxoffice_session_tenant"


async def bind_session_tenant(
    info: dict[Any, Any], tenant_id: int, send: Callable[[str], Awaitable[object]]
) -> bool:
    """Make sure the session setting of a read-only connection names ``tenant_id``, sending
    :data:`SET_SESSION_TENANT` through ``send(tenant)`` only when it names another (or nothing
    yet). Returns whether it sent it.

    A read-only unit of work on PostgreSQL runs each statement on its own, outside a
    transaction, so a transaction-local setting would not outlive the statement that sets it;
    instead its connections (an engine of their own: no writing unit of work ever uses them,
    decision 0080) keep the tenant in the session, and ``info`` remembers which one. While the
    setting is being sent the connection's tenant is unknown: should the sending fail (or be
    cancelled), it stays unknown, and the next unit of work sends it again. The bypass is
    always off.
    """
    if type(tenant_id) is not int:
        raise UnscopedQueryError("a read-only unit of work needs an integer tenant")
    if info.get(SESSION_TENANT_KEY) == tenant_id:
        return False
    info.pop(SESSION_TENANT_KEY, None)
    await send(str(tenant_id))
    info[SESSION_TENANT_KEY] = tenant_id
    return True


# --- Core reads ------------------------------------------------------------------------------

#: The bind parameter by which a Core read names its tenant; :func:`scoped_parameters` binds it.
TENANT_PARAM = "scope_tenant_id"


def of_tenant(*models: type[TenantScoped]) -> ColumnElement[bool]:
    """``model.tenant_id = :scope_tenant_id`` for each model: the tenant filter of a Core read."""
    tables = [model.__table__ for model in models]  # type: ignore[attr-defined]
    return and_(*(table.c.tenant_id == bindparam(TENANT_PARAM) for table in tables))


def _tenant_owned(table: Any) -> bool:
    return "tenant_id" in getattr(table, "c", ()) and getattr(table, "name", "") != "tenants"


def _conjuncts(clause: Any) -> Iterator[Any]:
    """The terms a WHERE clause requires all of: through ``AND`` only (a comparison under an
    ``OR``, a ``NOT`` or in a subquery filters nothing for certain)."""
    if isinstance(clause, BooleanClauseList) and clause.operator is operators.and_:
        for term in clause.clauses:
            yield from _conjuncts(term)
    elif isinstance(clause, Grouping):
        yield from _conjuncts(clause.element)
    else:
        yield clause


def _filtered_tables(stmt: Select[Any]) -> set[Any]:
    """The tables whose ``tenant_id`` the statement's own WHERE clause requires to equal
    :data:`TENANT_PARAM`."""
    return {
        column.table
        for column, bound in _tenant_equalities(stmt.whereclause)
        if bound.key == TENANT_PARAM
    }


def _tenant_equalities(where: Any) -> Iterator[tuple[Any, BindParameter[Any]]]:
    """Each ``<table>.tenant_id = <bound value>`` that a WHERE clause requires (through
    ``AND``), as (the column, the bound parameter)."""
    if where is None:
        return
    for element in _conjuncts(where):
        if not isinstance(element, BinaryExpression) or element.operator is not operators.eq:
            continue
        left, right = element.left, element.right
        if isinstance(left, BindParameter):
            left, right = right, left
        if (
            isinstance(right, BindParameter)
            and getattr(left, "name", None) == "tenant_id"
            and getattr(left, "table", None) is not None
        ):
            yield left, right


def _is_text(element: Any) -> bool:
    return isinstance(element, TextClause) or (
        isinstance(element, ColumnClause) and element.is_literal
    )


def _tables_of(from_: Any) -> set[Any]:
    """The tables a FROM reads itself: through joins and aliases of tables, but not into a
    subquery (its SELECT is among those checked, on its own)."""
    if isinstance(from_, Join):
        return _tables_of(from_.left) | _tables_of(from_.right)
    if isinstance(from_, AliasedReturnsRows):
        return set() if isinstance(from_.element, Select) else _tables_of(from_.element)
    if isinstance(from_, TableClause):
        return {from_}
    return set(find_tables(from_, include_joins=True))


#: Statements already checked, kept alive so that their ids cannot be reused.
_checked: dict[int, Executable] = {}


def check_scoped(stmt: Executable) -> None:
    """Refuse a Core read of a tenant-owned table that is not filtered by its tenant.

    Checked once per statement object: the key lookups use prebuilt statements."""
    if id(stmt) in _checked:
        return
    if not isinstance(stmt, Select):
        raise UnscopedQueryError("a scoped Core statement is a SELECT")
    selects = [stmt, *(e for e in iterate(stmt) if isinstance(e, Select) and e is not stmt)]
    if any(_is_text(e) for e in iterate(stmt)):
        raise UnscopedQueryError("a scoped read has no SQL text of its own (it is not checked)")
    for select_ in selects:
        # Each SELECT filters each tenant-owned table it reads itself: a table a subquery
        # correlates to an enclosing one is among its FROMs here, so it must name the tenant
        # again (harmless: the enclosing SELECT's row already has it).
        froms = select_.get_final_froms()
        owned = {t for f in froms for t in _tables_of(f) if _tenant_owned(t)}
        missing = owned - _filtered_tables(select_)
        if missing:
            names = ", ".join(sorted(t.name for t in missing))
            raise UnscopedQueryError(f"Core read of {names} without its tenant filter")
    everywhere = {t for t in find_tables(stmt, include_joins=True) if _tenant_owned(t)}
    read = {t for select_ in selects for f in select_.get_final_froms() for t in _tables_of(f)}
    if everywhere - read:  # a table read other than as a SELECT's FROM: not understood
        names = ", ".join(sorted(t.name for t in everywhere - read))
        raise UnscopedQueryError(f"Core read of {names} outside a checked SELECT")
    _checked[id(stmt)] = stmt


def scoped_parameters(
    stmt: Executable, params: Mapping[str, Any] | None, tenant_id: int | None
) -> dict[str, Any]:
    """The parameters to run a Core read ``stmt`` with for ``tenant_id``: checked by
    :func:`check_scoped`, with :data:`TENANT_PARAM` bound to the tenant (no caller names it)."""
    if type(tenant_id) is not int:
        raise UnscopedQueryError("a Core read of tenant rows needs an integer tenant")
    check_scoped(stmt)
    return {**(params or {}), TENANT_PARAM: tenant_id}


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
