"""CPU time and SQL statements per request, in process (no server, no load generator).

    python bench/per_request.py seed --url URL --customers 100000 [--raw]
    python bench/per_request.py measure --url URL [--requests 200] [--scenario brand_index ...]

``seed`` sets up the tenant ``bench`` like ``bench/run.py`` (migrate, tenant, the demo
catalogue, an interface user, an API key) and adds N customers: with ``boxoffice import
customers`` and the generated file of ``bench/run.py``, or with ``--raw`` straight into the
``customers`` table by the database driver (for 1M customers in minutes; no addresses, tags...).
Every fifth customer is put in the catalogue's brand. What ``measure`` needs is kept in
``URL``'s side file (``.per_request.json`` next to the SQLite file, or in the temporary
directory); ``owner`` adds a System Owner API user and 1,000 customer codes to it, for the
signed ``owner_get``.

``measure`` runs each scenario's request N times (``--concurrency`` at once) through ``httpx.ASGITransport`` against
``create_app`` and reports, per request, the process's CPU time (``time.process_time``: the
event loop and aiosqlite's threads), the wall time, and the SQL statements sent (counted on the
engine, with how many wrote). The machine may be shared: CPU time is the robust figure.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (
    ORIGIN,
    PASSWORD,
    TENANT,
    bench_catalogue,
    cli,
    environment,
    query,
    write_csv,
)

SECRET = "per-request-bench-secret-0123456789abcdef"
SCENARIOS = ("brand_index", "carecloud_get", "web_get", "brand_index_deep", "owner_get")
BASE = "http://testserver"


def side_file(url: str) -> Path:
    if url.startswith("sqlite"):
        return Path(url.removeprefix("sqlite:///")).with_suffix(".per_request.json")
    name = url.rsplit("/", 1)[1]
    return Path(tempfile.gettempdir()) / f"{name}.per_request.json"


# --- seed ----------------------------------------------------------------------------------


def _raw_customers(url: str, tenant_id: int, count: int, brand_id: int) -> None:
    """``count`` customers (the ``customers`` table only), in batches of 10,000."""
    now = datetime.now(UTC)
    rng = random.Random(11)
    ids = rng.sample(range(1, 36**8 - 1), count)
    columns = (
        "tenant_id, id, email, email_key, title, first_name, last_name, credit_balance, "
        "brand_id, state, created_at, updated_at, version"
    )

    def rows(start: int, stop: int) -> list[tuple[Any, ...]]:
        return [
            (
                tenant_id,
                ids[i],
                f"raw{i}@example.org",
                f"raw{i}@example.org",
                "",
                f"First{i}",
                f"Last{i % 997}",
                0,
                brand_id if i % 5 == 0 else None,
                "active",
                now,
                now,
                1,
            )
            for i in range(start, stop)
        ]

    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        marks = ", ".join("?" for _ in columns.split(","))
        for start in range(0, count, 10_000):
            batch = [
                tuple(v.replace(tzinfo=None).isoformat(sep=" ") if v is now else v for v in row)
                for row in rows(start, min(count, start + 10_000))
            ]
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(f"INSERT INTO customers ({columns}) VALUES ({marks})", batch)
            connection.execute("COMMIT")
        connection.execute("ANALYZE")
        connection.close()
        return

    async def copy() -> None:
        import asyncpg

        connection = await asyncpg.connect(url)
        try:
            for start in range(0, count, 10_000):
                await connection.copy_records_to_table(
                    "customers",
                    records=rows(start, min(count, start + 10_000)),
                    columns=[c.strip() for c in columns.split(",")],
                )
            await connection.execute("ANALYZE")
        finally:
            await connection.close()

    asyncio.run(copy())


def owner(args: argparse.Namespace) -> None:
    from boxoffice.domain.ids import customer_code

    spec = json.loads(side_file(args.url).read_text())
    env = environment(args.url, SECRET)
    user = json.loads(cli(env, "api-user", "create", TENANT, "per-request", "--json"))
    (tenant_id,) = query(args.url, "SELECT id FROM tenants WHERE name = $1", TENANT)[0]
    ids = query(
        args.url, "SELECT id FROM customers WHERE tenant_id = $1 ORDER BY id LIMIT 1000", tenant_id
    )
    spec.update(
        login=user["login"],
        secret=user["secret_key"],
        customer_codes=[customer_code(int(i)) for (i,) in ids],
    )
    side_file(args.url).write_text(json.dumps(spec))


def seed(args: argparse.Namespace) -> None:
    env = environment(args.url, SECRET)
    workdir = Path(tempfile.mkdtemp(prefix="per-request-"))
    cli(env, "migrate")
    cli(env, "tenant", "create", TENANT, "--origin", ORIGIN)
    cli(env, "catalog", "load", TENANT, str(bench_catalogue(workdir)))
    user = json.loads(cli(env, "interface-user", "create", TENANT, "bench", "--json"))["user_name"]
    key = json.loads(
        cli(env, "api-key", "create", TENANT, "--permission", "CUSTOMER_READ", "--json")
    )["api_key"]
    (tenant_id,) = query(args.url, "SELECT id FROM tenants WHERE name = $1", TENANT)[0]
    (brand_id,) = query(args.url, "SELECT id FROM brands WHERE tenant_id = $1", tenant_id)[0]
    started = time.perf_counter()
    if args.raw:
        _raw_customers(args.url, tenant_id, args.customers, brand_id)
    else:
        data = workdir / "customers.csv"
        write_csv(data, args.customers)
        cli(env, "import", "customers", TENANT, str(data), "--json", "--quiet")
    print(f"seeded {args.customers} customers in {time.perf_counter() - started:.0f} s")
    side_file(args.url).write_text(json.dumps({"api_key": key, "interface_user": user}))


# --- measure -------------------------------------------------------------------------------


class Statements:
    """Counts the statements an engine sends (and those that write)."""

    def __init__(self) -> None:
        self.total = 0
        self.writes = 0
        self.kinds: Counter[str] = Counter()

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.total += 1
        word = statement.lstrip().split(None, 1)[0].upper()
        self.kinds[word] += 1
        if word in ("INSERT", "UPDATE", "DELETE"):
            self.writes += 1


async def _login(client: httpx.AsyncClient, user: str) -> dict[str, Any]:
    """A web session and a CareCloud token with the same (new) customer logged in."""
    email = f"per-request-{random.randrange(10**9)}@example.org"
    origin = {"Origin": ORIGIN}
    response = await client.post(
        f"/{TENANT}/api/v3/customer",
        json={"firstName": "Web", "lastName": "User", "email": email, "password": PASSWORD},
        headers=origin,
    )
    response.raise_for_status()
    response = await client.post(
        f"/{TENANT}/api/v3/customer/authenticate",
        json={"email": email, "password": PASSWORD},
        headers=origin,
    )
    response.raise_for_status()
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    client.cookies.clear()
    api = f"/{TENANT}/webservice/rest-api/customer-interface/v1.0"
    basic = base64.b64encode(f"{user}:".encode()).decode()
    device = {
        "device_id": "bench",
        "device_system": "Linux",
        "device_name": "b",
        "device_type": "b",
    }
    response = await client.post(
        f"{api}/tokens",
        json={
            "device": device,
            "setup": {"language_id": "en", "allowed_gps": False, "allowed_notifications": False},
            "external_application_id": "bench",
        },
        headers={"Authorization": f"Basic {basic}"},
    )
    response.raise_for_status()
    token = response.json()["data"]["token_id"]
    bearer = {"Authorization": f"Bearer {token}"}
    response = await client.post(
        f"{api}/tokens/{token}/actions/login",
        json={"login_type": "email", "login_value": email, "password": PASSWORD},
        headers=bearer,
    )
    response.raise_for_status()
    response = await client.get(f"{api}/customers", headers=bearer)
    response.raise_for_status()
    customer = response.json()["data"]["customers"][0]["customer_id"]
    return {"cookie": cookie, "token": token, "carecloud_customer": customer}


def _request(name: str, spec: dict[str, Any], rng: random.Random) -> tuple[str, dict[str, str]]:
    if name == "brand_index":
        return f"/api/v2/customer?itemStart={rng.randrange(100)}&itemLimit=15", {
            "apiKey": spec["api_key"]
        }
    if name == "brand_index_deep":
        start = rng.randrange(spec["customers"] // 2, spec["customers"])
        return f"/api/v2/customer?itemStart={start}&itemLimit=15", {"apiKey": spec["api_key"]}
    if name == "carecloud_get":
        path = (
            f"/{TENANT}/webservice/rest-api/customer-interface/v1.0/customers/"
            f"{spec['carecloud_customer']}"
        )
        return path, {"Authorization": f"Bearer {spec['token']}"}
    if name == "owner_get":
        from email.utils import formatdate

        from boxoffice.security import signatures

        path = f"/{TENANT}/api/v3/customers/{rng.choice(spec['customer_codes'])}"
        date = formatdate(usegmt=True)
        signature = signatures.sign(spec["secret"], "GET", BASE + path, date, None)
        return path, {
            "Date": date,
            "Authorization": signatures.authorization_header(spec["login"], signature),
        }
    if name == "web_get":
        return f"/{TENANT}/api/v3/customer", {"Origin": ORIGIN, "Cookie": spec["cookie"]}
    raise SystemExit(f"unknown scenario {name}")


def measure(args: argparse.Namespace) -> None:
    spec = json.loads(side_file(args.url).read_text())
    (tenant_id,) = query(args.url, "SELECT id FROM tenants WHERE name = $1", TENANT)[0]
    spec["customers"] = query(
        args.url, "SELECT count(*) FROM customers WHERE tenant_id = $1", tenant_id
    )[0][0]
    asyncio.run(_measure(args, spec))


async def _measure(args: argparse.Namespace, spec: dict[str, Any]) -> None:
    from sqlalchemy import event

    from boxoffice.api.app import create_app
    from boxoffice.bootstrap import build_core
    from boxoffice.settings import Settings

    settings = Settings(database_url=args.url, secret_key=SECRET, log_level="WARNING")
    app = create_app(settings)
    core = build_core(settings)
    app.state.core = core
    counter = Statements()
    event.listen(core.engine.sync_engine, "before_cursor_execute", counter)
    rng = random.Random(5)
    results: dict[str, Any] = {"customers": spec["customers"]}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        spec.update(await _login(client, spec["interface_user"]))
        for name in args.scenario:
            for _ in range(args.warmup):
                path, headers = _request(name, spec, rng)
                (await client.get(path, headers=headers)).raise_for_status()
            before = (counter.total, counter.writes)
            counter.kinds.clear()
            cpu, wall = time.process_time(), time.perf_counter()
            queue = [_request(name, spec, rng) for _ in range(args.requests)]

            async def drive(queue: list[tuple[str, dict[str, str]]], name: str) -> None:
                while queue:
                    path, headers = queue.pop()
                    response = await client.get(path, headers=headers)
                    if response.status_code != 200:
                        raise SystemExit(f"{name}: {response.status_code} {response.text[:300]}")

            await asyncio.gather(*(drive(queue, name) for _ in range(args.concurrency)))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            n = args.requests
            results[name] = {
                "requests": n,
                "cpu_ms": round(cpu * 1000 / n, 2),
                "wall_ms": round(wall * 1000 / n, 2),
                "statements": round((counter.total - before[0]) / n, 2),
                "writes": round((counter.writes - before[1]) / n, 2),
                "kinds": {k: round(v / n, 2) for k, v in sorted(counter.kinds.items())},
            }
            print(json.dumps({name: results[name]}), flush=True)
    await core.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("seed")
    p.add_argument("--url", required=True)
    p.add_argument("--customers", type=int, default=100_000)
    p.add_argument("--raw", action="store_true")
    p = sub.add_parser("owner")
    p.add_argument("--url", required=True)
    p = sub.add_parser("measure")
    p.add_argument("--url", required=True)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--concurrency", type=int, default=1, help="requests in flight at once")
    p.add_argument("--scenario", nargs="+", default=list(SCENARIOS[:3]), choices=SCENARIOS)
    args = parser.parse_args()
    if args.command == "seed":
        seed(args)
    elif args.command == "owner":
        owner(args)
    else:
        measure(args)


if __name__ == "__main__":
    main()
