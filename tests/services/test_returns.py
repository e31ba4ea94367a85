"""Returns (``baskets.return_tickets``): a System Owner returns tickets of an order, the seats
and places go back on sale, the refund is a negative custom payment; every refusal changes
nothing; a returned seat sells again, also while a new buyer races the return. SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from boxoffice.bootstrap import Core
from boxoffice.domain import errors
from boxoffice.domain.commands import (
    BasketRef,
    Confirmation,
    NewBasket,
    NewCustomPayment,
    NewTicket,
)
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import OrderView
from boxoffice.services import baskets, customers, inventory, orders
from tests.services.box_office import until_another_waits_for_a_lock
from tests.services.test_baskets import Box, _box, _customer, _place, _seat, _status, _written


async def _order(
    core: Core, box: Box, tickets: tuple[NewTicket, ...], customer: int | None = None
) -> OrderView:
    """An order of ``tickets``, paid in cash (no promo code: a seat costs 35.00, a place 15.00)."""
    now = box.now()
    view = await baskets.create_basket(
        core, box.owner, NewBasket(customer_id=customer, tickets=tickets), now=now
    )
    ref = BasketRef.owner(view.id)
    payment = NewCustomPayment(amount=view.total, payment_type="Cash")
    await baskets.add_custom_payment(core, box.owner, ref, payment, now=now)
    return await baskets.confirm(core, box.owner, ref, Confirmation(), now=now)


async def test_returned_tickets_go_back_on_sale_and_the_refund_nets_out(core: Core) -> None:
    box = await _box(core)
    customer = await _customer(core, box)
    order = await _order(
        core, box, (_seat(box, "C1"), _seat(box, "C2"), _place(box)), customer=customer
    )
    assert order.total == order.paid == Decimal("85.00")
    assert await _status(core, box) == (258, 0, 2)
    assert await _status(core, box, box.studio) == (59, 0, 1)
    c1, c2, place = order.tickets
    later = box.now() + timedelta(hours=1)
    refund = NewCustomPayment(amount=Decimal("50"), payment_type="Cash", attributes={"Till": "3"})
    with _written(core) as sent:
        returned = await baskets.return_tickets(
            core, box.owner, order.id, [c1.id, place.id], refund=refund, now=later
        )
    # The order (locked) and its tickets; the seat rows locked, moved, their area's count and
    # their band's (decision 0120); the place's count; the tickets marked; the payments counted
    # and the refund; the order's version; the timeline and audit entries; the order read back
    # (order, tickets, payments).
    assert len(sent) == 16, sent
    assert [t.returned_at for t in returned.tickets] == [later, None, later]
    assert returned.total == Decimal("35.00")
    assert [p.amount for p in returned.payments] == [Decimal("85.00"), Decimal("-50.00")]
    assert returned.payments[1].attributes == (("Till", "3"),)
    assert returned.paid == Decimal("35.00")
    assert await orders.get_order(core, box.owner, order.id) == returned
    assert await _status(core, box) == (259, 0, 1)
    assert await _status(core, box, box.studio) == (60, 0, 0)
    timeline = await customers.get_timeline(core, box.owner, customer)
    assert [e.data["tickets"] for e in timeline if e.kind == "tickets_returned"] == [2]
    # A return without a refund: the last ticket; paid stays.
    again = await baskets.return_tickets(core, box.owner, order.id, [c2.id], now=later)
    assert again.total == Decimal("0.00") and again.paid == Decimal("35.00")
    assert await _status(core, box) == (260, 0, 0)
    # The returned seat sells again, to another basket.
    resold = await _order(core, box, (_seat(box, "C1"),))
    assert resold.tickets[0].seat_id == c1.seat_id and resold.tickets[0].returned_at is None
    assert await _status(core, box) == (259, 0, 1)


async def test_every_return_refusal_changes_nothing(core: Core) -> None:
    box = await _box(core)
    other = await _box(core)
    order = await _order(core, box, (_seat(box, "D1"), _seat(box, "D2")))
    second = await _order(core, box, (_seat(box, "D3"),))
    foreign = await _order(core, other, (_seat(other, "D1"),))
    d1, d2 = order.tickets
    now = box.now()

    async def refused(
        error: type[Exception],
        ticket_ids: list[int],
        *,
        order_id: int = order.id,
        refund: NewCustomPayment | None = None,
        principal: Principal = box.owner,
    ) -> Any:
        with pytest.raises(error) as caught:
            await baskets.return_tickets(
                core, principal, order_id, ticket_ids, refund=refund, now=now
            )
        return caught.value

    await baskets.return_tickets(core, box.owner, order.id, [d1.id], now=now)
    before = await orders.get_order(core, box.owner, order.id)
    await refused(errors.Conflict, [d1.id])  # returned twice
    await refused(errors.Conflict, [d2.id, d1.id])  # one of them returned already
    await refused(errors.NotFound, [second.tickets[0].id])  # a ticket of another order
    await refused(errors.NotFound, [d2.id], order_id=foreign.id)  # another tenant's order
    await refused(errors.NotFound, [foreign.tickets[0].id], order_id=foreign.id)
    await refused(errors.NotFound, [d2.id], order_id=12345)
    await refused(errors.NotFound, [d2.id], order_id=-1)
    await refused(errors.PermissionDenied, [d2.id], principal=box.web)
    assert (await refused(errors.InvalidInput, [])).field == "tickets"
    assert (await refused(errors.InvalidInput, [d2.id, d2.id])).field == "ticket"
    too_much = NewCustomPayment(amount=Decimal("70.01"), payment_type="Cash")
    assert (await refused(errors.InvalidInput, [d2.id], refund=too_much)).field == ("refund.amount")
    nameless = NewCustomPayment(amount=Decimal("1"), payment_type="")
    await refused(errors.InvalidInput, [d2.id], refund=nameless)
    # An open basket is no order.
    open_basket = await baskets.create_basket(
        core, box.owner, NewBasket(tickets=(_seat(box, "D9"),)), now=now
    )
    await refused(errors.NotFound, [open_basket.tickets[0].id], order_id=open_basket.id)
    assert await orders.get_order(core, box.owner, order.id) == before
    assert await _status(core, box) == (257, 1, 2)


async def test_a_new_buyer_waits_for_a_return_and_then_gets_the_seat(
    core: Core, settings: object
) -> None:
    """The return's unit of work has moved the sold seat back and stays open; a buyer's add of
    that seat must wait (PostgreSQL: for the seat's row lock; SQLite: for the one writer); the
    return commits; the buyer then holds it."""
    box = await _box(core)
    now = box.now()
    order = await _order(core, box, (_seat(box, "E1"),))
    seat = box.seats["E1"]
    returning = core.uow(box.tenant_id, write=True)
    await returning.__aenter__()
    try:
        assert await inventory.return_seats(returning, box.hamlet, [seat], order.id)

        async def buyer() -> int:
            view = await baskets.add_tickets(
                core, box.web, BasketRef.web("buyer"), [_seat(box, "E1")], now=now
            )
            return len(view.tickets)

        task = asyncio.create_task(buyer())
        await until_another_waits_for_a_lock(str(getattr(settings, "database_url", "")), "add")
        assert not task.done()
        await returning.commit()
    finally:
        await returning.__aexit__(None, None, None)
    assert await task == 1
    assert await _status(core, box) == (259, 1, 0)
    # The seat is no longer the order's: returning it now is refused and changes nothing.
    with pytest.raises(errors.Conflict):
        await baskets.return_tickets(core, box.owner, order.id, [order.tickets[0].id], now=now)
    assert await _status(core, box) == (259, 1, 0)


async def test_returns_race_new_buyers_without_selling_a_seat_twice(core: Core) -> None:
    """Four orders' seats are returned while eight buyers (own sessions) try to add them, all
    at once: each seat ends with at most one buyer, and the counts add up to the capacity."""
    box = await _box(core)
    now = box.now()
    names = ["H1", "H2", "H3", "H4"]
    sold = [await _order(core, box, (_seat(box, n),)) for n in names]

    async def give_back(order: OrderView) -> None:
        await baskets.return_tickets(core, box.owner, order.id, [order.tickets[0].id], now=now)

    async def buy(index: int) -> int | None:
        try:
            view = await baskets.add_tickets(
                core,
                box.web,
                BasketRef.web(f"buyer-{index}"),
                [_seat(box, names[index % 4])],
                now=now,
            )
        except errors.NotAvailable:
            return None
        return view.tickets[0].seat_id

    results = await asyncio.gather(*(give_back(o) for o in sold), *(buy(i) for i in range(8)))
    held = [s for s in results[4:] if s is not None]
    assert len(held) == len(set(held))
    available, in_baskets, sold_count = await _status(core, box)
    assert sold_count == 0 and in_baskets == len(held)
    assert available + in_baskets + sold_count == 260
    for order in sold:  # every ticket returned once
        view = await orders.get_order(core, box.owner, order.id)
        assert view.tickets[0].returned_at == now
