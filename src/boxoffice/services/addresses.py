"""A customer's addresses: a new address's row, its view, and one billing and one delivery
address per customer.

The use cases (``add_address``, ``update_address``... in ``customers.py``, CareCloud's extra
addresses in ``records.py``, the import in ``bulk.py``) check an address's parts with the same
rules (``domain/rules.py``) and write it with these functions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row

from boxoffice.domain import rules
from boxoffice.domain.commands import NewAddress
from boxoffice.domain.ids import new_row_key
from boxoffice.domain.views import AddressView
from boxoffice.store.models import CustomerAddress
from boxoffice.store.uow import UnitOfWork


def check_address(address: NewAddress) -> None:
    """``InvalidInput`` unless every part of ``address`` may be stored (what
    :func:`new_address_row` checks), for a check before any transaction."""
    for name in rules.ADDRESS_TEXT_FIELDS:
        rules.clean_text(name, getattr(address, name))
    rules.clean_country(address.country)


def new_address_row(customer_id: int, address: NewAddress, *, first: bool) -> CustomerAddress:
    """A new address of a customer, checked; the first one is billing and delivery."""
    values = {
        name: rules.clean_text(name, getattr(address, name)) for name in rules.ADDRESS_TEXT_FIELDS
    }
    return CustomerAddress(
        id=new_row_key(),
        customer_id=customer_id,
        # The first address of a customer is both billing and delivery, as the vendor does.
        is_billing=True if first else bool(address.is_billing),
        is_delivery=True if first else bool(address.is_delivery),
        country=rules.clean_country(address.country),
        created_at=datetime.now(UTC),
        **values,
    )


def address_view(a: CustomerAddress | Row[Any]) -> AddressView:
    """The view of an address (an ORM object or a row with the same names)."""
    return AddressView(
        a.id,
        a.is_billing,
        a.is_delivery,
        a.name,
        a.line1,
        a.line2,
        a.line3,
        a.line4,
        a.line5,
        a.town,
        a.postcode,
        a.country,
        a.administrative_division,
    )


async def unset_other_flags(uow: UnitOfWork, customer_id: int, keep: CustomerAddress) -> None:
    """One billing and one delivery address: ``keep``'s flags are taken from the others."""
    for other in await uow.customers.addresses(customer_id):
        if other.id == keep.id:
            continue
        if keep.is_billing and other.is_billing:
            other.is_billing = False
        if keep.is_delivery and other.is_delivery:
            other.is_delivery = False
