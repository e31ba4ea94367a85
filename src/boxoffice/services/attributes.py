"""A customer's attribute values: which definitions a caller sees, what a sent set of values
resolves to, and writing them.

Every dialect sets attribute values through these functions (Spektrix's ``Attribute_<Name>``,
brand/channel's ``custom_<name>``, CareCloud's property records, the hosted pages): a value is
checked by ``rules.clean_attribute_value`` and written here, whatever door it came through.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypeVar

from boxoffice.domain import rules
from boxoffice.domain.errors import InvalidInput
from boxoffice.domain.principal import Principal
from boxoffice.store.models import AttributeDefinition, CustomerAttributeValue
from boxoffice.store.uow import UnitOfWork

#: Attribute values to write: by attribute id, the definition and the value (None: clear).
Resolved = dict[int, tuple[AttributeDefinition, str | None]]


class _Definition(Protocol):
    @property
    def web_visible(self) -> bool: ...


D = TypeVar("D", bound=_Definition)


def visible(principal: Principal, definitions: Iterable[D]) -> list[D]:
    """The definitions the principal sees: all for staff and API users, the web-visible ones
    for a customer's session (ORM objects or rows with ``web_visible``)."""
    return [a for a in definitions if principal.full_access or a.web_visible]


def resolve(
    definitions: Iterable[AttributeDefinition],
    sent: Mapping[str, str | None],
    *,
    ignore_unknown: bool = False,
) -> Resolved:
    """Values sent by attribute name (matched whatever its case and spacing), checked.
    An unknown name is refused (``ignore_unknown``: skipped)."""
    if not sent:
        return {}
    by_key = {a.lookup_key: a for a in definitions}
    resolved: Resolved = {}
    for name, raw in sent.items():
        field = rules.attribute_field(name)
        attr = by_key.get(rules.attribute_lookup_key(name))
        if attr is None:
            if ignore_unknown:
                continue
            raise InvalidInput(field, f"unknown attribute {name!r}")
        resolved[attr.id] = (attr, rules.clean_attribute_value(attr.type, raw, field))
    return resolved


async def set_values(uow: UnitOfWork, customer_id: int, resolved: Resolved) -> dict[str, Any]:
    """Set (None: clear) attribute values in the caller's transaction; returns the changes as
    the timeline records them (``attribute:<name>``: ``[old, new]``)."""
    if not resolved:
        return {}
    current = {v.attribute_id: v for v in await uow.customers.attribute_values(customer_id)}
    changes: dict[str, Any] = {}
    for attr_id, (attr, value) in resolved.items():
        row = current.get(attr_id)
        old = row.value if row is not None else None
        if old == value:
            continue
        if value is None:
            assert row is not None
            await uow.customers.delete(row)
        elif row is None:
            uow.customers.add(
                CustomerAttributeValue(customer_id=customer_id, attribute_id=attr_id, value=value)
            )
        else:
            row.value = value
        changes[rules.attribute_field(attr.name)] = [old, value]
    return changes
