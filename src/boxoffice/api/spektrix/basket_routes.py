"""Thin routes of baskets and orders (issue 18): parse -> mapper -> service -> mapper.

Web mode's basket (``v3/basket``) is the visitor's: found by the basket cookie
(``api/common/session.py``), created by the first add, shared with the booking pages; when a
customer is logged in on the same browser, the basket is theirs. System Owner baskets
(``v3/baskets/{id}``) are created by ``POST v3/baskets`` and named by id. Each add answers the
whole collection of that kind of item, as the vendor's clients expect. Ours (decision 0125):
``orders/{id}/returns``, ``basket/voucher-payments`` and ``basket/credit-payments`` (and the
Owner's); the vendor's ``redeem-gift-voucher`` turns a voucher into the customer's credit.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from boxoffice.api.common.responses import JSON
from boxoffice.api.common.session import basket_token, set_basket_cookie
from boxoffice.api.common.state import AppState, CoreDep, core_of
from boxoffice.api.spektrix import mappers as m
from boxoffice.api.spektrix import schemas as s
from boxoffice.api.spektrix.auth import OwnerPrincipal, WebCustomer, client_info, session_token
from boxoffice.api.spektrix.auth import principal as any_principal
from boxoffice.domain import commands as c
from boxoffice.domain.errors import InvalidInput, NotFound, Unauthenticated
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import BasketView, OrderView
from boxoffice.services import accounts, bots, programme, seating
from boxoffice.services import baskets as svc
from boxoffice.services import customers as customers_service
from boxoffice.services import orders as orders_service
from boxoffice.services.core import Core
from boxoffice.services.tenants import get_tenant

router = APIRouter(prefix="/{client}/api/v3")

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": s.Error, "description": "Invalid input"},
    401: {"model": s.Error, "description": "Missing or invalid signature"},
    404: {"model": s.Error, "description": "Not found"},
    409: {
        "model": s.Error,
        "description": "Not available (seat taken, sold out, off sale...), payment needed "
        "(errorCode 11) or membership held (errorCode 18)",
    },
}
_WEB_ERRORS: dict[int | str, dict[str, Any]] = {
    **{k: v for k, v in _ERRORS.items() if k != 401},
    429: {"model": s.Error, "description": "Too many basket changes; try again after Retry-After"},
}
_EXPAND = "tickets/event, tickets/instance (comma-separated)"
Expand = Annotated[str | None, Query(alias="$expand", description=_EXPAND)]


def _ids(name: str) -> Any:
    return Query(alias=name, description="Comma-separated ids (or the parameter repeated)")


def _now() -> datetime:
    return datetime.now(UTC)


async def _json(request: Request) -> Any:
    return s.read_json(await request.body())


async def _json_or_none(request: Request) -> Any:
    body = await request.body()
    return s.read_json(body) if body.strip() else None


def _query_ids(request: Request, name: str) -> list[str]:
    """``name=a,b``, ``name=a&name=b`` and ``name[]=a`` (the forms clients send)."""
    return [
        value
        for key, value in request.query_params.multi_items()
        if key.lower() in (name.lower(), name.lower() + "[]")
    ]


# --- who is asking, and which basket --------------------------------------------------------


class WebBasket:
    """Web mode's basket of this browser: the principal (the logged-in customer, else web
    mode) and the basket cookie's token (a new one when the browser has none yet)."""

    def __init__(self, request: Request, core: Core, principal: Principal, token: str | None):
        self.request = request
        self.core = core
        self.principal = principal
        self.new_token = token is None
        self.token = token or secrets.token_urlsafe(32)
        self.ref = c.BasketRef.web(self.token)

    async def respond(self, view: BasketView, body: Any, status: int = 200) -> Response:
        view = await _attach_customer(self.core, self.principal, self.ref, view)
        response = JSON(body(view) if callable(body) else body, status_code=status)
        if self.new_token:
            state: AppState = self.request.app.state.boxoffice
            client = self.request.path_params["client"]
            set_basket_cookie(response, self.request, state, client, self.token)
        return response


async def _web_principal(request: Request, client: str) -> Principal:
    """The logged-in customer of this browser, else web mode. A signed request is refused:
    the web basket is a browser's."""
    principal = await any_principal(request, client)
    if principal.full_access:
        raise NotFound("Basket", "System Owner mode has baskets by id (v3/baskets)")
    customer_id = await accounts.session_customer(
        core_of(request), principal.tenant_id, session_token(request)
    )
    if customer_id is not None:
        return accounts.customer_principal(principal.tenant_id, customer_id)
    return principal


async def web_basket(request: Request, client: str) -> WebBasket:
    core = core_of(request)
    principal = await _web_principal(request, client)
    return WebBasket(request, core, principal, _valid_token(basket_token(request)))


async def web_basket_write(request: Request, client: str) -> WebBasket:
    """:func:`web_basket` for a change: a public write, limited per address."""
    core = core_of(request)
    tenant = await get_tenant(core, client)
    state: AppState = request.app.state.boxoffice
    await bots.check_public_write(
        core, tenant, client_info(request, state).ip, bots.BASKET, bots.BotSignals()
    )
    return await web_basket(request, client)


def _valid_token(token: str | None) -> str | None:
    return token if token and 20 <= len(token) <= 100 else None


WebBasketDep = Annotated[WebBasket, Depends(web_basket)]
WebBasketWrite = Annotated[WebBasket, Depends(web_basket_write)]


async def _attach_customer(
    core: Core, principal: Principal, ref: c.BasketRef, view: BasketView
) -> BasketView:
    """A web basket belongs to the customer logged in on its browser: attached on the first
    request after logging in (the basket's ``hash`` changes with it)."""
    wanted = principal.customer_id
    if ref.session_token is None or wanted is None or view.customer_id == wanted:
        return view
    if view.state != "open":
        return view
    return await svc.update_basket(core, principal, ref, c.BasketPatch(customer_id=wanted))


def _owner_ref(basket_id: str) -> c.BasketRef:
    return c.BasketRef.owner(m.catalogue_id(m.BASKET, basket_id, "Basket"))


# --- answers ----------------------------------------------------------------------------------


async def _expanded(
    core: Core, principal: Principal, view: BasketView | OrderView, expansions: frozenset[str]
) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    events: dict[int, dict[str, Any]] = {}
    instances: dict[int, dict[str, Any]] = {}
    reader = (
        principal
        if principal.full_access
        else Principal(tenant_id=principal.tenant_id, actor="web", full_access=False)
    )
    if "tickets/event" in expansions:
        for event_id in sorted({t.event_id for t in view.tickets}):
            events[event_id] = m.event(await programme.get_event(core, reader, event_id))
    if "tickets/instance" in expansions:
        for instance_id in sorted({t.instance_id for t in view.tickets}):
            instances[instance_id] = m.instance(
                await programme.get_instance(core, _full(reader), instance_id)
            )
    return events, instances


def _full(principal: Principal) -> Principal:
    """Instances in a basket stay readable when they stop being web-visible."""
    return Principal(tenant_id=principal.tenant_id, actor=principal.actor, full_access=True)


async def _customer(core: Core, principal: Principal, view: BasketView) -> dict[str, Any] | None:
    if view.customer_id is None:
        return None
    if not principal.full_access and principal.customer_id != view.customer_id:
        return None  # logged out since: the basket keeps its customer, the browser sees none
    customer = await customers_service.get_customer(core, principal, view.customer_id)
    return m.customer(customer, today=_now().date())


async def _basket_body(
    core: Core, principal: Principal, view: BasketView, expansions: frozenset[str] = frozenset()
) -> dict[str, Any]:
    events, instances = await _expanded(core, principal, view, expansions)
    return m.basket(
        view,
        owner=principal.full_access,
        customer=await _customer(core, principal, view),
        events=events,
        instances=instances,
    )


async def _order_body(
    core: Core, principal: Principal, view: OrderView, expansions: frozenset[str] = frozenset()
) -> dict[str, Any]:
    events, instances = await _expanded(core, principal, view, expansions)
    return m.order(view, owner=principal.full_access, events=events, instances=instances)


# --- item commands from bodies --------------------------------------------------------------


async def _new_tickets(core: Core, principal: Principal, data: Any) -> list[c.NewTicket]:
    """NewTicket items -> commands. ``seatingPlan`` names an unreserved area, or the instance's
    plan when that plan has one area (the vendor's clients send either)."""
    out = []
    plans: dict[int, Any] = {}
    for model, attributes in m.new_tickets(data):
        instance_id = m.body_catalogue_id(m.INSTANCE, model.instance, "instance")
        assert instance_id is not None
        seat_id = m.body_catalogue_id(m.SEAT, model.seat, "seat")
        area_id = None
        if model.seating_plan is not None:
            if instance_id not in plans:
                plans[instance_id] = await seating.instance_plan(core, principal, instance_id)
            area_id = m.seating_plan_area(plans[instance_id], model.seating_plan)
        out.append(
            c.NewTicket(
                instance_id=instance_id,
                seat_id=seat_id,
                area_id=area_id,
                ticket_type_id=m.ticket_type_ref(model),
                attributes=attributes,
            )
        )
    return out


# --- web mode: the browser's basket ---------------------------------------------------------


@router.get(
    "/basket",
    summary="The browser's basket (404 until something is added)",
    response_model=s.Basket,
    responses=_WEB_ERRORS,
)
async def get_basket(web: WebBasketDep, expand: Expand = None) -> Response:
    if web.new_token:
        raise NotFound("Basket", "none")
    view = await svc.get_basket(web.core, web.principal, web.ref)
    view = await _attach_customer(web.core, web.principal, web.ref, view)
    return JSON(await _basket_body(web.core, web.principal, view, m.basket_expansions(expand)))


@router.patch(
    "/basket",
    summary="Promo code, deliveries, attributes",
    response_model=s.Basket,
    responses=_WEB_ERRORS,
)
async def update_basket(request: Request, web: WebBasketWrite) -> Response:
    patch = m.basket_patch(await _json(request))
    view = await svc.update_basket(web.core, web.principal, web.ref, patch)
    body = await _basket_body(web.core, web.principal, view)
    return await web.respond(view, body)


@router.post(
    "/basket/tickets",
    summary="Add tickets (one array element per ticket): seats held for the basket",
    response_model=list[s.BasketTicket],
    responses=_WEB_ERRORS,
)
async def add_tickets(request: Request, web: WebBasketWrite) -> Response:
    tickets = await _new_tickets(web.core, web.principal, await _json(request))
    view = await svc.add_tickets(web.core, web.principal, web.ref, tickets)
    return await web.respond(view, lambda v: [m.basket_ticket(t) for t in v.tickets])


@router.patch(
    "/basket/tickets",
    summary="Change tickets' type or attributes (ticketIds=a,b; none: all)",
    response_model=list[s.BasketTicket],
    responses=_WEB_ERRORS,
)
async def update_tickets(request: Request, web: WebBasketWrite) -> Response:
    ids = _query_ids(request, "ticketIds")
    keys = m.item_ids(m.TICKET, ids, "Ticket") if ids else None
    patch = m.ticket_patch(await _json(request))
    view = await svc.update_tickets(web.core, web.principal, web.ref, keys, patch)
    return await web.respond(view, lambda v: [m.basket_ticket(t) for t in v.tickets])


@router.patch(
    "/basket/tickets/{ticket_id}",
    summary="Change one ticket's type or attributes",
    response_model=list[s.BasketTicket],
    responses=_WEB_ERRORS,
)
async def update_ticket(ticket_id: str, request: Request, web: WebBasketWrite) -> Response:
    keys = m.item_ids(m.TICKET, [ticket_id], "Ticket")
    patch = m.ticket_patch(await _json(request))
    view = await svc.update_tickets(web.core, web.principal, web.ref, keys, patch)
    return await web.respond(view, lambda v: [m.basket_ticket(t) for t in v.tickets])


@router.delete(
    "/basket/tickets",
    summary="Remove tickets (ticketIds=a,b or ticketIds[]=a): their seats go back on sale",
    response_model=list[s.BasketTicket],
    responses=_WEB_ERRORS,
)
async def remove_tickets(request: Request, web: WebBasketWrite) -> Response:
    keys = m.item_ids(m.TICKET, _query_ids(request, "ticketIds"), "Ticket")
    if not keys:
        raise InvalidInput(m.as_sent("ticketIds"), "required")
    view = await svc.remove_tickets(web.core, web.principal, web.ref, keys)
    return await web.respond(view, lambda v: [m.basket_ticket(t) for t in v.tickets])


@router.post(
    "/basket/merchandise",
    summary="Add merchandise (one array element per unit)",
    response_model=list[s.MerchandiseItem],
    responses=_WEB_ERRORS,
)
async def add_merchandise(request: Request, web: WebBasketWrite) -> Response:
    items = m.new_merchandise(await _json(request))
    view = await svc.add_merchandise(web.core, web.principal, web.ref, items)
    return await web.respond(view, lambda v: [m.merchandise_item(i) for i in v.merchandise_items])


@router.delete(
    "/basket/merchandise",
    summary="Remove merchandise items (merchandiseItemIds=a,b): back to stock",
    response_model=list[s.MerchandiseItem],
    responses=_WEB_ERRORS,
)
async def remove_merchandise(request: Request, web: WebBasketWrite) -> Response:
    keys = m.item_ids(m.MERCHANDISE, _query_ids(request, "merchandiseItemIds"), "MerchandiseItem")
    if not keys:
        raise InvalidInput(m.as_sent("merchandiseItemIds"), "required")
    view = await svc.remove_merchandise(web.core, web.principal, web.ref, keys)
    return await web.respond(view, lambda v: [m.merchandise_item(i) for i in v.merchandise_items])


@router.post(
    "/basket/donations",
    summary="Add donations",
    response_model=list[s.Donation],
    responses=_WEB_ERRORS,
)
async def add_donations(request: Request, web: WebBasketWrite) -> Response:
    items = m.new_donations(await _json(request))
    view = await svc.add_donations(web.core, web.principal, web.ref, items)
    return await web.respond(view, lambda v: [m.donation(d) for d in v.donations])


@router.patch(
    "/basket/donations",
    summary="Change donations (donationIds=a,b; none: all)",
    response_model=list[s.Donation],
    responses=_WEB_ERRORS,
)
async def update_donations(request: Request, web: WebBasketWrite) -> Response:
    ids = _query_ids(request, "donationIds")
    keys = m.item_ids(m.DONATION, ids, "Donation") if ids else None
    patch = m.donation_patch(await _json(request))
    view = await svc.update_donations(web.core, web.principal, web.ref, keys, patch)
    return await web.respond(view, lambda v: [m.donation(d) for d in v.donations])


@router.delete(
    "/basket/donations",
    summary="Remove donations (donationIds=a,b)",
    response_model=list[s.Donation],
    responses=_WEB_ERRORS,
)
async def remove_donations(request: Request, web: WebBasketWrite) -> Response:
    keys = m.item_ids(m.DONATION, _query_ids(request, "donationIds"), "Donation")
    if not keys:
        raise InvalidInput(m.as_sent("donationIds"), "required")
    view = await svc.remove_donations(web.core, web.principal, web.ref, keys)
    return await web.respond(view, lambda v: [m.donation(d) for d in v.donations])


async def _gift_vouchers(
    method: str, request: Request, core: Core, principal: Principal, ref: c.BasketRef
) -> BasketView:
    """POST adds, PUT replaces every voucher, PATCH changes those named (none: all)."""
    data = await _json(request)
    if method == "PATCH":
        ids = _query_ids(request, "giftVoucherIds")
        keys = m.item_ids(m.GIFT_VOUCHER, ids, "GiftVoucher") if ids else None
        return await svc.update_gift_vouchers(
            core, principal, ref, keys, m.gift_voucher_patch(data)
        )
    vouchers = m.new_gift_vouchers(data)
    if method == "PUT":
        return await svc.add_gift_vouchers(core, principal, ref, vouchers, replace=True)
    return await svc.add_gift_vouchers(core, principal, ref, vouchers)


async def web_gift_vouchers(request: Request, web: WebBasketWrite) -> Response:
    view = await _gift_vouchers(request.method, request, web.core, web.principal, web.ref)
    return await web.respond(view, lambda v: [m.gift_voucher(g) for g in v.gift_vouchers])


_GIFT_VOUCHER_SUMMARIES = {
    "POST": "Add gift vouchers",
    "PUT": "Replace every gift voucher",
    "PATCH": "Change gift vouchers (giftVoucherIds=a,b; none: all)",
}
for _method, _summary in _GIFT_VOUCHER_SUMMARIES.items():
    router.add_api_route(
        "/basket/gift-vouchers",
        web_gift_vouchers,
        methods=[_method],
        summary=_summary,
        response_model=list[s.GiftVoucher],
        responses=_WEB_ERRORS,
        name=f"gift_vouchers_{_method.lower()}",
    )


@router.post(
    "/basket/membership-subscriptions",
    summary="Add memberships for the logged-in customer",
    response_model=list[s.MembershipSubscription],
    responses=_WEB_ERRORS,
)
async def add_memberships(request: Request, web: WebBasketWrite) -> Response:
    items = m.new_membership_subscriptions(await _json(request))
    view = await svc.add_membership_subscriptions(web.core, web.principal, web.ref, items)
    return await web.respond(view, lambda v: _subscriptions(v, owner=False))


def _subscriptions(view: BasketView, *, owner: bool) -> list[dict[str, Any]]:
    return [m.membership_subscription(x, owner=owner) for x in view.membership_subscriptions]


@router.patch(
    "/basket/membership-subscriptions",
    summary="Change membership subscriptions (subscriptionIds=a,b; none: all)",
    response_model=list[s.MembershipSubscription],
    responses=_WEB_ERRORS,
)
async def update_memberships(request: Request, web: WebBasketWrite) -> Response:
    ids = _query_ids(request, "subscriptionIds")
    keys = m.item_ids(m.SUBSCRIPTION_ITEM, ids, "MembershipSubscription") if ids else None
    patch = m.membership_subscription_patch(await _json(request), owner=False)
    view = await svc.update_membership_subscriptions(web.core, web.principal, web.ref, keys, patch)
    return await web.respond(view, lambda v: _subscriptions(v, owner=False))


@router.post(
    "/basket/voucher-payments",
    summary="Pay with a gift voucher (ours): {voucherCode, amount?}",
    response_model=s.Basket,
    responses=_WEB_ERRORS,
)
async def add_voucher_payment(request: Request, web: WebBasketWrite) -> Response:
    if web.new_token:
        raise NotFound("Basket", "none")
    code, amount = m.voucher_payment(await _json(request))
    view = await svc.add_voucher_payment(web.core, web.principal, web.ref, code, amount)
    return await web.respond(view, await _basket_body(web.core, web.principal, view))


@router.post(
    "/basket/credit-payments",
    summary="Pay with the logged-in customer's credit balance (ours): {amount?}",
    response_model=s.Basket,
    responses=_WEB_ERRORS,
)
async def add_credit_payment(request: Request, web: WebBasketWrite) -> Response:
    if web.new_token:
        raise NotFound("Basket", "none")
    amount = m.credit_payment(await _json_or_none(request))
    if web.principal.customer_id is not None:  # the basket is the logged-in customer's first
        current = await svc.get_basket(web.core, web.principal, web.ref)
        await _attach_customer(web.core, web.principal, web.ref, current)
    view = await svc.add_credit_payment(web.core, web.principal, web.ref, amount)
    return await web.respond(view, await _basket_body(web.core, web.principal, view))


@router.post(
    "/basket/clear",
    summary="Empty the basket (its seats go back on sale)",
    response_model=s.Basket,
    responses=_WEB_ERRORS,
)
async def clear_basket(web: WebBasketWrite) -> Response:
    if web.new_token:
        raise NotFound("Basket", "none")
    view = await svc.clear_basket(web.core, web.principal, web.ref)
    return await web.respond(view, await _basket_body(web.core, web.principal, view))


@router.post(
    "/basket/confirm",
    summary="Confirm a basket that costs nothing into an order",
    response_model=s.Order,
    responses=_WEB_ERRORS,
)
async def confirm_basket(request: Request, web: WebBasketWrite) -> Response:
    if web.new_token:
        raise NotFound("Basket", "none")
    confirmation = m.confirmation(await _json_or_none(request))
    order = await svc.confirm(web.core, web.principal, web.ref, confirmation)
    return JSON(await _order_body(web.core, web.principal, order))


# --- System Owner baskets, by id ------------------------------------------------------------


async def _new_basket(core: Core, principal: Principal, data: Any) -> c.NewBasket:
    model, attributes, plain = m.new_basket(data)
    customer = m.ref_text(model.customer)
    items = {k: v for k, v in plain.items() if v is not None}
    return c.NewBasket(
        customer_id=None if not customer else m.customer_id(customer),
        tickets=tuple(await _new_tickets(core, principal, items["tickets"]))
        if items.get("tickets")
        else (),
        merchandise=tuple(m.new_merchandise(items["merchandiseitems"]))
        if items.get("merchandiseitems")
        else (),
        donations=tuple(m.new_donations(items["donations"])) if items.get("donations") else (),
        gift_vouchers=tuple(m.new_gift_vouchers(items["giftvouchers"]))
        if items.get("giftvouchers")
        else (),
        membership_subscriptions=tuple(
            m.new_membership_subscriptions(items["membershipsubscriptions"])
        )
        if items.get("membershipsubscriptions")
        else (),
        custom_payments=tuple(m.new_custom_payment(p) for p in _list(items["custompayments"]))
        if items.get("custompayments")
        else (),
        ticket_delivery=m.delivery(model.ticket_delivery),
        merchandise_delivery=m.delivery(model.merchandise_delivery),
        promo_code=model.promo_code or None,
        attributes=attributes,
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@router.post(
    "/baskets",
    summary="Create a basket (optionally with its customer and first items)",
    response_model=s.Basket,
    responses=_ERRORS,
)
async def create_owner_basket(
    request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    new = await _new_basket(core, principal, await _json_or_none(request))
    view = await svc.create_basket(core, principal, new)
    return JSON(await _basket_body(core, principal, view))


@router.get("/baskets/{basket_id}", summary="A basket", response_model=s.Basket, responses=_ERRORS)
async def get_owner_basket(
    basket_id: str, principal: OwnerPrincipal, core: CoreDep, expand: Expand = None
) -> Response:
    view = await svc.get_basket(core, principal, _owner_ref(basket_id))
    return JSON(await _basket_body(core, principal, view, m.basket_expansions(expand)))


@router.patch(
    "/baskets/{basket_id}",
    summary="Promo code, deliveries, attributes",
    response_model=s.Basket,
    responses=_ERRORS,
)
async def update_owner_basket(
    basket_id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    ref = _owner_ref(basket_id)
    data = await _json(request)
    patch = m.basket_patch(data)
    customer = s.fold_object(s.single_object(data)).get("customer")
    if customer is not None:
        text = customer.get("id") if isinstance(customer, dict) else customer
        if not isinstance(text, str):
            raise InvalidInput("customer", "an id")
        patch = c.BasketPatch(
            promo_code=patch.promo_code,
            ticket_delivery=patch.ticket_delivery,
            merchandise_delivery=patch.merchandise_delivery,
            attributes=patch.attributes,
            customer_id=m.customer_id(text),
        )
    view = await svc.update_basket(core, principal, ref, patch)
    return JSON(await _basket_body(core, principal, view))


@router.post(
    "/baskets/{basket_id}/tickets",
    summary="Add tickets (one array element per ticket)",
    response_model=list[s.BasketTicket],
    responses=_ERRORS,
)
async def add_owner_tickets(
    basket_id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    ref = _owner_ref(basket_id)
    tickets = await _new_tickets(core, principal, await _json(request))
    view = await svc.add_tickets(core, principal, ref, tickets)
    return JSON([m.basket_ticket(t) for t in view.tickets])


@router.patch(
    "/baskets/{basket_id}/tickets",
    summary="Change tickets' type or attributes (ticketIds=a,b; none: all)",
    response_model=list[s.BasketTicket],
    responses=_ERRORS,
)
async def update_owner_tickets(
    basket_id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    ref = _owner_ref(basket_id)
    ids = _query_ids(request, "ticketIds")
    keys = m.item_ids(m.TICKET, ids, "Ticket") if ids else None
    view = await svc.update_tickets(
        core, principal, ref, keys, m.ticket_patch(await _json(request))
    )
    return JSON([m.basket_ticket(t) for t in view.tickets])


@router.delete(
    "/baskets/{basket_id}/tickets",
    summary="Remove tickets (ticketIds=a,b or ticketIds[]=a)",
    response_model=list[s.BasketTicket],
    responses=_ERRORS,
)
async def remove_owner_tickets(
    basket_id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    ref = _owner_ref(basket_id)
    keys = m.item_ids(m.TICKET, _query_ids(request, "ticketIds"), "Ticket")
    if not keys:
        await svc.get_basket(core, principal, ref)  # another tenant's basket: not found first
        raise InvalidInput(m.as_sent("ticketIds"), "required")
    view = await svc.remove_tickets(core, principal, ref, keys)
    return JSON([m.basket_ticket(t) for t in view.tickets])


@router.post(
    "/baskets/{basket_id}/tickets/best-available",
    summary="Add the best available seats of an instance",
    response_model=list[s.BasketTicket],
    responses=_ERRORS,
)
async def add_best_available(
    basket_id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    ref = _owner_ref(basket_id)
    model = s.validate(s.BestAvailable, s.fold_object(s.single_object(await _json(request))))
    instance_id = m.body_catalogue_id(m.INSTANCE, model.instance, "instance")
    assert instance_id is not None
    area_id = None
    if model.seating_plan is not None:
        plan = await seating.instance_plan(core, principal, instance_id)
        area_id = m.seating_plan_area(plan, model.seating_plan)
    view = await svc.add_best_available(
        core,
        principal,
        ref,
        instance_id,
        model.quantity,
        area_id=area_id,
        ticket_type_id=m.ticket_type_ref(model),
    )
    return JSON([m.basket_ticket(t) for t in view.tickets])


@router.post(
    "/baskets/{basket_id}/merchandise",
    summary="Add merchandise (one array element per unit)",
    response_model=list[s.MerchandiseItem],
    responses=_ERRORS,
)
async def add_owner_merchandise(
    basket_id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    ref = _owner_ref(basket_id)
    view = await svc.add_merchandise(core, principal, ref, m.new_merchandise(await _json(request)))
    return JSON([m.merchandise_item(i) for i in view.merchandise_items])


@router.post(
    "/baskets/{basket_id}/donations",
    summary="Add donations",
    response_model=list[s.Donation],
    responses=_ERRORS,
)
async def add_owner_donations(
    basket_id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    ref = _owner_ref(basket_id)
    view = await svc.add_donations(core, principal, ref, m.new_donations(await _json(request)))
    return JSON([m.donation(d) for d in view.donations])


@router.patch(
    "/baskets/{basket_id}/donations",
    summary="Change donations (donationIds=a,b; none: all); answers every donation",
    response_model=list[s.Donation],
    responses=_ERRORS,
)
async def update_owner_donations(
    basket_id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    ref = _owner_ref(basket_id)
    ids = _query_ids(request, "donationIds")
    keys = m.item_ids(m.DONATION, ids, "Donation") if ids else None
    patch = m.donation_patch(await _json(request))
    view = await svc.update_donations(core, principal, ref, keys, patch)
    return JSON([m.donation(d) for d in view.donations])


async def owner_gift_vouchers(
    basket_id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    ref = _owner_ref(basket_id)
    view = await _gift_vouchers(request.method, request, core, principal, ref)
    return JSON([m.gift_voucher(g) for g in view.gift_vouchers])


for _method, _summary in _GIFT_VOUCHER_SUMMARIES.items():
    router.add_api_route(
        "/baskets/{basket_id}/gift-vouchers",
        owner_gift_vouchers,
        methods=[_method],
        summary=_summary,
        response_model=list[s.GiftVoucher],
        responses=_ERRORS,
        name=f"owner_gift_vouchers_{_method.lower()}",
    )


@router.get(
    "/baskets/{basket_id}/membership-subscriptions",
    summary="The basket's membership subscriptions",
    response_model=list[s.MembershipSubscription],
    responses=_ERRORS,
)
async def get_owner_memberships(
    basket_id: str, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    view = await svc.get_basket(core, principal, _owner_ref(basket_id))
    return JSON(_subscriptions(view, owner=True))


@router.post(
    "/baskets/{basket_id}/membership-subscriptions",
    summary="Add memberships for the basket's customer",
    response_model=list[s.MembershipSubscription],
    responses=_ERRORS,
)
async def add_owner_memberships(
    basket_id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    ref = _owner_ref(basket_id)
    items = m.new_membership_subscriptions(await _json(request))
    view = await svc.add_membership_subscriptions(core, principal, ref, items)
    return JSON(_subscriptions(view, owner=True))


@router.patch(
    "/baskets/{basket_id}/membership-subscriptions",
    summary="Change membership subscriptions (subscriptionIds=a,b; none: all)",
    response_model=list[s.MembershipSubscription],
    responses=_ERRORS,
)
async def update_owner_memberships(
    basket_id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    ref = _owner_ref(basket_id)
    ids = _query_ids(request, "subscriptionIds")
    keys = m.item_ids(m.SUBSCRIPTION_ITEM, ids, "MembershipSubscription") if ids else None
    patch = m.membership_subscription_patch(await _json(request), owner=True)
    view = await svc.update_membership_subscriptions(core, principal, ref, keys, patch)
    return JSON(_subscriptions(view, owner=True))


@router.get(
    "/baskets/{basket_id}/custom-payments",
    summary="Money taken elsewhere, recorded on the basket",
    response_model=list[s.CustomPayment],
    responses=_ERRORS,
)
async def get_custom_payments(basket_id: str, principal: OwnerPrincipal, core: CoreDep) -> Response:
    view = await svc.get_basket(core, principal, _owner_ref(basket_id))
    return JSON([m.custom_payment(p) for p in view.custom_payments])


@router.post(
    "/baskets/{basket_id}/custom-payments",
    summary="Record money taken elsewhere (one object); answers every custom payment",
    response_model=list[s.CustomPayment],
    responses=_ERRORS,
)
async def add_custom_payment(
    basket_id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    ref = _owner_ref(basket_id)
    payment = m.new_custom_payment(await _json(request))
    view = await svc.add_custom_payment(core, principal, ref, payment)
    return JSON([m.custom_payment(p) for p in view.custom_payments])


@router.post(
    "/baskets/{basket_id}/voucher-payments",
    summary="Pay with a gift voucher (ours): {voucherCode, amount?}",
    response_model=s.Basket,
    responses=_ERRORS,
)
async def add_owner_voucher_payment(
    basket_id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    code, amount = m.voucher_payment(await _json(request))
    view = await svc.add_voucher_payment(core, principal, _owner_ref(basket_id), code, amount)
    return JSON(await _basket_body(core, principal, view))


@router.post(
    "/baskets/{basket_id}/credit-payments",
    summary="Pay with the basket's customer's credit balance (ours): {amount?}",
    response_model=s.Basket,
    responses=_ERRORS,
)
async def add_owner_credit_payment(
    basket_id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    amount = m.credit_payment(await _json_or_none(request))
    view = await svc.add_credit_payment(core, principal, _owner_ref(basket_id), amount)
    return JSON(await _basket_body(core, principal, view))


@router.post(
    "/baskets/{basket_id}/clear",
    summary="Empty the basket (payments stay)",
    response_model=s.Basket,
    responses=_ERRORS,
)
async def clear_owner_basket(basket_id: str, principal: OwnerPrincipal, core: CoreDep) -> Response:
    view = await svc.clear_basket(core, principal, _owner_ref(basket_id))
    return JSON(await _basket_body(core, principal, view))


@router.post(
    "/baskets/{basket_id}/confirm",
    summary="Confirm the basket into an order (its payments must cover its total)",
    response_model=s.Order,
    responses=_ERRORS,
)
async def confirm_owner_basket(
    basket_id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    ref = _owner_ref(basket_id)
    confirmation = m.confirmation(await _json_or_none(request))
    order = await svc.confirm(core, principal, ref, confirmation)
    return JSON(await _order_body(core, principal, order))


# --- orders -----------------------------------------------------------------------------------


async def order_reader(request: Request, client: str) -> Principal:
    """A System Owner, or the customer logged in on this browser (their own orders only)."""
    principal = await any_principal(request, client)
    if principal.full_access:
        return principal
    customer_id = await accounts.session_customer(
        core_of(request), principal.tenant_id, session_token(request)
    )
    if customer_id is None:
        raise Unauthenticated("no customer is logged in")
    return accounts.customer_principal(principal.tenant_id, customer_id)


OrderReader = Annotated[Principal, Depends(order_reader)]


@router.get(
    "/orders",
    summary="Orders confirmed on a day (confirmedOn=YYYY-MM-DD, the venue's calendar day)",
    response_model=list[s.Order],
    responses=_ERRORS,
)
async def list_orders(
    principal: OwnerPrincipal,
    core: CoreDep,
    confirmed_on: Annotated[
        str | None, Query(alias="confirmedOn", description="YYYY-MM-DD")
    ] = None,
    expand: Expand = None,
) -> Response:
    day = m.filter_date("confirmedOn", confirmed_on)
    if day is None:
        raise InvalidInput(m.as_sent("confirmedOn"), "required")
    if isinstance(day, datetime):
        day = day.date()
    orders = await orders_service.list_orders_confirmed_on(core, principal, day)
    expansions = m.basket_expansions(expand)
    return JSON([await _order_body(core, principal, o, expansions) for o in orders])


@router.get(
    "/orders/{order_id}",
    summary="An order (System Owner, or the logged-in customer's own)",
    response_model=s.Order,
    responses=_ERRORS,
)
async def get_order(
    order_id: str, principal: OrderReader, core: CoreDep, expand: Expand = None
) -> Response:
    key = m.catalogue_id(m.ORDER, order_id, "Order")
    view = await orders_service.get_order(core, principal, key)
    return JSON(await _order_body(core, principal, view, m.basket_expansions(expand)))


@router.post(
    "/orders/{order_id}/returns",
    summary="Return tickets of an order (ours): seats back on sale, the refund recorded",
    response_model=s.Order,
    responses=_ERRORS,
)
async def return_tickets(
    order_id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    key = m.catalogue_id(m.ORDER, order_id, "Order")
    ticket_ids, refund = m.ticket_return(await _json(request))
    view = await svc.return_tickets(core, principal, key, ticket_ids, refund=refund)
    return JSON(await _order_body(core, principal, view))


@router.post(
    "/customers/{id}/redeem-gift-voucher",
    summary="Turn a gift voucher's balance into the customer's account credit",
    responses=_ERRORS,
)
async def redeem_gift_voucher(
    id: str, request: Request, principal: OwnerPrincipal, core: CoreDep
) -> Response:
    key = m.customer_id(id)
    code = m.gift_voucher_redemption(await _json(request))
    amount, credit = await svc.redeem_gift_voucher(core, principal, key, code)
    return JSON(m.redeemed(amount, credit))


@router.post(
    "/customer/redeem-gift-voucher",
    summary="Turn a gift voucher's balance into the logged-in customer's account credit",
    responses=_ERRORS,
)
async def redeem_my_gift_voucher(
    request: Request, principal: WebCustomer, core: CoreDep
) -> Response:
    code = m.gift_voucher_redemption(await _json(request))
    assert principal.customer_id is not None
    amount, credit = await svc.redeem_gift_voucher(core, principal, principal.customer_id, code)
    return JSON(m.redeemed(amount, credit))


async def customer_orders(
    core: Core, principal: Principal, customer_id: int, expand: str | None
) -> Response:
    """``customers/{id}/orders`` and ``customer/orders`` (their routes are with the customer's)."""
    orders = await orders_service.list_customer_orders(core, principal, customer_id)
    expansions = m.basket_expansions(expand)
    return JSON([await _order_body(core, principal, o, expansions) for o in orders])
