"""The key lookups (``store/lookups.py``) and the tenant guard of Core statements run by a unit
of work: scoped, typed, consistent, never blocking the event loop on SQLite's lock.

Rewritten from the tests of ``store/reads.py`` (removed with decision 0113): its connection
handling (retries, discards, its own pool) is gone; what it guaranteed is tested here of the
one data path."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy import bindparam, or_, select, text
from sqlalchemy.util import greenlet_spawn

from boxoffice.bootstrap import Core
from boxoffice.domain.commands import DeviceSetup, NewAddress, NewCustomer, NewDevice
from boxoffice.domain.ids import new_customer_key, new_row_key
from boxoffice.domain.principal import Principal
from boxoffice.services import customers as customer_service
from boxoffice.services import devices
from boxoffice.services import tenants as tenant_service
from boxoffice.store import lookups
from boxoffice.store.inline_sqlite import InlineConnection
from boxoffice.store.lookups import Lookups, rows_of
from boxoffice.store.models import (
    AttributeDefinition,
    Customer,
    CustomerAddress,
    CustomerAttributeValue,
    CustomerTag,
    Tag,
)
from boxoffice.store.scoping import (
    SESSION_TENANT_KEY,
    UnscopedQueryError,
    check_scoped,
    of_tenant,
)
from boxoffice.store.session_store import token_hash
from tests.conftest import make_tenant

T = TypeVar("T")
postgres_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def _lookup(core: Core, tenant_id: int, lookup: Callable[[Lookups], Awaitable[T]]) -> T:
    async with core.read(tenant_id) as uow:
        return await lookup(uow.lookups)


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


async def _four_statements(uow: Any, key: int) -> lookups.CustomerRecord | None:
    customers, definitions = Customer.__table__, AttributeDefinition.__table__
    values, addresses = CustomerAttributeValue.__table__, CustomerAddress.__table__
    row = await uow.first(select(customers).where(of_tenant(Customer), customers.c.id == key))
    if row is None:
        return None
    return lookups.CustomerRecord(
        row,
        await uow.rows(
            select(definitions)
            .where(of_tenant(AttributeDefinition))
            .order_by(definitions.c.position, definitions.c.id)
        ),
        await uow.rows(
            select(values.c.attribute_id, values.c.value).where(
                of_tenant(CustomerAttributeValue), values.c.customer_id == key
            )
        ),
        await uow.rows(
            select(addresses)
            .where(of_tenant(CustomerAddress), addresses.c.customer_id == key)
            .order_by(addresses.c.created_at, addresses.c.id)
        ),
    )


def _same_rows(*pairs: tuple[Sequence[Any], Sequence[Any]]) -> None:
    """Each pair of row lists has the same column names and value types, row by row."""
    for mine, theirs in pairs:
        assert [r._fields for r in mine] == [r._fields for r in theirs]
        assert [[type(v) for v in r] for r in mine] == [[type(v) for v in r] for r in theirs]


async def test_a_lookup_returns_typed_rows_of_its_tenant_only(core: Core) -> None:
    _, a = await make_tenant(core)
    _, b = await make_tenant(core)
    key = await _customer(core, a, "ada@example.org")

    record = await _lookup(core, a, lambda lk: lk.customer_by_id(key))
    assert record is not None
    assert record.customer.email == "ada@example.org"
    assert record.customer.birth_date == date(1815, 12, 10)
    assert record.customer.credit_balance == Decimal("12.50")
    assert record.customer.created_at.tzinfo is not None
    assert [row.line1 for row in record.addresses] == ["1 St"]
    assert [row.name for row in record.attributes]  # the demo catalogue's definitions

    assert await _lookup(core, b, lambda lk: lk.customer_by_id(key)) is None
    assert await _lookup(core, b, lambda lk: lk.customer_by_email_key("ada@example.org")) is None
    found = await _lookup(core, a, lambda lk: lk.customer_by_email_key("ada@example.org"))
    assert found is not None and found.customer.id == key
    assert await _lookup(core, a, lambda lk: lk.customer_by_email_key("a\x00@example.org")) is None


async def test_a_lookup_sees_what_was_committed_before_it(core: Core) -> None:
    _, a = await make_tenant(core)
    assert await _lookup(core, a, lambda lk: lk.customer_by_email_key("late@example.org")) is None
    key = await _customer(core, a, "late@example.org")
    record = await _lookup(core, a, lambda lk: lk.customer_by_email_key("late@example.org"))
    assert record is not None and record.customer.id == key


async def test_the_lookups_run_in_a_writing_unit_of_work_too(core: Core) -> None:
    _, a = await make_tenant(core)
    key = await _customer(core, a, "orm@example.org")
    async with core.uow(a) as uow:
        record = await uow.lookups.customer_by_id(key)
    assert record is not None and record.customer.email == "orm@example.org"


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


async def test_a_core_statement_without_its_tenant_filter_is_refused_before_it_is_sent(
    core: Core,
) -> None:
    """Through either unit of work: the guard checks each Core statement before it runs."""
    _, a = await make_tenant(core)
    customers, values = Customer.__table__, CustomerAttributeValue.__table__
    unfiltered_inner = select(
        customers, rows_of(select(values.c.value), core.engine.dialect.name)
    ).where(of_tenant(Customer))
    for stmt in (select(customers.c.email), unfiltered_inner):
        async with core.read(a) as read:
            with pytest.raises(UnscopedQueryError):
                await read.rows(stmt)
        async with core.uow(a) as uow:
            with pytest.raises(UnscopedQueryError):
                await uow.rows(stmt)
    async with core.uow(None) as unscoped:  # an operator's unit of work has no tenant to bind
        with pytest.raises(UnscopedQueryError):
            await unscoped.rows(select(customers.c.email).where(of_tenant(Customer)))
    with pytest.raises(UnscopedQueryError):
        core.read(None)  # type: ignore[arg-type]


async def test_a_unit_of_work_binds_its_own_tenant(core: Core) -> None:
    _, a = await make_tenant(core)
    _, b = await make_tenant(core)
    await _customer(core, a, "mine@example.org")
    customers = Customer.__table__
    stmt = select(customers.c.email).where(of_tenant(Customer))
    for tenant, expected in ((b, []), (a, ["mine@example.org"])):
        # A caller's own tenant parameter is overridden by the unit of work's.
        async with core.read(tenant) as read:
            assert [r.email for r in await read.rows(stmt, {"scope_tenant_id": a})] == expected
        async with core.uow(tenant) as uow:
            assert [r.email for r in await uow.rows(stmt, {"scope_tenant_id": a})] == expected


def test_every_select_of_a_nested_read_names_its_tenant() -> None:
    """Subqueries are checked like the statement around them: each filters its own tenant-owned
    tables, those it correlates to the enclosing row included; only through ``AND``; no SQL
    text the guard cannot read."""
    customers, values = Customer.__table__, CustomerAttributeValue.__table__
    definitions = AttributeDefinition.__table__

    for dialect in ("postgresql", "sqlite"):  # rows_of: arrays of records, JSON arrays

        def nested(*where: Any, dialect: str = dialect) -> Any:
            inner = (
                select(values.c.value)
                .where(*where, values.c.customer_id == customers.c.id)
                .correlate(customers)
            )
            return select(customers, rows_of(inner, dialect)).where(of_tenant(Customer))

        check_scoped(nested(of_tenant(CustomerAttributeValue, Customer)))
        with pytest.raises(UnscopedQueryError, match="customer_attribute_values"):
            check_scoped(nested(of_tenant(Customer)))
        with pytest.raises(UnscopedQueryError, match="customers"):
            check_scoped(nested(of_tenant(CustomerAttributeValue)))
        definitions_of_tenant = select(definitions).where(of_tenant(AttributeDefinition))
        check_scoped(
            select(customers, rows_of(definitions_of_tenant, dialect)).where(of_tenant(Customer))
        )
        with pytest.raises(UnscopedQueryError, match="attribute_definitions"):
            check_scoped(
                select(customers, rows_of(select(definitions), dialect)).where(of_tenant(Customer))
            )
    with pytest.raises(UnscopedQueryError, match="customer_attribute_values"):
        check_scoped(
            select(customers).where(
                of_tenant(Customer), customers.c.id.in_(select(values.c.customer_id))
            )
        )
    with pytest.raises(UnscopedQueryError, match="customers"):
        check_scoped(select(customers).where(or_(of_tenant(Customer), customers.c.id == 1)))
    with pytest.raises(UnscopedQueryError, match="SQL text"):
        check_scoped(select(customers).where(of_tenant(Customer), text("true OR true")))


async def test_token_session_and_profile_reads_keep_to_their_tenant(core: Core) -> None:
    """The lookups of decision 0085: a device token with its user's and customer's state, a
    web session, a CareCloud profile; none of them answers for another tenant."""
    name, a = await make_tenant(core)
    _, b = await make_tenant(core, catalogue=False)
    key = await _customer(core, a, "token@example.org")
    await tenant_service.create_interface_user(core, name, "app-user")
    token = await devices.create_token(
        core,
        await tenant_service.get_tenant(core, name),
        "127.0.0.1",
        NewDevice(
            user_name="app-user",
            device_id="d",
            device_system="",
            device_name="",
            device_type="",
            external_application_id="app",
            push_token=None,
            setup=DeviceSetup(language="en", allowed_gps=False, allowed_notifications=False),
        ),
    )
    hashed = devices.token_hash(token)
    async with core.uow(a, write=True) as uow:
        await devices.bind_customer(uow, token, key)
        await uow.commit()

    found = await _lookup(core, a, lambda lk: lk.device_token(hashed, None))
    assert found is not None and found.user_usable and found.customer_active
    assert found.token.customer_id == key and found.token.user_name == "app-user"
    named = await _lookup(core, a, lambda lk: lk.device_token(hashed, "nobody"))
    assert named is not None and not named.user_usable  # the user named is checked
    assert await _lookup(core, b, lambda lk: lk.device_token(hashed, None)) is None
    assert await _lookup(core, a, lambda lk: lk.device_token("0" * 64, None)) is None
    assert await _lookup(core, a, lambda lk: lk.device_token("a\x00", None)) is None

    session = await core.session_store.create(a, key)
    row = await _lookup(core, a, lambda lk: lk.customer_session(token_hash(session)))
    assert row is not None and row.customer_id == key
    assert row.expires_at.tzinfo is not None and row.last_seen_at.tzinfo is not None
    assert await _lookup(core, b, lambda lk: lk.customer_session(token_hash(session))) is None

    profile = await _lookup(core, a, lambda lk: lk.profile_by_id(key))
    assert profile is not None and profile.record.customer.id == key
    assert [s.id for s in profile.statements] and [lang.code for lang in profile.languages]
    assert await _lookup(core, b, lambda lk: lk.profile_by_id(key)) is None
    assert await _lookup(core, b, lambda lk: lk.languages()) == []


async def test_the_one_statement_record_is_the_four_statements_record(core: Core) -> None:
    """A customer is read with its related rows in one statement (arrays of records on
    PostgreSQL, JSON arrays on SQLite); the record must be the one four separate statements
    give, values and types."""
    _, a = await make_tenant(core)
    owner = Principal(tenant_id=a, actor="api-user:reads", full_access=True)
    full = await customer_service.create_customer(
        core,
        owner,
        NewCustomer(
            first_name="Ada",
            last_name="Lovelace",
            email="whole@example.org",
            birth_date=date(1985, 12, 10),
            addresses=(
                NewAddress(line1="1 Square", town="London", country="gb", is_delivery=False),
                NewAddress(line1="2 Lane", town="Leeds", country="gb"),
            ),
            attributes={"favourite genre": "Opera", "access requirements": "step-free"},
        ),
    )
    bare = await customer_service.create_customer(
        core, owner, NewCustomer(first_name="B", last_name="Are", email="bare@example.org")
    )
    for key in (full.id, bare.id):
        async with core.read(a) as uow:
            one = await uow.lookups.customer_by_id(key)
            separate = await _four_statements(uow, key)
        assert one is not None and separate is not None
        assert one == separate
        _same_rows(
            ([one.customer], [separate.customer]),
            (one.attributes, separate.attributes),
            (one.values, separate.values),
            (one.addresses, separate.addresses),
        )
    whole = await _lookup(core, a, lambda lk: lk.customer_by_id(full.id))
    assert whole is not None and len(whole.values) == 2 and len(whole.addresses) == 2
    assert [r.line1 for r in whole.addresses] == ["1 Square", "2 Lane"]
    assert all(r.created_at.tzinfo is not None for r in whole.addresses)
    empty = await _lookup(core, a, lambda lk: lk.customer_by_id(bare.id))
    assert empty is not None and list(empty.values) == [] and list(empty.addresses) == []


@sqlite_only
async def test_a_busy_sqlite_call_moves_to_a_thread_that_may_wait(core: Core) -> None:
    """The inline driver never waits for a lock on the event loop: SQLite's "busy" makes it
    run the same call again in a thread; other errors are not retried."""
    async with core.engine.connect() as connection:
        driver: Any = (await connection.get_raw_connection()).driver_connection
        assert isinstance(driver, InlineConnection)
        loop_thread = threading.get_ident()
        threads: list[int] = []

        def busy_once() -> str:
            threads.append(threading.get_ident())
            if len(threads) == 1:
                raise sqlite3.OperationalError("database is locked")
            return "done"

        assert await greenlet_spawn(driver.run, busy_once) == "done"
        assert threads[0] == loop_thread and threads[1] != loop_thread

        threads.clear()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            driver.run(busy_once)  # outside SQLAlchemy's greenlet: the caller retries
        assert threads == [loop_thread]

        def broken() -> None:
            threads.append(threading.get_ident())
            raise sqlite3.OperationalError("no such table: x")

        threads.clear()
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            await greenlet_spawn(driver.run, broken)
        assert threads == [loop_thread]


@postgres_only
async def test_a_connection_used_for_one_tenant_then_another_reads_only_the_second(
    core: Core,
) -> None:
    """Read-only units of work keep the tenant in the connection's session (decision 0080):
    sent when it changes, and row-level security follows it."""
    _, a = await make_tenant(core)
    _, b = await make_tenant(core)
    key_a = await _customer(core, a, "first@example.org")
    key_b = await _customer(core, b, "second@example.org")
    seen = []
    for tenant, key, other in ((b, key_b, key_a), (a, key_a, key_b), (b, key_b, key_a)):
        async with core.read(tenant) as read:
            connection: Any = read._connection
            assert connection.info[SESSION_TENANT_KEY] == tenant
            assert await read.lookups.customer_by_id(key) is not None
            assert await read.lookups.customer_by_id(other) is None
            # Row-level security is in force with this tenant, for a statement without the
            # tenant filter (sent around the guard, as only a test may).
            found = await connection.execute(
                text(
                    "SELECT email, current_setting('boxoffice.tenant_id'),"
                    " current_setting('boxoffice.bypass_rls') FROM customers"
                )
            )
            rows = found.all()
            assert {(r[1], r[2]) for r in rows} == {(str(tenant), "off")}
            seen.append([r[0] for r in rows])
    assert seen == [["second@example.org"], ["first@example.org"], ["second@example.org"]]


@postgres_only
async def test_a_read_only_unit_of_work_sends_no_begin_and_no_tenant_it_need_not(
    core: Core,
) -> None:
    from sqlalchemy import event

    _, a = await make_tenant(core)
    _, b = await make_tenant(core)
    key = await _customer(core, a, "trips@example.org")
    assert core.read_engine is not None
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement.split(None, 1)[0].upper())

    await _lookup(core, a, lambda lk: lk.customer_by_id(key))
    event.listen(core.read_engine.sync_engine, "before_cursor_execute", count)
    try:
        await _lookup(core, a, lambda lk: lk.customer_by_id(key))
        assert sent == ["SELECT"]  # the statement alone: no BEGIN, no tenant setting
        sent.clear()
        await _lookup(core, b, lambda lk: lk.customer_by_id(key))
        assert sent == ["SELECT", "SELECT"]  # another tenant: its setting, the statement
    finally:
        event.remove(core.read_engine.sync_engine, "before_cursor_execute", count)


@postgres_only
async def test_read_only_connections_refuse_writes(core: Core) -> None:
    _, a = await make_tenant(core)
    async with core.read(a) as read:
        connection: Any = read._connection
        with pytest.raises(Exception, match="read-only"):
            await connection.execute(text("CREATE TEMP TABLE x (a int)"))


async def test_lookups_use_bound_parameters_only(core: Core) -> None:
    """A lookup's statement is prebuilt: the key is a parameter, never in its SQL."""
    _, a = await make_tenant(core)
    stmt = select(Customer.__table__.c.id).where(
        of_tenant(Customer), Customer.__table__.c.email_key == bindparam("email_key")
    )
    async with core.read(a) as read:
        assert await read.rows(stmt, {"email_key": "' OR 1=1 --"}) == []
    assert lookups.TENANT_PARAM == "scope_tenant_id"


async def test_read_units_of_work_keep_their_connections_one_at_a_time(core: Core) -> None:
    """A read-only unit of work's connection is kept for the next one (``ReadConnections``),
    which binds its own tenant on it; two in flight at once never share one; one left by an
    error is closed, not kept; each statement runs alone (no transaction left open)."""
    _, a = await make_tenant(core)
    _, b = await make_tenant(core)
    await _customer(core, a, "kept@example.org")
    stmt = select(Customer.__table__.c.email).where(of_tenant(Customer))

    async with core.read(a) as first:
        assert [r.email for r in await first.rows(stmt)] == ["kept@example.org"]
        kept = first._connection
        async with core.read(a) as second:  # in flight at once: a connection of its own
            assert second._connection is not kept
            await second.rows(stmt)
        raw = await kept.get_raw_connection()  # type: ignore[union-attr]
        driver = raw.driver_connection
        if isinstance(driver, InlineConnection):
            assert not driver.in_transaction  # the statement ran alone
    async with core.read(b) as other:  # the same connection, another tenant
        assert other._connection in (kept, second._connection)
        assert await other.rows(stmt) == []
    with pytest.raises(RuntimeError):
        async with core.read(a) as failed:
            lost = failed._connection
            raise RuntimeError("a request's error")
    assert lost is not None and lost.closed
    async with core.read(a) as after:
        assert after._connection is not lost
        assert [r.email for r in await after.rows(stmt)] == ["kept@example.org"]
