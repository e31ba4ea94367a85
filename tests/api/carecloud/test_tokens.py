"""Tokens: creation (current and legacy forms), replacement, authentication, login, logout."""

from __future__ import annotations

import hashlib

import httpx
from sqlalchemy import select

from boxoffice.bootstrap import Core
from boxoffice.domain.commands import NewCustomer
from boxoffice.domain.principal import Principal
from boxoffice.services import customers as customer_service
from boxoffice.services import tenants as tenant_service
from boxoffice.store.models import Customer, DeviceToken, InterfaceUser
from tests.api.carecloud.support import (
    PASSWORD,
    Api,
    basic,
    bearer,
    error_of,
    reasons,
    token_body,
    unique_email,
)


async def test_a_token_needs_no_credentials(api: Api) -> None:
    response = await api.client.post(api.url("tokens"), json=token_body())
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    (token,) = response.json()["data"].values()
    assert len(token) == 72


async def test_the_legacy_basic_form_names_a_known_user(api: Api, core: Core) -> None:
    await tenant_service.create_interface_user(core, api.tenant, "customer_interface")
    for header in (basic("customer_interface"), basic("customer_interface", " ")):
        response = await api.client.post(api.url("tokens"), json=token_body(), headers=header)
        assert response.status_code == 201, response.text
    refused = await api.client.post(api.url("tokens"), json=token_body(), headers=basic("nobody"))
    assert error_of(refused, 403)["exception"] == "forbidden_exception"


async def test_a_token_is_refused_without_its_required_fields(api: Api) -> None:
    response = await api.client.post(
        api.url("tokens"), json={"device": {"device_id": "d"}, "setup": {"language_id": "xx"}}
    )
    found = reasons(response)
    assert found["external_application_id"] == "required"
    assert found["device.device_system"] == "required"
    assert found["setup.allowed_gps"] == "required"
    unknown_language = await api.client.post(
        api.url("tokens"),
        json=token_body(
            setup={"language_id": "xx", "allowed_gps": 1, "allowed_notifications": False}
        ),
    )
    assert reasons(unknown_language) == {"setup.allowed_gps": "invalid_value_format"}


async def test_a_new_token_for_the_same_device_replaces_the_old(
    api: Api, core: Core, tenant: tuple[str, int]
) -> None:
    body = token_body()
    first = (await api.client.post(api.url("tokens"), json=body)).json()["data"]["token_id"]
    assert (await api.get("stores", token=first)).status_code == 200
    second = (await api.client.post(api.url("tokens"), json=body)).json()["data"]["token_id"]
    assert first != second
    error_of(await api.get("stores", token=first), 401)
    assert (await api.get("stores", token=second)).status_code == 200
    other_app = token_body(device=body["device"], external_application_id="another-app")
    third = (await api.client.post(api.url("tokens"), json=other_app)).json()["data"]["token_id"]
    assert (await api.get("stores", token=second)).status_code == 200
    assert (await api.get("stores", token=third)).status_code == 200
    async with core.uow(tenant[1]) as uow:
        hashes = set((await uow.session.execute(select(DeviceToken.token_hash))).scalars())
    assert hashlib.sha256(second.encode()).hexdigest() in hashes
    assert second not in hashes and first not in hashes


async def test_bearer_and_basic_are_both_accepted(api: Api, core: Core) -> None:
    await tenant_service.create_interface_user(core, api.tenant, "app-user")
    token = api.token or ""
    assert (await api.get("interests", headers=bearer(token))).status_code == 200
    assert (await api.get("interests", headers=basic("app-user", token))).status_code == 200
    assert (await api.get("interests", headers=basic("app-user", f" {token} "))).status_code == 200
    for header in (
        basic("nobody", token),
        basic("app-user"),
        {"Authorization": "Bearer"},
        {"Authorization": "Basic !!!"},
        {"Authorization": f"Token {token}"},
        bearer(token[:-1] + ("0" if token[-1] != "0" else "1")),
    ):
        body = error_of(await api.get("interests", headers=header), 401)
        assert body["exception"] == "unauthorized_exception"
        assert body["error_data"] == {}


async def test_a_token_of_another_tenant_is_unknown(api: Api, other_api: Api) -> None:
    error_of(await api.get("stores", token=other_api.token), 401)


async def test_a_token_can_change_its_setup(api: Api) -> None:
    token = api.token
    response = await api.put(
        f"tokens/{token}",
        {"setup": {"language_id": "cs", "allowed_gps": False, "allowed_notifications": True}},
    )
    assert response.status_code == 204 and response.content == b""
    # The setup language now answers when no Accept-Language is sent.
    names = {i["name"] for i in (await api.get("interests")).json()["data"]["interests"]}
    assert names == {"Činohra", "Hudba"}
    error_of(await api.put("tokens/someone-elses-token", {"setup": {}}), 404)
    assert reasons(await api.put(f"tokens/{token}", {"push_token": "x"})) == {"setup": "required"}


async def _customer_with(core: Core, tenant_id: int, **fields: object) -> str:
    owner = Principal(tenant_id=tenant_id, actor="test", full_access=True)
    email = unique_email()
    await customer_service.create_customer(
        core,
        owner,
        NewCustomer(
            first_name="Ada", last_name="Lovelace", email=email, password=PASSWORD, **fields
        ),  # type: ignore[arg-type]
    )
    return email


async def test_login_by_email_phone_or_card(api: Api, core: Core, tenant: tuple[str, int]) -> None:
    email = await _customer_with(core, tenant[1], mobile="+420 777 123 456", friendly_id="CARD-991")
    token = api.token
    ids = set()
    for login_type, value in (
        ("email", email.upper()),
        ("phone", "420777123456"),
        ("card", "CARD-991"),
    ):
        response = await api.post(
            f"tokens/{token}/actions/login",
            {"login_type": login_type, "login_value": value, "password": PASSWORD},
        )
        assert response.status_code == 200, response.text
        ids.add(response.json()["data"]["customer_id"])
    assert len(ids) == 1
    (customer_id,) = ids
    assert (await api.get(f"customers/{customer_id}")).status_code == 200


async def test_customers_sharing_a_phone_number_each_log_in_with_their_own_password(
    api: Api, core: Core, tenant: tuple[str, int]
) -> None:
    """A family's number (decision 0111): each member's password logs that member in."""
    await _customer_with(core, tenant[1], mobile="+420 777 555 000")
    owner = Principal(tenant_id=tenant[1], actor="test", full_access=True)
    await customer_service.create_customer(
        core,
        owner,
        NewCustomer(
            first_name="Ann",
            last_name="Lovelace",
            email=unique_email(),
            password="Child-pass1",
            phone="00420 777 555 000",
        ),
    )
    token = api.token
    ids = []
    for password in (PASSWORD, "Child-pass1"):
        response = await api.post(
            f"tokens/{token}/actions/login",
            {"login_type": "phone", "login_value": "420777555000", "password": password},
        )
        assert response.status_code == 200, response.text
        ids.append(response.json()["data"]["customer_id"])
    assert len(set(ids)) == 2  # the parent, then the child
    wrong = await api.post(
        f"tokens/{token}/actions/login",
        {"login_type": "phone", "login_value": "420777555000", "password": "Wrong-pass1"},
    )
    assert reasons(wrong) == {"login_value": "not_found"}


async def test_a_wrong_login_is_a_400_either_way(
    api: Api, core: Core, tenant: tuple[str, int]
) -> None:
    email = await _customer_with(core, tenant[1])
    token = api.token
    for value, password in ((email, "Wrong-pass1"), ("nobody@example.org", PASSWORD)):
        response = await api.post(
            f"tokens/{token}/actions/login",
            {"login_type": "email", "login_value": value, "password": password},
        )
        assert reasons(response) == {"login_value": "not_found"}
    bad_type = await api.post(
        f"tokens/{token}/actions/login",
        {"login_type": "social", "login_value": email, "password": PASSWORD},
    )
    assert reasons(bad_type) == {"login_type": "not_allowed_value"}
    error_of(await api.get("customers"), 403)


async def test_logout_unbinds_the_customer(api: Api) -> None:
    customer_id = await api.logged_in()
    assert (await api.get(f"customers/{customer_id}")).status_code == 200
    response = await api.post(f"tokens/{api.token}/actions/logout")
    assert response.status_code == 204
    body = error_of(await api.get(f"customers/{customer_id}"), 403)
    assert body["type"] == "about:blank"
    # The token itself still works for the catalogue.
    assert (await api.get("stores")).status_code == 200


async def test_password_setup_mail(api: Api, settings: object, tenant: tuple[str, int]) -> None:
    customer_id = await api.logged_in()
    email = (await api.get(f"customers/{customer_id}")).json()["data"]["personal_information"][
        "email"
    ]
    outbox = settings.var_dir / "outbox"  # type: ignore[attr-defined]
    token = api.token
    assert (
        await api.post(f"tokens/{token}/actions/send-password-setup-email", {})
    ).status_code == 204
    assert (
        await api.post(f"tokens/{token}/actions/send-password-setup-email", {"recipient": email})
    ).status_code == 204
    mails = [p.read_text() for p in outbox.iterdir()]
    assert len(mails) == 2 and all(email in m for m in mails)
    assert all(f"/{tenant[0]}/website/Secure/SetPassword.aspx?token=" in m for m in mails)
    unknown = await api.post(
        f"tokens/{token}/actions/send-password-setup-email", {"email": "nobody@example.org"}
    )
    assert unknown.status_code == 204
    assert len(list(outbox.iterdir())) == 2
    sms = await api.post(
        f"tokens/{token}/actions/send-password-setup-email", {"recipient": "420777"}
    )
    assert reasons(sms) == {"recipient": "not_allowed_value"}


async def test_both_base_paths_answer(http: httpx.AsyncClient, api: Api) -> None:
    for base in ("webservice/rest-api", "rest-api"):
        response = await http.get(
            f"/{api.tenant}/{base}/customer-interface/v1.0/stores", headers=bearer(api.token or "")
        )
        assert response.status_code == 200
    assert (
        await http.get(f"/{api.tenant}/rest-api/customer-interface/v2.0/stores")
    ).status_code == 404
    unknown = await http.get("/no-such-tenant/rest-api/customer-interface/v1.0/stores")
    assert error_of(unknown, 404)["error_data"]["resource_name"] == "projects"


async def test_the_dialect_documents_itself(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi/carecloud.json")).json()
    paths = document["paths"]
    assert "/{tenant}/webservice/rest-api/customer-interface/v1.0/tokens" in paths
    assert not any(p.startswith("/{tenant}/rest-api/") for p in paths)  # documented once
    assert {"bearerAuth", "basicAuth"} <= set(document["components"]["securitySchemes"])
    assert "NewCustomer" in document["components"]["schemas"]
    page = await http.get("/docs/carecloud")
    assert page.status_code == 200 and "/openapi/carecloud.json" in page.text


async def _set_disabled(core: Core, tenant_id: int, user_name: str, disabled: bool) -> None:
    async with core.uow(tenant_id, write=True) as uow:
        user = await uow.session.get(InterfaceUser, (tenant_id, user_name))
        assert user is not None
        user.disabled = disabled
        await uow.commit()


async def test_a_disabled_interface_user_closes_its_tokens(
    api: Api, core: Core, tenant: tuple[str, int]
) -> None:
    """The token, its interface user and its customer are read on one snapshot: each check
    still answers on its own."""
    for name in ("app-user", "other-user"):
        await tenant_service.create_interface_user(core, api.tenant, name)
    response = await api.client.post(
        api.url("tokens"), json=token_body(), headers=basic("app-user")
    )
    assert response.status_code == 201, response.text
    owned = response.json()["data"]["token_id"]
    anonymous = api.token or ""
    assert (await api.get("stores", headers=bearer(owned))).status_code == 200
    assert (await api.get("stores", headers=basic("app-user", owned))).status_code == 200
    error_of(await api.get("stores", headers=basic("other-user", owned)), 401)
    assert (await api.get("stores", headers=basic("other-user", anonymous))).status_code == 200

    await _set_disabled(core, tenant[1], "app-user", True)
    error_of(await api.get("stores", headers=bearer(owned)), 401)
    error_of(await api.get("stores", headers=basic("app-user", owned)), 401)
    error_of(await api.get("stores", headers=basic("app-user", anonymous)), 401)
    # A token of no interface user is not held to anyone's state.
    assert (await api.get("stores", headers=bearer(anonymous))).status_code == 200
    assert (await api.get("stores", headers=basic("other-user", anonymous))).status_code == 200

    await _set_disabled(core, tenant[1], "app-user", False)
    assert (await api.get("stores", headers=bearer(owned))).status_code == 200


async def test_a_token_whose_customer_is_no_longer_active_is_anonymous(
    api: Api, core: Core, tenant: tuple[str, int]
) -> None:
    customer_code = await api.logged_in()
    assert (await api.get(f"customers/{customer_code}")).status_code == 200
    token_hash = hashlib.sha256((api.token or "").encode()).hexdigest()
    async with core.uow(tenant[1], write=True) as uow:
        token = await uow.session.get(DeviceToken, (tenant[1], token_hash))
        assert token is not None and token.customer_id is not None
        customer = await uow.session.get(Customer, (tenant[1], token.customer_id))
        assert customer is not None
        customer.state = "erased"
        await uow.commit()
    error_of(await api.get(f"customers/{customer_code}"), 403)
    error_of(await api.get("customers"), 403)
    assert (await api.get("stores")).status_code == 200
