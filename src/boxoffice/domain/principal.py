"""Who is calling, on behalf of which tenant."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: int
    #: For the timeline and logs: ``api-user:<login>``, ``customer``, ``cli``, ``web``...
    actor: str
    #: System Owner access: sees internal tag groups, hidden attributes, every customer.
    full_access: bool
    #: A customer session or token is limited to its own customer.
    customer_id: int | None = None
