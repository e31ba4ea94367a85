"""The documented examples run, unchanged, against a real server and a real (toy) CRM."""

from __future__ import annotations

import asyncio
import importlib.util
import io
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from types import ModuleType

import pytest
import uvicorn
from typer.testing import CliRunner

from boxoffice.api.app import create_app
from boxoffice.bootstrap import Core
from boxoffice.cli.main import app as cli_app
from boxoffice.settings import Settings
from tests.api.brandchannel.support import configure
from tests.conftest import SECRET

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The whole application under uvicorn, on a loopback socket bound before it starts (a
    request made meanwhile waits in the socket's backlog: no polling)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    config = uvicorn.Config(
        create_app(settings), loop="asyncio", http="h11", log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


@contextmanager
def toy_crm() -> Iterator[str]:
    server = _load("brandchannel_crm").make_server(0)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/lookup"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _printed(function: Callable[..., object], *args: object) -> str:
    """What ``function`` prints. (Not ``capsys``: the server's logger would keep its stream.)"""
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        function(*args)
    return buffer.getvalue()


async def _cli_api_key(settings: Settings, tenant: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``boxoffice api-key create``, as an operator runs it (in a thread: it runs its own loop)."""
    monkeypatch.setenv("BOXOFFICE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BOXOFFICE_SECRET_KEY", SECRET)
    args = ["api-key", "create", tenant, "--permission", "CUSTOMER_READ"]
    args += ["--permission", "CUSTOMER_CUD", "--json"]
    result = await asyncio.to_thread(CliRunner().invoke, cli_app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    key: str = json.loads(result.stdout)["api_key"]
    return key


async def test_the_api_example_runs_every_endpoint(
    settings: Settings,
    core: Core,
    tenant: tuple[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = await _cli_api_key(settings, tenant[0], monkeypatch)
    example = _load("brandchannel_api")
    with toy_crm() as crm_url, serving(settings) as base:
        await configure(
            core, tenant[0], brands=[{"id": 1, "name": "Demo Theatre", "crm_url": crm_url}]
        )
        out = await asyncio.to_thread(_printed, example.main, base, key)
    for line in (
        "POST /api/v2/customer -> 200",
        "PUT /api/v2/customer -> 200",
        "POST /api/v2/customer/syncWithCRM -> 200",
        "DELETE /api/v2/customer/",
        "Customer data purged.",
        '"type": "error"',
    ):
        assert line in out, out
    assert "Čapek" in out  # the toy CRM's answer, mapped onto the customer
