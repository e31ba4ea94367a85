"""What a server worker process loads and how it is tuned (docs/decisions/0060).

Each check runs in a fresh interpreter: the test process itself has imported everything.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

TIMEOUT = 120.0

#: Needed by the CLI, migrations, fuzzing or tests, or only with Redis configured.
NOT_FOR_WORKERS = (
    "alembic",
    "mako",
    "typer",
    "yaml",
    "redis",
    "hypothesis",
    "schemathesis",
    "boxoffice.cli",
    "boxoffice.services.bulk",
    "boxoffice.store.bulk",
)


def _python(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_serving_app_loads_no_cli_migration_or_test_modules() -> None:
    loaded = json.loads(
        _python(
            "import json, sys\n"
            "from boxoffice.api.app import app_factory\n"
            "app_factory()\n"
            "print(json.dumps(sorted(sys.modules)))\n"
        )
    )
    assert "boxoffice.api.app" in loaded
    unwanted = [m for m in loaded if m.split(".")[0] in NOT_FOR_WORKERS or m in NOT_FOR_WORKERS]
    unwanted += [m for m in loaded if m.startswith("boxoffice.cli.")]
    assert unwanted == []


# Resident memory (KiB) kept after the second Argon2 hash of a process: glibc maps the first
# 19 MiB block and, on its free, raises the mmap threshold above it, so the second comes from
# the heap and stays there, unless the threshold is fixed.
_KEPT_AFTER_A_HASH = """
def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
{setup}
from boxoffice.security.passwords import hash_password
hash_password("first")
before = rss_kib()
hash_password("second")
print(rss_kib() - before)
"""

glibc_only = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the mmap threshold is a glibc allocator setting",
)


@glibc_only
def test_importing_the_password_module_leaves_the_allocator_alone() -> None:
    kept = int(_python(_KEPT_AFTER_A_HASH.format(setup="import boxoffice.security.passwords")))
    assert kept > 15 * 1024  # the 19 MiB block stayed in the heap


@glibc_only
def test_a_server_worker_hands_large_blocks_back() -> None:
    setup = "from boxoffice.api.app import app_factory\napp_factory()"
    kept = int(_python(_KEPT_AFTER_A_HASH.format(setup=setup)))
    assert kept < 4 * 1024


def test_a_server_worker_keeps_its_startup_objects_out_of_collections() -> None:
    counts = json.loads(
        _python(
            "import gc, json\n"
            "before = gc.get_freeze_count()\n"
            "from boxoffice.api.app import app_factory\n"
            "app_factory()\n"
            "frozen = gc.get_freeze_count()\n"
            "gc.collect()\n"
            "print(json.dumps([before, frozen, gc.get_freeze_count(), len(gc.get_objects())]))\n"
        )
    )
    before, frozen, after_collect, still_tracked = counts
    assert before == 0
    assert frozen > 100_000  # modules, the apps and the ORM mappers
    assert after_collect == frozen  # a full collection does not walk them again
    assert still_tracked < frozen // 10


def test_importing_the_app_module_leaves_the_collector_alone() -> None:
    frozen = _python(
        "import gc\nfrom boxoffice.api.app import create_app\ncreate_app()\n"
        "print(gc.get_freeze_count())\n"
    )
    assert int(frozen) == 0
