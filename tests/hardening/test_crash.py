"""Crash safety: the real server is killed (SIGKILL, no shutdown at all) in the middle of a
stream of writes, then started again on the same database. Every write it acknowledged is
there, and the database passes an integrity check.

Writers run in threads, each creating customers and then updating and tagging them; a write
counts once its 200 has been read. The server is killed as soon as ``ACKNOWLEDGED`` writes
have been counted (polled, never slept for), while the writers keep sending. Each test has a
database of its own (a new SQLite file, a new PostgreSQL database), made with the real CLI.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import _admin, _new_postgres_database
from tests.e2e.conftest import (
    HTTP_TIMEOUT,
    LiveServer,
    LiveTenant,
    build_signed,
    clean_env,
    make_live_tenant,
    run_cli,
    run_server,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("crash")]

WRITERS = 4
ACKNOWLEDGED = 60
KILL_DEADLINE = 120.0


@pytest.fixture
def crash_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database of the test's own, on the backend of ``database_url``."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'crash.db'}"
        return
    name, url = _new_postgres_database()
    try:
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Ledger:
    """What the server acknowledged: customers created, the last name update of each, tags."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    created: dict[str, str] = field(default_factory=dict)  # email -> id
    updated: dict[str, int] = field(default_factory=dict)  # id -> highest acknowledged round
    tagged: set[str] = field(default_factory=set)  # ids
    count: int = 0

    def ack(self) -> None:
        with self.lock:
            self.count += 1


def _writer(tenant: LiveTenant, tag_id: str, ledger: Ledger, stop: threading.Event) -> None:
    with httpx.Client(timeout=HTTP_TIMEOUT, trust_env=False) as client:

        def send(method: str, path: str, payload: object = None) -> httpx.Response | None:
            try:
                return client.send(build_signed(client, tenant, method, path, payload))
            except httpx.TransportError:
                return None  # the server is gone: this write was never acknowledged

        while not stop.is_set():
            email = f"crash-{uuid.uuid4().hex[:12]}@example.org"
            body = {"firstName": "Crash", "lastName": "Round0", "email": email}
            created = send("POST", "customers", body)
            if created is None or created.status_code != 200:
                continue
            customer_id = created.json()["id"]
            with ledger.lock:
                ledger.created[email] = customer_id
            ledger.ack()
            for round_ in (1, 2):
                patched = send("PATCH", f"customers/{customer_id}", {"lastName": f"Round{round_}"})
                if patched is None or patched.status_code != 200:
                    break
                with ledger.lock:
                    ledger.updated[customer_id] = round_
                ledger.ack()
            tagged = send("POST", f"customers/{customer_id}/tags", {"id": tag_id})
            if tagged is not None and tagged.status_code == 200:
                with ledger.lock:
                    ledger.tagged.add(customer_id)
                ledger.ack()


def _sqlite_integrity(url: str) -> None:
    path = make_url(url).database
    assert path
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        connection.close()


ORPHANS = """
SELECT c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text,
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
       ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
FROM pg_constraint c
WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
"""


async def _postgres_integrity(url: str) -> list[str]:
    """Every foreign key re-checked row by row, and every btree index checked with amcheck
    (when the extension is available). Returns what could not be checked."""
    import asyncpg

    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        database=parsed.database,
    )
    skipped: list[str] = []
    try:
        constraints = await connection.fetch(ORPHANS)
        assert constraints, "no foreign keys found"
        for name, child, parent, child_cols, parent_cols in constraints:
            not_null = " AND ".join(f'c."{col}" IS NOT NULL' for col in child_cols)
            joined = " AND ".join(
                f'p."{pc}" = c."{cc}"' for cc, pc in zip(child_cols, parent_cols, strict=True)
            )
            orphans = await connection.fetchval(
                f"SELECT count(*) FROM {child} c WHERE {not_null} "
                f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {joined})"
            )
            assert orphans == 0, f"{orphans} orphan rows break {name} ({child} -> {parent})"
        available = await connection.fetchval(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'amcheck'"
        )
        if not available:
            skipped.append("amcheck is not installed on this server")
            return skipped
        await connection.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        checked = await connection.fetchval(
            "SELECT count(bt_index_check(c.oid::regclass, true)) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
            "WHERE am.amname = 'btree' AND c.relnamespace = 'public'::regnamespace"
        )
        assert checked > 0
    finally:
        await connection.close()
    return skipped


def test_acknowledged_writes_survive_a_sigkill(crash_database: str, tmp_path: Path) -> None:
    env = clean_env(crash_database)
    run_cli(env, tmp_path, "migrate")
    ledger = Ledger()
    stop = threading.Event()
    with run_server(env, tmp_path) as server:
        tenant = make_live_tenant(server)
        with httpx.Client(timeout=HTTP_TIMEOUT, trust_env=False) as client:
            groups = client.send(build_signed(client, tenant, "GET", "tag-groups")).json()
        tag_id = groups[0]["tags"][0]["id"]
        writers = [
            threading.Thread(target=_writer, args=(tenant, tag_id, ledger, stop), daemon=True)
            for _ in range(WRITERS)
        ]
        for thread in writers:
            thread.start()
        deadline = time.monotonic() + KILL_DEADLINE
        while ledger.count < ACKNOWLEDGED:
            assert time.monotonic() < deadline, f"only {ledger.count} writes acknowledged"
            assert server.process.poll() is None, server.log()
            time.sleep(0.005)  # polling interval, not a wait for behaviour
        server.process.send_signal(signal.SIGKILL)  # writes are in flight right now
        server.process.wait(timeout=10)
        stop.set()
        for thread in writers:
            thread.join(timeout=HTTP_TIMEOUT + 5)
            assert not thread.is_alive()
    assert server.process.returncode == -signal.SIGKILL

    if crash_database.startswith("sqlite"):
        _sqlite_integrity(crash_database)
    else:
        skipped = asyncio.run(_postgres_integrity(crash_database))
        for reason in skipped:
            print(f"integrity check: {reason}")

    with run_server(env, tmp_path) as again:
        _check_ledger(again, tenant, ledger)
        assert ledger.count >= ACKNOWLEDGED


def _check_ledger(server: LiveServer, tenant: LiveTenant, ledger: Ledger) -> None:
    tenant = LiveTenant(server.base_url, tenant.name, tenant.login, tenant.secret)
    missing: list[str] = []
    with httpx.Client(timeout=HTTP_TIMEOUT, trust_env=False) as client:
        for email, customer_id in ledger.created.items():
            found = client.send(
                build_signed(client, tenant, "GET", f"customers/{customer_id}?$expand=tags")
            )
            if found.status_code != 200:
                missing.append(f"customer {customer_id} ({found.status_code})")
                continue
            body = found.json()
            assert body["email"] == email
            acknowledged = ledger.updated.get(customer_id, 0)
            stored = int(body["lastName"].removeprefix("Round"))
            if stored < acknowledged:
                missing.append(f"update of {customer_id}: Round{stored} < Round{acknowledged}")
            if customer_id in ledger.tagged and not body["tags"]:
                missing.append(f"tag of {customer_id}")
    assert not missing, missing
