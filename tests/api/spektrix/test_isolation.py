"""Tenant isolation: another tenant's records look exactly like missing ones."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from boxoffice.bootstrap import Core
from boxoffice.services import tenants as tenant_service
from tests.api.spektrix.conftest import Catalogue
from tests.api.spektrix.support import (
    UNAUTHORIZED,
    create,
    customer_count,
    duplicate_body,
    signed_headers,
)
from tests.conftest import Signer, make_tenant

MISSING = "I-ZZZZ-ZZZ0"


def _same_as_missing(foreign: httpx.Response, missing: httpx.Response) -> None:
    assert foreign.status_code == 404, foreign.text
    assert missing.status_code == 404, missing.text
    assert foreign.json() == missing.json()
    assert foreign.headers["content-type"] == missing.headers["content-type"]


async def _victim(api: Signer, ids: Catalogue) -> dict[str, Any]:
    """A customer of the first tenant with a tag, an agreed statement and an address."""
    return await create(
        api,
        email="victim@example.org",
        tags=[ids.tags["Drama"]],
        agreedStatements=[ids.statements["Post from Demo Theatre"]],
        addresses=[{"line1": "1 Main Street"}],
        **{"Attribute_Favourite Genre": "Opera"},
    )


async def _unchanged(api: Signer, victim: dict[str, Any]) -> None:
    response = await api.get(f"customers/{victim['id']}?$expand=tags,agreedStatements,addresses")
    assert response.status_code == 200
    body = response.json()
    assert {
        k: v for k, v in body.items() if k not in ("tags", "agreedStatements", "addresses")
    } == (victim)
    assert [t["name"] for t in body["tags"]] == ["Drama"]
    assert [s["text"] for s in body["agreedStatements"]] == ["Post from Demo Theatre"]
    assert body["addresses"] == [victim["billingAddress"]]


def _requests(
    victim: dict[str, Any], customer_id: str, ids: Catalogue
) -> list[tuple[str, str, Any]]:
    address = victim["billingAddress"]["id"]
    drama, post = ids.tags["Drama"], ids.statements["Post from Demo Theatre"]
    return [
        ("GET", f"customers/{customer_id}", None),
        ("GET", f"customers/{customer_id}?$expand=tags,addresses", None),
        ("PATCH", f"customers/{customer_id}", {"firstName": "Hacked"}),
        ("GET", f"customers/{customer_id}/tags", None),
        ("POST", f"customers/{customer_id}/tags", {"id": ids.tags["VIP"]}),
        ("DELETE", f"customers/{customer_id}/tags/{drama}", None),
        ("DELETE", f"customers/tags/{drama}?id={customer_id}", None),
        ("GET", f"customers/{customer_id}/agreed-statements", None),
        ("POST", f"customers/{customer_id}/agreed-statements", [{"id": post}]),
        ("PUT", f"customers/{customer_id}/agreed-statements", []),
        ("DELETE", f"customers/{customer_id}/agreed-statements/{post}", None),
        ("GET", f"customers/{customer_id}/addresses", None),
        ("POST", f"customers/{customer_id}/addresses", {"line1": "2 Hacker Street"}),
        ("PATCH", f"customers/{customer_id}/addresses/{address}", {"town": "Hacked"}),
        ("DELETE", f"customers/{customer_id}/addresses/{address}", None),
    ]


async def test_another_tenants_customer_looks_missing_on_every_route(
    owner_api: Signer, other_api: Signer, ids: Catalogue
) -> None:
    victim = await _victim(owner_api, ids)
    foreign_requests = _requests(victim, victim["id"], ids)
    missing_requests = _requests(victim, MISSING, ids)

    for (method, path, body), (_, missing_path, _) in zip(
        foreign_requests, missing_requests, strict=True
    ):
        foreign = await other_api.request(method, path, body)
        missing = await other_api.request(method, missing_path, body)
        _same_as_missing(foreign, missing)

    await _unchanged(owner_api, victim)


async def test_another_tenants_customer_cannot_be_found_by_email(
    owner_api: Signer, other_api: Signer, ids: Catalogue
) -> None:
    victim = await _victim(owner_api, ids)

    foreign = await other_api.get(f"customers?email={victim['email']}")
    missing = await other_api.get("customers?email=nobody@example.org")

    _same_as_missing(foreign, missing)


async def test_another_tenants_address_on_own_customer_looks_missing(
    owner_api: Signer, other_api: Signer, ids: Catalogue
) -> None:
    victim = await _victim(owner_api, ids)
    mine = await create(other_api, addresses=[{"line1": "1 Own Street"}])
    path = f"customers/{mine['id']}/addresses/{victim['billingAddress']['id']}"

    assert (await other_api.patch(path, {"town": "Hacked"})).status_code == 404
    assert (await other_api.delete(path)).status_code == 404

    await _unchanged(owner_api, victim)


async def test_same_email_in_two_tenants(
    core: Core,
    tenant: tuple[str, int],
    other_tenant: tuple[str, int],
    owner_api: Signer,
    other_api: Signer,
) -> None:
    first = await create(owner_api, email="shared@example.org", firstName="First")
    second = await create(other_api, email="Shared@Example.org", firstName="Second")

    assert (await owner_api.get("customers?email=shared@example.org")).json() == first
    assert (await other_api.get("customers?email=shared@example.org")).json() == second
    assert await customer_count(core, tenant[1]) == 1
    assert await customer_count(core, other_tenant[1]) == 1
    # Still unique inside each tenant.
    again = await other_api.post(
        "customers", {"firstName": "A", "lastName": "B", "email": "SHARED@example.org"}
    )
    assert again.status_code == 400
    assert again.json() == duplicate_body("SHARED@example.org")


async def test_credentials_of_one_tenant_do_not_open_another(
    http: httpx.AsyncClient, owner_api: Signer, other_tenant: tuple[str, int]
) -> None:
    """The other tenant has no API user called ``test-user``."""
    url = f"http://testserver/{other_tenant[0]}/api/v3/tag-groups"

    response = await http.get(
        url, headers=signed_headers(owner_api.secret, owner_api.login, "GET", url, None)
    )

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


async def test_same_login_in_two_tenants_keeps_its_own_secret(
    owner_api: Signer, other_api: Signer, ids: Catalogue
) -> None:
    victim = await _victim(owner_api, ids)
    assert owner_api.login == other_api.login
    crossed = Signer(owner_api.client, other_api.tenant, owner_api.login, owner_api.secret)
    crossed_back = Signer(other_api.client, owner_api.tenant, other_api.login, other_api.secret)

    for api in (crossed, crossed_back):
        response = await api.get("tag-groups")
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED
    assert (await crossed_back.get(f"customers/{victim['id']}")).status_code == 401


async def test_signature_for_one_tenant_url_does_not_work_on_another(
    http: httpx.AsyncClient, core: Core, owner_api: Signer, other_tenant: tuple[str, int]
) -> None:
    """Even with the same secret (impossible in practice), the URL names the tenant."""
    await tenant_service.create_api_user(core, other_tenant[0], "second-user")
    first_url = owner_api.url("tag-groups")
    other_url = f"http://testserver/{other_tenant[0]}/api/v3/tag-groups"

    headers = signed_headers(owner_api.secret, owner_api.login, "GET", first_url, None)
    response = await http.get(other_url, headers=headers)

    assert response.status_code == 401


async def test_catalogue_is_per_tenant(
    http: httpx.AsyncClient, core: Core, owner_api: Signer
) -> None:
    empty_name, _ = await make_tenant(core, catalogue=False)
    secret = await tenant_service.create_api_user(core, empty_name, "test-user")
    empty_api = Signer(http, empty_name, "test-user", secret)
    drama = (await owner_api.get("tags")).json()[0]["id"]

    assert (await empty_api.get("tag-groups")).json() == []
    assert (await empty_api.get("tags")).json() == []
    assert (await empty_api.get("statements")).json() == []
    assert (await empty_api.get("memberships")).json() == []
    created = await create(empty_api)
    assert created["creditBalance"] == 0
    assert not [k for k in created if k.startswith("attribute_")]
    response = await empty_api.post(f"customers/{created['id']}/tags", {"id": drama})
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["tag-groups", "customers?email=a@example.org"])
async def test_unknown_tenant_is_404_even_with_valid_credentials(
    http: httpx.AsyncClient, owner_api: Signer, path: str
) -> None:
    url = f"http://testserver/{owner_api.tenant}-gone/api/v3/{path}"

    response = await http.get(
        url, headers=signed_headers(owner_api.secret, owner_api.login, "GET", url, None)
    )

    assert response.status_code == 404
