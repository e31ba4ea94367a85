"""Programme: events and their instances, as every dialect lists and filters them.

Web mode (``principal.full_access`` false) sees only web-visible instances, and only the events
that have one; an event or instance it cannot see is not found, exactly like a missing one.
Times are stored in UTC and shown in the tenant's time zone as well (``tenants.time_zone``,
read in the same statement as the rows). A list is a fixed number of statements whatever the
number of events: the attribute definitions, the events, their instances.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, and_, bindparam, select

from boxoffice.domain.errors import NotFound
from boxoffice.domain.ids import is_key
from boxoffice.domain.principal import Principal
from boxoffice.domain.rules import attribute_lookup_key
from boxoffice.domain.views import AttributeValue, EventView, InstanceView
from boxoffice.services.catalogue_sales import time_zone, utc_to_local
from boxoffice.services.core import Core
from boxoffice.store.models import Event, Instance, ItemAttribute, Tenant
from boxoffice.store.scoping import TENANT_PARAM, of_tenant

#: The tenant's time zone, as a column of any statement.
ZONE = (
    select(Tenant.time_zone)
    .where(Tenant.id == bindparam(TENANT_PARAM))
    .scalar_subquery()
    .label("zone")
)

_DEFINITIONS: Any = (
    select(ItemAttribute.kind, ItemAttribute.name, ZONE)
    .where(of_tenant(ItemAttribute))
    .order_by(ItemAttribute.kind, ItemAttribute.position, ItemAttribute.id)
)
_EVENT_COLUMNS = (
    Event.id,
    Event.name,
    Event.description,
    Event.html_description,
    Event.duration_minutes,
    Event.image_url,
    Event.thumbnail_url,
    Event.on_sale,
    Event.web_event_id,
    Event.attributes,
)
_INSTANCE_COLUMNS = (
    Instance.id,
    Instance.event_id,
    Instance.plan_id,
    Instance.price_list_id,
    Instance.start_utc,
    Instance.sale_start_utc,
    Instance.sale_stop_utc,
    Instance.web_instance_id,
    Instance.cancelled,
    Instance.on_sale,
    Instance.web_visible,
    Instance.has_best_available_overlay,
    Instance.attributes,
)
_VISIBLE = Instance.web_visible | bindparam("all_instances", type_=Boolean)
_EVENTS: Any = select(*_EVENT_COLUMNS).where(of_tenant(Event)).order_by(Event.name, Event.id)
_EVENT: Any = select(*_EVENT_COLUMNS).where(of_tenant(Event), Event.id == bindparam("event_id"))
_INSTANCES: Any = (
    select(*_INSTANCE_COLUMNS)
    .where(of_tenant(Instance), _VISIBLE)
    .order_by(Instance.start_utc, Instance.id)
)
_EVENT_INSTANCES: Any = (
    select(*_INSTANCE_COLUMNS)
    .where(of_tenant(Instance), _VISIBLE, Instance.event_id == bindparam("event_id"))
    .order_by(Instance.start_utc, Instance.id)
)
#: Instances with their event's name and attributes (the instance list's filters).
_INSTANCES_WITH_EVENT: Any = (
    select(*_INSTANCE_COLUMNS, Event.name.label("event_name"), Event.attributes.label("ea"))
    .join(Event, and_(Event.tenant_id == Instance.tenant_id, Event.id == Instance.event_id))
    .where(of_tenant(Instance, Event), _VISIBLE)
    .order_by(Instance.start_utc, Instance.id)
)
#: The same, of one event only.
_ONE_EVENTS_INSTANCES: Any = _INSTANCES_WITH_EVENT.where(Instance.event_id == bindparam("event_id"))
_INSTANCE: Any = select(*_INSTANCE_COLUMNS).where(
    of_tenant(Instance), _VISIBLE, Instance.id == bindparam("instance_id")
)


class Definitions:
    """A tenant's typed attributes of events, instances, ticket types and stock items (their
    names in order), and its time zone: what every catalogue view needs besides its rows."""

    def __init__(self, rows: Sequence[Any], zone: str | None) -> None:
        self.names: dict[str, tuple[str, ...]] = {}
        for row in rows:
            self.names[row.kind] = (*self.names.get(row.kind, ()), row.name)
        self.zone: ZoneInfo = time_zone(zone or "Europe/London")

    def values(
        self, kind: str, stored: Mapping[str, Any]
    ) -> tuple[tuple[str, AttributeValue], ...]:
        """Every attribute of ``kind`` in definition order, with the row's value (None: unset)."""
        return tuple((name, stored.get(name)) for name in self.names.get(kind, ()))


async def definitions(uow: Any) -> Definitions:
    """One statement: the attribute definitions and the time zone (``_DEFINITIONS`` has the
    zone on each row; a tenant without definitions still gets a row of its zone below)."""
    rows = await uow.rows(_DEFINITIONS)
    if rows:
        return Definitions(rows, rows[0].zone)
    zone = await uow.first(_ZONE_ONLY)
    return Definitions((), zone.zone if zone is not None else None)


_ZONE_ONLY: Any = select(Tenant.time_zone.label("zone")).where(Tenant.id == bindparam(TENANT_PARAM))


def instance_view(row: Any, defs: Definitions) -> InstanceView:
    zone = defs.zone
    return InstanceView(
        id=row.id,
        event_id=row.event_id,
        plan_id=row.plan_id,
        price_list_id=row.price_list_id,
        start_local=utc_to_local(row.start_utc, zone),
        start_utc=row.start_utc,
        sale_start_local=utc_to_local(row.sale_start_utc, zone),
        sale_start_utc=row.sale_start_utc,
        sale_stop_local=utc_to_local(row.sale_stop_utc, zone),
        sale_stop_utc=row.sale_stop_utc,
        web_instance_id=row.web_instance_id,
        cancelled=row.cancelled,
        on_sale=row.on_sale and not row.cancelled,
        web_visible=row.web_visible,
        has_best_available_overlay=row.has_best_available_overlay,
        attributes=defs.values("instance", row.attributes or {}),
    )


def _instance_dates(first: datetime, last: datetime) -> str:
    """``24 October-26 October``: day and month name, no year."""
    return f"{first.day} {first:%B}-{last.day} {last:%B}"


def event_view(
    row: Any,
    instances: Sequence[InstanceView],
    defs: Definitions,
    *,
    with_instances: bool,
) -> EventView:
    first = instances[0] if instances else None
    last = instances[-1] if instances else None
    return EventView(
        id=row.id,
        name=row.name,
        description=row.description,
        html_description=row.html_description,
        duration_minutes=row.duration_minutes,
        image_url=row.image_url,
        thumbnail_url=row.thumbnail_url,
        on_sale=row.on_sale,
        web_event_id=row.web_event_id,
        first_instance_local=first.start_local if first else None,
        first_instance_utc=first.start_utc if first else None,
        last_instance_local=last.start_local if last else None,
        last_instance_utc=last.start_utc if last else None,
        instance_dates=_instance_dates(first.start_local, last.start_local)
        if first and last
        else "",
        attributes=defs.values("event", row.attributes or {}),
        instances=tuple(instances) if with_instances else None,
    )


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _matches(stored: Mapping[str, Any], wanted: Mapping[str, str] | None) -> bool:
    """Every wanted attribute (name matched whatever its case and spacing) has the value
    (compared as text, without regard to case)."""
    if not wanted:
        return True
    by_key = {attribute_lookup_key(name): value for name, value in stored.items()}
    for name, value in wanted.items():
        found = by_key.get(attribute_lookup_key(name))
        if _text(found).casefold() != str(value).casefold():
            return False
    return True


def _bound(value: date | datetime | None, *, end: bool, inclusive_day: bool) -> datetime | None:
    """A filter's bound as a local wall-clock time. A date as the start of its day; as an end
    (``inclusive_day``), the start of the next day."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else value
    moment = datetime.combine(value, time())
    if end and inclusive_day:
        # The last day there is ends no instance's window: no bound (not an overflow).
        return None if value == date.max else moment + timedelta(days=1)
    return moment


def _in_window(
    instance: InstanceView, start: datetime | None, stop: datetime | None, *, stop_open: bool
) -> bool:
    """An aware bound is compared with the start in UTC; a naive one with the wall clock."""
    when_local, when_utc = instance.start_local, instance.start_utc
    if start is not None and (when_utc if start.tzinfo is not None else when_local) < start:
        return False
    if stop is not None:
        value = when_utc if stop.tzinfo is not None else when_local
        if value > stop or (stop_open and value == stop):
            return False
    return True


async def list_events(
    core: Core,
    principal: Principal,
    *,
    instance_start_from: date | datetime | None = None,
    instance_start_to: date | datetime | None = None,
    on_sale: bool | None = None,
    name: str | None = None,
    attributes: Mapping[str, str] | None = None,
    instance_attributes: Mapping[str, str] | None = None,
    with_instances: bool = False,
) -> tuple[EventView, ...]:
    """Events, by name. An event matches the instance filters when any of its instances (that
    the principal sees) does: starts in the window (from a date's first moment to the end of
    the ``to`` date; a datetime bound exactly) and has the instance attributes. Web mode: only
    events with a web-visible instance. ``name``: the exact name, without regard to case.
    Three statements."""
    visible_only = not principal.full_access
    async with core.read(principal.tenant_id) as uow:
        defs = await definitions(uow)
        event_rows = await uow.rows(_EVENTS)
        instance_rows = await uow.rows(_INSTANCES, {"all_instances": principal.full_access})
    by_event: dict[int, list[InstanceView]] = {}
    stored = {r.id: r.attributes or {} for r in instance_rows}
    for row in instance_rows:
        by_event.setdefault(row.event_id, []).append(instance_view(row, defs))
    start = _bound(instance_start_from, end=False, inclusive_day=True)
    stop = _bound(instance_start_to, end=True, inclusive_day=True)
    # A date ``to`` bound is the next day's first moment, excluded; a datetime is included.
    stop_open = instance_start_to is not None and not isinstance(instance_start_to, datetime)
    windowed = start is not None or stop is not None or bool(instance_attributes)
    wanted_name = name.strip().casefold() if name is not None else None
    out: list[EventView] = []
    for row in event_rows:
        instances = by_event.get(row.id, [])
        if visible_only and not instances:
            continue
        if on_sale is not None and row.on_sale != on_sale:
            continue
        if wanted_name is not None and row.name.strip().casefold() != wanted_name:
            continue
        if not _matches(row.attributes or {}, attributes):
            continue
        if windowed and not any(
            _in_window(i, start, stop, stop_open=stop_open)
            and _matches(stored.get(i.id, {}), instance_attributes)
            for i in instances
        ):
            continue
        out.append(event_view(row, instances, defs, with_instances=with_instances))
    return tuple(out)


async def get_event(
    core: Core, principal: Principal, event_id: int, *, with_instances: bool = False
) -> EventView:
    """One event; ``NotFound`` for another tenant's, a missing one, or (Web mode) one without
    a web-visible instance. Three statements."""
    if not is_key(event_id):  # no row has it (nor could the database hold it)
        raise NotFound("event", event_id)
    async with core.read(principal.tenant_id) as uow:
        defs = await definitions(uow)
        row = await uow.first(_EVENT, {"event_id": event_id})
        if row is None:
            raise NotFound("event", event_id)
        instance_rows = await uow.rows(
            _EVENT_INSTANCES, {"event_id": event_id, "all_instances": principal.full_access}
        )
    instances = [instance_view(r, defs) for r in instance_rows]
    if not principal.full_access and not instances:
        raise NotFound("event", event_id)
    return event_view(row, instances, defs, with_instances=with_instances)


async def list_instances(
    core: Core,
    principal: Principal,
    *,
    event_id: int | None = None,
    start_from: date | datetime | None = None,
    start_to: date | datetime | None = None,
    event_name: str | None = None,
    attributes: Mapping[str, str] | None = None,
    event_attributes: Mapping[str, str] | None = None,
) -> tuple[InstanceView, ...]:
    """Instances in start order: from ``start_from`` (inclusive) to ``start_to`` (exclusive;
    a date: its first moment), of one event (``NotFound`` when the principal cannot see it),
    whose event's name contains ``event_name`` (without regard to case), with the attributes
    and event attributes given. Two statements (three for one event's)."""
    if event_id is not None and not is_key(event_id):
        raise NotFound("event", event_id)
    visible = {"all_instances": principal.full_access}
    async with core.read(principal.tenant_id) as uow:
        defs = await definitions(uow)
        if event_id is None:
            rows = await uow.rows(_INSTANCES_WITH_EVENT, visible)
        else:
            if await uow.first(_EVENT, {"event_id": event_id}) is None:
                raise NotFound("event", event_id)
            rows = await uow.rows(_ONE_EVENTS_INSTANCES, {**visible, "event_id": event_id})
            if not rows and not principal.full_access:  # Web mode: an event it cannot see
                raise NotFound("event", event_id)
    start = _bound(start_from, end=False, inclusive_day=False)
    stop = _bound(start_to, end=True, inclusive_day=False)
    needle = event_name.strip().casefold() if event_name else None
    out: list[InstanceView] = []
    for row in rows:
        if event_id is not None and row.event_id != event_id:
            continue
        if needle is not None and needle not in row.event_name.casefold():
            continue
        if not _matches(row.attributes or {}, attributes):
            continue
        if not _matches(row.ea or {}, event_attributes):
            continue
        view = instance_view(row, defs)
        if not _in_window(view, start, stop, stop_open=True):
            continue
        out.append(view)
    return tuple(out)


async def get_instance(core: Core, principal: Principal, instance_id: int) -> InstanceView:
    """One instance; ``NotFound`` for another tenant's, a missing one, or (Web mode) one that
    is not web-visible. Two statements."""
    if not is_key(instance_id):
        raise NotFound("instance", instance_id)
    async with core.read(principal.tenant_id) as uow:
        defs = await definitions(uow)
        row = await uow.first(
            _INSTANCE, {"instance_id": instance_id, "all_instances": principal.full_access}
        )
    if row is None:
        raise NotFound("instance", instance_id)
    return instance_view(row, defs)
