"""CareCloud's public writes (registration, newsletter sign-up) have the web sign-up's
protections: the shared per-IP limit, the honeypot, the CAPTCHA, the bounded Argon2 lane; and a
newsletter sign-up changes nobody's consents until the address's owner confirms it."""

from __future__ import annotations

import threading
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from boxoffice.bootstrap import Core
from boxoffice.security import passwords
from boxoffice.services import catalogue
from boxoffice.settings import Settings
from boxoffice.store.models import Customer, NewsletterRequest
from tests.api.carecloud.support import Api, error_of, reasons, unique_email
from tests.api.web.conftest import ORIGIN, mailed_link, outbox, token_of
from tests.captcha import SECRET

NEWSLETTER = "customers/actions/newsletters-sign-up"


async def _customers(core: Core, tenant_id: int) -> int:
    async with core.uow(tenant_id) as uow:
        return int((await uow.session.execute(select(func.count(Customer.id)))).scalar() or 0)


async def _pending(core: Core, tenant_id: int) -> list[NewsletterRequest]:
    async with core.uow(tenant_id) as uow:
        return list((await uow.session.execute(select(NewsletterRequest))).scalars().all())


async def _consents(api: Api, customer_id: str) -> dict[str, int]:
    """The customer's consents, read with a token the customer is logged in on."""
    response = await api.get(f"customers/{customer_id}")
    assert response.status_code == 200, response.text
    return {
        c["consent_id"]: c["consent_value"]
        for c in response.json()["data"]["personal_information"]["consents"]
    }


# --- the per-IP limit --------------------------------------------------------------------------


async def test_forty_registrations_from_one_ip(
    api: Api, core: Core, tenant: tuple[str, int]
) -> None:
    """The sign-up limit (10 per 10 minutes by default) holds for app registrations too: the
    ones over it get the vendor's 429 with Retry-After, and nothing of theirs is written."""
    answers = []
    for _ in range(40):
        body = await api.customer_body(password=None)
        answers.append((body, await api.post("customers", body)))
    created = [body for body, response in answers if response.status_code == 201]
    refused = [(body, r) for body, r in answers if r.status_code != 201]
    assert len(created) == 10 and len(refused) == 30
    for _body, response in refused:
        error = error_of(response, 429)
        assert error["exception"] == "too_many_requests_exception"
        assert int(response.headers["Retry-After"]) >= 1
    assert await _customers(core, tenant[1]) == 10


async def test_the_limit_is_shared_with_the_website_and_set_per_tenant(
    http: httpx.AsyncClient, api: Api, core: Core, tenant: tuple[str, int]
) -> None:
    await catalogue.load_catalogue(
        core, tenant[0], {"settings": {"rate_limits": {"signup_per_ip": "2/minute"}}}
    )
    web = await http.post(
        f"/{tenant[0]}/api/v3/customer",
        json={"firstName": "A", "lastName": "B", "email": unique_email()},
        headers={"Origin": ORIGIN},
    )
    assert web.status_code == 201, web.text
    assert (await api.post("customers", await api.customer_body(password=None))).status_code == 201
    error_of(await api.post("customers", await api.customer_body(password=None)), 429)
    # A newsletter sign-up has a budget of its own.
    news = await api.post(NEWSLETTER, await _newsletter_body(api, unique_email()))
    assert news.status_code == 204, news.text


async def _newsletter_body(api: Api, contact: str, **agreements: int) -> dict[str, Any]:
    sources = await api.ids("customer-sources", "customer_sources", "customer_source_id")
    return {
        "contact": contact,
        "customer_source_id": sources["Website"],
        "agreements": agreements or {"agreement_marketing_communication": 1},
        "language_id": "cs",
    }


# --- honeypot and CAPTCHA ----------------------------------------------------------------------


async def test_a_filled_honeypot_refuses_registration_and_newsletter(
    api: Api, core: Core, tenant: tuple[str, int]
) -> None:
    body = await api.customer_body()
    assert reasons(await api.post("customers", {**body, "website": "http://spam.example"})) == {
        "website": "invalid_value_format"
    }
    news = await _newsletter_body(api, unique_email())
    assert reasons(await api.post(NEWSLETTER, {**news, "website": "x"})) == {
        "website": "invalid_value_format"
    }
    assert await _customers(core, tenant[1]) == 0 and await _pending(core, tenant[1]) == []
    # Left empty (as a form sends it), the field is fine; the tenant may rename it.
    assert (await api.post("customers", {**body, "website": ""})).status_code == 201
    await catalogue.load_catalogue(core, tenant[0], {"settings": {"honeypot_field": "fax"}})
    trap = await api.customer_body()
    assert reasons(await api.post("customers", {**trap, "fax": "1"})) == {
        "fax": "invalid_value_format"
    }


async def test_the_captcha_refuses_registration_and_newsletter(
    api: Api, core: Core, tenant: tuple[str, int], verifier: str
) -> None:
    await catalogue.load_catalogue(
        core,
        tenant[0],
        {
            "settings": {
                "captcha": {"provider": "turnstile", "secret": SECRET, "verify_url": verifier}
            }
        },
    )
    body = await api.customer_body()
    assert reasons(await api.post("customers", body)) == {"captcha": "required"}
    bad = await api.post("customers", body, headers={"X-Captcha-Token": "bad-token"})
    assert reasons(bad) == {"captcha": "invalid_value_format"}
    news = await _newsletter_body(api, unique_email())
    assert reasons(await api.post(NEWSLETTER, news)) == {"captcha": "required"}
    assert await _customers(core, tenant[1]) == 0 and await _pending(core, tenant[1]) == []
    good = {"X-Captcha-Token": "good-token"}
    assert (await api.post("customers", body, headers=good)).status_code == 201
    assert (await api.post(NEWSLETTER, news, headers=good)).status_code == 204


# --- newsletter sign-up: double opt-in ---------------------------------------------------------


def _mail_to(settings: Settings, address: str) -> Message:
    mails = [m for m in outbox(settings) if m["To"] == address]
    assert len(mails) == 1, [m["To"] for m in mails]
    return mails[0]


async def _confirm(http: httpx.AsyncClient, link: str) -> httpx.Response:
    page = await http.get(link)
    assert page.status_code == 200 and 'name="token"' in page.text
    return await http.post(link, data={"token": token_of(link)})


async def test_an_anonymous_sign_up_leaves_an_existing_customers_consents_alone(
    http: httpx.AsyncClient, api: Api, core: Core, tenant: tuple[str, int], settings: Settings
) -> None:
    agreements = await api.ids("agreements", "agreements", "agreement_id")
    email_updates = agreements["Email updates from Demo Theatre"]
    email = unique_email("victim")
    customer_id = await api.logged_in(
        email=email, consents=[{"consent_id": email_updates, "consent_value": 0}]
    )
    before = await _consents(api, customer_id)
    assert before[email_updates] == 0
    owner_token = api.token
    stranger = Api(http, tenant[0])
    stranger.token = await stranger.new_token()
    body = await _newsletter_body(stranger, email.upper(), agreement_marketing_communication=1)
    assert (await stranger.post(NEWSLETTER, body)).status_code == 204
    api.token = owner_token
    assert await _consents(api, customer_id) == before
    (pending,) = await _pending(core, tenant[1])
    assert pending.email_key == email and pending.customer_id is not None
    link = mailed_link(_mail_to(settings, email))  # the customer's address as stored
    assert link.startswith(f"http://testserver/{tenant[0]}/website/Secure/ConfirmNewsletter.aspx?")
    confirmed = await _confirm(http, link)
    assert confirmed.status_code == 200 and "confirmed" in confirmed.text
    assert (await _consents(api, customer_id))[email_updates] == 1
    assert await _pending(core, tenant[1]) == []
    again = await http.post(link, data={"token": token_of(link)})
    assert again.status_code == 400 and "invalid" in again.text
    assert await _customers(core, tenant[1]) == 1


async def test_a_new_address_becomes_a_customer_only_when_confirmed(
    http: httpx.AsyncClient, api: Api, core: Core, tenant: tuple[str, int], settings: Settings
) -> None:
    email = unique_email("news")
    assert (await api.post(NEWSLETTER, await _newsletter_body(api, email))).status_code == 204
    assert await _customers(core, tenant[1]) == 0
    assert len(await _pending(core, tenant[1])) == 1
    # A withdrawal in a sign-up is no request at all: signing up never withdraws.
    withdrawal = await _newsletter_body(api, email, agreement_marketing_communication=0)
    assert (await api.post(NEWSLETTER, withdrawal)).status_code == 204
    first, second = [m for m in outbox(settings) if m["To"] == email]
    assert (await _confirm(http, mailed_link(first))).status_code == 200
    assert await _customers(core, tenant[1]) == 1
    assert (await _confirm(http, mailed_link(second))).status_code == 200  # changes nothing
    api.token = await api.new_token()
    able = await api.post(
        "customers/actions/check-registration-ability", {"type": "email", "value": email}
    )
    assert able.json()["data"]["registration_ability"] is False
    async with core.uow(tenant[1]) as uow:
        row = await uow.customers.by_email_key(email)
        assert row is not None and row.language == "cs" and row.password_hash is None
        consents = await uow.customers.consents(row.id)
        history = await uow.customers.consent_history(row.id)
    assert len(consents) == 1 and [c.channel for c in history] == ["newsletter"]
    unknown = {**withdrawal, "customer_source_id": "8ea2591121e636086a4a9c0992"}
    assert reasons(await api.post(NEWSLETTER, unknown)) == {"customer_source_id": "not_found"}


async def test_a_customers_own_sign_up_applies_at_once(
    api: Api, core: Core, tenant: tuple[str, int], settings: Settings
) -> None:
    agreements = await api.ids("agreements", "agreements", "agreement_id")
    email_updates = agreements["Email updates from Demo Theatre"]
    email = unique_email()
    customer_id = await api.logged_in(email=email, phone="420600000009")
    for contact in (email, "+420 600 000 009"):
        body = await _newsletter_body(api, contact, agreement_marketing_communication=1)
        assert (await api.post(NEWSLETTER, body)).status_code == 204
    assert (await _consents(api, customer_id))[email_updates] == 1
    assert await _pending(core, tenant[1]) == [] and outbox(settings) == []
    # A phone number cannot be confirmed by mail: from anyone else it is refused.
    api.token = await api.new_token()
    body = await _newsletter_body(api, "420600000009")
    assert reasons(await api.post(NEWSLETTER, body)) == {"contact": "not_allowed_value"}


async def test_confirmation_mails_to_one_address_are_limited(
    api: Api, settings: Settings, tenant: tuple[str, int], core: Core
) -> None:
    email = unique_email()
    body = await _newsletter_body(api, email)
    for _ in range(3):
        assert (await api.post(NEWSLETTER, body)).status_code == 204
    error_of(await api.post(NEWSLETTER, body), 429)
    assert len(outbox(settings)) == 3 and len(await _pending(core, tenant[1])) == 3


# --- the bounded Argon2 lane -------------------------------------------------------------------


async def test_a_full_sign_up_lane_is_a_503_and_writes_nothing(
    api: Api, core: Core, tenant: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    lane = passwords.Lane("test", running=1, waiting=0)
    monkeypatch.setattr(passwords, "SIGN_UP_LANE", lane)
    release = threading.Event()
    busy = lane.submit(release.wait, 30)
    try:
        body = await api.customer_body()
        response = await api.post("customers", body)
        error = error_of(response, 503)
        assert error["exception"] == "service_unavailable_exception"
        assert int(response.headers["Retry-After"]) >= 1
        assert await _customers(core, tenant[1]) == 0
    finally:
        release.set()
    assert await busy is True
    assert (await api.post("customers", body)).status_code == 201


async def test_refused_registrations_never_hash(
    api: Api, hashes: list[str], tmp_path: Path
) -> None:
    """A taken email or any invalid value is found before Argon2 runs."""
    taken = unique_email()
    await api.register(email=taken, password=None)
    refusals = [
        await api.customer_body(email=taken),
        await api.customer_body(store_id="8ea2591121e636086a4a9c0992"),
        await api.customer_body(language_id="de"),
        await api.customer_body(address={"address1": "x" * 300}),
        await api.customer_body(
            consents=[{"consent_id": "8ea2591121e636086a4a9c0992", "consent_value": 1}]
        ),
    ]
    for body in refusals:
        assert (await api.post("customers", body)).status_code in (400, 404), body
    unknown_source = await api.customer_body()
    unknown_source["customer_source"] = {"customer_source_id": "8ea2591121e636086a4a9c0992"}
    assert (await api.post("customers", unknown_source)).status_code in (400, 404)
    assert hashes == []
    await api.register()
    assert len(hashes) == 1
