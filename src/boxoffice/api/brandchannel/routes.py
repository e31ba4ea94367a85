"""Thin routes: parse -> mapper -> service -> mapper -> response.

Action names match without regard to case (``app.py`` rewrites them to the spelling below), and
``{id}`` is digits only, so an action name never reads as an id.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from boxoffice.api.brandchannel import mappers as m
from boxoffice.api.brandchannel import schemas as s
from boxoffice.api.brandchannel.auth import Reader, Writer
from boxoffice.api.common.responses import JSON
from boxoffice.api.common.state import CoreDep
from boxoffice.services import brandchannel as svc

router = APIRouter(prefix="/api/v2")

#: Request bodies documented in the OpenAPI components (read by hand: see ``schemas.py``).
DOCUMENTED_MODELS: list[type[BaseModel]] = [
    s.NewCustomer,
    s.CustomerNameUpdate,
    s.CustomerUpdate,
    s.UpdateCustomer,
    s.CreateCustomerCRUD,
    s.SearchByPrimaryExternalID,
    s.SearchByCustomerChannelValue,
    s.AddChannelOnly,
    s.ChannelDelete,
    s.ExternalEvent,
    s.SyncWithCRM,
]
#: Action path segments, by their lower-case form (``app.py`` canonicalises request paths).
ACTIONS = {
    name.lower(): name
    for name in (
        "customer",
        "SearchByPrimaryExternalID",
        "SearchByCustomerChannelValue",
        "timelineByCustomerExternalID",
        "addChannelOnly",
        "updateCustomer",
        "externalEvent",
        "syncWithCRM",
        "createCustomerCRUD",
        "channel",
        "purgeData",
    )
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": s.Error, "description": "A missing or invalid parameter (named)"},
    401: {"model": s.Error, "description": "No apiKey header, or an unknown key"},
    403: {"model": s.Error, "description": "The key lacks the permission or the brand"},
    404: {"model": s.Error, "description": "Unknown customer, brand or channel"},
}
_CONTENT_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded", "application/json")


def _body(model: type[BaseModel]) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    content = {media: {"schema": schema} for media in _CONTENT_TYPES}
    return {"requestBody": {"required": True, "content": content}}


def _query(*names: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "parameters": [
            {"name": name, "in": "query", "schema": {"type": kind}, "description": text}
            for name, kind, text in names
        ]
    }


_PAGING = (
    ("itemStart", "integer", "0-based offset (also `start`); default 0"),
    ("itemLimit", "integer", "page size, 1 to 100 (also `limit`); default 15"),
)


def _result(message: str, id: int | None = None) -> JSON:
    return JSON(m.result(message, id))


# --- index ------------------------------------------------------------------------------------


@router.get(
    "/customer",
    summary="Returns all the customers (CUSTOMER_READ)",
    response_model=s.CustomerList,
    responses=_ERRORS,
    openapi_extra=_query(
        ("search", "string", "letters, digits and spaces: names, external ids, channels"),
        ("brand_id", "integer", "only this brand's customers (also `brandID`)"),
        *_PAGING,
    ),
)
async def list_customers(request: Request, caller: Reader, core: CoreDep) -> Response:
    form = await s.read_form(request, body=False)
    start, limit = m.paging(form)
    page = await svc.list_customers(
        core, caller, brand_id=m.brand_id(form), search=m.search(form), start=start, limit=limit
    )
    return JSON(m.customer_list(page))


@router.post(
    "/customer",
    summary="Creates a new customer (CUSTOMER_CUD)",
    response_model=s.Result,
    responses={**_ERRORS, 409: {"model": s.Error, "description": "Duplicate primary_id"}},
    openapi_extra=_body(s.NewCustomer),
)
async def create_customer(request: Request, caller: Writer, core: CoreDep) -> Response:
    cmd = m.new_customer(await s.read_form(request), index=True)
    view = await svc.create_customer(core, caller, cmd)
    return _result("Customer created.", view.id)


@router.put(
    "/customer",
    summary="Updates this customer's name, by customerID or brandID + primaryID (CUSTOMER_CUD)",
    response_model=s.Result,
    responses=_ERRORS,
    openapi_extra=_body(s.CustomerNameUpdate),
)
async def update_customer_name(request: Request, caller: Writer, core: CoreDep) -> Response:
    form = await s.read_form(request)
    await svc.update_customer(core, caller, m.customer_ref(form), m.customer_patch(form))
    return _result("Customer updated.")


# --- item -------------------------------------------------------------------------------------


@router.get(
    "/customer/{id:int}",
    summary="A customer by id (CUSTOMER_READ)",
    response_model=s.Customer,
    responses=_ERRORS,
)
async def get_customer(id: int, caller: Reader, core: CoreDep) -> Response:
    return JSON(m.customer(await svc.get_customer(core, caller, m.customer_id(id))))


@router.put(
    "/customer/{id:int}",
    summary="Updates any fields of this customer, custom fields and channels (CUSTOMER_CUD)",
    response_model=s.Result,
    responses=_ERRORS,
    openapi_extra=_body(s.CustomerUpdate),
)
async def update_customer(id: int, request: Request, caller: Writer, core: CoreDep) -> Response:
    form = await s.read_form(request)
    await svc.update_customer(
        core, caller, m.customer_ref(form, m.customer_id(id)), m.customer_patch(form)
    )
    return _result("Customer updated.")


@router.delete(
    "/customer/{id:int}",
    summary="Deletes this customer and everything about it (CUSTOMER_CUD)",
    response_model=s.Result,
    responses=_ERRORS,
)
async def delete_customer(id: int, caller: Writer, core: CoreDep) -> Response:
    await svc.delete_customer(core, caller, m.customer_id(id))
    return _result("Customer deleted.")


@router.delete(
    "/customer/{id:int}/channel",
    summary="Deletes one channel: channel_id, or customerChannelType + customerChannelValue "
    "(CUSTOMER_CUD)",
    response_model=s.Result,
    responses=_ERRORS,
    openapi_extra=_query(
        ("channel_id", "integer", "the `id` in `channels[]`"),
        ("customerChannelType", "string", "or the channel's type..."),
        ("customerChannelValue", "string", "...and value"),
    ),
)
async def delete_channel(id: int, request: Request, caller: Writer, core: CoreDep) -> Response:
    ref = m.channel_ref(await s.read_form(request))
    await svc.delete_channel(core, caller, m.customer_id(id), ref)
    return _result("Channel deleted.")


@router.delete(
    "/customer/{id:int}/purgeData",
    summary="Erases this customer's personal data everywhere, keeping an anonymous tombstone "
    "(CUSTOMER_CUD)",
    response_model=s.Result,
    responses=_ERRORS,
)
async def purge_customer_data(id: int, caller: Writer, core: CoreDep) -> Response:
    await svc.purge_customer(core, caller, m.customer_id(id))
    return _result("Customer data purged.")


# --- actions ----------------------------------------------------------------------------------


@router.post(
    "/customer/SearchByPrimaryExternalID",
    summary="Searches for this customer by primary external ID (CUSTOMER_READ)",
    response_model=s.CustomerList,
    responses=_ERRORS,
    openapi_extra=_body(s.SearchByPrimaryExternalID),
)
async def search_by_primary_external_id(
    request: Request, caller: Reader, core: CoreDep
) -> Response:
    form = await s.read_form(request)
    start, limit = m.paging(form)
    page = await svc.search_by_external_id(
        core,
        caller,
        m.required_text(form, *m.EXTERNAL),
        brand_id=m.brand_id(form),
        start=start,
        limit=limit,
    )
    return JSON(m.customer_list(page))


@router.post(
    "/customer/SearchByCustomerChannelValue",
    summary="Searches for this customer by channel value (CUSTOMER_READ)",
    response_model=s.CustomerList,
    responses=_ERRORS,
    openapi_extra=_body(s.SearchByCustomerChannelValue),
)
async def search_by_customer_channel_value(
    request: Request, caller: Reader, core: CoreDep
) -> Response:
    form = await s.read_form(request)
    start, limit = m.paging(form)
    page = await svc.search_by_channel_value(
        core,
        caller,
        m.required_text(form, *m.CHANNEL_VALUE),
        brand_id=m.brand_id(form),
        start=start,
        limit=limit,
    )
    return JSON(m.customer_list(page))


@router.get(
    "/customer/timelineByCustomerExternalID",
    summary="Returns the timeline of this customer, by external primary ID (CUSTOMER_READ)",
    response_model=s.Timeline,
    responses=_ERRORS,
    openapi_extra=_query(
        ("brand_id", "integer", "the customer's brand"),
        ("external_id", "string", "the external primary ID (or `customer_id`)"),
        ("include_tickets", "string", "present (any value): ticket history too"),
        *_PAGING,
    ),
)
async def timeline_by_customer_external_id(
    request: Request, caller: Reader, core: CoreDep
) -> Response:
    form = await s.read_form(request, body=False)
    start, limit = m.paging(form)
    page = await svc.get_timeline(
        core,
        caller,
        m.customer_ref(form),
        include_tickets=form.get("include_tickets") is not None,
        start=start,
        limit=limit,
    )
    return JSON(m.timeline(page))


@router.post(
    "/customer/addChannelOnly",
    summary="Adds channels to a customer (CUSTOMER_CUD)",
    response_model=s.Result,
    responses=_ERRORS,
    openapi_extra=_body(s.AddChannelOnly),
)
async def add_channel_only(request: Request, caller: Writer, core: CoreDep) -> Response:
    form = await s.read_form(request)
    await svc.add_channels(core, caller, m.customer_ref(form), m.channels(form))
    return _result("Channel added.")


@router.put(
    "/customer/updateCustomer",
    summary="Updates the fields of this customer, by external primary ID (CUSTOMER_CUD)",
    response_model=s.Result,
    responses=_ERRORS,
    openapi_extra=_body(s.UpdateCustomer),
)
async def update_customer_by_external_id(
    request: Request, caller: Writer, core: CoreDep
) -> Response:
    form = await s.read_form(request)
    await svc.update_customer(core, caller, m.customer_ref(form), m.customer_patch(form))
    return _result("Customer updated.")


@router.post(
    "/customer/externalEvent",
    summary="Adds an event (an order, a mailing...) to the customer's timeline (CUSTOMER_CUD)",
    response_model=s.Result,
    responses=_ERRORS,
    openapi_extra=_body(s.ExternalEvent),
)
async def post_external_event(request: Request, caller: Writer, core: CoreDep) -> Response:
    form = await s.read_form(request)
    entry = await svc.add_external_event(core, caller, m.customer_ref(form), m.external_event(form))
    return _result("Event created.", entry.id)


@router.post(
    "/customer/syncWithCRM",
    summary="Synchronises the customer with the brand's CRM lookup URL (CUSTOMER_CUD)",
    response_model=s.Customer,
    responses={
        **_ERRORS,
        502: {"model": s.Error, "description": "The CRM lookup failed"},
    },
    openapi_extra=_body(s.SyncWithCRM),
)
async def sync_with_crm(request: Request, caller: Writer, core: CoreDep) -> Response:
    form = await s.read_form(request)
    view = await svc.sync_with_crm(
        core,
        caller,
        brand_id=m.brand_id(form),
        channel=m.required_text(form, "channel"),
        address=m.required_text(form, "address"),
    )
    return JSON(m.customer(view))


@router.post(
    "/customer/createCustomerCRUD",
    summary="Creates a customer using the CRUD (CUSTOMER_CUD)",
    response_model=s.Result,
    responses={**_ERRORS, 409: {"model": s.Error, "description": "Duplicate primaryID"}},
    openapi_extra=_body(s.CreateCustomerCRUD),
)
async def create_customer_crud(request: Request, caller: Writer, core: CoreDep) -> Response:
    cmd = m.new_customer(await s.read_form(request), index=False)
    view = await svc.create_customer(core, caller, cmd)
    return _result("Customer created.", view.id)
