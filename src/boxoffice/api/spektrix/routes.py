"""Thin routes: parse -> mapper -> service -> mapper -> response."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from boxoffice.api.common.responses import JSON
from boxoffice.api.common.state import CoreDep
from boxoffice.api.spektrix import mappers as m
from boxoffice.api.spektrix import schemas as s
from boxoffice.api.spektrix.auth import AnyPrincipal, OwnerPrincipal
from boxoffice.domain.errors import InvalidInput
from boxoffice.domain.principal import Principal
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
    return JSON(m.customer(view, expansions, catalogue, today=_today()), status_code=status)


# --- customers (System Owner) ---------------------------------------------------------------


@router.post(
    "/customers",
    summary="Create a customer",
    response_model=s.Customer,
    responses={
        **_ERRORS,
        400: {"model": s.DuplicateEntry, "description": "Invalid or Duplicate Entry"},
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
    "/memberships", summary="Memberships", response_model=list[s.Membership], responses=_ERRORS
)
async def get_memberships(principal: AnyPrincipal, core: CoreDep) -> Response:
    catalogue = await catalogue_service.get_catalogue(core, principal)
    return JSON([m.membership(ms) for ms in catalogue.memberships])
