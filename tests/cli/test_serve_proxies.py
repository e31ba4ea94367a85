"""``boxoffice serve`` leaves proxy headers to the application's edge (decision 0090).

uvicorn, left to itself, believes ``X-Forwarded-For``/``-Proto`` from 127.0.0.1 (or from
``FORWARDED_ALLOW_IPS``) whatever ``BOXOFFICE_TRUSTED_PROXIES`` says (issue 15, finding 9).
"""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from boxoffice.cli import main as cli


async def _plain_app(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("not called")


def test_serve_runs_uvicorn_without_its_proxy_handling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    ran = cli.server_options(1)

    assert ran["app"] == "boxoffice.api.app:app_factory" and ran["factory"] is True
    assert ran["proxy_headers"] is False
    # The app uvicorn would serve with these options, around a stand-in application.
    config = uvicorn.Config(**{**ran, "app": _plain_app, "factory": False})
    config.load()
    assert not isinstance(config.loaded_app, ProxyHeadersMiddleware)
    assert config.loaded_app is _plain_app
