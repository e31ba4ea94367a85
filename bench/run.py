"""``make bench``: seed, serve, load, measure against references; write bench/results/.

    python bench/run.py [--customers 100000] [--duration 10] [--workers 2] [--connections 16]
                        [--databases sqlite,postgresql] [--smoke] [--out bench/results]

For each database it creates a fresh database (SQLite file in a temporary directory;
PostgreSQL database ``boxoffice_bench_<pid>``, created and dropped here), sets up a tenant with the
real CLI, imports N generated customers with ``boxoffice import customers`` (timed), inserts
the same rows into another tenant with the database driver alone (the import ceiling), starts
``boxoffice serve --workers W`` on loopback and drives each scenario from a separate process
(``bench/load.py``) for a fixed time and at most a fixed number of requests. The bare ASGI app
(``bench/bare_app.py``) under the same server and worker count is the HTTP reference. Every
process started here is bounded in time and stopped here.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from boxoffice import serving

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEMO = ROOT / "src" / "boxoffice" / "catalogs" / "demo.yaml"
DEMO_BOX_OFFICE = DEMO.with_name("demo_box_office.yaml")
TENANT, CEILING = "bench", "ceiling"
ORIGIN = "http://localhost:8080"
PASSWORD = "Bench-password-1"
STARTUP_TIMEOUT = 60.0
CLI_TIMEOUT = 1800.0
PG_ADMIN = os.environ.get(
    "BOXOFFICE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
#: One database per run (dropped at its end), so that two runs on one server cannot drop
#: each other's.
PG_DATABASE = os.environ.get("BOXOFFICE_BENCH_DATABASE", f"boxoffice_bench_{os.getpid()}")
#: The import's batch size (its default); the raw ceiling inserts batches of the same size.
IMPORT_BATCH = 1000
#: The query behind ``GET customers?email=`` (``Customers.by_email_key``, with the tenant
#: guard's criterion), checked with the database's own EXPLAIN after the import.
EMAIL_LOOKUP = (
    "SELECT * FROM customers WHERE email_key = $2 AND state = 'active' AND tenant_id = $1"
)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(env: dict[str, str], *args: str, timeout: float = CLI_TIMEOUT) -> str:
    result = subprocess.run(
        [str(BIN / "boxoffice"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"boxoffice {' '.join(args)}: {result.stderr[-2000:]}")
    return result.stdout


@contextmanager
def server(
    command: list[str], env: dict[str, str], port: int, log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"server exited: {log_path.read_text()[-2000:]}")
                try:
                    if client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start in time")
                time.sleep(0.1)  # polling interval
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _proc(name: str) -> Iterator[tuple[int, str]]:
    """``(pid, text of /proc/PID/name)`` for every process that can be read."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            yield int(entry.name), (entry / name).read_text()
        except OSError:
            continue


def worker_peak_rss_mb(pid: int) -> list[float]:
    """Peak resident memory (VmHWM) of each worker process of a server."""
    peaks = []
    for _, status in _proc("status"):
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("PPid", "0").strip()) != pid:
            continue
        hwm = fields.get("VmHWM", "0 kB").strip().split()[0]
        mb = int(hwm) / 1024
        if mb > 30:  # workers, not multiprocessing's small helpers
            peaks.append(round(mb, 1))
    if not peaks:  # a single worker runs in the server process itself
        status = Path(f"/proc/{pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(round(int(line.split()[1]) / 1024, 1))
    return sorted(peaks)


def _stat(text: str) -> tuple[str, list[str]]:
    """A ``/proc/PID/stat`` line: the command name, and the fields after it (``[1]``: the
    parent's pid; ``[11]``, ``[12]``: user and system CPU time in clock ticks)."""
    return text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()


def _cpu_seconds(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU time (user + system) used so far by a server, per process: its own and its
    workers'."""
    used = {}
    for process, text in _proc("stat"):
        fields = _stat(text)[1]
        if process == pid or int(fields[1]) == pid:
            used[process] = _cpu_seconds(fields)
    return used


def database_cpu_seconds() -> float:
    """CPU time (user + system) used so far by every PostgreSQL server process on this
    machine (``postgres``: the postmaster, its backends and background processes)."""
    used = 0.0
    for _, text in _proc("stat"):
        name, fields = _stat(text)
        if name == "postgres":
            used += _cpu_seconds(fields)
    return used


def rush(spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """``bench/rush.py``: the on-sale rush, as a process of its own."""
    process = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "rush.py"), json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
        check=False,
    )
    if process.returncode != 0:
        return {"error": process.stderr[-2000:]}
    result: dict[str, Any] = json.loads(process.stdout.strip().splitlines()[-1])
    return result


def run_load_measured(
    spec: dict[str, Any], pid: int, *, postgresql: bool = False
) -> dict[str, Any]:
    """``run_load``, plus the server's CPU milliseconds per answered request (unlike req/s,
    this hardly depends on what else the machine is doing) and how the CPU time was shared
    by the processes that used any (``worker_cpu_split``, percent, largest first: a worker
    that holds most of the connections shows here).

    Also the whole CPU budget of one request on this machine, whose cores the server, the
    database server and the load generator share: the PostgreSQL server's CPU per request
    (``database_cpu_ms_per_request``, when ``postgresql``; else 0: SQLite runs inside the
    workers, and a PostgreSQL server busy with other work is not this scenario's), the
    load generator's
    (``client_cpu_ms_per_request``, from load.py), their sum with the server's
    (``total_cpu_ms_per_request``), and ``cpu_bound_rps``: the req/s at which that sum
    takes every core, the most a run can reach on this machine at this cost per request."""
    database = database_cpu_seconds if postgresql else float
    before, database_before = server_cpu_seconds(pid), database()
    result = run_load(spec)
    after, database_after = server_cpu_seconds(pid), database()
    spent = {p: t - before.get(p, 0.0) for p, t in after.items()}
    used = sum(spent.values())
    requests = max(result["requests"], 1)
    result["server_cpu_ms_per_request"] = round(1000 * used / requests, 3)
    result["worker_cpu_split"] = sorted(
        (round(100 * t / used, 1) for t in spent.values() if used and t > 0.01 * used),
        reverse=True,
    )
    result["database_cpu_ms_per_request"] = round(
        1000 * (database_after - database_before) / requests, 3
    )
    total = (
        result["server_cpu_ms_per_request"]
        + result["database_cpu_ms_per_request"]
        + result["client_cpu_ms_per_request"]
    )
    result["total_cpu_ms_per_request"] = round(total, 3)
    result["cpu_bound_rps"] = round(1000 * (os.cpu_count() or 1) / total, 1) if total else None
    return result


def load(spec: dict[str, Any], timeout: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "load.py"), json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def finish(
    process: subprocess.Popen[str], timeout: float, what: str = "load generator"
) -> dict[str, Any]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate(timeout=15)
        raise
    if process.returncode != 0:
        raise RuntimeError(f"{what} failed: {err[-2000:]}")
    result: dict[str, Any] = json.loads(out)
    return result


def run_load(spec: dict[str, Any]) -> dict[str, Any]:
    return finish(load(spec, spec["duration"]), spec["duration"] + 60)


# --- data --------------------------------------------------------------------------------


def write_csv(path: Path, count: int) -> None:
    rng = random.Random(7)
    genres = ["Opera", "Drama", "Jazz", "Dance", "Comedy"]
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(
            [
                "email",
                "first_name",
                "last_name",
                "phone",
                "birth_date",
                "tags",
                "statements",
                "attribute:Favourite Genre",
                "external_id:website",
                "address_line1",
                "address_town",
                "address_postcode",
                "address_country",
            ]
        )
        for i in range(count):
            out.writerow(
                [
                    f"bench{i}@example.org",
                    f"First{i}",
                    f"Last{i % 997}",
                    f"+44 20 {rng.randrange(10**7):07d}",
                    date(1950 + i % 50, 1 + i % 12, 1 + i % 28).isoformat(),
                    "Interests/Drama",
                    "agreement_post",
                    rng.choice(genres),
                    f"W-{i}",
                    f"{i} Long Road",
                    "Leeds",
                    "LS1 1AA",
                    "GB",
                ]
            )


def raw_batches(
    count: int, tenant_id: int, catalogue: dict[str, int], batch: int
) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """The rows an import of the generated file writes, built without boxoffice, a batch at a
    time (a million customers' rows at once would not fit in memory)."""
    now = datetime.now(UTC)
    rng = random.Random(11)
    ids = rng.sample(range(1, 36**8 - 1), count)
    for start in range(0, count, batch):
        yield _raw_tables(ids[start : start + batch], start, tenant_id, catalogue, now, rng)


def _raw_tables(
    ids: list[int],
    first: int,
    tenant_id: int,
    catalogue: dict[str, int],
    now: datetime,
    rng: random.Random,
) -> dict[str, list[dict[str, Any]]]:
    tables: dict[str, list[dict[str, Any]]] = {
        t: []
        for t in (
            "customers",
            "customer_addresses",
            "customer_attribute_values",
            "customer_tags",
            "customer_consents",
            "consent_changes",
            "customer_source_records",
            "timeline_entries",
        )
    }
    for i, key in enumerate(ids, start=first):
        base = {"tenant_id": tenant_id, "customer_id": key}
        tables["customers"].append(
            {
                "tenant_id": tenant_id,
                "id": key,
                "email": f"bench{i}@example.org",
                "email_key": f"bench{i}@example.org",
                "title": "",
                "first_name": f"First{i}",
                "last_name": f"Last{i % 997}",
                "phone": "+44 20 1234567",
                "mobile": None,
                "birth_date": date(1950 + i % 50, 1 + i % 12, 1 + i % 28),
                "gender": None,
                "language": None,
                "friendly_id": None,
                "password_hash": None,
                "credit_balance": 0,
                "brand_id": None,
                "external_primary_id": None,
                "state": "active",
                "created_at": now,
                "updated_at": now,
                "version": 1,
                "store_id": None,
                "post_nominals": None,
            }
        )
        tables["customer_addresses"].append(
            {
                **base,
                "id": rng.randrange(1, 2**53),
                "is_billing": True,
                "is_delivery": True,
                "name": None,
                "line1": f"{i} Long Road",
                "line2": None,
                "line3": None,
                "line4": None,
                "line5": None,
                "town": "Leeds",
                "postcode": "LS1 1AA",
                "country": "GB",
                "administrative_division": None,
                "created_at": now,
            }
        )
        tables["customer_attribute_values"].append(
            {**base, "attribute_id": catalogue["attribute"], "value": "Opera"}
        )
        tables["customer_tags"].append(
            {**base, "tag_id": catalogue["tag"], "added_at": now, "added_by": "raw"}
        )
        tables["customer_consents"].append(
            {**base, "statement_id": catalogue["statement"], "agreed_at": now}
        )
        tables["consent_changes"].append(
            {
                **base,
                "id": rng.randrange(1, 2**53),
                "statement_id": catalogue["statement"],
                "agreed": True,
                "statement_text": "Post",
                "actor": "raw",
                "channel": "import",
                "occurred_at": now,
            }
        )
        tables["customer_source_records"].append(
            {**base, "source_id": catalogue["source"], "external_id": f"W-{i}"}
        )
        tables["timeline_entries"].append(
            {
                **base,
                "id": rng.randrange(1, 2**53),
                "occurred_at": now,
                "kind": "created",
                "actor": "raw",
                "data": json.dumps({"channel": "import"}),
            }
        )
    return tables


def sqlite_raw_insert(path: str, batches: Iterator[dict[str, list[dict[str, Any]]]]) -> float:
    """Seconds spent inserting (each batch one transaction, ``executemany`` per table); the
    rows are built and converted outside the timed part."""

    def value(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.replace(tzinfo=None).isoformat(sep=" ")
        if isinstance(v, date):
            return v.isoformat()
        return v

    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    elapsed = 0.0
    for tables in batches:
        prepared = {
            name: (list(rows[0]), [tuple(value(v) for v in row.values()) for row in rows])
            for name, rows in tables.items()
        }
        started = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        for name, (columns, rows) in prepared.items():
            marks = ", ".join("?" for _ in columns)
            connection.executemany(
                f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})", rows
            )
        connection.execute("COMMIT")
        elapsed += time.perf_counter() - started
    connection.close()
    return elapsed


async def postgres_raw_insert(
    url: str, batches: Iterator[dict[str, list[dict[str, Any]]]]
) -> float:
    """Seconds spent inserting (each batch one transaction, ``COPY`` per table)."""
    import asyncpg

    connection = await asyncpg.connect(url)
    elapsed = 0.0
    for tables in batches:
        prepared = {
            name: (list(rows[0]), [tuple(row.values()) for row in rows])
            for name, rows in tables.items()
        }
        started = time.perf_counter()
        async with connection.transaction():
            for name, (columns, rows) in prepared.items():
                await connection.copy_records_to_table(name, records=rows, columns=columns)
        elapsed += time.perf_counter() - started
    await connection.close()
    return elapsed


def email_lookup(url: str, tenant_id: int, email: str, repeat: int = 200) -> dict[str, Any]:
    """The plan of the ``GET customers?email=`` query (as the application's role on
    PostgreSQL, so with the row-level security policy) and its mean time over ``repeat``
    runs of the prepared statement, in this process."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            sql = EMAIL_LOOKUP.replace("$2", "?2").replace("$1", "?1")
            plan = [
                r[-1] for r in connection.execute("EXPLAIN QUERY PLAN " + sql, (tenant_id, email))
            ]
            started = time.perf_counter()
            for _ in range(repeat):
                found = connection.execute(sql, (tenant_id, email)).fetchall()
            seconds = time.perf_counter() - started
        finally:
            connection.close()
    else:

        async def run() -> tuple[list[str], float, list[Any]]:
            import asyncpg

            connection = await asyncpg.connect(url)
            try:
                await connection.execute("SET ROLE boxoffice_app")
                await connection.execute(
                    "SELECT set_config('boxoffice.tenant_id', $1, false)", str(tenant_id)
                )
                plan = [
                    r[0]
                    for r in await connection.fetch(
                        "EXPLAIN (ANALYZE, BUFFERS) " + EMAIL_LOOKUP, tenant_id, email
                    )
                ]
                statement = await connection.prepare(EMAIL_LOOKUP)
                started = time.perf_counter()
                for _ in range(repeat):
                    found = await statement.fetch(tenant_id, email)
                return plan, time.perf_counter() - started, found
            finally:
                await connection.close()

        plan, seconds, found = asyncio.run(run())
    return {
        "plan": plan,
        "found": len(found),
        "mean_ms": round(seconds / repeat * 1000, 4),
    }


def query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            return connection.execute(sql.replace("$1", "?"), params).fetchall()
        finally:
            connection.close()

    async def fetch() -> list[tuple[Any, ...]]:
        import asyncpg

        connection = await asyncpg.connect(url)
        try:
            return [tuple(r) for r in await connection.fetch(sql, *params)]
        finally:
            await connection.close()

    return asyncio.run(fetch())


async def pg_admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


# --- one database ------------------------------------------------------------------------


def database_url(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
    asyncio.run(pg_admin(f'CREATE DATABASE "{PG_DATABASE}"'))
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def environment(url: str, secret: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BOXOFFICE_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update(
        BOXOFFICE_DATABASE_URL=url,
        BOXOFFICE_SECRET_KEY=secret,
        BOXOFFICE_LOG_LEVEL="WARNING",
        NO_COLOR="1",
    )
    return env


def bench_catalogue(workdir: Path) -> Path:
    """The demo catalogue and the demo box office (what ``boxoffice demo`` loads), with the
    web-mode rate limits raised."""
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    data.update(yaml.safe_load(DEMO_BOX_OFFICE.read_text(encoding="utf-8")))
    data.setdefault("settings", {})["rate_limits"] = {
        "signup_per_ip": "100000000/minute",
        "login_per_ip": "100000000/minute",
        "basket_writes_per_ip": "100000000/minute",
    }
    path = workdir / "catalogue.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def hamlet_instance(base: str, index: int = 0) -> str:
    """The id of an instance of the demo box office's Hamlet (its 260-seat Main House), read
    in web mode: the first is the instance whose ``status`` the benchmark reads, the second
    the one the on-sale rush sells."""
    with httpx.Client(base_url=base, timeout=30, trust_env=False) as client:
        response = client.get(f"/{TENANT}/api/v3/instances?eventName=Hamlet")
        response.raise_for_status()
        instances = response.json()
    if not instances:
        raise SystemExit("the benchmark's tenant has no Hamlet instance (the demo box office)")
    return str(instances[index]["id"])


def short_id(api_id: str) -> int:
    """The integer key an API id starts with (the short id iframes use)."""
    digits = api_id[: len(api_id) - len(api_id.lstrip("0123456789"))]
    return int(digits)


def web_session(base: str, email: str) -> tuple[str, str]:
    """Sign up a customer with a password in web mode; returns (cookie header, email)."""
    with httpx.Client(base_url=base, timeout=30, trust_env=False) as client:
        headers = {"Origin": ORIGIN}
        response = client.post(
            f"/{TENANT}/api/v3/customer",
            json={"firstName": "Web", "lastName": "User", "email": email, "password": PASSWORD},
            headers=headers,
        )
        response.raise_for_status()
        response = client.post(
            f"/{TENANT}/api/v3/customer/authenticate",
            json={"email": email, "password": PASSWORD},
            headers=headers,
        )
        response.raise_for_status()
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        return cookie, email


def carecloud_token(base: str, user: str, email: str) -> tuple[str, str]:
    """A CareCloud token with the customer logged in; returns (token, customer id)."""
    import base64

    api = f"/{TENANT}/webservice/rest-api/customer-interface/v1.0"
    with httpx.Client(base_url=base, timeout=30, trust_env=False) as client:
        basic = base64.b64encode(f"{user}:".encode()).decode()
        response = client.post(
            f"{api}/tokens",
            json={
                "device": {
                    "device_id": "bench",
                    "device_system": "Linux",
                    "device_name": "bench",
                    "device_type": "bench",
                },
                "setup": {
                    "language_id": "en",
                    "allowed_gps": False,
                    "allowed_notifications": False,
                },
                "external_application_id": "bench",
            },
            headers={"Authorization": f"Basic {basic}"},
        )
        response.raise_for_status()
        token = response.json()["data"]["token_id"]
        bearer = {"Authorization": f"Bearer {token}"}
        response = client.post(
            f"{api}/tokens/{token}/actions/login",
            json={"login_type": "email", "login_value": email, "password": PASSWORD},
            headers=bearer,
        )
        response.raise_for_status()
        response = client.get(f"{api}/customers", headers=bearer)
        response.raise_for_status()
        customer_id = response.json()["data"]["customers"][0]["customer_id"]
        return token, customer_id


def bench_database(
    kind: str, args: argparse.Namespace, workdir: Path, data_file: Path, secret: str
) -> dict[str, Any]:
    from boxoffice.domain.ids import customer_code

    url = database_url(kind, workdir)
    env = environment(url, secret)
    out: dict[str, Any] = {"database": kind, "customers": args.customers}
    try:
        cli(env, "migrate")
        cli(env, "tenant", "create", TENANT, "--origin", ORIGIN)
        cli(env, "catalog", "load", TENANT, str(bench_catalogue(workdir)))
        owner = json.loads(cli(env, "api-user", "create", TENANT, "bench", "--json"))
        user = json.loads(cli(env, "interface-user", "create", TENANT, "bench", "--json"))[
            "user_name"
        ]
        api_key = json.loads(
            cli(
                env,
                "api-key",
                "create",
                TENANT,
                "--permission",
                "CUSTOMER_READ",
                "--permission",
                "CUSTOMER_CUD",
                "--json",
            )
        )["api_key"]

        log(f"{kind}: importing {args.customers} customers")
        summary = json.loads(
            cli(
                env,
                "import",
                "customers",
                TENANT,
                str(data_file),
                "--json",
                "--quiet",
                "--rejects",
                str(workdir / "rejects.csv"),
                timeout=args.import_timeout,
            )
        )
        out["import"] = {
            **summary,
            "customers_per_s": round(summary["created"] / summary["seconds"], 1),
        }

        log(f"{kind}: raw driver insert of the same rows (the ceiling)")
        cli(env, "tenant", "create", CEILING)
        cli(env, "catalog", "load", CEILING, str(DEMO))
        (ceiling_id,) = query(url, "SELECT id FROM tenants WHERE name = $1", CEILING)[0]
        catalogue = {
            "tag": query(
                url, "SELECT id FROM tags WHERE tenant_id = $1 AND name = 'Drama'", ceiling_id
            )[0][0],
            "statement": query(
                url,
                "SELECT id FROM statements WHERE tenant_id = $1 AND code = 'agreement_post'",
                ceiling_id,
            )[0][0],
            "attribute": query(
                url,
                "SELECT id FROM attribute_definitions WHERE tenant_id = $1 AND name = 'Favourite Genre'",
                ceiling_id,
            )[0][0],
            "source": query(
                url,
                "SELECT id FROM customer_sources WHERE tenant_id = $1 AND code = 'website'",
                ceiling_id,
            )[0][0],
        }
        ceiling_count = min(args.customers, args.ceiling_customers)
        batches = raw_batches(ceiling_count, ceiling_id, catalogue, IMPORT_BATCH)
        if kind == "sqlite":
            raw_seconds = sqlite_raw_insert(url.removeprefix("sqlite:///"), batches)
        else:
            raw_seconds = asyncio.run(postgres_raw_insert(url, batches))
        out["raw_insert"] = {
            "customers": ceiling_count,
            "seconds": round(raw_seconds, 3),
            "customers_per_s": round(ceiling_count / raw_seconds, 1),
        }
        out["import"]["ratio_to_raw"] = round(
            out["import"]["customers_per_s"] / out["raw_insert"]["customers_per_s"], 3
        )

        (tenant_id,) = query(url, "SELECT id FROM tenants WHERE name = $1", TENANT)[0]
        out["email_lookup"] = email_lookup(url, tenant_id, f"bench{args.customers - 1}@example.org")
        log(
            f"{kind}: email lookup {out['email_lookup']['mean_ms']} ms: {out['email_lookup']['plan'][:2]}"
        )
        if args.only == "import":
            return out
        sample = query(
            url,
            "SELECT id, email FROM customers WHERE tenant_id = $1 ORDER BY id LIMIT 2000",
            tenant_id,
        )
        rng = random.Random(3)
        picked = rng.sample(sample, min(len(sample), 1000))
        codes = [customer_code(int(i)) for i, _ in picked]
        emails = [e for _, e in picked]

        port = free_port()
        command = [
            str(BIN / "boxoffice"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ]
        base = f"http://127.0.0.1:{port}"
        with server(command, env, port, workdir / f"server-{kind}.log") as process:
            cookie, login_email = web_session(base, f"web-{secrets.token_hex(4)}@example.org")
            token, carecloud_customer = carecloud_token(base, user, login_email)
            instance_id = hamlet_instance(base)
            common = {
                "host": "127.0.0.1",
                "port": port,
                "tenant": TENANT,
                "duration": args.duration,
                "connections": args.connections,
                "max_requests": args.max_requests,
                "login": owner["login"],
                "secret": owner["secret_key"],
                "customer_codes": codes,
                "emails": emails,
                "cookie": cookie,
                "login_email": login_email,
                "password": PASSWORD,
                "token": token,
                "carecloud_customer": carecloud_customer,
                "api_key": api_key,
                "origin": ORIGIN,
                "instance_id": instance_id,
            }
            scenarios: dict[str, Any] = {}
            for name in (
                "owner_get",
                "owner_email",
                "owner_post",
                "web_signup",
                "web_get",
                "carecloud_get",
                "brand_index",
                "events_expand",
                "instance_status",
            ):
                log(f"{kind}: {name} for {args.duration}s at {args.connections} connections")
                scenarios[name] = run_load_measured(
                    {**common, "scenario": name}, process.pid, postgresql=kind == "postgresql"
                )
            # The same instance's status (System Owner: every count) while another process
            # holds and releases its seats through the inventory service: each answer's counts
            # must add up (load.py's check), whatever is changing.
            log(f"{kind}: instance_status_changing for {args.duration}s beside seat changes")
            churn = subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "bench" / "seat_churn.py"),
                    json.dumps(
                        {
                            "tenant": TENANT,
                            "instance": short_id(instance_id),
                            "duration": args.duration,
                        }
                    ),
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            changing = run_load_measured(
                {**common, "scenario": "instance_status_changing"},
                process.pid,
                postgresql=kind == "postgresql",
            )
            changing["seat_changes"] = finish(churn, args.duration + 60, "seat churn")
            scenarios["instance_status_changing"] = changing
            # An on-sale rush (issue 18): buyers with baskets of their own racing for the
            # seats of another Hamlet performance, while the status is sampled.
            buyers = 40 if args.smoke else args.rush_buyers
            log(f"{kind}: on-sale rush, {buyers} buyers for one performance's 260 seats")
            out["onsale_rush"] = rush(
                {
                    "base": base,
                    "tenant": TENANT,
                    "login": owner["login"],
                    "secret": owner["secret_key"],
                    "instance": hamlet_instance(base, 1),
                    "buyers": buyers,
                    "concurrency": min(buyers, args.rush_concurrency),
                },
                env,
            )
            # The storm's control: the same requests just before it, in the same state of the
            # database (after the writes above) and of the machine.
            log(f"{kind}: owner_get again, just before the login storm")
            scenarios["owner_get_before_login_storm"] = run_load_measured(
                {**common, "scenario": "owner_get"}, process.pid, postgresql=kind == "postgresql"
            )
            log(f"{kind}: login storm (Argon2 logins at 4 connections) beside owner_get")
            storm = load({**common, "scenario": "login", "connections": 4}, args.duration)
            during = run_load({**common, "scenario": "owner_get"})
            scenarios["login_storm_logins"] = finish(storm, args.duration + 60)
            scenarios["owner_get_during_login_storm"] = during
            out["scenarios"] = scenarios
            out["worker_peak_rss_mb"] = worker_peak_rss_mb(process.pid)
    finally:
        if kind == "postgresql":
            asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
    return out


def bench_bare(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    port = free_port()
    command = [
        str(BIN / "uvicorn"),
        "bench.bare_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--loop",
        "boxoffice.serving:new_event_loop",  # as `boxoffice serve` (decision 0084)
        "--http",
        "boxoffice.serving:HttpProtocol",
        "--no-access-log",
        "--no-server-header",
        "--log-level",
        "warning",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(serving.BOARD_ENV, None)
    if args.workers > 1:
        env[serving.BOARD_ENV] = str(serving.create_board(workdir))
    with server(command, env, port, workdir / "bare.log") as process:
        log(f"bare ASGI app for {args.duration}s at {args.connections} connections")
        result = run_load_measured(
            {
                "host": "127.0.0.1",
                "port": port,
                "scenario": "bare",
                "duration": args.duration,
                "connections": args.connections,
                "max_requests": args.max_requests,
            },
            process.pid,
        )
        result["worker_peak_rss_mb"] = worker_peak_rss_mb(process.pid)
    return result


# --- reporting ---------------------------------------------------------------------------


def _import_target(db: dict[str, Any]) -> dict[str, Any]:
    ratio = db["import"]["ratio_to_raw"]
    return {
        "target": f"{db['database']}: import >= 50% of raw-insert ceiling",
        "measured": f"{ratio:.1%} ({db['import']['customers_per_s']} vs {db['raw_insert']['customers_per_s']} customers/s)",
        "met": ratio >= 0.5,
    }


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    bare = results["reference"]["bare"]["rps"] if "bare" in results["reference"] else 1.0
    n = results["config"]["customers"]
    out = []
    for db in results["databases"]:
        kind = db["database"]
        if "error" in db:
            out.append({"target": f"{kind}: every target", "measured": db["error"], "met": False})
            continue
        if "scenarios" not in db:  # --only import
            out.append(_import_target(db))
            continue
        s = db["scenarios"]
        get = s["owner_get"]
        out.append(
            {
                "target": f"{kind}: signed GET customers/{{id}} >= 25% of bare app req/s, p99 < 10 ms (16 conn)",
                "measured": f"{get['rps'] / bare:.1%} of bare (by server CPU per request: {_cpu_ratio(results['reference']['bare'], get)}; {_cpu_bound(results['reference']['bare'], get)}), p99 {get['p99_ms']} ms",
                "met": get["rps"] / bare >= 0.25 and get["p99_ms"] < 10,
            }
        )
        post = s["owner_post"]
        out.append(
            {
                "target": f"{kind}: POST customers, unique emails, 16 conn: zero errors",
                "measured": f"{post['errors']} errors in {post['requests']}",
                "met": post["errors"] == 0,
            }
        )
        email = s["owner_email"]
        out.append(
            {
                "target": f"{kind}: GET customers?email= p99 < 10 ms at 1M customers",
                "measured": f"p99 {email['p99_ms']} ms at {n} customers",
                "met": email["p99_ms"] < 10 if n >= 1_000_000 else None,
            }
        )
        out.append(_import_target(db))
        changing = s.get("instance_status_changing")
        if changing is not None:
            churned = changing.get("seat_changes", {})
            out.append(
                {
                    "target": f"{kind}: a 260-seat instance's status adds up while its seats change",
                    "measured": f"{changing['inconsistent']} of {changing['requests']} answers did not add up, {changing['errors']} errors, while {churned.get('changes', 0)} seat holds and releases were made",
                    "met": changing["errors"] == 0 and churned.get("changes", 0) > 0,
                }
            )
        sale = db.get("onsale_rush")
        if sale is not None:
            if "error" in sale:
                out.append(
                    {"target": f"{kind}: on-sale rush", "measured": sale["error"], "met": False}
                )
            else:
                out.append(
                    {
                        "target": f"{kind}: on-sale rush ({sale['buyers']} buyers, 2-4 seats each): zero oversell, zero 5xx, status adds up at every sample",
                        "measured": f"{sale['orders']} orders ({sale['tickets_sold']} tickets), {sale['seats_sold_twice']} seats sold twice, sold count matches orders: {sale['sold_matches_orders']}, {sale['errors']} errors, {sale['samples_not_adding_up']} of {sale['samples']} samples did not add up",
                        "met": sale["seats_sold_twice"] == 0
                        and sale["errors"] == 0
                        and sale["samples_not_adding_up"] == 0
                        and sale["sold_matches_orders"],
                    }
                )
                out.append(
                    {
                        "target": f"{kind}: on-sale rush: >= 200 confirmed orders per second",
                        "measured": f"{sale['orders_per_s']} orders/s; p99 ms by step {sale['p99_ms']}",
                        "met": sale["orders_per_s"] >= 200,
                    }
                )
        control = s.get("owner_get_before_login_storm", s["owner_get"])
        base_p99, storm_p99 = control["p99_ms"], s["owner_get_during_login_storm"]["p99_ms"]
        out.append(
            {
                "target": f"{kind}: login storm raises other requests' p99 by at most 2x",
                "measured": f"owner GET p99 just before the storm {base_p99} -> {storm_p99} ms during it ({storm_p99 / max(base_p99, 1e-9):.1f}x)",
                "met": storm_p99 <= 2 * base_p99,
            }
        )
        peak = max(db["worker_peak_rss_mb"] or [0])
        out.append(
            {
                "target": f"{kind}: memory per worker < 200 MB at 1M customers",
                "measured": f"peak {peak} MB per worker at {n} customers",
                "met": peak < 200 if n >= 1_000_000 else (None if peak < 200 else False),
            }
        )
    return out


def _cpu(result: dict[str, Any]) -> str:
    value = result.get("server_cpu_ms_per_request")
    return "-" if value is None else f"{value}"


def _cpu_ratio(bare: dict[str, Any], result: dict[str, Any]) -> str:
    """The bare app's server CPU per request over this scenario's: the req/s ratio the two
    would have on otherwise idle cores, where the server's CPU is the limit."""
    mine, reference = result.get("server_cpu_ms_per_request"), bare.get("server_cpu_ms_per_request")
    if not mine or not reference:
        return "-"
    return f"{reference / mine:.1%}"


def _split(result: dict[str, Any]) -> str:
    split = result.get("worker_cpu_split")
    return " / ".join(map(str, split)) if split else "-"


def _cpu_bound(bare: dict[str, Any], result: dict[str, Any]) -> str:
    """The most this scenario's req/s could be against the bare app's on this machine: the
    rate at which its whole CPU budget per request (server, PostgreSQL server, load
    generator) takes every core, over the bare app's measured req/s."""
    if not result.get("cpu_bound_rps"):
        return "CPU-bound ceiling on these cores: -"
    return f"CPU-bound ceiling on these cores: {result['cpu_bound_rps'] / bare['rps']:.1%}"


def _budget(result: dict[str, Any]) -> str:
    """The database server's and the load generator's CPU per request, and the req/s at
    which the whole budget takes every core (``run_load_measured``)."""
    if result.get("cpu_bound_rps") is None:
        return "- | - | -"
    return (
        f"{result['database_cpu_ms_per_request']} | {result['client_cpu_ms_per_request']} | "
        f"{result['cpu_bound_rps']}"
    )


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"Run {results['started']} on {results['machine']['cpus']} CPUs ({results['machine']['platform']}), "
        f"{results['config']['customers']} customers, {results['config']['workers']} workers, "
        f"{results['config']['connections']} connections, {results['config']['duration']} s per scenario.",
    ]
    if "bare" in results["reference"]:
        bare = results["reference"]["bare"]
        lines += [
            "",
            "| database | scenario | req/s | p50 ms | p99 ms | errors | req/s vs bare app | server CPU ms/request | bare app's CPU per request vs this | CPU split between processes % | PostgreSQL server CPU ms/request | load generator CPU ms/request | req/s all cores allow at this CPU per request |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
            f"| - | bare ASGI app (reference) | {bare['rps']} | {bare['p50_ms']} | {bare['p99_ms']} | {bare['errors']} | 100% | {_cpu(bare)} | 100% | {_split(bare)} | {_budget(bare)} |",
        ]
        for db in results["databases"]:
            for name, s in db.get("scenarios", {}).items():
                lines.append(
                    f"| {db['database']} | {name} | {s['rps']} | {s['p50_ms']} | {s['p99_ms']} | {s['errors']} | {s['rps'] / (bare['rps'] or 1):.1%} | {_cpu(s)} | {_cpu_ratio(bare, s)} | {_split(s)} | {_budget(s)} |"
                )
    lines += [
        "",
        "| database | import customers/s | raw driver insert customers/s (ceiling) | ratio | peak RSS per worker MB | email lookup ms (plan) |",
        "|---|---:|---:|---:|---|---|",
    ]
    for db in results["databases"]:
        if "error" in db:
            continue
        lookup = db["email_lookup"]
        lines.append(
            f"| {db['database']} | {db['import']['customers_per_s']} | {db['raw_insert']['customers_per_s']} | {db['import']['ratio_to_raw']:.1%} | {', '.join(map(str, db.get('worker_peak_rss_mb', [])))} | {lookup['mean_ms']} ({'; '.join(lookup['plan'][:2]).strip()}) |"
        )
    rushes = [
        (db["database"], db["onsale_rush"]) for db in results["databases"] if "onsale_rush" in db
    ]
    if rushes:
        lines += [
            "",
            "| database | on-sale rush: buyers | orders | orders/s | tickets | seats sold twice | status samples (not adding up) | errors | refusals by errorCode | p99 ms by step |",
            "|---|---:|---:|---:|---:|---:|---|---:|---|---|",
        ]
        for kind, sale in rushes:
            if "error" in sale:
                lines.append(f"| {kind} | error | | | | | | | | |")
                continue
            lines.append(
                f"| {kind} | {sale['buyers']} | {sale['orders']} | {sale['orders_per_s']} | {sale['tickets_sold']} | {sale['seats_sold_twice']} | {sale['samples']} ({sale['samples_not_adding_up']}) | {sale['errors']} | {sale['refused']} | {sale['p99_ms']} |"
            )
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    for t in results["targets"]:
        met = {True: "yes", False: "**no**", None: "not measured at this size"}[t["met"]]
        lines.append(f"| {t['target']} | {t['measured']} | {met} |")
    return "\n".join(lines) + "\n"


def chart(results: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed (pip install -e '.[bench]'): no chart")
        return False
    if "bare" not in results["reference"]:
        return False  # --only import: nothing to chart
    labels, rps, p99 = (
        ["bare app"],
        [results["reference"]["bare"]["rps"]],
        [results["reference"]["bare"]["p99_ms"]],
    )
    for db in results["databases"]:
        for name, s in db.get("scenarios", {}).items():
            if name == "login_storm_logins":
                continue
            labels.append(f"{db['database'][:2]} {name}")
            rps.append(s["rps"])
            p99.append(s["p99_ms"])
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(12, 8), sharex=True)
    top.bar(labels, rps, color="#4c72b0")
    top.set_yscale("log")
    top.set_ylabel("requests/s (log)")
    top.set_title("boxoffice bench: throughput and p99 latency (loopback, same server and workers)")
    bottom.bar(labels, p99, color="#dd8452")
    bottom.axhline(10, color="grey", linestyle="--", linewidth=1)
    bottom.set_yscale("log")
    bottom.set_ylabel("p99 ms (log; dashed: 10 ms)")
    plt.setp(bottom.get_xticklabels(), rotation=45, ha="right")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per scenario")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--max-requests", type=int, default=2_000_000, help="per scenario")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--import-timeout",
        type=float,
        default=360.0,
        help="seconds the seeding import may take per database (bounds the run time)",
    )
    parser.add_argument(
        "--ceiling-customers",
        type=int,
        default=25_000,
        help="customers inserted by the raw driver for the ceiling rate (bounds the run time)",
    )
    parser.add_argument(
        "--only",
        choices=("import",),
        help="import: only the import, its raw-insert ceiling and the email lookup's plan "
        "(no server, no load)",
    )
    parser.add_argument("--smoke", action="store_true", help="200 customers, 0.5 s per scenario")
    parser.add_argument("--rush-buyers", type=int, default=500, help="buyers in the on-sale rush")
    parser.add_argument(
        "--rush-concurrency", type=int, default=500, help="buyers of the rush at once"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the work directory (the SQLite database, the generated rows) for a later look",
    )
    args = parser.parse_args()
    if args.smoke:
        args.customers, args.duration, args.max_requests = min(args.customers, 200), 0.5, 2000
    args.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="boxoffice-bench-"))
    secret = secrets.token_urlsafe(32)
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_at_start": os.getloadavg(),
        },
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "reference": {},
        "databases": [],
    }
    started = time.monotonic()
    try:
        data_file = workdir / "customers.csv"
        write_csv(data_file, args.customers)
        if args.only != "import":
            results["reference"]["bare"] = bench_bare(args, workdir)
        for kind in [d.strip() for d in args.databases.split(",") if d.strip()]:
            try:
                results["databases"].append(bench_database(kind, args, workdir, data_file, secret))
            except Exception as exc:  # record it and go on with the next database
                log(f"{kind}: failed: {exc!r}")
                results["databases"].append({"database": kind, "error": repr(exc)})
    finally:
        if args.keep:
            log(f"kept {workdir} (the SQLite database and the generated rows)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results["seconds"] = round(time.monotonic() - started, 1)
    results["machine"]["load_average_at_end"] = os.getloadavg()
    results["targets"] = targets(results)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "results.md").write_text(markdown(results))
    chart(results, args.out / "results.png")
    sys.stdout.write(markdown(results))
    log(f"done in {results['seconds']} s; results in {args.out}")


if __name__ == "__main__":
    main()
