"""Disabling, enabling and rotating credentials (``services/tenants.py``), checked through
every dialect's auth path, fast lanes included, on SQLite and PostgreSQL (decision 0108).

The application shares the test's ``core``: a change made through that core is seen at once
(what a server worker that ran the change sees). Another worker keeps an API user's secret
for at most ``API_USER_TTL`` seconds (decision 0071), checked with a second core and a clock
moved forward.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from boxoffice.bootstrap import Core, build_core
from boxoffice.domain.commands import NewCustomer
from boxoffice.domain.errors import InvalidInput, NotFound
from boxoffice.domain.ids import customer_code
from boxoffice.domain.principal import Principal
from boxoffice.services import customers as customer_service
from boxoffice.services import tenants as tenant_service
from boxoffice.settings import Settings
from tests.api.carecloud.support import Api, basic, token_body
from tests.conftest import Signer

BRANDCHANNEL_CUSTOMERS = "/api/v2/customer"


async def _new_customer(signer: Signer, **fields: Any) -> str:
    body = {"firstName": "Ada", "lastName": "Lovelace", "email": f"{time.time_ns()}@example.org"}
    body.update(fields)
    created = await signer.post("customers", body)
    assert created.status_code == 200, created.text
    customer_id: str = created.json()["id"]
    return customer_id


async def test_api_user_disable_enable_rotate_through_both_spektrix_paths(
    core: Core, http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    name, _ = tenant
    secret = await tenant_service.create_api_user(core, name, "partner")
    signer = Signer(http, name, "partner", secret)
    customer_id = await _new_customer(signer)
    routed, lane = "tag-groups", f"customers/{customer_id}"  # the router; the fast lane

    async def statuses(who: Signer) -> tuple[int, int]:
        return (await who.get(routed)).status_code, (await who.get(lane)).status_code

    assert await statuses(signer) == (200, 200)  # and this worker keeps the secret now
    await tenant_service.disable_api_user(core, name, "partner")
    assert await statuses(signer) == (401, 401)
    await tenant_service.enable_api_user(core, name, "partner")
    assert await statuses(signer) == (200, 200)

    new_secret = await tenant_service.rotate_api_user(core, name, "partner")
    assert new_secret != secret
    assert await statuses(signer) == (401, 401)
    assert await statuses(Signer(http, name, "partner", new_secret)) == (200, 200)

    users = await tenant_service.list_api_users(core, name)
    assert [(u.login, u.disabled) for u in users] == [("partner", False)]
    with pytest.raises(NotFound):
        await tenant_service.rotate_api_user(core, name, "nobody")


async def test_another_worker_refuses_a_disabled_api_user_within_the_bound(
    core: Core,
    http: httpx.AsyncClient,
    tenant: tuple[str, int],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process (the CLI) disables the user: this worker's kept secret is dropped
    after ``API_USER_TTL`` seconds at the latest."""
    name, _ = tenant
    secret = await tenant_service.create_api_user(core, name, "partner")
    signer = Signer(http, name, "partner", secret)
    assert (await signer.get("tag-groups")).status_code == 200
    other = build_core(settings, pool_size=1)
    try:
        await tenant_service.disable_api_user(other, name, "partner")
    finally:
        await other.dispose()
    later = time.monotonic() + tenant_service.API_USER_TTL + 1
    monkeypatch.setattr(tenant_service.time, "monotonic", lambda: later)
    assert (await signer.get("tag-groups")).status_code == 401


async def test_api_key_disable_enable_rotate(
    core: Core, http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    name, _ = tenant
    key = await tenant_service.create_api_key(
        core, name, permissions=("CUSTOMER_READ",), brand_id=1
    )
    (listed,) = await tenant_service.list_api_keys(core, name)
    assert (listed.brand_id, listed.permissions, listed.disabled) == (1, ("CUSTOMER_READ",), False)

    async def status(api_key: str) -> int:
        response = await http.get(BRANDCHANNEL_CUSTOMERS, headers={"apiKey": api_key})
        return response.status_code

    assert await status(key) == 200
    assert await tenant_service.set_api_key_disabled(core, name, str(listed.id), True) == listed.id
    assert await status(key) == 401
    await tenant_service.set_api_key_disabled(core, name, key, False)  # by the key itself
    assert await status(key) == 200

    new_id, new_key = await tenant_service.rotate_api_key(core, name, key)
    assert await status(key) == 401
    assert await status(new_key) == 200
    keys = {k.id: k for k in await tenant_service.list_api_keys(core, name)}
    assert keys[listed.id].disabled
    assert (keys[new_id].brand_id, keys[new_id].permissions) == (1, ("CUSTOMER_READ",))
    assert not keys[new_id].disabled

    with pytest.raises(NotFound):
        await tenant_service.set_api_key_disabled(core, name, "999", True)
    with pytest.raises(NotFound):
        await tenant_service.set_api_key_disabled(core, name, "bo_not-a-key", True)


async def test_another_tenants_api_key_is_not_found(core: Core, tenant: tuple[str, int]) -> None:
    name, _ = tenant
    key = await tenant_service.create_api_key(core, name, permissions=("CUSTOMER_READ",))
    (listed,) = await tenant_service.list_api_keys(core, name)
    other = f"{name}-other"
    await tenant_service.create_tenant(core, other)
    for ref in (key, str(listed.id)):
        with pytest.raises(NotFound):
            await tenant_service.set_api_key_disabled(core, other, ref, True)
    assert not (await tenant_service.list_api_keys(core, name))[0].disabled


async def test_interface_user_disable_enable_rotate_through_both_carecloud_paths(
    core: Core, http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    name, _ = tenant
    await tenant_service.create_interface_user(core, name, "app_user")
    api = Api(http, name)
    created = await http.post(api.url("tokens"), json=token_body(), headers=basic("app_user"))
    assert created.status_code == 201, created.text
    api.token = created.json()["data"]["token_id"]
    customer_id = await api.register(autologin=True)  # the token now has a customer
    routed, lane = "customers", f"customers/{customer_id}"  # the router; the fast lane

    async def statuses() -> tuple[int, int]:
        return (await api.get(routed)).status_code, (await api.get(lane)).status_code

    assert await statuses() == (200, 200)
    await tenant_service.set_interface_user_disabled(core, name, "app_user", True)
    assert await statuses() == (401, 401)
    refused = await http.post(api.url("tokens"), json=token_body(), headers=basic("app_user"))
    assert refused.status_code == 403
    await tenant_service.set_interface_user_disabled(core, name, "app_user", False)
    assert await statuses() == (200, 200)

    (user,) = await tenant_service.list_interface_users(core, name)
    assert (user.user_name, user.disabled, user.tokens) == ("app_user", False, 1)
    anonymous = await api.new_token()  # no interface user: not ended by a rotation
    assert await tenant_service.rotate_interface_user(core, name, "app_user") == 1
    assert await statuses() == (401, 401)
    assert (await api.get("customers", token=anonymous)).status_code == 403  # valid, no customer
    assert (await tenant_service.list_interface_users(core, name))[0].tokens == 0
    with pytest.raises(NotFound):
        await tenant_service.rotate_interface_user(core, name, "nobody")


async def test_list_tenants(core: Core, tenant: tuple[str, int]) -> None:
    names = [t.name for t in await tenant_service.list_tenants(core)]
    assert tenant[0] in names
    assert names == sorted(names)


async def test_find_customers(core: Core, owner: Principal) -> None:
    first = await customer_service.create_customer(
        core,
        owner,
        NewCustomer(
            first_name="Jana",
            last_name="Nováková",
            email="Jana.N@Example.org",
            mobile="+420 777 123 456",
        ),
    )
    second = await customer_service.create_customer(
        core, owner, NewCustomer(first_name="Jan", last_name="Novak", email="jan@example.org")
    )

    async def ids(**criteria: Any) -> list[int]:
        return [c.id for c in await customer_service.find_customers(core, owner, **criteria)]

    assert await ids(email="jana.n@example.ORG") == [first.id]
    assert await ids(ref=customer_code(second.id)) == [second.id]
    assert await ids(ref=str(second.id)) == [second.id]
    assert await ids(name="NOV") == [first.id, second.id]
    assert await ids(name="jana  nov") == [first.id]
    assert await ids(name="nov", limit=1) == [first.id]
    assert await ids(phone="00420777123456") == [first.id]
    assert await ids(name="Nov", email="jan@example.org") == [second.id]
    assert await ids(name="100%") == []
    assert await ids(name="_") == []
    assert await ids(ref="not-an-id") == []
    with pytest.raises(InvalidInput):
        await customer_service.find_customers(core, owner)
