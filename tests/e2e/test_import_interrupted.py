"""An import killed with SIGKILL mid-run leaves whole customers only, and a re-run finishes it.

The import runs as a real ``boxoffice import customers`` process reading standard input. The
test feeds it every record but the last and keeps the pipe open, so the process cannot finish
on its own; once the database shows several committed batches, the test kills it with SIGKILL
while it is still working through the rest. Then it checks that every customer in the
database is complete, and that running the whole file again creates exactly the missing ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from boxoffice.bootstrap import Core
from boxoffice.services import audit
from boxoffice.services import tenants as tenant_service
from boxoffice.store.db import create_engine
from boxoffice.store.models import (
    ConsentChange,
    Customer,
    CustomerAddress,
    CustomerAttributeValue,
    CustomerConsent,
    CustomerSourceRecord,
    CustomerTag,
    TimelineEntry,
)
from tests.conftest import DEMO_CATALOGUE, unique_name
from tests.e2e.conftest import CLI_TIMEOUT, boxoffice_command, clean_env, run_cli

pytestmark = [pytest.mark.e2e]

RECORDS = 3000
BATCH = 50
#: Rows per customer in each table: the file gives two tags and one of everything else.
PER_CUSTOMER = {
    CustomerTag: 2,
    CustomerConsent: 1,
    ConsentChange: 1,
    CustomerAttributeValue: 1,
    CustomerSourceRecord: 1,
    CustomerAddress: 1,
    TimelineEntry: 1,
}
POLL_TIMEOUT = 120.0


async def _audited(core: Core, tenant: str) -> list[int]:
    """Customers created per audit entry of the import, oldest first."""
    return [
        change["rows"]
        for entry in await audit.list_entries(core, tenant)
        if entry.action == "customer.created" and entry.actor == "cli"
        for change in entry.changes
        if change["table"] == "customers"
    ]


def _file(path: Path) -> list[bytes]:
    lines = [
        b"email,first_name,last_name,tags,statements,attribute:Favourite Genre,"
        b"external_id:website,address_line1,address_town\n"
    ]
    for i in range(RECORDS):
        lines.append(
            f"kill{i}@example.org,Kim,No{i},Drama;Music,agreement_post,Opera,"
            f"W-{i},{i} Long Road,Town\n".encode()
        )
    path.write_bytes(b"".join(lines))
    return lines


async def _counts(core: Core, tenant_id: int) -> dict[str, int]:
    async with core.uow(tenant_id) as uow:
        counts = {}
        for model in (Customer, *PER_CUSTOMER):
            stmt = select(func.count()).select_from(model)
            counts[model.__name__] = int((await uow.session.execute(stmt)).scalar() or 0)
        stmt = select(func.count(func.distinct(Customer.email_key)))
        counts["emails"] = int((await uow.session.execute(stmt)).scalar() or 0)
        return counts


async def _customers(core: Core, tenant_id: int) -> int:
    async with core.uow(tenant_id) as uow:
        stmt = select(func.count()).select_from(Customer)
        return int((await uow.session.execute(stmt)).scalar() or 0)


async def _settled(database_url: str) -> None:
    """Wait until no other connection to this database is inside a transaction.

    SIGKILL ends the import process, not its PostgreSQL backend: a ``COMMIT`` the process sent
    just before it died still completes on the server, after the process is gone. Counting
    before that backend has finished would count across the commit. SQLite commits in the
    killed process itself, so there is nothing to wait for.
    """
    if not database_url.startswith("postgresql"):
        return
    busy = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        " AND xact_start IS NOT NULL"
    )
    # As logged in: a role switched to by SET ROLE may not see other roles' transactions.
    engine = create_engine(database_url, pool_size=1, role=None)
    try:
        deadline = time.monotonic() + CLI_TIMEOUT
        while True:
            async with engine.connect() as connection:
                if not (await connection.execute(busy)).scalar():
                    return
            assert time.monotonic() < deadline, "the killed import's transaction never ended"
            await asyncio.sleep(0.05)  # polling interval, not a wait for behaviour
    finally:
        await engine.dispose()


def _complete(counts: dict[str, int]) -> None:
    customers = counts["Customer"]
    assert counts["emails"] == customers
    for model, per in PER_CUSTOMER.items():
        assert counts[model.__name__] == customers * per, (model.__name__, counts)


async def test_killed_import_leaves_whole_customers_and_reruns_to_completion(
    database_url: str, core: Core, tmp_path: Path
) -> None:
    env = clean_env(database_url)
    tenant = unique_name("kill")
    run_cli(env, tmp_path, "tenant", "create", tenant)
    run_cli(env, tmp_path, "catalog", "load", tenant, str(DEMO_CATALOGUE))
    tenant_id = (await tenant_service.get_tenant(core, tenant)).id
    file = tmp_path / "people.csv"
    lines = _file(file)

    process = await asyncio.create_subprocess_exec(
        *boxoffice_command(),
        *("import", "customers", tenant, "-", "--format", "csv"),
        *("--batch-size", str(BATCH), "--quiet", "--rejects", str(tmp_path / "r.csv")),
        env=env,
        cwd=tmp_path,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdin is not None
    stdin = process.stdin

    async def feed() -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(b"".join(lines[:-1]))  # the pipe stays open: no end of file
            await stdin.drain()

    feeder = asyncio.create_task(feed())
    try:
        deadline = time.monotonic() + POLL_TIMEOUT
        while await _customers(core, tenant_id) < 5 * BATCH:
            assert process.returncode is None, "the import ended early"
            assert time.monotonic() < deadline, "no batches committed in time"
            await asyncio.sleep(0.05)  # polling interval, not a wait for behaviour
        assert process.returncode is None  # still importing: it cannot have finished
        process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(process.wait(), CLI_TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            await asyncio.wait_for(process.wait(), CLI_TIMEOUT)
        await asyncio.wait_for(feeder, CLI_TIMEOUT)
        stdin.close()
    assert process.returncode == -signal.SIGKILL
    await _settled(database_url)

    interrupted = await _counts(core, tenant_id)
    done = interrupted["Customer"]
    assert 5 * BATCH <= done < RECORDS
    assert done % BATCH == 0  # whole batches only
    _complete(interrupted)
    # Each committed batch has its audit entry, committed with it: no more, no fewer.
    assert await _audited(core, tenant) == [BATCH] * (done // BATCH)

    result = run_cli(env, tmp_path, "import", "customers", tenant, str(file), "--json", "--quiet")
    summary = json.loads(result.stdout)
    assert summary["created"] == RECORDS - done
    assert summary["unchanged"] == done
    assert summary["rejected"] == 0
    final = await _counts(core, tenant_id)
    assert final["Customer"] == RECORDS
    _complete(final)
    assert sum(await _audited(core, tenant)) == RECORDS
