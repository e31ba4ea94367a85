"""Thin routes: parse -> mapper -> service -> mapper -> response.

The router has no prefix: ``app.py`` mounts it under both of the vendor's base paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from boxoffice.api.carecloud import mappers as m
from boxoffice.api.carecloud import schemas as s
from boxoffice.api.carecloud.auth import (
    App,
    AppDep,
    ClientDep,
    CustomerApp,
    InterfaceUser,
    OwnToken,
    PathCustomer,
    TenantDep,
    own_customer,
    token_profile,
)
from boxoffice.api.carecloud.errors import reason_code
from boxoffice.api.common.responses import JSON
from boxoffice.api.common.state import CoreDep
from boxoffice.domain.errors import DomainError, InvalidInput, NotFound
from boxoffice.domain.ids import MAX_INTEGER
from boxoffice.domain.principal import Principal
from boxoffice.domain.rules import password_problem
from boxoffice.domain.views import ProfileView
from boxoffice.services import bots, devices, localised, newsletter, orders, profiles, records
from boxoffice.services import catalogue as catalogue_service
from boxoffice.services.core import Core

#: Query parameters that take several values (``name=a&name=b`` or ``name[]=a&name[]=b``).
ARRAY_PARAMETERS = frozenset({"email_list", "customer_ids", "external_ids", "customer_type_id"})


async def _single_values(request: Request) -> None:
    """Every other query parameter takes one value: a repeated one is ambiguous, so refused.

    ``async`` so that FastAPI calls it on the event loop, not through its thread pool."""
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name in seen and not name.endswith("[]") and name not in ARRAY_PARAMETERS:
            raise InvalidInput(name, "invalid_value_format")
        seen.add(name)


router = APIRouter(dependencies=[Depends(_single_values)])

#: Request bodies documented in the OpenAPI components (bodies are read by hand, so that every
#: problem is reported in the vendor's shape).
DOCUMENTED_MODELS: list[type[BaseModel]] = [
    s.TokenRequest,
    s.TokenUpdate,
    s.LoginRequest,
    s.PasswordSetupRequest,
    s.NewCustomer,
    s.CustomerUpdate,
    s.InterestRecordBody,
    s.PropertyRecordBody,
    s.PropertyRecordBatch,
    s.AdditionalAddressBody,
    s.CustomerSourceRecordBody,
    s.ValidateCustomerData,
    s.RegistrationAbility,
    s.NewsletterSignUp,
]
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": s.ErrorBody, "description": text}
    for code, text in (
        (400, "Bad input: error.error_data.invalid_params lists the parameters at fault"),
        (401, "No token, or an unknown one"),
        (403, "Not allowed (e.g. nobody is logged in on the token)"),
        (404, "Not found"),
        (429, "Too many requests (Retry-After)"),
    )
}
#: Operations that may answer 503: a full sign-up lane, or mail that could not be sent.
_ERRORS_OR_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    503: {"model": s.ErrorBody, "description": "Busy, or the mail could not be sent: try later"},
}


def _body(model: type[BaseModel]) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def _doc(
    summary: str, model: type[BaseModel] | None = None, *, unavailable: bool = False
) -> dict[str, Any]:
    errors = _ERRORS_OR_UNAVAILABLE if unavailable else _ERRORS
    out: dict[str, Any] = {"summary": summary, "responses": errors}
    if model is not None:
        out["openapi_extra"] = _body(model)
    return out


def _no_content() -> Response:
    return Response(status_code=204)


class Paging:
    def __init__(
        self, count: int, offset: int, sort_field: str | None, sort_direction: str | None
    ) -> None:
        self.count = count
        self.offset = offset
        self.sort_field = sort_field
        self.sort_direction = sort_direction

    def page(self, plural: str, items: list[dict[str, Any]]) -> JSON:
        return JSON(
            m.page(
                plural,
                items,
                count=self.count,
                offset=self.offset,
                sort_field=self.sort_field,
                sort_direction=self.sort_direction,
            )
        )


async def _paging(
    count: Annotated[int, Query(ge=1, le=MAX_INTEGER)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INTEGER)] = 0,
    sort_field: Annotated[str | None, Query(max_length=100)] = None,
    sort_direction: Literal["ASC", "DESC"] | None = None,
) -> Paging:
    """The paging query parameters. A function, and ``async``: FastAPI runs a class used as a
    dependency (``Depends()``) in its thread pool, a thread hop on every request."""
    return Paging(count, offset, sort_field, sort_direction)


PagingDep = Annotated[Paging, Depends(_paging)]


def _list_param(request: Request, name: str) -> list[str]:
    """An array filter, as ``name=a&name=b`` or ``name[]=a&name[]=b``."""
    values = request.query_params.getlist(name) + request.query_params.getlist(f"{name}[]")
    if len(values) > s.MAX_ITEMS:
        raise InvalidInput(name, "invalid_value_format")
    return values


async def _statements(core: Core, caller: App) -> tuple[Any, ...]:
    return await localised.list_statements(core, caller.principal, caller.languages)


# --- tokens ----------------------------------------------------------------------------------


@router.post("/tokens", status_code=201, **_doc("Create a token", s.TokenRequest))
async def post_token(
    request: Request, tenant: TenantDep, user: InterfaceUser, core: CoreDep, client: ClientDep
) -> Response:
    body = s.parse(s.TokenRequest, await request.body())
    token = await devices.create_token(core, tenant, client.ip, m.new_device(body, user))
    return JSON(m.data({"token_id": token}), status_code=201)


@router.put("/tokens/{token_id}", status_code=204, **_doc("Update a token", s.TokenUpdate))
async def put_token(request: Request, caller: OwnToken, core: CoreDep) -> Response:
    body = s.parse(s.TokenUpdate, await request.body())
    await devices.update_token(
        core, caller.tenant.id, caller.token, m.device_setup(body.setup), body.push_token
    )
    return _no_content()


@router.post("/tokens/{token_id}/actions/login", **_doc("Log a customer in", s.LoginRequest))
async def post_token_login(
    request: Request, caller: OwnToken, core: CoreDep, client: ClientDep
) -> Response:
    body = s.parse(s.LoginRequest, await request.body())
    customer_id = await devices.log_in(
        core,
        caller.tenant,
        client.ip,
        caller.token,
        login_type=body.login_type,
        login_value=body.login_value,
        password=body.password,
    )
    return JSON(m.data({"customer_id": m.encode(m.CUSTOMER, customer_id)}))


@router.post("/tokens/{token_id}/actions/logout", status_code=204, **_doc("Log out"))
async def post_token_logout(caller: OwnToken, core: CoreDep) -> Response:
    await devices.log_out(core, caller.tenant.id, caller.token)
    return _no_content()


@router.post(
    "/tokens/{token_id}/actions/send-password-setup-email",
    status_code=204,
    **_doc("Mail a link to set a password", s.PasswordSetupRequest, unavailable=True),
)
async def post_token_send_password_setup(
    request: Request, caller: OwnToken, core: CoreDep, client: ClientDep
) -> Response:
    raw = await request.body()
    body = s.parse(s.PasswordSetupRequest, raw) if raw.strip() else s.PasswordSetupRequest()
    recipient = (body.recipient or body.email or "").strip()
    if recipient and "@" not in recipient:
        raise InvalidInput("recipient", "not_allowed_value")  # only email is sent
    await devices.send_password_setup(core, caller.tenant, client, caller.device, recipient)
    return _no_content()


# --- catalogue ---------------------------------------------------------------------------------


@router.get("/tests/connection", **_doc("Test the connection"))
async def get_tests_connection(tenant: TenantDep, test_string: str = "") -> Response:
    return JSON(m.data({"test_string": test_string[::-1]}))


@router.get("/languages", **_doc("Languages"))
async def get_languages(
    tenant: TenantDep,
    core: CoreDep,
    language_list_type: Literal["carecloud-api", "web-portal", "customer-communication"] = (
        "carecloud-api"
    ),
    default_language: bool = False,
) -> Response:
    principal = Principal(tenant_id=tenant.id, actor="app", full_access=False)
    languages = await localised.list_languages(core, principal)
    if default_language:
        languages = tuple(lang for lang in languages if lang.is_default) or languages[:1]
    items = [m.language(lang) for lang in languages]
    return JSON(m.listing("languages", items, len(items)))


@router.get("/countries", **_doc("Countries"))
async def get_countries(
    caller: AppDep,
    core: CoreDep,
    paging: PagingDep,
    country_id: str | None = None,
    country_name: str | None = None,
) -> Response:
    countries = await catalogue_service.get_countries(core, caller.principal)
    items = [
        m.country(cv)
        for cv in countries
        if (not country_id or cv.iso_code.lower() == country_id.lower())
        and (not country_name or country_name.casefold() in cv.name.casefold())
    ]
    return paging.page("countries", items)


@router.get("/stores", **_doc("Stores"))
async def get_stores(
    caller: AppDep,
    core: CoreDep,
    paging: PagingDep,
    visible_for_customer: int | None = None,
    property_id: str | None = None,
    property_value: str | None = None,
    system_id: str | None = None,
) -> Response:
    if visible_for_customer not in (None, 0, 1):
        raise InvalidInput("visible_for_customer", "not_allowed_value")
    items = [
        m.store(st) for st in await localised.list_stores(core, caller.principal, caller.languages)
    ]
    if visible_for_customer is not None:
        items = [i for i in items if i["visibility_for_customer"] == visible_for_customer]
    if system_id:
        items = [i for i in items if i["system_id"] == system_id]
    if property_id is not None or property_value is not None:
        items = []  # stores carry no property records here
    return paging.page("stores", items)


@router.get("/stores/{store_id}", **_doc("A store"))
async def get_store(store_id: str, caller: AppDep, core: CoreDep) -> Response:
    key = m.path_id(m.STORE, store_id, "Store")
    return JSON(
        m.data(m.store(await localised.get_store(core, caller.principal, key, caller.languages)))
    )


@router.get("/interests", **_doc("Interests"))
async def get_interests(
    caller: AppDep, core: CoreDep, paging: PagingDep, name: str | None = None
) -> Response:
    views = await localised.list_interests(core, caller.principal, caller.languages)
    items = [m.interest(v) for v in views if not name or name.casefold() in v.name.casefold()]
    return paging.page("interests", items)


@router.get("/interests/{interest_id}", **_doc("An interest"))
async def get_interest(interest_id: str, caller: AppDep, core: CoreDep) -> Response:
    key = m.path_id(m.INTEREST, interest_id, "Interest")
    view = await localised.get_interest(core, caller.principal, key, caller.languages)
    return JSON(m.data(m.interest(view)))


@router.get("/customer-properties", **_doc("Customer properties"))
async def get_customer_properties(
    caller: AppDep, core: CoreDep, paging: PagingDep, name: str | None = None
) -> Response:
    views = await localised.list_customer_properties(core, caller.principal, caller.languages)
    items = [
        m.customer_property(v) for v in views if not name or name.casefold() in v.name.casefold()
    ]
    return paging.page("customer_properties", items)


@router.get("/customer-properties/{customer_property_id}", **_doc("A customer property"))
async def get_customer_property(
    customer_property_id: str, caller: AppDep, core: CoreDep
) -> Response:
    view = await localised.get_customer_property(
        core, caller.principal, customer_property_id, caller.languages
    )
    return JSON(m.data(m.customer_property(view)))


@router.get("/customer-sources", **_doc("Customer sources"))
async def get_customer_sources(
    caller: AppDep,
    core: CoreDep,
    paging: PagingDep,
    customer_source_text_id: str | None = None,
) -> Response:
    views = await localised.list_customer_sources(core, caller.principal, caller.languages)
    items = [
        m.customer_source(v)
        for v in views
        if not customer_source_text_id or v.code == customer_source_text_id
    ]
    return paging.page("customer_sources", items)


@router.get("/customer-sources/{customer_source_id}", **_doc("A customer source"))
async def get_customer_source(customer_source_id: str, caller: AppDep, core: CoreDep) -> Response:
    key = m.path_id(m.SOURCE, customer_source_id, "CustomerSource")
    view = await localised.get_customer_source(core, caller.principal, key, caller.languages)
    return JSON(m.data(m.customer_source(view)))


@router.get("/agreements", **_doc("Agreements (consents)"))
async def get_agreements(
    caller: AppDep,
    core: CoreDep,
    paging: PagingDep,
    communication_channel_id: str | None = None,
    text_id: str | None = None,
) -> Response:
    views = await _statements(core, caller)
    items = [
        m.agreement(v)
        for v in views
        if (not text_id or v.code == text_id) and not communication_channel_id
    ]
    return paging.page("agreements", items)


@router.get("/agreements/{agreement_id}", **_doc("An agreement (consent)"))
async def get_agreement(agreement_id: str, caller: AppDep, core: CoreDep) -> Response:
    key = m.path_id(m.STATEMENT, agreement_id, "Statement")
    view = await localised.get_statement(core, caller.principal, key, caller.languages)
    return JSON(m.data(m.agreement(view)))


@router.get("/customer-address-types", **_doc("Customer address types"))
async def get_customer_address_types(caller: AppDep, paging: PagingDep) -> Response:
    return paging.page("customer_address_types", m.address_types())


@dataclass(frozen=True)
class RewardFilters:
    """The rewards' filters, checked and parsed (by :func:`_reward_filters`)."""

    name: str | None
    store_id: str | None
    is_valid: bool | None
    valid_from: date | None
    valid_to: date | None
    code: str | None
    is_automated: bool | None
    reward_group: int | None
    without_stores: bool | None

    def items(self, views: tuple[Any, ...]) -> list[dict[str, Any]]:
        store_key = None
        if self.store_id:
            keys = m.decode(m.STORE, self.store_id)
            if keys is None:
                return []
            store_key = keys[0]
        today = datetime.now(UTC).date()
        return [
            m.reward(v)
            for v in views
            if m.reward_matches(
                v,
                name=self.name,
                code=self.code,
                store_id=store_key,
                is_valid=self.is_valid,
                valid_from=self.valid_from,
                valid_to=self.valid_to,
                is_automated=self.is_automated,
                reward_group=self.reward_group,
                without_stores=self.without_stores,
                today=today,
            )
        ]


async def _reward_filters(
    request: Request,
    name: str | None = None,
    store_id: str | None = None,
    is_valid: bool | None = None,
    valid_from: str | None = None,
    valid_to: str | None = None,
    code: str | None = None,
    is_automated: bool | None = None,
    reward_group: int | None = None,
    without_stores: bool | None = None,
) -> RewardFilters:
    """The rewards' filters; ``async`` like :func:`_paging`, for the same reason."""
    start, end = m.parse_date(valid_from, "valid_from"), m.parse_date(valid_to, "valid_to")
    if reward_group is not None and reward_group not in m.REWARD_GROUPS:
        raise InvalidInput("reward_group", "not_allowed_value")
    # Rewards here are not limited by customer type, so every type sees every reward; the
    # filter is still checked like every array filter (at most 1000 values).
    _list_param(request, "customer_type_id")
    return RewardFilters(
        name=name,
        store_id=store_id,
        is_valid=is_valid,
        valid_from=start,
        valid_to=end,
        code=code,
        is_automated=is_automated,
        reward_group=reward_group,
        without_stores=without_stores,
    )


RewardFiltersDep = Annotated[RewardFilters, Depends(_reward_filters)]


@router.get("/rewards", **_doc("Rewards"))
async def get_rewards(
    caller: AppDep, core: CoreDep, paging: PagingDep, filters: RewardFiltersDep
) -> Response:
    views = await localised.list_rewards(core, caller.principal, caller.languages)
    return paging.page("rewards", filters.items(views))


@router.get("/rewards/{reward_id}", **_doc("A reward"))
async def get_reward(reward_id: str, caller: AppDep, core: CoreDep) -> Response:
    key = m.path_id(m.REWARD, reward_id, "Reward")
    view = await localised.get_reward(core, caller.principal, key, caller.languages)
    return JSON(m.data(m.reward(view)))


# --- customer actions ----------------------------------------------------------------------------


def _bot_signals(request: Request, caller: App, data: dict[str, Any]) -> bots.BotSignals:
    """A public write's bot signals (an extension, docs/carecloud.md): the tenant's honeypot
    field as a top-level body key (a web form built on the API sends it empty), the CAPTCHA
    widget's token in the ``X-Captcha-Token`` header."""
    honeypot = data.get(bots.honeypot_field(caller.tenant))
    return bots.BotSignals(
        honeypot=str(honeypot) if honeypot else None,
        captcha_token=request.headers.get("x-captcha-token"),
    )


@router.post(
    "/customers/actions/validate-customer-data",
    **_doc("Validate a password or a referral code", s.ValidateCustomerData),
)
async def post_validate_customer_data(request: Request, tenant: TenantDep) -> Response:
    body = s.parse(s.ValidateCustomerData, await request.body())
    # Referral codes are not supported, so none is valid (docs/carecloud.md).
    valid = body.type == "password" and password_problem(body.value) is None
    return JSON(m.data({"is_valid": valid}))


@router.post(
    "/customers/actions/check-registration-ability",
    **_doc("Whether an email or phone is free", s.RegistrationAbility),
)
async def post_check_registration_ability(
    request: Request, caller: AppDep, core: CoreDep, client: ClientDep
) -> Response:
    body = s.parse(s.RegistrationAbility, await request.body())
    await core.limiter.hit("30/minute", "registration-ability", caller.tenant.name, client.ip)
    able = await profiles.can_register(core, caller.principal, body.type, body.value)
    return JSON(m.data({"registration_ability": able}))


@router.post(
    "/customers/actions/newsletters-sign-up",
    status_code=204,
    **_doc("Sign a contact up for the newsletter", s.NewsletterSignUp, unavailable=True),
)
async def post_newsletters_sign_up(
    request: Request, caller: AppDep, core: CoreDep, client: ClientDep
) -> Response:
    data = s.read_json(await request.body())
    body = s.validate(s.NewsletterSignUp, data)
    statements = await _statements(core, caller)
    await newsletter.sign_up(
        core,
        caller.tenant,
        caller.principal,
        client_ip=client.ip,
        base_url=client.base_url,
        contact=body.contact,
        source_id=m.body_id(m.SOURCE, body.customer_source_id, "customer_source_id"),
        consents=m.consent_choices(body.agreements, None, statements),
        language=body.language_id,
        signals=_bot_signals(request, caller, data),
    )
    return _no_content()


# --- customers -----------------------------------------------------------------------------------


async def _customer_json(
    core: Core, caller: App, views: list[Any], *, short: bool
) -> list[dict[str, Any]]:
    language, default = await localised.chosen_and_default_language(
        core, caller.principal, caller.languages
    )
    tz = m.timezone_of(caller.tenant)
    return [
        m.customer(view, tz=tz, language=language, default_language=default, short_salutation=short)
        for view in views
    ]


@router.post(
    "/customers",
    status_code=201,
    **_doc("Register a customer", s.NewCustomer, unavailable=True),
)
async def post_customer(
    request: Request, caller: AppDep, core: CoreDep, client: ClientDep
) -> Response:
    data = s.read_json(await request.body())
    body = s.validate(s.NewCustomer, s.normalise_new_customer(data))
    cmd, autologin = m.new_profile(body, await _statements(core, caller))
    customer_id = await profiles.sign_up_customer(
        core,
        caller.tenant,
        client.ip,
        caller.principal,
        cmd,
        _bot_signals(request, caller, data),
        log_in_token=caller.token if autologin else None,
    )
    return JSON(m.data({"customer_id": m.encode(m.CUSTOMER, customer_id)}), status_code=201)


@router.get("/customers", **_doc("Customers (with a customer logged in: that customer)"))
async def get_customers(
    request: Request,
    caller: CustomerApp,
    core: CoreDep,
    paging: PagingDep,
    email: str | None = None,
    phone: str | None = None,
    customer_source_id: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    birthdate: str | None = None,
    customer_short_salutation: bool = False,
) -> Response:
    filters = m.customer_filter(
        email=email,
        phone=phone,
        customer_source_id=customer_source_id,
        first_name=first_name,
        last_name=last_name,
        birthdate=birthdate,
        email_list=_list_param(request, "email_list"),
        customer_ids=_list_param(request, "customer_ids"),
    )
    if filters is None:
        return JSON(m.listing("customers", [], 0))
    total, views = await profiles.list_profiles(
        core,
        caller.principal,
        filters,
        offset=paging.offset,
        count=min(paging.count, m.MAX_COUNT),
        order=paging.sort_field or "customer_id",
        descending=paging.sort_direction == "DESC",
    )
    items = await _customer_json(core, caller, list(views), short=customer_short_salutation)
    return JSON(m.listing("customers", items, total))


@router.get("/customers/{customer_id}", **_doc("A customer"))
async def get_customer(
    customer_id: str,
    request: Request,
    tenant: str,
    customer_short_salutation: bool = False,
) -> Response:
    caller, found = await token_profile(request, tenant, customer_id)
    return customer_answer(caller, found, customer_short_salutation)


def customer_answer(
    caller: App, found: tuple[ProfileView, str, str], short_salutation: bool
) -> Response:
    """``GET customers/{customer_id}``'s answer."""
    view, language, default = found
    item = m.customer(
        view,
        tz=m.timezone_of(caller.tenant),
        language=language,
        default_language=default,
        short_salutation=short_salutation,
    )
    return JSON(m.data(item))


@router.put(
    "/customers/{customer_id}", status_code=204, **_doc("Replace a customer", s.CustomerUpdate)
)
async def put_customer(
    request: Request, customer_id: PathCustomer, caller: CustomerApp, core: CoreDep
) -> Response:
    body = s.parse(s.CustomerUpdate, await request.body())
    cmd = m.replacement(body, await _statements(core, caller))
    await profiles.replace_profile(
        core, caller.principal, customer_id, cmd, device_token=caller.token
    )
    return _no_content()


@router.get("/customers/{customer_id}/rewards", **_doc("Rewards the customer can use"))
async def get_customer_rewards(
    customer_id: PathCustomer,
    caller: CustomerApp,
    core: CoreDep,
    paging: PagingDep,
    filters: RewardFiltersDep,
) -> Response:
    views = await localised.list_customer_rewards(
        core, caller.principal, customer_id, caller.languages
    )
    return paging.page("rewards", filters.items(views))


# --- purchases (orders, read-only) -------------------------------------------------------------


@router.get("/customers/{customer_id}/purchases", **_doc("The customer's purchases (orders)"))
async def get_customer_purchases(
    customer_id: PathCustomer,
    caller: CustomerApp,
    core: CoreDep,
    paging: PagingDep,
    store_id: str | None = None,
    type_id: str | None = None,
    payment_time_from: str | None = None,
    payment_time_to: str | None = None,
    purchase_items_extension: bool = False,
    external_purchase_id: str | None = None,
) -> Response:
    """Newest first; the filters are the vendor's (ids compared as sent, times in local time)."""
    since = m.parse_payment_time(payment_time_from, "payment_time_from")
    until = m.parse_payment_time(payment_time_to, "payment_time_to")
    views = await orders.list_customer_orders(core, caller.principal, customer_id)
    tz = m.timezone_of(caller.tenant)
    items = [m.purchase(v, tz, with_items=purchase_items_extension) for v in views]
    for field, wanted in (
        ("store_id", store_id),
        ("type_id", type_id),
        ("external_purchase_id", external_purchase_id),
    ):
        if wanted:
            items = [i for i in items if i[field] == wanted.strip().lower()]
    if since is not None:
        items = [i for i in items if i["payment_time"] >= since.isoformat(" ", "seconds")]
    if until is not None:
        items = [i for i in items if i["payment_time"] <= until.isoformat(" ", "seconds")]
    return paging.page("purchases", items)


# --- interest records --------------------------------------------------------------------------


def _interest_record_key(record_id: str, customer_id: int) -> int:
    keys = m.decode(m.INTEREST_RECORD, record_id, parts=2)
    if keys is None or keys[1] != customer_id:
        raise NotFound("InterestRecord", record_id)
    return keys[0]


def _interest_body(body: s.InterestRecordBody, caller: App) -> int:
    own_customer(body.interest_record.customer_id, caller)
    return m.body_id(m.INTEREST, body.interest_record.interest_id, "interest_id")


@router.get("/customers/{customer_id}/interest-records", **_doc("The customer's interests"))
async def get_interest_records(
    customer_id: PathCustomer, caller: CustomerApp, core: CoreDep
) -> Response:
    views = await records.list_interest_records(core, caller.principal, customer_id)
    tz = m.timezone_of(caller.tenant)
    items = [m.interest_record(v, tz) for v in views]
    return JSON(m.listing("interest_records", items, len(items)))


@router.post(
    "/customers/{customer_id}/interest-records",
    status_code=201,
    **_doc("Add an interest", s.InterestRecordBody),
)
async def post_interest_record(
    request: Request, customer_id: PathCustomer, caller: CustomerApp, core: CoreDep
) -> Response:
    interest_id = _interest_body(s.parse(s.InterestRecordBody, await request.body()), caller)
    view = await records.add_interest_record(core, caller.principal, customer_id, interest_id)
    record_id = m.encode(m.INTEREST_RECORD, view.interest_id, view.customer_id)
    return JSON(m.data({"interest_record_id": record_id}), status_code=201)


@router.put(
    "/customers/{customer_id}/interest-records/{interest_record_id}",
    status_code=204,
    **_doc("Change an interest", s.InterestRecordBody),
)
async def put_interest_record(
    request: Request,
    customer_id: PathCustomer,
    interest_record_id: str,
    caller: CustomerApp,
    core: CoreDep,
) -> Response:
    current = _interest_record_key(interest_record_id, customer_id)
    interest_id = _interest_body(s.parse(s.InterestRecordBody, await request.body()), caller)
    await records.change_interest_record(core, caller.principal, customer_id, current, interest_id)
    return _no_content()


@router.delete(
    "/customers/{customer_id}/interest-records/{interest_record_id}",
    status_code=204,
    **_doc("Remove an interest"),
)
async def delete_interest_record(
    customer_id: PathCustomer, interest_record_id: str, caller: CustomerApp, core: CoreDep
) -> Response:
    current = _interest_record_key(interest_record_id, customer_id)
    await records.remove_interest_record(core, caller.principal, customer_id, current)
    return _no_content()


# --- property records --------------------------------------------------------------------------


@router.get("/customers/{customer_id}/property-records", **_doc("The customer's properties"))
async def get_property_records(
    customer_id: PathCustomer, caller: CustomerApp, core: CoreDep, paging: PagingDep
) -> Response:
    views = await records.list_property_records(
        core, caller.principal, customer_id, caller.languages
    )
    return paging.page("property_records", [m.property_record(v) for v in views])


def _failed_reason(exc: DomainError) -> str:
    """A refused record's reason code (an error without a reason: the record is not found)."""
    return reason_code(exc.reason) if isinstance(exc, InvalidInput) else "not_found"


@router.post(
    "/customers/{customer_id}/property-records/batch",
    status_code=204,
    **_doc("Set many properties (all or nothing, or the good ones)", s.PropertyRecordBatch),
)
async def post_property_records_batch(
    request: Request, customer_id: PathCustomer, caller: CustomerApp, core: CoreDep
) -> Response:
    body = s.parse(s.PropertyRecordBatch, await request.body())
    failed = await records.set_property_records(
        core,
        caller.principal,
        customer_id,
        m.property_values(body.property_records),
        all_or_nothing=body.error_processing == 1,
    )
    if failed:
        raise s.InvalidParams(
            [
                s.param(f"property_records.{value.code}", _failed_reason(exc))
                for value, exc in failed
            ]
        )
    return _no_content()


@router.post(
    "/customers/{customer_id}/property-records",
    status_code=201,
    **_doc("Set a property", s.PropertyRecordBody),
)
async def post_property_record(
    request: Request, customer_id: PathCustomer, caller: CustomerApp, core: CoreDep
) -> Response:
    body = s.parse(s.PropertyRecordBody, await request.body())
    (value,) = m.property_values([body.property_record])
    await records.set_property_records(core, caller.principal, customer_id, [value])
    record_id = m.property_record_id(value.code, customer_id)
    return JSON(m.data({"property_record_id": record_id}), status_code=201)


@router.put(
    "/customers/{customer_id}/property-records/{property_record_id}",
    status_code=204,
    **_doc("Change a property", s.PropertyRecordBody),
)
async def put_property_record(
    request: Request,
    customer_id: PathCustomer,
    property_record_id: str,
    caller: CustomerApp,
    core: CoreDep,
) -> Response:
    code = m.parse_property_record_id(property_record_id, customer_id)
    body = s.parse(s.PropertyRecordBody, await request.body())
    (value,) = m.property_values([body.property_record])
    if value.code != code:
        raise InvalidInput("property_id", "not_allowed_value")
    await records.set_property_records(
        core, caller.principal, customer_id, [value], must_exist=True
    )
    return _no_content()


@router.delete(
    "/customers/{customer_id}/property-records/{property_record_id}",
    status_code=204,
    **_doc("Remove a property"),
)
async def delete_property_record(
    customer_id: PathCustomer, property_record_id: str, caller: CustomerApp, core: CoreDep
) -> Response:
    code = m.parse_property_record_id(property_record_id, customer_id)
    await records.delete_property_record(core, caller.principal, customer_id, code)
    return _no_content()


# --- addresses and source records -------------------------------------------------------------


@router.get("/customers/{customer_id}/addresses", **_doc("The customer's other addresses"))
async def get_addresses(
    customer_id: PathCustomer,
    caller: CustomerApp,
    core: CoreDep,
    paging: PagingDep,
    customer_address_type_id: str | None = None,
) -> Response:
    views = await records.list_extra_addresses(core, caller.principal, customer_id)
    items = [m.extra_address_record(v) for v in views]
    if customer_address_type_id:
        items = [i for i in items if i["address_type"] == customer_address_type_id.lower()]
    return paging.page("addresses", items)


@router.post(
    "/customers/{customer_id}/addresses",
    status_code=201,
    **_doc("Add an address", s.AdditionalAddressBody),
)
async def post_address(
    request: Request, customer_id: PathCustomer, caller: CustomerApp, core: CoreDep
) -> Response:
    body = s.parse(s.AdditionalAddressBody, await request.body())
    address = m.extra_address(body.additional_address)
    view = await records.add_extra_address(core, caller.principal, customer_id, address)
    return JSON(m.data({"additional_address_id": m.encode(m.ADDRESS, view.id)}), status_code=201)


@router.get(
    "/customers/{customer_id}/addresses/{additional_customer_address_id_path}",
    **_doc("One of the customer's other addresses"),
)
async def get_address(
    customer_id: PathCustomer,
    additional_customer_address_id_path: str,
    caller: CustomerApp,
    core: CoreDep,
) -> Response:
    key = m.path_id(m.ADDRESS, additional_customer_address_id_path, "Address")
    view = await records.get_extra_address(core, caller.principal, customer_id, key)
    return JSON(m.data(m.extra_address_record(view)))


@router.put(
    "/customers/{customer_id}/addresses/{additional_customer_address_id_path}",
    status_code=204,
    **_doc("Replace one of the customer's other addresses", s.AdditionalAddressBody),
)
async def put_address(
    request: Request,
    customer_id: PathCustomer,
    additional_customer_address_id_path: str,
    caller: CustomerApp,
    core: CoreDep,
) -> Response:
    key = m.path_id(m.ADDRESS, additional_customer_address_id_path, "Address")
    body = s.parse(s.AdditionalAddressBody, await request.body())
    address = m.extra_address(body.additional_address)
    await records.replace_extra_address(core, caller.principal, customer_id, key, address)
    return _no_content()


@router.get(
    "/customers/{customer_id}/customer-source-records", **_doc("The customer's source records")
)
async def get_customer_source_records(
    request: Request,
    customer_id: PathCustomer,
    caller: CustomerApp,
    core: CoreDep,
    paging: PagingDep,
    external_id: str | None = None,
    customer_source_id: str | None = None,
) -> Response:
    # ``external_ids`` (up to 1000) takes priority over ``external_id``, as the vendor documents.
    external_ids = _list_param(request, "external_ids")
    views = await records.list_source_records(core, caller.principal, customer_id)
    items = [m.source_record(v) for v in views]
    if external_ids:
        wanted = set(external_ids)
        items = [i for i in items if i.get("external_id") in wanted]
    elif external_id is not None:
        items = [i for i in items if i.get("external_id") == external_id]
    if customer_source_id:
        items = [i for i in items if i["customer_source_id"] == customer_source_id.lower()]
    return paging.page("customer_source_records", items)


@router.post(
    "/customers/{customer_id}/customer-source-records",
    status_code=201,
    **_doc("Add a source record", s.CustomerSourceRecordBody),
)
async def post_customer_source_record(
    request: Request, customer_id: PathCustomer, caller: CustomerApp, core: CoreDep
) -> Response:
    body = s.parse(s.CustomerSourceRecordBody, await request.body()).customer_source_record
    link = m.source_link(body)
    view = await records.add_source_record(core, caller.principal, customer_id, link)
    record_id = m.encode(m.SOURCE_RECORD, view.source_id, view.customer_id)
    return JSON(m.data({"customer_source_record_id": record_id}), status_code=201)
