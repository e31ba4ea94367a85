"""The tenant guard: every query on a tenant-owned table is filtered, or refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from boxoffice.bootstrap import Core
from boxoffice.domain.ids import new_customer_key
from boxoffice.store.models import Customer, CustomerTag, Tag
from boxoffice.store.scoping import UnscopedQueryError
from tests.conftest import make_tenant


def _customer(email: str) -> Customer:
    now = datetime.now(UTC)
    return Customer(
        id=new_customer_key(),
        email=email,
        email_key=email,
        first_name="A",
        last_name="B",
        created_at=now,
        updated_at=now,
    )


async def _two_tenants_with_customers(core: Core) -> tuple[int, int]:
    _, a = await make_tenant(core, catalogue=True)
    _, b = await make_tenant(core, catalogue=True)
    for tenant_id, email in ((a, "a@example.org"), (b, "b@example.org")):
        async with core.uow(tenant_id, write=True) as uow:
            uow.customers.add(_customer(email))
            await uow.commit()
    return a, b


async def test_a_session_sees_only_its_tenant(core: Core) -> None:
    a, b = await _two_tenants_with_customers(core)
    async with core.uow(a) as uow:
        emails = (await uow.session.execute(select(Customer.email))).scalars().all()
        tags = (await uow.session.execute(select(func.count()).select_from(Tag))).scalar()
    assert emails == ["a@example.org"]
    assert tags is not None
    async with core.uow(b) as uow:
        assert await uow.customers.by_email_key("a@example.org") is None
        assert await uow.customers.by_email_key("b@example.org") is not None


async def test_updates_are_scoped_too(core: Core) -> None:
    a, b = await _two_tenants_with_customers(core)
    async with core.uow(a, write=True) as uow:
        await uow.session.execute(update(Customer).values(first_name="Changed"))
        await uow.commit()
    async with core.uow(b) as uow:
        row = await uow.customers.by_email_key("b@example.org")
        assert row is not None and row.first_name == "A"


async def test_a_query_without_a_tenant_is_refused(core: Core) -> None:
    async with core.uow(None) as uow:
        with pytest.raises(UnscopedQueryError):
            await uow.session.execute(select(Customer))


async def test_the_unscoped_form_must_be_asked_for(core: Core) -> None:
    a, b = await _two_tenants_with_customers(core)
    async with core.uow(None) as uow:
        stmt = select(Customer.tenant_id).where(Customer.tenant_id.in_([a, b]))
        tenants = (await uow.session.execute(stmt.execution_options(unscoped=True))).scalars().all()
    assert sorted(tenants) == sorted([a, b])


async def test_new_rows_are_stamped_with_the_tenant(core: Core) -> None:
    _, a = await make_tenant(core, catalogue=False)
    async with core.uow(a, write=True) as uow:
        row = _customer("stamped@example.org")
        uow.customers.add(row)
        await uow.commit()
        assert row.tenant_id == a


async def test_a_row_for_another_tenant_is_refused(core: Core) -> None:
    _, a = await make_tenant(core, catalogue=False)
    _, b = await make_tenant(core, catalogue=False)
    async with core.uow(a, write=True) as uow:
        row = _customer("other@example.org")
        row.tenant_id = b
        uow.customers.add(row)
        with pytest.raises(UnscopedQueryError):
            await uow.flush()


async def test_the_database_refuses_a_link_across_tenants(core: Core) -> None:
    """Composite foreign keys: a customer of A cannot carry a tag that exists only in B."""
    _, a = await make_tenant(core, catalogue=False)
    _, b = await make_tenant(core, catalogue=True)
    async with core.uow(b) as uow:
        tag_id = (await uow.catalogue.tags())[0].id
    async with core.uow(a, write=True) as uow:
        customer = _customer("link@example.org")
        uow.customers.add(customer)
        await uow.flush()
        uow.customers.add(
            CustomerTag(
                customer_id=customer.id, tag_id=tag_id, added_at=datetime.now(UTC), added_by="t"
            )
        )
        with pytest.raises(IntegrityError):
            await uow.flush()


async def test_leaving_without_commit_writes_nothing(core: Core) -> None:
    _, a = await make_tenant(core, catalogue=False)
    async with core.uow(a, write=True) as uow:
        uow.customers.add(_customer("gone@example.org"))
        await uow.flush()
    async with core.uow(a) as uow:
        assert await uow.customers.by_email_key("gone@example.org") is None


async def test_a_core_update_or_delete_must_name_the_unit_of_works_tenant(core: Core) -> None:
    """An UPDATE or DELETE written on a table (SQLAlchemy Core, as the inventory's conditional
    updates are) gets no ORM criteria: the guard refuses one whose WHERE does not require the
    unit of work's own tenant (SQLite would change every tenant's rows), and lets the others
    through."""
    a, b = await _two_tenants_with_customers(core)
    table = Customer.__table__
    for stmt in (
        update(table).values(first_name="Changed"),
        update(table).where(table.c.tenant_id == b).values(first_name="Changed"),
        update(table)
        .where((table.c.tenant_id == a) | (table.c.tenant_id == b))
        .values(first_name="Changed"),
        table.delete().where(table.c.email == "b@example.org"),
    ):
        async with core.uow(a, write=True) as uow:
            with pytest.raises(UnscopedQueryError):
                await uow.session.execute(stmt)
    async with core.uow(a, write=True) as uow:
        await uow.session.execute(
            update(table).where(table.c.tenant_id == a).values(first_name="Mine")
        )
        await uow.commit()
    async with core.uow(None) as uow:
        rows = await uow.session.execute(
            select(Customer.tenant_id, Customer.first_name)
            .where(Customer.tenant_id.in_([a, b]))
            .execution_options(unscoped=True)
        )
        assert dict(rows.all()) == {a: "Mine", b: "A"}
