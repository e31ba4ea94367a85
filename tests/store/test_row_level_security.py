"""Row-level security on PostgreSQL: the database's own tenant guard, behind ``store/scoping.py``.

Queries here are raw SQL through the application's engine and sessions, so the application's
guard (which rewrites ORM queries) is not involved: what they see is what the database lets the
application's role see. SQLite has no row-level security; there the guard in
``store/scoping.py`` is the only one (``tests/store/test_scoping.py``).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from boxoffice.bootstrap import Core, build_core
from boxoffice.domain.commands import NewCustomer
from boxoffice.domain.principal import Principal
from boxoffice.services import customers as customer_service
from boxoffice.settings import Settings
from boxoffice.store.db import APP_ROLE
from boxoffice.store.migrate import upgrade
from boxoffice.store.models import Base
from tests.conftest import _admin as _admin_async
from tests.conftest import make_tenant, owner_connection

TENANT_TABLES = sorted(t.name for t in Base.metadata.sorted_tables if "tenant_id" in t.c)


# SQLite has no row-level security (the guard in store/scoping.py is all there is), so these
# tests run on PostgreSQL only: collected for it alone, never skipped.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


async def _customer(core: Core, tenant_id: int, first_name: str) -> int:
    owner = Principal(tenant_id=tenant_id, actor="api-user:rls", full_access=True)
    view = await customer_service.create_customer(
        core,
        owner,
        NewCustomer(first_name=first_name, last_name="Rls", email=f"{first_name}@example.org"),
    )
    return view.id


async def test_every_tenant_owned_table_has_a_forced_policy(core: Core) -> None:
    async with core.engine.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
                    " EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid) AS policy"
                    " FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace ="
                    " (SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
                )
            )
        ).all()
    state = {name: (enabled, forced, policy) for name, enabled, forced, policy in rows}
    assert {name: state.get(name) for name in TENANT_TABLES} == {
        name: (True, True, True) for name in TENANT_TABLES
    }


async def test_the_application_runs_as_a_role_that_cannot_bypass_the_policies(
    core: Core,
) -> None:
    async with core.engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles"
                    " WHERE rolname = current_user"
                )
            )
        ).one()
    assert tuple(row) == (APP_ROLE, False, False)


async def test_a_query_without_the_tenant_filter_sees_only_the_current_tenant(
    core: Core,
) -> None:
    _, first = await make_tenant(core, catalogue=False)
    _, second = await make_tenant(core, catalogue=False)
    mine = await _customer(core, first, "mine")
    theirs = await _customer(core, second, "theirs")
    for tenant_id, expected in ((first, mine), (second, theirs)):
        async with core.uow(tenant_id) as uow:
            ids = (await uow.session.execute(text("SELECT id FROM customers"))).scalars().all()
            timeline = (
                (
                    await uow.session.execute(
                        text("SELECT DISTINCT customer_id FROM timeline_entries")
                    )
                )
                .scalars()
                .all()
            )
        assert list(ids) == [expected] and list(timeline) == [expected]
    # A later transaction of the same session keeps its tenant (the setting is per transaction).
    async with core.uow(first) as uow:
        await uow.session.execute(text("SELECT 1"))
        await uow.session.commit()
        again = (await uow.session.execute(text("SELECT id FROM customers"))).scalars().all()
    assert list(again) == [mine]


async def test_a_query_with_no_tenant_set_sees_nothing(core: Core) -> None:
    _, tenant_id = await make_tenant(core)
    await _customer(core, tenant_id, "someone")
    async with core.engine.connect() as connection:
        for table in TENANT_TABLES:
            count = (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar()
            assert count == 0, table
        # Tenants themselves are not tenant-owned: resolving one needs no tenant.
        tenants = (await connection.execute(text("SELECT count(*) FROM tenants"))).scalar()
        assert tenants and tenants >= 1
    # A session that names no tenant at all (neither a tenant nor "none, on purpose") is the
    # same: nothing.
    async with core.sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM customers"))).scalar() == 0


async def test_writing_into_another_tenant_is_refused_by_the_database(core: Core) -> None:
    _, first = await make_tenant(core, catalogue=False)
    _, second = await make_tenant(core, catalogue=False)
    theirs = await _customer(core, second, "victim")
    async with core.uow(first, write=True) as uow:
        with pytest.raises(DBAPIError, match="row-level security"):
            await uow.session.execute(
                text("INSERT INTO tenant_origins (tenant_id, origin) VALUES (:t, 'https://evil')"),
                {"t": second},
            )
    async with core.uow(first, write=True) as uow:
        result = await uow.session.execute(
            text("UPDATE customers SET first_name = 'owned' WHERE id = :id"), {"id": theirs}
        )
        deleted = await uow.session.execute(
            text("DELETE FROM timeline_entries WHERE customer_id = :id"), {"id": theirs}
        )
        await uow.commit()
    assert getattr(result, "rowcount", None) == 0 and getattr(deleted, "rowcount", None) == 0
    owner = Principal(tenant_id=second, actor="api-user:rls", full_access=True)
    view = await customer_service.get_customer(core, owner, theirs)
    assert view.first_name == "victim"


async def test_the_explicitly_unscoped_form_sees_every_tenant(core: Core) -> None:
    """A unit of work opened for no tenant (authentication lookups, operator commands) sets
    the bypass, and the application's guard still asks for ``unscoped=True`` there."""
    _, first = await make_tenant(core, catalogue=False)
    _, second = await make_tenant(core, catalogue=False)
    ids = {await _customer(core, first, "one"), await _customer(core, second, "two")}
    async with core.uow(None) as uow:
        seen = (await uow.session.execute(text("SELECT id FROM customers"))).scalars().all()
    assert ids <= set(seen)


def _plan_nodes(plan: dict[str, object]) -> list[dict[str, object]]:
    children = plan.get("Plans", [])
    assert isinstance(children, list)
    return [plan, *(node for child in children for node in _plan_nodes(child))]


#: A setting read in a scalar subquery of the policy, as PostgreSQL prints the policy back.
_SUBQUERY_SETTING = re.compile(r"\(\s*SELECT\s+\(?(?:NULLIF\()?current_setting\('boxoffice\.(\w+)'")


async def test_the_policies_read_the_settings_once_per_statement(core: Core) -> None:
    """Migration 0007: each setting is a scalar subquery of the policy (an InitPlan, evaluated
    once per statement), not a ``current_setting`` call in the row filter."""
    async with owner_connection(core) as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT tablename, qual, with_check FROM pg_policies"
                    " WHERE schemaname = current_schema()"
                )
            )
        ).all()
    assert sorted(name for name, _, _ in rows) == TENANT_TABLES
    for name, qual, with_check in rows:
        for expression in (qual, with_check):
            assert _SUBQUERY_SETTING.findall(expression) == ["bypass_rls", "tenant_id"], name
            assert expression.count("current_setting(") == 2, name
    _, tenant_id = await make_tenant(core, catalogue=False)
    async with core.uow(tenant_id) as uow:
        explained = (
            await uow.session.execute(text("EXPLAIN (FORMAT JSON) SELECT count(*) FROM customers"))
        ).scalar()
    plan = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
    nodes = _plan_nodes(plan)
    assert [n for n in nodes if n.get("Parent Relationship") == "InitPlan"] != []
    # No node calls current_setting itself (per row): only the InitPlans hold it.
    assert not [n for n in nodes if "current_setting" in json.dumps(n.get("Filter", ""))]
    assert [n.get("Relation Name") for n in nodes if n.get("Filter")] == ["customers"]


@pytest.mark.parametrize(
    ("tenant", "bypass", "visible"),
    [
        ("mine", "off", {"mine"}),
        ("theirs", "", {"theirs"}),
        ("", "off", set()),
        ("", "", set()),
        ("", "on", {"mine", "theirs"}),
        ("mine", "on", {"mine", "theirs"}),
        ("mine", "ON", {"mine"}),
    ],
)
async def test_the_policy_rule_by_setting(
    core: Core, tenant: str, bypass: str, visible: set[str]
) -> None:
    """The rule, setting by setting: the bypass is exactly ``on``; otherwise the rows of the
    tenant set, and none when the tenant setting is empty."""
    _, mine = await make_tenant(core, catalogue=False)
    _, theirs = await make_tenant(core, catalogue=False)
    ids = {"mine": mine, "theirs": theirs}
    await _customer(core, mine, "mine")
    await _customer(core, theirs, "theirs")
    async with core.engine.connect() as connection, connection.begin():
        await connection.execute(
            text(
                "SELECT set_config('boxoffice.tenant_id', :tenant, true),"
                " set_config('boxoffice.bypass_rls', :bypass, true)"
            ),
            {"tenant": str(ids[tenant]) if tenant else "", "bypass": bypass},
        )
        seen = set(
            (
                await connection.execute(
                    text("SELECT DISTINCT tenant_id FROM customers WHERE tenant_id IN (:a, :b)"),
                    {"a": mine, "b": theirs},
                )
            ).scalars()
        )
    assert seen == {ids[name] for name in visible}


async def test_a_configured_role_is_used(settings: Settings) -> None:
    configured = settings.model_copy(update={"database_role": APP_ROLE})
    core = build_core(configured, pool_size=1)
    try:
        async with core.engine.connect() as connection:
            user = (await connection.execute(text("SELECT current_user"))).scalar()
        assert user == APP_ROLE
    finally:
        await core.dispose()
    missing = settings.model_copy(update={"database_role": "no_such_role_here"})
    core = build_core(missing, pool_size=1)
    try:
        with pytest.raises(RuntimeError, match=r"BOXOFFICE_DATABASE_ROLE.*no_such_role_here"):
            async with core.engine.connect():
                pass
    finally:
        await core.dispose()


async def test_a_non_superuser_owner_migrates_and_is_held_to_its_tenant(
    database_url: str, tmp_path: Path
) -> None:
    """Production: the service logs in as a role that is not a superuser and owns the tables.
    It migrates (as owner), and FORCE ROW LEVEL SECURITY holds it to the tenant too."""
    owner = f"boxoffice_owner_{uuid.uuid4().hex[:10]}"
    name = f"boxoffice_test_{uuid.uuid4().hex[:12]}"
    await _admin_async(f"CREATE ROLE {owner} LOGIN")
    await _admin_async(f'CREATE DATABASE "{name}" OWNER {owner}')
    url = make_url(database_url).set(database=name, username=owner, password=None)
    try:
        await asyncio.to_thread(upgrade, url.render_as_string(hide_password=False))
        settings = Settings(
            database_url=url.render_as_string(hide_password=False),
            secret_key="x" * 40,
            var_dir=tmp_path / "var",
        )
        core = build_core(settings, pool_size=2)
        try:
            async with core.engine.connect() as connection:
                user = (await connection.execute(text("SELECT current_user"))).scalar()
            assert user == owner  # not a superuser: no role switch needed
            _, first = await make_tenant(core, catalogue=False)
            _, second = await make_tenant(core, catalogue=False)
            mine = await _customer(core, first, "own")
            await _customer(core, second, "other")
            async with core.uow(first) as uow:
                ids = (await uow.session.execute(text("SELECT id FROM customers"))).scalars()
                assert list(ids) == [mine]
            async with core.engine.connect() as connection:
                count = (await connection.execute(text("SELECT count(*) FROM customers"))).scalar()
            assert count == 0
        finally:
            await core.dispose()
    finally:
        await _admin_async(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _admin_async(f"DROP ROLE IF EXISTS {owner}")
