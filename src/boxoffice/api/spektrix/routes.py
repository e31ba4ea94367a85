"""Thin routes: parse -> mapper -> service -> mapper -> response."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from boxoffice.api.common.responses import JSON
from boxoffice.api.common.state import AppState, CoreDep, StateDep
from boxoffice.api.spektrix import basket_routes
from boxoffice.api.spektrix import mappers as m
from boxoffice.api.spektrix import schemas as s
from boxoffice.api.spektrix.auth import (
    AnyPrincipal,
    OwnerPrincipal,
    TenantDep,
    WebCustomer,
    clear_session_cookie,
    client_info,
    session_token,
    set_session_cookie,
    web_customer,
)
from boxoffice.domain.errors import InvalidInput, NotFound
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import InstanceView, OrderView, TenantView
from boxoffice.services import (
    accounts,
    bots,
    inventory,
    orders,
    pricing,
    products,
    programme,
    seating,
)
from boxoffice.services import catalogue as catalogue_service
from boxoffice.services import customers as svc
from boxoffice.services.core import Core

router = APIRouter(prefix="/{client}/api/v3")

#: Models documented in the OpenAPI components (request bodies are read by hand: the vendor's
#: binder is case-insensitive, which a declared body model would not be).
DOCUMENTED_MODELS: list[type[BaseModel]] = [
    s.NewCustomer,
    s.CustomerPatch,
    s.NewCustomerAddress,
    s.AddressPatch,
    s.IdRef,
]

Expand = Annotated[
    str | None,
    Query(
        alias="$expand",
        description="Comma-separated collections: tags, allTags, tagsByGroup, allTagsByGroup, "
        "agreedStatements, allStatements, addresses, subscriptions",
    ),
]
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": s.Error, "description": "Invalid input"},
    401: {"model": s.Error, "description": "Missing or invalid signature"},
    404: {"model": s.Error, "description": "Not found"},
}
#: Sign-up, login and mailing routes are rate limited (per IP and per account).
_LIMITED: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    429: {"model": s.Error, "description": "Too many attempts; try again after Retry-After"},
}


def _body(model: type[BaseModel], *, array: bool = False) -> dict[str, Any]:
    ref: dict[str, Any] = {"$ref": f"#/components/schemas/{model.__name__}"}
    schema = {"type": "array", "items": ref} if array else ref
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _today() -> Any:
    return datetime.now(UTC).date()


async def _customer_response(
    core: Core, principal: Principal, view: Any, expansions: frozenset[str], status: int = 200
) -> JSON:
    catalogue = None
    if m.needs_catalogue(expansions):
        catalogue = await catalogue_service.get_catalogue(core, principal)
    bought: tuple[OrderView, ...] = ()
    if "orders" in expansions:  # one more read, only when asked for
        bought = await orders.list_customer_orders(core, principal, view.id)
    body = m.customer(
        view, expansions, catalogue, today=_today(), orders=bought, owner=principal.full_access
    )
    return JSON(body, status_code=status)


# --- customers (System Owner) ---------------------------------------------------------------


@router.post(
    "/customers",
    summary="Create a customer",
    response_model=s.Customer,
    responses={
        **_ERRORS,
        # Either an invalid field (``message``, ``modelState``) or a duplicate email.
        400: {"model": s.Error | s.DuplicateEntry, "description": "Invalid or Duplicate Entry"},
    },
    openapi_extra=_body(s.NewCustomer),
)
async def create_customer(
    request: Request, principal: OwnerPrincipal, core: CoreDep, expand: Expand = None
) -> Response:
    cmd = m.new_customer(s.single_object(s.read_json(await request.body())))
    expansions = m.expand(expand)
    view = await svc.create_customer(core, principal, cmd, parts=m.parts_for(expansions))
    return await _customer_response(core, principal, view, expansions)


@router.get(
    "/customers",
    summary="Find a customer by email (one object, or 404)",
    response_model=s.Customer,
    responses=_ERRORS,
)
async def find_customer(
    principal: OwnerPrincipal, core: CoreDep, email: str | None = None, expand: Expand = None
) -> Response:
    if not email:
        raise InvalidInput("email", "required")
    expansions = m.expand(expand)
    view = await svc.find_customer_by_email(core, principal, email, m.parts_for(expansions))
    return await _customer_response(core, principal, view, expansions)


@router.delete(
    "/customers/tags/{tag_id}",
    status_code=204,
    summary="Remove a tag (?id=customerId form)",
    responses=_ERRORS,
)
async def remove_tag_by_query(
    tag_id: str, principal: OwnerPrincipal, core: CoreDep, id: Annotated[str, Query()]
) -> Response:
    await svc.remove_tag(core, principal, m.customer_id(id), m.resource_id(m.TAG, tag_id, "Tag"))
    return Response(status_code=204)


@router.get(
    "/customers/{id}", summary="A customer by id", response_model=s.Customer, responses=_ERRORS
)
async def get_customer(
    id: str, principal: OwnerPrincipal, core: CoreDep, expand: Expand = None
) -> Response:
    expansions = m.expand(expand)
    view = await svc.get_customer(core, principal, m.customer_id(id), m.parts_for(expansions))
    return await _customer_response(core, principal, view, expansions)


@router.patch(
    "/customers/{id}",
    summary="Update a customer",
    response_model=s.Customer,
    responses=_ERRORS,
    openapi_extra=_body(s.CustomerPatch),
)
async def update_customer(
    id: str, request: Request, principal: OwnerPrincipal, core: CoreDep, expand: Expand = None
) -> Response:
    customer_id = m.customer_id(id)
    patch = m.customer_patch(s.single_object(s.read_json(await request.body())))
    expansions = m.expand(expand)
    view = await svc.update_customer(
        core, principal, customer_id, patch, parts=m.parts_for(expansions)
    )
    return await _customer_response(core, principal, view, expansions)


@router.get(
    "/customers/{id}/tags",
    summary="A customer's tags",
    response_model=list[s.Tag],
    responses=_ERRORS,
)
async def get_customer_tags(id: str, principal: OwnerPrincipal, core: CoreDep) -> Response:
    tags = await svc.list_customer_tags(core, principal, m.customer_id(id))
    return JSON([m.tag(t) for t in tags])


@router.post(
    "/customers/{id}/tags",
    summary="Add a tag",
    response_model=s.Tag,
    responses=_ERRORS,
    openapi_extra=_body(s.IdRef),
)
async def add_customer_tag(
    id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    customer_id = m.customer_id(id)
    ids = s.parse_ids_body(await request.body(), "id")
    if len(ids) != 1:
        raise InvalidInput("id", "one tag per request")
    tag = await svc.add_tag(core, principal, customer_id, m.resource_id(m.TAG, ids[0], "Tag"))
    return JSON(m.tag(tag))


@router.delete(
    "/customers/{id}/tags/{tag_id}", status_code=204, summary="Remove a tag", responses=_ERRORS
)
async def remove_customer_tag(
    id: str, tag_id: str, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    await svc.remove_tag(core, principal, m.customer_id(id), m.resource_id(m.TAG, tag_id, "Tag"))
    return Response(status_code=204)


@router.get(
    "/customers/{id}/agreed-statements",
    summary="Statements the customer agreed to",
    response_model=list[s.DataProtectionStatement],
    responses=_ERRORS,
)
async def get_agreed_statements(id: str, principal: OwnerPrincipal, core: CoreDep) -> Response:
    consents = await svc.list_agreed_statements(core, principal, m.customer_id(id))
    return JSON([m.consent(cv) for cv in consents])


async def _agree(
    id: str, request: Request, principal: Principal, core: Core, *, replace: bool
) -> Response:
    customer_id = m.customer_id(id)
    codes = s.parse_ids_body(await request.body(), "agreedStatements")
    ids = m.body_ids_or_missing(m.STATEMENT, codes, "Statement")
    consents = await svc.agree_statements(core, principal, customer_id, ids, replace=replace)
    return JSON([m.consent(cv) for cv in consents])


@router.post(
    "/customers/{id}/agreed-statements",
    summary="Agree to statements (adds; idempotent)",
    response_model=list[s.DataProtectionStatement],
    responses=_ERRORS,
    openapi_extra=_body(s.IdRef, array=True),
)
async def add_agreed_statements(
    id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    return await _agree(id, request, principal, core, replace=False)


@router.put(
    "/customers/{id}/agreed-statements",
    summary="Replace the agreed statements",
    response_model=list[s.DataProtectionStatement],
    responses=_ERRORS,
    openapi_extra=_body(s.IdRef, array=True),
)
async def replace_agreed_statements(
    id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    return await _agree(id, request, principal, core, replace=True)


@router.delete(
    "/customers/{id}/agreed-statements/{statement_id}",
    status_code=204,
    summary="Withdraw agreement to a statement",
    responses=_ERRORS,
)
async def withdraw_agreed_statement(
    id: str, statement_id: str, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    customer_id = m.customer_id(id)
    key = m.resource_id(m.STATEMENT, statement_id, "Statement")
    await svc.withdraw_statement(core, principal, customer_id, key)
    return Response(status_code=204)


@router.get(
    "/customers/{id}/addresses",
    summary="A customer's addresses",
    response_model=list[s.CustomerAddress],
    responses=_ERRORS,
)
async def get_addresses(id: str, principal: OwnerPrincipal, core: CoreDep) -> Response:
    return JSON(
        [m.address(a) for a in await svc.list_addresses(core, principal, m.customer_id(id))]
    )


@router.post(
    "/customers/{id}/addresses",
    summary="Add an address",
    response_model=s.CustomerAddress,
    responses=_ERRORS,
    openapi_extra=_body(s.NewCustomerAddress),
)
async def add_address(
    id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    customer_id = m.customer_id(id)
    address = m.new_address(s.fold_object(s.single_object(s.read_json(await request.body()))))
    return JSON(m.address(await svc.add_address(core, principal, customer_id, address)))


@router.patch(
    "/customers/{id}/addresses/{address_id}",
    summary="Change an address",
    response_model=s.CustomerAddress,
    responses=_ERRORS,
    openapi_extra=_body(s.AddressPatch),
)
async def update_address(
    id: str, address_id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    customer_id = m.customer_id(id)
    key = m.resource_id(m.ADDRESS, address_id, "Address")
    patch = m.address_patch(s.fold_object(s.single_object(s.read_json(await request.body()))))
    return JSON(m.address(await svc.update_address(core, principal, customer_id, key, patch)))


@router.delete(
    "/customers/{id}/addresses/{address_id}",
    status_code=204,
    summary="Remove an address",
    responses=_ERRORS,
)
async def delete_address(
    id: str, address_id: str, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    customer_id = m.customer_id(id)
    await svc.delete_address(
        core, principal, customer_id, m.resource_id(m.ADDRESS, address_id, "Address")
    )
    return Response(status_code=204)


@router.get(
    "/customers/{id}/orders",
    summary="A customer's orders, newest first",
    response_model=list[s.Order],
    responses=_ERRORS,
)
async def get_customer_orders(
    id: str,
    principal: OwnerPrincipal,
    core: CoreDep,
    expand: Annotated[str | None, Query(alias="$expand", description="tickets/event")] = None,
) -> Response:
    return await basket_routes.customer_orders(core, principal, m.customer_id(id), expand)


# --- catalogue (web and System Owner mode) ----------------------------------------------------


@router.get(
    "/tag-groups",
    summary="Tag groups (web mode: web-visible ones only)",
    response_model=list[s.TagGroup],
    responses=_ERRORS,
)
async def get_tag_groups(principal: AnyPrincipal, core: CoreDep) -> Response:
    catalogue = await catalogue_service.get_catalogue(core, principal)
    return JSON([m.tag_group(g) for g in catalogue.tag_groups])


@router.get(
    "/tags",
    summary="Tags (web mode: web-visible ones only)",
    response_model=list[s.Tag],
    responses=_ERRORS,
)
async def get_tags(principal: AnyPrincipal, core: CoreDep) -> Response:
    catalogue = await catalogue_service.get_catalogue(core, principal)
    return JSON([m.tag(t) for g in catalogue.tag_groups for t in g.tags])


@router.get(
    "/statements",
    summary="Data-protection statements (contact preferences)",
    response_model=list[s.Statement],
    responses=_ERRORS,
)
async def get_statements(principal: AnyPrincipal, core: CoreDep) -> Response:
    catalogue = await catalogue_service.get_catalogue(core, principal)
    return JSON([m.statement(st) for st in catalogue.statements])


@router.get(
    "/memberships",
    summary="Memberships, with their price and renewal price (null: not for sale)",
    response_model=list[s.Membership],
    responses=_ERRORS,
)
async def get_memberships(principal: AnyPrincipal, core: CoreDep) -> Response:
    memberships = await products.list_memberships_for_sale(core, principal)
    return JSON([m.membership_for_sale(ms) for ms in memberships])


@router.get(
    "/memberships/{membership_id}",
    summary="A membership",
    response_model=s.Membership,
    responses=_ERRORS,
)
async def get_membership(membership_id: str, principal: AnyPrincipal, core: CoreDep) -> Response:
    key = m.catalogue_id(m.MEMBERSHIP, membership_id, "Membership")
    return JSON(m.membership_for_sale(await products.get_membership_for_sale(core, principal, key)))


# --- what a venue sells (issue 17): web mode sees web-visible instances only ---------------
#
# Known filters are declared (documented, each parsed by a mapper: a bad value is a 400 naming
# it); ``attribute_<Name>`` filters are read from the query string; any other parameter is
# ignored, as the vendor ignores it (``start_from`` on ``instances`` filters nothing).

_ATTRIBUTE_FILTERS = (
    "Also `attribute_<Name>=<value>` filters (one per attribute; the name matched regardless "
    "of case and spaces). Unknown parameters are ignored, as the vendor does."
)


def _query(request: Request) -> list[tuple[str, str]]:
    return request.query_params.multi_items()


def _q(alias: str, description: str) -> Any:
    return Query(alias=alias, description=description)


_DATE = "YYYY-MM-DD (a day in the venue's time zone) or a date and time (2025-10-24T19:30:00)"


_INSTANCE_EXPAND = "event, priceList (comma-separated): the whole Event or PriceList"


async def _instances_out(
    core: Core, principal: Principal, instances: Sequence[InstanceView], expand: str | None
) -> list[dict[str, Any]]:
    """Instances on the wire, with their events and price lists when ``$expand`` names them
    (one statement more for the events; two for the price lists)."""
    names = m.expand_names(expand)
    events = await programme.events_of(core, principal, instances) if "event" in names else {}
    lists = (
        await pricing.price_lists(core, principal, {i.price_list_id for i in instances})
        if "pricelist" in names
        else {}
    )
    return [
        m.instance(i, of_event=events.get(i.event_id), prices=lists.get(i.price_list_id))
        for i in instances
    ]


@router.get(
    "/events",
    summary="Events (web mode: those with a web-visible instance)",
    description="An event is listed when any of its instances is in the window. "
    + _ATTRIBUTE_FILTERS
    + " `instanceattribute_<Name>=<value>` filters on the instances' attributes.",
    response_model=list[s.Event],
    responses=_ERRORS,
)
async def get_events(
    request: Request,
    principal: AnyPrincipal,
    core: CoreDep,
    instance_start_from: Annotated[str | None, _q("instanceStart_from", _DATE)] = None,
    instance_start_to: Annotated[str | None, _q("instanceStart_to", _DATE)] = None,
    on_sale: Annotated[str | None, _q("onSale", "true or false")] = None,
    name: Annotated[str | None, _q("name", "The event's name")] = None,
    expand: Annotated[str | None, _q("$expand", "instances")] = None,
) -> Response:
    query = _query(request)
    wanted = programme.EventQuery(
        instance_start_from=m.filter_date("instanceStart_from", instance_start_from),
        instance_start_to=m.filter_date("instanceStart_to", instance_start_to),
        on_sale=m.filter_bool("onSale", on_sale),
        name=m.filter_text("name", name),
        attributes=tuple(m.attribute_filters(query, "attribute_").items()),
        instance_attributes=tuple(m.attribute_filters(query, "instanceattribute_").items()),
        with_instances="instances" in m.expand_names(expand),
    )
    return JSON(await programme.events(core, principal, wanted, m.events_body))


@router.get(
    "/events/{event_id}",
    summary="An event (its 33-character id, or the short numeric id)",
    response_model=s.Event,
    responses=_ERRORS,
)
async def get_event(
    event_id: str,
    principal: AnyPrincipal,
    core: CoreDep,
    expand: Annotated[str | None, _q("$expand", "instances")] = None,
) -> Response:
    key = m.catalogue_id(m.EVENT, event_id, "Event")
    with_instances = "instances" in m.expand_names(expand)
    view = await programme.get_event(core, principal, key, with_instances=with_instances)
    return JSON(m.event(view))


@router.get(
    "/events/{event_id}/instances",
    summary="An event's instances",
    response_model=list[s.Instance],
    responses=_ERRORS,
)
async def get_event_instances(
    event_id: str,
    principal: AnyPrincipal,
    core: CoreDep,
    start_from: Annotated[str | None, _q("start_from", _DATE + "; inclusive")] = None,
    start_to: Annotated[str | None, _q("start_to", _DATE + "; exclusive")] = None,
    expand: Annotated[str | None, _q("$expand", _INSTANCE_EXPAND)] = None,
) -> Response:
    key = m.catalogue_id(m.EVENT, event_id, "Event")
    window_from = m.filter_date("start_from", start_from)
    window_to = m.filter_date("start_to", start_to)
    # An unknown event (or one web mode may not see) is a 404, not [].
    instances = await programme.list_instances(
        core, principal, event_id=key, start_from=window_from, start_to=window_to
    )
    return JSON(await _instances_out(core, principal, instances, expand))


@router.get(
    "/instances",
    summary="Instances (web mode: web-visible ones)",
    description="`startFrom` inclusive, `startTo` exclusive; `eventName` matches part of the "
    "event's name. "
    + _ATTRIBUTE_FILTERS
    + " `eventattribute_<Name>=<value>` filters on the event's attributes.",
    response_model=list[s.Instance],
    responses=_ERRORS,
)
async def get_instances(
    request: Request,
    principal: AnyPrincipal,
    core: CoreDep,
    start_from: Annotated[str | None, _q("startFrom", _DATE + "; inclusive")] = None,
    start_to: Annotated[str | None, _q("startTo", _DATE + "; exclusive")] = None,
    event_name: Annotated[str | None, _q("eventName", "Part of the event's name")] = None,
    expand: Annotated[str | None, _q("$expand", _INSTANCE_EXPAND)] = None,
) -> Response:
    query = _query(request)
    instances = await programme.list_instances(
        core,
        principal,
        start_from=m.filter_date("startFrom", start_from),
        start_to=m.filter_date("startTo", start_to),
        event_name=m.filter_text("eventName", event_name),
        attributes=m.attribute_filters(query, "attribute_"),
        event_attributes=m.attribute_filters(query, "eventattribute_"),
    )
    return JSON(await _instances_out(core, principal, instances, expand))


@router.get(
    "/instances/{instance_id}",
    summary="An instance (its 33-character id, or the short numeric id)",
    response_model=s.Instance,
    responses=_ERRORS,
)
async def get_instance(
    instance_id: str,
    principal: AnyPrincipal,
    core: CoreDep,
    expand: Annotated[str | None, _q("$expand", _INSTANCE_EXPAND)] = None,
) -> Response:
    key = m.catalogue_id(m.INSTANCE, instance_id, "Instance")
    view = await programme.get_instance(core, principal, key)
    return JSON((await _instances_out(core, principal, (view,), expand))[0])


@router.get(
    "/instances/{instance_id}/price-list",
    summary="An instance's price list (an amount per ticket type and price band)",
    response_model=s.PriceList,
    responses=_ERRORS,
)
async def get_instance_price_list(
    instance_id: str, principal: AnyPrincipal, core: CoreDep
) -> Response:
    key = m.catalogue_id(m.INSTANCE, instance_id, "Instance")
    return JSON(m.price_list(await pricing.instance_price_list(core, principal, key)))


@router.get(
    "/instances/{instance_id}/plan",
    summary="An instance's seating plan, with its areas and seats",
    response_model=s.Plan,
    responses=_ERRORS,
)
async def get_instance_plan(instance_id: str, principal: AnyPrincipal, core: CoreDep) -> Response:
    key = m.catalogue_id(m.INSTANCE, instance_id, "Instance")
    return JSON(m.plan(await seating.instance_plan(core, principal, key)))


_LOCKS = "Include the counts of locked places by lock type (default false)"
_CHILDREN = "Include each child area's status in `areas` (default false)"


async def _status(
    core: Core,
    principal: Principal,
    instance_id: str,
    area_id: str | None,
    include_lock_information: str | None,
    include_child_plans: str | None,
) -> Response:
    key = m.catalogue_id(m.INSTANCE, instance_id, "Instance")
    area = None if area_id is None else m.catalogue_id(m.AREA, area_id, "Area")
    locks = bool(m.filter_bool("includeLockInformation", include_lock_information))
    children = bool(m.filter_bool("includeChildPlans", include_child_plans))
    view = await inventory.instance_status(
        core,
        principal,
        key,
        area_id=area,
        include_lock_information=locks,
        include_child_plans=children,
    )
    owner = principal.full_access
    return JSON(m.status(view, owner=owner, lock_information=locks, child_plans=children))


@router.get(
    "/instances/{instance_id}/status",
    summary="How many places are left (System Owner mode adds sold, locked, reserved...)",
    response_model=s.InstancePlanStatus,
    responses=_ERRORS,
)
async def get_instance_status(
    instance_id: str,
    principal: AnyPrincipal,
    core: CoreDep,
    include_lock_information: Annotated[str | None, _q("includeLockInformation", _LOCKS)] = None,
    include_child_plans: Annotated[str | None, _q("includeChildPlans", _CHILDREN)] = None,
) -> Response:
    return await _status(
        core, principal, instance_id, None, include_lock_information, include_child_plans
    )


@router.get(
    "/instances/{instance_id}/status/areas/{area_id}",
    summary="How many places are left in one area of the instance's plan",
    response_model=s.InstancePlanStatus,
    responses=_ERRORS,
)
async def get_instance_area_status(
    instance_id: str,
    area_id: str,
    principal: AnyPrincipal,
    core: CoreDep,
    include_lock_information: Annotated[str | None, _q("includeLockInformation", _LOCKS)] = None,
    include_child_plans: Annotated[str | None, _q("includeChildPlans", _CHILDREN)] = None,
) -> Response:
    return await _status(
        core, principal, instance_id, area_id, include_lock_information, include_child_plans
    )


@router.get(
    "/plans",
    summary="Every seating plan, with its areas and seats",
    response_model=list[s.Plan],
    responses=_ERRORS,
)
async def get_plans(principal: AnyPrincipal, core: CoreDep) -> Response:
    return JSON([m.plan(p) for p in await seating.list_plans(core, principal)])


@router.get("/plans/{plan_id}", summary="A seating plan", response_model=s.Plan, responses=_ERRORS)
async def get_plan(plan_id: str, principal: AnyPrincipal, core: CoreDep) -> Response:
    key = m.catalogue_id(m.PLAN, plan_id, "Plan")
    return JSON(m.plan(await seating.get_plan(core, principal, key)))


@router.get("/venues", summary="Venues", response_model=list[s.Venue], responses=_ERRORS)
async def get_venues(principal: AnyPrincipal, core: CoreDep) -> Response:
    return JSON([m.venue(v) for v in await seating.list_venues(core, principal)])


@router.get("/venues/{venue_id}", summary="A venue", response_model=s.Venue, responses=_ERRORS)
async def get_venue(venue_id: str, principal: AnyPrincipal, core: CoreDep) -> Response:
    key = m.catalogue_id(m.VENUE, venue_id, "Venue")
    return JSON(m.venue(await seating.get_venue(core, principal, key)))


@router.get(
    "/ticket-types", summary="Ticket types", response_model=list[s.TicketType], responses=_ERRORS
)
async def get_ticket_types(principal: AnyPrincipal, core: CoreDep) -> Response:
    return JSON([m.ticket_type(t) for t in await pricing.list_ticket_types(core, principal)])


@router.get("/bands", summary="Price bands", response_model=list[s.PriceBand], responses=_ERRORS)
async def get_bands(principal: AnyPrincipal, core: CoreDep) -> Response:
    return JSON([m.band(b) for b in await pricing.list_bands(core, principal)])


@router.get("/funds", summary="Funds (donations)", response_model=list[s.Fund], responses=_ERRORS)
async def get_funds(principal: AnyPrincipal, core: CoreDep) -> Response:
    return JSON([m.fund(f) for f in await products.list_funds(core, principal)])


@router.get(
    "/stock-items",
    summary="Stock items (merchandise) with their stock level",
    response_model=list[s.StockItem],
    responses=_ERRORS,
)
async def get_stock_items(principal: AnyPrincipal, core: CoreDep) -> Response:
    return JSON([m.stock_item(i) for i in await products.list_stock_items(core, principal)])


# --- web mode: the logged-in customer -------------------------------------------------------

CAPTCHA_FIELDS = (
    "captchatoken",
    "cf-turnstile-response",
    "h-captcha-response",
    "g-recaptcha-response",
)


async def _read_object(request: Request) -> dict[str, Any]:
    return s.single_object(s.read_json(await request.body()))


async def _form_or_json(request: Request) -> dict[str, Any]:
    """Fields from a JSON body, a form body, or nothing (clients send all three)."""
    body = await request.body()
    if not body.strip():
        return {}
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        from urllib.parse import parse_qsl

        try:
            return {
                k.lower(): v for k, v in parse_qsl(body.decode("utf-8"), keep_blank_values=True)
            }
        except UnicodeDecodeError as exc:
            raise InvalidInput("body", "not valid UTF-8") from exc
    return s.fold_object(s.single_object(s.read_json(body)))


def _text_field(data: dict[str, Any], name: str) -> str:
    value = data.get(name.lower())
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(name, "must be a string")
    return value


async def _session_response(
    request: Request,
    core: Core,
    state: AppState,
    tenant: TenantView,
    customer_id: int,
    token: str,
    expansions: frozenset[str],
    status: int = 200,
) -> Response:
    principal = accounts.customer_principal(tenant.id, customer_id)
    view = await svc.get_customer(core, principal, customer_id, m.parts_for(expansions))
    response = await _customer_response(core, principal, view, expansions, status)
    set_session_cookie(response, request, state, tenant.name, token)
    return response


@router.post(
    "/customer",
    status_code=201,
    summary="Sign up (web mode); logs in when a password is given",
    response_model=s.Customer,
    responses=_LIMITED,
    openapi_extra=_body(s.NewCustomer),
)
async def sign_up(
    request: Request,
    tenant: TenantDep,
    core: CoreDep,
    state: StateDep,
    expand: Expand = None,
    domain: str | None = None,
) -> Response:
    data = await _read_object(request)
    folded = {str(k).lower(): v for k, v in data.items()}
    honeypot = folded.get(bots.honeypot_field(tenant).lower())
    captcha = request.headers.get("x-captcha-token") or next(
        (folded[f] for f in CAPTCHA_FIELDS if isinstance(folded.get(f), str)), None
    )
    cmd = m.new_customer(data)
    expansions = m.expand(expand)
    client = client_info(request, state)
    view, token = await accounts.sign_up(
        core,
        tenant,
        client,
        cmd,
        honeypot=str(honeypot) if honeypot else None,
        captcha_token=captcha,
        parts=m.parts_for(expansions),
    )
    if token is not None:
        return await _session_response(
            request, core, state, tenant, view.id, token, expansions, 201
        )
    principal = Principal(tenant_id=tenant.id, actor="web", full_access=False)
    return await _customer_response(core, principal, view, expansions, 201)


@router.post(
    "/customer/authenticate",
    summary="Log in with email and password",
    response_model=s.Customer,
    responses=_LIMITED,
)
async def authenticate(
    request: Request, tenant: TenantDep, core: CoreDep, state: StateDep, expand: Expand = None
) -> Response:
    data = s.fold_object(await _read_object(request))
    expansions = m.expand(expand)
    customer_id, token = await accounts.authenticate(
        core,
        tenant,
        client_info(request, state),
        _text_field(data, "email"),
        _text_field(data, "password"),
    )
    old = session_token(request)
    if old:
        await core.session_store.delete(tenant.id, old)
    return await _session_response(request, core, state, tenant, customer_id, token, expansions)


@router.get(
    "/customer",
    summary="The logged-in customer (401 when nobody is)",
    response_model=s.Customer,
    responses=_ERRORS,
)
async def get_current_customer(
    request: Request, tenant: TenantDep, core: CoreDep, expand: Expand = None
) -> Response:
    expansions = m.expand(expand)
    parts = m.parts_for(expansions)
    if parts:
        principal = await web_customer(request, tenant, core)
        assert principal.customer_id is not None
        view = await svc.get_customer(core, principal, principal.customer_id, parts)
    else:
        # The session and the customer in one read-only unit of work (decision 0085).
        principal, view = await accounts.session_customer_view(
            core, tenant.id, session_token(request)
        )
    return await _customer_response(core, principal, view, expansions)


@router.patch(
    "/customer",
    summary="Update the logged-in customer",
    response_model=s.Customer,
    responses=_ERRORS,
    openapi_extra=_body(s.CustomerPatch),
)
async def update_current_customer(
    request: Request, principal: WebCustomer, core: CoreDep, expand: Expand = None
) -> Response:
    assert principal.customer_id is not None
    patch = m.customer_patch(await _read_object(request))
    expansions = m.expand(expand)
    view = await svc.update_customer(
        core, principal, principal.customer_id, patch, parts=m.parts_for(expansions)
    )
    return await _customer_response(core, principal, view, expansions)


@router.post("/customer/deauthenticate", status_code=204, summary="Log out")
async def deauthenticate(
    request: Request, tenant: TenantDep, core: CoreDep, state: StateDep
) -> Response:
    token = session_token(request)
    if token:
        await accounts.log_out(core, tenant.id, token)
    response = Response(status_code=204)
    clear_session_cookie(response, request, state, tenant.name)
    return response


@router.post(
    "/customer/forgot-password",
    status_code=204,
    responses=_LIMITED,
    summary="Mail a password-reset link (404 when no account has the address)",
)
async def forgot_password(
    request: Request,
    tenant: TenantDep,
    core: CoreDep,
    state: StateDep,
    email_address: Annotated[str | None, Query(alias="emailAddress")] = None,
) -> Response:
    email = m.email_address(
        email_address or _text_field(await _form_or_json(request), "emailAddress")
    )
    await accounts.request_password_reset(core, tenant, client_info(request, state), email)
    return Response(status_code=204)


@router.post(
    "/customer/change-password", status_code=204, summary="Change the password", responses=_ERRORS
)
async def change_password(
    request: Request, principal: WebCustomer, tenant: TenantDep, core: CoreDep, state: StateDep
) -> Response:
    assert principal.customer_id is not None
    data = s.fold_object(await _read_object(request))
    token = await accounts.change_password(
        core,
        tenant.id,
        principal.customer_id,
        _text_field(data, "oldPassword"),
        _text_field(data, "newPassword"),
    )
    response = Response(status_code=204)
    set_session_cookie(response, request, state, tenant.name, token)
    return response


@router.post(
    "/customer/send-magic-link",
    status_code=204,
    responses=_LIMITED,
    summary="Mail a one-time login link; callbackUrl must contain {token}",
)
async def send_magic_link(
    request: Request, tenant: TenantDep, core: CoreDep, state: StateDep
) -> Response:
    data = await _form_or_json(request)
    callback = _text_field(data, "callbackUrl") or _text_field(data, "callback")
    await accounts.send_magic_link(
        core, tenant, client_info(request, state), _text_field(data, "email"), callback
    )
    return Response(status_code=204)


@router.post(
    "/customer/authenticate-magic-link",
    summary="Log in with a mailed token",
    response_model=s.Customer,
    responses=_ERRORS,
)
async def authenticate_magic_link(
    request: Request, tenant: TenantDep, core: CoreDep, state: StateDep, expand: Expand = None
) -> Response:
    data = await _form_or_json(request)
    expansions = m.expand(expand)
    customer_id, token = await accounts.authenticate_magic_link(
        core, tenant, _text_field(data, "token")
    )
    return await _session_response(request, core, state, tenant, customer_id, token, expansions)


def _me(principal: Principal) -> int:
    assert principal.customer_id is not None
    return principal.customer_id


@router.get(
    "/customer/agreed-statements",
    summary="The customer's agreed statements",
    response_model=list[s.DataProtectionStatement],
    responses=_ERRORS,
)
async def get_my_statements(principal: WebCustomer, core: CoreDep) -> Response:
    return JSON(
        [m.consent(cv) for cv in await svc.list_agreed_statements(core, principal, _me(principal))]
    )


async def _agree_mine(
    request: Request, principal: Principal, core: Core, *, replace: bool
) -> Response:
    codes = s.parse_ids_body(await request.body(), "agreedStatements")
    ids = m.body_ids_or_missing(m.STATEMENT, codes, "Statement")
    consents = await svc.agree_statements(
        core, principal, _me(principal), ids, replace=replace, channel="website"
    )
    return JSON([m.consent(cv) for cv in consents])


@router.post(
    "/customer/agreed-statements",
    summary="Agree to statements",
    response_model=list[s.DataProtectionStatement],
    responses=_ERRORS,
    openapi_extra=_body(s.IdRef, array=True),
)
async def add_my_statements(request: Request, principal: WebCustomer, core: CoreDep) -> Response:
    return await _agree_mine(request, principal, core, replace=False)


@router.put(
    "/customer/agreed-statements",
    summary="Replace the agreed statements",
    response_model=list[s.DataProtectionStatement],
    responses=_ERRORS,
    openapi_extra=_body(s.IdRef, array=True),
)
async def replace_my_statements(
    request: Request, principal: WebCustomer, core: CoreDep
) -> Response:
    return await _agree_mine(request, principal, core, replace=True)


@router.delete(
    "/customer/agreed-statements",
    status_code=204,
    summary="Withdraw every agreement",
    responses=_ERRORS,
)
async def withdraw_my_statements(principal: WebCustomer, core: CoreDep) -> Response:
    await svc.withdraw_all_statements(core, principal, _me(principal), channel="website")
    return Response(status_code=204)


@router.delete(
    "/customer/agreed-statements/{statement_id}",
    status_code=204,
    summary="Withdraw one agreement",
    responses=_ERRORS,
)
async def withdraw_my_statement(
    statement_id: str, principal: WebCustomer, core: CoreDep
) -> Response:
    key = m.resource_id(m.STATEMENT, statement_id, "Statement")
    await svc.withdraw_statement(core, principal, _me(principal), key, channel="website")
    return Response(status_code=204)


@router.get(
    "/customer/addresses",
    summary="The customer's addresses",
    response_model=list[s.CustomerAddress],
    responses=_ERRORS,
)
async def get_my_addresses(principal: WebCustomer, core: CoreDep) -> Response:
    return JSON([m.address(a) for a in await svc.list_addresses(core, principal, _me(principal))])


@router.post(
    "/customer/addresses",
    summary="Add an address",
    response_model=s.CustomerAddress,
    responses=_ERRORS,
    openapi_extra=_body(s.NewCustomerAddress),
)
async def add_my_address(request: Request, principal: WebCustomer, core: CoreDep) -> Response:
    address = m.new_address(s.fold_object(await _read_object(request)))
    return JSON(m.address(await svc.add_address(core, principal, _me(principal), address)))


@router.patch(
    "/customer/addresses/{address_id}",
    summary="Change an address",
    response_model=s.CustomerAddress,
    responses=_ERRORS,
    openapi_extra=_body(s.AddressPatch),
)
async def update_my_address(
    address_id: str, request: Request, principal: WebCustomer, core: CoreDep
) -> Response:
    key = m.resource_id(m.ADDRESS, address_id, "Address")
    patch = m.address_patch(s.fold_object(await _read_object(request)))
    return JSON(m.address(await svc.update_address(core, principal, _me(principal), key, patch)))


@router.delete(
    "/customer/addresses/{address_id}",
    status_code=204,
    summary="Remove an address",
    responses=_ERRORS,
)
async def delete_my_address(address_id: str, principal: WebCustomer, core: CoreDep) -> Response:
    await svc.delete_address(
        core, principal, _me(principal), m.resource_id(m.ADDRESS, address_id, "Address")
    )
    return Response(status_code=204)


@router.get(
    "/customer/orders",
    summary="The logged-in customer's orders, newest first",
    response_model=list[s.Order],
    responses=_ERRORS,
)
async def get_my_orders(
    principal: WebCustomer,
    core: CoreDep,
    expand: Annotated[str | None, Query(alias="$expand", description="tickets/event")] = None,
) -> Response:
    return await basket_routes.customer_orders(core, principal, _me(principal), expand)


@router.get("/countries", summary="Countries", response_model=list[s.Country], responses=_ERRORS)
async def get_countries(principal: AnyPrincipal, core: CoreDep) -> Response:
    return JSON([m.country(c) for c in await catalogue_service.get_countries(core, principal)])


@router.get(
    "/countries/{iso_code}", summary="A country", response_model=s.Country, responses=_ERRORS
)
async def get_country(iso_code: str, principal: AnyPrincipal, core: CoreDep) -> Response:
    for country in await catalogue_service.get_countries(core, principal):
        if country.iso_code == iso_code.upper():
            return JSON(m.country(country))
    raise NotFound("Country", iso_code)
