"""Wire models in Spektrix's nouns. Input keys are case-insensitive, as the vendor's binder is.

Bodies are read as JSON, their keys folded to lower case (``AgreedStatements`` =
``agreedStatements``), then validated here. ``Attribute_<Name>`` keys are collected apart.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import AliasGenerator, BaseModel, ConfigDict, Field, StrictBool, ValidationError
from pydantic.alias_generators import to_camel

from boxoffice.api.common.bodies import MAX_DEPTH, too_deep
from boxoffice.domain.errors import InvalidInput

ATTRIBUTE_PREFIX = "attribute_"
M = TypeVar("M", bound=BaseModel)


def _lower_alias(name: str) -> str:
    return name.replace("_", "")


class _In(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        alias_generator=AliasGenerator(validation_alias=_lower_alias, serialization_alias=to_camel),
        str_max_length=4000,
    )


class IdRef(_In):
    id: str = Field(max_length=64)


class NewCustomerAddress(_In):
    is_billing: StrictBool | None = None
    is_delivery: StrictBool | None = None
    country: str | None = None
    administrative_division: str | None = None
    name: str | None = None
    line1: str | None = None
    line2: str | None = None
    line3: str | None = None
    line4: str | None = None
    line5: str | None = None
    town: str | None = None
    postcode: str | None = None


class AddressPatch(NewCustomerAddress):
    pass


class _CustomerFields(_In):
    title: str | None = None
    phone: str | None = None
    mobile: str | None = None
    birth_date: str | None = Field(default=None, max_length=40)
    friendly_id: str | None = None


class NewCustomer(_CustomerFields):
    first_name: str
    last_name: str
    email: str
    password: str | None = Field(default=None, max_length=256)
    addresses: list[NewCustomerAddress] = Field(default_factory=list, max_length=20)
    tags: list[str | IdRef] = Field(default_factory=list, max_length=200)
    agreed_statements: list[str | IdRef] = Field(default_factory=list, max_length=200)


class CustomerPatch(_CustomerFields):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    gift_aid_confirmed: StrictBool | None = None


# --- response models (documentation only: mappers build the bodies, in the vendor's order) ---


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Tag(_Out):
    id: str
    name: str


class TagGroup(_Out):
    id: str
    name: str
    description: str
    tags: list[Tag]


class Statement(_Out):
    id: str
    text: str


class DataProtectionStatement(_Out):
    id: str
    text: str
    agreed: bool


class Membership(_Out):
    description: str
    html_description: str
    id: str
    image_url: str
    name: str
    thumbnail_url: str
    #: Null when the membership is not for sale.
    price: float | None
    renewal_price: float | None


class CustomerAddress(_Out):
    id: str
    is_billing: bool
    is_delivery: bool
    country: str | None
    administrative_division: str | None
    name: str | None
    line1: str | None
    line2: str | None
    line3: str | None
    line4: str | None
    line5: str | None
    town: str | None
    postcode: str | None


class MembershipRef(_Out):
    id: str


class IdOut(_Out):
    """A reference to another resource: ``{"id": ...}``."""

    id: str


class CustomerSubscription(_Out):
    auto_renew: bool
    membership: MembershipRef
    start_date: str
    expiry_date: str
    can_renew: bool


class Customer(_Out):
    """Collections appear only with ``$expand``; ``attribute_<Name>`` keys sit before
    ``creditBalance``."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")
    age: int | None
    billing_address: CustomerAddress | None
    delivery_address: CustomerAddress | None
    birth_date: str | None
    email: str | None
    first_name: str
    last_name: str
    mobile: str | None
    name: str
    phone: str | None
    title: str
    password_set: bool
    gift_aid_declaration_required: bool
    id: str
    credit_balance: float


class Country(_Out):
    iso_code: str
    name: str
    postcode_required: bool
    display_priority: int
    administrative_divisions: list[str]


# --- what a venue sells (issue 17) ----------------------------------------------------------


class _WithAttributes(_Out):
    """``attribute_<Name>`` keys follow, one per attribute the tenant defines (null when
    unset)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class Instance(_WithAttributes):
    is_on_sale: bool
    plan_id: str
    price_list: IdOut | PriceList = Field(description="The whole PriceList with $expand=priceList")
    event: IdOut | Event = Field(description="The whole Event with $expand=event")
    start: str = Field(description="Local wall-clock time, no offset: 2025-10-24T19:30:00")
    start_utc: str = Field(description="UTC, without Z: 2025-10-25T02:30:00")
    start_selling_at_web: str
    start_selling_at_web_utc: str = Field(description="UTC with Z: 2025-09-24T19:06:00Z")
    stop_selling_at_web: str
    stop_selling_at_web_utc: str = Field(description="UTC with Z")
    web_instance_id: str | None
    cancelled: bool
    id: str
    has_best_available_overlay: bool


class Event(_WithAttributes):
    description: str
    html_description: str
    duration: int = Field(description="Minutes")
    image_url: str
    is_on_sale: bool
    name: str
    instance_dates: str
    thumbnail_url: str
    web_event_id: str | None
    id: str
    first_instance_date_time: str | None
    last_instance_date_time: str | None
    first_instance_date_time_utc: str | None
    last_instance_date_time_utc: str | None
    instances: list[Instance] | None = Field(default=None, description="With $expand=instances")


class TicketType(_WithAttributes):
    id: str
    name: str


class PriceBand(_Out):
    id: str
    name: str


class Price(_Out):
    id: str
    is_band_default: bool
    amount: float
    ticket_type: TicketType
    price_band: PriceBand


class PriceList(_Out):
    id: str
    prices: list[Price]


class Venue(_Out):
    id: str
    name: str
    address: str


class Seat(_Out):
    """Decision 0122: the vendor's seat fields are unknown; these are ours."""

    id: str
    name: str
    row: str
    number: str
    price_band: IdOut
    wheelchair: bool
    special: bool
    x: int
    y: int


class Area(_Out):
    id: str
    name: str
    type: str = Field(description="Group, Reserved or Unreserved")
    capacity: int
    price_band: IdOut | None = Field(description="An unreserved area's band")
    areas: list[Area]
    seats: list[Seat]


class Plan(_Out):
    id: str
    name: str
    type: str = Field(description="Group, Reserved or Unreserved")
    background_image_url: str
    capacity: int
    areas: list[Area]
    venue: IdOut


class LockType(_Out):
    id: str
    name: str


class LockedSeatQuantity(_Out):
    quantity: int
    lock_type: LockType


class BandPlaces(_Out):
    """A price band (as ``GET bands`` shows it) with its places in the area."""

    id: str
    name: str
    available: int
    capacity: int


class InstancePlanStatus(_Out):
    """Web mode shows the first fields; System Owner mode adds ``inOtherBasket`` to
    ``lockInformation``. ``areas`` (each with its ``id``) only with ``includeChildPlans=true``;
    the lock lists are null without ``includeLockInformation=true``."""

    id: str | None = Field(default=None, description="Child areas only")
    name: str
    available: int
    wheelchair_available: int
    special_available: int
    capacity: int
    bands: list[BandPlaces] = Field(description="Places per price band, in the bands' order")
    in_basket: int
    unavailable: int
    lock_info_available: list[LockedSeatQuantity] | None
    lock_info_special_available: list[LockedSeatQuantity] | None
    in_other_basket: int | None = None
    locked: int | None = None
    reserved: int | None = None
    sold: int | None = None
    scanned: int | None = None
    masked: int | None = None
    lock_information: list[LockedSeatQuantity] | None = None
    areas: list[InstancePlanStatus] | None = None


class Fund(_Out):
    id: str
    name: str
    description: str
    code: str
    default_donation_amount: float | None


class StockItem(_Out):
    id: str
    name: str
    description: str
    price: float
    postage_and_packing: float
    stock_level: int
    image_url: str
    thumbnail_url: str


class Error(_Out):
    message: str


class DuplicateEntry(_Out):
    resource_type: str
    resource_identifiers: list[str]
    error_code: int
    message: str


# --- baskets and orders (issue 18) ----------------------------------------------------------
#
# Request bodies. References to catalogue items come as an id string or as ``{"id": ...}``
# (clients send both); ``attribute_<Name>`` keys are split off before validation.

Ref = str | IdRef


class NewTicket(_In):
    """One ticket (one array element per ticket): ``seat`` for a reserved area, or
    ``seatingPlan`` (the instance's plan for a one-area plan, or the area) for an unreserved
    one; never both. ``type`` (or its older twin ``ticketType``) defaults to the price list's
    band default."""

    instance: Ref
    seat: Ref | None = None
    seating_plan: Ref | None = None
    type: Ref | None = None
    ticket_type: Ref | None = None


class TicketPatch(_In):
    type: Ref | None = None
    ticket_type: Ref | None = None


class BestAvailable(_In):
    instance: Ref
    quantity: int = Field(ge=1, le=100)
    seating_plan: Ref | None = None
    type: Ref | None = None
    ticket_type: Ref | None = None


class NewMerchandiseItem(_In):
    stock_item: Ref
    reference: str | None = Field(default=None, max_length=200)


class NewDonation(_In):
    amount: float
    fund: Ref | None = None
    fund_id: Ref | None = None
    recognition_name: str | None = Field(default=None, max_length=200)
    is_anonymous: StrictBool | None = None
    tribute_type_id: str | None = Field(default=None, max_length=64)
    tribute_name: str | None = Field(default=None, max_length=200)


class DonationPatch(_In):
    amount: float | None = None
    recognition_name: str | None = Field(default=None, max_length=200)
    is_anonymous: StrictBool | None = None


class NewGiftVoucher(_In):
    amount: float
    to_name: str | None = Field(default=None, max_length=200)
    from_name: str | None = Field(default=None, max_length=200)
    message: str | None = Field(default=None, max_length=1000)
    send_date: str | None = Field(default=None, max_length=64)
    delivery_type: str | None = Field(default=None, max_length=40)
    delivery_email_address: str | None = Field(default=None, max_length=320)


class GiftVoucherPatch(_In):
    amount: float | None = None
    to_name: str | None = Field(default=None, max_length=200)
    from_name: str | None = Field(default=None, max_length=200)
    message: str | None = Field(default=None, max_length=1000)
    send_date: str | None = Field(default=None, max_length=64)
    delivery_type: str | None = Field(default=None, max_length=40)
    delivery_email_address: str | None = Field(default=None, max_length=320)


class NewMembershipSubscription(_In):
    membership: Ref
    auto_renew: StrictBool | None = None


class MembershipSubscriptionPatch(_In):
    auto_renew: StrictBool | None = None
    overridden_price: float | None = None


class NewDelivery(_In):
    type: int
    address: Ref | None = None


class BasketPatch(_In):
    ticket_delivery: NewDelivery | None = None
    merchandise_delivery: NewDelivery | None = None
    promo_code: str | None = Field(default=None, max_length=100)


class NewCustomPayment(_In):
    amount: float
    payment_type_id: str | None = Field(default=None, max_length=64)
    payment_attributes: list[dict[str, Any]] | None = None


class VoucherPayment(_In):
    """Ours (decision 0125): pay with a gift voucher's balance; ``amount`` defaults to what is
    outstanding, at most the balance."""

    voucher_code: str = Field(max_length=64)
    amount: float | None = None


class GiftVoucherRedemption(_In):
    """The vendor's ``redeem-gift-voucher`` body (``voucherCode`` required: the service says
    so after finding the customer)."""

    voucher_code: str | None = Field(default=None, max_length=64)


class CreditPayment(_In):
    """Ours (decision 0125): pay with the basket's customer's credit balance; ``amount``
    defaults to what is outstanding, at most the balance."""

    amount: float | None = None


class TicketReturn(_In):
    """System Owner mode (ours, decision 0125): tickets of an order to return, and the refund
    paid back elsewhere (a custom payment's fields), if any."""

    ticket_ids: list[Ref] = Field(max_length=100)
    refund: NewCustomPayment | None = None


class NewBasket(_In):
    """System Owner mode: a basket, optionally with its customer and first items."""

    customer: Ref | None = None
    ticket_delivery: NewDelivery | None = None
    merchandise_delivery: NewDelivery | None = None
    promo_code: str | None = Field(default=None, max_length=100)
    waive_transaction_commission: StrictBool | None = None


class OrderConfirmation(_In):
    send_confirmation_email: StrictBool | None = None
    payment_channel: str | None = Field(default=None, max_length=40)


class Offer(_Out):
    id: str
    name: str


class Commission(_Out):
    amount: float
    waived: bool


class Delivery(_Out):
    type: int


class BasketTicket(_WithAttributes):
    """A ticket in a basket or an order. References are ``{"id"}`` stubs unless expanded
    (``$expand=tickets/event,tickets/instance``). ``barcode`` is null until the order."""

    band: IdOut
    event: IdOut | Event
    instance: IdOut | Instance
    plan_id: str
    seat: IdOut | None
    seat_name: str | None
    plan_name: str
    voucher_redemption_info: None
    type: IdOut
    ticket_type: IdOut
    delivered: bool
    barcode: str | None
    offer: Offer | None
    custom_items: list[Any]
    discount: float
    price: float
    total: float
    id: str


class MerchandiseItem(_Out):
    barcode: str | None
    stock_item: IdOut
    delivered: bool
    offer: Offer | None
    custom_items: list[Any]
    discount: float
    price: float
    total: float
    id: str


class Donation(_Out):
    amount: float
    fund: IdOut
    recognition_name: str | None
    is_anonymous: bool
    tribute_type_id: str | None
    tribute_name: str | None
    id: str


class GiftVoucher(_Out):
    to_name: str | None
    message: str | None
    from_name: str | None
    amount: float
    send_date: str | None
    delivery_type: str
    delivery_email_address: str | None
    id: str


class MembershipSubscription(_Out):
    auto_renew: bool
    membership: IdOut
    start_date: str | None
    expiry_date: str | None
    is_renewal: bool
    related_donation_id: str | None
    custom_items: list[Any]
    discount: float
    price: float
    total: float
    id: str


class CustomPaymentAttribute(_Out):
    name: str
    value: str | None


class CustomPayment(_Out):
    name: str
    amount: float
    attributes: list[CustomPaymentAttribute]


class Basket(_WithAttributes):
    """The basket, keys in the vendor's order; System Owner mode adds ``agentCustomer``."""

    multibuy_offers: list[Offer]
    total_discount: float
    merchandise_delivery_options: list[Any]
    default_card_payment_fee: float
    potential_offers: list[Offer]
    ticket_delivery_options: list[Any]
    promo_code: str | None
    id: str
    basket_id: str
    merchandise_delivery: Delivery | None
    transaction_commission: Commission
    offers: list[Offer]
    ticket_delivery: Delivery | None
    ticket_subscriptions: list[Any]
    disable_web_components: bool
    hash: str
    agent_customer: IdOut | None = None
    custom_payments: list[CustomPayment]
    customer: dict[str, Any] | None = Field(description="The Customer object, or null")
    merchandise_items: list[MerchandiseItem]
    donations: list[Donation]
    notes: str | None
    tickets: list[BasketTicket]
    membership_subscriptions: list[MembershipSubscription]
    gift_vouchers: list[GiftVoucher]
    total: float
    charges: list[Any]


class Payment(_Out):
    amount: float
    name: str
    date: str
    date_utc: str


class Order(_WithAttributes):
    deliveries: list[Any]
    ticket_subscriptions: list[Any]
    first_transaction_date: str
    first_transaction_date_utc: str
    last_transaction_date: str
    last_transaction_date_utc: str
    total_payment_charges: float
    total_delivery_charges: float
    total_transaction_charges: float
    payments: list[Payment]
    refunds: list[Payment]
    print_at_home_documents: list[Any]
    id: str
    total: float
    customer: IdOut | None
    merchandise_items: list[MerchandiseItem]
    donations: list[Donation]
    notes: str | None
    tickets: list[BasketTicket]
    membership_subscriptions: list[MembershipSubscription]
    gift_vouchers: list[GiftVoucher]


# --- parsing ----------------------------------------------------------------------------------


def _fold(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k).lower(): _fold(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fold(v) for v in value]
    return value


def read_json(body: bytes) -> Any:
    if not body.strip():
        raise InvalidInput("body", "a JSON body is required")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("body", "not valid JSON (UTF-8)") from exc
    if too_deep(data):
        raise InvalidInput("body", f"nested deeper than {MAX_DEPTH} levels")
    return data


def single_object(data: Any) -> dict[str, Any]:
    """An object, or a one-element array holding one (clients send both)."""
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        raise InvalidInput("body", "a JSON object is required")
    return data


def split_attributes(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str | None]]:
    """Separate ``Attribute_<Name>`` keys (name kept as sent) from the folded other keys."""
    plain: dict[str, Any] = {}
    attributes: dict[str, str | None] = {}
    for key, value in data.items():
        key = str(key)
        if key.lower().startswith(ATTRIBUTE_PREFIX):
            name = key[len(ATTRIBUTE_PREFIX) :]
            if value is not None and not isinstance(value, str | int | float | bool):
                raise InvalidInput(key, "an attribute value must be a string")
            attributes[name] = None if value is None else _scalar_text(value)
        else:
            plain[key.lower()] = _fold(value)
    return plain, attributes


def _scalar_text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [_WIRE_NAMES.get(p, p) if isinstance(p, str) else str(p) for p in first["loc"]]
        reason = "required" if first["type"] == "missing" else first["msg"]
        raise InvalidInput(".".join(loc) or "body", reason) from exc


#: Folded input keys (``firstname``) -> the vendor's spelling (``firstName``), for messages.
_WIRE_NAMES: dict[str, str] = {
    _lower_alias(name): to_camel(name)
    for model in (
        NewCustomer,
        CustomerPatch,
        NewCustomerAddress,
        IdRef,
        NewTicket,
        TicketPatch,
        BestAvailable,
        NewMerchandiseItem,
        NewDonation,
        DonationPatch,
        NewGiftVoucher,
        GiftVoucherPatch,
        NewMembershipSubscription,
        MembershipSubscriptionPatch,
        NewDelivery,
        BasketPatch,
        NewCustomPayment,
        NewBasket,
        OrderConfirmation,
    )
    for name in model.model_fields
}


def id_list(items: list[Any]) -> list[str]:
    return [item.id if isinstance(item, IdRef) else item for item in items]


def parse_ids_body(body: bytes, field: str) -> list[str]:
    """``[{"id": x}, ...]``, ``["x", ...]``, ``{"id": x}`` or ``"x"``: a list of ids."""
    data = _fold(read_json(body))
    items = data if isinstance(data, list) else [data]
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and isinstance(item.get("id"), str):
            out.append(item["id"])
        else:
            raise InvalidInput(field, 'each item must be an id or {"id": "<id>"}')
    if len(out) > 200:
        raise InvalidInput(field, "at most 200 items")
    return out


def fold_object(data: dict[str, Any]) -> dict[str, Any]:
    folded: dict[str, Any] = _fold(data)
    return folded
