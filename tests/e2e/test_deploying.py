"""docs/deploying.md and its example files, checked against the real thing.

- The settings table names every field of ``Settings`` (a setting added later fails here
  until it is documented).
- The systemd unit's ``ExecStart`` runs: the same command line, with this checkout's script,
  a free port and one worker, serves until stopped; ``systemd-analyze verify`` accepts the unit.
- Debian's nginx, started with ``docs/examples/nginx.conf`` (only the addresses, ports and
  certificate paths replaced) on free loopback ports with a certificate made here, in front
  of a real ``boxoffice serve`` configured as the guide says: cookies come back ``Secure``,
  a client cannot pose as another address to escape a per-address rate limit, mailed links
  use the public URL, plain HTTP is redirected.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from boxoffice.services import devices
from boxoffice.settings import Settings
from tests.api.carecloud.support import Api, token_body, unique_email
from tests.certificates import self_signed_certificate
from tests.e2e.conftest import (
    STARTUP_TIMEOUT,
    LiveServer,
    _stop,
    _wait_healthy,
    clean_env,
    free_port,
    run_cli,
    run_server,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DEPLOYING = ROOT / "docs" / "deploying.md"
UNIT = ROOT / "docs" / "examples" / "boxoffice.service"
NGINX_SITE = ROOT / "docs" / "examples" / "nginx.conf"


# --- the settings table -----------------------------------------------------------------------


def test_every_setting_is_in_the_table() -> None:
    text = DEPLOYING.read_text(encoding="utf-8")
    table = re.findall(r"^\| `(BOXOFFICE_[A-Z0-9_]+)` \|", text, flags=re.MULTILINE)
    expected = [f"BOXOFFICE_{name.upper()}" for name in Settings.model_fields]
    assert sorted(table) == sorted(expected), "docs/deploying.md's table of settings"
    assert len(table) == len(set(table))


# --- the systemd unit -------------------------------------------------------------------------


def _unit() -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_the_units_command_line_serves(tmp_path: Path) -> None:
    unit = _unit()
    (exec_start,) = unit["ExecStart"]
    argv = shlex.split(exec_start)
    (workdir,) = unit["WorkingDirectory"]
    assert argv[0] == f"{workdir}/.venv/bin/boxoffice"
    assert unit["ReadWritePaths"] == [f"{workdir}/var"]
    assert unit["EnvironmentFile"] == ["/etc/boxoffice/boxoffice.env"]
    assert "/etc/boxoffice/boxoffice.env" in DEPLOYING.read_text(encoding="utf-8")
    args = argv[1:]
    assert args[args.index("--host") + 1] == "127.0.0.1"  # the proxy is the public side
    port = free_port()
    args[args.index("--port") + 1] = str(port)
    args[args.index("--workers") + 1] = "1"  # a count for the machine; one starts fastest
    script = Path(sys.executable).with_name("boxoffice")
    env = clean_env(f"sqlite:///{tmp_path / 'var' / 'boxoffice.db'}")
    run_cli(env, tmp_path, "migrate")
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(script), *args], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_healthy(process, f"http://127.0.0.1:{port}", log_path)
    finally:
        _stop(process)


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    (exec_start,) = _unit()["ExecStart"]
    script = str(Path(sys.executable).with_name("boxoffice"))
    unit = tmp_path / "boxoffice.service"
    unit.write_text(UNIT.read_text().replace(shlex.split(exec_start)[0], script))
    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "boxoffice.service" not in result.stderr, result.stderr


# --- nginx in front -------------------------------------------------------------------------


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, f"docs/examples/nginx.conf no longer has {old!r}"
    return text.replace(old, new)


def _site(app_port: int, http_port: int, https_port: int, cert: Path, key: Path) -> str:
    site = NGINX_SITE.read_text(encoding="utf-8")
    site = _replace(site, "server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};")
    site = _replace(site, "listen 80;", f"listen 127.0.0.1:{http_port};")
    site = _replace(site, "listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    site = _replace(site, "/etc/letsencrypt/live/tickets.example.org/fullchain.pem", str(cert))
    site = _replace(site, "/etc/letsencrypt/live/tickets.example.org/privkey.pem", str(key))
    return _replace(site, "tickets.example.org", "localhost")


@pytest.fixture
def nginx() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if found is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    return found


def _wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)  # polling interval, not a wait for behaviour
    raise RuntimeError(f"nginx did not listen within {STARTUP_TIMEOUT}s:\n{log.read_text()}")


@pytest.fixture
def proxied(nginx: str, tmp_path: Path) -> Iterator[tuple[LiveServer, str, int]]:
    """The guide's setup: boxoffice on loopback behind nginx with TLS. Yields the server, its
    public URL and nginx's plain HTTP port."""
    http_port, https_port = free_port(), free_port()
    public = f"https://localhost:{https_port}"
    env = clean_env(f"sqlite:///{tmp_path / 'var' / 'boxoffice.db'}")
    env["BOXOFFICE_TRUSTED_PROXIES"] = json.dumps(["127.0.0.1"])
    env["BOXOFFICE_PUBLIC_URLS"] = json.dumps([public])
    run_cli(env, tmp_path, "demo", "--no-serve")
    with run_server(env, tmp_path) as server:
        app_port = int(server.base_url.rsplit(":", 1)[1])
        prefix = tmp_path / "nginx"
        for folder in ("logs", "temp"):
            (prefix / folder).mkdir(parents=True)
        cert, key = self_signed_certificate(prefix)
        (prefix / "site.conf").write_text(_site(app_port, http_port, https_port, cert, key))
        (prefix / "nginx.conf").write_text(
            f"daemon off;\nmaster_process off;\npid {prefix}/nginx.pid;\n"
            "error_log stderr warn;\nevents { worker_connections 64; }\n"
            "http {\n  access_log off;\n"
            + "".join(
                f"  {kind}_temp_path {prefix}/temp/{kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + f"  include {prefix}/site.conf;\n}}\n"
        )
        log = prefix / "logs" / "nginx.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [nginx, "-e", "stderr", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_listening(process, https_port, log)
            yield server, public, http_port
        finally:
            process.send_signal(signal.SIGQUIT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _trusting(server: LiveServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.workdir / "nginx" / "cert.pem"))


def test_plain_http_is_redirected(proxied: tuple[LiveServer, str, int]) -> None:
    _, _, http_port = proxied
    with httpx.Client(trust_env=False, timeout=30) as client:
        response = client.get(
            f"http://127.0.0.1:{http_port}/demo/api/v3/tag-groups?a=1",
            headers={"Host": "localhost"},
        )
    assert response.status_code == 301
    assert response.headers["location"] == "https://localhost/demo/api/v3/tag-groups?a=1"


def test_cookies_are_secure_behind_the_proxy(proxied: tuple[LiveServer, str, int]) -> None:
    server, public, _ = proxied
    page = "/demo/website/secure/signup.aspx"
    with httpx.Client(verify=_trusting(server), trust_env=False, timeout=30) as client:
        through = client.get(public + page)
        direct = client.get(server.base_url + page)
    assert through.status_code == direct.status_code == 200, through.text
    assert "secure" in through.headers["set-cookie"].lower()
    assert "samesite=none" in through.headers["set-cookie"].lower()
    assert "secure" not in direct.headers["set-cookie"].lower()  # plain http, no proxy


def test_clients_cannot_pose_as_another_address(proxied: tuple[LiveServer, str, int]) -> None:
    """Every new CareCloud token counts against the client's address: through nginx, a
    client claiming a new X-Forwarded-For each time is still one address."""
    server, public, _ = proxied
    limit = int(devices.TOKENS_PER_IP.split("/")[0])
    statuses = []
    with httpx.Client(verify=_trusting(server), trust_env=False, timeout=30) as client:
        api = Api(client, "demo")  # type: ignore[arg-type]  (only its url() is used)
        for n in range(limit + 1):
            response = client.post(
                public + api.url("tokens"),
                json=token_body(),
                headers={"X-Forwarded-For": f"198.51.100.{n}"},
            )
            statuses.append(response.status_code)
    assert statuses == [201] * limit + [429]


def test_mailed_links_use_the_public_url(proxied: tuple[LiveServer, str, int]) -> None:
    server, public, _ = proxied
    address = unique_email("deploy")

    async def flow() -> None:
        async with httpx.AsyncClient(
            base_url=public, verify=_trusting(server), trust_env=False, timeout=30
        ) as client:
            api = Api(client, "demo")
            api.token = await api.new_token()
            await api.register(email=address)
            sent = await api.post(
                f"tokens/{api.token}/actions/send-password-setup-email", {"recipient": address}
            )
            assert sent.status_code == 204, sent.text

    asyncio.run(flow())
    (mail,) = (server.workdir / "var" / "outbox").glob("*.eml")
    message = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert f"{public}/demo/website/Secure/SetPassword.aspx?token=" in text, text
