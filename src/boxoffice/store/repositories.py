"""Repositories: queries in one place. Bound to a session that the tenant guard scopes.

They never take a tenant argument: the guard adds the tenant to every query, and stamps it on
every new row. ``Operators`` is the exception on purpose: it resolves tenants and credentials
before a tenant is known, with explicitly unscoped queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import delete, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.domain.ids import new_row_key
from boxoffice.store.models import (
    ApiUser,
    AttributeDefinition,
    Base,
    ConsentChange,
    Customer,
    CustomerAddress,
    CustomerAttributeValue,
    CustomerConsent,
    CustomerSubscription,
    CustomerTag,
    Membership,
    Statement,
    Tag,
    TagGroup,
    Tenant,
    TenantOrigin,
    TimelineEntry,
)

M = TypeVar("M", bound=Base)
UNSCOPED = {"unscoped": True}


def utcnow() -> datetime:
    return datetime.now(UTC)


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
        stmt = select(Customer).where(Customer.email_key == email_key, Customer.state == "active")
        return (await self.session.execute(stmt)).scalar_one_or_none()

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
        stmt = select(CustomerConsent).where(CustomerConsent.customer_id == customer_id)
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

    def record(self, customer_id: int, kind: str, actor: str, **data: Any) -> None:
        """Append to the customer's timeline."""
        self.session.add(
            TimelineEntry(
                id=new_row_key(),
                customer_id=customer_id,
                occurred_at=utcnow(),
                kind=kind,
                actor=actor,
                data=data,
            )
        )


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

    async def all(self, model: type[M]) -> Sequence[M]:
        order = inspect(model).primary_key
        return (await self.session.execute(select(model).order_by(*order))).scalars().all()

    async def next_id(self, model: type[Any]) -> int:
        value = (await self.session.execute(select(func.max(model.id)))).scalar()
        return int(value or 0) + 1


class Operators(_Repository):
    """Lookups across tenants: tenant resolution and credentials (explicitly unscoped)."""

    async def tenant_by_name(self, name: str) -> Tenant | None:
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
        stmt = (
            select(ApiUser)
            .where(ApiUser.tenant_id == tenant_id, ApiUser.login == login)
            .execution_options(**UNSCOPED)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()
