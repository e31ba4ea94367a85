"""Commands: what a caller asks the core to do, in the core's words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Final, TypeAlias, TypeVar, Union

T = TypeVar("T")


class _Unset(Enum):
    UNSET = "UNSET"


#: A patch field that was not sent (as opposed to ``None``: sent, to clear it).
UNSET: Final = _Unset.UNSET
Maybe: TypeAlias = Union[T, _Unset]  # noqa: UP007 (a generic alias needs Union)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewAddress:
    is_billing: bool | None = None
    is_delivery: bool | None = None
    name: str | None = None
    line1: str | None = None
    line2: str | None = None
    line3: str | None = None
    line4: str | None = None
    line5: str | None = None
    town: str | None = None
    postcode: str | None = None
    country: str | None = None
    administrative_division: str | None = None


#: The text parts of an address, in the order the dialects list them.
ADDRESS_PARTS = (
    "name",
    "line1",
    "line2",
    "line3",
    "line4",
    "line5",
    "town",
    "postcode",
    "country",
    "administrative_division",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressPatch:
    is_billing: Maybe[bool] = UNSET
    is_delivery: Maybe[bool] = UNSET
    name: Maybe[str | None] = UNSET
    line1: Maybe[str | None] = UNSET
    line2: Maybe[str | None] = UNSET
    line3: Maybe[str | None] = UNSET
    line4: Maybe[str | None] = UNSET
    line5: Maybe[str | None] = UNSET
    town: Maybe[str | None] = UNSET
    postcode: Maybe[str | None] = UNSET
    country: Maybe[str | None] = UNSET
    administrative_division: Maybe[str | None] = UNSET


@dataclass(frozen=True, slots=True, kw_only=True)
class NewCustomer:
    first_name: str
    last_name: str
    email: str
    title: str = ""
    phone: str | None = None
    mobile: str | None = None
    birth_date: date | None = None
    friendly_id: str | None = None
    password: str | None = None
    gender: str | None = None
    language: str | None = None
    addresses: tuple[NewAddress, ...] = ()
    tag_ids: tuple[int, ...] = ()
    statement_ids: tuple[int, ...] = ()
    #: Attribute values by attribute name as the caller sent it (matched case-insensitively).
    attributes: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerPatch:
    title: Maybe[str] = UNSET
    first_name: Maybe[str] = UNSET
    last_name: Maybe[str] = UNSET
    email: Maybe[str] = UNSET
    phone: Maybe[str | None] = UNSET
    mobile: Maybe[str | None] = UNSET
    birth_date: Maybe[date | None] = UNSET
    friendly_id: Maybe[str | None] = UNSET
    gender: Maybe[str | None] = UNSET
    language: Maybe[str | None] = UNSET
    attributes: Mapping[str, str | None] = field(default_factory=dict)


# --- brands and channels ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class NewChannel:
    """A channel to add: its type (a code such as ``email``, or a numeric type id) and value.

    ``field`` and ``type_field`` name the inputs they came from, so that a refusal can name
    them.
    """

    type: str
    value: str
    field: str = "channel"
    type_field: str = "channel_type"


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerRef:
    """How a caller names a customer: by id, else by brand and external primary id, else by
    brand and channel value (when the brand allows search by channels)."""

    customer_id: int | None = None
    brand_id: int | None = None
    external_primary_id: str | None = None
    channel_value: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewBrandCustomer:
    brand_id: int | None = None
    external_primary_id: str | None = None
    #: Identifies the customer instead of an external id (brands with search by channels).
    channel_identity: str | None = None
    first_name: str = ""
    last_name: str = ""
    channels: tuple[NewChannel, ...] = ()
    attributes: Mapping[str, str | None] = field(default_factory=dict)
    #: A ticket to link the new customer to, and whether the ticket gets the new channels.
    ticket_id: int | None = None
    sync_ticket_channels: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class BrandCustomerPatch:
    first_name: Maybe[str] = UNSET
    last_name: Maybe[str] = UNSET
    external_primary_id: Maybe[str] = UNSET
    #: Added, or left as they are when the customer has them already; never removed.
    channels: tuple[NewChannel, ...] = ()
    attributes: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelRef:
    """One channel of a customer: by id, or by type and value."""

    channel_id: int | None = None
    type: str | None = None
    value: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewExternalEvent:
    """Something that happened elsewhere (an order, a mailing), for the customer's timeline."""

    message: str
    initiated_by: str = ""
    source_url: str | None = None


# --- CareCloud concepts: devices, profiles and records -----------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSetup:
    language: str
    allowed_gps: bool
    allowed_notifications: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class NewDevice:
    """A device (and application) asking for a token; the interface user when it named one."""

    user_name: str | None
    device_id: str
    device_system: str
    device_name: str
    device_type: str
    external_application_id: str
    push_token: str | None
    setup: DeviceSetup


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsentChoice:
    statement_id: int
    agreed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PropertyValue:
    """A value for a customer property, by its code; checked against the property's type."""

    code: str
    value: str | int | float | bool | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceLink:
    source_id: int
    external_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """A customer's personal data, whole: what a create sets and a replace puts in place.

    ``store_id`` None on a replace keeps the current store; ``address`` None removes the main
    (billing) address.
    """

    first_name: str = ""
    last_name: str = ""
    title: str = ""
    post_nominals: str | None = None
    email: str | None = None
    mobile: str | None = None
    birth_date: date | None = None
    gender: str | None = None
    language: str | None = None
    store_id: int | None = None
    address: NewAddress | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewProfile:
    profile: Profile
    source: SourceLink | None = None
    password: str | None = None
    #: A replacement's new ``password`` needs the current one from the customer.
    current_password: str | None = None
    consents: tuple[ConsentChoice, ...] = ()
    properties: tuple[PropertyValue, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerFilter:
    """Filters of a customer listing; each one given narrows it (AND)."""

    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    birth_date: date | None = None
    source_id: int | None = None
    emails: tuple[str, ...] = ()
    customer_ids: tuple[int, ...] = ()


# --- baskets (issue 18, decision 0124) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BasketRef:
    """Which basket: a web basket by its session's token (the cookie's random value; only its
    hash is stored), or an Owner basket by id. Use :meth:`web` or :meth:`owner`."""

    basket_id: int | None = None
    session_token: str | None = None

    @classmethod
    def web(cls, session_token: str) -> BasketRef:
        return cls(session_token=session_token)

    @classmethod
    def owner(cls, basket_id: int) -> BasketRef:
        return cls(basket_id=basket_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewTicket:
    """A ticket to add: a seat of a reserved area (``seat_id``) or a place of an unreserved
    area (``area_id``), exactly one of them. ``ticket_type_id`` None: the band's default price.
    ``attributes``: the ticket's own values (name -> text)."""

    instance_id: int
    seat_id: int | None = None
    area_id: int | None = None
    ticket_type_id: int | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketPatch:
    ticket_type_id: Maybe[int] = UNSET
    #: Merged into the ticket's attributes (a value of "" removes one).
    attributes: Maybe[Mapping[str, str]] = UNSET


@dataclass(frozen=True, slots=True, kw_only=True)
class NewMerchandise:
    """One unit of a stock item."""

    stock_item_id: int
    reference: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewDonation:
    fund_id: int
    amount: Decimal
    recognition_name: str | None = None
    is_anonymous: bool = False
    tribute_type_id: int | None = None
    tribute_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DonationPatch:
    amount: Maybe[Decimal] = UNSET
    recognition_name: Maybe[str | None] = UNSET
    is_anonymous: Maybe[bool] = UNSET
    tribute_type_id: Maybe[int | None] = UNSET
    tribute_name: Maybe[str | None] = UNSET


@dataclass(frozen=True, slots=True, kw_only=True)
class NewGiftVoucher:
    """A gift voucher of ``amount`` (within the type's bounds when ``gift_voucher_type_id`` is
    given; any amount from 0.01 up to the tenant's maximum otherwise). ``delivery_type``:
    ``CustomerEmail`` or ``OtherEmail`` (then ``delivery_email_address`` is required)."""

    amount: Decimal
    gift_voucher_type_id: int | None = None
    to_name: str | None = None
    from_name: str | None = None
    message: str | None = None
    send_date: date | None = None
    delivery_type: str = "CustomerEmail"
    delivery_email_address: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GiftVoucherPatch:
    amount: Maybe[Decimal] = UNSET
    to_name: Maybe[str | None] = UNSET
    from_name: Maybe[str | None] = UNSET
    message: Maybe[str | None] = UNSET
    send_date: Maybe[date | None] = UNSET
    delivery_type: Maybe[str] = UNSET
    delivery_email_address: Maybe[str | None] = UNSET


@dataclass(frozen=True, slots=True, kw_only=True)
class NewMembershipSubscription:
    """A membership for the basket's customer. ``overridden_price``: System Owner only."""

    membership_id: int
    auto_renew: bool = False
    overridden_price: Decimal | None = None
    related_donation_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MembershipSubscriptionPatch:
    auto_renew: Maybe[bool] = UNSET
    #: System Owner only; None: back to the membership's price.
    overridden_price: Maybe[Decimal | None] = UNSET


@dataclass(frozen=True, slots=True, kw_only=True)
class NewCustomPayment:
    """Money taken elsewhere (System Owner): its payment type (the caller's name or id for
    it) and attributes (name -> text)."""

    amount: Decimal
    payment_type: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewDelivery:
    """How items reach the customer: ``type`` as the vendor numbers it (1: collect), and an
    address of the customer's for a posted delivery."""

    type: int
    address_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewBasket:
    """An Owner basket, created with its first items (all-or-nothing)."""

    customer_id: int | None = None
    tickets: tuple[NewTicket, ...] = ()
    merchandise: tuple[NewMerchandise, ...] = ()
    donations: tuple[NewDonation, ...] = ()
    gift_vouchers: tuple[NewGiftVoucher, ...] = ()
    membership_subscriptions: tuple[NewMembershipSubscription, ...] = ()
    custom_payments: tuple[NewCustomPayment, ...] = ()
    ticket_delivery: NewDelivery | None = None
    merchandise_delivery: NewDelivery | None = None
    promo_code: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class BasketPatch:
    """``promo_code`` None or "": remove it (an unknown code is refused). ``customer_id``: a
    customer session may set only its own customer."""

    promo_code: Maybe[str | None] = UNSET
    ticket_delivery: Maybe[NewDelivery | None] = UNSET
    merchandise_delivery: Maybe[NewDelivery | None] = UNSET
    #: Merged into the basket's attributes (a value of "" removes one).
    attributes: Maybe[Mapping[str, str]] = UNSET
    customer_id: Maybe[int | None] = UNSET


@dataclass(frozen=True, slots=True, kw_only=True)
class Confirmation:
    #: Mail the order's confirmation to the customer's stored address (needs a customer).
    send_confirmation_email: bool = False
