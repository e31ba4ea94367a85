"""Repositories: queries in one place. Bound to a session that the tenant guard scopes.

They never take a tenant argument: the guard adds the tenant to every query, and stamps it on
every new row. ``Operators`` is the exception on purpose: it resolves tenants and credentials
before a tenant is known, with explicitly unscoped queries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    case,
    delete,
    exists,
    func,
    insert,
    inspect,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from boxoffice.domain.ids import new_row_key
from boxoffice.store.audit import record_rows
from boxoffice.store.models import (
    CUSTOMER_COUNT_BUCKET,
    ApiKey,
    ApiUser,
    AttributeDefinition,
    Base,
    Brand,
    CatalogueTranslation,
    ChannelType,
    ConsentChange,
    Customer,
    CustomerAddress,
    CustomerAttributeValue,
    CustomerChannel,
    CustomerConsent,
    CustomerCount,
    CustomerSourceRecord,
    CustomerSubscription,
    CustomerTag,
    DeviceToken,
    InterfaceUser,
    Membership,
    Statement,
    Tag,
    TagGroup,
    Tenant,
    TenantOrigin,
    TimelineEntry,
)
from boxoffice.store.scoping import stamp_rows

M = TypeVar("M", bound=Base)
UNSCOPED = {"unscoped": True}


def utcnow() -> datetime:
    return datetime.now(UTC)


#: The columns that say when a linked row came to be, in order of preference.
_TIME_COLUMNS = ("occurred_at", "created_at", "added_at", "agreed_at", "changed_at")


def _customer_link_attributes(table: Table) -> list[Any]:
    """The mapped attributes of ``table`` that a foreign key points at ``customers.id``."""
    if table.name == Customer.__tablename__:
        return []
    columns = [
        element.parent
        for constraint in table.foreign_key_constraints
        if constraint.referred_table.name == Customer.__tablename__
        for element in constraint.elements
        if element.column.name == "id"
    ]
    found: list[Any] = []
    for mapper in Base.registry.mappers:
        if mapper.local_table is table:
            for column in columns:
                found.append(getattr(mapper.class_, mapper.get_property_by_column(column).key))
    return found


def storable(text: str) -> bool:
    """Whether a text can be stored at all: PostgreSQL refuses NUL in text (an error, not "no
    match"), and nothing stored holds one, so a lookup by such a text matches nothing."""
    return "\x00" not in text


def _with_channel_value(value: str) -> Select[int]:
    """The customers with a channel of this value, whatever its case: read from the
    ``(tenant_id, lower(value))`` index, rather than probing every customer's channels."""
    return select(CustomerChannel.customer_id).where(
        func.lower(CustomerChannel.value) == value.lower()
    )


#: Tries at a free random customer key before giving up (a collision is already rare).
KEY_ATTEMPTS = 5


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


_CUSTOMERS = _table(Customer)
#: A new customer's ``INSERT``, per dialect: a key another customer has is skipped (no row,
#: no error, no savepoint needed), any other unique index (the email's) still raises.
_NEW_CUSTOMER: dict[str, Insert] = {
    "sqlite": sqlite.insert(_CUSTOMERS).on_conflict_do_nothing(
        index_elements=[_CUSTOMERS.c.tenant_id, _CUSTOMERS.c.id]
    ),
    "postgresql": postgresql.insert(_CUSTOMERS).on_conflict_do_nothing(
        index_elements=[_CUSTOMERS.c.tenant_id, _CUSTOMERS.c.id]
    ),
}


class _Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, obj: Base) -> None:
        self.session.add(obj)

    async def delete(self, obj: Base) -> None:
        await self.session.delete(obj)


class Customers(_Repository):
    async def get(self, customer_id: int, *, for_update: bool = False) -> Customer | None:
        stmt = select(Customer).where(Customer.id == customer_id, Customer.state == "active")
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def exists(self, customer_id: int) -> bool:
        stmt = select(Customer.id).where(Customer.id == customer_id)
        return (await self.session.execute(stmt)).first() is not None

    async def by_email_key(self, email_key: str) -> Customer | None:
        if not storable(email_key):
            return None
        stmt = select(Customer).where(Customer.email_key == email_key, Customer.state == "active")
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def find(
        self,
        *,
        customer_id: int | None = None,
        email_key: str | None = None,
        name: str | None = None,
        phones: Sequence[str] = (),
        limit: int,
    ) -> Sequence[Customer]:
        """Active customers matching every filter given, oldest first: ``name`` is a part of
        "first last", in any case; ``phones`` are digits (``_phone_matches``)."""
        where: list[ColumnElement[bool]] = [Customer.state == "active"]
        if customer_id is not None:
            where.append(Customer.id == customer_id)
        if email_key is not None:
            where.append(Customer.email_key == email_key)
        if name is not None:
            full = func.lower(Customer.first_name + " " + Customer.last_name)
            pattern = name.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(full.like(f"%{pattern}%", escape="\\"))
        if phones:
            where.append(_phone_matches(phones))
        if any(not storable(v) for v in (email_key or "", name or "", *phones)):
            return []
        stmt = select(Customer).where(*where).order_by(Customer.created_at, Customer.id)
        return (await self.session.execute(stmt.limit(limit))).scalars().all()

    async def addresses(self, customer_id: int) -> Sequence[CustomerAddress]:
        stmt = (
            select(CustomerAddress)
            .where(CustomerAddress.customer_id == customer_id)
            .order_by(CustomerAddress.created_at, CustomerAddress.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def address(self, customer_id: int, address_id: int) -> CustomerAddress | None:
        stmt = select(CustomerAddress).where(
            CustomerAddress.customer_id == customer_id, CustomerAddress.id == address_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def attribute_values(self, customer_id: int) -> Sequence[CustomerAttributeValue]:
        stmt = select(CustomerAttributeValue).where(
            CustomerAttributeValue.customer_id == customer_id
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def tag_links(self, customer_id: int) -> Sequence[CustomerTag]:
        stmt = select(CustomerTag).where(CustomerTag.customer_id == customer_id)
        return (await self.session.execute(stmt)).scalars().all()

    async def remove_tag(self, customer_id: int, tag_id: int) -> bool:
        stmt = delete(CustomerTag).where(
            CustomerTag.customer_id == customer_id, CustomerTag.tag_id == tag_id
        )
        result: Any = await self.session.execute(stmt)
        return bool(result.rowcount)

    async def consents(self, customer_id: int) -> Sequence[CustomerConsent]:
        stmt = (
            select(CustomerConsent)
            .where(CustomerConsent.customer_id == customer_id)
            .order_by(CustomerConsent.agreed_at, CustomerConsent.statement_id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def consent_history(self, customer_id: int) -> Sequence[ConsentChange]:
        stmt = (
            select(ConsentChange)
            .where(ConsentChange.customer_id == customer_id)
            .order_by(ConsentChange.occurred_at, ConsentChange.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def subscriptions(self, customer_id: int) -> Sequence[CustomerSubscription]:
        stmt = (
            select(CustomerSubscription)
            .where(CustomerSubscription.customer_id == customer_id)
            .order_by(CustomerSubscription.start_date, CustomerSubscription.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def timeline(self, customer_id: int) -> Sequence[TimelineEntry]:
        stmt = (
            select(TimelineEntry)
            .where(TimelineEntry.customer_id == customer_id)
            .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def insert_new(
        self,
        customer: dict[str, Any],
        parts: Sequence[tuple[type[Base], list[dict[str, Any]]]],
        draw_key: Callable[[], int],
    ) -> None:
        """Insert a new customer and the rows that belong to it (addresses, attribute values,
        timeline entries...: ``(model, rows)`` in insertion order), with Core statements on the
        transaction's connection, each table's rows in one ``executemany``.

        The customer's random key may be taken: then ``draw_key`` gives another, written into
        ``customer["id"]`` and every part's ``customer_id`` (the caller reads the key from
        there). Any other unique index (the email's, the external id's) raises
        ``IntegrityError``, for the caller to name; nothing is read back.

        The tenant guard's rules hold as for a flush (``scoping.stamp_rows``): every row gets
        the unit of work's tenant, and a row naming another tenant is refused. The audit log
        records each row as a flush would (``audit.record_rows``).
        """
        stamp_rows(self.session, [customer])
        for _model, rows in parts:
            stamp_rows(self.session, rows)

        def write(session: Session) -> None:
            connection: Connection = session.connection()
            statement = _NEW_CUSTOMER[connection.dialect.name]
            for _attempt in range(KEY_ATTEMPTS):
                if connection.execute(statement, customer).rowcount == 1:
                    break
                key = customer["id"] = draw_key()  # a random key that was taken: another
                for _model, rows in parts:
                    for row in rows:
                        row["customer_id"] = key
            else:
                raise RuntimeError("could not allocate a customer id")
            for model, rows in parts:
                if rows:
                    connection.execute(insert(_table(model)), rows)

        await self.session.run_sync(write)
        record_rows(self.session, _CUSTOMERS, [customer])
        for model, rows in parts:
            record_rows(self.session, _table(model), rows)

    def record(self, customer_id: int, kind: str, actor: str, **data: Any) -> TimelineEntry:
        """Append to the customer's timeline."""
        entry = TimelineEntry(
            id=new_row_key(),
            customer_id=customer_id,
            occurred_at=utcnow(),
            kind=kind,
            actor=actor,
            data=data,
        )
        self.session.add(entry)
        return entry

    # --- brands and channels (the brand/channel API) --------------------------------------

    async def get_any_state(self, customer_id: int, *, for_update: bool = False) -> Customer | None:
        """A customer, or the anonymous tombstone an erasure left."""
        stmt = select(Customer).where(Customer.id == customer_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_external_id(self, brand_id: int, external_id: str) -> Customer | None:
        if not storable(external_id):
            return None
        stmt = select(Customer).where(
            Customer.brand_id == brand_id,
            Customer.external_primary_id == external_id,
            Customer.state == "active",
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_channel_value(
        self, brand_id: int, value: str, channel_type_id: int | None = None
    ) -> Sequence[Customer]:
        """Active customers of a brand with a channel of this value (case-insensitive)."""
        if not storable(value):
            return ()
        match = _with_channel_value(value)
        if channel_type_id is not None:
            match = match.where(CustomerChannel.channel_type_id == channel_type_id)
        stmt = (
            select(Customer)
            .where(
                Customer.brand_id == brand_id, Customer.state == "active", Customer.id.in_(match)
            )
            .order_by(Customer.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def index_page(
        self, *, brand_id: int | None, offset: int, limit: int
    ) -> tuple[int, Sequence[Customer]]:
        """A page of every customer (tombstones too), or of one brand's, by id from ``offset``
        on, and how many there are in all: the cost of a few hundred rows at any size and
        depth, never of the ``offset`` customers before the page (decision 0119).

        One statement: ``located`` adds up ``customer_counts`` (kept by the database,
        migration 0012) by id range, for the total and the range the ``offset``-th customer
        falls in with how many come before it; the page's ids are read from that range's
        first id on, skipping within the range alone (on the ``(tenant_id[, brand_id], id,
        state)`` indexes), and the page's rows whole by id, each with the total. A page past
        the end (no row to carry the total) reads the total alone.
        """
        locate = self._locate(brand_id, offset)
        located = locate.cte("located")
        where: list[ColumnElement[bool]] = [
            Customer.id >= select(located.c.bucket * CUSTOMER_COUNT_BUCKET).scalar_subquery(),
            select(located.c.upto).scalar_subquery() > offset,
        ]
        if brand_id is not None:
            where.append(Customer.brand_id == brand_id)
        page = (
            select(Customer.id)
            .where(*where)
            .order_by(Customer.id)
            # (SQLite refuses a NULL offset: none is located when there are no customers.)
            .offset(func.coalesce(select(offset - located.c.before).scalar_subquery(), 0))
            .limit(limit)
        )
        stmt = (
            select(Customer, select(located.c.total).scalar_subquery())
            .where(Customer.id.in_(page))
            .order_by(Customer.id)
        )
        rows = (await self.session.execute(stmt)).all()
        if rows:
            return int(rows[0][1]), [row[0] for row in rows]
        found = (await self.session.execute(locate)).first()
        return (0 if found is None else int(found.total)), ()

    @staticmethod
    def _locate(brand_id: int | None, offset: int) -> Select[tuple[int, int, int, int]]:
        """One row: the customers in all (``total``), and the id range (``bucket``) holding
        the ``offset``-th customer with the customers before it (``before``) and up to its end
        (``upto``); past the end, any range (``upto <= offset``). No row without customers."""
        counts = select(
            CustomerCount.bucket.label("bucket"),
            func.sum(CustomerCount.customers).label("n"),
        ).group_by(CustomerCount.bucket)
        if brand_id is not None:
            counts = counts.where(CustomerCount.brand_key == brand_id)
        by_bucket = counts.subquery()
        upto = func.sum(by_bucket.c.n).over(order_by=by_bucket.c.bucket)
        running = select(
            by_bucket.c.bucket,
            (upto - by_bucket.c.n).label("before"),
            upto.label("upto"),
            func.sum(by_bucket.c.n).over().label("total"),
        ).subquery()
        return (
            select(running.c.total, running.c.bucket, running.c.before, running.c.upto)
            .order_by(case((running.c.upto > offset, 0), else_=1), running.c.bucket)
            .limit(1)
        )

    async def page(
        self,
        *,
        brand_id: int | None,
        search: str,
        states: tuple[str, ...],
        offset: int,
        limit: int,
        channel_value: str | None = None,
        external_id: str | None = None,
    ) -> tuple[int, Sequence[Customer]]:
        """A page of customers by id, and how many match in all.

        ``search`` matches names, external ids and channel values as a case-insensitive
        substring; ``channel_value`` and ``external_id`` match exactly. The count and the
        rows skipped before the page are read from the ``(tenant_id[, brand_id], id, state)``
        indexes alone; only the page's own rows are read whole (decision 0055).
        """
        where: list[ColumnElement[bool]] = [Customer.state.in_(states)]
        if brand_id is not None:
            where.append(Customer.brand_id == brand_id)
        if external_id is not None:
            where.append(Customer.external_primary_id == external_id)
        if channel_value is not None:
            where.append(Customer.id.in_(_with_channel_value(channel_value)))
        if search:
            pattern = f"%{search.lower()}%"
            where.append(
                or_(
                    func.lower(Customer.first_name).like(pattern),
                    func.lower(Customer.last_name).like(pattern),
                    func.lower(Customer.external_primary_id).like(pattern),
                    exists(
                        select(CustomerChannel.id).where(
                            CustomerChannel.customer_id == Customer.id,
                            func.lower(CustomerChannel.value).like(pattern),
                        )
                    ),
                )
            )
        total = (await self.session.execute(select(func.count(Customer.id)).where(*where))).scalar()
        page = select(Customer.id).where(*where).order_by(Customer.id).offset(offset).limit(limit)
        stmt = select(Customer).where(Customer.id.in_(page)).order_by(Customer.id)
        return int(total or 0), (await self.session.execute(stmt)).scalars().all()

    async def channels(self, customer_ids: Sequence[int]) -> Sequence[CustomerChannel]:
        if not customer_ids:
            return ()
        stmt = (
            select(CustomerChannel)
            .where(CustomerChannel.customer_id.in_(customer_ids))
            .order_by(CustomerChannel.created_at, CustomerChannel.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def attribute_values_of(
        self, customer_ids: Sequence[int]
    ) -> Sequence[CustomerAttributeValue]:
        if not customer_ids:
            return ()
        stmt = select(CustomerAttributeValue).where(
            CustomerAttributeValue.customer_id.in_(customer_ids)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def timeline_page(
        self, customer_id: int, *, exclude_kinds: tuple[str, ...], offset: int, limit: int
    ) -> tuple[int, Sequence[TimelineEntry]]:
        """A page of the customer's timeline, newest first, and how many entries in all."""
        where: list[ColumnElement[bool]] = [TimelineEntry.customer_id == customer_id]
        if exclude_kinds:
            where.append(TimelineEntry.kind.not_in(exclude_kinds))
        total = (
            await self.session.execute(select(func.count(TimelineEntry.id)).where(*where))
        ).scalar()
        stmt = (
            select(TimelineEntry)
            .where(*where)
            .order_by(TimelineEntry.occurred_at.desc(), TimelineEntry.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return int(total or 0), (await self.session.execute(stmt)).scalars().all()

    async def linked_rows(self, customer_id: int) -> dict[str, Sequence[Base]]:
        """Every row, by table, that a foreign key links to this customer (from the schema,
        like :meth:`delete_linked_rows`), oldest first where the table records a time (row keys
        are random: they give no order of their own)."""
        found: dict[str, Sequence[Base]] = {}
        for table in Base.metadata.sorted_tables:
            for attribute in _customer_link_attributes(table):
                times = [table.c[name] for name in _TIME_COLUMNS if name in table.c][:1]
                stmt = (
                    select(attribute.class_)
                    .where(attribute == customer_id)
                    .order_by(*times, *table.primary_key.columns)
                )
                found[table.name] = (await self.session.execute(stmt)).scalars().all()
        return found

    async def delete_linked_rows(self, customer_id: int) -> None:
        """Delete every row, in every table, that a foreign key links to this customer.

        The list of tables comes from the schema itself, so a table added later is covered
        the moment it declares its foreign key to ``customers``.
        """
        for table in reversed(Base.metadata.sorted_tables):
            for attribute in _customer_link_attributes(table):
                await self.session.execute(delete(attribute.class_).where(attribute == customer_id))


class Catalogue(_Repository):
    async def _all(self, model: type[M], *order: Any) -> Sequence[M]:
        return (await self.session.execute(select(model).order_by(*order))).scalars().all()

    async def tag_groups(self) -> Sequence[TagGroup]:
        return await self._all(TagGroup, TagGroup.position, TagGroup.id)

    async def tags(self) -> Sequence[Tag]:
        return await self._all(Tag, Tag.position, Tag.id)

    async def statements(self) -> Sequence[Statement]:
        return await self._all(Statement, Statement.position, Statement.id)

    async def memberships(self) -> Sequence[Membership]:
        return await self._all(Membership, Membership.name, Membership.id)

    async def attributes(self) -> Sequence[AttributeDefinition]:
        return await self._all(
            AttributeDefinition, AttributeDefinition.position, AttributeDefinition.id
        )

    async def brand(self, brand_id: int) -> Brand | None:
        return (
            await self.session.execute(select(Brand).where(Brand.id == brand_id))
        ).scalar_one_or_none()

    async def brands(self) -> Sequence[Brand]:
        return await self._all(Brand, Brand.id)

    async def channel_types(self) -> Sequence[ChannelType]:
        return await self._all(ChannelType, ChannelType.id)

    async def all(self, model: type[M]) -> Sequence[M]:
        order = inspect(model).primary_key
        return (await self.session.execute(select(model).order_by(*order))).scalars().all()

    async def next_id(self, model: type[Any]) -> int:
        value = (await self.session.execute(select(func.max(model.id)))).scalar()
        return int(value or 0) + 1

    async def upsert(
        self, model: type[Any], existing: dict[Any, Any], key: Any, values: dict[str, Any]
    ) -> Any:
        """A catalogue load's add-or-update by natural key: ``existing[key]`` updated with
        ``values`` (only what differs is set), else a new row with the next id, flushed and
        added to ``existing``."""
        row = existing.get(key)
        if row is None:
            row = model(id=await self.next_id(model), **values)
            self.session.add(row)
            await self.session.flush()
            existing[key] = row
        else:
            for name, value in values.items():
                if getattr(row, name) != value:
                    setattr(row, name, value)
        return row


class Operators(_Repository):
    """Lookups across tenants: tenant resolution and credentials (explicitly unscoped)."""

    async def tenant_by_name(self, name: str) -> Tenant | None:
        if not storable(name):
            return None
        stmt = select(Tenant).where(Tenant.name == name)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def tenants(self) -> Sequence[Tenant]:
        return (await self.session.execute(select(Tenant).order_by(Tenant.name))).scalars().all()

    async def origins(self, tenant_id: int) -> Sequence[str]:
        stmt = (
            select(TenantOrigin.origin)
            .where(TenantOrigin.tenant_id == tenant_id)
            .execution_options(**UNSCOPED)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def api_user(self, tenant_id: int, login: str) -> ApiUser | None:
        if not storable(login):
            return None
        stmt = (
            select(ApiUser)
            .where(ApiUser.tenant_id == tenant_id, ApiUser.login == login)
            .execution_options(**UNSCOPED)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        """A brand/channel API key by the SHA-256 of the key, in whichever tenant it is."""
        stmt = select(ApiKey).where(ApiKey.key_hash == key_hash).execution_options(**UNSCOPED)
        return (await self.session.execute(stmt)).scalars().first()


class Credentials(_Repository):
    """A tenant's credentials, as its operators manage them (the unit of work's tenant)."""

    async def api_users(self) -> Sequence[ApiUser]:
        stmt = select(ApiUser).order_by(ApiUser.login)
        return (await self.session.execute(stmt)).scalars().all()

    async def api_keys(self) -> Sequence[ApiKey]:
        stmt = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def api_key(self, key_id: int) -> ApiKey | None:
        stmt = select(ApiKey).where(ApiKey.id == key_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def interface_users(self) -> Sequence[InterfaceUser]:
        stmt = select(InterfaceUser).order_by(InterfaceUser.user_name)
        return (await self.session.execute(stmt)).scalars().all()

    async def interface_user(self, user_name: str) -> InterfaceUser | None:
        if not storable(user_name):
            return None
        stmt = select(InterfaceUser).where(InterfaceUser.user_name == user_name)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def device_token_counts(self) -> dict[str, int]:
        """How many device tokens each interface user name has (tokens without one: none)."""
        stmt = (
            select(DeviceToken.user_name, func.count())
            .where(DeviceToken.user_name.is_not(None))
            .group_by(DeviceToken.user_name)
        )
        return {str(name): int(count) for name, count in (await self.session.execute(stmt))}

    async def end_device_tokens(self, user_name: str) -> int:
        """Delete every device token issued with ``user_name``; how many there were."""
        stmt = delete(DeviceToken).where(DeviceToken.user_name == user_name)
        result: Any = await self.session.execute(stmt)
        return int(result.rowcount or 0)


# --- CareCloud: device tokens, customer lookups by profile data, catalogue translations -----


class DeviceTokens(_Repository):
    async def by_hash(self, token_hash: str, *, for_update: bool = False) -> DeviceToken | None:
        stmt = select(DeviceToken).where(DeviceToken.token_hash == token_hash)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def for_device(self, device_id: str, application_id: str) -> DeviceToken | None:
        stmt = select(DeviceToken).where(
            DeviceToken.device_id == device_id,
            DeviceToken.external_application_id == application_id,
        )
        return (await self.session.execute(stmt.with_for_update())).scalar_one_or_none()


def _phone_digits(column: Any) -> Any:
    """A stored phone number without its usual separators and ``+``."""
    for separator in (" ", "-", "(", ")", ".", "/", "+"):
        column = func.replace(column, separator, "")
    return column


def _phone_matches(variants: Sequence[str]) -> ColumnElement[bool]:
    return or_(
        _phone_digits(Customer.mobile).in_(variants), _phone_digits(Customer.phone).in_(variants)
    )


class Profiles(_Repository):
    """Customers found by what the app-facing API knows: phone, card number, source records.

    Phone numbers match on their digits (``+420 777 123 456`` is ``420777123456``).
    """

    async def by_phone(self, variants: Sequence[str]) -> Sequence[Customer]:
        stmt = (
            select(Customer)
            .where(Customer.state == "active", _phone_matches(variants))
            .order_by(Customer.created_at, Customer.id)
            .limit(5)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def by_friendly_id(self, friendly_id: str) -> Customer | None:
        if not storable(friendly_id):
            return None
        stmt = select(Customer).where(
            Customer.state == "active", Customer.friendly_id == friendly_id
        )
        return (await self.session.execute(stmt.limit(1))).scalar_one_or_none()

    async def search(
        self,
        *,
        only_id: int | None,
        email_keys: Sequence[str],
        phones: Sequence[str],
        first_name: str | None,
        last_name: str | None,
        birth_date: Any,
        source_id: int | None,
        customer_ids: Sequence[int],
        order: str,
        descending: bool,
        offset: int,
        limit: int,
    ) -> tuple[int, Sequence[Customer]]:
        """A page of active customers matching every filter given, and how many match."""
        where: list[ColumnElement[bool]] = [Customer.state == "active"]
        if only_id is not None:
            where.append(Customer.id == only_id)
        if email_keys:
            where.append(Customer.email_key.in_(email_keys))
        if phones:
            where.append(_phone_matches(phones))
        if first_name is not None:
            where.append(func.lower(Customer.first_name) == first_name.lower())
        if last_name is not None:
            where.append(func.lower(Customer.last_name) == last_name.lower())
        if birth_date is not None:
            where.append(Customer.birth_date == birth_date)
        if source_id is not None:
            where.append(
                exists(
                    select(CustomerSourceRecord.source_id).where(
                        CustomerSourceRecord.customer_id == Customer.id,
                        CustomerSourceRecord.source_id == source_id,
                    )
                )
            )
        if customer_ids:
            where.append(Customer.id.in_(customer_ids))
        column = {"last_change": Customer.updated_at}.get(order, Customer.id)
        ordering = [column.desc(), Customer.id.desc()] if descending else [column, Customer.id]
        total = (await self.session.execute(select(func.count(Customer.id)).where(*where))).scalar()
        stmt = select(Customer).where(*where).order_by(*ordering).offset(offset).limit(limit)
        return int(total or 0), (await self.session.execute(stmt)).scalars().all()

    async def source_records(self, customer_id: int) -> Sequence[CustomerSourceRecord]:
        stmt = (
            select(CustomerSourceRecord)
            .where(CustomerSourceRecord.customer_id == customer_id)
            .order_by(CustomerSourceRecord.source_id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def source_record_by_external_id(
        self, source_id: int, external_id: str
    ) -> CustomerSourceRecord | None:
        if not storable(external_id):
            return None
        stmt = select(CustomerSourceRecord).where(
            CustomerSourceRecord.source_id == source_id,
            CustomerSourceRecord.external_id == external_id,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()


class Translations(_Repository):
    async def of_kind(self, kind: str) -> Sequence[CatalogueTranslation]:
        stmt = select(CatalogueTranslation).where(CatalogueTranslation.kind == kind)
        return (await self.session.execute(stmt)).scalars().all()

    async def all(self) -> Sequence[CatalogueTranslation]:
        stmt = select(CatalogueTranslation).order_by(
            CatalogueTranslation.kind,
            CatalogueTranslation.item_id,
            CatalogueTranslation.language,
            CatalogueTranslation.field,
        )
        return (await self.session.execute(stmt)).scalars().all()
