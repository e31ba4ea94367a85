"""The operator's CLI contract (SPEC "The operator's interface"), on SQLite and PostgreSQL.

Commands run in-process through Typer's ``CliRunner`` with the environment an operator would set
(``BOXOFFICE_DATABASE_URL``, ``BOXOFFICE_SECRET_KEY``, working directory); a few run the
installed console script in a real subprocess. Spektrix reads go through the real application
over an in-process transport.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import Result
from sqlalchemy import text
from typer.testing import CliRunner

from boxoffice.api.app import create_app
from boxoffice.bootstrap import build_core
from boxoffice.cli.main import app
from boxoffice.settings import Settings
from boxoffice.store.db import create_engine
from tests.conftest import BASE_URL, DEMO_CATALOGUE, SECRET, TEST_HOST, Signer

CLI_TIMEOUT = 60.0
Invoke = Callable[..., Result]


def _scrub_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("BOXOFFICE_") and not key.startswith(("BOXOFFICE_TEST", "BOXOFFICE_REQ")):
            monkeypatch.delenv(key)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)


@pytest.fixture
def cli_env(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    _scrub_env(monkeypatch)
    monkeypatch.setenv("BOXOFFICE_DATABASE_URL", database_url)
    monkeypatch.setenv("BOXOFFICE_SECRET_KEY", SECRET)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    yield dict(os.environ)


@pytest.fixture
def cli(cli_env: dict[str, str]) -> Invoke:
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    return result


def refused(result: Result, *fragments: str) -> Result:
    """Exit code 1 with a clear one-line message on stderr and no traceback."""
    assert result.exit_code == 1, f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    assert "error:" in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.output
    return result


def unique(prefix: str = "cli") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_tenant(cli: Invoke) -> str:
    name = unique()
    ok(cli("tenant", "create", name, "--origin", "http://localhost:8080"))
    ok(cli("catalog", "load", name, str(DEMO_CATALOGUE)))
    return name


def dump(cli: Invoke, tenant: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ok(cli("catalog", "dump", tenant)).stdout)
    return data


# --- demo -----------------------------------------------------------------------------------


def test_demo_no_serve_is_idempotent(cli: Invoke) -> None:
    first = ok(cli("demo", "--no-serve"))
    assert "demo" in first.stderr
    before = dump(cli, "demo")
    ok(cli("demo", "--no-serve"))
    after = dump(cli, "demo")
    assert after == before
    groups = {g["name"]: g for g in after["tag_groups"]}
    assert groups["Interests"]["tags"] == ["Drama", "Music", "Family"]
    assert groups["Sign-up Source"]["tags"] == ["Website Form", "Ticket Ballot"]
    assert groups["Internal"]["tags"] == ["VIP", "Press"]
    assert groups["Internal"]["web_visible"] is False
    assert [s["text"] for s in after["statements"]] == [
        "Email updates from Demo Theatre",
        "Post from Demo Theatre",
        "Offers from our partners",
    ]
    assert [m["name"] for m in after["memberships"]] == ["Friends", "Patrons"]
    assert "http://localhost:8080" in after["origins"]


def test_demo_loads_the_box_office_of_the_spec(cli: Invoke) -> None:
    ok(cli("demo", "--no-serve"))
    data = dump(cli, "demo")
    assert data["time_zone"] == "Europe/London"
    assert data["settings"]["basket_hold_minutes"] == 15
    venue = data["venues"][0]
    assert venue["name"] == "Demo Theatre"
    main, studio = venue["plans"]
    assert (main["name"], [a["name"] for a in main["areas"]]) == (
        "Main House",
        ["Stalls", "Circle"],
    )
    assert main["areas"][1]["seats"] == [{"rows": "K-M", "seats": "1-20", "band": "C"}]
    assert studio["areas"] == [
        {"name": "Studio", "kind": "unreserved", "capacity": 60, "band": "A"}
    ]
    assert [t["name"] for t in data["ticket_types"]] == ["Adult", "Concession", "Under 18"]
    events = {e["name"]: e for e in data["events"]}
    assert [len(events[n]["instances"]) for n in ("Hamlet", "The Little Prince", "Jazz Night")] == [
        3,
        2,
        1,
    ]
    assert events["Winter Gala"]["on_sale"] is False
    prices = {p["name"]: p["bands"] for p in data["price_lists"]}
    assert prices["Hamlet"]["C"] == {"Adult": 18, "Concession": 15, "Under 18": 8}
    assert prices["Studio"] == {"A": {"Adult": 15, "Concession": 12, "Under 18": 8}}
    assert [(f["name"]) for f in data["funds"]] == ["Annual Fund", "Education Programme"]
    assert [(s["name"], s["price"], s["stock_level"]) for s in data["stock_items"]] == [
        ("Programme", 5, 500),
        ("Tote Bag", 12, 50),
    ]
    memberships = {m["name"]: m["price"] for m in data["memberships"]}
    assert memberships == {"Friends": 60, "Patrons": 250}
    assert [o["promo_codes"] for o in data["offers"]] == [["PREVIEW10"]]
    assert data["offers"][0]["events"] == ["Hamlet"] and data["offers"][0]["percent_off"] == 10


def test_demo_on_a_fresh_machine_makes_its_own_database_and_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No configuration at all: a SQLite database and a secret key appear under ./var."""
    _scrub_env(monkeypatch)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    ok(runner.invoke(app, ["demo", "--no-serve"], catch_exceptions=False))
    assert (tmp_path / "var" / "boxoffice.db").is_file()
    secret_file = tmp_path / "var" / "secret_key"
    assert secret_file.is_file()
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    secret = secret_file.read_text()
    ok(runner.invoke(app, ["demo", "--no-serve"], catch_exceptions=False))
    assert secret_file.read_text() == secret
    data = yaml.safe_load(
        ok(runner.invoke(app, ["catalog", "dump", "demo"], catch_exceptions=False)).stdout
    )
    assert {g["name"] for g in data["tag_groups"]} == {"Interests", "Sign-up Source", "Internal"}


# --- tenants and credentials ---------------------------------------------------------------


def test_tenant_create_twice_fails_clearly(cli: Invoke) -> None:
    name = unique()
    created = ok(cli("tenant", "create", name, "--origin", "https://www.example.org"))
    assert name in created.stderr
    refused(cli("tenant", "create", name), name, "already exists")
    assert dump(cli, name)["origins"] == ["https://www.example.org"]


def test_tenant_create_refuses_bad_names_and_origins(cli: Invoke) -> None:
    refused(cli("tenant", "create", "Not A Valid Name!"), "name")
    refused(cli("tenant", "create", unique(), "--origin", "not-an-origin"), "origin")


def test_api_user_create_prints_login_and_base64_secret(cli: Invoke) -> None:
    tenant = new_tenant(cli)
    result = ok(cli("api-user", "create", tenant, "web-partner", "--json"))
    data = json.loads(result.stdout)
    assert set(data) == {"login", "secret_key"}
    assert data["login"] == "web-partner"
    assert len(base64.b64decode(data["secret_key"], validate=True)) >= 16
    other = json.loads(ok(cli("api-user", "create", tenant, "second", "--json")).stdout)
    assert other["secret_key"] != data["secret_key"]
    refused(cli("api-user", "create", tenant, "web-partner", "--json"), "already exists")
    refused(cli("api-user", "create", unique("ghost"), "x", "--json"), "not found")


def test_api_user_disable(cli: Invoke, database_url: str) -> None:
    tenant = new_tenant(cli)
    ok(cli("api-user", "create", tenant, "old-partner", "--json"))
    assert "disabled" in ok(cli("api-user", "disable", tenant, "old-partner")).stdout
    refused(cli("api-user", "disable", tenant, "nobody"), "not found")

    async def disabled() -> bool:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                value = await connection.scalar(
                    text(
                        "SELECT u.disabled FROM api_users u JOIN tenants t ON t.id = u.tenant_id"
                        " WHERE t.name = :tenant AND u.login = 'old-partner'"
                    ),
                    {"tenant": tenant},
                )
        finally:
            await engine.dispose()
        return bool(value)

    assert asyncio.run(disabled())


def test_api_user_secret_signs_requests(cli: Invoke, database_url: str, tmp_path: Path) -> None:
    tenant = new_tenant(cli)
    creds = json.loads(ok(cli("api-user", "create", tenant, "ops", "--json")).stdout)

    async def flow(signer: Signer) -> None:
        response = await signer.get("tag-groups")
        assert response.status_code == 200, response.text
        assert {g["name"] for g in response.json()} == {"Interests", "Sign-up Source", "Internal"}
        wrong = Signer(signer.client, tenant, "ops", base64.b64encode(b"x" * 32).decode())
        assert (await wrong.get("tag-groups")).status_code == 401

    with_spektrix(database_url, tmp_path, tenant, creds, flow)


def test_api_key_create(cli: Invoke) -> None:
    tenant = new_tenant(cli)
    result = ok(
        cli(
            "api-key",
            "create",
            tenant,
            "--permission",
            "CUSTOMER_READ",
            "--permission",
            "CUSTOMER_CUD",
            "--json",
        )
    )
    data = json.loads(result.stdout)
    assert set(data) == {"api_key"}
    assert isinstance(data["api_key"], str)
    assert len(data["api_key"]) >= 20
    branded = json.loads(
        ok(
            cli(
                "api-key",
                "create",
                tenant,
                "--brand",
                "1",
                "--permission",
                "CUSTOMER_READ",
                "--json",
            )
        ).stdout
    )
    assert branded["api_key"] != data["api_key"]
    refused(cli("api-key", "create", tenant, "--permission", "EVERYTHING", "--json"), "permission")
    refused(
        cli("api-key", "create", tenant, "--brand", "999", "--permission", "CUSTOMER_READ"),
        "not found",
    )


def test_interface_user_create(cli: Invoke) -> None:
    tenant = new_tenant(cli)
    data = json.loads(ok(cli("interface-user", "create", tenant, "app_user", "--json")).stdout)
    assert data == {"user_name": "app_user"}
    refused(cli("interface-user", "create", tenant, "app_user", "--json"), "already exists")
    refused(cli("interface-user", "create", tenant, "has space", "--json"), "user_name")


# --- catalogue ------------------------------------------------------------------------------


def _without_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def test_catalog_dump_round_trips_through_load(cli: Invoke, tmp_path: Path) -> None:
    source = new_tenant(cli)
    dumped_text = ok(cli("catalog", "dump", source)).stdout
    first = yaml.safe_load(dumped_text)
    assert first["tag_groups"]

    # Loading a dump back into its own tenant changes nothing.
    file = tmp_path / "catalogue.yaml"
    file.write_text(dumped_text, encoding="utf-8")
    ok(cli("catalog", "load", source, str(file)))
    assert dump(cli, source) == first

    # Loading it into a fresh tenant reproduces it (ids are each tenant's own).
    target = unique()
    ok(cli("tenant", "create", target))
    ok(cli("catalog", "load", target, str(file)))
    second = dump(cli, target)
    assert _without_ids(second) == _without_ids(first)
    assert [b["id"] for b in second["brands"]] == [b["id"] for b in first["brands"]]


def test_catalog_load_refuses_unreadable_and_invalid_files(cli: Invoke, tmp_path: Path) -> None:
    tenant = new_tenant(cli)
    refused(cli("catalog", "load", tenant, str(tmp_path / "missing.yaml")), "cannot read")
    broken = tmp_path / "broken.yaml"
    broken.write_text("tag_groups: [unclosed\n", encoding="utf-8")
    refused(cli("catalog", "load", tenant, str(broken)), "cannot read")
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("tag_groups:\n  - nonsense_key: 1\n", encoding="utf-8")
    refused(cli("catalog", "load", tenant, str(wrong)))
    refused(cli("catalog", "dump", unique("ghost")), "not found")


# --- subscriptions --------------------------------------------------------------------------


def served(
    database_url: str, tmp_path: Path, flow: Callable[[httpx.AsyncClient], Awaitable[Any]]
) -> Any:
    """``flow`` with a client of the real application (in-process), on a core of its own."""

    async def main() -> Any:
        settings = Settings(
            database_url=database_url,
            secret_key=SECRET,
            var_dir=tmp_path / "var",
            allowed_hosts=[TEST_HOST],
        )
        core = build_core(settings, pool_size=2)
        application = create_app(settings)
        application.state.core = core
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=application), base_url=BASE_URL
            ) as client:
                return await flow(client)
        finally:
            await core.dispose()

    return asyncio.run(main())


def with_spektrix(
    database_url: str,
    tmp_path: Path,
    tenant: str,
    creds: dict[str, str],
    flow: Callable[[Signer], Any],
) -> Any:
    """Run ``flow`` with a signed Spektrix client on the real application (in-process)."""
    return served(
        database_url,
        tmp_path,
        lambda client: flow(Signer(client, tenant, creds["login"], creds["secret_key"])),
    )


def test_subscription_add_shows_in_expand(cli: Invoke, database_url: str, tmp_path: Path) -> None:
    tenant = new_tenant(cli)
    creds = json.loads(ok(cli("api-user", "create", tenant, "ops", "--json")).stdout)

    async def create(signer: Signer) -> tuple[str, dict[str, str]]:
        created = await signer.post(
            "customers", {"firstName": "Mem", "lastName": "Ber", "email": f"{unique()}@example.org"}
        )
        assert created.status_code == 200, created.text
        memberships = await signer.get("memberships")
        assert memberships.status_code == 200
        return created.json()["id"], {m["name"]: m["id"] for m in memberships.json()}

    customer_id, memberships = with_spektrix(database_url, tmp_path, tenant, creds, create)

    ok(
        cli(
            "subscription",
            "add",
            tenant,
            customer_id,
            "Friends",
            "--start",
            "2026-01-01",
            "--expiry",
            "2026-12-31",
            "--auto-renew",
        )
    )

    async def read(signer: Signer) -> dict[str, Any]:
        response = await signer.get(f"customers/{customer_id}?$expand=subscriptions")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    body = with_spektrix(database_url, tmp_path, tenant, creds, read)
    assert body["subscriptions"] == [
        {
            "autoRenew": True,
            "membership": {"id": memberships["Friends"]},
            "startDate": "2026-01-01T00:00:00",
            "expiryDate": "2026-12-31T00:00:00",
            "canRenew": False,
        }
    ]

    # Refusals: unknown membership, malformed id, unknown customer, bad dates, wrong order.
    dates = ("--start", "2026-01-01", "--expiry", "2026-12-31")
    refused(cli("subscription", "add", tenant, customer_id, "Platinum", *dates), "Platinum")
    refused(cli("subscription", "add", tenant, "not-an-id", "Friends", *dates), "not-an-id")
    refused(cli("subscription", "add", tenant, "I-ZZZZ-ZZZZ", "Friends", *dates), "not found")
    refused(
        cli(
            "subscription",
            "add",
            tenant,
            customer_id,
            "Friends",
            "--start",
            "01/01/2026",
            "--expiry",
            "2026-12-31",
        ),
        "YYYY-MM-DD",
    )
    refused(
        cli(
            "subscription",
            "add",
            tenant,
            customer_id,
            "Friends",
            "--start",
            "2026-12-31",
            "--expiry",
            "2026-01-01",
        ),
        "expiry",
    )
    # Nothing was half-written by the refusals.
    after = with_spektrix(database_url, tmp_path, tenant, creds, read)
    assert after["subscriptions"] == body["subscriptions"]


# --- the installed entry points ---------------------------------------------------------------


def _script() -> list[str]:
    script = Path(sys.executable).with_name("boxoffice")
    return [str(script)] if script.exists() else [sys.executable, "-m", "boxoffice"]


def test_console_script_and_module_entry_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _scrub_env(monkeypatch)
    for command in (_script(), [sys.executable, "-m", "boxoffice"]):
        result = subprocess.run(
            [*command, "--help"],
            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        for name in ("serve", "migrate", "demo", "tenant", "catalog", "api-user", "api-key"):
            assert name in result.stdout, result.stdout


_SPAWNED = """
import multiprocessing
import sys

from boxoffice.cli import main as cli

if sys.argv[1] == "serve":
    cli._workers_skip_this_script()  # what `boxoffice serve --workers N` does
if __name__ == "__main__":
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # how uvicorn starts workers
        print(pool.apply(eval, ("'boxoffice.cli.main' in __import__('sys').modules",)))
"""


@pytest.mark.parametrize(("mode", "cli_in_worker"), [("plain", "True"), ("serve", "False")])
def test_server_workers_are_spawned_without_the_cli(
    tmp_path: Path, mode: str, cli_in_worker: str
) -> None:
    """A spawned process re-runs the parent's ``__main__`` script (here, like the console
    script, a file importing the CLI) unless ``serve`` says not to."""
    script = tmp_path / "script.py"
    script.write_text(_SPAWNED)
    result = subprocess.run(
        [sys.executable, str(script), mode],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == cli_in_worker


def test_real_process_tenant_create_twice_and_api_user(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_script(), *args],
            env=cli_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )

    name = unique()
    first = run("tenant", "create", name)
    assert first.returncode == 0, first.stderr
    second = run("tenant", "create", name)
    assert second.returncode == 1, second.stderr
    assert "already exists" in second.stderr
    assert "Traceback" not in second.stderr
    created = run("api-user", "create", name, "ops", "--json")
    assert created.returncode == 0, created.stderr
    data = json.loads(created.stdout)
    assert data["login"] == "ops"
    base64.b64decode(data["secret_key"], validate=True)


def test_commands_without_a_secret_key_fail_clearly(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _scrub_env(monkeypatch)
    monkeypatch.setenv("BOXOFFICE_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["api-user", "create", unique(), "x", "--json"])
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "BOXOFFICE_SECRET_KEY" in result.stderr
