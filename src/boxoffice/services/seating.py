"""Seating: venues, seating plans (a tree of areas) and their seats.

Plans are public (a venue website draws them); an instance's plan is found through the
instance, which Web mode must see (web-visible) like any other read of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Boolean, and_, bindparam, select

from boxoffice.domain.errors import NotFound
from boxoffice.domain.ids import is_key
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import AreaView, PlanView, SeatView, VenueView
from boxoffice.services.core import Core
from boxoffice.store.models import Instance, PlanArea, Seat, SeatingPlan, Venue
from boxoffice.store.scoping import of_tenant

_VENUES: Any = (
    select(Venue.id, Venue.name, Venue.address).where(of_tenant(Venue)).order_by(Venue.name)
)
_VENUE: Any = select(Venue.id, Venue.name, Venue.address).where(
    of_tenant(Venue), Venue.id == bindparam("venue_id")
)
_PLAN_COLUMNS = (
    SeatingPlan.id,
    SeatingPlan.name,
    SeatingPlan.venue_id,
    SeatingPlan.background_image_url,
)
_PLANS: Any = select(*_PLAN_COLUMNS).where(of_tenant(SeatingPlan)).order_by(SeatingPlan.name)
_PLAN: Any = select(*_PLAN_COLUMNS).where(
    of_tenant(SeatingPlan), SeatingPlan.id == bindparam("plan_id")
)
_INSTANCE_PLAN: Any = (
    select(*_PLAN_COLUMNS)
    .join(
        Instance,
        and_(Instance.tenant_id == SeatingPlan.tenant_id, Instance.plan_id == SeatingPlan.id),
    )
    .where(
        of_tenant(SeatingPlan, Instance),
        Instance.id == bindparam("instance_id"),
        Instance.web_visible | bindparam("all_instances", type_=Boolean),
    )
)
_AREA_COLUMNS = (
    PlanArea.id,
    PlanArea.plan_id,
    PlanArea.parent_id,
    PlanArea.name,
    PlanArea.kind,
    PlanArea.capacity,
    PlanArea.band_id,
)
_ALL_AREAS: Any = (
    select(*_AREA_COLUMNS).where(of_tenant(PlanArea)).order_by(PlanArea.position, PlanArea.id)
)
_AREAS: Any = (
    select(*_AREA_COLUMNS)
    .where(of_tenant(PlanArea), PlanArea.plan_id == bindparam("plan_id"))
    .order_by(PlanArea.position, PlanArea.id)
)
_SEAT_COLUMNS = (
    Seat.id,
    Seat.area_id,
    Seat.row,
    Seat.number,
    Seat.name,
    Seat.band_id,
    Seat.wheelchair,
    Seat.special,
    Seat.x,
    Seat.y,
)
_ALL_SEATS: Any = select(*_SEAT_COLUMNS).where(of_tenant(Seat)).order_by(Seat.position, Seat.id)
_SEATS: Any = (
    select(*_SEAT_COLUMNS)
    .join(PlanArea, and_(PlanArea.tenant_id == Seat.tenant_id, PlanArea.id == Seat.area_id))
    .where(of_tenant(Seat, PlanArea), PlanArea.plan_id == bindparam("plan_id"))
    .order_by(Seat.position, Seat.id)
)


def _venue(row: Any) -> VenueView:
    return VenueView(id=row.id, name=row.name, address=row.address)


def _plans(
    plan_rows: Sequence[Any], area_rows: Sequence[Any], seat_rows: Sequence[Any]
) -> tuple[PlanView, ...]:
    seats: dict[int, list[SeatView]] = {}
    for s in seat_rows:
        seats.setdefault(s.area_id, []).append(
            SeatView(
                id=s.id,
                area_id=s.area_id,
                row=s.row,
                number=s.number,
                name=s.name,
                band_id=s.band_id,
                wheelchair=s.wheelchair,
                special=s.special,
                x=s.x,
                y=s.y,
            )
        )
    children: dict[tuple[int, int | None], list[Any]] = {}
    for a in area_rows:
        children.setdefault((a.plan_id, a.parent_id), []).append(a)

    def area(row: Any, depth: int) -> AreaView:
        subs = tuple(area(c, depth + 1) for c in children.get((row.plan_id, row.id), ()))
        own = tuple(seats.get(row.id, ()))
        capacity = (
            sum(s.capacity for s in subs)
            if row.kind == "group"
            else len(own)
            if row.kind == "reserved"
            else row.capacity
        )
        return AreaView(
            id=row.id,
            name=row.name,
            kind=row.kind,
            capacity=capacity,
            band_id=row.band_id,
            areas=subs,
            seats=own,
        )

    out = []
    for p in plan_rows:
        top = tuple(area(a, 0) for a in children.get((p.id, None), ()))
        kind = top[0].kind if len(top) == 1 else "group"
        out.append(
            PlanView(
                id=p.id,
                name=p.name,
                venue_id=p.venue_id,
                background_image_url=p.background_image_url,
                kind=kind,
                areas=top,
            )
        )
    return tuple(out)


async def list_venues(core: Core, principal: Principal) -> tuple[VenueView, ...]:
    async with core.read(principal.tenant_id) as uow:
        rows = await uow.rows(_VENUES)
    return tuple(_venue(r) for r in rows)


async def get_venue(core: Core, principal: Principal, venue_id: int) -> VenueView:
    if not is_key(venue_id):  # no row has it (nor could the database hold it)
        raise NotFound("venue", venue_id)
    async with core.read(principal.tenant_id) as uow:
        row = await uow.first(_VENUE, {"venue_id": venue_id})
    if row is None:
        raise NotFound("venue", venue_id)
    return _venue(row)


async def list_plans(core: Core, principal: Principal) -> tuple[PlanView, ...]:
    """Every plan with its areas and seats (three statements)."""
    async with core.read(principal.tenant_id) as uow:
        plans = await uow.rows(_PLANS)
        areas = await uow.rows(_ALL_AREAS)
        seats = await uow.rows(_ALL_SEATS)
    return _plans(plans, areas, seats)


async def get_plan(core: Core, principal: Principal, plan_id: int) -> PlanView:
    if not is_key(plan_id):
        raise NotFound("plan", plan_id)
    async with core.read(principal.tenant_id) as uow:
        plan = await uow.first(_PLAN, {"plan_id": plan_id})
        if plan is None:
            raise NotFound("plan", plan_id)
        areas = await uow.rows(_AREAS, {"plan_id": plan_id})
        seats = await uow.rows(_SEATS, {"plan_id": plan_id})
    return _plans([plan], areas, seats)[0]


async def instance_plan(core: Core, principal: Principal, instance_id: int) -> PlanView:
    """The plan of an instance the principal sees (``NotFound`` otherwise)."""
    if not is_key(instance_id):
        raise NotFound("instance", instance_id)
    async with core.read(principal.tenant_id) as uow:
        plan = await uow.first(
            _INSTANCE_PLAN, {"instance_id": instance_id, "all_instances": principal.full_access}
        )
        if plan is None:
            raise NotFound("instance", instance_id)
        areas = await uow.rows(_AREAS, {"plan_id": plan.id})
        seats = await uow.rows(_SEATS, {"plan_id": plan.id})
    return _plans([plan], areas, seats)[0]
