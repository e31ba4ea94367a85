"""Web mode: sign-up, login, the logged-in customer, logout, passwords, magic links."""

from __future__ import annotations

import httpx
import pytest

from boxoffice.bootstrap import Core
from boxoffice.services import accounts
from boxoffice.services import customers as customer_service
from boxoffice.settings import Settings
from tests.api.web.conftest import ORIGIN, Site, mailed_link, outbox, token_of

PASSWORD = "Correct horse battery 1"


async def _ids(site: Site) -> tuple[dict[str, str], dict[str, str]]:
    groups = (await site.get("tag-groups")).json()
    statements = (await site.get("statements")).json()
    return (
        {t["name"]: t["id"] for g in groups for t in g["tags"]},
        {s["text"]: s["id"] for s in statements},
    )


async def _sign_up(site: Site, email: str = "ada@example.org", **extra: object) -> httpx.Response:
    body = {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": email,
        "password": PASSWORD,
        **extra,
    }
    return await site.post("customer", body)


async def test_sign_up_with_everything_and_be_logged_in(site: Site) -> None:
    tags, statements = await _ids(site)
    response = await site.post(
        "customer?$expand=tags,agreedStatements",
        {
            "FirstName": "Ada",
            "LastName": "Lovelace",
            "Email": "ada@example.org",
            "Password": PASSWORD,
            "BirthDate": "1990-01-31",
            "Tags": [tags["Drama"], tags["Website Form"]],
            "AgreedStatements": [statements["Email updates from Demo Theatre"]],
            "Attribute_Favourite Genre": "Drama",
            "Addresses": [{"line1": "1 Theatre Square", "town": "London", "country": "GB"}],
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert [t["name"] for t in body["tags"]] == ["Drama", "Website Form"]
    assert [s["text"] for s in body["agreedStatements"]] == ["Email updates from Demo Theatre"]
    assert body["attribute_FavouriteGenre"] == "Drama" and body["passwordSet"] is True
    assert "attribute_Testfield" not in body  # hidden attributes stay hidden in web mode
    cookie = response.headers["set-cookie"]
    assert "boxoffice_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert f"Path=/{site.tenant}/" in cookie
    me = await site.get("customer")
    assert me.status_code == 200 and me.json()["id"] == body["id"]
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"


async def test_sign_up_without_password_does_not_log_in(site: Site) -> None:
    response = await site.post(
        "customer", {"firstName": "A", "lastName": "B", "email": "a@example.org"}
    )
    assert response.status_code == 201
    assert "set-cookie" not in response.headers
    assert (await site.get("customer")).status_code == 401


async def test_sign_up_refusals_write_nothing(site: Site, core: Core, owner: object) -> None:
    from boxoffice.domain.ids import resource_code

    async with core.uow(owner.tenant_id) as uow:  # type: ignore[attr-defined]
        vip = next(t.id for t in await uow.catalogue.tags() if t.name == "VIP")
    assert (await _sign_up(site)).status_code == 201
    duplicate = await _sign_up(site, "ADA@example.org")
    assert duplicate.status_code == 400
    assert duplicate.json() == {
        "resourceType": "Customer",
        "resourceIdentifiers": ["ADA@example.org"],
        "errorCode": 3,
        "message": "Duplicate Entry",
    }
    honeypot = await _sign_up(site, "bot@example.org", website="http://spam.example")
    assert honeypot.status_code == 400 and "website" in honeypot.json()["message"]
    internal = await _sign_up(site, "vip@example.org", tags=[resource_code("tag", vip)])
    assert internal.status_code == 400
    for email in ("bot@example.org", "vip@example.org"):
        with pytest.raises(Exception, match="not found"):
            await customer_service.find_customer_by_email(core, owner, email)  # type: ignore[arg-type]


async def test_sign_up_is_rate_limited_per_ip(site: Site) -> None:
    for i in range(10):
        assert (await _sign_up(site, f"user{i}@example.org")).status_code == 201
    refused = await _sign_up(site, "eleventh@example.org")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert refused.headers["access-control-allow-origin"] == ORIGIN  # the page can read why


async def test_login_logout_and_the_current_customer(site: Site) -> None:
    await _sign_up(site)
    site.client.cookies.clear()
    assert (await site.get("customer")).status_code == 401
    wrong = await site.post(
        "customer/authenticate", {"email": "ada@example.org", "password": "nope-nope"}
    )
    unknown = await site.post(
        "customer/authenticate", {"email": "who@example.org", "password": PASSWORD}
    )
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()
    ok = await site.post(
        "customer/authenticate?$expand=tags", {"email": "ADA@example.org", "password": PASSWORD}
    )
    assert ok.status_code == 200 and ok.json()["tags"] == []
    changed = await site.send(
        "PATCH", "customer", {"firstName": "Augusta", "Attribute_Heard About Us": "Radio"}
    )
    assert (
        changed.json()["firstName"] == "Augusta"
        and changed.json()["attribute_HeardAboutUs"] == "Radio"
    )
    out = await site.post("customer/deauthenticate")
    assert out.status_code == 204 and "boxoffice_session=" in out.headers["set-cookie"]
    assert (await site.get("customer")).status_code == 401


async def test_login_rotates_the_session(site: Site) -> None:
    await _sign_up(site)
    first = site.client.cookies.get("boxoffice_session")
    await site.post("customer/authenticate", {"email": "ada@example.org", "password": PASSWORD})
    second = site.client.cookies.get("boxoffice_session")
    assert first and second and first != second
    stale = await site.client.get(
        site.url("customer"), headers={"Cookie": f"boxoffice_session={first}"}
    )
    assert stale.status_code == 401


async def test_cookies_are_secure_over_https(
    http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    site = Site(http, tenant[0])
    response = await http.post(
        f"https://testserver/{tenant[0]}/api/v3/customer",
        json={"firstName": "A", "lastName": "B", "email": "s@example.org", "password": PASSWORD},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 201
    cookie = response.headers["set-cookie"]
    assert "Secure" in cookie and "SameSite=none" in cookie and "HttpOnly" in cookie
    del site


async def test_change_password_ends_other_sessions(site: Site, http: httpx.AsyncClient) -> None:
    await _sign_up(site)
    other_browser = site.client.cookies.get("boxoffice_session")
    wrong = await site.post(
        "customer/change-password", {"oldPassword": "nope-nope", "newPassword": "N3w password"}
    )
    assert wrong.status_code == 400 and "oldPassword" in wrong.json()["message"]
    short = await site.post(
        "customer/change-password", {"oldPassword": PASSWORD, "newPassword": "short"}
    )
    assert short.status_code == 400
    ok = await site.post(
        "customer/change-password", {"oldPassword": PASSWORD, "newPassword": "N3w password"}
    )
    assert ok.status_code == 204
    assert (await site.get("customer")).status_code == 200  # this browser got a fresh session
    stale = await http.get(
        site.url("customer"), headers={"Cookie": f"boxoffice_session={other_browser}"}
    )
    assert stale.status_code == 401
    site.client.cookies.clear()
    again = await site.post(
        "customer/authenticate", {"email": "ada@example.org", "password": "N3w password"}
    )
    assert again.status_code == 200


async def test_forgot_password_mails_a_single_use_link(site: Site, settings: Settings) -> None:
    await _sign_up(site)
    site.client.cookies.clear()
    missing = await site.post("customer/forgot-password?emailAddress=nobody@example.org")
    assert missing.status_code == 404
    sent = await site.client.post(
        site.url("customer/forgot-password"),
        content="emailAddress=ada%40example.org",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": ORIGIN},
    )
    assert sent.status_code == 204, sent.text
    (message,) = outbox(settings)
    assert message["To"] == "ada@example.org" and "password" in message["Subject"].lower()
    link = mailed_link(message)
    assert f"/{site.tenant}/website/Secure/SetPassword.aspx?token=" in link
    path = link.split("testserver", 1)[1]
    page = await site.client.get(path)
    assert page.status_code == 200 and 'name="password"' in page.text
    form = {"token": token_of(link), "password": "Brand new pw 1", "confirm": "Brand new pw 1"}
    done = await site.client.post(path.split("?")[0], data=form)
    assert done.status_code == 200 and "has been set" in done.text
    reused = await site.client.post(path.split("?")[0], data=form)
    assert reused.status_code == 400 and "expired" in reused.text
    login = await site.post(
        "customer/authenticate", {"email": "ada@example.org", "password": "Brand new pw 1"}
    )
    assert login.status_code == 200


async def test_forgot_password_is_rate_limited_per_account(site: Site, settings: Settings) -> None:
    await _sign_up(site)
    for _ in range(3):
        assert (
            await site.post("customer/forgot-password?emailAddress=ada@example.org")
        ).status_code == 204
    assert (
        await site.post("customer/forgot-password?emailAddress=ada@example.org")
    ).status_code == 429
    assert len(outbox(settings)) == 3


async def test_magic_link(site: Site, settings: Settings) -> None:
    await _sign_up(site)
    site.client.cookies.clear()
    no_placeholder = await site.post(
        "customer/send-magic-link", {"email": "ada@example.org", "callbackUrl": f"{ORIGIN}/login"}
    )
    assert no_placeholder.status_code == 400
    foreign = await site.post(
        "customer/send-magic-link",
        {"email": "ada@example.org", "callbackUrl": "https://evil.example/?t={token}"},
    )
    assert foreign.status_code == 400 and "callbackUrl" in foreign.json()["message"]
    unknown = await site.post(
        "customer/send-magic-link",
        {"email": "who@example.org", "callbackUrl": f"{ORIGIN}/login?token={{token}}"},
    )
    assert unknown.status_code == 204 and outbox(settings) == []
    sent = await site.post(
        "customer/send-magic-link",
        {"email": "ada@example.org", "callbackUrl": f"{ORIGIN}/login?token={{token}}"},
    )
    assert sent.status_code == 204
    link = mailed_link(outbox(settings)[0])
    assert link.startswith(f"{ORIGIN}/login?token=")
    ok = await site.post("customer/authenticate-magic-link", {"token": token_of(link)})
    assert ok.status_code == 200 and ok.json()["email"] == "ada@example.org"
    assert (await site.get("customer")).status_code == 200
    again = await site.post("customer/authenticate-magic-link", {"token": token_of(link)})
    assert again.status_code == 400


async def test_failed_logins_slow_down_then_lock_but_a_reset_unlocks(
    site: Site, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounts, "SLOWDOWN_SECONDS", 0.0)
    await _sign_up(site)
    site.client.cookies.clear()
    for _ in range(10):
        response = await site.post(
            "customer/authenticate", {"email": "ada@example.org", "password": "wrong-wrong"}
        )
        assert response.status_code == 404
    locked = await site.post(
        "customer/authenticate", {"email": "ada@example.org", "password": PASSWORD}
    )
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    # The lock holds the login form only: a magic link still works.
    await site.post(
        "customer/send-magic-link",
        {"email": "ada@example.org", "callbackUrl": f"{ORIGIN}/?t={{token}}"},
    )
    link = mailed_link(outbox(settings)[0])
    token = link.rsplit("=", 1)[1]
    assert (
        await site.post("customer/authenticate-magic-link", {"token": token})
    ).status_code == 200


async def test_self_service_statements_and_addresses(
    site: Site, core: Core, tenant: tuple[str, int]
) -> None:
    _, statements = await _ids(site)
    created = (await _sign_up(site)).json()
    email, post, partners = statements.values()
    assert (
        await site.post("customer/agreed-statements", [{"id": email}, {"id": post}])
    ).status_code == 200
    replaced = await site.send("PUT", "customer/agreed-statements", [{"id": partners}])
    assert [s["id"] for s in replaced.json()] == [partners]
    assert (await site.send("DELETE", f"customer/agreed-statements/{partners}")).status_code == 204
    assert (await site.get("customer/agreed-statements")).json() == []
    address = (await site.post("customer/addresses", {"line1": "1 Street", "town": "Leeds"})).json()
    assert address["isBilling"] and address["isDelivery"]
    patched = await site.send("PATCH", f"customer/addresses/{address['id']}", {"town": "York"})
    assert patched.json()["town"] == "York"
    assert (await site.send("DELETE", f"customer/addresses/{address['id']}")).status_code == 204
    assert (await site.get("customer/addresses")).json() == []
    from boxoffice.domain.ids import parse_customer_code
    from boxoffice.domain.principal import Principal

    owner = Principal(tenant_id=tenant[1], actor="t", full_access=True)
    key = parse_customer_code(created["id"])
    assert key is not None
    kinds = [e.kind for e in await customer_service.get_timeline(core, owner, key)]
    assert kinds[:2] == ["created", "logged_in"]
    assert kinds.count("consent_changed") == 3 and "address_added" in kinds


async def test_my_orders_are_an_empty_list_until_i_buy(site: Site) -> None:
    """``GET customer/orders`` answers ``[]`` for a logged-in customer without orders (not
    404), and 401 when nobody is logged in."""
    assert (await site.get("customer/orders")).status_code == 401
    assert (await _sign_up(site)).status_code == 201
    mine = await site.get("customer/orders")
    assert mine.status_code == 200, mine.text
    assert mine.json() == []
    await site.post("customer/deauthenticate")
    assert (await site.get("customer/orders")).status_code == 401


async def test_countries(site: Site) -> None:
    countries = (await site.get("countries")).json()
    assert countries[0]["isoCode"] == "GB"
    assert {
        "isoCode",
        "name",
        "postcodeRequired",
        "displayPriority",
        "administrativeDivisions",
    } == set(countries[0])
    assert (await site.get("countries/cz")).json()["name"] == "Czechia"
    assert (await site.get("countries/XX")).status_code == 404
