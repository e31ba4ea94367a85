"""Pricing: ticket types, price bands and price lists (an amount per ticket type x band)."""

from __future__ import annotations

from boxoffice.domain.principal import Principal
from boxoffice.domain.views import BandView, PriceListView, TicketTypeView
from boxoffice.services.core import Core


async def instance_price_list(core: Core, principal: Principal, instance_id: int) -> PriceListView:
    raise NotImplementedError


async def list_ticket_types(core: Core, principal: Principal) -> tuple[TicketTypeView, ...]:
    raise NotImplementedError


async def list_bands(core: Core, principal: Principal) -> tuple[BandView, ...]:
    raise NotImplementedError
