"""The hot paths' snapshot reads (``store/reads.py``): scoped, typed, consistent, never blocking."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import bindparam, event, select, text

from boxoffice.bootstrap import Core
from boxoffice.domain.ids import new_customer_key, new_row_key
from boxoffice.store import reads
from boxoffice.store.models import Customer, CustomerAddress, CustomerTag, Tag
from boxoffice.store.scoping import (
    ScopedConnection,
    UnscopedQueryError,
    check_scoped,
    of_tenant,
)
from tests.conftest import make_tenant, owner_connection


async def _customer(core: Core, tenant_id: int, email: str) -> int:
    now = datetime.now(UTC)
    key = new_customer_key()
    async with core.uow(tenant_id, write=True) as uow:
        uow.customers.add(
            Customer(
                id=key,
                email=email,
                email_key=email,
                first_name="Ada",
                last_name="Lovelace",
                birth_date=date(1815, 12, 10),
                credit_balance=Decimal("12.50"),
                created_at=now,
                updated_at=now,
            )
        )
        uow.customers.add(
            CustomerAddress(id=new_row_key(), customer_id=key, line1="1 St", created_at=now)
        )
        await uow.commit()
    return key


async def test_a_read_returns_typed_rows_of_its_tenant_only(core: Core) -> None:
    _, a = await make_tenant(core)
    _, b = await make_tenant(core)
    key = await _customer(core, a, "ada@example.org")

    record = await core.reads.run(a, reads.customer_by_id(key))
    assert record is not None
    assert record.customer.email == "ada@example.org"
    assert record.customer.birth_date == date(1815, 12, 10)
    assert record.customer.credit_balance == Decimal("12.50")
    assert record.customer.created_at.tzinfo is not None
    assert [row.line1 for row in record.addresses] == ["1 St"]
    assert [row.name for row in record.attributes]  # the demo catalogue's definitions

    assert await core.reads.run(b, reads.customer_by_id(key)) is None
    assert await core.reads.run(b, reads.customer_by_email_key("ada@example.org")) is None
    found = await core.reads.run(a, reads.customer_by_email_key("ada@example.org"))
    assert found is not None and found.customer.id == key
    assert await core.reads.run(a, reads.customer_by_email_key("a\x00@example.org")) is None


async def test_a_read_sees_what_was_committed_before_it(core: Core) -> None:
    _, a = await make_tenant(core)
    assert await core.reads.run(a, reads.customer_by_email_key("late@example.org")) is None
    key = await _customer(core, a, "late@example.org")
    record = await core.reads.run(a, reads.customer_by_email_key("late@example.org"))
    assert record is not None and record.customer.id == key


def test_an_unfiltered_core_read_of_a_tenant_table_is_refused() -> None:
    with pytest.raises(UnscopedQueryError, match="customers"):
        check_scoped(select(Customer.__table__).where(Customer.__table__.c.id == 1))
    # Filtering one table of a join is not enough: each must name the tenant.
    tags, links = Tag.__table__, CustomerTag.__table__
    joined = select(tags.c.name).join_from(links, tags, links.c.tag_id == tags.c.id)
    with pytest.raises(UnscopedQueryError, match="tags"):
        check_scoped(joined.where(of_tenant(CustomerTag)))
    # A tenant filter compared with another parameter is not the tenant filter either.
    wrong = select(tags).where(tags.c.tenant_id == bindparam("other"))
    with pytest.raises(UnscopedQueryError):
        check_scoped(wrong)
    check_scoped(joined.where(of_tenant(CustomerTag, Tag)))


async def test_a_scoped_connection_binds_its_own_tenant(core: Core) -> None:
    _, a = await make_tenant(core)
    _, b = await make_tenant(core)
    await _customer(core, a, "mine@example.org")
    customers = Customer.__table__
    stmt = select(customers.c.email).where(of_tenant(Customer))

    def read(connection: ScopedConnection) -> list[str]:
        # A caller's own tenant parameter is overridden by the connection's.
        rows = connection.rows(stmt, {"scope_tenant_id": a})
        return [row.email for row in rows]

    assert await core.reads.run(b, read) == []
    assert await core.reads.run(a, read) == ["mine@example.org"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_busy_sqlite_database_moves_the_read_off_the_event_loop(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inline read never waits for a lock: SQLite's "busy" sends it to a thread that may."""
    _, a = await make_tenant(core)
    key = await _customer(core, a, "busy@example.org")
    ran: list[bool] = []
    original = reads._run_sqlite
    loop_thread = threading.get_ident()

    def busy_inline(target: Any, tenant_id: int, read: reads.Read[Any], wait: float) -> Any:
        on_loop = threading.get_ident() == loop_thread
        ran.append(on_loop)
        if on_loop:
            assert wait == 0  # the event loop never waits for a lock
            raise sqlite3.OperationalError("database is locked")
        assert wait > 0
        return original(target, tenant_id, read, wait)

    monkeypatch.setattr(reads, "_run_sqlite", busy_inline)
    record = await core.reads.run(a, reads.customer_by_id(key))
    assert record is not None and record.customer.id == key
    assert ran == [True, False]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_other_sqlite_errors_are_not_retried(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, a = await make_tenant(core)

    def broken(target: Any, tenant_id: int, read: reads.Read[Any], wait: float) -> Any:
        raise sqlite3.OperationalError("no such table: x")

    monkeypatch.setattr(reads, "_run_sqlite", broken)
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        await core.reads.run(a, reads.customer_by_id(1))


async def test_sqlite_reads_cannot_write(core: Core) -> None:
    """The inline connection is read-only, whatever a read function tries."""
    _, a = await make_tenant(core)

    def write(connection: ScopedConnection) -> None:
        if isinstance(connection.raw, sqlite3.Connection):
            connection.raw.execute("DELETE FROM customers")
        else:
            connection.raw.exec_driver_sql("DELETE FROM customers")

    if core.engine.dialect.name == "sqlite":
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await core.reads.run(a, write)
    else:
        # PostgreSQL: the read's transaction is rolled back, whatever it did.
        key = await _customer(core, a, "kept@example.org")
        await core.reads.run(a, write)
        assert await core.reads.run(a, reads.customer_by_id(key)) is not None


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_connection_the_server_closed_is_retried_once(core: Core) -> None:
    """PostgreSQL reads skip the ping before each use; a closed connection costs a retry."""
    _, a = await make_tenant(core)
    key = await _customer(core, a, "again@example.org")

    def backend(connection: ScopedConnection) -> int:
        return int(connection.raw.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())

    pid = await core.reads.run(a, backend)
    disconnects: list[bool] = []
    engine = core.reads._engine.sync_engine
    event.listen(engine, "handle_error", lambda ctx: disconnects.append(ctx.is_disconnect))
    async with owner_connection(core) as owner:
        assert await owner.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    record = await core.reads.run(a, reads.customer_by_id(key))
    assert record is not None and record.customer.id == key
    assert disconnects == [True]  # the closed connection was met, and the read retried
    assert await core.reads.run(a, backend) != pid


async def test_a_read_sends_its_statements_on_its_own_connection(core: Core) -> None:
    """The reads count what they send (for the per-request benchmark), and send nothing
    through the application's engine."""
    _, a = await make_tenant(core)
    key = await _customer(core, a, "counted@example.org")
    through_core: list[str] = []
    event.listen(
        core.engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_a: through_core.append(statement),
    )
    before = core.reads.sent
    record = await core.reads.run(a, reads.customer_by_id(key))
    assert record is not None and record.customer.id == key
    assert through_core == []
    assert core.reads.sent - before == 4  # the customer, definitions, values, addresses
