"""A new customer written by Core statements (``Customers.insert_new``): the tenant guard stamps
and refuses its rows as a flush would, a taken random key is drawn again, and the audit log
records the rows. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from boxoffice.bootstrap import Core
from boxoffice.domain.ids import new_customer_key, new_row_key
from boxoffice.services import audit
from boxoffice.services.customers import new_customer_row
from boxoffice.store.models import Customer, TimelineEntry
from boxoffice.store.scoping import UnscopedQueryError
from tests.conftest import make_tenant


def _new(email: str, key: int | None = None) -> dict[str, Any]:
    return new_customer_row(
        key or new_customer_key(), datetime.now(UTC), first_name="A", last_name="B", email=email
    )


def _entry(customer_id: int) -> dict[str, Any]:
    return {
        "id": new_row_key(),
        "customer_id": customer_id,
        "occurred_at": datetime.now(UTC),
        "kind": "created",
        "actor": "test",
        "data": {},
    }


async def test_core_rows_are_stamped_with_the_unit_of_works_tenant(core: Core) -> None:
    name, a = await make_tenant(core, catalogue=False)
    row = _new("core-stamped@example.org")
    async with core.uow(a, write=True) as uow:
        await uow.customers.insert_new(
            row, [(TimelineEntry, [_entry(row["id"])])], new_customer_key
        )
        await uow.commit()
    async with core.uow(a) as uow:
        stored = await uow.customers.get(row["id"])
        (entry,) = await uow.customers.timeline(row["id"])
    assert stored is not None and stored.tenant_id == a and entry.tenant_id == a
    (audited,) = [e for e in await audit.list_entries(core, name) if e.customer_id == row["id"]]
    assert audited.action == "customer.created"
    assert {"table": "customers", "op": "insert", "key": {"id": row["id"]}} in audited.changes


async def test_core_rows_for_another_tenant_or_none_are_refused(core: Core) -> None:
    _, a = await make_tenant(core, catalogue=False)
    _, b = await make_tenant(core, catalogue=False)
    row = {**_new("core-other@example.org"), "tenant_id": b}
    async with core.uow(a, write=True) as uow:
        with pytest.raises(UnscopedQueryError):
            await uow.customers.insert_new(row, [], new_customer_key)
    row = _new("core-child@example.org")
    async with core.uow(a, write=True) as uow:
        child = {**_entry(row["id"]), "tenant_id": b}
        with pytest.raises(UnscopedQueryError):
            await uow.customers.insert_new(row, [(TimelineEntry, [child])], new_customer_key)
    async with core.uow(None, write=True) as uow:
        with pytest.raises(UnscopedQueryError):
            await uow.customers.insert_new(_new("core-none@example.org"), [], new_customer_key)
    async with core.uow(a) as uow:
        assert await uow.customers.by_email_key("core-other@example.org") is None
        assert await uow.customers.by_email_key("core-child@example.org") is None


async def test_a_taken_random_key_is_drawn_again(core: Core) -> None:
    _, a = await make_tenant(core, catalogue=False)
    first = _new("core-first@example.org")
    async with core.uow(a, write=True) as uow:
        await uow.customers.insert_new(first, [], new_customer_key)
        await uow.commit()
    fresh = new_customer_key()
    second = _new("core-second@example.org", key=first["id"])
    async with core.uow(a, write=True) as uow:
        await uow.customers.insert_new(
            second, [(TimelineEntry, [_entry(second["id"])])], lambda: fresh
        )
        await uow.commit()
    assert second["id"] == fresh
    async with core.uow(a) as uow:
        ids = (await uow.session.execute(select(Customer.id).order_by(Customer.id))).scalars()
        assert sorted(ids) == sorted([first["id"], fresh])
        (entry,) = await uow.customers.timeline(fresh)
    assert entry.customer_id == fresh
