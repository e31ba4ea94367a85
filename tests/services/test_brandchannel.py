"""Brand/channel use cases, erasure and the CRM adapter, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from boxoffice.bootstrap import Core
from boxoffice.domain.commands import (
    UNSET,
    BrandCustomerPatch,
    CustomerRef,
    NewBrandCustomer,
    NewChannel,
    NewCustomer,
    NewExternalEvent,
)
from boxoffice.domain.errors import (
    AlreadyExists,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import ApiKeyCaller
from boxoffice.services import brandchannel as svc
from boxoffice.services import crm, erasure
from boxoffice.services import customers as spektrix_side
from boxoffice.services import tenants as tenant_service
from boxoffice.store.models import ApiKey
from tests.api.brandchannel.support import (
    BRANDS,
    Answer,
    RunningCrm,
    configure,
    unique,
    unique_email,
    unique_phone,
)
from tests.conftest import make_tenant, redis_sessions

BOTH = frozenset({svc.CUSTOMER_READ, svc.CUSTOMER_CUD})
#: An answering CRM has a minute however busy the machine; a hanging one holds the request
#: until the test ends, so a hang test's timeout (HANG) always expires on it.
FAST = crm.CrmPolicy(timeout_seconds=60, retries=2, backoff_seconds=0.01)
HANG = crm.CrmPolicy(timeout_seconds=5, retries=2, backoff_seconds=0.01)


@pytest.fixture
async def caller(core: Core, tenant: tuple[str, int]) -> ApiKeyCaller:
    await configure(core, tenant[0], brands=BRANDS)
    return ApiKeyCaller(
        principal=Principal(tenant_id=tenant[1], actor="api-key:test", full_access=True),
        brand_id=None,
        permissions=BOTH,
    )


# --- API keys -----------------------------------------------------------------------------------


async def test_api_key_opens_its_tenant(core: Core, tenant: tuple[str, int]) -> None:
    await configure(core, tenant[0], brands=BRANDS)
    key = await tenant_service.create_api_key(
        core, tenant[0], permissions=(svc.CUSTOMER_READ,), brand_id=2
    )
    who = await svc.authenticate_api_key(core, key)
    assert who.principal.tenant_id == tenant[1] and who.principal.full_access
    assert who.brand_id == 2 and who.permissions == frozenset({svc.CUSTOMER_READ})
    assert (await svc.authenticate_api_key(core, key, tenant[0])) == who
    svc.require_permission(who, svc.CUSTOMER_READ)
    with pytest.raises(PermissionDenied, match="CUSTOMER_CUD"):
        svc.require_permission(who, svc.CUSTOMER_CUD)


async def test_api_key_refusals(core: Core, tenant: tuple[str, int]) -> None:
    key = await tenant_service.create_api_key(core, tenant[0], permissions=(svc.CUSTOMER_READ,))
    other, _ = await make_tenant(core)
    for bad_key, tenant_name in (
        (None, None),
        ("", None),
        ("bo_nope", None),
        ("ü" * 3, None),
        ("k" * 201, None),
        (key, other),
        (key, "no-such-tenant"),
    ):
        with pytest.raises(Unauthenticated):
            await svc.authenticate_api_key(core, bad_key, tenant_name)
    async with core.uow(tenant[1], write=True) as uow:
        await uow.session.execute(update(ApiKey).values(disabled=True))
        await uow.commit()
    with pytest.raises(Unauthenticated):
        await svc.authenticate_api_key(core, key)


# --- customers ----------------------------------------------------------------------------------


async def test_external_id_is_unique_per_brand_even_under_a_race(
    core: Core, caller: ApiKeyCaller
) -> None:
    external = unique()
    results = await asyncio.gather(
        *(
            svc.create_customer(
                core, caller, NewBrandCustomer(brand_id=1, external_primary_id=external)
            )
            for _ in range(4)
        ),
        return_exceptions=True,
    )
    created = [r for r in results if not isinstance(r, BaseException)]
    assert len(created) == 1, results
    assert all(isinstance(r, AlreadyExists) for r in results if isinstance(r, BaseException))
    other_brand = await svc.create_customer(
        core, caller, NewBrandCustomer(brand_id=2, external_primary_id=external)
    )
    assert other_brand.id != created[0].id


async def test_find_by_reference(core: Core, caller: ApiKeyCaller) -> None:
    external, phone = unique(), unique_phone()
    view = await svc.create_customer(
        core,
        caller,
        NewBrandCustomer(
            brand_id=2,
            external_primary_id=external,
            channels=(NewChannel(type="phone", value=phone),),
        ),
    )
    for ref in (
        CustomerRef(customer_id=view.id),
        CustomerRef(brand_id=2, external_primary_id=external),
        CustomerRef(brand_id=2, channel_value=phone),
    ):
        updated = await svc.update_customer(
            core, caller, ref, BrandCustomerPatch(first_name=f"N{len(str(ref))}")
        )
        assert updated.id == view.id
    with pytest.raises(NotFound):
        await svc.update_customer(
            core, caller, CustomerRef(customer_id=view.id, brand_id=1), BrandCustomerPatch()
        )
    with pytest.raises(InvalidInput, match="not enabled"):
        await svc.update_customer(
            core, caller, CustomerRef(brand_id=1, channel_value=phone), BrandCustomerPatch()
        )
    with pytest.raises(InvalidInput, match="customer_id"):
        await svc.update_customer(core, caller, CustomerRef(brand_id=1), BrandCustomerPatch())


async def test_a_brand_limited_caller(core: Core, caller: ApiKeyCaller) -> None:
    mine = await svc.create_customer(core, caller, NewBrandCustomer(brand_id=2))
    theirs = await svc.create_customer(core, caller, NewBrandCustomer(brand_id=1))
    limited = ApiKeyCaller(principal=caller.principal, brand_id=2, permissions=BOTH)
    assert (await svc.get_customer(core, limited, mine.id)).brand is not None
    with pytest.raises(NotFound):
        await svc.get_customer(core, limited, theirs.id)
    with pytest.raises(PermissionDenied):
        await svc.list_customers(core, limited, brand_id=1)
    page = await svc.list_customers(core, limited)
    assert [v.id for v in page.items] == [mine.id]
    with pytest.raises(NotFound):
        await svc.purge_customer(core, limited, theirs.id)


async def test_external_events_and_the_timeline(core: Core, caller: ApiKeyCaller) -> None:
    view = await svc.create_customer(
        core, caller, NewBrandCustomer(brand_id=1, ticket_id=5, sync_ticket_channels=False)
    )
    ref = CustomerRef(customer_id=view.id)
    entry = await svc.add_external_event(
        core, caller, ref, NewExternalEvent(message="Hello\nworld", initiated_by="mailer")
    )
    assert entry.kind == svc.EXTERNAL_EVENT and entry.data["message"] == "Hello\nworld"
    page = await svc.get_timeline(core, caller, ref)
    assert [e.kind for e in page.items] == [svc.EXTERNAL_EVENT, "created"]
    with_tickets = await svc.get_timeline(core, caller, ref, include_tickets=True)
    assert [e.kind for e in with_tickets.items] == [
        svc.EXTERNAL_EVENT,
        svc.TICKET_LINKED,
        "created",
    ]
    ticket = with_tickets.items[1]
    assert ticket.data == {"ticket_id": 5, "channels": []}
    with pytest.raises(InvalidInput, match="control"):
        await svc.add_external_event(core, caller, ref, NewExternalEvent(message="a\x00b"))


# --- erasure (reusable: the CLI calls it with an operator's principal) --------------------------


async def test_erase_customer_from_any_dialect(core: Core, owner: Principal) -> None:
    email = unique_email()
    view = await spektrix_side.create_customer(
        core,
        owner,
        NewCustomer(first_name="Ada", last_name="Lovelace", email=email, phone="+44 1"),
    )
    cli = Principal(tenant_id=owner.tenant_id, actor="cli", full_access=True)
    await erasure.erase_customer(core, cli, view.id)
    with pytest.raises(NotFound):
        await spektrix_side.get_customer(core, owner, view.id)
    async with core.uow(owner.tenant_id) as uow:
        row = await uow.customers.get_any_state(view.id)
        timeline = await uow.customers.timeline(view.id)
    assert row is not None and row.state == erasure.ERASED
    assert (row.email, row.email_key, row.first_name, row.last_name, row.phone) == (
        None,
        None,
        "",
        "",
        None,
    )
    assert row.created_at <= datetime.now(UTC)
    assert [(e.kind, e.actor, e.data) for e in timeline] == [("erased", "cli", {})]
    # The address is free for a new customer.
    again = await spektrix_side.create_customer(
        core, owner, NewCustomer(first_name="Ada", last_name="L", email=email)
    )
    assert again.id != view.id
    await erasure.erase_customer(core, cli, view.id)  # idempotent
    with pytest.raises(NotFound):
        await erasure.erase_customer(core, cli, 4242)


async def test_erasure_ends_the_customers_sessions(core: Core, owner: Principal) -> None:
    view = await spektrix_side.create_customer(
        core, owner, NewCustomer(first_name="A", last_name="B", email=unique_email())
    )
    token = await core.session_store.create(owner.tenant_id, view.id)
    assert await core.session_store.customer(owner.tenant_id, token) == view.id
    await erasure.erase_customer(core, owner, view.id)
    assert await core.session_store.customer(owner.tenant_id, token) is None


async def test_erasure_ends_sessions_kept_in_redis(core: Core, owner: Principal) -> None:
    async with redis_sessions(idle=3600, absolute=7200) as store:
        database_sessions, core.session_store = core.session_store, store
        try:
            view = await spektrix_side.create_customer(
                core, owner, NewCustomer(first_name="A", last_name="B", email=unique_email())
            )
            token = await store.create(owner.tenant_id, view.id)
            assert await store.customer(owner.tenant_id, token) == view.id
            await erasure.erase_customer(core, owner, view.id)
            assert await store.customer(owner.tenant_id, token) is None
        finally:
            core.session_store = database_sessions


async def test_a_customer_principal_erases_only_itself(core: Core, owner: Principal) -> None:
    one = await spektrix_side.create_customer(
        core, owner, NewCustomer(first_name="A", last_name="B", email=unique_email())
    )
    other = await spektrix_side.create_customer(
        core, owner, NewCustomer(first_name="C", last_name="D", email=unique_email())
    )
    me = Principal(
        tenant_id=owner.tenant_id, actor="customer", full_access=False, customer_id=one.id
    )
    with pytest.raises(NotFound):
        await erasure.erase_customer(core, me, other.id)
    await erasure.erase_customer(core, me, one.id)


# --- the CRM adapter ----------------------------------------------------------------------------


def test_crm_policy_from_settings() -> None:
    assert crm.CrmPolicy.from_settings({}) == crm.CrmPolicy()
    policy = crm.CrmPolicy.from_settings(
        {"crm": {"timeout_seconds": 2, "retries": 4, "backoff_seconds": 0.1}}
    )
    assert (policy.timeout_seconds, policy.retries, policy.backoff_seconds) == (2.0, 4, 0.1)
    odd = crm.CrmPolicy.from_settings(
        {"crm": {"timeout_seconds": "fast", "retries": 99, "backoff_seconds": True}}
    )
    assert odd == crm.CrmPolicy()


def test_parse_answer() -> None:
    patch = crm.parse_answer(
        b'{"external_primary_id": 17, "firstname": "A", "custom_x": 1.5, "custom_y": null,'
        b' "channels": [{"type": "email", "value": "a@b.cz"}], "other": {"ignored": true}}'
    )
    assert patch is not None
    assert patch.external_primary_id == "17" and patch.first_name == "A"
    assert patch.last_name is UNSET
    assert patch.attributes == {"x": "1.5", "y": None}
    assert [(c.type, c.value, c.field) for c in patch.channels] == [
        ("email", "a@b.cz", "channels[0].value")
    ]
    assert crm.parse_answer(b"{}") is None
    for bad in (b"[]", b"nope", b'{"channels": {}}', b'{"channels": [1]}', b'{"lastname": []}'):
        with pytest.raises(crm.CrmError):
            crm.parse_answer(bad)


async def test_lookup_retries_with_backoff_then_gives_up() -> None:
    with RunningCrm() as server:
        server.script = [Answer(503), Answer(hang=True), Answer(200, {"firstname": "Third"})]
        patch = await crm.lookup(
            server.url, brand_id=1, channel="email", address="a@b.cz", policy=HANG
        )
        assert patch is not None and patch.first_name == "Third"
        assert len(server.requests) == 3
        server.default = Answer(502)
        with pytest.raises(crm.CrmError, match="HTTP 502 \\(1 attempts\\)"):
            await crm.lookup(
                server.url,
                brand_id=1,
                channel="email",
                address="a@b.cz",
                policy=crm.CrmPolicy(timeout_seconds=60, retries=0),
            )
        server.default = Answer(200, {"firstname": "x" * 2000})
        with pytest.raises(crm.CrmError, match="larger than"):
            await crm.lookup(
                server.url,
                brand_id=1,
                channel="email",
                address="a@b.cz",
                policy=crm.CrmPolicy(timeout_seconds=60, retries=0, max_bytes=1024),
            )
    with pytest.raises(crm.CrmError, match="http"):
        await crm.lookup("file:///etc/passwd", brand_id=1, channel="e", address="a", policy=FAST)
    with pytest.raises(crm.CrmError, match="not a valid URL"):
        await crm.lookup("http://[::1", brand_id=1, channel="e", address="a", policy=FAST)


async def test_sync_with_crm_takes_a_policy(core: Core, caller: ApiKeyCaller) -> None:
    with RunningCrm() as server:
        await configure(
            core,
            (await _tenant_name(core, caller)),
            brands=[{**BRANDS[0], "crm_url": server.url}],
        )
        server.default = Answer(500)
        phone = unique_phone()
        known = await svc.create_customer(
            core,
            caller,
            NewBrandCustomer(brand_id=1, channels=(NewChannel(type="telephone", value=phone),)),
        )
        with pytest.raises(Unavailable, match="3 attempts"):
            await svc.sync_with_crm(
                core, caller, brand_id=1, channel="phoneNumber", address=phone, policy=FAST
            )
        page = await svc.get_timeline(core, caller, CustomerRef(customer_id=known.id))
        assert page.items[0].kind == svc.CRM_SYNC and page.items[0].data["outcome"] == "failed"
        server.default = Answer(200, {"lastname": "Synced"})
        view = await svc.sync_with_crm(
            core, caller, brand_id=1, channel="telephone", address=phone, policy=FAST
        )
        assert view.id == known.id and view.last_name == "Synced"


async def _tenant_name(core: Core, caller: ApiKeyCaller) -> str:
    async with core.uow(None) as uow:
        for tenant in await uow.operators.tenants():
            if tenant.id == caller.principal.tenant_id:
                return tenant.name
    raise AssertionError("no tenant")
