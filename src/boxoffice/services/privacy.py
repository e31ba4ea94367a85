"""Data-protection requests: export everything held about a person; erase it.

The export reads the customer row and every row a foreign key links to it (found from the
schema, like the erasure, so a table added later is exported without a change here), names the
catalogue items those rows point at, and adds the customer's orders (confirmed baskets, which
name their customer without a foreign key: ``orders.every_order_of``) and the audit entries
about the customer. Secrets are
never exported: password hashes become ``has_password``, token hashes and push tokens are
redacted. The erasure is the one behind CareCloud's ``itemPurgeData`` and the brand/channel
purge (``services/erasure.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect

from boxoffice.domain.errors import NotFound
from boxoffice.domain.ids import customer_code, parse_customer_ref
from boxoffice.domain.principal import Principal
from boxoffice.services import erasure, orders
from boxoffice.services.core import Core
from boxoffice.services.tenants import get_tenant
from boxoffice.store.audit import AuditLog
from boxoffice.store.models import (
    AttributeDefinition,
    Base,
    ChannelType,
    CustomerProperty,
    CustomerSource,
    Interest,
    Membership,
    Statement,
    Tag,
    TagGroup,
)

FORMAT = "boxoffice-customer-export/1"
#: Columns that hold a secret or a credential: never exported (their presence is).
SECRET_COLUMNS = frozenset({"password_hash", "token_hash", "push_token", "secret_encrypted"})
REDACTED = "[redacted]"
#: Sections of the export by linked table; a linked table not listed lands in ``other``.
SECTIONS = {
    "customer_addresses": "addresses",
    "customer_channels": "channels",
    "customer_source_records": "external_ids",
    "customer_attribute_values": "attributes",
    "customer_tags": "tags",
    "customer_consents": "agreed_statements",
    "consent_changes": "statement_history",
    "customer_subscriptions": "memberships",
    "device_tokens": "device_tokens",
    "customer_sessions": "sessions",
    "customer_tokens": "mailed_tokens",
    "newsletter_requests": "newsletter_requests",
    "timeline_entries": "timeline",
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return REDACTED
    return value


def _plain(value: Any) -> Any:
    """A view's fields (``dataclasses.asdict``) as JSON-ready data."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return _jsonable(value)


def _row(obj: Base, *, skip: Iterable[str] = ("tenant_id",)) -> dict[str, Any]:
    mapper = inspect(obj).mapper
    out: dict[str, Any] = {}
    for column in mapper.columns:
        if column.name in skip:
            continue
        value = getattr(obj, mapper.get_property_by_column(column).key)
        if column.name in SECRET_COLUMNS:
            out[column.name] = REDACTED if value is not None else None
        else:
            out[column.name] = _jsonable(value)
    return out


def customer_key(ref: str) -> int:
    """A customer's key from the id any dialect shows; ``NotFound`` when it is none."""
    key = parse_customer_ref(ref)
    if key is None:
        raise NotFound("Customer", ref)
    return key


async def export_customer(core: Core, tenant_name: str, ref: str) -> dict[str, Any]:
    """Everything held about a customer, as JSON-ready data."""
    tenant = await get_tenant(core, tenant_name)
    key = customer_key(ref)
    async with core.uow(tenant.id) as uow:
        row = await uow.customers.get_any_state(key)
        if row is None:
            raise NotFound("Customer", ref)
        linked = await uow.customers.linked_rows(key)
        catalogue = uow.catalogue
        names: dict[str, dict[int, Any]] = {
            "tag": {t.id: t for t in await catalogue.all(Tag)},
            "group": {g.id: g for g in await catalogue.all(TagGroup)},
            "attribute": {a.id: a for a in await catalogue.all(AttributeDefinition)},
            "statement": {s.id: s for s in await catalogue.all(Statement)},
            "membership": {m.id: m for m in await catalogue.all(Membership)},
            "channel_type": {c.id: c for c in await catalogue.all(ChannelType)},
            "source": {s.id: s for s in await catalogue.all(CustomerSource)},
        }
        interests = await catalogue.all(Interest)
        properties = await catalogue.all(CustomerProperty)
        audit = await AuditLog(uow.session).entries(since=None, customer_id=key, limit=100_000)
        bought = await orders.every_order_of(uow, key)

    details = _row(row, skip=("tenant_id", "password_hash", "id"))
    export: dict[str, Any] = {
        "format": FORMAT,
        "exported_at": datetime.now(UTC).isoformat(),
        "tenant": tenant.name,
        "customer": {
            "id": customer_code(key),
            "key": key,
            **details,
            "has_password": row.password_hash is not None,
        },
    }
    sections: dict[str, list[dict[str, Any]]] = {name: [] for name in SECTIONS.values()}
    other: dict[str, list[dict[str, Any]]] = {}
    for table, rows in linked.items():
        target = sections.get(SECTIONS[table]) if table in SECTIONS else None
        if target is None:
            target = other.setdefault(table, [])
        target.extend(_row(r) for r in rows)
    _name_items(sections, names)
    tag_links = {t["tag_id"]: t for t in sections["tags"]}
    values = {a["attribute_id"]: a for a in sections["attributes"]}
    export.update(sections)
    export["interests"] = [
        {"interest_id": i.id, "interest": i.name, "added_at": tag_links[i.tag_id]["added_at"]}
        for i in interests
        if i.tag_id in tag_links
    ]
    export["property_records"] = [
        {"code": p.code, "name": p.name, "value": values[p.attribute_id]["value"]}
        for p in properties
        if p.attribute_id in values
    ]
    export["orders"] = [_plain(asdict(order)) for order in bought]
    export["audit"] = [_row(entry) for entry in audit]
    export["other"] = other
    return export


def _name_items(
    sections: dict[str, list[dict[str, Any]]], names: dict[str, dict[int, Any]]
) -> None:
    """Add the names of the catalogue items the customer's rows point at."""

    def name(kind: str, key: Any, attr: str = "name") -> Any:
        item = names[kind].get(key)
        return getattr(item, attr) if item is not None else None

    for tag in sections["tags"]:
        tag["tag"] = name("tag", tag["tag_id"])
        tag["group"] = name("group", getattr(names["tag"].get(tag["tag_id"]), "group_id", None))
    for value in sections["attributes"]:
        value["attribute"] = name("attribute", value["attribute_id"])
    for consent in sections["agreed_statements"]:
        consent["statement"] = name("statement", consent["statement_id"], "text")
    for subscription in sections["memberships"]:
        subscription["membership"] = name("membership", subscription["membership_id"])
    for channel in sections["channels"]:
        channel["channel_type"] = name("channel_type", channel["channel_type_id"], "code")
    for source in sections["external_ids"]:
        source["source"] = name("source", source["source_id"], "code")


async def erase_customer(core: Core, tenant_name: str, ref: str, *, actor: str = "cli") -> int:
    """Erase a customer's personal data (the same erasure as CareCloud's ``itemPurgeData``);
    returns the key erased. The audit log keeps the record that it happened."""
    tenant = await get_tenant(core, tenant_name)
    key = customer_key(ref)
    principal = Principal(tenant_id=tenant.id, actor=actor, full_access=True)
    await erasure.erase_customer(core, principal, key)
    return key
