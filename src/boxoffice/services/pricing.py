"""Pricing: ticket types, price bands and price lists (an amount per ticket type x band).

An instance's price list is read as the instance (Web mode: only a web-visible one; else
``NotFound``) and then its prices with their ticket types and bands, in band then ticket-type
order. Amounts are kept in minor units and shown as ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Boolean, and_, bindparam, select

from boxoffice.domain.errors import NotFound
from boxoffice.domain.ids import is_key
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import BandView, PriceListView, PriceView, TicketTypeView
from boxoffice.services.catalogue_sales import money
from boxoffice.services.core import Core
from boxoffice.services.programme import Definitions, definitions
from boxoffice.store.models import Instance, Price, PriceBand, PriceList, TicketType
from boxoffice.store.scoping import of_tenant

_INSTANCE_LIST: Any = (
    select(PriceList.id, PriceList.name)
    .join(
        Instance,
        and_(Instance.tenant_id == PriceList.tenant_id, Instance.price_list_id == PriceList.id),
    )
    .where(
        of_tenant(PriceList, Instance),
        Instance.id == bindparam("instance_id"),
        Instance.web_visible | bindparam("all_instances", type_=Boolean),
    )
)
#: Prices with their ticket types and bands (of any list).
_PRICE_ROWS: Any = (
    select(
        Price.id,
        Price.amount_minor,
        Price.is_band_default,
        TicketType.id.label("type_id"),
        TicketType.name.label("type_name"),
        TicketType.attributes.label("type_attributes"),
        PriceBand.id.label("band_id"),
        PriceBand.name.label("band_name"),
    )
    .join(
        TicketType,
        and_(TicketType.tenant_id == Price.tenant_id, TicketType.id == Price.ticket_type_id),
    )
    .join(PriceBand, and_(PriceBand.tenant_id == Price.tenant_id, PriceBand.id == Price.band_id))
    .where(of_tenant(Price, TicketType, PriceBand))
)
_PRICES: Any = _PRICE_ROWS.where(Price.price_list_id == bindparam("price_list_id")).order_by(
    PriceBand.position, PriceBand.id, TicketType.position, TicketType.id
)
_TICKET_TYPES: Any = (
    select(TicketType.id, TicketType.name, TicketType.attributes)
    .where(of_tenant(TicketType))
    .order_by(TicketType.position, TicketType.id)
)
_BANDS: Any = (
    select(PriceBand.id, PriceBand.name)
    .where(of_tenant(PriceBand))
    .order_by(PriceBand.position, PriceBand.id)
)


def _ticket_type(type_id: int, name: str, attributes: Any, defs: Definitions) -> TicketTypeView:
    return TicketTypeView(
        id=type_id, name=name, attributes=defs.values("ticket_type", attributes or {})
    )


async def instance_price_list(core: Core, principal: Principal, instance_id: int) -> PriceListView:
    """The price list of an instance the principal sees (``NotFound`` otherwise). Three
    statements: the attribute definitions, the list, its prices."""
    if not is_key(instance_id):  # no row has it (nor could the database hold it)
        raise NotFound("instance", instance_id)
    async with core.read(principal.tenant_id) as uow:
        found = await uow.first(
            _INSTANCE_LIST, {"instance_id": instance_id, "all_instances": principal.full_access}
        )
        if found is None:
            raise NotFound("instance", instance_id)
        defs = await definitions(uow)
        rows = await uow.rows(_PRICES, {"price_list_id": found.id})
    return PriceListView(id=found.id, name=found.name, prices=tuple(_price(r, defs) for r in rows))


#: Price lists by id, each with its prices (none: one row without a price).
_LISTS_PRICED: Any = (
    _PRICE_ROWS.add_columns(
        Price.price_list_id,
        PriceBand.position.label("band_position"),
        TicketType.position.label("type_position"),
    )
    .where(Price.price_list_id.in_(bindparam("price_list_ids", expanding=True)))
    .subquery("priced")
)
_LISTS_PRICES: Any = (
    select(PriceList.id.label("list_id"), PriceList.name.label("list_name"), _LISTS_PRICED)
    .outerjoin(_LISTS_PRICED, _LISTS_PRICED.c.price_list_id == PriceList.id)
    .where(of_tenant(PriceList), PriceList.id.in_(bindparam("price_list_ids", expanding=True)))
    .order_by(
        PriceList.id,
        _LISTS_PRICED.c.band_position,
        _LISTS_PRICED.c.band_id,
        _LISTS_PRICED.c.type_position,
        _LISTS_PRICED.c.type_id,
    )
)


def _price(r: Any, defs: Definitions) -> PriceView:
    amount = money(r.amount_minor)
    assert amount is not None
    return PriceView(
        id=r.id,
        amount=amount,
        is_band_default=r.is_band_default,
        ticket_type=_ticket_type(r.type_id, r.type_name, r.type_attributes, defs),
        band=BandView(id=r.band_id, name=r.band_name),
    )


async def price_lists(
    core: Core, principal: Principal, price_list_ids: Collection[int]
) -> dict[int, PriceListView]:
    """The price lists of instances the principal sees (an instance's ``$expand=priceList``),
    by id, each with its prices in band then ticket-type order (a list without prices: none).
    Two statements: the attribute definitions, the lists' prices."""
    if not price_list_ids:
        return {}
    async with core.read(principal.tenant_id) as uow:
        defs = await definitions(uow)
        rows = await uow.rows(_LISTS_PRICES, {"price_list_ids": sorted(price_list_ids)})
    names: dict[int, str] = {}
    prices: dict[int, list[PriceView]] = {}
    for r in rows:
        names[r.list_id] = r.list_name
        of_list = prices.setdefault(r.list_id, [])
        if r.id is not None:
            of_list.append(_price(r, defs))
    return {
        key: PriceListView(id=key, name=names[key], prices=tuple(p)) for key, p in prices.items()
    }


async def list_ticket_types(core: Core, principal: Principal) -> tuple[TicketTypeView, ...]:
    async with core.read(principal.tenant_id) as uow:
        defs = await definitions(uow)
        rows = await uow.rows(_TICKET_TYPES)
    return tuple(_ticket_type(r.id, r.name, r.attributes, defs) for r in rows)


async def list_bands(core: Core, principal: Principal) -> tuple[BandView, ...]:
    async with core.read(principal.tenant_id) as uow:
        rows = await uow.rows(_BANDS)
    return tuple(BandView(id=r.id, name=r.name) for r in rows)
