"""Each dialect's interactive API documentation, rendered in headless Chromium.

FastAPI writes OpenAPI 3.1 documents; Swagger UI before 5 cannot read them and shows "Unable to
render this definition" instead of the operations. The pages load only the instance's own
assets (tests/e2e/test_server.py); here a real browser opens them and must list each dialect's
operations. With ``BOXOFFICE_SCREENSHOTS=<dir>`` the Spektrix page is saved there as
``api-docs.png`` (``docs/screenshots/`` holds the one in the documentation).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import TIMEOUT_MS, LiveServer, clean_env, run_server

pytestmark = pytest.mark.e2e
SHOTS = os.environ.get("BOXOFFICE_SCREENSHOTS")

#: A dialect, and one operation path its page must show.
DOCS = {
    "spektrix": "/{client}/api/v3/customers",
    "carecloud": "/{tenant}/webservice/rest-api/customer-interface/v1.0/customers",
    "brandchannel": "/api/v2/customer",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The documentation needs no tenant and reads no database: SQLite will do."""
    workdir = tmp_path_factory.mktemp("docs")
    with run_server(clean_env(f"sqlite:///{workdir / 'docs.db'}"), workdir) as live:
        yield live


@pytest.mark.parametrize("dialect", list(DOCS))
def test_the_docs_page_renders_the_dialects_operations(
    browser: Any, server: LiveServer, dialect: str
) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    foreign: list[str] = []
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(server.base_url) else foreign.append(request.url)
        ),
    )
    try:
        page.goto(f"{server.base_url}/docs/{dialect}")
        page.locator(".opblock").first.wait_for()
        assert page.locator(".opblock").count() > 0
        assert page.locator(".opblock-summary-path", has_text=DOCS[dialect]).count() > 0
        # No "Unable to render this definition", no parser errors box.
        assert page.locator(".errors-wrapper").count() == 0
        assert "Unable to render this definition" not in page.content()
        assert page.locator(".info .title").inner_text().strip()
        assert foreign == []  # nothing from any other host
        if SHOTS and dialect == "spektrix":
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SHOTS) / "api-docs.png"))
    finally:
        context.close()
