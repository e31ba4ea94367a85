"""CPU time and SQL statements per request, in process: the application's own cost.

    python bench/per_request.py run --customers 2000 --requests 1000 [--postgres URL] [--scenario ...]
    python bench/per_request.py seed --url URL --customers 100000 [--raw]
    python bench/per_request.py measure --url URL [--requests 1000] [--scenario ...] [--profile FILE]

``seed`` sets up the tenant ``bench`` like ``bench/run.py`` (migrate, tenant, the demo
catalogue, an interface user, an API key, a System Owner API user) and adds N customers: with
``boxoffice import customers`` and the generated file of ``bench/run.py``, or with ``--raw``
straight into the ``customers`` table by the database driver (for 1M customers in minutes; no
addresses, tags...), then refreshes the statistics (``ANALYZE``; a raw seed on PostgreSQL
``VACUUM ANALYZE``, as autovacuum would). Every fifth raw customer is put in the catalogue's
brand. What ``measure`` needs (credentials, 1,000 customers' codes and
emails) is kept in ``URL``'s side file (``.per_request.json`` next to the SQLite file, or in the
temporary directory); ``owner`` adds a System Owner and the customers to the side file of a
database seeded without them. ``run`` does it all on a new database (a temporary SQLite file, or
a database of its own on the PostgreSQL server ``--postgres``), measures, and drops it.

``measure`` calls the ASGI application (``create_app``) directly, without an HTTP client or
server: every request's scope, headers and signature are built before the clock starts, so
the CPU time reported is the application's alone (HTTP parsing is in the benchmark's bare-app
reference). The write scenarios create one customer per request, each with a new email:
``owner_post`` (System Owner ``POST customers``), ``web_signup`` (web-mode ``POST customer``,
no password: Argon2 would dominate) and ``brand_post`` (brand/channel ``POST customer`` with
an email channel). Each scenario's request runs N times (``--concurrency`` at once, by
``asyncio.gather``), after ``--warmup`` unmeasured ones, and is reported per request: the
process's CPU time (``time.process_time``: the event loop and every thread, so SQLite's
waits moved to a thread too), the wall time, the statuses, and the SQL statements sent, counted on
every engine the application uses (``core.engine`` and, on PostgreSQL, ``core.read_engine``,
that of the read-only units of work), with how many wrote (each is a round trip to a
PostgreSQL server: tenant settings included) and, when the server runs on this
machine and ``/proc`` shows its processes, the CPU time of the database's backends
(``server_cpu_ms``: the server's share of the same cores). The machine may be shared: CPU time
is the robust figure.
``--profile FILE`` writes a pyinstrument report of the measured loop (HTML when FILE ends in
``.html``, text otherwise; one file per scenario, ``FILE`` with the scenario's name added,
when several are measured); the profiler's own cost is then in the CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

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
HOST = "bench.local"
BASE = f"http://{HOST}"
SCENARIOS = (
    "owner_get",
    "owner_email",
    "owner_post",
    "web_signup",
    "brand_post",
    "web_get",
    "carecloud_get",
    "brand_index",
    "brand_index_deep",
    "brand_index_brand",
    "brand_index_search",
    "events_expand",
    "instance_status",
    "bare_404",
)
DEFAULT = ("owner_get", "owner_email", "web_get", "carecloud_get", "brand_index")
EXPECTED = {"bare_404": 404, "web_signup": 201}  # the others answer 200
CARECLOUD = f"/{TENANT}/webservice/rest-api/customer-interface/v1.0"


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
            # As autovacuum leaves a bulk-loaded table: statistics, and the visibility map
            # that lets the brand/channel index skip to a page on the index alone (without,
            # every skipped entry is a heap fetch).
            await connection.execute("VACUUM ANALYZE")
        finally:
            await connection.close()

    asyncio.run(copy())


def owner(url: str) -> None:
    """A System Owner API user, and 1,000 customers' codes and emails, in the side file."""
    from boxoffice.domain.ids import customer_code

    spec = json.loads(side_file(url).read_text())
    env = environment(url, SECRET)
    name = f"per-request-{uuid.uuid4().hex[:6]}"
    user = json.loads(cli(env, "api-user", "create", TENANT, name, "--json"))
    (tenant_id,) = query(url, "SELECT id FROM tenants WHERE name = $1", TENANT)[0]
    rows = query(
        url,
        "SELECT id, email FROM customers WHERE tenant_id = $1 AND state = 'active' "
        "ORDER BY id LIMIT 1000",
        tenant_id,
    )
    spec.update(
        login=user["login"],
        secret=user["secret_key"],
        customer_codes=[customer_code(int(i)) for i, _ in rows],
        emails=[email for _, email in rows if email],
    )
    side_file(url).write_text(json.dumps(spec))


def seed(url: str, customers: int, raw: bool) -> None:
    env = environment(url, SECRET)
    workdir = Path(tempfile.mkdtemp(prefix="per-request-"))
    try:
        cli(env, "migrate")
        cli(env, "tenant", "create", TENANT, "--origin", ORIGIN)
        cli(env, "catalog", "load", TENANT, str(bench_catalogue(workdir)))
        created = json.loads(cli(env, "interface-user", "create", TENANT, "bench", "--json"))
        key = json.loads(
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
        (tenant_id,) = query(url, "SELECT id FROM tenants WHERE name = $1", TENANT)[0]
        (brand_id,) = query(url, "SELECT id FROM brands WHERE tenant_id = $1", tenant_id)[0]
        started = time.perf_counter()
        if raw:
            _raw_customers(url, tenant_id, customers, brand_id)
        else:
            data = workdir / "customers.csv"
            write_csv(data, customers)
            cli(env, "import", "customers", TENANT, str(data), "--json", "--quiet")
            # Fresh statistics, as autovacuum would leave them: without, PostgreSQL pages the
            # brand/channel index by a nested loop (130 ms at 2,000 customers, 0.2 after).
            query(url, "ANALYZE")
        print(f"seeded {customers} customers in {time.perf_counter() - started:.0f} s", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    side_file(url).write_text(json.dumps({"api_key": key, "interface_user": created["user_name"]}))
    owner(url)


# --- calling the application ---------------------------------------------------------------


@dataclass
class Answer:
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def json(self) -> Any:
        return orjson.loads(self.body)

    def cookies(self) -> dict[str, str]:
        pairs = (v.decode().split(";", 1)[0] for k, v in self.headers if k == b"set-cookie")
        return dict(pair.split("=", 1) for pair in pairs)


@dataclass(frozen=True)
class Request:
    """One request, ready to be sent: its ASGI scope is built by :meth:`scope`."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes = b""

    def scope(self) -> dict[str, Any]:
        path, _, query_string = self.target.partition("?")
        headers = [(k.lower().encode(), v.encode()) for k, v in self.headers.items()]
        if self.body:
            headers.append((b"content-length", str(len(self.body)).encode()))
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": self.method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query_string.encode(),
            "root_path": "",
            "headers": [*headers, (b"host", HOST.encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
            "state": {},
        }


async def call(app: Any, scope: dict[str, Any], body: bytes) -> Answer:
    """The application's answer to one request, as a server would call it (no HTTP)."""
    sent = False
    answer = Answer()

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:  # nothing more: the client stays connected
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = message.get("headers", [])
        elif message["type"] == "http.response.body":
            answer.chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return answer


async def send(app: Any, request: Request) -> Answer:
    answer = await call(app, request.scope(), request.body)
    if not 200 <= answer.status < 300:
        raise SystemExit(
            f"{request.method} {request.target}: {answer.status} {answer.body[:300]!r}"
        )
    return answer


def _json(method: str, target: str, data: Any, headers: dict[str, str]) -> Request:
    return Request(
        method, target, {**headers, "Content-Type": "application/json"}, orjson.dumps(data)
    )


async def _login(app: Any, user: str) -> dict[str, Any]:
    """A web session and a CareCloud token with the same (new) customer logged in."""
    email = f"per-request-{random.randrange(10**9)}@example.org"
    origin = {"Origin": ORIGIN}
    person = {"firstName": "Web", "lastName": "User", "email": email, "password": PASSWORD}
    answer = await send(app, _json("POST", f"/{TENANT}/api/v3/customer", person, origin))
    cookies = answer.cookies()
    credentials = {"email": email, "password": PASSWORD}
    with_cookies = {**origin, "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    answer = await send(
        app, _json("POST", f"/{TENANT}/api/v3/customer/authenticate", credentials, with_cookies)
    )
    cookies.update(answer.cookies())
    basic = base64.b64encode(f"{user}:".encode()).decode()
    device = {
        "device_id": "bench",
        "device_system": "Linux",
        "device_name": "b",
        "device_type": "b",
    }
    setup = {
        "device": device,
        "setup": {"language_id": "en", "allowed_gps": False, "allowed_notifications": False},
        "external_application_id": "bench",
    }
    answer = await send(
        app, _json("POST", f"{CARECLOUD}/tokens", setup, {"Authorization": f"Basic {basic}"})
    )
    token = answer.json()["data"]["token_id"]
    bearer = {"Authorization": f"Bearer {token}"}
    login = {"login_type": "email", "login_value": email, "password": PASSWORD}
    await send(app, _json("POST", f"{CARECLOUD}/tokens/{token}/actions/login", login, bearer))
    answer = await send(app, Request("GET", f"{CARECLOUD}/customers", bearer))
    customer = answer.json()["data"]["customers"][0]["customer_id"]
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return {"cookie": cookie, "token": token, "carecloud_customer": customer}


async def _hamlet_instance(app: Any) -> str:
    """The first instance of the demo box office's Hamlet (its 260-seat Main House)."""
    answer = await send(app, Request("GET", f"/{TENANT}/api/v3/instances?eventName=Hamlet", {}))
    instances = answer.json()
    if not instances:
        raise SystemExit("the tenant has no Hamlet instance (the demo box office)")
    return str(instances[0]["id"])


def _signed(spec: dict[str, Any], method: str, target: str, body: bytes | None) -> Request:
    from boxoffice.security import signatures

    date = formatdate(usegmt=True)
    signature = signatures.sign(spec["secret"], method, BASE + target, date, body)
    headers = {
        "Date": date,
        "Authorization": signatures.authorization_header(spec["login"], signature),
    }
    if body is None:
        return Request(method, target, headers)
    return Request(method, target, {**headers, "Content-Type": "application/json"}, body)


def _request(name: str, spec: dict[str, Any], rng: random.Random) -> Request:
    if name == "owner_get":
        target = f"/{TENANT}/api/v3/customers/{rng.choice(spec['customer_codes'])}"
        return _signed(spec, "GET", target, None)
    if name == "owner_email":
        email = quote(rng.choice(spec["emails"]), safe="@")
        return _signed(spec, "GET", f"/{TENANT}/api/v3/customers?email={email}", None)
    if name == "owner_post":
        email = f"post-{uuid.uuid4().hex}@example.org"
        body = orjson.dumps({"firstName": "Post", "lastName": "Bench", "email": email})
        return _signed(spec, "POST", f"/{TENANT}/api/v3/customers", body)
    if name == "web_signup":
        email = f"signup-{uuid.uuid4().hex}@example.org"
        body = orjson.dumps({"firstName": "Web", "lastName": "Signup", "email": email})
        return Request(
            "POST",
            f"/{TENANT}/api/v3/customer",
            {"Origin": ORIGIN, "Content-Type": "application/json"},
            body,
        )
    if name == "brand_post":
        email = f"brand-{uuid.uuid4().hex}@example.org"
        data = {"firstname": "Brand", "lastname": "Bench", "extra_email": email}
        return _json("POST", "/api/v2/customer", data, {"apiKey": spec["api_key"]})
    if name == "web_get":
        return Request(
            "GET", f"/{TENANT}/api/v3/customer", {"Origin": ORIGIN, "Cookie": spec["cookie"]}
        )
    if name == "carecloud_get":
        target = f"{CARECLOUD}/customers/{spec['carecloud_customer']}"
        return Request("GET", target, {"Authorization": f"Bearer {spec['token']}"})
    if name == "brand_index":
        start = rng.randrange(100)
        target = f"/api/v2/customer?itemStart={start}&itemLimit=15"
        return Request("GET", target, {"apiKey": spec["api_key"]})
    if name == "brand_index_deep":
        start = rng.randrange(spec["customers"] // 2, spec["customers"])
        target = f"/api/v2/customer?itemStart={start}&itemLimit=15"
        return Request("GET", target, {"apiKey": spec["api_key"]})
    if name == "brand_index_brand":
        # One brand's customers (every fifth of a raw seed), at any depth of that brand's list.
        start = rng.randrange(max(spec["brand_customers"], 1))
        target = f"/api/v2/customer?brand_id={spec['brand_id']}&itemStart={start}&itemLimit=15"
        return Request("GET", target, {"apiKey": spec["api_key"]})
    if name == "brand_index_search":
        # A search matching one customer in ~1,000 (a raw seed's last names are Last0..Last996).
        target = f"/api/v2/customer?search=Last{rng.randrange(100, 997)}&itemStart=0&itemLimit=15"
        return Request("GET", target, {"apiKey": spec["api_key"]})
    if name == "events_expand":  # a venue website's programme page (web mode)
        return Request("GET", f"/{TENANT}/api/v3/events?$expand=instances", {"Origin": ORIGIN})
    if name == "instance_status":  # a 260-seat instance's counts (web mode)
        target = f"/{TENANT}/api/v3/instances/{spec['instance_id']}/status"
        return Request("GET", target, {"Origin": ORIGIN})
    if name == "bare_404":
        return Request("GET", "/nothing-here", {})
    raise SystemExit(f"unknown scenario {name}")


# --- measure -------------------------------------------------------------------------------


class Statements:
    """Counts the statements sent by the engines it listens to (and those that write)."""

    def __init__(self) -> None:
        self.total = 0
        self.writes = 0
        self.kinds: Counter[str] = Counter()
        self.engines: Counter[str] = Counter()

    def listen(self, engine: Any, name: str) -> None:
        from sqlalchemy import event

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            self.total += 1
            self.engines[name] += 1
            word = statement.lstrip().split(None, 1)[0].upper()
            self.kinds[word] += 1
            if word in ("INSERT", "UPDATE", "DELETE"):
                self.writes += 1

        event.listen(engine, "before_cursor_execute", count)

    def clear(self) -> None:
        self.total = self.writes = 0
        self.kinds.clear()
        self.engines.clear()


async def _backends(url: str) -> list[int]:
    """The server processes of the database's other connections (PostgreSQL; the bench's own)."""
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
        return [row["pid"] for row in rows]
    finally:
        await connection.close()


def _cpu_seconds(pids: list[int]) -> dict[int, float] | None:
    """CPU time (user + system) of each process so far; None when ``/proc`` cannot tell (a
    server on another machine or in a container of its own)."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        fields = stat[stat.rindex(")") + 2 :].split()
        found[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return found


async def _server_cpu(url: str) -> dict[int, float] | None:
    if url.startswith("sqlite"):
        return None
    return _cpu_seconds(await _backends(url))


def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    spec = json.loads(side_file(url).read_text())
    (tenant_id,) = query(url, "SELECT id FROM tenants WHERE name = $1", TENANT)[0]
    spec["customers"] = query(
        url, "SELECT count(*) FROM customers WHERE tenant_id = $1", tenant_id
    )[0][0]
    brands = query(
        url,
        "SELECT brand_id, count(*) FROM customers WHERE tenant_id = $1 AND brand_id IS NOT NULL "
        "GROUP BY brand_id ORDER BY count(*) DESC LIMIT 1",
        tenant_id,
    )
    if not brands:  # an imported seed puts nobody in a brand: its first brand's (empty) index
        brands = [(query(url, "SELECT id FROM brands WHERE tenant_id = $1", tenant_id)[0][0], 0)]
    spec["brand_id"], spec["brand_customers"] = brands[0]
    if any(name.startswith("owner") for name in args.scenario) and "login" not in spec:
        raise SystemExit(f"no System Owner in {side_file(url)}: run `owner --url {url}` first")
    return asyncio.run(_measure(url, args, spec))


Prepared = list[tuple[dict[str, Any], bytes]]


def _prepare(name: str, spec: dict[str, Any], rng: random.Random, n: int) -> Prepared:
    """N requests of a scenario as ASGI scopes and bodies (signed: valid for 15 minutes)."""
    requests = [_request(name, spec, rng) for _ in range(n)]
    return [(r.scope(), r.body) for r in requests]


async def _drive(app: Any, name: str, queue: Prepared, statuses: Counter[int]) -> None:
    """Sends the queue's requests one after the other; stops at an unexpected status."""
    expected = EXPECTED.get(name, 200)
    while queue:
        scope, body = queue.pop()
        answer = await call(app, scope, body)
        statuses[answer.status] += 1
        if answer.status != expected:
            raise SystemExit(f"{name}: {answer.status} {answer.body[:300]!r}")


def _profile_path(path: str, name: str, several: bool) -> Path:
    chosen = Path(path)
    return chosen.with_name(f"{chosen.stem}-{name}{chosen.suffix}") if several else chosen


async def _measure(url: str, args: argparse.Namespace, spec: dict[str, Any]) -> dict[str, Any]:
    from boxoffice.api.app import create_app
    from boxoffice.bootstrap import build_core
    from boxoffice.settings import Settings

    var_dir = Path(tempfile.mkdtemp(prefix="per-request-var-"))
    settings = Settings(
        database_url=url,
        secret_key=SECRET,
        log_level="WARNING",
        var_dir=var_dir,
        allowed_hosts=[HOST],  # the host its requests are addressed to
    )
    app = create_app(settings)
    core = build_core(settings)
    app.state.core = core
    counter = Statements()
    counter.listen(core.engine.sync_engine, "core")
    if core.read_engine is not None and core.read_engine is not core.engine:
        counter.listen(core.read_engine.sync_engine, "read")
    rng = random.Random(5)
    results: dict[str, Any] = {"database": url.split(":", 1)[0], "customers": spec["customers"]}
    try:
        if {"web_get", "carecloud_get"} & set(args.scenario):
            spec.update(await _login(app, spec["interface_user"]))
        if "instance_status" in args.scenario:
            spec["instance_id"] = await _hamlet_instance(app)
        for name in args.scenario:
            if args.warmup:
                await _drive(app, name, _prepare(name, spec, rng, args.warmup), Counter())
            queue = _prepare(name, spec, rng, args.requests)  # built before the clock starts
            statuses: Counter[int] = Counter()
            profiler: Any = None
            if args.profile:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0005, async_mode="disabled")
                profiler.start()
            counter.clear()
            server_before = await _server_cpu(url)
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(
                *(_drive(app, name, queue, statuses) for _ in range(args.concurrency))
            )
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            server_after = await _server_cpu(url)
            n = args.requests
            results[name] = {
                "requests": n,
                "concurrency": args.concurrency,
                "statuses": dict(statuses),
                "cpu_ms": round(cpu * 1000 / n, 3),
                "wall_ms": round(wall * 1000 / n, 3),
                "statements": round(counter.total / n, 2),
                "writes": round(counter.writes / n, 2),
                "by_engine": {k: round(v / n, 2) for k, v in sorted(counter.engines.items())},
                "kinds": {k: round(v / n, 2) for k, v in sorted(counter.kinds.items())},
            }
            if server_before is not None and server_after is not None:
                used = sum(t - server_before.get(pid, 0.0) for pid, t in server_after.items())
                results[name]["server_cpu_ms"] = round(used * 1000 / n, 3)
            if profiler is not None:
                profiler.stop()
                path = _profile_path(args.profile, name, len(args.scenario) > 1)
                report = (
                    profiler.output_html()
                    if path.suffix == ".html"
                    else profiler.output_text(
                        color=False, unicode=False, show_all=bool(os.environ.get("PROFILE_ALL"))
                    )
                )
                path.write_text(report, encoding="utf-8")
                results[name]["profile"] = str(path)  # the profiler's cost is in cpu_ms
            print(json.dumps({name: results[name]}), flush=True)
    finally:
        await core.dispose()
        shutil.rmtree(var_dir, ignore_errors=True)
    return results


# --- run: all of it on a new database ------------------------------------------------------


async def _pg_admin(server: str, sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(server)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="per-request-run-"))
    url, drop = f"sqlite:///{workdir / 'per-request.db'}", ""
    if args.postgres:
        drop = f"per_request_{uuid.uuid4().hex[:8]}"
        asyncio.run(_pg_admin(args.postgres, f'CREATE DATABASE "{drop}"'))
        url = args.postgres.rsplit("/", 1)[0] + "/" + drop
    try:
        seed(url, args.customers, args.raw)
        measure(url, args)
    finally:
        side_file(url).unlink(missing_ok=True)
        if drop:
            asyncio.run(_pg_admin(args.postgres, f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'))
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("seed", help="set up the tenant and N customers on URL")
    p.add_argument("--url", required=True)
    p.add_argument("--customers", type=int, default=100_000)
    p.add_argument("--raw", action="store_true", help="customers table only, by the driver")
    p = sub.add_parser("owner", help="add a System Owner to a database seeded without one")
    p.add_argument("--url", required=True)
    p_measure = sub.add_parser("measure", help="measure the scenarios on a seeded URL")
    p_measure.add_argument("--url", required=True)
    p_run = sub.add_parser("run", help="seed a new database, measure, drop it")
    p_run.add_argument("--postgres", help="a PostgreSQL server URL; default a SQLite file")
    p_run.add_argument("--customers", type=int, default=2000)
    p_run.add_argument("--raw", action="store_true", help="customers table only, by the driver")
    for p in (p_measure, p_run):
        p.add_argument("--requests", type=int, default=1000)
        p.add_argument("--warmup", type=int, default=50, help="unmeasured requests first")
        p.add_argument("--concurrency", type=int, default=1, help="requests in flight at once")
        p.add_argument("--scenario", nargs="+", default=list(DEFAULT), choices=(*SCENARIOS, "all"))
        p.add_argument("--profile", help="pyinstrument report of the loop (.html: HTML)")
    args = parser.parse_args()
    if "all" in getattr(args, "scenario", ()):
        args.scenario = list(SCENARIOS)
    if args.command == "seed":
        seed(args.url, args.customers, args.raw)
    elif args.command == "owner":
        owner(args.url)
    elif args.command == "measure":
        measure(args.url, args)
    else:
        run(args)


if __name__ == "__main__":
    main()
