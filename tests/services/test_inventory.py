"""Inventory (``services/inventory.py``): seat states, area counts and band counts change
together, by conditional updates that let exactly one of two racing baskets win; each band's
counts are its seats' after every kind of move, through baskets, under races and refreshes.
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import case, func, select, update
from sqlalchemy import event as sa_event

from boxoffice.bootstrap import Core
from boxoffice.domain.commands import BasketRef, NewTicket
from boxoffice.domain.errors import NotFound
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import AreaStatusView
from boxoffice.services import baskets, catalogue, inventory, programme, seating
from boxoffice.store.models import InstanceAreaBand, InstanceSeat, LockType, Seat
from tests.services.box_office import (
    box_office_tenant,
    demo_box_office,
    statements,
    until_another_waits_for_a_lock,
)


async def _hamlet(core: Core, tenant_id: int) -> tuple[Principal, int, list[int]]:
    owner = Principal(tenant_id=tenant_id, actor="test", full_access=True)
    instances = await programme.list_instances(core, owner, event_name="Hamlet")
    instance = instances[0]
    plan = await seating.instance_plan(core, owner, instance.id)
    seats = [s.id for area in plan.areas for s in area.seats]
    return owner, instance.id, seats


async def _lock_type(core: Core, tenant_id: int) -> int:
    async with core.uow(tenant_id) as uow:
        found = (
            await uow.session.execute(select(LockType.id).where(LockType.name == "House Seats"))
        ).scalar_one()
    return int(found)


async def test_a_new_instance_has_every_seat_available(core: Core) -> None:
    _, tenant_id = await box_office_tenant(core)
    owner, instance_id, seats = await _hamlet(core, tenant_id)
    assert len(seats) == 260
    status = await inventory.instance_status(core, owner, instance_id, include_child_plans=True)
    assert (status.capacity, status.available, status.unavailable) == (260, 260, 0)
    assert status.name == "Main House"
    assert status.wheelchair_available == 2
    assert [(a.name, a.capacity) for a in status.areas] == [("Stalls", 200), ("Circle", 60)]
    states = await inventory.seat_states(core, owner, instance_id)
    assert {s.state for s in states} == {"available"} and len(states) == 260


async def test_hold_release_sell_lock_move_seats_and_counts_together(core: Core) -> None:
    _, tenant_id = await box_office_tenant(core)
    owner, instance_id, seats = await _hamlet(core, tenant_id)
    lock = await _lock_type(core, tenant_id)
    a, b, c, d = seats[:4]
    wheelchair = seats[180]  # J1
    async with core.uow(tenant_id, write=True) as uow:
        assert await inventory.hold_seat(uow, instance_id, a, holder=7)
        assert not await inventory.hold_seat(uow, instance_id, a, holder=8)
        assert await inventory.hold_seat(uow, instance_id, b, holder=7)
        assert await inventory.sell_seat(uow, instance_id, b, holder=7)
        assert not await inventory.sell_seat(uow, instance_id, a, holder=8)
        assert await inventory.hold_seat(uow, instance_id, c, holder=7)
        assert await inventory.release_seat(uow, instance_id, c, holder=7)
        assert not await inventory.release_seat(uow, instance_id, c, holder=7)
        assert await inventory.lock_seat(uow, instance_id, d, lock)
        assert not await inventory.hold_seat(uow, instance_id, d, holder=7)
        assert await inventory.lock_seat(uow, instance_id, wheelchair, lock)
        assert await inventory.unlock_seat(uow, instance_id, wheelchair)
        assert not await inventory.unlock_seat(uow, instance_id, wheelchair)
        assert await inventory.hold_seat(uow, instance_id, wheelchair, holder=9)
        await uow.commit()
    status = await inventory.instance_status(
        core, owner, instance_id, include_lock_information=True
    )
    assert (status.available, status.in_other_basket, status.sold, status.locked) == (
        256,
        2,
        1,
        1,
    )
    assert status.wheelchair_available == 1
    assert [(q.lock_type_name, q.quantity) for q in status.lock_info_available] == [
        ("House Seats", 1)
    ]
    states = {s.seat_id: s for s in await inventory.seat_states(core, owner, instance_id)}
    assert (states[a].state, states[a].holder) == ("held", 7)
    assert (states[b].state, states[c].state, states[d].state) == ("sold", "available", "locked")
    assert states[d].lock_type_id == lock
    # The counts are the seats' own: refreshing them from the seats changes nothing.
    async with core.uow(tenant_id, write=True) as uow:
        await inventory.refresh_instance(
            uow, instance_id, (await _plan_id(core, owner, instance_id))
        )
        await uow.commit()
    assert (
        await inventory.instance_status(core, owner, instance_id, include_lock_information=True)
        == status
    )


async def _plan_id(core: Core, owner: Principal, instance_id: int) -> int:
    return (await programme.get_instance(core, owner, instance_id)).plan_id


async def test_places_of_an_unreserved_area_are_held_only_while_some_are_left(
    core: Core,
) -> None:
    _, tenant_id = await box_office_tenant(core)
    owner = Principal(tenant_id=tenant_id, actor="test", full_access=True)
    jazz = (await programme.list_instances(core, owner, event_name="Jazz"))[0]
    plan = await seating.instance_plan(core, owner, jazz.id)
    area = plan.areas[0].id
    lock = await _lock_type(core, tenant_id)
    async with core.uow(tenant_id, write=True) as uow:
        assert await inventory.hold_places(uow, jazz.id, area, 50)
        assert not await inventory.hold_places(uow, jazz.id, area, 11)
        assert await inventory.lock_places(uow, jazz.id, area, lock, 4)
        assert await inventory.sell_places(uow, jazz.id, area, 20)
        assert not await inventory.sell_places(uow, jazz.id, area, 31)
        assert await inventory.release_places(uow, jazz.id, area, 10)
        assert await inventory.unlock_places(uow, jazz.id, area, lock, 1)
        assert not await inventory.unlock_places(uow, jazz.id, area, lock, 4)
        await uow.commit()
    status = await inventory.instance_status(
        core, owner, jazz.id, area_id=area, include_lock_information=True
    )
    assert (status.capacity, status.in_other_basket, status.sold, status.locked) == (60, 20, 20, 3)
    assert status.available == 17
    assert [(q.lock_type_name, q.quantity) for q in status.lock_info_available] == [
        ("House Seats", 3)
    ]
    with pytest.raises(NotFound):
        await inventory.instance_status(core, owner, jazz.id, area_id=area + 10_000)


async def test_status_is_one_statement_whatever_the_seats(core: Core) -> None:
    _, tenant_id = await box_office_tenant(core)
    owner, instance_id, _ = await _hamlet(core, tenant_id)
    with statements(core) as sent:
        await inventory.instance_status(core, owner, instance_id, include_child_plans=True)
    assert len(sent) == 1


async def test_web_mode_and_other_tenants_do_not_see_an_invisible_instance(core: Core) -> None:
    name, tenant_id = await box_office_tenant(core)
    owner, instance_id, _ = await _hamlet(core, tenant_id)
    data = demo_box_office()
    for event in data["events"]:
        if event["name"] == "Hamlet":
            event["instances"][0]["web_visible"] = False
    await catalogue.load_catalogue(core, name, data)
    web = Principal(tenant_id=tenant_id, actor="web", full_access=False)
    with pytest.raises(NotFound):
        await inventory.instance_status(core, web, instance_id)
    with pytest.raises(NotFound):
        await inventory.seat_states(core, web, instance_id)
    assert (await inventory.instance_status(core, owner, instance_id)).capacity == 260
    _, other_id = await box_office_tenant(core)
    other = Principal(tenant_id=other_id, actor="test", full_access=True)
    other_hamlet = (await programme.list_instances(core, other, event_name="Hamlet"))[0].id
    stranger = Principal(tenant_id=tenant_id, actor="test", full_access=True)
    if other_hamlet != instance_id:  # the keys are per tenant: the same small numbers
        with pytest.raises(NotFound):
            await inventory.instance_status(core, stranger, other_hamlet + 10_000)


async def test_two_baskets_racing_for_one_seat_exactly_one_wins(core: Core) -> None:
    """Two writing units of work (two connections) hold the same seat. On PostgreSQL the
    second's UPDATE waits for the first's row lock and then finds the seat taken; on SQLite the
    second writer waits for the first to end. Whichever order the database picks, one wins."""
    _, tenant_id = await box_office_tenant(core)
    owner, instance_id, seats = await _hamlet(core, tenant_id)
    seat = seats[42]

    async def basket(holder: int) -> bool:
        async with core.uow(tenant_id, write=True) as uow:
            won = await inventory.hold_seat(uow, instance_id, seat, holder=holder)
            await uow.commit()
            return won

    results = await asyncio.gather(*(basket(h) for h in (1, 2, 3, 4)))
    assert sorted(results) == [False, False, False, True]
    status = await inventory.instance_status(core, owner, instance_id)
    assert (status.in_other_basket, status.available) == (1, 259)


async def test_the_second_holder_waits_for_the_first_and_then_loses(core: Core) -> None:
    """The first unit of work holds the seat and stays open; the second's hold is started and
    must wait, whatever the timing (PostgreSQL: for the first's row lock, then it re-checks
    ``state = 'available'``; SQLite: for the one writer's turn); the first commits; the second
    then answers False. No sleeps."""
    _, tenant_id = await box_office_tenant(core)
    owner, instance_id, seats = await _hamlet(core, tenant_id)
    seat = seats[7]
    first = core.uow(tenant_id, write=True)
    await first.__aenter__()
    try:
        assert await inventory.hold_seat(first, instance_id, seat, holder=1)

        async def second() -> bool:
            async with core.uow(tenant_id, write=True) as uow:
                won = await inventory.hold_seat(uow, instance_id, seat, holder=2)
                await uow.commit()
                return won

        task = asyncio.create_task(second())
        await first.commit()
    finally:
        await first.__aexit__(None, None, None)
    assert await task is False
    states = {s.seat_id: s for s in await inventory.seat_states(core, owner, instance_id)}
    assert (states[seat].state, states[seat].holder) == ("held", 1)
    status = await inventory.instance_status(core, owner, instance_id)
    assert status.in_other_basket == 1


async def test_a_status_read_while_seats_change_is_always_consistent(core: Core) -> None:
    """Baskets hold seats (one unit of work each) while statuses are read: every status adds
    up (capacity 260 = available + held), never goes back, and the last one counts every hold.
    Nothing depends on the interleaving the event loop and the database choose."""
    _, tenant_id = await box_office_tenant(core)
    _, instance_id, seats = await _hamlet(core, tenant_id)
    web = Principal(tenant_id=tenant_id, actor="web", full_access=False)
    chosen = seats[::13]  # 20 seats across both areas

    async def hold(seat: int) -> bool:
        async with core.uow(tenant_id, write=True) as uow:
            won = await inventory.hold_seat(uow, instance_id, seat, holder=seat)
            await uow.commit()
            return won

    async def read() -> tuple[int, int]:
        status = await inventory.instance_status(core, web, instance_id, include_child_plans=True)
        assert status.capacity == 260
        assert status.available + status.in_other_basket == 260
        assert sum(a.in_other_basket for a in status.areas) == status.in_other_basket
        return status.in_other_basket, status.available

    tasks = [hold(s) for s in chosen]
    readings: list[tuple[int, int]] = []
    for index, task in enumerate(tasks):
        results = await asyncio.gather(task, read())
        assert results[0] is True
        readings.append(results[1])
        if index % 5 == 0:
            readings.append(await read())
    held = [r[0] for r in readings]
    assert held == sorted(held)
    assert await read() == (20, 240)
    # All at once: twenty more holders and twenty readers in flight together.
    more = seats[1::13]
    together = await asyncio.gather(*(hold(s) for s in more), *(read() for _ in more))
    assert together[: len(more)] == [True] * len(more)
    assert all(20 <= r[0] <= 40 for r in together[len(more) :])  # type: ignore[index]
    assert await read() == (40, 220)


async def test_a_hold_is_in_the_audit_log_by_table(core: Core) -> None:
    from boxoffice.services import audit

    name, tenant_id = await box_office_tenant(core)
    _, instance_id, seats = await _hamlet(core, tenant_id)
    async with core.uow(tenant_id, write=True) as uow:
        assert await inventory.hold_seat(uow, instance_id, seats[0], holder=1)
        await uow.commit()
    last = (await audit.list_entries(core, name))[-1]
    assert [(c["table"], c["op"]) for c in last.changes] == [
        ("instance_seats", "bulk-update"),
        ("instance_areas", "bulk-update"),
        ("instance_area_bands", "bulk-update"),
    ]


async def test_unlocking_places_of_a_reserved_area_changes_nothing(core: Core) -> None:
    """``unlock_places`` is for unreserved areas; given a reserved area whose seat is locked it
    answers False and, as every False of this module, has changed nothing (the lock counts
    still say one seat is locked with House Seats)."""
    _, tenant_id = await box_office_tenant(core)
    owner, instance_id, seats = await _hamlet(core, tenant_id)
    lock = await _lock_type(core, tenant_id)
    plan = await seating.instance_plan(core, owner, instance_id)
    stalls = plan.areas[0].id
    async with core.uow(tenant_id, write=True) as uow:
        assert await inventory.lock_seat(uow, instance_id, seats[0], lock)
        assert not await inventory.unlock_places(uow, instance_id, stalls, lock, 1)
        await uow.commit()
    status = await inventory.instance_status(
        core, owner, instance_id, area_id=stalls, include_lock_information=True
    )
    assert status.locked == 1
    assert [(q.lock_type_name, q.quantity) for q in status.lock_info_available] == [
        ("House Seats", 1)
    ]


async def test_locking_with_a_lock_type_the_tenant_lacks_is_refused(core: Core) -> None:
    """An unknown lock type (another tenant's, say) is a clear refusal before anything
    changes, not a foreign-key failure of the database (a 500)."""
    from boxoffice.domain.errors import InvalidInput

    _, tenant_id = await box_office_tenant(core)
    owner, instance_id, seats = await _hamlet(core, tenant_id)
    _, other_id = await box_office_tenant(core)
    foreign = await _lock_type(core, other_id) + 1000
    jazz = (await programme.list_instances(core, owner, event_name="Jazz"))[0]
    area = (await seating.instance_plan(core, owner, jazz.id)).areas[0].id
    for lock in (foreign, 0):
        async with core.uow(tenant_id, write=True) as uow:
            with pytest.raises(InvalidInput):
                await inventory.lock_seat(uow, instance_id, seats[0], lock)
            with pytest.raises(InvalidInput):
                await inventory.lock_places(uow, jazz.id, area, lock, 2)
            assert await inventory.hold_seat(uow, instance_id, seats[1], holder=1)
            await uow.commit()
        async with core.uow(tenant_id, write=True) as uow:
            assert await inventory.release_seat(uow, instance_id, seats[1], holder=1)
            await uow.commit()
    status = await inventory.instance_status(core, owner, instance_id)
    assert (status.locked, status.available) == (0, 260)
    assert (await inventory.instance_status(core, owner, jazz.id)).locked == 0


async def test_seat_locks_keep_no_statement_per_call(core: Core) -> None:
    """The tenant guard remembers every Core read it has checked (for good: prebuilt
    statements). Locking and unlocking seats reads with prebuilt statements too, so a
    long-running server's memory does not grow with every lock."""
    from boxoffice.store import scoping

    _, tenant_id = await box_office_tenant(core)
    _, instance_id, seats = await _hamlet(core, tenant_id)
    lock = await _lock_type(core, tenant_id)

    async def lock_and_unlock(seat: int) -> None:
        async with core.uow(tenant_id, write=True) as uow:
            assert await inventory.lock_seat(uow, instance_id, seat, lock)
            assert await inventory.unlock_seat(uow, instance_id, seat)
            await uow.commit()

    await lock_and_unlock(seats[0])
    checked = len(scoping._checked)
    for seat in seats[1:4]:
        await lock_and_unlock(seat)
    assert len(scoping._checked) == checked
    async with core.uow(tenant_id, write=True) as uow:
        assert not await inventory.unlock_seat(uow, 2**63, seats[0])


async def test_a_refresh_waiting_for_a_hold_counts_it(
    core: Core, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A catalogue load refreshes an instance's counts from its seats while a basket holds a
    seat of it. The basket's unit of work has changed the seat and the area's count and stays
    open; the refresh starts and must wait (PostgreSQL: for the area's row; SQLite: for the one
    writer); the basket commits. The refresh must then count that seat: the area says one held,
    not zero (a count from before the hold, written over it). No sleeps decide the outcome."""

    _, tenant_id = await box_office_tenant(core)
    owner, instance_id, seats = await _hamlet(core, tenant_id)
    plan_id = await _plan_id(core, owner, instance_id)
    basket = core.uow(tenant_id, write=True)
    await basket.__aenter__()
    try:
        assert await inventory.hold_seat(basket, instance_id, seats[3], holder=1)

        async def refresh() -> None:
            async with core.uow(tenant_id, write=True) as uow:
                await inventory.refresh_instance(uow, instance_id, plan_id)
                await uow.commit()

        task = asyncio.create_task(refresh())
        url = str(getattr(settings, "database_url", ""))
        await until_another_waits_for_a_lock(url, "the refresh")
        assert not task.done()
        await basket.commit()
    finally:
        await basket.__aexit__(None, None, None)
    await task
    status = await inventory.instance_status(core, owner, instance_id)
    assert (status.in_other_basket, status.available) == (1, 259)


async def test_seats_in_a_batch_move_together_or_not_at_all(core: Core) -> None:
    """``hold_seats`` holds every seat named or none (one taken, unknown or named twice: False,
    nothing changed); ``sell_seats`` and ``release_seats`` need the same holder for each; the
    areas' counts (and wheelchair counts) follow."""
    _, tenant_id = await box_office_tenant(core)
    owner, instance_id, seats = await _hamlet(core, tenant_id)
    stalls, circle, wheelchair = seats[:3], seats[200:202], seats[180]
    async with core.uow(tenant_id, write=True) as uow:
        assert await inventory.hold_seats(uow, instance_id, [circle[1], *stalls, circle[0]], 5)
        assert not await inventory.hold_seats(uow, instance_id, [seats[10], stalls[0]], 6)
        assert not await inventory.hold_seats(uow, instance_id, [seats[10], seats[10]], 6)
        assert not await inventory.hold_seats(uow, instance_id, [seats[10], 2**62], 6)
        assert await inventory.hold_seats(uow, instance_id, [], 6)
        assert await inventory.hold_seats(uow, instance_id, [wheelchair], 6)
        assert not await inventory.sell_seats(uow, instance_id, [stalls[0], wheelchair], 5)
        assert await inventory.sell_seats(uow, instance_id, stalls[:2], 5)
        assert not await inventory.release_seats(uow, instance_id, [stalls[2], wheelchair], 5)
        assert await inventory.release_seats(uow, instance_id, [wheelchair], 6)
        await uow.commit()
    status = await inventory.instance_status(core, owner, instance_id, include_child_plans=True)
    assert (status.available, status.in_other_basket, status.sold) == (255, 3, 2)
    assert [(a.in_other_basket, a.sold) for a in status.areas] == [(1, 2), (2, 0)]
    assert status.wheelchair_available == 2
    states = {s.seat_id: s for s in await inventory.seat_states(core, owner, instance_id)}
    assert states[seats[10]].state == "available"
    assert (states[stalls[0]].state, states[stalls[0]].holder) == ("sold", 5)


# --- the bands' counts (instance_area_bands: decisions 0120, 0122) -----------------------------


async def _bands_are_the_seats(core: Core, tenant_id: int, instance_id: int) -> AreaStatusView:
    """The kept counts of each reserved area's bands are its seats' (counted now, by the plan's
    bands), and the status's bands add up to each area's and the plan's places. The status."""
    async with core.uow(tenant_id) as uow:
        kept = {
            (area, band): (capacity, available)
            for area, band, capacity, available in await uow.session.execute(
                select(
                    InstanceAreaBand.area_id,
                    InstanceAreaBand.band_id,
                    InstanceAreaBand.capacity,
                    InstanceAreaBand.available,
                ).where(InstanceAreaBand.instance_id == instance_id, InstanceAreaBand.capacity > 0)
            )
        }
        counted = {
            (area, band): (capacity, int(available))
            for area, band, capacity, available in await uow.session.execute(
                select(
                    InstanceSeat.area_id,
                    Seat.band_id,
                    func.count(),
                    func.sum(case((InstanceSeat.state == "available", 1), else_=0)),
                )
                .join(Seat, Seat.id == InstanceSeat.seat_id)
                .where(InstanceSeat.instance_id == instance_id)
                .group_by(InstanceSeat.area_id, Seat.band_id)
            )
        }
    assert kept == counted
    owner = Principal(tenant_id=tenant_id, actor="test", full_access=True)
    status = await inventory.instance_status(core, owner, instance_id, include_child_plans=True)
    for area in (status, *status.areas):
        assert sum(b.capacity for b in area.bands) == area.capacity
        assert sum(b.available for b in area.bands) == area.available
    return status


async def _seats_by_band(core: Core, owner: Principal, instance_id: int) -> dict[int, list[int]]:
    plan = await seating.instance_plan(core, owner, instance_id)
    by_band: dict[int, list[int]] = {}
    for area in plan.areas:
        for seat in area.seats:
            by_band.setdefault(seat.band_id, []).append(seat.id)
    return by_band


@contextmanager
def _written(core: Core) -> Iterator[list[str]]:
    """The statements sent on the writing engine meanwhile (tenant settings left out)."""
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "set_config" not in statement:
            sent.append(statement)

    sa_event.listen(core.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        sa_event.remove(core.engine.sync_engine, "before_cursor_execute", count)


def _available(status: AreaStatusView) -> dict[int, int]:
    return {b.band_id: b.available for b in status.bands}


async def test_bands_follow_every_single_seat_move(core: Core) -> None:
    """Hold, release, sell, lock, unlock, reserve and unreserve, one seat at a time, in seats of
    every band: each band's available seats follow, and add up to the areas'."""
    _, tenant_id = await box_office_tenant(core)
    owner, instance_id, _ = await _hamlet(core, tenant_id)
    lock = await _lock_type(core, tenant_id)
    by_band = await _seats_by_band(core, owner, instance_id)
    assert len(by_band) == 3
    before = _available(await _bands_are_the_seats(core, tenant_id, instance_id))
    expected = dict(before)
    async with core.uow(tenant_id, write=True) as uow:
        for band, seats in by_band.items():
            held, sold, released, locked, unlocked, reserved, unreserved = seats[:7]
            assert await inventory.hold_seat(uow, instance_id, held, holder=1)
            assert await inventory.hold_seat(uow, instance_id, sold, holder=1)
            assert await inventory.sell_seat(uow, instance_id, sold, holder=1)
            assert await inventory.hold_seat(uow, instance_id, released, holder=1)
            assert await inventory.release_seat(uow, instance_id, released, holder=1)
            assert await inventory.lock_seat(uow, instance_id, locked, lock)
            assert await inventory.lock_seat(uow, instance_id, unlocked, lock)
            assert await inventory.unlock_seat(uow, instance_id, unlocked)
            assert await inventory.reserve_seat(uow, instance_id, reserved)
            assert await inventory.reserve_seat(uow, instance_id, unreserved)
            assert await inventory.unreserve_seat(uow, instance_id, unreserved)
            # refusals change nothing
            assert not await inventory.hold_seat(uow, instance_id, held, holder=2)
            assert not await inventory.release_seat(uow, instance_id, sold, holder=1)
            expected[band] -= 4  # held, sold, locked, reserved
        await uow.commit()
    status = await _bands_are_the_seats(core, tenant_id, instance_id)
    assert _available(status) == expected
    assert status.available == sum(before.values()) - 12


async def test_bands_follow_batch_moves_and_add_up_after_a_refresh(core: Core) -> None:
    """``hold_seats``, ``sell_seats`` and ``release_seats`` over seats of several bands and
    both areas change each band once; a refresh from the seats then changes nothing."""
    _, tenant_id = await box_office_tenant(core)
    owner, instance_id, seats = await _hamlet(core, tenant_id)
    by_band = await _seats_by_band(core, owner, instance_id)
    band_of = {seat: band for band, ids in by_band.items() for seat in ids}
    chosen = [*seats[:3], *seats[150:153], *seats[200:204], seats[259]]
    expected = _available(await _bands_are_the_seats(core, tenant_id, instance_id))
    async with core.uow(tenant_id, write=True) as uow:
        assert await inventory.hold_seats(uow, instance_id, list(reversed(chosen)), 5)
        assert not await inventory.hold_seats(uow, instance_id, [seats[10], chosen[0]], 6)
        assert await inventory.sell_seats(uow, instance_id, chosen[:5], 5)
        assert await inventory.release_seats(uow, instance_id, chosen[5:8], 5)
        await uow.commit()
    for seat in (*chosen[:5], *chosen[8:]):
        expected[band_of[seat]] -= 1
    status = await _bands_are_the_seats(core, tenant_id, instance_id)
    assert _available(status) == expected
    async with core.uow(tenant_id, write=True) as uow:
        await inventory.refresh_instance(uow, instance_id, await _plan_id(core, owner, instance_id))
        await uow.commit()
    assert await _bands_are_the_seats(core, tenant_id, instance_id) == status


async def test_a_hold_changes_each_band_once_after_the_areas(core: Core) -> None:
    """A batch hold sends: the seats locked, changed, an area's count per area (area-id order),
    then a band's per area and band ((area, band) order); a sale (held to sold) no band's."""
    _, tenant_id = await box_office_tenant(core)
    owner, instance_id, seats = await _hamlet(core, tenant_id)
    by_band = await _seats_by_band(core, owner, instance_id)
    band_of = {seat: band for band, ids in by_band.items() for seat in ids}
    chosen = [seats[0], seats[1], seats[199], seats[200], seats[259]]
    pairs = {(0 if s < seats[200] else 1, band_of[s]) for s in chosen}
    async with core.uow(tenant_id, write=True) as uow:
        with _written(core) as sent:
            assert await inventory.hold_seats(uow, instance_id, chosen, 5)
        assert len(sent) == 2 + 2 + len(pairs)
        updates = [s for s in sent if "instance_area_bands" in s]
        assert len(updates) == len(pairs)
        assert sent.index(updates[0]) > max(
            i for i, s in enumerate(sent) if "UPDATE instance_areas" in s
        )
        with _written(core) as sent:
            assert await inventory.sell_seats(uow, instance_id, chosen, 5)
        assert not [s for s in sent if "instance_area_bands" in s]
        await uow.commit()
    await _bands_are_the_seats(core, tenant_id, instance_id)


async def test_bands_follow_baskets_through_holds_sales_and_releases(core: Core) -> None:
    """Two baskets add seats of several bands (held), one is cleared (released): the bands
    follow; an unreserved area's one band is its places."""
    _, tenant_id = await box_office_tenant(core)
    owner, instance_id, _ = await _hamlet(core, tenant_id)
    web = Principal(tenant_id=tenant_id, actor="web", full_access=False)
    plan = await seating.instance_plan(core, owner, instance_id)
    names = {s.name: s for area in plan.areas for s in area.seats}
    start = (await programme.get_instance(core, owner, instance_id)).start_utc
    now = start - timedelta(days=3)
    before = _available(await _bands_are_the_seats(core, tenant_id, instance_id))
    first = BasketRef.web("first")
    second = BasketRef.web("second")
    picks = {"first": ["A1", "A2", "J20"], "second": ["B3", "J19", "A3"]}
    for ref, key in ((first, "first"), (second, "second")):
        tickets = [NewTicket(instance_id=instance_id, seat_id=names[n].id) for n in picks[key]]
        await baskets.add_tickets(core, web, ref, tickets, now=now)
    expected = dict(before)
    for name in (*picks["first"], *picks["second"]):
        expected[names[name].band_id] -= 1
    assert _available(await _bands_are_the_seats(core, tenant_id, instance_id)) == expected
    await baskets.clear_basket(core, web, second, now=now)
    for name in picks["second"]:
        expected[names[name].band_id] += 1
    assert _available(await _bands_are_the_seats(core, tenant_id, instance_id)) == expected
    studio = (await programme.list_instances(core, owner, event_name="The Little Prince"))[0]
    studio_area = (await seating.instance_plan(core, owner, studio.id)).areas[0].id
    place = NewTicket(instance_id=studio.id, area_id=studio_area)
    await baskets.add_tickets(core, web, first, [place, place], now=now)
    studio_status = await _bands_are_the_seats(core, tenant_id, studio.id)
    assert [(b.capacity, b.available) for b in studio_status.bands] == [
        (studio_status.capacity, studio_status.available)
    ]
    assert studio_status.in_other_basket == 2


async def test_racing_batch_holds_keep_the_bands_right(core: Core) -> None:
    """Twelve baskets (twelve connections) hold overlapping seats of every band and both areas
    at once, in different orders, then half release theirs, at once: every band's count is
    its seats' and adds up to the areas', whatever won (no deadlock on PostgreSQL: seats,
    then areas, then bands, each in order)."""
    _, tenant_id = await box_office_tenant(core)
    _, instance_id, seats = await _hamlet(core, tenant_id)
    pool = [*seats[0:6], *seats[150:156], *seats[196:204], *seats[254:260]]
    wants = [[pool[(i * 5 + k * 7) % len(pool)] for k in range(4)] for i in range(12)]
    wants = [w if i % 2 else list(reversed(w)) for i, w in enumerate(wants)]

    async def hold(holder: int) -> bool:
        async with core.uow(tenant_id, write=True) as uow:
            won = await inventory.hold_seats(uow, instance_id, wants[holder], holder + 1)
            await uow.commit()
            return won

    won = await asyncio.gather(*(hold(i) for i in range(len(wants))))
    assert any(won)
    status = await _bands_are_the_seats(core, tenant_id, instance_id)
    assert status.in_other_basket == 4 * sum(won)

    async def release(holder: int) -> bool:
        async with core.uow(tenant_id, write=True) as uow:
            done = await inventory.release_seats(uow, instance_id, wants[holder], holder + 1)
            await uow.commit()
            return done

    releasing = [i for i, w in enumerate(won) if w][::2]
    assert all(await asyncio.gather(*(release(i) for i in releasing)))
    status = await _bands_are_the_seats(core, tenant_id, instance_id)
    assert status.in_other_basket == 4 * (sum(won) - len(releasing))


async def test_a_refresh_waiting_for_a_hold_counts_it_in_its_band(
    core: Core, settings: object
) -> None:
    """As ``test_a_refresh_waiting_for_a_hold_counts_it``, for the bands: the refresh recounts
    them after the area it waited for, so the band says one fewer available."""
    _, tenant_id = await box_office_tenant(core)
    owner, instance_id, seats = await _hamlet(core, tenant_id)
    plan_id = await _plan_id(core, owner, instance_id)
    before = await _bands_are_the_seats(core, tenant_id, instance_id)
    basket = core.uow(tenant_id, write=True)
    await basket.__aenter__()
    try:
        assert await inventory.hold_seats(basket, instance_id, [seats[3], seats[220]], holder=1)

        async def refresh() -> None:
            async with core.uow(tenant_id, write=True) as uow:
                await inventory.refresh_instance(uow, instance_id, plan_id)
                await uow.commit()

        task = asyncio.create_task(refresh())
        url = str(getattr(settings, "database_url", ""))
        await until_another_waits_for_a_lock(url, "the refresh")
        assert not task.done()
        await basket.commit()
    finally:
        await basket.__aexit__(None, None, None)
    await task
    after = await _bands_are_the_seats(core, tenant_id, instance_id)
    assert sum(_available(before).values()) - sum(_available(after).values()) == 2


async def test_a_seat_moved_to_another_band_is_counted_there_after_a_refresh(
    core: Core,
) -> None:
    """A plan change that gives a seat another band: the refresh copies it onto the instance's
    seat and counts it in its new band (a band left without seats is not shown)."""
    _, tenant_id = await box_office_tenant(core)
    owner, instance_id, _ = await _hamlet(core, tenant_id)
    by_band = await _seats_by_band(core, owner, instance_id)
    old_band, new_band = sorted(by_band, key=lambda b: len(by_band[b]))[:2]
    moved = by_band[old_band]
    async with core.uow(tenant_id, write=True) as uow:
        assert await inventory.hold_seat(uow, instance_id, moved[0], holder=1)
        await uow.session.execute(update(Seat).where(Seat.id.in_(moved)).values(band_id=new_band))
        await inventory.refresh_instance(uow, instance_id, await _plan_id(core, owner, instance_id))
        await uow.commit()
    status = await _bands_are_the_seats(core, tenant_id, instance_id)
    assert old_band not in _available(status)
    async with core.uow(tenant_id, write=True) as uow:
        assert await inventory.release_seat(uow, instance_id, moved[0], holder=1)
        await uow.commit()
    await _bands_are_the_seats(core, tenant_id, instance_id)
