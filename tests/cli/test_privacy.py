"""``boxoffice customer export|erase`` and ``boxoffice audit``, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from boxoffice.cli.main import app
from boxoffice.domain.ids import parse_customer_code
from tests.cli import test_cli as base
from tests.cli.test_cli import Invoke, new_tenant, ok, refused, unique, with_spektrix
from tests.conftest import Signer

# The CLI fixtures of the main CLI tests (the environment an operator sets).
cli_env = base.cli_env
cli = base.cli


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _customer(database_url: str, tmp_path: Path, tenant: str, creds: dict[str, str]) -> str:
    async def create(signer: Signer) -> str:
        created = await signer.post(
            "customers",
            {
                "firstName": "Priya",
                "lastName": "Privacy",
                "email": f"{unique('priya')}@example.org",
                "phone": "+44 20 7946 0001",
            },
        )
        assert created.status_code == 200, created.text
        code: str = created.json()["id"]
        return code

    code: str = with_spektrix(database_url, tmp_path, tenant, creds, create)
    return code


def test_export_erase_and_the_audit_trail(cli: Invoke, database_url: str, tmp_path: Path) -> None:
    tenant = new_tenant(cli)
    creds = json.loads(ok(cli("api-user", "create", tenant, "ops", "--json")).stdout)
    code = _customer(database_url, tmp_path, tenant, creds)
    key = parse_customer_code(code)

    exported = json.loads(ok(cli("customer", "export", tenant, code)).stdout)
    customer = exported["customer"]
    assert (customer["id"], customer["first_name"], customer["phone"]) == (
        code,
        "Priya",
        "+44 20 7946 0001",
    )
    assert [e["kind"] for e in exported["timeline"]] == ["created"]
    # The same customer by its key (the brand/channel form of the id).
    by_key = json.loads(ok(cli("customer", "export", tenant, str(key))).stdout)
    assert by_key["customer"]["email"] == customer["email"]

    log = _lines(ok(cli("audit", tenant, "--json")).stdout)
    actions = [(e["action"], e["actor"], e["credential"]) for e in log]
    assert ("api_users.insert", "cli", "operator-cli") in actions
    assert ("customer.created", "api-user:ops", "api-user") in actions
    assert all(set(e) >= {"occurred_at", "credential_id", "target_kind", "changes"} for e in log)
    table = ok(cli("audit", tenant)).stdout
    assert "api-user:ops" in table and "customer.created" in table and "operator-cli" in table

    # Asking first: "no" erases nothing.
    aborted = CliRunner().invoke(app, ["customer", "erase", tenant, code], input="n\n")
    assert aborted.exit_code == 1
    assert json.loads(ok(cli("customer", "export", tenant, code)).stdout)["customer"]["email"]

    erased = ok(cli("customer", "erase", tenant, code, "--yes"))
    assert f"customer {code} erased" in erased.stderr
    tombstone = json.loads(ok(cli("customer", "export", tenant, code)).stdout)
    assert tombstone["customer"]["state"] == "erased"
    assert tombstone["customer"]["email"] is None and tombstone["customer"]["first_name"] == ""
    assert "Priya" not in json.dumps(tombstone["timeline"])

    about = _lines(ok(cli("audit", tenant, "--customer", code, "--json")).stdout)
    assert [e["action"] for e in about] == ["customer.created", "customer.erased"]
    assert about[-1]["credential"] == "operator-cli" and about[-1]["customer_id"] == code
    assert "Priya" not in json.dumps(about)
    assert _lines(ok(cli("audit", tenant, "--since", "1h", "--json")).stdout)
    assert _lines(ok(cli("audit", tenant, "--since", "2999-01-01", "--json")).stdout) == []


def test_refusals(cli: Invoke) -> None:
    tenant = new_tenant(cli)
    refused(cli("customer", "export", tenant, "I-ZZZZ-ZZZZ"), "not found")
    refused(cli("customer", "export", tenant, "not-an-id"), "not-an-id")
    refused(cli("customer", "erase", tenant, "I-ZZZZ-ZZZZ", "--yes"), "not found")
    refused(cli("customer", "export", "no-such-tenant", "I-AK11-1ATK"), "no-such-tenant")
    refused(cli("audit", "no-such-tenant"), "no-such-tenant")
    assert cli("audit", tenant, "--since", "yesterday").exit_code == 2
