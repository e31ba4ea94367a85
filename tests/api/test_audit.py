"""The audit log through every entry point: each dialect's writes are recorded with the caller
and the credential that made them; reads and refused writes are not. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from boxoffice.bootstrap import Core
from boxoffice.domain.ids import customer_code, parse_customer_code
from boxoffice.domain.views import AuditEntryView
from boxoffice.services import audit
from boxoffice.services import tenants as tenant_service
from tests.api.brandchannel.support import Api as BrandApi
from tests.api.carecloud.support import Api as CareCloudApi
from tests.api.carecloud.support import basic, token_body
from tests.api.spektrix.support import customer_body
from tests.api.web.conftest import ORIGIN
from tests.conftest import Signer

PASSWORD = "Correct horse battery staple 1"


async def entries(core: Core, tenant: str) -> list[AuditEntryView]:
    return await audit.list_entries(core, tenant)


async def new_entries(core: Core, tenant: str, before: int) -> list[AuditEntryView]:
    return (await entries(core, tenant))[before:]


async def test_spektrix_system_owner_writes_are_audited_reads_are_not(
    owner_api: Signer, core: Core, tenant: tuple[str, int]
) -> None:
    before = len(await entries(core, tenant[0]))
    created = await owner_api.post("customers", customer_body(firstName="Audra"))
    assert created.status_code == 200, created.text
    code = created.json()["id"]
    key = parse_customer_code(code)
    (entry,) = await new_entries(core, tenant[0], before)
    assert (entry.actor, entry.credential, entry.credential_id) == (
        "api-user:test-user",
        "api-user",
        "test-user",
    )
    assert (entry.action, entry.target_kind, entry.target_id) == (
        "customer.created",
        "customer",
        code,
    )
    assert entry.customer_id == key and entry.tenant_id == tenant[1]
    assert {c["table"] for c in entry.changes} >= {"customers", "timeline_entries"}
    # No personal value is copied into the log.
    assert "Audra" not in repr(entry)

    count = len(await entries(core, tenant[0]))
    for path in (f"customers/{code}", "customers?email=nobody@example.org", "tag-groups"):
        assert (await owner_api.get(path)).status_code in (200, 404)
    assert len(await entries(core, tenant[0])) == count

    patched = await owner_api.patch(f"customers/{code}", {"lastName": "Renamed"})
    assert patched.status_code == 200, patched.text
    (entry,) = await new_entries(core, tenant[0], count)
    assert entry.action == "customer.changed"
    update = next(c for c in entry.changes if c["table"] == "customers")
    assert update["op"] == "update" and "last_name" in update["columns"]
    assert "Renamed" not in repr(entry)

    # A refused write (a duplicate) leaves no audit entry: nothing was written.
    count = len(await entries(core, tenant[0]))
    duplicate = await owner_api.post(
        "customers", customer_body(email=created.json()["email"], firstName="Twin")
    )
    assert duplicate.status_code == 400
    assert len(await entries(core, tenant[0])) == count


async def test_spektrix_web_mode_sign_up_and_session_writes(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    name = tenant[0]
    headers = {"Origin": ORIGIN}
    before = len(await entries(core, name))
    signed_up = await http.post(
        f"/{name}/api/v3/customer",
        json={
            "FirstName": "Web",
            "LastName": "User",
            "Email": "web@example.org",
            "Password": PASSWORD,
        },
        headers=headers,
    )
    assert signed_up.status_code == 201, signed_up.text
    code = signed_up.json()["id"]
    created, logged_in = await new_entries(core, name, before)
    # Signing up is not an authenticated write: it is recorded as anonymous.
    assert (created.actor, created.credential, created.action) == (
        "anonymous",
        "none",
        "customer.created",
    )
    assert logged_in.action == "customer.logged_in" and logged_in.target_id == code
    # From then on the customer holds a credential: the password just set.
    assert (logged_in.actor, logged_in.credential) == (f"customer:{code}", "customer-password")

    count = len(await entries(core, name))
    assert (await http.get(f"/{name}/api/v3/customer", headers=headers)).status_code == 200
    assert len(await entries(core, name)) == count
    changed = await http.patch(
        f"/{name}/api/v3/customer", json={"firstName": "Webster"}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    (entry,) = await new_entries(core, name, count)
    assert (entry.actor, entry.credential, entry.credential_id) == (
        f"customer:{code}",
        "customer-session",
        code,
    )
    assert entry.target_id == code


async def test_carecloud_token_and_customer_writes(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    name = tenant[0]
    await tenant_service.create_interface_user(core, name, "shop")
    api = CareCloudApi(http, name)
    before = len(await entries(core, name))
    response = await http.post(api.url("tokens"), json=token_body(), headers=basic("shop"))
    assert response.status_code == 201, response.text
    api.token = response.json()["data"]["token_id"]
    (token_entry,) = await new_entries(core, name, before)
    assert (token_entry.credential, token_entry.credential_id, token_entry.action) == (
        "interface-user",
        "shop",
        "device_tokens.insert",
    )
    # The token's hash is not in the log.
    assert all("token_hash" not in c.get("key", {}) for c in token_entry.changes)

    count = len(await entries(core, name))
    customer_id = await api.register(autologin=True)
    registered = await new_entries(core, name, count)
    assert registered and all(e.credential == "device-token" for e in registered)
    assert registered[0].actor == "app" and registered[0].credential_id == "shop"

    count = len(await entries(core, name))
    assert (await api.get(f"customers/{customer_id}")).status_code == 200
    assert (await api.get("interests")).status_code == 200
    assert len(await entries(core, name)) == count

    interests = await api.ids("interests", "interests", "interest_id")
    added = await api.post(
        f"customers/{customer_id}/interest-records",
        {
            "interest_record": {
                "customer_id": customer_id,
                "interest_id": next(iter(interests.values())),
            }
        },
    )
    assert added.status_code in (200, 201), added.text
    (entry,) = await new_entries(core, name, count)
    assert entry.credential == "device-token" and entry.actor.startswith("customer:I-")
    assert entry.target_kind == "customer" and entry.action == "customer.tag_added"


async def test_brandchannel_api_key_writes(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    name = tenant[0]
    key = await tenant_service.create_api_key(
        core, name, permissions=("CUSTOMER_READ", "CUSTOMER_CUD")
    )
    entry_of_key = (await entries(core, name))[-1]
    assert (entry_of_key.action, entry_of_key.target_kind) == ("api_keys.insert", "api_keys")
    assert key not in repr(entry_of_key)
    api = BrandApi(http, key)
    before = len(await entries(core, name))
    customer_id = await api.create(brand_id=1, firstname="Brand", extra_email="brand@example.org")
    (entry,) = await new_entries(core, name, before)
    assert entry.actor.startswith("api-key:") and entry.credential == "api-key"
    assert entry.actor == f"api-key:{entry.credential_id}"
    assert entry.customer_id == customer_id and entry.target_id == customer_code(customer_id)

    count = len(await entries(core, name))
    await api.customer(customer_id)
    assert (await api.get("customer", brand_id=1)).status_code == 200
    assert len(await entries(core, name)) == count

    purged = await api.delete(f"customer/{customer_id}/purgeData")
    assert purged.status_code == 200, purged.text
    (entry,) = await new_entries(core, name, count)
    assert entry.action == "customer.erased" and entry.credential == "api-key"
    # The purge kept every earlier entry about the customer.
    about = await audit.list_entries(core, name, customer_id=customer_id)
    assert about[0].action == "customer.created"


async def test_requests_do_not_inherit_a_caller(
    owner_api: Signer, http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]
) -> None:
    """A signed request, then an anonymous one on the same connection: the second is not
    recorded under the first one's credential."""
    assert (await owner_api.get("tag-groups")).status_code == 200
    name = tenant[0]
    before = len(await entries(core, name))
    signed_up = await http.post(
        f"/{name}/api/v3/customer",
        json={"FirstName": "Anon", "LastName": "Ymous", "Email": "anon@example.org"},
        headers={"Origin": ORIGIN},
    )
    assert signed_up.status_code == 201, signed_up.text
    (entry,) = await new_entries(core, name, before)
    assert (entry.actor, entry.credential) == ("anonymous", "none")


async def test_since_and_customer_filters(
    owner_api: Signer, core: Core, tenant: tuple[str, int]
) -> None:
    first = (await owner_api.post("customers", customer_body())).json()["id"]
    second = (await owner_api.post("customers", customer_body())).json()["id"]
    mine = await audit.list_entries(core, tenant[0], customer_id=parse_customer_code(first))
    assert [e.target_id for e in mine] == [first]
    assert second not in {e.target_id for e in mine}
    later = await audit.list_entries(
        core, tenant[0], since=datetime.now(UTC) + timedelta(seconds=5)
    )
    assert later == []
