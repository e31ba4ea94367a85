"""Fixtures for the brand/channel contract tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from boxoffice.bootstrap import Core
from boxoffice.services import tenants as tenant_service
from tests.api.brandchannel.support import BRANDS, ENCODINGS, Api, CrmServer, RunningCrm, configure
from tests.conftest import make_tenant

READ, CUD = "CUSTOMER_READ", "CUSTOMER_CUD"


@dataclass(frozen=True)
class Keys:
    """API keys of the test tenant."""

    full: str
    read: str
    cud: str
    #: Both permissions, limited to brand 2.
    brand2: str


@pytest.fixture
async def bc_tenant(core: Core) -> tuple[str, int]:
    """A tenant with the demo catalogue and two brands (2 is searched by channels)."""
    name, tenant_id = await make_tenant(core)
    await configure(core, name, brands=BRANDS)
    return name, tenant_id


@pytest.fixture
async def keys(core: Core, bc_tenant: tuple[str, int]) -> Keys:
    name = bc_tenant[0]
    return Keys(
        full=await tenant_service.create_api_key(core, name, permissions=(READ, CUD)),
        read=await tenant_service.create_api_key(core, name, permissions=(READ,)),
        cud=await tenant_service.create_api_key(core, name, permissions=(CUD,)),
        brand2=await tenant_service.create_api_key(core, name, permissions=(READ, CUD), brand_id=2),
    )


@pytest.fixture
def api(http: httpx.AsyncClient, keys: Keys) -> Api:
    """A client with a key holding both permissions, on every brand."""
    return Api(http, keys.full)


@pytest.fixture(params=ENCODINGS)
def encoding(request: pytest.FixtureRequest) -> str:
    """Each body encoding the vendor's examples use."""
    value: str = request.param
    return value


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    """A CRM, a real HTTP server on 127.0.0.1 in a thread."""
    with RunningCrm() as server:
        yield server
