"""Inventory: what is left of each instance, per seat and per area (decisions 0120, 0121).

Each instance has a row per seat of its plan (``instance_seats``: its state, the basket holding
it, its lock type, its band) and a row per area of its plan (``instance_areas``: the area's
capacity and how many of its places are held, sold, locked or reserved, and how many wheelchair
and special seats are still available), and a row per band of each reserved area
(``instance_area_bands``: its seats and how many are available; an unreserved area has one
band, whose places are the area's). All are created with the instance
(:func:`refresh_instance`).

Every change is a conditional ``UPDATE`` whose ``WHERE`` says what the row must be for the
change to happen (``state = 'available'``; ``capacity - held - sold - locked - reserved >= n``),
followed, when it changed a row, by the ``UPDATE`` of the area's counts in the same
transaction (and, when a seat becomes available or stops being so, of its band's count): two baskets racing for a seat both send the first ``UPDATE``; PostgreSQL makes the
second wait for the first's row lock and re-checks its ``WHERE`` once the first commits (it
then changes nothing), SQLite lets one writer at a time. The loser sees a row count of 0 and
the function answers False; nothing was changed. The status of an instance is then one
statement over its areas' and bands' counts, whatever the number of seats.

Each change locks its seat row, then its area's row (then its band's), until commit: a transaction that changes
several seats one call at a time can wait in a cycle with another (X: seat 5 and the area;
Y: seat 7, waiting for the area; X then waits for seat 7). Several seats at once need every
seat row first (seat-id order), then the areas' counts (area-id order), then the bands' counts
((area, band) order): decision 0120. :func:`hold_seats`, :func:`release_seats` and
:func:`sell_seats` do so (a ``SELECT ... FOR UPDATE`` of the seats in seat-id order, one
``UPDATE`` of them, then one ``UPDATE`` per area in area-id order, then one per area and band
whose available seats change). A unit of work that changes several instances takes them in instance-id
order, each instance's seats before its unreserved areas' places (in area-id order), and stock
after every instance (decision 0124): every writer locks in the same order, so none waits in a
cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from boxoffice.domain.errors import InvalidInput, NotFound
from boxoffice.domain.ids import is_key
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import (
    AreaStatusView,
    BandStatusView,
    LockQuantityView,
    SeatStateView,
)
from boxoffice.services.core import Core
from boxoffice.store.models import Instance as InstanceRow
from boxoffice.store.models import (
    InstanceArea,
    InstanceAreaBand,
    InstanceAreaLock,
    InstanceSeat,
    LockType,
    PlanArea,
    PriceBand,
    Seat,
    SeatingPlan,
)
from boxoffice.store.scoping import TENANT_PARAM, of_tenant
from boxoffice.store.uow import UnitOfWork

AVAILABLE = "available"
HELD = "held"
SOLD = "sold"
LOCKED = "locked"
RESERVED = "reserved"
SEAT_STATES = (AVAILABLE, HELD, SOLD, LOCKED, RESERVED)

_IA = cast(Table, InstanceArea.__table__)
_IS = cast(Table, InstanceSeat.__table__)
_IB = cast(Table, InstanceAreaBand.__table__)
_LOCKS = cast(Table, InstanceAreaLock.__table__)

# --- reads ------------------------------------------------------------------------------------

#: A reserved area's seats of each band (all of them, and the available ones), as kept (a band
#: whose seats have all left the area keeps a row of 0: not a band of the area).
_BAND_SEATS: Any = (
    select(
        InstanceAreaBand.area_id,
        InstanceAreaBand.band_id,
        InstanceAreaBand.capacity,
        InstanceAreaBand.available,
    )
    .where(
        of_tenant(InstanceAreaBand),
        InstanceAreaBand.instance_id == bindparam("instance_id"),
        InstanceAreaBand.capacity > 0,
    )
    .subquery("band_seats")
)
#: The tenant's bands: the name and order of a reserved area's seats' bands (after counting
#: them) or of an unreserved area's band.
_BANDS: Any = (
    select(PriceBand.id, PriceBand.name, PriceBand.position)
    .where(of_tenant(PriceBand))
    .subquery("bands")
)
#: The areas of an instance's plan with their counts, one row per area and band (a reserved
#: area's seat bands; an unreserved area's band; none for a group): one statement, one
#: snapshot of the counts, whatever the seats.
_STATUS: Any = (
    select(
        PlanArea.id,
        PlanArea.parent_id,
        PlanArea.name,
        PlanArea.kind,
        InstanceArea.capacity,
        InstanceArea.held,
        InstanceArea.sold,
        InstanceArea.locked,
        InstanceArea.reserved,
        InstanceArea.wheelchair_available,
        InstanceArea.special_available,
        SeatingPlan.id.label("plan_id"),
        SeatingPlan.name.label("plan_name"),
        _BANDS.c.id.label("band_id"),
        _BANDS.c.name.label("band_name"),
        _BANDS.c.position.label("band_position"),
        _BAND_SEATS.c.capacity.label("band_capacity"),
        _BAND_SEATS.c.available.label("band_available"),
    )
    .select_from(InstanceRow)
    .join(
        SeatingPlan,
        and_(SeatingPlan.tenant_id == InstanceRow.tenant_id, SeatingPlan.id == InstanceRow.plan_id),
    )
    .join(
        InstanceArea,
        and_(
            InstanceArea.tenant_id == InstanceRow.tenant_id,
            InstanceArea.instance_id == InstanceRow.id,
        ),
    )
    .join(
        PlanArea,
        and_(PlanArea.tenant_id == InstanceArea.tenant_id, PlanArea.id == InstanceArea.area_id),
    )
    .outerjoin(_BAND_SEATS, _BAND_SEATS.c.area_id == PlanArea.id)
    .outerjoin(_BANDS, _BANDS.c.id == func.coalesce(_BAND_SEATS.c.band_id, PlanArea.band_id))
    .where(
        of_tenant(InstanceRow, SeatingPlan, InstanceArea, PlanArea),
        InstanceRow.id == bindparam("instance_id"),
        InstanceRow.web_visible | bindparam("all_instances", type_=Boolean),
    )
    .order_by(PlanArea.position, PlanArea.id)
)

_LOCK_INFO: Any = (
    select(
        InstanceAreaLock.area_id,
        InstanceAreaLock.lock_type_id,
        LockType.name,
        InstanceAreaLock.quantity,
        InstanceAreaLock.special,
    )
    .join(
        LockType,
        and_(
            LockType.tenant_id == InstanceAreaLock.tenant_id,
            LockType.id == InstanceAreaLock.lock_type_id,
        ),
    )
    .where(
        of_tenant(InstanceAreaLock, LockType),
        InstanceAreaLock.instance_id == bindparam("instance_id"),
        InstanceAreaLock.quantity > 0,
    )
    .order_by(InstanceAreaLock.area_id, LockType.name)
)

_SEAT_STATES: Any = (
    select(InstanceSeat.seat_id, InstanceSeat.state, InstanceSeat.lock_type_id, InstanceSeat.holder)
    .join(
        InstanceRow,
        and_(
            InstanceRow.tenant_id == InstanceSeat.tenant_id,
            InstanceRow.id == InstanceSeat.instance_id,
        ),
    )
    .where(
        of_tenant(InstanceSeat, InstanceRow),
        InstanceSeat.instance_id == bindparam("instance_id"),
        InstanceRow.web_visible | bindparam("all_instances", type_=Boolean),
    )
    .order_by(InstanceSeat.seat_id)
)


#: One band's places: name, position, capacity, available.
_Band = list[Any]


def _area_bands(rows: Sequence[Any]) -> tuple[list[Any], dict[int, dict[int, _Band]]]:
    """The areas (one row each, in order) and each leaf area's places per band: a reserved
    area's seats by band, an unreserved area's places in its band."""
    areas: list[Any] = []
    bands: dict[int, dict[int, _Band]] = {}
    for row in rows:
        of_area = bands.get(row.id)
        if of_area is None:
            areas.append(row)
            of_area = bands[row.id] = {}
        if row.band_id is None or row.kind == "group":
            continue
        if row.kind == "reserved":
            capacity, available = row.band_capacity or 0, int(row.band_available or 0)
        else:
            capacity = row.capacity
            available = capacity - row.held - row.sold - row.locked - row.reserved
        of_area[row.band_id] = [row.band_name, row.band_position, capacity, available]
    return areas, bands


def _add_bands(into: dict[int, _Band], more: dict[int, _Band]) -> None:
    for key, (name, position, capacity, available) in more.items():
        entry = into.setdefault(key, [name, position, 0, 0])
        entry[2] += capacity
        entry[3] += available


def _status_tree(
    rows: Sequence[Any],
    locks: Sequence[Any],
    *,
    with_locks: bool,
    with_children: bool,
    area_id: int | None,
) -> AreaStatusView:
    areas, bands_of_area = _area_bands(rows)
    children: dict[int | None, list[Any]] = {}
    for row in areas:
        children.setdefault(row.parent_id, []).append(row)
    locks_by_area: dict[int, list[Any]] = {}
    for lock in locks:
        locks_by_area.setdefault(lock.area_id, []).append(lock)

    def totals(
        row: Any,
    ) -> tuple[list[int], dict[tuple[int, str], list[int]], dict[int, _Band]]:
        # capacity, held, sold, locked, reserved, wheelchair, special; locks by type; bands
        if row.kind != "group":
            sums = [
                row.capacity,
                row.held,
                row.sold,
                row.locked,
                row.reserved,
                row.wheelchair_available,
                row.special_available,
            ]
            by_type = {
                (lk.lock_type_id, lk.name): [lk.quantity, lk.special]
                for lk in locks_by_area.get(row.id, ())
            }
            return sums, by_type, bands_of_area.get(row.id, {})
        sums = [0] * 7
        by_type = {}
        by_band: dict[int, _Band] = {}
        for child in children.get(row.id, ()):
            child_sums, child_types, child_bands = totals(child)
            sums = [a + b for a, b in zip(sums, child_sums, strict=True)]
            for key, (quantity, special) in child_types.items():
                entry = by_type.setdefault(key, [0, 0])
                entry[0] += quantity
                entry[1] += special
            _add_bands(by_band, child_bands)
        return sums, by_type, by_band

    def view(area_key: int, name: str, parts: Sequence[Any], depth: int) -> AreaStatusView:
        sums = [0] * 7
        by_type: dict[tuple[int, str], list[int]] = {}
        by_band: dict[int, _Band] = {}
        for part in parts:
            part_sums, part_types, part_bands = totals(part)
            sums = [a + b for a, b in zip(sums, part_sums, strict=True)]
            for key, (quantity, special) in part_types.items():
                entry = by_type.setdefault(key, [0, 0])
                entry[0] += quantity
                entry[1] += special
            _add_bands(by_band, part_bands)
        capacity, held, sold, locked, reserved, wheelchair, special = sums
        available = capacity - held - sold - locked - reserved
        child_views: tuple[AreaStatusView, ...] = ()
        if with_children and depth < 16:
            subs: list[Any] = []
            for part in parts:
                subs.extend(children.get(part.id, ()) if part.kind == "group" else ())
            if len(parts) > 1:
                subs = list(parts)
            child_views = tuple(view(s.id, s.name, [s], depth + 1) for s in subs)
        return AreaStatusView(
            area_id=area_key,
            name=name,
            capacity=capacity,
            available=available,
            wheelchair_available=wheelchair,
            special_available=special,
            in_basket=0,
            in_other_basket=held,
            unavailable=capacity - available,
            sold=sold,
            locked=locked,
            reserved=reserved,
            lock_info_available=tuple(
                LockQuantityView(quantity=q, lock_type_id=key[0], lock_type_name=key[1])
                for key, (q, _s) in sorted(by_type.items(), key=lambda kv: kv[0][1])
                if q
            )
            if with_locks
            else (),
            lock_info_special_available=tuple(
                LockQuantityView(quantity=s, lock_type_id=key[0], lock_type_name=key[1])
                for key, (_q, s) in sorted(by_type.items(), key=lambda kv: kv[0][1])
                if s
            )
            if with_locks
            else (),
            areas=child_views,
            bands=tuple(
                BandStatusView(band_id=key, name=b[0], capacity=b[2], available=b[3])
                for key, b in sorted(by_band.items(), key=lambda kv: (kv[1][1], kv[0]))
            ),
        )

    if area_id is not None:
        area = next((r for r in areas if r.id == area_id), None)
        if area is None:
            raise NotFound("area", area_id)
        return view(area.id, area.name, [area], 0)
    return view(areas[0].plan_id, areas[0].plan_name, children.get(None, []), 0)


async def instance_status(
    core: Core,
    principal: Principal,
    instance_id: int,
    *,
    area_id: int | None = None,
    include_lock_information: bool = False,
    include_child_plans: bool = False,
) -> AreaStatusView:
    """The counts of an instance's plan (or of one of its areas, with ``area_id``), and its
    places per price band. The whole plan's status carries the plan's id and name (as
    ``area_id`` and ``name``). One statement (the areas' and their bands' counts, one
    snapshot); two with the lock information. ``NotFound``: an instance the principal cannot
    see, or an area that is not in its plan."""
    if not is_key(instance_id):  # no row has it (nor could the database hold it)
        raise NotFound("instance", instance_id)
    async with core.read(principal.tenant_id) as uow:
        rows = await uow.rows(
            _STATUS, {"instance_id": instance_id, "all_instances": principal.full_access}
        )
        if not rows:
            raise NotFound("instance", instance_id)
        locks: Sequence[Any] = ()
        if include_lock_information:
            locks = await uow.rows(_LOCK_INFO, {"instance_id": instance_id})
    return _status_tree(
        rows,
        locks,
        with_locks=include_lock_information,
        with_children=include_child_plans,
        area_id=area_id,
    )


async def seat_states(
    core: Core, principal: Principal, instance_id: int
) -> tuple[SeatStateView, ...]:
    """Every seat of the instance with its state, in seat order (none for an unreserved plan).
    Web mode sees no holder. ``NotFound``: an instance the principal cannot see."""
    if not is_key(instance_id):
        raise NotFound("instance", instance_id)
    async with core.read(principal.tenant_id) as uow:
        rows = await uow.rows(
            _SEAT_STATES, {"instance_id": instance_id, "all_instances": principal.full_access}
        )
        if not rows:
            visible = await uow.rows(
                _STATUS, {"instance_id": instance_id, "all_instances": principal.full_access}
            )
            if not visible:
                raise NotFound("instance", instance_id)
    return tuple(
        SeatStateView(
            seat_id=r.seat_id,
            state=r.state,
            lock_type_id=r.lock_type_id,
            holder=r.holder if principal.full_access else None,
        )
        for r in rows
    )


# --- creating and refreshing an instance's inventory -----------------------------------------


_LOCK_AREAS: Any = (
    select(_IA.c.area_id)
    .where(
        _IA.c.tenant_id == bindparam(TENANT_PARAM), _IA.c.instance_id == bindparam("instance_id")
    )
    .order_by(_IA.c.area_id)
    .with_for_update()
)


async def refresh_instance(uow: UnitOfWork, instance_id: int, plan_id: int) -> None:
    """Give an instance its inventory: a row per area and per seat of its plan that it lacks
    (a new instance, or seats added to its plan since) and a row per band of a reserved area's
    seats, each seat's band as its plan's seat has it, then its areas' and bands' counts again
    from its seats (reserved areas) and the plan (unreserved capacities). Never drops a row: a
    seat's state and an area's held, sold and locked places stay as they are. Ten statements."""
    tenant = uow.tenant_id
    assert tenant is not None
    session = uow.session
    have_area = (
        select(_IA.c.area_id)
        .where(_IA.c.tenant_id == tenant, _IA.c.instance_id == instance_id)
        .scalar_subquery()
    )
    areas = select(
        literal(tenant),
        literal(instance_id),
        PlanArea.id,
        PlanArea.kind == "reserved",
        case((PlanArea.kind == "unreserved", PlanArea.capacity), else_=0),
    ).where(
        PlanArea.tenant_id == tenant,
        PlanArea.plan_id == plan_id,
        PlanArea.id.not_in(have_area),
    )
    await session.execute(
        insert(_IA).from_select(
            ["tenant_id", "instance_id", "area_id", "seated", "capacity"], areas
        )
    )
    # Every (area, band) of the plan's seats has its row before any seat names it.
    plan_seats = and_(
        Seat.tenant_id == tenant,
        PlanArea.tenant_id == tenant,
        PlanArea.plan_id == plan_id,
    )
    have_band = (
        select(_IB.c.band_id)
        .where(
            _IB.c.tenant_id == tenant,
            _IB.c.instance_id == instance_id,
            _IB.c.area_id == Seat.area_id,
            _IB.c.band_id == Seat.band_id,
        )
        .exists()
    )
    bands = (
        select(literal(tenant), literal(instance_id), Seat.area_id, Seat.band_id)
        .join(PlanArea, and_(PlanArea.tenant_id == Seat.tenant_id, PlanArea.id == Seat.area_id))
        .where(plan_seats, ~have_band)
        .distinct()
    )
    await session.execute(
        insert(_IB).from_select(["tenant_id", "instance_id", "area_id", "band_id"], bands)
    )
    have_seat = (
        select(_IS.c.seat_id)
        .where(_IS.c.tenant_id == tenant, _IS.c.instance_id == instance_id)
        .scalar_subquery()
    )
    seats = (
        select(
            literal(tenant),
            literal(instance_id),
            Seat.id,
            Seat.area_id,
            literal(AVAILABLE),
            Seat.band_id,
            Seat.wheelchair,
            Seat.special,
        )
        .join(PlanArea, and_(PlanArea.tenant_id == Seat.tenant_id, PlanArea.id == Seat.area_id))
        .where(plan_seats, Seat.id.not_in(have_seat))
    )
    await session.execute(
        insert(_IS).from_select(
            [
                "tenant_id",
                "instance_id",
                "seat_id",
                "area_id",
                "state",
                "band_id",
                "wheelchair",
                "special",
            ],
            seats,
        )
    )
    # A seat whose band the plan has changed since takes the new one (counted below). Before
    # the areas are locked: the seats a basket may hold while waiting for an area first.
    plan_band = (
        select(Seat.band_id)
        .where(Seat.tenant_id == _IS.c.tenant_id, Seat.id == _IS.c.seat_id)
        .scalar_subquery()
    )
    await session.execute(
        update(_IS)
        .where(
            _IS.c.tenant_id == tenant, _IS.c.instance_id == instance_id, _IS.c.band_id != plan_band
        )
        .values(band_id=plan_band)
    )

    # The instance's area rows first, locked (PostgreSQL; SQLite has one writer): a basket
    # that has changed a seat and its area's count commits before the counts below are read,
    # so they include its change rather than writing a count from before it over it; one
    # that has not yet reached its area waits and adds its change to the new count.
    await uow.rows(_LOCK_AREAS, {"instance_id": instance_id})

    def seat_count(*conditions: Any) -> Any:
        return (
            select(func.count())
            .select_from(_IS)
            .where(
                _IS.c.tenant_id == _IA.c.tenant_id,
                _IS.c.instance_id == _IA.c.instance_id,
                _IS.c.area_id == _IA.c.area_id,
                *conditions,
            )
            .scalar_subquery()
        )

    await session.execute(
        update(_IA)
        .where(_IA.c.tenant_id == tenant, _IA.c.instance_id == instance_id, _IA.c.seated)
        .values(
            capacity=seat_count(),
            held=seat_count(_IS.c.state == HELD),
            sold=seat_count(_IS.c.state == SOLD),
            locked=seat_count(_IS.c.state == LOCKED),
            reserved=seat_count(_IS.c.state == RESERVED),
            wheelchair_available=seat_count(_IS.c.state == AVAILABLE, _IS.c.wheelchair),
            special_available=seat_count(_IS.c.state == AVAILABLE, _IS.c.special),
        )
    )
    plan_capacity = (
        select(PlanArea.capacity)
        .where(PlanArea.tenant_id == _IA.c.tenant_id, PlanArea.id == _IA.c.area_id)
        .scalar_subquery()
    )
    await session.execute(
        update(_IA)
        .where(
            _IA.c.tenant_id == tenant,
            _IA.c.instance_id == instance_id,
            _IA.c.seated.is_(False),
            _IA.c.area_id.in_(
                select(PlanArea.id).where(
                    PlanArea.tenant_id == tenant, PlanArea.kind == "unreserved"
                )
            ),
        )
        .values(capacity=plan_capacity)
    )

    # The bands' counts, again from their seats (after the areas': the lock order of a move).
    def band_count(*conditions: Any) -> Any:
        return (
            select(func.count())
            .select_from(_IS)
            .where(
                _IS.c.tenant_id == _IB.c.tenant_id,
                _IS.c.instance_id == _IB.c.instance_id,
                _IS.c.area_id == _IB.c.area_id,
                _IS.c.band_id == _IB.c.band_id,
                *conditions,
            )
            .scalar_subquery()
        )

    await session.execute(
        update(_IB)
        .where(_IB.c.tenant_id == tenant, _IB.c.instance_id == instance_id)
        .values(capacity=band_count(), available=band_count(_IS.c.state == AVAILABLE))
    )
    # The lock counts of reserved areas, again from their seats.
    await session.execute(
        _LOCKS.delete().where(
            _LOCKS.c.tenant_id == tenant,
            _LOCKS.c.instance_id == instance_id,
            _LOCKS.c.area_id.in_(
                select(_IA.c.area_id).where(
                    _IA.c.tenant_id == tenant, _IA.c.instance_id == instance_id, _IA.c.seated
                )
            ),
        )
    )
    locked = (
        select(
            _IS.c.tenant_id,
            _IS.c.instance_id,
            _IS.c.area_id,
            _IS.c.lock_type_id,
            func.count(),
            func.sum(case((_IS.c.special, 1), else_=0)),
        )
        .where(
            _IS.c.tenant_id == tenant,
            _IS.c.instance_id == instance_id,
            _IS.c.state == LOCKED,
        )
        .group_by(_IS.c.tenant_id, _IS.c.instance_id, _IS.c.area_id, _IS.c.lock_type_id)
    )
    await session.execute(
        insert(_LOCKS).from_select(
            ["tenant_id", "instance_id", "area_id", "lock_type_id", "quantity", "special"],
            locked,
        )
    )


# --- changes, inside the caller's writing unit of work (the basket's) ----------------------

_COUNT_OF = {HELD: "held", SOLD: "sold", LOCKED: "locked", RESERVED: "reserved"}


def _tenant(uow: UnitOfWork) -> int:
    if type(uow.tenant_id) is not int:
        raise InvalidInput("tenant", "a unit of work of one tenant")
    return uow.tenant_id


async def _move_seat(
    uow: UnitOfWork,
    instance_id: int,
    seat_id: int,
    *,
    from_state: str,
    to_state: str,
    holder: int | None = None,
    lock_type_id: int | None = None,
    match_holder: int | None = None,
    match_lock_type: int | None = None,
) -> bool:
    tenant = _tenant(uow)
    if not _keys(instance_id, seat_id):  # no seat has them
        return False
    conditions = [
        _IS.c.tenant_id == tenant,
        _IS.c.instance_id == instance_id,
        _IS.c.seat_id == seat_id,
        _IS.c.state == from_state,
    ]
    if match_holder is not None:
        conditions.append(_IS.c.holder == match_holder)
    if match_lock_type is not None:
        conditions.append(_IS.c.lock_type_id == match_lock_type)
    result = await uow.session.execute(
        update(_IS)
        .where(*conditions)
        .values(state=to_state, holder=holder, lock_type_id=lock_type_id)
        .returning(_IS.c.area_id, _IS.c.band_id, _IS.c.wheelchair, _IS.c.special)
    )
    changed = result.first()
    if changed is None:
        return False
    area_id, band_id, wheelchair, special = changed
    values: dict[str, Any] = {}
    if from_state in _COUNT_OF:
        column = _COUNT_OF[from_state]
        values[column] = _IA.c[column] - 1
    if to_state in _COUNT_OF:
        column = _COUNT_OF[to_state]
        values[column] = _IA.c[column] + 1
    step = 1 if to_state == AVAILABLE else -1 if from_state == AVAILABLE else 0
    if step and wheelchair:
        values["wheelchair_available"] = _IA.c.wheelchair_available + step
    if step and special:
        values["special_available"] = _IA.c.special_available + step
    await uow.session.execute(
        update(_IA)
        .where(
            _IA.c.tenant_id == tenant,
            _IA.c.instance_id == instance_id,
            _IA.c.area_id == area_id,
        )
        .values(**values)
    )
    if step:
        await _count_band(uow, instance_id, area_id, band_id, step)
    if to_state == LOCKED and lock_type_id is not None:
        await _add_lock(uow, instance_id, area_id, lock_type_id, 1, 1 if special else 0)
    if from_state == LOCKED and match_lock_type is not None:
        await _add_lock(uow, instance_id, area_id, match_lock_type, -1, -1 if special else 0)
    return True


async def _count_band(
    uow: UnitOfWork, instance_id: int, area_id: int, band_id: int, step: int
) -> None:
    """``step`` more (or fewer) available seats of a band of an area: after the area's count,
    in the same transaction (the seat rows' lock order: seats, areas, bands)."""
    await uow.session.execute(
        update(_IB)
        .where(
            _IB.c.tenant_id == _tenant(uow),
            _IB.c.instance_id == instance_id,
            _IB.c.area_id == area_id,
            _IB.c.band_id == band_id,
        )
        .values(available=_IB.c.available + step)
    )


_LOCK_TYPE: Any = select(LockType.id).where(
    LockType.tenant_id == bindparam(TENANT_PARAM), LockType.id == bindparam("lock_type_id")
)
_SEAT_LOCK_TYPE: Any = select(InstanceSeat.lock_type_id).where(
    InstanceSeat.tenant_id == bindparam(TENANT_PARAM),
    InstanceSeat.instance_id == bindparam("instance_id"),
    InstanceSeat.seat_id == bindparam("seat_id"),
    InstanceSeat.state == LOCKED,
)


async def _check_lock_type(uow: UnitOfWork, lock_type_id: int) -> None:
    """``InvalidInput`` unless the tenant has that lock type (before anything changes)."""
    found = is_key(lock_type_id) and await uow.first(_LOCK_TYPE, {"lock_type_id": lock_type_id})
    if not found:
        raise InvalidInput("lock_type_id", "an unknown lock type")


async def _add_lock(
    uow: UnitOfWork, instance_id: int, area_id: int, lock_type_id: int, quantity: int, special: int
) -> None:
    tenant = _tenant(uow)
    maker = pg_insert if uow.dialect == "postgresql" else sqlite_insert
    stmt = maker(_LOCKS).values(
        tenant_id=tenant,
        instance_id=instance_id,
        area_id=area_id,
        lock_type_id=lock_type_id,
        quantity=quantity,
        special=special,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "instance_id", "area_id", "lock_type_id"],
        set_={
            "quantity": _LOCKS.c.quantity + stmt.excluded.quantity,
            "special": _LOCKS.c.special + stmt.excluded.special,
        },
    )
    await uow.session.execute(stmt)


async def hold_seat(uow: UnitOfWork, instance_id: int, seat_id: int, holder: int) -> bool:
    """Hold an available seat for ``holder`` (a basket); False when it is not available."""
    return await _move_seat(
        uow, instance_id, seat_id, from_state=AVAILABLE, to_state=HELD, holder=holder
    )


async def release_seat(uow: UnitOfWork, instance_id: int, seat_id: int, holder: int) -> bool:
    """Make a seat ``holder`` holds available again; False unless ``holder`` holds it."""
    return await _move_seat(
        uow, instance_id, seat_id, from_state=HELD, to_state=AVAILABLE, match_holder=holder
    )


async def sell_seat(uow: UnitOfWork, instance_id: int, seat_id: int, holder: int) -> bool:
    """A held seat becomes sold (``holder`` kept: the basket that bought it); False unless
    ``holder`` holds it."""
    return await _move_seat(
        uow,
        instance_id,
        seat_id,
        from_state=HELD,
        to_state=SOLD,
        holder=holder,
        match_holder=holder,
    )


async def lock_seat(uow: UnitOfWork, instance_id: int, seat_id: int, lock_type_id: int) -> bool:
    """Lock an available seat with a lock type; False when it is not available
    (``InvalidInput`` for a lock type the tenant lacks)."""
    await _check_lock_type(uow, lock_type_id)
    return await _move_seat(
        uow,
        instance_id,
        seat_id,
        from_state=AVAILABLE,
        to_state=LOCKED,
        lock_type_id=lock_type_id,
    )


async def unlock_seat(uow: UnitOfWork, instance_id: int, seat_id: int) -> bool:
    """Make a locked seat available again; False when it is not locked."""
    tenant = _tenant(uow)
    if not _keys(instance_id, seat_id):  # no seat has them
        return False
    found = await uow.first(_SEAT_LOCK_TYPE, {"instance_id": instance_id, "seat_id": seat_id})
    if found is None or found.lock_type_id is None:
        return False
    assert tenant
    return await _move_seat(
        uow,
        instance_id,
        seat_id,
        from_state=LOCKED,
        to_state=AVAILABLE,
        match_lock_type=found.lock_type_id,
    )


async def reserve_seat(uow: UnitOfWork, instance_id: int, seat_id: int) -> bool:
    """Set an available seat aside (reserved); False when it is not available."""
    return await _move_seat(uow, instance_id, seat_id, from_state=AVAILABLE, to_state=RESERVED)


async def unreserve_seat(uow: UnitOfWork, instance_id: int, seat_id: int) -> bool:
    return await _move_seat(uow, instance_id, seat_id, from_state=RESERVED, to_state=AVAILABLE)


def _place_update(uow: UnitOfWork, instance_id: int, area_id: int) -> Any:
    return update(_IA).where(
        _IA.c.tenant_id == _tenant(uow),
        _IA.c.instance_id == instance_id,
        _IA.c.area_id == area_id,
        _IA.c.seated.is_(False),
        _IA.c.capacity > 0,
    )


_FREE = _IA.c.capacity - _IA.c.held - _IA.c.sold - _IA.c.locked - _IA.c.reserved


#: The most places (or stock units) one change may name: far beyond any venue, and small enough
#: that no count it is added to can overflow a database integer.
MAX_QUANTITY = 1_000_000


def _keys(*ids: int) -> bool:
    """Whether every id can be a key (a larger one names no row: False, not an overflow)."""
    return all(is_key(i) for i in ids)


def checked_quantity(quantity: int) -> int:
    """``quantity`` when it is a whole number from 1 to :data:`MAX_QUANTITY`, else
    ``InvalidInput``."""
    if type(quantity) is not int or not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput("quantity", f"a whole number from 1 to {MAX_QUANTITY}")
    return quantity


async def _rowcount(uow: UnitOfWork, stmt: Any) -> bool:
    result: Any = await uow.session.execute(stmt)
    return bool(result.rowcount == 1)


async def hold_places(uow: UnitOfWork, instance_id: int, area_id: int, quantity: int) -> bool:
    """Hold ``quantity`` places of an unreserved area; False when fewer are left."""
    n = checked_quantity(quantity)
    if not _keys(instance_id, area_id):
        return False
    stmt = _place_update(uow, instance_id, area_id).where(n <= _FREE).values(held=_IA.c.held + n)
    return await _rowcount(uow, stmt)


async def release_places(uow: UnitOfWork, instance_id: int, area_id: int, quantity: int) -> bool:
    """Give back held places; False when fewer are held."""
    n = checked_quantity(quantity)
    if not _keys(instance_id, area_id):
        return False
    stmt = (
        _place_update(uow, instance_id, area_id).where(_IA.c.held >= n).values(held=_IA.c.held - n)
    )
    return await _rowcount(uow, stmt)


async def sell_places(uow: UnitOfWork, instance_id: int, area_id: int, quantity: int) -> bool:
    """Held places become sold; False unless that many are held."""
    n = checked_quantity(quantity)
    if not _keys(instance_id, area_id):
        return False
    stmt = (
        _place_update(uow, instance_id, area_id)
        .where(_IA.c.held >= n)
        .values(held=_IA.c.held - n, sold=_IA.c.sold + n)
    )
    return await _rowcount(uow, stmt)


async def lock_places(
    uow: UnitOfWork, instance_id: int, area_id: int, lock_type_id: int, quantity: int
) -> bool:
    """Lock available places of an unreserved area with a lock type; False when fewer are
    left (``InvalidInput`` for a lock type the tenant lacks)."""
    n = checked_quantity(quantity)
    await _check_lock_type(uow, lock_type_id)
    if not _keys(instance_id, area_id):
        return False
    stmt = (
        _place_update(uow, instance_id, area_id).where(n <= _FREE).values(locked=_IA.c.locked + n)
    )
    if not await _rowcount(uow, stmt):
        return False
    await _add_lock(uow, instance_id, area_id, lock_type_id, n, 0)
    return True


async def unlock_places(
    uow: UnitOfWork, instance_id: int, area_id: int, lock_type_id: int, quantity: int
) -> bool:
    """Unlock places locked with that lock type; False when fewer are locked with it."""
    n = checked_quantity(quantity)
    if not _keys(instance_id, area_id, lock_type_id):
        return False
    tenant = _tenant(uow)
    result: Any = await uow.session.execute(
        update(_LOCKS)
        .where(
            _LOCKS.c.tenant_id == tenant,
            _LOCKS.c.instance_id == instance_id,
            _LOCKS.c.area_id == area_id,
            _LOCKS.c.lock_type_id == lock_type_id,
            _LOCKS.c.quantity >= n,
            # Only an unreserved area's (a reserved area's locks are its seats'): the area's
            # count below then changes too (it is at least the sum of its locks), so a False
            # has changed nothing.
            select(_IA.c.area_id)
            .where(
                _IA.c.tenant_id == tenant,
                _IA.c.instance_id == instance_id,
                _IA.c.area_id == area_id,
                _IA.c.seated.is_(False),
            )
            .exists(),
        )
        .values(quantity=_LOCKS.c.quantity - n)
    )
    if result.rowcount != 1:
        return False
    stmt = (
        _place_update(uow, instance_id, area_id)
        .where(_IA.c.locked >= n)
        .values(locked=_IA.c.locked - n)
    )
    return await _rowcount(uow, stmt)


async def return_places(uow: UnitOfWork, instance_id: int, area_id: int, quantity: int) -> bool:
    """Sold places go back on sale (a return); False unless that many are sold."""
    n = checked_quantity(quantity)
    if not _keys(instance_id, area_id):
        return False
    stmt = (
        _place_update(uow, instance_id, area_id).where(_IA.c.sold >= n).values(sold=_IA.c.sold - n)
    )
    return await _rowcount(uow, stmt)


# --- several seats at once (baskets: decision 0124) -------------------------------------------

_LOCK_SEATS: Any = (
    select(
        _IS.c.seat_id,
        _IS.c.area_id,
        _IS.c.state,
        _IS.c.holder,
        _IS.c.band_id,
        _IS.c.wheelchair,
        _IS.c.special,
    )
    .where(
        _IS.c.tenant_id == bindparam(TENANT_PARAM),
        _IS.c.instance_id == bindparam("instance_id"),
        _IS.c.seat_id.in_(bindparam("seat_ids", expanding=True)),
    )
    .order_by(_IS.c.seat_id)
    .with_for_update()
)


async def _move_seats(
    uow: UnitOfWork,
    instance_id: int,
    seat_ids: Sequence[int],
    *,
    from_state: str,
    to_state: str,
    holder: int | None,
    match_holder: int | None = None,
) -> bool:
    """Move every seat named from ``from_state`` to ``to_state``, or none (False: a seat is
    unknown, named twice, not in ``from_state`` or not held by ``match_holder``)."""
    tenant = _tenant(uow)
    ids = sorted(seat_ids)
    if not ids:
        return True
    if len(set(ids)) != len(ids) or not _keys(instance_id, *ids):
        return False
    rows = await uow.rows(_LOCK_SEATS, {"instance_id": instance_id, "seat_ids": ids})
    if len(rows) != len(ids) or any(
        r.state != from_state or (match_holder is not None and r.holder != match_holder)
        for r in rows
    ):
        return False  # nothing changed (the rows stay locked until the unit of work ends)
    conditions = [
        _IS.c.tenant_id == tenant,
        _IS.c.instance_id == instance_id,
        _IS.c.seat_id.in_(ids),
        _IS.c.state == from_state,
    ]
    if match_holder is not None:
        conditions.append(_IS.c.holder == match_holder)
    result: Any = await uow.session.execute(
        update(_IS).where(*conditions).values(state=to_state, holder=holder)
    )
    if result.rowcount != len(ids):  # cannot happen: the rows are locked (or one writer)
        raise RuntimeError("seats changed while locked")
    by_area: dict[int, list[int]] = {}
    for r in rows:
        counts = by_area.setdefault(r.area_id, [0, 0, 0])
        counts[0] += 1
        counts[1] += 1 if r.wheelchair else 0
        counts[2] += 1 if r.special else 0
    step = 1 if to_state == AVAILABLE else -1 if from_state == AVAILABLE else 0
    for area_id in sorted(by_area):
        n, wheelchair, special = by_area[area_id]
        values: dict[str, Any] = {}
        if from_state in _COUNT_OF:
            column = _COUNT_OF[from_state]
            values[column] = _IA.c[column] - n
        if to_state in _COUNT_OF:
            column = _COUNT_OF[to_state]
            values[column] = _IA.c[column] + n
        if step and wheelchair:
            values["wheelchair_available"] = _IA.c.wheelchair_available + step * wheelchair
        if step and special:
            values["special_available"] = _IA.c.special_available + step * special
        await uow.session.execute(
            update(_IA)
            .where(
                _IA.c.tenant_id == tenant,
                _IA.c.instance_id == instance_id,
                _IA.c.area_id == area_id,
            )
            .values(**values)
        )
    if step:
        by_band: dict[tuple[int, int], int] = {}
        for r in rows:
            by_band[(r.area_id, r.band_id)] = by_band.get((r.area_id, r.band_id), 0) + 1
        for area_id, band_id in sorted(by_band):
            await _count_band(
                uow, instance_id, area_id, band_id, step * by_band[(area_id, band_id)]
            )
    return True


async def hold_seats(
    uow: UnitOfWork, instance_id: int, seat_ids: Sequence[int], holder: int
) -> bool:
    """Hold every seat named for ``holder`` (a basket), or none: False when one is unknown,
    named twice or not available. The seat rows are locked in seat-id order first, then the
    areas' counts change in area-id order, then the bands' in (area, band) order. 2 + (areas)
    + (areas' bands) statements."""
    return await _move_seats(
        uow, instance_id, seat_ids, from_state=AVAILABLE, to_state=HELD, holder=holder
    )


async def release_seats(
    uow: UnitOfWork, instance_id: int, seat_ids: Sequence[int], holder: int
) -> bool:
    """Make every seat named available again, or none: False unless ``holder`` holds each."""
    return await _move_seats(
        uow,
        instance_id,
        seat_ids,
        from_state=HELD,
        to_state=AVAILABLE,
        holder=None,
        match_holder=holder,
    )


async def sell_seats(
    uow: UnitOfWork, instance_id: int, seat_ids: Sequence[int], holder: int
) -> bool:
    """Every seat named, held by ``holder``, becomes sold (``holder`` kept), or none."""
    return await _move_seats(
        uow,
        instance_id,
        seat_ids,
        from_state=HELD,
        to_state=SOLD,
        holder=holder,
        match_holder=holder,
    )


async def return_seats(
    uow: UnitOfWork, instance_id: int, seat_ids: Sequence[int], holder: int
) -> bool:
    """Every seat named, sold to ``holder`` (an order), becomes available again (a return), or
    none: False unless each is sold to ``holder``. Same lock order as :func:`sell_seats`."""
    return await _move_seats(
        uow,
        instance_id,
        seat_ids,
        from_state=SOLD,
        to_state=AVAILABLE,
        holder=None,
        match_holder=holder,
    )
