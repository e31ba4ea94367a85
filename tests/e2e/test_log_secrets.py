"""The server's logs, at DEBUG, hold none of the secrets a full flow through every dialect used.

``boxoffice serve`` runs with ``BOXOFFICE_LOG_LEVEL=DEBUG``, its standard output and error
captured (structlog's lines, the standard library's, uvicorn's, the database drivers'). The
flow: CareCloud's token flow (a token, a customer registered and logged in on it, read and
changed, a refused token, an unknown path under a token), Spektrix signed System Owner calls,
web mode with a session cookie, a password reset and a magic link from the outbox, the hosted
pages' login form with its form token, and brand/channel calls with an API key. Then no device
token, session cookie, password, API key, HMAC secret or signature, mailed token, form token,
password hash or email address appears anywhere in the log.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from boxoffice.store.db import create_engine
from tests.api.carecloud.support import Api as CareCloudApi
from tests.api.carecloud.support import basic, token_body
from tests.api.web.conftest import ORIGIN, mailed_link, token_of
from tests.conftest import DEMO_CATALOGUE
from tests.e2e.conftest import (
    HTTP_TIMEOUT,
    LiveServer,
    LiveTenant,
    Owner,
    clean_env,
    run_cli,
    run_server,
    sign_request,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def debug_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, LiveTenant, dict[str, str]]]:
    """A server at DEBUG (its own, so that its log holds only this flow) with a tenant and
    every credential an operator makes: an API user, an API key, a CareCloud interface user."""
    workdir = tmp_path_factory.mktemp("debug-server")
    env = {**clean_env(database_url), "BOXOFFICE_LOG_LEVEL": "DEBUG"}
    with run_server(env, workdir) as server:
        name = f"logs-{uuid.uuid4().hex[:10]}"
        run_cli(env, workdir, "tenant", "create", name, "--origin", ORIGIN)
        run_cli(env, workdir, "catalog", "load", name, str(DEMO_CATALOGUE))
        login = f"ops-{uuid.uuid4().hex[:6]}"
        user = json.loads(run_cli(env, workdir, "api-user", "create", name, login, "--json").stdout)
        key = json.loads(
            run_cli(
                env,
                workdir,
                "api-key",
                "create",
                name,
                "--permission",
                "CUSTOMER_READ",
                "--permission",
                "CUSTOMER_CUD",
                "--json",
            ).stdout
        )["api_key"]
        interface = f"app-{uuid.uuid4().hex[:6]}"
        run_cli(env, workdir, "interface-user", "create", name, interface, "--json")
        tenant = LiveTenant(server.base_url, name, login, user["secret_key"])
        yield server, tenant, {"api_key": key, "interface_user": interface}


class Secrets:
    """Every secret the flow used, by what it is."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}

    def add(self, what: str, value: str | None) -> None:
        assert value, what  # a secret the flow never got would make the check pointless
        self.found[f"{what} #{len(self.found)}"] = value


def _outbox(workdir: Path) -> list[Path]:
    return sorted((workdir / "var" / "outbox").glob("*.eml"))


def _last_link(workdir: Path) -> str:
    import email

    message = email.message_from_bytes(_outbox(workdir)[-1].read_bytes())
    return mailed_link(message)


def _session(client: httpx.AsyncClient) -> str | None:
    return next((c.value for c in client.cookies.jar if c.name == "boxoffice_session"), None)


async def _spektrix(
    server: LiveServer, tenant: LiveTenant, secrets: Secrets, emails: list[str]
) -> None:
    secrets.add("HMAC secret", tenant.secret)
    secrets.add("HMAC secret (raw, hex)", base64.b64decode(tenant.secret).hex())
    with httpx.Client(base_url=server.base_url, timeout=HTTP_TIMEOUT, trust_env=False) as client:
        owner = Owner(client, tenant)
        email = f"owner.{uuid.uuid4().hex[:10]}@example.org"
        emails.append(email)
        created = owner.post(
            "customers",
            {"firstName": "Owen", "lastName": "Signed", "email": email, "password": "0wner-Pass!"},
        )
        assert created.status_code == 200, created.text
        secrets.add("password", "0wner-Pass!")
        customer_id = created.json()["id"]
        request = owner.client.build_request("GET", f"{tenant.api}/customers/{customer_id}")
        sign_request(request, tenant.login, tenant.secret)
        secrets.add("signature", request.headers["Authorization"].rsplit(":", 1)[1])
        assert owner.client.send(request).status_code == 200
        assert owner.get(f"customers?email={email}").status_code == 200
        patched = owner.patch(f"customers/{customer_id}", {"firstName": "Owain"})
        assert patched.status_code == 200, patched.text

    # Web mode: sign up, a session cookie, reset and magic links from the outbox.
    async with httpx.AsyncClient(
        base_url=f"{tenant.api}/", timeout=HTTP_TIMEOUT, trust_env=False
    ) as web:
        headers = {"Origin": ORIGIN}
        email = f"web.{uuid.uuid4().hex[:10]}@example.org"
        emails.append(email)
        password = f"Web-{uuid.uuid4().hex[:8]}"
        secrets.add("password", password)
        signed_up = await web.post(
            "customer",
            json={"firstName": "Wendy", "lastName": "Web", "email": email, "password": password},
            headers=headers,
        )
        assert signed_up.status_code == 201, signed_up.text
        secrets.add("session cookie", _session(web))
        web.cookies.clear()
        logged_in = await web.post(
            "customer/authenticate", json={"email": email, "password": password}, headers=headers
        )
        assert logged_in.status_code == 200, logged_in.text
        secrets.add("session cookie", _session(web))
        assert (await web.get("customer", headers=headers)).status_code == 200
        changed = await web.post(
            "customer/change-password",
            json={"oldPassword": password, "newPassword": password + "-2"},
            headers=headers,
        )
        assert changed.status_code < 300, changed.text
        secrets.add("password", password + "-2")
        await web.post("customer/forgot-password", json={"emailAddress": email}, headers=headers)
        reset = token_of(_last_link(server.workdir))
        secrets.add("reset token", reset)
        pages = f"{server.base_url}/{tenant.name}/website/secure"
        assert (await web.get(f"{pages}/setpassword.aspx", params={"token": reset})).is_success
        new_password = f"Reset-{uuid.uuid4().hex[:8]}"
        secrets.add("password", new_password)
        done = await web.post(
            f"{pages}/setpassword.aspx",
            data={"token": reset, "password": new_password, "confirm": new_password},
        )
        assert done.status_code == 200, done.text
        sent = await web.post(
            "customer/send-magic-link",
            json={"email": email, "callbackUrl": f"{ORIGIN}/login?token={{token}}"},
            headers=headers,
        )
        assert sent.status_code == 204, sent.text
        magic = token_of(_last_link(server.workdir))
        secrets.add("magic link token", magic)
        used = await web.post(
            "customer/authenticate-magic-link", json={"token": magic}, headers=headers
        )
        assert used.status_code == 200, used.text
        secrets.add("session cookie", _session(web))

    # The hosted login page: its form token, a password in a form, a mailed login link.
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, trust_env=False) as browser:
        page = await browser.get(f"{pages}/loginlogout.aspx")
        match = re.search(r'name="_csrf" value="([0-9a-f]+)"', page.text)
        assert match, page.text[:300]
        secrets.add("form token", match.group(1))
        form = {"_csrf": match.group(1), "Email": email, "Password": new_password}
        assert (await browser.post(f"{pages}/loginlogout.aspx", data=form)).status_code == 303
        secrets.add("session cookie", _session(browser))
        asked = await browser.post(
            f"{pages}/loginlogout.aspx",
            data={"_csrf": match.group(1), "action": "magic", "MagicEmail": email},
        )
        assert asked.status_code == 303, asked.text
        page_magic = re.search(r"MagicToken=([A-Za-z0-9_\-]+)", _last_link(server.workdir))
        assert page_magic
        secrets.add("magic link token", page_magic.group(1))
        assert (
            await browser.get(
                f"{pages}/loginlogout.aspx", params={"MagicToken": page_magic.group(1)}
            )
        ).status_code == 200


async def _carecloud(
    server: LiveServer,
    tenant: LiveTenant,
    credentials: dict[str, str],
    secrets: Secrets,
    emails: list[str],
) -> None:
    async with httpx.AsyncClient(
        base_url=server.base_url, timeout=HTTP_TIMEOUT, trust_env=False
    ) as client:
        api = CareCloudApi(client, tenant.name)
        user = credentials["interface_user"]
        created = await client.post(
            api.url("tokens"),
            json=token_body(),
            headers=basic(user),
        )
        assert created.status_code == 201, created.text
        api.token = created.json()["data"]["token_id"]
        secrets.add("device token", api.token)
        assert (
            await api.put(
                f"tokens/{api.token}",
                {
                    "setup": {
                        "language_id": "en",
                        "allowed_gps": False,
                        "allowed_notifications": True,
                    },
                    "push_token": f"push-{uuid.uuid4().hex}",
                },
            )
        ).status_code == 204
        password = f"Cc-{uuid.uuid4().hex[:8]}"
        secrets.add("password", password)
        body = await api.customer_body(password=password, autologin=False)
        email = body["customer"]["personal_information"]["email"]
        emails.append(email)
        registered = await api.post("customers", body)
        assert registered.status_code == 201, registered.text
        customer_id = registered.json()["data"]["customer_id"]
        login = await api.post(
            f"tokens/{api.token}/actions/login",
            {"login_type": "email", "login_value": email, "password": password},
        )
        assert login.status_code == 200, login.text
        assert (await api.get(f"customers/{customer_id}")).status_code == 200
        assert (await api.get(f"customers/{customer_id}?customer_short_salutation=true")).is_success
        assert (await api.get("customers", params={"email": email})).status_code == 200
        changed = await api.put(
            f"customers/{customer_id}",
            {
                "customer": {
                    "personal_information": {
                        "first_name": "Carl",
                        "email": email,
                        "language_id": "en",
                    }
                },
                "password": password + "-2",
                "current_password": password,
            },
        )
        assert changed.status_code == 204, changed.text
        secrets.add("password", password + "-2")
        # A token the server refuses (logged as refused), and an unknown path under a token.
        unknown = "ab" * 36
        secrets.add("refused device token", unknown)
        refused = await api.post(f"tokens/{unknown}/actions/logout", token=unknown)
        assert refused.status_code == 401
        assert (await api.get(f"tokens/{api.token}/no-such-thing")).status_code == 404
        assert (await api.post(f"tokens/{api.token}/actions/logout")).status_code == 204
        # Legacy Basic credentials carry the token too.
        again = await client.post(
            api.url("tokens"),
            json=token_body(),
            headers=basic(user),
        )
        assert again.status_code == 201, again.text
        second = again.json()["data"]["token_id"]
        secrets.add("device token", second)
        languages = await client.get(api.url("stores"), headers=basic(user, second))
        assert languages.status_code == 200, languages.text


async def _brandchannel(
    server: LiveServer, credentials: dict[str, str], secrets: Secrets, emails: list[str]
) -> None:
    key = credentials["api_key"]
    secrets.add("API key", key)
    email = f"brand.{uuid.uuid4().hex[:10]}@example.org"
    emails.append(email)
    async with httpx.AsyncClient(
        base_url=f"{server.base_url}/api/v2/", timeout=HTTP_TIMEOUT, trust_env=False
    ) as client:
        headers = {"apiKey": key}
        created = await client.post(
            "customer",
            data={"brand_id": "1", "primary_id": "LOG-1", "firstname": "Bea", "extra_email": email},
            headers=headers,
        )
        assert created.status_code == 200, created.text
        customer_id = created.json()["id"]
        assert (await client.get(f"customer/{customer_id}", headers=headers)).status_code == 200
        found = await client.post(
            "customer/SearchByCustomerChannelValue",
            data={"customerChannelValue": email},
            headers=headers,
        )
        assert found.status_code == 200, found.text
        refused = await client.get("customer", headers={"apiKey": key + "x"})
        assert refused.status_code == 401
        purged = await client.delete(f"customer/{customer_id}/purgeData", headers=headers)
        assert purged.status_code == 200, purged.text


async def _password_hashes(database_url: str) -> list[str]:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT password_hash FROM customers WHERE password_hash IS NOT NULL")
            )
            return [row[0] for row in rows]
    finally:
        await engine.dispose()


async def test_the_log_at_debug_holds_no_secret_of_a_full_flow(
    debug_server: tuple[LiveServer, LiveTenant, dict[str, str]], database_url: str
) -> None:
    server, tenant, credentials = debug_server
    secrets = Secrets()
    emails: list[str] = []
    await _spektrix(server, tenant, secrets, emails)
    await _carecloud(server, tenant, credentials, secrets, emails)
    await _brandchannel(server, credentials, secrets, emails)
    hashes = await _password_hashes(database_url)
    assert hashes
    for value in hashes:
        secrets.add("password hash", value)
        secrets.add("password hash (its salt and digest)", value.rsplit("$", 2)[-1])
    for address in emails:
        secrets.add("email", address)
        secrets.add("email (its local part)", address.split("@")[0])

    log = server.log_path.read_text(errors="replace")
    assert log.count('"event": "request"') >= 30, log[-2000:]  # the flow was logged
    leaked = sorted(what for what, value in secrets.found.items() if value in log)
    assert not leaked, "\n".join(leaked)
