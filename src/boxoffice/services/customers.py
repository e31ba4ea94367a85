"""Customers: create, find, change; tags, agreed statements, addresses, subscriptions."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy.exc import IntegrityError

from boxoffice.domain import rules
from boxoffice.domain.commands import UNSET, AddressPatch, CustomerPatch, NewAddress, NewCustomer
from boxoffice.domain.errors import AlreadyExists, DomainError, InvalidInput, NotFound
from boxoffice.domain.ids import new_customer_key, new_row_key
from boxoffice.domain.principal import Principal
from boxoffice.domain.rules import (
    is_valid_email,
    normalise_email,
)
from boxoffice.domain.views import (
    AddressView,
    AttributeDefinitionView,
    AttributeValueView,
    ConsentView,
    CustomerView,
    SubscriptionView,
    TagView,
    TimelineEntryView,
)
from boxoffice.security.passwords import hash_password_async
from boxoffice.services import attributes as attribute_service
from boxoffice.services import consents as consent_service
from boxoffice.services.addresses import (
    address_view,
    check_address,
    new_address_row,
    unset_other_flags,
)
from boxoffice.services.core import Core
from boxoffice.store.lookups import CustomerRecord, Lookups
from boxoffice.store.models import (
    Base,
    ConsentChange,
    Customer,
    CustomerAddress,
    CustomerAttributeValue,
    CustomerChannel,
    CustomerConsent,
    CustomerSourceRecord,
    CustomerSubscription,
    CustomerTag,
    Statement,
    TimelineEntry,
)
from boxoffice.store.uow import UnitOfWork

#: Parts of a customer loaded only on request (addresses and attributes always are).
TAGS, CONSENTS, SUBSCRIPTIONS = "tags", "consents", "subscriptions"
ALL_PARTS = frozenset({TAGS, CONSENTS, SUBSCRIPTIONS})


def _now() -> datetime:
    return datetime.now(UTC)


# --- reading --------------------------------------------------------------------------------


async def _visible_tags(uow: UnitOfWork, principal: Principal) -> dict[int, TagView]:
    groups = {g.id: g for g in await uow.catalogue.tag_groups()}
    return {
        t.id: TagView(t.id, t.name, t.group_id)
        for t in await uow.catalogue.tags()
        if principal.full_access or groups[t.group_id].web_visible
    }


async def customer_view(
    uow: UnitOfWork, principal: Principal, row: Customer, parts: Collection[str] = ()
) -> CustomerView:
    attributes = await uow.catalogue.attributes()
    values = await uow.customers.attribute_values(row.id)
    tags: tuple[TagView, ...] = ()
    consents: tuple[ConsentView, ...] = ()
    subscriptions: tuple[SubscriptionView, ...] = ()
    if TAGS in parts:
        visible = await _visible_tags(uow, principal)
        links = sorted(await uow.customers.tag_links(row.id), key=lambda link: link.added_at)
        tags = tuple(visible[link.tag_id] for link in links if link.tag_id in visible)
    if CONSENTS in parts:
        texts = {s.id: s.text for s in await uow.catalogue.statements()}
        consents = tuple(
            ConsentView(c.statement_id, texts[c.statement_id], c.agreed_at)
            for c in await uow.customers.consents(row.id)
        )
    if SUBSCRIPTIONS in parts:
        subscriptions = tuple(
            SubscriptionView(s.id, s.membership_id, s.start_date, s.expiry_date, s.auto_renew)
            for s in await uow.customers.subscriptions(row.id)
        )
    view = _plain_view(principal, row, attributes, values, await uow.customers.addresses(row.id))
    return replace(view, tags=tags, consents=consents, subscriptions=subscriptions)


def _plain_view(
    principal: Principal,
    row: Any,
    attributes: Iterable[Any],
    values: Iterable[Any],
    addresses: Iterable[Any],
) -> CustomerView:
    """The view of a customer with its attributes and addresses (ORM objects or Core rows
    with the same names), without the parts loaded on request."""
    by_attribute = {v.attribute_id: v.value for v in values}
    return CustomerView(
        id=row.id,
        title=row.title,
        first_name=row.first_name,
        last_name=row.last_name,
        email=row.email,
        phone=row.phone,
        mobile=row.mobile,
        birth_date=row.birth_date,
        friendly_id=row.friendly_id,
        password_set=row.password_hash is not None,
        credit_balance=row.credit_balance,
        created_at=row.created_at,
        updated_at=row.updated_at,
        # Lists made into tuples: a list comprehension is cheaper than a generator's steps.
        attributes=tuple(
            [
                AttributeValueView(
                    _attribute_definition(a.id, a.name, a.type, a.web_visible),
                    by_attribute.get(a.id, ""),
                )
                for a in attribute_service.visible(principal, attributes)
            ]
        ),
        addresses=tuple([address_view(a) for a in addresses]),
    )


@functools.lru_cache(maxsize=1024, typed=True)
def _attribute_definition(
    key: int, name: str, kind: str, web_visible: bool
) -> AttributeDefinitionView:
    """Kept per definition (immutable; ``typed``: a value is kept as the row gave it): every
    view of a tenant's customers shows the same few attribute definitions."""
    return AttributeDefinitionView(key, name, kind, web_visible)


async def _snapshot_view(
    core: Core,
    principal: Principal,
    lookup: Callable[[Lookups], Awaitable[CustomerRecord | None]],
) -> CustomerView | None:
    """A customer without the parts loaded on request, read by a key lookup
    (``store/lookups.py``) in a read-only unit of work."""
    async with core.read(principal.tenant_id) as uow:
        record = await lookup(uow.lookups)
    if record is None:
        return None
    return _plain_view(
        principal, record.customer, record.attributes, record.values, record.addresses
    )


def check_reach(principal: Principal, customer_id: int) -> None:
    """``NotFound`` unless the principal may reach the customer: a customer session or token
    reaches only its own customer."""
    if principal.customer_id is not None and principal.customer_id != customer_id:
        raise NotFound("Customer", customer_id)


async def reachable_customer(
    uow: UnitOfWork, principal: Principal, customer_id: int, *, for_update: bool = False
) -> Customer:
    """The customer, if the principal may reach it (else ``NotFound``)."""
    check_reach(principal, customer_id)
    row = await uow.customers.get(customer_id, for_update=for_update)
    if row is None:
        raise NotFound("Customer", customer_id)
    return row


async def get_customer(
    core: Core, principal: Principal, customer_id: int, parts: Collection[str] = ()
) -> CustomerView:
    if not parts:
        check_reach(principal, customer_id)
        view = await _snapshot_view(
            core, principal, lambda lookups: lookups.customer_by_id(customer_id)
        )
        if view is None:
            raise NotFound("Customer", customer_id)
        return view
    async with core.uow(principal.tenant_id) as uow:
        return await customer_view(
            uow, principal, await reachable_customer(uow, principal, customer_id), parts
        )


async def find_customer_by_email(
    core: Core, principal: Principal, email: str, parts: Collection[str] = ()
) -> CustomerView:
    if not is_valid_email(email.strip()):
        raise NotFound("Customer", email)  # no customer can have it
    if not parts:
        email_key = normalise_email(email)
        view = await _snapshot_view(
            core, principal, lambda lookups: lookups.customer_by_email_key(email_key)
        )
        if view is None:
            raise NotFound("Customer", email)
        check_reach(principal, view.id)
        return view
    async with core.uow(principal.tenant_id) as uow:
        row = await uow.customers.by_email_key(normalise_email(email))
        if row is None:
            raise NotFound("Customer", email)
        check_reach(principal, row.id)
        return await customer_view(uow, principal, row, parts)


async def get_timeline(
    core: Core, principal: Principal, customer_id: int
) -> tuple[TimelineEntryView, ...]:
    async with core.uow(principal.tenant_id) as uow:
        await reachable_customer(uow, principal, customer_id)
        return tuple(
            TimelineEntryView(e.id, e.occurred_at, e.kind, e.actor, dict(e.data))
            for e in await uow.customers.timeline(customer_id)
        )


# --- writing --------------------------------------------------------------------------------


async def _resolve_attributes(
    uow: UnitOfWork, principal: Principal, sent: Mapping[str, str | None]
) -> attribute_service.Resolved:
    """The attribute values sent, among the attributes the principal sees (none sent: no read)."""
    if not sent:
        return {}
    definitions = attribute_service.visible(principal, await uow.catalogue.attributes())
    return attribute_service.resolve(definitions, sent)


async def _statements(uow: UnitOfWork, ids: Iterable[int], *, strict: bool) -> list[Statement]:
    known = {s.id: s for s in await uow.catalogue.statements()}
    out: list[Statement] = []
    for statement_id in dict.fromkeys(ids):
        statement = known.get(statement_id)
        if statement is None:
            if strict:
                raise InvalidInput("statements", f"unknown statement {statement_id}")
            raise NotFound("Statement", statement_id)
        out.append(statement)
    return out


async def _check_references(
    uow: UnitOfWork, principal: Principal, cmd: NewCustomer, email: str
) -> None:
    """What a new customer's data refers to (attributes, tags, statements) exists, and the
    email is free: the read made before a password is hashed (:func:`create_customer`)."""
    await _resolve_attributes(uow, principal, cmd.attributes)
    await _references(uow, principal, cmd)
    if await uow.customers.by_email_key(normalise_email(email)) is not None:
        raise AlreadyExists("Customer", email)


async def _references(
    uow: UnitOfWork, principal: Principal, cmd: NewCustomer
) -> tuple[dict[int, TagView], list[Statement]]:
    """The tags and statements a new customer names, when it names any (else nothing read):
    the visible tags by id, and the statements."""
    visible_tags: dict[int, TagView] = {}
    if cmd.tag_ids:
        visible_tags = await _visible_tags(uow, principal)
        for tag_id in cmd.tag_ids:
            if tag_id not in visible_tags:
                raise InvalidInput("tags", f"unknown tag {tag_id}")
    statements = await _statements(uow, cmd.statement_ids, strict=True) if cmd.statement_ids else []
    return visible_tags, statements


async def create_customer(
    core: Core,
    principal: Principal,
    cmd: NewCustomer,
    *,
    channel: str = "api",
    parts: Collection[str] = (),
    public: bool = False,
) -> CustomerView:
    """Create a customer. With a password, the whole input is checked first (its values, what
    it refers to, the email free: a read) and only then hashed, outside the write transaction:
    a refused request never costs an Argon2 computation. ``public``: for a caller nobody has
    authenticated, hashed in the bounded sign-up lane (``Unavailable`` when it is full).

    The write reads only what the input names (the attribute definitions, which the answer
    lists too; tags and statements when it names some) and sends one ``INSERT`` per table
    (:func:`insert_customer`); the email's unique index, not a read, finds a taken address.
    The answer is built from what was written."""
    first_name = rules.clean_text("first_name", cmd.first_name, required=True)
    last_name = rules.clean_text("last_name", cmd.last_name, required=True)
    email = rules.clean_email(cmd.email)
    phone, mobile, friendly_id, gender, language = (
        rules.clean_optional(name, getattr(cmd, name))
        for name in ("phone", "mobile", "friendly_id", "gender", "language")
    )
    assert first_name is not None and last_name is not None  # required: never None
    title = rules.clean_text("title", cmd.title) or ""
    birth_date = rules.clean_birth_date(cmd.birth_date, _now().date())
    for address in cmd.addresses:
        check_address(address)
    password_hash = None
    if cmd.password:
        password = rules.check_password(cmd.password)
        async with core.uow(principal.tenant_id) as uow:
            await _check_references(uow, principal, cmd, email)
        # Argon2 is slow on purpose and must not hold a write lock: hashed between the two.
        password_hash = await hash_password_async(password, public=public)

    async with core.uow(principal.tenant_id, write=True) as uow:
        definitions = await uow.catalogue.attributes()
        attributes = (
            attribute_service.resolve(
                attribute_service.visible(principal, definitions), cmd.attributes
            )
            if cmd.attributes
            else {}
        )
        visible_tags, statements = await _references(uow, principal, cmd)
        tag_ids = list(dict.fromkeys(cmd.tag_ids))
        row = new_customer_row(
            new_customer_key(),
            _now(),
            email=email,
            title=title,
            first_name=first_name,
            last_name=last_name,
            birth_date=birth_date,
            password_hash=password_hash,
            phone=phone,
            mobile=mobile,
            friendly_id=friendly_id,
            gender=gender,
            language=language,
        )
        written = await insert_customer(
            uow,
            principal.actor,
            row,
            NewCustomerParts(
                addresses=cmd.addresses,
                attributes={key: value for key, (_attr, value) in attributes.items()},
                tag_ids=tag_ids,
                agreed=statements,
                consent_channel=channel,
                timeline=(
                    (
                        "created",
                        {
                            "channel": channel,
                            "tags": tag_ids,
                            "statements": [s.id for s in statements],
                        },
                    ),
                ),
            ),
            conflicts={"email_key": AlreadyExists("Customer", email)},
        )
        view = written.view(principal, definitions)
        if TAGS in parts:
            view = replace(view, tags=tuple([visible_tags[t] for t in tag_ids]))
        if CONSENTS in parts:
            agreed = sorted(statements, key=lambda s: s.id)
            view = replace(
                view, consents=tuple([ConsentView(s.id, s.text, written.now) for s in agreed])
            )
        try:
            await uow.commit()
        except IntegrityError as exc:
            if "email_key" in str(exc.orig):
                raise AlreadyExists("Customer", email) from exc
            raise
        return view


# --- a new customer, as every dialect and the import write it ------------------------------


def new_customer_row(
    customer_id: int,
    now: datetime,
    *,
    first_name: str,
    last_name: str,
    email: str | None = None,
    title: str = "",
    phone: str | None = None,
    mobile: str | None = None,
    birth_date: date | None = None,
    gender: str | None = None,
    language: str | None = None,
    friendly_id: str | None = None,
    password_hash: str | None = None,
    brand_id: int | None = None,
    external_primary_id: str | None = None,
    store_id: int | None = None,
    post_nominals: str | None = None,
) -> dict[str, Any]:
    """A new customer's row (``customers``' every column but the tenant's, which the store
    stamps), from values already checked: the one definition of what a new customer is, for
    :func:`insert_customer` and the import's batches alike. The email's key is derived here."""
    return {
        "id": customer_id,
        "email": email,
        "email_key": normalise_email(email) if email is not None else None,
        "title": title,
        "first_name": first_name,
        "last_name": last_name,
        "phone": phone,
        "mobile": mobile,
        "birth_date": birth_date,
        "gender": gender,
        "language": language,
        "friendly_id": friendly_id,
        "password_hash": password_hash,
        # As the column gives it back (``Numeric(12, 2)``): answers built from the row read alike.
        "credit_balance": Decimal("0.00"),
        "brand_id": brand_id,
        "external_primary_id": external_primary_id,
        "state": "active",
        "created_at": now,
        "updated_at": now,
        "version": 1,
        "store_id": store_id,
        "post_nominals": post_nominals,
    }


@dataclass(frozen=True, slots=True)
class NewCustomerParts:
    """What a new customer is written with besides its own row, all checked already."""

    #: Addresses (each checked by :func:`check_address`); the first is billing and delivery.
    addresses: Sequence[NewAddress] = ()
    #: Attribute values by attribute id (``None``: no value, nothing written).
    attributes: Mapping[int, str | None] = field(default_factory=dict)
    tag_ids: Sequence[int] = ()
    #: Statements agreed to, and statements withdrawn (never agreed: a withdrawal on record),
    #: through ``consent_channel``.
    agreed: Sequence[Statement] = ()
    withdrawn: Sequence[Statement] = ()
    consent_channel: str = "api"
    #: Channels (brand/channel): ``(channel type id, value)``, in the order they are listed.
    channels: Sequence[tuple[int, str]] = ()
    #: Source records (CareCloud): ``(source id, external id)``.
    sources: Sequence[tuple[int, str | None]] = ()
    #: Timeline entries, ``(kind, data)``, in order: ``created`` first.
    timeline: Sequence[tuple[str, dict[str, Any]]] = ()


@dataclass(frozen=True, slots=True)
class WrittenCustomer:
    """What :func:`insert_customer` wrote, for an answer built without reading it back."""

    row: dict[str, Any]
    addresses: list[dict[str, Any]]
    values: dict[int, str]
    channels: list[dict[str, Any]]
    now: datetime

    @property
    def id(self) -> int:
        return int(self.row["id"])

    def view(self, principal: Principal, definitions: Iterable[Any]) -> CustomerView:
        """The customer's view as :func:`get_customer` reads it (no parts loaded on request)."""
        return _plain_view(
            principal,
            SimpleNamespace(**self.row),
            definitions,
            [_Value(key, value) for key, value in self.values.items()],
            [SimpleNamespace(**a) for a in self.addresses],
        )


@dataclass(frozen=True, slots=True)
class _Value:
    attribute_id: int
    value: str


def _new_address_rows(
    customer_id: int, addresses: Sequence[NewAddress], now: datetime
) -> list[dict[str, Any]]:
    """Address rows, in the order given (their times increase by a microsecond each: addresses
    are listed by creation time); the first is billing and delivery, as the vendor does, and
    a later claim to either takes it from the earlier ones (one billing, one delivery)."""
    rows: list[dict[str, Any]] = []
    for index, address in enumerate(addresses):
        row: dict[str, Any] = {
            name: rules.clean_text(name, getattr(address, name))
            for name in rules.ADDRESS_TEXT_FIELDS
        }
        row.update(
            id=new_row_key(),
            customer_id=customer_id,
            is_billing=True if index == 0 else bool(address.is_billing),
            is_delivery=True if index == 0 else bool(address.is_delivery),
            country=rules.clean_country(address.country),
            created_at=now + timedelta(microseconds=index),
        )
        for earlier in rows:
            earlier["is_billing"] = earlier["is_billing"] and not row["is_billing"]
            earlier["is_delivery"] = earlier["is_delivery"] and not row["is_delivery"]
        rows.append(row)
    return rows


async def insert_customer(
    uow: UnitOfWork,
    actor: str,
    row: dict[str, Any],
    parts: NewCustomerParts,
    *,
    conflicts: Mapping[str, DomainError],
) -> WrittenCustomer:
    """Write a new customer (``row``: :func:`new_customer_row`) and its parts in the unit of
    work's transaction: one Core ``INSERT`` per table, nothing read, the audit entry queued for
    the commit. Every dialect's create goes through here.

    The row's random key is replaced by another when it is taken (``row["id"]`` then holds
    the one written). A unique index it breaks raises the domain error ``conflicts`` names
    for it (``{"email_key": AlreadyExists(...)}``: a part of the index's name); any other
    ``IntegrityError`` is raised as it is.
    """
    customer_id = row["id"]
    now = row["created_at"]
    addresses = _new_address_rows(customer_id, parts.addresses, now)
    values = {key: value for key, value in parts.attributes.items() if value is not None}
    consent_changes = [
        {
            "id": new_row_key(),
            "customer_id": customer_id,
            "statement_id": statement.id,
            "agreed": agreed,
            "statement_text": statement.text,
            "actor": actor,
            "channel": parts.consent_channel,
            "occurred_at": now,
        }
        for agreed, statements in ((True, parts.agreed), (False, parts.withdrawn))
        for statement in statements
    ]
    channels = [
        {
            "id": new_row_key(),
            "customer_id": customer_id,
            "channel_type_id": type_id,
            "value": value,
            # Listed by creation time: the order given stays the order shown.
            "created_at": now + timedelta(microseconds=index),
        }
        for index, (type_id, value) in enumerate(parts.channels)
    ]
    rows: list[tuple[type[Base], list[dict[str, Any]]]] = [
        (CustomerAddress, addresses),
        (
            CustomerAttributeValue,
            [
                {"customer_id": customer_id, "attribute_id": key, "value": value}
                for key, value in values.items()
            ],
        ),
        (
            CustomerTag,
            [
                {"customer_id": customer_id, "tag_id": tag_id, "added_at": now, "added_by": actor}
                for tag_id in parts.tag_ids
            ],
        ),
        (
            CustomerConsent,
            [
                {"customer_id": customer_id, "statement_id": s.id, "agreed_at": now}
                for s in parts.agreed
            ],
        ),
        (ConsentChange, consent_changes),
        (CustomerChannel, channels),
        (
            CustomerSourceRecord,
            [
                {"customer_id": customer_id, "source_id": source_id, "external_id": external_id}
                for source_id, external_id in parts.sources
            ],
        ),
        (
            TimelineEntry,
            [
                {
                    "id": new_row_key(),
                    "customer_id": customer_id,
                    # In order: entries are listed by time.
                    "occurred_at": now + timedelta(microseconds=index),
                    "kind": kind,
                    "actor": actor,
                    "data": data,
                }
                for index, (kind, data) in enumerate(parts.timeline)
            ],
        ),
    ]
    try:
        await uow.customers.insert_new(row, [(m, r) for m, r in rows if r], new_customer_key)
    except IntegrityError as exc:
        for index_name, error in conflicts.items():
            if index_name in str(exc.orig):
                raise error from exc
        raise
    return WrittenCustomer(row, addresses, values, channels, now)


async def update_customer(
    core: Core,
    principal: Principal,
    customer_id: int,
    patch: CustomerPatch,
    *,
    parts: Collection[str] = (),
) -> CustomerView:
    async with core.uow(principal.tenant_id, write=True) as uow:
        row = await reachable_customer(uow, principal, customer_id, for_update=True)
        changes: dict[str, Any] = {}
        for f in fields(patch):
            name = f.name
            value = getattr(patch, name)
            if value is UNSET or name == "attributes":
                continue
            if name == "email":
                value = rules.clean_email(value)
                key = normalise_email(value)
                if key != row.email_key:
                    other = await uow.customers.by_email_key(key)
                    if other is not None and other.id != row.id:
                        raise AlreadyExists("Customer", value)
                    row.email_key = key
            elif name == "birth_date":
                value = rules.clean_birth_date(value, _now().date())
            elif name in ("first_name", "last_name"):
                value = rules.clean_text(name, value, required=True)
            elif name == "title":
                value = rules.clean_text(name, value) or ""
            else:
                value = rules.clean_optional(name, value)
            old = getattr(row, name)
            if old != value:
                changes[name] = [_jsonable(old), _jsonable(value)]
                setattr(row, name, value)
        resolved = await _resolve_attributes(uow, principal, patch.attributes)
        changes.update(await attribute_service.set_values(uow, row.id, resolved))
        if changes:
            row.updated_at = _now()
            uow.customers.record(row.id, "changed", principal.actor, changes=changes)
        email = row.email  # read before a failed flush makes the row unusable
        try:
            await uow.flush()
        except IntegrityError as exc:
            if "email_key" in str(exc.orig):
                raise AlreadyExists("Customer", email) from exc
            raise
        view = await customer_view(uow, principal, row, parts)
        await uow.commit()
        return view


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


# --- tags -----------------------------------------------------------------------------------


async def list_customer_tags(
    core: Core, principal: Principal, customer_id: int
) -> tuple[TagView, ...]:
    return (await get_customer(core, principal, customer_id, {TAGS})).tags


async def add_tag(core: Core, principal: Principal, customer_id: int, tag_id: int) -> TagView:
    async with core.uow(principal.tenant_id, write=True) as uow:
        await reachable_customer(uow, principal, customer_id, for_update=True)
        tag = (await _visible_tags(uow, principal)).get(tag_id)
        if tag is None:
            raise NotFound("Tag", tag_id)
        if tag_id not in {link.tag_id for link in await uow.customers.tag_links(customer_id)}:
            uow.customers.add(
                CustomerTag(
                    customer_id=customer_id,
                    tag_id=tag_id,
                    added_at=_now(),
                    added_by=principal.actor,
                )
            )
            uow.customers.record(
                customer_id, "tag_added", principal.actor, tag=tag_id, name=tag.name
            )
            await uow.commit()
        return tag


async def remove_tag(core: Core, principal: Principal, customer_id: int, tag_id: int) -> None:
    async with core.uow(principal.tenant_id, write=True) as uow:
        await reachable_customer(uow, principal, customer_id, for_update=True)
        tag = (await _visible_tags(uow, principal)).get(tag_id)
        if tag is None:
            raise NotFound("Tag", tag_id)
        if await uow.customers.remove_tag(customer_id, tag_id):
            uow.customers.record(
                customer_id, "tag_removed", principal.actor, tag=tag_id, name=tag.name
            )
            await uow.commit()


# --- agreed statements ------------------------------------------------------------------------


async def list_agreed_statements(
    core: Core, principal: Principal, customer_id: int
) -> tuple[ConsentView, ...]:
    return (await get_customer(core, principal, customer_id, {CONSENTS})).consents


async def _consent_views(uow: UnitOfWork, customer_id: int) -> tuple[ConsentView, ...]:
    texts = {s.id: s.text for s in await uow.catalogue.statements()}
    return tuple(
        ConsentView(c.statement_id, texts[c.statement_id], c.agreed_at)
        for c in await uow.customers.consents(customer_id)
    )


async def agree_statements(
    core: Core,
    principal: Principal,
    customer_id: int,
    statement_ids: Iterable[int],
    *,
    replace: bool = False,
    channel: str = "api",
) -> tuple[ConsentView, ...]:
    """Add agreement to statements (idempotent); with ``replace``, withdraw all others."""
    async with core.uow(principal.tenant_id, write=True) as uow:
        await reachable_customer(uow, principal, customer_id, for_update=True)
        wanted = await _statements(uow, statement_ids, strict=False)
        consents = {c.statement_id: c for c in await uow.customers.consents(customer_id)}
        withdrawn: list[int] = []
        if replace:
            texts = {s.id: s.text for s in await uow.catalogue.statements()}
            keep = {s.id for s in wanted}
            for statement_id, consent in list(consents.items()):
                if statement_id not in keep:
                    await consent_service.withdraw(
                        uow, principal, customer_id, consent, texts[statement_id], channel
                    )
                    del consents[statement_id]
                    withdrawn.append(statement_id)
        added = await consent_service.agree(
            uow, principal, customer_id, wanted, channel, set(consents)
        )
        if added or withdrawn:
            uow.customers.record(
                customer_id,
                "consent_changed",
                principal.actor,
                agreed=added,
                withdrawn=withdrawn,
                channel=channel,
            )
        await uow.flush()
        views = await _consent_views(uow, customer_id)
        await uow.commit()
        return views


async def withdraw_statement(
    core: Core, principal: Principal, customer_id: int, statement_id: int, *, channel: str = "api"
) -> None:
    async with core.uow(principal.tenant_id, write=True) as uow:
        await reachable_customer(uow, principal, customer_id, for_update=True)
        (statement,) = await _statements(uow, [statement_id], strict=False)
        consent = next(
            (
                c
                for c in await uow.customers.consents(customer_id)
                if c.statement_id == statement_id
            ),
            None,
        )
        if consent is not None:
            await consent_service.withdraw(
                uow, principal, customer_id, consent, statement.text, channel
            )
            uow.customers.record(
                customer_id,
                "consent_changed",
                principal.actor,
                agreed=[],
                withdrawn=[statement_id],
                channel=channel,
            )
            await uow.commit()


async def withdraw_all_statements(
    core: Core, principal: Principal, customer_id: int, *, channel: str = "api"
) -> None:
    await agree_statements(core, principal, customer_id, (), replace=True, channel=channel)


# --- addresses ------------------------------------------------------------------------------


async def list_addresses(
    core: Core, principal: Principal, customer_id: int
) -> tuple[AddressView, ...]:
    return (await get_customer(core, principal, customer_id)).addresses


async def add_address(
    core: Core, principal: Principal, customer_id: int, address: NewAddress
) -> AddressView:
    async with core.uow(principal.tenant_id, write=True) as uow:
        await reachable_customer(uow, principal, customer_id, for_update=True)
        first = not await uow.customers.addresses(customer_id)
        row = new_address_row(customer_id, address, first=first)
        uow.customers.add(row)
        await unset_other_flags(uow, customer_id, row)
        uow.customers.record(customer_id, "address_added", principal.actor, address=row.id)
        await uow.commit()
        return address_view(row)


async def update_address(
    core: Core, principal: Principal, customer_id: int, address_id: int, patch: AddressPatch
) -> AddressView:
    async with core.uow(principal.tenant_id, write=True) as uow:
        await reachable_customer(uow, principal, customer_id, for_update=True)
        row = await uow.customers.address(customer_id, address_id)
        if row is None:
            raise NotFound("Address", address_id)
        changed: list[str] = []
        for f in fields(patch):
            value = getattr(patch, f.name)
            if value is UNSET:
                continue
            if f.name in ("is_billing", "is_delivery"):
                value = bool(value)
            elif f.name == "country":
                value = rules.clean_country(value)
            else:
                value = rules.clean_text(f.name, value)
            if getattr(row, f.name) != value:
                setattr(row, f.name, value)
                changed.append(f.name)
        if changed:
            await unset_other_flags(uow, customer_id, row)
            uow.customers.record(
                customer_id, "address_changed", principal.actor, address=row.id, fields=changed
            )
            await uow.commit()
        return address_view(row)


async def delete_address(
    core: Core, principal: Principal, customer_id: int, address_id: int
) -> None:
    async with core.uow(principal.tenant_id, write=True) as uow:
        await reachable_customer(uow, principal, customer_id, for_update=True)
        row = await uow.customers.address(customer_id, address_id)
        if row is None:
            raise NotFound("Address", address_id)
        await uow.customers.delete(row)
        uow.customers.record(customer_id, "address_removed", principal.actor, address=address_id)
        await uow.commit()


# --- subscriptions --------------------------------------------------------------------------


async def add_subscription(
    core: Core,
    principal: Principal,
    customer_id: int,
    membership: str,
    *,
    start: date,
    expiry: date,
    auto_renew: bool = False,
) -> SubscriptionView:
    """Give a customer a membership (by name or numeric id)."""
    if expiry < start:
        raise InvalidInput("expiry", "before the start date")
    async with core.uow(principal.tenant_id, write=True) as uow:
        await reachable_customer(uow, principal, customer_id, for_update=True)
        memberships = await uow.catalogue.memberships()
        found = next(
            (
                m
                for m in memberships
                if m.name.casefold() == membership.casefold() or str(m.id) == membership
            ),
            None,
        )
        if found is None:
            raise NotFound("Membership", membership)
        row = CustomerSubscription(
            id=new_row_key(),
            customer_id=customer_id,
            membership_id=found.id,
            start_date=start,
            expiry_date=expiry,
            auto_renew=auto_renew,
            created_at=_now(),
        )
        uow.customers.add(row)
        uow.customers.record(
            customer_id,
            "subscription_added",
            principal.actor,
            membership=found.id,
            start=start.isoformat(),
            expiry=expiry.isoformat(),
            auto_renew=auto_renew,
        )
        await uow.commit()
        return SubscriptionView(
            row.id, row.membership_id, row.start_date, row.expiry_date, row.auto_renew
        )


def record_view(principal: Principal, record: CustomerRecord) -> CustomerView:
    """The view of a customer read by a key lookup (``store/lookups.py``; no parts loaded
    on request)."""
    return _plain_view(
        principal, record.customer, record.attributes, record.values, record.addresses
    )


#: The most customers :func:`find_customers` returns.
FIND_LIMIT = 50


async def find_customers(
    core: Core,
    principal: Principal,
    *,
    ref: str | None = None,
    email: str | None = None,
    name: str | None = None,
    phone: str | None = None,
    limit: int = 20,
) -> tuple[CustomerView, ...]:
    """Active customers matching every criterion given (at least one), oldest first, for
    operators: ``ref`` is an id in any dialect's form, ``email`` the address in any case,
    ``name`` a part of "first last" in any case, ``phone`` a number in any format."""
    from boxoffice.domain.ids import parse_customer_ref

    if ref is None and email is None and name is None and phone is None:
        raise InvalidInput("criteria", "give an id, an email, a name or a phone number")
    if not 1 <= limit <= FIND_LIMIT:
        raise InvalidInput("limit", f"1 to {FIND_LIMIT}")
    key = parse_customer_ref(ref) if ref is not None else None
    phones = rules.phone_variants(phone) if phone is not None else []
    if (ref is not None and key is None) or (phone is not None and not phones):
        return ()  # no customer can have it
    if name is not None and not name.strip():
        raise InvalidInput("name", "empty")
    async with core.uow(principal.tenant_id) as uow:
        rows = await uow.customers.find(
            customer_id=key,
            email_key=normalise_email(email) if email is not None else None,
            name=" ".join(name.split()) if name is not None else None,
            phones=phones,
            limit=limit,
        )
        return tuple([await customer_view(uow, principal, row) for row in rows])
