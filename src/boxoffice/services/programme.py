"""Programme: events and their instances, as every dialect lists and filters them.

Web mode (``principal.full_access`` false) sees only web-visible instances, and only the events
that have one; an event or instance it cannot see is not found, exactly like a missing one.
Times are stored in UTC and shown in the tenant's time zone as well (``tenants.time_zone``,
read with the attribute definitions).

Every read answers from the tenant's :class:`Programme`, which a process builds once per
catalogue version (decision 0123): one statement per read (the version, a row by its key)
while the catalogue is unchanged; four when it has changed (the version, the attribute
definitions and time zone, the events, all instances), whatever the number of events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select

from boxoffice.domain.errors import NotFound
from boxoffice.domain.ids import is_key
from boxoffice.domain.principal import Principal
from boxoffice.domain.rules import attribute_lookup_key
from boxoffice.domain.views import AttributeValue, EventView, InstanceView
from boxoffice.services.catalogue_sales import time_zone, utc_to_local
from boxoffice.services.core import Core
from boxoffice.store.models import CatalogueVersion, Event, Instance, ItemAttribute, Tenant
from boxoffice.store.scoping import TENANT_PARAM, of_tenant

T = TypeVar("T")

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
_EVENTS: Any = select(*_EVENT_COLUMNS).where(of_tenant(Event)).order_by(Event.name, Event.id)
_ALL_INSTANCES: Any = (
    select(*_INSTANCE_COLUMNS).where(of_tenant(Instance)).order_by(Instance.start_utc, Instance.id)
)
_VERSION: Any = select(CatalogueVersion.version).where(of_tenant(CatalogueVersion))


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


@dataclass(frozen=True, slots=True)
class EventQuery:
    """What ``events`` lists: the filters of :func:`list_events` (hashable: the key of a
    remembered answer). Attribute filters as ``(name, value)`` pairs in the order given."""

    instance_start_from: date | datetime | None = None
    instance_start_to: date | datetime | None = None
    on_sale: bool | None = None
    name: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()
    instance_attributes: tuple[tuple[str, str], ...] = ()
    with_instances: bool = False


@dataclass(frozen=True, slots=True)
class InstanceQuery:
    """What ``instances`` lists: the filters of :func:`list_instances` (hashable)."""

    event_id: int | None = None
    start_from: date | datetime | None = None
    start_to: date | datetime | None = None
    event_name: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()
    event_attributes: tuple[tuple[str, str], ...] = ()


#: Answers remembered per programme (each a query's, in one mode, by one renderer), and
#: tenants' programmes kept per process; the oldest goes first when either is full. The
#: answers' events and instances together stay under a few times the programme's own (about
#: four whole lists), so that queries made up by a caller cannot fill a worker's memory: they
#: only make it render again.
MAX_ANSWERS = 256
MAX_PROGRAMMES = 64
ANSWER_BUDGET_TIMES = 4


class Programme:
    """One tenant's events and instances, as the rows were at :attr:`version` of
    ``catalogue_versions`` (decision 0123): built once per process and version, reused by every
    read while the version stays (each read checks it first: one statement), so a request
    builds no view and, for an answer already given, renders nothing either.

    Nothing in it depends on the time of the request: instances' ``isOnSale`` is the stored
    flag, not the sale window compared with now."""

    def __init__(
        self, version: int, defs: Definitions, event_rows: Sequence[Any], rows: Sequence[Any]
    ) -> None:
        self.version = version
        self.defs = defs
        self.events = tuple(event_rows)
        self.event_by_id = {row.id: row for row in event_rows}
        #: Every instance in start order, with the attributes stored on its row.
        self.instances = tuple(instance_view(row, defs) for row in rows)
        self.stored = {row.id: row.attributes or {} for row in rows}
        self.by_id = {view.id: view for view in self.instances}
        self.by_event: tuple[dict[int, list[InstanceView]], dict[int, list[InstanceView]]] = (
            {},
            {},
        )
        for view in self.instances:
            self.by_event[1].setdefault(view.event_id, []).append(view)
            if view.web_visible:
                self.by_event[0].setdefault(view.event_id, []).append(view)
        #: key -> (answer, weight: the events and instances it shows).
        self._answers: dict[tuple[Any, ...], tuple[Any, int]] = {}
        self._weight = 0
        self._budget = ANSWER_BUDGET_TIMES * (len(self.events) + len(self.instances) + 16)

    def of_event(self, event_id: int, full_access: bool) -> list[InstanceView]:
        """The event's instances the principal sees (web mode: web-visible ones), by start."""
        return self.by_event[full_access].get(event_id, [])

    @property
    def remembered(self) -> tuple[int, int, int]:
        """How many answers are remembered, their weight and the weight allowed."""
        return len(self._answers), self._weight, self._budget

    def answer(self, key: tuple[Any, ...], build: Callable[[], tuple[T, int]]) -> T:
        """The answer remembered under ``key``; else ``build``'s (the answer and its weight:
        how many events and instances it shows), remembered when the budget allows."""
        try:
            found: T = self._answers[key][0]
            return found
        except KeyError:
            pass
        value, weight = build()
        answers = self._answers
        while answers and (len(answers) >= MAX_ANSWERS or self._weight + weight > self._budget):
            self._weight -= answers.pop(next(iter(answers)))[1]
        if weight <= self._budget:
            answers[key] = (value, weight)
            self._weight += weight
        return value


async def programme(core: Core, tenant_id: int) -> Programme:
    """The tenant's programme as it is now: the one this process built, when the tenant's
    catalogue version is still the one it was built at (one statement); else built again
    (four: the version, then the attribute definitions and time zone, the events, the
    instances). The version is read first: rows read after it are as new as it or newer, so a
    programme is never older than its version (a newer one is built again on the next read)."""
    kept: dict[int, Programme] = core.cache.setdefault("programme", {})
    async with core.read(tenant_id) as uow:
        row = await uow.first(_VERSION)
        version = 0 if row is None else row.version
        found = kept.get(tenant_id)
        if found is not None and found.version == version:
            return found
        defs = await definitions(uow)
        event_rows = await uow.rows(_EVENTS)
        rows = await uow.rows(_ALL_INSTANCES)
    built = Programme(version, defs, event_rows, rows)
    kept.pop(tenant_id, None)
    if len(kept) >= MAX_PROGRAMMES:
        del kept[next(iter(kept))]
    kept[tenant_id] = built
    return built


def _as_is(views: T) -> T:
    return views


async def events(
    core: Core,
    principal: Principal,
    query: EventQuery,
    render: Callable[[tuple[EventView, ...]], T],
) -> T:
    """``render`` of the events ``query`` lists (see :func:`list_events`), remembered with the
    programme: asked again, in the same mode, while the catalogue is unchanged, the answer is
    the one ``render`` gave (give a module-level function, not a new one per call). One
    statement when the catalogue is unchanged."""
    found = await programme(core, principal.tenant_id)

    def build() -> tuple[T, int]:
        views = _events(found, principal.full_access, query)
        return render(views), len(views) + sum(len(v.instances or ()) for v in views)

    return found.answer(("events", principal.full_access, query, render), build)


def _events(found: Programme, full_access: bool, query: EventQuery) -> tuple[EventView, ...]:
    start = _bound(query.instance_start_from, end=False, inclusive_day=True)
    stop = _bound(query.instance_start_to, end=True, inclusive_day=True)
    # A date ``to`` bound is the next day's first moment, excluded; a datetime is included.
    stop_open = query.instance_start_to is not None and not isinstance(
        query.instance_start_to, datetime
    )
    wanted_attributes = dict(query.attributes)
    wanted_instance_attributes = dict(query.instance_attributes)
    windowed = start is not None or stop is not None or bool(wanted_instance_attributes)
    wanted_name = query.name.strip().casefold() if query.name is not None else None
    out: list[EventView] = []
    for row in found.events:
        instances = found.of_event(row.id, full_access)
        if not full_access and not instances:
            continue
        if query.on_sale is not None and row.on_sale != query.on_sale:
            continue
        if wanted_name is not None and row.name.strip().casefold() != wanted_name:
            continue
        if not _matches(row.attributes or {}, wanted_attributes):
            continue
        if windowed and not any(
            _in_window(i, start, stop, stop_open=stop_open)
            and _matches(found.stored[i.id], wanted_instance_attributes)
            for i in instances
        ):
            continue
        out.append(event_view(row, instances, found.defs, with_instances=query.with_instances))
    return tuple(out)


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
    :func:`events` without rendering."""
    query = EventQuery(
        instance_start_from=instance_start_from,
        instance_start_to=instance_start_to,
        on_sale=on_sale,
        name=name,
        attributes=tuple((attributes or {}).items()),
        instance_attributes=tuple((instance_attributes or {}).items()),
        with_instances=with_instances,
    )
    return await events(core, principal, query, _as_is)


def _event(
    found: Programme, full_access: bool, event_id: int, *, with_instances: bool = False
) -> EventView:
    row = found.event_by_id.get(event_id) if is_key(event_id) else None
    if row is None:
        raise NotFound("event", event_id)
    instances = found.of_event(event_id, full_access)
    if not full_access and not instances:
        raise NotFound("event", event_id)
    return event_view(row, instances, found.defs, with_instances=with_instances)


async def get_event(
    core: Core, principal: Principal, event_id: int, *, with_instances: bool = False
) -> EventView:
    """One event; ``NotFound`` for another tenant's, a missing one, or (Web mode) one without
    a web-visible instance. One statement when the catalogue is unchanged."""
    if not is_key(event_id):  # no row has it (nor could the database hold it)
        raise NotFound("event", event_id)
    found = await programme(core, principal.tenant_id)
    return _event(found, principal.full_access, event_id, with_instances=with_instances)


async def instances(
    core: Core,
    principal: Principal,
    query: InstanceQuery,
    render: Callable[[Programme, tuple[InstanceView, ...]], T],
) -> T:
    """``render`` of the instances ``query`` lists (see :func:`list_instances`), remembered
    with the programme as :func:`events` remembers its answers; ``render`` is given the
    programme too (the instances' events: :func:`event_of`). One statement when the catalogue
    is unchanged."""
    if query.event_id is not None and not is_key(query.event_id):
        raise NotFound("event", query.event_id)
    found = await programme(core, principal.tenant_id)

    def build() -> tuple[T, int]:
        views = _instances(found, principal.full_access, query)
        return render(found, views), len(views)

    return found.answer(("instances", principal.full_access, query, render), build)


def _instances(
    found: Programme, full_access: bool, query: InstanceQuery
) -> tuple[InstanceView, ...]:
    if query.event_id is None:
        candidates: Sequence[InstanceView] = (
            found.instances if full_access else [i for i in found.instances if i.web_visible]
        )
    else:  # an event the principal cannot see is not found
        _event(found, full_access, query.event_id, with_instances=False)
        candidates = found.of_event(query.event_id, full_access)
    start = _bound(query.start_from, end=False, inclusive_day=False)
    stop = _bound(query.start_to, end=True, inclusive_day=False)
    needle = query.event_name.strip().casefold() if query.event_name else None
    wanted = dict(query.attributes)
    wanted_event = dict(query.event_attributes)
    out: list[InstanceView] = []
    for view in candidates:
        row = found.event_by_id[view.event_id]
        if needle is not None and needle not in row.name.casefold():
            continue
        if not _matches(found.stored[view.id], wanted):
            continue
        if not _matches(row.attributes or {}, wanted_event):
            continue
        if not _in_window(view, start, stop, stop_open=True):
            continue
        out.append(view)
    return tuple(out)


def _instances_as_is(
    _found: Programme, views: tuple[InstanceView, ...]
) -> tuple[InstanceView, ...]:
    return views


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
    and event attributes given. :func:`instances` without rendering."""
    query = InstanceQuery(
        event_id=event_id,
        start_from=start_from,
        start_to=start_to,
        event_name=event_name,
        attributes=tuple((attributes or {}).items()),
        event_attributes=tuple((event_attributes or {}).items()),
    )
    return await instances(core, principal, query, _instances_as_is)


def _weighed_event(found: Programme, full_access: bool, event_id: int) -> tuple[EventView, int]:
    return _event(found, full_access, event_id), 1


async def events_of(
    core: Core, principal: Principal, instances: Sequence[InstanceView]
) -> dict[int, EventView]:
    """The events of instances the principal sees, by id, without their instances (an
    instance's ``$expand=event``). One statement when the catalogue is unchanged."""
    found = await programme(core, principal.tenant_id)
    full = principal.full_access
    out: dict[int, EventView] = {}
    for key in dict.fromkeys(view.event_id for view in instances):
        out[key] = found.answer(("event", full, key), partial(_weighed_event, found, full, key))
    return out


async def get_instance(core: Core, principal: Principal, instance_id: int) -> InstanceView:
    """One instance; ``NotFound`` for another tenant's, a missing one, or (Web mode) one that
    is not web-visible. One statement when the catalogue is unchanged."""
    if not is_key(instance_id):
        raise NotFound("instance", instance_id)
    found = await programme(core, principal.tenant_id)
    view = found.by_id.get(instance_id)
    if view is None or not (principal.full_access or view.web_visible):
        raise NotFound("instance", instance_id)
    return view
