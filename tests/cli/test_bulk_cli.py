"""``boxoffice import customers`` and ``boxoffice export customers``, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from tests.cli.test_cli import Invoke, cli, cli_env, new_tenant, ok, refused

__all__ = ["cli", "cli_env"]  # the fixtures, shared with the CLI contract tests

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "customers.csv"


def test_import_writes_rejects_beside_the_file_and_a_json_summary(
    cli: Invoke, tmp_path: Path
) -> None:
    tenant = new_tenant(cli)
    file = tmp_path / "people.csv"
    shutil.copy(EXAMPLE, file)
    result = ok(cli("import", "customers", tenant, str(file), "--json", "--batch-size", "2"))
    summary = json.loads(result.stdout)
    rejects = tmp_path / "people.rejects.csv"
    assert summary == {
        "records": 5,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 2,
        "batches": 2,
        "seconds": summary["seconds"],
        "rejects": str(rejects),
    }
    with rejects.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["reject_line"], r["email"]) for r in rows] == [
        ("5", "not-an-email"),
        ("6", "erin@example.org"),
    ]
    # A fixed reject file imports as it is (its notes are ignored).
    fixed = rejects.read_text().replace("not-an-email", "dan@example.org")
    fixed = fixed.replace("Gardening", "Family")
    (tmp_path / "fixed.csv").write_text(fixed)
    again = json.loads(
        ok(cli("import", "customers", tenant, str(tmp_path / "fixed.csv"), "--json")).stdout
    )
    assert (again["created"], again["rejected"], again["rejects"]) == (2, 0, None)


def test_export_to_a_file_and_back_through_standard_input(cli: Invoke, tmp_path: Path) -> None:
    tenant = new_tenant(cli)
    ok(cli("import", "customers", tenant, str(EXAMPLE), "--rejects", str(tmp_path / "r.csv")))
    out = tmp_path / "out.jsonl"
    result = ok(cli("export", "customers", tenant, "--format", "jsonl", "--output", str(out)))
    assert "3 customers exported" in result.stderr
    assert len(out.read_text().splitlines()) == 3
    copy = new_tenant(cli)
    refused(cli("import", "customers", copy, "-"), "--format")
    result = ok(cli("import", "customers", copy, "-", "--format", "jsonl", "--json"))
    assert json.loads(result.stdout)["records"] == 0  # CliRunner's stdin is empty


def test_bad_invocations_are_refused_cleanly(cli: Invoke, tmp_path: Path) -> None:
    tenant = new_tenant(cli)
    refused(cli("import", "customers", tenant, str(tmp_path / "people.txt")), "--format")
    refused(cli("import", "customers", tenant, str(tmp_path / "missing.csv")), "cannot read")
    bad = tmp_path / "bad.csv"
    bad.write_text("email,shoe_size\nx@example.org,9\n")
    refused(cli("import", "customers", tenant, str(bad)), "unknown column 'shoe_size'")
    refused(cli("import", "customers", "no-such-tenant", str(EXAMPLE)), "not found")
    refused(cli("export", "customers", tenant, "--format", "xml"), "csv or jsonl")


def test_import_batches_appear_in_the_audit_log_as_the_operator(
    cli: Invoke, tmp_path: Path
) -> None:
    tenant = new_tenant(cli)
    ok(
        cli(
            "import",
            "customers",
            tenant,
            str(EXAMPLE),
            "--batch-size",
            "2",
            "--quiet",
            "--rejects",
            str(tmp_path / "r.csv"),
        )
    )
    entries = [json.loads(line) for line in ok(cli("audit", tenant, "--json")).stdout.splitlines()]
    created = [e for e in entries if e["action"] == "customer.created"]
    # Two committed batches created the three valid customers: one entry each.
    assert len(created) == 2
    assert {(e["actor"], e["credential"]) for e in created} == {("cli", "operator-cli")}
    rows = [c["rows"] for e in created for c in e["changes"] if c["table"] == "customers"]
    assert sorted(rows) == [1, 2]
    assert "ada@example.org" not in json.dumps(created)
