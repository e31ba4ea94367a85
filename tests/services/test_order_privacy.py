"""A customer's baskets and orders under data protection: the export holds their orders; the
erasure blanks what they typed into baskets and orders (gift voucher names, messages and
addresses, donation names, ticket and basket attributes) and keeps the money, seats and codes;
a deletion also detaches the orders. SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from sqlalchemy import select

from boxoffice.bootstrap import Core
from boxoffice.domain import errors
from boxoffice.domain.commands import (
    BasketPatch,
    BasketRef,
    Confirmation,
    NewBasket,
    NewCustomPayment,
    NewDonation,
    NewGiftVoucher,
    NewTicket,
)
from boxoffice.domain.ids import customer_code
from boxoffice.domain.views import OrderView
from boxoffice.services import baskets, erasure, orders, privacy, products
from boxoffice.store.models import Tenant
from tests.services.test_baskets import Box, _box, _customer, _seat, _status

NEEDLES = ("Zebediah", "Quillfeather", "zq@example.org", "Happy birthday Zed", "Wheelchair Q")


async def _bought(
    core: Core, box: Box, customer: int, seats: tuple[str, str] = ("A3", "A4")
) -> tuple[OrderView, int]:
    """An order full of typed text, and an open basket with some."""
    now = box.now()
    funds = await products.list_funds(core, box.owner)
    view = await baskets.create_basket(
        core,
        box.owner,
        NewBasket(
            customer_id=customer,
            tickets=(
                NewTicket(
                    instance_id=box.hamlet,
                    seat_id=box.seats[seats[0]],
                    attributes={"Access": NEEDLES[4]},
                ),
            ),
            donations=(
                NewDonation(
                    fund_id=funds[0].id,
                    amount=Decimal("10"),
                    recognition_name=NEEDLES[0],
                    tribute_name=NEEDLES[1],
                ),
            ),
            gift_vouchers=(
                NewGiftVoucher(
                    amount=Decimal("20"),
                    to_name=NEEDLES[0],
                    from_name=NEEDLES[1],
                    message=NEEDLES[3],
                    delivery_type="OtherEmail",
                    delivery_email_address=NEEDLES[2],
                ),
            ),
            attributes={"Note": NEEDLES[3]},
        ),
        now=now,
    )
    ref = BasketRef.owner(view.id)
    payment = NewCustomPayment(amount=view.total, payment_type="Cash")
    await baskets.add_custom_payment(core, box.owner, ref, payment, now=now)
    order = await baskets.confirm(core, box.owner, ref, Confirmation(), now=now)
    me = baskets.Principal(box.tenant_id, "customer", False, customer_id=customer)
    open_ref = BasketRef.web(f"open-{customer}")
    await baskets.add_tickets(core, me, open_ref, [_seat(box, seats[1])], now=now)
    opened = await baskets.update_basket(
        core, me, open_ref, BasketPatch(attributes={"Note": NEEDLES[1]}), now=now
    )
    assert opened.customer_id == customer
    return order, opened.id


async def _tenant_name(core: Core, tenant_id: int) -> str:
    async with core.uow(None) as uow:
        stmt = select(Tenant.name).where(Tenant.id == tenant_id)
        name = (await uow.session.execute(stmt.execution_options(unscoped=True))).scalar()
    assert isinstance(name, str)
    return name


async def test_the_export_holds_the_customers_orders(core: Core) -> None:
    box = await _box(core)
    customer = await _customer(core, box)
    other = await _customer(core, box, "other@example.com")
    order, _ = await _bought(core, box, customer)
    await _bought(core, box, other, ("B3", "B4"))  # not in the first one's export

    data = await privacy.export_customer(
        core, await _tenant_name(core, box.tenant_id), customer_code(customer)
    )

    (exported,) = data["orders"]
    assert exported["id"] == order.id and exported["total"] == "65.00"
    assert exported["gift_vouchers"][0]["to_name"] == NEEDLES[0]
    assert exported["tickets"][0]["attributes"] == [["Access", NEEDLES[4]]]
    orjson.dumps(data)  # JSON-ready


async def test_erasure_blanks_typed_text_and_keeps_the_bookkeeping(core: Core) -> None:
    box = await _box(core)
    customer = await _customer(core, box)
    order, open_id = await _bought(core, box, customer)
    before = await _status(core, box)

    await erasure.erase_customer(core, box.owner, customer)

    after = await orders.get_order(core, box.owner, order.id)
    dumped = repr(after)
    assert not [n for n in NEEDLES if n in dumped], dumped
    assert after.customer_id == customer  # the tombstone's key
    assert (after.total, after.paid) == (order.total, order.paid)
    assert [t.barcode for t in after.tickets] == [t.barcode for t in order.tickets]
    assert [t.seat_id for t in after.tickets] == [t.seat_id for t in order.tickets]
    assert after.gift_vouchers[0].code == order.gift_vouchers[0].code
    assert after.gift_vouchers[0].balance == Decimal("20.00")
    assert after.donations[0].amount == Decimal("10.00")
    # The open basket: released (its seat back on sale), its typed text gone, its session no
    # longer finds it.
    available, held, sold = before
    assert await _status(core, box) == (available + 1, held - 1, sold)
    open_view = await baskets.get_basket(core, box.owner, BasketRef.owner(open_id), now=box.now())
    assert open_view.attributes == () and open_view.state == "expired"
    me = baskets.Principal(box.tenant_id, "customer", False, customer_id=customer)
    with pytest.raises(errors.NotFound):
        await baskets.get_basket(core, me, BasketRef.web(f"open-{customer}"), now=box.now())
    data = await privacy.export_customer(
        core, await _tenant_name(core, box.tenant_id), customer_code(customer)
    )
    assert not [n for n in NEEDLES if n in orjson.dumps(data).decode()]


async def test_deleting_a_customer_detaches_their_orders(core: Core) -> None:
    box = await _box(core)
    customer = await _customer(core, box)
    order, _ = await _bought(core, box, customer)

    await erasure.delete_customer(core, box.owner, customer)

    after = await orders.get_order(core, box.owner, order.id)
    assert after.customer_id is None and after.total == order.total
    assert not [n for n in NEEDLES if n in repr(after)]
