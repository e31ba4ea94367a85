"""The hosted pages and web components in headless Chromium, embedded in a venue's website.

Three processes on loopback: the real ``boxoffice serve``, a local SMTP server, and a small
HTTP server playing the venue's website on another origin (``http://127.0.0.1:<port>``: another
origin on the same site, as a venue's ``www.`` and ``tickets.`` hosts are), with markup copied
from the vendor's documentation: the ``SpektrixIFrame`` iframe with ``integrate.js``, the
loader script tags, ``<spektrix-login-status>`` with its ``data-*`` hooks and the plain HTML
sign-up form. A fourth origin (``http://localhost:<port>``, another site) plays a foreign
website. One browser per module; Debian's ``chromium`` driven by Playwright.

With ``BOXOFFICE_SCREENSHOTS=<dir>`` the tests also save a screenshot of each page there
(``docs/screenshots/`` holds the ones in the documentation).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.conftest import DEMO_CATALOGUE
from tests.e2e.conftest import (
    HTTP_TIMEOUT,
    TIMEOUT_MS,
    LiveServer,
    LiveTenant,
    Owner,
    clean_env,
    free_port,
    run_cli,
    run_server,
)
from tests.e2e.test_web_mode import _Inbox, _link

pytestmark = pytest.mark.e2e
PASSWORD = "Correct horse battery 1"
SHOTS = os.environ.get("BOXOFFICE_SCREENSHOTS")


# --- the venue's website ---------------------------------------------------------------------

LOGIN_STATUS = """
<spektrix-login-status client-name="{client}" custom-domain="{host}">
<span data-logged-in-container style="display: none;">
<a href="/account.html">
<span data-logged-in-status-customer-first-name></span>
<span data-logged-in-status-customer-last-name></span>
(<span data-logged-in-status-customer-email-address></span>)
</a>
</span>
<span data-logged-out-container>
<a href="/account.html">My account</a>
</span>
</spektrix-login-status>
"""

HEAD = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<script type="text/javascript" src="{box}/{client}/website/scripts/integrate.js"></script>
<script src="{box}/webcomponents/stable/webcomponents-loader.js"></script>
<script src="{box}/webcomponents/stable/spektrix-component-loader.js"{components} async></script>
<style>header {{ background: #222; color: #fff; padding: .5rem 1rem; }} header a {{ color: #fff; }}
#SpektrixIFrame {{ outline: 1px dashed #999; }}</style>
</head><body><header>{login_status}</header>"""

IFRAME = """<iframe name="SpektrixIFrame" id="SpektrixIFrame" frameborder="0"
  src="{box}/{client}/website/{path}"
  style="width: 100%; height: 1000px;"></iframe>"""

NEWSLETTER = """<form action="{box}/{client}/website/secure/signup.aspx" method="POST">
<label for="first">First name</label><input id="first" name="FirstName" maxlength="30">
<label for="last">Last name</label><input id="last" name="LastName" maxlength="80">
<label for="email">Email</label><input id="email" name="Email" type="email" maxlength="255">
<input type="hidden" name="Attribute_Heard About Us" value="Newsletter box">
<input type="hidden" name="ReturnUrl" value="{venue}/thanks.html?came_from_spektrix=true">
<label><input type="checkbox" name="consent" value="1"> Keep me posted</label>
<button type="submit">Sign up</button>
</form>"""

VENUE_CSS = """
body.bo-page { font-family: sans-serif; margin: 0; padding: 1rem; color: #222; }
.bo-title { font-size: 1.4rem; margin: 0 0 1rem; }
.bo-field { margin-bottom: .75rem; }
.bo-label { display: block; font-weight: 600; }
.bo-field--checkbox .bo-label { display: inline; font-weight: normal; }
.bo-input, .bo-select { padding: .4rem; width: 100%; max-width: 24rem; box-sizing: border-box; }
.bo-input[type=checkbox] { width: auto; }
.bo-button { background: #7a1f3d; color: #fff; border: 0; padding: .5rem 1rem; }
.bo-button--secondary { background: #555; }
.bo-error, .bo-message--error { color: #b00020; }
.bo-message--success { color: #1b5e20; }
.bo-fieldset { border: 1px solid #ddd; margin: 0 0 1rem; }
"""


@dataclass
class Venue:
    origin: str
    pages: dict[str, str]


class _Handler(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, tuple[str, str]]] = {}

    def do_GET(self) -> None:
        found = self.pages.get(urlsplit(self.path).path)
        if found is None:
            self.send_response(404)
            self.end_headers()
            return
        body, content_type = found
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_site(host: str, pages: dict[str, tuple[str, str]]) -> tuple[ThreadingHTTPServer, str]:
    handler = type("Handler", (_Handler,), {"pages": pages})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[str, _Inbox]]:
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{controller.port}", inbox
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def box(
    database_url: str, smtp: tuple[str, _Inbox], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    env = {**clean_env(database_url), "BOXOFFICE_SMTP_URL": smtp[0]}
    with run_server(env, tmp_path_factory.mktemp("browser")) as server:
        yield server


@dataclass
class Site:
    """The venue's website and its boxoffice tenant."""

    venue: str
    foreign: str
    tenant: LiveTenant
    box: str

    @property
    def client(self) -> str:
        return self.tenant.name


@pytest.fixture(scope="module")
def site(box: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    pages: ClassVar[dict[str, tuple[str, str]]] = {}
    foreign_pages: dict[str, tuple[str, str]] = {}
    venue_server, venue = serve_site("127.0.0.1", pages)
    foreign_server, foreign = serve_site("localhost", foreign_pages)
    try:
        name = f"web-{uuid.uuid4().hex[:10]}"
        run_cli(box.env, box.workdir, "tenant", "create", name, "--origin", venue)
        run_cli(box.env, box.workdir, "catalog", "load", name, str(DEMO_CATALOGUE))
        extra = tmp_path_factory.mktemp("catalogue") / "settings.json"
        extra.write_text(
            json.dumps(
                {
                    "settings": {
                        "signup_page": {
                            "tag_groups": ["Interests", "Sign-up Source"],
                            "statements": "all",
                            "attributes": ["Favourite Genre"],
                            "default_tags": ["Sign-up Source/Website Form"],
                            "default_statements": ["Email updates from Demo Theatre"],
                        },
                        "stylesheet_base": venue + "/css",
                    }
                }
            )
        )
        run_cli(box.env, box.workdir, "catalog", "load", name, str(extra))
        login = f"ops-{uuid.uuid4().hex[:6]}"
        out = run_cli(box.env, box.workdir, "api-user", "create", name, login, "--json")
        tenant = LiveTenant(box.base_url, name, login, json.loads(out.stdout)["secret_key"])
        host = urlsplit(box.base_url).netloc
        fill = {"box": box.base_url, "client": name, "venue": venue, "host": host}
        status = LOGIN_STATUS.format(**fill)

        def html(
            title: str, body: str, *, with_status: bool = True, components: str = ""
        ) -> tuple[str, str]:
            head = HEAD.format(
                title=title,
                login_status=status if with_status else "",
                components=f' data-components="{components}"' if components else "",
                **fill,
            )
            return head + body.format(**fill) + "</body></html>", "text/html; charset=utf-8"

        def frame(path: str) -> str:
            return IFRAME.replace("{path}", path)

        pages["/login.html"] = html("Log in", frame("secure/LoginLogout.aspx?resize=true"))
        # This page names its components; the others let the loader find the tags.
        pages["/account.html"] = html(
            "Account",
            frame("secure/MyAccount.aspx?resize=true"),
            components="spektrix-login-status",
        )
        pages["/join.html"] = html(
            "Join", frame("secure/signup.aspx?Stylesheet=iframe.css&resize=true")
        )
        pages["/forgot.html"] = html("Forgot", frame("secure/ForgotPassword.aspx?resize=true"))
        pages["/newsletter.html"] = html("Newsletter", NEWSLETTER, with_status=False)
        pages["/thanks.html"] = html("Thanks", "<p id=thanks>Thanks!</p>", with_status=False)
        pages["/css/iframe.css"] = (VENUE_CSS, "text/css; charset=utf-8")
        foreign_pages["/frame.html"] = (
            "<!doctype html><title>Elsewhere</title>"
            + frame("secure/LoginLogout.aspx?resize=true").format(**fill),
            "text/html",
        )
        foreign_pages["/blank.html"] = ("<!doctype html><title>Elsewhere</title>", "text/html")
        yield Site(venue, foreign, tenant, box.base_url)
    finally:
        for server in (venue_server, foreign_server):
            server.shutdown()
            server.server_close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 900, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def customer_by_email(site: Site, email: str) -> dict[str, Any]:
    with httpx.Client(timeout=HTTP_TIMEOUT, trust_env=False) as client:
        found = Owner(client, site.tenant).get(
            f"customers?email={email}&$expand=tags,agreedStatements"
        )
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


def new_customer(site: Site, email: str, first: str = "Ada") -> None:
    with httpx.Client(timeout=HTTP_TIMEOUT, trust_env=False) as client:
        created = client.post(
            f"{site.tenant.api}/customer",
            json={"firstName": first, "lastName": "Lovelace", "email": email, "password": PASSWORD},
        )
        assert created.status_code == 201, created.text


def shot(target: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        path = str(Path(SHOTS) / f"{name}.png")
        if hasattr(target, "goto"):  # a page
            target.screenshot(path=path, full_page=True)
        else:  # an element (the iframe's body)
            target.screenshot(path=path)


def iframe_height(page: Any) -> int:
    return int(
        page.evaluate("document.getElementById('SpektrixIFrame').getBoundingClientRect().height")
    )


def content_height(frame: Any) -> int:
    return int(
        frame.evaluate(
            "Math.ceil(Math.max(document.documentElement.getBoundingClientRect().height,"
            " document.body.getBoundingClientRect().height))"
        )
    )


def wait_resized(page: Any) -> None:
    """Until integrate.js has set the iframe to its content's height."""
    frame = page.frame(name="SpektrixIFrame")
    page.wait_for_function(
        "h => Math.abs(document.getElementById('SpektrixIFrame').getBoundingClientRect().height - h) <= 1",
        arg=content_height(frame),
    )


# --- the tests -----------------------------------------------------------------------------------


def test_sign_up_in_the_iframe_and_through_the_plain_form(page: Any, site: Site) -> None:
    email = f"join-{uuid.uuid4().hex[:8]}@example.org"
    page.goto(f"{site.venue}/join.html")
    frame = page.frame_locator("#SpektrixIFrame")
    frame.get_by_label("First name").fill("Ada")
    frame.get_by_label("Last name").fill("Lovelace")
    frame.get_by_label("Email address").fill(email)
    frame.get_by_label("Drama").check()
    frame.get_by_label("Post from Demo Theatre").check()
    frame.get_by_label("Favourite Genre").fill("Opera")
    frame.get_by_label("Password", exact=True).fill(PASSWORD)
    frame.get_by_label("Repeat the password").fill(PASSWORD)
    wait_resized(page)
    shot(page.frame(name="SpektrixIFrame").locator("body"), "signup")
    frame.get_by_role("button", name="Sign up").click()
    frame.locator(".bo-message--success").wait_for()
    customer = customer_by_email(site, email)
    assert [t["name"] for t in customer["tags"]] == ["Drama"]
    assert [s["text"] for s in customer["agreedStatements"]] == ["Post from Demo Theatre"]
    assert customer["attribute_FavouriteGenre"] == "Opera" and customer["passwordSet"] is True
    # Signed up with a password: logged in, and the header knows.
    page.locator("[data-logged-in-status-customer-first-name]").filter(has_text="Ada").wait_for()

    plain = f"plain-{uuid.uuid4().hex[:8]}@example.org"
    page.goto(f"{site.venue}/newsletter.html")
    shot(page, "venue-newsletter-form")
    page.fill("#first", "Grace")
    page.fill("#last", "Hopper")
    page.fill("#email", plain)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(site.venue) + r"/thanks\.html"))
    assert parse_qs(urlsplit(page.url).query) == {"came_from_spektrix": ["true"]}
    customer = customer_by_email(site, plain)
    assert customer["firstName"] == "Grace"
    assert [t["name"] for t in customer["tags"]] == ["Website Form"]
    assert [s["text"] for s in customer["agreedStatements"]] == ["Email updates from Demo Theatre"]
    assert customer["attribute_HeardAboutUs"] == "Newsletter box"

    for first, last, address, code in (
        ("Grace", "Hopper", plain, "EmailExists"),
        ("Grace", "", "new-" + plain, "NoLastName"),
        ("Grace", "Hopper", "", "NoEmail"),
    ):
        page.goto(f"{site.venue}/newsletter.html")
        page.fill("#first", first)
        page.fill("#last", last)
        page.fill("#email", address)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/thanks\.html\?.*Error="))
        assert parse_qs(urlsplit(page.url).query) == {
            "came_from_spektrix": ["true"],
            "Error": [code],
        }


def test_login_in_the_iframe_switches_the_login_status_and_resizes(page: Any, site: Site) -> None:
    email = f"login-{uuid.uuid4().hex[:8]}@example.org"
    new_customer(site, email)
    page.goto(f"{site.venue}/login.html")
    status = page.locator("spektrix-login-status")
    logged_in = status.locator("[data-logged-in-container]")
    logged_out = status.locator("[data-logged-out-container]")
    frame = page.frame_locator("#SpektrixIFrame")
    frame.get_by_label("Email address").first.wait_for()
    wait_resized(page)
    assert iframe_height(page) < 1000  # from the venue's 1000px to the content
    assert logged_out.is_visible() and not logged_in.is_visible()
    before = iframe_height(page)
    shot(page.frame(name="SpektrixIFrame").locator("body"), "login")

    frame.locator(".bo-form--login").get_by_label("Email address").fill(email)
    frame.get_by_label("Password", exact=True).fill(PASSWORD)
    frame.get_by_role("button", name="Log in", exact=True).click()
    frame.get_by_text("You are logged in as Ada Lovelace").wait_for()
    logged_in.wait_for(state="visible")
    assert not logged_out.is_visible()
    assert status.locator("[data-logged-in-status-customer-first-name]").inner_text() == "Ada"
    assert status.locator("[data-logged-in-status-customer-last-name]").inner_text() == "Lovelace"
    assert status.locator("[data-logged-in-status-customer-email-address]").inner_text() == email
    assert status.get_attribute("logged-in") is not None
    wait_resized(page)
    assert iframe_height(page) != before  # the logged-in page is shorter: resized again
    shot(page, "venue-page-logged-in")
    shot(page.frame(name="SpektrixIFrame").locator("body"), "logout")

    frame.get_by_role("button", name="Log out").click()
    logged_out.wait_for(state="visible")
    assert not logged_in.is_visible()

    # A login through the API, from the venue's own script: the refresh event updates the tag.
    result = page.evaluate(
        """async ([api, email, password]) => {
            const r = await fetch(api + '/customer/authenticate', {method: 'POST',
              credentials: 'include', headers: {'Content-Type': 'application/json'},
              body: JSON.stringify({email, password})});
            document.dispatchEvent(new Event('spektrix-login-status:refresh'));
            return r.status;
        }""",
        [site.tenant.api, email, PASSWORD],
    )
    assert result == 200
    logged_in.wait_for(state="visible")


def test_edit_preferences_on_my_account(page: Any, site: Site) -> None:
    email = f"account-{uuid.uuid4().hex[:8]}@example.org"
    new_customer(site, email)
    page.goto(f"{site.venue}/login.html")
    frame = page.frame_locator("#SpektrixIFrame")
    frame.locator(".bo-form--login").get_by_label("Email address").fill(email)
    frame.get_by_label("Password", exact=True).fill(PASSWORD)
    frame.get_by_role("button", name="Log in", exact=True).click()
    frame.get_by_text("You are logged in as").wait_for()

    page.goto(f"{site.venue}/account.html")
    frame = page.frame_locator("#SpektrixIFrame")
    preferences = frame.locator(".bo-form--preferences")
    preferences.get_by_label("Post from Demo Theatre").check()
    preferences.get_by_label("Music").check()
    preferences.get_by_role("button", name="Save preferences").click()
    frame.locator(".bo-message--success").wait_for()
    details = frame.locator(".bo-form--details")
    details.get_by_label("First name").fill("Augusta")
    details.get_by_role("button", name="Save details").click()
    frame.locator(".bo-message--success").wait_for()
    # The iframe reports the changed customer; the header follows without a reload.
    page.locator("[data-logged-in-status-customer-first-name]").filter(
        has_text="Augusta"
    ).wait_for()
    customer = customer_by_email(site, email)
    assert customer["firstName"] == "Augusta"
    assert [t["name"] for t in customer["tags"]] == ["Music"]
    assert [s["text"] for s in customer["agreedStatements"]] == ["Post from Demo Theatre"]
    wait_resized(page)
    shot(page.frame(name="SpektrixIFrame").locator("body"), "my-account")


def test_reset_a_password_through_the_mail_link(
    page: Any, site: Site, smtp: tuple[str, _Inbox]
) -> None:
    inbox = smtp[1]
    email = f"reset-{uuid.uuid4().hex[:8]}@example.org"
    new_customer(site, email)
    before = len(inbox.messages)
    page.goto(f"{site.venue}/forgot.html")
    frame = page.frame_locator("#SpektrixIFrame")
    shot(page.frame(name="SpektrixIFrame").locator("body"), "forgot-password")
    frame.get_by_label("Email address").fill(email)
    frame.get_by_role("button", name="Send the link").click()
    frame.locator(".bo-message--success").wait_for()
    message = [m for m in inbox.wait_for(before + 1) if m["To"] == email][-1]
    link = _link(message)
    assert link.startswith(f"{site.box}/{site.client}/website/Secure/SetPassword.aspx?token=")

    page.goto(link)
    shot(page, "set-password")
    page.get_by_label("New password").fill("A brand new secret 2")
    page.get_by_label("Repeat the password").fill("A brand new secret 2")
    page.get_by_role("button", name="Set password").click()
    page.get_by_text("Your password has been set").wait_for()

    page.goto(f"{site.venue}/login.html")
    frame = page.frame_locator("#SpektrixIFrame")
    frame.locator(".bo-form--login").get_by_label("Email address").fill(email)
    frame.get_by_label("Password", exact=True).fill("A brand new secret 2")
    frame.get_by_role("button", name="Log in", exact=True).click()
    frame.get_by_text("You are logged in as").wait_for()


def test_a_foreign_site_can_neither_frame_the_pages_nor_read_the_session(
    page: Any, site: Site
) -> None:
    email = f"foreign-{uuid.uuid4().hex[:8]}@example.org"
    new_customer(site, email)
    page.goto(f"{site.venue}/login.html")  # logged in on the venue's site first
    frame = page.frame_locator("#SpektrixIFrame")
    frame.locator(".bo-form--login").get_by_label("Email address").fill(email)
    frame.get_by_label("Password", exact=True).fill(PASSWORD)
    frame.get_by_role("button", name="Log in", exact=True).click()
    frame.get_by_text("You are logged in as").wait_for()

    refused: list[str] = []
    page.on(
        "console", lambda msg: refused.append(msg.text) if "frame-ancestors" in msg.text else None
    )
    page.goto(f"{site.foreign}/frame.html")
    page.wait_for_load_state("load")
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not refused and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # polling interval for the console message, bounded
    assert any("frame-ancestors" in text for text in refused), refused
    # The browser refused to render our page there: the iframe holds no page of ours (its
    # frame is an error page, or already detached, depending on timing).
    element = page.locator("#SpektrixIFrame").element_handle()
    embedded = element.content_frame()
    assert embedded is None or embedded.locator(".bo-title").count() == 0

    outcome = page.evaluate(
        """async (api) => {
            try {
              const r = await fetch(api + '/customer', {credentials: 'include'});
              return 'read ' + r.status + ' ' + (await r.text());
            } catch (e) { return 'blocked'; }
        }""",
        site.tenant.api,
    )
    assert outcome == "blocked"
    write = page.evaluate(
        """async (api) => {
            try {
              const r = await fetch(api + '/customer/deauthenticate', {method: 'POST',
                credentials: 'include'});
              return 'read ' + r.status;
            } catch (e) { return 'blocked'; }
        }""",
        site.tenant.api,
    )
    assert write == "blocked"
    # Still logged in on the venue's site.
    page.goto(f"{site.venue}/login.html")
    page.locator("[data-logged-in-container]").wait_for(state="visible")
