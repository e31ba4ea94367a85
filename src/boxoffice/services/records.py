"""What a customer has beside the basics, as the app-facing API (CareCloud) sees it.

- **Property records** are values of customer properties; each property keeps its values in an
  attribute, so a value set here is the same attribute value every other dialect sees.
- **Interest records** are the tags that interests answer to: adding an interest tags the
  customer, removing it takes the tag away.
- **Source records** are the customer's ids in external source systems.
- **Extra addresses** are every address but the main (billing) one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from boxoffice.domain import rules
from boxoffice.domain.commands import ADDRESS_PARTS, NewAddress, PropertyValue, SourceLink
from boxoffice.domain.errors import (
    ALREADY_LINKED,
    BAD_FORMAT,
    NOT_ALLOWED,
    UNKNOWN,
    AlreadyExists,
    DomainError,
    InvalidInput,
    NotFound,
)
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import (
    AddressView,
    InterestRecordView,
    PropertyRecordView,
    SourceRecordView,
)
from boxoffice.services import attributes as attribute_service
from boxoffice.services import customers as customer_service
from boxoffice.services import localised
from boxoffice.services.addresses import address_view, new_address_row, unset_other_flags
from boxoffice.services.core import Core
from boxoffice.store.models import (
    AttributeDefinition,
    CustomerAddress,
    CustomerProperty,
    CustomerSource,
    CustomerSourceRecord,
    CustomerTag,
    Interest,
)
from boxoffice.store.repositories import Profiles
from boxoffice.store.uow import UnitOfWork

MAX_TEXT = 4000


def _now() -> datetime:
    return datetime.now(UTC)


# --- property values ---------------------------------------------------------------------------


def property_text(kind: str, value: str | int | float | bool | None) -> str | None:
    """A property value as the attribute stores it (None: no value). Raises ``InvalidInput``."""
    bad = InvalidInput("property_value", BAD_FORMAT)
    if value is None:
        return None
    if kind == "boolean":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower()
        if isinstance(value, int) and value in (0, 1):
            return "true" if value else "false"
        raise bad
    if isinstance(value, bool):
        raise bad
    if kind == "number":
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise bad from exc
        if not number.is_finite():
            raise bad
        return str(number)
    text = str(value).strip()
    if kind == "date":
        try:
            return date.fromisoformat(text[:10]).isoformat()
        except ValueError as exc:
            raise bad from exc
    if len(text) > MAX_TEXT:
        raise bad
    return text or None


@dataclass(frozen=True, slots=True)
class _Resolved:
    property: CustomerProperty
    attribute: AttributeDefinition
    text: str | None


async def resolve_properties(
    uow: UnitOfWork, values: Sequence[PropertyValue]
) -> dict[int, tuple[AttributeDefinition, str | None]]:
    """Property values by code -> attribute values to set; the first bad one raises."""
    resolved: dict[int, tuple[AttributeDefinition, str | None]] = {}
    for item in await _resolve_each(uow, values, stop=True):
        if isinstance(item, _Resolved):
            resolved[item.attribute.id] = (item.attribute, item.text)
    return resolved


async def _resolve_each(
    uow: UnitOfWork, values: Sequence[PropertyValue], *, stop: bool
) -> list[_Resolved | tuple[PropertyValue, DomainError]]:
    properties = {p.code: p for p in await uow.catalogue.all(CustomerProperty)}
    attributes = {a.id: a for a in await uow.catalogue.attributes()}
    out: list[_Resolved | tuple[PropertyValue, DomainError]] = []
    for value in values:
        try:
            prop = properties.get(value.code)
            if prop is None:
                raise InvalidInput("property_id", UNKNOWN)
            attr = attributes[prop.attribute_id]
            text = property_text(attr.type, value.value)
            if text is not None:
                text = rules.clean_attribute_value(
                    attr.type, text, rules.attribute_field(attr.name)
                )
            if text is None:
                raise InvalidInput("property_value", "required")
            out.append(_Resolved(prop, attr, text))
        except InvalidInput as exc:
            if stop:
                raise
            out.append((value, exc))
    return out


async def _property_records(
    uow: UnitOfWork, customer_id: int, language: str
) -> tuple[PropertyRecordView, ...]:
    values = {v.attribute_id: v.value for v in await uow.customers.attribute_values(customer_id)}
    rows = {p.id: p for p in await uow.catalogue.all(CustomerProperty)}
    out: list[PropertyRecordView] = []
    for view in await localised.read_properties(uow, language):
        value = values.get(rows[view.id].attribute_id)
        if value is not None and value != "":
            out.append(PropertyRecordView(customer_id, view, value))
    return tuple(out)


async def list_property_records(
    core: Core, principal: Principal, customer_id: int, preferences: Sequence[str]
) -> tuple[PropertyRecordView, ...]:
    async with core.uow(principal.tenant_id) as uow:
        await customer_service.reachable_customer(uow, principal, customer_id)
        language = await localised.read_language(uow, preferences)
        return await _property_records(uow, customer_id, language)


async def set_property_records(
    core: Core,
    principal: Principal,
    customer_id: int,
    values: Sequence[PropertyValue],
    *,
    all_or_nothing: bool = True,
    must_exist: bool = False,
) -> list[tuple[PropertyValue, DomainError]]:
    """Set property values (adding or changing them). All or nothing: the first bad value
    raises and nothing is written; otherwise the good ones are kept and the bad ones returned.
    ``must_exist``: the customer must have a value already (a change, not an addition)."""
    async with core.uow(principal.tenant_id, write=True) as uow:
        await customer_service.reachable_customer(uow, principal, customer_id, for_update=True)
        items = await _resolve_each(uow, values, stop=all_or_nothing)
        good = {i.attribute.id: (i.attribute, i.text) for i in items if isinstance(i, _Resolved)}
        failed = [i for i in items if not isinstance(i, _Resolved)]
        if must_exist:
            current = {v.attribute_id for v in await uow.customers.attribute_values(customer_id)}
            for item in items:
                if isinstance(item, _Resolved) and item.attribute.id not in current:
                    raise NotFound("PropertyRecord", f"{item.property.code}:{customer_id}")
        changes = await attribute_service.set_values(uow, customer_id, good)
        if changes:
            row = await uow.customers.get(customer_id)
            assert row is not None
            row.updated_at = _now()
            uow.customers.record(customer_id, "changed", principal.actor, changes=changes)
        await uow.commit()
        return failed


async def delete_property_record(
    core: Core, principal: Principal, customer_id: int, code: str
) -> None:
    async with core.uow(principal.tenant_id, write=True) as uow:
        await customer_service.reachable_customer(uow, principal, customer_id, for_update=True)
        prop = next((p for p in await uow.catalogue.all(CustomerProperty) if p.code == code), None)
        if prop is None:
            raise NotFound("PropertyRecord", f"{code}:{customer_id}")
        attr = next(a for a in await uow.catalogue.attributes() if a.id == prop.attribute_id)
        current = {v.attribute_id for v in await uow.customers.attribute_values(customer_id)}
        if attr.id not in current:
            raise NotFound("PropertyRecord", f"{code}:{customer_id}")
        changes = await attribute_service.set_values(uow, customer_id, {attr.id: (attr, None)})
        uow.customers.record(customer_id, "changed", principal.actor, changes=changes)
        await uow.commit()


# --- interests (tags) -------------------------------------------------------------------------


async def _interest(uow: UnitOfWork, interest_id: int, field: str = "interest_id") -> Interest:
    interest = next((i for i in await uow.catalogue.all(Interest) if i.id == interest_id), None)
    if interest is None:
        raise InvalidInput(field, UNKNOWN)
    if interest.tag_id is None:
        raise InvalidInput(field, NOT_ALLOWED)
    return interest


async def _interest_records(uow: UnitOfWork, customer_id: int) -> tuple[InterestRecordView, ...]:
    links = {link.tag_id: link for link in await uow.customers.tag_links(customer_id)}
    return tuple(
        InterestRecordView(customer_id, i.id, links[i.tag_id].added_at)
        for i in await uow.catalogue.all(Interest)
        if i.tag_id is not None and i.tag_id in links
    )


async def list_interest_records(
    core: Core, principal: Principal, customer_id: int
) -> tuple[InterestRecordView, ...]:
    async with core.uow(principal.tenant_id) as uow:
        await customer_service.reachable_customer(uow, principal, customer_id)
        return await _interest_records(uow, customer_id)


async def _add_interest(
    uow: UnitOfWork, principal: Principal, customer_id: int, interest: Interest
) -> None:
    assert interest.tag_id is not None
    if interest.tag_id in {link.tag_id for link in await uow.customers.tag_links(customer_id)}:
        return
    uow.customers.add(
        CustomerTag(
            customer_id=customer_id,
            tag_id=interest.tag_id,
            added_at=_now(),
            added_by=principal.actor,
        )
    )
    uow.customers.record(
        customer_id, "tag_added", principal.actor, tag=interest.tag_id, interest=interest.id
    )


async def _remove_interest(
    uow: UnitOfWork, principal: Principal, customer_id: int, interest_id: int
) -> None:
    interest = next((i for i in await uow.catalogue.all(Interest) if i.id == interest_id), None)
    if interest is None or interest.tag_id is None:
        raise NotFound("InterestRecord", (interest_id, customer_id))
    if not await uow.customers.remove_tag(customer_id, interest.tag_id):
        raise NotFound("InterestRecord", (interest_id, customer_id))
    uow.customers.record(
        customer_id, "tag_removed", principal.actor, tag=interest.tag_id, interest=interest.id
    )


async def add_interest_record(
    core: Core, principal: Principal, customer_id: int, interest_id: int
) -> InterestRecordView:
    """Give the customer an interest (its tag); adding one the customer has changes nothing."""
    async with core.uow(principal.tenant_id, write=True) as uow:
        await customer_service.reachable_customer(uow, principal, customer_id, for_update=True)
        await _add_interest(uow, principal, customer_id, await _interest(uow, interest_id))
        await uow.flush()
        records = await _interest_records(uow, customer_id)
        await uow.commit()
    return next(r for r in records if r.interest_id == interest_id)


async def change_interest_record(
    core: Core, principal: Principal, customer_id: int, interest_id: int, new_interest_id: int
) -> None:
    async with core.uow(principal.tenant_id, write=True) as uow:
        await customer_service.reachable_customer(uow, principal, customer_id, for_update=True)
        new = await _interest(uow, new_interest_id)
        if new_interest_id != interest_id:
            await _remove_interest(uow, principal, customer_id, interest_id)
            await uow.flush()
            await _add_interest(uow, principal, customer_id, new)
        elif interest_id not in {r.interest_id for r in await _interest_records(uow, customer_id)}:
            raise NotFound("InterestRecord", (interest_id, customer_id))
        await uow.commit()


async def remove_interest_record(
    core: Core, principal: Principal, customer_id: int, interest_id: int
) -> None:
    async with core.uow(principal.tenant_id, write=True) as uow:
        await customer_service.reachable_customer(uow, principal, customer_id, for_update=True)
        await _remove_interest(uow, principal, customer_id, interest_id)
        await uow.commit()


# --- source records ---------------------------------------------------------------------------


def _source_view(row: CustomerSourceRecord) -> SourceRecordView:
    return SourceRecordView(row.customer_id, row.source_id, row.external_id)


async def check_source_link(
    uow: UnitOfWork, link: SourceLink, customer_id: int | None = None
) -> str | None:
    """The source exists, the customer (None: a new one) has no record of it yet, and the
    external id is well formed and free; returns the external id, cleaned (None: none)."""
    sources = {s.id for s in await uow.catalogue.all(CustomerSource)}
    if link.source_id not in sources:
        raise InvalidInput("customer_source_id", UNKNOWN)
    external_id = rules.clean_text("external_id", link.external_id) or None
    if external_id is not None and len(external_id) > 200:
        raise InvalidInput("external_id", BAD_FORMAT)
    profiles = Profiles(uow.session)
    if customer_id is not None and any(
        r.source_id == link.source_id for r in await profiles.source_records(customer_id)
    ):
        raise InvalidInput("customer_source_id", ALREADY_LINKED)
    if external_id is not None:
        taken = await profiles.source_record_by_external_id(link.source_id, external_id)
        if taken is not None:
            raise AlreadyExists("CustomerSourceRecord", external_id)
    return external_id


async def link_source(uow: UnitOfWork, customer_id: int, link: SourceLink) -> SourceRecordView:
    """Record a customer's id in a source system, inside the caller's transaction."""
    external_id = await check_source_link(uow, link, customer_id)
    row = CustomerSourceRecord(
        customer_id=customer_id, source_id=link.source_id, external_id=external_id
    )
    uow.customers.add(row)
    return _source_view(row)


async def list_source_records(
    core: Core, principal: Principal, customer_id: int
) -> tuple[SourceRecordView, ...]:
    async with core.uow(principal.tenant_id) as uow:
        await customer_service.reachable_customer(uow, principal, customer_id)
        return tuple(
            _source_view(r) for r in await Profiles(uow.session).source_records(customer_id)
        )


async def add_source_record(
    core: Core, principal: Principal, customer_id: int, link: SourceLink
) -> SourceRecordView:
    async with core.uow(principal.tenant_id, write=True) as uow:
        await customer_service.reachable_customer(uow, principal, customer_id, for_update=True)
        view = await link_source(uow, customer_id, link)
        uow.customers.record(customer_id, "source_linked", principal.actor, source=link.source_id)
        await uow.commit()
        return view


# --- extra addresses ----------------------------------------------------------------------------


async def list_extra_addresses(
    core: Core, principal: Principal, customer_id: int
) -> tuple[AddressView, ...]:
    async with core.uow(principal.tenant_id) as uow:
        await customer_service.reachable_customer(uow, principal, customer_id)
        return tuple(
            address_view(a) for a in await uow.customers.addresses(customer_id) if not a.is_billing
        )


async def _extra_address(uow: UnitOfWork, customer_id: int, address_id: int) -> CustomerAddress:
    row = await uow.customers.address(customer_id, address_id)
    if row is None or row.is_billing:
        raise NotFound("Address", address_id)
    return row


async def get_extra_address(
    core: Core, principal: Principal, customer_id: int, address_id: int
) -> AddressView:
    async with core.uow(principal.tenant_id) as uow:
        await customer_service.reachable_customer(uow, principal, customer_id)
        return address_view(await _extra_address(uow, customer_id, address_id))


async def add_extra_address(
    core: Core, principal: Principal, customer_id: int, address: NewAddress
) -> AddressView:
    """An address beside the main one (never billing; delivery when asked)."""
    async with core.uow(principal.tenant_id, write=True) as uow:
        await customer_service.reachable_customer(uow, principal, customer_id, for_update=True)
        row = new_address_row(customer_id, address, first=False)
        row.is_billing = False
        uow.customers.add(row)
        await unset_other_flags(uow, customer_id, row)
        uow.customers.record(customer_id, "address_added", principal.actor, address=row.id)
        await uow.commit()
        return address_view(row)


async def replace_extra_address(
    core: Core, principal: Principal, customer_id: int, address_id: int, address: NewAddress
) -> None:
    async with core.uow(principal.tenant_id, write=True) as uow:
        await customer_service.reachable_customer(uow, principal, customer_id, for_update=True)
        row = await _extra_address(uow, customer_id, address_id)
        fresh = new_address_row(customer_id, address, first=False)
        for name in (*ADDRESS_PARTS, "is_delivery"):
            setattr(row, name, getattr(fresh, name))
        await unset_other_flags(uow, customer_id, row)
        uow.customers.record(customer_id, "address_changed", principal.actor, address=row.id)
        await uow.commit()
