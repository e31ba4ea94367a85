"""The benchmark's smoke mode runs end to end, so ``make bench`` cannot rot.

It seeds 200 customers on SQLite with the real CLI, starts the real server and the bare
reference app, and drives every scenario for half a second from the load generator process.
Nothing about speed is asserted: only that every scenario answered, without errors, and that
the results were written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = {
    "owner_get",
    "owner_email",
    "owner_post",
    "web_signup",
    "web_get",
    "carecloud_get",
    "brand_index",
    "events_expand",
    "instance_status",
    "instance_status_changing",
    "login_storm_logins",
    "owner_get_before_login_storm",
    "owner_get_during_login_storm",
}


def test_bench_smoke_runs_every_scenario(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            *(sys.executable, str(ROOT / "bench" / "run.py"), "--smoke"),
            *("--databases", "sqlite", "--out", str(tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["reference"]["bare"]["requests"] > 0
    assert results["reference"]["bare"]["errors"] == 0
    # The server's CPU time, split between its processes (percent, largest first).
    split = results["reference"]["bare"]["worker_cpu_split"]
    assert split == sorted(split, reverse=True)
    assert 95 <= sum(split) <= 100.5, split
    (sqlite,) = results["databases"]
    assert sqlite["import"]["created"] == 200
    assert sqlite["import"]["rejected"] == 0
    assert sqlite["raw_insert"]["customers_per_s"] > 0
    assert set(sqlite["scenarios"]) == SCENARIOS
    for name, scenario in sqlite["scenarios"].items():
        assert scenario["requests"] > 0, name
        assert scenario["errors"] == 0, (name, scenario["statuses"])
        assert scenario["client_cpu_ms_per_request"] > 0, name
    # A measured scenario's whole CPU budget: the server's, the database server's (SQLite's
    # is the server's own) and the load generator's; the rate at which it takes every core.
    get = sqlite["scenarios"]["owner_get"]
    assert get["database_cpu_ms_per_request"] == 0  # SQLite: inside the workers
    parts = (
        get["server_cpu_ms_per_request"],
        get["database_cpu_ms_per_request"],
        get["client_cpu_ms_per_request"],
    )
    assert get["total_cpu_ms_per_request"] == pytest.approx(sum(parts), abs=0.002)
    assert get["cpu_bound_rps"] == pytest.approx(
        1000 * os.cpu_count() / get["total_cpu_ms_per_request"], rel=0.01
    )
    # The status read while another process held and released seats: every answer's counts
    # added up (load.py checks each body), and seats did change meanwhile.
    changing = sqlite["scenarios"]["instance_status_changing"]
    assert changing["inconsistent"] == 0
    assert changing["seat_changes"]["changes"] > 0
    # The on-sale rush: buyers raced for one performance's seats; none was sold twice, the
    # status added up at every sample, and the sold count is the orders' tickets.
    sale = sqlite["onsale_rush"]
    assert sale["orders"] > 0, sale
    assert sale["seats_sold_twice"] == 0
    assert sale["errors"] == 0, sale["statuses"]
    assert sale["samples"] > 0 and sale["samples_not_adding_up"] == 0
    assert sale["sold_matches_orders"], sale
    assert sqlite["worker_peak_rss_mb"]
    assert len(results["targets"]) == 9
    assert "| target | measured | met |" in (tmp_path / "results.md").read_text()


def test_the_status_check_refuses_counts_that_do_not_add_up() -> None:
    """``load.py``'s check of ``instance_status_changing``'s answers (run as the load generator
    runs: a script beside the package): the counts, and the bands' places."""
    program = (
        "import json, sys; sys.path.insert(0, 'bench'); import load;"
        "good = dict(available=250, inBasket=0, inOtherBasket=6, sold=3, locked=1, reserved=0,"
        " capacity=260, bands=[dict(available=195, capacity=200), dict(available=55,"
        " capacity=60)]);"
        "bad = dict(good, available=251);"
        "bands = dict(good, bands=[dict(available=196, capacity=200), dict(available=55,"
        " capacity=60)]);"
        "print(json.dumps([load.CHECKS['instance_status_changing'](json.dumps(b).encode())"
        " for b in (good, bad, bands)]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
    )
    assert json.loads(result.stdout) == [True, False, False]
