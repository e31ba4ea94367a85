"""Migrations 0004 (audit log), 0005 (row-level security), 0006 (customer list indexes), 0007
(the policies' settings as InitPlans), 0010 (device token lifetimes), 0012 (customer counts) and
0016 (instance band counts) go down and up again, and the migrated schema is the models' schema. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from boxoffice.store.db import create_engine
from boxoffice.store.migrate import alembic_config, upgrade
from boxoffice.store.models import Base
from tests.conftest import _admin, _new_postgres_database

# SQLAlchemy cannot reflect SQLite's expression indexes (0006's ``lower(value)``): it and
# Alembic say so and leave them out of the comparison, which still covers every other index
# (and ``test_customer_list_indexes_come_and_go_with_0006`` checks that one by name).
pytestmark = [
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index"),
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based"),
]


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as ``database_url``."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name, url = _new_postgres_database()
    try:
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _differences(url: str) -> list[object]:
    async def compare() -> list[object]:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: list(
                        compare_metadata(MigrationContext.configure(sync), Base.metadata)
                    )
                )
        finally:
            await engine.dispose()

    return asyncio.run(compare())


def _policies(url: str) -> int:
    async def count() -> int:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.connect() as connection:
                if connection.dialect.name != "postgresql":
                    return 0
                value = (await connection.execute(text("SELECT count(*) FROM pg_policy"))).scalar()
                return int(value or 0)
        finally:
            await engine.dispose()

    return asyncio.run(count())


def test_down_and_up_again(fresh_url: str) -> None:
    upgrade(fresh_url)
    assert _differences(fresh_url) == []
    tenant_tables = sum(1 for t in Base.metadata.sorted_tables if "tenant_id" in t.c)
    expected = tenant_tables if fresh_url.startswith("postgresql") else 0
    assert _policies(fresh_url) == expected
    config = alembic_config(fresh_url)
    command.downgrade(config, "0003")
    assert _policies(fresh_url) == 0
    upgrade(fresh_url)
    assert _differences(fresh_url) == []
    assert _policies(fresh_url) == expected


def _index_names(url: str) -> set[str]:
    """Every index name in the database (read from the catalogue: SQLAlchemy does not reflect
    SQLite's expression indexes)."""
    sql = (
        "SELECT name FROM sqlite_master WHERE type = 'index'"
        if url.startswith("sqlite")
        else "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    )

    async def names() -> set[str]:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.connect() as connection:
                return {str(n) for n in (await connection.execute(text(sql))).scalars()}
        finally:
            await engine.dispose()

    return asyncio.run(names())


def test_customer_list_indexes_come_and_go_with_0006(fresh_url: str) -> None:
    wanted = {
        "ix_customers_tenant_id_id_state",
        "ix_customers_tenant_id_brand_id_id_state",
        "ix_customers_tenant_id_external_primary_id",
        "ix_customer_channels_tenant_id_lower_value",
    }
    upgrade(fresh_url)
    assert wanted <= _index_names(fresh_url)
    command.downgrade(alembic_config(fresh_url), "0005")
    assert not wanted & _index_names(fresh_url)
    upgrade(fresh_url)
    assert wanted <= _index_names(fresh_url)


def _policy_expressions(url: str) -> set[tuple[str, str]]:
    """Every distinct (USING, WITH CHECK) pair of the schema's policies."""

    async def read() -> set[tuple[str, str]]:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text(
                        "SELECT qual, with_check FROM pg_policies"
                        " WHERE schemaname = current_schema()"
                    )
                )
                return {(str(qual), str(check)) for qual, check in rows}
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_policies_take_the_initplan_form_with_0007_and_lose_it_without(fresh_url: str) -> None:
    upgrade(fresh_url, "0006")
    ((qual, check),) = _policy_expressions(fresh_url)  # one rule on every table
    assert qual == check and "SELECT" not in qual and qual.count("current_setting(") == 2
    upgrade(fresh_url)
    ((qual, check),) = _policy_expressions(fresh_url)
    assert qual == check and qual.count("SELECT") == 2 and qual.count("current_setting(") == 2
    command.downgrade(alembic_config(fresh_url), "0006")
    ((qual, check),) = _policy_expressions(fresh_url)
    assert qual == check and "SELECT" not in qual
    upgrade(fresh_url)
    ((qual, check),) = _policy_expressions(fresh_url)
    assert qual == check and qual.count("SELECT") == 2


def _device_tokens(url: str, insert: bool) -> list[tuple[datetime, datetime]]:
    """With ``insert``, a tenant with one device token as 0008 keeps it; then every token's
    ``(last_used_at, expires_at)`` (read after 0010; nothing before it)."""

    async def run() -> list[tuple[datetime, datetime]]:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.begin() as connection:
                sqlite = connection.dialect.name == "sqlite"
                if not sqlite:
                    await connection.execute(
                        text("SELECT set_config('boxoffice.bypass_rls', 'on', true)")
                    )
                then = datetime(2024, 1, 1, tzinfo=UTC)
                stamp = then.replace(tzinfo=None) if sqlite else then
                if insert:
                    tenant = (
                        await connection.execute(
                            text(
                                "INSERT INTO tenants (name, display_name, settings, created_at)"
                                " VALUES ('old', 'Old', '{}', :t) RETURNING id"
                            ),
                            {"t": stamp},
                        )
                    ).scalar_one()
                    await connection.execute(
                        text(
                            "INSERT INTO device_tokens (tenant_id, token_hash, device_id,"
                            " device_system, device_name, device_type, external_application_id,"
                            " language, allowed_gps, allowed_notifications, created_at,"
                            " updated_at) VALUES (:tenant, 'h', 'd', '', '', '', 'a', 'en',"
                            " false, false, :t, :t)"
                        ),
                        {"tenant": tenant, "t": stamp},
                    )
                    return []
                rows = await connection.execute(
                    text("SELECT last_used_at, expires_at FROM device_tokens")
                )
                found = []
                for used, expires in rows:
                    if isinstance(used, str):  # SQLite: text without a zone
                        used, expires = (
                            datetime.fromisoformat(used),
                            datetime.fromisoformat(expires),
                        )
                    found.append((used.replace(tzinfo=UTC), expires.replace(tzinfo=UTC)))
                return found
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_0010_starts_existing_device_tokens_lifetimes_at_the_upgrade(fresh_url: str) -> None:
    upgrade(fresh_url, "0008")
    _device_tokens(fresh_url, insert=True)
    before = datetime.now(UTC)
    upgrade(fresh_url)
    after = datetime.now(UTC)
    ((used, expires),) = _device_tokens(fresh_url, insert=False)
    assert before - timedelta(seconds=1) <= used <= after
    assert expires - used == timedelta(days=365)
    command.downgrade(alembic_config(fresh_url), "0008")
    upgrade(fresh_url)
    assert _differences(fresh_url) == []


def _sql(url: str, statements: list[str]) -> list[tuple[object, ...]]:
    """Run ``statements`` in one transaction (the row-level security bypass set); the last
    one's rows."""

    async def run() -> list[tuple[object, ...]]:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.begin() as connection:
                if connection.dialect.name != "sqlite":
                    await connection.execute(
                        text("SELECT set_config('boxoffice.bypass_rls', 'on', true)")
                    )
                result = None
                for statement in statements:
                    result = await connection.execute(text(statement))
                assert result is not None
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_0012_counts_the_customers_already_there_and_keeps_counting(fresh_url: str) -> None:
    upgrade(fresh_url, "0011")
    bucket = 2**34
    ids = (5, 6, bucket + 1, 3 * bucket)
    _sql(
        fresh_url,
        [
            "INSERT INTO tenants (id, name, display_name, settings, created_at)"
            " VALUES (7, 'old', 'Old', '{}', '2024-01-01 00:00:00')",
            "INSERT INTO brands (tenant_id, id, name, search_by_channels)"
            " VALUES (7, 2, 'Brand', false)",
            *(
                "INSERT INTO customers (tenant_id, id, title, first_name, last_name,"
                " credit_balance, brand_id, state, created_at, updated_at, version)"
                f" VALUES (7, {i}, '', 'A', 'B', 0, {'2' if i == 6 else 'NULL'}, 'active',"
                " '2024-01-01 00:00:00', '2024-01-01 00:00:00', 1)"
                for i in ids
            ),
        ],
    )
    upgrade(fresh_url)
    counts = "SELECT brand_key, bucket, customers FROM customer_counts ORDER BY 1, 2"
    assert _sql(fresh_url, [counts]) == [(0, 0, 1), (0, 1, 1), (0, 3, 1), (2, 0, 1)]
    _sql(
        fresh_url,
        [
            f"DELETE FROM customers WHERE id = {bucket + 1}",
            "UPDATE customers SET brand_id = 2 WHERE id = 5",
            counts,
        ],
    )
    assert [row for row in _sql(fresh_url, [counts]) if row[2]] == [(0, 3, 1), (2, 0, 2)]
    command.downgrade(alembic_config(fresh_url), "0011")
    upgrade(fresh_url)
    assert [row for row in _sql(fresh_url, [counts]) if row[2]] == [(0, 3, 1), (2, 0, 2)]
    assert _differences(fresh_url) == []


def test_0016_counts_the_bands_of_the_instances_already_there(fresh_url: str) -> None:
    """An instance made before 0016 (a reserved area of five seats in two bands, two of them
    held or sold, and an unreserved area): the upgrade copies each seat's band and counts each
    reserved area's bands from its seats; down and up again gives the same."""
    upgrade(fresh_url, "0015")
    when = "'2024-01-01 00:00:00'"
    seats = [(1, 1, "available"), (2, 1, "held"), (3, 1, "sold"), (4, 2, "available")]
    seats.append((5, 2, "available"))
    _sql(
        fresh_url,
        [
            "INSERT INTO tenants (id, name, display_name, settings, created_at)"
            f" VALUES (7, 'old', 'Old', '{{}}', {when})",
            "INSERT INTO venues (tenant_id, id, name, address) VALUES (7, 1, 'Hall', '')",
            "INSERT INTO price_bands (tenant_id, id, name, position)"
            " VALUES (7, 1, 'A', 0), (7, 2, 'B', 1)",
            "INSERT INTO seating_plans (tenant_id, id, venue_id, name, background_image_url)"
            " VALUES (7, 1, 1, 'Plan', '')",
            "INSERT INTO plan_areas (tenant_id, id, plan_id, name, kind, capacity, band_id,"
            " position) VALUES (7, 1, 1, 'Stalls', 'reserved', 5, NULL, 0),"
            " (7, 2, 1, 'Standing', 'unreserved', 40, 2, 1)",
            *(
                "INSERT INTO seats (tenant_id, id, area_id, row, number, name, band_id,"
                f" wheelchair, special, x, y, position) VALUES (7, {seat}, 1, 'A', '{seat}',"
                f" 'A{seat}', {band}, false, false, 0, 0, {seat})"
                for seat, band, _ in seats
            ),
            "INSERT INTO events (tenant_id, id, name, description, html_description,"
            " duration_minutes, image_url, thumbnail_url, on_sale, attributes)"
            " VALUES (7, 1, 'Play', '', '', 90, '', '', true, '{}')",
            "INSERT INTO price_lists (tenant_id, id, name) VALUES (7, 1, 'Prices')",
            "INSERT INTO instances (tenant_id, id, event_id, plan_id, price_list_id, start_utc,"
            " sale_start_utc, sale_stop_utc, cancelled, on_sale, web_visible,"
            " has_best_available_overlay, attributes)"
            f" VALUES (7, 1, 1, 1, 1, {when}, {when}, {when}, false, true, true, false, '{{}}')",
            "INSERT INTO instance_areas (tenant_id, instance_id, area_id, seated, capacity, held,"
            " sold, locked, reserved, wheelchair_available, special_available)"
            " VALUES (7, 1, 1, true, 5, 1, 1, 0, 0, 0, 0), (7, 1, 2, false, 40, 3, 0, 0, 0, 0, 0)",
            *(
                "INSERT INTO instance_seats (tenant_id, instance_id, seat_id, area_id, state,"
                f" wheelchair, special) VALUES (7, 1, {seat}, 1, '{state}', false, false)"
                for seat, _, state in seats
            ),
        ],
    )
    upgrade(fresh_url)
    counts = (
        "SELECT tenant_id, instance_id, area_id, band_id, capacity, available"
        " FROM instance_area_bands ORDER BY 3, 4"
    )
    assert _sql(fresh_url, [counts]) == [(7, 1, 1, 1, 3, 1), (7, 1, 1, 2, 2, 2)]
    copied = "SELECT seat_id, band_id FROM instance_seats ORDER BY 1"
    assert _sql(fresh_url, [copied]) == [(seat, band) for seat, band, _ in seats]
    command.downgrade(alembic_config(fresh_url), "0015")
    upgrade(fresh_url)
    assert _sql(fresh_url, [counts]) == [(7, 1, 1, 1, 3, 1), (7, 1, 1, 2, 2, 2)]
    assert _differences(fresh_url) == []
