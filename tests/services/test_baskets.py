"""Baskets (``services/baskets.py``) and orders (``services/orders.py``): holds taken and given
back with the basket, all-or-nothing adds, races, expiry by a driven clock, every refusal,
offers, confirmation's effects and the order reads. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, update

from boxoffice.bootstrap import Core
from boxoffice.domain import errors
from boxoffice.domain.commands import (
    BasketPatch,
    BasketRef,
    Confirmation,
    DonationPatch,
    NewBasket,
    NewCustomer,
    NewCustomPayment,
    NewDonation,
    NewGiftVoucher,
    NewMembershipSubscription,
    NewMerchandise,
    NewTicket,
    TicketPatch,
)
from boxoffice.domain.principal import Principal
from boxoffice.services import (
    baskets,
    customers,
    inventory,
    orders,
    pricing,
    products,
    programme,
    seating,
)
from boxoffice.store.models import Instance
from tests.services.box_office import box_office_tenant, until_another_waits_for_a_lock


@dataclass
class Box:
    tenant_id: int
    owner: Principal
    web: Principal
    hamlet: int
    hamlet2: int
    seats: dict[str, int]  # "A1" -> seat id
    stalls: int
    studio: int
    studio_area: int
    gala: int
    types: dict[str, int]
    start: datetime  # the first Hamlet's start (UTC)

    def now(self) -> datetime:
        """A moment inside every instance's web sale window."""
        return self.start - timedelta(days=3)


async def _box(core: Core) -> Box:
    _, tenant_id = await box_office_tenant(core)
    owner = Principal(tenant_id=tenant_id, actor="api-user:test", full_access=True)
    web = Principal(tenant_id=tenant_id, actor="web", full_access=False)
    hamlets = await programme.list_instances(core, owner, event_name="Hamlet")
    studio = (await programme.list_instances(core, owner, event_name="The Little Prince"))[0]
    gala = (await programme.list_instances(core, owner, event_name="Winter Gala"))[0]
    plan = await seating.instance_plan(core, owner, hamlets[0].id)
    seats = {s.name: s.id for area in plan.areas for s in area.seats}
    studio_plan = await seating.instance_plan(core, owner, studio.id)
    types = {t.name: t.id for t in await pricing.list_ticket_types(core, owner)}
    return Box(
        tenant_id=tenant_id,
        owner=owner,
        web=web,
        hamlet=hamlets[0].id,
        hamlet2=hamlets[1].id,
        seats=seats,
        stalls=plan.areas[0].id,
        studio=studio.id,
        studio_area=studio_plan.areas[0].id,
        gala=gala.id,
        types=types,
        start=hamlets[0].start_utc,
    )


def _seat(box: Box, name: str, instance: int | None = None, **kw: Any) -> NewTicket:
    return NewTicket(instance_id=instance or box.hamlet, seat_id=box.seats[name], **kw)


def _place(box: Box, **kw: Any) -> NewTicket:
    return NewTicket(instance_id=box.studio, area_id=box.studio_area, **kw)


async def _status(core: Core, box: Box, instance: int | None = None) -> tuple[int, int, int]:
    s = await inventory.instance_status(core, box.owner, instance or box.hamlet)
    return s.available, s.in_other_basket, s.sold


async def _customer(core: Core, box: Box, email: str = "ann@example.com") -> int:
    view = await customers.create_customer(
        core, box.owner, NewCustomer(first_name="Ann", last_name="Lee", email=email)
    )
    return view.id


@contextmanager
def _written(core: Core) -> Iterator[list[str]]:
    """The statements sent by writing units of work meanwhile (tenant settings left out)."""
    engine = core.engine.sync_engine
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "set_config" not in statement and statement.strip().upper() not in (
            "BEGIN",
            "COMMIT",
            "ROLLBACK",
        ):
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


# --- holds ---------------------------------------------------------------------------------------


async def test_a_web_basket_is_made_by_its_first_add_and_holds_its_seats(core: Core) -> None:
    box = await _box(core)
    ref = BasketRef.web("session-one")
    now = box.now()
    with pytest.raises(errors.NotFound):
        await baskets.get_basket(core, box.web, ref, now=now)
    view = await baskets.add_tickets(
        core,
        box.web,
        ref,
        [_seat(box, "A1"), _seat(box, "A2", ticket_type_id=box.types["Concession"]), _place(box)],
        now=now,
    )
    assert view.state == "open" and view.channel == "web" and view.customer_id is None
    assert [(t.seat_name, t.ticket_type_name, t.price) for t in view.tickets] == [
        ("A1", "Adult", Decimal("35.00")),
        ("A2", "Concession", Decimal("30.00")),
        (None, "Adult", Decimal("15.00")),
    ]
    assert view.tickets[2].area_name == "Studio" and view.tickets[0].band_name == "A"
    # A one-area plan's id stands for its area (as the vendor's clients send it).
    studio_plan = (await seating.instance_plan(core, box.owner, box.studio)).id
    by_plan = NewTicket(instance_id=box.studio, area_id=studio_plan)
    view = await baskets.add_tickets(core, box.web, ref, [by_plan], now=now)
    assert view.tickets[3].area_id == box.studio_area
    view = await baskets.remove_tickets(core, box.web, ref, [view.tickets[3].id], now=now)
    assert view.total == Decimal("80.00") and view.total_discount == Decimal("0.00")
    assert view.expires_at == now + timedelta(minutes=15)
    assert await _status(core, box) == (258, 2, 0)
    assert await _status(core, box, box.studio) == (59, 1, 0)
    states = {s.seat_id: s for s in await inventory.seat_states(core, box.owner, box.hamlet)}
    assert (states[box.seats["A1"]].state, states[box.seats["A1"]].holder) == ("held", view.id)
    again = await baskets.get_basket(core, box.web, ref, now=now)
    assert again == view
    # Another session has its own basket; the Owner id form is not for Web mode.
    with pytest.raises(errors.NotFound):
        await baskets.get_basket(core, box.web, BasketRef.web("session-two"), now=now)
    with pytest.raises(errors.NotFound):
        await baskets.get_basket(core, box.web, BasketRef.owner(view.id), now=now)
    assert (await baskets.get_basket(core, box.owner, BasketRef.owner(view.id), now=now)).id == (
        view.id
    )


async def test_every_write_changes_the_hash_and_restarts_the_hold_clock(core: Core) -> None:
    box = await _box(core)
    ref = BasketRef.web("s")
    now = box.now()
    first = await baskets.add_tickets(core, box.web, ref, [_seat(box, "B1")], now=now)
    later = now + timedelta(minutes=10)
    second = await baskets.add_tickets(core, box.web, ref, [_seat(box, "B2")], now=later)
    assert second.hash != first.hash and second.id == first.id
    assert second.expires_at == later + timedelta(minutes=15)
    customer = await _customer(core, box)
    me = Principal(box.tenant_id, "customer", False, customer_id=customer)
    third = await baskets.update_basket(core, me, ref, BasketPatch(customer_id=customer), now=later)
    assert third.customer_id == customer and third.hash != second.hash


async def test_removing_tickets_and_clearing_give_seats_back(core: Core) -> None:
    box = await _box(core)
    ref = BasketRef.web("s")
    now = box.now()
    view = await baskets.add_tickets(
        core, box.web, ref, [_seat(box, "C1"), _seat(box, "C2"), _place(box), _place(box)], now=now
    )
    view = await baskets.add_merchandise(
        core,
        box.web,
        ref,
        [NewMerchandise(stock_item_id=await _stock(core, box, "Programme"))],
        now=now,
    )
    assert await _stock_level(core, box, "Programme") == 499
    first = view.tickets[0].id
    view = await baskets.remove_tickets(core, box.web, ref, [first], now=now)
    assert [t.seat_name for t in view.tickets] == ["C2", None, None]
    assert await _status(core, box) == (259, 1, 0)
    with pytest.raises(errors.NotFound):
        await baskets.remove_tickets(core, box.web, ref, [first], now=now)
    view = await baskets.clear_basket(core, box.web, ref, now=now)
    assert view.tickets == () and view.merchandise_items == () and view.total == 0
    assert await _status(core, box) == (260, 0, 0)
    assert await _status(core, box, box.studio) == (60, 0, 0)
    assert await _stock_level(core, box, "Programme") == 500


async def _stock(core: Core, box: Box, name: str) -> int:
    return next(s.id for s in await products.list_stock_items(core, box.owner) if s.name == name)


async def _stock_level(core: Core, box: Box, name: str) -> int:
    items = await products.list_stock_items(core, box.owner)
    return next(s.stock_level for s in items if s.name == name)


async def test_an_add_is_all_or_nothing(core: Core) -> None:
    box = await _box(core)
    now = box.now()
    await baskets.add_tickets(core, box.web, BasketRef.web("first"), [_seat(box, "D5")], now=now)
    ref = BasketRef.web("second")
    with pytest.raises(errors.NotAvailable) as refused:
        await baskets.add_tickets(
            core, box.web, ref, [_seat(box, "D4"), _place(box), _seat(box, "D5")], now=now
        )
    assert refused.value.reason == errors.SEAT_TAKEN
    assert await _status(core, box) == (259, 1, 0)
    assert await _status(core, box, box.studio) == (60, 0, 0)
    with pytest.raises(errors.NotFound):  # the basket was not even made
        await baskets.get_basket(core, box.web, ref, now=now)
    # The same seat twice in one add: refused too.
    with pytest.raises(errors.NotAvailable):
        await baskets.add_tickets(core, box.web, ref, [_seat(box, "D6"), _seat(box, "D6")], now=now)
    assert await _status(core, box) == (259, 1, 0)


async def _set_instance(core: Core, box: Box, instance: int, **values: Any) -> None:
    async with core.uow(box.tenant_id, write=True) as uow:
        await uow.session.execute(update(Instance).where(Instance.id == instance).values(**values))
        await uow.commit()


async def test_every_refusal_changes_nothing(core: Core) -> None:
    box = await _box(core)
    now = box.now()
    ref = BasketRef.web("s")
    await baskets.add_tickets(core, box.web, ref, [_seat(box, "E1")], now=now)
    before = await baskets.get_basket(core, box.web, ref, now=now)

    async def refused(
        tickets: list[NewTicket], error: type[Exception], reason: str | None = None, **kw: Any
    ) -> None:
        with pytest.raises(error) as caught:
            await baskets.add_tickets(
                core, kw.get("who", box.web), ref, tickets, now=kw.get("at", now)
            )
        if reason is not None:
            assert getattr(caught.value, "reason", None) == reason

    # Seat or area, not both, not neither; each where the plan has it.
    await refused([NewTicket(instance_id=box.hamlet)], errors.InvalidInput)
    both = NewTicket(instance_id=box.hamlet, seat_id=box.seats["E2"], area_id=box.stalls)
    await refused([both], errors.InvalidInput)
    await refused([_seat(box, "E2", instance=box.studio)], errors.InvalidInput)
    await refused([NewTicket(instance_id=box.hamlet, area_id=box.stalls)], errors.InvalidInput)
    await refused([NewTicket(instance_id=box.hamlet, area_id=box.studio_area)], errors.NotFound)
    # Unknown instance, a ticket type the price list lacks.
    await refused([NewTicket(instance_id=2**62, area_id=box.studio_area)], errors.NotFound)
    await refused([_seat(box, "E2", ticket_type_id=2**40)], errors.InvalidInput)
    await refused([_seat(box, "E2", ticket_type_id=2**70)], errors.InvalidInput)
    # Off sale: the event, or outside the web sale window (the Owner may still sell there).
    await refused([_seat(box, "E2", instance=box.gala)], errors.NotAvailable, errors.OFF_SALE)
    after_start = box.start + timedelta(hours=1)
    await refused([_seat(box, "E2")], errors.NotAvailable, errors.OFF_SALE, at=after_start)
    # Cancelled.
    await _set_instance(core, box, box.hamlet2, cancelled=True)
    await refused([_seat(box, "E2", instance=box.hamlet2)], errors.NotAvailable, errors.CANCELLED)
    await _set_instance(core, box, box.hamlet2, cancelled=False, on_sale=False)
    await refused([_seat(box, "E2", instance=box.hamlet2)], errors.NotAvailable, errors.OFF_SALE)
    # Too many for one basket.
    many = [_place(box) for _ in range(50)]
    await refused(many, errors.NotAvailable, errors.TOO_MANY)
    assert await baskets.get_basket(core, box.web, ref, now=now) == before
    assert await _status(core, box) == (259, 1, 0)
    assert await _status(core, box, box.studio) == (60, 0, 0)
    assert await _status(core, box, box.hamlet2) == (260, 0, 0)


async def test_places_and_stock_run_out(core: Core) -> None:
    box = await _box(core)
    now = box.now()
    full = BasketRef.owner((await baskets.create_basket(core, box.owner, NewBasket(), now=now)).id)
    await baskets.add_tickets(core, box.owner, full, [_place(box) for _ in range(45)], now=now)
    other = BasketRef.web("late")
    with pytest.raises(errors.NotAvailable) as sold_out:
        await baskets.add_tickets(core, box.web, other, [_place(box) for _ in range(16)], now=now)
    assert sold_out.value.reason == errors.SOLD_OUT
    await baskets.add_tickets(core, box.web, other, [_place(box) for _ in range(15)], now=now)
    assert await _status(core, box, box.studio) == (0, 60, 0)
    tote = await _stock(core, box, "Tote Bag")
    await baskets.add_merchandise(
        core, box.owner, full, [NewMerchandise(stock_item_id=tote)] * 45, now=now
    )
    with pytest.raises(errors.NotAvailable) as exhausted:
        await baskets.add_merchandise(
            core, box.web, other, [NewMerchandise(stock_item_id=tote)] * 6, now=now
        )
    assert exhausted.value.reason == errors.STOCK_EXHAUSTED
    assert await _stock_level(core, box, "Tote Bag") == 5
    with pytest.raises(errors.NotAvailable) as too_many:
        await baskets.add_merchandise(
            core, box.owner, full, [NewMerchandise(stock_item_id=tote)] * 6, now=now
        )
    assert too_many.value.reason == errors.TOO_MANY


async def test_best_available_seats_sit_together_in_the_best_band(core: Core) -> None:
    box = await _box(core)
    now = box.now()
    names = {v: k for k, v in box.seats.items()}
    seats = await baskets.best_available(core, box.web, box.hamlet, 4)
    assert [names[s] for s in seats] == ["A9", "A10", "A11", "A12"]
    ref = BasketRef.web("s")
    view = await baskets.add_best_available(core, box.web, ref, box.hamlet, 4, now=now)
    assert sorted(t.seat_name or "" for t in view.tickets) == ["A10", "A11", "A12", "A9"]
    view = await baskets.add_best_available(core, box.web, ref, box.hamlet, 2, now=now)
    assert {t.seat_name for t in view.tickets[4:]} == {"A7", "A8"} or {
        t.seat_name for t in view.tickets[4:]
    } == {"A13", "A14"}
    with pytest.raises(errors.NotAvailable) as refused:
        await baskets.add_best_available(core, box.web, ref, box.studio, 2, now=now)
    assert refused.value.reason == errors.NO_BEST_AVAILABLE
    with pytest.raises(errors.NotAvailable) as too_many:
        await baskets.add_best_available(core, box.owner, ref, box.hamlet, 255, now=now)
    assert too_many.value.reason in (errors.SOLD_OUT, errors.TOO_MANY)


# --- races ---------------------------------------------------------------------------------------


async def test_racing_baskets_never_share_a_seat_nor_deadlock(core: Core) -> None:
    """Eight baskets (eight connections) each want three seats of the same six, named in
    different orders, at once. On PostgreSQL each locks its seats in seat-id order, so none
    waits in a cycle (a deadlock would raise); every seat ends held by at most one basket and
    each basket has all its seats or none."""
    box = await _box(core)
    now = box.now()
    row = [box.seats[f"F{n}"] for n in range(1, 7)]
    wants = [
        [row[0], row[1], row[2]],
        [row[2], row[1], row[0]],
        [row[5], row[3], row[1]],
        [row[1], row[3], row[5]],
        [row[4], row[5], row[0]],
        [row[3], row[4], row[2]],
        [row[0], row[5], row[3]],
        [row[2], row[4], row[1]],
    ]

    async def basket(index: int) -> set[int]:
        tickets = [NewTicket(instance_id=box.hamlet, seat_id=s) for s in wants[index]]
        try:
            view = await baskets.add_tickets(
                core, box.web, BasketRef.web(f"racer-{index}"), tickets, now=now
            )
        except errors.NotAvailable:
            return set()
        assert len(view.tickets) == 3
        return {t.seat_id for t in view.tickets if t.seat_id}

    won = await asyncio.gather(*(basket(i) for i in range(len(wants))))
    held = [s for seats in won for s in seats]
    assert held and len(held) == len(set(held))
    available, in_baskets, _ = await _status(core, box)
    assert (available, in_baskets) == (260 - len(held), len(held))


async def test_a_second_basket_waits_for_the_first_and_then_is_refused(
    core: Core, settings: object
) -> None:
    """The first basket's unit of work holds two seats and stays open; the second's add of one
    of them must wait (PostgreSQL: for the seat's row lock; SQLite: for the one writer); the
    first commits; the second is then refused and holds nothing."""
    box = await _box(core)
    now = box.now()
    a, b, c = box.seats["G1"], box.seats["G2"], box.seats["G3"]
    first = core.uow(box.tenant_id, write=True)
    await first.__aenter__()
    try:
        assert await inventory.hold_seats(first, box.hamlet, [b, a], holder=1)

        async def second() -> None:
            tickets = [NewTicket(instance_id=box.hamlet, seat_id=s) for s in (c, b)]
            await baskets.add_tickets(core, box.web, BasketRef.web("second"), tickets, now=now)

        task = asyncio.create_task(second())
        await until_another_waits_for_a_lock(str(getattr(settings, "database_url", "")), "add")
        assert not task.done()
        await first.commit()
    finally:
        await first.__aexit__(None, None, None)
    with pytest.raises(errors.NotAvailable):
        await task
    assert await _status(core, box) == (258, 2, 0)


# --- expiry --------------------------------------------------------------------------------------


async def test_expired_baskets_give_everything_back_by_the_clock(core: Core) -> None:
    box = await _box(core)
    now = box.now()
    web = BasketRef.web("s")
    await baskets.add_tickets(core, box.web, web, [_seat(box, "H1"), _place(box)], now=now)
    programme_id = await _stock(core, box, "Programme")
    await baskets.add_merchandise(
        core, box.web, web, [NewMerchandise(stock_item_id=programme_id)], now=now
    )
    paid = await baskets.create_basket(
        core,
        box.owner,
        NewBasket(
            tickets=(_seat(box, "H2"),),
            custom_payments=(NewCustomPayment(amount=Decimal("35"), payment_type="Cash"),),
        ),
        now=now,
    )
    assert paid.expires_at is None
    mine = box.tenant_id
    assert await baskets.release_expired(core, now + timedelta(minutes=14), tenant_id=mine) == 0
    assert await _status(core, box) == (258, 2, 0)
    later = now + timedelta(minutes=16)
    assert await baskets.release_expired(core, later, tenant_id=mine) == 1
    assert await baskets.release_expired(core, later, tenant_id=mine) == 0
    assert await baskets.release_expired(core, later) >= 0  # every tenant's: none of this one
    assert await _status(core, box) == (259, 1, 0)
    assert await _status(core, box, box.studio) == (60, 0, 0)
    assert await _stock_level(core, box, "Programme") == 500
    with pytest.raises(errors.NotFound):
        await baskets.get_basket(core, box.web, web, now=later)
    # The session starts a new basket; the paid Owner basket is still open.
    fresh = await baskets.add_tickets(core, box.web, web, [_seat(box, "H1")], now=later)
    assert [t.seat_name for t in fresh.tickets] == ["H1"]
    owner_view = await baskets.get_basket(core, box.owner, BasketRef.owner(paid.id), now=later)
    assert owner_view.state == "open"


async def test_a_write_after_expiry_releases_first(core: Core) -> None:
    box = await _box(core)
    now = box.now()
    web = BasketRef.web("s")
    old = await baskets.add_tickets(core, box.web, web, [_seat(box, "H5")], now=now)
    later = now + timedelta(minutes=20)
    new = await baskets.add_tickets(core, box.web, web, [_seat(box, "H6")], now=later)
    assert new.id != old.id and [t.seat_name for t in new.tickets] == ["H6"]
    assert await _status(core, box) == (259, 1, 0)
    owner = await baskets.create_basket(core, box.owner, NewBasket(), now=now)
    with pytest.raises(errors.Conflict):
        await baskets.add_tickets(
            core, box.owner, BasketRef.owner(owner.id), [_seat(box, "H7")], now=later
        )
    assert (
        await baskets.get_basket(core, box.owner, BasketRef.owner(owner.id), now=later)
    ).state == ("expired")


async def test_concurrent_sweeps_release_each_basket_once(core: Core) -> None:
    box = await _box(core)
    now = box.now()
    for index in range(6):
        tickets = [_seat(box, f"J{index * 2 + 3}"), _seat(box, f"J{index * 2 + 4}"), _place(box)]
        await baskets.add_tickets(core, box.web, BasketRef.web(f"s{index}"), tickets, now=now)
    assert await _status(core, box) == (248, 12, 0)
    later = now + timedelta(hours=1)
    mine = box.tenant_id
    counts = await asyncio.gather(
        baskets.release_expired(core, later, batch=2, tenant_id=mine),
        baskets.release_expired(core, later, batch=3, tenant_id=mine),
    )
    assert sum(counts) == 6
    assert await _status(core, box) == (260, 0, 0)
    assert await _status(core, box, box.studio) == (60, 0, 0)


# --- offers --------------------------------------------------------------------------------------


async def test_a_promo_code_discounts_its_events_tickets(core: Core) -> None:
    box = await _box(core)
    now = box.now()
    ref = BasketRef.web("s")
    await baskets.add_tickets(
        core,
        box.web,
        ref,
        [_seat(box, "A1"), _seat(box, "F1", ticket_type_id=box.types["Concession"]), _place(box)],
        now=now,
    )
    with pytest.raises(errors.InvalidInput):
        await baskets.update_basket(core, box.web, ref, BasketPatch(promo_code="NOPE"), now=now)
    view = await baskets.update_basket(
        core, box.web, ref, BasketPatch(promo_code=" preview10 "), now=now
    )
    assert view.promo_code == "PREVIEW10"
    assert [(t.price, t.discount, t.total) for t in view.tickets] == [
        (Decimal("35.00"), Decimal("3.50"), Decimal("31.50")),
        (Decimal("20.00"), Decimal("2.00"), Decimal("18.00")),
        (Decimal("15.00"), Decimal("0.00"), Decimal("15.00")),
    ]
    assert [o.name for o in view.offers] == ["Preview discount"]
    assert view.tickets[2].offer is None and view.tickets[0].offer is not None
    assert (view.total, view.total_discount) == (Decimal("64.50"), Decimal("5.50"))
    cleared = await baskets.update_basket(core, box.web, ref, BasketPatch(promo_code=""), now=now)
    assert (cleared.total, cleared.total_discount, cleared.offers) == (
        Decimal("70.00"),
        Decimal("0.00"),
        (),
    )


def test_ticket_discount_rounds_half_up_and_never_passes_the_price() -> None:
    rule = baskets.OfferRule(1, "x", Decimal("12.5"), None, frozenset(), frozenset({7}))
    assert baskets.ticket_discount(rule, 1001, 1, 7) == 125  # 125.125
    assert baskets.ticket_discount(rule, 1004, 1, 7) == 126  # 125.5
    assert baskets.ticket_discount(rule, 1004, 1, 8) == 0
    flat = baskets.OfferRule(1, "x", None, 500, frozenset({3}), frozenset())
    assert baskets.ticket_discount(flat, 300, 3, 1) == 300
    assert baskets.ticket_discount(flat, 900, 4, 1) == 0
    assert baskets.ticket_discount(None, 900, 4, 1) == 0


# --- confirmation and orders ---------------------------------------------------------------------


async def test_confirming_an_owner_basket_makes_the_order(core: Core, settings: Any) -> None:
    box = await _box(core)
    now = box.now()
    customer = await _customer(core, box)
    memberships = await products.list_memberships_for_sale(core, box.owner)
    friends = next(m for m in memberships if m.membership.name == "Friends")
    funds = await products.list_funds(core, box.owner)
    kinds = await products.list_gift_voucher_types(core, box.owner)
    programme_id = await _stock(core, box, "Programme")
    view = await baskets.create_basket(
        core,
        box.owner,
        NewBasket(
            customer_id=customer,
            tickets=(_seat(box, "B5"), _seat(box, "B6"), _place(box)),
            merchandise=(NewMerchandise(stock_item_id=programme_id),) * 2,
            donations=(NewDonation(fund_id=funds[0].id, amount=Decimal("10")),),
            gift_vouchers=(NewGiftVoucher(amount=Decimal("25"), gift_voucher_type_id=kinds[0].id),),
            membership_subscriptions=(
                NewMembershipSubscription(membership_id=friends.membership.id),
            ),
            promo_code="preview10",
        ),
        now=now,
    )
    # 2 x 31.50 + 15 + 2 x 5 + 10 + 25 + 60
    assert view.total == Decimal("183.00") and view.outstanding == view.total
    assert await _stock_level(core, box, "Programme") == 498
    ref = BasketRef.owner(view.id)
    with pytest.raises(errors.PaymentRequired):
        await baskets.confirm(core, box.owner, ref, Confirmation(), now=now)
    await baskets.add_custom_payment(
        core, box.owner, ref, NewCustomPayment(amount=Decimal("100"), payment_type="Cash"), now=now
    )
    with pytest.raises(errors.PaymentRequired) as still:
        await baskets.confirm(core, box.owner, ref, Confirmation(), now=now)
    assert still.value.outstanding == Decimal("83.00")
    await baskets.add_custom_payment(
        core,
        box.owner,
        ref,
        NewCustomPayment(amount=Decimal("83"), payment_type="Card", attributes={"Till": "2"}),
        now=now,
    )
    with _written(core) as sent:
        order = await baskets.confirm(
            core, box.owner, ref, Confirmation(send_confirmation_email=True), now=now
        )
    # The basket; the offer (3); tickets, merchandise, donations, vouchers, memberships, the
    # customer's memberships, payments; the tickets' seats, locked and sold, two areas' counts;
    # barcodes, codes, the subscription and its basket line; the basket; the customer and
    # tenant (for the mail); the timeline and audit entries. Whatever the number of tickets.
    assert len(sent) == 26, sent
    assert order.id == view.id and order.total == Decimal("183.00") and order.paid == order.total
    assert order.confirmed_at == now and order.customer_id == customer
    barcodes = [t.barcode for t in order.tickets] + [m.barcode for m in order.merchandise_items]
    assert all(b and len(b) == 16 and b.isdigit() for b in barcodes)
    assert len(set(barcodes)) == 5
    assert [t.discount for t in order.tickets] == [
        Decimal("3.50"),
        Decimal("3.50"),
        Decimal("0.00"),
    ]
    (voucher,) = order.gift_vouchers
    assert voucher.code and len(voucher.code) == 16 and voucher.balance == Decimal("25.00")
    (membership,) = order.membership_subscriptions
    assert membership.subscription_id is not None and not membership.is_renewal
    assert [p.payment_type for p in order.payments] == ["Cash", "Card"]
    assert await _status(core, box) == (258, 0, 2)
    assert await _status(core, box, box.studio) == (59, 0, 1)
    assert await _stock_level(core, box, "Programme") == 498
    held = await customers.get_customer(core, box.owner, customer, parts=("subscriptions",))
    assert [s.membership_id for s in held.subscriptions] == [friends.membership.id]
    assert held.subscriptions[0].start_date == membership.start_date
    timeline = await customers.get_timeline(core, box.owner, customer)
    assert [e.data["order"] for e in timeline if e.kind == "order_confirmed"] == [order.id]
    mails = list((settings.var_dir / "outbox").glob("*.eml"))
    assert len(mails) == 1 and str(order.id) in mails[0].read_text()
    assert voucher.code in mails[0].read_text()  # the buyer learns the code they pass on
    # The order reads, and the basket is no longer open.
    assert await orders.get_order(core, box.owner, order.id) == order
    day = order.confirmed_local.date()
    assert [o.id for o in await orders.list_orders_confirmed_on(core, box.owner, day)] == [order.id]
    assert await orders.list_orders_confirmed_on(core, box.owner, day + timedelta(days=1)) == ()
    assert [o.id for o in await orders.list_customer_orders(core, box.owner, customer)] == [
        order.id
    ]
    me = Principal(box.tenant_id, "customer", False, customer_id=customer)
    assert (await orders.get_order(core, me, order.id)).id == order.id
    stranger = Principal(box.tenant_id, "customer", False, customer_id=customer + 1)
    with pytest.raises(errors.NotFound):
        await orders.get_order(core, stranger, order.id)
    with pytest.raises(errors.NotFound):
        await orders.get_order(core, box.web, order.id)
    with pytest.raises(errors.Conflict):
        await baskets.add_tickets(core, box.owner, ref, [_seat(box, "B7")], now=now)
    with pytest.raises(errors.PermissionDenied):
        await orders.list_orders_confirmed_on(core, box.web, day)
    # The membership is now held: buying it again is refused (add and confirm).
    again = await baskets.create_basket(core, box.owner, NewBasket(customer_id=customer), now=now)
    with pytest.raises(errors.MembershipHeld):
        await baskets.add_membership_subscriptions(
            core,
            box.owner,
            BasketRef.owner(again.id),
            [NewMembershipSubscription(membership_id=friends.membership.id)],
            now=now,
        )


async def test_confirm_refusals(core: Core) -> None:
    box = await _box(core)
    now = box.now()
    memberships = await products.list_memberships_for_sale(core, box.owner)
    friends = memberships[0].membership.id
    anonymous = await baskets.create_basket(
        core,
        box.owner,
        NewBasket(membership_subscriptions=(NewMembershipSubscription(membership_id=friends),)),
        now=now,
    )
    ref = BasketRef.owner(anonymous.id)
    await baskets.update_membership_subscriptions(
        core,
        box.owner,
        ref,
        None,
        baskets.MembershipSubscriptionPatch(overridden_price=Decimal(0)),
        now=now,
    )
    with pytest.raises(errors.InvalidInput) as no_customer:
        await baskets.confirm(core, box.owner, ref, Confirmation(), now=now)
    assert no_customer.value.field == "customer"
    # Held outside the renewal window: refused at confirmation too (given after the add).
    customer = await _customer(core, box)
    await baskets.update_basket(core, box.owner, ref, BasketPatch(customer_id=customer), now=now)
    today = now.date()
    await customers.add_subscription(
        core, box.owner, customer, str(friends), start=today, expiry=today + timedelta(days=300)
    )
    with pytest.raises(errors.MembershipHeld):
        await baskets.confirm(core, box.owner, ref, Confirmation(), now=now)
    # A web basket that is not free needs a payment it cannot take.
    web = BasketRef.web("s")
    await baskets.add_tickets(core, box.web, web, [_seat(box, "K1")], now=now)
    with pytest.raises(errors.PaymentRequired):
        await baskets.confirm(core, box.web, web, Confirmation(), now=now)
    with pytest.raises(errors.PermissionDenied):
        await baskets.add_custom_payment(
            core, box.web, web, NewCustomPayment(amount=Decimal(1), payment_type="x"), now=now
        )
    assert await _status(core, box) == (259, 1, 0)


async def test_a_free_web_basket_confirms(core: Core) -> None:
    box = await _box(core)
    now = box.now()
    web = BasketRef.web("s")
    await baskets.update_basket(core, box.web, web, BasketPatch(attributes={"Note": "hi"}), now=now)
    order = await baskets.confirm(core, box.web, web, Confirmation(), now=now)
    assert order.total == 0 and order.tickets == () and order.attributes == (("Note", "hi"),)
    with pytest.raises(errors.NotFound):  # the session's basket is gone
        await baskets.get_basket(core, box.web, web, now=now)


async def test_items_change_and_go(core: Core) -> None:
    box = await _box(core)
    now = box.now()
    ref = BasketRef.web("s")
    funds = await products.list_funds(core, box.owner)
    view = await baskets.add_donations(
        core, box.web, ref, [NewDonation(fund_id=funds[0].id, amount=Decimal("5"))], now=now
    )
    donation = view.donations[0].id
    view = await baskets.update_donations(
        core, box.web, ref, None, DonationPatch(amount=Decimal("7.5")), now=now
    )
    assert view.donations[0].amount == Decimal("7.50") and view.total == Decimal("7.50")
    with pytest.raises(errors.NotFound):
        await baskets.update_donations(core, box.web, ref, [donation + 1], DonationPatch(), now=now)
    with pytest.raises(errors.InvalidInput):
        await baskets.add_donations(
            core, box.web, ref, [NewDonation(fund_id=funds[0].id, amount=Decimal("0.001"))], now=now
        )
    with pytest.raises(errors.NotFound):
        await baskets.add_donations(
            core, box.web, ref, [NewDonation(fund_id=2**50, amount=Decimal("1"))], now=now
        )
    view = await baskets.remove_donations(core, box.web, ref, [donation], now=now)
    assert view.donations == ()
    kinds = {k.name: k for k in await products.list_gift_voucher_types(core, box.owner)}
    custom = kinds["Gift Voucher (custom amount)"].id
    with pytest.raises(errors.InvalidInput):
        await baskets.add_gift_vouchers(
            core,
            box.web,
            ref,
            [NewGiftVoucher(amount=Decimal(5), gift_voucher_type_id=custom)],
            now=now,
        )
    with pytest.raises(errors.InvalidInput):
        await baskets.add_gift_vouchers(
            core,
            box.web,
            ref,
            [NewGiftVoucher(amount=Decimal(5), delivery_type="OtherEmail")],
            now=now,
        )
    view = await baskets.add_gift_vouchers(
        core,
        box.web,
        ref,
        [NewGiftVoucher(amount=Decimal(40), gift_voucher_type_id=custom)],
        now=now,
    )
    assert view.gift_vouchers[0].code is None and view.total == Decimal("40.00")
    view = await baskets.add_tickets(core, box.web, ref, [_seat(box, "L1")], now=now)
    view = await baskets.update_tickets(
        core,
        box.web,
        ref,
        None,
        TicketPatch(ticket_type_id=box.types["Under 18"], attributes={"Registrant Name": "Bo"}),
        now=now,
    )
    assert view.tickets[0].price == Decimal("8.00")
    assert view.tickets[0].attributes == (("RegistrantName", "Bo"),)
    with pytest.raises(errors.PermissionDenied):  # a price is the Owner's to override
        await baskets.add_membership_subscriptions(
            core,
            box.web,
            ref,
            [NewMembershipSubscription(membership_id=1, overridden_price=Decimal(1))],
            now=now,
        )


# --- isolation and statements --------------------------------------------------------------------


async def test_another_tenants_basket_is_missing(core: Core) -> None:
    box = await _box(core)
    other = await _box(core)
    now = box.now()
    view = await baskets.create_basket(core, box.owner, NewBasket(), now=now)
    await baskets.add_tickets(core, box.web, BasketRef.web("shared"), [_seat(box, "M1")], now=now)
    with pytest.raises(errors.NotFound):
        await baskets.get_basket(core, other.owner, BasketRef.owner(view.id), now=now)
    with pytest.raises(errors.NotFound):
        await baskets.get_basket(core, other.web, BasketRef.web("shared"), now=now)
    with pytest.raises(errors.NotFound):
        await baskets.add_tickets(
            core, other.owner, BasketRef.owner(view.id), [_seat(other, "M1")], now=now
        )
    with pytest.raises(errors.NotFound):
        await orders.get_order(core, other.owner, view.id)


async def test_adding_tickets_takes_few_statements(core: Core) -> None:
    """An add of four tickets (three seats and a place, a web basket that exists) and a
    confirmation of four tickets: counted, whatever the number of seats."""
    box = await _box(core)
    now = box.now()
    ref = BasketRef.web("s")
    await baskets.add_tickets(core, box.web, ref, [_seat(box, "A20")], now=now)
    tickets = [_seat(box, "A17"), _seat(box, "A18"), _seat(box, "A19"), _place(box)]
    with _written(core) as sent:
        view = await baskets.add_tickets(core, box.web, ref, tickets, now=now)
    assert len(view.tickets) == 5
    # the basket (locked), instances, seats, areas, prices; the seats locked, changed, their
    # area's count, their band's count; the places; the tickets inserted; the basket touched;
    # its tickets read; the audit entry
    assert len(sent) == 14, sent
    with _written(core) as sent:
        await baskets.add_tickets(core, box.web, ref, [_seat(box, "A16")] * 1, now=now)
    assert len(sent) == 12, sent  # one seat: no areas read, no places


async def test_two_first_adds_of_one_session_make_one_basket(core: Core) -> None:
    """A browser sends two adds at once before it has a basket: both land in one basket (the
    second's insert of the basket meets the session's unique hash and is tried again)."""
    box = await _box(core)
    now = box.now()
    ref = BasketRef.web("twice")
    views = await asyncio.gather(
        baskets.add_tickets(core, box.web, ref, [_seat(box, "C10")], now=now),
        baskets.add_tickets(core, box.web, ref, [_seat(box, "C11")], now=now),
    )
    assert views[0].id == views[1].id
    final = await baskets.get_basket(core, box.web, ref, now=now)
    assert sorted(t.seat_name or "" for t in final.tickets) == ["C10", "C11"]


async def test_listing_orders_reads_each_kind_of_item_once(core: Core) -> None:
    """Three orders of a day (tickets and a payment each) are read in three statements: the
    baskets, their tickets, their payments, however many orders there are."""
    from tests.services.box_office import statements

    box = await _box(core)
    now = box.now()
    customer = await _customer(core, box)
    for index, name in enumerate(("D1", "D2", "D3")):
        view = await baskets.create_basket(
            core,
            box.owner,
            NewBasket(
                customer_id=customer,
                tickets=(_seat(box, name),),
                custom_payments=(NewCustomPayment(amount=Decimal(35), payment_type="Cash"),),
            ),
            now=now,
        )
        at = now + timedelta(seconds=index)
        await baskets.confirm(core, box.owner, BasketRef.owner(view.id), Confirmation(), now=at)
    day = (await orders.get_order(core, box.owner, view.id)).confirmed_local.date()
    with statements(core) as sent:
        listed = await orders.list_orders_confirmed_on(core, box.owner, day)
    assert [sorted(t.seat_name or "" for t in o.tickets) for o in listed] == [
        ["D1"],
        ["D2"],
        ["D3"],
    ]
    assert len(sent) == 3, sent
    mine = await orders.list_customer_orders(core, box.owner, customer)
    assert {o.id for o in mine} == {o.id for o in listed}
    assert await _status(core, box) == (257, 0, 3)


def test_a_membership_is_renewed_only_within_its_window() -> None:
    today = datetime(2027, 3, 10).date()
    fresh = baskets.membership_term(None, today, 12, 60)
    assert fresh is not None and not fresh.is_renewal
    assert (fresh.start, fresh.expiry) == (today, datetime(2028, 3, 9).date())
    lapsed = baskets.membership_term(today - timedelta(days=1), today, 12, 60)
    assert lapsed is not None and not lapsed.is_renewal and lapsed.start == today
    ending = baskets.membership_term(today + timedelta(days=60), today, 1, 60)
    assert ending is not None and ending.is_renewal
    assert (ending.start, ending.expiry) == (
        today + timedelta(days=61),
        datetime(2027, 6, 9).date(),
    )
    assert baskets.membership_term(today + timedelta(days=61), today, 12, 60) is None


async def test_a_renewal_starts_after_the_current_subscription(core: Core) -> None:
    box = await _box(core)
    now = box.now()
    customer = await _customer(core, box)
    friends = (await products.list_memberships_for_sale(core, box.owner))[0]
    today = now.date()
    ends = today + timedelta(days=20)
    await customers.add_subscription(
        core, box.owner, customer, str(friends.membership.id), start=today, expiry=ends
    )
    view = await baskets.create_basket(
        core,
        box.owner,
        NewBasket(
            customer_id=customer,
            membership_subscriptions=(
                NewMembershipSubscription(membership_id=friends.membership.id, auto_renew=True),
            ),
        ),
        now=now,
    )
    (line,) = view.membership_subscriptions
    assert line.is_renewal and line.start_date == ends + timedelta(days=1)
    assert line.price == friends.renewal_price and not line.price_overridden
    await baskets.add_custom_payment(
        core,
        box.owner,
        BasketRef.owner(view.id),
        NewCustomPayment(amount=line.price, payment_type="Cash"),
        now=now,
    )
    order = await baskets.confirm(
        core, box.owner, BasketRef.owner(view.id), Confirmation(), now=now
    )
    held = await customers.get_customer(core, box.owner, customer, parts=("subscriptions",))
    assert [(s.start_date, s.auto_renew) for s in held.subscriptions] == [
        (today, False),
        (ends + timedelta(days=1), True),
    ]
    assert order.membership_subscriptions[0].is_renewal


async def test_a_customer_session_attaches_only_itself(core: Core) -> None:
    box = await _box(core)
    now = box.now()
    me = await _customer(core, box, "me@example.com")
    other = await _customer(core, box, "other@example.com")
    session = Principal(box.tenant_id, "customer", False, customer_id=me)
    ref = BasketRef.web("s")
    view = await baskets.add_tickets(core, session, ref, [_seat(box, "E9")], now=now)
    assert view.customer_id == me  # a signed-in session's basket is its customer's
    with pytest.raises(errors.NotFound):
        await baskets.update_basket(core, session, ref, BasketPatch(customer_id=other), now=now)
    with pytest.raises(errors.NotFound):  # an anonymous session names no customer
        await baskets.update_basket(
            core, box.web, BasketRef.web("anon"), BasketPatch(customer_id=other), now=now
        )
    assert (await baskets.get_basket(core, session, ref, now=now)).customer_id == me
