"""Orders: what a customer bought, for every dialect.

An order is a confirmed basket (same id; ``services/baskets.py``, decision 0124): it is read as
the basket is, with what confirmation kept (barcodes, discounts, codes, subscriptions). Who may
ask is checked as for every other read: an unknown order or customer, another tenant's, or one
that a customer session does not reach is not found.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import bindparam, select

from boxoffice.domain.errors import NotFound, PermissionDenied
from boxoffice.domain.ids import is_key
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import OrderView
from boxoffice.services import baskets, customers
from boxoffice.services.core import Core
from boxoffice.store.models import Basket
from boxoffice.store.scoping import of_tenant

#: The most orders one listing returns.
LIST_LIMIT = 500
_ON_DAY: Any = (
    select(*baskets.BASKET_COLUMNS)
    .where(
        of_tenant(Basket),
        Basket.confirmed_on == bindparam("day"),
        Basket.state == baskets.CONFIRMED,
    )
    .order_by(Basket.confirmed_at, Basket.id)
    .limit(LIST_LIMIT)
)
_OF_CUSTOMER: Any = (
    select(*baskets.BASKET_COLUMNS)
    .where(
        of_tenant(Basket),
        Basket.customer_id == bindparam("customer_id"),
        Basket.state == baskets.CONFIRMED,
    )
    .order_by(Basket.confirmed_at.desc(), Basket.id)
    .limit(LIST_LIMIT)
)


_ALL_OF_CUSTOMER: Any = (
    select(*baskets.BASKET_COLUMNS)
    .where(
        of_tenant(Basket),
        Basket.customer_id == bindparam("customer_id"),
        Basket.state == baskets.CONFIRMED,
    )
    .order_by(Basket.confirmed_at, Basket.id)
)


async def every_order_of(uow: Any, customer_id: int) -> tuple[OrderView, ...]:
    """Every order of the customer, oldest first, without limit (the data-protection export,
    inside its unit of work): one statement, and one per kind of item any of them has."""
    return await baskets.orders_of(
        uow, await uow.rows(_ALL_OF_CUSTOMER, {"customer_id": customer_id})
    )


async def get_order(core: Core, principal: Principal, order_id: int) -> OrderView:
    """An order. ``NotFound``: unknown, another tenant's, not confirmed, or (a customer
    session; Web mode without one) another customer's. One statement, and one per kind of item
    the order has."""
    if type(order_id) is not int or not is_key(order_id):
        raise NotFound("order", order_id)
    async with core.read(principal.tenant_id) as uow:
        found = await baskets.read_orders(uow, [order_id])
    if not found or not (
        principal.full_access
        or (principal.customer_id is not None and found[0].customer_id == principal.customer_id)
    ):
        raise NotFound("order", order_id)
    return found[0]


async def list_orders_confirmed_on(
    core: Core, principal: Principal, day: date
) -> tuple[OrderView, ...]:
    """The orders confirmed on ``day`` (the tenant's local calendar day), in confirmation
    order (at most :data:`LIST_LIMIT`). System Owner only (``PermissionDenied``)."""
    if not principal.full_access:
        raise PermissionDenied("orders by day are for the System Owner")
    async with core.read(principal.tenant_id) as uow:
        return await baskets.orders_of(uow, await uow.rows(_ON_DAY, {"day": day}))


async def list_customer_orders(
    core: Core, principal: Principal, customer_id: int
) -> tuple[OrderView, ...]:
    """The customer's orders, newest first (at most :data:`LIST_LIMIT`); ``NotFound`` for a
    customer the principal does not reach."""
    await customers.get_customer(core, principal, customer_id)
    async with core.read(principal.tenant_id) as uow:
        rows = await uow.rows(_OF_CUSTOMER, {"customer_id": customer_id})
        return await baskets.orders_of(uow, rows)
