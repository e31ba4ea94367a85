"""Bulk writes and streaming reads, for customer import and export.

Rows are plain dictionaries (one per table row, every column given). They are written in the
caller's transaction: with ``executemany`` of one prepared ``INSERT`` on SQLite, and with
``COPY`` (asyncpg ``copy_records_to_table``) into a temporary table followed by one
``INSERT ... SELECT`` (``ON CONFLICT DO NOTHING`` where a row may already be there) on
PostgreSQL: ``COPY`` cannot write a table under row-level security. The tenant is stamped on every
row by :func:`boxoffice.store.scoping.stamp_rows`; every read here is an ORM ``SELECT``, so
the tenant guard scopes it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from asyncpg.exceptions import UniqueViolationError  # type: ignore[import-untyped]
from sqlalchemy import JSON, ColumnElement, Table, any_, bindparam, event, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from boxoffice.store.audit import record_bulk
from boxoffice.store.models import (
    Base,
    Customer,
    CustomerAddress,
    CustomerAttributeValue,
    CustomerConsent,
    CustomerSourceRecord,
    CustomerTag,
    TimelineEntry,
)
from boxoffice.store.scoping import stamp_rows


class BulkConflict(RuntimeError):
    """Rows met a unique key a concurrent writer took: roll back and run the batch again."""


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


async def insert_rows(
    session: AsyncSession, model: type[Base], rows: list[dict[str, Any]], *, strict: bool = False
) -> None:
    """Insert rows in the session's transaction.

    With ``strict``, a row that meets an existing unique key raises :class:`BulkConflict`
    (the caller rolls back); otherwise such a row is skipped (link tables whose rows are
    idempotent facts: a tag link, a consent).
    """
    if not rows:
        return
    stamp_rows(session, rows)
    table = _table(model)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await _copy_insert(session, table, rows, strict=strict)
        return
    # One prepared statement, run by the driver for every row (``executemany``), with each
    # value converted by its column type exactly as an ORM insert would.
    connection = await session.connection()
    sql, params = _sqlite_insert(connection.dialect, table, rows, strict=strict)
    try:
        result = await connection.exec_driver_sql(sql, params)
    except IntegrityError as exc:  # only a strict insert can meet one
        raise BulkConflict(f"{table.name}: {exc.orig}") from exc
    _audit(session, table, rows, result.rowcount)


def _sqlite_insert(
    dialect: Any, table: Table, rows: list[dict[str, Any]], *, strict: bool
) -> tuple[str, list[tuple[Any, ...]]]:
    """One prepared ``INSERT`` for the driver's ``executemany``, and its rows' parameters,
    each value converted by its column type exactly as an ORM insert would."""
    columns = list(table.columns)
    names = [c.name for c in columns]
    params = _parameters(rows, names, [c.type._cached_bind_processor(dialect) for c in columns])
    marks = ", ".join("?" for _ in columns)
    verb = "INSERT" if strict else "INSERT OR IGNORE"
    quoted = ", ".join(f'"{name}"' for name in names)
    return f'{verb} INTO "{table.name}" ({quoted}) VALUES ({marks})', params


async def insert_tables(
    session: AsyncSession, tables: Sequence[tuple[type[Base], list[dict[str, Any]], bool]]
) -> None:
    """:func:`insert_rows` for several tables, parents first: ``(model, rows, strict)``.

    On SQLite every table's ``executemany`` runs in one call on the driver's thread: one
    hand-over between the event loop and that thread per batch instead of one per table
    (each hand-over waits for the other thread to be scheduled, which on a busy machine
    costs more than the inserts).
    """
    if session.bind is None or session.bind.dialect.name == "postgresql":
        for model, rows, strict in tables:
            await insert_rows(session, model, rows, strict=strict)
        return
    connection = await session.connection()
    statements: list[tuple[str, str, list[tuple[Any, ...]]]] = []
    for model, rows, strict in tables:
        if not rows:
            continue
        stamp_rows(session, rows)
        table = _table(model)
        sql, params = _sqlite_insert(connection.dialect, table, rows, strict=strict)
        statements.append((table.name, sql, params))
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection  # aiosqlite's connection: runs calls on its thread

    def run() -> list[int]:
        database = driver._conn  # the sqlite3 connection, used on its own thread only
        counts = []
        for name, sql, params in statements:
            try:
                counts.append(database.executemany(sql, params).rowcount)
            except sqlite3.IntegrityError as exc:  # only a strict insert can meet one
                raise BulkConflict(f"{name}: {exc}") from exc
        return counts

    counts = await driver._execute(run)
    written = [(model, rows) for model, rows, _ in tables if rows]
    for (model, rows), count in zip(written, counts, strict=True):
        _audit(session, _table(model), rows, count)


def _audit(session: AsyncSession, table: Table, rows: list[dict[str, Any]], count: int) -> None:
    """The audit log's record of rows written here (the session's flush never sees them)."""
    if table.name == TimelineEntry.__tablename__ and count == len(rows):
        kinds: dict[str, int] = {}
        for row in rows:
            kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
        for kind, n in kinds.items():
            record_bulk(session, table.name, n, kind=kind)
    else:
        record_bulk(session, table.name, count)


#: Temporary tables known to exist in the session's transaction, and those filled in it.
_READY = "boxoffice_bulk_ready"
_USED = "boxoffice_bulk_used"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _transaction_ended(session: Session) -> None:
    # A rollback may take away a table this transaction made; a new transaction starts empty.
    session.info.pop(_READY, None)
    session.info.pop(_USED, None)


def _temp_table(table: Table) -> str:
    # ON COMMIT DELETE ROWS: made once per connection and emptied by every commit (a
    # rollback empties it too, or takes it away when this transaction made it: IF NOT EXISTS
    # makes it again). Names come from the schema only, never from input.
    return (
        f'CREATE TEMP TABLE IF NOT EXISTS "bulk_{table.name}" '
        f'(LIKE "{table.name}" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS'
    )


async def _driver_in_transaction(session: AsyncSession) -> Any:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    if not driver.is_in_transaction():
        # The driver connection joins SQLAlchemy's transaction once that has begun.
        await connection.execute(text("SELECT 1"))
    return driver


async def prepare(session: AsyncSession, models: Sequence[type[Base]]) -> None:
    """Make sure the temporary tables ``COPY`` fills exist, in one round trip (PostgreSQL
    only; :func:`insert_rows` makes any missing table itself, one round trip each).

    They are made once per connection, not per transaction: made and dropped with every
    batch, they would add and remove catalogue rows by the thousand in an import (which
    nothing vacuums while autovacuum is off), and cost a round trip per table and batch.
    """
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return
    driver = await _driver_in_transaction(session)
    await driver.execute("; ".join(_temp_table(_table(model)) for model in models))
    ready: set[str] = session.info.setdefault(_READY, set())
    ready.update(f"bulk_{_table(model).name}" for model in models)


def _parameters(
    rows: list[dict[str, Any]], names: list[str], processors: list[Any]
) -> list[tuple[Any, ...]]:
    """Rows as tuples in column order, each value through its column type's converter.

    A batch repeats the same values (its timestamp, flags): conversions are remembered per
    column, which makes the converters' cost per batch rather than per row.
    """
    pick = itemgetter(*names)
    tuples = [pick(row) if len(names) > 1 else (pick(row),) for row in rows]
    converting = [(i, p) for i, p in enumerate(processors) if p is not None]
    if not converting:
        return tuples
    memo: list[dict[Any, Any]] = [{} for _ in names]
    out: list[tuple[Any, ...]] = []
    for values in tuples:
        row = list(values)
        for index, process in converting:
            value = row[index]
            if value is None:
                continue
            try:
                seen = memo[index]
                converted = seen.get(value, _MISSING)
                if converted is _MISSING:
                    converted = seen[value] = process(value)
            except TypeError:  # unhashable (a JSON object): convert each time
                converted = process(value)
            row[index] = converted
        out.append(tuple(row))
    return out


_MISSING = object()


async def _copy_insert(
    session: AsyncSession, table: Table, rows: list[dict[str, Any]], *, strict: bool
) -> None:
    driver = await _driver_in_transaction(session)
    temp = f"bulk_{table.name}"
    ready: set[str] = session.info.setdefault(_READY, set())
    if temp not in ready:
        await driver.execute(_temp_table(table))
        ready.add(temp)
    used: set[str] = session.info.setdefault(_USED, set())
    if temp in used:  # a second insert into this table in the transaction: drop the first's
        await driver.execute(f'DELETE FROM "{temp}"')  # noqa: S608 (a schema name)
    used.add(temp)
    columns = list(table.columns)
    json_columns = {c.name for c in columns if isinstance(c.type, JSON)}
    records = [
        tuple(json.dumps(row[c.name]) if c.name in json_columns else row[c.name] for c in columns)
        for row in rows
    ]
    await driver.copy_records_to_table(temp, records=records, columns=[c.name for c in columns])
    names = ", ".join(f'"{c.name}"' for c in columns)
    # The temporary table is emptied at commit (a table is written once per batch), not by
    # a DELETE here: deleted rows would stay in it as dead rows, which no autovacuum clears
    # from a temporary table, for every later batch to scan. A strict insert has no ON
    # CONFLICT (no speculative insertion): a unique key met aborts it. Names come from the
    # schema only, never from input.
    insert = f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM "{temp}"'  # noqa: S608
    try:
        inserted = await driver.execute(insert if strict else insert + " ON CONFLICT DO NOTHING")
    except UniqueViolationError as exc:
        raise BulkConflict(f"{table.name}: {exc}") from exc
    count = int(str(inserted).rsplit(" ", 1)[-1])
    _audit(session, table, rows, count)


#: Migration 0008: ``ANALYZE`` of the tables an import writes, which the application's role may
#: call (only a table's owner may analyze it).
_ANALYZE = text("SELECT boxoffice_analyze_customer_tables()")


async def refresh_statistics(session: AsyncSession) -> None:
    """Refresh the planner's statistics of the tables an import writes (PostgreSQL only).

    PostgreSQL plans a connection's foreign-key checks once and keeps the plans until the
    referenced table's statistics change. Planned on a never-analyzed ``customers`` table, the
    check of ``(tenant_id, id)`` scans an index on ``tenant_id`` alone: all of the tenant's
    customers, for every row a batch inserts. Fresh statistics replace those plans (the
    primary key), and leave the grown tables well described for the API's queries.
    """
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(_ANALYZE)


# --- reads (ORM selects: scoped by the tenant guard) ---------------------------------------


def _among(session: AsyncSession, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(:array)``: one parameter, so one
    prepared statement whatever the number of values (an ``IN`` list is planned anew for
    every length)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]


async def customers_by_email_keys(
    session: AsyncSession, email_keys: Sequence[str]
) -> dict[str, Customer]:
    if not email_keys:
        return {}
    stmt = select(Customer).where(
        _among(session, Customer.email_key, email_keys), Customer.state == "active"
    )
    return {c.email_key: c for c in (await session.execute(stmt)).scalars() if c.email_key}


async def customer_ids_by_external_ids(
    session: AsyncSession, pairs: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], int]:
    """``(source id, external id) -> customer id``."""
    if not pairs:
        return {}
    stmt = select(
        CustomerSourceRecord.source_id,
        CustomerSourceRecord.external_id,
        CustomerSourceRecord.customer_id,
    ).where(
        _among(session, CustomerSourceRecord.external_id, sorted({e for _, e in pairs})),
        _among(session, CustomerSourceRecord.source_id, sorted({s for s, _ in pairs})),
    )
    wanted = set(pairs)
    return {
        (s, str(e)): c for s, e, c in (await session.execute(stmt)).all() if (s, str(e)) in wanted
    }


async def customers_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Customer]:
    if not ids:
        return {}
    stmt = select(Customer).where(_among(session, Customer.id, ids), Customer.state == "active")
    return {c.id: c for c in (await session.execute(stmt)).scalars()}


async def taken_customer_ids(session: AsyncSession, ids: Sequence[int]) -> set[int]:
    """Which of these keys a customer (of this tenant) already has."""
    if not ids:
        return set()
    stmt = select(Customer.id).where(_among(session, Customer.id, ids))
    return set((await session.execute(stmt)).scalars())


async def _linked(session: AsyncSession, model: Any, ids: Sequence[int]) -> list[Any]:
    if not ids:
        return []
    stmt = select(model).where(_among(session, model.customer_id, ids))
    return list((await session.execute(stmt)).scalars())


async def tag_links(session: AsyncSession, ids: Sequence[int]) -> list[CustomerTag]:
    return await _linked(session, CustomerTag, ids)


async def consents(session: AsyncSession, ids: Sequence[int]) -> list[CustomerConsent]:
    return await _linked(session, CustomerConsent, ids)


async def attribute_values(
    session: AsyncSession, ids: Sequence[int]
) -> list[CustomerAttributeValue]:
    return await _linked(session, CustomerAttributeValue, ids)


async def source_records(session: AsyncSession, ids: Sequence[int]) -> list[CustomerSourceRecord]:
    return await _linked(session, CustomerSourceRecord, ids)


async def addresses(session: AsyncSession, ids: Sequence[int]) -> list[CustomerAddress]:
    if not ids:
        return []
    stmt = (
        select(CustomerAddress)
        .where(_among(session, CustomerAddress.customer_id, ids))
        .order_by(CustomerAddress.created_at, CustomerAddress.id)
    )
    return list((await session.execute(stmt)).scalars())


async def customer_page(session: AsyncSession, after: int, limit: int) -> list[Customer]:
    """Active customers with a key above ``after``, by key (keyset pagination)."""
    stmt = (
        select(Customer)
        .where(Customer.id > after, Customer.state == "active")
        .order_by(Customer.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def most_addresses(session: AsyncSession) -> int:
    """The largest number of addresses any active customer has."""
    per_customer = (
        select(func.count(CustomerAddress.id).label("n"))
        .join(Customer, Customer.id == CustomerAddress.customer_id)
        .where(Customer.state == "active", Customer.tenant_id == CustomerAddress.tenant_id)
        .group_by(CustomerAddress.customer_id)
        .subquery()
    )
    value = (await session.execute(select(func.max(per_customer.c.n)))).scalar()
    return int(value or 0)
