"""An import refreshes the planner's statistics of the tables it grows (PostgreSQL only: see
migration 0008 and ``store/bulk.refresh_statistics``), through a function the application's
role may call although only the tables' owner may ``ANALYZE`` them."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import text

from boxoffice.bootstrap import Core
from boxoffice.services import bulk
from tests.conftest import owner_connection

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

TABLES = ("customers", "customer_addresses", "customer_source_records", "timeline_entries")


async def _analyze_counts(core: Core) -> dict[str, int]:
    async with owner_connection(core) as connection:
        rows = await connection.execute(
            text(
                "SELECT relname, analyze_count FROM pg_stat_user_tables WHERE relname = ANY(:names)"
            ),
            {"names": list(TABLES)},
        )
        return {name: int(count) for name, count in rows}


async def test_import_refreshes_statistics_as_the_application_role(
    core: Core, tenant: tuple[str, int], tmp_path: Path
) -> None:
    async with core.engine.connect() as connection:  # the application's own role
        role = (await connection.execute(text("SELECT current_user"))).scalar()
    assert role == "boxoffice_app"
    before = await _analyze_counts(core)
    lines = [f"stats{i}@example.org,Stats{i},Person,S-{i},{i} Road,Leeds" for i in range(30)]
    data = "email,first_name,last_name,external_id:website,address_line1,address_town\n"
    data += "\n".join(lines) + "\n"
    source = bulk.Source(io.BytesIO(data.encode()), "csv")
    writer = bulk.RejectWriter(tmp_path / "r.csv", "csv", lambda: source.header)
    try:
        summary = await bulk.import_customers(core, tenant[0], source, writer, batch_size=10)
    finally:
        writer.close()
    assert summary.created == 30
    after = await _analyze_counts(core)
    # After the first batch, after the import had grown fourfold (never here: 30 < 4 x 10)
    # and at the end: twice for each table the import writes.
    assert {name: after[name] - before.get(name, 0) for name in TABLES} == dict.fromkeys(TABLES, 2)
