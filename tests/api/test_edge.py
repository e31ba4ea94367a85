"""The edge (``api/common/edge.py``, decision 0090) through the whole application: which hosts
are served, where links in mail point, the client's address behind proxies, and which
``Authorization`` values exempt a browser's write from the cross-site check (issue 15,
findings 1, 9 and 14).

The apps here run with the settings an operator gets by default (no public URLs, no allowed
hosts, no trusted proxies) unless a test says otherwise, so the test client talks to
``http://localhost`` as ``make demo``'s browser does.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from boxoffice.api.app import create_app
from boxoffice.api.common.edge import Edge
from boxoffice.bootstrap import Core
from boxoffice.services import catalogue
from boxoffice.services import tenants as tenant_service
from boxoffice.settings import Settings
from tests.api.carecloud.support import Api, token_body
from tests.api.web.conftest import ORIGIN, mailed_link, outbox
from tests.conftest import Signer
from tests.web.test_pages import csrf_of, page

LOCAL = "http://localhost"
ATTACKER = "attacker.example"
FOREIGN_ORIGIN = "https://evil.example"
PASSWORD = "Correct horse battery 1"
BAD_HOST = "does not answer for that host"


@asynccontextmanager
async def serving(
    settings: Settings, core: Core, base_url: str = LOCAL, **changes: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the whole application with ``settings`` as an operator would set them:
    the tests' own allowed host (``testserver``) removed, ``changes`` applied."""
    app = create_app(settings.model_copy(update={"allowed_hosts": [], **changes}))
    app.state.core = core
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=base_url
    ) as client:
        yield client


async def sign_up(client: httpx.AsyncClient, tenant: str, email: str) -> None:
    response = await client.post(
        f"/{tenant}/api/v3/customer",
        json={"firstName": "Ada", "lastName": "Lovelace", "email": email, "password": PASSWORD},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 201, response.text
    client.cookies.clear()


def refused_for_its_host(response: httpx.Response) -> bool:
    return response.status_code == 400 and BAD_HOST in response.text


# --- finding 1: links in mail never follow a forged Host --------------------------------------


async def test_magic_link_to_a_forged_host_never_reaches_mail(
    settings: Settings, core: Core, tenant: tuple[str, int]
) -> None:
    """The penetration test's exploit: ``Host: attacker.example`` and a callback on it."""
    async with serving(settings, core) as client:
        await sign_up(client, tenant[0], "ada@example.org")
        response = await client.post(
            f"/{tenant[0]}/api/v3/customer/send-magic-link",
            json={
                "email": "ada@example.org",
                "callbackUrl": f"http://{ATTACKER}/steal?t={{token}}",
            },
            headers={"Host": ATTACKER, "Origin": ORIGIN},
        )
    assert refused_for_its_host(response), response.text
    assert outbox(settings) == []


@pytest.mark.parametrize("trusted", [False, True])
async def test_a_forwarded_host_is_checked_like_host(
    settings: Settings, core: Core, tenant: tuple[str, int], trusted: bool
) -> None:
    """``X-Forwarded-Host`` from anyone but a trusted proxy is not read (the callback is then
    not on an allowed site); from a trusted proxy it is the host, and must be a served one."""
    changes = {"trusted_proxies": ["127.0.0.1"]} if trusted else {}
    async with serving(settings, core, **changes) as client:
        await sign_up(client, tenant[0], "ada@example.org")
        response = await client.post(
            f"/{tenant[0]}/api/v3/customer/send-magic-link",
            json={
                "email": "ada@example.org",
                "callbackUrl": f"http://{ATTACKER}/steal?t={{token}}",
            },
            headers={"X-Forwarded-Host": ATTACKER, "Origin": ORIGIN},
        )
    assert response.status_code == 400, response.text
    assert refused_for_its_host(response) is trusted
    assert outbox(settings) == []


async def test_password_reset_by_api_to_a_forged_host_never_reaches_mail(
    settings: Settings, core: Core, tenant: tuple[str, int]
) -> None:
    async with serving(settings, core) as client:
        await sign_up(client, tenant[0], "ada@example.org")
        response = await client.post(
            f"/{tenant[0]}/api/v3/customer/forgot-password?emailAddress=ada@example.org",
            headers={"Host": ATTACKER, "Origin": ORIGIN},
        )
    assert refused_for_its_host(response), response.text
    assert outbox(settings) == []


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("secure/ForgotPassword.aspx", {"Email": "ada@example.org"}),
        ("secure/LoginLogout.aspx", {"action": "magic", "MagicEmail": "ada@example.org"}),
    ],
)
async def test_page_forms_to_a_forged_host_never_reach_mail(
    settings: Settings,
    core: Core,
    tenant: tuple[str, int],
    path: str,
    fields: dict[str, str],
) -> None:
    """The form token is fetched from the real host (as an attacker can), then posted with
    the forged one."""
    url = page(tenant[0], path)
    async with serving(settings, core) as client:
        await sign_up(client, tenant[0], "ada@example.org")
        form = await client.get(url)
        response = await client.post(
            url, data={"_csrf": csrf_of(form.text), **fields}, headers={"Host": ATTACKER}
        )
        assert refused_for_its_host(response), response.text
        assert outbox(settings) == []
        # The same post on the real host mails a link to the real host.
        sent = await client.post(url, data={"_csrf": csrf_of(form.text), **fields})
    assert sent.status_code == 303, sent.text
    (message,) = outbox(settings)
    assert mailed_link(message).startswith(f"{LOCAL}/{tenant[0]}/website/")


async def test_carecloud_password_setup_mail_to_a_forged_host_never_reaches_mail(
    settings: Settings, core: Core, tenant: tuple[str, int]
) -> None:
    async with serving(settings, core) as client:
        api = Api(client, tenant[0])
        api.token = await api.new_token()
        await api.logged_in()
        response = await api.post(
            f"tokens/{api.token}/actions/send-password-setup-email",
            {},
            headers={"Host": ATTACKER},
        )
        assert refused_for_its_host(response), response.text
        assert outbox(settings) == []
        sent = await api.post(f"tokens/{api.token}/actions/send-password-setup-email", {})
    assert sent.status_code == 204, sent.text
    (message,) = outbox(settings)
    assert mailed_link(message).startswith(f"{LOCAL}/{tenant[0]}/website/Secure/SetPassword")


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST."]
)
async def test_without_public_urls_the_loopback_names_are_served_and_linked(
    settings: Settings, core: Core, tenant: tuple[str, int], host: str
) -> None:
    """``make demo`` out of the box: a browser on ``http://localhost:8000``."""
    async with serving(settings, core) as client:
        await sign_up(client, tenant[0], "ada@example.org")
        response = await client.post(
            f"/{tenant[0]}/api/v3/customer/forgot-password?emailAddress=ada@example.org",
            headers={"Host": host, "Origin": ORIGIN},
        )
    assert response.status_code == 204, response.text
    (message,) = outbox(settings)
    assert mailed_link(message).startswith(f"http://{host}/{tenant[0]}/website/")


@pytest.mark.parametrize(
    "host", ["tickets.example.org", "Tickets.Example.org:443", "localhost", "box.internal"]
)
async def test_with_public_urls_links_use_them_whatever_the_host(
    settings: Settings, core: Core, tenant: tuple[str, int], host: str
) -> None:
    async with serving(
        settings,
        core,
        public_urls=["https://tickets.example.org/", "https://www.example.net"],
        allowed_hosts=["box.internal"],
    ) as client:
        await sign_up(client, tenant[0], "ada@example.org")
        response = await client.post(
            f"/{tenant[0]}/api/v3/customer/forgot-password?emailAddress=ada@example.org",
            headers={"Host": host, "Origin": ORIGIN},
        )
        assert response.status_code == 204, response.text
        refused = await client.get(f"/{tenant[0]}/api/v3/tag-groups", headers={"Host": ATTACKER})
        assert refused_for_its_host(refused)
    (message,) = outbox(settings)
    assert mailed_link(message).startswith(f"https://tickets.example.org/{tenant[0]}/website/")


async def test_with_several_public_urls_a_link_follows_the_one_addressed(
    settings: Settings, core: Core, tenant: tuple[str, int]
) -> None:
    urls = ["https://tickets.example.org", "https://www.example.net/"]
    async with serving(settings, core, public_urls=urls) as client:
        await sign_up(client, tenant[0], "ada@example.org")
        response = await client.post(
            f"/{tenant[0]}/api/v3/customer/forgot-password?emailAddress=ada@example.org",
            headers={"Host": "www.example.net", "Origin": ORIGIN},
        )
    assert response.status_code == 204, response.text
    (message,) = outbox(settings)
    assert mailed_link(message).startswith(f"https://www.example.net/{tenant[0]}/website/")


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/docs/spektrix",
        "/openapi/spektrix.json",
        "/webcomponents/stable/spektrix-api.js",
        "/{tenant}/api/v3/tag-groups",
        "/{tenant}/website/secure/signup.aspx",
        "/{tenant}/webservice/rest-api/customer-interface/v1.0/tokens",
        "/api/v2/customers",
        "/no/such/route",
    ],
)
async def test_every_route_refuses_a_host_it_does_not_serve(
    settings: Settings, core: Core, tenant: tuple[str, int], path: str
) -> None:
    async with serving(settings, core) as client:
        response = await client.get(path.format(tenant=tenant[0]), headers={"Host": ATTACKER})
    assert refused_for_its_host(response), response.text
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
async def test_probes_answer_whatever_the_host(settings: Settings, core: Core, path: str) -> None:
    """Load balancers and orchestrators call them by address (``Host: 10.0.0.7:8000``)."""
    async with serving(settings, core, public_urls=["https://tickets.example.org"]) as client:
        response = await client.get(path, headers={"Host": "10.0.0.7:8000"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("host", ["", "a b", "localhost@attacker.example", "localhost:80x"])
async def test_a_malformed_host_is_refused(settings: Settings, core: Core, host: str) -> None:
    async with serving(settings, core) as client:
        response = await client.get("/", headers={"Host": host})
    assert refused_for_its_host(response), response.text


async def test_signed_requests_to_the_vendor_host_are_served_but_never_linked_to_it(
    settings: Settings, core: Core, owner_api: Signer
) -> None:
    """Spektrix clients that hard-code ``system.spektrix.com`` send it as ``Host``: served
    when signed (the signature decides the rest), and never a host for links."""
    vendor = "system.spektrix.com"
    tenant = owner_api.tenant
    async with serving(settings, core) as client:
        await sign_up(client, tenant, "ada@example.org")
        api = Signer(client, tenant, owner_api.login, owner_api.secret)
        url = f"https://{vendor}/{tenant}/api/v3/tag-groups"
        signed = await client.get(
            f"/{tenant}/api/v3/tag-groups",
            headers={**api.headers("GET", url, None), "Host": vendor},
        )
        assert signed.status_code == 200, signed.text
        web_mode = await client.get(f"/{tenant}/api/v3/tag-groups", headers={"Host": vendor})
        assert refused_for_its_host(web_mode)
        claimed = await client.post(
            f"/{tenant}/api/v3/customer/forgot-password?emailAddress=ada@example.org",
            headers={"Host": vendor, "Authorization": "SpektrixAPI3 any:thing"},
        )
    assert claimed.status_code == 204, claimed.text
    (message,) = outbox(settings)
    assert vendor not in mailed_link(message)


# --- finding 9: the client's address, scheme and host behind proxies --------------------------


async def _login_statuses(
    client: httpx.AsyncClient, tenant: str, forwarded_for: list[str]
) -> list[int]:
    statuses = []
    for i, chain in enumerate(forwarded_for):
        response = await client.post(
            f"/{tenant}/api/v3/customer/authenticate",
            json={"email": f"nobody{i}@example.org", "password": "wrong password"},
            headers={"Origin": ORIGIN, "X-Forwarded-For": chain},
        )
        statuses.append(response.status_code)
    return statuses


@pytest.mark.parametrize(
    "changes",
    [{"trusted_proxies": ["127.0.0.1", "10.0.0.0/8"]}, {"trust_proxy_headers": True}],
    ids=["trusted_proxies", "trust_proxy_headers"],
)
async def test_rate_limits_key_on_the_address_the_trusted_proxy_saw(
    settings: Settings,
    core: Core,
    tenant: tuple[str, int],
    changes: dict[str, Any],
) -> None:
    """A client that writes its own ``X-Forwarded-For`` gets our proxy's entry appended:
    rotating the leftmost entry changes nothing (it used to be the address)."""
    await catalogue.load_catalogue(
        core, tenant[0], {"settings": {"rate_limits": {"login_per_ip": "2/minute"}}}
    )
    async with serving(settings, core, **changes) as client:
        spoofed = [f"198.51.100.{i}, 203.0.113.7" for i in range(3)]
        assert (await _login_statuses(client, tenant[0], spoofed))[2:] == [429]
        other = await _login_statuses(client, tenant[0], ["198.51.100.0, 203.0.113.8"])
    assert other != [429]


async def test_without_a_trusted_proxy_forwarded_headers_are_not_read(
    settings: Settings, core: Core, tenant: tuple[str, int]
) -> None:
    """The peer (127.0.0.1 here) is not one of the trusted proxies."""
    await catalogue.load_catalogue(
        core, tenant[0], {"settings": {"rate_limits": {"login_per_ip": "2/minute"}}}
    )
    async with serving(settings, core, trusted_proxies=["10.0.0.0/8"]) as client:
        statuses = await _login_statuses(client, tenant[0], [f"203.0.113.{i}" for i in range(3)])
        assert statuses[2:] == [429]
        response = await client.post(
            f"/{tenant[0]}/api/v3/customer",
            json={
                "firstName": "A",
                "lastName": "B",
                "email": "a@example.org",
                "password": PASSWORD,
            },
            headers={"Origin": ORIGIN, "X-Forwarded-Proto": "https"},
        )
    assert response.status_code == 201, response.text
    assert "secure" not in response.headers["set-cookie"].lower()


async def test_a_trusted_proxy_says_the_scheme_and_host(
    settings: Settings, core: Core, tenant: tuple[str, int]
) -> None:
    async with serving(
        settings,
        core,
        trusted_proxies=["127.0.0.1"],
        allowed_hosts=["tickets.example.org"],
    ) as client:
        response = await client.post(
            f"/{tenant[0]}/api/v3/customer",
            json={
                "firstName": "A",
                "lastName": "B",
                "email": "a@example.org",
                "password": PASSWORD,
            },
            headers={
                "Origin": "https://tickets.example.org",
                "X-Forwarded-Proto": "http, https",
                "X-Forwarded-Host": "evil.example, tickets.example.org",
                "X-Forwarded-For": "203.0.113.7",
            },
        )
        assert response.status_code == 201, response.text
        cookie = response.headers["set-cookie"].lower()
        assert "secure" in cookie and "samesite=none" in cookie
        # The instance's own origin is the forwarded one: CORS granted to it.
        assert response.headers["access-control-allow-origin"] == "https://tickets.example.org"
        client.cookies.clear()
        reset = await client.post(
            f"/{tenant[0]}/api/v3/customer/forgot-password?emailAddress=a@example.org",
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "tickets.example.org"},
        )
    assert reset.status_code == 204, reset.text
    (message,) = outbox(settings)
    assert mailed_link(message).startswith(f"https://tickets.example.org/{tenant[0]}/")


async def test_signatures_check_the_url_a_trusted_proxy_was_called_with(
    settings: Settings, core: Core, owner_api: Signer
) -> None:
    public = "https://tickets.example.org"
    signed_url = f"{public}/{owner_api.tenant}/api/v3/tag-groups"
    for trusted, expected in ((["127.0.0.1"], 200), (["10.0.0.1"], 401)):
        async with serving(
            settings, core, trusted_proxies=trusted, allowed_hosts=["tickets.example.org"]
        ) as client:
            api = Signer(client, owner_api.tenant, owner_api.login, owner_api.secret)
            response = await client.get(
                f"/{owner_api.tenant}/api/v3/tag-groups",
                headers={
                    **api.headers("GET", signed_url, None),
                    "X-Forwarded-Proto": "https",
                    "X-Forwarded-Host": "tickets.example.org",
                },
            )
        assert response.status_code == expected, (trusted, response.text)


# --- finding 14: only the dialect's own credentials exempt a write from the cross-site check --


@pytest.mark.parametrize("authorization", ["Bearer x", "junk", "Basic eDp5", ""])
async def test_spektrix_refuses_a_foreign_write_with_another_authorization(
    http: httpx.AsyncClient, tenant: tuple[str, int], authorization: str
) -> None:
    response = await http.post(
        f"/{tenant[0]}/api/v3/customer",
        json={"firstName": "A", "lastName": "B", "email": "a@example.org", "password": PASSWORD},
        headers={"Origin": FOREIGN_ORIGIN, "Authorization": authorization},
    )
    assert response.status_code == 403, response.text


async def test_spektrix_signed_writes_from_any_origin_still_work(owner_api: Signer) -> None:
    url = owner_api.url("customers")
    body = b'{"firstName": "A", "lastName": "B", "email": "signed@example.org"}'
    response = await owner_api.client.post(
        url,
        content=body,
        headers={**owner_api.headers("POST", url, body), "Origin": FOREIGN_ORIGIN},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("authorization", ["junk", "SpektrixAPI3 a:b", "Basic !!!", "Digest x"])
async def test_carecloud_refuses_a_foreign_write_with_another_authorization(
    http: httpx.AsyncClient, tenant: tuple[str, int], authorization: str
) -> None:
    api = Api(http, tenant[0])
    response = await http.post(
        api.url("tokens"),
        json=token_body(),
        headers={"Origin": FOREIGN_ORIGIN, "Authorization": authorization},
    )
    assert response.status_code == 403, response.text


async def test_carecloud_basic_and_bearer_from_any_origin_still_work(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    await tenant_service.create_interface_user(core, tenant[0], "customer_interface")
    api = Api(http, tenant[0])
    basic = base64.b64encode(b"customer_interface:").decode()
    created = await http.post(
        api.url("tokens"),
        json=token_body(),
        headers={"Origin": FOREIGN_ORIGIN, "Authorization": f"Basic {basic}"},
    )
    assert created.status_code == 201, created.text
    api.token = created.json()["data"]["token_id"]
    changed = await api.put(
        f"tokens/{api.token}",
        {"setup": {"language_id": "cs", "allowed_gps": False, "allowed_notifications": True}},
        headers={"Origin": FOREIGN_ORIGIN},
    )
    assert changed.status_code == 204, changed.text


async def test_pages_take_no_authorization_as_a_reason_to_skip_the_check(
    http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    url = page(tenant[0], "secure/LoginLogout.aspx")
    form = await http.get(url)
    response = await http.post(
        url,
        data={"_csrf": csrf_of(form.text), "Email": "a@example.org", "Password": "x"},
        headers={"Origin": FOREIGN_ORIGIN, "Authorization": "SpektrixAPI3 a:b"},
    )
    assert response.status_code == 403


# --- the edge alone, on ASGI scopes ------------------------------------------------------------


def _scope(peer: str, *headers: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": "http",
        "client": (peer, 51000),
        "headers": [(k.encode(), v.encode()) for k, v in headers],
    }


def _edge(**settings: Any) -> Edge:
    return Edge(Settings(secret_key="x", **settings))


@pytest.mark.parametrize(
    ("forwarded_for", "client"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the leftmost is the client's to write
        ("198.51.100.1, 203.0.113.7, 10.0.0.2", "203.0.113.7"),  # through two of our proxies
        ("203.0.113.7:4711, 10.0.0.2", "203.0.113.7"),
        ("[2001:db8::7]:4711, 10.0.0.2", "2001:db8::7"),
        ("10.0.0.3, 10.0.0.2", "10.0.0.3"),  # the client is one of the proxies
        ("unknown, 10.0.0.2", "unknown"),
        (" , ", "10.0.0.1"),  # nothing usable: the peer stays
    ],
)
def test_the_client_is_the_rightmost_address_that_is_not_a_trusted_proxy(
    forwarded_for: str, client: str
) -> None:
    scope = _scope("10.0.0.1", ("host", "localhost"), ("x-forwarded-for", forwarded_for))
    assert _edge(trusted_proxies=["10.0.0.0/24"]).resolve(scope) == "localhost"
    assert scope["client"][0] == client


def test_several_forwarded_for_headers_are_one_list() -> None:
    scope = _scope(
        "10.0.0.1",
        ("host", "localhost"),
        ("x-forwarded-for", "203.0.113.7"),
        ("x-forwarded-for", "198.51.100.1"),
    )
    _edge(trusted_proxies=["10.0.0.1"]).resolve(scope)
    assert scope["client"][0] == "198.51.100.1"


def test_an_untrusted_peer_is_the_client_whatever_it_forwards() -> None:
    headers = (
        ("host", "localhost:8000"),
        ("x-forwarded-for", "203.0.113.7"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "tickets.example.org"),
    )
    for edge in (_edge(), _edge(trusted_proxies=["10.0.0.0/8"])):
        scope = _scope("127.0.0.1", *headers)
        assert edge.resolve(scope) == "localhost"
        assert scope["client"] == ("127.0.0.1", 51000) and scope["scheme"] == "http"
        assert (b"host", b"localhost:8000") in scope["headers"]


def test_the_deprecated_flag_trusts_the_peer_and_takes_the_entry_it_wrote() -> None:
    scope = _scope(
        "192.0.2.1",
        ("host", "localhost"),
        ("x-forwarded-for", "198.51.100.1, 203.0.113.7"),
        ("x-forwarded-proto", "https"),
    )
    _edge(trust_proxy_headers=True).resolve(scope)
    assert scope["client"][0] == "203.0.113.7" and scope["scheme"] == "https"


def test_a_trusted_proxy_sets_scheme_and_host_from_its_own_entries() -> None:
    scope = _scope(
        "::1",
        ("host", "127.0.0.1:8000"),
        ("x-forwarded-proto", "http, https"),
        ("x-forwarded-host", "evil.example, Tickets.Example.org"),
    )
    assert _edge(trusted_proxies=["::1"]).resolve(scope) == "tickets.example.org"
    assert scope["scheme"] == "https"
    hosts = [v for k, v in scope["headers"] if k == b"host"]
    assert hosts == [b"Tickets.Example.org"]


def test_an_unknown_forwarded_scheme_is_ignored() -> None:
    scope = _scope("10.0.0.1", ("host", "localhost"), ("x-forwarded-proto", "gopher"))
    _edge(trusted_proxies=["10.0.0.1"]).resolve(scope)
    assert scope["scheme"] == "http"


@pytest.mark.parametrize(
    ("headers", "host"),
    [
        ((("host", "localhost"), ("host", "attacker.example")), None),
        ((), None),
        ((("host", "LocalHost.:80"),), "localhost"),
        ((("host", "localhost/x"),), None),
    ],
)
def test_the_host_is_one_well_formed_host_header(
    headers: tuple[tuple[str, str], ...], host: str | None
) -> None:
    assert _edge().resolve(_scope("127.0.0.1", *headers)) == host


def test_accepted_hosts() -> None:
    edge = _edge(public_urls=["https://Tickets.Example.org/"], allowed_hosts=["box.internal:80"])
    assert edge.hosts == {"localhost", "127.0.0.1", "::1", "tickets.example.org", "box.internal"}
    assert not edge.accepts(None) and not edge.accepts("attacker.example")


@pytest.mark.parametrize(
    "settings",
    [
        {"trusted_proxies": ["10.0.0.0/33"]},
        {"trusted_proxies": ["proxy.internal"]},
        {"allowed_hosts": ["https://box.internal"]},
        {"public_urls": ["tickets.example.org"]},
    ],
)
def test_bad_settings_are_refused_at_start(settings: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Settings(secret_key="x", **settings)
