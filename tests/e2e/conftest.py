"""The real server process, set up with the real CLI, driven over loopback HTTP.

``live_server`` starts ``boxoffice serve`` on a free loopback port (one process per database
backend for the whole session) and yields its base URL; ``live_tenant`` creates a tenant, loads
the demo catalogue and creates a System Owner API user with ``boxoffice`` subcommands, exactly
as an operator would. Every wait is bounded, and every bound is generous: it guards against a
hang (a minute or more, however busy the machine) and is never what a test asserts.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import DEMO_CATALOGUE, SECRET

STARTUP_TIMEOUT = 120.0
SHUTDOWN_TIMEOUT = 60.0
CLI_TIMEOUT = 120.0
HTTP_TIMEOUT = 120.0


def boxoffice_command() -> list[str]:
    """The installed ``boxoffice`` console script of the running virtual environment."""
    script = Path(sys.executable).with_name("boxoffice")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "boxoffice"]


def clean_env(database_url: str) -> dict[str, str]:
    """The process environment, minus any outer ``BOXOFFICE_*`` setting, plus ours."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BOXOFFICE_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    env["BOXOFFICE_DATABASE_URL"] = database_url
    env["BOXOFFICE_SECRET_KEY"] = SECRET
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    return env


def run_cli(
    env: dict[str, str], cwd: Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*boxoffice_command(), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"boxoffice {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    base_url: str
    env: dict[str, str]
    workdir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-8000:]
        except OSError:
            return ""


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=SHUTDOWN_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=SHUTDOWN_TIMEOUT)


def _wait_healthy(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last_error = "no answer yet"
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"boxoffice serve exited with {process.returncode} before it was healthy:\n"
                    + log_path.read_text(errors="replace")[-8000:]
                )
            try:
                response = client.get(f"{base_url}/healthz")
                if response.status_code == 200:
                    return
                last_error = f"HTTP {response.status_code}"
            except httpx.TransportError as exc:
                last_error = repr(exc)
            time.sleep(0.1)  # polling interval, not a wait for behaviour
    raise RuntimeError(
        f"boxoffice serve was not healthy within {STARTUP_TIMEOUT}s ({last_error}):\n"
        + log_path.read_text(errors="replace")[-8000:]
    )


@contextlib.contextmanager
def run_server(env: dict[str, str], workdir: Path, *, workers: int = 1) -> Iterator[LiveServer]:
    """``boxoffice serve`` on a free loopback port; stopped (SIGTERM, then kill) on exit."""
    log_path = workdir / f"server-{uuid.uuid4().hex[:6]}.log"
    process: subprocess.Popen[bytes] | None = None
    base_url = ""
    for _attempt in range(3):  # a free port can be taken between probing and binding
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    *boxoffice_command(),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    str(workers),
                ],
                env=env,
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            _wait_healthy(process, base_url, log_path)
            break
        except RuntimeError:
            _stop(process)
            if "address already in use" not in log_path.read_text(errors="replace").lower():
                raise
    else:  # pragma: no cover - three port collisions in a row
        raise RuntimeError("could not bind a free port")
    assert process is not None
    try:
        yield LiveServer(base_url, env, workdir, process, log_path)
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def live_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """``boxoffice serve --workers 1`` on a free loopback port, for one database backend."""
    workdir = tmp_path_factory.mktemp("server")
    with run_server(clean_env(database_url), workdir) as server:
        yield server


@dataclass
class LiveTenant:
    """A tenant on the live server, made with the CLI, with a System Owner API user."""

    base_url: str
    name: str
    login: str
    secret: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def api(self) -> str:
        return f"{self.base_url}/{self.name}/api/v3"


def make_live_tenant(server: LiveServer) -> LiveTenant:
    name = f"e2e-{uuid.uuid4().hex[:10]}"
    login = f"ops-{uuid.uuid4().hex[:6]}"
    run_cli(
        server.env, server.workdir, "tenant", "create", name, "--origin", "http://localhost:8080"
    )
    run_cli(server.env, server.workdir, "catalog", "load", name, str(DEMO_CATALOGUE))
    result = run_cli(server.env, server.workdir, "api-user", "create", name, login, "--json")
    credentials = json.loads(result.stdout)
    assert credentials["login"] == login
    base64.b64decode(credentials["secret_key"], validate=True)
    return LiveTenant(server.base_url, name, login, credentials["secret_key"])


@pytest.fixture(scope="session")
def live_tenant(live_server: LiveServer) -> LiveTenant:
    """One tenant per backend, created while the server is already running."""
    return make_live_tenant(live_server)


# --- signing, written from the reference (not from boxoffice.security) ----------------------


def spektrix_signature(secret: str, method: str, url: str, date: str, body: bytes | None) -> str:
    text = f"{method.upper()}\n{url}\n{date}"
    if body is not None:
        text += "\n" + base64.b64encode(hashlib.md5(body).digest()).decode("ascii")
    mac = hmac.new(base64.b64decode(secret), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(mac).decode("ascii")


def sign_request(
    request: httpx.Request, login: str, secret: str, *, date: str | None = None
) -> None:
    """Sign an httpx request over the exact URL and body it will send."""
    date = date or formatdate(usegmt=True)
    body = request.content or None
    if request.method in ("GET", "HEAD"):
        body = None
    signature = spektrix_signature(secret, request.method, str(request.url), date, body)
    request.headers["Date"] = date
    request.headers["Authorization"] = f"SpektrixAPI3 {login}:{signature}"


def build_signed(
    client: httpx.Client | httpx.AsyncClient,
    tenant: LiveTenant,
    method: str,
    path: str,
    payload: Any = None,
    *,
    date: str | None = None,
) -> httpx.Request:
    body = None if payload is None else json.dumps(payload).encode("utf-8")
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = client.build_request(
        method, f"{tenant.api}/{path.lstrip('/')}", content=body, headers=headers
    )
    sign_request(request, tenant.login, tenant.secret, date=date)
    return request


class Owner:
    """A synchronous signed System Owner client for one live tenant."""

    def __init__(self, client: httpx.Client, tenant: LiveTenant) -> None:
        self.client = client
        self.tenant = tenant

    def request(self, method: str, path: str, payload: Any = None) -> httpx.Response:
        return self.client.send(build_signed(self.client, self.tenant, method, path, payload))

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)

    def post(self, path: str, payload: Any = None) -> httpx.Response:
        return self.request("POST", path, payload)

    def patch(self, path: str, payload: Any = None) -> httpx.Response:
        return self.request("PATCH", path, payload)

    def put(self, path: str, payload: Any = None) -> httpx.Response:
        return self.request("PUT", path, payload)

    def delete(self, path: str) -> httpx.Response:
        return self.request("DELETE", path)


@pytest.fixture
def http_client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.base_url, timeout=HTTP_TIMEOUT, trust_env=False) as c:
        yield c


@pytest.fixture
def signed(http_client: httpx.Client, live_tenant: LiveTenant) -> Owner:
    return Owner(http_client, live_tenant)


def unique_email(prefix: str = "e2e") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.org"


# --- Chromium (Debian's, driven by Playwright) ------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: Playwright's bound on every wait: a hang guard (a minute), never what a test asserts.
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module."""
    from playwright.sync_api import sync_playwright  # only the browser tests need it

    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
