"""Fixtures for the Spektrix System Owner contract tests."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from boxoffice.bootstrap import Core
from boxoffice.services import tenants as tenant_service
from tests.api.spektrix.support import load_box_office
from tests.conftest import Signer, make_tenant


@dataclass(frozen=True)
class Catalogue:
    """The tenant's public ids, read through the API: name (or text) -> id."""

    groups: dict[str, str]
    tags: dict[str, str]
    statements: dict[str, str]
    memberships: dict[str, str]


@pytest.fixture
async def ids(owner_api: Signer) -> Catalogue:
    groups = (await owner_api.get("tag-groups")).json()
    statements = (await owner_api.get("statements")).json()
    memberships = (await owner_api.get("memberships")).json()
    return Catalogue(
        groups={g["name"]: g["id"] for g in groups},
        tags={t["name"]: t["id"] for g in groups for t in g["tags"]},
        statements={s["text"]: s["id"] for s in statements},
        memberships={m["name"]: m["id"] for m in memberships},
    )


@pytest.fixture
async def other_tenant(core: Core) -> tuple[str, int]:
    """A second tenant with the demo catalogue."""
    return await make_tenant(core)


@pytest.fixture
async def other_api(
    http: httpx.AsyncClient, core: Core, other_tenant: tuple[str, int], owner_api: Signer
) -> Signer:
    """A System Owner client of the second tenant; same login as ``owner_api``, own secret."""
    secret = await tenant_service.create_api_user(core, other_tenant[0], owner_api.login)
    return Signer(http, other_tenant[0], owner_api.login, secret)


@pytest.fixture
async def box_office(core: Core, owner_api: Signer) -> Signer:
    """``owner_api``'s tenant, selling the demo box office."""
    await load_box_office(core, owner_api.tenant)
    return owner_api
