"""Views: what the core returns. Frozen, free of ORM rows and of any vendor's words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class TagView:
    id: int
    name: str
    group_id: int


@dataclass(frozen=True, slots=True)
class TagGroupView:
    id: int
    name: str
    description: str
    web_visible: bool
    tags: tuple[TagView, ...]


@dataclass(frozen=True, slots=True)
class StatementView:
    id: int
    text: str
    description: str


@dataclass(frozen=True, slots=True)
class MembershipView:
    id: int
    name: str
    description: str
    html_description: str
    image_url: str
    thumbnail_url: str


@dataclass(frozen=True, slots=True)
class AttributeDefinitionView:
    id: int
    name: str
    type: str
    web_visible: bool


@dataclass(frozen=True, slots=True)
class CatalogueView:
    """The part of a tenant's catalogue a principal may see."""

    tag_groups: tuple[TagGroupView, ...]
    statements: tuple[StatementView, ...]
    memberships: tuple[MembershipView, ...]
    attributes: tuple[AttributeDefinitionView, ...]


@dataclass(frozen=True, slots=True)
class AddressView:
    id: int
    is_billing: bool
    is_delivery: bool
    name: str | None
    line1: str | None
    line2: str | None
    line3: str | None
    line4: str | None
    line5: str | None
    town: str | None
    postcode: str | None
    country: str | None
    administrative_division: str | None


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    id: int
    membership_id: int
    start_date: date
    expiry_date: date
    auto_renew: bool


@dataclass(frozen=True, slots=True)
class ConsentView:
    statement_id: int
    text: str
    agreed_at: datetime


@dataclass(frozen=True, slots=True)
class AttributeValueView:
    attribute: AttributeDefinitionView
    value: str


@dataclass(frozen=True, slots=True)
class CustomerView:
    id: int
    title: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    mobile: str | None
    birth_date: date | None
    friendly_id: str | None
    password_set: bool
    credit_balance: Decimal
    created_at: datetime
    updated_at: datetime
    #: Every attribute the principal may see, with the customer's value ("" when unset).
    attributes: tuple[AttributeValueView, ...]
    addresses: tuple[AddressView, ...]
    #: The customer's tags the principal may see (loaded on request, else empty).
    tags: tuple[TagView, ...] = ()
    #: Statements the customer agreed to (loaded on request, else empty).
    consents: tuple[ConsentView, ...] = ()
    subscriptions: tuple[SubscriptionView, ...] = ()

    @property
    def billing_address(self) -> AddressView | None:
        return next((a for a in self.addresses if a.is_billing), None)

    @property
    def delivery_address(self) -> AddressView | None:
        return next((a for a in self.addresses if a.is_delivery), None)


@dataclass(frozen=True, slots=True)
class TimelineEntryView:
    id: int
    occurred_at: datetime
    kind: str
    actor: str
    data: dict[str, object]


@dataclass(frozen=True, slots=True)
class TenantView:
    id: int
    name: str
    display_name: str
    origins: tuple[str, ...]
    settings: dict[str, object]


@dataclass(frozen=True, slots=True)
class CountryView:
    iso_code: str
    name: str
    postcode_required: bool
    display_priority: int
