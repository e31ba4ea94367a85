"""``bench/per_request.py`` runs end to end on both databases, so it cannot rot.

It seeds a small tenant with the real CLI on a new database, calls the application for every
scenario a few times and drops the database. Nothing about speed is asserted: only that every
scenario answered as expected and that the statements were counted where they were sent (the
hot reads send theirs to the driver directly and count them themselves).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL, REQUIRE_POSTGRES

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ["owner_get", "owner_email", "owner_post", "web_signup", "brand_post", "web_get"]
SCENARIOS += ["carecloud_get", "brand_index", "brand_index_deep", "brand_index_brand"]
SCENARIOS += ["brand_index_search", "events_expand", "instance_status", "bare_404"]
STATUSES = {"bare_404": "404", "web_signup": "201"}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_per_request_measures_every_scenario(database: str) -> None:
    where: list[str] = []
    if database == "postgresql":
        if not POSTGRES_URL:
            if REQUIRE_POSTGRES:
                pytest.fail("PostgreSQL is required (BOXOFFICE_REQUIRE_POSTGRES=1)")
            pytest.skip("BOXOFFICE_TEST_POSTGRES_URL is not set")
        where = ["--postgres", POSTGRES_URL]
    result = subprocess.run(
        [
            *(sys.executable, str(ROOT / "bench" / "per_request.py"), "run", *where),
            *("--customers", "30", "--requests", "4", "--warmup", "1", "--concurrency", "2"),
            *("--scenario", "all"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    measured = {name: figures for line in lines for name, figures in line.items()}
    assert list(measured) == SCENARIOS
    for name, figures in measured.items():
        expected = STATUSES.get(name, "200")
        assert figures["statuses"] == {expected: 4}, name
        assert figures["cpu_ms"] > 0, name
    # A customer by id is read by a read-only unit of work (decision 0113): on PostgreSQL on the
    # read-only engine alone, on SQLite on the main engine; nothing written.
    engine = "read" if database == "postgresql" else "core"
    assert measured["owner_get"]["by_engine"] == {engine: measured["owner_get"]["statements"]}
    assert measured["owner_get"]["writes"] == 0
    assert measured["owner_get"]["statements"] >= 1  # PostgreSQL: one statement (decision 0080)
    for name in ("owner_post", "web_signup", "brand_post"):
        assert measured[name]["writes"] >= 1, name
        assert measured[name]["by_engine"]["core"] >= 1, name
    assert measured["bare_404"]["statements"] == 0
    for name in ("events_expand", "instance_status"):  # catalogue reads write nothing
        assert measured[name]["writes"] == 0, name
