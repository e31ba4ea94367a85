"""A customer's credentials across dialects: a password set anywhere ends every other one;
device tokens end when idle or old; a password change through the app needs the current one;
failed app logins count against the account however its login value is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from boxoffice.bootstrap import Core
from boxoffice.domain.commands import NewCustomer
from boxoffice.domain.principal import Principal
from boxoffice.services import customers as customer_service
from boxoffice.services import devices
from boxoffice.settings import Settings
from boxoffice.store.models import DeviceToken
from tests.api.carecloud.support import PASSWORD, Api, error_of, reasons, unique_email
from tests.api.web.conftest import ORIGIN, Site, mailed_link, outbox, token_of

NEW_PASSWORD = "An0ther-Secret"


@pytest.fixture
def site(http: httpx.AsyncClient, tenant: tuple[str, int]) -> Site:
    """The venue's website (Spektrix web mode) of the ``api`` fixture's tenant."""
    return Site(http, tenant[0])


class Clock:
    """The time ``services/devices.py`` reads, moved by the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        monkeypatch.setattr(devices, "_now", lambda: self.now)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def _email(api: Api, code: str) -> str:
    response = await api.get(f"customers/{code}")
    assert response.status_code == 200, response.text
    email: str = response.json()["data"]["personal_information"]["email"]
    return email


async def _log_in(api: Api, email: str, password: str = PASSWORD) -> str:
    """A new token (another device) with the customer logged in."""
    token = await api.new_token()
    response = await api.post(
        f"tokens/{token}/actions/login",
        {"login_type": "email", "login_value": email, "password": password},
        token=token,
    )
    assert response.status_code == 200, response.text
    return token


def _replacement(email: str, **extra: object) -> dict[str, object]:
    return {
        "customer": {
            "personal_information": {"first_name": "Johnny", "email": email, "language_id": "en"}
        },
        **extra,
    }


async def _web_session(site: Site, email: str, password: str = PASSWORD) -> str:
    response = await site.post("customer/authenticate", {"email": email, "password": password})
    assert response.status_code == 200, response.text
    cookie = site.client.cookies.get("boxoffice_session")
    assert cookie
    site.client.cookies.clear()
    return cookie


async def _web_customer(http: httpx.AsyncClient, site: Site, cookie: str) -> int:
    response = await http.get(
        site.url("customer"), headers={"Origin": ORIGIN, "Cookie": f"boxoffice_session={cookie}"}
    )
    return response.status_code


async def _mailed_tokens(site: Site, settings: Settings, email: str) -> tuple[str, str]:
    """A password-reset link and a magic link for the customer, not used: their paths."""
    before = len(outbox(settings))
    sent = await site.post(f"customer/forgot-password?emailAddress={email}")
    assert sent.status_code == 204, sent.text
    magic = await site.post(
        "customer/send-magic-link", {"email": email, "callbackUrl": f"{ORIGIN}/?token={{token}}"}
    )
    assert magic.status_code == 204, magic.text
    reset_link, magic_link = (mailed_link(m) for m in outbox(settings)[before:])
    return reset_link.split("testserver", 1)[1], token_of(magic_link)


async def _set_password(site: Site, path: str, password: str) -> httpx.Response:
    form = {"token": token_of(path), "password": password, "confirm": password}
    return await site.client.post(path.split("?")[0], data=form)


# --- a password set anywhere ends every other credential ---------------------------------------


async def test_an_app_password_change_needs_the_current_password_and_changes_nothing_without(
    api: Api,
) -> None:
    code = await api.logged_in()
    email = await _email(api, code)
    missing = await api.put(f"customers/{code}", _replacement(email, password=NEW_PASSWORD))
    assert reasons(missing) == {"current_password": "required"}
    wrong = await api.put(
        f"customers/{code}",
        _replacement(email, password=NEW_PASSWORD, current_password="Wr0ng-password"),
    )
    assert reasons(wrong) == {"current_password": "invalid_value_format"}
    assert "Wr0ng" not in wrong.text  # a password is never echoed
    # Nothing changed: not the name, not the password.
    info = (await api.get(f"customers/{code}")).json()["data"]["personal_information"]
    assert info["first_name"] == "John"
    await _log_in(api, email, PASSWORD)
    another = await api.new_token()
    refused = await api.post(
        f"tokens/{another}/actions/login",
        {"login_type": "email", "login_value": email, "password": NEW_PASSWORD},
        token=another,
    )
    assert reasons(refused) == {"login_value": "not_found"}
    # Without a new password, the current one is not asked for.
    assert (await api.put(f"customers/{code}", _replacement(email))).status_code == 204


async def test_wrong_current_passwords_are_counted(api: Api) -> None:
    code = await api.logged_in()
    email = await _email(api, code)
    body = _replacement(email, password=NEW_PASSWORD, current_password="Wr0ng-password")
    for _ in range(10):
        assert (await api.put(f"customers/{code}", body)).status_code == 400
    body["current_password"] = PASSWORD
    locked = await api.put(f"customers/{code}", body)
    assert error_of(locked, 429) and int(locked.headers["retry-after"]) > 0


async def test_an_app_password_change_ends_every_other_credential(
    api: Api, site: Site, http: httpx.AsyncClient, settings: Settings
) -> None:
    code = await api.logged_in()
    email = await _email(api, code)
    other_device = await _log_in(api, email)
    cookie = await _web_session(site, email)
    reset_path, magic_token = await _mailed_tokens(site, settings, email)
    assert await _web_customer(http, site, cookie) == 200

    changed = await api.put(
        f"customers/{code}",
        _replacement(email, password=NEW_PASSWORD, current_password=PASSWORD),
    )
    assert changed.status_code == 204, changed.text
    # The app that changed it stays logged in; every other credential has ended.
    assert (await api.get(f"customers/{code}")).status_code == 200
    error_of(await api.get(f"customers/{code}", token=other_device), 401)
    error_of(await api.get("stores", token=other_device), 401)
    assert await _web_customer(http, site, cookie) == 401
    assert (await _set_password(site, reset_path, "Thi3d-password")).status_code == 400
    used = await site.post("customer/authenticate-magic-link", {"token": magic_token})
    assert used.status_code == 400
    # The new password is the one that works.
    await _log_in(api, email, NEW_PASSWORD)


async def test_a_reset_ends_device_tokens_and_every_earlier_mailed_token(
    api: Api, site: Site, settings: Settings
) -> None:
    code = await api.logged_in()
    email = await _email(api, code)
    other_device = await _log_in(api, email)
    first_reset, magic_token = await _mailed_tokens(site, settings, email)
    second_reset, _ = await _mailed_tokens(site, settings, email)

    done = await _set_password(site, second_reset, "Brand-new-pw1")
    assert done.status_code == 200 and "has been set" in done.text
    for token in (api.token, other_device):
        error_of(await api.get(f"customers/{code}", token=token), 401)
    earlier = await _set_password(site, first_reset, "Thi3d-password")
    assert earlier.status_code == 400 and "expired" in earlier.text
    used = await site.post("customer/authenticate-magic-link", {"token": magic_token})
    assert used.status_code == 400
    assert (await _set_password(site, second_reset, "Thi3d-password")).status_code == 400
    await _log_in(api, email, "Brand-new-pw1")


async def test_a_website_password_change_ends_the_apps_tokens(
    api: Api, site: Site, http: httpx.AsyncClient
) -> None:
    code = await api.logged_in()
    email = await _email(api, code)
    other_browser = await _web_session(site, email)
    this_browser = await site.post("customer/authenticate", {"email": email, "password": PASSWORD})
    assert this_browser.status_code == 200
    changed = await site.post(
        "customer/change-password", {"oldPassword": PASSWORD, "newPassword": NEW_PASSWORD}
    )
    assert changed.status_code == 204, changed.text
    error_of(await api.get(f"customers/{code}"), 401)
    assert await _web_customer(http, site, other_browser) == 401
    assert (await site.get("customer")).status_code == 200  # this browser: a fresh session
    missing = await site.post("customer/change-password", {"newPassword": "Yet-another-pw1"})
    assert missing.status_code == 400 and "oldPassword" in missing.json()["message"]


# --- device token lifetimes ---------------------------------------------------------------------


async def _answers(
    api: Api, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, code: str, token: str
) -> set[int]:
    """The statuses of two requests authenticated by the token: one customer and the list."""
    fast = await api.get(f"customers/{code}", token=token)
    normal = await api.get("customers", token=token)
    statuses = {fast.status_code, normal.status_code}
    if statuses == {401}:
        assert error_of(fast, 401)["exception"] == "unauthorized_exception"
        assert error_of(normal, 401)["exception"] == "unauthorized_exception"
    return statuses


async def _last_used(core: Core, tenant_id: int, token: str) -> datetime:
    async with core.uow(tenant_id) as uow:
        hashed = devices.token_hash(token)
        row = (
            await uow.session.execute(select(DeviceToken).where(DeviceToken.token_hash == hashed))
        ).scalar_one()
        return row.last_used_at


async def test_an_idle_token_ends_and_use_keeps_it_alive(
    api: Api,
    http: httpx.AsyncClient,
    core: Core,
    tenant: tuple[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock(monkeypatch)
    issued = clock.now
    code = await api.logged_in()
    token = api.token or ""
    idle = timedelta(seconds=core.device_token_idle_seconds)
    assert idle == timedelta(days=30)

    # Used within the hour: the last use is not written again.
    clock.advance(minutes=50)
    assert await _answers(api, http, monkeypatch, code, token) == {200}
    assert await _last_used(core, tenant[1], token) == issued
    # Used later: written once.
    clock.advance(days=29)
    assert await _answers(api, http, monkeypatch, code, token) == {200}
    assert await _last_used(core, tenant[1], token) == clock.now
    # So a day past the idle lifetime from its issue, it still answers...
    clock.advance(days=1, hours=23)
    assert await _answers(api, http, monkeypatch, code, token) == {200}
    # ...until it has not been used for the idle lifetime.
    clock.advance(seconds=idle.total_seconds())
    assert await _answers(api, http, monkeypatch, code, token) == {401}
    error_of(await api.get("stores", token=token), 401)


async def test_a_token_ends_at_its_absolute_lifetime_however_used(
    api: Api,
    http: httpx.AsyncClient,
    core: Core,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock(monkeypatch)
    monkeypatch.setattr(core, "device_token_absolute_seconds", 3 * 86400)
    code = await api.logged_in()
    token = api.token or ""
    for _ in range(2):
        clock.advance(days=1)
        assert await _answers(api, http, monkeypatch, code, token) == {200}
    # Logging in again on it (the same token) does not extend it.
    email = await _email(api, code)
    again = await api.post(
        f"tokens/{token}/actions/login",
        {"login_type": "email", "login_value": email, "password": PASSWORD},
    )
    assert again.status_code == 200, again.text
    clock.advance(days=1)
    assert await _answers(api, http, monkeypatch, code, token) == {401}
    # A new token for the device starts again.
    api.token = await api.new_token()
    assert (await api.get("stores")).status_code == 200


# --- failed app logins count against the account -----------------------------------------------


async def test_reformatted_phone_numbers_share_one_failure_count(
    api: Api, core: Core, tenant: tuple[str, int]
) -> None:
    owner = Principal(tenant_id=tenant[1], actor="test", full_access=True)
    await customer_service.create_customer(
        core,
        owner,
        NewCustomer(
            first_name="Ada",
            last_name="Lovelace",
            email=unique_email(),
            mobile="+44 7700 900123",
            password=PASSWORD,
        ),
    )
    forms = ["+44 7700 900123", "+447700900123", "0044 7700 900123", "44-7700-900-123"]
    token = api.token
    for attempt in range(10):
        response = await api.post(
            f"tokens/{token}/actions/login",
            {"login_type": "phone", "login_value": forms[attempt % 4], "password": "Wr0ng-pass"},
        )
        assert reasons(response) == {"login_value": "not_found"}
    for form in [*forms, "(44) 7700 900 123"]:
        locked = await api.post(
            f"tokens/{token}/actions/login",
            {"login_type": "phone", "login_value": form, "password": PASSWORD},
        )
        assert error_of(locked, 429) and int(locked.headers["retry-after"]) > 0
