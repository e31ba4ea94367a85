"""``boxoffice demo`` as a newcomer runs it (``make demo``): the instance and the demo venue's
website on localhost, and, in headless Chromium, the venue page with boxoffice's iframes and
the ``<spektrix-login-status>`` component working (one host name: one site for the browser).

With ``BOXOFFICE_SCREENSHOTS=<dir>`` the venue page is saved there as ``demo-venue-page.png``
(``docs/screenshots/`` holds the one in the documentation).
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from boxoffice.services.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.e2e.conftest import (
    CLI_TIMEOUT,
    HTTP_TIMEOUT,
    STARTUP_TIMEOUT,
    TIMEOUT_MS,
    _stop,
    boxoffice_command,
    clean_env,
    free_port,
)

pytestmark = pytest.mark.e2e
SHOTS = os.environ.get("BOXOFFICE_SCREENSHOTS")


@dataclass
class Demo:
    process: subprocess.Popen[str]
    lines: list[str]
    instance: str
    venue: str


def _pump(stream: IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def _wait_for_line(
    process: subprocess.Popen[str], lines: queue.Queue[str], seen: list[str], needle: str
) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT + CLI_TIMEOUT
    while time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=0.5))
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        if needle in seen[-1]:
            return
    pytest.fail(f"no {needle!r} from boxoffice demo:\n{''.join(seen)}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """``boxoffice demo`` in a fresh directory (its SQLite database and secret under ./var)."""
    workdir = tmp_path_factory.mktemp("demo")
    env = clean_env("")
    del env["BOXOFFICE_DATABASE_URL"], env["BOXOFFICE_SECRET_KEY"]  # as make demo: none set
    port, venue_port = free_port(), free_port()
    process = subprocess.Popen(
        [*boxoffice_command(), "demo", "--port", str(port), "--venue-port", str(venue_port)],
        env=env,
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        _wait_for_line(process, lines, seen, "serving on")
        yield Demo(process, seen, f"http://localhost:{port}", f"http://localhost:{venue_port}")
    finally:
        _stop(process)  # type: ignore[arg-type]
        process.stdout.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_demo_prints_the_venue_page_first_and_listens_on_both(demo: Demo) -> None:
    output = "".join(demo.lines)
    assert "customers added" in output
    venue_line = f"demo venue page: open {demo.venue}/ in a browser"
    assert venue_line in output
    assert output.index(venue_line) < output.index(f"serving on {demo.instance}")
    # Said once listening: both answer at once.
    with httpx.Client(timeout=HTTP_TIMEOUT, trust_env=False) as client:
        assert client.get(f"{demo.venue}/").status_code == 200
        assert client.get(f"{demo.instance}/healthz").status_code == 200
        tags = client.get(f"{demo.instance}/demo/api/v3/tag-groups")
        assert tags.status_code == 200 and "Drama" in tags.text


def test_the_venue_page_logs_in_through_the_iframe(page: Any, demo: Demo) -> None:
    page.goto(f"{demo.venue}/")
    status = page.locator("spektrix-login-status")
    logged_in = status.locator("[data-logged-in-container]")
    logged_out = status.locator("[data-logged-out-container]")
    frame = page.frame_locator("#SpektrixIFrame")
    form = frame.locator(".bo-form--login")
    form.get_by_label("Email address").fill(DEMO_EMAIL)
    form.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    assert logged_out.is_visible() and not logged_in.is_visible()
    form.get_by_role("button", name="Log in", exact=True).click()
    # Logged in inside the iframe (no "This form has expired"), and the header follows.
    logged_in.wait_for(state="visible")
    assert status.locator("[data-logged-in-status-customer-first-name]").inner_text() == "Ada"
    assert not logged_out.is_visible()
    assert frame.locator(".bo-message--error").count() == 0
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        frame.locator(".bo-form--details").wait_for()  # ReturnTo=MyAccount.aspx
        page.screenshot(path=str(Path(SHOTS) / "demo-venue-page.png"))

    # The other pages of the venue's site: my account (logged in) and the sign-up iframe.
    page.goto(f"{demo.venue}/account.html")
    page.frame_locator("#SpektrixIFrame").locator(".bo-form--details").wait_for()
    page.goto(f"{demo.venue}/join.html")
    page.frame_locator("#SpektrixIFrame").locator(".bo-form--signup").wait_for()
    page.locator("[data-logged-in-status-customer-first-name]").filter(has_text="Ada").wait_for()


def test_the_plain_form_on_the_venue_page_comes_back(page: Any, demo: Demo) -> None:
    page.goto(f"{demo.venue}/")
    page.fill("#first", "Grace")
    page.fill("#last", "Hopper")
    page.fill("#email", "grace.hopper.demo@example.org")
    page.click("button[type=submit]")
    page.wait_for_url(f"{demo.venue}/thanks.html?came_from_spektrix=true")
    assert page.locator("#outcome").inner_text() == "You are on our mailing list."


def test_a_busy_port_is_one_line_and_no_serving(tmp_path: Path) -> None:
    """A port in use: one line saying so, exit 1, and never "serving on"."""
    env = clean_env(f"sqlite:///{tmp_path / 'busy.db'}")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        for args in (
            ["demo", "--port", str(busy), "--no-venue"],
            ["demo", "--port", str(free_port()), "--venue-port", str(busy)],
            ["serve", "--port", str(busy)],
        ):
            result = subprocess.run(
                [*boxoffice_command(), *args],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=CLI_TIMEOUT,
                check=False,
            )
            assert result.returncode == 2, (args, result.stderr)
            assert "serving on" not in result.stderr + result.stdout
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1, result.stderr
            assert f"cannot listen on 127.0.0.1:{busy}: Address already in use" in lines[0]
