"""Customers per brand: channels, custom fields, external ids, the timeline, CRM sync.

The use cases of the brand/channel API, in the core's words:

- **brands** partition a tenant's customers; an API key may be limited to one brand, and then
  it neither sees nor reaches any other brand's customers;
- **channels** are a customer's email addresses, phone numbers and social accounts, typed by
  the tenant's channel types (``email``, ``telephone``, ``facebook``, ``twitter``...). The first
  email and telephone channels are also the customer's ``email`` and ``phone``, which the other
  dialects show (the email only while no other customer of the tenant has it);
- **custom fields** are the tenant's attributes;
- the **external primary id** identifies a customer within its brand (unique per brand);
- the **timeline** records what happened, including events posted from outside, ticket links
  and CRM syncs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError

from boxoffice.domain import rules
from boxoffice.domain.commands import (
    UNSET,
    BrandCustomerPatch,
    ChannelRef,
    CustomerRef,
    NewBrandCustomer,
    NewChannel,
    NewExternalEvent,
)
from boxoffice.domain.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from boxoffice.domain.ids import new_customer_key, new_row_key
from boxoffice.domain.principal import Principal
from boxoffice.domain.rules import is_valid_email, normalise_email
from boxoffice.domain.views import (
    ApiKeyCaller,
    AttributeDefinitionView,
    AttributeValueView,
    BrandCustomerView,
    BrandView,
    ChannelView,
    PageView,
    TimelineEntryView,
)
from boxoffice.services import attributes as attribute_service
from boxoffice.services import audit, crm, erasure
from boxoffice.services import customers as customer_service
from boxoffice.services.core import Core
from boxoffice.services.tenants import get_tenant
from boxoffice.store.models import (
    AttributeDefinition,
    Brand,
    ChannelType,
    Customer,
    CustomerChannel,
    Tenant,
    TimelineEntry,
)
from boxoffice.store.uow import UnitOfWork

CUSTOMER_READ, CUSTOMER_CUD = "CUSTOMER_READ", "CUSTOMER_CUD"
#: Other names callers use for channel types (lower case) -> the type's code.
CHANNEL_ALIASES = {"phonenumber": "telephone", "phone": "telephone"}
TELEPHONE_RE = re.compile(r"^\+[0-9]+$")
TWITTER_RE = re.compile(r"^[a-zA-Z0-9_ ]+$")
#: Timeline kinds written here.
TICKET_LINKED, EXTERNAL_EVENT, CRM_SYNC = "ticket_linked", "external_event", "crm_sync"
CHANNEL_ADDED, CHANNEL_REMOVED = "channel_added", "channel_removed"
ACTIVE, ERASED = "active", erasure.ERASED
MAX_PAGE = 100
MAX_KEY_LENGTH = 200
_LIMITS = {
    "external_primary_id": 200,
    "initiated_by": 255,
    "message": 4000,
    "source_url": 2000,
    "channel": 320,
}


def _now() -> datetime:
    return datetime.now(UTC)


# --- callers ----------------------------------------------------------------------------------


async def authenticate_api_key(
    core: Core, key: str | None, tenant_name: str | None = None
) -> ApiKeyCaller:
    """The caller an ``apiKey`` opens. With ``tenant_name`` (``/{tenant}/api/v2/``), a key of
    another tenant is refused like an unknown one. The reason of a refusal is for logs only."""
    if not key:
        raise Unauthenticated("no apiKey header")
    if len(key) > MAX_KEY_LENGTH or not key.isascii():
        raise Unauthenticated("malformed apiKey")
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    async with core.uow(None) as uow:
        row = await uow.operators.api_key_by_hash(key_hash)
        found = (
            None
            if row is None or row.disabled or not hmac.compare_digest(row.key_hash, key_hash)
            else (row.id, row.tenant_id, row.brand_id, frozenset(row.permissions))
        )
    if found is None:
        raise Unauthenticated("unknown or disabled apiKey")
    key_id, tenant_id, brand_id, permissions = found
    if tenant_name is not None:
        try:
            tenant = await get_tenant(core, tenant_name)
        except NotFound as exc:
            raise Unauthenticated(f"unknown tenant {tenant_name!r}") from exc
        if tenant.id != tenant_id:
            raise Unauthenticated(f"apiKey of another tenant than {tenant_name!r}")
    audit.identify(audit.Caller(f"api-key:{key_id}", "api-key", str(key_id)))
    return ApiKeyCaller(
        principal=Principal(tenant_id=tenant_id, actor=f"api-key:{key_id}", full_access=True),
        brand_id=brand_id,
        permissions=permissions,
    )


def require_permission(caller: ApiKeyCaller, permission: str) -> None:
    if permission not in caller.permissions:
        raise PermissionDenied(f"This API key does not have the {permission} permission.")


# --- the tenant's brands, channel types and attributes ----------------------------------------


@dataclass(frozen=True, slots=True)
class _Catalogue:
    brands: dict[int, Brand]
    types_by_id: dict[int, ChannelType]
    types_by_code: dict[str, ChannelType]
    attributes: tuple[AttributeDefinition, ...]


async def _catalogue(uow: UnitOfWork) -> _Catalogue:
    types = await uow.catalogue.channel_types()
    return _Catalogue(
        brands={b.id: b for b in await uow.catalogue.brands()},
        types_by_id={t.id: t for t in types},
        types_by_code={t.code.lower(): t for t in types},
        attributes=tuple(await uow.catalogue.attributes()),
    )


def _brand_view(brand: Brand | None) -> BrandView | None:
    if brand is None:
        return None
    return BrandView(brand.id, brand.name, brand.crm_url, brand.search_by_channels)


def _brand(
    cat: _Catalogue, caller: ApiKeyCaller, brand_id: int | None, *, required: bool = True
) -> Brand | None:
    """The brand a request is about: the one named (which the key must reach), else the key's
    own, else the tenant's only brand; ``None`` (all brands) when not ``required``."""
    if brand_id is not None:
        if caller.brand_id is not None and brand_id != caller.brand_id:
            raise PermissionDenied(f"This API key is limited to brand {caller.brand_id}.")
        brand = cat.brands.get(brand_id)
        if brand is None:
            raise NotFound("Brand", brand_id)
        return brand
    if caller.brand_id is not None:
        brand = cat.brands.get(caller.brand_id)
        if brand is None:
            raise NotFound("Brand", caller.brand_id)
        return brand
    if not required:
        return None
    if len(cat.brands) == 1:
        return next(iter(cat.brands.values()))
    if not cat.brands:
        raise InvalidInput("brand_id", "the tenant has no brands")
    raise InvalidInput("brand_id", "required: the tenant has several brands")


def _reach(caller: ApiKeyCaller, row: Customer) -> None:
    """A key limited to a brand does not see the customers of other brands."""
    if caller.brand_id is not None and row.brand_id != caller.brand_id:
        raise NotFound("Customer", row.id)


# --- validation -------------------------------------------------------------------------------


def _text(field: str, value: str, *, limit_key: str, multiline: bool = False) -> str:
    """A text of this API (external id, message, URL, channel value): the core's text rule
    with this API's limits."""
    return rules.clean_text(field, value, limit=_LIMITS[limit_key], multiline=multiline) or ""


def _external_id(field: str, value: str | None) -> str | None:
    if value is None:
        return None
    return _text(field, value, limit_key="external_primary_id") or None


def _channel_type(cat: _Catalogue, text: str, field: str) -> ChannelType:
    name = text.strip()
    found = (
        cat.types_by_id.get(int(name))
        if name.isdigit()
        else cat.types_by_code.get(CHANNEL_ALIASES.get(name.lower(), name.lower()))
    )
    if found is None:
        known = ", ".join(sorted(cat.types_by_code)) or "none configured"
        raise InvalidInput(field, f"unknown channel type {text!r} (known: {known})")
    return found


def guess_channel_type(value: str) -> str | None:
    """``email`` or ``telephone`` when a bare value can only be one of them."""
    value = value.strip()
    if is_valid_email(value):
        return "email"
    if TELEPHONE_RE.match(value):
        return "telephone"
    return None


def _channel_value(channel_type: ChannelType, value: str, field: str) -> str:
    value = _text(field, value, limit_key="channel")
    if not value:
        raise InvalidInput(field, "required")
    code = channel_type.code.lower()
    if code == "email":
        return rules.clean_email(value, field)
    if code == "telephone":
        if not TELEPHONE_RE.match(value):
            raise InvalidInput(field, "a phone number is + and digits only (^\\+[0-9]+$)")
        return rules.clean_phone(value, field) or ""
    if code == "twitter" and not TWITTER_RE.match(value):
        raise InvalidInput(field, "letters, digits, '_' and spaces only (^[a-zA-Z0-9_ ]+$)")
    return value


def _channel_key(channel_type: ChannelType, value: str) -> tuple[int, str]:
    """Two channels are the same when type and value are (emails: one mailbox, by its key)."""
    return channel_type.id, normalise_email(
        value
    ) if channel_type.code.lower() == "email" else value


def _resolve_channels(
    cat: _Catalogue, channels: Sequence[NewChannel]
) -> list[tuple[ChannelType, str]]:
    out: dict[tuple[int, str], tuple[ChannelType, str]] = {}
    for channel in channels:
        channel_type = _channel_type(cat, channel.type, channel.type_field)
        value = _channel_value(channel_type, channel.value, channel.field)
        out.setdefault(_channel_key(channel_type, value), (channel_type, value))
    return list(out.values())


def _url(field: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = _text(field, value, limit_key="source_url")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InvalidInput(field, "an http or https URL")
    return value


# --- reading ----------------------------------------------------------------------------------


async def _views(
    uow: UnitOfWork, cat: _Catalogue, rows: Sequence[Customer]
) -> tuple[BrandCustomerView, ...]:
    ids = [r.id for r in rows]
    channels: dict[int, list[ChannelView]] = {i: [] for i in ids}
    for ch in await uow.customers.channels(ids):
        channel_type = cat.types_by_id[ch.channel_type_id]
        channels[ch.customer_id].append(
            ChannelView(ch.id, channel_type.id, channel_type.code, ch.value)
        )
    values: dict[int, dict[int, str]] = {i: {} for i in ids}
    for v in await uow.customers.attribute_values_of(ids):
        values[v.customer_id][v.attribute_id] = v.value
    definitions = _definitions(cat)
    return tuple(_customer_view(cat, definitions, r, channels[r.id], values[r.id]) for r in rows)


def _definitions(cat: _Catalogue) -> list[AttributeDefinitionView]:
    return [AttributeDefinitionView(a.id, a.name, a.type, a.web_visible) for a in cat.attributes]


def _customer_view(
    cat: _Catalogue,
    definitions: Sequence[AttributeDefinitionView],
    r: Any,
    channels: Sequence[ChannelView],
    values: Mapping[int, str],
) -> BrandCustomerView:
    """A customer's view from its row (ORM object or row as written), channels and values."""
    return BrandCustomerView(
        id=r.id,
        brand=_brand_view(cat.brands.get(r.brand_id) if r.brand_id is not None else None),
        external_primary_id=r.external_primary_id,
        first_name=r.first_name,
        last_name=r.last_name,
        channels=tuple(channels),
        attributes=tuple(AttributeValueView(d, values.get(d.id, "")) for d in definitions),
        state=r.state,
    )


async def _view(uow: UnitOfWork, cat: _Catalogue, row: Customer) -> BrandCustomerView:
    return (await _views(uow, cat, [row]))[0]


def _bounds(start: int, limit: int) -> tuple[int, int]:
    return max(start, 0), min(max(limit, 1), MAX_PAGE)


async def list_customers(
    core: Core,
    caller: ApiKeyCaller,
    *,
    brand_id: int | None = None,
    search: str = "",
    start: int = 0,
    limit: int = 15,
) -> PageView[BrandCustomerView]:
    """Customers by id (erased ones too, as anonymous tombstones), of one brand or all.

    Without a search the page and the total come from the counts the database keeps (exact,
    at any size and depth: decision 0119); a search reads every customer it might match."""
    start, limit = _bounds(start, limit)
    search = search.strip()
    async with core.uow(caller.principal.tenant_id) as uow:
        cat = await _catalogue(uow)
        brand = _brand(cat, caller, brand_id, required=False)
        if search:
            total, rows = await uow.customers.page(
                brand_id=brand.id if brand else None,
                search=search,
                states=(ACTIVE, ERASED),
                offset=start,
                limit=limit,
            )
        else:
            total, rows = await uow.customers.index_page(
                brand_id=brand.id if brand else None, offset=start, limit=limit
            )
        return PageView(start, limit, total, await _views(uow, cat, rows))


async def search_by_external_id(
    core: Core,
    caller: ApiKeyCaller,
    external_id: str,
    *,
    brand_id: int | None = None,
    start: int = 0,
    limit: int = 15,
) -> PageView[BrandCustomerView]:
    start, limit = _bounds(start, limit)
    external = _external_id("primary_id", external_id)
    if external is None:
        raise InvalidInput("primary_id", "required")
    async with core.uow(caller.principal.tenant_id) as uow:
        cat = await _catalogue(uow)
        brand = _brand(cat, caller, brand_id, required=False)
        total, rows = await uow.customers.page(
            brand_id=brand.id if brand else None,
            search="",
            states=(ACTIVE,),
            offset=start,
            limit=limit,
            external_id=external,
        )
        return PageView(start, limit, total, await _views(uow, cat, rows))


async def search_by_channel_value(
    core: Core,
    caller: ApiKeyCaller,
    value: str,
    *,
    brand_id: int | None = None,
    start: int = 0,
    limit: int = 15,
) -> PageView[BrandCustomerView]:
    """Customers with a channel of exactly this value (case-insensitive)."""
    start, limit = _bounds(start, limit)
    value = _text("customerChannelValue", value, limit_key="channel")
    if not value:
        raise InvalidInput("customerChannelValue", "required")
    async with core.uow(caller.principal.tenant_id) as uow:
        cat = await _catalogue(uow)
        brand = _brand(cat, caller, brand_id, required=False)
        total, rows = await uow.customers.page(
            brand_id=brand.id if brand else None,
            search="",
            states=(ACTIVE,),
            offset=start,
            limit=limit,
            channel_value=value,
        )
        return PageView(start, limit, total, await _views(uow, cat, rows))


async def get_customer(core: Core, caller: ApiKeyCaller, customer_id: int) -> BrandCustomerView:
    async with core.uow(caller.principal.tenant_id) as uow:
        row = await uow.customers.get_any_state(customer_id)
        if row is None:
            raise NotFound("Customer", customer_id)
        _reach(caller, row)
        return await _view(uow, await _catalogue(uow), row)


async def _find(
    uow: UnitOfWork,
    cat: _Catalogue,
    caller: ApiKeyCaller,
    ref: CustomerRef,
    *,
    for_update: bool = False,
    include_erased: bool = False,
) -> Customer:
    """The customer a request names: by id, else by brand and external primary id, else by
    brand and channel value (only where the brand allows search by channels)."""
    if ref.customer_id is not None:
        row = (
            await uow.customers.get_any_state(ref.customer_id, for_update=for_update)
            if include_erased
            else await uow.customers.get(ref.customer_id, for_update=for_update)
        )
        if row is None or (ref.brand_id is not None and row.brand_id != ref.brand_id):
            raise NotFound("Customer", ref.customer_id)
        _reach(caller, row)
        return row
    external = _external_id("primary_id", ref.external_primary_id)
    value = (ref.channel_value or "").strip()
    if external is None and not value:
        raise InvalidInput("customer_id", "required: customer_id, or primary_id with brand_id")
    brand = _brand(cat, caller, ref.brand_id)
    assert brand is not None
    if external is not None:
        found = await uow.customers.by_external_id(brand.id, external)
        if found is None:
            raise NotFound("Customer", external)
        locked = await uow.customers.get(found.id, for_update=True) if for_update else found
        if locked is None:  # deleted meanwhile
            raise NotFound("Customer", external)
        return locked
    if not brand.search_by_channels:
        raise InvalidInput(
            "customerChannelValue", "customer search by channels is not enabled for this brand"
        )
    matches = await uow.customers.by_channel_value(brand.id, value)
    if not matches:
        raise NotFound("Customer", value)
    if len(matches) > 1:
        raise Conflict("Several customers of this brand have this channel value.")
    row = await uow.customers.get(matches[0].id, for_update=for_update)
    if row is None:  # deleted meanwhile
        raise NotFound("Customer", value)
    return row


# --- writing ----------------------------------------------------------------------------------


async def _add_channels(
    uow: UnitOfWork, cat: _Catalogue, customer_id: int, wanted: list[tuple[ChannelType, str]]
) -> list[dict[str, str]]:
    """Add the channels the customer does not have yet; return those added."""
    if not wanted:
        return []
    have = {
        _channel_key(cat.types_by_id[ch.channel_type_id], ch.value)
        for ch in await uow.customers.channels([customer_id])
    }
    added: list[dict[str, str]] = []
    now = _now()
    for channel_type, value in wanted:
        key = _channel_key(channel_type, value)
        if key in have:
            continue
        have.add(key)
        uow.customers.add(
            CustomerChannel(
                id=new_row_key(),
                customer_id=customer_id,
                channel_type_id=channel_type.id,
                value=value,
                created_at=now,
            )
        )
        added.append({"type": channel_type.code, "value": value})
    return added


async def _mirror_contacts(uow: UnitOfWork, cat: _Catalogue, row: Customer) -> None:
    """The first email and telephone channels are the customer's ``email`` and ``phone``."""
    if row.email is not None and row.phone is not None:
        return
    await uow.flush()
    for ch in await uow.customers.channels([row.id]):
        code = cat.types_by_id[ch.channel_type_id].code.lower()
        if code == "email" and row.email is None:
            key = normalise_email(ch.value)
            other = await uow.customers.by_email_key(key)
            if other is None or other.id == row.id:
                row.email, row.email_key = ch.value, key
        elif code == "telephone" and row.phone is None:
            row.phone = ch.value


async def _free_contacts(
    uow: UnitOfWork, channels: Sequence[tuple[ChannelType, str]]
) -> tuple[str | None, str | None]:
    """A new customer's ``email`` and ``phone`` (:func:`_mirror_contacts`): the first email
    channel no other customer of the tenant has, and the first telephone channel."""
    email = phone = None
    for channel_type, value in channels:
        code = channel_type.code.lower()
        if code == "email" and email is None:
            if await uow.customers.by_email_key(normalise_email(value)) is None:
                email = value
        elif code == "telephone" and phone is None:
            phone = value
    return email, phone


async def _insert_new(
    uow: UnitOfWork,
    cat: _Catalogue,
    principal: Principal,
    *,
    brand_id: int,
    external: str | None,
    first_name: str,
    last_name: str,
    channels: Sequence[tuple[ChannelType, str]] = (),
    attributes: Mapping[int, tuple[AttributeDefinition, str | None]] | None = None,
    timeline: Sequence[tuple[str, dict[str, Any]]],
) -> BrandCustomerView:
    """Write a new customer of a brand (``customers.insert_customer``) and answer its view,
    built from what was written."""
    email, phone = await _free_contacts(uow, channels)
    row = customer_service.new_customer_row(
        new_customer_key(),
        _now(),
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone=phone,
        brand_id=brand_id,
        external_primary_id=external,
    )
    values = {key: value for key, (_attr, value) in (attributes or {}).items()}
    written = await customer_service.insert_customer(
        uow,
        principal.actor,
        row,
        customer_service.NewCustomerParts(
            attributes=values,
            channels=[(channel_type.id, value) for channel_type, value in channels],
            timeline=timeline,
        ),
        conflicts={
            "external_primary_id": AlreadyExists("Customer", external),
            "email_key": Conflict("Another customer took this email address at the same time."),
        },
    )
    types = {channel_type.id: channel_type for channel_type, _value in channels}
    return _customer_view(
        cat,
        _definitions(cat),
        SimpleNamespace(**written.row),
        [
            ChannelView(
                ch["id"], ch["channel_type_id"], types[ch["channel_type_id"]].code, ch["value"]
            )
            for ch in written.channels
        ],
        written.values,
    )


def _new_channels(wanted: list[tuple[ChannelType, str]]) -> list[tuple[ChannelType, str]]:
    """A new customer's channels, each once (:func:`_add_channels` for a customer with none)."""
    out: dict[tuple[int, str], tuple[ChannelType, str]] = {}
    for channel_type, value in wanted:
        out.setdefault(_channel_key(channel_type, value), (channel_type, value))
    return list(out.values())


async def _commit(uow: UnitOfWork) -> None:
    try:
        await uow.commit()
    except IntegrityError as exc:
        if "external_primary_id" in str(exc.orig):
            raise AlreadyExists("Customer", "external primary id") from exc
        if "email_key" in str(exc.orig):
            raise Conflict("Another customer took this email address at the same time.") from exc
        raise


async def create_customer(
    core: Core, caller: ApiKeyCaller, cmd: NewBrandCustomer
) -> BrandCustomerView:
    first_name = rules.clean_text("first_name", cmd.first_name) or ""
    last_name = rules.clean_text("last_name", cmd.last_name) or ""
    external = _external_id("primary_id", cmd.external_primary_id)
    identity = (cmd.channel_identity or "").strip() or None
    principal = caller.principal
    async with core.uow(principal.tenant_id, write=True) as uow:
        cat = await _catalogue(uow)
        brand = _brand(cat, caller, cmd.brand_id)
        assert brand is not None
        channels = _resolve_channels(cat, cmd.channels)
        attributes = attribute_service.resolve(cat.attributes, cmd.attributes)
        # A taken external id is found by its unique index as the customer is written.
        if external is None and identity is not None:
            field = "search_customer_channel_value"
            if not brand.search_by_channels:
                raise InvalidInput(
                    field, "customer search by channels is not enabled for this brand"
                )
            if await uow.customers.by_channel_value(brand.id, identity):
                raise AlreadyExists("Customer", identity)
            if not any(normalise_email(v) == normalise_email(identity) for _, v in channels):
                code = guess_channel_type(identity)
                if code is None or code not in cat.types_by_code:
                    raise InvalidInput(
                        field, "not an email address or phone number; send it as a channel too"
                    )
                channel_type = cat.types_by_code[code]
                channels.append((channel_type, _channel_value(channel_type, identity, field)))
        channels = _new_channels(channels)
        timeline: list[tuple[str, dict[str, Any]]] = [("created", {"channel": "brandchannel"})]
        if cmd.ticket_id is not None:
            added = [{"type": t.code, "value": v} for t, v in channels]
            timeline.append(
                (
                    TICKET_LINKED,
                    {
                        "ticket_id": cmd.ticket_id,
                        "channels": added if cmd.sync_ticket_channels else [],
                    },
                )
            )
        view = await _insert_new(
            uow,
            cat,
            principal,
            brand_id=brand.id,
            external=external,
            first_name=first_name,
            last_name=last_name,
            channels=channels,
            attributes=attributes,
            timeline=timeline,
        )
        await _commit(uow)
        return view


async def _patch(
    uow: UnitOfWork,
    cat: _Catalogue,
    principal: Principal,
    row: Customer,
    patch: BrandCustomerPatch,
    *,
    ignore_unknown_attributes: bool = False,
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Apply a patch to a customer; return the changes and the channels added."""
    channels = _resolve_channels(cat, patch.channels)
    attributes = attribute_service.resolve(
        cat.attributes, patch.attributes, ignore_unknown=ignore_unknown_attributes
    )
    changes: dict[str, Any] = {}
    for f in fields(patch):
        value = getattr(patch, f.name)
        if value is UNSET or f.name not in ("first_name", "last_name", "external_primary_id"):
            continue
        if f.name == "external_primary_id":
            value = _external_id("external_primary_id", value)
            if value is not None and row.brand_id is not None and value != row.external_primary_id:
                other = await uow.customers.by_external_id(row.brand_id, value)
                if other is not None and other.id != row.id:
                    raise Conflict("The external primary ID belongs to another customer.")
        else:
            value = rules.clean_text(f.name, value) or ""
        if getattr(row, f.name) != value:
            changes[f.name] = [getattr(row, f.name), value]
            setattr(row, f.name, value)
    changes.update(await attribute_service.set_values(uow, row.id, attributes))
    added = await _add_channels(uow, cat, row.id, channels)
    if added:
        await _mirror_contacts(uow, cat, row)
    if changes:
        row.updated_at = _now()
        uow.customers.record(row.id, "changed", principal.actor, changes=changes)
    if added:
        row.updated_at = _now()
        uow.customers.record(row.id, CHANNEL_ADDED, principal.actor, channels=added)
    return changes, added


async def update_customer(
    core: Core, caller: ApiKeyCaller, ref: CustomerRef, patch: BrandCustomerPatch
) -> BrandCustomerView:
    async with core.uow(caller.principal.tenant_id, write=True) as uow:
        cat = await _catalogue(uow)
        row = await _find(uow, cat, caller, ref, for_update=True)
        await _patch(uow, cat, caller.principal, row, patch)
        await uow.flush()
        view = await _view(uow, cat, row)
        await _commit(uow)
        return view


async def add_channels(
    core: Core, caller: ApiKeyCaller, ref: CustomerRef, channels: Sequence[NewChannel]
) -> BrandCustomerView:
    if not channels:
        raise InvalidInput("channel", "no channel given (extra_email, extra_telephone...)")
    return await update_customer(core, caller, ref, BrandCustomerPatch(channels=tuple(channels)))


async def delete_channel(
    core: Core, caller: ApiKeyCaller, customer_id: int, ref: ChannelRef
) -> None:
    async with core.uow(caller.principal.tenant_id, write=True) as uow:
        cat = await _catalogue(uow)
        row = await _find(uow, cat, caller, CustomerRef(customer_id=customer_id), for_update=True)
        channels = await uow.customers.channels([row.id])
        if ref.channel_id is not None:
            doomed = [ch for ch in channels if ch.id == ref.channel_id]
        elif ref.type is not None and ref.value is not None:
            channel_type = _channel_type(cat, ref.type, "customerChannelType")
            key = _channel_key(channel_type, ref.value.strip())
            doomed = [ch for ch in channels if _channel_key(channel_type, ch.value) == key]
            doomed = [ch for ch in doomed if ch.channel_type_id == channel_type.id]
        else:
            raise InvalidInput(
                "channel_id",
                "required: channel_id, or customerChannelType and customerChannelValue",
            )
        if not doomed:
            raise NotFound("Channel", ref.channel_id or ref.value)
        channel = doomed[0]
        code = cat.types_by_id[channel.channel_type_id].code.lower()
        await uow.customers.delete(channel)
        if code == "email" and row.email_key == normalise_email(channel.value):
            row.email = row.email_key = None
        if code == "telephone" and row.phone == channel.value:
            row.phone = None
        await _mirror_contacts(uow, cat, row)
        row.updated_at = _now()
        uow.customers.record(
            row.id,
            CHANNEL_REMOVED,
            caller.principal.actor,
            channels=[
                {"type": cat.types_by_id[channel.channel_type_id].code, "value": channel.value}
            ],
        )
        await _commit(uow)


async def delete_customer(core: Core, caller: ApiKeyCaller, customer_id: int) -> None:
    """Delete the customer and everything about it (no tombstone)."""
    await erasure.delete_customer(core, caller.principal, customer_id, brand_id=caller.brand_id)


async def purge_customer(core: Core, caller: ApiKeyCaller, customer_id: int) -> None:
    """Erase the customer's personal data, leaving an anonymous tombstone (idempotent)."""
    await erasure.erase_customer(core, caller.principal, customer_id, brand_id=caller.brand_id)


def _entry_view(entry: TimelineEntry) -> TimelineEntryView:
    return TimelineEntryView(entry.id, entry.occurred_at, entry.kind, entry.actor, dict(entry.data))


async def add_external_event(
    core: Core, caller: ApiKeyCaller, ref: CustomerRef, event: NewExternalEvent
) -> TimelineEntryView:
    message = _text("message", event.message, limit_key="message", multiline=True)
    if not message:
        raise InvalidInput("message", "required")
    initiated_by = _text("initiated_by", event.initiated_by, limit_key="initiated_by")
    source_url = _url("source_url", event.source_url)
    async with core.uow(caller.principal.tenant_id, write=True) as uow:
        cat = await _catalogue(uow)
        row = await _find(uow, cat, caller, ref)
        entry = uow.customers.record(
            row.id,
            EXTERNAL_EVENT,
            caller.principal.actor,
            initiated_by=initiated_by,
            message=message,
            source_url=source_url,
        )
        view = _entry_view(entry)
        await uow.commit()
        return view


async def get_timeline(
    core: Core,
    caller: ApiKeyCaller,
    ref: CustomerRef,
    *,
    include_tickets: bool = False,
    start: int = 0,
    limit: int = 15,
) -> PageView[TimelineEntryView]:
    """The customer's timeline, newest first; ticket links only with ``include_tickets``.
    Confirmed orders are on it as the entries their confirmation wrote (read-only: nothing
    here changes them)."""
    start, limit = _bounds(start, limit)
    async with core.uow(caller.principal.tenant_id) as uow:
        cat = await _catalogue(uow)
        row = await _find(uow, cat, caller, ref, include_erased=True)
        total, entries = await uow.customers.timeline_page(
            row.id,
            exclude_kinds=() if include_tickets else (TICKET_LINKED,),
            offset=start,
            limit=limit,
        )
        return PageView(start, limit, total, tuple(_entry_view(e) for e in entries))


# --- CRM sync ---------------------------------------------------------------------------------


async def _record_sync(
    core: Core, principal: Principal, customer_id: int | None, outcome: str, **data: Any
) -> None:
    """Put a sync's outcome on the customer's timeline, when there is a customer."""
    if customer_id is None:
        return
    async with core.uow(principal.tenant_id, write=True) as uow:
        if await uow.customers.get(customer_id) is None:
            return
        uow.customers.record(customer_id, CRM_SYNC, principal.actor, outcome=outcome, **data)
        await uow.commit()


async def sync_with_crm(
    core: Core,
    caller: ApiKeyCaller,
    *,
    brand_id: int | None,
    channel: str,
    address: str,
    policy: crm.CrmPolicy | None = None,
) -> BrandCustomerView:
    """Ask the brand's CRM about a channel address and bring the customer up to date.

    The customer is found in the brand by the channel, else by the external primary id the
    CRM returns, else created. The CRM is called with no transaction open; the outcome
    (created, updated, no match, failed) is recorded on the customer's timeline.
    """
    principal = caller.principal
    async with core.uow(principal.tenant_id) as uow:
        cat = await _catalogue(uow)
        brand = _brand(cat, caller, brand_id)
        assert brand is not None
        if not brand.crm_url:
            raise InvalidInput("brandID", "no CRM lookup URL is configured for this brand")
        channel_type = _channel_type(cat, channel, "channel")
        value = _channel_value(channel_type, address, "address")
        known = await uow.customers.by_channel_value(brand.id, value, channel_type.id)
        known_id = known[0].id if known else None
        tenant = await uow.session.get(Tenant, principal.tenant_id)
        settings = dict(tenant.settings) if tenant is not None else {}
        target = (brand.id, brand.crm_url, channel_type.id, channel_type.code)
    brand_key, url, type_id, type_code = target
    policy = policy or crm.CrmPolicy.from_settings(settings)

    try:
        answer = await crm.lookup(
            url, brand_id=brand_key, channel=type_code, address=value, policy=policy
        )
    except crm.CrmError as exc:
        await _record_sync(core, principal, known_id, "failed", reason=exc.reason)
        raise Unavailable(f"The CRM lookup failed: {exc.reason}.") from exc
    if answer is None:
        await _record_sync(core, principal, known_id, "no_match")
        raise NotFound("CRM record", value)
    try:
        return await _apply_crm_answer(core, caller, brand_key, type_id, value, answer)
    except InvalidInput as exc:
        reason = f"the CRM's answer is not usable ({exc.field}: {exc.reason})"
        await _record_sync(core, principal, known_id, "failed", reason=reason)
        raise Unavailable(f"The CRM lookup failed: {reason}.") from exc
    except (Conflict, AlreadyExists) as exc:
        await _record_sync(core, principal, known_id, "failed", reason=str(exc))
        raise


async def _apply_crm_answer(
    core: Core,
    caller: ApiKeyCaller,
    brand_id: int,
    type_id: int,
    value: str,
    answer: BrandCustomerPatch,
) -> BrandCustomerView:
    principal = caller.principal
    async with core.uow(principal.tenant_id, write=True) as uow:
        cat = await _catalogue(uow)
        channel_type = cat.types_by_id[type_id]
        external = (
            None
            if answer.external_primary_id is UNSET
            else _external_id("external_primary_id", answer.external_primary_id)
        )
        matches = await uow.customers.by_channel_value(brand_id, value, type_id)
        row = await uow.customers.get(matches[0].id, for_update=True) if matches else None
        if row is None and external is not None:
            row = await uow.customers.by_external_id(brand_id, external)
        outcome = "updated"
        if row is None:
            outcome = "created"
            created = await _insert_new(
                uow,
                cat,
                principal,
                brand_id=brand_id,
                external=external,
                first_name="",
                last_name="",
                timeline=[("created", {"channel": "syncWithCRM"})],
            )
            row = await uow.customers.get(created.id, for_update=True)
            assert row is not None  # written just now, in this transaction
        patch = BrandCustomerPatch(
            first_name=answer.first_name,
            last_name=answer.last_name,
            external_primary_id=answer.external_primary_id,
            channels=(
                NewChannel(type=str(channel_type.id), value=value, field="address"),
                *answer.channels,
            ),
            attributes=answer.attributes,
        )
        changes, added = await _patch(
            uow, cat, principal, row, patch, ignore_unknown_attributes=True
        )
        uow.customers.record(
            row.id,
            CRM_SYNC,
            principal.actor,
            outcome=outcome,
            fields=sorted(changes),
            channels_added=len(added),
        )
        await uow.flush()
        view = await _view(uow, cat, row)
        await _commit(uow)
        return view
