"""Pure functions: the only place Spektrix words meet core words."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from pydantic.alias_generators import to_camel

from boxoffice.api.spektrix import schemas as s
from boxoffice.api.spektrix.errors import AS_SENT
from boxoffice.domain import commands as c
from boxoffice.domain.errors import InvalidInput, NotFound
from boxoffice.domain.ids import (
    customer_code,
    is_key,
    parse_customer_code,
    parse_resource_code,
    resource_code,
)
from boxoffice.domain.rules import age_on, full_name, pascal_case
from boxoffice.domain.views import (
    AddressView,
    AppliedOfferView,
    AreaStatusView,
    AreaView,
    AttributeValue,
    BandView,
    BasketDonationView,
    BasketGiftVoucherView,
    BasketMembershipSubscriptionView,
    BasketMerchandiseView,
    BasketTicketView,
    BasketView,
    CatalogueView,
    ConsentView,
    CountryView,
    CustomerView,
    CustomPaymentView,
    DeliveryView,
    EventView,
    FundView,
    InstanceView,
    LockQuantityView,
    MembershipForSaleView,
    MembershipView,
    OrderView,
    PlanView,
    PriceListView,
    SeatView,
    StatementView,
    StockItemView,
    SubscriptionView,
    TagGroupView,
    TagView,
    TicketTypeView,
    VenueView,
)
from boxoffice.services.customers import CONSENTS, SUBSCRIPTIONS, TAGS

TAG, TAG_GROUP, STATEMENT, MEMBERSHIP, ADDRESS = (
    "tag",
    "tag-group",
    "statement",
    "membership",
    "address",
)

#: ``$expand`` names (lower case) -> the core parts they need (``orders``: none of the
#: customer's; the orders are one more read, ``routes._customer_response``).
EXPANSIONS: dict[str, frozenset[str]] = {
    "tags": frozenset({TAGS}),
    "alltags": frozenset({TAGS}),
    "tagsbygroup": frozenset({TAGS}),
    "alltagsbygroup": frozenset({TAGS}),
    "agreedstatements": frozenset({CONSENTS}),
    "allstatements": frozenset({CONSENTS}),
    "addresses": frozenset(),
    "subscriptions": frozenset({SUBSCRIPTIONS}),
    "orders": frozenset(),
    "storedcards": frozenset(),
    "printathomedocuments": frozenset(),
}
_NEEDS_CATALOGUE = frozenset({"alltags", "tagsbygroup", "alltagsbygroup", "allstatements"})


# --- ids ------------------------------------------------------------------------------------


def customer_id(code: str) -> int:
    key = parse_customer_code(code)
    if key is None:
        raise NotFound("Customer", code)
    return key


def resource_id(kind: str, code: str, label: str) -> int:
    """A path id: malformed or foreign ids are simply not found."""
    key = parse_resource_code(kind, code)
    if key is None:
        raise NotFound(label, code)
    return key


def body_ids(kind: str, codes: list[str], field: str) -> tuple[int, ...]:
    """Ids sent in a body: a malformed one is a 400 naming it."""
    out = []
    for code in codes:
        key = parse_resource_code(kind, code)
        if key is None:
            raise InvalidInput(field, f"unknown id {code!r}")
        out.append(key)
    return tuple(out)


def body_ids_or_missing(kind: str, codes: list[str], label: str) -> tuple[int, ...]:
    """Ids sent to a sub-resource: one that is not ours is not found (404)."""
    return tuple(resource_id(kind, code, label) for code in codes)


# --- requests -------------------------------------------------------------------------------


def birth_date(text: str | None) -> date | None:
    if text is None or text.strip() == "":
        return None
    value = text.strip()
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError as exc:
        raise InvalidInput("birthDate", "a date (YYYY-MM-DD or ISO 8601)") from exc


def expand(value: str | None) -> frozenset[str]:
    if not value:
        return frozenset()
    names: set[str] = set()
    for item in value.split(","):
        name = item.strip().split("/", 1)[0].lower()
        if not name:
            continue
        if name not in EXPANSIONS:
            raise InvalidInput("$expand", f"unknown collection {item.strip()!r}")
        names.add(name)
    return frozenset(names)


def parts_for(expansions: frozenset[str]) -> frozenset[str]:
    return (
        frozenset().union(*(EXPANSIONS[name] for name in expansions)) if expansions else frozenset()
    )


def needs_catalogue(expansions: frozenset[str]) -> bool:
    return bool(expansions & _NEEDS_CATALOGUE)


def _address(a: s.NewCustomerAddress) -> c.NewAddress:
    return c.NewAddress(
        is_billing=a.is_billing,
        is_delivery=a.is_delivery,
        name=a.name,
        line1=a.line1,
        line2=a.line2,
        line3=a.line3,
        line4=a.line4,
        line5=a.line5,
        town=a.town,
        postcode=a.postcode,
        country=a.country,
        administrative_division=a.administrative_division,
    )


def new_address(data: dict[str, Any]) -> c.NewAddress:
    return _address(s.validate(s.NewCustomerAddress, data))


def address_patch(data: dict[str, Any]) -> c.AddressPatch:
    patch = s.validate(s.AddressPatch, data)
    sent = patch.model_fields_set
    values: dict[str, Any] = {}
    for name in sent:
        value = getattr(patch, name)
        if name in ("is_billing", "is_delivery") and value is None:
            raise InvalidInput(to_camel(name), "true or false")
        values[name] = value
    return c.AddressPatch(**values)


def new_customer(data: dict[str, Any]) -> c.NewCustomer:
    plain, attributes = s.split_attributes(data)
    body = s.validate(s.NewCustomer, plain)
    return c.NewCustomer(
        first_name=body.first_name,
        last_name=body.last_name,
        email=body.email,
        title=body.title or "",
        phone=body.phone,
        mobile=body.mobile,
        birth_date=birth_date(body.birth_date),
        friendly_id=body.friendly_id,
        password=body.password or None,
        addresses=tuple(_address(a) for a in body.addresses),
        tag_ids=body_ids(TAG, s.id_list(body.tags), "tags"),
        statement_ids=body_ids(STATEMENT, s.id_list(body.agreed_statements), "agreedStatements"),
        attributes=attributes,
    )


_PATCHABLE = ("title", "first_name", "last_name", "email", "phone", "mobile", "friendly_id")


def customer_patch(data: dict[str, Any]) -> c.CustomerPatch:
    plain, attributes = s.split_attributes(data)
    body = s.validate(s.CustomerPatch, plain)
    sent = body.model_fields_set
    values: dict[str, Any] = {name: getattr(body, name) for name in _PATCHABLE if name in sent}
    if "title" in values and values["title"] is None:
        values["title"] = ""
    for required in ("first_name", "last_name", "email"):
        if required in values and values[required] is None:
            raise InvalidInput(to_camel(required), "required")
    if "birth_date" in sent:
        values["birth_date"] = birth_date(body.birth_date)
    return c.CustomerPatch(**values, attributes=attributes)


def email_address(value: str) -> str:
    """The address a password-reset link is asked for (``emailAddress``), required."""
    if not value.strip():
        raise InvalidInput("emailAddress", "required")
    return value


# --- responses ------------------------------------------------------------------------------


def _datetime_text(value: date | None) -> str | None:
    """Dates as the vendor's .NET ``DateTime``: ``1990-01-31T00:00:00``."""
    return None if value is None else f"{value.isoformat()}T00:00:00"


def _money(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def tag(view: TagView) -> dict[str, Any]:
    return {"id": resource_code(TAG, view.id), "name": view.name}


def tag_group(view: TagGroupView, tags: tuple[TagView, ...] | None = None) -> dict[str, Any]:
    return {
        "id": resource_code(TAG_GROUP, view.id),
        "name": view.name,
        "description": view.description,
        "tags": [tag(t) for t in (view.tags if tags is None else tags)],
    }


def statement(view: StatementView) -> dict[str, Any]:
    return {"id": resource_code(STATEMENT, view.id), "text": view.text}


def consent(view: ConsentView) -> dict[str, Any]:
    return {"id": resource_code(STATEMENT, view.statement_id), "text": view.text, "agreed": True}


def membership(view: MembershipView) -> dict[str, Any]:
    return {
        "description": view.description,
        "htmlDescription": view.html_description,
        "id": resource_code(MEMBERSHIP, view.id),
        "imageUrl": view.image_url,
        "name": view.name,
        "thumbnailUrl": view.thumbnail_url,
    }


def address(view: AddressView) -> dict[str, Any]:
    return {
        "id": resource_code(ADDRESS, view.id),
        "isBilling": view.is_billing,
        "isDelivery": view.is_delivery,
        "country": view.country,
        "administrativeDivision": view.administrative_division,
        "name": view.name,
        "line1": view.line1,
        "line2": view.line2,
        "line3": view.line3,
        "line4": view.line4,
        "line5": view.line5,
        "town": view.town,
        "postcode": view.postcode,
    }


def country(view: CountryView) -> dict[str, Any]:
    return {
        "isoCode": view.iso_code,
        "name": view.name,
        "postcodeRequired": view.postcode_required,
        "displayPriority": view.display_priority,
        "administrativeDivisions": [],
    }


def subscription(view: SubscriptionView, today: date) -> dict[str, Any]:
    return {
        "autoRenew": view.auto_renew,
        "membership": {"id": resource_code(MEMBERSHIP, view.membership_id)},
        "startDate": _datetime_text(view.start_date),
        "expiryDate": _datetime_text(view.expiry_date),
        # Renewable by hand: not renewing itself, and expiring within 60 days (or lapsed).
        "canRenew": not view.auto_renew and view.expiry_date <= today + timedelta(days=60),
    }


def customer(
    view: CustomerView,
    expansions: frozenset[str] = frozenset(),
    catalogue: CatalogueView | None = None,
    *,
    today: date,
    orders: Sequence[OrderView] = (),
    owner: bool = False,
) -> dict[str, Any]:
    """The Customer resource: the documented keys in the documented order. ``orders``: the
    customer's orders, newest first (read only when ``orders`` is expanded; :func:`order`
    shapes each, ``owner`` as for the System Owner)."""
    x = expansions
    own_tags = {t.id for t in view.tags}
    agreed = {cv.statement_id for cv in view.consents}
    groups = catalogue.tag_groups if catalogue is not None else ()
    out: dict[str, Any] = {"age": age_on(view.birth_date, today)}
    if "allstatements" in x and catalogue is not None:
        out["allStatements"] = [
            {**statement(st), "agreed": st.id in agreed} for st in catalogue.statements
        ]
    if "agreedstatements" in x:
        out["agreedStatements"] = [consent(cv) for cv in view.consents]
    if "addresses" in x:
        out["addresses"] = [address(a) for a in view.addresses]
    billing, delivery = view.billing_address, view.delivery_address
    out["billingAddress"] = billing_out = address(billing) if billing else None
    if delivery is billing and billing_out is not None:  # the usual one address: mapped once
        out["deliveryAddress"] = dict(billing_out)
    else:
        out["deliveryAddress"] = address(delivery) if delivery else None
    out["birthDate"] = _datetime_text(view.birth_date)
    out["email"] = view.email
    out["firstName"] = view.first_name
    out["lastName"] = view.last_name
    out["mobile"] = view.mobile
    out["name"] = full_name(view.first_name, view.last_name)
    out["phone"] = view.phone
    if "alltagsbygroup" in x:
        out["allTagsByGroup"] = [
            {
                **tag_group(g, ()),
                "tags": [{**tag(t), "selected": t.id in own_tags} for t in g.tags],
            }
            for g in groups
        ]
    if "tagsbygroup" in x:
        out["tagsByGroup"] = [
            tag_group(g, tuple(t for t in g.tags if t.id in own_tags))
            for g in groups
            if any(t.id in own_tags for t in g.tags)
        ]
    if "tags" in x:
        out["tags"] = [tag(t) for t in view.tags]
    if "alltags" in x:
        out["allTags"] = [{**tag(t), "selected": t.id in own_tags} for g in groups for t in g.tags]
    if "printathomedocuments" in x:
        out["printAtHomeDocuments"] = []
    out["title"] = view.title
    out["passwordSet"] = view.password_set
    out["giftAidDeclarationRequired"] = False
    if "subscriptions" in x:
        out["subscriptions"] = [subscription(sv, today) for sv in view.subscriptions]
    if "orders" in x:
        out["orders"] = [order(o, owner=owner) for o in orders]
    if "storedcards" in x:
        out["storedCards"] = []
    out["id"] = customer_code(view.id)
    for value in view.attributes:
        out[f"attribute_{pascal_case(value.attribute.name)}"] = value.value
    out["creditBalance"] = _money(view.credit_balance)
    return out


# --- what a venue sells (issue 17): events, instances, plans, prices, availability ----------

EVENT, INSTANCE, PLAN, AREA, SEAT, VENUE = "event", "instance", "plan", "area", "seat", "venue"
TICKET_TYPE, BAND, PRICE_LIST, PRICE, LOCK_TYPE = (
    "ticket-type",
    "band",
    "price-list",
    "price",
    "lock-type",
)
FUND, STOCK_ITEM = "fund", "stock-item"
#: Plan and area kinds in the vendor's words.
AREA_TYPES = {"group": "Group", "reserved": "Reserved", "unreserved": "Unreserved"}
#: Dates a filter may name: a day's UTC equivalent stays within what ``datetime`` holds.
_FIRST_DAY, _LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)
_CONTROL = re.compile(r"[\x00-\x1f]")


def catalogue_id(kind: str, code: str, label: str) -> int:
    """A catalogue id in a path: the vendor's 33-character id, or its leading integer alone
    (the short id iframe URLs carry, ``EventInstanceId=112659``). Anything else, or a key no
    database column holds, is simply not found."""
    text = code.strip()
    if text.isdigit() and len(text) <= 19:
        key = int(text)
        if is_key(key):
            return key
        raise NotFound(label, code)
    return resource_id(kind, code, label)


def as_sent(name: str) -> str:
    """A query parameter's name in an error, exactly as the vendor spells it."""
    return AS_SENT + name


def filter_date(name: str, value: str | None) -> date | datetime | None:
    """``YYYY-MM-DD`` (a day in the tenant's time zone) or a date and time as the catalogue
    shows them (``2025-10-24T19:30:00``, local; with ``Z`` or an offset, that instant)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        parsed: date | datetime = (
            date.fromisoformat(text)
            if len(text) == 10
            else datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        )
    except ValueError as exc:
        raise InvalidInput(
            as_sent(name), "a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM:SS)"
        ) from exc
    day = parsed.date() if isinstance(parsed, datetime) else parsed
    if not _FIRST_DAY <= day <= _LAST_DAY:
        raise InvalidInput(as_sent(name), "a date from 1900-01-01 to 9998-12-31")
    return parsed


def filter_bool(name: str, value: str | None) -> bool | None:
    if value is None or not value.strip():
        return None
    text = value.strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise InvalidInput(as_sent(name), "true or false")


def filter_text(name: str, value: str | None) -> str | None:
    """A text filter (a name, part of one, an attribute's value): no control characters."""
    if value is None:
        return None
    if _CONTROL.search(value):
        raise InvalidInput(as_sent(name), "must not contain control characters")
    return value


def attribute_filters(query: list[tuple[str, str]], prefix: str) -> dict[str, str]:
    """``{prefix}<Name>=<value>`` query parameters (prefix matched in any case): name -> value.
    ``attribute_Genre=Drama&instanceattribute_Relaxed=true``: with prefix ``attribute_``,
    ``{"Genre": "Drama"}`` only."""
    found: dict[str, str] = {}
    for key, value in query:
        if key.lower().startswith(prefix) and len(key) > len(prefix):
            name = key[len(prefix) :]
            found[name] = filter_text(key, value) or ""
    return found


def expand_names(value: str | None) -> frozenset[str]:
    """``$expand`` of a catalogue call: lower-case names (unknown ones are ignored, as unknown
    filters are)."""
    if not value:
        return frozenset()
    return frozenset(
        item.strip().split("/", 1)[0].lower() for item in value.split(",") if item.strip()
    )


def _local(value: datetime | None) -> str | None:
    """A wall-clock time as the vendor shows it: ``2025-10-24T19:30:00``, no offset."""
    if value is None:
        return None
    return value.replace(microsecond=0, tzinfo=None).isoformat()


def _utc(value: datetime | None, *, z: bool) -> str | None:
    """A UTC time: ``startUtc`` has no ``Z``, the sale window's and the event's have one."""
    if value is None:
        return None
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(UTC)
    text = value.replace(microsecond=0, tzinfo=None).isoformat()
    return text + "Z" if z else text


def price_amount(value: Decimal) -> orjson.Fragment:
    """Money in a catalogue answer: a JSON number with two decimals (``40.00``)."""
    return orjson.Fragment(f"{value.quantize(_CENT)}".encode())


_CENT = Decimal("0.01")


def _ref(kind: str, key: int | None) -> dict[str, str] | None:
    return None if key is None else {"id": resource_code(kind, key)}


def _attributes(out: dict[str, Any], attributes: tuple[tuple[str, AttributeValue], ...]) -> None:
    for name, value in attributes:
        out[f"attribute_{pascal_case(name)}"] = value


def instance(
    view: InstanceView,
    *,
    of_event: EventView | None = None,
    prices: PriceListView | None = None,
) -> dict[str, Any]:
    """The Instance resource in the vendor's key order, ``attribute_*`` last; ``priceList``
    and ``event`` the whole PriceList and Event when given (``$expand=priceList,event``),
    else ``{"id"}`` stubs."""
    out: dict[str, Any] = {
        "isOnSale": view.on_sale,
        "planId": resource_code(PLAN, view.plan_id),
        "priceList": {"id": resource_code(PRICE_LIST, view.price_list_id)}
        if prices is None
        else price_list(prices),
        "event": {"id": resource_code(EVENT, view.event_id)}
        if of_event is None
        else event(of_event),
        "start": _local(view.start_local),
        "startUtc": _utc(view.start_utc, z=False),
        "startSellingAtWeb": _local(view.sale_start_local),
        "startSellingAtWebUtc": _utc(view.sale_start_utc, z=True),
        "stopSellingAtWeb": _local(view.sale_stop_local),
        "stopSellingAtWebUtc": _utc(view.sale_stop_utc, z=True),
        "webInstanceId": view.web_instance_id,
        "cancelled": view.cancelled,
        "id": resource_code(INSTANCE, view.id),
        "hasBestAvailableOverlay": view.has_best_available_overlay,
    }
    _attributes(out, view.attributes)
    return out


def event(view: EventView) -> dict[str, Any]:
    """The Event resource in the vendor's key order; ``instances`` when expanded, then the
    ``attribute_*`` keys last."""
    out: dict[str, Any] = {
        "description": view.description,
        "htmlDescription": view.html_description,
        "duration": view.duration_minutes,
        "imageUrl": view.image_url,
        "isOnSale": view.on_sale,
        "name": view.name,
        "instanceDates": view.instance_dates,
        "thumbnailUrl": view.thumbnail_url,
        "webEventId": view.web_event_id,
        "id": resource_code(EVENT, view.id),
        "firstInstanceDateTime": _local(view.first_instance_local),
        "lastInstanceDateTime": _local(view.last_instance_local),
        "firstInstanceDateTimeUtc": _utc(view.first_instance_utc, z=True),
        "lastInstanceDateTimeUtc": _utc(view.last_instance_utc, z=True),
    }
    if view.instances is not None:
        out["instances"] = [instance(i) for i in view.instances]
    _attributes(out, view.attributes)
    return out


def events_body(views: tuple[EventView, ...]) -> orjson.Fragment:
    """A list of events, encoded once (``programme.events`` remembers it while the catalogue
    is unchanged)."""
    return orjson.Fragment(orjson.dumps([event(e) for e in views]))


def ticket_type(view: TicketTypeView) -> dict[str, Any]:
    out: dict[str, Any] = {"id": resource_code(TICKET_TYPE, view.id), "name": view.name}
    _attributes(out, view.attributes)
    return out


def band(view: BandView) -> dict[str, Any]:
    return {"id": resource_code(BAND, view.id), "name": view.name}


def price_list(view: PriceListView) -> dict[str, Any]:
    return {
        "id": resource_code(PRICE_LIST, view.id),
        "prices": [
            {
                "id": resource_code(PRICE, p.id),
                "isBandDefault": p.is_band_default,
                "amount": price_amount(p.amount),
                "ticketType": ticket_type(p.ticket_type),
                "priceBand": band(p.band),
            }
            for p in view.prices
        ],
    }


def venue(view: VenueView) -> dict[str, Any]:
    return {"id": resource_code(VENUE, view.id), "name": view.name, "address": view.address}


def seat(view: SeatView) -> dict[str, Any]:
    """A seat (decision 0122: the vendor's seat fields are unknown)."""
    return {
        "id": resource_code(SEAT, view.id),
        "name": view.name,
        "row": view.row,
        "number": view.number,
        "priceBand": {"id": resource_code(BAND, view.band_id)},
        "wheelchair": view.wheelchair,
        "special": view.special,
        "x": view.x,
        "y": view.y,
    }


def area(view: AreaView) -> dict[str, Any]:
    return {
        "id": resource_code(AREA, view.id),
        "name": view.name,
        "type": AREA_TYPES.get(view.kind, view.kind),
        "capacity": view.capacity,
        "priceBand": _ref(BAND, view.band_id),
        "areas": [area(a) for a in view.areas],
        "seats": [seat(s) for s in view.seats],
    }


def plan(view: PlanView) -> dict[str, Any]:
    return {
        "id": resource_code(PLAN, view.id),
        "name": view.name,
        "type": AREA_TYPES.get(view.kind, view.kind),
        "backgroundImageUrl": view.background_image_url,
        "capacity": sum(a.capacity for a in view.areas),
        "areas": [area(a) for a in view.areas],
        "venue": {"id": resource_code(VENUE, view.venue_id)},
    }


def _locks(items: tuple[LockQuantityView, ...], shown: bool) -> list[dict[str, Any]] | None:
    if not shown:
        return None
    return [
        {
            "quantity": lock.quantity,
            "lockType": {
                "id": resource_code(LOCK_TYPE, lock.lock_type_id),
                "name": lock.lock_type_name,
            },
        }
        for lock in items
    ]


def status(
    view: AreaStatusView,
    *,
    owner: bool,
    lock_information: bool,
    child_plans: bool,
    with_id: bool = False,
) -> dict[str, Any]:
    """InstancePlanStatus: the web fields, then (System Owner) the counts only the venue sees;
    ``areas`` (each with its ``id``) with ``includeChildPlans=true``. ``bands``: the places
    per price band, each the band (``id``, ``name``, as ``GET bands`` shows it) with its
    ``available`` and ``capacity`` (decision 0122)."""
    out: dict[str, Any] = {"id": resource_code(AREA, view.area_id)} if with_id else {}
    out["name"] = view.name
    out["available"] = view.available
    out["wheelchairAvailable"] = view.wheelchair_available
    out["specialAvailable"] = view.special_available
    out["capacity"] = view.capacity
    out["bands"] = [
        {
            "id": resource_code(BAND, b.band_id),
            "name": b.name,
            "available": b.available,
            "capacity": b.capacity,
        }
        for b in view.bands
    ]
    out["inBasket"] = view.in_basket
    out["unavailable"] = view.unavailable
    out["lockInfoAvailable"] = _locks(view.lock_info_available, lock_information)
    out["lockInfoSpecialAvailable"] = _locks(view.lock_info_special_available, lock_information)
    if owner:
        out["inOtherBasket"] = view.in_other_basket
        out["locked"] = view.locked
        out["reserved"] = view.reserved
        out["sold"] = view.sold
        out["scanned"] = 0
        out["masked"] = 0
        out["lockInformation"] = _locks(view.lock_info_available, lock_information)
    if child_plans:
        out["areas"] = [
            status(
                a, owner=owner, lock_information=lock_information, child_plans=True, with_id=True
            )
            for a in view.areas
        ]
    return out


def fund(view: FundView) -> dict[str, Any]:
    return {
        "id": resource_code(FUND, view.id),
        "name": view.name,
        "description": view.description,
        "code": view.code,
        "defaultDonationAmount": (
            None if view.default_amount is None else price_amount(view.default_amount)
        ),
    }


def stock_item(view: StockItemView) -> dict[str, Any]:
    return {
        "id": resource_code(STOCK_ITEM, view.id),
        "name": view.name,
        "description": view.description,
        "price": price_amount(view.price),
        "postageAndPacking": price_amount(Decimal(0)),
        "stockLevel": view.stock_level,
        "imageUrl": view.image_url,
        "thumbnailUrl": view.thumbnail_url,
    }


def membership_for_sale(view: MembershipForSaleView) -> dict[str, Any]:
    """A membership (the keys of :func:`membership`) with what it costs: ``price`` and
    ``renewalPrice`` (null when it is not for sale)."""
    out = membership(view.membership)
    out["price"] = None if view.price is None else price_amount(view.price)
    out["renewalPrice"] = None if view.renewal_price is None else price_amount(view.renewal_price)
    return out


# --- baskets and orders (issue 18) ------------------------------------------------------------

BASKET, TICKET, MERCHANDISE, DONATION, GIFT_VOUCHER, SUBSCRIPTION_ITEM, ORDER, PAYMENT = (
    "basket",
    "ticket",
    "merchandise-item",
    "donation",
    "gift-voucher",
    "membership-subscription",
    "order",
    "custom-payment",
)
#: A basket's item lists that ``$expand`` may name with their references: ``tickets/event``.
BASKET_EXPANSIONS = frozenset({"tickets/event", "tickets/instance"})
#: How each gift voucher reaches its recipient, in the vendor's words.
GIFT_VOUCHER_DELIVERY = ("CustomerEmail", "OtherEmail")
#: The most tickets (or other items) one request may add.
MAX_ITEMS_PER_REQUEST = 100


def basket_expansions(value: str | None) -> frozenset[str]:
    """``$expand`` of a basket or an order: ``tickets/event,tickets/instance`` (lower case);
    other names are ignored, as the catalogue calls ignore them."""
    if not value:
        return frozenset()
    names = {item.strip().lower() for item in value.split(",") if item.strip()}
    return frozenset(names & BASKET_EXPANSIONS)


def ref_text(value: s.Ref | None) -> str | None:
    if value is None:
        return None
    return value.id if isinstance(value, s.IdRef) else value


def body_catalogue_id(kind: str, value: s.Ref | None, field: str) -> int | None:
    """A catalogue id in a body (the 33-character id or its short number): None when absent;
    a malformed one is a 400 naming the field (an unknown well-formed one is the service's
    404)."""
    text = ref_text(value)
    if text is None or not text.strip():
        return None
    try:
        return catalogue_id(kind, text, field)
    except NotFound as exc:
        raise InvalidInput(as_sent(field), f"unknown id {text!r}") from exc


def item_ids(kind: str, values: list[str], label: str) -> tuple[int, ...]:
    """Ids of a basket's items named in a query (``ticketIds=a,b`` or ``ticketIds[]=a``), each
    possibly a comma list: one that is not an item of ours is not found (404)."""
    out: list[int] = []
    for value in values:
        for code in value.split(","):
            if code.strip():
                out.append(catalogue_id(kind, code.strip(), label))
    if len(out) > MAX_ITEMS_PER_REQUEST:
        raise InvalidInput(as_sent(label), f"at most {MAX_ITEMS_PER_REQUEST} ids")
    return tuple(out)


def money(value: float | int | None, field: str) -> Decimal | None:
    """An amount sent as a JSON number: at most two decimals, not negative."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(as_sent(field), "a number")
    amount = Decimal(str(value))
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(_CENT):
        raise InvalidInput(as_sent(field), "an amount of money with at most two decimals")
    if amount > Decimal("1000000"):
        raise InvalidInput(as_sent(field), "at most 1000000")
    return amount


def _day(value: str | None, field: str) -> date | None:
    """``YYYY-MM-DD`` or an ISO 8601 date and time (its date): the send date of a voucher."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise InvalidInput(as_sent(field), "a date (YYYY-MM-DD or ISO 8601)") from exc


def _items(data: Any, field: str) -> list[dict[str, Any]]:
    """An array of objects (one object alone is taken as an array of one)."""
    items = data if isinstance(data, list) else [data]
    if not items:
        raise InvalidInput(as_sent(field), "at least one item")
    if len(items) > MAX_ITEMS_PER_REQUEST:
        raise InvalidInput(as_sent(field), f"at most {MAX_ITEMS_PER_REQUEST} items")
    if not all(isinstance(item, dict) for item in items):
        raise InvalidInput(as_sent(field), "each item must be a JSON object")
    return items


def new_tickets(data: Any) -> list[tuple[s.NewTicket, dict[str, str]]]:
    """NewTicket items with their ``attribute_*`` values (name as sent)."""
    out = []
    for item in _items(data, "tickets"):
        plain, attributes = s.split_attributes(item)
        out.append((s.validate(s.NewTicket, plain), _attribute_texts(attributes)))
    return out


def _attribute_texts(attributes: dict[str, str | None]) -> dict[str, str]:
    return {name: value or "" for name, value in attributes.items()}


def _leaves(areas: tuple[AreaView, ...]) -> list[AreaView]:
    out: list[AreaView] = []
    for item in areas:
        out.extend(_leaves(item.areas) if item.kind == "group" else [item])
    return out


def seating_plan_area(plan: PlanView, ref: s.Ref) -> int:
    """A ticket's ``seatingPlan``: an area of the instance's plan (its id or short number), or
    the plan itself when it has one area (clients send the plan's id for a one-area plan)."""
    text = (ref_text(ref) or "").strip()
    leaves = _leaves(plan.areas)
    for leaf in leaves:
        if text == str(leaf.id) or text.upper() == resource_code(AREA, leaf.id):
            return leaf.id
    if text == str(plan.id) or text.upper() == resource_code(PLAN, plan.id):
        if len(leaves) == 1:
            return leaves[0].id
        raise InvalidInput("seatingPlan", "name one area of a plan that has several")
    raise InvalidInput("seatingPlan", f"not an area of the instance's plan: {text!r}")


def ticket_type_ref(model: s.NewTicket | s.TicketPatch | s.BestAvailable) -> int | None:
    ref = model.type if model.type is not None else model.ticket_type
    return body_catalogue_id(TICKET_TYPE, ref, "type")


def ticket_patch(data: Any) -> c.TicketPatch:
    item = data[0] if isinstance(data, list) and len(data) == 1 else data
    if not isinstance(item, dict):
        raise InvalidInput("body", "a JSON object is required")
    plain, attributes = s.split_attributes(item)
    model = s.validate(s.TicketPatch, plain)
    type_id = ticket_type_ref(model)
    return c.TicketPatch(
        ticket_type_id=c.UNSET if type_id is None else type_id,
        attributes=_attribute_texts(attributes) if attributes else c.UNSET,
    )


def new_merchandise(data: Any) -> list[c.NewMerchandise]:
    out = []
    for item in _items(data, "merchandise"):
        model = s.validate(s.NewMerchandiseItem, s.fold_object(item))
        key = body_catalogue_id(STOCK_ITEM, model.stock_item, "stockItem")
        assert key is not None
        out.append(c.NewMerchandise(stock_item_id=key, reference=model.reference))
    return out


def new_donations(data: Any) -> list[c.NewDonation]:
    out = []
    for item in _items(data, "donations"):
        model = s.validate(s.NewDonation, s.fold_object(item))
        fund = body_catalogue_id(
            FUND, model.fund if model.fund is not None else model.fund_id, "fund"
        )
        if fund is None:
            raise InvalidInput("fund", "required")
        amount = money(model.amount, "amount")
        assert amount is not None
        out.append(
            c.NewDonation(
                fund_id=fund,
                amount=amount,
                recognition_name=model.recognition_name,
                is_anonymous=bool(model.is_anonymous),
                tribute_name=model.tribute_name,
            )
        )
    return out


def donation_patch(data: Any) -> c.DonationPatch:
    model = s.validate(s.DonationPatch, s.fold_object(s.single_object(data)))
    amount = money(model.amount, "amount")
    fields = model.model_fields_set
    return c.DonationPatch(
        amount=c.UNSET if amount is None else amount,
        recognition_name=model.recognition_name if "recognition_name" in fields else c.UNSET,
        is_anonymous=(
            bool(model.is_anonymous)
            if "is_anonymous" in fields and model.is_anonymous is not None
            else c.UNSET
        ),
    )


def _delivery_type(value: str | None) -> str:
    if value is None or not value.strip():
        return GIFT_VOUCHER_DELIVERY[0]
    for known in GIFT_VOUCHER_DELIVERY:
        if value.strip().lower() == known.lower():
            return known
    raise InvalidInput("deliveryType", "CustomerEmail or OtherEmail")


def new_gift_vouchers(data: Any) -> list[c.NewGiftVoucher]:
    out = []
    for item in _items(data, "giftVouchers"):
        model = s.validate(s.NewGiftVoucher, s.fold_object(item))
        amount = money(model.amount, "amount")
        assert amount is not None
        out.append(
            c.NewGiftVoucher(
                amount=amount,
                to_name=model.to_name,
                from_name=model.from_name,
                message=model.message,
                send_date=_day(model.send_date, "sendDate"),
                delivery_type=_delivery_type(model.delivery_type),
                delivery_email_address=model.delivery_email_address,
            )
        )
    return out


def gift_voucher_patch(data: Any) -> c.GiftVoucherPatch:
    model = s.validate(s.GiftVoucherPatch, s.fold_object(s.single_object(data)))
    fields = model.model_fields_set
    amount = money(model.amount, "amount")

    def given(name: str) -> Any:
        return getattr(model, name) if name in fields else c.UNSET

    return c.GiftVoucherPatch(
        amount=c.UNSET if amount is None else amount,
        to_name=given("to_name"),
        from_name=given("from_name"),
        message=given("message"),
        send_date=_day(model.send_date, "sendDate") if "send_date" in fields else c.UNSET,
        delivery_type=(
            _delivery_type(model.delivery_type) if "delivery_type" in fields else c.UNSET
        ),
        delivery_email_address=given("delivery_email_address"),
    )


def new_membership_subscriptions(data: Any) -> list[c.NewMembershipSubscription]:
    out = []
    for item in _items(data, "membershipSubscriptions"):
        model = s.validate(s.NewMembershipSubscription, s.fold_object(item))
        text = ref_text(model.membership)
        key = parse_resource_code(MEMBERSHIP, text or "")
        if key is None:
            raise InvalidInput("membership", f"unknown id {text!r}")
        out.append(
            c.NewMembershipSubscription(membership_id=key, auto_renew=bool(model.auto_renew))
        )
    return out


def membership_subscription_patch(data: Any, *, owner: bool) -> c.MembershipSubscriptionPatch:
    model = s.validate(s.MembershipSubscriptionPatch, s.fold_object(s.single_object(data)))
    fields = model.model_fields_set
    price: Any = c.UNSET
    if "overridden_price" in fields:
        if not owner:
            raise InvalidInput("overriddenPrice", "System Owner mode only")
        price = money(model.overridden_price, "overriddenPrice")
    return c.MembershipSubscriptionPatch(
        auto_renew=(
            bool(model.auto_renew)
            if "auto_renew" in fields and model.auto_renew is not None
            else c.UNSET
        ),
        overridden_price=price,
    )


def delivery(model: s.NewDelivery | None) -> c.NewDelivery | None:
    if model is None:
        return None
    address = ref_text(model.address)
    return c.NewDelivery(
        type=model.type,
        address_id=None if not address else body_ids(ADDRESS, [address], "address")[0],
    )


def basket_patch(data: Any) -> c.BasketPatch:
    plain, attributes = s.split_attributes(s.single_object(data))
    model = s.validate(s.BasketPatch, plain)
    fields = model.model_fields_set
    return c.BasketPatch(
        promo_code=(model.promo_code or None) if "promo_code" in fields else c.UNSET,
        ticket_delivery=delivery(model.ticket_delivery) if "ticket_delivery" in fields else c.UNSET,
        merchandise_delivery=(
            delivery(model.merchandise_delivery) if "merchandise_delivery" in fields else c.UNSET
        ),
        attributes=_attribute_texts(attributes) if attributes else c.UNSET,
    )


def new_custom_payment(data: Any) -> c.NewCustomPayment:
    model = s.validate(s.NewCustomPayment, s.fold_object(s.single_object(data)))
    return _custom_payment(model, "")


def _custom_payment(model: s.NewCustomPayment, prefix: str) -> c.NewCustomPayment:
    """A NewCustomPayment's command; ``prefix`` names where it was in the body (errors)."""
    amount = money(model.amount, f"{prefix}amount")
    assert amount is not None
    attributes: dict[str, str] = {}
    for item in model.payment_attributes or ():
        name, value = item.get("name"), item.get("value")
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput(f"{prefix}paymentAttributes", 'each item needs a "name"')
        if value is not None and not isinstance(value, str | int | float | bool):
            raise InvalidInput(f"{prefix}paymentAttributes", "each value must be a string")
        attributes[name.strip()] = "" if value is None else str(value)
    payment_type = (model.payment_type_id or "").strip()
    if not payment_type:
        raise InvalidInput(f"{prefix}paymentTypeId", "required")
    return c.NewCustomPayment(amount=amount, payment_type=payment_type, attributes=attributes)


def voucher_payment(data: Any) -> tuple[str, Decimal | None]:
    """``POST basket/voucher-payments`` (ours): ``{"voucherCode", "amount"?}``."""
    model = s.validate(s.VoucherPayment, s.fold_object(s.single_object(data)))
    if not model.voucher_code.strip():
        raise InvalidInput("voucherCode", "required")
    return model.voucher_code, money(model.amount, "amount")


def gift_voucher_redemption(data: Any) -> str:
    """The vendor's ``redeem-gift-voucher`` body: ``{"voucherCode"}``."""
    model = s.validate(s.GiftVoucherRedemption, s.fold_object(s.single_object(data)))
    return model.voucher_code or ""


def redeemed(amount: Decimal, credit: Decimal) -> dict[str, Any]:
    """Our answer to ``redeem-gift-voucher`` (the vendor's fields are undocumented: decision
    0125): the amount credited and the customer's credit balance now."""
    return {"amount": price_amount(amount), "accountCredit": price_amount(credit)}


def credit_payment(data: Any) -> Decimal | None:
    """``POST basket/credit-payments`` (ours): ``{"amount"?}`` (no body: what is outstanding)."""
    if data is None:
        return None
    model = s.validate(s.CreditPayment, s.fold_object(s.single_object(data)))
    return money(model.amount, "amount")


def ticket_return(data: Any) -> tuple[tuple[int, ...], c.NewCustomPayment | None]:
    """``POST orders/{id}/returns`` (ours, decision 0125): ``{"ticketIds": [...], "refund":
    {"amount", "paymentTypeId", "paymentAttributes"}}`` -> the tickets' ids and the refund. A
    ticket id that is not one of ours is not found (404), as in a query."""
    model = s.validate(s.TicketReturn, s.fold_object(s.single_object(data)))
    if not model.ticket_ids:
        raise InvalidInput("ticketIds", "required")
    ids = []
    for ref in model.ticket_ids:
        text = (ref_text(ref) or "").strip()
        if not text:
            raise InvalidInput("ticketIds", "each id is required")
        ids.append(catalogue_id(TICKET, text, "Ticket"))
    refund = None if model.refund is None else _custom_payment(model.refund, "refund.")
    return tuple(ids), refund


def new_basket(data: Any) -> tuple[s.NewBasket, dict[str, str], dict[str, Any]]:
    """A NewBasket's own fields, its ``attribute_*`` values and its item lists (as sent; the
    routes turn them into commands with :func:`new_tickets` and friends)."""
    obj = {} if data is None else s.single_object(data)
    plain, attributes = s.split_attributes(obj)
    model = s.validate(s.NewBasket, plain)
    return model, _attribute_texts(attributes), plain


def confirmation(data: Any) -> c.Confirmation:
    if data is None:
        return c.Confirmation()
    model = s.validate(s.OrderConfirmation, s.fold_object(s.single_object(data)))
    return c.Confirmation(send_confirmation_email=bool(model.send_confirmation_email))


# --- basket and order answers ---------------------------------------------------------------


def _offer(view: AppliedOfferView | None) -> dict[str, Any] | None:
    return None if view is None else {"id": resource_code("offer", view.id), "name": view.name}


def _delivery_out(view: DeliveryView | None) -> dict[str, Any] | None:
    return None if view is None else {"type": view.type}


def basket_ticket(
    view: BasketTicketView,
    events: dict[int, dict[str, Any]] | None = None,
    instances: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A Ticket in the vendor's key order; ``event``/``instance`` expanded when given."""
    out: dict[str, Any] = {
        "band": {"id": resource_code(BAND, view.band_id)},
        "event": (events or {}).get(view.event_id) or {"id": resource_code(EVENT, view.event_id)},
        "instance": (instances or {}).get(view.instance_id)
        or {"id": resource_code(INSTANCE, view.instance_id)},
        "planId": resource_code(PLAN, view.plan_id),
        "seat": _ref(SEAT, view.seat_id),
        "seatName": view.seat_name,
        "planName": view.plan_name,
        "voucherRedemptionInfo": None,
        "type": {"id": resource_code(TICKET_TYPE, view.ticket_type_id)},
        "ticketType": {"id": resource_code(TICKET_TYPE, view.ticket_type_id)},
    }
    for name, value in view.attributes:
        out[f"attribute_{pascal_case(name)}"] = value
    out["delivered"] = view.delivered
    out["barcode"] = view.barcode
    out["offer"] = _offer(view.offer)
    out["customItems"] = []
    out["discount"] = price_amount(view.discount)
    out["price"] = price_amount(view.price)
    out["total"] = price_amount(view.total)
    out["id"] = resource_code(TICKET, view.id)
    return out


def merchandise_item(view: BasketMerchandiseView) -> dict[str, Any]:
    return {
        "barcode": view.barcode,
        "stockItem": {"id": resource_code(STOCK_ITEM, view.stock_item_id)},
        "delivered": view.delivered,
        "offer": _offer(view.offer),
        "customItems": [],
        "discount": price_amount(view.discount),
        "price": price_amount(view.price),
        "total": price_amount(view.total),
        "id": resource_code(MERCHANDISE, view.id),
    }


def donation(view: BasketDonationView) -> dict[str, Any]:
    return {
        "amount": price_amount(view.amount),
        "fund": {"id": resource_code(FUND, view.fund_id)},
        "recognitionName": view.recognition_name,
        "isAnonymous": view.is_anonymous,
        "tributeTypeId": None if view.tribute_type_id is None else str(view.tribute_type_id),
        "tributeName": view.tribute_name,
        "id": resource_code(DONATION, view.id),
    }


def gift_voucher(view: BasketGiftVoucherView) -> dict[str, Any]:
    return {
        "toName": view.to_name,
        "message": view.message,
        "fromName": view.from_name,
        "amount": price_amount(view.amount),
        "sendDate": None if view.send_date is None else f"{view.send_date.isoformat()}T00:00:00",
        "deliveryType": view.delivery_type,
        "deliveryEmailAddress": view.delivery_email_address,
        "id": resource_code(GIFT_VOUCHER, view.id),
    }


def membership_subscription(
    view: BasketMembershipSubscriptionView, *, owner: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "autoRenew": view.auto_renew,
        "membership": {"id": resource_code(MEMBERSHIP, view.membership_id)},
        "startDate": f"{view.start_date.isoformat()}T00:00:00",
        "expiryDate": f"{view.expiry_date.isoformat()}T00:00:00",
        "isRenewal": view.is_renewal,
        "relatedDonationId": (
            None
            if view.related_donation_id is None
            else resource_code(DONATION, view.related_donation_id)
        ),
        "customItems": [],
        "discount": price_amount(view.discount),
        "price": price_amount(view.price),
        "total": price_amount(view.total),
        "id": resource_code(SUBSCRIPTION_ITEM, view.id),
    }
    if owner:
        out["originalPrice"] = price_amount(view.original_price)
        out["priceOverridden"] = view.price_overridden
    return out


def custom_payment(view: CustomPaymentView) -> dict[str, Any]:
    return {
        "name": view.payment_type,
        "amount": price_amount(view.amount),
        "attributes": [{"name": n, "value": v} for n, v in view.attributes],
    }


def basket(
    view: BasketView,
    *,
    owner: bool,
    customer: dict[str, Any] | None = None,
    events: dict[int, dict[str, Any]] | None = None,
    instances: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The Basket in the vendor's key order (System Owner mode adds ``agentCustomer``);
    ``customer`` is the Customer object already mapped (None: no customer)."""
    code = resource_code(BASKET, view.id)
    offers = [_offer(o) for o in view.offers]
    out: dict[str, Any] = {
        "multibuyOffers": [],
        "totalDiscount": price_amount(view.total_discount),
        "merchandiseDeliveryOptions": [],
        "defaultCardPaymentFee": price_amount(Decimal(0)),
        "potentialOffers": [],
        "ticketDeliveryOptions": [],
        "promoCode": view.promo_code,
        "id": code,
        "basketId": code,
        "merchandiseDelivery": _delivery_out(view.merchandise_delivery),
        "transactionCommission": {"amount": price_amount(Decimal(0)), "waived": False},
        "offers": offers,
        "ticketDelivery": _delivery_out(view.ticket_delivery),
        "ticketSubscriptions": [],
        "disableWebComponents": False,
        "hash": view.hash,
    }
    if owner:
        out["agentCustomer"] = None
    for name, value in view.attributes:
        out[f"attribute_{pascal_case(name)}"] = value
    out["customPayments"] = [custom_payment(p) for p in view.custom_payments]
    out["customer"] = customer
    out["merchandiseItems"] = [merchandise_item(i) for i in view.merchandise_items]
    out["donations"] = [donation(d) for d in view.donations]
    out["notes"] = None
    out["tickets"] = [basket_ticket(t, events, instances) for t in view.tickets]
    out["membershipSubscriptions"] = [
        membership_subscription(ms, owner=owner) for ms in view.membership_subscriptions
    ]
    out["giftVouchers"] = [gift_voucher(g) for g in view.gift_vouchers]
    out["total"] = price_amount(view.total)
    out["charges"] = []
    return out


def order(
    view: OrderView,
    *,
    owner: bool,
    events: dict[int, dict[str, Any]] | None = None,
    instances: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The Order in the vendor's key order. Transaction dates are the confirmation's (local
    wall clock and UTC)."""
    local = _local(view.confirmed_local)
    utc = _utc(view.confirmed_at, z=False)
    out: dict[str, Any] = {
        "deliveries": [],
        "ticketSubscriptions": [],
        "firstTransactionDate": local,
        "firstTransactionDateUtc": utc,
        "lastTransactionDate": local,
        "lastTransactionDateUtc": utc,
        "totalPaymentCharges": price_amount(Decimal(0)),
        "totalDeliveryCharges": price_amount(Decimal(0)),
        "totalTransactionCharges": price_amount(Decimal(0)),
        "payments": [
            {
                "amount": price_amount(p.amount),
                "name": p.payment_type,
                "date": local,
                "dateUtc": utc,
            }
            for p in view.payments
            if p.amount >= 0
        ],
        # A refund (a return's reversal, a negative payment) with its own time.
        "refunds": [
            {
                "amount": price_amount(-p.amount),
                "name": p.payment_type,
                "date": _local(view.confirmed_local + (p.created_at - view.confirmed_at)),
                "dateUtc": _utc(p.created_at, z=False),
            }
            for p in view.payments
            if p.amount < 0
        ],
        "printAtHomeDocuments": [],
        "id": resource_code(ORDER, view.id),
    }
    for name, value in view.attributes:
        out[f"attribute_{pascal_case(name)}"] = value
    out["total"] = price_amount(view.total)
    out["customer"] = None if view.customer_id is None else {"id": customer_code(view.customer_id)}
    out["merchandiseItems"] = [merchandise_item(i) for i in view.merchandise_items]
    out["donations"] = [donation(d) for d in view.donations]
    out["notes"] = None
    # Returned tickets leave the order's list (the core keeps them, marked: decision 0125).
    out["tickets"] = [
        basket_ticket(t, events, instances) for t in view.tickets if t.returned_at is None
    ]
    out["membershipSubscriptions"] = [
        membership_subscription(ms, owner=owner) for ms in view.membership_subscriptions
    ]
    out["giftVouchers"] = [gift_voucher(g) for g in view.gift_vouchers]
    return out
