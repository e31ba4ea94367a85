"""Every CLI failure a user can cause is one line on stderr saying what to do, and a non-zero
exit (``cli/errors.py``); a bug keeps its traceback, and ``--debug`` shows one for the rest.

Each case runs the installed console script in a real process, as an operator would. The
PostgreSQL cases point at the test server's host (127.0.0.1:5432 in CI) with a database, a
role or a port that does not exist.
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from boxoffice.cli.main import app
from boxoffice.domain.errors import NotFound
from boxoffice.services import tenants as tenant_service
from tests.cli.test_cli import CLI_TIMEOUT, _script, _scrub_env, unique
from tests.conftest import POSTGRES_URL, REQUIRE_POSTGRES, SECRET


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """No ``BOXOFFICE_*`` setting, an empty working directory."""
    _scrub_env(monkeypatch)
    monkeypatch.chdir(tmp_path)
    yield {**os.environ, "NO_COLOR": "1", "COLUMNS": "60"}


def run(
    env: dict[str, str], cwd: Path, *args: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_script(), *args],
        env={**env, **extra},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str], exit_code: int, *fragments: str) -> str:
    """Exactly one line on stderr, ``error: ...`` with each fragment, and the exit code; the
    line may be longer than the terminal (COLUMNS=60 here): it is never wrapped."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert result.returncode == exit_code, (result.returncode, result.stderr)
    return lines[0]


def _postgres(database: str | None = None, **parts: object) -> str:
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("PostgreSQL is required (BOXOFFICE_REQUIRE_POSTGRES=1)")
        pytest.skip("BOXOFFICE_TEST_POSTGRES_URL is not set")
    url = make_url(POSTGRES_URL).set(database=database or f"boxoffice_missing_{uuid.uuid4().hex}")
    return url.set(**parts).render_as_string(hide_password=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- the installation -------------------------------------------------------------------------


def test_postgresql_database_that_does_not_exist(clean_env: dict[str, str], tmp_path: Path) -> None:
    url = _postgres()
    result = run(clean_env, tmp_path, "migrate", BOXOFFICE_DATABASE_URL=url)
    one_line(result, 2, "does not exist", make_url(url).database or "", "createdb")


def test_postgresql_connection_refused(clean_env: dict[str, str], tmp_path: Path) -> None:
    port = _free_port()  # nothing listens there now
    url = _postgres("boxoffice", port=port)
    result = run(clean_env, tmp_path, "migrate", BOXOFFICE_DATABASE_URL=url)
    one_line(result, 2, f"127.0.0.1:{port}", "connection refused", "BOXOFFICE_DATABASE_URL")


def test_postgresql_login_refused(clean_env: dict[str, str], tmp_path: Path) -> None:
    url = _postgres("postgres", username="no_such_role_here", password="x")
    result = run(clean_env, tmp_path, "migrate", BOXOFFICE_DATABASE_URL=url)
    one_line(result, 2, "no_such_role_here", "BOXOFFICE_DATABASE_URL")


def test_sqlite_file_that_cannot_be_created(clean_env: dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    url = f"sqlite:///{blocker}/boxoffice.db"
    result = run(clean_env, tmp_path, "migrate", BOXOFFICE_DATABASE_URL=url)
    one_line(result, 2, str(blocker), "BOXOFFICE_DATABASE_URL")


def test_invalid_setting(clean_env: dict[str, str], tmp_path: Path) -> None:
    result = run(clean_env, tmp_path, "migrate", BOXOFFICE_MAX_BODY_BYTES="lots")
    one_line(result, 2, "BOXOFFICE_MAX_BODY_BYTES")


def test_serve_without_a_secret_key(clean_env: dict[str, str], tmp_path: Path) -> None:
    one_line(run(clean_env, tmp_path, "serve"), 2, "BOXOFFICE_SECRET_KEY")
    assert not (tmp_path / "var").exists()


def test_another_directory_has_no_database_and_gets_none(
    clean_env: dict[str, str], tmp_path: Path
) -> None:
    """Run from elsewhere than the installation: refused, and no empty ./var/boxoffice.db."""
    for command in (["tenant", "list"], ["serve"]):
        result = run(clean_env, tmp_path, *command, BOXOFFICE_SECRET_KEY=SECRET)
        one_line(result, 2, str(tmp_path / "var" / "boxoffice.db"), "BOXOFFICE_DATABASE_URL")
        assert not (tmp_path / "var").exists()


def test_serve_on_a_port_in_use(
    clean_env: dict[str, str], tmp_path: Path, database_url: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(
            clean_env,
            tmp_path,
            "serve",
            "--port",
            str(port),
            BOXOFFICE_DATABASE_URL=database_url,
            BOXOFFICE_SECRET_KEY=SECRET,
        )
    line = one_line(result, 2, f"127.0.0.1:{port}", "already in use", "--port")
    assert "serving on" not in result.stdout + line


def test_a_new_sqlite_database_and_its_folder_are_private(
    clean_env: dict[str, str], tmp_path: Path
) -> None:
    """Created by ``migrate``, like the generated secret key: 0600 in a 0700 folder."""
    result = run(clean_env, tmp_path, "migrate")
    assert result.returncode == 0, result.stderr
    assert oct((tmp_path / "var").stat().st_mode & 0o777) == "0o700"
    assert oct((tmp_path / "var" / "boxoffice.db").stat().st_mode & 0o777) == "0o600"


# --- what was asked ---------------------------------------------------------------------------


@pytest.fixture
def installed(
    clean_env: dict[str, str], database_url: str, tmp_path: Path
) -> tuple[dict[str, str], str]:
    env = {**clean_env, "BOXOFFICE_DATABASE_URL": database_url, "BOXOFFICE_SECRET_KEY": SECRET}
    tenant = unique()
    created = run(env, tmp_path, "tenant", "create", tenant)
    assert created.returncode == 0, created.stderr
    return env, tenant


def test_unknown_tenant(installed: tuple[dict[str, str], str], tmp_path: Path) -> None:
    env, _ = installed
    result = run(env, tmp_path, "catalog", "dump", "no-such-venue")
    one_line(result, 1, "no-such-venue", "not found", "boxoffice tenant list")


def test_unknown_credentials(installed: tuple[dict[str, str], str], tmp_path: Path) -> None:
    env, tenant = installed
    one_line(run(env, tmp_path, "api-user", "rotate", tenant, "nobody"), 1, "api-user list")
    one_line(run(env, tmp_path, "api-key", "disable", tenant, "123"), 1, "api-key list")
    one_line(run(env, tmp_path, "interface-user", "disable", tenant, "x"), 1, "interface-user list")


def test_files_that_cannot_be_read_or_written(
    installed: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    env, tenant = installed
    missing = tmp_path / "missing.yaml"
    one_line(run(env, tmp_path, "catalog", "load", tenant, str(missing)), 1, str(missing))
    broken = tmp_path / "broken.yaml"
    broken.write_text("tag_groups: [unclosed\n")
    one_line(run(env, tmp_path, "catalog", "load", tenant, str(broken)), 1, "not YAML")
    one_line(run(env, tmp_path, "import", "customers", tenant, str(tmp_path / "x.csv")), 1)
    nowhere = tmp_path / "no-such-folder" / "out.csv"
    one_line(run(env, tmp_path, "export", "customers", tenant, "-o", str(nowhere)), 1, str(nowhere))


def test_a_failed_export_leaves_no_file(
    installed: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    env, _ = installed
    output = tmp_path / "out.csv"
    result = run(env, tmp_path, "export", "customers", "no-such-venue", "--output", str(output))
    one_line(result, 1, "no-such-venue")
    assert list(tmp_path.iterdir()) == []


def test_an_export_replaces_its_file_when_complete(
    installed: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    env, tenant = installed
    output = tmp_path / "out.csv"
    output.write_text("an older export\n")
    result = run(env, tmp_path, "export", "customers", tenant, "--output", str(output))
    assert result.returncode == 0, result.stderr
    assert output.read_text() not in ("", "an older export\n")  # an empty export's header
    assert oct(output.stat().st_mode & 0o777) == "0o600"  # personal data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


# --- bugs -------------------------------------------------------------------------------------


def test_a_bug_keeps_its_traceback_and_debug_shows_every_one(
    clean_env: dict[str, str], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOXOFFICE_DATABASE_URL", database_url)
    monkeypatch.setenv("BOXOFFICE_SECRET_KEY", SECRET)
    runner = CliRunner()
    result = runner.invoke(app, ["catalog", "dump", "no-such-venue"])
    assert result.exit_code == 1
    debug = runner.invoke(app, ["--debug", "catalog", "dump", "no-such-venue"])
    assert isinstance(debug.exception, NotFound)

    async def broken(_core: object) -> None:
        raise ZeroDivisionError

    monkeypatch.setattr(tenant_service, "list_tenants", broken)
    bug = runner.invoke(app, ["tenant", "list"])
    assert isinstance(bug.exception, ZeroDivisionError)
    assert "error:" not in bug.stderr
