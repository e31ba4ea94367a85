"""What a seat hold and release cost, in process: CPU time, wall time and SQL statements.

    python bench/inventory_moves.py [--postgres URL] [--rounds 5] [--pairs 100]

Seeds a new database like ``per_request.py run`` (the demo box office, a few customers), then
in rounds holds ``--pairs`` pairs of seats next to each other in Hamlet's 260-seat Main House
(``inventory.hold_seats``, one writing unit of work and commit each: what a basket's add does
to the inventory) and releases them again (``inventory.release_seats``), and reports per hold
and per release: the process's CPU ms, wall ms, statements (on PostgreSQL also the server's
CPU ms). Alternate it between two trees (``PYTHONPATH=<tree>/src``) to compare them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent))
from per_request import SECRET, TENANT, _pg_admin, _server_cpu, query, seed, side_file


async def _measure(url: str, tenant_id: int, rounds: int, pairs: int) -> dict[str, Any]:
    from boxoffice.bootstrap import build_core
    from boxoffice.domain.principal import Principal
    from boxoffice.services import inventory, programme, seating
    from boxoffice.settings import Settings

    var_dir = Path(tempfile.mkdtemp(prefix="inventory-moves-var-"))
    core = build_core(
        Settings(database_url=url, secret_key=SECRET, log_level="WARNING", var_dir=var_dir)
    )
    sent = [0]

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "set_config" not in statement and statement.strip().upper() not in (
            "BEGIN",
            "COMMIT",
            "ROLLBACK",
        ):
            sent[0] += 1

    event.listen(core.engine.sync_engine, "before_cursor_execute", count)
    owner = Principal(tenant_id=tenant_id, actor="bench", full_access=True)
    instance = (await programme.list_instances(core, owner, event_name="Hamlet"))[0].id
    plan = await seating.instance_plan(core, owner, instance)
    seats = [s.id for area in plan.areas for s in area.seats]
    chosen = [seats[2 * i : 2 * i + 2] for i in range(min(pairs, len(seats) // 2))]
    results: dict[str, list[dict[str, float]]] = {"hold": [], "release": []}
    try:
        for _ in range(rounds):
            for kind, move in (
                ("hold", inventory.hold_seats),
                ("release", inventory.release_seats),
            ):
                sent[0] = 0
                server_before = await _server_cpu(url)
                cpu, wall = time.process_time(), time.perf_counter()
                for pair in chosen:
                    async with core.uow(tenant_id, write=True) as uow:
                        assert await move(uow, instance, pair, 1)
                        await uow.commit()
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                server_after = await _server_cpu(url)
                n = len(chosen)
                one = {
                    "cpu_ms": round(cpu * 1000 / n, 3),
                    "wall_ms": round(wall * 1000 / n, 3),
                    "statements": round(sent[0] / n, 2),
                }
                if server_before is not None and server_after is not None:
                    used = sum(t - server_before.get(p, 0.0) for p, t in server_after.items())
                    one["server_cpu_ms"] = round(used * 1000 / n, 3)
                results[kind].append(one)
    finally:
        await core.dispose()
        shutil.rmtree(var_dir, ignore_errors=True)
    return {
        kind: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        for kind, runs in results.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL server URL; default a SQLite file")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=100)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="inventory-moves-"))
    url, drop = f"sqlite:///{workdir / 'moves.db'}", ""
    if args.postgres:
        drop = f"inventory_moves_{uuid.uuid4().hex[:8]}"
        asyncio.run(_pg_admin(args.postgres, f'CREATE DATABASE "{drop}"'))
        url = args.postgres.rsplit("/", 1)[0] + "/" + drop
    try:
        seed(url, 10, False)
        (tenant_id,) = query(url, "SELECT id FROM tenants WHERE name = $1", TENANT)[0]
        results = asyncio.run(_measure(url, tenant_id, args.rounds, args.pairs))
        print(json.dumps(results), flush=True)
    finally:
        side_file(url).unlink(missing_ok=True)
        if drop:
            asyncio.run(_pg_admin(args.postgres, f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'))
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
