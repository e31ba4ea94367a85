"""Erasure: remove a person's data everywhere it is stored, leaving an anonymous tombstone.

A data-protection request ("forget me") must not leave the person behind anywhere: not in the
customer row, nor in the rows that hang off it (addresses, channels, attribute values, tags,
consents and their history, subscriptions, external ids, sessions, mailed tokens), nor in the
timeline, whose entries quote old values. What is left is a tombstone: the customer's key, its
brand, its creation time and ``state = "erased"``, so that ids handed out earlier still resolve
to "this customer was erased" rather than to someone else, plus one timeline entry, ``erased``,
that says who erased it and when, and nothing about the person.

The rows that hang off a customer are found from the schema (every foreign key to
``customers``), so a table added later is erased without a change here. Orders (confirmed
baskets) name their customer without a foreign key and stay, for the bookkeeping: their money,
seats and codes are kept, and what the customer typed into them and into their open baskets
(gift voucher names, messages and addresses, donation names, ticket and basket attributes) is
blanked and their open baskets are released (``baskets.blank_personal_text``); a deleted
customer's orders no longer name them. Web sessions kept in Redis are ended after the
transaction commits.

Deleted is not yet gone from the disk: after the commit, the database's files are cleared of
what the erasure deleted (``store/db.clear_erased_data``: SQLite's write-ahead log emptied;
``secure_delete`` has zeroed the rows in the pages). The audit log copies no values, so it
keeps the record that the erasure happened and nothing of the person (decision 0102).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import String, Text

from boxoffice.domain.errors import NotFound
from boxoffice.domain.principal import Principal
from boxoffice.services import baskets
from boxoffice.services.core import Core
from boxoffice.store.db import clear_erased_data
from boxoffice.store.models import Customer

log = structlog.get_logger("boxoffice.erasure")

ERASED = "erased"
#: Customer columns a tombstone keeps: keys, brand, bookkeeping. Every other column is blanked.
KEPT_COLUMNS = frozenset(
    {
        "tenant_id",
        "id",
        "brand_id",
        "state",
        "credit_balance",
        "created_at",
        "updated_at",
        "version",
    }
)


def _blank(column: Any) -> Any:
    if column.nullable:
        return None
    if isinstance(column.type, String | Text):
        return ""
    default = column.default
    if default is not None and default.is_scalar:
        return default.arg
    raise RuntimeError(f"customers.{column.name}: no blank value for an erased customer")


async def erase_customer(
    core: Core, principal: Principal, customer_id: int, *, brand_id: int | None = None
) -> None:
    """Erase a customer's personal data (idempotent: erasing a tombstone again is fine).

    With ``brand_id``, a customer of another brand is not found (keys limited to a brand).
    """
    async with core.uow(principal.tenant_id, write=True) as uow:
        row = await uow.customers.get_any_state(customer_id, for_update=True)
        if (
            row is None
            or (principal.customer_id is not None and principal.customer_id != customer_id)
            or (brand_id is not None and row.brand_id != brand_id)
        ):
            raise NotFound("Customer", customer_id)
        await uow.customers.delete_linked_rows(customer_id)
        await baskets.blank_personal_text(uow, customer_id)
        for column in Customer.__table__.columns:
            if column.name not in KEPT_COLUMNS:
                setattr(row, column.key, _blank(column))
        row.state = ERASED
        row.updated_at = datetime.now(UTC)
        uow.customers.record(customer_id, ERASED, principal.actor)
        await uow.commit()
    await core.session_store.delete_for_customer(principal.tenant_id, customer_id)
    await _clear(core, "erase")


async def delete_customer(
    core: Core, principal: Principal, customer_id: int, *, brand_id: int | None = None
) -> None:
    """Delete a customer (or a tombstone) and every row that hangs off it, leaving nothing."""
    async with core.uow(principal.tenant_id, write=True) as uow:
        row = await uow.customers.get_any_state(customer_id, for_update=True)
        if (
            row is None
            or (principal.customer_id is not None and principal.customer_id != customer_id)
            or (brand_id is not None and row.brand_id != brand_id)
        ):
            raise NotFound("Customer", customer_id)
        await uow.customers.delete_linked_rows(customer_id)
        await baskets.blank_personal_text(uow, customer_id, detach=True)
        await uow.customers.delete(row)
        await uow.commit()
    await core.session_store.delete_for_customer(principal.tenant_id, customer_id)
    await _clear(core, "delete")


async def _clear(core: Core, what: str) -> None:
    """The database's files cleared of what was just deleted; the erasure itself is committed
    whatever happens here, so a failure is logged (without any personal data), not raised."""
    try:
        cleared = await clear_erased_data(core.engine)
    except Exception as exc:  # the erasure stands; the next checkpoint clears the log
        log.warning("erasure_not_cleared_from_files", action=what, error=type(exc).__name__)
        return
    if not cleared:
        log.warning("erasure_not_cleared_from_files", action=what, error="busy")
