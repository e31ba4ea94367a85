"""Real confirmed orders for the dialects' order reads (no fixtures here): baskets made and
confirmed through ``services/baskets.py`` by a System Owner, on a tenant with the demo box
office (``tests/services/box_office.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import event

from boxoffice.bootstrap import Core
from boxoffice.domain.commands import (
    BasketRef,
    Confirmation,
    NewBasket,
    NewCustomPayment,
    NewDonation,
    NewGiftVoucher,
    NewMembershipSubscription,
    NewMerchandise,
    NewTicket,
)
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import OrderView
from boxoffice.services import baskets, products, programme, seating


@dataclass
class Shop:
    """What the demo box office sells, found once per tenant."""

    owner: Principal
    hamlet: int
    seats: dict[str, int]
    programme: int
    fund: int
    voucher_type: int
    membership: int
    now: datetime  # inside the first Hamlet's web sale window


async def shop(core: Core, tenant_id: int) -> Shop:
    owner = Principal(tenant_id=tenant_id, actor="api-user:test", full_access=True)
    hamlet = (await programme.list_instances(core, owner, event_name="Hamlet"))[0]
    plan = await seating.instance_plan(core, owner, hamlet.id)
    memberships = await products.list_memberships_for_sale(core, owner)
    stock = await products.list_stock_items(core, owner)
    return Shop(
        owner=owner,
        hamlet=hamlet.id,
        seats={s.name: s.id for area in plan.areas for s in area.seats},
        programme=next(s.id for s in stock if s.name == "Programme"),
        fund=(await products.list_funds(core, owner))[0].id,
        voucher_type=(await products.list_gift_voucher_types(core, owner))[0].id,
        membership=next(m.membership.id for m in memberships if m.membership.name == "Friends"),
        now=hamlet.start_utc - timedelta(days=3),
    )


async def confirmed_order(
    core: Core,
    s: Shop,
    customer_id: int,
    *,
    seats: tuple[str, ...] = ("B5",),
    everything: bool = False,
    at: datetime | None = None,
) -> OrderView:
    """An order of the customer's, paid in cash: tickets for ``seats`` of the first Hamlet;
    ``everything`` adds a programme, a donation of 10, a gift voucher of 25 and a Friends
    membership (once per customer). ``at``: the moment of the basket and its confirmation."""
    now = at or s.now
    view = await baskets.create_basket(
        core,
        s.owner,
        NewBasket(
            customer_id=customer_id,
            tickets=tuple(NewTicket(instance_id=s.hamlet, seat_id=s.seats[n]) for n in seats),
            merchandise=(NewMerchandise(stock_item_id=s.programme),) if everything else (),
            donations=(NewDonation(fund_id=s.fund, amount=Decimal("10")),) if everything else (),
            gift_vouchers=(
                (NewGiftVoucher(amount=Decimal("25"), gift_voucher_type_id=s.voucher_type),)
                if everything
                else ()
            ),
            membership_subscriptions=(
                (NewMembershipSubscription(membership_id=s.membership),) if everything else ()
            ),
        ),
        now=now,
    )
    ref = BasketRef.owner(view.id)
    await baskets.add_custom_payment(
        core, s.owner, ref, NewCustomPayment(amount=view.total, payment_type="Cash"), now=now
    )
    return await baskets.confirm(core, s.owner, ref, Confirmation(), now=now)


@contextmanager
def statements(core: Core) -> Iterator[list[str]]:
    """The SQL statements sent meanwhile on either engine (reads and writes; tenant settings
    left out)."""
    engines = {id(e): e.sync_engine for e in (core.engine, core.read_engine) if e is not None}
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "set_config" not in statement:
            sent.append(statement)

    for engine in engines.values():
        event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        for engine in engines.values():
            event.remove(engine, "before_cursor_execute", count)
