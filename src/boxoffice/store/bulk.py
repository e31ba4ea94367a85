"""Bulk writes and streaming reads, for customer import and export.

Rows are plain dictionaries (one per table row, every column given). They are written in the
caller's transaction: with ``executemany`` of one prepared ``INSERT`` on SQLite, and with
``COPY`` (asyncpg ``copy_records_to_table``) into a temporary table followed by one
``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` on PostgreSQL. The tenant is stamped on every
row by :func:`boxoffice.store.scoping.stamp_rows`; every read here is an ORM ``SELECT``, so
the tenant guard scopes it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Table, func, insert, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.store.models import (
    Base,
    Customer,
    CustomerAddress,
    CustomerAttributeValue,
    CustomerConsent,
    CustomerSourceRecord,
    CustomerTag,
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
    statement = insert(table)
    if not strict:
        statement = statement.prefix_with("OR IGNORE")
    await session.execute(statement, rows)


async def _copy_insert(
    session: AsyncSession, table: Table, rows: list[dict[str, Any]], *, strict: bool
) -> None:
    connection = await session.connection()
    # The driver connection joins SQLAlchemy's transaction only once it has begun.
    await connection.execute(text("SELECT 1"))
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    temp = f"bulk_{table.name}"
    await driver.execute(
        f'CREATE TEMP TABLE IF NOT EXISTS "{temp}" '
        f'(LIKE "{table.name}" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS'
    )
    columns = list(table.columns)
    json_columns = {c.name for c in columns if isinstance(c.type, JSON)}
    records = [
        tuple(json.dumps(row[c.name]) if c.name in json_columns else row[c.name] for c in columns)
        for row in rows
    ]
    await driver.copy_records_to_table(temp, records=records, columns=[c.name for c in columns])
    names = ", ".join(f'"{c.name}"' for c in columns)
    inserted = await driver.execute(
        # Names from the schema only, never from input.
        f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM "{temp}" ON CONFLICT DO NOTHING'  # noqa: S608
    )
    await driver.execute(f'TRUNCATE "{temp}"')
    count = int(str(inserted).rsplit(" ", 1)[-1])
    if strict and count != len(rows):
        raise BulkConflict(f"{len(rows) - count} {table.name} row(s) met an existing key")


# --- reads (ORM selects: scoped by the tenant guard) ---------------------------------------


async def customers_by_email_keys(
    session: AsyncSession, email_keys: Sequence[str]
) -> dict[str, Customer]:
    if not email_keys:
        return {}
    stmt = select(Customer).where(Customer.email_key.in_(email_keys), Customer.state == "active")
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
    ).where(tuple_(CustomerSourceRecord.source_id, CustomerSourceRecord.external_id).in_(pairs))
    return {(s, str(e)): c for s, e, c in (await session.execute(stmt)).all()}


async def customers_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Customer]:
    if not ids:
        return {}
    stmt = select(Customer).where(Customer.id.in_(ids), Customer.state == "active")
    return {c.id: c for c in (await session.execute(stmt)).scalars()}


async def taken_customer_ids(session: AsyncSession, ids: Sequence[int]) -> set[int]:
    """Which of these keys a customer (of this tenant) already has."""
    if not ids:
        return set()
    stmt = select(Customer.id).where(Customer.id.in_(ids))
    return set((await session.execute(stmt)).scalars())


async def _linked(session: AsyncSession, model: Any, ids: Sequence[int]) -> list[Any]:
    if not ids:
        return []
    stmt = select(model).where(model.customer_id.in_(ids))
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
        .where(CustomerAddress.customer_id.in_(ids))
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
