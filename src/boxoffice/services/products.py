"""Products: funds, stock items, memberships for sale, gift voucher types, offers and promo
codes. Amounts are kept in minor units and shown as ``Decimal``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, select, update

from boxoffice.domain.errors import InvalidInput, NotFound, PermissionDenied
from boxoffice.domain.ids import is_key
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import (
    FundView,
    GiftVoucherTypeView,
    MembershipForSaleView,
    MembershipView,
    OfferView,
    StockItemView,
)
from boxoffice.services.catalogue_sales import MAX_STOCK_LEVEL, money
from boxoffice.services.core import Core
from boxoffice.services.inventory import checked_quantity
from boxoffice.store.models import (
    Fund,
    GiftVoucherType,
    Membership,
    Offer,
    OfferEvent,
    OfferTicketType,
    PromoCode,
    StockItem,
)
from boxoffice.store.repositories import storable
from boxoffice.store.scoping import of_tenant
from boxoffice.store.uow import UnitOfWork

_FUNDS: Any = (
    select(Fund.id, Fund.name, Fund.description, Fund.code, Fund.default_amount_minor)
    .where(of_tenant(Fund))
    .order_by(Fund.name)
)
_STOCK: Any = (
    select(
        StockItem.id,
        StockItem.name,
        StockItem.description,
        StockItem.price_minor,
        StockItem.stock_level,
        StockItem.image_url,
        StockItem.thumbnail_url,
    )
    .where(of_tenant(StockItem))
    .order_by(StockItem.name)
)
_MEMBERSHIP_COLUMNS = (
    Membership.id,
    Membership.name,
    Membership.description,
    Membership.html_description,
    Membership.image_url,
    Membership.thumbnail_url,
    Membership.price_minor,
    Membership.renewal_price_minor,
    Membership.duration_months,
    Membership.auto_renew_available,
)
_MEMBERSHIPS: Any = (
    select(*_MEMBERSHIP_COLUMNS).where(of_tenant(Membership)).order_by(Membership.name)
)
_MEMBERSHIP: Any = select(*_MEMBERSHIP_COLUMNS).where(
    of_tenant(Membership), Membership.id == bindparam("membership_id")
)
_VOUCHERS: Any = (
    select(
        GiftVoucherType.id,
        GiftVoucherType.name,
        GiftVoucherType.amount_minor,
        GiftVoucherType.min_minor,
        GiftVoucherType.max_minor,
    )
    .where(of_tenant(GiftVoucherType))
    .order_by(GiftVoucherType.id)
)
_OFFERS: Any = (
    select(
        Offer.id,
        Offer.name,
        Offer.description,
        Offer.percent_off,
        Offer.amount_off_minor,
        Offer.active,
    )
    .where(of_tenant(Offer))
    .order_by(Offer.name)
)
_OFFER_EVENTS: Any = select(OfferEvent.offer_id, OfferEvent.event_id).where(of_tenant(OfferEvent))
_OFFER_TYPES: Any = select(OfferTicketType.offer_id, OfferTicketType.ticket_type_id).where(
    of_tenant(OfferTicketType)
)
_CODES: Any = select(PromoCode.offer_id, PromoCode.code).where(of_tenant(PromoCode))
_CODE: Any = (
    select(PromoCode.offer_id)
    .join(Offer, and_(Offer.tenant_id == PromoCode.tenant_id, Offer.id == PromoCode.offer_id))
    .where(of_tenant(PromoCode, Offer), PromoCode.code == bindparam("code"), Offer.active)
)


async def list_funds(core: Core, principal: Principal) -> tuple[FundView, ...]:
    async with core.read(principal.tenant_id) as uow:
        rows = await uow.rows(_FUNDS)
    return tuple(
        FundView(
            id=r.id,
            name=r.name,
            description=r.description,
            code=r.code,
            default_amount=money(r.default_amount_minor),
        )
        for r in rows
    )


async def list_stock_items(core: Core, principal: Principal) -> tuple[StockItemView, ...]:
    async with core.read(principal.tenant_id) as uow:
        rows = await uow.rows(_STOCK)
    return tuple(
        StockItemView(
            id=r.id,
            name=r.name,
            description=r.description,
            price=money(r.price_minor or 0) or Decimal("0.00"),
            stock_level=r.stock_level,
            image_url=r.image_url,
            thumbnail_url=r.thumbnail_url,
        )
        for r in rows
    )


def _membership(r: Any) -> MembershipForSaleView:
    return MembershipForSaleView(
        membership=MembershipView(
            r.id, r.name, r.description, r.html_description, r.image_url, r.thumbnail_url
        ),
        price=money(r.price_minor),
        renewal_price=money(r.renewal_price_minor),
        duration_months=r.duration_months,
        auto_renew_available=r.auto_renew_available,
    )


async def list_memberships_for_sale(
    core: Core, principal: Principal
) -> tuple[MembershipForSaleView, ...]:
    """Every membership, with its price (None: not for sale)."""
    async with core.read(principal.tenant_id) as uow:
        rows = await uow.rows(_MEMBERSHIPS)
    return tuple(_membership(r) for r in rows)


async def get_membership_for_sale(
    core: Core, principal: Principal, membership_id: int
) -> MembershipForSaleView:
    if not is_key(membership_id):  # no row has it (nor could the database hold it)
        raise NotFound("membership", membership_id)
    async with core.read(principal.tenant_id) as uow:
        row = await uow.first(_MEMBERSHIP, {"membership_id": membership_id})
    if row is None:
        raise NotFound("membership", membership_id)
    return _membership(row)


async def list_gift_voucher_types(
    core: Core, principal: Principal
) -> tuple[GiftVoucherTypeView, ...]:
    async with core.read(principal.tenant_id) as uow:
        rows = await uow.rows(_VOUCHERS)
    return tuple(
        GiftVoucherTypeView(
            id=r.id,
            name=r.name,
            amount=money(r.amount_minor),
            min_amount=money(r.min_minor),
            max_amount=money(r.max_minor),
        )
        for r in rows
    )


async def list_offers(core: Core, principal: Principal) -> tuple[OfferView, ...]:
    """The offers and their rules, for the System Owner (their promo codes are not public).
    Four statements."""
    if not principal.full_access:
        raise PermissionDenied("offers are for the System Owner")
    async with core.read(principal.tenant_id) as uow:
        offers = await uow.rows(_OFFERS)
        events = await uow.rows(_OFFER_EVENTS)
        types = await uow.rows(_OFFER_TYPES)
        codes = await uow.rows(_CODES)
    return tuple(
        OfferView(
            id=o.id,
            name=o.name,
            description=o.description,
            percent_off=o.percent_off,
            amount_off=money(o.amount_off_minor),
            event_ids=tuple(sorted(e.event_id for e in events if e.offer_id == o.id)),
            ticket_type_ids=tuple(sorted(t.ticket_type_id for t in types if t.offer_id == o.id)),
            promo_codes=tuple(sorted(c.code for c in codes if c.offer_id == o.id)),
            active=o.active,
        )
        for o in offers
    )


def clean_promo_code(code: str) -> str | None:
    """A promo code as codes are kept (capitals, no surrounding spaces); None for one no code
    can be."""
    clean = code.strip().upper()
    return clean if 0 < len(clean) <= 100 and storable(clean) else None


async def promo_offer_id(uow: UnitOfWork, code: str) -> int | None:
    """The active offer a promo code unlocks (:func:`clean_promo_code`), in the caller's unit
    of work; None when none does. One statement."""
    clean = clean_promo_code(code)
    found = await uow.first(_CODE, {"code": clean}) if clean is not None else None
    return None if found is None else int(found.offer_id)


async def offer_for_promo_code(core: Core, principal: Principal, code: str) -> OfferView:
    """The active offer a promo code unlocks (matched without regard to case or surrounding
    spaces); ``NotFound`` otherwise. For the basket, in any mode."""
    clean = clean_promo_code(code)
    async with core.read(principal.tenant_id) as uow:
        found = await uow.first(_CODE, {"code": clean}) if clean is not None else None
    if found is None:
        raise NotFound("promo code", code)
    owner = Principal(tenant_id=principal.tenant_id, actor=principal.actor, full_access=True)
    for offer in await list_offers(core, owner):
        if offer.id == found.offer_id:
            return offer
    raise NotFound("promo code", code)


# --- stock, inside the caller's writing unit of work (the basket's) ----------------------------

_STOCK_TABLE = cast(Table, StockItem.__table__)


async def _change_stock(uow: UnitOfWork, stock_item_id: int, change: int) -> bool:
    if type(uow.tenant_id) is not int:
        raise InvalidInput("tenant", "a unit of work of one tenant")
    if not is_key(stock_item_id):
        return False
    stmt = (
        update(_STOCK_TABLE)
        .where(
            _STOCK_TABLE.c.tenant_id == uow.tenant_id,
            _STOCK_TABLE.c.id == stock_item_id,
            # Compared without adding to the level first (no integer overflow).
            _STOCK_TABLE.c.stock_level >= -change
            if change < 0
            else _STOCK_TABLE.c.stock_level <= MAX_STOCK_LEVEL - change,
        )
        .values(stock_level=_STOCK_TABLE.c.stock_level + change)
    )
    result: Any = await uow.session.execute(stmt)
    return bool(result.rowcount == 1)


async def take_stock(uow: UnitOfWork, stock_item_id: int, quantity: int) -> bool:
    """Take ``quantity`` units of a stock item (a conditional ``UPDATE``, as seats are held:
    decision 0120); False when fewer are left or the item is unknown."""
    checked_quantity(quantity)
    return await _change_stock(uow, stock_item_id, -quantity)


async def return_stock(uow: UnitOfWork, stock_item_id: int, quantity: int) -> bool:
    """Put ``quantity`` units back (a released basket); False for an unknown item (or one
    whose level would pass ``MAX_STOCK_LEVEL``)."""
    checked_quantity(quantity)
    return await _change_stock(uow, stock_item_id, quantity)
