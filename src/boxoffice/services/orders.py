"""Orders: what a customer bought, for every dialect.

An order is a confirmed basket (same id; ``services/baskets.py``, decision 0124). Who may ask is
checked as for every other read: an unknown order or customer, another tenant's, or one that a
customer session does not reach is not found.
"""

from __future__ import annotations

from datetime import date

from boxoffice.domain.principal import Principal
from boxoffice.domain.views import OrderView
from boxoffice.services import customers
from boxoffice.services.core import Core


async def get_order(core: Core, principal: Principal, order_id: int) -> OrderView:
    """An order. ``NotFound``: unknown, another tenant's, or (a customer session) another
    customer's."""
    raise NotImplementedError


async def list_orders_confirmed_on(
    core: Core, principal: Principal, day: date
) -> tuple[OrderView, ...]:
    """The orders confirmed on ``day`` (the tenant's local calendar day), in confirmation
    order. System Owner only (``PermissionDenied``)."""
    raise NotImplementedError


async def list_customer_orders(
    core: Core, principal: Principal, customer_id: int
) -> tuple[OrderView, ...]:
    """The customer's orders, newest first; ``NotFound`` for a customer the principal does not
    reach."""
    await customers.get_customer(core, principal, customer_id)
    return ()
