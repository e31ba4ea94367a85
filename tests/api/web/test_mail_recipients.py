"""Mail goes only to the address stored on the account (issue 15, finding 2): never to the
caller's spelling, and an address that only folds to a stored one (``ß`` and ``ss``) finds
nobody. Through the Spektrix web-mode routes and the hosted ForgotPassword page."""

from __future__ import annotations

from email import message_from_bytes, policy

import httpx

from boxoffice.bootstrap import Core
from boxoffice.domain.commands import NewCustomer
from boxoffice.domain.principal import Principal
from boxoffice.services import customers as customer_service
from boxoffice.settings import Settings
from tests.api.web.conftest import ORIGIN, Site, outbox
from tests.web.test_pages import form_token, page

CALLBACK = f"{ORIGIN}/login?token={{token}}"


async def _customer(core: Core, owner: Principal, email: str) -> None:
    await customer_service.create_customer(
        core, owner, NewCustomer(first_name="Dora", last_name="Bank", email=email)
    )


def _recipients(settings: Settings) -> list[str]:
    parsed = [message_from_bytes(m.as_bytes(), policy=policy.default) for m in outbox(settings)]
    return [m["To"].addresses[0].addr_spec for m in parsed]


async def _forgot_page(http: httpx.AsyncClient, tenant: str, email: str) -> httpx.Response:
    url = page(tenant, "secure/ForgotPassword.aspx")
    return await http.post(url, data={"_csrf": await form_token(http, url), "Email": email})


async def test_an_address_that_only_folds_to_a_stored_one_mails_nobody(
    site: Site, http: httpx.AsyncClient, core: Core, owner: Principal, settings: Settings
) -> None:
    await _customer(core, owner, "dora@grossbank.example")
    forgot = await site.post("customer/forgot-password?emailAddress=dora@großbank.example")
    assert forgot.status_code == 404  # no account has this address
    magic = await site.post(
        "customer/send-magic-link", {"email": "dora@großbank.example", "callbackUrl": CALLBACK}
    )
    assert magic.status_code == 204  # the same answer as for an account
    hosted = await _forgot_page(http, site.tenant, "dora@großbank.example")
    assert hosted.status_code == 303 and "Status=Sent" in hosted.headers["location"]
    assert _recipients(settings) == []


async def test_mail_goes_to_the_stored_address_not_the_callers_spelling(
    site: Site, http: httpx.AsyncClient, core: Core, owner: Principal, settings: Settings
) -> None:
    await _customer(core, owner, "dora@grossbank.example")
    await _customer(core, owner, "Dora@Großbank.example")  # another mailbox, another customer
    sent = [
        await site.post("customer/forgot-password?emailAddress=DORA@GROSSBANK.EXAMPLE"),
        await site.post(
            "customer/send-magic-link",
            {"email": " dora@grossbank.Example ", "callbackUrl": CALLBACK},
        ),
        await site.post("customer/forgot-password?emailAddress=dora@xn--grobank-2va.example"),
        await site.post(
            "customer/send-magic-link", {"email": "DORA@GROẞBANK.EXAMPLE", "callbackUrl": CALLBACK}
        ),
    ]
    assert [r.status_code for r in sent] == [204, 204, 204, 204], [r.text for r in sent]
    hosted = await _forgot_page(http, site.tenant, "DORA@GROSSBANK.example")
    assert hosted.status_code == 303
    assert _recipients(settings) == [
        "dora@grossbank.example",
        "dora@grossbank.example",
        "Dora@Großbank.example",
        "Dora@Großbank.example",
        "dora@grossbank.example",
    ]
