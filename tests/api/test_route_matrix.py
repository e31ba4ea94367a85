"""Every route of every dialect and of the web pages, against every kind of wrong caller.

``MATRIX`` below is the one table of every route the application serves: one row per
(application, method, path template) with the kind of caller the route admits. Another test
enumerates the routes of every sub-application the application mounts (the dialects, the web
pages, the operator endpoints) and fails when a route is missing from the table, or the table
names a route that no longer exists. So a new route is a failing test until someone decides who
may call it and adds its row; the checks below then cover it.

To add a route: add one row, ``(app, METHOD, path): kind``. ``app`` is the sub-application's
name (``spektrix``, ``brandchannel``, ``carecloud``, ``web``, ``operator``; a new sub-application
needs a name in ``APPS`` and rows of its own); CareCloud paths are relative to its base paths
(both are served). The kinds:

- spektrix: ``public`` (web mode, 200 without credentials), ``open`` (web mode, anybody:
  sign-up, login), ``session`` (a logged-in customer's cookie), ``owner`` (System Owner, HMAC);
- brandchannel: ``read`` (``CUSTOMER_READ``), ``cud`` (``CUSTOMER_CUD``);
- carecloud: ``open`` (no token), ``token`` (any token), ``customer`` (a token with a customer
  logged in);
- web (the hosted pages; paths are routed in lower case, as the app matches them):
  ``page-session`` (shows or changes the logged-in customer's data: MyAccount, LoginLogout),
  ``page-open`` (anybody, no customer data shown: signup, ForgotPassword), ``page`` (the
  credential is in the form, e.g. the mailed token of SetPassword), ``static`` (scripts and
  the web components: no tenant data at all);
- operator: ``operator`` (health, metrics, documentation: no tenant data at all).

The callers, per dialect: no credentials; wrong credentials; another tenant's credentials;
another tenant's ids with the caller's own valid credentials; and a session or token of another
customer of the same tenant. Each gets the vendor's refusal or "not found", never data. The web
pages also get forms posted without their form token or from another site (refused, nothing
changed), and a forged session or one of another tenant is treated as logged out.
"""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from boxoffice.api.app import create_app
from boxoffice.api.carecloud.app import BASE_PATHS as CC_BASE_PATHS
from boxoffice.bootstrap import Core
from boxoffice.domain.commands import (
    BasketRef,
    Confirmation,
    NewAddress,
    NewBasket,
    NewBrandCustomer,
    NewChannel,
    NewCustomer,
)
from boxoffice.domain.ids import customer_code, resource_code
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import ApiKeyCaller
from boxoffice.services import baskets, products, programme, seating
from boxoffice.services import brandchannel as brandchannel_service
from boxoffice.services import customers as svc
from boxoffice.services import tenants as tenant_service
from boxoffice.settings import Settings
from tests.api.spektrix.support import load_box_office
from tests.conftest import SECRET, Signer, make_tenant

#: The one table: (application, method, path template) -> the kind of caller it admits.
MATRIX: dict[tuple[str, str, str], str] = {
    ("spektrix", "DELETE", "/{client}/api/v3/customer/addresses/{address_id}"): "session",
    ("spektrix", "DELETE", "/{client}/api/v3/customer/agreed-statements"): "session",
    ("spektrix", "DELETE", "/{client}/api/v3/customer/agreed-statements/{statement_id}"): "session",
    ("spektrix", "DELETE", "/{client}/api/v3/customers/tags/{tag_id}"): "owner",
    ("spektrix", "DELETE", "/{client}/api/v3/customers/{id}/addresses/{address_id}"): "owner",
    (
        "spektrix",
        "DELETE",
        "/{client}/api/v3/customers/{id}/agreed-statements/{statement_id}",
    ): "owner",
    ("spektrix", "DELETE", "/{client}/api/v3/customers/{id}/tags/{tag_id}"): "owner",
    ("spektrix", "GET", "/{client}/api/v3/bands"): "public",
    ("spektrix", "GET", "/{client}/api/v3/events"): "public",
    ("spektrix", "GET", "/{client}/api/v3/events/{event_id}"): "public",
    ("spektrix", "GET", "/{client}/api/v3/events/{event_id}/instances"): "public",
    ("spektrix", "GET", "/{client}/api/v3/funds"): "public",
    ("spektrix", "GET", "/{client}/api/v3/instances"): "public",
    ("spektrix", "GET", "/{client}/api/v3/instances/{instance_id}"): "public",
    ("spektrix", "GET", "/{client}/api/v3/instances/{instance_id}/plan"): "public",
    ("spektrix", "GET", "/{client}/api/v3/instances/{instance_id}/price-list"): "public",
    ("spektrix", "GET", "/{client}/api/v3/instances/{instance_id}/status"): "public",
    (
        "spektrix",
        "GET",
        "/{client}/api/v3/instances/{instance_id}/status/areas/{area_id}",
    ): "public",
    ("spektrix", "GET", "/{client}/api/v3/memberships/{membership_id}"): "public",
    ("spektrix", "GET", "/{client}/api/v3/plans"): "public",
    ("spektrix", "GET", "/{client}/api/v3/plans/{plan_id}"): "public",
    ("spektrix", "GET", "/{client}/api/v3/stock-items"): "public",
    ("spektrix", "GET", "/{client}/api/v3/ticket-types"): "public",
    ("spektrix", "GET", "/{client}/api/v3/venues"): "public",
    ("spektrix", "GET", "/{client}/api/v3/venues/{venue_id}"): "public",
    ("spektrix", "GET", "/{client}/api/v3/countries"): "public",
    ("spektrix", "GET", "/{client}/api/v3/countries/{iso_code}"): "public",
    ("spektrix", "GET", "/{client}/api/v3/customer"): "session",
    ("spektrix", "GET", "/{client}/api/v3/customer/addresses"): "session",
    ("spektrix", "GET", "/{client}/api/v3/customer/agreed-statements"): "session",
    ("spektrix", "GET", "/{client}/api/v3/customer/orders"): "session",
    ("spektrix", "POST", "/{client}/api/v3/customer/redeem-gift-voucher"): "session",
    ("spektrix", "GET", "/{client}/api/v3/customers"): "owner",
    ("spektrix", "GET", "/{client}/api/v3/customers/{id}"): "owner",
    ("spektrix", "GET", "/{client}/api/v3/customers/{id}/addresses"): "owner",
    ("spektrix", "GET", "/{client}/api/v3/customers/{id}/agreed-statements"): "owner",
    ("spektrix", "GET", "/{client}/api/v3/customers/{id}/orders"): "owner",
    ("spektrix", "POST", "/{client}/api/v3/customers/{id}/redeem-gift-voucher"): "owner",
    ("spektrix", "GET", "/{client}/api/v3/customers/{id}/tags"): "owner",
    ("spektrix", "GET", "/{client}/api/v3/memberships"): "public",
    ("spektrix", "GET", "/{client}/api/v3/statements"): "public",
    ("spektrix", "GET", "/{client}/api/v3/tag-groups"): "public",
    ("spektrix", "GET", "/{client}/api/v3/tags"): "public",
    ("spektrix", "PATCH", "/{client}/api/v3/customer"): "session",
    ("spektrix", "PATCH", "/{client}/api/v3/customer/addresses/{address_id}"): "session",
    ("spektrix", "PATCH", "/{client}/api/v3/customers/{id}"): "owner",
    ("spektrix", "PATCH", "/{client}/api/v3/customers/{id}/addresses/{address_id}"): "owner",
    ("spektrix", "POST", "/{client}/api/v3/customer"): "open",
    ("spektrix", "POST", "/{client}/api/v3/customer/addresses"): "session",
    ("spektrix", "POST", "/{client}/api/v3/customer/agreed-statements"): "session",
    ("spektrix", "POST", "/{client}/api/v3/customer/authenticate"): "open",
    ("spektrix", "POST", "/{client}/api/v3/customer/authenticate-magic-link"): "open",
    ("spektrix", "POST", "/{client}/api/v3/customer/change-password"): "session",
    ("spektrix", "POST", "/{client}/api/v3/customer/deauthenticate"): "open",
    ("spektrix", "POST", "/{client}/api/v3/customer/forgot-password"): "open",
    ("spektrix", "POST", "/{client}/api/v3/customer/send-magic-link"): "open",
    ("spektrix", "POST", "/{client}/api/v3/customers"): "owner",
    ("spektrix", "POST", "/{client}/api/v3/customers/{id}/addresses"): "owner",
    ("spektrix", "POST", "/{client}/api/v3/customers/{id}/agreed-statements"): "owner",
    ("spektrix", "POST", "/{client}/api/v3/customers/{id}/tags"): "owner",
    ("spektrix", "PUT", "/{client}/api/v3/customer/agreed-statements"): "session",
    ("spektrix", "PUT", "/{client}/api/v3/customers/{id}/agreed-statements"): "owner",
    # Baskets (issue 18): web mode's is the browser's own (its cookie), open to anybody.
    ("spektrix", "GET", "/{client}/api/v3/basket"): "open",
    ("spektrix", "PATCH", "/{client}/api/v3/basket"): "open",
    ("spektrix", "POST", "/{client}/api/v3/basket/tickets"): "open",
    ("spektrix", "PATCH", "/{client}/api/v3/basket/tickets"): "open",
    ("spektrix", "DELETE", "/{client}/api/v3/basket/tickets"): "open",
    ("spektrix", "PATCH", "/{client}/api/v3/basket/tickets/{ticket_id}"): "open",
    ("spektrix", "POST", "/{client}/api/v3/basket/merchandise"): "open",
    ("spektrix", "DELETE", "/{client}/api/v3/basket/merchandise"): "open",
    ("spektrix", "POST", "/{client}/api/v3/basket/donations"): "open",
    ("spektrix", "PATCH", "/{client}/api/v3/basket/donations"): "open",
    ("spektrix", "DELETE", "/{client}/api/v3/basket/donations"): "open",
    ("spektrix", "POST", "/{client}/api/v3/basket/gift-vouchers"): "open",
    ("spektrix", "PUT", "/{client}/api/v3/basket/gift-vouchers"): "open",
    ("spektrix", "PATCH", "/{client}/api/v3/basket/gift-vouchers"): "open",
    ("spektrix", "POST", "/{client}/api/v3/basket/membership-subscriptions"): "open",
    ("spektrix", "PATCH", "/{client}/api/v3/basket/membership-subscriptions"): "open",
    ("spektrix", "POST", "/{client}/api/v3/basket/voucher-payments"): "open",
    ("spektrix", "POST", "/{client}/api/v3/basket/credit-payments"): "open",
    ("spektrix", "POST", "/{client}/api/v3/basket/clear"): "open",
    ("spektrix", "POST", "/{client}/api/v3/basket/confirm"): "open",
    ("spektrix", "POST", "/{client}/api/v3/baskets"): "owner",
    ("spektrix", "GET", "/{client}/api/v3/baskets/{basket_id}"): "owner",
    ("spektrix", "PATCH", "/{client}/api/v3/baskets/{basket_id}"): "owner",
    ("spektrix", "POST", "/{client}/api/v3/baskets/{basket_id}/tickets"): "owner",
    ("spektrix", "PATCH", "/{client}/api/v3/baskets/{basket_id}/tickets"): "owner",
    ("spektrix", "DELETE", "/{client}/api/v3/baskets/{basket_id}/tickets"): "owner",
    ("spektrix", "POST", "/{client}/api/v3/baskets/{basket_id}/tickets/best-available"): "owner",
    ("spektrix", "POST", "/{client}/api/v3/baskets/{basket_id}/merchandise"): "owner",
    ("spektrix", "POST", "/{client}/api/v3/baskets/{basket_id}/donations"): "owner",
    ("spektrix", "PATCH", "/{client}/api/v3/baskets/{basket_id}/donations"): "owner",
    ("spektrix", "POST", "/{client}/api/v3/baskets/{basket_id}/gift-vouchers"): "owner",
    ("spektrix", "PUT", "/{client}/api/v3/baskets/{basket_id}/gift-vouchers"): "owner",
    ("spektrix", "PATCH", "/{client}/api/v3/baskets/{basket_id}/gift-vouchers"): "owner",
    ("spektrix", "GET", "/{client}/api/v3/baskets/{basket_id}/membership-subscriptions"): "owner",
    ("spektrix", "POST", "/{client}/api/v3/baskets/{basket_id}/membership-subscriptions"): "owner",
    (
        "spektrix",
        "PATCH",
        "/{client}/api/v3/baskets/{basket_id}/membership-subscriptions",
    ): "owner",
    ("spektrix", "GET", "/{client}/api/v3/baskets/{basket_id}/custom-payments"): "owner",
    ("spektrix", "POST", "/{client}/api/v3/baskets/{basket_id}/custom-payments"): "owner",
    ("spektrix", "POST", "/{client}/api/v3/baskets/{basket_id}/voucher-payments"): "owner",
    ("spektrix", "POST", "/{client}/api/v3/baskets/{basket_id}/credit-payments"): "owner",
    ("spektrix", "POST", "/{client}/api/v3/baskets/{basket_id}/clear"): "owner",
    ("spektrix", "POST", "/{client}/api/v3/baskets/{basket_id}/confirm"): "owner",
    ("spektrix", "GET", "/{client}/api/v3/orders"): "owner",
    # An order: a System Owner, or the customer logged in on the browser (their own).
    ("spektrix", "GET", "/{client}/api/v3/orders/{order_id}"): "owner",
    # Returns (ours, decision 0125): a System Owner only.
    ("spektrix", "POST", "/{client}/api/v3/orders/{order_id}/returns"): "owner",
    ("brandchannel", "DELETE", "/api/v2/customer/{id:int}"): "cud",
    ("brandchannel", "DELETE", "/api/v2/customer/{id:int}/channel"): "cud",
    ("brandchannel", "DELETE", "/api/v2/customer/{id:int}/purgeData"): "cud",
    ("brandchannel", "GET", "/api/v2/customer"): "read",
    ("brandchannel", "GET", "/api/v2/customer/timelineByCustomerExternalID"): "read",
    ("brandchannel", "GET", "/api/v2/customer/{id:int}"): "read",
    ("brandchannel", "POST", "/api/v2/customer"): "cud",
    ("brandchannel", "POST", "/api/v2/customer/SearchByCustomerChannelValue"): "read",
    ("brandchannel", "POST", "/api/v2/customer/SearchByPrimaryExternalID"): "read",
    ("brandchannel", "POST", "/api/v2/customer/addChannelOnly"): "cud",
    ("brandchannel", "POST", "/api/v2/customer/createCustomerCRUD"): "cud",
    ("brandchannel", "POST", "/api/v2/customer/externalEvent"): "cud",
    ("brandchannel", "POST", "/api/v2/customer/syncWithCRM"): "cud",
    ("brandchannel", "PUT", "/api/v2/customer"): "cud",
    ("brandchannel", "PUT", "/api/v2/customer/updateCustomer"): "cud",
    ("brandchannel", "PUT", "/api/v2/customer/{id:int}"): "cud",
    ("web", "GET", "/{client}/website/scripts/{name}"): "static",
    ("web", "HEAD", "/{client}/website/scripts/{name}"): "static",
    ("web", "GET", "/{client}/website/secure/forgotpassword.aspx"): "page-open",
    ("web", "GET", "/{client}/website/secure/loginlogout.aspx"): "page-session",
    ("web", "GET", "/{client}/website/secure/myaccount.aspx"): "page-session",
    ("web", "GET", "/{client}/website/secure/setpassword.aspx"): "page",
    ("web", "GET", "/{client}/website/secure/confirmnewsletter.aspx"): "page",
    ("web", "GET", "/{client}/website/secure/signup.aspx"): "page-open",
    ("web", "MOUNT", "/webcomponents/stable"): "static",
    ("web", "POST", "/{client}/website/secure/forgotpassword.aspx"): "page-open",
    ("web", "POST", "/{client}/website/secure/loginlogout.aspx"): "page-session",
    ("web", "POST", "/{client}/website/secure/myaccount.aspx"): "page-session",
    ("web", "POST", "/{client}/website/secure/setpassword.aspx"): "page",
    ("web", "POST", "/{client}/website/secure/confirmnewsletter.aspx"): "page",
    ("web", "POST", "/{client}/website/secure/signup.aspx"): "page-open",
    (
        "carecloud",
        "DELETE",
        "/customers/{customer_id}/interest-records/{interest_record_id}",
    ): "customer",
    (
        "carecloud",
        "DELETE",
        "/customers/{customer_id}/property-records/{property_record_id}",
    ): "customer",
    ("carecloud", "GET", "/agreements"): "token",
    ("carecloud", "GET", "/agreements/{agreement_id}"): "token",
    ("carecloud", "GET", "/countries"): "token",
    ("carecloud", "GET", "/customer-address-types"): "token",
    ("carecloud", "GET", "/customer-properties"): "token",
    ("carecloud", "GET", "/customer-properties/{customer_property_id}"): "token",
    ("carecloud", "GET", "/customer-sources"): "token",
    ("carecloud", "GET", "/customer-sources/{customer_source_id}"): "token",
    ("carecloud", "GET", "/customers"): "customer",
    ("carecloud", "GET", "/customers/{customer_id}"): "customer",
    ("carecloud", "GET", "/customers/{customer_id}/addresses"): "customer",
    (
        "carecloud",
        "GET",
        "/customers/{customer_id}/addresses/{additional_customer_address_id_path}",
    ): "customer",
    ("carecloud", "GET", "/customers/{customer_id}/customer-source-records"): "customer",
    ("carecloud", "GET", "/customers/{customer_id}/interest-records"): "customer",
    ("carecloud", "GET", "/customers/{customer_id}/property-records"): "customer",
    ("carecloud", "GET", "/customers/{customer_id}/purchases"): "customer",
    ("carecloud", "GET", "/customers/{customer_id}/rewards"): "customer",
    ("carecloud", "GET", "/interests"): "token",
    ("carecloud", "GET", "/interests/{interest_id}"): "token",
    ("carecloud", "GET", "/languages"): "open",
    ("carecloud", "GET", "/rewards"): "token",
    ("carecloud", "GET", "/rewards/{reward_id}"): "token",
    ("carecloud", "GET", "/stores"): "token",
    ("carecloud", "GET", "/stores/{store_id}"): "token",
    ("carecloud", "GET", "/tests/connection"): "open",
    ("carecloud", "POST", "/customers"): "token",
    ("carecloud", "POST", "/customers/actions/check-registration-ability"): "token",
    ("carecloud", "POST", "/customers/actions/newsletters-sign-up"): "token",
    ("carecloud", "POST", "/customers/actions/validate-customer-data"): "open",
    ("carecloud", "POST", "/customers/{customer_id}/addresses"): "customer",
    ("carecloud", "POST", "/customers/{customer_id}/customer-source-records"): "customer",
    ("carecloud", "POST", "/customers/{customer_id}/interest-records"): "customer",
    ("carecloud", "POST", "/customers/{customer_id}/property-records"): "customer",
    ("carecloud", "POST", "/customers/{customer_id}/property-records/batch"): "customer",
    ("carecloud", "POST", "/tokens"): "open",
    ("carecloud", "POST", "/tokens/{token_id}/actions/login"): "token",
    ("carecloud", "POST", "/tokens/{token_id}/actions/logout"): "token",
    ("carecloud", "POST", "/tokens/{token_id}/actions/send-password-setup-email"): "token",
    ("carecloud", "PUT", "/customers/{customer_id}"): "customer",
    (
        "carecloud",
        "PUT",
        "/customers/{customer_id}/addresses/{additional_customer_address_id_path}",
    ): "customer",
    (
        "carecloud",
        "PUT",
        "/customers/{customer_id}/interest-records/{interest_record_id}",
    ): "customer",
    (
        "carecloud",
        "PUT",
        "/customers/{customer_id}/property-records/{property_record_id}",
    ): "customer",
    ("carecloud", "PUT", "/tokens/{token_id}"): "token",
    ("operator", "GET", "/"): "operator",
    ("operator", "GET", "/docs/{dialect}"): "operator",
    ("operator", "GET", "/healthz"): "operator",
    ("operator", "GET", "/metrics"): "operator",
    ("operator", "GET", "/openapi/{dialect}.json"): "operator",
    ("operator", "GET", "/readyz"): "operator",
    ("operator", "MOUNT", "/static/swagger-ui"): "operator",
}
#: Sub-applications and the kinds their rows may have.
APPS = {
    "spektrix": {"public", "open", "session", "owner"},
    "brandchannel": {"read", "cud"},
    "carecloud": {"open", "token", "customer"},
    "web": {"page", "page-open", "page-session", "static"},
    "operator": {"operator"},
}


def _fastapi(asgi: object) -> FastAPI:
    """The FastAPI application inside the middleware that wraps it."""
    while not isinstance(asgi, FastAPI):
        asgi = asgi.app  # type: ignore[attr-defined]
    return asgi


def served_routes() -> set[tuple[str, str, str]]:
    """Every (application, method, path) the whole application serves, read from the app."""
    app = create_app(Settings(database_url="sqlite://", secret_key=SECRET))
    apps = [(observed.dialect, _fastapi(observed)) for _, observed in app.dialects]
    apps.append((app.operator.dialect, _fastapi(app.operator)))  # type: ignore[attr-defined]
    found = set()
    for name, fastapi_app in apps:
        for route in iter_route_contexts(fastapi_app.routes):
            path = route.path or ""
            if name == "carecloud":
                for base in CC_BASE_PATHS:
                    path = path.removeprefix(base)
            if isinstance(route.original_route, Mount):
                found.add((name, "MOUNT", path))
                continue
            for method in route.methods or ():
                found.add((name, method, path))
    return found


def test_the_matrix_has_every_route_and_only_those() -> None:
    served = served_routes()
    missing = sorted(served - set(MATRIX))
    assert not missing, f"routes missing from MATRIX (add a row each): {missing}"
    stale = sorted(set(MATRIX) - served)
    assert not stale, f"MATRIX rows for routes that no longer exist: {stale}"
    for (app, method, path), kind in MATRIX.items():
        assert kind in APPS[app], (app, method, path, kind)


def test_carecloud_serves_every_route_under_both_base_paths() -> None:
    app = create_app(Settings(database_url="sqlite://", secret_key=SECRET))
    carecloud = next(_fastapi(o) for _, o in app.dialects if o.dialect == "carecloud")
    paths = {(m, r.path) for r in iter_route_contexts(carecloud.routes) for m in r.methods or ()}
    relative = {(m, p) for a, m, p in MATRIX if a == "carecloud"}
    for base in CC_BASE_PATHS:
        assert {(m, base + p) for m, p in relative} <= paths


def _rows(app: str, *kinds: str) -> list[tuple[str, str]]:
    return sorted(
        (m, p) for (a, m, p), k in MATRIX.items() if a == app and (not kinds or k in kinds)
    )


V3 = "/{client}/api/v3"
#: The path ids of what a tenant sells (``_box_office_ids``).
BOX_OFFICE_IDS = ("event_id", "instance_id", "plan_id", "area_id", "venue_id", "membership_id")
ROUTES = _rows("spektrix")
#: Routes that answer in web mode (no credentials) with 200.
PUBLIC = set(_rows("spektrix", "public"))
#: Web-mode routes anybody may call (sign-up, logging in): never a 401, never a 5xx.
OPEN = set(_rows("spektrix", "open"))


def _kind(method: str, template: str) -> str:
    return MATRIX[("spektrix", method, template)]


async def _victim(core: Core) -> tuple[str, dict[str, str]]:
    """A tenant with a customer, a tag on it, an agreed statement and an address."""
    name, tenant_id = await make_tenant(core)
    await load_box_office(core, name)
    owner = Principal(tenant_id=tenant_id, actor="test", full_access=True)
    async with core.uow(tenant_id) as uow:
        tag = (await uow.catalogue.tags())[0].id
        statement = (await uow.catalogue.statements())[0].id
    view = await svc.create_customer(
        core,
        owner,
        NewCustomer(
            first_name="V",
            last_name="Ictim",
            email="victim@example.org",
            tag_ids=(tag,),
            statement_ids=(statement,),
            addresses=(NewAddress(line1="1 Street"),),
        ),
    )
    return name, {
        "id": customer_code(view.id),
        "tag_id": resource_code("tag", tag),
        "statement_id": resource_code("statement", statement),
        "address_id": resource_code("address", view.addresses[0].id),
        "iso_code": "GB",
        **await _box_office_ids(core, owner),
    }


async def _box_office_ids(core: Core, owner: Principal) -> dict[str, str]:
    """The path ids of the tenant's catalogue of what it sells: an event, one of its
    instances, its plan and first area, the venue, a membership."""
    instance = (await programme.list_instances(core, owner))[0]
    plan = await seating.instance_plan(core, owner, instance.id)
    membership = (await products.list_memberships_for_sale(core, owner))[0].membership
    basket = await baskets.create_basket(core, owner, NewBasket())
    order = await baskets.confirm(
        core,
        owner,
        BasketRef.owner((await baskets.create_basket(core, owner, NewBasket())).id),
        Confirmation(),
    )
    return {
        "basket_id": resource_code("basket", basket.id),
        "order_id": resource_code("order", order.id),
        "ticket_id": resource_code("ticket", 1),
        "event_id": resource_code("event", instance.event_id),
        "instance_id": resource_code("instance", instance.id),
        "plan_id": resource_code("plan", plan.id),
        "area_id": resource_code("area", plan.areas[0].id),
        "venue_id": resource_code("venue", plan.venue_id),
        "membership_id": resource_code("membership", membership.id),
    }


def _path(template: str, client: str, ids: dict[str, str]) -> str:
    path = template.replace("{client}", client)
    path = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)
    if template.endswith("/customers") or "/customers/tags/" in path:
        path += f"?email=victim@example.org&id={ids['id']}"
    return path.removeprefix(f"/{client}/api/v3/")


BODY = b'{"id": "x", "firstName": "A", "lastName": "B", "email": "new@example.org"}'


@pytest.fixture
async def matrix(http: httpx.AsyncClient, core: Core) -> tuple[str, dict[str, str], Signer, Signer]:
    victim, ids = await _victim(core)
    attacker, _ = await make_tenant(core)
    victim_key = await tenant_service.create_api_user(core, victim, "victim-user")
    attacker_key = await tenant_service.create_api_user(core, attacker, "attacker-user")
    return (
        victim,
        ids,
        Signer(http, victim, "victim-user", victim_key),
        Signer(http, attacker, "attacker-user", attacker_key),
    )


def test_the_matrix_knows_every_route() -> None:
    assert len(ROUTES) >= 20
    assert set(ROUTES) >= PUBLIC


@pytest.mark.parametrize(("method", "template"), ROUTES)
async def test_no_credentials(
    matrix: tuple[str, dict[str, str], Signer, Signer],
    http: httpx.AsyncClient,
    method: str,
    template: str,
) -> None:
    victim, ids, _, _ = matrix
    url = f"/{victim}/api/v3/{_path(template, victim, ids)}"
    response = await http.request(method, url, content=BODY if method != "GET" else None)
    kind = _kind(method, template)
    if kind == "public":
        assert response.status_code == 200
    elif kind == "open":
        assert response.status_code < 500 and response.status_code != 401, response.text
    else:
        assert response.status_code == 401
        assert response.json() == {"message": "Authorization has been denied for this request."}


@pytest.mark.parametrize(("method", "template"), ROUTES)
async def test_wrong_credentials(
    matrix: tuple[str, dict[str, str], Signer, Signer], method: str, template: str
) -> None:
    victim, ids, good, _ = matrix
    forged = Signer(good.client, victim, "victim-user", "d3Jvbmcga2V5IHdyb25nIGtleQ==")
    response = await forged.request(
        method, _path(template, victim, ids), raw=BODY if method != "GET" else None
    )
    if _kind(method, template) == "open":  # web mode: a signature is not a credential here
        assert response.status_code < 500
    else:
        assert response.status_code == 401


@pytest.mark.parametrize(("method", "template"), ROUTES)
async def test_another_tenants_credentials(
    matrix: tuple[str, dict[str, str], Signer, Signer], method: str, template: str
) -> None:
    """The attacker's own key, signed for the victim's URL: refused."""
    victim, ids, _, attacker = matrix
    misused = Signer(attacker.client, victim, attacker.login, attacker.secret)
    response = await misused.request(
        method, _path(template, victim, ids), raw=BODY if method != "GET" else None
    )
    if _kind(method, template) == "open":
        assert response.status_code < 500
    else:
        assert response.status_code == 401


@pytest.mark.parametrize(
    ("method", "template"),
    [
        r
        for r in ROUTES
        if _kind(*r) == "owner"
        and ("{" in r[1].removeprefix("/{client}") or r[1].endswith("/customers"))
    ],
)
async def test_another_tenants_ids_look_missing(
    matrix: tuple[str, dict[str, str], Signer, Signer], method: str, template: str
) -> None:
    """The attacker, on its own tenant, naming the victim's ids: not found, never data."""
    _, ids, _, attacker = matrix
    path = _path(template, attacker.tenant, ids)
    response = await attacker.request(method, path, raw=BODY if method != "GET" else None)
    if (method, template) == ("POST", "/{client}/api/v3/customers"):
        assert response.status_code == 200  # creating in one's own tenant is allowed
        assert response.json()["email"] == "new@example.org"
        return
    assert "victim" not in response.text.lower()
    if ("{basket_id}" in template or "{order_id}" in template) and response.status_code == 400:
        # A basket's (or an order's) writes read their body before the basket: a body they
        # cannot use is a 400 whichever basket is named. The victim's basket then gets exactly
        # the answer of a basket that never existed, and the valid body below the 404.
        missing = {
            **ids,
            "basket_id": resource_code("basket", 987_654_321),
            "order_id": resource_code("order", 987_654_321),
        }
        never = await attacker.request(method, _path(template, attacker.tenant, missing), raw=BODY)
        assert (response.status_code, response.text) == (never.status_code, never.text)
        valid = VALID_BASKET_BODIES.get(template.rsplit("}", 1)[-1])
        assert valid is not None, template
        response = await attacker.request(
            method,
            path,
            raw=valid.replace(b"INSTANCE", ids["instance_id"].encode())
            .replace(b"MEMBERSHIP", ids["membership_id"].encode())
            .replace(b"TICKET", ids["ticket_id"].encode()),
        )
    assert response.status_code == 404, response.text


#: Bodies the basket (and order) writes accept (any basket): for the check that the victim's is not found.
VALID_BASKET_BODIES = {
    "/tickets": b'[{"instance": "INSTANCE", "seatingPlan": "1"}]',
    "/tickets/best-available": b'{"instance": "INSTANCE", "quantity": 2}',
    "/merchandise": b'[{"stockItem": "1"}]',
    "/donations": b'[{"amount": 5, "fundId": "1"}]',
    "/gift-vouchers": b'[{"amount": 25}]',
    "/membership-subscriptions": b'[{"membership": "MEMBERSHIP"}]',
    "/custom-payments": b'{"amount": 5, "paymentTypeId": "Cash"}',
    "/returns": b'{"ticketIds": ["TICKET"]}',
    "/voucher-payments": b'{"voucherCode": "ABCDEFGHJKLMNPQR"}',
    "/credit-payments": b'{"amount": 5}',
}


#: The public routes of what a tenant sells (issue 17): lists, and those naming its ids.
SALES_LISTS = (
    "/events",
    "/instances",
    "/plans",
    "/venues",
    "/ticket-types",
    "/bands",
    "/funds",
    "/stock-items",
    "/memberships",
)
SALES_ROUTES = [
    r
    for r in ROUTES
    if _kind(*r) == "public"
    and (
        r[1].removeprefix(V3) in SALES_LISTS
        or any("{" + key + "}" in r[1] for key in BOX_OFFICE_IDS)
    )
]


def test_the_sales_routes_are_all_there() -> None:
    assert len(SALES_ROUTES) == 19


@pytest.mark.parametrize(("method", "template"), SALES_ROUTES)
async def test_another_tenants_catalogue_is_not_seen(
    matrix: tuple[str, dict[str, str], Signer, Signer],
    http: httpx.AsyncClient,
    core: Core,
    method: str,
    template: str,
) -> None:
    """A public route of a tenant whose catalogue sells nothing, named with the victim's ids
    (each kind's, long and short): not found, or an empty list, in web mode and signed. (Two
    tenants selling the same things may show the same catalogue ids, each its own records:
    catalogue keys are small and per tenant.)"""
    _, ids, _, _ = matrix
    bare, _ = await make_tenant(core, catalogue=False)
    secret = await tenant_service.create_api_user(core, bare, "bare-user")
    signer = Signer(http, bare, "bare-user", secret)
    short = {k: re.split(r"[A-Z]", v, maxsplit=1)[0] for k, v in ids.items()}
    for values in (ids, short):
        path = _path(template, bare, values)
        for response in (
            await http.get(f"/{bare}/api/v3/{path}"),
            await signer.get(path),
        ):
            if "{" in template.removeprefix("/{client}"):
                assert response.status_code == 404, (path, response.text)
                assert set(response.json()) == {"message"}
            else:
                assert response.status_code == 200, (path, response.text)
                for key in BOX_OFFICE_IDS:
                    assert ids[key] not in response.text, (path, key)
            assert "victim" not in response.text.lower()


# --- brand/channel (apiKey header; the tenant comes from the key) -----------------------------

V2 = "/api/v2"
BC_ROUTES = _rows("brandchannel")
#: Routes that need ``CUSTOMER_READ``; every other one needs ``CUSTOMER_CUD``.
BC_READS = set(_rows("brandchannel", "read"))
#: Routes that, given another tenant's ids, answer 200 in the caller's own tenant: lists and
#: searches (finding nothing), and creates (a new customer of the caller's).
BC_OWN_TENANT = BC_READS - {
    ("GET", f"{V2}/customer/{{id:int}}"),
    ("GET", f"{V2}/customer/timelineByCustomerExternalID"),
} | {("POST", f"{V2}/customer"), ("POST", f"{V2}/customer/createCustomerCRUD")}
BC_UNAUTHORIZED = {"message": "A valid apiKey header is required.", "type": "error"}


async def _bc_victim(core: Core) -> tuple[str, dict[str, str]]:
    """A tenant with a customer of brand 1: an external id and an email channel."""
    name, tenant_id = await make_tenant(core)
    owner = ApiKeyCaller(
        principal=Principal(tenant_id=tenant_id, actor="test", full_access=True),
        brand_id=None,
        permissions=frozenset({"CUSTOMER_READ", "CUSTOMER_CUD"}),
    )
    view = await brandchannel_service.create_customer(
        core,
        owner,
        NewBrandCustomer(
            brand_id=1,
            external_primary_id="VICTIM-1",
            first_name="Victim",
            channels=(NewChannel(type="email", value="victim@example.org"),),
        ),
    )
    return name, {
        "id": str(view.id),
        "ext": "VICTIM-1",
        "email": "victim@example.org",
        "channel_id": str(view.channels[0].id),
    }


def _bc_request(template: str, ids: dict[str, str]) -> tuple[str, dict[str, str] | None]:
    """The route's path and query, filled with the victim's ids."""
    path = template.replace("{id:int}", ids["id"])
    query = {"brand_id": "1", "customer_id": ids["id"], "external_id": ids["ext"]}
    if template.endswith("/channel"):
        query["channel_id"] = ids["channel_id"]
    return path, query


#: One body for every write, naming the victim's customer in each spelling the API accepts.
def _bc_body(ids: dict[str, str]) -> dict[str, str]:
    return {
        "customer_id": ids["id"],
        "primary_id": ids["ext"],
        "brand_id": "1",
        "customerChannelValue": ids["email"],
        "firstname": "Attacker",
        "extra_twitter": "attacker",
        "message": "attacker was here",
        "channel": "email",
        "address": ids["email"],
    }


async def _bc_call(
    http: httpx.AsyncClient,
    method: str,
    template: str,
    ids: dict[str, str],
    key: str | None,
    *,
    tenant: str | None = None,
) -> httpx.Response:
    path, query = _bc_request(template, ids)
    if tenant is not None:
        path = f"/{tenant}{path}"
    headers = {"apiKey": key} if key is not None else {}
    body = None if method == "GET" else _bc_body(ids)
    return await http.request(method, path, params=query, data=body, headers=headers)


@pytest.fixture
async def bc_matrix(core: Core) -> tuple[str, dict[str, str], dict[str, str], str]:
    """(victim tenant, victim ids, victim keys by permission, the attacker's full key)."""
    victim, ids = await _bc_victim(core)
    attacker, _ = await make_tenant(core)
    both = ("CUSTOMER_READ", "CUSTOMER_CUD")
    keys = {
        "CUSTOMER_READ": await tenant_service.create_api_key(
            core, victim, permissions=("CUSTOMER_READ",)
        ),
        "CUSTOMER_CUD": await tenant_service.create_api_key(
            core, victim, permissions=("CUSTOMER_CUD",)
        ),
    }
    attacker_key = await tenant_service.create_api_key(core, attacker, permissions=both)
    return victim, ids, keys, attacker_key


def test_the_brandchannel_matrix_knows_every_route() -> None:
    assert len(BC_ROUTES) == 16
    assert set(BC_ROUTES) >= BC_READS | BC_OWN_TENANT


@pytest.mark.parametrize(("method", "template"), BC_ROUTES)
async def test_brandchannel_no_or_wrong_key(
    bc_matrix: tuple[str, dict[str, str], dict[str, str], str],
    http: httpx.AsyncClient,
    method: str,
    template: str,
) -> None:
    victim, ids, _, _ = bc_matrix
    for key in (None, "", "bo_wrong-key"):
        for tenant in (None, victim):
            response = await _bc_call(http, method, template, ids, key, tenant=tenant)
            assert response.status_code == 401, (key, tenant, response.text)
            assert response.json() == BC_UNAUTHORIZED


@pytest.mark.parametrize(("method", "template"), BC_ROUTES)
async def test_brandchannel_key_of_another_tenant(
    bc_matrix: tuple[str, dict[str, str], dict[str, str], str],
    http: httpx.AsyncClient,
    method: str,
    template: str,
) -> None:
    """The attacker's own key, at the victim's tenant path: refused like an unknown key."""
    victim, ids, _, attacker_key = bc_matrix
    response = await _bc_call(http, method, template, ids, attacker_key, tenant=victim)
    assert response.status_code == 401
    assert response.json() == BC_UNAUTHORIZED


@pytest.mark.parametrize(("method", "template"), BC_ROUTES)
async def test_brandchannel_another_tenants_ids_look_missing(
    bc_matrix: tuple[str, dict[str, str], dict[str, str], str],
    http: httpx.AsyncClient,
    method: str,
    template: str,
) -> None:
    """The attacker, in its own tenant, naming the victim's ids: not found, never data."""
    _, ids, keys, attacker_key = bc_matrix
    response = await _bc_call(http, method, template, ids, attacker_key)
    if (method, template) in BC_OWN_TENANT:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body.get("itemTotal", 0) == 0 or method == "POST"
    elif template.endswith("/syncWithCRM"):
        assert response.status_code == 400  # the attacker's brand has no CRM
    else:
        assert response.status_code == 404, response.text
    for value in (ids["id"], ids["email"], "victim"):
        assert value not in response.text.lower()
    # The victim's customer is as it was.
    check = await http.get(f"{V2}/customer/{ids['id']}", headers={"apiKey": keys["CUSTOMER_READ"]})
    assert check.json()["firstname"] == "Victim"
    assert check.json()["channels"] == [
        {"id": int(ids["channel_id"]), "type": "email", "value": ids["email"]}
    ]


@pytest.mark.parametrize(("method", "template"), BC_ROUTES)
async def test_brandchannel_missing_permission(
    bc_matrix: tuple[str, dict[str, str], dict[str, str], str],
    http: httpx.AsyncClient,
    method: str,
    template: str,
) -> None:
    """A key with only the other permission: 403, naming the one it lacks."""
    victim, ids, keys, _ = bc_matrix
    needed = "CUSTOMER_READ" if (method, template) in BC_READS else "CUSTOMER_CUD"
    other = keys["CUSTOMER_CUD" if needed == "CUSTOMER_READ" else "CUSTOMER_READ"]
    for tenant in (None, victim):
        response = await _bc_call(http, method, template, ids, other, tenant=tenant)
        assert response.status_code == 403, response.text
        assert response.json() == {
            "message": f"This API key does not have the {needed} permission.",
            "type": "error",
        }


# --- carecloud -------------------------------------------------------------------------------

import base64  # noqa: E402

from boxoffice.services import catalogue as catalogue_service  # noqa: E402
from tests.api.carecloud.support import Api as CareCloudApi  # noqa: E402

CC_ROUTES = _rows("carecloud")
#: Routes that need no token at all (the vendor's ``security: []``).
CC_OPEN = set(_rows("carecloud", "open"))
#: Routes that answer any token; every other one needs a customer logged in on the token.
CC_ANY_TOKEN = set(_rows("carecloud", "token"))
CC_BODY = b'{"setup": {"language_id": "en", "allowed_gps": true, "allowed_notifications": true}}'


def _cc_kind(method: str, template: str) -> str:
    return MATRIX[("carecloud", method, template)]


VICTIM_CATALOGUE = {
    "statements": [{"text": "Victim statement"}],
    "stores": [{"name": "Victim Store"}],
    "interests": [{"name": "Victim Interest", "tag": "Interests/Family"}],
    "customer_properties": [{"code": "hidden_prop", "name": "Victim Prop"}],
    "rewards": [{"code": "VICTIM", "name": "Victim Reward"}],
    "customer_sources": [{"code": "victim", "name": "Victim Source"}],
}


async def _cc_victim(
    http: httpx.AsyncClient, core: Core, *, victim: bool = False
) -> tuple[CareCloudApi, dict[str, str]]:
    """A tenant with a customer logged in on a token, an interest, a property, an address.
    The victim's catalogue has one more item of each kind, and its ids name those."""
    name, _ = await make_tenant(core)
    if victim:
        await catalogue_service.load_catalogue(core, name, VICTIM_CATALOGUE)
    api = CareCloudApi(http, name)
    customer_id = await api.logged_in()
    interests = await api.ids("interests", "interests", "interest_id")
    types = await api.ids("customer-address-types", "customer_address_types", "address_type_id")
    record = await api.post(
        f"customers/{customer_id}/interest-records",
        {"interest_record": {"interest_id": interests["Drama"], "customer_id": customer_id}},
    )
    address = await api.post(
        f"customers/{customer_id}/addresses",
        {"additional_address": {"address_type": types["Other address"], "address": {}}},
    )
    await api.post(
        f"customers/{customer_id}/property-records",
        {"property_record": {"property_id": "wedding_date", "property_value": "2001-08-13"}},
    )
    prefix = "Victim" if victim else ""

    def pick(found: dict[str, str]) -> str:
        return next(v for k, v in found.items() if k.startswith(prefix))

    ids = {
        "token_id": api.token or "",
        "customer_id": customer_id,
        "store_id": pick(await api.ids("stores", "stores", "store_id")),
        "interest_id": pick(interests),
        "customer_property_id": "hidden_prop" if victim else "wedding_date",
        "customer_source_id": pick(
            await api.ids("customer-sources", "customer_sources", "customer_source_id")
        ),
        "agreement_id": pick(await api.ids("agreements", "agreements", "agreement_id", "name")),
        "reward_id": pick(await api.ids("rewards", "rewards", "reward_id")),
        "interest_record_id": record.json()["data"]["interest_record_id"],
        "property_record_id": f"wedding_date:{customer_id}",
        "additional_customer_address_id_path": address.json()["data"]["additional_address_id"],
    }
    return api, ids


def _cc_path(template: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], template)


@pytest.fixture
async def cc_matrix(
    http: httpx.AsyncClient, core: Core
) -> tuple[CareCloudApi, dict[str, str], CareCloudApi, dict[str, str]]:
    victim, victim_ids = await _cc_victim(http, core, victim=True)
    attacker, attacker_ids = await _cc_victim(http, core)
    return victim, victim_ids, attacker, attacker_ids


def _cc_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["exception"] == "unauthorized_exception" and error["error_data"] == {}


def test_the_carecloud_matrix_knows_every_route() -> None:
    assert len(CC_ROUTES) >= 44
    assert set(CC_ROUTES) >= CC_OPEN


@pytest.mark.parametrize(("method", "template"), CC_ROUTES)
async def test_carecloud_without_a_valid_token(
    cc_matrix: tuple[CareCloudApi, dict[str, str], CareCloudApi, dict[str, str]],
    method: str,
    template: str,
) -> None:
    """No token, a wrong one, another tenant's (valid there), or a legacy Basic one with an
    unknown user: refused alike."""
    victim, ids, attacker, _ = cc_matrix
    for token, headers in (
        ("", {}),
        ("0" * 72, {}),
        (attacker.token or "", {}),
        (
            "",
            {
                "Authorization": "Basic "
                + base64.b64encode(f"nobody:{victim.token}".encode()).decode()
            },
        ),
    ):
        response = await victim.request(
            method,
            _cc_path(template, ids),
            raw=CC_BODY if method != "GET" else None,
            token=token,
            headers=headers,
        )
        if _cc_kind(method, template) == "open":
            assert response.status_code < 500 and response.status_code != 401, response.text
        else:
            _cc_unauthorized(response)


@pytest.mark.parametrize(
    ("method", "template"), [r for r in CC_ROUTES if "{" in r[1] or r[1] == "/customers"]
)
async def test_carecloud_another_tenants_ids_look_missing(
    cc_matrix: tuple[CareCloudApi, dict[str, str], CareCloudApi, dict[str, str]],
    method: str,
    template: str,
) -> None:
    """The attacker, with its own logged-in token on its own tenant, naming the victim's ids."""
    _, victim_ids, attacker, attacker_ids = cc_matrix
    ids = {**victim_ids, "token_id": victim_ids["token_id"]}
    if template == "/customers":  # a filter naming the victim matches nobody
        response = await attacker.get(
            "customers", params={"customer_ids[]": victim_ids["customer_id"]}
        )
        assert response.json()["data"] == {"customers": [], "total_items": 0}
        return
    response = await attacker.request(
        method, _cc_path(template, ids), raw=CC_BODY if method != "GET" else None
    )
    assert 400 <= response.status_code < 500, response.text
    if template.startswith("/customers/{customer_id}"):
        params = response.json()["error"]["error_data"]["invalid_params"]
        assert params[0]["reason"] == "not_belong_to_logged_in_customer"
    elif "{" in template:
        assert response.status_code == 404, response.text
    assert victim_ids["customer_id"] not in response.text
    assert "victim" not in response.text.lower()
    # The same request with the attacker's own ids reaches its own data (or a 400 on the body).
    own = await attacker.request(
        method, _cc_path(template, attacker_ids), raw=CC_BODY if method != "GET" else None
    )
    assert own.status_code not in (401, 403, 404, 500), own.text


@pytest.mark.parametrize(
    ("method", "template"), [r for r in CC_ROUTES if _cc_kind(*r) == "customer"]
)
async def test_carecloud_a_token_of_another_customer(
    cc_matrix: tuple[CareCloudApi, dict[str, str], CareCloudApi, dict[str, str]],
    method: str,
    template: str,
) -> None:
    """Another customer of the same tenant, logged in on its own token: not theirs."""
    victim, ids, _, _ = cc_matrix
    neighbour = CareCloudApi(victim.client, victim.tenant)
    await neighbour.logged_in()
    response = await neighbour.request(
        method, _cc_path(template, ids), raw=CC_BODY if method != "GET" else None
    )
    if template == "/customers":
        assert response.status_code == 200
        assert ids["customer_id"] not in response.text
        return
    assert response.status_code == 400, response.text
    params = response.json()["error"]["error_data"]["invalid_params"]
    assert params[0]["reason"] == "not_belong_to_logged_in_customer"
    # And a token with nobody logged in is refused outright.
    anonymous = CareCloudApi(victim.client, victim.tenant)
    anonymous.token = await anonymous.new_token()
    refused = await anonymous.request(
        method, _cc_path(template, ids), raw=CC_BODY if method != "GET" else None
    )
    assert refused.status_code == 403, refused.text


# --- spektrix web mode: a session of another customer, a forged session ---------------------

from tests.api.web.conftest import ORIGIN, mailed_link, outbox, token_of  # noqa: E402

WEB_PASSWORD = "Correct horse battery 1"


async def _web_customer(http: httpx.AsyncClient, tenant: str, email: str) -> httpx.AsyncClient:
    """A browser (its own cookie jar) with a newly signed-up customer logged in."""
    browser = httpx.AsyncClient(transport=http._transport, base_url=str(http.base_url))
    response = await browser.post(
        f"/{tenant}/api/v3/customer",
        json={
            "firstName": "Web",
            "lastName": email.split("@")[0],
            "email": email,
            "password": WEB_PASSWORD,
            "addresses": [{"line1": f"{email} street"}],
        },
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 201, response.text
    return browser


@pytest.fixture
async def web_matrix(
    http: httpx.AsyncClient, core: Core
) -> tuple[str, dict[str, str], httpx.AsyncClient, httpx.AsyncClient]:
    """(tenant, the victim's ids, the victim's browser, a neighbour's browser)."""
    tenant, _ = await make_tenant(core)
    victim = await _web_customer(http, tenant, "victim@example.org")
    neighbour = await _web_customer(http, tenant, "neighbour@example.org")
    statements = (await victim.get(f"/{tenant}/api/v3/statements")).json()
    agreed = await victim.post(
        f"/{tenant}/api/v3/customer/agreed-statements",
        json=[{"id": statements[0]["id"]}],
        headers={"Origin": ORIGIN},
    )
    assert agreed.status_code < 300, agreed.text
    addresses = (await victim.get(f"/{tenant}/api/v3/customer/addresses")).json()
    ids = {
        "address_id": addresses[0]["id"],
        "statement_id": statements[0]["id"],
        "client": tenant,
    }
    return tenant, ids, victim, neighbour


SESSION_BODY = b'{"firstName": "Neighbour", "line1": "neighbour was here", "id": "x"}'


@pytest.mark.parametrize(("method", "template"), _rows("spektrix", "session"))
async def test_spektrix_a_session_of_another_customer(
    web_matrix: tuple[str, dict[str, str], httpx.AsyncClient, httpx.AsyncClient],
    method: str,
    template: str,
) -> None:
    """A neighbour's session naming the victim's ids: "not found" or the neighbour's own data,
    never the victim's; the victim's record is as it was."""
    tenant, ids, victim, neighbour = web_matrix
    before = (await victim.get(f"/{tenant}/api/v3/customer?$expand=addresses")).json()
    url = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], template)
    response = await neighbour.request(
        method,
        url,
        content=None if method == "GET" else SESSION_BODY,
        headers={"Origin": ORIGIN, "Content-Type": "application/json"},
    )
    assert response.status_code < 500, response.text
    if "{address_id}" in template:
        assert response.status_code == 404, response.text
    assert "victim" not in response.text.lower()
    after = (await victim.get(f"/{tenant}/api/v3/customer?$expand=addresses")).json()
    assert after == before


@pytest.mark.parametrize(("method", "template"), _rows("spektrix", "session"))
async def test_spektrix_a_forged_or_foreign_session(
    web_matrix: tuple[str, dict[str, str], httpx.AsyncClient, httpx.AsyncClient],
    http: httpx.AsyncClient,
    core: Core,
    method: str,
    template: str,
) -> None:
    """A made-up session cookie, and a real one from another tenant: 401, never data."""
    _, ids, _, _ = web_matrix
    other, _ = await make_tenant(core)
    foreign = await _web_customer(http, other, "foreign@example.org")
    url = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], template)
    forged = httpx.AsyncClient(transport=http._transport, base_url=str(http.base_url))
    forged.cookies.set("boxoffice_session", "A" * 43)
    # The foreign cookie's path is the other tenant's; send it on the victim's path too.
    carried = _browser(http, _session_of(foreign))
    assert await _logged_in(carried, other)
    for browser in (forged, carried):
        response = await browser.request(
            method,
            url,
            content=None if method == "GET" else SESSION_BODY,
            headers={"Origin": ORIGIN, "Content-Type": "application/json"},
        )
        assert response.status_code == 401, response.text
        assert "victim" not in response.text.lower()


# --- web pages: another tenant's path with the victim's mailed token --------------------------


async def _newsletter_token(
    http: httpx.AsyncClient, settings: Settings, tenant: str, email: str
) -> str:
    """The token of a newsletter confirmation mailed to ``email`` (an anonymous app's sign-up)."""
    app = CareCloudApi(http, tenant)
    app.token = await app.new_token()
    sources = await app.ids("customer-sources", "customer_sources", "customer_source_id")
    body = {
        "contact": email,
        "customer_source_id": sources["Website"],
        "agreements": {"agreement_marketing_communication": 1},
    }
    response = await app.post("customers/actions/newsletters-sign-up", body)
    assert response.status_code == 204, response.text
    return token_of(mailed_link(outbox(settings)[-1]))


@pytest.mark.parametrize(("method", "template"), _rows("web", "page"))
async def test_web_pages_refuse_another_tenants_token(
    http: httpx.AsyncClient, core: Core, settings: Settings, method: str, template: str
) -> None:
    """The victim's mailed reset token, used on the attacker tenant's page: refused, and the
    victim's token and password are untouched. An unknown tenant is "not found"."""
    victim, _ = await make_tenant(core)
    attacker, _ = await make_tenant(core)
    browser = await _web_customer(http, victim, "victim@example.org")
    if template == NEWSLETTER_PAGE:
        token = await _newsletter_token(http, settings, victim, "victim@example.org")
    else:
        await browser.post(
            f"/{victim}/api/v3/customer/forgot-password",
            json={"emailAddress": "victim@example.org"},
            headers={"Origin": ORIGIN},
        )
        token = token_of(mailed_link(outbox(settings)[-1]))
    form = {"token": token, "password": "Attacker password 1", "confirm": "Attacker password 1"}

    async def call(tenant: str) -> httpx.Response:
        path = template.replace("{client}", tenant)
        if method == "GET":
            return await http.get(path, params={"token": token})
        return await http.post(path, data=form)

    unknown = await call("no-such-tenant")
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/html")
    response = await call(attacker)
    assert "victim" not in response.text.lower()
    if method == "POST":
        assert response.status_code == 400, response.text
        # The token still works on the victim's own page; the attacker's password never did.
        login = await browser.post(
            f"/{victim}/api/v3/customer/authenticate",
            json={"email": "victim@example.org", "password": "Attacker password 1"},
            headers={"Origin": ORIGIN},
        )
        assert login.status_code == 404, login.text  # the vendor's answer to a wrong password
        own = await http.post(template.replace("{client}", victim), data=form)
        assert own.status_code == 200, own.text


# --- web pages: missing, forged and foreign sessions, another customer, form tokens ---------

from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

from boxoffice.web.app import SCRIPTS, STATIC  # noqa: E402

LOGIN_PAGE = "/{client}/website/secure/loginlogout.aspx"
ACCOUNT_PAGE = "/{client}/website/secure/myaccount.aspx"
SIGNUP_PAGE = "/{client}/website/secure/signup.aspx"
FORGOT_PAGE = "/{client}/website/secure/forgotpassword.aspx"
SET_PASSWORD_PAGE = "/{client}/website/secure/setpassword.aspx"
NEWSLETTER_PAGE = "/{client}/website/secure/confirmnewsletter.aspx"
#: Pages whose form has no form token: the mailed token is the secret.
MAILED_TOKEN_PAGES = (SET_PASSWORD_PAGE, NEWSLETTER_PAGE)
#: Every page route: GET shows a page, POST is one of its forms.
PAGE_ROUTES = _rows("web", "page-session", "page-open", "page")
PAGE_POSTS = [r for r in PAGE_ROUTES if r[0] == "POST"]
FOREIGN_SITE = "https://evil.example"


def _browser(http: httpx.AsyncClient, session: str | None = None) -> httpx.AsyncClient:
    """A browser with its own cookie jar; ``session``: a session cookie it sends on every path."""
    browser = httpx.AsyncClient(transport=http._transport, base_url=str(http.base_url))
    if session is not None:
        browser.cookies.set("boxoffice_session", session)
    return browser


def _session_of(browser: httpx.AsyncClient) -> str:
    return next(c.value or "" for c in browser.cookies.jar if c.name == "boxoffice_session")


async def _form_token(browser: httpx.AsyncClient, tenant: str) -> str:
    """The browser's form token for a tenant's pages (one per browser and tenant)."""
    response = await browser.get(f"/{tenant}/website/secure/loginlogout.aspx")
    match = re.search(r'name="_csrf" value="([0-9a-f]+)"', response.text)
    assert response.status_code == 200 and match, response.text[:500]
    return match.group(1)


async def _logged_in(browser: httpx.AsyncClient, tenant: str) -> bool:
    response = await browser.get(f"/{tenant}/api/v3/customer", headers={"Origin": ORIGIN})
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


@dataclass
class Pages:
    """The victim tenant with a logged-in victim and neighbour, and another tenant with a
    logged-in customer of its own (``foreign``)."""

    tenant: str
    victim: httpx.AsyncClient
    neighbour: httpx.AsyncClient
    owner: Signer
    victim_id: str
    #: The victim's address, as MyAccount names it (``AddressId``).
    address_id: str
    #: The victim tenant's tag and statement ids, as its pages name them.
    tag_id: str
    statement_id: str
    other: str
    foreign: httpx.AsyncClient

    async def record(self) -> list[Any]:
        """The victim's whole record through the API; the victim is still logged in."""
        me = await self.victim.get(
            f"/{self.tenant}/api/v3/customer?$expand=addresses", headers={"Origin": ORIGIN}
        )
        assert me.status_code == 200, me.text
        agreed = await self.victim.get(
            f"/{self.tenant}/api/v3/customer/agreed-statements", headers={"Origin": ORIGIN}
        )
        tags = await self.owner.get(f"customers/{self.victim_id}/tags")
        assert agreed.status_code == tags.status_code == 200, (agreed.text, tags.text)
        return [me.json(), agreed.json(), tags.json()]

    def secrets(self) -> tuple[str, ...]:
        """What no other caller may see of the victim."""
        return ("victim", self.victim_id, f'data-address-id="{self.address_id}"')


def _shows_nothing_of(pages: Pages, response: httpx.Response, posted: dict[str, str]) -> None:
    """Nothing of the victim in the answer, except the victim's address the caller posted."""
    text = response.text + response.headers.get("location", "")
    for value in posted.values():
        if "victim" in value:
            text = text.replace(value, "")
    for secret in pages.secrets():
        found = secret in (text.lower() if secret == "victim" else text)
        assert not found, (secret, response.text[:2000])


@pytest.fixture
async def pages(
    web_matrix: tuple[str, dict[str, str], httpx.AsyncClient, httpx.AsyncClient],
    http: httpx.AsyncClient,
    core: Core,
) -> Pages:
    tenant, _, victim, neighbour = web_matrix
    # Catalogue ids count per tenant: one tag and one statement more than the other tenant has.
    extra = {
        "tag_groups": [{"name": "Interests", "web_visible": True, "tags": ["Opera"]}],
        "statements": [{"text": "Members' news"}],
    }
    await catalogue_service.load_catalogue(core, tenant, extra)
    key = await tenant_service.create_api_user(core, tenant, "pages-user")
    account = (await victim.get(f"/{tenant}/website/secure/myaccount.aspx")).text
    signup = (await victim.get(f"/{tenant}/website/secure/signup.aspx")).text
    address = re.search(r'data-address-id="(\d+)"', account)
    tag = max(re.findall(r'id="bo-tag-(\d+)"', signup), key=int)
    statement = max(re.findall(r'id="bo-statement-(\d+)"', signup), key=int)
    assert address, account
    other, _ = await make_tenant(core)
    foreign = await _web_customer(http, other, "foreign@example.org")
    elsewhere = (await foreign.get(f"/{other}/website/secure/signup.aspx")).text
    assert f'id="bo-tag-{tag}"' not in elsewhere
    assert f'id="bo-statement-{statement}"' not in elsewhere
    me = await victim.get(f"/{tenant}/api/v3/customer", headers={"Origin": ORIGIN})
    return Pages(
        tenant=tenant,
        victim=victim,
        neighbour=neighbour,
        owner=Signer(http, tenant, "pages-user", key),
        victim_id=me.json()["id"],
        address_id=address.group(1),
        tag_id=tag,
        statement_id=statement,
        other=other,
        foreign=foreign,
    )


def _attacks(template: str, pages: Pages) -> list[tuple[dict[str, str], set[int], set[int]]]:
    """The forms each page is posted in the checks below, naming the victim where a form can:
    (form, answers when logged out, answers for another customer of the same tenant)."""
    if template == ACCOUNT_PAGE:
        address = pages.address_id
        return [
            ({"action": "address-save", "AddressId": address, "Line1": "moved"}, {303}, {404}),
            ({"action": "address-delete", "AddressId": address}, {303}, {404}),
            (
                {
                    "action": "details",
                    "FirstName": "Attacker",
                    "LastName": "Here",
                    "Email": "attacker@example.org",
                },
                {303},
                {303},
            ),
            (
                {"action": "preferences", "Tag": pages.tag_id, "Statement": pages.statement_id},
                {303},
                {303},
            ),
            ({"action": "address-add", "Line1": "attacker was here"}, {303}, {303}),
        ]
    if template == LOGIN_PAGE:
        return [
            ({"Email": "victim@example.org", "Password": "not the password"}, {400}, {400}),
            ({"action": "magic-login", "MagicToken": "A" * 43}, {400}, {400}),
            ({"action": "logout"}, {303}, {303}),
        ]
    if template == SIGNUP_PAGE:
        secret = "Attacker password 1"
        form = {
            "FirstName": "Attacker",
            "LastName": "Here",
            "Email": "victim@example.org",
            "Password": secret,
            "ConfirmPassword": secret,
        }
        return [(form, {400}, {400})]
    if template == FORGOT_PAGE:  # the same answer for every address; resets are rate-limited
        return [({"Email": "victim@example.org"}, {303, 429}, {303, 429})]
    if template == NEWSLETTER_PAGE:  # the mailed token is the credential: a made-up one
        return [({"token": "A" * 43}, {400}, {400})]
    assert template == SET_PASSWORD_PAGE  # the mailed token is the credential: a made-up one
    secret = "Attacker password 1"
    return [({"token": "A" * 43, "password": secret, "confirm": secret}, {400}, {400})]


@pytest.mark.parametrize(("method", "template"), PAGE_ROUTES)
async def test_web_pages_without_a_session_or_with_a_forged_or_foreign_one(
    pages: Pages, http: httpx.AsyncClient, method: str, template: str
) -> None:
    """No session cookie, a made-up one, and a real one of another tenant (sent on the victim's
    path): logged out. MyAccount sends them to the login page, the other pages show nobody
    logged in, and their forms, with a valid form token, change nothing of the victim's."""
    url = template.replace("{client}", pages.tenant)
    foreign_session = _session_of(pages.foreign)
    callers = {
        "none": _browser(http),
        "forged": _browser(http, "A" * 43),
        "foreign": _browser(http, foreign_session),
    }
    before = await pages.record()
    for name, browser in callers.items():
        if method == "GET":
            response = await browser.get(url)
            _shows_nothing_of(pages, response, {})
            if template == ACCOUNT_PAGE:
                assert response.status_code == 303, (name, response.text)
                location = response.headers["location"]
                assert location == (
                    f"/{pages.tenant}/website/secure/LoginLogout.aspx?ReturnTo=MyAccount.aspx"
                )
            else:
                assert response.status_code == 200, (name, response.text)
                assert "NotLoggedIn" in response.text and "You are logged in" not in response.text
                assert "foreign@example.org" not in response.text
            continue
        token = await _form_token(browser, pages.tenant)
        for form, logged_out, _ in _attacks(template, pages):
            data = form if template in MAILED_TOKEN_PAGES else {**form, "_csrf": token}
            response = await browser.post(url, data=data)
            assert response.status_code in logged_out, (name, form, response.text)
            _shows_nothing_of(pages, response, form)
            if template == ACCOUNT_PAGE:
                assert "ReturnTo=MyAccount.aspx" in response.headers["location"]
            assert not await _logged_in(browser, pages.tenant), (name, form)
    assert await pages.record() == before
    # Logging out on the victim's tenant with the other tenant's session did not end it there.
    assert await _logged_in(pages.foreign, pages.other)


@pytest.mark.parametrize(("method", "template"), _rows("web", "page-session", "page-open"))
async def test_web_pages_a_session_of_another_customer(
    pages: Pages, method: str, template: str
) -> None:
    """The neighbour, logged in on the victim's tenant: sees only its own data; forms naming
    the victim's address are "not found", and nothing of the victim's changes."""
    url = template.replace("{client}", pages.tenant)
    neighbour = pages.neighbour
    before = await pages.record()
    if method == "GET":
        for query in ("", f"?AddressId={pages.address_id}&Screen=addresses&id={pages.victim_id}"):
            response = await neighbour.get(url + query)
            assert response.status_code == 200, response.text
            _shows_nothing_of(pages, response, {})
            assert "neighbour@example.org" in response.text  # its own, in the page or basket
    else:
        token = await _form_token(neighbour, pages.tenant)
        for form, _, expected in _attacks(template, pages):
            response = await neighbour.post(url, data={**form, "_csrf": token})
            assert response.status_code in expected, (form, response.text)
            _shows_nothing_of(pages, response, form)
        if template == ACCOUNT_PAGE:  # the forms did work, on the neighbour's own record
            me = await neighbour.get(
                f"/{pages.tenant}/api/v3/customer?$expand=addresses", headers={"Origin": ORIGIN}
            )
            assert me.json()["firstName"] == "Attacker", me.text
            lines = [a["line1"] for a in me.json()["addresses"]]
            assert "attacker was here" in lines and "moved" not in lines, lines
        if template == LOGIN_PAGE:  # the neighbour logged itself out, not the victim
            assert not await _logged_in(neighbour, pages.tenant)
    assert await pages.record() == before


@pytest.mark.parametrize(("method", "template"), _rows("web", "page-session", "page-open"))
async def test_web_pages_another_tenants_ids(
    pages: Pages, settings: Settings, method: str, template: str
) -> None:
    """The other tenant's customer, logged in on its own tenant's pages, naming the victim
    tenant's ids (an address, tags, statements, a mailed login token, the victim's email):
    "not found" or refused there, and nothing of the victim's changes."""
    if method == "GET":  # a page names no ids; GET with the victim's ids in the query
        url = template.replace("{client}", pages.other)
        response = await pages.foreign.get(
            url, params={"AddressId": pages.address_id, "id": pages.victim_id}
        )
        assert response.status_code == 200, response.text
        _shows_nothing_of(pages, response, {})
        return
    url = template.replace("{client}", pages.other)
    foreign = pages.foreign
    token = await _form_token(foreign, pages.other)
    before = await pages.record()
    own_before = (
        await foreign.get(
            f"/{pages.other}/api/v3/customer/agreed-statements", headers={"Origin": ORIGIN}
        )
    ).json()
    mails = len(outbox(settings))
    if template == ACCOUNT_PAGE:
        for form, expected in (
            ({"action": "address-save", "AddressId": pages.address_id, "Line1": "moved"}, 404),
            ({"action": "address-delete", "AddressId": pages.address_id}, 404),
            ({"action": "preferences", "Statement": pages.statement_id}, 400),
        ):
            response = await foreign.post(url, data={**form, "_csrf": token})
            assert response.status_code == expected, (form, response.text)
            _shows_nothing_of(pages, response, form)
        # The victim tenant's statement id means nothing here: the caller agreed to nothing.
        own_after = await foreign.get(
            f"/{pages.other}/api/v3/customer/agreed-statements", headers={"Origin": ORIGIN}
        )
        assert own_after.json() == own_before
    elif template == LOGIN_PAGE:
        # A login link mailed to the victim, used on the other tenant's page: refused.
        own = f"/{pages.tenant}/website/secure/loginlogout.aspx"
        sent = await pages.victim.post(
            own,
            data={
                "action": "magic",
                "MagicEmail": "victim@example.org",
                "_csrf": await _form_token(pages.victim, pages.tenant),
            },
        )
        assert sent.status_code == 303, sent.text
        assert len(outbox(settings)) == mails + 1
        magic = re.search(r"MagicToken=([A-Za-z0-9_\-]+)", mailed_link(outbox(settings)[-1]))
        assert magic, mailed_link(outbox(settings)[-1])
        anonymous = _browser(foreign)
        form = {"action": "magic-login", "MagicToken": magic.group(1)}
        response = await anonymous.post(
            url, data={**form, "_csrf": await _form_token(anonymous, pages.other)}
        )
        assert response.status_code == 400, response.text
        assert not await _logged_in(anonymous, pages.other)
        _shows_nothing_of(pages, response, form)
    elif template == SIGNUP_PAGE:
        secret = "Attacker password 1"
        for field, value in (("Tag", pages.tag_id), ("Statement", pages.statement_id)):
            form = {
                "FirstName": "New",
                "LastName": "Customer",
                "Email": "new@example.org",
                "Password": secret,
                "ConfirmPassword": secret,
                field: value,
            }
            response = await _browser(foreign).post(url, data={**form, "_csrf": token})
            assert response.status_code in (400, 403), response.text
            _shows_nothing_of(pages, response, form)
        created = await foreign.post(
            f"/{pages.other}/api/v3/customer/authenticate",
            json={"email": "new@example.org", "password": secret},
            headers={"Origin": ORIGIN},
        )
        assert created.status_code == 404, created.text  # nobody was signed up
    else:  # ForgotPassword: the victim's address on the other tenant is nobody's there
        form = {"Email": "victim@example.org"}
        response = await foreign.post(url, data={**form, "_csrf": token})
        assert response.status_code == 303, response.text
        assert len(outbox(settings)) == mails
    assert await pages.record() == before


@pytest.mark.parametrize(("method", "template"), PAGE_POSTS)
async def test_web_page_forms_without_their_token_or_from_another_site(
    pages: Pages, http: httpx.AsyncClient, settings: Settings, method: str, template: str
) -> None:
    """The victim's own browser, made to post by another site: without the form token, with a
    made-up one, with the token of another tenant's pages, or with the right token but a
    foreign ``Origin``: 403, and nothing changes. The same form, sent properly, works."""
    url = template.replace("{client}", pages.tenant)
    victim = pages.victim
    token = await _form_token(victim, pages.tenant)
    other_token = await _form_token(victim, pages.other)
    secret = "A new password 1"
    if template == ACCOUNT_PAGE:
        form = {"action": "details", "FirstName": "Forged", "LastName": "X", "Email": "x@x.org"}
        worked = 303
    elif template == LOGIN_PAGE:
        form, worked = {"action": "logout"}, 303
    elif template == SIGNUP_PAGE:
        form = {
            "FirstName": "Csrf",
            "LastName": "X",
            "Email": "csrf@example.org",
            "Password": secret,
            "ConfirmPassword": secret,
        }
        worked = 303
    elif template == FORGOT_PAGE:
        form, worked = {"Email": "victim@example.org"}, 303
    elif template == NEWSLETTER_PAGE:
        email = "victim@example.org"
        form = {"token": await _newsletter_token(http, settings, pages.tenant, email)}
        worked = 200
    else:
        await victim.post(
            f"/{pages.tenant}/api/v3/customer/forgot-password",
            json={"emailAddress": "victim@example.org"},
            headers={"Origin": ORIGIN},
        )
        form = {"token": token_of(mailed_link(outbox(settings)[-1]))}
        form |= {"password": secret, "confirm": secret}
        worked = 200
    mails = len(outbox(settings))
    before = await pages.record()
    attempts: list[tuple[dict[str, str], dict[str, str]]] = [
        (form, {"Origin": FOREIGN_SITE}),
        (form, {"Origin": FOREIGN_SITE, "Referer": f"{FOREIGN_SITE}/x"}),
        (form, {"Sec-Fetch-Site": "cross-site"}),
    ]
    if template not in MAILED_TOKEN_PAGES:  # no form token: the mailed token is the secret
        attempts += [
            (form, {}),
            ({**form, "_csrf": "0" * 64}, {}),
            ({**form, "_csrf": other_token}, {}),
            ({**form, "_csrf": token}, {"Origin": FOREIGN_SITE}),
            ({**form, "_csrf": token}, {"Origin": "null", "Referer": f"{FOREIGN_SITE}/x"}),
            ({**form, "_csrf": token}, {"Sec-Fetch-Site": "cross-site"}),
        ]
    for data, headers in attempts:
        response = await victim.post(url, data=data, headers=headers)
        assert response.status_code == 403, (data, headers, response.text)
        assert "location" not in response.headers
    assert await pages.record() == before
    assert len(outbox(settings)) == mails
    login = await http.post(
        f"/{pages.tenant}/api/v3/customer/authenticate",
        json={"email": form.get("Email", "victim@example.org"), "password": secret},
        headers={"Origin": ORIGIN},
    )
    assert login.status_code == 404, login.text  # no account, no new password
    # Sent properly, the same form does its work.
    data = form if template in MAILED_TOKEN_PAGES else {**form, "_csrf": token}
    response = await victim.post(url, data=data)
    assert response.status_code == worked, response.text
    if template == FORGOT_PAGE:
        assert len(outbox(settings)) == mails + 1


@pytest.mark.parametrize(("method", "template"), _rows("web", "static"))
async def test_web_static_routes_hold_no_tenant_data(
    pages: Pages, http: httpx.AsyncClient, method: str, template: str
) -> None:
    """Scripts and web components: the same bytes for every caller and tenant, no cookies, no
    tenant data; scripts of an unknown tenant or unknown names are "not found"."""
    if method == "MOUNT":
        names = sorted(p.name for p in (STATIC / "webcomponents").iterdir())
        paths = {name: [f"{template}/{name}"] for name in names}
        missing = [f"{template}/nope.js", f"{template}/../app.py", f"{template}/"]
    else:
        paths = {
            name: [template.format(client=t, name=name) for t in (pages.tenant, pages.other)]
            for name in SCRIPTS
        }
        missing = [
            template.format(client="no-such-tenant", name="integrate.js"),
            template.format(client=pages.tenant, name="nope.js"),
            template.format(client=pages.tenant, name="..%2Fapp.py"),
        ]
    assert paths
    verb = "GET" if method == "MOUNT" else method
    for name, urls in paths.items():
        bodies, tags = set(), set()
        for url in urls:
            for browser in (_browser(http), pages.victim, pages.neighbour):
                response = await browser.request(verb, url)
                assert response.status_code == 200, (url, response.text[:300])
                assert "set-cookie" not in response.headers, url
                assert response.headers["content-type"].startswith("text/javascript")
                bodies.add(response.content)
                tags.add(response.headers["etag"])
                for secret in (pages.tenant, pages.other, *pages.secrets()):
                    assert secret not in response.text, (url, secret)
                assert "@example.org" not in response.text
                if verb == "HEAD":
                    assert response.content == b""
        assert len(bodies) == 1 and len(tags) == 1, name
    for url in missing:
        response = await http.request(verb, url)
        assert response.status_code == 404, (url, response.status_code, response.text[:300])


# --- operator endpoints: no tenant data -------------------------------------------------------


@pytest.mark.parametrize(("method", "template"), _rows("operator"))
async def test_operator_endpoints_hold_no_tenant_data(
    matrix: tuple[str, dict[str, str], Signer, Signer],
    http: httpx.AsyncClient,
    method: str,
    template: str,
) -> None:
    victim, ids, _, _ = matrix
    path = template.replace("{dialect}", "spektrix")
    if method == "MOUNT":
        path += "/swagger-ui.css"
        method = "GET"
    response = await http.request(method, path)
    assert response.status_code == 200, response.text[:300]
    for secret in (victim, ids["id"], "victim@example.org"):
        assert secret not in response.text
