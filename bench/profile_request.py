"""CPU cost of one request, in process, without HTTP: the application's own share.

Builds a tenant (demo catalogue, an API user, a few customers) on a fresh SQLite file or
PostgreSQL database, then calls the ASGI application directly, one request at a time, and
reports the process CPU time per request (all threads, so aiosqlite's thread counts too) and
the database statements per request. ``--profile`` writes a pyinstrument report of the loop.

    .venv/bin/python bench/profile_request.py owner_get --requests 2000
    .venv/bin/python bench/profile_request.py owner_get --database postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/profile_request.py owner_email --profile /tmp/owner_email.html

This measures the application, not the server: uvicorn's HTTP parsing is in the benchmark's
bare-app reference. CPU time is robust on a shared machine; wall time is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable
from email.utils import formatdate
from pathlib import Path
from typing import Any

import orjson
import yaml
from sqlalchemy import event

from boxoffice.api.app import create_app
from boxoffice.bootstrap import build_core
from boxoffice.domain.principal import Principal
from boxoffice.security import signatures
from boxoffice.services import catalogue as catalogue_service
from boxoffice.services import customers as customer_service
from boxoffice.services import tenants as tenant_service
from boxoffice.settings import Settings
from boxoffice.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "src" / "boxoffice" / "catalogs" / "demo.yaml"
HOST = "bench.local"
SCENARIOS = ("owner_get", "owner_email", "owner_post", "bare_404")


class Statements:
    """Counts the statements the engine sends."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: Any) -> None:
        self.count += 1


async def call(app: Any, method: str, target: str, headers: dict[str, str], body: bytes) -> int:
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"host", HOST.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def main(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="boxoffice-profile-"))
    url = args.database or f"sqlite:///{workdir / 'boxoffice.db'}"
    drop: str | None = None
    if url.startswith("postgresql"):
        from run import pg_admin  # bench/run.py, beside this file

        drop = f"boxoffice_profile_{uuid.uuid4().hex[:8]}"
        await pg_admin(f'CREATE DATABASE "{drop}"')
        url = url.rsplit("/", 1)[0] + "/" + drop
    try:
        await asyncio.to_thread(upgrade, url)
        settings = Settings(database_url=url, secret_key="x" * 43, var_dir=workdir / "var")
        app = create_app(settings)
        core = build_core(settings)
        app.state.core = core
        await tenant_service.create_tenant(core, "bench")
        catalogue = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
        await catalogue_service.load_catalogue(core, "bench", catalogue)
        secret = await tenant_service.create_api_user(core, "bench", "bench")
        tenant = await tenant_service.get_tenant(core, "bench")
        owner = Principal(tenant_id=tenant.id, actor="bench", full_access=True)
        from boxoffice.domain.commands import NewCustomer
        from boxoffice.domain.ids import customer_code

        ids: list[str] = []
        emails: list[str] = []
        for n in range(args.customers):
            email = f"c{n}@example.org"
            view = await customer_service.create_customer(
                core, owner, NewCustomer(first_name="Ada", last_name=f"L{n}", email=email)
            )
            ids.append(customer_code(view.id))
            emails.append(email)

        def signed(method: str, target: str, body: bytes | None) -> dict[str, str]:
            date = formatdate(usegmt=True)
            sig = signatures.sign(secret, method, f"http://{HOST}{target}", date, body)
            headers = {"Date": date, "Authorization": signatures.authorization_header("bench", sig)}
            if body is not None:
                headers["Content-Type"] = "application/json"
            return headers

        counter = iter(range(10**9))

        def request() -> Awaitable[int]:
            if args.scenario == "owner_get":
                target = f"/bench/api/v3/customers/{random.choice(ids)}"
                return call(app, "GET", target, signed("GET", target, None), b"")
            if args.scenario == "owner_email":
                target = f"/bench/api/v3/customers?email={random.choice(emails)}"
                return call(app, "GET", target, signed("GET", target, None), b"")
            if args.scenario == "owner_post":
                target = "/bench/api/v3/customers"
                body = orjson.dumps(
                    {"firstName": "B", "lastName": "C", "email": f"p{next(counter)}@x.org"}
                )
                return call(app, "POST", target, signed("POST", target, body), body)
            return call(app, "GET", "/nothing-here", {}, b"")

        for _ in range(min(200, args.requests)):  # warm caches and pools
            await request()
        statements = Statements()
        event.listen(core.engine.sync_engine, "before_cursor_execute", statements)
        profiler: Any = None
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005, async_mode="disabled")
            profiler.start()
        statuses: dict[int, int] = {}
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.requests):
            status = await request()
            statuses[status] = statuses.get(status, 0) + 1
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if profiler is not None:
            profiler.stop()
            report = (
                profiler.output_html()
                if args.profile.endswith(".html")
                else profiler.output_text(color=False, unicode=False)
            )
            await asyncio.to_thread(Path(args.profile).write_text, report, encoding="utf-8")
        backend = url.split(":", 1)[0]
        print(
            f"{args.scenario} on {backend}: {args.requests} requests, statuses {statuses}, "
            f"{cpu / args.requests * 1000:.3f} ms CPU and {wall / args.requests * 1000:.3f} ms "
            f"wall per request, {statements.count / args.requests:.2f} statements per request"
        )
        await core.dispose()
    finally:
        if drop:
            from run import pg_admin

            await pg_admin(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", choices=SCENARIOS)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--database", help="a PostgreSQL server URL; default a SQLite file")
    parser.add_argument(
        "--profile", help="write a pyinstrument report here (HTML when it ends in .html)"
    )
    asyncio.run(main(parser.parse_args()))
