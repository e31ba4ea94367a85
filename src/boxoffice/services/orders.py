"""Orders: what a customer bought, for every dialect.

No sale is recorded yet (the booking journey is to come), so a customer's orders are an empty
list. Who may ask is checked already: an unknown customer, another tenant's, or one that a
customer session does not reach is not found, as for every other read of a customer.
"""

from __future__ import annotations

from boxoffice.domain.principal import Principal
from boxoffice.services import customers
from boxoffice.services.core import Core


async def list_customer_orders(core: Core, principal: Principal, customer_id: int) -> tuple[()]:
    """The customer's orders (none yet); ``NotFound`` for a customer the principal does not
    reach. One read: the customer's snapshot."""
    await customers.get_customer(core, principal, customer_id)
    return ()
