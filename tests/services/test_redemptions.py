"""Gift vouchers and credit balances as payments (``baskets.add_voucher_payment``,
``baskets.add_credit_payment``): amounts capped at the balance and the outstanding amount, the
balance taken at confirmation by a conditional update (never spent twice, never below 0, also
when two baskets confirm at once), every refusal. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import update

from boxoffice.bootstrap import Core
from boxoffice.domain import errors
from boxoffice.domain.commands import (
    BasketRef,
    Confirmation,
    NewBasket,
    NewCustomPayment,
    NewGiftVoucher,
)
from boxoffice.services import baskets, customers, orders
from boxoffice.store.models import Customer
from tests.services.test_baskets import Box, _box, _customer, _place, _seat, _status


async def _voucher(core: Core, box: Box, amount: str) -> tuple[int, str]:
    """A gift voucher sold (its order's id and its code)."""
    now = box.now()
    view = await baskets.create_basket(
        core,
        box.owner,
        NewBasket(gift_vouchers=(NewGiftVoucher(amount=Decimal(amount)),)),
        now=now,
    )
    ref = BasketRef.owner(view.id)
    payment = NewCustomPayment(amount=Decimal(amount), payment_type="Cash")
    await baskets.add_custom_payment(core, box.owner, ref, payment, now=now)
    order = await baskets.confirm(core, box.owner, ref, Confirmation(), now=now)
    code = order.gift_vouchers[0].code
    assert code is not None
    return order.id, code


async def _balance(core: Core, box: Box, order_id: int) -> Decimal:
    balance = (await orders.get_order(core, box.owner, order_id)).gift_vouchers[0].balance
    assert balance is not None
    return balance


async def _set_credit(core: Core, box: Box, customer: int, amount: str) -> None:
    async with core.uow(box.tenant_id, write=True) as uow:
        await uow.session.execute(
            update(Customer)
            .where(Customer.tenant_id == box.tenant_id, Customer.id == customer)
            .values(credit_balance=Decimal(amount))
        )
        await uow.commit()


async def _credit(core: Core, box: Box, customer: int) -> Decimal:
    return (await customers.get_customer(core, box.owner, customer)).credit_balance


async def test_a_voucher_pays_a_web_basket_and_keeps_the_rest(core: Core) -> None:
    box = await _box(core)
    now = box.now()
    voucher_order, code = await _voucher(core, box, "25")
    web = BasketRef.web("buyer")
    await baskets.add_tickets(core, box.web, web, [_place(box)], now=now)
    typed = "-".join([code[:4].lower(), code[4:8], code[8:].lower()])  # case and dashes
    view = await baskets.add_voucher_payment(core, box.web, web, typed, now=now)
    (payment,) = view.custom_payments
    assert payment.kind == "voucher" and payment.amount == Decimal("15.00")
    assert payment.payment_type == baskets.VOUCHER_PAYMENT
    assert dict(payment.attributes)["Code"].endswith(code[-4:]) and code not in str(view)
    assert view.outstanding == 0 and view.expires_at is None  # a payment: it never expires
    assert await _balance(core, box, voucher_order) == Decimal("25.00")  # taken at confirm
    order = await baskets.confirm(core, box.web, web, Confirmation(), now=now)
    assert order.paid == order.total == Decimal("15.00")
    assert await _balance(core, box, voucher_order) == Decimal("10.00")
    assert await _status(core, box, box.studio) == (59, 0, 1)


async def test_voucher_refusals_change_nothing(core: Core) -> None:
    box = await _box(core)
    now = box.now()
    _, code = await _voucher(core, box, "10")
    ref = BasketRef.owner((await baskets.create_basket(core, box.owner, NewBasket(), now=now)).id)
    with pytest.raises(errors.InvalidInput):  # nothing to pay yet
        await baskets.add_voucher_payment(core, box.owner, ref, code, now=now)
    before = await baskets.add_tickets(core, box.owner, ref, [_seat(box, "A1")], now=now)
    with pytest.raises(errors.NotFound):
        await baskets.add_voucher_payment(core, box.owner, ref, "NOSUCHCODE234567", now=now)
    with pytest.raises(errors.InvalidInput):
        await baskets.add_voucher_payment(core, box.owner, ref, "", now=now)
    with pytest.raises(errors.InvalidInput) as too_much:
        await baskets.add_voucher_payment(core, box.owner, ref, code, Decimal("10.01"), now=now)
    assert too_much.value.field == "amount"
    assert await baskets.get_basket(core, box.owner, ref, now=now) == before
    paid = await baskets.add_voucher_payment(core, box.owner, ref, code, Decimal("4"), now=now)
    assert paid.paid == Decimal("4.00") and paid.outstanding == Decimal("31.00")
    with pytest.raises(errors.Conflict):  # the same voucher twice
        await baskets.add_voucher_payment(core, box.owner, ref, code, Decimal("1"), now=now)
    # Another tenant's code is unknown here.
    other = await _box(core)
    _, foreign = await _voucher(core, other, "10")
    with pytest.raises(errors.NotFound):
        await baskets.add_voucher_payment(core, box.owner, ref, foreign, now=now)


async def test_two_baskets_never_spend_one_balance_twice(core: Core) -> None:
    """Two baskets each hold a payment of the voucher's whole balance and confirm at once:
    one order is made, the other is refused and keeps its seat held."""
    box = await _box(core)
    now = box.now()
    voucher_order, code = await _voucher(core, box, "15")
    refs = []
    for name in ("one", "two"):
        ref = BasketRef.web(name)
        await baskets.add_tickets(core, box.web, ref, [_place(box)], now=now)
        await baskets.add_voucher_payment(core, box.web, ref, code, now=now)
        refs.append(ref)

    async def confirm(ref: BasketRef) -> bool:
        try:
            await baskets.confirm(core, box.web, ref, Confirmation(), now=now)
        except errors.Conflict:
            return False
        return True

    results = await asyncio.gather(*(confirm(r) for r in refs))
    assert sorted(results) == [False, True]
    assert await _balance(core, box, voucher_order) == Decimal("0.00")
    assert await _status(core, box, box.studio) == (58, 1, 1)


async def test_credit_pays_with_cash_and_never_goes_below_zero(core: Core) -> None:
    box = await _box(core)
    now = box.now()
    customer = await _customer(core, box)
    await _set_credit(core, box, customer, "20")
    ref = BasketRef.owner(
        (
            await baskets.create_basket(
                core,
                box.owner,
                NewBasket(customer_id=customer, tickets=(_seat(box, "B1"),)),
                now=now,
            )
        ).id
    )
    view = await baskets.add_credit_payment(core, box.owner, ref, now=now)
    assert [(p.kind, p.amount) for p in view.custom_payments] == [("credit", Decimal("20.00"))]
    assert view.outstanding == Decimal("15.00")
    # A basket without a customer has no credit.
    anonymous = BasketRef.web("anon")
    await baskets.add_tickets(core, box.web, anonymous, [_place(box)], now=now)
    with pytest.raises(errors.InvalidInput):
        await baskets.add_credit_payment(core, box.web, anonymous, now=now)
    await baskets.add_custom_payment(
        core, box.owner, ref, NewCustomPayment(amount=Decimal(15), payment_type="Cash"), now=now
    )
    # The credit drops meanwhile: confirmation is refused and changes nothing.
    await _set_credit(core, box, customer, "19.99")
    with pytest.raises(errors.Conflict):
        await baskets.confirm(core, box.owner, ref, Confirmation(), now=now)
    assert await _credit(core, box, customer) == Decimal("19.99")
    assert await _status(core, box) == (259, 1, 0)
    await _set_credit(core, box, customer, "25")
    order = await baskets.confirm(core, box.owner, ref, Confirmation(), now=now)
    assert order.paid == order.total == Decimal("35.00")
    assert await _credit(core, box, customer) == Decimal("5.00")
    # A customer's own web session may spend the rest.
    me = baskets.Principal(box.tenant_id, "customer", False, customer_id=customer)
    mine = BasketRef.web("mine")
    await baskets.add_tickets(core, me, mine, [_place(box)], now=now)
    with pytest.raises(errors.PermissionDenied):  # the browser, logged out: not the customer
        await baskets.add_credit_payment(core, box.web, mine, now=now)
    own = await baskets.add_credit_payment(core, me, mine, now=now)
    assert own.paid == Decimal("5.00")


async def test_a_voucher_redeems_into_credit_once(core: Core) -> None:
    """Two customers redeem one voucher at once: one gets its whole balance as credit, the
    other is refused; a redeemed voucher no longer pays for a basket."""
    box = await _box(core)
    now = box.now()
    voucher_order, code = await _voucher(core, box, "30")
    ann = await _customer(core, box)
    bob = await _customer(core, box, "bob@example.com")

    async def redeem(customer: int) -> Decimal | None:
        try:
            amount, credit = await baskets.redeem_gift_voucher(
                core, box.owner, customer, code.lower(), now=now
            )
        except errors.Conflict:
            return None
        assert amount == Decimal("30.00")
        return credit

    results = await asyncio.gather(redeem(ann), redeem(bob))
    assert sorted(results, key=str) == [Decimal("30.00"), None]
    credits = [await _credit(core, box, c) for c in (ann, bob)]
    assert sorted(credits) == [Decimal("0.00"), Decimal("30.00")]
    assert await _balance(core, box, voucher_order) == Decimal("0.00")
    ref = BasketRef.web("after")
    await baskets.add_tickets(core, box.web, ref, [_place(box)], now=now)
    with pytest.raises(errors.InvalidInput):  # no balance left
        await baskets.add_voucher_payment(core, box.web, ref, code, now=now)
    # Refusals: another customer's session, an unknown customer or code, no code.
    me = baskets.Principal(box.tenant_id, "customer", False, customer_id=ann)
    with pytest.raises(errors.NotFound):
        await baskets.redeem_gift_voucher(core, me, bob, code, now=now)
    with pytest.raises(errors.NotFound):
        await baskets.redeem_gift_voucher(core, box.owner, 12345, code, now=now)
    with pytest.raises(errors.NotFound):
        await baskets.redeem_gift_voucher(core, box.owner, ann, "NOSUCHCODE", now=now)
    with pytest.raises(errors.InvalidInput):
        await baskets.redeem_gift_voucher(core, box.owner, ann, " ", now=now)
