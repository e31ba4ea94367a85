"""The audit log: every committed write, recorded by the unit of work in the same transaction.

*Who* is a :class:`Caller` held in a context variable. It is set where a credential is verified
(the services that check an HMAC signature, an API key, a session cookie, a device token) and by
the operator CLI; a write with no verified credential (a sign-up, a failed login being counted)
is recorded as ``anonymous``. Each HTTP request starts with no caller.

*What* is collected from the session itself as it flushes: every inserted, updated and deleted
row (table, operation, integer keys, names of the changed columns) and every bulk statement;
rows inserted with SQLAlchemy Core statements (a new customer and its parts,
``Customers.insert_new``) are recorded one by one with :func:`record_rows`, as a flush would
have; writes made through the driver (the import's ``executemany`` and ``COPY``) are recorded
by ``store/bulk.py`` with :func:`record_bulk` (table, operation, number of rows).
Values are never copied, so the log holds no personal data and no secrets, and erasing a
customer leaves it whole. The action is named after the customer timeline entries the write
added (``customer.created``, ``customer.erased``), else after the first change
(``api_keys.insert``; ``tag_groups.insert+tags.insert`` when several, at most four named).

*When* and *which tenant* come with the row. :meth:`UnitOfWork.commit` writes the entries
(:func:`write_pending`: one Core ``INSERT``) just before committing, so a write and its audit
row commit together, and a refused (rolled back) write leaves neither: refusals are in the
structured logs, not here.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, event, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from boxoffice.domain.ids import CUSTOMER_KEY_SPACE, customer_code, new_row_key
from boxoffice.store.models import AuditEntry, Customer, Tenant, TimelineEntry
from boxoffice.store.scoping import TENANT_KEY

#: How many changes one entry lists in full (an import may touch thousands of rows).
MAX_CHANGES = 50
_CHANGES_KEY = "audit_changes"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is writing, and with which credential (its kind and a non-secret name)."""

    actor: str
    credential: str
    credential_id: str | None = None


ANONYMOUS = Caller("anonymous", "none")
_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar(
    "boxoffice_audit_caller", default=None
)


def set_caller(caller: Caller | None) -> contextvars.Token[Caller | None]:
    return _caller.set(caller)


def reset_caller(token: contextvars.Token[Caller | None]) -> None:
    _caller.reset(token)


def current_caller() -> Caller:
    return _caller.get() or ANONYMOUS


@dataclass(frozen=True, slots=True)
class _Change:
    tenant_id: int | None
    customer_id: int | None
    timeline_kind: str | None
    data: dict[str, Any]


def _personal(table: Any) -> bool:
    return table.name == Customer.__tablename__ or "customer_id" in table.c


def _key(obj: Any) -> dict[str, Any]:
    """The row's key without the tenant: integers always; text only where it cannot be a
    person's data or a credential (never a ``*_hash``, never in a customer's rows)."""
    mapper = inspect(obj).mapper
    personal = _personal(mapper.local_table)
    key: dict[str, Any] = {}
    for column in mapper.primary_key:
        if column.name == "tenant_id":
            continue
        value = getattr(obj, mapper.get_property_by_column(column).key, None)
        if isinstance(value, int) and not isinstance(value, bool):
            key[column.name] = value
        elif isinstance(value, str) and not personal and not column.name.endswith("_hash"):
            key[column.name] = value[:100]
    return key


def _describe(obj: Any, op: str) -> _Change:
    state = inspect(obj)
    data: dict[str, Any] = {"table": state.mapper.local_table.name, "op": op, "key": _key(obj)}
    if op == "update":
        data["columns"] = sorted(attr.key for attr in state.attrs if attr.history.has_changes())
    customer_id: int | None
    if isinstance(obj, Customer):
        customer_id = obj.id
    else:
        value = getattr(obj, "customer_id", None)
        customer_id = value if isinstance(value, int) else None
    tenant_id = obj.id if isinstance(obj, Tenant) else getattr(obj, "tenant_id", None)
    kind = obj.kind if isinstance(obj, TimelineEntry) and op == "insert" else None
    return _Change(tenant_id, customer_id, kind, data)


def _row_change(table: Table, row: Mapping[str, Any]) -> _Change:
    """What :func:`_describe` says of an inserted object, said of a row inserted by Core."""
    personal = _personal(table)
    key: dict[str, Any] = {}
    for column in table.primary_key.columns:
        if column.name == "tenant_id":
            continue
        value = row.get(column.name)
        if isinstance(value, int) and not isinstance(value, bool):
            key[column.name] = value
        elif isinstance(value, str) and not personal and not column.name.endswith("_hash"):
            key[column.name] = value[:100]
    customer_id = row.get("id" if table.name == Customer.__tablename__ else "customer_id")
    kind = row.get("kind") if table.name == TimelineEntry.__tablename__ else None
    return _Change(
        row.get("tenant_id"),
        customer_id if isinstance(customer_id, int) else None,
        kind if isinstance(kind, str) else None,
        {"table": table.name, "op": "insert", "key": key},
    )


def record_rows(session: Any, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Record rows inserted with a Core statement (the flush never sees them), one change per
    row as a flush records an inserted object: table, ``insert`` and the row's key."""
    changes: list[_Change] = session.info.setdefault(_CHANGES_KEY, [])
    changes.extend(_row_change(table, row) for row in rows)


@event.listens_for(Session, "after_flush")
def _collect_flushed(session: Session, _ctx: Any) -> None:
    # After the flush, keys are known and new/dirty/deleted still show what was flushed.
    changes: list[_Change] = session.info.setdefault(_CHANGES_KEY, [])
    for op, objects in (
        ("insert", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            if isinstance(obj, AuditEntry):
                continue
            if op == "update" and not session.is_modified(obj, include_collections=False):
                continue
            changes.append(_describe(obj, op))


@event.listens_for(Session, "do_orm_execute")
def _collect_bulk(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    op = "insert" if state.is_insert else "update" if state.is_update else "delete"
    # An ORM statement names its mapped classes; a Core one (the inventory's conditional
    # updates) its table.
    tables = [str(getattr(m.local_table, "name", "?")) for m in state.all_mappers] or [
        str(getattr(getattr(state.statement, "table", None), "name", "?"))
    ]
    tenant_id = state.session.info.get(TENANT_KEY)
    changes: list[_Change] = state.session.info.setdefault(_CHANGES_KEY, [])
    changes.append(_Change(tenant_id, None, None, {"table": tables[0], "op": f"bulk-{op}"}))


def record_bulk(session: Any, table: str, rows: int, *, kind: str | None = None) -> None:
    """Record a bulk write the session never sees (the driver's ``executemany`` or ``COPY``,
    as the import writes): its table, ``bulk-insert`` and the number of rows, never a value.
    ``kind`` names the customer timeline entries written (``created``), as a flush would."""
    if rows <= 0:
        return
    changes: list[_Change] = session.info.setdefault(_CHANGES_KEY, [])
    data: dict[str, Any] = {"table": table, "op": "bulk-insert", "rows": rows}
    if kind is not None:
        data["kind"] = kind
    changes.append(_Change(session.info.get(TENANT_KEY), None, kind, data))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_CHANGES_KEY, None)


def _code(customer_id: int) -> str:
    return customer_code(customer_id) if 0 < customer_id < CUSTOMER_KEY_SPACE else str(customer_id)


_AUDIT_ENTRIES: Table = AuditEntry.metadata.tables[AuditEntry.__tablename__]


def pending_entries(session: Session, tenant_id: int | None) -> list[AuditEntry]:
    """The audit entries for what this transaction wrote (one per tenant; none for reads)."""
    return [AuditEntry(**row) for row in pending_rows(session, tenant_id)]


async def write_pending(session: AsyncSession, tenant_id: int | None) -> None:
    """Write the audit entries of what this transaction wrote: one Core ``INSERT`` (none for
    a read), on the transaction's connection, after its last flush and before its commit."""
    rows = pending_rows(session.sync_session, tenant_id)
    if rows:
        connection = await session.connection()
        await connection.execute(insert(_AUDIT_ENTRIES), rows)


def pending_rows(session: Session, tenant_id: int | None) -> list[dict[str, Any]]:
    """The rows of :func:`pending_entries`, for a Core insert."""
    collected: list[_Change] = session.info.pop(_CHANGES_KEY, [])
    by_tenant: dict[int, list[_Change]] = {}
    for change in collected:
        owner = tenant_id if tenant_id is not None else change.tenant_id
        if owner is not None:
            by_tenant.setdefault(owner, []).append(change)
    caller = current_caller()
    now = datetime.now(UTC)
    entries: list[dict[str, Any]] = []
    for owner, changes in by_tenant.items():
        customers = list(dict.fromkeys(c.customer_id for c in changes if c.customer_id))
        if any("rows" in c.data for c in changes):
            customers = []  # a bulk write touched customers no entry names one by one
        kinds = list(dict.fromkeys(c.timeline_kind for c in changes if c.timeline_kind))
        first = changes[0].data
        if kinds:
            action = "customer." + "+".join(kinds)
        else:
            done = list(dict.fromkeys(f"{c.data['table']}.{c.data['op']}" for c in changes))
            action = "+".join(done[:4]) + (f"+{len(done) - 4} more" if len(done) > 4 else "")
        target_kind: str
        target_id: str | None
        if len(customers) == 1:
            target_kind, target_id = "customer", _code(customers[0])
        else:
            key = first.get("key") or {}
            target_kind = first["table"]
            target_id = "/".join(str(v) for v in key.values())[:64] or None
        listed: list[Any] = [c.data for c in changes[:MAX_CHANGES]]
        if len(changes) > MAX_CHANGES:
            listed.append({"more": len(changes) - MAX_CHANGES})
        entries.append(
            {
                "tenant_id": owner,
                "id": new_row_key(),
                "occurred_at": now,
                "actor": caller.actor[:255],
                "credential": caller.credential,
                "credential_id": caller.credential_id[:200] if caller.credential_id else None,
                "action": action[:200],
                "target_kind": target_kind,
                "target_id": target_id,
                "customer_id": customers[0] if len(customers) == 1 else None,
                "changes": listed,
            }
        )
    return entries


class AuditLog:
    """Reading the log (tenant-scoped by the guard like every other table)."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def entries(
        self, *, since: datetime | None, customer_id: int | None, limit: int
    ) -> Sequence[AuditEntry]:
        stmt = select(AuditEntry)
        if since is not None:
            stmt = stmt.where(AuditEntry.occurred_at >= since)
        if customer_id is not None:
            stmt = stmt.where(AuditEntry.customer_id == customer_id)
        stmt = stmt.order_by(AuditEntry.occurred_at, AuditEntry.id).limit(limit)
        rows: Sequence[AuditEntry] = (await self.session.execute(stmt)).scalars().all()
        return rows
