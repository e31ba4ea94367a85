"""The hot paths' snapshot reads (``store/reads.py``): scoped, typed, consistent, never blocking."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from sqlalchemy import bindparam, event, func, or_, select, text
from sqlalchemy.util import await_only

from boxoffice.bootstrap import Core
from boxoffice.domain.commands import DeviceSetup, NewAddress, NewCustomer, NewDevice
from boxoffice.domain.ids import new_customer_key, new_row_key
from boxoffice.domain.principal import Principal
from boxoffice.services import customers as customer_service
from boxoffice.services import devices
from boxoffice.services import tenants as tenant_service
from boxoffice.store import reads, scoping
from boxoffice.store.db import create_engine
from boxoffice.store.models import (
    AttributeDefinition,
    ConsentChange,
    Customer,
    CustomerAddress,
    CustomerAttributeValue,
    CustomerConsent,
    CustomerTag,
    InterfaceUser,
    Tag,
)
from boxoffice.store.scoping import (
    ScopedConnection,
    UnscopedQueryError,
    bind_session_tenant,
    check_scoped,
    of_tenant,
)
from boxoffice.store.session_store import token_hash
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


def _same_rows(*pairs: tuple[Sequence[Any], Sequence[Any]]) -> None:
    """Each pair of row lists has the same column names and value types, row by row."""
    for mine, theirs in pairs:
        assert [r._fields for r in mine] == [r._fields for r in theirs]
        assert [[type(v) for v in r] for r in mine] == [[type(v) for v in r] for r in theirs]


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

    key = await _customer(core, a, "kept@example.org")

    def write(connection: ScopedConnection) -> None:
        if isinstance(connection.raw, sqlite3.Connection):
            connection.raw.execute("DELETE FROM customers")
        else:  # PostgreSQL: the reads' connections are read-only (no transaction to undo it)
            await_only(connection.raw.execute("DELETE FROM customers"))

    if core.engine.dialect.name == "sqlite":
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await core.reads.run(a, write)
    else:
        with pytest.raises(asyncpg.exceptions.ReadOnlySQLTransactionError):
            await core.reads.run(a, write)
    assert await core.reads.run(a, reads.customer_by_id(key)) is not None


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_connection_the_server_closed_is_retried_once(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL reads skip the ping before each use; a closed connection costs a retry."""
    _, a = await make_tenant(core)
    key = await _customer(core, a, "again@example.org")

    pid = await core.reads.run(a, _backend)
    attempts = _count_attempts(core, monkeypatch)
    async with owner_connection(core) as owner:
        assert await owner.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    record = await core.reads.run(a, reads.customer_by_id(key))
    assert record is not None and record.customer.id == key
    assert attempts == [a, a]  # the closed connection was met, and the read retried
    assert await core.reads.run(a, _backend) != pid


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
    if core.engine.dialect.name == "sqlite":
        assert core.reads.sent - before == 4  # the customer, definitions, values, addresses
    else:
        assert core.reads.sent - before == 1  # all of it in one statement (decision 0080)


# --- PostgreSQL: one statement, no transaction, the tenant in the session (decision 0080) ---


def _backend(connection: ScopedConnection) -> int:
    return int(await_only(connection.raw.fetchval("SELECT pg_backend_pid()")))


def _count_attempts(core: Core, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    postgres = core.reads._postgres
    assert postgres is not None
    attempts: list[int] = []
    original = postgres.attempt

    def counted(tenant_id: int, read: reads.Read[Any]) -> Any:
        attempts.append(tenant_id)
        return original(tenant_id, read)

    monkeypatch.setattr(postgres, "attempt", counted)
    return attempts


def _unfiltered(connection: ScopedConnection) -> tuple[list[str], str | None, str | None]:
    """What row-level security alone lets a statement without any tenant filter see."""
    raw = connection.raw
    emails = [r["email"] for r in await_only(raw.fetch("SELECT email FROM customers"))]
    tenant = await_only(raw.fetchval("SELECT current_setting('boxoffice.tenant_id', true)"))
    bypass = await_only(raw.fetchval("SELECT current_setting('boxoffice.bypass_rls', true)"))
    return sorted(emails), tenant, bypass


postgres_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
#: A hang guard on waits that must end: generous, never what a test asserts.
GUARD = 60.0
#: The advisory lock a test holds to keep a read waiting.
LOCK_KEY = 730_015


async def _until(core: Core, condition: str) -> None:
    """Poll (bounded by GUARD) until a backend of this test database matches ``condition``
    in ``pg_stat_activity``: a statement is running, or waiting for a lock, now."""
    async with owner_connection(core) as owner, asyncio.timeout(GUARD):
        while not await owner.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                f" AND pid <> pg_backend_pid() AND {condition}"
            )
        ):
            await owner.rollback()  # a fresh snapshot of pg_stat_activity
            await asyncio.sleep(0.01)  # polling interval, not a wait for behaviour


@postgres_only
async def test_a_connection_used_for_one_tenant_then_another_reads_only_the_second(
    core: Core,
) -> None:
    _, a = await make_tenant(core)
    _, b = await make_tenant(core)
    key_a = await _customer(core, a, "first@example.org")
    key_b = await _customer(core, b, "second@example.org")

    pid = await core.reads.run(a, _backend)
    seen = []
    for tenant, key, other in ((b, key_b, key_a), (a, key_a, key_b), (b, key_b, key_a)):
        assert await core.reads.run(tenant, _backend) == pid  # the very same connection
        record = await core.reads.run(tenant, reads.customer_by_id(key))
        assert record is not None and record.customer.id == key
        assert await core.reads.run(tenant, reads.customer_by_id(other)) is None
        # Row-level security is in force with this tenant, for a statement without the filter.
        emails, setting, bypass = await core.reads.run(tenant, _unfiltered)
        assert setting == str(tenant) and bypass == "off"
        seen.append(emails)
    assert seen == [["second@example.org"], ["first@example.org"], ["second@example.org"]]


@postgres_only
async def test_the_tenant_is_sent_only_when_the_connection_names_another(core: Core) -> None:
    _, a = await make_tenant(core)
    _, b = await make_tenant(core)
    key = await _customer(core, a, "trips@example.org")
    await core.reads.run(a, reads.customer_by_id(key))  # first use: prepares, sets the tenant
    before = core.reads.round_trips
    await core.reads.run(a, reads.customer_by_id(key))
    assert core.reads.round_trips - before == 1  # the statement alone: no BEGIN, no ROLLBACK
    before = core.reads.round_trips
    await core.reads.run(b, reads.customer_by_id(key))
    assert core.reads.round_trips - before == 2  # another tenant: its setting, the statement


@postgres_only
async def test_a_new_reads_connection_sees_nothing_before_its_tenant_is_set(core: Core) -> None:
    """The setting belongs to the reads' own connections: a connection of the same kind that
    was never given a tenant sees no tenant-owned row at all."""
    _, a = await make_tenant(core)
    await _customer(core, a, "unseen@example.org")
    url = core.engine.url.render_as_string(hide_password=False)
    engine = create_engine(url, pool_size=1, role="auto", pre_ping=False, read_only=True)
    try:
        async with engine.connect() as connection:
            driver: Any = (await connection.get_raw_connection()).driver_connection
            assert await driver.fetch("SELECT email FROM customers") == []
    finally:
        await engine.dispose()


@postgres_only
async def test_a_failed_tenant_setting_discards_the_connection(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, a = await make_tenant(core)
    _, b = await make_tenant(core)
    pid = await core.reads.run(a, _backend)
    broken = "SELECT set_config('boxoffice.tenant_id', $1, false), 1 / 0"
    monkeypatch.setattr(scoping, "SET_SESSION_TENANT", broken)
    with pytest.raises(asyncpg.exceptions.DivisionByZeroError):
        await core.reads.run(b, _backend)
    monkeypatch.undo()
    assert await core.reads.run(b, _backend) != pid  # a new connection
    emails, setting, _ = await core.reads.run(b, _unfiltered)
    assert setting == str(b) and emails == []


@postgres_only
async def test_a_read_cancelled_on_the_server_discards_its_connection(core: Core) -> None:
    """A request cancelled while its statement runs leaves the connection in doubt."""
    _, a = await make_tenant(core)
    await _customer(core, a, "slow@example.org")
    customers = Customer.__table__
    slow = select(customers.c.id, func.pg_sleep(GUARD).label("slept")).where(of_tenant(Customer))
    pid = await core.reads.run(a, _backend)
    task = asyncio.create_task(core.reads.run(a, lambda connection: connection.rows(slow)))
    await _until(core, "state = 'active' AND query LIKE '%pg_sleep%'")  # running on the server
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await core.reads.run(a, _backend) != pid
    emails, setting, _ = await core.reads.run(a, _unfiltered)
    assert setting == str(a) and emails == ["slow@example.org"]


@postgres_only
async def test_postgresql_reads_need_an_engine_of_their_own(core: Core) -> None:
    with pytest.raises(ValueError, match="engine of their own"):
        reads.Reads(core.engine)


def test_the_session_tenant_is_an_integer() -> None:
    sent: list[tuple[str, str]] = []
    info: dict[Any, Any] = {}
    with pytest.raises(UnscopedQueryError):
        bind_session_tenant(info, True, lambda sql, value: sent.append((sql, value)))
    with pytest.raises(UnscopedQueryError):
        bind_session_tenant(info, "1", lambda sql, value: sent.append((sql, value)))  # type: ignore[arg-type]
    assert bind_session_tenant(info, 7, lambda sql, value: sent.append((sql, value)))
    assert not bind_session_tenant(info, 7, lambda sql, value: sent.append((sql, value)))
    assert [value for _, value in sent] == ["7"]


def test_every_select_of_a_nested_read_names_its_tenant() -> None:
    """Subqueries are checked like the statement around them: each filters its own tenant-owned
    tables, those it correlates to the enclosing row included; only through ``AND``; no SQL
    text the guard cannot read."""
    customers, values = Customer.__table__, CustomerAttributeValue.__table__
    definitions = AttributeDefinition.__table__

    def nested(*where: Any) -> Any:
        inner = select(values.c.value).where(*where, values.c.customer_id == customers.c.id)
        return select(customers, reads.rows_of(inner)).where(of_tenant(Customer))

    check_scoped(nested(of_tenant(CustomerAttributeValue, Customer)))
    with pytest.raises(UnscopedQueryError, match="customer_attribute_values"):
        check_scoped(nested(of_tenant(Customer)))
    with pytest.raises(UnscopedQueryError, match="customers"):
        check_scoped(nested(of_tenant(CustomerAttributeValue)))
    check_scoped(
        select(
            customers, reads.rows_of(select(definitions).where(of_tenant(AttributeDefinition)))
        ).where(of_tenant(Customer))
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


@postgres_only
async def test_the_one_statement_record_is_the_four_statements_record(core: Core) -> None:
    """PostgreSQL reads a customer with its related rows in one statement; the record must be
    the one the four separate statements give (which SQLite still runs), values and types."""
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

        def four(connection: ScopedConnection, key: int = key) -> reads.CustomerRecord | None:
            return reads._record(connection, connection.first(reads._CUSTOMER_BY_ID, {"key": key}))

        one = await core.reads.run(a, reads.customer_by_id(key))
        separate = await core.reads.run(a, four)
        assert one is not None and separate is not None
        assert one == separate
        _same_rows(
            ([one.customer], [separate.customer]),
            (one.attributes, separate.attributes),
            (one.values, separate.values),
            (one.addresses, separate.addresses),
        )
    whole = await core.reads.run(a, reads.customer_by_id(full.id))
    assert whole is not None and len(whole.values) == 2 and len(whole.addresses) == 2
    assert [r.line1 for r in whole.addresses] == ["1 Square", "2 Lane"]
    assert all(r.created_at.tzinfo is not None for r in whole.addresses)
    empty = await core.reads.run(a, reads.customer_by_id(bare.id))
    assert empty is not None and list(empty.values) == [] and list(empty.addresses) == []


async def test_a_read_without_its_tenant_filter_is_refused_before_it_is_sent(core: Core) -> None:
    _, a = await make_tenant(core)
    customers, values = Customer.__table__, CustomerAttributeValue.__table__
    unfiltered_inner = select(customers, reads.rows_of(select(values.c.value))).where(
        of_tenant(Customer)
    )
    before = core.reads.sent
    for stmt in (select(customers.c.email), unfiltered_inner):
        with pytest.raises(UnscopedQueryError):
            await core.reads.run(a, lambda connection, stmt=stmt: connection.rows(stmt))
    assert core.reads.sent == before


async def test_token_session_and_profile_reads_keep_to_their_tenant(core: Core) -> None:
    """The reads of decision 0085: a device token with its user's and customer's state, a
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

    found = await core.reads.run(a, reads.device_token(hashed, None))
    assert found is not None and found.user_usable and found.customer_active
    assert found.token.customer_id == key and found.token.user_name == "app-user"
    named = await core.reads.run(a, reads.device_token(hashed, "nobody"))
    assert named is not None and not named.user_usable  # the user named is checked
    assert await core.reads.run(b, reads.device_token(hashed, None)) is None
    assert await core.reads.run(a, reads.device_token("0" * 64, None)) is None
    assert await core.reads.run(a, reads.device_token("a\x00", None)) is None

    session = await core.session_store.create(a, key)
    row = await core.reads.run(a, reads.customer_session(token_hash(session)))
    assert row is not None and row.customer_id == key
    assert row.expires_at.tzinfo is not None and row.last_seen_at.tzinfo is not None
    assert await core.reads.run(b, reads.customer_session(token_hash(session))) is None

    profile = await core.reads.run(a, reads.profile_by_id(key))
    assert profile is not None and profile.record.customer.id == key
    assert [s.id for s in profile.statements] and [lang.code for lang in profile.languages]
    assert await core.reads.run(b, reads.profile_by_id(key)) is None
    assert await core.reads.run(b, reads.languages) == []


async def test_the_one_statement_profile_is_the_separate_statements_profile(core: Core) -> None:
    """PostgreSQL reads a CareCloud profile in one statement (decision 0085, like 0080's
    customer); it must be the profile the separate statements give, values and types."""
    _, a = await make_tenant(core)
    owner = Principal(tenant_id=a, actor="api-user:reads", full_access=True)
    full = await customer_service.create_customer(
        core, owner, NewCustomer(first_name="P", last_name="Rofile", email="p@example.org")
    )
    bare = await customer_service.create_customer(
        core, owner, NewCustomer(first_name="B", last_name="Are", email="pb@example.org")
    )
    now = datetime.now(UTC)
    async with core.uow(a, write=True) as uow:
        statements = list(await uow.catalogue.statements())
        assert len(statements) >= 2
        uow.customers.add(
            CustomerConsent(customer_id=full.id, statement_id=statements[0].id, agreed_at=now)
        )
        for statement, agreed in ((statements[0], True), (statements[1], False)):
            uow.customers.add(
                ConsentChange(
                    id=new_row_key(),
                    customer_id=full.id,
                    statement_id=statement.id,
                    agreed=agreed,
                    statement_text=statement.text,
                    actor="t",
                    channel="t",
                    occurred_at=now,
                )
            )
        await uow.commit()

    def separate(key: int) -> reads.Read[reads.ProfileRecord | None]:
        def read(connection: ScopedConnection) -> reads.ProfileRecord | None:
            record = reads._record(
                connection, connection.first(reads._CUSTOMER_BY_ID, {"key": key})
            )
            if record is None:
                return None
            rows = {"customer": key}
            return reads.ProfileRecord(
                record,
                connection.rows(reads._CONSENTS, rows),
                connection.rows(reads._CONSENT_CHANGES, rows),
                connection.rows(reads._STATEMENTS),
                reads.languages(connection),
            )

        return read

    for key in (full.id, bare.id):
        one = await core.reads.run(a, reads.profile_by_id(key))
        several = await core.reads.run(a, separate(key))
        assert one is not None and several is not None
        assert one == several
        _same_rows(
            (one.consents, several.consents),
            (one.changes, several.changes),
            (one.statements, several.statements),
            (one.languages, several.languages),
        )
    profile = await core.reads.run(a, reads.profile_by_id(full.id))
    assert profile is not None and len(profile.consents) == 1 and len(profile.changes) == 2
    assert profile.consents[0].agreed_at.tzinfo is not None
    assert await core.reads.run(a, reads.profile_by_id(new_customer_key())) is None


async def test_the_one_statement_token_is_the_separate_statements_token(core: Core) -> None:
    """PostgreSQL reads a device token with its interface user's and customer's state in one
    statement; each case must answer as the separate key lookups (which SQLite runs) do."""
    name, a = await make_tenant(core)
    key = await _customer(core, a, "one-token@example.org")
    gone = await _customer(core, a, "gone-token@example.org")
    tenant = await tenant_service.get_tenant(core, name)
    for user in ("app-user", "off-user"):
        await tenant_service.create_interface_user(core, name, user)

    async def token(user_name: str | None, customer: int | None) -> str:
        made = await devices.create_token(
            core,
            tenant,
            "127.0.0.1",
            NewDevice(
                user_name=user_name,
                device_id=str(new_customer_key()),
                device_system="",
                device_name="",
                device_type="",
                external_application_id="app",
                push_token=None,
                setup=DeviceSetup(language="en", allowed_gps=False, allowed_notifications=False),
            ),
        )
        if customer is not None:
            async with core.uow(a, write=True) as uow:
                await devices.bind_customer(uow, made, customer)
                await uow.commit()
        return made

    tokens = [
        await token("app-user", key),
        await token("off-user", key),
        await token(None, None),
        await token(None, gone),  # a customer erased since
    ]
    async with core.uow(a, write=True) as uow:
        erased = await uow.session.get(Customer, (a, gone))
        assert erased is not None
        erased.state = "erased"
        user = await uow.session.get(InterfaceUser, (a, "off-user"))
        assert user is not None
        user.disabled = True
        await uow.commit()

    def separate(hashed: str, user_name: str | None) -> reads.Read[reads.TokenRecord | None]:
        def read(connection: ScopedConnection) -> reads.TokenRecord | None:
            row = connection.first(reads._TOKEN, {"hash": hashed})
            if row is None:
                return None
            checked = user_name if user_name is not None else row.user_name
            usable = False
            if checked is not None:
                found = connection.first(reads._INTERFACE_USER, {"user": checked})
                usable = found is not None and not found.disabled
            active = row.customer_id is not None and (
                connection.first(reads._ACTIVE_CUSTOMER, {"key": row.customer_id}) is not None
            )
            return reads.TokenRecord(row, usable, active)

        return read

    for made in [*tokens, "unknown"]:
        hashed = devices.token_hash(made)
        for user_name in (None, "app-user", "off-user", "nobody"):
            one = await core.reads.run(a, reads.device_token(hashed, user_name))
            several = await core.reads.run(a, separate(hashed, user_name))
            assert one == several, (made, user_name)
            if one is not None and several is not None:
                assert [type(v) for v in one.token] == [type(v) for v in several.token]
    owned = await core.reads.run(a, reads.device_token(devices.token_hash(tokens[0]), None))
    assert owned is not None and owned.user_usable and owned.customer_active
    off = await core.reads.run(a, reads.device_token(devices.token_hash(tokens[1]), None))
    assert off is not None and not off.user_usable and off.customer_active
    ghost = await core.reads.run(a, reads.device_token(devices.token_hash(tokens[3]), None))
    assert ghost is not None and not ghost.user_usable and not ghost.customer_active


@postgres_only
async def test_reads_beyond_the_pool_wait_for_a_connection_instead_of_opening_more(
    settings: Any,
) -> None:
    from boxoffice.bootstrap import build_core

    core = build_core(settings, pool_size=2)
    opened = []
    reads_engine = core.reads._engine  # the reads' own engine (PostgreSQL)
    assert reads_engine is not core.engine
    event.listen(reads_engine.sync_engine.pool, "connect", lambda *_: opened.append(1))
    try:
        _, a = await make_tenant(core)
        key = await _customer(core, a, "pool@example.org")
        found = await asyncio.gather(
            *(core.reads.run(a, reads.customer_by_id(key)) for _ in range(40))
        )
        assert all(record is not None and record.customer.id == key for record in found)
        assert len(opened) <= 2  # never more than the pool: no connection opened per burst
        found = await asyncio.gather(
            *(core.reads.run(a, reads.customer_by_id(key)) for _ in range(40))
        )
        assert len(opened) <= 2
    finally:
        await core.dispose()


# --- PostgreSQL: the reads' own connections, the driver awaited directly (decision 0083) ---


async def _alive(core: Core, pids: set[int]) -> int:
    """How many of these server processes are still there, once those closed have exited
    (a backend leaves ``pg_stat_activity`` shortly after its client closed or was told to)."""
    async with owner_connection(core) as owner:
        for _ in range(int(GUARD / 0.1)):  # bounded by GUARD, however busy the machine
            alive = await owner.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                {"pids": list(pids)},
            )
            if alive == 0:
                break
            await owner.rollback()  # a fresh snapshot of pg_stat_activity
            await asyncio.sleep(0.1)  # polling interval, not a wait for behaviour
    return int(alive)


@postgres_only
async def test_connections_as_old_as_a_lost_one_are_replaced(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server restart closes every connection: the first read to meet one retries once, and
    no later read tries another of the same age (each would cost a failed attempt)."""
    _, a = await make_tenant(core)
    key = await _customer(core, a, "restart@example.org")
    pids = set(await asyncio.gather(*(core.reads.run(a, _backend) for _ in range(4))))
    assert len(pids) == 4  # reads at once: each on a connection of its own
    async with owner_connection(core) as owner:
        for pid in pids:
            await owner.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert await _alive(core, pids) == 0
    attempts = _count_attempts(core, monkeypatch)
    record = await core.reads.run(a, reads.customer_by_id(key))
    assert record is not None and record.customer.id == key
    assert attempts == [a, a]  # met a closed connection, retried on a new one
    found = await asyncio.gather(*(core.reads.run(a, reads.customer_by_id(key)) for _ in range(4)))
    assert all(record is not None and record.customer.id == key for record in found)
    assert attempts == [a] * 6  # the other three as old were replaced, not tried
    assert not pids & {await core.reads.run(a, _backend) for _ in range(3)}


@postgres_only
async def test_a_read_cancelled_while_waiting_for_a_connection_gives_up_no_place(
    settings: Any,
) -> None:
    from boxoffice.bootstrap import build_core

    core = build_core(settings, pool_size=1)
    try:
        _, a = await make_tenant(core)
        key = await _customer(core, a, "queue@example.org")
        customers = Customer.__table__
        # The one connection is held by a read blocked on a lock this test holds, until the
        # test lets it go: no duration to guess.
        blocked = select(
            customers.c.id, func.pg_advisory_xact_lock(LOCK_KEY).label("locked")
        ).where(of_tenant(Customer))
        pid = await core.reads.run(a, _backend)
        places = core.reads._postgres.connections.places  # type: ignore[union-attr]
        async with owner_connection(core) as lock:
            await lock.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
            holding = asyncio.create_task(
                core.reads.run(a, lambda connection: connection.rows(blocked))
            )
            await _until(core, "wait_event_type = 'Lock' AND query LIKE '%pg_advisory_xact_lock%'")
            waiting = asyncio.create_task(core.reads.run(a, reads.customer_by_id(key)))
            async with asyncio.timeout(GUARD):
                while True:  # until it waits for the connection
                    if places._getters:  # type: ignore[attr-defined]
                        break
                    await asyncio.sleep(0)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            await lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
        assert len(await holding) == 1
        record = await core.reads.run(a, reads.customer_by_id(key))
        assert record is not None and record.customer.id == key
        assert await core.reads.run(a, _backend) == pid  # the one connection, kept
    finally:
        await core.dispose()


@postgres_only
async def test_a_read_of_several_statements_gets_each_ones_rows(core: Core) -> None:
    """A read function runs again with each statement's rows (the driver awaited directly): it
    sees every statement's rows in order, each sent once, and its own ``except Exception``
    does not stop at a statement it has no rows for yet."""
    _, a = await make_tenant(core)
    key = await _customer(core, a, "several@example.org")
    ran: list[int] = []

    def read(connection: ScopedConnection) -> tuple[Any, ...]:
        ran.append(1)
        try:
            found = connection.first(reads._CUSTOMER_BY_ID, {"key": key})
        except Exception:
            return ()
        return (found, reads.languages(connection), connection.rows(reads._STATEMENTS))

    await core.reads.run(a, read)  # first use: the tenant setting, the column types
    ran.clear()
    sent, trips = core.reads.sent, core.reads.round_trips
    customer, languages, statements = await core.reads.run(a, read)
    assert customer.id == key and languages and statements
    assert core.reads.sent - sent == 3 and core.reads.round_trips - trips == 3
    assert len(ran) == 4  # without rows, then with one, two and three statements' rows

    asked = iter([reads._STATEMENTS, reads._LANGUAGES])

    def fickle(connection: ScopedConnection) -> Any:
        return connection.rows(next(asked))  # another statement each time it runs

    with pytest.raises(RuntimeError, match="same statements"):
        await core.reads.run(a, fickle)
    record = await core.reads.run(a, reads.customer_by_id(key))  # the connection still serves
    assert record is not None and record.customer.id == key


@postgres_only
async def test_the_reads_close_their_connections_when_disposed(settings: Any) -> None:
    from boxoffice.bootstrap import build_core

    core = build_core(settings, pool_size=2)
    try:
        _, a = await make_tenant(core)
        pids = set(await asyncio.gather(*(core.reads.run(a, _backend) for _ in range(4))))
    finally:
        await core.dispose()
    try:
        assert await _alive(core, pids) == 0
    finally:
        await core.dispose()
