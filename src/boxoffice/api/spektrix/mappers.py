"""Pure functions: the only place Spektrix words meet core words."""

from __future__ import annotations

import re
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
    AreaStatusView,
    AreaView,
    AttributeValue,
    BandView,
    CatalogueView,
    ConsentView,
    CountryView,
    CustomerView,
    EventView,
    FundView,
    InstanceView,
    LockQuantityView,
    MembershipForSaleView,
    MembershipView,
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

#: ``$expand`` names (lower case) -> the core parts they need.
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
) -> dict[str, Any]:
    """The Customer resource: the documented keys in the documented order."""
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
        out["orders"] = []
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
