"""The part of a tenant's catalogue YAML that says what the venue sells (issue 17): venues and
their seating plans, price bands, ticket types, price lists, events and their instances, lock
types, funds, stock items, gift vouchers, offers and promo codes, and the typed attributes of
events, instances, ticket types and stock items. ``services/catalogue.py`` loads and dumps it
with the rest of the catalogue, in the same unit of work.

Like the rest of the catalogue, loading adds and updates by natural key (names; a seat by its
area, row and number; a price by its list, ticket type and band) and never deletes: re-loading a
file changes nothing, and no held or sold seat is ever dropped. An event's instances are matched
by ``id`` when the file gives one (``dump`` does), else in order: the event's n-th instance
without an id is its n-th instance (by id) not matched otherwise, so a file whose dates are
relative to the day it is loaded (``day: +14``) moves the same instances when loaded again on
another day (``boxoffice demo``).

Seats are written compactly: ``{rows: A-E, seats: 1-20, band: A}`` is 100 seats, named ``A1``
to ``E20``, at ``x`` = the seat number and ``y`` = the row's place in the area (1, 2...); a
later range overrides an earlier one for the same seat (a wheelchair space in a row, say). Money
is in the currency's units (``35`` or ``12.50``), kept in minor units.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import bindparam, select

from boxoffice.domain.errors import InvalidInput
from boxoffice.domain.ids import MAX_INTEGER
from boxoffice.services import inventory
from boxoffice.store.models import (
    Event,
    Fund,
    GiftVoucherType,
    Instance,
    InstanceSeat,
    ItemAttribute,
    LockType,
    Offer,
    OfferEvent,
    OfferTicketType,
    PlanArea,
    Price,
    PriceBand,
    PriceList,
    PromoCode,
    Seat,
    SeatingPlan,
    StockItem,
    TicketType,
    Venue,
)
from boxoffice.store.scoping import TENANT_PARAM
from boxoffice.store.uow import UnitOfWork

DEFAULT_TIME_ZONE = "Europe/London"
#: A new instance goes on sale this long before it starts, unless the file says otherwise.
DEFAULT_SALE_LEAD = timedelta(days=365)
#: The largest stock level (the column's integer), in a file and after units are returned.
MAX_STOCK_LEVEL = 2**31 - 1
ItemKind = Literal["event", "instance", "ticket_type", "stock_item"]
AttributeValue = str | int | float | bool | None


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int | None = Field(default=None, ge=1, le=MAX_INTEGER)


class ItemAttributeDoc(_Doc):
    kind: ItemKind
    name: str = Field(min_length=1, max_length=200)
    type: Literal["text", "number", "boolean"] = "text"


class LockTypeDoc(_Doc):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""


class TicketTypeDoc(_Doc):
    name: str = Field(min_length=1, max_length=200)
    attributes: dict[str, AttributeValue] = {}


class SeatsDoc(BaseModel):
    """Seats of a reserved area: every ``rows`` x ``seats`` (``A-E``, ``1-20``, ``1-4,9``)."""

    model_config = ConfigDict(extra="forbid")
    rows: str = Field(min_length=1, max_length=200)
    seats: str = Field(min_length=1, max_length=200)
    band: str
    wheelchair: bool = False
    special: bool = False
    #: One seat only: its name (default row + number) and where it is drawn.
    name: str | None = Field(default=None, max_length=50)
    x: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1)
    y: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1)


class AreaDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    #: Default: ``reserved`` with seats, ``unreserved`` with a capacity, ``group`` with areas.
    kind: Literal["group", "reserved", "unreserved"] | None = None
    capacity: int | None = Field(default=None, ge=0, le=1_000_000)
    band: str | None = None
    seats: list[SeatsDoc] = []
    areas: list[AreaDoc] = []


class PlanDoc(_Doc):
    name: str = Field(min_length=1, max_length=200)
    background_image_url: str = ""
    areas: list[AreaDoc] = Field(min_length=1)


class VenueDoc(_Doc):
    name: str = Field(min_length=1, max_length=200)
    address: str = ""
    plans: list[PlanDoc] = []


class PriceListDoc(_Doc):
    name: str = Field(min_length=1, max_length=200)
    #: The ticket type whose price is each band's default (none: the first one listed).
    default: str | None = None
    #: ``{band: {ticket type: amount}}``.
    bands: dict[str, dict[str, Decimal]] = {}


class RelativeTime(BaseModel):
    """A wall-clock time ``day`` days after the day the file is loaded (tenant's zone)."""

    model_config = ConfigDict(extra="forbid")
    day: int = Field(ge=-3650, le=3650)
    time: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


#: ``2026-12-21T19:30`` (the tenant's wall clock) or ``{day: +14, time: "19:30"}``.
When = datetime | RelativeTime


class InstanceDoc(_Doc):
    plan: str
    price_list: str
    start: When
    sale_start: When | None = None
    sale_stop: When | None = None
    web_instance_id: str | None = Field(default=None, max_length=100)
    cancelled: bool = False
    on_sale: bool = True
    web_visible: bool = True
    has_best_available_overlay: bool = False
    attributes: dict[str, AttributeValue] = {}


class EventDoc(_Doc):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    html_description: str = ""
    duration: int = Field(default=0, ge=0, le=100_000)
    image_url: str = ""
    thumbnail_url: str = ""
    on_sale: bool = True
    web_event_id: str | None = Field(default=None, max_length=100)
    attributes: dict[str, AttributeValue] = {}
    instances: list[InstanceDoc] = []


class FundDoc(_Doc):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    code: str = ""
    default_amount: Decimal | None = None


class StockItemDoc(_Doc):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    price: Decimal = Decimal(0)
    stock_level: int = Field(default=0, ge=0, le=MAX_STOCK_LEVEL)
    image_url: str = ""
    thumbnail_url: str = ""
    attributes: dict[str, AttributeValue] = {}


class GiftVoucherDoc(_Doc):
    """A fixed ``amount``, or a custom one from ``min_amount`` to ``max_amount``."""

    name: str = Field(min_length=1, max_length=200)
    amount: Decimal | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None


class OfferDoc(_Doc):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    percent_off: Decimal | None = Field(default=None, gt=0, le=100, decimal_places=2)
    amount_off: Decimal | None = None
    #: The events and ticket types it applies to (none listed: all).
    events: list[str] = []
    ticket_types: list[str] = []
    promo_codes: list[str] = []
    active: bool = True


class SalesDoc(BaseModel):
    """The sections of the catalogue YAML this module loads (the rest is ``catalogue.py``'s)."""

    model_config = ConfigDict(extra="ignore")
    time_zone: str | None = None
    item_attributes: list[ItemAttributeDoc] = []
    lock_types: list[LockTypeDoc] = []
    bands: list[str] = []
    ticket_types: list[TicketTypeDoc] = []
    venues: list[VenueDoc] = []
    price_lists: list[PriceListDoc] = []
    events: list[EventDoc] = []
    funds: list[FundDoc] = []
    stock_items: list[StockItemDoc] = []
    gift_vouchers: list[GiftVoucherDoc] = []
    offers: list[OfferDoc] = []


SECTIONS = tuple(name for name in SalesDoc.model_fields)


# --- values -----------------------------------------------------------------------------------


def minor_units(value: Decimal, field: str) -> int:
    """An amount in minor units (pence): at most two decimals, not negative."""
    try:
        cents = value * 100
        if cents != cents.to_integral_value() or value < 0 or value > Decimal(10) ** 12:
            raise InvalidInput(field, "an amount of at least 0 with at most two decimals")
        return int(cents)
    except InvalidOperation as exc:
        raise InvalidInput(field, "an amount") from exc


def money(minor: int | None) -> Decimal | None:
    """Minor units as an amount with two decimals (None stays None)."""
    if minor is None:
        return None
    return (Decimal(minor) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def plain_money(minor: int | None) -> int | float | None:
    """For a dump: ``35`` or ``12.5`` (YAML numbers that load back exactly)."""
    if minor is None:
        return None
    return minor // 100 if minor % 100 == 0 else minor / 100


def time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput("time_zone", f"unknown time zone {name!r}") from exc


def local_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time as UTC (a time skipped by a clock change moves forward, a repeated one
    is the first: ``fold=0``)."""
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    aware = local.replace(tzinfo=zone)
    # A non-existent time (spring forward) round-trips to another wall clock: PEP 495 gives it
    # the offset before the change, which moves it forward, as a venue's clock would.
    return aware.astimezone(UTC)


def utc_to_local(moment: datetime, zone: ZoneInfo) -> datetime:
    """UTC as the tenant's wall clock, naive."""
    return moment.astimezone(zone).replace(tzinfo=None)


def file_time(moment: datetime, zone: ZoneInfo) -> datetime:
    """UTC as a file writes it: the tenant's wall clock, naive, unless that loads back as
    another moment (the second time of an hour the clock repeats, which :func:`local_to_utc`
    reads as the first): then with its offset (``01:30:00+00:00``)."""
    local = utc_to_local(moment, zone).replace(fold=0)  # as text, a time has no fold
    if local_to_utc(local, zone) == moment:
        return local
    aware = moment.astimezone(zone)
    return aware.replace(tzinfo=timezone(aware.utcoffset() or timedelta()))


def _resolve(when: When, zone: ZoneInfo, today: date) -> datetime:
    if isinstance(when, RelativeTime):
        hours, minutes = (int(p) for p in when.time.split(":"))
        local = datetime.combine(today + timedelta(days=when.day), time(hours, minutes))
        return local_to_utc(local, zone)
    return local_to_utc(when, zone)


_RANGE = re.compile(r"^\s*([A-Za-z]+|[0-9]+)\s*(?:-\s*([A-Za-z]+|[0-9]+))?\s*$")


def _letters_to_int(text: str) -> int:
    value = 0
    for char in text.upper():
        value = value * 26 + (ord(char) - 64)
    return value


def _int_to_letters(value: int, lower: bool) -> str:
    out = ""
    while value:
        value, rest = divmod(value - 1, 26)
        out = chr(65 + rest) + out
    return out.lower() if lower else out


def expand(spec: str, field: str) -> list[str]:
    """``A-C,F`` -> A, B, C, F; ``1-3,7`` -> 1, 2, 3, 7 (at most 10000 labels)."""
    labels: list[str] = []
    for part in spec.split(","):
        match = _RANGE.match(part)
        if match is None:
            raise InvalidInput(field, f"bad range {part.strip()!r} (write A-J or 1-20)")
        first, last = match.group(1), match.group(2) or match.group(1)
        if first.isdigit() != last.isdigit():
            raise InvalidInput(field, f"bad range {part.strip()!r}")
        if first.isdigit():
            start, stop = int(first), int(last)
            width = len(first) if first.startswith("0") else 0
            if stop < start or stop - start > 10_000:
                raise InvalidInput(field, f"bad range {part.strip()!r}")
            labels.extend(str(n).zfill(width) for n in range(start, stop + 1))
        else:
            start, stop = _letters_to_int(first), _letters_to_int(last)
            if stop < start or stop - start > 10_000:
                raise InvalidInput(field, f"bad range {part.strip()!r}")
            lower = first.islower()
            labels.extend(_int_to_letters(n, lower) for n in range(start, stop + 1))
        if len(labels) > 10_000:
            raise InvalidInput(field, "at most 10000 labels")
    return labels


def _next_label(label: str) -> str | None:
    if label.isdigit():
        return str(int(label) + 1).zfill(len(label) if label.startswith("0") else 0)
    if label.isalpha():
        return _int_to_letters(_letters_to_int(label) + 1, label.islower())
    return None


def compact(labels: list[str]) -> str:
    """The inverse of :func:`expand`: ``A, B, C, F`` -> ``A-C,F``."""
    parts: list[str] = []
    i = 0
    while i < len(labels):
        j = i
        while j + 1 < len(labels) and _next_label(labels[j]) == labels[j + 1]:
            j += 1
        parts.append(labels[i] if i == j else f"{labels[i]}-{labels[j]}")
        i = j + 1
    return ",".join(parts)


def _typed(
    values: dict[str, AttributeValue], defined: dict[str, ItemAttribute], field: str
) -> dict[str, AttributeValue]:
    out: dict[str, AttributeValue] = {}
    for name, value in values.items():
        definition = defined.get(name)
        if definition is None:
            raise InvalidInput(f"{field}.{name}", "unknown attribute (add it to item_attributes)")
        ok = (
            value is None
            or (definition.type == "boolean" and isinstance(value, bool))
            or (
                definition.type == "number"
                and isinstance(value, int | float)
                and not isinstance(value, bool)
                and math.isfinite(value)
                and abs(value) <= MAX_INTEGER
            )
            or (definition.type == "text" and isinstance(value, str))
        )
        if not ok:
            raise InvalidInput(f"{field}.{name}", f"a {definition.type} value")
        out[name] = value
    return out


# --- load -------------------------------------------------------------------------------------


#: Whether an area has instances (their inventory is by its kind).
_AREA_IN_USE: Any = (
    select(inventory._IA.c.area_id)
    .where(
        inventory._IA.c.tenant_id == bindparam(TENANT_PARAM),
        inventory._IA.c.area_id == bindparam("area_id"),
    )
    .limit(1)
)


async def load_sales(uow: UnitOfWork, data: SalesDoc, tenant_zone: str, now: datetime) -> None:
    """Load the sales sections of a catalogue into ``uow`` (its tenant's), without commit.
    ``tenant_zone``: the tenant's current time zone (the file's ``time_zone`` replaces it)."""
    cat = uow.catalogue
    zone = time_zone(data.time_zone or tenant_zone)
    today = utc_to_local(now, zone).date()

    attrs = {(a.kind, a.name): a for a in await cat.all(ItemAttribute)}
    for pos, a in enumerate(data.item_attributes):
        await uow.catalogue.upsert(
            ItemAttribute,
            attrs,
            (a.kind, a.name),
            {"kind": a.kind, "name": a.name, "type": a.type, "position": pos},
        )

    def defined(kind: str) -> dict[str, ItemAttribute]:
        return {a.name: a for (k, _n), a in attrs.items() if k == kind}

    lock_types = {t.name: t for t in await cat.all(LockType)}
    for t in data.lock_types:
        await uow.catalogue.upsert(
            LockType, lock_types, t.name, {"name": t.name, "description": t.description}
        )
    bands = {b.name: b for b in await cat.all(PriceBand)}
    for pos, name in enumerate(data.bands):
        await uow.catalogue.upsert(PriceBand, bands, name, {"name": name, "position": pos})

    def band_id(name: str | None, field: str) -> int:
        if name is None or name not in bands:
            raise InvalidInput(field, f"unknown band {name!r} (add it to bands)")
        return int(bands[name].id)

    ticket_types = {t.name: t for t in await cat.all(TicketType)}
    for pos, tt in enumerate(data.ticket_types):
        await uow.catalogue.upsert(
            TicketType,
            ticket_types,
            tt.name,
            {
                "name": tt.name,
                "position": pos,
                "attributes": _typed(
                    tt.attributes, defined("ticket_type"), "ticket_types.attributes"
                ),
            },
        )

    # Venues, plans, areas, seats.
    venues = {v.name: v for v in await cat.all(Venue)}
    plans = {p.name: p for p in await cat.all(SeatingPlan)}
    areas = {(a.plan_id, a.name): a for a in await cat.all(PlanArea)}
    seats = {(s.area_id, s.row, s.number): s for s in await cat.all(Seat)}
    next_seat = await cat.next_id(Seat)
    changed_plans: set[int] = set()
    area_names: dict[int, set[str]] = {}
    for v in data.venues:
        venue = await uow.catalogue.upsert(
            Venue, venues, v.name, {"name": v.name, "address": v.address}
        )
        for p in v.plans:
            plan = await uow.catalogue.upsert(
                SeatingPlan,
                plans,
                p.name,
                {
                    "name": p.name,
                    "venue_id": venue.id,
                    "background_image_url": p.background_image_url,
                },
            )
            position = 0

            async def load_area(
                doc: AreaDoc, parent: int | None, plan_id: int, plan_name: str
            ) -> None:
                nonlocal position, next_seat
                field = f"venues.plans.{plan_name}.areas.{doc.name}"
                named = area_names.setdefault(plan_id, set())
                if doc.name in named:  # areas are matched by plan and name
                    raise InvalidInput(field, "an area name used twice in the plan")
                named.add(doc.name)
                kind = doc.kind or (
                    "group" if doc.areas else "reserved" if doc.seats else "unreserved"
                )
                if kind == "group" and (doc.seats or doc.capacity):
                    raise InvalidInput(field, "a group has areas, not seats or a capacity")
                if kind == "reserved" and (doc.areas or not doc.seats):
                    raise InvalidInput(field, "a reserved area has seats (and no areas)")
                if kind == "unreserved" and (doc.areas or doc.seats or doc.capacity is None):
                    raise InvalidInput(field, "an unreserved area has a capacity and a band")
                area_band = band_id(doc.band, f"{field}.band") if kind == "unreserved" else None
                known = areas.get((plan_id, doc.name))
                if (
                    known is not None
                    and known.kind != kind
                    and await uow.first(_AREA_IN_USE, {"area_id": known.id}) is not None
                ):
                    raise InvalidInput(
                        f"{field}.kind", f"an area of instances stays {known.kind} (add a new one)"
                    )
                area = await uow.catalogue.upsert(
                    PlanArea,
                    areas,
                    (plan_id, doc.name),
                    {
                        "plan_id": plan_id,
                        "parent_id": parent,
                        "name": doc.name,
                        "kind": kind,
                        "capacity": doc.capacity or 0,
                        "band_id": area_band,
                        "position": position,
                    },
                )
                position += 1
                if kind == "reserved":
                    wanted: dict[tuple[str, str], dict[str, Any]] = {}
                    row_order: dict[str, int] = {}
                    for rng in doc.seats:
                        rows = expand(rng.rows, f"{field}.seats.rows")
                        numbers = expand(rng.seats, f"{field}.seats.seats")
                        single = len(rows) == 1 and len(numbers) == 1
                        if not single and (rng.name or rng.x is not None or rng.y is not None):
                            raise InvalidInput(
                                f"{field}.seats", "name, x and y are for one seat only"
                            )
                        b = band_id(rng.band, f"{field}.seats.band")
                        for r in rows:
                            row_order.setdefault(r, len(row_order) + 1)
                            for index, n in enumerate(numbers):
                                if len(r) > 20 or len(n) > 20:
                                    raise InvalidInput(f"{field}.seats", "labels of 20 at most")
                                wanted[(r, n)] = {
                                    "row": r,
                                    "number": n,
                                    "name": rng.name or f"{r}{n}",
                                    "band_id": b,
                                    "wheelchair": rng.wheelchair,
                                    "special": rng.special,
                                    "x": rng.x
                                    if rng.x is not None
                                    else int(n)
                                    if n.isdigit()
                                    else index + 1,
                                    "y": rng.y if rng.y is not None else row_order[r],
                                }
                    for pos_, ((r, n), values) in enumerate(wanted.items()):
                        values["position"] = pos_
                        existing = seats.get((area.id, r, n))
                        if existing is None:
                            seat = Seat(id=next_seat, area_id=area.id, **values)
                            next_seat += 1
                            uow.session.add(seat)
                            seats[(area.id, r, n)] = seat
                            changed_plans.add(plan_id)
                        else:
                            for name, value in values.items():
                                if getattr(existing, name) != value:
                                    setattr(existing, name, value)
                                    if name in ("wheelchair", "special"):
                                        changed_plans.add(plan_id)
                    area.capacity = sum(1 for key in seats if key[0] == area.id)
                else:
                    changed_plans.add(plan_id)  # a capacity may have changed
                for child in doc.areas:
                    await load_area(child, area.id, plan_id, plan_name)

            for top in p.areas:
                await load_area(top, None, plan.id, p.name)
    await uow.flush()

    # Price lists.
    price_lists = {p.name: p for p in await cat.all(PriceList)}
    prices = {(p.price_list_id, p.ticket_type_id, p.band_id): p for p in await cat.all(Price)}
    next_price = await cat.next_id(Price)
    for pl in data.price_lists:
        price_list = await uow.catalogue.upsert(PriceList, price_lists, pl.name, {"name": pl.name})
        for band_name, amounts in pl.bands.items():
            b = band_id(band_name, f"price_lists.{pl.name}.bands")
            default = pl.default or next(iter(amounts), None)
            for type_name, amount in amounts.items():
                ticket_type = ticket_types.get(type_name)
                if ticket_type is None:
                    raise InvalidInput(
                        f"price_lists.{pl.name}.bands.{band_name}",
                        f"unknown ticket type {type_name!r}",
                    )
                values = {
                    "price_list_id": price_list.id,
                    "ticket_type_id": ticket_type.id,
                    "band_id": b,
                    "amount_minor": minor_units(amount, f"price_lists.{pl.name}"),
                    "is_band_default": type_name == default,
                }
                key = (price_list.id, ticket_type.id, b)
                existing = prices.get(key)
                if existing is None:
                    prices[key] = Price(id=next_price, **values)
                    next_price += 1
                    uow.session.add(prices[key])
                else:
                    for name, value in values.items():
                        if getattr(existing, name) != value:
                            setattr(existing, name, value)
    await uow.flush()

    # Events and instances.
    events = {e.name: e for e in await cat.all(Event)}
    instances_of: dict[int, list[Instance]] = {}
    for inst in await cat.all(Instance):
        instances_of.setdefault(inst.event_id, []).append(inst)
    next_instance = await cat.next_id(Instance)
    taken_ids = {i.id for insts in instances_of.values() for i in insts}
    refresh: dict[int, int] = {}
    for e in data.events:
        event = await uow.catalogue.upsert(
            Event,
            events,
            e.name,
            {
                "name": e.name,
                "description": e.description,
                "html_description": e.html_description,
                "duration_minutes": e.duration,
                "image_url": e.image_url,
                "thumbnail_url": e.thumbnail_url,
                "on_sale": e.on_sale,
                "web_event_id": e.web_event_id,
                "attributes": _typed(e.attributes, defined("event"), f"events.{e.name}"),
            },
        )
        existing_instances = sorted(instances_of.get(event.id, []), key=lambda i: i.id)
        by_id = {i.id: i for i in existing_instances}
        claimed = {d.id for d in e.instances if d.id is not None}
        unclaimed = iter(i for i in existing_instances if i.id not in claimed)
        for d in e.instances:
            field = f"events.{e.name}.instances"
            plan = plans.get(d.plan)
            if plan is None:
                raise InvalidInput(f"{field}.plan", f"unknown plan {d.plan!r}")
            price_list = price_lists.get(d.price_list)
            if price_list is None:
                raise InvalidInput(f"{field}.price_list", f"unknown price list {d.price_list!r}")
            start = _resolve(d.start, zone, today)
            values = {
                "event_id": event.id,
                "plan_id": plan.id,
                "price_list_id": price_list.id,
                "start_utc": start,
                "sale_start_utc": _resolve(d.sale_start, zone, today)
                if d.sale_start is not None
                else start - DEFAULT_SALE_LEAD,
                "sale_stop_utc": _resolve(d.sale_stop, zone, today)
                if d.sale_stop is not None
                else start,
                "web_instance_id": d.web_instance_id,
                "cancelled": d.cancelled,
                "on_sale": d.on_sale,
                "web_visible": d.web_visible,
                "has_best_available_overlay": d.has_best_available_overlay,
                "attributes": _typed(d.attributes, defined("instance"), f"{field}.attributes"),
            }
            row = by_id.get(d.id) if d.id is not None else next(unclaimed, None)
            if row is None and d.id is not None and d.id in taken_ids:
                raise InvalidInput(f"{field}.id", f"instance {d.id} is another event's")
            if row is None:
                row = Instance(id=d.id or next_instance, **values)
                taken_ids.add(row.id)
                next_instance = max(next_instance, row.id) + 1
                uow.session.add(row)
                instances_of.setdefault(event.id, []).append(row)
                refresh[row.id] = plan.id
            else:
                if row.plan_id != plan.id:
                    await _replan(uow, row)
                    refresh[row.id] = plan.id
                for name, value in values.items():
                    if getattr(row, name) != value:
                        setattr(row, name, value)
    await uow.flush()
    # Instances of plans that gained seats or changed capacities get their inventory again.
    for insts in instances_of.values():
        for inst in insts:
            if inst.plan_id in changed_plans:
                refresh.setdefault(inst.id, inst.plan_id)
    for instance_id, plan_id in sorted(refresh.items()):
        await inventory.refresh_instance(uow, instance_id, plan_id)

    # Products.
    funds = {f.name: f for f in await cat.all(Fund)}
    for f in data.funds:
        await uow.catalogue.upsert(
            Fund,
            funds,
            f.name,
            {
                "name": f.name,
                "description": f.description,
                "code": f.code,
                "default_amount_minor": None
                if f.default_amount is None
                else minor_units(f.default_amount, f"funds.{f.name}.default_amount"),
            },
        )
    stock = {s.name: s for s in await cat.all(StockItem)}
    for s in data.stock_items:
        await uow.catalogue.upsert(
            StockItem,
            stock,
            s.name,
            {
                "name": s.name,
                "description": s.description,
                "price_minor": minor_units(s.price, f"stock_items.{s.name}.price"),
                "stock_level": s.stock_level,
                "image_url": s.image_url,
                "thumbnail_url": s.thumbnail_url,
                "attributes": _typed(s.attributes, defined("stock_item"), f"stock_items.{s.name}"),
            },
        )
    vouchers = {g.name: g for g in await cat.all(GiftVoucherType)}
    for g in data.gift_vouchers:
        field = f"gift_vouchers.{g.name}"
        fixed = g.amount is not None
        if fixed == (g.min_amount is not None or g.max_amount is not None) or (
            not fixed and (g.min_amount is None or g.max_amount is None)
        ):
            raise InvalidInput(field, "an amount, or a min_amount and a max_amount")
        low = None if g.min_amount is None else minor_units(g.min_amount, field)
        high = None if g.max_amount is None else minor_units(g.max_amount, field)
        if low is not None and high is not None and low > high:
            raise InvalidInput(field, "min_amount above max_amount")
        await uow.catalogue.upsert(
            GiftVoucherType,
            vouchers,
            g.name,
            {
                "name": g.name,
                "amount_minor": None if g.amount is None else minor_units(g.amount, field),
                "min_minor": low,
                "max_minor": high,
            },
        )
    offers = {o.name: o for o in await cat.all(Offer)}
    offer_events = {(x.offer_id, x.event_id) for x in await cat.all(OfferEvent)}
    offer_types = {(x.offer_id, x.ticket_type_id) for x in await cat.all(OfferTicketType)}
    codes = {c.code: c for c in await cat.all(PromoCode)}
    for o in data.offers:
        field = f"offers.{o.name}"
        if (o.percent_off is None) == (o.amount_off is None):
            raise InvalidInput(field, "a percent_off or an amount_off")
        offer = await uow.catalogue.upsert(
            Offer,
            offers,
            o.name,
            {
                "name": o.name,
                "description": o.description,
                "percent_off": o.percent_off,
                "amount_off_minor": None
                if o.amount_off is None
                else minor_units(o.amount_off, field),
                "active": o.active,
            },
        )
        wanted_events = set()
        for name in o.events:
            if name not in events:
                raise InvalidInput(f"{field}.events", f"unknown event {name!r}")
            wanted_events.add((offer.id, events[name].id))
        wanted_types = set()
        for name in o.ticket_types:
            if name not in ticket_types:
                raise InvalidInput(f"{field}.ticket_types", f"unknown ticket type {name!r}")
            wanted_types.add((offer.id, ticket_types[name].id))
        # An offer's rules are the file's: its links are replaced (no customer data hangs on them).
        for pair in {p for p in offer_events if p[0] == offer.id} - wanted_events:
            link = await uow.session.get(OfferEvent, (uow.tenant_id, *pair))
            if link is not None:
                await uow.session.delete(link)
        for pair in wanted_events - offer_events:
            uow.session.add(OfferEvent(offer_id=pair[0], event_id=pair[1]))
        for pair in {p for p in offer_types if p[0] == offer.id} - wanted_types:
            type_link = await uow.session.get(OfferTicketType, (uow.tenant_id, *pair))
            if type_link is not None:
                await uow.session.delete(type_link)
        for pair in wanted_types - offer_types:
            uow.session.add(OfferTicketType(offer_id=pair[0], ticket_type_id=pair[1]))
        for code in o.promo_codes:
            clean = code.strip().upper()
            if not clean or len(clean) > 100:
                raise InvalidInput(f"{field}.promo_codes", "1 to 100 characters")
            found = codes.get(clean)
            if found is None:
                codes[clean] = PromoCode(code=clean, offer_id=offer.id)
                uow.session.add(codes[clean])
            elif found.offer_id != offer.id:
                found.offer_id = offer.id
    await uow.flush()


async def _replan(uow: UnitOfWork, instance: Instance) -> None:
    """An instance moves to another plan: only when nothing of it is held, sold or locked."""
    busy = await uow.session.execute(
        InstanceSeat.__table__.select()
        .where(
            InstanceSeat.tenant_id == uow.tenant_id,
            InstanceSeat.instance_id == instance.id,
            InstanceSeat.state != inventory.AVAILABLE,
        )
        .limit(1)
    )
    status_rows = await uow.session.execute(
        inventory._IA.select().where(
            inventory._IA.c.tenant_id == uow.tenant_id,
            inventory._IA.c.instance_id == instance.id,
            (inventory._IA.c.held + inventory._IA.c.sold + inventory._IA.c.locked) > 0,
        )
    )
    if busy.first() is not None or status_rows.first() is not None:
        raise InvalidInput(
            "events.instances.plan", f"instance {instance.id} has seats held, sold or locked"
        )
    for table in (inventory._LOCKS, inventory._IS, inventory._IA):
        await uow.session.execute(
            table.delete().where(
                table.c.tenant_id == uow.tenant_id, table.c.instance_id == instance.id
            )
        )


# --- dump -------------------------------------------------------------------------------------


def _seat_ranges(area_seats: list[Seat], band_names: dict[int, str]) -> list[dict[str, Any]]:
    """An area's seats as few ranges as :class:`SeatsDoc` reads back to the same seats."""
    row_order: dict[str, int] = {}
    by_row: dict[str, list[Seat]] = {}
    for seat in sorted(area_seats, key=lambda s: s.position):
        row_order.setdefault(seat.row, len(row_order) + 1)
        by_row.setdefault(seat.row, []).append(seat)
    singles: list[dict[str, Any]] = []
    signatures: list[tuple[str, tuple[tuple[str, str, bool, bool], ...]]] = []
    for row, row_seats in by_row.items():
        runs: list[tuple[str, str, bool, bool]] = []
        plain: list[Seat] = []
        for seat in row_seats:
            default = (
                seat.name == f"{seat.row}{seat.number}"
                and seat.number.isdigit()
                and seat.x == int(seat.number)
                and seat.y == row_order[row]
            )
            if default:
                plain.append(seat)
            else:
                singles.append(
                    {
                        "rows": seat.row,
                        "seats": seat.number,
                        "band": band_names[seat.band_id],
                        **({"wheelchair": True} if seat.wheelchair else {}),
                        **({"special": True} if seat.special else {}),
                        "name": seat.name,
                        "x": seat.x,
                        "y": seat.y,
                    }
                )
        # Runs of consecutive numbers with the same band and flags.
        plain.sort(key=lambda s: int(s.number))
        i = 0
        while i < len(plain):
            j = i
            key = (plain[i].band_id, plain[i].wheelchair, plain[i].special)
            while (
                j + 1 < len(plain)
                and (plain[j + 1].band_id, plain[j + 1].wheelchair, plain[j + 1].special) == key
                and int(plain[j + 1].number) == int(plain[j].number) + 1
            ):
                j += 1
            numbers = compact([s.number for s in plain[i : j + 1]])
            runs.append((numbers, band_names[key[0]], key[1], key[2]))
            i = j + 1
        signatures.append((row, tuple(runs)))
    out: list[dict[str, Any]] = []
    i = 0
    while i < len(signatures):
        j = i
        while (
            j + 1 < len(signatures)
            and signatures[j + 1][1] == signatures[i][1]
            and _next_label(signatures[j][0]) == signatures[j + 1][0]
        ):
            j += 1
        rows = compact([signatures[k][0] for k in range(i, j + 1)])
        for numbers, band, wheelchair, special in signatures[i][1]:
            entry: dict[str, Any] = {"rows": rows, "seats": numbers, "band": band}
            if wheelchair:
                entry["wheelchair"] = True
            if special:
                entry["special"] = True
            out.append(entry)
        i = j + 1
    return out + singles


async def dump_sales(uow: UnitOfWork, zone_name: str) -> dict[str, Any]:
    """The sales sections of the tenant's catalogue, as :func:`load_sales` reads them back.
    Instance times are absolute wall-clock times in the tenant's zone."""
    cat = uow.catalogue
    zone = time_zone(zone_name)
    band_rows = sorted(await cat.all(PriceBand), key=lambda b: (b.position, b.id))
    band_names = {b.id: b.name for b in band_rows}
    types = sorted(await cat.all(TicketType), key=lambda t: (t.position, t.id))
    type_names = {t.id: t.name for t in types}
    plans = await cat.all(SeatingPlan)
    areas = sorted(await cat.all(PlanArea), key=lambda a: (a.position, a.id))
    seats_by_area: dict[int, list[Seat]] = {}
    for seat in await cat.all(Seat):
        seats_by_area.setdefault(seat.area_id, []).append(seat)

    def area_doc(area: PlanArea) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": area.name, "kind": area.kind}
        if area.kind == "unreserved":
            doc["capacity"] = area.capacity
            doc["band"] = band_names.get(area.band_id) if area.band_id else None
        elif area.kind == "reserved":
            doc["seats"] = _seat_ranges(seats_by_area.get(area.id, []), band_names)
        else:
            doc["areas"] = [area_doc(child) for child in areas if child.parent_id == area.id]
        return doc

    plan_names = {p.id: p.name for p in plans}
    price_lists = await cat.all(PriceList)
    list_names = {p.id: p.name for p in price_lists}
    prices = await cat.all(Price)
    events = await cat.all(Event)
    event_names = {e.id: e.name for e in events}
    instances = sorted(await cat.all(Instance), key=lambda i: i.id)
    offers = await cat.all(Offer)
    offer_events = await cat.all(OfferEvent)
    offer_types = await cat.all(OfferTicketType)
    codes = await cat.all(PromoCode)

    def price_list_doc(pl: PriceList) -> dict[str, Any]:
        mine = [p for p in prices if p.price_list_id == pl.id]
        doc: dict[str, Any] = {"id": pl.id, "name": pl.name}
        defaults = {type_names[p.ticket_type_id] for p in mine if p.is_band_default}
        if len(defaults) == 1:
            doc["default"] = defaults.pop()
        bands_doc: dict[str, dict[str, Any]] = {}
        for band in band_rows:
            for tt in types:
                found = next(
                    (p for p in mine if p.band_id == band.id and p.ticket_type_id == tt.id),
                    None,
                )
                if found is not None:
                    bands_doc.setdefault(band.name, {})[tt.name] = plain_money(found.amount_minor)
        doc["bands"] = bands_doc
        return doc

    return {
        "time_zone": zone_name,
        "item_attributes": [
            {"id": a.id, "kind": a.kind, "name": a.name, "type": a.type}
            for a in sorted(await cat.all(ItemAttribute), key=lambda a: (a.position, a.id))
        ],
        "lock_types": [
            {"id": t.id, "name": t.name, "description": t.description}
            for t in await cat.all(LockType)
        ],
        "bands": [b.name for b in band_rows],
        "ticket_types": [
            {"id": t.id, "name": t.name, "attributes": dict(t.attributes)} for t in types
        ],
        "venues": [
            {
                "id": v.id,
                "name": v.name,
                "address": v.address,
                "plans": [
                    {
                        "id": p.id,
                        "name": p.name,
                        "background_image_url": p.background_image_url,
                        "areas": [
                            area_doc(a) for a in areas if a.plan_id == p.id and a.parent_id is None
                        ],
                    }
                    for p in plans
                    if p.venue_id == v.id
                ],
            }
            for v in await cat.all(Venue)
        ],
        "price_lists": [price_list_doc(pl) for pl in price_lists],
        "events": [
            {
                "id": e.id,
                "name": e.name,
                "description": e.description,
                "html_description": e.html_description,
                "duration": e.duration_minutes,
                "image_url": e.image_url,
                "thumbnail_url": e.thumbnail_url,
                "on_sale": e.on_sale,
                "web_event_id": e.web_event_id,
                "attributes": dict(e.attributes),
                "instances": [
                    {
                        "id": i.id,
                        "plan": plan_names[i.plan_id],
                        "price_list": list_names[i.price_list_id],
                        "start": file_time(i.start_utc, zone),
                        "sale_start": file_time(i.sale_start_utc, zone),
                        "sale_stop": file_time(i.sale_stop_utc, zone),
                        "web_instance_id": i.web_instance_id,
                        "cancelled": i.cancelled,
                        "on_sale": i.on_sale,
                        "web_visible": i.web_visible,
                        "has_best_available_overlay": i.has_best_available_overlay,
                        "attributes": dict(i.attributes),
                    }
                    for i in instances
                    if i.event_id == e.id
                ],
            }
            for e in events
        ],
        "funds": [
            {
                "id": f.id,
                "name": f.name,
                "description": f.description,
                "code": f.code,
                "default_amount": plain_money(f.default_amount_minor),
            }
            for f in await cat.all(Fund)
        ],
        "stock_items": [
            {
                "id": s.id,
                "name": s.name,
                "description": s.description,
                "price": plain_money(s.price_minor),
                "stock_level": s.stock_level,
                "image_url": s.image_url,
                "thumbnail_url": s.thumbnail_url,
                "attributes": dict(s.attributes),
            }
            for s in await cat.all(StockItem)
        ],
        "gift_vouchers": [
            {
                "id": g.id,
                "name": g.name,
                **(
                    {"amount": plain_money(g.amount_minor)}
                    if g.amount_minor is not None
                    else {
                        "min_amount": plain_money(g.min_minor),
                        "max_amount": plain_money(g.max_minor),
                    }
                ),
            }
            for g in await cat.all(GiftVoucherType)
        ],
        "offers": [
            {
                "id": o.id,
                "name": o.name,
                "description": o.description,
                **(
                    {"percent_off": _plain_percent(o.percent_off)}
                    if o.percent_off is not None
                    else {"amount_off": plain_money(o.amount_off_minor)}
                ),
                "events": sorted(
                    event_names[x.event_id] for x in offer_events if x.offer_id == o.id
                ),
                "ticket_types": sorted(
                    type_names[x.ticket_type_id] for x in offer_types if x.offer_id == o.id
                ),
                "promo_codes": sorted(c.code for c in codes if c.offer_id == o.id),
                "active": o.active,
            }
            for o in offers
        ],
    }


def _plain_percent(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)
