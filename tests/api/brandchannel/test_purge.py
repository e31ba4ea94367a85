"""DELETE itemPurgeData: the person is gone from every table; an anonymous tombstone stays."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from boxoffice.bootstrap import Core
from boxoffice.domain.commands import CustomerPatch, NewAddress
from boxoffice.domain.errors import NotFound
from boxoffice.domain.principal import Principal
from boxoffice.services import customers as spektrix_side
from boxoffice.store.models import (
    CustomerSource,
    CustomerSourceRecord,
    CustomerToken,
    TimelineEntry,
)
from tests.api.brandchannel.support import Api, assert_result, unique_email, unique_phone
from tests.conftest import database_traces


def _letters(n: int = 8) -> str:
    return "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:n])


@pytest.fixture
async def person(api: Api, core: Core, bc_tenant: tuple[str, int]) -> dict[str, Any]:
    """A customer with data in every table that can hold a person's data."""
    first, last = "Zorka" + _letters(), "Qwill" + _letters()
    email, phone, mobile = unique_email(_letters()), unique_phone(), unique_phone()
    external = f"EXT-{_letters(10)}"
    customer_id = await api.create(
        brand_id=2,
        primary_id=external,
        firstname=first,
        lastname=last,
        extra_email=email,
        extra_telephone=phone,
        extra_twitter=f"{first}_tw",
        custom_testfield=f"{first} likes opera",
        ticket_id=77,
    )
    tenant_id = bc_tenant[1]
    owner = Principal(tenant_id=tenant_id, actor=f"api-user:{first}", full_access=True)
    # The other dialects' data about the same person.
    await spektrix_side.update_customer(
        core,
        owner,
        customer_id,
        CustomerPatch(
            mobile=mobile,
            birth_date=date(1980, 5, 17),
            friendly_id=f"F-{last}",
            attributes={"Favourite Genre": f"what {first} loves"},
        ),
    )
    await spektrix_side.add_address(
        core,
        owner,
        customer_id,
        NewAddress(name=f"{first} {last}", line1=f"1 {last} Street", town="Brno", postcode="60200"),
    )
    async with core.uow(tenant_id) as uow:
        tag = (await uow.catalogue.tags())[0].id
        statements = [s.id for s in await uow.catalogue.statements()]
    await spektrix_side.add_tag(core, owner, customer_id, tag)
    await spektrix_side.agree_statements(core, owner, customer_id, statements[:2])
    await spektrix_side.withdraw_statement(core, owner, customer_id, statements[0])
    await spektrix_side.add_subscription(
        core,
        owner,
        customer_id,
        "Friends",
        start=date(2026, 1, 1),
        expiry=date(2026, 12, 31),
    )
    await core.session_store.create(tenant_id, customer_id)
    now = datetime.now(UTC)
    async with core.uow(tenant_id, write=True) as uow:
        source = (await uow.catalogue.all(CustomerSource))[0]
        uow.customers.add(
            CustomerSourceRecord(customer_id=customer_id, source_id=source.id, external_id=email)
        )
        uow.customers.add(
            CustomerToken(
                token_hash=hashlib.sha256(email.encode()).hexdigest(),
                customer_id=customer_id,
                purpose="reset",
                created_at=now,
                expires_at=now + timedelta(hours=1),
            )
        )
        await uow.commit()
    assert_result(
        await api.post(
            "customer/externalEvent",
            {
                "customer_id": customer_id,
                "initiated_by": f"{first} {last}",
                "message": f"Called {first} on {phone}, wrote to {email}",
                "source_url": f"https://crm.example.org/people?email={email}",
            },
        ),
        "Event created.",
    )
    needles = {
        "email": email,
        "first name": first,
        "last name": last,
        "phone": phone,
        "mobile": mobile,
        "external id": external,
    }
    assert set(await database_traces(core, needles)) >= {
        "customers.email: email",
        "customers.first_name: first name",
        "customers.last_name: last name",
        "customers.phone: phone",
        "customer_channels.value: email",
        "customer_addresses.name: first name",
        "customer_attribute_values.value: first name",
        "customer_source_records.external_id: email",
        "timeline_entries.data: email",
        "consent_changes.actor: first name",
    }
    return {"id": customer_id, "tenant_id": tenant_id, "needles": needles, "owner": owner}


async def test_purge_leaves_no_trace_of_the_person(
    api: Api, core: Core, person: dict[str, Any]
) -> None:
    bystander_email = unique_email()
    bystander = await api.create(brand_id=2, firstname="Ida", extra_email=bystander_email)
    customer_id = person["id"]

    assert_result(await api.delete(f"customer/{customer_id}/purgeData"), "Customer data purged.")

    assert await database_traces(core, person["needles"]) == []
    # The tombstone: same id and brand, nothing else; it still counts in lists.
    tombstone = await api.customer(customer_id)
    assert tombstone["id"] == customer_id and tombstone["brand_id"] == 2
    assert (tombstone["external_primary_id"], tombstone["firstname"], tombstone["lastname"]) == (
        None,
        "",
        "",
    )
    assert tombstone["channels"] == [] and tombstone["custom_testfield"] == ""
    listed = (await api.get("customer", brand_id=2)).json()
    assert {c["id"] for c in listed["items"]} == {customer_id, bystander}
    # One anonymous timeline entry remains.
    async with core.uow(person["tenant_id"]) as uow:
        entries = await uow.customers.timeline(customer_id)
        row = await uow.customers.get_any_state(customer_id)
    assert [(e.kind, e.data) for e in entries] == [("erased", {})]
    assert row is not None and row.state == "erased" and row.email is None
    # The other dialects no longer find the person; the session is gone.
    with pytest.raises(NotFound):
        await spektrix_side.get_customer(core, person["owner"], customer_id)
    # Writes no longer reach a tombstone.
    refused = await api.put(f"customer/{customer_id}", {"firstname": "Back"})
    assert refused.status_code == 404
    # Nobody else was touched.
    assert (await api.customer(bystander))["channels"][0]["value"] == bystander_email


async def test_purge_is_idempotent(api: Api, core: Core, person: dict[str, Any]) -> None:
    customer_id = person["id"]
    for _ in range(2):
        assert_result(
            await api.delete(f"customer/{customer_id}/purgeData"), "Customer data purged."
        )
    async with core.uow(person["tenant_id"]) as uow:
        kinds = [e.kind for e in await uow.customers.timeline(customer_id)]
    assert kinds == ["erased"]
    timeline = await api.get(
        "customer/timelineByCustomerExternalID", customer_id=customer_id, brand_id=2
    )
    assert [i["message"] for i in timeline.json()["items"]] == ["Customer data purged."]


async def test_purge_of_an_unknown_customer_is_404(api: Api) -> None:
    response = await api.delete("customer/424242/purgeData")
    assert response.status_code == 404


async def test_hard_delete_leaves_no_trace_either(
    api: Api, core: Core, person: dict[str, Any]
) -> None:
    assert_result(await api.delete(f"customer/{person['id']}"), "Customer deleted.")
    assert await database_traces(core, person["needles"]) == []
    async with core.uow(person["tenant_id"]) as uow:
        assert await uow.customers.get_any_state(person["id"]) is None
        left = await uow.session.execute(
            select(TimelineEntry.id).where(TimelineEntry.customer_id == person["id"])
        )
        assert left.all() == []
