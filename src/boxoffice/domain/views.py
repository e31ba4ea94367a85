"""Views: what the core returns. Frozen, free of ORM rows and of any vendor's words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Generic, TypeVar

from boxoffice.domain.principal import Principal

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TagView:
    id: int
    name: str
    group_id: int


@dataclass(frozen=True, slots=True)
class TagGroupView:
    id: int
    name: str
    description: str
    web_visible: bool
    tags: tuple[TagView, ...]


@dataclass(frozen=True, slots=True)
class StatementView:
    id: int
    text: str
    description: str


@dataclass(frozen=True, slots=True)
class MembershipView:
    id: int
    name: str
    description: str
    html_description: str
    image_url: str
    thumbnail_url: str


@dataclass(frozen=True, slots=True)
class AttributeDefinitionView:
    id: int
    name: str
    type: str
    web_visible: bool


@dataclass(frozen=True, slots=True)
class CatalogueView:
    """The part of a tenant's catalogue a principal may see."""

    tag_groups: tuple[TagGroupView, ...]
    statements: tuple[StatementView, ...]
    memberships: tuple[MembershipView, ...]
    attributes: tuple[AttributeDefinitionView, ...]


@dataclass(frozen=True, slots=True)
class AddressView:
    id: int
    is_billing: bool
    is_delivery: bool
    name: str | None
    line1: str | None
    line2: str | None
    line3: str | None
    line4: str | None
    line5: str | None
    town: str | None
    postcode: str | None
    country: str | None
    administrative_division: str | None


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    id: int
    membership_id: int
    start_date: date
    expiry_date: date
    auto_renew: bool


@dataclass(frozen=True, slots=True)
class ConsentView:
    statement_id: int
    text: str
    agreed_at: datetime


@dataclass(frozen=True, slots=True)
class AttributeValueView:
    attribute: AttributeDefinitionView
    value: str


@dataclass(frozen=True, slots=True)
class CustomerView:
    id: int
    title: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    mobile: str | None
    birth_date: date | None
    friendly_id: str | None
    password_set: bool
    credit_balance: Decimal
    created_at: datetime
    updated_at: datetime
    #: Every attribute the principal may see, with the customer's value ("" when unset).
    attributes: tuple[AttributeValueView, ...]
    addresses: tuple[AddressView, ...]
    #: The customer's tags the principal may see (loaded on request, else empty).
    tags: tuple[TagView, ...] = ()
    #: Statements the customer agreed to (loaded on request, else empty).
    consents: tuple[ConsentView, ...] = ()
    subscriptions: tuple[SubscriptionView, ...] = ()

    @property
    def billing_address(self) -> AddressView | None:
        return next((a for a in self.addresses if a.is_billing), None)

    @property
    def delivery_address(self) -> AddressView | None:
        return next((a for a in self.addresses if a.is_delivery), None)


@dataclass(frozen=True, slots=True)
class TimelineEntryView:
    id: int
    occurred_at: datetime
    kind: str
    actor: str
    data: dict[str, object]


@dataclass(frozen=True, slots=True)
class TenantView:
    id: int
    name: str
    display_name: str
    origins: tuple[str, ...]
    settings: dict[str, object]


@dataclass(frozen=True, slots=True)
class CountryView:
    iso_code: str
    name: str
    postcode_required: bool
    display_priority: int


# --- brands and channels ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BrandView:
    id: int
    name: str
    crm_url: str | None
    search_by_channels: bool


@dataclass(frozen=True, slots=True)
class ChannelView:
    """One of a customer's email addresses, phone numbers or social accounts."""

    id: int
    type_id: int
    type_code: str
    value: str


@dataclass(frozen=True, slots=True)
class BrandCustomerView:
    """A customer as the brand/channel API sees it: brand, external id, channels, fields."""

    id: int
    brand: BrandView | None
    external_primary_id: str | None
    first_name: str
    last_name: str
    channels: tuple[ChannelView, ...]
    #: Every attribute of the tenant, with the customer's value ("" when unset).
    attributes: tuple[AttributeValueView, ...]
    #: ``active``, or ``erased`` for the anonymous tombstone an erasure leaves.
    state: str


@dataclass(frozen=True, slots=True)
class PageView(Generic[T]):
    """One page of a longer list: ``total`` items in all, ``items`` from ``start``."""

    start: int
    limit: int
    total: int
    items: tuple[T, ...]


@dataclass(frozen=True, slots=True)
class ApiUserView:
    """A System Owner credential, without its secret."""

    login: str
    created_at: datetime
    disabled: bool


@dataclass(frozen=True, slots=True)
class ApiKeyView:
    """A brand/channel API key, without the key (only its SHA-256 is stored)."""

    id: int
    brand_id: int | None
    permissions: tuple[str, ...]
    created_at: datetime
    disabled: bool


@dataclass(frozen=True, slots=True)
class InterfaceUserView:
    """A CareCloud interface user name and how many device tokens were issued with it."""

    user_name: str
    created_at: datetime
    disabled: bool
    tokens: int


@dataclass(frozen=True, slots=True)
class ApiKeyCaller:
    """Who calls with a brand/channel API key: a tenant, maybe limited to one brand."""

    principal: Principal
    brand_id: int | None
    permissions: frozenset[str]


# --- CareCloud concepts: device tokens, localised catalogue reads, profiles and records ------


@dataclass(frozen=True, slots=True)
class DeviceTokenView:
    """A device token as the core sees it (never the token itself, which only the app keeps)."""

    user_name: str | None
    device_id: str
    external_application_id: str
    #: The language chosen in the app's setup ("" when none).
    language: str
    #: The customer logged in on the token, if any.
    customer_id: int | None


@dataclass(frozen=True, slots=True)
class LanguageView:
    code: str
    name: str
    is_default: bool


@dataclass(frozen=True, slots=True)
class StoreView:
    """A store; ``name`` and the descriptions are in the caller's language."""

    id: int
    code: str
    name: str
    short_description: str
    description: str
    data: dict[str, object]


@dataclass(frozen=True, slots=True)
class InterestView:
    id: int
    name: str
    #: The tag that a customer with this interest carries (None: not linked yet).
    tag_id: int | None


@dataclass(frozen=True, slots=True)
class CustomerPropertyView:
    id: int
    code: str
    name: str
    description: str
    #: The type of the attribute holding the values: text, date, number or boolean.
    type: str


@dataclass(frozen=True, slots=True)
class CustomerSourceView:
    id: int
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class StatementTextView:
    """A statement with its code and texts in the caller's language."""

    id: int
    code: str | None
    text: str
    description: str


@dataclass(frozen=True, slots=True)
class RewardView:
    id: int
    code: str
    name: str
    description: str
    data: dict[str, object]
    #: The stores the reward is valid at (none: every store).
    stores: tuple[StoreView, ...]


@dataclass(frozen=True, slots=True)
class ConsentStateView:
    """Where a customer stands on a statement: ``agreed``, ``withdrawn`` or ``unset``."""

    statement_id: int
    code: str | None
    state: str
    changed_at: datetime | None


@dataclass(frozen=True, slots=True)
class ProfileView:
    """A customer with the personal data that the app-facing API shows besides the basics."""

    customer: CustomerView
    gender: str | None
    language: str | None
    store_id: int | None
    post_nominals: str | None
    consents: tuple[ConsentStateView, ...]


@dataclass(frozen=True, slots=True)
class PropertyRecordView:
    """A customer's value of a customer property (held in the property's attribute)."""

    customer_id: int
    property: CustomerPropertyView
    #: The stored text (dates as YYYY-MM-DD, booleans as true/false).
    value: str


@dataclass(frozen=True, slots=True)
class InterestRecordView:
    customer_id: int
    interest_id: int
    added_at: datetime


@dataclass(frozen=True, slots=True)
class SourceRecordView:
    customer_id: int
    source_id: int
    external_id: str | None


@dataclass(frozen=True, slots=True)
class AuditEntryView:
    """One committed write (see ``store/audit.py``): keys and names only, no personal data."""

    occurred_at: datetime
    tenant_id: int
    actor: str
    credential: str
    credential_id: str | None
    action: str
    target_kind: str | None
    target_id: str | None
    customer_id: int | None
    changes: tuple[dict[str, object], ...]


# --- what a venue sells: seating, pricing, programme, inventory, products (issue 17) ---------

#: A typed attribute's value as the core holds it: text, a number, a boolean, or None (unset).
AttributeValue = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class VenueView:
    id: int
    name: str
    #: One line (the vendor's venue address is one string).
    address: str


@dataclass(frozen=True, slots=True)
class SeatView:
    id: int
    area_id: int
    row: str
    number: str
    #: The seat's name as printed ("A1" unless the plan names it otherwise).
    name: str
    band_id: int
    wheelchair: bool
    special: bool
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class AreaView:
    """An area of a seating plan: a ``group`` of areas, ``reserved`` (with seats) or
    ``unreserved`` (a capacity and one band)."""

    id: int
    name: str
    kind: str
    #: Seats of a reserved area, places of an unreserved one, the sum for a group.
    capacity: int
    #: The band of an unreserved area (None for the others: their seats carry one).
    band_id: int | None
    areas: tuple[AreaView, ...]
    seats: tuple[SeatView, ...]


@dataclass(frozen=True, slots=True)
class PlanView:
    id: int
    name: str
    venue_id: int
    background_image_url: str
    #: The root's kind: ``group`` (several areas), ``reserved`` or ``unreserved``.
    kind: str
    areas: tuple[AreaView, ...]


@dataclass(frozen=True, slots=True)
class TicketTypeView:
    id: int
    name: str
    #: Every ticket-type attribute of the tenant, in definition order (None when unset).
    attributes: tuple[tuple[str, AttributeValue], ...] = ()


@dataclass(frozen=True, slots=True)
class BandView:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class PriceView:
    id: int
    amount: Decimal
    is_band_default: bool
    ticket_type: TicketTypeView
    band: BandView


@dataclass(frozen=True, slots=True)
class PriceListView:
    id: int
    name: str
    prices: tuple[PriceView, ...]


@dataclass(frozen=True, slots=True)
class InstanceView:
    id: int
    event_id: int
    plan_id: int
    price_list_id: int
    #: Wall-clock time in the tenant's time zone (naive) and UTC (aware).
    start_local: datetime
    start_utc: datetime
    sale_start_local: datetime
    sale_start_utc: datetime
    sale_stop_local: datetime
    sale_stop_utc: datetime
    web_instance_id: str | None
    cancelled: bool
    on_sale: bool
    web_visible: bool
    has_best_available_overlay: bool
    #: Every instance attribute of the tenant, in definition order (None when unset).
    attributes: tuple[tuple[str, AttributeValue], ...] = ()


@dataclass(frozen=True, slots=True)
class EventView:
    id: int
    name: str
    description: str
    html_description: str
    duration_minutes: int
    image_url: str
    thumbnail_url: str
    on_sale: bool
    web_event_id: str | None
    #: The first and last instance the principal may see (None: none).
    first_instance_local: datetime | None
    first_instance_utc: datetime | None
    last_instance_local: datetime | None
    last_instance_utc: datetime | None
    #: "24 October-26 October" (day and month name, no year; "" without instances).
    instance_dates: str
    #: Every event attribute of the tenant, in definition order (None when unset).
    attributes: tuple[tuple[str, AttributeValue], ...] = ()
    #: The instances the principal may see, in start order; None unless asked for.
    instances: tuple[InstanceView, ...] | None = None


@dataclass(frozen=True, slots=True)
class LockTypeView:
    id: int
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class LockQuantityView:
    quantity: int
    lock_type_id: int
    lock_type_name: str


@dataclass(frozen=True, slots=True)
class BandStatusView:
    """The places of one price band in an area (or the plan): a reserved area's seats of that
    band, an unreserved area's places (its one band)."""

    band_id: int
    name: str
    capacity: int
    available: int


@dataclass(frozen=True, slots=True)
class AreaStatusView:
    """Counts of one area of an instance's plan (or of the whole plan: its root), all computed;
    each dialect shows the fields its mode shows.

    ``capacity = available + in_basket + in_other_basket + sold + locked + reserved``;
    ``unavailable = capacity - available``. ``in_basket`` counts the caller's basket (none yet:
    0), ``in_other_basket`` everyone else's holds."""

    area_id: int
    name: str
    capacity: int
    available: int
    wheelchair_available: int
    special_available: int
    in_basket: int
    in_other_basket: int
    unavailable: int
    sold: int
    locked: int
    reserved: int
    #: Locked places by lock type (only when asked for; else empty).
    lock_info_available: tuple[LockQuantityView, ...] = ()
    lock_info_special_available: tuple[LockQuantityView, ...] = ()
    #: Child areas' counts (only when asked for; else empty).
    areas: tuple[AreaStatusView, ...] = ()
    #: Places per price band, in the bands' order.
    bands: tuple[BandStatusView, ...] = ()


#: The status of a whole instance is the status of its plan's root area.
InstanceStatusView = AreaStatusView


@dataclass(frozen=True, slots=True)
class SeatStateView:
    """One seat of an instance: ``available``, ``held``, ``sold``, ``locked`` or ``reserved``."""

    seat_id: int
    state: str
    lock_type_id: int | None
    #: The basket holding it (``held``), else None.
    holder: int | None


@dataclass(frozen=True, slots=True)
class FundView:
    id: int
    name: str
    description: str
    code: str
    default_amount: Decimal | None


@dataclass(frozen=True, slots=True)
class StockItemView:
    id: int
    name: str
    description: str
    price: Decimal
    stock_level: int
    image_url: str
    thumbnail_url: str


@dataclass(frozen=True, slots=True)
class GiftVoucherTypeView:
    """A fixed amount (``amount``) or a custom one between ``min_amount`` and ``max_amount``."""

    id: int
    name: str
    amount: Decimal | None
    min_amount: Decimal | None
    max_amount: Decimal | None


@dataclass(frozen=True, slots=True)
class MembershipForSaleView:
    """A membership with what it costs (None: not for sale)."""

    membership: MembershipView
    price: Decimal | None
    renewal_price: Decimal | None
    duration_months: int
    auto_renew_available: bool


@dataclass(frozen=True, slots=True)
class OfferView:
    """A rule the basket applies: ``percent_off`` (or ``amount_off`` per ticket) of the tickets
    of ``event_ids`` (empty: every event) and ``ticket_type_ids`` (empty: every type); with
    ``promo_codes`` it applies only when one of them is given."""

    id: int
    name: str
    description: str
    percent_off: Decimal | None
    amount_off: Decimal | None
    event_ids: tuple[int, ...]
    ticket_type_ids: tuple[int, ...]
    promo_codes: tuple[str, ...]
    active: bool


# --- baskets and orders (issue 18, decision 0124) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class AppliedOfferView:
    """An offer applied to a basket's items (by its promo code)."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """How items reach the customer: ``type`` as the vendor numbers it (1: collect at the box
    office), and the customer's address for a posted delivery (None otherwise)."""

    type: int
    address_id: int | None = None


@dataclass(frozen=True, slots=True)
class BasketTicketView:
    """A ticket in a basket (or an order). ``price`` is the price list's amount (nominal),
    ``discount`` what offers take off, ``total = price - discount``. A reserved seat has
    ``seat_id``/``seat_name``; a place of an unreserved area has neither. ``barcode`` is set when
    the order is confirmed. ``attributes`` are the ticket's own values (name -> text).
    ``returned_at``: when the ticket was returned (it stays in its order, outside its total)."""

    id: int
    instance_id: int
    event_id: int
    plan_id: int
    plan_name: str
    area_id: int
    area_name: str
    seat_id: int | None
    seat_name: str | None
    band_id: int
    band_name: str
    ticket_type_id: int
    ticket_type_name: str
    price: Decimal
    discount: Decimal
    total: Decimal
    offer: AppliedOfferView | None
    barcode: str | None
    attributes: tuple[tuple[str, str], ...] = ()
    delivered: bool = False
    returned_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BasketMerchandiseView:
    """One unit of a stock item (its stock is taken when added, given back if the basket goes)."""

    id: int
    stock_item_id: int
    stock_item_name: str
    reference: str | None
    price: Decimal
    discount: Decimal
    total: Decimal
    offer: AppliedOfferView | None
    barcode: str | None
    delivered: bool = False


@dataclass(frozen=True, slots=True)
class BasketDonationView:
    id: int
    fund_id: int
    amount: Decimal
    recognition_name: str | None
    is_anonymous: bool
    tribute_type_id: int | None
    tribute_name: str | None


@dataclass(frozen=True, slots=True)
class BasketGiftVoucherView:
    """A gift voucher bought. ``delivery_type`` is ``CustomerEmail`` or ``OtherEmail``.
    ``code`` and ``balance`` exist once the order is confirmed (None in an open basket)."""

    id: int
    gift_voucher_type_id: int | None
    amount: Decimal
    to_name: str | None
    from_name: str | None
    message: str | None
    send_date: date | None
    delivery_type: str
    delivery_email_address: str | None
    code: str | None = None
    balance: Decimal | None = None


@dataclass(frozen=True, slots=True)
class BasketMembershipSubscriptionView:
    """A membership bought for the basket's customer. ``original_price`` is the membership's
    price (its renewal price for a renewal), ``price`` what the basket charges (an overridden
    price when ``price_overridden``). ``start_date``/``expiry_date`` are those the subscription
    will have if confirmed now; ``subscription_id`` is set by confirmation."""

    id: int
    membership_id: int
    membership_name: str
    auto_renew: bool
    start_date: date
    expiry_date: date
    is_renewal: bool
    related_donation_id: int | None
    price: Decimal
    discount: Decimal
    total: Decimal
    original_price: Decimal
    price_overridden: bool
    subscription_id: int | None = None


@dataclass(frozen=True, slots=True)
class CustomPaymentView:
    """A payment on the basket: ``kind`` ``custom`` (money taken elsewhere, System Owner; a
    negative amount is a refund), ``voucher`` (a gift voucher's balance, ``gift_voucher_id``)
    or ``credit`` (the customer's credit balance)."""

    id: int
    payment_type: str
    amount: Decimal
    attributes: tuple[tuple[str, str], ...]
    created_at: datetime
    kind: str = "custom"
    gift_voucher_id: int | None = None


@dataclass(frozen=True, slots=True)
class BasketView:
    """A basket: ``state`` ``open``, ``confirmed`` or ``expired``; ``channel`` ``web`` (found by
    its session) or ``owner`` (by id). ``hash`` changes on every write to the basket and when
    its customer changes. ``expires_at`` (UTC) is when its holds go; None: never (it holds a
    payment, or it is no longer open). Money: ``total`` is what the items cost after offers,
    ``total_discount`` what offers took off, ``paid`` the payments recorded,
    ``outstanding = total - paid`` (never below 0)."""

    id: int
    state: str
    channel: str
    hash: str
    customer_id: int | None
    promo_code: str | None
    offers: tuple[AppliedOfferView, ...]
    ticket_delivery: DeliveryView | None
    merchandise_delivery: DeliveryView | None
    attributes: tuple[tuple[str, str], ...]
    tickets: tuple[BasketTicketView, ...]
    merchandise_items: tuple[BasketMerchandiseView, ...]
    donations: tuple[BasketDonationView, ...]
    gift_vouchers: tuple[BasketGiftVoucherView, ...]
    membership_subscriptions: tuple[BasketMembershipSubscriptionView, ...]
    custom_payments: tuple[CustomPaymentView, ...]
    total: Decimal
    total_discount: Decimal
    paid: Decimal
    outstanding: Decimal
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OrderView:
    """A confirmed basket (same id). ``confirmed_at`` is UTC, ``confirmed_local`` the tenant's
    wall clock (naive). Tickets carry their barcodes, gift vouchers their codes and balances,
    membership subscriptions the subscriptions created; ``payments`` are the custom payments,
    a refund among them as a negative amount (a reversal: ``paid`` nets it out). ``total``
    leaves returned tickets out."""

    id: int
    customer_id: int | None
    channel: str
    promo_code: str | None
    offers: tuple[AppliedOfferView, ...]
    ticket_delivery: DeliveryView | None
    merchandise_delivery: DeliveryView | None
    attributes: tuple[tuple[str, str], ...]
    tickets: tuple[BasketTicketView, ...]
    merchandise_items: tuple[BasketMerchandiseView, ...]
    donations: tuple[BasketDonationView, ...]
    gift_vouchers: tuple[BasketGiftVoucherView, ...]
    membership_subscriptions: tuple[BasketMembershipSubscriptionView, ...]
    payments: tuple[CustomPaymentView, ...]
    total: Decimal
    total_discount: Decimal
    paid: Decimal
    created_at: datetime
    confirmed_at: datetime
    confirmed_local: datetime
