"""Fixtures for the CareCloud contract tests."""

from __future__ import annotations

import httpx
import pytest

from boxoffice.bootstrap import Core
from tests.api.carecloud.support import Api
from tests.conftest import make_tenant


@pytest.fixture
async def api(http: httpx.AsyncClient, tenant: tuple[str, int]) -> Api:
    """A client of a fresh tenant with the demo catalogue and a token (nobody logged in)."""
    client = Api(http, tenant[0])
    client.token = await client.new_token()
    return client


@pytest.fixture
async def other_api(http: httpx.AsyncClient, core: Core) -> Api:
    """A client of a second tenant with the demo catalogue, and its own token."""
    name, _ = await make_tenant(core)
    client = Api(http, name)
    client.token = await client.new_token()
    return client
