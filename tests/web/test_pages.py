"""The hosted pages over HTTP: each page, each form post, redirects, CSP, bots, translations."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from boxoffice.bootstrap import Core
from boxoffice.domain.principal import Principal
from boxoffice.services import catalogue
from boxoffice.services import customers as customer_service
from boxoffice.settings import Settings
from tests.api.web.conftest import ORIGIN, mailed_link, outbox
from tests.captcha import SECRET as CAPTCHA_SECRET

PASSWORD = "Correct horse battery 1"
FOREIGN = "https://evil.example"
PAGES = [
    "secure/LoginLogout.aspx",
    "secure/signup.aspx",
    "secure/ForgotPassword.aspx",
    "Secure/SetPassword.aspx?token=abc",
    "Secure/ConfirmNewsletter.aspx?token=abc",
]


def page(tenant: str, path: str) -> str:
    return f"/{tenant}/website/{path}"


def csrf_of(html: str) -> str:
    match = re.search(r'name="_csrf" value="([0-9a-f]+)"', html)
    assert match, html[:2000]
    return match.group(1)


async def form_token(http: httpx.AsyncClient, url: str) -> str:
    response = await http.get(url)
    assert response.status_code == 200, response.text
    return csrf_of(response.text)


async def own_signup(
    http: httpx.AsyncClient, tenant: str, email: str, **fields: object
) -> httpx.Response:
    url = page(tenant, "secure/signup.aspx")
    data = {
        "_csrf": await form_token(http, url),
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "Email": email,
        **fields,
    }
    return await http.post(url, data=data)  # type: ignore[arg-type]


def plain_post(
    http: httpx.AsyncClient, tenant: str, origin: str | None = ORIGIN, **fields: str
) -> object:
    headers = {"Origin": origin} if origin else {}
    return http.post(page(tenant, "secure/signup.aspx"), data=fields, headers=headers)


async def customer(core: Core, tenant_id: int, email: str) -> object:
    owner = Principal(tenant_id=tenant_id, actor="test", full_access=True)
    return await customer_service.find_customer_by_email(
        core, owner, email, customer_service.ALL_PARTS
    )


async def log_in(http: httpx.AsyncClient, tenant: str, email: str, password: str) -> httpx.Response:
    url = page(tenant, "secure/LoginLogout.aspx")
    return await http.post(
        url,
        data={"_csrf": await form_token(http, url), "Email": email, "Password": password},
    )


# --- every page ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
async def test_each_page_renders_framable_only_by_the_tenant(
    http: httpx.AsyncClient, tenant: tuple[str, int], path: str
) -> None:
    sep = "&" if "?" in path else "?"
    response = await http.get(page(tenant[0], path) + f"{sep}resize=true")
    assert response.status_code == 200, response.text
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'self' http://localhost:8080" in csp
    assert "default-src 'none'" in csp and "form-action 'self'" in csp
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert 'data-resize="true"' in response.text
    assert 'class="bo-page bo-page--' in response.text and 'class="bo-title"' in response.text
    assert f'src="/{tenant[0]}/website/scripts/frame.js"' in response.text
    assert "<style" not in response.text and "stylesheet" not in response.text  # unstyled


async def test_paths_are_case_insensitive(http: httpx.AsyncClient, tenant: tuple[str, int]) -> None:
    name = tenant[0]
    for path in ("SECURE/LOGINLOGOUT.ASPX", "secure/loginlogout.aspx", "Secure/Signup.Aspx"):
        assert (await http.get(page(name, path))).status_code == 200
    moved = await http.get(f"/{name.upper()}/website/secure/MyAccount.aspx?resize=true")
    assert moved.status_code == 308
    assert moved.headers["location"] == f"/{name}/website/secure/MyAccount.aspx?resize=true"


async def test_unknown_tenant_and_page_are_plain_404s(
    http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    missing = await http.get("/no-such-venue/website/secure/LoginLogout.aspx")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert (await http.get(page(tenant[0], "secure/Nope.aspx"))).status_code == 404
    assert (await http.get(page(tenant[0], "scripts/nope.js"))).status_code == 404


async def test_stylesheet_parameter_only_from_the_venue(
    http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    url = page(tenant[0], "secure/LoginLogout.aspx")
    ok = await http.get(url, params={"stylesheet": f"{ORIGIN}/css/iframe.css", "resize": "true"})
    assert f'<link rel="stylesheet" href="{ORIGIN}/css/iframe.css">' in ok.text
    assert f"style-src 'self' {ORIGIN}" in ok.headers["content-security-policy"]
    # Links and forms keep the display parameters, resize last.
    assert "ForgotPassword.aspx?Stylesheet=http" in ok.text and "resize=true" in ok.text
    foreign = await http.get(url, params={"Stylesheet": f"{FOREIGN}/x.css"})
    assert "evil.example" not in foreign.text
    assert "evil.example" not in foreign.headers["content-security-policy"]


async def test_scripts_are_served_with_caching_headers(
    http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    integrate = await http.get(page(tenant[0], "scripts/integrate.js"))
    legacy = await http.get(page(tenant[0], "scripts/resizeiframe.js"))
    assert integrate.status_code == legacy.status_code == 200
    assert integrate.content == legacy.content and b"boxoffice:resize" in integrate.content
    assert integrate.headers["content-type"].startswith("text/javascript")
    assert integrate.headers["cache-control"] == "public, max-age=3600"
    for name in (
        "webcomponents-loader.js",
        "spektrix-component-loader.js",
        "spektrix-login-status.js",
    ):
        script = await http.get(f"/webcomponents/stable/{name}")
        assert script.status_code == 200, name
        assert script.headers["content-type"].startswith("text/javascript")
        assert script.headers["cache-control"] == "public, max-age=3600"
        again = await http.get(
            f"/webcomponents/stable/{name}", headers={"If-None-Match": script.headers["etag"]}
        )
        assert again.status_code == 304
    assert (await http.get("/webcomponents/stable/nope.js")).status_code == 404


async def test_scripts_have_a_content_etag_and_answer_304_and_head(
    http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    tags = {}
    for name in ("integrate.js", "resizeiframe.js", "frame.js"):
        url = page(tenant[0], f"scripts/{name}")
        full = await http.get(url)
        etag = full.headers["etag"]
        assert etag == f'"{hashlib.sha256(full.content).hexdigest()[:32]}"'  # strong: no W/
        tags[name] = etag
        for value in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            cached = await http.get(url, headers={"If-None-Match": value})
            assert cached.status_code == 304 and cached.content == b"", value
            assert cached.headers["etag"] == etag
            assert cached.headers["cache-control"] == "public, max-age=3600"
        stale = await http.get(url, headers={"If-None-Match": '"other"'})
        assert stale.status_code == 200 and stale.content == full.content
        head = await http.head(url)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(full.content))
        for header in ("etag", "content-type", "cache-control", "x-content-type-options"):
            assert head.headers[header] == full.headers[header], header
        assert (await http.head(url, headers={"If-None-Match": etag})).status_code == 304
    assert tags["integrate.js"] == tags["resizeiframe.js"] != tags["frame.js"]  # same bytes
    # Not a tenant, or not a script: "not found", whatever the browser holds.
    for url in (page("no-such-venue", "scripts/integrate.js"), page(tenant[0], "scripts/x.js")):
        for method in ("GET", "HEAD"):
            response = await http.request(
                method, url, headers={"If-None-Match": tags["integrate.js"]}
            )
            assert response.status_code == 404, (method, url)


# --- signup.aspx ---------------------------------------------------------------------------


async def test_signup_page_shows_what_the_catalogue_configures(
    http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    html = (await http.get(page(tenant[0], "secure/signup.aspx"))).text
    for shown in ("Interests", "Drama", "Sign-up Source", "Website Form", "Favourite Genre"):
        assert shown in html
    for statement in ("Email updates from Demo Theatre", "Post from Demo Theatre"):
        assert statement in html
    assert "Offers from our partners" in html
    for hidden in ("VIP", "Press", "Access Requirements", "testfield"):
        assert hidden not in html
    assert 'for="bo-FirstName"' in html and 'id="bo-FirstName"' in html
    assert 'name="website"' in html and "hidden" in html  # the honeypot


async def test_signup_through_the_page_form_with_tags_statements_attributes(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    name, tenant_id = tenant
    html = (await http.get(page(name, "secure/signup.aspx"))).text
    drama = re.search(r'id="bo-tag-(\d+)" name="Tag" value="\d+">\s*<label[^>]*>Drama', html)
    email_updates = re.search(
        r'id="bo-statement-(\d+)"[^>]*>\s*<label[^>]*>Email updates from Demo Theatre', html
    )
    assert drama and email_updates
    response = await own_signup(
        http,
        name,
        "ada@example.org",
        Tag=drama.group(1),
        Statement=email_updates.group(1),
        **{"Attribute_Favourite Genre": "Opera", "Password": PASSWORD, "ConfirmPassword": PASSWORD},
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/{name}/website/secure/signup.aspx?SignedUp=1"
    assert "boxoffice_session=" in response.headers["set-cookie"]
    view = await customer(core, tenant_id, "ada@example.org")
    assert [t.name for t in view.tags] == ["Drama"]  # type: ignore[attr-defined]
    assert [c.text for c in view.consents] == ["Email updates from Demo Theatre"]  # type: ignore[attr-defined]
    assert {a.attribute.name: a.value for a in view.attributes}["Favourite Genre"] == "Opera"  # type: ignore[attr-defined]
    done = await http.get(response.headers["location"])
    assert "Your details were saved" in done.text
    me = await http.get(f"/{name}/api/v3/customer", headers={"Origin": ORIGIN})
    assert me.status_code == 200 and me.json()["firstName"] == "Ada"


async def test_page_form_errors_are_tied_to_their_fields(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    response = await own_signup(
        http, tenant[0], "not-an-email", Password=PASSWORD, ConfirmPassword=PASSWORD
    )
    assert response.status_code == 400
    assert 'aria-describedby="bo-Email-error"' in response.text
    assert 'id="bo-Email-error">Enter a valid email address.' in response.text
    assert 'value="Ada"' in response.text  # what was typed stays
    differ = await own_signup(
        http, tenant[0], "b@example.org", Password=PASSWORD, ConfirmPassword="other one"
    )
    assert differ.status_code == 400 and 'id="bo-ConfirmPassword-error"' in differ.text
    await own_signup(http, tenant[0], "c@example.org")
    taken = await own_signup(http, tenant[0], "C@example.org")
    assert taken.status_code == 400 and "already exists" in taken.text


async def test_page_form_without_a_valid_token_is_refused(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    url = page(tenant[0], "secure/signup.aspx")
    await http.get(url)
    forged = await http.post(
        url,
        data={"_csrf": "0" * 64, "FirstName": "A", "LastName": "B", "Email": "f@example.org"},
    )
    assert forged.status_code == 403
    http.cookies.clear()
    token = await form_token(http, url)
    http.cookies.clear()  # a token without its cookie
    stolen = await http.post(
        url, data={"_csrf": token, "FirstName": "A", "LastName": "B", "Email": "f@example.org"}
    )
    assert stolen.status_code == 403
    with pytest.raises(Exception, match="not found"):
        await customer(core, tenant[1], "f@example.org")


async def test_plain_form_post_redirects_to_the_return_url(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    name = tenant[0]
    ok = await plain_post(  # type: ignore[misc]
        http,
        name,
        FirstName="Ada",
        LastName="Lovelace",
        Email="plain@example.org",
        ReturnUrl=f"{ORIGIN}/thanks?came_from_spektrix=true",
    )
    assert ok.status_code == 302
    assert ok.headers["location"] == f"{ORIGIN}/thanks?came_from_spektrix=true"
    assert "set-cookie" not in ok.headers or "boxoffice_session" not in ok.headers["set-cookie"]
    view = await customer(core, tenant[1], "plain@example.org")
    assert view.first_name == "Ada"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"FirstName": "A", "LastName": "", "Email": "x@example.org"}, "NoLastName"),
        ({"FirstName": "", "LastName": "B", "Email": "x@example.org"}, "NoFirstName"),
        ({"FirstName": "A", "LastName": "B", "Email": ""}, "NoEmail"),
        ({"FirstName": "A", "LastName": "B", "Email": "nope"}, "InvalidEmail"),
        ({"FirstName": "A", "LastName": "B", "Email": "taken@example.org"}, "EmailExists"),
        (
            {"FirstName": "A", "LastName": "B", "Email": "y@example.org", "website": "x"},
            "Rejected",
        ),
    ],
)
async def test_plain_form_errors_redirect_with_the_vendor_codes(
    http: httpx.AsyncClient,
    core: Core,
    tenant: tuple[str, int],
    fields: dict[str, str],
    code: str,
) -> None:
    name = tenant[0]
    await plain_post(  # type: ignore[misc]
        http, name, FirstName="T", LastName="T", Email="TAKEN@example.org", ReturnUrl=ORIGIN + "/"
    )
    response = await plain_post(  # type: ignore[misc]
        http, name, **fields, ReturnUrl=f"{ORIGIN}/news?came_from_spektrix=true#form"
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}" == ORIGIN and location.path == "/news"
    assert parse_qs(location.query) == {"came_from_spektrix": ["true"], "Error": [code]}
    assert location.fragment == "form"
    if code == "Rejected":
        with pytest.raises(Exception, match="not found"):
            await customer(core, tenant[1], "y@example.org")


@pytest.mark.parametrize(
    "return_url",
    [
        f"{FOREIGN}/thanks",
        "//evil.example/thanks",
        "/\\evil.example/thanks",
        "https://localhost:8080@evil.example/",
        "javascript:alert(1)",
        "http://localhost:8081/",
    ],
)
async def test_plain_form_never_redirects_off_the_venue(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int], return_url: str
) -> None:
    response = await plain_post(  # type: ignore[misc]
        http, tenant[0], FirstName="A", LastName="B", Email="r@example.org", ReturnUrl=return_url
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    with pytest.raises(Exception, match="not found"):
        await customer(core, tenant[1], "r@example.org")


async def test_plain_form_return_url_on_the_instance_itself(
    http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    response = await plain_post(  # type: ignore[misc]
        http, tenant[0], FirstName="A", LastName="B", Email="s@example.org", ReturnUrl="/done"
    )
    assert response.status_code == 302 and response.headers["location"] == "http://testserver/done"


async def test_plain_form_from_another_site_is_refused(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    fields = {"FirstName": "A", "LastName": "B", "Email": "o@example.org", "ReturnUrl": ORIGIN}
    assert (await plain_post(http, tenant[0], FOREIGN, **fields)).status_code == 403  # type: ignore[attr-defined]
    assert (await plain_post(http, tenant[0], None, **fields)).status_code == 403  # type: ignore[attr-defined]
    by_referer = await http.post(
        page(tenant[0], "secure/signup.aspx"),
        data=fields,
        headers={"Referer": f"{ORIGIN}/newsletter"},
    )
    assert by_referer.status_code == 302
    with pytest.raises(Exception, match="not found"):
        await customer(core, tenant[1], "nobody@example.org")


async def test_plain_form_field_names_are_case_insensitive_and_accept_catalogue_names(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    response = await http.post(
        page(tenant[0], "secure/signup.aspx"),
        data={
            "firstName": "Ada",
            "lastName": "L",
            "email": "lower@example.org",
            "returnurl": f"{ORIGIN}/ok",
            "Tag": ["Interests/Music", "Website Form"],
            "Statement": "agreement_post",
        },
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 302 and response.headers["location"] == f"{ORIGIN}/ok"
    view = await customer(core, tenant[1], "lower@example.org")
    assert sorted(t.name for t in view.tags) == ["Music", "Website Form"]  # type: ignore[attr-defined]
    assert [c.text for c in view.consents] == ["Post from Demo Theatre"]  # type: ignore[attr-defined]


async def test_plain_form_rate_limit(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    await catalogue.load_catalogue(
        core, tenant[0], {"settings": {"rate_limits": {"signup_per_ip": "2/minute"}}}
    )
    codes = []
    for i in range(3):
        response = await plain_post(  # type: ignore[misc]
            http,
            tenant[0],
            FirstName="A",
            LastName="B",
            Email=f"rl{i}@example.org",
            ReturnUrl=f"{ORIGIN}/t",
        )
        codes.append(parse_qs(urlsplit(response.headers["location"]).query).get("Error"))
    assert codes == [None, None, ["TooManyRequests"]]
    assert response.headers["retry-after"].isdigit()
    refused = await own_signup(http, tenant[0], "rl-page@example.org")
    assert refused.status_code == 429 and "Too many attempts" in refused.text


async def test_page_form_honeypot(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    response = await own_signup(http, tenant[0], "bot@example.org", website="http://spam")
    assert response.status_code == 400
    with pytest.raises(Exception, match="not found"):
        await customer(core, tenant[1], "bot@example.org")


# --- LoginLogout.aspx ---------------------------------------------------------------------


async def test_login_and_logout_share_the_session_with_web_mode(
    http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    name = tenant[0]
    await own_signup(http, name, "login@example.org", Password=PASSWORD, ConfirmPassword=PASSWORD)
    http.cookies.clear()
    wrong = await log_in(http, name, "login@example.org", "not the password")
    assert wrong.status_code == 400 and 'id="bo-Password-error"' in wrong.text
    assert 'aria-describedby="bo-Password-error"' in wrong.text
    ok = await log_in(http, name, "login@example.org", PASSWORD)
    assert ok.status_code == 303 and ok.headers["location"] == page(name, "secure/LoginLogout.aspx")
    logged_in = await http.get(ok.headers["location"])
    assert "You are logged in as Ada Lovelace (login@example.org)." in logged_in.text
    assert "&#34;firstName&#34;:&#34;Ada&#34;" in logged_in.text  # basketContents customer
    api = await http.get(f"/{name}/api/v3/customer", headers={"Origin": ORIGIN})
    assert api.status_code == 200 and api.json()["email"] == "login@example.org"
    out = await http.post(
        page(name, "secure/LoginLogout.aspx"),
        data={"_csrf": csrf_of(logged_in.text), "action": "logout"},
    )
    assert out.status_code == 303 and "Status=LoggedOut" in out.headers["location"]
    assert (await http.get(f"/{name}/api/v3/customer")).status_code == 401
    # A login through the API shows on the page too.
    await http.post(
        f"/{name}/api/v3/customer/authenticate",
        json={"email": "login@example.org", "password": PASSWORD},
        headers={"Origin": ORIGIN},
    )
    assert "You are logged in" in (await http.get(page(name, "secure/LoginLogout.aspx"))).text


async def test_login_post_from_a_foreign_site_is_refused(
    http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    url = page(tenant[0], "secure/LoginLogout.aspx")
    token = await form_token(http, url)
    response = await http.post(
        url,
        data={"_csrf": token, "Email": "a@example.org", "Password": "x"},
        headers={"Origin": FOREIGN},
    )
    assert response.status_code == 403


async def test_magic_link_login(
    http: httpx.AsyncClient, settings: Settings, tenant: tuple[str, int]
) -> None:
    name = tenant[0]
    await own_signup(http, name, "magic@example.org")
    http.cookies.clear()
    url = page(name, "secure/LoginLogout.aspx")
    sent = await http.post(
        url,
        data={
            "_csrf": await form_token(http, url),
            "action": "magic",
            "MagicEmail": "magic@example.org",
        },
    )
    assert sent.status_code == 303 and "Status=MagicSent" in sent.headers["location"]
    link = mailed_link(outbox(settings)[-1])
    assert link.startswith(f"http://testserver/{name}/website/secure/LoginLogout.aspx?MagicToken=")
    confirm = await http.get(link)
    assert "bo-form--magic-confirm" in confirm.text  # a GET logs nobody in (mail scanners)
    assert (await http.get(f"/{name}/api/v3/customer")).status_code == 401
    token = parse_qs(urlsplit(link).query)["MagicToken"][0]
    done = await http.post(
        url, data={"_csrf": csrf_of(confirm.text), "action": "magic-login", "MagicToken": token}
    )
    assert done.status_code == 303
    assert (await http.get(f"/{name}/api/v3/customer")).status_code == 200
    again = await http.post(
        url, data={"_csrf": csrf_of(confirm.text), "action": "magic-login", "MagicToken": token}
    )
    assert again.status_code == 400 and "invalid or has expired" in again.text


# --- MyAccount.aspx -------------------------------------------------------------------------


async def test_my_account_needs_a_login(http: httpx.AsyncClient, tenant: tuple[str, int]) -> None:
    response = await http.get(page(tenant[0], "secure/MyAccount.aspx?resize=true"))
    assert response.status_code == 303
    assert response.headers["location"] == page(
        tenant[0], "secure/LoginLogout.aspx?ReturnTo=MyAccount.aspx&resize=true"
    )


async def test_my_account_details_preferences_and_addresses(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    name, tenant_id = tenant
    await own_signup(http, name, "me@example.org", Password=PASSWORD, ConfirmPassword=PASSWORD)
    url = page(name, "secure/MyAccount.aspx")
    html = (await http.get(url)).text
    assert 'value="me@example.org"' in html and "Contact preferences" in html
    token = csrf_of(html)

    details = await http.post(
        url,
        data={
            "_csrf": token,
            "action": "details",
            "FirstName": "Augusta",
            "LastName": "King",
            "Email": "me@example.org",
            "Phone": "020 7946 0000",
            "BirthDate": "1815-12-10",
        },
    )
    assert details.status_code == 400 and 'id="bo-BirthDate-error"' in details.text
    details = await http.post(
        url,
        data={
            "_csrf": token,
            "action": "details",
            "FirstName": "Augusta",
            "LastName": "King",
            "Email": "me@example.org",
            "Phone": "020 7946 0000",
            "BirthDate": "1990-12-10",
            "Attribute_Favourite Genre": "Opera",
        },
    )
    assert details.status_code == 303 and details.headers["location"].endswith("Saved=1#bo-details")
    blank = await http.post(
        url,
        data={
            "_csrf": token,
            "action": "details",
            "FirstName": "A",
            "LastName": "",
            "Email": "me@example.org",
        },
    )
    assert blank.status_code == 400 and 'aria-describedby="bo-LastName-error"' in blank.text

    html = (await http.get(url)).text
    statement = re.search(
        r'id="bo-pref-statement-(\d+)"[^>]*>\s*<label[^>]*>Post from Demo Theatre', html
    )
    tag = re.search(r'id="bo-pref-tag-(\d+)"[^>]*>\s*<label[^>]*>Family', html)
    assert statement and tag
    saved = await http.post(
        url,
        data={
            "_csrf": token,
            "action": "preferences",
            "Statement": statement.group(1),
            "Tag": tag.group(1),
        },
    )
    assert saved.status_code == 303
    added = await http.post(
        url,
        data={
            "_csrf": token,
            "action": "address-add",
            "Line1": "1 Theatre Square",
            "Town": "London",
            "Postcode": "WC2N 5DU",
            "Country": "GB",
            "IsBilling": "true",
        },
    )
    assert added.status_code == 303
    view = await customer(core, tenant_id, "me@example.org")
    assert view.first_name == "Augusta" and view.phone == "020 7946 0000"  # type: ignore[attr-defined]
    assert [c.text for c in view.consents] == ["Post from Demo Theatre"]  # type: ignore[attr-defined]
    assert [t.name for t in view.tags] == ["Family"]  # type: ignore[attr-defined]
    (address,) = view.addresses  # type: ignore[attr-defined]
    assert address.line1 == "1 Theatre Square" and address.is_billing and address.country == "GB"

    changed = await http.post(
        url,
        data={
            "_csrf": token,
            "action": "address-save",
            "AddressId": str(address.id),
            "Line1": "2 Theatre Square",
            "Town": "London",
            "Country": "GB",
        },
    )
    assert changed.status_code == 303
    none = await http.post(url, data={"_csrf": token, "action": "preferences"})
    assert none.status_code == 303
    bad_country = await http.post(
        url, data={"_csrf": token, "action": "address-add", "Line1": "x", "Country": "Narnia"}
    )
    assert bad_country.status_code == 400 and "bo-address-new-Country-error" in bad_country.text
    gone = await http.post(
        url, data={"_csrf": token, "action": "address-delete", "AddressId": str(address.id)}
    )
    assert gone.status_code == 303
    missing = await http.post(
        url, data={"_csrf": token, "action": "address-delete", "AddressId": str(address.id)}
    )
    assert missing.status_code == 404
    view = await customer(core, tenant_id, "me@example.org")
    assert view.consents == () and view.tags == () and view.addresses == ()  # type: ignore[attr-defined]
    only = await http.get(url + "?Screen=addresses")
    assert "bo-section--addresses" in only.text and "bo-section--details" not in only.text


# --- ForgotPassword.aspx and SetPassword.aspx -------------------------------------------------


async def test_forgot_password_then_set_password(
    http: httpx.AsyncClient, settings: Settings, tenant: tuple[str, int]
) -> None:
    name = tenant[0]
    await own_signup(http, name, "forgot@example.org", Password=PASSWORD, ConfirmPassword=PASSWORD)
    http.cookies.clear()
    url = page(name, "secure/ForgotPassword.aspx")
    unknown = await http.post(
        url, data={"_csrf": await form_token(http, url), "Email": "nobody@example.org"}
    )
    assert unknown.status_code == 303 and "Status=Sent" in unknown.headers["location"]
    assert outbox(settings) == []  # same answer, no mail
    empty = await http.post(url, data={"_csrf": await form_token(http, url), "Email": ""})
    assert empty.status_code == 400 and 'id="bo-Email-error"' in empty.text
    sent = await http.post(
        url, data={"_csrf": await form_token(http, url), "Email": "forgot@example.org"}
    )
    assert sent.status_code == 303
    assert "we have sent it a link" in (await http.get(sent.headers["location"])).text
    link = mailed_link(outbox(settings)[-1])
    form = await http.get(link)
    assert form.status_code == 200 and form.headers["referrer-policy"] == "same-origin"
    short = await http.post(
        link, data={"token": link.split("token=")[1], "password": "x", "confirm": "x"}
    )
    assert short.status_code == 400 and 'id="bo-password-error"' in short.text
    done = await http.post(
        link,
        data={
            "token": link.split("token=")[1],
            "password": "A new secret 1",
            "confirm": "A new secret 1",
        },
    )
    assert done.status_code == 200 and "has been set" in done.text
    assert (await log_in(http, name, "forgot@example.org", "A new secret 1")).status_code == 303


# --- translations ---------------------------------------------------------------------------


async def test_texts_are_translatable_per_tenant(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    await catalogue.load_catalogue(
        core,
        tenant[0],
        {
            "settings": {
                "page_texts": {
                    "cs": {"login.title": "Přihlášení", "login.submit": "Přihlásit se"},
                    "en": {"signup.intro": "Join our list."},
                }
            }
        },
    )
    czech = await http.get(
        page(tenant[0], "secure/LoginLogout.aspx"), headers={"Accept-Language": "cs-CZ,cs;q=0.9"}
    )
    assert '<html lang="cs">' in czech.text and '<h1 class="bo-title">Přihlášení</h1>' in czech.text
    assert "Přihlásit se" in czech.text and "Email address" in czech.text  # falls back to English
    english = await http.get(
        page(tenant[0], "secure/LoginLogout.aspx?lang=en"), headers={"Accept-Language": "cs"}
    )
    assert '<h1 class="bo-title">Log in</h1>' in english.text
    signup = await http.get(page(tenant[0], "secure/signup.aspx?Lang=cs"))
    assert "E-mailové novinky z Demo Theatre" in signup.text  # catalogue translations too
    assert "Join our list." in signup.text


# --- CAPTCHA and bad input -------------------------------------------------------------------


async def test_signup_page_shows_and_checks_the_captcha(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int], verifier: str
) -> None:
    await catalogue.load_catalogue(
        core,
        tenant[0],
        {
            "settings": {
                "captcha": {
                    "provider": "turnstile",
                    "secret": CAPTCHA_SECRET,
                    "verify_url": verifier,
                    "site_key": "site-key-1",
                }
            }
        },
    )
    shown = await http.get(page(tenant[0], "secure/signup.aspx"))
    assert 'class="cf-turnstile" data-sitekey="site-key-1"' in shown.text
    assert "https://challenges.cloudflare.com" in shown.headers["content-security-policy"]
    refused = await own_signup(http, tenant[0], "robot@example.org")
    assert refused.status_code == 400 and 'id="bo-captcha-error"' in refused.text
    plain = await plain_post(  # type: ignore[misc]
        http,
        tenant[0],
        FirstName="A",
        LastName="B",
        Email="robot2@example.org",
        ReturnUrl=f"{ORIGIN}/t",
    )
    assert parse_qs(urlsplit(plain.headers["location"]).query)["Error"] == ["Captcha"]
    passed = await own_signup(
        http, tenant[0], "human@example.org", **{"cf-turnstile-response": "good-token"}
    )
    assert passed.status_code == 303
    login = await http.get(page(tenant[0], "secure/LoginLogout.aspx"))
    assert (
        "cf-turnstile" not in login.text
        and "cloudflare" not in login.headers["content-security-policy"]
    )


@pytest.mark.parametrize(
    "body",
    [
        b"FirstName=%FF%FE&LastName=B&Email=x%40example.org",
        b"FirstName=A%00&LastName=B&Email=x%40example.org",
        b"FirstName=" + b"A" * 5000 + b"&LastName=B&Email=x%40example.org",
        b"Tag=999999&FirstName=A&LastName=B&Email=x%40example.org",
        b"Statement=nope&FirstName=A&LastName=B&Email=x%40example.org",
        b"Attribute_Nope=1&FirstName=A&LastName=B&Email=x%40example.org",
        b"%%%&&&==",
    ],
)
async def test_bad_form_input_is_a_4xx(
    http: httpx.AsyncClient, tenant: tuple[str, int], body: bytes
) -> None:
    url = page(tenant[0], "secure/signup.aspx")
    token = await form_token(http, url)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": ORIGIN}
    own = await http.post(url, content=body + f"&_csrf={token}".encode(), headers=headers)
    assert own.status_code in (303, 400), own.text  # never a 5xx
    plain = await http.post(
        url, content=body + b"&ReturnUrl=http%3A%2F%2Flocalhost%3A8080%2Ft", headers=headers
    )
    assert plain.status_code in (302, 400), plain.text


async def test_form_posts_that_are_not_utf8_are_refused_and_write_nothing(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    """Invalid UTF-8 (escaped or raw, in a value or a name, urlencoded or multipart): a 400 page
    saying so, never a value stored with replacement characters. (The venue's plain form with
    a usable ReturnUrl is redirected instead: the next test.)"""
    name, tenant_id = tenant
    url = page(name, "secure/signup.aspx")
    token = await form_token(http, url)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    rest = b"&LastName=B&Email=bad%40example.org"
    for body, headers in (
        (b"FirstName=Zo%EB" + rest + f"&_csrf={token}".encode(), form),  # Latin-1, escaped
        (b"FirstName=Zo\xeb" + rest + f"&_csrf={token}".encode(), form),  # raw
        (b"First%FFName=Zo" + rest + f"&_csrf={token}".encode(), form),  # in a name
        (  # the venue's plain form without a ReturnUrl to go back to
            b"FirstName=%FF%FE" + rest,
            {**form, "Origin": ORIGIN},
        ),
        (  # a charset nobody knows
            b"FirstName=Zo" + rest + f"&_csrf={token}".encode(),
            {"Content-Type": "application/x-www-form-urlencoded; charset=x-nope"},
        ),
    ):
        response = await http.post(url, content=body, headers=headers)
        assert response.status_code == 400, (body, response.text)
        assert "not sent as UTF-8" in response.text and "location" not in response.headers
    files = {"FirstName": (None, b"Zo\xeb"), "LastName": (None, b"B")}
    multipart = await http.post(url, data={"_csrf": token, "Email": "bad@example.org"}, files=files)
    assert multipart.status_code == 400 and "not sent as UTF-8" in multipart.text
    with pytest.raises(Exception, match="not found"):
        await customer(core, tenant_id, "bad@example.org")
    # A logged-in customer's details stay as they were.
    await own_signup(http, name, "me@example.org", Password=PASSWORD, ConfirmPassword=PASSWORD)
    account = page(name, "secure/MyAccount.aspx")
    token = csrf_of((await http.get(account)).text)
    changed = await http.post(
        account,
        content=f"_csrf={token}&action=details&FirstName=%C3&LastName=X&Email=me%40example.org".encode(),
        headers=form,
    )
    assert changed.status_code == 400 and "not sent as UTF-8" in changed.text
    view = await customer(core, tenant_id, "me@example.org")
    assert (view.first_name, view.last_name) == ("Ada", "Lovelace")  # type: ignore[attr-defined]
    # Valid UTF-8, escaped, raw, or in a multipart body (a Latin-1 charset when declared).
    for email, body, headers in (
        ("zoe1@example.org", b"FirstName=Zo%C3%AB", form),
        ("zoe2@example.org", "FirstName=Zoë".encode(), form),
        (
            "zoe3@example.org",
            b"FirstName=Zo%EB",
            {"Content-Type": "application/x-www-form-urlencoded; charset=ISO-8859-1"},
        ),
    ):
        http.cookies.clear()
        token = await form_token(http, url)
        response = await http.post(
            url,
            content=body + f"&LastName=B&Email={email}&_csrf={token}".encode(),
            headers=headers,
        )
        assert response.status_code == 303, (body, response.text)
        assert (await customer(core, tenant_id, email)).first_name == "Zoë"  # type: ignore[attr-defined]
    http.cookies.clear()
    token = await form_token(http, url)
    response = await http.post(
        url,
        data={"_csrf": token, "Email": "zoe4@example.org"},
        files={"FirstName": (None, "Zoë".encode()), "LastName": (None, b"B")},
    )
    assert response.status_code == 303, response.text
    assert (await customer(core, tenant_id, "zoe4@example.org")).first_name == "Zoë"  # type: ignore[attr-defined]


async def test_plain_form_from_a_windows_1252_page_signs_up(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    """Many older venue sites are pages in windows-1252, and browsers send their forms in it
    without naming it (HTML's legacy encoding): the venue's plain form is read in it, and the
    customer signed up as the form contract promises (302 to ReturnUrl), not a 400 page."""
    name, tenant_id = tenant
    url = page(name, "secure/signup.aspx")
    form = {"Content-Type": "application/x-www-form-urlencoded", "Origin": ORIGIN}
    back = b"&ReturnUrl=http%3A%2F%2Flocalhost%3A8080%2Fthanks%3Fcame_from_spektrix%3Dtrue"
    for email, body, first, last in (
        # What a browser sends for "François Dvořák" typed on a windows-1252 page: ř has no
        # byte there, so it goes as an HTML character reference (kept as sent).
        (
            "francois@example.org",
            b"FirstName=Fran%E7ois&LastName=Dvo%26%23345%3B%E1k&Email=francois%40example.org",
            "François",
            "Dvo&#345;ák",
        ),
        # Raw bytes; smart quotes and the euro sign (0x80-0x9F: windows-1252, not Latin-1).
        (
            "zoe-raw@example.org",
            b"FirstName=Zo\xeb&LastName=\x93O\x92Neil\x94+\x80&Email=zoe-raw%40example.org",
            "Zoë",
            "“O’Neil” €",
        ),
    ):
        response = await http.post(url, content=body + back, headers=form)
        assert response.status_code == 302, (body, response.text)
        assert response.headers["location"] == f"{ORIGIN}/thanks?came_from_spektrix=true"
        view = await customer(core, tenant_id, email)
        assert (view.first_name, view.last_name) == (first, last)  # type: ignore[attr-defined]
    # A page that names its charset in a _charset_ field (browsers fill it in) is read in it.
    named = await http.post(
        url,
        content=b"_charset_=ISO-8859-2&FirstName=Ji%F8%ED&LastName=B&Email=jiri%40example.org"
        + back,
        headers=form,
    )
    assert named.status_code == 302 and "Error" not in named.headers["location"]
    assert (await customer(core, tenant_id, "jiri@example.org")).first_name == "Jiří"  # type: ignore[attr-defined]
    # The contract's errors come back as for any other post.
    taken = await http.post(
        url,
        content=b"FirstName=Fran%E7ois&LastName=B&Email=francois%40example.org" + back,
        headers=form,
    )
    assert taken.headers["location"] == f"{ORIGIN}/thanks?came_from_spektrix=true&Error=EmailExists"
    # Our own pages are UTF-8: their posts are not read as windows-1252.
    token = await form_token(http, url)
    own = await http.post(
        url,
        content=f"FirstName=Zo%EB&LastName=B&Email=own%40example.org&_csrf={token}".encode() + back,
        headers=form,
    )
    assert own.status_code == 400 and "not sent as UTF-8" in own.text
    with pytest.raises(Exception, match="not found"):
        await customer(core, tenant_id, "own@example.org")


async def test_plain_form_not_readable_goes_back_with_invalid_details(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    """A plain-form post that names a charset and is not valid in it hears of it as of any
    refused value: a redirect to its ReturnUrl with Error=InvalidDetails, and nothing written.
    Without a ReturnUrl that can be read and is allowed, the 400 page."""
    name, tenant_id = tenant
    url = page(name, "secure/signup.aspx")
    form = {"Content-Type": "application/x-www-form-urlencoded", "Origin": ORIGIN}
    utf8 = {**form, "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    back = b"&ReturnUrl=http%3A%2F%2Flocalhost%3A8080%2Fthanks%3Fcame_from_spektrix%3Dtrue"
    rest = b"&LastName=B&Email=plain-bad%40example.org"
    for body, headers in (
        (b"FirstName=Zo%EB" + rest + back, utf8),  # declared UTF-8, escaped
        (b"_charset_=UTF-8&FirstName=Zo\xeb" + rest + back, form),  # named in the form, raw
        (back[1:] + b"&_charset_=utf-8&First%FFName=Zo" + rest, form),  # ReturnUrl first
    ):
        response = await http.post(url, content=body, headers=headers)
        assert response.status_code == 302, (body, response.text)
        assert response.headers["location"] == (
            f"{ORIGIN}/thanks?came_from_spektrix=true&Error=InvalidDetails"
        )
    files = {"FirstName": (None, b"Zo\xeb"), "LastName": (None, b"B")}
    multipart = await http.post(
        url,
        data={"Email": "plain-bad@example.org", "ReturnUrl": f"{ORIGIN}/t"},
        files=files,
        headers={"Origin": ORIGIN},
    )
    assert multipart.status_code == 302
    assert multipart.headers["location"] == f"{ORIGIN}/t?Error=InvalidDetails"
    with pytest.raises(Exception, match="not found"):
        await customer(core, tenant_id, "plain-bad@example.org")
    # No usable ReturnUrl: itself not valid, off the venue, or in a charset nobody knows.
    for body, headers in (
        (b"FirstName=%FF" + rest + b"&ReturnUrl=http%3A%2F%2Flocalhost%3A8080%2F%FF", utf8),
        (b"FirstName=%FF" + rest + b"&ReturnUrl=https%3A%2F%2Fevil.example%2F", utf8),
        (b"FirstName=%FF" + rest + b"&ReturnUrl=https%3A%2F%2Fevil.example%2F", form),
        (
            b"FirstName=Zo" + rest + back,
            {**form, "Content-Type": "application/x-www-form-urlencoded; charset=x-nope"},
        ),
        (b"_charset_=x-nope&FirstName=Zo" + rest + back, form),
    ):
        response = await http.post(url, content=body, headers=headers)
        assert response.status_code == 400, (body, response.text)
        assert "location" not in response.headers
    # From another site: refused as any plain post from there, in any encoding.
    for body in (b"FirstName=%FF" + rest + back, b"FirstName=Zo%EB" + rest + back):
        foreign = await http.post(url, content=body, headers={**form, "Origin": FOREIGN})
        assert foreign.status_code == 403 and "location" not in foreign.headers
    with pytest.raises(Exception, match="not found"):
        await customer(core, tenant_id, "plain-bad@example.org")
