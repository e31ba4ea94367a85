"""Baskets: holds, offers and checkout (issue 18, decision 0124).

A basket is one row (``baskets``) and its items (``basket_tickets``, ``basket_merchandise``,
``basket_donations``, ``basket_gift_vouchers``, ``basket_memberships``, ``basket_payments``).
A web basket is found by its session's token (only a hash of it is stored) and created by the
first add; an Owner basket is created by :func:`create_basket` and found by id. Every write is
one transaction: a refused add (seat taken, sold out, off sale...) raises a domain error and
changes nothing, seats and places included.

Holds: adding a ticket holds its seat (or a place of its unreserved area) for the basket in the
same transaction, through the inventory's batch operations (``inventory.hold_seats``: the seat
rows locked in seat-id order, then the areas' counts in area-id order, so two baskets never
wait for each other in a cycle). A merchandise item takes its unit of stock. Each write
restarts the hold clock (``expires_at = now + basket_hold_minutes``) unless the basket holds a
payment (then it never expires). :func:`release_expired` gives back what expired baskets held.

Offers: the basket's promo code unlocks an offer; :func:`ticket_discount` (the one place a
discount is computed) gives each ticket's ``discount``, and :func:`read_basket` the totals.

Confirmation turns the basket into an order (same id) in one transaction: seats and places
sold, barcodes given, donations, memberships and gift vouchers issued, payments kept.

Payments: custom payments (money taken elsewhere, System Owner), a gift voucher's balance
(:func:`add_voucher_payment`) and the customer's credit balance (:func:`add_credit_payment`);
the last two are taken at confirmation by conditional updates, so one balance is never spent
twice. :func:`redeem_gift_voucher` moves a voucher's whole balance into a customer's credit.

Returns (:func:`return_tickets`, System Owner): an order's tickets are marked returned (kept in
the order, outside its total), their seats and places go from sold back on sale, and the refund
is a custom payment of a negative amount. Erasure (``services/erasure.py``) blanks what a
customer typed into their baskets and orders (:func:`blank_personal_text`).

Every write locks in one order (decision 0124): the basket's row, then instances in id order
(each one's seats as a batch, then its unreserved areas' places in area-id order), then stock.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Any, cast

import structlog
from sqlalchemy import Table, and_, bindparam, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from boxoffice.domain.commands import (
    UNSET,
    BasketPatch,
    BasketRef,
    Confirmation,
    DonationPatch,
    GiftVoucherPatch,
    MembershipSubscriptionPatch,
    NewBasket,
    NewCustomPayment,
    NewDelivery,
    NewDonation,
    NewGiftVoucher,
    NewMembershipSubscription,
    NewMerchandise,
    NewTicket,
    TicketPatch,
)
from boxoffice.domain.errors import (
    CANCELLED,
    NO_BEST_AVAILABLE,
    OFF_SALE,
    REQUIRED,
    SEAT_TAKEN,
    SOLD_OUT,
    STOCK_EXHAUSTED,
    TOO_MANY,
    UNKNOWN,
    Conflict,
    InvalidInput,
    MembershipHeld,
    NotAvailable,
    NotFound,
    PaymentRequired,
    PermissionDenied,
)
from boxoffice.domain.ids import is_key, new_row_key
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import (
    AppliedOfferView,
    BasketDonationView,
    BasketGiftVoucherView,
    BasketMembershipSubscriptionView,
    BasketMerchandiseView,
    BasketTicketView,
    BasketView,
    CustomPaymentView,
    DeliveryView,
    OrderView,
    TenantView,
)
from boxoffice.services import inventory, mail, products
from boxoffice.services.catalogue_sales import time_zone, utc_to_local
from boxoffice.services.core import Core
from boxoffice.store.models import (
    Basket,
    BasketDonation,
    BasketGiftVoucher,
    BasketMembership,
    BasketMerchandise,
    BasketPayment,
    BasketTicket,
    Customer,
    CustomerSubscription,
    Event,
    Fund,
    GiftVoucherType,
    Instance,
    InstanceSeat,
    Membership,
    Offer,
    OfferEvent,
    OfferTicketType,
    PlanArea,
    Price,
    PriceBand,
    Seat,
    SeatingPlan,
    StockItem,
    Tenant,
    TicketType,
)
from boxoffice.store.scoping import TENANT_PARAM, of_tenant
from boxoffice.store.uow import UnitOfWork

log = structlog.get_logger("boxoffice.baskets")

#: The customer's timeline entry of a confirmed order (data: ``order``, ``total``, ``tickets``),
#: shown by the brand/channel timeline too.
ORDER_CONFIRMED = "order_confirmed"
#: Hold time when the tenant's settings name none (``basket_hold_minutes``).
DEFAULT_HOLD_MINUTES = 15
#: The most tickets one basket may hold when the tenant's settings name no other
#: (``basket_max_tickets``); more is refused (``NotAvailable``, ``TOO_MANY``).
DEFAULT_MAX_TICKETS = 50
#: The most items of each other kind one basket may hold.
MAX_ITEMS = 50
#: How long before a membership's expiry it may be bought again, as a renewal, when the
#: tenant's settings name no other (``membership_renewal_days``).
DEFAULT_RENEWAL_DAYS = 60
#: The largest amount of one donation, gift voucher or payment, in minor units.
MAX_AMOUNT_MINOR = 100_000_000
DELIVERY_TYPES = ("CustomerEmail", "OtherEmail")
OPEN, CONFIRMED, EXPIRED = "open", "confirmed", "expired"
WEB, OWNER = "web", "owner"
_CENT = Decimal("0.01")

_BASKETS = cast(Table, Basket.__table__)
_BT = cast(Table, BasketTicket.__table__)
_BM = cast(Table, BasketMerchandise.__table__)
_BD = cast(Table, BasketDonation.__table__)
_BG = cast(Table, BasketGiftVoucher.__table__)
_BMS = cast(Table, BasketMembership.__table__)
_BP = cast(Table, BasketPayment.__table__)
_ITEM_TABLES = (_BT, _BM, _BD, _BG, _BMS)


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def session_hash(token: str) -> str:
    """What is kept of a web session's token (its SHA-256, in hex)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _money(minor: int) -> Decimal:
    return (Decimal(minor) / 100).quantize(_CENT)


def _minor(amount: Decimal, field_name: str, *, allow_zero: bool = False) -> int:
    """An amount in minor units: at most two decimals, positive (or zero), not too large."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidInput(field_name, "an amount")
    scaled = amount * 100
    if scaled != scaled.to_integral_value():
        raise InvalidInput(field_name, "at most two decimals")
    value = int(scaled)
    if value < (0 if allow_zero else 1) or value > MAX_AMOUNT_MINOR:
        raise InvalidInput(field_name, "an amount from 0.01 up to 1000000.00")
    return value


def _text(value: str | None, field_name: str, limit: int = 200) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise InvalidInput(field_name, f"at most {limit} characters")
    return value


def _attributes(values: Mapping[str, str], field_name: str = "attributes") -> dict[str, str]:
    """Attribute values keyed by name without spaces (matched without regard to case)."""
    out: dict[str, str] = {}
    for name, value in values.items():
        key = "".join(str(name).split())
        if not key or len(key) > 100 or not isinstance(value, str) or len(value) > 1000:
            raise InvalidInput(f"{field_name}:{name}", "at most 1000 characters")
        out[key] = value
    return out


def _merge(stored: Mapping[str, Any], patch: Mapping[str, str]) -> dict[str, str]:
    merged = {str(k): str(v) for k, v in stored.items()}
    lower = {k.casefold(): k for k in merged}
    for key, value in _attributes(patch).items():
        existing = lower.get(key.casefold())
        if existing is not None:
            del merged[existing]
        if value != "":
            merged[key] = value
            lower[key.casefold()] = key
    return merged


def _delivery(value: NewDelivery | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if type(value.type) is not int or not 0 <= value.type <= 100:
        raise InvalidInput("delivery", "a delivery type number")
    if value.address_id is not None and not is_key(value.address_id):
        raise NotFound("address", value.address_id)
    return {"type": value.type, "address_id": value.address_id}


def _delivery_view(value: Any) -> DeliveryView | None:
    if not value:
        return None
    return DeliveryView(type=int(value["type"]), address_id=value.get("address_id"))


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError("no such day")  # pragma: no cover


def _setting_int(settings: Any, key: str, default: int, low: int, high: int) -> int:
    value = settings.get(key) if isinstance(settings, dict) else None
    return value if type(value) is int and low <= value <= high else default


# --- the basket row ----------------------------------------------------------------------------

_SETTINGS = (
    select(Tenant.settings)
    .where(Tenant.id == bindparam(TENANT_PARAM))
    .scalar_subquery()
    .label("settings")
)
_ZONE = (
    select(Tenant.time_zone)
    .where(Tenant.id == bindparam(TENANT_PARAM))
    .scalar_subquery()
    .label("zone")
)
_TICKET_COUNT = (
    select(func.count(BasketTicket.id))
    .where(of_tenant(BasketTicket, Basket), BasketTicket.basket_id == Basket.id)
    .scalar_subquery()
    .label("ticket_count")
)
_PAID = (
    select(func.coalesce(func.sum(BasketPayment.amount_minor), 0))
    .where(of_tenant(BasketPayment, Basket), BasketPayment.basket_id == Basket.id)
    .scalar_subquery()
    .label("paid_minor")
)
#: Whether a basket has items of each other kind: a read skips the kinds it has none of.
_HAS = {
    kind: select(table.id)
    .where(of_tenant(table, Basket), table.basket_id == Basket.id)
    .exists()
    .label(f"has_{kind}")
    for kind, table in (
        ("merchandise", BasketMerchandise),
        ("donations", BasketDonation),
        ("vouchers", BasketGiftVoucher),
        ("memberships", BasketMembership),
        ("payments", BasketPayment),
    )
}
_BASKET_COLUMNS = (
    Basket.id,
    Basket.state,
    Basket.channel,
    Basket.customer_id,
    Basket.promo_code,
    Basket.offer_id,
    Basket.ticket_delivery,
    Basket.merchandise_delivery,
    Basket.attributes,
    Basket.version,
    Basket.expires_at,
    Basket.created_at,
    Basket.updated_at,
    Basket.confirmed_at,
    _TICKET_COUNT,
    _PAID,
    *_HAS.values(),
    _SETTINGS,
    _ZONE,
)
#: What a basket's view is made from (with its items): for reads of several (orders).
BASKET_COLUMNS = _BASKET_COLUMNS
_BY_ID: Any = select(*_BASKET_COLUMNS).where(of_tenant(Basket), Basket.id == bindparam("basket_id"))
_BY_SESSION: Any = select(*_BASKET_COLUMNS).where(
    of_tenant(Basket), Basket.session_hash == bindparam("session_hash")
)
_BY_ID_LOCKED: Any = _BY_ID.with_for_update(of=Basket)
_BY_SESSION_LOCKED: Any = _BY_SESSION.with_for_update(of=Basket)
_TENANT_SETTINGS: Any = select(_SETTINGS, _ZONE)


@dataclass
class _Basket:
    """An open basket inside a writing unit of work (its row locked on PostgreSQL)."""

    id: int
    channel: str
    customer_id: int | None
    promo_code: str | None
    offer_id: int | None
    attributes: dict[str, Any]
    ticket_count: int
    paid_minor: int
    settings: dict[str, Any]
    zone: str
    ticket_delivery: Any = None
    merchandise_delivery: Any = None
    changes: dict[str, Any] = field(default_factory=dict)
    #: The row as read (or made), for the basket's view after the write.
    row: dict[str, Any] = field(default_factory=dict)
    #: The kinds of items the write added (the view reads them).
    grown: set[str] = field(default_factory=set)

    @property
    def hold_minutes(self) -> int:
        return _setting_int(
            self.settings, "basket_hold_minutes", DEFAULT_HOLD_MINUTES, 1, 7 * 24 * 60
        )

    @property
    def max_tickets(self) -> int:
        return _setting_int(self.settings, "basket_max_tickets", DEFAULT_MAX_TICKETS, 1, 10_000)


def _past(expires_at: datetime | None, moment: datetime) -> bool:
    return expires_at is not None and expires_at <= moment


def _check_ref(principal: Principal, ref: BasketRef) -> None:
    if (ref.basket_id is None) == (ref.session_token is None):
        raise InvalidInput("basket", "a session or an id")
    if ref.basket_id is not None and (not principal.full_access or not is_key(ref.basket_id)):
        raise NotFound("basket", ref.basket_id)
    if ref.session_token is not None and not (0 < len(ref.session_token) <= 512):
        raise NotFound("basket", "session")


async def _find(uow: Any, ref: BasketRef, *, lock: bool) -> Any:
    if ref.basket_id is not None:
        return await uow.first(_BY_ID_LOCKED if lock else _BY_ID, {"basket_id": ref.basket_id})
    assert ref.session_token is not None
    return await uow.first(
        _BY_SESSION_LOCKED if lock else _BY_SESSION,
        {"session_hash": session_hash(ref.session_token)},
    )


def _loaded(row: Any) -> _Basket:
    return _Basket(
        id=row.id,
        channel=row.channel,
        customer_id=row.customer_id,
        promo_code=row.promo_code,
        offer_id=row.offer_id,
        attributes=dict(row.attributes or {}),
        ticket_count=int(row.ticket_count or 0),
        paid_minor=int(row.paid_minor or 0),
        settings=dict(row.settings or {}),
        zone=row.zone,
        ticket_delivery=row.ticket_delivery,
        merchandise_delivery=row.merchandise_delivery,
        row=dict(row._mapping),
    )


async def _create(
    uow: UnitOfWork,
    channel: str,
    moment: datetime,
    *,
    token: str | None = None,
    customer_id: int | None = None,
) -> _Basket:
    settings_row = await uow.first(_TENANT_SETTINGS)
    basket = _Basket(
        id=new_row_key(),
        channel=channel,
        customer_id=customer_id,
        promo_code=None,
        offer_id=None,
        attributes={},
        ticket_count=0,
        paid_minor=0,
        settings=dict(settings_row.settings or {}),
        zone=settings_row.zone,
    )
    basket.row = {
        "id": basket.id,
        "state": OPEN,
        "channel": channel,
        "customer_id": customer_id,
        "promo_code": None,
        "offer_id": None,
        "ticket_delivery": None,
        "merchandise_delivery": None,
        "attributes": {},
        "created_at": moment,
        "confirmed_at": None,
        "ticket_count": 0,
        "paid_minor": 0,
        **{f"has_{kind}": False for kind in _HAS},
        "settings": basket.settings,
        "zone": basket.zone,
    }
    await uow.session.execute(
        insert(_BASKETS).values(
            tenant_id=uow.tenant_id,
            id=basket.id,
            state=OPEN,
            channel=channel,
            session_hash=session_hash(token) if token is not None else None,
            customer_id=customer_id,
            attributes={},
            version=1,
            expires_at=moment + timedelta(minutes=basket.hold_minutes),
            created_at=moment,
            updated_at=moment,
        )
    )
    return basket


async def _open(
    uow: UnitOfWork,
    principal: Principal,
    ref: BasketRef,
    moment: datetime,
    *,
    create: bool,
) -> _Basket:
    """The open basket ``ref`` names, its row locked. An expired one is released first (then:
    a web basket is created anew when ``create``, else ``NotFound``; an Owner one is a
    ``Conflict``). A confirmed one is a ``Conflict``."""
    _check_ref(principal, ref)
    row = await _find(uow, ref, lock=True)
    expired = row is not None and row.state == OPEN and _past(row.expires_at, moment)
    if expired and ref.session_token is not None:
        await _release(uow, [row.id])  # its holds go now; the session starts a new basket
        row = None
    elif expired:
        raise Conflict("the basket is expired")
    if row is None:
        if ref.session_token is not None and create:
            customer = principal.customer_id
            return await _create(uow, WEB, moment, token=ref.session_token, customer_id=customer)
        raise NotFound("basket", ref.basket_id if ref.basket_id is not None else "session")
    if row.state != OPEN:
        raise Conflict(f"the basket is {row.state}")
    return _loaded(row)


_TOUCHED = (
    _BASKETS.c.version,
    _BASKETS.c.updated_at,
    _BASKETS.c.expires_at,
    _BASKETS.c.customer_id,
    _BASKETS.c.promo_code,
    _BASKETS.c.offer_id,
    _BASKETS.c.attributes,
    _BASKETS.c.ticket_delivery,
    _BASKETS.c.merchandise_delivery,
)


async def _touch(uow: UnitOfWork, basket: _Basket, moment: datetime) -> Any:
    """A write: the version goes up and the hold clock restarts (never, with a payment).
    Returns the basket's row as it now is (for :func:`_view`), without reading it again."""
    expiry = moment + timedelta(minutes=basket.hold_minutes)
    paid = (
        select(_BP.c.id)
        .where(_BP.c.tenant_id == uow.tenant_id, _BP.c.basket_id == basket.id)
        .exists()
    )
    result = await uow.session.execute(
        update(_BASKETS)
        .where(_BASKETS.c.tenant_id == uow.tenant_id, _BASKETS.c.id == basket.id)
        .values(
            version=_BASKETS.c.version + 1,
            updated_at=moment,
            expires_at=case((paid, None), else_=expiry),
            **basket.changes,
        )
        .returning(*_TOUCHED)
    )
    now_row = dict(result.one()._mapping)
    grown = {f"has_{kind}": basket.row.get(f"has_{kind}") or kind in basket.grown for kind in _HAS}
    return SimpleNamespace(
        **{**basket.row, **now_row, **grown, "ticket_count": basket.ticket_count}
    )


async def _write(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    now: datetime | None,
    change: Callable[[UnitOfWork, _Basket, datetime], Awaitable[None]],
    *,
    create: bool = False,
) -> BasketView:
    """One write to a basket, in one transaction, answered with the basket as it then is.
    Two first adds of one web session at once: the second's insert of the basket fails on the
    session's unique hash; it is tried again once (and then finds the first's basket)."""
    moment = _now(now)
    for attempt in (1, 2):
        try:
            async with core.uow(principal.tenant_id, write=True) as uow:
                basket = await _open(uow, principal, ref, moment, create=create)
                await change(uow, basket, moment)
                view = await _view(uow, await _touch(uow, basket, moment), moment)
                await uow.commit()
                return view
        except IntegrityError:
            if attempt == 2 or ref.session_token is None:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


# --- reading a basket (and an order) -------------------------------------------------------------

_SEAT_NAME = (
    select(Seat.name)
    .where(of_tenant(Seat, BasketTicket), Seat.id == BasketTicket.seat_id)
    .scalar_subquery()
    .label("seat_name")
)
_TICKET_OFFER_NAME = (
    select(Offer.name)
    .where(of_tenant(Offer, BasketTicket), Offer.id == BasketTicket.offer_id)
    .scalar_subquery()
    .label("offer_name")
)
_TICKETS: Any = (
    select(
        BasketTicket.basket_id,
        BasketTicket.id,
        BasketTicket.instance_id,
        Instance.event_id,
        Instance.plan_id,
        SeatingPlan.name.label("plan_name"),
        BasketTicket.area_id,
        PlanArea.name.label("area_name"),
        BasketTicket.seat_id,
        _SEAT_NAME,
        BasketTicket.band_id,
        PriceBand.name.label("band_name"),
        BasketTicket.ticket_type_id,
        TicketType.name.label("type_name"),
        BasketTicket.price_minor,
        BasketTicket.discount_minor,
        BasketTicket.offer_id,
        _TICKET_OFFER_NAME,
        BasketTicket.barcode,
        BasketTicket.attributes,
        BasketTicket.returned_at,
    )
    .join(
        Instance,
        and_(Instance.tenant_id == BasketTicket.tenant_id, Instance.id == BasketTicket.instance_id),
    )
    .join(
        SeatingPlan,
        and_(SeatingPlan.tenant_id == Instance.tenant_id, SeatingPlan.id == Instance.plan_id),
    )
    .join(
        PlanArea,
        and_(PlanArea.tenant_id == BasketTicket.tenant_id, PlanArea.id == BasketTicket.area_id),
    )
    .join(
        PriceBand,
        and_(PriceBand.tenant_id == BasketTicket.tenant_id, PriceBand.id == BasketTicket.band_id),
    )
    .join(
        TicketType,
        and_(
            TicketType.tenant_id == BasketTicket.tenant_id,
            TicketType.id == BasketTicket.ticket_type_id,
        ),
    )
    .where(
        of_tenant(BasketTicket, Instance, SeatingPlan, PlanArea, PriceBand, TicketType),
        BasketTicket.basket_id.in_(bindparam("ids", expanding=True)),
    )
    .order_by(BasketTicket.position, BasketTicket.id)
)
_MERCHANDISE: Any = (
    select(
        BasketMerchandise.basket_id,
        BasketMerchandise.id,
        BasketMerchandise.stock_item_id,
        StockItem.name,
        BasketMerchandise.reference,
        BasketMerchandise.price_minor,
        BasketMerchandise.barcode,
    )
    .join(
        StockItem,
        and_(
            StockItem.tenant_id == BasketMerchandise.tenant_id,
            StockItem.id == BasketMerchandise.stock_item_id,
        ),
    )
    .where(
        of_tenant(BasketMerchandise, StockItem),
        BasketMerchandise.basket_id.in_(bindparam("ids", expanding=True)),
    )
    .order_by(BasketMerchandise.position, BasketMerchandise.id)
)
_DONATIONS: Any = (
    select(BasketDonation)
    .where(
        of_tenant(BasketDonation), BasketDonation.basket_id.in_(bindparam("ids", expanding=True))
    )
    .order_by(BasketDonation.position, BasketDonation.id)
)
_VOUCHERS: Any = (
    select(BasketGiftVoucher)
    .where(
        of_tenant(BasketGiftVoucher),
        BasketGiftVoucher.basket_id.in_(bindparam("ids", expanding=True)),
    )
    .order_by(BasketGiftVoucher.position, BasketGiftVoucher.id)
)
_MEMBERSHIPS: Any = (
    select(
        BasketMembership.basket_id,
        BasketMembership.id,
        BasketMembership.membership_id,
        Membership.name,
        Membership.price_minor.label("membership_price"),
        Membership.renewal_price_minor,
        Membership.duration_months,
        BasketMembership.auto_renew,
        BasketMembership.overridden_price_minor,
        BasketMembership.related_donation_id,
        BasketMembership.price_minor,
        BasketMembership.is_renewal,
        BasketMembership.start_date,
        BasketMembership.expiry_date,
        BasketMembership.subscription_id,
    )
    .join(
        Membership,
        and_(
            Membership.tenant_id == BasketMembership.tenant_id,
            Membership.id == BasketMembership.membership_id,
        ),
    )
    .where(
        of_tenant(BasketMembership, Membership),
        BasketMembership.basket_id.in_(bindparam("ids", expanding=True)),
    )
    .order_by(BasketMembership.position, BasketMembership.id)
)
_PAYMENTS: Any = (
    select(BasketPayment)
    .where(of_tenant(BasketPayment), BasketPayment.basket_id.in_(bindparam("ids", expanding=True)))
    .order_by(BasketPayment.position, BasketPayment.id)
)
_OFFER: Any = select(Offer.id, Offer.name, Offer.percent_off, Offer.amount_off_minor).where(
    of_tenant(Offer), Offer.id == bindparam("offer_id"), Offer.active
)
_OFFER_EVENTS: Any = select(OfferEvent.event_id).where(
    of_tenant(OfferEvent), OfferEvent.offer_id == bindparam("offer_id")
)
_OFFER_TYPES: Any = select(OfferTicketType.ticket_type_id).where(
    of_tenant(OfferTicketType), OfferTicketType.offer_id == bindparam("offer_id")
)
_HELD_MEMBERSHIPS: Any = (
    select(
        CustomerSubscription.membership_id,
        func.max(CustomerSubscription.expiry_date).label("expiry"),
    )
    .where(
        of_tenant(CustomerSubscription),
        CustomerSubscription.customer_id == bindparam("customer_id"),
    )
    .group_by(CustomerSubscription.membership_id)
)


@dataclass(frozen=True, slots=True)
class OfferRule:
    """An offer as the basket applies it (:func:`ticket_discount`)."""

    id: int
    name: str
    percent_off: Decimal | None
    amount_off_minor: int | None
    event_ids: frozenset[int]
    ticket_type_ids: frozenset[int]


def ticket_discount(rule: OfferRule | None, price_minor: int, event_id: int, type_id: int) -> int:
    """What an offer takes off one ticket, in minor units (the one place it is computed):
    nothing unless the ticket's event and type are the offer's (none listed: all); a percentage
    rounded half up to the minor unit, or a fixed amount, never more than the price."""
    if rule is None:
        return 0
    if rule.event_ids and event_id not in rule.event_ids:
        return 0
    if rule.ticket_type_ids and type_id not in rule.ticket_type_ids:
        return 0
    if rule.percent_off is not None:
        off = (Decimal(price_minor) * rule.percent_off / 100).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
        return max(0, min(price_minor, int(off)))
    return max(0, min(price_minor, rule.amount_off_minor or 0))


async def _offer_rule(uow: Any, offer_id: int | None) -> OfferRule | None:
    if offer_id is None:
        return None
    row = await uow.first(_OFFER, {"offer_id": offer_id})
    if row is None:
        return None
    events = await uow.rows(_OFFER_EVENTS, {"offer_id": offer_id})
    types = await uow.rows(_OFFER_TYPES, {"offer_id": offer_id})
    return OfferRule(
        id=row.id,
        name=row.name,
        percent_off=row.percent_off,
        amount_off_minor=row.amount_off_minor,
        event_ids=frozenset(r.event_id for r in events),
        ticket_type_ids=frozenset(r.ticket_type_id for r in types),
    )


def _today(zone: str, moment: datetime) -> date:
    return utc_to_local(moment, time_zone(zone)).date()


@dataclass(frozen=True, slots=True)
class _Term:
    """A membership's terms for a customer: a renewal or not, and its dates."""

    is_renewal: bool
    start: date
    expiry: date


def membership_term(
    held_until: date | None, today: date, months: int, renewal_days: int
) -> _Term | None:
    """The subscription a membership bought ``today`` gives: from today, or (a renewal, when
    the customer's current one ends within ``renewal_days``) from the day after it ends.
    None: the customer holds it already, outside its renewal window."""
    if held_until is None or held_until < today:
        start, renewal = today, False
    elif (held_until - today).days <= renewal_days:
        start, renewal = held_until + timedelta(days=1), True
    else:
        return None
    return _Term(renewal, start, _add_months(start, months) - timedelta(days=1))


async def read_basket(uow: Any, basket_id: int, moment: datetime) -> BasketView:
    """The basket (any state) with its items priced (:func:`ticket_discount`): an open basket's
    from its promo code now, a confirmed one's as kept at confirmation. 7 statements, and up to
    4 more: the offer (3) when there is a promo code, the customer's memberships when it buys
    some. ``NotFound`` for no such basket."""
    row = await uow.first(_BY_ID, {"basket_id": basket_id})
    if row is None:
        raise NotFound("basket", basket_id)
    return await _view(uow, row, moment)


_ITEM_READS = {
    "tickets": _TICKETS,
    "merchandise": _MERCHANDISE,
    "donations": _DONATIONS,
    "vouchers": _VOUCHERS,
    "memberships": _MEMBERSHIPS,
    "payments": _PAYMENTS,
}


def _has(row: Any, kind: str) -> bool:
    return bool(row.ticket_count) if kind == "tickets" else bool(getattr(row, f"has_{kind}"))


async def _item_rows(uow: Any, rows: Sequence[Any]) -> dict[int, dict[str, list[Any]]]:
    """The items of several baskets, one statement per kind that any of them has."""
    out: dict[int, dict[str, list[Any]]] = {r.id: {k: [] for k in _ITEM_READS} for r in rows}
    for kind, stmt in _ITEM_READS.items():
        ids = [r.id for r in rows if _has(r, kind)]
        if ids:
            for item in await uow.rows(stmt, {"ids": ids}):
                out[item.basket_id][kind].append(item)
    return out


async def _view(
    uow: Any,
    row: Any,
    moment: datetime,
    held_already: list[int] | None = None,
    items: Mapping[str, Sequence[Any]] | None = None,
) -> BasketView:
    """The basket's view from its row (:func:`read_basket`), its items read (or given:
    ``items`` by kind). ``held_already`` collects the memberships the customer holds outside
    their renewal window."""
    if items is None:
        items = (await _item_rows(uow, [row]))[row.id]
    confirmed = row.state == CONFIRMED
    state = row.state
    if state == OPEN and _past(row.expires_at, moment):
        state = EXPIRED
    rule = None if confirmed else await _offer_rule(uow, row.offer_id)
    offers: dict[int, AppliedOfferView] = {}
    tickets: list[BasketTicketView] = []
    for t in items["tickets"]:
        if confirmed:
            discount = t.discount_minor
            offer = AppliedOfferView(t.offer_id, t.offer_name) if t.offer_id else None
        else:
            discount = ticket_discount(rule, t.price_minor, t.event_id, t.ticket_type_id)
            offer = AppliedOfferView(rule.id, rule.name) if rule and discount else None
        if offer is not None:
            offers[offer.id] = offer
        tickets.append(
            BasketTicketView(
                id=t.id,
                instance_id=t.instance_id,
                event_id=t.event_id,
                plan_id=t.plan_id,
                plan_name=t.plan_name,
                area_id=t.area_id,
                area_name=t.area_name,
                seat_id=t.seat_id,
                seat_name=t.seat_name,
                band_id=t.band_id,
                band_name=t.band_name,
                ticket_type_id=t.ticket_type_id,
                ticket_type_name=t.type_name,
                price=_money(t.price_minor),
                discount=_money(discount),
                total=_money(t.price_minor - discount),
                offer=offer,
                barcode=t.barcode,
                attributes=tuple(sorted((str(k), str(v)) for k, v in (t.attributes or {}).items())),
                delivered=False,
                returned_at=t.returned_at,
            )
        )
    merchandise = tuple(
        BasketMerchandiseView(
            id=m.id,
            stock_item_id=m.stock_item_id,
            stock_item_name=m.name,
            reference=m.reference,
            price=_money(m.price_minor),
            discount=_money(0),
            total=_money(m.price_minor),
            offer=None,
            barcode=m.barcode,
        )
        for m in items["merchandise"]
    )
    donations = tuple(
        BasketDonationView(
            id=d.id,
            fund_id=d.fund_id,
            amount=_money(d.amount_minor),
            recognition_name=d.recognition_name,
            is_anonymous=d.is_anonymous,
            tribute_type_id=d.tribute_type_id,
            tribute_name=d.tribute_name,
        )
        for d in items["donations"]
    )
    vouchers = tuple(
        BasketGiftVoucherView(
            id=g.id,
            gift_voucher_type_id=g.gift_voucher_type_id,
            amount=_money(g.amount_minor),
            to_name=g.to_name,
            from_name=g.from_name,
            message=g.message,
            send_date=g.send_date,
            delivery_type=g.delivery_type,
            delivery_email_address=g.delivery_email_address,
            code=g.code,
            balance=_money(g.balance_minor) if g.balance_minor is not None else None,
        )
        for g in items["vouchers"]
    )
    membership_rows = items["memberships"]
    held: dict[int, date] = {}
    if membership_rows and not confirmed and row.customer_id is not None:
        held = {
            h.membership_id: h.expiry
            for h in await uow.rows(_HELD_MEMBERSHIPS, {"customer_id": row.customer_id})
        }
    today = _today(row.zone, moment)
    renewal_days = _setting_int(
        row.settings, "membership_renewal_days", DEFAULT_RENEWAL_DAYS, 0, 3660
    )
    memberships: list[BasketMembershipSubscriptionView] = []
    for m in membership_rows:
        if confirmed:
            renewal, start, expiry = m.is_renewal, m.start_date, m.expiry_date
            price, original = m.price_minor or 0, m.price_minor or 0
            if m.overridden_price_minor is None:
                original = price
            else:
                original = (m.renewal_price_minor if renewal else m.membership_price) or 0
        else:
            term = membership_term(
                held.get(m.membership_id), today, m.duration_months, renewal_days
            )
            if term is None:  # held already: shown as a renewal (confirm refuses it)
                if held_already is not None:
                    held_already.append(m.membership_id)
                term = _Term(True, today, _add_months(today, m.duration_months) - timedelta(days=1))
            renewal, start, expiry = term.is_renewal, term.start, term.expiry
            original = (
                m.renewal_price_minor
                if renewal and m.renewal_price_minor is not None
                else m.membership_price
            ) or 0
            price = m.overridden_price_minor if m.overridden_price_minor is not None else original
        memberships.append(
            BasketMembershipSubscriptionView(
                id=m.id,
                membership_id=m.membership_id,
                membership_name=m.name,
                auto_renew=m.auto_renew,
                start_date=start,
                expiry_date=expiry,
                is_renewal=renewal,
                related_donation_id=m.related_donation_id,
                price=_money(price),
                discount=_money(0),
                total=_money(price),
                original_price=_money(original),
                price_overridden=m.overridden_price_minor is not None,
                subscription_id=m.subscription_id,
            )
        )
    payments = tuple(
        CustomPaymentView(
            id=p.id,
            payment_type=p.payment_type,
            amount=_money(p.amount_minor),
            attributes=tuple(sorted((str(k), str(v)) for k, v in (p.attributes or {}).items())),
            created_at=p.created_at,
            kind=p.kind,
            gift_voucher_id=p.gift_voucher_id,
        )
        for p in items["payments"]
    )
    kept = [t for t in tickets if t.returned_at is None]  # a returned ticket costs nothing
    total = (
        sum((t.total for t in kept), Decimal("0.00"))
        + sum((m.total for m in merchandise), Decimal("0.00"))
        + sum((d.amount for d in donations), Decimal("0.00"))
        + sum((g.amount for g in vouchers), Decimal("0.00"))
        + sum((m.total for m in memberships), Decimal("0.00"))
    )
    discount_total = sum((t.discount for t in kept), Decimal("0.00"))
    paid = sum((p.amount for p in payments), Decimal("0.00"))
    digest = hashlib.sha256(f"{row.id}:{row.version}:{row.customer_id}".encode()).hexdigest()
    return BasketView(
        id=row.id,
        state=state,
        channel=row.channel,
        hash=digest[:20],
        customer_id=row.customer_id,
        promo_code=row.promo_code,
        offers=tuple(offers.values()),
        ticket_delivery=_delivery_view(row.ticket_delivery),
        merchandise_delivery=_delivery_view(row.merchandise_delivery),
        attributes=tuple(sorted((str(k), str(v)) for k, v in (row.attributes or {}).items())),
        tickets=tuple(tickets),
        merchandise_items=merchandise,
        donations=donations,
        gift_vouchers=vouchers,
        membership_subscriptions=tuple(memberships),
        custom_payments=payments,
        total=total,
        total_discount=discount_total,
        paid=paid,
        outstanding=max(total - paid, Decimal("0.00")),
        expires_at=row.expires_at if state == OPEN else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


_BY_IDS: Any = select(*_BASKET_COLUMNS).where(
    of_tenant(Basket), Basket.id.in_(bindparam("ids", expanding=True)), Basket.state == CONFIRMED
)


async def read_orders(uow: Any, order_ids: Sequence[int]) -> tuple[OrderView, ...]:
    """Confirmed baskets as orders (as :func:`read_basket` reads them), in the order of
    ``order_ids``; an id that is not a confirmed basket is left out. Whatever their number: one
    statement for the baskets and one per kind of item any of them has."""
    if not order_ids:
        return ()
    rows = {r.id: r for r in await uow.rows(_BY_IDS, {"ids": list(order_ids)})}
    return await orders_of(uow, [rows[i] for i in order_ids if i in rows])


async def orders_of(uow: Any, rows: Sequence[Any]) -> tuple[OrderView, ...]:
    """Confirmed baskets' rows (read with :data:`BASKET_COLUMNS`) as orders, in their order:
    one statement per kind of item any of them has."""
    items = await _item_rows(uow, rows)
    orders = []
    for r in rows:
        view = await _view(uow, r, r.confirmed_at, items=items[r.id])
        orders.append(order_view(view, r.confirmed_at, r.zone))
    return tuple(orders)


def order_view(basket: BasketView, confirmed_at: datetime, zone: str) -> OrderView:
    """A confirmed basket as an order."""
    return OrderView(
        id=basket.id,
        customer_id=basket.customer_id,
        channel=basket.channel,
        promo_code=basket.promo_code,
        offers=basket.offers,
        ticket_delivery=basket.ticket_delivery,
        merchandise_delivery=basket.merchandise_delivery,
        attributes=basket.attributes,
        tickets=basket.tickets,
        merchandise_items=basket.merchandise_items,
        donations=basket.donations,
        gift_vouchers=basket.gift_vouchers,
        membership_subscriptions=basket.membership_subscriptions,
        payments=basket.custom_payments,
        total=basket.total,
        total_discount=basket.total_discount,
        paid=basket.paid,
        created_at=basket.created_at,
        confirmed_at=confirmed_at,
        confirmed_local=utc_to_local(confirmed_at, time_zone(zone)),
    )


async def get_basket(
    core: Core, principal: Principal, ref: BasketRef, *, now: datetime | None = None
) -> BasketView:
    """The basket. ``NotFound``: no web basket for that session yet (or it expired), an
    unknown Owner basket id, another tenant's, or an Owner basket asked for in Web mode. An
    Owner basket past its expiry shows state ``expired``."""
    _check_ref(principal, ref)
    moment = _now(now)
    async with core.read(principal.tenant_id) as uow:
        row = await _find(uow, ref, lock=False)
        if row is None:
            raise NotFound("basket", ref.basket_id if ref.basket_id is not None else "session")
        view = await _view(uow, row, moment)
    if ref.session_token is not None and view.state != OPEN:
        raise NotFound("basket", "session")
    return view


# --- tickets -------------------------------------------------------------------------------------

_INSTANCES: Any = (
    select(
        Instance.id,
        Instance.event_id,
        Instance.plan_id,
        Instance.price_list_id,
        Instance.sale_start_utc,
        Instance.sale_stop_utc,
        Instance.cancelled,
        Instance.on_sale,
        Instance.web_visible,
        Event.on_sale.label("event_on_sale"),
    )
    .join(Event, and_(Event.tenant_id == Instance.tenant_id, Event.id == Instance.event_id))
    .where(of_tenant(Instance, Event), Instance.id.in_(bindparam("ids", expanding=True)))
)
_SEATS: Any = (
    select(Seat.id, Seat.area_id, Seat.band_id, PlanArea.plan_id)
    .join(PlanArea, and_(PlanArea.tenant_id == Seat.tenant_id, PlanArea.id == Seat.area_id))
    .where(of_tenant(Seat, PlanArea), Seat.id.in_(bindparam("ids", expanding=True)))
)
_AREAS: Any = select(PlanArea.id, PlanArea.plan_id, PlanArea.kind, PlanArea.band_id).where(
    of_tenant(PlanArea), PlanArea.id.in_(bindparam("ids", expanding=True))
)
_PLAN_AREAS: Any = select(PlanArea.id, PlanArea.plan_id, PlanArea.kind, PlanArea.band_id).where(
    of_tenant(PlanArea), PlanArea.plan_id == bindparam("plan_id"), PlanArea.kind != "group"
)
_PRICES: Any = select(
    Price.price_list_id,
    Price.ticket_type_id,
    Price.band_id,
    Price.amount_minor,
    Price.is_band_default,
).where(of_tenant(Price), Price.price_list_id.in_(bindparam("ids", expanding=True)))


def _key_or_not_found(kind: str, value: int | None) -> None:
    if value is not None and (type(value) is not int or not is_key(value)):
        raise NotFound(kind, value)


@dataclass(frozen=True, slots=True)
class _Placed:
    instance_id: int
    area_id: int
    seat_id: int | None
    band_id: int
    ticket_type_id: int
    price_minor: int
    attributes: dict[str, str]


async def _instances(
    uow: UnitOfWork, principal: Principal, ids: set[int], moment: datetime
) -> dict[int, Any]:
    for i in ids:
        _key_or_not_found("instance", i)
    found = {r.id: r for r in await uow.rows(_INSTANCES, {"ids": sorted(ids)})}
    for i in sorted(ids):
        row = found.get(i)
        if row is None or not (row.web_visible or principal.full_access):
            raise NotFound("instance", i)
        if row.cancelled:
            raise NotAvailable("instance", i, CANCELLED)
        if not row.on_sale or not row.event_on_sale:
            raise NotAvailable("instance", i, OFF_SALE)
        if not principal.full_access and not (row.sale_start_utc <= moment < row.sale_stop_utc):
            raise NotAvailable("instance", i, OFF_SALE)
    return found


def _price(
    prices: Sequence[Any], price_list_id: int, band_id: int, type_id: int | None
) -> tuple[int, int]:
    """(ticket type, amount) of the price list for the band: the type asked for, or the band's
    default. ``InvalidInput`` when the list has no price for it."""
    for p in prices:
        if p.price_list_id != price_list_id or p.band_id != band_id:
            continue
        if (type_id is None and p.is_band_default) or p.ticket_type_id == type_id:
            return p.ticket_type_id, p.amount_minor
    raise InvalidInput("ticket_type_id", UNKNOWN)


async def _place(
    uow: UnitOfWork, principal: Principal, tickets: Sequence[NewTicket], moment: datetime
) -> list[_Placed]:
    """Each new ticket's seat or area, band and price, checked (nothing held yet)."""
    seat_ids: set[int] = set()
    area_ids: set[int] = set()
    for t in tickets:
        if (t.seat_id is None) == (t.area_id is None):
            raise InvalidInput("seat", "a seat (reserved area) or an area (unreserved), not both")
        _key_or_not_found("seat", t.seat_id)
        _key_or_not_found("area", t.area_id)
        if t.ticket_type_id is not None and (
            type(t.ticket_type_id) is not int or not is_key(t.ticket_type_id)
        ):
            raise InvalidInput("ticket_type_id", UNKNOWN)  # as any type the price list lacks
        if t.seat_id is not None:
            seat_ids.add(t.seat_id)
        if t.area_id is not None:
            area_ids.add(t.area_id)
    instances = await _instances(uow, principal, {t.instance_id for t in tickets}, moment)
    seats = {r.id: r for r in await uow.rows(_SEATS, {"ids": sorted(seat_ids)})} if seat_ids else {}
    areas = {r.id: r for r in await uow.rows(_AREAS, {"ids": sorted(area_ids)})} if area_ids else {}
    lists = sorted({i.price_list_id for i in instances.values()})
    prices = await uow.rows(_PRICES, {"ids": lists})
    placed: list[_Placed] = []
    for t in tickets:
        instance = instances[t.instance_id]
        if t.seat_id is not None:
            seat = seats.get(t.seat_id)
            if seat is None or seat.plan_id != instance.plan_id:
                raise InvalidInput("seat", "not a seat of the instance's plan (give an area)")
            area_id, band_id = seat.area_id, seat.band_id
        else:
            assert t.area_id is not None
            area = areas.get(t.area_id)
            mine = area is not None and area.plan_id == instance.plan_id
            if not mine and t.area_id == instance.plan_id:
                # The plan's id for its one unreserved area (as the vendor's clients send it).
                only = await uow.rows(_PLAN_AREAS, {"plan_id": instance.plan_id})
                area = only[0] if len(only) == 1 else None
            if area is None or area.plan_id != instance.plan_id:
                raise NotFound("area", t.area_id)
            if area.kind != "unreserved" or area.band_id is None:
                raise InvalidInput("area", "a reserved area: give its seats")
            area_id, band_id = area.id, area.band_id
        type_id, amount = _price(prices, instance.price_list_id, band_id, t.ticket_type_id)
        placed.append(
            _Placed(
                instance_id=t.instance_id,
                area_id=area_id,
                seat_id=t.seat_id,
                band_id=band_id,
                ticket_type_id=type_id,
                price_minor=amount,
                attributes=_attributes(t.attributes),
            )
        )
    return placed


async def _hold(uow: UnitOfWork, basket_id: int, placed: Sequence[_Placed]) -> None:
    """Hold the seats and places of new tickets, all or nothing (a refusal raises; the unit of
    work is then rolled back). Instances in id order; each instance's seats (batch), then its
    areas' places in area-id order (decision 0124's lock order)."""
    by_instance: dict[int, tuple[list[int], dict[int, int]]] = {}
    for p in placed:
        seats, places = by_instance.setdefault(p.instance_id, ([], {}))
        if p.seat_id is not None:
            seats.append(p.seat_id)
        else:
            places[p.area_id] = places.get(p.area_id, 0) + 1
    for instance_id in sorted(by_instance):
        seats, places = by_instance[instance_id]
        if seats and not await inventory.hold_seats(uow, instance_id, seats, basket_id):
            raise NotAvailable("seat", tuple(sorted(seats)), SEAT_TAKEN)
        for area_id in sorted(places):
            if not await inventory.hold_places(uow, instance_id, area_id, places[area_id]):
                raise NotAvailable("area", area_id, SOLD_OUT)


async def _insert_tickets(uow: UnitOfWork, basket: _Basket, placed: Sequence[_Placed]) -> None:
    if len(placed) + basket.ticket_count > basket.max_tickets:
        raise NotAvailable("basket", basket.id, TOO_MANY)
    await _hold(uow, basket.id, placed)
    start = basket.ticket_count
    await uow.session.execute(
        insert(_BT),
        [
            {
                "tenant_id": uow.tenant_id,
                "id": new_row_key(),
                "basket_id": basket.id,
                "instance_id": p.instance_id,
                "area_id": p.area_id,
                "seat_id": p.seat_id,
                "band_id": p.band_id,
                "ticket_type_id": p.ticket_type_id,
                "price_minor": p.price_minor,
                "discount_minor": 0,
                "attributes": p.attributes,
                "position": start + index,
            }
            for index, p in enumerate(placed)
        ],
    )
    basket.ticket_count += len(placed)


async def add_tickets(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    tickets: Sequence[NewTicket],
    *,
    now: datetime | None = None,
) -> BasketView:
    """Add tickets, holding their seats and places, all-or-nothing; a web basket is created by
    its first add. Refusals (nothing changed): ``NotFound`` (instance, area or ticket type
    the tenant lacks or the principal cannot see); ``InvalidInput`` (both or neither of seat and
    area, a seat not of the instance's plan, an area that is reserved, a ticket type not in the
    instance's price list for that band); ``NotAvailable`` with ``SEAT_TAKEN``, ``SOLD_OUT``,
    ``OFF_SALE`` (Web mode outside the instance's sale window, or the event or instance is not
    on sale), ``CANCELLED``, ``TOO_MANY`` (more tickets than the basket may hold)."""
    if not tickets:
        raise InvalidInput("tickets", REQUIRED)
    if len(tickets) > DEFAULT_MAX_TICKETS * 20:
        raise InvalidInput("tickets", "too many at once")

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        placed = await _place(uow, principal, tickets, moment)
        await _insert_tickets(uow, basket, placed)

    return await _write(core, principal, ref, now, change, create=True)


_ROW_SEATS: Any = (
    select(
        InstanceSeat.seat_id,
        InstanceSeat.state,
        Seat.area_id,
        Seat.row,
        Seat.position,
        Seat.band_id,
        PriceBand.position.label("band_position"),
    )
    .join(Seat, and_(Seat.tenant_id == InstanceSeat.tenant_id, Seat.id == InstanceSeat.seat_id))
    .join(PriceBand, and_(PriceBand.tenant_id == Seat.tenant_id, PriceBand.id == Seat.band_id))
    .where(
        of_tenant(InstanceSeat, Seat, PriceBand),
        InstanceSeat.instance_id == bindparam("instance_id"),
    )
    .order_by(Seat.area_id, Seat.position, Seat.id)
)


def choose_best(rows: Sequence[Any], quantity: int, area_id: int | None) -> tuple[int, ...]:
    """The best ``quantity`` available seats among an instance's seats (``rows``: seat id,
    state, area, row, position, band position; in area then position order): side by side in
    one row where possible (the best band first, then the row met first in the plan's order,
    then the run nearest the row's middle); else the first available seats in that order.
    Empty when fewer are available."""
    rows = [r for r in rows if area_id is None or r.area_id == area_id]
    available = [r for r in rows if r.state == inventory.AVAILABLE]
    if len(available) < quantity:
        return ()
    row_order: dict[tuple[int, str], int] = {}
    lines: dict[tuple[int, str], list[Any]] = {}
    for r in rows:
        key = (r.area_id, r.row)
        row_order.setdefault(key, len(row_order))
        lines.setdefault(key, []).append(r)
    best: tuple[tuple[int, int, float], tuple[int, ...]] | None = None
    for key, seats in lines.items():
        run: list[Any] = []
        middle = (len(seats) - 1) / 2
        for index, seat in enumerate([*seats, None]):
            if seat is not None and seat.state == inventory.AVAILABLE:
                run.append((index, seat))
                continue
            for start in range(0, len(run) - quantity + 1):
                window = run[start : start + quantity]
                bands = max(s.band_position for _, s in window)
                centre = abs((window[0][0] + window[-1][0]) / 2 - middle)
                rank = (bands, row_order[key], centre)
                if best is None or rank < best[0]:
                    best = (rank, tuple(s.seat_id for _, s in window))
            run = []
    if best is not None:
        return tuple(sorted(best[1]))
    ordered = sorted(
        available, key=lambda r: (r.band_position, row_order[(r.area_id, r.row)], r.position)
    )
    return tuple(sorted(r.seat_id for r in ordered[:quantity]))


async def _best(uow: Any, instance: Any, quantity: int, area_id: int | None) -> tuple[int, ...]:
    rows = await uow.rows(_ROW_SEATS, {"instance_id": instance.id})
    if not rows or (area_id is not None and not any(r.area_id == area_id for r in rows)):
        raise NotAvailable("instance", instance.id, NO_BEST_AVAILABLE)
    return choose_best(rows, quantity, area_id)


async def best_available(
    core: Core, principal: Principal, instance_id: int, quantity: int, *, area_id: int | None = None
) -> tuple[int, ...]:
    """The seat ids (in seat order) that are the best available ``quantity`` seats of the
    instance (or of one area): :func:`choose_best`. Empty when there are not that many seats;
    ``NotAvailable`` (``NO_BEST_AVAILABLE``) for an unreserved plan or area. A read: the seats
    are not held (a race is settled by the hold)."""
    inventory.checked_quantity(quantity)
    _key_or_not_found("instance", instance_id)
    async with core.read(principal.tenant_id) as uow:
        found = await uow.rows(_INSTANCES, {"ids": [instance_id]})
        if not found or not (found[0].web_visible or principal.full_access):
            raise NotFound("instance", instance_id)
        return await _best(uow, found[0], quantity, area_id)


async def add_best_available(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    instance_id: int,
    quantity: int,
    *,
    area_id: int | None = None,
    ticket_type_id: int | None = None,
    now: datetime | None = None,
) -> BasketView:
    """Add ``quantity`` tickets on the best available seats (:func:`choose_best`), held as
    :func:`add_tickets` holds them; chosen again (up to three times) when another basket
    took one meanwhile. ``NotAvailable`` (``NO_BEST_AVAILABLE``) for an unreserved plan or
    area, ``SOLD_OUT`` when fewer seats are left."""
    if type(quantity) is not int or not 1 <= quantity <= DEFAULT_MAX_TICKETS * 20:
        raise InvalidInput("quantity", "a whole number of tickets")

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        instances = await _instances(uow, principal, {instance_id}, moment)
        for _attempt in range(3):
            seats = await _best(uow, instances[instance_id], quantity, area_id)
            if not seats:
                raise NotAvailable("instance", instance_id, SOLD_OUT)
            new = [
                NewTicket(instance_id=instance_id, seat_id=s, ticket_type_id=ticket_type_id)
                for s in seats
            ]
            placed = await _place(uow, principal, new, moment)
            try:
                await _insert_tickets(uow, basket, placed)
                return
            except NotAvailable as exc:
                if exc.reason != SEAT_TAKEN:
                    raise
        raise NotAvailable("instance", instance_id, SOLD_OUT)

    return await _write(core, principal, ref, now, change, create=True)


_BASKET_TICKETS: Any = select(
    BasketTicket.id, BasketTicket.instance_id, BasketTicket.area_id, BasketTicket.seat_id
).where(of_tenant(BasketTicket), BasketTicket.basket_id == bindparam("basket_id"))


def _ids(ids: Sequence[int], kind: str) -> list[int]:
    out = []
    for i in ids:
        if type(i) is not int or not is_key(i):
            raise NotFound(kind, i)
        out.append(i)
    if len(set(out)) != len(out):
        raise InvalidInput(kind, "named twice")
    return out


async def _give_back_tickets(uow: UnitOfWork, basket_id: int, rows: Sequence[Any]) -> None:
    """Release the seats and places of a basket's tickets (in the lock order of :func:`_hold`)."""
    by_instance: dict[int, tuple[list[int], dict[int, int]]] = {}
    for r in rows:
        seats, places = by_instance.setdefault(r.instance_id, ([], {}))
        if r.seat_id is not None:
            seats.append(r.seat_id)
        else:
            places[r.area_id] = places.get(r.area_id, 0) + 1
    for instance_id in sorted(by_instance):
        seats, places = by_instance[instance_id]
        if seats and not await inventory.release_seats(uow, instance_id, seats, basket_id):
            raise RuntimeError("a basket's seats were not held by it")
        for area_id in sorted(places):
            if not await inventory.release_places(uow, instance_id, area_id, places[area_id]):
                raise RuntimeError("a basket's places were not held")


async def remove_tickets(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    ticket_ids: Sequence[int],
    *,
    now: datetime | None = None,
) -> BasketView:
    """Remove tickets, giving back their seats and places. ``NotFound`` if any id is not a
    ticket of the basket (nothing changed)."""
    wanted = _ids(ticket_ids, "ticket")

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        rows = {r.id: r for r in await uow.rows(_BASKET_TICKETS, {"basket_id": basket.id})}
        for i in wanted:
            if i not in rows:
                raise NotFound("ticket", i)
        await _give_back_tickets(uow, basket.id, [rows[i] for i in wanted])
        await _delete(uow, _BT, basket.id, wanted)
        basket.ticket_count -= len(wanted)

    return await _write(core, principal, ref, now, change)


async def _delete(uow: UnitOfWork, table: Table, basket_id: int, ids: Sequence[int] | None) -> None:
    conditions = [table.c.tenant_id == uow.tenant_id, table.c.basket_id == basket_id]
    if ids is not None:
        conditions.append(table.c.id.in_(ids))
    await uow.session.execute(table.delete().where(*conditions))


_TICKET_ROWS: Any = (
    select(
        BasketTicket.id,
        BasketTicket.band_id,
        BasketTicket.attributes,
        Instance.price_list_id,
    )
    .join(
        Instance,
        and_(Instance.tenant_id == BasketTicket.tenant_id, Instance.id == BasketTicket.instance_id),
    )
    .where(of_tenant(BasketTicket, Instance), BasketTicket.basket_id == bindparam("basket_id"))
)


async def update_tickets(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    ticket_ids: Sequence[int] | None,
    patch: TicketPatch,
    *,
    now: datetime | None = None,
) -> BasketView:
    """Change the ticket type or attributes of the tickets named (None: all of them).
    ``NotFound`` if any id is not a ticket of the basket; ``InvalidInput`` for a ticket type
    the instance's price list lacks for a ticket's band (nothing changed)."""
    wanted = None if ticket_ids is None else _ids(ticket_ids, "ticket")

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        rows = {r.id: r for r in await uow.rows(_TICKET_ROWS, {"basket_id": basket.id})}
        ids = list(rows) if wanted is None else wanted
        for i in ids:
            if i not in rows:
                raise NotFound("ticket", i)
        prices: Sequence[Any] = ()
        if patch.ticket_type_id is not UNSET:
            if type(patch.ticket_type_id) is not int or not is_key(patch.ticket_type_id):
                raise InvalidInput("ticket_type_id", UNKNOWN)
            lists = sorted({rows[i].price_list_id for i in ids})
            prices = await uow.rows(_PRICES, {"ids": lists}) if lists else ()
        params = []
        for i in ids:
            r = rows[i]
            values: dict[str, Any] = {"b_id": i, "b_attributes": dict(r.attributes or {})}
            if patch.ticket_type_id is not UNSET:
                type_id, amount = _price(prices, r.price_list_id, r.band_id, patch.ticket_type_id)
                values["b_type"], values["b_price"] = type_id, amount
            if patch.attributes is not UNSET:
                values["b_attributes"] = _merge(r.attributes or {}, patch.attributes)
            params.append(values)
        if not params:
            return
        new_values: dict[str, Any] = {"attributes": bindparam("b_attributes")}
        if patch.ticket_type_id is not UNSET:
            new_values["ticket_type_id"] = bindparam("b_type")
            new_values["price_minor"] = bindparam("b_price")
        await uow.session.execute(
            update(_BT)
            .where(_BT.c.tenant_id == uow.tenant_id, _BT.c.id == bindparam("b_id"))
            .values(**new_values),
            params,
        )

    return await _write(core, principal, ref, now, change)


# --- merchandise, donations, gift vouchers, memberships, payments -------------------------------

_STOCK: Any = select(StockItem.id, StockItem.price_minor).where(
    of_tenant(StockItem), StockItem.id.in_(bindparam("ids", expanding=True))
)


def _check_count(current: int, adding: int, kind: str, basket_id: int) -> None:
    if current + adding > MAX_ITEMS:
        raise NotAvailable("basket", basket_id, TOO_MANY)


_COUNTS: dict[str, Any] = {
    table.name: select(func.count(table.c.id)).where(
        table.c.tenant_id == bindparam(TENANT_PARAM), table.c.basket_id == bindparam("basket_id")
    )
    for table in (*_ITEM_TABLES, _BP)
}


async def _count(uow: UnitOfWork, table: Table, basket_id: int) -> int:
    return int((await uow.first(_COUNTS[table.name], {"basket_id": basket_id}))[0])


async def add_merchandise(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    items: Sequence[NewMerchandise],
    *,
    now: datetime | None = None,
) -> BasketView:
    """Add units of stock items, taking them from stock. ``NotFound`` for an unknown item;
    ``NotAvailable`` (``STOCK_EXHAUSTED``) when too few are left (nothing changed)."""
    if not items:
        raise InvalidInput("merchandise", REQUIRED)
    for item in items:
        _key_or_not_found("stock item", item.stock_item_id)
        _text(item.reference, "reference")

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        count = await _count(uow, _BM, basket.id)
        _check_count(count, len(items), "merchandise", basket.id)
        ids = sorted({i.stock_item_id for i in items})
        found = {r.id: r for r in await uow.rows(_STOCK, {"ids": ids})}
        for i in ids:
            if i not in found:
                raise NotFound("stock item", i)
        for i in ids:
            wanted = sum(1 for item in items if item.stock_item_id == i)
            if not await products.take_stock(uow, i, wanted):
                raise NotAvailable("stock item", i, STOCK_EXHAUSTED)
        basket.grown.add("merchandise")
        await uow.session.execute(
            insert(_BM),
            [
                {
                    "tenant_id": uow.tenant_id,
                    "id": new_row_key(),
                    "basket_id": basket.id,
                    "stock_item_id": item.stock_item_id,
                    "reference": item.reference,
                    "price_minor": found[item.stock_item_id].price_minor or 0,
                    "position": count + index,
                }
                for index, item in enumerate(items)
            ],
        )

    return await _write(core, principal, ref, now, change, create=True)


_BASKET_STOCK: Any = select(BasketMerchandise.id, BasketMerchandise.stock_item_id).where(
    of_tenant(BasketMerchandise), BasketMerchandise.basket_id == bindparam("basket_id")
)


async def _give_back_stock(uow: UnitOfWork, rows: Sequence[Any]) -> None:
    counts: dict[int, int] = {}
    for r in rows:
        counts[r.stock_item_id] = counts.get(r.stock_item_id, 0) + 1
    for stock_item_id in sorted(counts):
        await products.return_stock(uow, stock_item_id, counts[stock_item_id])


async def remove_merchandise(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    item_ids: Sequence[int],
    *,
    now: datetime | None = None,
) -> BasketView:
    """Remove merchandise items, giving their units back to stock. ``NotFound`` for an id
    that is not an item of the basket."""
    wanted = _ids(item_ids, "merchandise item")

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        rows = {r.id: r for r in await uow.rows(_BASKET_STOCK, {"basket_id": basket.id})}
        for i in wanted:
            if i not in rows:
                raise NotFound("merchandise item", i)
        await _give_back_stock(uow, [rows[i] for i in wanted])
        await _delete(uow, _BM, basket.id, wanted)

    return await _write(core, principal, ref, now, change)


_FUNDS: Any = select(Fund.id).where(of_tenant(Fund), Fund.id.in_(bindparam("ids", expanding=True)))


def _donation_values(
    amount: Decimal, recognition: str | None, tribute_type: int | None, tribute: str | None
) -> dict[str, Any]:
    if tribute_type is not None and (type(tribute_type) is not int or not is_key(tribute_type)):
        raise InvalidInput("tribute_type_id", UNKNOWN)
    return {
        "amount_minor": _minor(amount, "amount"),
        "recognition_name": _text(recognition, "recognition_name"),
        "tribute_type_id": tribute_type,
        "tribute_name": _text(tribute, "tribute_name"),
    }


async def add_donations(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    donations: Sequence[NewDonation],
    *,
    now: datetime | None = None,
) -> BasketView:
    """Add donations. ``NotFound`` for an unknown fund; ``InvalidInput`` for an amount that
    is not positive (or has more than two decimals)."""
    if not donations:
        raise InvalidInput("donations", REQUIRED)
    rows = []
    for d in donations:
        _key_or_not_found("fund", d.fund_id)
        values = _donation_values(d.amount, d.recognition_name, d.tribute_type_id, d.tribute_name)
        rows.append({**values, "fund_id": d.fund_id, "is_anonymous": bool(d.is_anonymous)})

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        count = await _count(uow, _BD, basket.id)
        _check_count(count, len(rows), "donations", basket.id)
        ids = sorted({r["fund_id"] for r in rows})
        found = {r.id for r in await uow.rows(_FUNDS, {"ids": ids})}
        for i in ids:
            if i not in found:
                raise NotFound("fund", i)
        basket.grown.add("donations")
        await uow.session.execute(
            insert(_BD),
            [
                {
                    **r,
                    "tenant_id": uow.tenant_id,
                    "id": new_row_key(),
                    "basket_id": basket.id,
                    "position": count + index,
                }
                for index, r in enumerate(rows)
            ],
        )

    return await _write(core, principal, ref, now, change, create=True)


_BASKET_ITEM_IDS = {
    table.name: select(table.c.id).where(
        table.c.tenant_id == bindparam(TENANT_PARAM), table.c.basket_id == bindparam("basket_id")
    )
    for table in _ITEM_TABLES
}


async def _patch_items(
    uow: UnitOfWork,
    table: Table,
    basket_id: int,
    ids: Sequence[int] | None,
    values: Mapping[str, Any],
    kind: str,
) -> None:
    """Apply ``values`` to the items named (None: all); ``NotFound`` if one is unknown."""
    have = {r.id for r in await uow.rows(_BASKET_ITEM_IDS[table.name], {"basket_id": basket_id})}
    chosen = sorted(have) if ids is None else list(ids)
    for i in chosen:
        if i not in have:
            raise NotFound(kind, i)
    if values and chosen:
        await uow.session.execute(
            update(table)
            .where(table.c.tenant_id == uow.tenant_id, table.c.id.in_(chosen))
            .values(**values)
        )


async def _remove_items(
    uow: UnitOfWork, table: Table, basket_id: int, ids: Sequence[int], kind: str
) -> None:
    await _patch_items(uow, table, basket_id, ids, {}, kind)
    await _delete(uow, table, basket_id, ids)


async def update_donations(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    donation_ids: Sequence[int] | None,
    patch: DonationPatch,
    *,
    now: datetime | None = None,
) -> BasketView:
    """Change the donations named (None: all). ``NotFound`` if any id is unknown."""
    wanted = None if donation_ids is None else _ids(donation_ids, "donation")
    values: dict[str, Any] = {}
    if patch.amount is not UNSET:
        values["amount_minor"] = _minor(patch.amount, "amount")
    if patch.recognition_name is not UNSET:
        values["recognition_name"] = _text(patch.recognition_name, "recognition_name")
    if patch.is_anonymous is not UNSET:
        values["is_anonymous"] = bool(patch.is_anonymous)
    if patch.tribute_type_id is not UNSET:
        tribute = patch.tribute_type_id
        if tribute is not None and (type(tribute) is not int or not is_key(tribute)):
            raise InvalidInput("tribute_type_id", UNKNOWN)
        values["tribute_type_id"] = tribute
    if patch.tribute_name is not UNSET:
        values["tribute_name"] = _text(patch.tribute_name, "tribute_name")

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        await _patch_items(uow, _BD, basket.id, wanted, values, "donation")

    return await _write(core, principal, ref, now, change)


async def remove_donations(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    donation_ids: Sequence[int],
    *,
    now: datetime | None = None,
) -> BasketView:
    wanted = _ids(donation_ids, "donation")

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        await _remove_items(uow, _BD, basket.id, wanted, "donation")

    return await _write(core, principal, ref, now, change)


_VOUCHER_TYPES: Any = select(
    GiftVoucherType.id,
    GiftVoucherType.amount_minor,
    GiftVoucherType.min_minor,
    GiftVoucherType.max_minor,
).where(of_tenant(GiftVoucherType), GiftVoucherType.id.in_(bindparam("ids", expanding=True)))


def _voucher_delivery(kind: str, address: str | None) -> None:
    if kind not in DELIVERY_TYPES:
        raise InvalidInput("delivery_type", "CustomerEmail or OtherEmail")
    if kind == "OtherEmail" and not address:
        raise InvalidInput("delivery_email_address", REQUIRED)
    _text(address, "delivery_email_address", 320)


def _voucher_amount(amount_minor: int, kind: Any) -> None:
    if kind is None:
        return
    if kind.amount_minor is not None and amount_minor != kind.amount_minor:
        raise InvalidInput("amount", "the gift voucher's amount")
    if kind.min_minor is not None and amount_minor < kind.min_minor:
        raise InvalidInput("amount", "below the gift voucher's minimum")
    if kind.max_minor is not None and amount_minor > kind.max_minor:
        raise InvalidInput("amount", "above the gift voucher's maximum")


async def add_gift_vouchers(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    vouchers: Sequence[NewGiftVoucher],
    *,
    replace: bool = False,
    now: datetime | None = None,
) -> BasketView:
    """Add gift vouchers (``replace``: in place of every voucher the basket has, in the same
    transaction). ``NotFound`` for an unknown type; ``InvalidInput`` for an amount outside the
    type's bounds, a delivery type other than ``CustomerEmail``/``OtherEmail``, ``OtherEmail``
    without an address."""
    if not vouchers:
        raise InvalidInput("gift_vouchers", REQUIRED)
    rows: list[dict[str, Any]] = []
    for v in vouchers:
        _key_or_not_found("gift voucher type", v.gift_voucher_type_id)
        _voucher_delivery(v.delivery_type, v.delivery_email_address)
        rows.append(
            {
                "gift_voucher_type_id": v.gift_voucher_type_id,
                "amount_minor": _minor(v.amount, "amount"),
                "to_name": _text(v.to_name, "to_name"),
                "from_name": _text(v.from_name, "from_name"),
                "message": _text(v.message, "message", 2000),
                "send_date": v.send_date,
                "delivery_type": v.delivery_type,
                "delivery_email_address": v.delivery_email_address,
            }
        )

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        if replace:
            await _delete(uow, _BG, basket.id, None)
        count = 0 if replace else await _count(uow, _BG, basket.id)
        _check_count(count, len(rows), "gift vouchers", basket.id)
        ids = sorted({r["gift_voucher_type_id"] for r in rows if r["gift_voucher_type_id"]})
        kinds = {k.id: k for k in await uow.rows(_VOUCHER_TYPES, {"ids": ids})} if ids else {}
        for r in rows:
            type_id = r["gift_voucher_type_id"]
            if type_id is not None and type_id not in kinds:
                raise NotFound("gift voucher type", type_id)
            _voucher_amount(r["amount_minor"], kinds.get(type_id) if type_id else None)
        basket.grown.add("vouchers")
        await uow.session.execute(
            insert(_BG),
            [
                {
                    **r,
                    "tenant_id": uow.tenant_id,
                    "id": new_row_key(),
                    "basket_id": basket.id,
                    "position": count + index,
                }
                for index, r in enumerate(rows)
            ],
        )

    return await _write(core, principal, ref, now, change, create=True)


_BASKET_VOUCHERS: Any = select(
    BasketGiftVoucher.id,
    BasketGiftVoucher.gift_voucher_type_id,
    BasketGiftVoucher.delivery_type,
    BasketGiftVoucher.delivery_email_address,
).where(of_tenant(BasketGiftVoucher), BasketGiftVoucher.basket_id == bindparam("basket_id"))


async def update_gift_vouchers(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    voucher_ids: Sequence[int] | None,
    patch: GiftVoucherPatch,
    *,
    now: datetime | None = None,
) -> BasketView:
    """Change the gift vouchers named (None: all), checked as :func:`add_gift_vouchers`
    checks new ones. ``NotFound`` if any id is unknown."""
    wanted = None if voucher_ids is None else _ids(voucher_ids, "gift voucher")
    values: dict[str, Any] = {}
    if patch.amount is not UNSET:
        values["amount_minor"] = _minor(patch.amount, "amount")
    for name in ("to_name", "from_name"):
        value = getattr(patch, name)
        if value is not UNSET:
            values[name] = _text(value, name)
    if patch.message is not UNSET:
        values["message"] = _text(patch.message, "message", 2000)
    if patch.send_date is not UNSET:
        values["send_date"] = patch.send_date
    if patch.delivery_type is not UNSET:
        values["delivery_type"] = patch.delivery_type
    if patch.delivery_email_address is not UNSET:
        values["delivery_email_address"] = _text(
            patch.delivery_email_address, "delivery_email_address", 320
        )

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        rows = {r.id: r for r in await uow.rows(_BASKET_VOUCHERS, {"basket_id": basket.id})}
        ids = list(rows) if wanted is None else wanted
        for i in ids:
            if i not in rows:
                raise NotFound("gift voucher", i)
        type_ids = sorted(
            {rows[i].gift_voucher_type_id for i in ids if rows[i].gift_voucher_type_id}
        )
        kinds = (
            {k.id: k for k in await uow.rows(_VOUCHER_TYPES, {"ids": type_ids})} if type_ids else {}
        )
        for i in ids:
            r = rows[i]
            _voucher_delivery(
                values.get("delivery_type", r.delivery_type),
                values.get("delivery_email_address", r.delivery_email_address),
            )
            if "amount_minor" in values and r.gift_voucher_type_id:
                _voucher_amount(values["amount_minor"], kinds.get(r.gift_voucher_type_id))
        await _patch_items(uow, _BG, basket.id, ids, values, "gift voucher")

    return await _write(core, principal, ref, now, change)


async def remove_gift_vouchers(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    voucher_ids: Sequence[int],
    *,
    now: datetime | None = None,
) -> BasketView:
    wanted = _ids(voucher_ids, "gift voucher")

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        await _remove_items(uow, _BG, basket.id, wanted, "gift voucher")

    return await _write(core, principal, ref, now, change)


_MEMBERSHIPS_FOR_SALE: Any = select(
    Membership.id, Membership.price_minor, Membership.duration_months
).where(of_tenant(Membership), Membership.id.in_(bindparam("ids", expanding=True)))


async def _check_not_held(
    uow: UnitOfWork, basket: _Basket, membership_ids: Sequence[int], moment: datetime
) -> None:
    """``MembershipHeld`` when the basket's customer holds one of the memberships outside its
    renewal window."""
    if basket.customer_id is None or not membership_ids:
        return
    held = {
        h.membership_id: h.expiry
        for h in await uow.rows(_HELD_MEMBERSHIPS, {"customer_id": basket.customer_id})
    }
    today = _today(basket.zone, moment)
    days = _setting_int(basket.settings, "membership_renewal_days", DEFAULT_RENEWAL_DAYS, 0, 3660)
    for membership_id in membership_ids:
        if membership_term(held.get(membership_id), today, 12, days) is None:
            raise MembershipHeld(membership_id)


async def add_membership_subscriptions(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    subscriptions: Sequence[NewMembershipSubscription],
    *,
    now: datetime | None = None,
) -> BasketView:
    """Add memberships for the basket's customer. ``NotFound`` for an unknown membership;
    ``InvalidInput`` for one not for sale, one named twice, or an overridden price outside
    Owner mode; ``MembershipHeld`` when the basket's customer holds it already outside its
    renewal window (checked again by :func:`confirm`)."""
    if not subscriptions:
        raise InvalidInput("membership_subscriptions", REQUIRED)
    rows: list[dict[str, Any]] = []
    for m in subscriptions:
        _key_or_not_found("membership", m.membership_id)
        overridden = None
        if m.overridden_price is not None:
            if not principal.full_access:
                raise PermissionDenied("a price is overridden by the System Owner only")
            overridden = _minor(m.overridden_price, "overridden_price", allow_zero=True)
        if m.related_donation_id is not None:
            _key_or_not_found("donation", m.related_donation_id)
        rows.append(
            {
                "membership_id": m.membership_id,
                "auto_renew": bool(m.auto_renew),
                "overridden_price_minor": overridden,
                "related_donation_id": m.related_donation_id,
            }
        )

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        count = await _count(uow, _BMS, basket.id)
        _check_count(count, len(rows), "memberships", basket.id)
        ids = [r["membership_id"] for r in rows]
        if len(set(ids)) != len(ids):
            raise InvalidInput("membership", "named twice")
        found = {m.id: m for m in await uow.rows(_MEMBERSHIPS_FOR_SALE, {"ids": sorted(ids)})}
        for i in ids:
            if i not in found:
                raise NotFound("membership", i)
            if found[i].price_minor is None:
                raise InvalidInput("membership", "not for sale")
        await _check_not_held(uow, basket, ids, moment)
        basket.grown.add("memberships")
        await uow.session.execute(
            insert(_BMS),
            [
                {
                    **r,
                    "tenant_id": uow.tenant_id,
                    "id": new_row_key(),
                    "basket_id": basket.id,
                    "position": count + index,
                }
                for index, r in enumerate(rows)
            ],
        )

    return await _write(core, principal, ref, now, change, create=True)


async def update_membership_subscriptions(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    subscription_ids: Sequence[int] | None,
    patch: MembershipSubscriptionPatch,
    *,
    now: datetime | None = None,
) -> BasketView:
    """Change auto-renewal (or, System Owner, the price) of the subscriptions named (None:
    all). ``NotFound`` if any id is unknown."""
    wanted = None if subscription_ids is None else _ids(subscription_ids, "membership subscription")
    values: dict[str, Any] = {}
    if patch.auto_renew is not UNSET:
        values["auto_renew"] = bool(patch.auto_renew)
    if patch.overridden_price is not UNSET:
        if not principal.full_access:
            raise PermissionDenied("a price is overridden by the System Owner only")
        price = patch.overridden_price
        values["overridden_price_minor"] = (
            None if price is None else _minor(price, "overridden_price", allow_zero=True)
        )

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        await _patch_items(uow, _BMS, basket.id, wanted, values, "membership subscription")

    return await _write(core, principal, ref, now, change)


async def remove_membership_subscriptions(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    subscription_ids: Sequence[int],
    *,
    now: datetime | None = None,
) -> BasketView:
    wanted = _ids(subscription_ids, "membership subscription")

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        await _remove_items(uow, _BMS, basket.id, wanted, "membership subscription")

    return await _write(core, principal, ref, now, change)


async def add_custom_payment(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    payment: NewCustomPayment,
    *,
    now: datetime | None = None,
) -> BasketView:
    """Record money taken elsewhere (System Owner only: ``PermissionDenied`` in Web mode).
    From then on the basket never expires."""
    if not principal.full_access:
        raise PermissionDenied("custom payments are for the System Owner")
    amount = _minor(payment.amount, "amount")
    kind = _text(payment.payment_type, "payment_type")
    if not kind:
        raise InvalidInput("payment_type", REQUIRED)
    attributes = _attributes(payment.attributes)

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        count = await _count(uow, _BP, basket.id)
        _check_count(count, 1, "payments", basket.id)
        basket.grown.add("payments")
        await uow.session.execute(
            insert(_BP).values(
                tenant_id=uow.tenant_id,
                id=new_row_key(),
                basket_id=basket.id,
                payment_type=kind,
                amount_minor=amount,
                attributes=attributes,
                created_at=moment,
                position=count,
            )
        )

    return await _write(core, principal, ref, now, change)


#: The payment types shown for a gift voucher's and a credit balance's payments.
VOUCHER_PAYMENT, CREDIT_PAYMENT = "Gift Voucher", "Account Credit"
CUSTOM, VOUCHER, CREDIT = "custom", "voucher", "credit"
_VOUCHER_BY_CODE: Any = (
    select(BasketGiftVoucher.id, BasketGiftVoucher.code, BasketGiftVoucher.balance_minor)
    .join(
        Basket,
        and_(
            Basket.tenant_id == BasketGiftVoucher.tenant_id,
            Basket.id == BasketGiftVoucher.basket_id,
        ),
    )
    .where(
        of_tenant(BasketGiftVoucher, Basket),
        BasketGiftVoucher.code == bindparam("code"),
        Basket.state == CONFIRMED,
    )
)
_CREDIT: Any = select(Customer.credit_balance).where(
    of_tenant(Customer), Customer.id == bindparam("customer_id")
)


def voucher_code(code: str) -> str:
    """A gift voucher code as stored: matched without regard to case, spaces or dashes."""
    if not isinstance(code, str) or len(code) > 64:
        raise InvalidInput("code", "a gift voucher code")
    return "".join(ch for ch in code.upper() if ch.isalnum())


async def _add_payment(
    uow: UnitOfWork,
    basket: _Basket,
    moment: datetime,
    *,
    kind: str,
    available_minor: int,
    amount: Decimal | None,
    payment_type: str,
    gift_voucher_id: int | None = None,
    attributes: dict[str, str] | None = None,
) -> None:
    """A voucher or credit payment: ``amount``, or the basket's outstanding amount, at most
    ``available_minor`` (the voucher's or the customer's balance now; taken at confirmation)."""
    view = await _view(uow, SimpleNamespace(**basket.row), moment)
    outstanding = int((view.total - view.paid) * 100)
    if amount is None:
        wanted = min(outstanding, available_minor)
        if wanted <= 0:
            reason = "nothing is outstanding" if outstanding <= 0 else "no balance left"
            raise InvalidInput("amount", reason)
    else:
        wanted = _minor(amount, "amount")
        if wanted > available_minor:
            raise InvalidInput("amount", "more than the balance left")
        if wanted > outstanding:
            raise InvalidInput("amount", "more than the basket's outstanding amount")
    count = await _count(uow, _BP, basket.id)
    _check_count(count, 1, "payments", basket.id)
    basket.grown.add("payments")
    await uow.session.execute(
        insert(_BP).values(
            tenant_id=uow.tenant_id,
            id=new_row_key(),
            basket_id=basket.id,
            payment_type=payment_type,
            amount_minor=wanted,
            attributes=attributes or {},
            created_at=moment,
            position=count,
            kind=kind,
            gift_voucher_id=gift_voucher_id,
        )
    )


_VOUCHER_PAID: Any = select(BasketPayment.id).where(
    of_tenant(BasketPayment),
    BasketPayment.basket_id == bindparam("basket_id"),
    BasketPayment.gift_voucher_id == bindparam("voucher_id"),
)


async def add_voucher_payment(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    code: str,
    amount: Decimal | None = None,
    *,
    now: datetime | None = None,
) -> BasketView:
    """Pay with a gift voucher (Web mode too: whoever has the code may spend it): ``amount``,
    or the rest of the basket's outstanding amount, at most the voucher's balance. The code
    is matched without regard to case (spaces and dashes ignored). The balance is taken at
    confirmation, by a conditional ``UPDATE`` (two baskets never spend it twice: the second
    confirmation is refused). From then on the basket never expires, as with any payment.
    Refusals: ``NotFound`` (no voucher of this tenant has that code), ``Conflict`` (the
    voucher pays for this basket already), ``InvalidInput`` (``amount``: more than the
    balance or than is outstanding, or nothing to pay)."""
    clean = voucher_code(code)
    if not clean:
        raise InvalidInput("code", REQUIRED)

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        voucher = await uow.first(_VOUCHER_BY_CODE, {"code": clean})
        if voucher is None:
            raise NotFound("gift voucher", code)
        paying = {"basket_id": basket.id, "voucher_id": voucher.id}
        if await uow.first(_VOUCHER_PAID, paying) is not None:
            raise Conflict("the gift voucher pays for this basket already")
        await _add_payment(
            uow,
            basket,
            moment,
            kind=VOUCHER,
            available_minor=int(voucher.balance_minor or 0),
            amount=amount,
            payment_type=VOUCHER_PAYMENT,
            gift_voucher_id=voucher.id,
            attributes={"Code": "*" * 12 + clean[-4:]},
        )

    return await _write(core, principal, ref, now, change)


async def add_credit_payment(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    amount: Decimal | None = None,
    *,
    now: datetime | None = None,
) -> BasketView:
    """Pay with the basket's customer's credit balance: ``amount``, or the rest of the
    outstanding amount, at most the balance. Taken at confirmation by a conditional
    ``UPDATE`` (never below 0: a confirmation it no longer covers is refused). Refusals:
    ``InvalidInput`` (``customer``: the basket has none; ``amount`` as for a voucher),
    ``PermissionDenied`` in Web mode unless the customer is the one logged in."""

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        if basket.customer_id is None:
            raise InvalidInput("customer", REQUIRED)
        if not principal.full_access and principal.customer_id != basket.customer_id:
            raise PermissionDenied("only the customer may spend their credit")
        credit = await uow.first(_CREDIT, {"customer_id": basket.customer_id})
        balance = Decimal(credit.credit_balance or 0) if credit is not None else Decimal(0)
        await _add_payment(
            uow,
            basket,
            moment,
            kind=CREDIT,
            available_minor=max(0, int(balance * 100)),
            amount=amount,
            payment_type=CREDIT_PAYMENT,
        )

    return await _write(core, principal, ref, now, change)


_VOUCHER_LOCKED: Any = _VOUCHER_BY_CODE.with_for_update(of=BasketGiftVoucher)


async def redeem_gift_voucher(
    core: Core, principal: Principal, customer_id: int, code: str, *, now: datetime | None = None
) -> tuple[Decimal, Decimal]:
    """Turn a gift voucher's whole balance into the customer's credit balance (the vendor's
    ``redeem-gift-voucher``), in one transaction: the voucher's row locked, its balance set to
    0 only if unchanged, the customer's credit raised, a ``gift_voucher_redeemed`` timeline
    entry. Returns (the amount credited, the credit balance now). Refusals (nothing changed):
    ``NotFound`` (a customer the principal does not reach; no voucher has that code),
    ``Conflict`` (its balance is spent already), ``InvalidInput`` (no code; checked after the
    customer, so that another tenant's customer is not found whatever the body)."""
    if principal.customer_id is not None and principal.customer_id != customer_id:
        raise NotFound("Customer", customer_id)
    if not principal.full_access and principal.customer_id is None:
        raise NotFound("Customer", customer_id)
    if type(customer_id) is not int or not is_key(customer_id):
        raise NotFound("Customer", customer_id)
    customers = cast(Table, Customer.__table__)
    async with core.uow(principal.tenant_id, write=True) as uow:
        if await uow.first(_CREDIT, {"customer_id": customer_id}) is None:
            raise NotFound("Customer", customer_id)
        clean = voucher_code(code)
        if not clean:
            raise InvalidInput("code", REQUIRED)
        voucher = await uow.first(_VOUCHER_LOCKED, {"code": clean})
        if voucher is None:
            raise NotFound("gift voucher", code)
        balance = int(voucher.balance_minor or 0)
        if balance <= 0:
            raise Conflict("the gift voucher has no balance left")
        result: Any = await uow.session.execute(
            update(_BG)
            .where(
                _BG.c.tenant_id == uow.tenant_id,
                _BG.c.id == voucher.id,
                _BG.c.balance_minor == balance,
            )
            .values(balance_minor=0)
        )
        if result.rowcount != 1:  # SQLite has one writer; PostgreSQL locked the row
            raise Conflict("the gift voucher has no balance left")
        amount = _money(balance)
        credit = await uow.session.execute(
            update(customers)
            .where(customers.c.tenant_id == uow.tenant_id, customers.c.id == customer_id)
            .values(credit_balance=customers.c.credit_balance + amount)
            .returning(customers.c.credit_balance)
        )
        now_credit = Decimal(credit.scalar_one()).quantize(_CENT)
        uow.customers.record(
            customer_id, "gift_voucher_redeemed", principal.actor, amount=str(amount)
        )
        await uow.commit()
    return amount, now_credit


async def _take_balances(uow: UnitOfWork, basket_id: int, view: BasketView) -> None:
    """At confirmation: each gift voucher's and the customer's credit payment taken from its
    balance by a conditional ``UPDATE`` (vouchers in id order, then the customer), so that two
    baskets can never spend one balance twice; a balance that no longer covers its payment is
    a ``Conflict`` (the caller's unit of work is rolled back)."""
    tenant = uow.tenant_id
    vouchers: dict[int, int] = {}
    credit = 0
    for p in view.custom_payments:
        minor = int(p.amount * 100)
        if p.kind == VOUCHER and p.gift_voucher_id is not None:
            vouchers[p.gift_voucher_id] = vouchers.get(p.gift_voucher_id, 0) + minor
        elif p.kind == CREDIT:
            credit += minor
    for voucher_id in sorted(vouchers):
        spent = vouchers[voucher_id]
        result: Any = await uow.session.execute(
            update(_BG)
            .where(
                _BG.c.tenant_id == tenant,
                _BG.c.id == voucher_id,
                _BG.c.balance_minor >= spent,
            )
            .values(balance_minor=_BG.c.balance_minor - spent)
        )
        if result.rowcount != 1:
            raise Conflict("a gift voucher's balance no longer covers its payment")
    if credit:
        customers = cast(Table, Customer.__table__)
        taken = _money(credit)
        result = await uow.session.execute(
            update(customers)
            .where(
                customers.c.tenant_id == tenant,
                customers.c.id == view.customer_id,
                customers.c.credit_balance >= taken,
            )
            .values(credit_balance=customers.c.credit_balance - taken)
        )
        if result.rowcount != 1:
            raise Conflict("the customer's credit balance no longer covers its payment")


# --- the basket itself ---------------------------------------------------------------------------

_CUSTOMER: Any = select(Customer.id, Customer.email, Customer.first_name).where(
    of_tenant(Customer), Customer.id == bindparam("customer_id")
)


async def _check_customer(uow: UnitOfWork, principal: Principal, customer_id: int) -> None:
    if principal.customer_id is not None and principal.customer_id != customer_id:
        raise NotFound("Customer", customer_id)
    if not principal.full_access and principal.customer_id is None:
        raise NotFound("Customer", customer_id)
    if not is_key(customer_id) or await uow.first(_CUSTOMER, {"customer_id": customer_id}) is None:
        raise NotFound("Customer", customer_id)


async def _apply_patch(
    uow: UnitOfWork, principal: Principal, basket: _Basket, patch: BasketPatch
) -> None:
    if patch.promo_code is not UNSET:
        code = patch.promo_code
        if code is None or not code.strip():
            basket.changes["promo_code"] = None
            basket.changes["offer_id"] = None
        else:
            offer_id = await products.promo_offer_id(uow, code)
            if offer_id is None:
                raise InvalidInput("promo_code", UNKNOWN)
            basket.changes["promo_code"] = products.clean_promo_code(code)
            basket.changes["offer_id"] = offer_id
    if patch.ticket_delivery is not UNSET:
        basket.changes["ticket_delivery"] = _delivery(patch.ticket_delivery)
    if patch.merchandise_delivery is not UNSET:
        basket.changes["merchandise_delivery"] = _delivery(patch.merchandise_delivery)
    if patch.attributes is not UNSET:
        basket.changes["attributes"] = _merge(basket.attributes, patch.attributes)
    if patch.customer_id is not UNSET:
        customer = patch.customer_id
        if customer is not None:
            await _check_customer(uow, principal, customer)
        elif not principal.full_access and basket.customer_id is not None:
            raise PermissionDenied("a customer session cannot leave its basket")
        basket.changes["customer_id"] = customer
        basket.customer_id = customer


async def update_basket(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    patch: BasketPatch,
    *,
    now: datetime | None = None,
) -> BasketView:
    """Promo code, deliveries, attributes, customer. An unknown promo code: ``InvalidInput``
    (``promo_code``, ``UNKNOWN``); a customer the principal does not reach: ``NotFound``. A web
    basket is created by a first patch."""

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        await _apply_patch(uow, principal, basket, patch)

    return await _write(core, principal, ref, now, change, create=True)


async def create_basket(
    core: Core, principal: Principal, new: NewBasket, *, now: datetime | None = None
) -> BasketView:
    """An Owner basket (System Owner only: ``PermissionDenied`` otherwise) with its first items
    and customer, all-or-nothing (any refusal as in the add functions)."""
    if not principal.full_access:
        raise PermissionDenied("Owner baskets are for the System Owner")
    moment = _now(now)
    async with core.uow(principal.tenant_id, write=True) as uow:
        basket = await _create(uow, OWNER, moment)
        await _apply_patch(
            uow,
            principal,
            basket,
            BasketPatch(
                promo_code=new.promo_code if new.promo_code else UNSET,
                ticket_delivery=new.ticket_delivery if new.ticket_delivery else UNSET,
                merchandise_delivery=new.merchandise_delivery
                if new.merchandise_delivery
                else UNSET,
                attributes=new.attributes if new.attributes else UNSET,
                customer_id=new.customer_id if new.customer_id is not None else UNSET,
            ),
        )
        await _touch(uow, basket, moment)
        basket.changes = {}
        view = await read_basket(uow, basket.id, moment)
        await uow.commit()
    ref = BasketRef.owner(view.id)
    # The items, each kind as its add function adds it; a refusal removes the basket.
    try:
        if new.tickets:
            view = await add_tickets(core, principal, ref, new.tickets, now=moment)
        if new.merchandise:
            view = await add_merchandise(core, principal, ref, new.merchandise, now=moment)
        if new.donations:
            view = await add_donations(core, principal, ref, new.donations, now=moment)
        if new.gift_vouchers:
            view = await add_gift_vouchers(core, principal, ref, new.gift_vouchers, now=moment)
        if new.membership_subscriptions:
            view = await add_membership_subscriptions(
                core, principal, ref, new.membership_subscriptions, now=moment
            )
        for payment in new.custom_payments:
            view = await add_custom_payment(core, principal, ref, payment, now=moment)
    except BaseException:
        await _discard(core, principal.tenant_id, view.id)
        raise
    return view


async def _discard(core: Core, tenant_id: int, basket_id: int) -> None:
    """Remove a basket created by a :func:`create_basket` that was refused, with whatever it
    held already."""
    async with core.uow(tenant_id, write=True) as uow:
        await _release(uow, [basket_id])
        await uow.session.execute(
            _BASKETS.delete().where(_BASKETS.c.tenant_id == tenant_id, _BASKETS.c.id == basket_id)
        )
        await uow.commit()


async def clear_basket(
    core: Core, principal: Principal, ref: BasketRef, *, now: datetime | None = None
) -> BasketView:
    """Remove every item (payments stay), giving back seats, places and stock."""

    async def change(uow: UnitOfWork, basket: _Basket, moment: datetime) -> None:
        await _give_back(uow, basket.id)
        for table in _ITEM_TABLES:
            await _delete(uow, table, basket.id, None)
        basket.ticket_count = 0

    return await _write(core, principal, ref, now, change)


async def _give_back(uow: UnitOfWork, basket_id: int) -> None:
    tickets = await uow.rows(_BASKET_TICKETS, {"basket_id": basket_id})
    await _give_back_tickets(uow, basket_id, tickets)
    await _give_back_stock(uow, await uow.rows(_BASKET_STOCK, {"basket_id": basket_id}))


# --- expiry --------------------------------------------------------------------------------------

_EXPIRED_TICKETS: Any = select(
    BasketTicket.basket_id, BasketTicket.instance_id, BasketTicket.area_id, BasketTicket.seat_id
).where(of_tenant(BasketTicket), BasketTicket.basket_id.in_(bindparam("ids", expanding=True)))
_EXPIRED_STOCK: Any = select(BasketMerchandise.basket_id, BasketMerchandise.stock_item_id).where(
    of_tenant(BasketMerchandise), BasketMerchandise.basket_id.in_(bindparam("ids", expanding=True))
)


async def _release(uow: UnitOfWork, basket_ids: Sequence[int]) -> None:
    """Give back what open baskets hold and mark them expired (their rows locked already, or
    claimed by :func:`release_expired`). Every seat of every basket in one lock order."""
    ids = sorted(basket_ids)
    tickets = await uow.rows(_EXPIRED_TICKETS, {"ids": ids})
    by_instance: dict[int, tuple[dict[int, list[int]], dict[int, int]]] = {}
    for t in tickets:
        seats, places = by_instance.setdefault(t.instance_id, ({}, {}))
        if t.seat_id is not None:
            seats.setdefault(t.basket_id, []).append(t.seat_id)
        else:
            places[t.area_id] = places.get(t.area_id, 0) + 1
    for instance_id in sorted(by_instance):
        seats_by_basket, places = by_instance[instance_id]
        for basket_id in sorted(seats_by_basket):
            # One basket's seats at a time: released seats are the baskets' own (no other
            # writer takes a held seat's row), so their order across baskets cannot cycle.
            await inventory.release_seats(uow, instance_id, seats_by_basket[basket_id], basket_id)
        for area_id in sorted(places):
            await inventory.release_places(uow, instance_id, area_id, places[area_id])
    await _give_back_stock(uow, await uow.rows(_EXPIRED_STOCK, {"ids": ids}))
    await uow.session.execute(
        update(_BASKETS)
        .where(_BASKETS.c.tenant_id == uow.tenant_id, _BASKETS.c.id.in_(ids))
        .values(state=EXPIRED, session_hash=None, expires_at=None, version=_BASKETS.c.version + 1)
    )


_DUE: Any = (
    select(_BASKETS.c.tenant_id, _BASKETS.c.id)
    .where(_BASKETS.c.state == OPEN, _BASKETS.c.expires_at <= bindparam("now"))
    .order_by(_BASKETS.c.expires_at)
    .limit(bindparam("batch"))
    .execution_options(unscoped=True)
)
_DUE_OF_TENANT: Any = _DUE.where(_BASKETS.c.tenant_id == bindparam("tenant"))
_CLAIM: Any = (
    select(Basket.id)
    .where(
        of_tenant(Basket),
        Basket.id.in_(bindparam("ids", expanding=True)),
        Basket.state == OPEN,
        Basket.expires_at <= bindparam("now"),
    )
    .order_by(Basket.id)
    .with_for_update(skip_locked=True)
)


async def release_expired(
    core: Core, now: datetime, *, batch: int = 200, tenant_id: int | None = None
) -> int:
    """Release every open basket of every tenant whose ``expires_at`` has passed: its seats,
    places and stock given back, its state ``expired``. In batches of ``batch`` baskets, one
    transaction per tenant of a batch; safe to run in several processes at once: a basket is
    claimed (``FOR UPDATE SKIP LOCKED`` on PostgreSQL: one a request or another process has
    locked is left for later) and re-checked before it is released. Returns how many baskets
    were released. ``tenant_id``: only that tenant's."""
    released = 0
    while True:
        async with core.uow(None) as finder:
            stmt = _DUE if tenant_id is None else _DUE_OF_TENANT
            params = {"now": now, "batch": batch, "tenant": tenant_id}
            due = (await finder.session.execute(stmt, params)).all()
        if not due:
            return released
        by_tenant: dict[int, list[int]] = {}
        for tenant_id, basket_id in due:
            by_tenant.setdefault(tenant_id, []).append(basket_id)
        progress = 0
        for tenant_id in sorted(by_tenant):
            async with core.uow(tenant_id, write=True) as uow:
                claimed = [
                    r.id
                    for r in await uow.rows(
                        _CLAIM, {"ids": sorted(by_tenant[tenant_id]), "now": now}
                    )
                ]
                if claimed:
                    await _release(uow, claimed)
                    await uow.commit()
            progress += len(claimed)
        released += progress
        if progress == 0 or len(due) < batch:
            return released


async def expiry_loop(core: Core, interval_seconds: float = 30.0) -> None:
    """Call :func:`release_expired` every ``interval_seconds`` until cancelled (started with
    the application); an error is logged and the loop goes on."""
    while True:
        try:
            count = await release_expired(core, datetime.now(UTC))
            if count:
                log.info("baskets_expired", count=count)
        except asyncio.CancelledError:
            raise
        except Exception:  # the loop must outlive one failure
            log.exception("basket_expiry_failed")
        await asyncio.sleep(interval_seconds)


# --- confirmation --------------------------------------------------------------------------------


def _barcode() -> str:
    """A random, unguessable ticket barcode: 16 digits (about 53 bits)."""
    return f"{secrets.randbelow(10**16):016d}"


def _voucher_code() -> str:
    """A redeemable gift voucher code: 16 letters and digits without look-alikes."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


_TENANT: Any = select(Tenant.name, Tenant.display_name, Tenant.settings).where(
    Tenant.id == bindparam(TENANT_PARAM)
)


async def confirm(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    confirmation: Confirmation,
    *,
    now: datetime | None = None,
) -> OrderView:
    """Confirm the basket into an order (same id), in one transaction: seats and places sold,
    barcodes given, the offers' discounts kept, donations recorded against their funds,
    membership subscriptions created for the customer, gift vouchers issued with a code and a
    balance, payments kept, an ``order_confirmed`` entry on the customer's timeline; then, if
    asked, a confirmation mail to the customer's stored address. Refusals (nothing changed):
    ``PaymentRequired`` when payments do not cover the total; ``InvalidInput`` (``customer``,
    ``REQUIRED``) for memberships without a customer; ``MembershipHeld``; ``NotFound`` or
    ``Conflict`` for a basket that is missing or no longer open."""
    moment = _now(now)
    async with core.uow(principal.tenant_id, write=True) as uow:
        basket = await _open(uow, principal, ref, moment, create=False)
        held: list[int] = []
        view = await _view(uow, SimpleNamespace(**basket.row), moment, held)
        if view.paid < view.total:
            raise PaymentRequired(view.total - view.paid)
        if view.membership_subscriptions and basket.customer_id is None:
            raise InvalidInput("customer", REQUIRED)
        if held:
            raise MembershipHeld(held[0])
        tenant = uow.tenant_id
        assert tenant is not None
        # Seats and places: sold, in the lock order of the holds.
        rows = await uow.rows(_BASKET_TICKETS, {"basket_id": basket.id})
        by_instance: dict[int, tuple[list[int], dict[int, int]]] = {}
        for r in rows:
            seats, places = by_instance.setdefault(r.instance_id, ([], {}))
            if r.seat_id is not None:
                seats.append(r.seat_id)
            else:
                places[r.area_id] = places.get(r.area_id, 0) + 1
        for instance_id in sorted(by_instance):
            seats, places = by_instance[instance_id]
            if seats and not await inventory.sell_seats(uow, instance_id, seats, basket.id):
                raise Conflict("the basket's seats are no longer held")
            for area_id in sorted(places):
                if not await inventory.sell_places(uow, instance_id, area_id, places[area_id]):
                    raise Conflict("the basket's places are no longer held")
        await _take_balances(uow, basket.id, view)
        ticket_codes = {t.id: _barcode() for t in view.tickets}
        item_codes = {m.id: _barcode() for m in view.merchandise_items}
        voucher_codes = {g.id: _voucher_code() for g in view.gift_vouchers}
        subscription_ids = {m.id: new_row_key() for m in view.membership_subscriptions}
        if view.tickets:
            await uow.session.execute(
                update(_BT)
                .where(_BT.c.tenant_id == tenant, _BT.c.id == bindparam("b_id"))
                .values(
                    barcode=bindparam("b_code"),
                    discount_minor=bindparam("b_discount"),
                    offer_id=bindparam("b_offer"),
                ),
                [
                    {
                        "b_id": t.id,
                        "b_code": ticket_codes[t.id],
                        "b_discount": int(t.discount * 100),
                        "b_offer": t.offer.id if t.offer else None,
                    }
                    for t in view.tickets
                ],
            )
        if view.merchandise_items:
            await uow.session.execute(
                update(_BM)
                .where(_BM.c.tenant_id == tenant, _BM.c.id == bindparam("b_id"))
                .values(barcode=bindparam("b_code")),
                [{"b_id": m.id, "b_code": item_codes[m.id]} for m in view.merchandise_items],
            )
        if view.gift_vouchers:
            await uow.session.execute(
                update(_BG)
                .where(_BG.c.tenant_id == tenant, _BG.c.id == bindparam("b_id"))
                .values(code=bindparam("b_code"), balance_minor=bindparam("b_balance")),
                [
                    {"b_id": g.id, "b_code": voucher_codes[g.id], "b_balance": int(g.amount * 100)}
                    for g in view.gift_vouchers
                ],
            )
        if view.membership_subscriptions:
            assert basket.customer_id is not None
            subscriptions = []
            kept = []
            for m in view.membership_subscriptions:
                key = subscription_ids[m.id]
                subscriptions.append(
                    {
                        "tenant_id": tenant,
                        "id": key,
                        "customer_id": basket.customer_id,
                        "membership_id": m.membership_id,
                        "start_date": m.start_date,
                        "expiry_date": m.expiry_date,
                        "auto_renew": m.auto_renew,
                        "created_at": moment,
                    }
                )
                kept.append(
                    {
                        "b_id": m.id,
                        "b_subscription": key,
                        "b_price": int(m.price * 100),
                        "b_renewal": m.is_renewal,
                        "b_start": m.start_date,
                        "b_expiry": m.expiry_date,
                    }
                )
            await uow.session.execute(
                insert(cast(Table, CustomerSubscription.__table__)), subscriptions
            )
            await uow.session.execute(
                update(_BMS)
                .where(_BMS.c.tenant_id == tenant, _BMS.c.id == bindparam("b_id"))
                .values(
                    subscription_id=bindparam("b_subscription"),
                    price_minor=bindparam("b_price"),
                    is_renewal=bindparam("b_renewal"),
                    start_date=bindparam("b_start"),
                    expiry_date=bindparam("b_expiry"),
                ),
                kept,
            )
        confirmed_on = _today(basket.zone, moment)
        await uow.session.execute(
            update(_BASKETS)
            .where(_BASKETS.c.tenant_id == tenant, _BASKETS.c.id == basket.id)
            .values(
                state=CONFIRMED,
                session_hash=None,
                expires_at=None,
                confirmed_at=moment,
                confirmed_on=confirmed_on,
                updated_at=moment,
                version=_BASKETS.c.version + 1,
            )
        )
        customer = None
        if basket.customer_id is not None:
            uow.customers.record(
                basket.customer_id,
                ORDER_CONFIRMED,
                principal.actor,
                order=basket.id,
                total=str(view.total),
                tickets=len(view.tickets),
            )
            if confirmation.send_confirmation_email:
                customer = await uow.first(_CUSTOMER, {"customer_id": basket.customer_id})
        order = order_view(
            replace(
                view,
                tickets=tuple(replace(t, barcode=ticket_codes[t.id]) for t in view.tickets),
                merchandise_items=tuple(
                    replace(m, barcode=item_codes[m.id]) for m in view.merchandise_items
                ),
                gift_vouchers=tuple(
                    replace(g, code=voucher_codes[g.id], balance=g.amount)
                    for g in view.gift_vouchers
                ),
                membership_subscriptions=tuple(
                    replace(m, subscription_id=subscription_ids[m.id])
                    for m in view.membership_subscriptions
                ),
            ),
            moment,
            basket.zone,
        )
        tenant_row = await uow.first(_TENANT) if customer is not None else None
        await uow.commit()
    if customer is not None and customer.email and tenant_row is not None:
        await _mail_confirmation(core, principal.tenant_id, tenant_row, customer, order)
    return order


async def _mail_confirmation(
    core: Core, tenant_id: int, tenant_row: Any, customer: Any, order: OrderView
) -> None:
    tenant = TenantView(
        tenant_id, tenant_row.name, tenant_row.display_name, (), dict(tenant_row.settings or {})
    )
    await mail.deliver(
        core.mailer,
        tenant,
        customer.email,
        "order_confirmation",
        {
            "tenant_name": tenant.display_name,
            "customer_first_name": customer.first_name,
            "order_id": order.id,
            "tickets": [
                {
                    "seat": t.seat_name or t.area_name,
                    "type": t.ticket_type_name,
                    "total": str(t.total),
                    "barcode": t.barcode,
                }
                for t in order.tickets
            ],
            # The buyer passes a voucher's code on (or redeems it): the mail is where they
            # learn it, sent to their stored address only.
            "gift_vouchers": [
                {"code": g.code, "amount": str(g.amount), "to_name": g.to_name}
                for g in order.gift_vouchers
            ],
            "total": str(order.total),
        },
    )


# --- erasure -------------------------------------------------------------------------------------


_OPEN_OF_CUSTOMER: Any = (
    select(Basket.id)
    .where(of_tenant(Basket), Basket.customer_id == bindparam("customer_id"), Basket.state == OPEN)
    .order_by(Basket.id)
)


async def blank_personal_text(uow: UnitOfWork, customer_id: int, *, detach: bool = False) -> None:
    """For a customer's erasure (``services/erasure.py``), in its unit of work: blank what the
    customer typed into their baskets and orders (gift vouchers' names, messages and delivery
    addresses; donations' recognition and tribute names; tickets' and baskets' attributes; a
    web basket's session), keeping their money, seats and codes (bookkeeping). ``detach``: the
    baskets no longer name the customer (the customer row is deleted). Their open baskets are
    released first (seats, places and stock given back, marked expired), as if they had
    expired: nobody can reach them any more. 6 statements, and what releasing takes."""
    tenant = uow.tenant_id
    open_ids = [
        r.id
        for r in await uow.rows(
            _OPEN_OF_CUSTOMER.with_for_update(of=Basket), {"customer_id": customer_id}
        )
    ]
    if open_ids:
        await _release(uow, open_ids)
    mine = (
        select(_BASKETS.c.id)
        .where(_BASKETS.c.tenant_id == tenant, _BASKETS.c.customer_id == customer_id)
        .scalar_subquery()
    )
    await uow.session.execute(
        update(_BG)
        .where(_BG.c.tenant_id == tenant, _BG.c.basket_id.in_(mine))
        .values(to_name=None, from_name=None, message=None, delivery_email_address=None)
    )
    await uow.session.execute(
        update(_BD)
        .where(_BD.c.tenant_id == tenant, _BD.c.basket_id.in_(mine))
        .values(recognition_name=None, tribute_name=None)
    )
    await uow.session.execute(
        update(_BT)
        .where(_BT.c.tenant_id == tenant, _BT.c.basket_id.in_(mine))
        .values(attributes={})
    )
    await uow.session.execute(
        update(_BP)
        .where(_BP.c.tenant_id == tenant, _BP.c.basket_id.in_(mine), _BP.c.kind != CUSTOM)
        .values(attributes={})
    )
    values: dict[str, Any] = {"attributes": {}, "session_hash": None}
    if detach:
        values["customer_id"] = None
    await uow.session.execute(
        update(_BASKETS)
        .where(_BASKETS.c.tenant_id == tenant, _BASKETS.c.customer_id == customer_id)
        .values(**values)
    )


# --- returns -------------------------------------------------------------------------------------

_ORDER_LOCKED: Any = (
    select(Basket.id, Basket.customer_id, _PAID)
    .where(of_tenant(Basket), Basket.id == bindparam("basket_id"), Basket.state == CONFIRMED)
    .with_for_update(of=Basket)
)
_ORDER_TICKETS: Any = select(
    BasketTicket.id,
    BasketTicket.instance_id,
    BasketTicket.area_id,
    BasketTicket.seat_id,
    BasketTicket.returned_at,
).where(of_tenant(BasketTicket), BasketTicket.basket_id == bindparam("basket_id"))


async def return_tickets(
    core: Core,
    principal: Principal,
    order_id: int,
    ticket_ids: Sequence[int],
    *,
    refund: NewCustomPayment | None = None,
    now: datetime | None = None,
) -> OrderView:
    """Return tickets of an order (System Owner only: ``PermissionDenied`` otherwise), in one
    transaction: their seats and places go from sold back on sale (in the lock order of
    decision 0124: the order's row, then instances in id order, each one's seats as a batch,
    then its areas' places), the tickets are marked returned (kept in the order, outside its
    total), and ``refund``, if given, is recorded as a custom payment of the negative amount
    (a reversal: the order's ``paid`` nets it out). Refusals (nothing changed): ``NotFound``
    for an order that is unknown, another tenant's or not confirmed, or a ticket not of that
    order; ``Conflict`` for a ticket returned already; ``InvalidInput`` for no tickets, a
    ticket named twice, or a refund larger than what the order has been paid."""
    if not principal.full_access:
        raise PermissionDenied("returns are for the System Owner")
    if type(order_id) is not int or not is_key(order_id):
        raise NotFound("order", order_id)
    if not ticket_ids:
        raise InvalidInput("tickets", REQUIRED)
    if len(ticket_ids) > DEFAULT_MAX_TICKETS * 20:
        raise InvalidInput("tickets", "too many at once")
    wanted = _ids(ticket_ids, "ticket")
    amount = kind = None
    attributes: dict[str, str] = {}
    if refund is not None:
        amount = _minor(refund.amount, "refund.amount")
        kind = _text(refund.payment_type, "refund.payment_type")
        if not kind:
            raise InvalidInput("refund.payment_type", REQUIRED)
        attributes = _attributes(refund.attributes, "refund.attributes")
    moment = _now(now)
    async with core.uow(principal.tenant_id, write=True) as uow:
        order = await uow.first(_ORDER_LOCKED, {"basket_id": order_id})
        if order is None:
            raise NotFound("order", order_id)
        rows = {r.id: r for r in await uow.rows(_ORDER_TICKETS, {"basket_id": order_id})}
        for i in wanted:
            if i not in rows:
                raise NotFound("ticket", i)
            if rows[i].returned_at is not None:
                raise Conflict(f"ticket {i!r} is returned already")
        if amount is not None and amount > int(order.paid_minor or 0):
            raise InvalidInput("refund.amount", "at most what the order has been paid")
        by_instance: dict[int, tuple[list[int], dict[int, int]]] = {}
        for i in wanted:
            r = rows[i]
            seats, places = by_instance.setdefault(r.instance_id, ([], {}))
            if r.seat_id is not None:
                seats.append(r.seat_id)
            else:
                places[r.area_id] = places.get(r.area_id, 0) + 1
        for instance_id in sorted(by_instance):
            seats, places = by_instance[instance_id]
            if seats and not await inventory.return_seats(uow, instance_id, seats, order_id):
                raise Conflict("the order's seats are no longer sold to it")
            for area_id in sorted(places):
                if not await inventory.return_places(uow, instance_id, area_id, places[area_id]):
                    raise Conflict("the order's places are no longer sold")
        tenant = uow.tenant_id
        await uow.session.execute(
            update(_BT)
            .where(_BT.c.tenant_id == tenant, _BT.c.id.in_(wanted), _BT.c.returned_at.is_(None))
            .values(returned_at=moment)
        )
        if amount is not None:
            await uow.session.execute(
                insert(_BP).values(
                    tenant_id=tenant,
                    id=new_row_key(),
                    basket_id=order_id,
                    payment_type=kind,
                    amount_minor=-amount,
                    attributes=attributes,
                    created_at=moment,
                    position=await _count(uow, _BP, order_id),
                )
            )
        await uow.session.execute(
            update(_BASKETS)
            .where(_BASKETS.c.tenant_id == tenant, _BASKETS.c.id == order_id)
            .values(updated_at=moment, version=_BASKETS.c.version + 1)
        )
        if order.customer_id is not None:
            uow.customers.record(
                order.customer_id,
                "tickets_returned",
                principal.actor,
                order=order_id,
                tickets=len(wanted),
                refund=str(_money(amount)) if amount is not None else None,
            )
        (view,) = await read_orders(uow, [order_id])
        await uow.commit()
    return view
