"""Inventory (``services/inventory.py``): seat states and area counts change together, by
conditional updates that let exactly one of two racing baskets win. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from boxoffice.bootstrap import Core
from boxoffice.domain.errors import NotFound
from boxoffice.domain.principal import Principal
from boxoffice.services import catalogue, inventory, programme, seating
from boxoffice.store.models import LockType
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
