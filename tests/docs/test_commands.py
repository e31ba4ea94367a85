"""Every command in README.md and docs/ runs as written, from the repository root after
``make demo`` (decision 0110).

A fence's info string says what its block is: ``sh`` blocks are run, in order, one shell per
file (a file's variables carry over from block to block) under ``set -euo pipefail``, with
``curl`` failing on an HTTP error status; ``shell`` blocks are shown, not run (another
machine, root, a command that never ends); any other (``text``, ``json``, ``yaml``...) is not
a command. A fence without an info string is refused.

The test copies README.md and docs/ into a scratch directory beside a link to this virtual
environment, runs ``boxoffice demo --no-serve`` there, serves it on a free port, and rewrites
the docs' ``http://localhost:8000`` to that port: the only change made to a command. It
collects every file's commands first, then runs them all, and fails with each failing block,
the command that failed and the output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import run_server

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
DOCS_URL = "http://localhost:8000"
FENCE = re.compile(r"^\s*```(.*)$")
RUN, SHOWN = "sh", "shell"
SCRIPT_TIMEOUT = 600


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    info: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    opened: tuple[int, str] | None = None
    body: list[str] = []
    for number, line in enumerate(lines, start=1):
        match = FENCE.match(line)
        if match is None:
            if opened is not None:
                body.append(line)
            continue
        if opened is None:
            opened, body = (number, match[1].strip()), []
        else:
            indent = len(lines[opened[0] - 1]) - len(lines[opened[0] - 1].lstrip())
            found.append(Block(path, opened[0], opened[1], "\n".join(b[indent:] for b in body)))
            opened = None
    assert opened is None, f"{path}:{opened}: a fence is not closed"
    return found


def test_every_fence_says_what_it_is() -> None:
    bare = [b.where for path in DOCS for b in blocks(path) if not b.info]
    assert bare == [], "fences without an info string (sh, shell, text, json...)"


_CURL = """#!/bin/sh
exec {curl} --fail-with-body "$@"
"""


def _script(path: Path, runnable: list[Block], base_url: str) -> str:
    parts = [
        "set -euo pipefail",
        "trap 'echo \"@@ failed (exit $?): $BASH_COMMAND\" >&2' ERR",
    ]
    for block in runnable:
        parts.append(f"echo '@@ {block.where}' >&2")
        parts.append(block.text.replace(DOCS_URL, base_url))
    parts.append("echo '@@ done' >&2")
    return "\n".join(parts) + "\n"


def test_commands_in_the_docs_run(tmp_path: Path) -> None:
    runnable = {path: [b for b in blocks(path) if b.info == RUN] for path in DOCS}
    runnable = {path: found for path, found in runnable.items() if found}
    assert runnable, "no sh block at all"
    curl = shutil.which("curl")
    assert curl is not None, "the docs' commands need curl"

    work = tmp_path / "repository"
    shutil.copytree(ROOT / "docs", work / "docs")
    shutil.copy(ROOT / "README.md", work / "README.md")
    (work / ".venv").symlink_to(Path(sys.prefix))
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "curl").write_text(_CURL.format(curl=curl))
    (shims / "curl").chmod(0o755)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BOXOFFICE_") and k not in ("PROMETHEUS_MULTIPROC_DIR", "VIRTUAL_ENV")
    }
    env.update(NO_COLOR="1", COLUMNS="120", PATH=f"{shims}{os.pathsep}{env.get('PATH', '')}")

    def run(command: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT,
            check=False,
        )

    setup = run([str(work / ".venv" / "bin" / "boxoffice"), "demo", "--no-serve"])
    assert setup.returncode == 0, setup.stderr

    failures: list[str] = []
    with run_server(env, work) as server:
        base_url = server.base_url.replace("127.0.0.1", "localhost")
        for path, found in runnable.items():
            result = run(["bash", "-c", _script(path, found, base_url)])
            if result.returncode != 0:
                started = re.findall(r"^@@ (\S+:\d+)$", result.stderr, flags=re.MULTILINE)
                block = next(b for b in found if b.where == started[-1]) if started else None
                failures.append(
                    f"{block.where if block else path}: exit {result.returncode}\n"
                    f"--- block\n{block.text if block else ''}\n"
                    f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
                )
    assert not failures, "\n\n".join(failures)
