"""One rule, every dialect: the same value is accepted by every dialect that carries the field,
or refused by every one of them with its dialect's 4xx (decision 0118).

For each rule of ``domain/rules.py`` (names, email, phone, birth date, attribute values,
passwords, tags, consents) a table of inputs; each input is sent through every entrypoint that
carries the field: Spektrix's System Owner (``POST customers``) and web mode (``POST
customer``), CareCloud (``POST customers``; tags as interest records) and brand/channel (``POST
customer``). A value is spelled the way each vendor documents its field (a phone number is
``+`` and digits for Spektrix and brand/channel, digits only for CareCloud); every input of a
table stays inside each vendor's documented wire pattern (brand/channel's names allow letters,
spaces, ``.``, ``-`` and ``'`` only), so that what is compared is the core's rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from boxoffice.api.carecloud import mappers as carecloud_mappers
from boxoffice.bootstrap import Core
from boxoffice.domain.ids import resource_code
from boxoffice.services import tenants as tenant_service
from tests.api.brandchannel.support import BRANDS, configure
from tests.api.brandchannel.support import Api as BrandChannel
from tests.api.carecloud.support import Api as CareCloud
from tests.conftest import Signer

ORIGIN = "http://localhost:8080"
#: What each entrypoint answers when it accepts a new customer, and when it refuses a value.
ACCEPTED = {"spektrix": 200, "web": 201, "carecloud": 201, "brandchannel": 200}
REFUSED = 400
SPEKTRIX, WEB, CARECLOUD, BRANDCHANNEL = "spektrix", "web", "carecloud", "brandchannel"
ALL = (SPEKTRIX, WEB, CARECLOUD, BRANDCHANNEL)


def _unique() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class Dialects:
    """A tenant reached through every dialect; each ``send_*`` creates a customer with one
    value set (``None``: the field left out) and returns the answer."""

    owner: Signer
    http: httpx.AsyncClient
    tenant: str
    carecloud: CareCloud
    brandchannel: BrandChannel
    tags: dict[str, str]
    statements: dict[str, str]
    interests: dict[str, str]
    agreements: dict[str, str]

    async def spektrix(self, fields: dict[str, Any]) -> httpx.Response:
        body = {"firstName": "Ada", "lastName": "Lovelace", "email": f"{_unique()}@example.org"}
        return await self.owner.post("customers", body | fields)

    async def web(self, fields: dict[str, Any]) -> httpx.Response:
        body = {"firstName": "Ada", "lastName": "Lovelace", "email": f"{_unique()}@example.org"}
        self.http.cookies.clear()  # every sign-up from a fresh browser
        return await self.http.post(
            f"/{self.tenant}/api/v3/customer", json=body | fields, headers={"Origin": ORIGIN}
        )

    async def carecloud_customer(self, info: dict[str, Any], **extra: Any) -> httpx.Response:
        password = extra.pop("password", None)
        body = await self.carecloud.customer_body(password=password, **info)
        body.update(extra)
        return await self.carecloud.post("customers", body)

    async def brand(self, fields: dict[str, Any]) -> httpx.Response:
        body = {"brand_id": 1, "firstname": "Ada", "lastname": "Lovelace"}
        return await self.brandchannel.post("customer", body | fields)


Send = Callable[[Dialects, Any], Awaitable[httpx.Response]]


@pytest.fixture
async def dialects(
    core: Core, http: httpx.AsyncClient, owner_api: Signer, tenant: tuple[str, int]
) -> Dialects:
    name = tenant[0]
    await configure(
        core, name, brands=BRANDS, settings={"rate_limits": {"signup_per_ip": "10000/minute"}}
    )
    key = await tenant_service.create_api_key(
        core, name, permissions=("CUSTOMER_READ", "CUSTOMER_CUD")
    )
    carecloud = CareCloud(http, name)
    carecloud.token = await carecloud.new_token()
    tags = {t["name"]: t["id"] for t in (await owner_api.get("tags")).json()}
    statements = {s["text"]: s["id"] for s in (await owner_api.get("statements")).json()}
    return Dialects(
        owner=owner_api,
        http=http,
        tenant=name,
        carecloud=carecloud,
        brandchannel=BrandChannel(http, key),
        tags=tags,
        statements=statements,
        interests=await carecloud.ids("interests", "interests", "interest_id"),
        agreements=await carecloud.ids("agreements", "agreements", "agreement_id"),
    )


async def _outcomes(dialects: Dialects, senders: dict[str, Send], value: Any) -> dict[str, int]:
    return {name: (await send(dialects, value)).status_code for name, send in senders.items()}


async def _check(dialects: Dialects, senders: dict[str, Send], value: Any, accepted: bool) -> None:
    """Every entrypoint accepts the value, or every one refuses it with its 400."""
    outcomes = await _outcomes(dialects, senders, value)
    expected = {name: ACCEPTED[name] if accepted else REFUSED for name in senders}
    assert outcomes == expected, (value, outcomes)


# --- names --------------------------------------------------------------------------------------

NAMES = [
    ("Ada", True),
    ("  Zoë O'Neil-Brontë  ", True),
    ("J. R. R.", True),
    ("A" * 200, True),
    ("A" * 201, False),
    ("Ada\x07", False),
    ("Ada\tLovelace", False),
    ("Ada\x00", False),
]


def _first_name_senders() -> dict[str, Send]:
    return {
        SPEKTRIX: lambda d, v: d.spektrix({"firstName": v}),
        WEB: lambda d, v: d.web({"firstName": v}),
        CARECLOUD: lambda d, v: d.carecloud_customer({"first_name": v}),
        BRANDCHANNEL: lambda d, v: d.brand({"firstname": v}),
    }


def _last_name_senders() -> dict[str, Send]:
    return {
        SPEKTRIX: lambda d, v: d.spektrix({"lastName": v}),
        WEB: lambda d, v: d.web({"lastName": v}),
        CARECLOUD: lambda d, v: d.carecloud_customer({"last_name": v}),
        BRANDCHANNEL: lambda d, v: d.brand({"lastname": v}),
    }


@pytest.mark.parametrize(("value", "accepted"), NAMES)
async def test_first_names(dialects: Dialects, value: str, accepted: bool) -> None:
    await _check(dialects, _first_name_senders(), value, accepted)


@pytest.mark.parametrize(("value", "accepted"), NAMES)
async def test_last_names(dialects: Dialects, value: str, accepted: bool) -> None:
    await _check(dialects, _last_name_senders(), value, accepted)


# --- email --------------------------------------------------------------------------------------

#: ``{u}``: a fresh text, so that an accepted address is never a duplicate.
EMAILS = [
    ("ada.{u}@example.org", True),
    ("  Ada.{u}@Example.ORG ", True),
    ("dora.{u}@großbank.example", True),
    ("{u}@" + "a" * 230 + ".org", True),
    ("{u}@" + "a" * 240 + ".org", False),
    ("not-an-email-{u}", False),
    ("ada.{u}@example", False),
    ("ada {u}@example.org", False),
    ("ada.{u}@example.org\x00", False),
    ("ada.{u}\x07@example.org", False),
]


def _email(template: str) -> str:
    return template.format(u=_unique())


def _email_senders() -> dict[str, Send]:
    return {
        SPEKTRIX: lambda d, v: d.spektrix({"email": _email(v)}),
        WEB: lambda d, v: d.web({"email": _email(v)}),
        CARECLOUD: lambda d, v: d.carecloud_customer({"email": _email(v)}),
        BRANDCHANNEL: lambda d, v: d.brand({"extra_email": _email(v)}),
    }


@pytest.mark.parametrize(("template", "accepted"), EMAILS)
async def test_email_addresses(dialects: Dialects, template: str, accepted: bool) -> None:
    await _check(dialects, _email_senders(), template, accepted)


# --- phone --------------------------------------------------------------------------------------

#: How many digits a number has (with its country code); each dialect spells it its vendor's
#: way, and each customer gets a number of its own (apps find customers by phone).
PHONES = [(12, True), (30, True), (60, False)]


def _number(length: int) -> str:
    return ("44" + str(uuid.uuid4().int) * 3)[:length]


def _phone_senders() -> dict[str, Send]:
    return {
        SPEKTRIX: lambda d, n: d.spektrix({"mobile": f"+{_number(n)}"}),
        WEB: lambda d, n: d.web({"mobile": f"+{_number(n)}"}),
        CARECLOUD: lambda d, n: d.carecloud_customer({"phone": _number(n)}),
        BRANDCHANNEL: lambda d, n: d.brand({"extra_telephone": f"+{_number(n)}"}),
    }


@pytest.mark.parametrize(("length", "accepted"), PHONES)
async def test_phone_numbers(dialects: Dialects, length: int, accepted: bool) -> None:
    await _check(dialects, _phone_senders(), length, accepted)


@pytest.mark.parametrize("value", ["+", "+00", "+44 7700\x00900123"])
async def test_phone_numbers_without_digits_or_with_control_characters(
    dialects: Dialects, value: str
) -> None:
    senders: dict[str, Send] = {
        SPEKTRIX: lambda d, v: d.spektrix({"mobile": v}),
        WEB: lambda d, v: d.web({"mobile": v}),
        CARECLOUD: lambda d, v: d.carecloud_customer({"phone": v}),
        BRANDCHANNEL: lambda d, v: d.brand({"extra_telephone": v}),
    }
    await _check(dialects, senders, value, accepted=False)


# --- birth date ---------------------------------------------------------------------------------


def _today() -> date:
    return datetime.now(UTC).date()


BIRTH_DATES: list[tuple[Callable[[], str], bool]] = [
    (lambda: "1990-12-10", True),
    (lambda: "1900-01-01", True),
    (lambda: "1899-12-31", False),
    (lambda: (_today() - timedelta(days=1)).isoformat(), True),
    (lambda: (_today() + timedelta(days=2)).isoformat(), False),
    (lambda: "1990-13-01", False),
    (lambda: "yesterday", False),
]


def _birth_date_senders() -> dict[str, Send]:
    return {
        SPEKTRIX: lambda d, v: d.spektrix({"birthDate": v}),
        WEB: lambda d, v: d.web({"birthDate": v}),
        CARECLOUD: lambda d, v: d.carecloud_customer({"birthdate": v}),
    }


@pytest.mark.parametrize(("value", "accepted"), BIRTH_DATES, ids=range(len(BIRTH_DATES)))
async def test_birth_dates(dialects: Dialects, value: Callable[[], str], accepted: bool) -> None:
    await _check(dialects, _birth_date_senders(), value(), accepted)


# --- attribute values ---------------------------------------------------------------------------

ATTRIBUTE_VALUES = [
    ("Opera", True),
    ("  Opera  ", True),
    ("Opera\tand\nballet", True),
    ("x" * 4000, True),
    ("x" * 4001, False),
    ("Jazz\x07Funk", False),
    ("Jazz\x00Funk", False),
    ("Jazz\x1bFunk", False),
]


def _attribute_senders() -> dict[str, Send]:
    genre = "Favourite Genre"
    return {
        SPEKTRIX: lambda d, v: d.spektrix({f"Attribute_{genre}": v}),
        WEB: lambda d, v: d.web({f"Attribute_{genre}": v}),
        CARECLOUD: lambda d, v: d.carecloud_customer(
            {}, property_records=[{"property_id": "favourite_genre", "property_value": v}]
        ),
        BRANDCHANNEL: lambda d, v: d.brand({"custom_Favourite_Genre": v}),
    }


@pytest.mark.parametrize(("value", "accepted"), ATTRIBUTE_VALUES)
async def test_attribute_values(dialects: Dialects, value: str, accepted: bool) -> None:
    await _check(dialects, _attribute_senders(), value, accepted)


# --- passwords ----------------------------------------------------------------------------------

PASSWORDS = [
    ("Sup3rSecret!", True),
    ("Correct horse battery 1", True),
    ("A1" + "x" * 254, True),
    ("A1" + "x" * 255, False),
    ("short1A", False),
    ("alllowercase1", False),
    ("NODIGITSHERE", False),
    ("correct horse battery", False),
    ("Password1", False),
    ("Qwerty123", False),
]


def _password_senders() -> dict[str, Send]:
    return {
        SPEKTRIX: lambda d, v: d.spektrix({"password": v}),
        WEB: lambda d, v: d.web({"password": v}),
        CARECLOUD: lambda d, v: d.carecloud_customer({}, password=v),
    }


@pytest.mark.parametrize(("value", "accepted"), PASSWORDS)
async def test_passwords(dialects: Dialects, value: str, accepted: bool) -> None:
    await _check(dialects, _password_senders(), value, accepted)


async def test_the_password_check_says_what_registration_does(dialects: Dialects) -> None:
    """CareCloud's ``validate-customer-data`` answers by the same policy."""
    for value, accepted in PASSWORDS:
        response = await dialects.carecloud.client.post(
            dialects.carecloud.url("customers/actions/validate-customer-data"),
            json={"type": "password", "value": value},
        )
        if response.status_code == 400:  # longer than the field allows
            assert not accepted, value
            continue
        assert response.json()["data"]["is_valid"] is accepted, value


# --- tags ---------------------------------------------------------------------------------------

#: A tag (by name), or an id no tag of the tenant has.
TAGS = [("Drama", True), ("Music", True), (None, False)]
UNKNOWN_KEY = 987_654_321


async def _carecloud_interest(d: Dialects, tag: str | None) -> httpx.Response:
    customer_id = await d.carecloud.logged_in()
    interest_id = (
        d.interests[tag]
        if tag is not None
        else carecloud_mappers.encode(carecloud_mappers.INTEREST, UNKNOWN_KEY)
    )
    response = await d.carecloud.post(
        f"customers/{customer_id}/interest-records",
        {"interest_record": {"interest_id": interest_id, "customer_id": customer_id}},
    )
    d.carecloud.token = await d.carecloud.new_token()
    return response


def _tag_id(d: Dialects, tag: str | None) -> str:
    return d.tags[tag] if tag is not None else resource_code("tag", UNKNOWN_KEY)


@pytest.mark.parametrize(("tag", "accepted"), TAGS)
async def test_tags(dialects: Dialects, tag: str | None, accepted: bool) -> None:
    senders: dict[str, Send] = {
        SPEKTRIX: lambda d, v: d.spektrix({"tags": [_tag_id(d, v)]}),
        WEB: lambda d, v: d.web({"tags": [_tag_id(d, v)]}),
        CARECLOUD: _carecloud_interest,
    }
    await _check(dialects, senders, tag, accepted)


# --- consents -----------------------------------------------------------------------------------

#: A statement (by text), or an id no statement of the tenant has.
CONSENTS = [("Email updates from Demo Theatre", True), ("Post from Demo Theatre", True)]
CONSENTS += [(None, False)]


def _statement_id(d: Dialects, text: str | None) -> str:
    return d.statements[text] if text is not None else resource_code("statement", UNKNOWN_KEY)


def _agreement_id(d: Dialects, text: str | None) -> str:
    if text is not None:
        return d.agreements[text]
    return carecloud_mappers.encode(carecloud_mappers.STATEMENT, UNKNOWN_KEY)


@pytest.mark.parametrize(("statement", "accepted"), CONSENTS)
async def test_consents(dialects: Dialects, statement: str | None, accepted: bool) -> None:
    senders: dict[str, Send] = {
        SPEKTRIX: lambda d, v: d.spektrix({"agreedStatements": [_statement_id(d, v)]}),
        WEB: lambda d, v: d.web({"agreedStatements": [_statement_id(d, v)]}),
        CARECLOUD: lambda d, v: d.carecloud_customer(
            {"consents": [{"consent_id": _agreement_id(d, v), "consent_value": 1}]}
        ),
    }
    await _check(dialects, senders, statement, accepted)
