"""What PostgreSQL's row-level security policy costs: migration 0005's rule against 0007's.

Creates a database ``boxoffice_rlsbench_<pid>`` (dropped at the end unless ``--keep``),
migrates it, inserts one tenant's customers straight into the table (plus a small second
tenant), then alternates between revision 0006 (0005's rule: ``current_setting`` in the row
filter) and head (0007: the settings as scalar subqueries, InitPlans) with Alembic, and each
time measures, as ``boxoffice_app`` with the tenant set the way the application sets it
(``set_config(..., true)`` in the transaction):

- ``SELECT count(*) FROM customers WHERE tenant_id = X``: ``EXPLAIN (ANALYZE)`` with the
  server's settings (plan shape, execution time), then the CPU time of the server process
  (``/proc/PID/stat``) for ``--repeat`` counts with parallel workers off, so that all the work
  is in the one process measured;
- a lookup by ``(tenant_id, email_key)``: the plan (it must stay an index scan) and the CPU
  time of ``--lookups`` lookups of random keys.

    .venv/bin/python bench/rls_policy.py --customers 100000 --rounds 4

Loopback PostgreSQL only (the server's ``/proc`` must be readable). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
from typing import Any

import asyncpg
from alembic import command
from sqlalchemy.engine import make_url

from boxoffice.store.migrate import alembic_config, upgrade

TICK = os.sysconf("SC_CLK_TCK")
FORMS = (("0005 rule (per row)", "0006"), ("0007 rule (InitPlan)", "head"))


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found += _nodes(child)
    return found


def _describe(explained: Any) -> tuple[str, float]:
    top = (json.loads(explained) if isinstance(explained, str) else explained)[0]
    parts = []
    for node in _nodes(top["Plan"]):
        name = node["Node Type"]
        if node.get("Parent Relationship") == "InitPlan":
            name = "InitPlan"
        elif node.get("Index Name"):
            name += f" {node['Index Name']}"
        if node.get("Workers Launched"):
            name += f" ({node['Workers Launched']} workers)"
        parts.append(name)
    return " > ".join(parts), float(top["Execution Time"])


async def _admin(url: str, sql: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _seed(url: str, customers: int) -> tuple[int, int]:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("SELECT set_config('boxoffice.bypass_rls', 'on', false)")
        ids = []
        for name, count in (("rlsbench", customers), ("rlsother", 1000)):
            tenant = await connection.fetchval(
                "INSERT INTO tenants (name, display_name, settings, created_at)"
                " VALUES ($1, $1, '{}', now()) RETURNING id",
                name,
            )
            base = tenant * 10_000_000
            await connection.execute(
                "INSERT INTO customers (tenant_id, id, email, email_key, title, first_name,"
                " last_name, credit_balance, state, created_at, updated_at, version)"
                " SELECT $1::bigint, $2::bigint + i, 'c' || i || '@example.org',"
                " 'c' || i || '@example.org', '', 'First' || i, 'Last' || (i % 997), 0,"
                " CASE WHEN i % 10 = 0 THEN 'deleted' ELSE 'active' END, now(), now(), 1"
                " FROM generate_series(1, $3::bigint) AS i",
                tenant,
                base,
                count,
            )
            ids.append(tenant)
        await connection.execute("VACUUM ANALYZE customers")
        return ids[0], customers
    finally:
        await connection.close()


async def _measure(url: str, tenant: int, customers: int, repeat: int, lookups: int) -> dict:
    connection = await asyncpg.connect(url)
    try:
        pid = await connection.fetchval("SELECT pg_backend_pid()")
        count_sql = f"SELECT count(*) FROM customers WHERE tenant_id = {tenant}"
        lookup_sql = "SELECT id FROM customers WHERE tenant_id = $1 AND email_key = $2"
        result: dict[str, Any] = {}
        async with connection.transaction():
            await connection.execute("SET LOCAL ROLE boxoffice_app")
            await connection.execute(
                "SELECT set_config('boxoffice.tenant_id', $1, true),"
                " set_config('boxoffice.bypass_rls', 'off', true)",
                str(tenant),
            )
            assert await connection.fetchval(count_sql) == customers
            plan, ms = _describe(
                await connection.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {count_sql}")
            )
            result["count_plan"], result["count_ms"] = plan, ms
            await connection.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            plan, ms = _describe(
                await connection.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {count_sql}")
            )
            result["serial_plan"], result["serial_ms"] = plan, ms
            before = _cpu(pid)
            for _ in range(repeat):
                await connection.fetchval(count_sql)
            result["count_cpu_ms"] = (_cpu(pid) - before) * 1000 / repeat
            key = "c17@example.org"
            plan, ms = _describe(
                await connection.fetchval(
                    f"EXPLAIN (ANALYZE, FORMAT JSON) {lookup_sql}", tenant, key
                )
            )
            result["lookup_plan"], result["lookup_ms"] = plan, ms
            rng = random.Random(1)
            keys = [f"c{rng.randrange(1, customers + 1)}@example.org" for _ in range(lookups)]
            statement = await connection.prepare(lookup_sql)
            before = _cpu(pid)
            for key in keys:
                assert await statement.fetchval(tenant, key) is not None
            result["lookup_cpu_us"] = (_cpu(pid) - before) * 1e6 / lookups
        return result
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=20, help="counts per CPU measurement")
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    name = f"boxoffice_rlsbench_{os.getpid()}"
    admin = make_url(args.url)
    url = admin.set(database=name).render_as_string(hide_password=False)
    raw = url.replace("postgresql+asyncpg://", "postgresql://")
    asyncio.run(_admin(args.url, f'CREATE DATABASE "{name}"'))
    try:
        upgrade(url)
        tenant, customers = asyncio.run(_seed(raw, args.customers))
        results: dict[str, list[dict]] = {form: [] for form, _ in FORMS}
        for round_ in range(args.rounds):
            for form, revision in FORMS:
                if revision == "head":
                    upgrade(url)
                else:
                    command.downgrade(alembic_config(url), revision)
                measured = asyncio.run(_measure(raw, tenant, customers, args.repeat, args.lookups))
                results[form].append(measured)
                print(f"round {round_ + 1} {form}: {json.dumps(measured)}", flush=True)
        print(f"\n{customers} customers in the tenant, load average {os.getloadavg()[0]:.1f}")
        for form, runs in results.items():
            print(f"{form}:")
            for field in ("count_ms", "serial_ms", "count_cpu_ms", "lookup_ms", "lookup_cpu_us"):
                values = [run[field] for run in runs]
                print(
                    f"  {field:14} median {statistics.median(values):8.2f}"
                    f"  (min {min(values):.2f}, max {max(values):.2f})"
                )
            for field in ("count_plan", "serial_plan", "lookup_plan"):
                print(f"  {field:14} {sorted({run[field] for run in runs})}")
    finally:
        if not args.keep:
            asyncio.run(_admin(args.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
