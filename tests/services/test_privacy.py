"""Data-protection requests: the export holds everything; the erasure leaves nothing behind but
the anonymous tombstone and the audit log's record that it happened. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import orjson
import pytest

from boxoffice.bootstrap import Core
from boxoffice.domain.commands import (
    BrandCustomerPatch,
    ConsentChoice,
    CustomerRef,
    DeviceSetup,
    NewAddress,
    NewChannel,
    NewCustomer,
    NewDevice,
    NewExternalEvent,
    PropertyValue,
    SourceLink,
)
from boxoffice.domain.errors import NotFound
from boxoffice.domain.ids import customer_code, parse_customer_ref
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import ApiKeyCaller
from boxoffice.services import accounts, audit, bots, devices, newsletter, privacy, records
from boxoffice.services import brandchannel as brand_side
from boxoffice.services import customers as spektrix_side
from boxoffice.services.tenants import get_tenant
from boxoffice.store.models import CustomerSource, Interest
from tests.conftest import database_traces


def _letters(n: int = 8) -> str:
    return "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:n])


async def make_person(core: Core, tenant: tuple[str, int]) -> dict[str, Any]:
    """A customer with every kind of data boxoffice holds about a person, made through the
    services of every dialect."""
    name, tenant_id = tenant
    first, last = "Zorka" + _letters(), "Qwill" + _letters()
    email = f"{first}.{_letters(6)}@example.org"
    # Uniform digits, enough of them that no other customer left in a shared test database
    # (earlier runs' bystanders included) holds the same number: the scan looks everywhere.
    digits = f"{uuid.uuid4().int % 10**16:016d}"
    phone, mobile = f"+44 20 7946 {digits[:8]}", f"+420 777 {digits[8:12]} {digits[12:16]}"
    owner = Principal(tenant_id=tenant_id, actor="api-user:dpo", full_access=True)
    async with core.uow(tenant_id) as uow:
        tags = await uow.catalogue.tags()
        statements = [s.id for s in await uow.catalogue.statements()]
        interest = next(i for i in await uow.catalogue.all(Interest) if i.tag_id is not None)
        plain_tag = next(t for t in tags if t.id != interest.tag_id)
        source = (await uow.catalogue.all(CustomerSource))[0]
    view = await spektrix_side.create_customer(
        core,
        owner,
        NewCustomer(
            first_name=first,
            last_name=last,
            email=email,
            phone=phone,
            mobile=mobile,
            birth_date=date(1980, 5, 17),
            friendly_id=f"F-{last}",
            password="Correct horse battery staple 1",
            addresses=(NewAddress(name=f"{first} {last}", line1=f"1 {last} Street", town="Brno"),),
            tag_ids=(plain_tag.id,),
            statement_ids=tuple(statements[:2]),
            attributes={"Access Requirements": f"{first} needs a step-free seat"},
        ),
    )
    customer_id = view.id
    await spektrix_side.withdraw_statement(core, owner, customer_id, statements[0])
    await spektrix_side.add_subscription(
        core, owner, customer_id, "Friends", start=date(2026, 1, 1), expiry=date(2026, 12, 31)
    )
    # The brand/channel API: channels, external id, an external event.
    caller = ApiKeyCaller(
        principal=owner,
        brand_id=None,
        permissions=frozenset({brand_side.CUSTOMER_READ, brand_side.CUSTOMER_CUD}),
    )
    ref = CustomerRef(customer_id=customer_id)
    await brand_side.update_customer(
        core,
        caller,
        ref,
        BrandCustomerPatch(
            external_primary_id=f"EXT-{last}",
            channels=(NewChannel(type="twitter", value=f"{first}_tw"),),
        ),
    )
    await brand_side.add_external_event(
        core, caller, ref, NewExternalEvent(message=f"Called {first} on {phone} about {email}")
    )
    # CareCloud: interest and property records, a source record, a device token.
    await records.add_interest_record(core, owner, customer_id, interest.id)
    await records.set_property_records(
        core, owner, customer_id, [PropertyValue(code="favourite_genre", value=f"{last} opera")]
    )
    await records.add_source_record(
        core, owner, customer_id, SourceLink(source_id=source.id, external_id=f"web-{last}")
    )
    tenant_view = await get_tenant(core, name)
    token = await devices.create_token(
        core,
        tenant_view,
        "127.0.0.1",
        NewDevice(
            user_name=None,
            device_id=f"phone-of-{first}",
            device_system="Android 15",
            device_name=f"{first}'s phone",
            device_type="phone",
            external_application_id="app",
            push_token=f"push-{_letters(20)}",
            setup=DeviceSetup(language="en", allowed_gps=False, allowed_notifications=True),
        ),
    )
    async with core.uow(tenant_id, write=True) as uow:
        await devices.bind_customer(uow, token, customer_id)
        await uow.commit()
    # Web mode: a session and a mailed password-reset token.
    await core.session_store.create(tenant_id, customer_id)
    client = accounts.Client(ip="127.0.0.1", base_url="http://localhost")
    await accounts.request_password_reset(core, tenant_view, client, email)
    # A newsletter sign-up for the address, made by an app, waiting for its confirmation.
    await newsletter.sign_up(
        core,
        tenant_view,
        Principal(tenant_id=tenant_id, actor="app", full_access=False),
        client_ip="127.0.0.1",
        base_url="http://localhost",
        contact=email,
        source_id=source.id,
        consents=[ConsentChoice(statement_id=statements[1], agreed=True)],
        language=None,
        signals=bots.BotSignals(),
    )
    needles = {
        "email": email,
        "first name": first,
        "last name": last,
        "phone": phone,
        "mobile": mobile,
    }
    return {"id": customer_id, "tenant": name, "tenant_id": tenant_id, "needles": needles}


async def test_export_holds_everything_about_the_person(
    core: Core, tenant: tuple[str, int]
) -> None:
    person = await make_person(core, tenant)
    other = await make_person(core, tenant)
    code = customer_code(person["id"])

    data = await privacy.export_customer(core, person["tenant"], code)

    assert data["format"] == "boxoffice-customer-export/1"
    customer = data["customer"]
    needles = person["needles"]
    assert customer["id"] == code and customer["key"] == person["id"]
    assert (customer["email"], customer["first_name"], customer["last_name"]) == (
        needles["email"],
        needles["first name"],
        needles["last name"],
    )
    assert (customer["phone"], customer["mobile"]) == (needles["phone"], needles["mobile"])
    assert customer["birth_date"] == "1980-05-17"
    assert customer["external_primary_id"].startswith("EXT-")
    assert customer["has_password"] is True and "password_hash" not in customer
    assert [a["line1"] for a in data["addresses"]] == [f"1 {needles['last name']} Street"]
    assert {c["channel_type"]: c["value"] for c in data["channels"]}["twitter"].endswith("_tw")
    assert [r["external_id"] for r in data["external_ids"]] == [f"web-{needles['last name']}"]
    attributes = {a["attribute"]: a["value"] for a in data["attributes"]}
    assert attributes["Access Requirements"].endswith("needs a step-free seat")
    assert attributes["Favourite Genre"] == f"{needles['last name']} opera"
    assert [p["code"] for p in data["property_records"]] == ["favourite_genre"]
    assert len(data["tags"]) == 2 and all(t["tag"] and t["group"] for t in data["tags"])
    assert [i["interest"] for i in data["interests"]]
    assert len(data["agreed_statements"]) == 1 and data["agreed_statements"][0]["statement"]
    assert [h["agreed"] for h in data["statement_history"]] == [True, True, False]
    assert [m["membership"] for m in data["memberships"]] == ["Friends"]
    # Credentials: their metadata, never their secrets.
    (device,) = data["device_tokens"]
    assert device["device_name"].endswith("'s phone")
    assert device["token_hash"] == "[redacted]" and device["push_token"] == "[redacted]"
    (session,) = data["sessions"]
    assert session["token_hash"] == "[redacted]" and session["expires_at"]
    assert [t["purpose"] for t in data["mailed_tokens"]] == ["reset"]
    (request,) = data["newsletter_requests"]
    assert request["email"] == needles["email"] and request["token_hash"] == "[redacted]"
    kinds = [e["kind"] for e in data["timeline"]]
    assert kinds[0] == "created" and "external_event" in kinds
    assert {a["action"] for a in data["audit"]} >= {"customer.created"}
    assert all(a["customer_id"] == person["id"] for a in data["audit"])
    assert data["other"] == {}
    # Nothing about the other person, and no secret anywhere.
    dumped = orjson.dumps(data).decode()
    assert other["needles"]["email"] not in dumped
    assert "argon2" not in dumped and "Correct horse 1" not in dumped
    # The same export by each dialect's form of the id.
    assert parse_customer_ref(str(person["id"])) == person["id"]
    by_key = await privacy.export_customer(core, person["tenant"], str(person["id"]))
    assert by_key["customer"] == {**customer}


async def test_export_and_erase_refuse_unknown_ids(core: Core, tenant: tuple[str, int]) -> None:
    for ref in ("I-ZZZZ-ZZZZ", "not-an-id", "0", ""):
        with pytest.raises(NotFound):
            await privacy.export_customer(core, tenant[0], ref)
        with pytest.raises(NotFound):
            await privacy.erase_customer(core, tenant[0], ref)


async def test_another_tenants_customer_is_not_found(core: Core, tenant: tuple[str, int]) -> None:
    person = await make_person(core, tenant)
    from tests.conftest import make_tenant

    other_tenant, _ = await make_tenant(core)
    with pytest.raises(NotFound):
        await privacy.export_customer(core, other_tenant, customer_code(person["id"]))
    with pytest.raises(NotFound):
        await privacy.erase_customer(core, other_tenant, customer_code(person["id"]))


async def test_erase_leaves_no_trace_but_the_audit_record(
    core: Core, tenant: tuple[str, int]
) -> None:
    person = await make_person(core, tenant)
    bystander = await make_person(core, tenant)
    assert set(await database_traces(core, person["needles"])) >= {
        "customers.email: email",
        "customers.first_name: first name",
        "customers.last_name: last name",
        "customers.phone: phone",
        "customers.mobile: mobile",
        "customer_addresses.name: first name",
        "customer_attribute_values.value: first name",
        "device_tokens.device_name: first name",
        "timeline_entries.data: email",
        "timeline_entries.data: phone",
    }
    before = await audit.list_entries(core, person["tenant"], customer_id=person["id"])
    assert before

    token = audit.start_request()
    try:
        audit.identify(audit.Caller("cli", "operator-cli", "dpo"))
        erased = await privacy.erase_customer(core, person["tenant"], customer_code(person["id"]))
    finally:
        audit.end_request(token)

    assert erased == person["id"]
    assert await database_traces(core, person["needles"]) == []
    # The bystander is whole.
    assert len(await database_traces(core, bystander["needles"])) >= 10
    # The audit log kept every entry about the person, and the erasure itself.
    after = await audit.list_entries(core, person["tenant"], customer_id=person["id"])
    assert after[: len(before)] == before
    last = after[-1]
    assert (last.action, last.actor, last.credential, last.credential_id) == (
        "customer.erased",
        "cli",
        "operator-cli",
        "dpo",
    )
    assert last.target_kind == "customer" and last.target_id == customer_code(person["id"])
    # The export now shows the tombstone only.
    data = await privacy.export_customer(core, person["tenant"], str(person["id"]))
    assert data["customer"]["state"] == "erased" and data["customer"]["email"] is None
    assert [e["kind"] for e in data["timeline"]] == ["erased"]
    assert data["addresses"] == data["channels"] == data["device_tokens"] == []
    # Erasing again is harmless.
    await privacy.erase_customer(core, person["tenant"], str(person["id"]))
