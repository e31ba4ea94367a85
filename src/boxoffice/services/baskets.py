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

Offers: the basket's promo code unlocks an offer; :func:`price_items` (the one place prices
are computed) sets each ticket's ``discount`` and the basket's totals.

Confirmation turns the basket into an order (same id) in one transaction: seats and places
sold, barcodes given, donations, memberships and gift vouchers issued, payments kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from boxoffice.domain.commands import (
    BasketPatch,
    BasketRef,
    Confirmation,
    DonationPatch,
    GiftVoucherPatch,
    MembershipSubscriptionPatch,
    NewBasket,
    NewCustomPayment,
    NewDonation,
    NewGiftVoucher,
    NewMembershipSubscription,
    NewMerchandise,
    NewTicket,
    TicketPatch,
)
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import BasketView, OrderView
from boxoffice.services.core import Core

#: Hold time when the tenant's settings name none (``basket_hold_minutes``).
DEFAULT_HOLD_MINUTES = 15
#: The most tickets one basket may hold when the tenant's settings name no other
#: (``basket_max_tickets``); more is refused (``NotAvailable``, ``TOO_MANY``).
DEFAULT_MAX_TICKETS = 50
#: The most items of each other kind one basket may hold.
MAX_ITEMS = 50


async def get_basket(
    core: Core, principal: Principal, ref: BasketRef, *, now: datetime | None = None
) -> BasketView:
    """The basket. ``NotFound``: no web basket for that session yet (or it expired), an
    unknown Owner basket id, another tenant's, or an Owner basket asked for in Web mode."""
    raise NotImplementedError


async def create_basket(
    core: Core, principal: Principal, new: NewBasket, *, now: datetime | None = None
) -> BasketView:
    """An Owner basket (System Owner only: ``PermissionDenied`` otherwise) with its first items
    and customer, all-or-nothing (any refusal as in the add functions)."""
    raise NotImplementedError


async def update_basket(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    patch: BasketPatch,
    *,
    now: datetime | None = None,
) -> BasketView:
    """Promo code, deliveries, attributes, customer. An unknown promo code: ``InvalidInput``
    (``promo_code``, ``UNKNOWN``); a customer the principal does not reach: ``NotFound``."""
    raise NotImplementedError


async def clear_basket(
    core: Core, principal: Principal, ref: BasketRef, *, now: datetime | None = None
) -> BasketView:
    """Remove every item (payments stay), giving back seats, places and stock."""
    raise NotImplementedError


async def add_tickets(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    tickets: Sequence[NewTicket],
    *,
    now: datetime | None = None,
) -> BasketView:
    """Add tickets, holding their seats and places, all-or-nothing; a web basket is created by
    its first add. Refusals (nothing changed): ``NotFound`` (instance, seat, area or ticket type
    the tenant lacks or the principal cannot see); ``InvalidInput`` (both or neither of seat and
    area, a seat for an unreserved area or an area for a reserved one, a ticket type not in the
    instance's price list for that band); ``NotAvailable`` with ``SEAT_TAKEN``, ``SOLD_OUT``,
    ``OFF_SALE`` (Web mode outside the instance's sale window, or the event or instance is not
    on sale), ``CANCELLED``, ``TOO_MANY`` (more tickets than the basket may hold)."""
    raise NotImplementedError


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
    """Add ``quantity`` tickets on the best available seats (:func:`best_available`), held as
    :func:`add_tickets` holds them. ``NotAvailable`` (``NO_BEST_AVAILABLE``) for an unreserved
    plan or area, ``SOLD_OUT`` when fewer seats are left."""
    raise NotImplementedError


async def best_available(
    core: Core, principal: Principal, instance_id: int, quantity: int, *, area_id: int | None = None
) -> tuple[int, ...]:
    """The seat ids (in seat order) that are the best available ``quantity`` seats of the
    instance (or of one area): side by side in one row where possible, in the best band first
    (the band's position), then the row nearest the front. Empty when there are not that many
    seats. A read: the seats are not held (a race is settled by the hold)."""
    raise NotImplementedError


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
    ``NotFound`` if any id is not a ticket of the basket (nothing changed)."""
    raise NotImplementedError


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
    raise NotImplementedError


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
    raise NotImplementedError


async def remove_merchandise(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    item_ids: Sequence[int],
    *,
    now: datetime | None = None,
) -> BasketView:
    """Remove merchandise items, giving their units back to stock."""
    raise NotImplementedError


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
    raise NotImplementedError


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
    raise NotImplementedError


async def remove_donations(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    donation_ids: Sequence[int],
    *,
    now: datetime | None = None,
) -> BasketView:
    raise NotImplementedError


async def add_gift_vouchers(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    vouchers: Sequence[NewGiftVoucher],
    *,
    now: datetime | None = None,
) -> BasketView:
    """Add gift vouchers. ``InvalidInput`` for an amount outside the type's bounds, a delivery
    type other than ``CustomerEmail``/``OtherEmail``, ``OtherEmail`` without an address."""
    raise NotImplementedError


async def update_gift_vouchers(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    voucher_ids: Sequence[int] | None,
    patch: GiftVoucherPatch,
    *,
    now: datetime | None = None,
) -> BasketView:
    raise NotImplementedError


async def remove_gift_vouchers(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    voucher_ids: Sequence[int],
    *,
    now: datetime | None = None,
) -> BasketView:
    raise NotImplementedError


async def add_membership_subscriptions(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    subscriptions: Sequence[NewMembershipSubscription],
    *,
    now: datetime | None = None,
) -> BasketView:
    """Add memberships for the basket's customer. ``NotFound`` for an unknown membership;
    ``InvalidInput`` for one not for sale or an overridden price outside Owner mode;
    ``MembershipHeld`` when the basket's customer holds it already outside its renewal
    window (checked again by :func:`confirm`)."""
    raise NotImplementedError


async def update_membership_subscriptions(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    subscription_ids: Sequence[int] | None,
    patch: MembershipSubscriptionPatch,
    *,
    now: datetime | None = None,
) -> BasketView:
    raise NotImplementedError


async def remove_membership_subscriptions(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    subscription_ids: Sequence[int],
    *,
    now: datetime | None = None,
) -> BasketView:
    raise NotImplementedError


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
    raise NotImplementedError


async def confirm(
    core: Core,
    principal: Principal,
    ref: BasketRef,
    confirmation: Confirmation,
    *,
    now: datetime | None = None,
) -> OrderView:
    """Confirm the basket into an order, in one transaction: seats and places sold, barcodes
    given, donations recorded, membership subscriptions created for the customer, gift
    vouchers issued with a code and balance, payments kept, an ``order confirmed`` entry on the
    customer's timeline; then, if asked, a confirmation mail. Refusals (nothing changed):
    ``PaymentRequired`` when payments do not cover the total (Web mode: any basket that is
    not free); ``InvalidInput`` (``customer``, ``REQUIRED``) for memberships without a
    customer; ``MembershipHeld``; ``Conflict`` for a basket that is no longer open."""
    raise NotImplementedError


async def release_expired(core: Core, now: datetime, *, batch: int = 200) -> int:
    """Release every open basket of every tenant whose ``expires_at`` has passed: its seats,
    places and stock given back, its state ``expired``. In batches of ``batch`` baskets, each
    batch one transaction; safe to run in several processes at once (a basket is released by
    one of them only). Returns how many baskets were released."""
    raise NotImplementedError


async def expiry_loop(core: Core, interval_seconds: float = 30.0) -> None:
    """Call :func:`release_expired` every ``interval_seconds`` until cancelled (started with
    the application); an error is logged and the loop goes on."""
    raise NotImplementedError
