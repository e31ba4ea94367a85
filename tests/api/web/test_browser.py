"""Browsers on the venue's website: credentialed CORS for allowed origins only, no CSRF."""

from __future__ import annotations

import httpx

from tests.api.web.conftest import ORIGIN

FOREIGN = "https://evil.example"


async def test_preflight_from_an_allowed_origin(
    http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    response = await http.options(
        f"/{tenant[0]}/api/v3/customer/authenticate",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-evil-header",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-headers"] == "content-type"
    assert "Origin" in response.headers["vary"]


async def test_preflight_from_a_foreign_origin_gets_no_grant(
    http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    response = await http.options(
        f"/{tenant[0]}/api/v3/customer",
        headers={"Origin": FOREIGN, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers


async def test_reads_from_a_foreign_origin_are_not_shared(
    http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    response = await http.get(f"/{tenant[0]}/api/v3/tag-groups", headers={"Origin": FOREIGN})
    assert response.status_code == 200  # public data; but the browser may not hand it over
    assert "access-control-allow-origin" not in response.headers
    allowed = await http.get(f"/{tenant[0]}/api/v3/tag-groups", headers={"Origin": ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == ORIGIN


async def test_an_origin_of_another_tenant_is_foreign(
    http: httpx.AsyncClient, core: object
) -> None:
    from tests.conftest import make_tenant

    name, _ = await make_tenant(core)  # type: ignore[arg-type]
    from boxoffice.services import catalogue

    await catalogue.load_catalogue(core, name, {"origins": ["https://other-venue.example"]})  # type: ignore[arg-type]
    other, _ = await make_tenant(core)  # type: ignore[arg-type]
    response = await http.get(
        f"/{other}/api/v3/statements", headers={"Origin": "https://other-venue.example"}
    )
    assert "access-control-allow-origin" not in response.headers


async def test_writes_from_a_foreign_origin_are_refused_and_write_nothing(
    http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    body = {
        "firstName": "Eve",
        "lastName": "Il",
        "email": "eve@example.org",
        "password": "Passw0rd!!",
    }
    refused = await http.post(
        f"/{tenant[0]}/api/v3/customer", json=body, headers={"Origin": FOREIGN}
    )
    assert refused.status_code == 403
    assert refused.json() == {"message": "Requests from this website are not allowed."}
    signed_up = await http.post(
        f"/{tenant[0]}/api/v3/customer", json=body, headers={"Origin": ORIGIN}
    )
    assert signed_up.status_code == 201  # so the refused one had written nothing


async def test_cross_site_form_posts_without_origin_are_refused(
    http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    response = await http.post(
        f"/{tenant[0]}/api/v3/customer/deauthenticate", headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 403


async def test_a_logged_in_session_cannot_be_used_from_a_foreign_origin(
    http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    body = {
        "firstName": "Ada",
        "lastName": "L",
        "email": "ada@example.org",
        "password": "Passw0rd!!",
    }
    assert (
        await http.post(f"/{tenant[0]}/api/v3/customer", json=body, headers={"Origin": ORIGIN})
    ).status_code == 201
    patch = await http.patch(
        f"/{tenant[0]}/api/v3/customer", json={"firstName": "Mallory"}, headers={"Origin": FOREIGN}
    )
    assert patch.status_code == 403
    read = await http.get(f"/{tenant[0]}/api/v3/customer", headers={"Origin": FOREIGN})
    assert "access-control-allow-origin" not in read.headers  # the foreign page cannot read it
    me = await http.get(f"/{tenant[0]}/api/v3/customer", headers={"Origin": ORIGIN})
    assert me.json()["firstName"] == "Ada"


async def test_the_instance_itself_is_an_allowed_origin(
    http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    response = await http.post(
        f"/{tenant[0]}/api/v3/customer",
        json={"firstName": "A", "lastName": "B", "email": "self@example.org"},
        headers={"Origin": "http://testserver"},
    )
    assert response.status_code == 201
