"""The schema.

Every tenant-owned table has ``tenant_id`` as the first column of its primary key, and every
unique constraint and foreign key includes it: a link across tenants cannot exist in the
database, and the schema can be distributed by tenant (Citus) unchanged.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy import true as sa_true
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Key = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        datetime: UtcDateTime(),
    }


class TenantScoped:
    """Marker: the tenant guard filters every query on these tables by ``tenant_id``."""

    tenant_id: Mapped[int] = mapped_column(
        Key, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True, sort_order=-10
    )


def _fk(
    columns: list[str], target: str, target_columns: list[str], **kw: Any
) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", *columns],
        [f"{target}.tenant_id", *(f"{target}.{c}" for c in target_columns)],
        **kw,
    )


# --- tenants and credentials -------------------------------------------------------------


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    #: The IANA time zone of the tenant's wall clock (instances' local times).
    time_zone: Mapped[str] = mapped_column(
        String(64), default="Europe/London", server_default="Europe/London"
    )


class TenantOrigin(TenantScoped, Base):
    __tablename__ = "tenant_origins"
    origin: Mapped[str] = mapped_column(String(255), primary_key=True)


class ApiUser(TenantScoped, Base):
    """A System Owner credential: login plus a base64 HMAC key, stored encrypted."""

    __tablename__ = "api_users"
    login: Mapped[str] = mapped_column(String(200), primary_key=True)
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    disabled: Mapped[bool] = mapped_column(default=False)


class ApiKey(TenantScoped, Base):
    """A brand/channel API key: stored as its SHA-256 (the key itself is shown once)."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    brand_id: Mapped[int | None] = mapped_column(Key)
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    disabled: Mapped[bool] = mapped_column(default=False)
    __table_args__ = (_fk(["brand_id"], "brands", ["id"]),)


class InterfaceUser(TenantScoped, Base):
    """A CareCloud Customer Interface user name (the token flow's ``<user>:``)."""

    __tablename__ = "interface_users"
    user_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    created_at: Mapped[datetime]
    disabled: Mapped[bool] = mapped_column(default=False)


class DeviceToken(TenantScoped, Base):
    """A CareCloud device token (one per device and application), kept as its SHA-256.

    ``customer_id`` is the customer logged in on the token (none: catalogue and sign-up only).
    A token ends when unused since ``last_used_at`` for the idle lifetime, or at
    ``expires_at`` (its absolute lifetime, fixed when it is issued): ``services/devices.py``.
    """

    __tablename__ = "device_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str | None] = mapped_column(String(200))
    device_id: Mapped[str] = mapped_column(String(200))
    device_system: Mapped[str] = mapped_column(String(200), default="")
    device_name: Mapped[str] = mapped_column(String(200), default="")
    device_type: Mapped[str] = mapped_column(String(200), default="")
    external_application_id: Mapped[str] = mapped_column(String(200))
    push_token: Mapped[str | None] = mapped_column(String(500))
    language: Mapped[str] = mapped_column(String(16), default="")
    allowed_gps: Mapped[bool] = mapped_column(default=False)
    allowed_notifications: Mapped[bool] = mapped_column(default=False)
    customer_id: Mapped[int | None] = mapped_column(Key)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_used_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    __table_args__ = (
        _fk(["user_name"], "interface_users", ["user_name"], ondelete="CASCADE"),
        _fk(["customer_id"], "customers", ["id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "device_id", "external_application_id"),
        Index(None, "tenant_id", "customer_id"),
    )


# --- catalogue -----------------------------------------------------------------------------


class TagGroup(TenantScoped, Base):
    __tablename__ = "tag_groups"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    web_visible: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class Tag(TenantScoped, Base):
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    group_id: Mapped[int] = mapped_column(Key)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
    __table_args__ = (
        _fk(["group_id"], "tag_groups", ["id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "group_id", "name"),
    )


class Statement(TenantScoped, Base):
    """A data-protection statement (contact preference)."""

    __tablename__ = "statements"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    text: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    #: The CareCloud agreement key it answers to (``agreement_marketing_communication``).
    code: Mapped[str | None] = mapped_column(String(100))
    __table_args__ = (UniqueConstraint("tenant_id", "text"),)


class Membership(TenantScoped, Base):
    __tablename__ = "memberships"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    html_description: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str] = mapped_column(String(500), default="")
    thumbnail_url: Mapped[str] = mapped_column(String(500), default="")
    #: What it costs, in minor units (None: not for sale).
    price_minor: Mapped[int | None] = mapped_column(Key)
    renewal_price_minor: Mapped[int | None] = mapped_column(Key)
    duration_months: Mapped[int] = mapped_column(default=12, server_default="12")
    auto_renew_available: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class AttributeDefinition(TenantScoped, Base):
    """A typed custom field (Spektrix attribute, CareCloud property, ``custom_`` field)."""

    __tablename__ = "attribute_definitions"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    #: The normalised name used to match ``Attribute_<Name>`` case- and space-insensitively.
    lookup_key: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20), default="text")
    web_visible: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        UniqueConstraint("tenant_id", "lookup_key"),
    )


class Store(TenantScoped, Base):
    __tablename__ = "stores"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(100), default="")
    name: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class Interest(TenantScoped, Base):
    """A CareCloud interest; answers to a tag when ``tag_id`` is set."""

    __tablename__ = "interests"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    tag_id: Mapped[int | None] = mapped_column(Key)
    __table_args__ = (
        _fk(["tag_id"], "tags", ["id"]),
        UniqueConstraint("tenant_id", "name"),
    )


class CustomerProperty(TenantScoped, Base):
    """A CareCloud customer property; its values live in the linked attribute."""

    __tablename__ = "customer_properties"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20), default="text")
    attribute_id: Mapped[int] = mapped_column(Key)
    __table_args__ = (
        _fk(["attribute_id"], "attribute_definitions", ["id"]),
        UniqueConstraint("tenant_id", "code"),
    )


class Reward(TenantScoped, Base):
    __tablename__ = "rewards"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)


class CustomerSource(TenantScoped, Base):
    __tablename__ = "customer_sources"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)


class Brand(TenantScoped, Base):
    __tablename__ = "brands"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    crm_url: Mapped[str | None] = mapped_column(String(500))
    search_by_channels: Mapped[bool] = mapped_column(default=False)
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class ChannelType(TenantScoped, Base):
    __tablename__ = "channel_types"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)


class Country(TenantScoped, Base):
    __tablename__ = "countries"
    iso_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    postcode_required: Mapped[bool] = mapped_column(default=False)
    display_priority: Mapped[int] = mapped_column(default=0)


class Language(TenantScoped, Base):
    __tablename__ = "languages"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(default=False)


class CatalogueTranslation(TenantScoped, Base):
    """A catalogue item's text (``name``, ``description``...) in one more language.

    The item's own columns hold the text in the tenant's default language.
    """

    __tablename__ = "catalogue_translations"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    item_id: Mapped[int] = mapped_column(Key, primary_key=True)
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    field: Mapped[str] = mapped_column(String(32), primary_key=True)
    text: Mapped[str] = mapped_column(Text)


# --- customers -----------------------------------------------------------------------------


class Customer(TenantScoped, Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    email: Mapped[str | None] = mapped_column(String(254))
    email_key: Mapped[str | None] = mapped_column(String(254))
    title: Mapped[str] = mapped_column(String(50), default="")
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str | None] = mapped_column(String(50))
    mobile: Mapped[str | None] = mapped_column(String(50))
    birth_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(16))
    friendly_id: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    credit_balance: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    brand_id: Mapped[int | None] = mapped_column(Key)
    external_primary_id: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)
    #: The store the customer registered at (CareCloud ``store_id``). No foreign key on purpose:
    #: adding one to ``customers`` would rebuild the table on SQLite (stores are never deleted).
    store_id: Mapped[int | None] = mapped_column(Key)
    #: Letters after the name (``Ph.D.``); ``title`` holds the ones before it.
    post_nominals: Mapped[str | None] = mapped_column(String(50))
    __table_args__ = (
        UniqueConstraint("tenant_id", "email_key"),
        UniqueConstraint("tenant_id", "brand_id", "external_primary_id"),
        _fk(["brand_id"], "brands", ["id"]),
        # Lists by id (the brand/channel index): the state rides along, so counting and
        # skipping to a page read the index alone (migration 0006).
        Index(None, "tenant_id", "id", "state"),
        Index(None, "tenant_id", "brand_id", "id", "state"),
        # The external primary id is unique per brand; searches across brands need it first.
        Index(None, "tenant_id", "external_primary_id"),
        {"comment": "one row per person or organisation of a tenant"},
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


#: Customer ids per :class:`CustomerCount` bucket: about 160 buckets over the key space (decision 0119).
CUSTOMER_COUNT_BUCKET = 2**34


class CustomerCount(TenantScoped, Base):
    """How many customers a tenant has, per brand and range of ids (``id //
    CUSTOMER_COUNT_BUCKET``): the brand/channel index's total and the way to an offset without
    reading the customers before it (decision 0119). Kept by triggers on ``customers`` in the
    writing transaction (migration 0012), never written by the application."""

    __tablename__ = "customer_counts"
    #: The brand's id, 0 for the customers of no brand.
    brand_key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    bucket: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    customers: Mapped[int] = mapped_column(Key)


class CatalogueVersion(TenantScoped, Base):
    """A number that changes in the transaction of every change to a tenant's events,
    instances, price lists, prices, ticket types, price bands, item attribute definitions or
    time zone: what a process checks before reusing the programme it built (decision 0123).
    Kept by triggers on those tables (migration 0014), never written by the application; no
    row: nothing changed since the tenant was created (version 0)."""

    __tablename__ = "catalogue_versions"
    version: Mapped[int] = mapped_column(Key)


def _customer_fk() -> ForeignKeyConstraint:
    return _fk(["customer_id"], "customers", ["id"], ondelete="CASCADE")


class CustomerAddress(TenantScoped, Base):
    __tablename__ = "customer_addresses"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    customer_id: Mapped[int] = mapped_column(Key)
    is_billing: Mapped[bool] = mapped_column(default=False)
    is_delivery: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str | None] = mapped_column(String(200))
    line1: Mapped[str | None] = mapped_column(String(200))
    line2: Mapped[str | None] = mapped_column(String(200))
    line3: Mapped[str | None] = mapped_column(String(200))
    line4: Mapped[str | None] = mapped_column(String(200))
    line5: Mapped[str | None] = mapped_column(String(200))
    town: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(50))
    country: Mapped[str | None] = mapped_column(String(2))
    administrative_division: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    __table_args__ = (_customer_fk(), Index(None, "tenant_id", "customer_id"))


class CustomerChannel(TenantScoped, Base):
    """An email address, phone number, social or custom account of a customer."""

    __tablename__ = "customer_channels"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    customer_id: Mapped[int] = mapped_column(Key)
    channel_type_id: Mapped[int] = mapped_column(Key)
    value: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime]
    __table_args__ = (
        _customer_fk(),
        _fk(["channel_type_id"], "channel_types", ["id"]),
        UniqueConstraint("tenant_id", "customer_id", "channel_type_id", "value"),
        Index(None, "tenant_id", "value"),
    )


#: Channel lookups ignore case (``lower(value) = ...``): the searches by channel value and
#: the brand/channel customer lookups read this index (migration 0006).
Index(
    "ix_customer_channels_tenant_id_lower_value",
    CustomerChannel.tenant_id,
    func.lower(CustomerChannel.value),
)


class CustomerSourceRecord(TenantScoped, Base):
    """A customer's id in an external source system."""

    __tablename__ = "customer_source_records"
    customer_id: Mapped[int] = mapped_column(Key, primary_key=True)
    source_id: Mapped[int] = mapped_column(Key, primary_key=True)
    #: None when the source gave no id of its own (several customers may come from it so).
    external_id: Mapped[str | None] = mapped_column(String(200))
    __table_args__ = (
        _customer_fk(),
        _fk(["source_id"], "customer_sources", ["id"]),
        UniqueConstraint("tenant_id", "source_id", "external_id"),
    )


class CustomerAttributeValue(TenantScoped, Base):
    __tablename__ = "customer_attribute_values"
    customer_id: Mapped[int] = mapped_column(Key, primary_key=True)
    attribute_id: Mapped[int] = mapped_column(Key, primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    __table_args__ = (
        _customer_fk(),
        _fk(["attribute_id"], "attribute_definitions", ["id"], ondelete="CASCADE"),
    )


class CustomerTag(TenantScoped, Base):
    __tablename__ = "customer_tags"
    customer_id: Mapped[int] = mapped_column(Key, primary_key=True)
    tag_id: Mapped[int] = mapped_column(Key, primary_key=True)
    added_at: Mapped[datetime]
    added_by: Mapped[str] = mapped_column(String(255))
    __table_args__ = (_customer_fk(), _fk(["tag_id"], "tags", ["id"], ondelete="CASCADE"))


class CustomerConsent(TenantScoped, Base):
    """The current agreement of a customer to a statement (a row means agreed)."""

    __tablename__ = "customer_consents"
    customer_id: Mapped[int] = mapped_column(Key, primary_key=True)
    statement_id: Mapped[int] = mapped_column(Key, primary_key=True)
    agreed_at: Mapped[datetime]
    __table_args__ = (
        _customer_fk(),
        _fk(["statement_id"], "statements", ["id"], ondelete="CASCADE"),
    )


class ConsentChange(TenantScoped, Base):
    """History of consent: who, when, how, and the statement's text at the time."""

    __tablename__ = "consent_changes"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    customer_id: Mapped[int] = mapped_column(Key)
    statement_id: Mapped[int] = mapped_column(Key)
    agreed: Mapped[bool] = mapped_column(Boolean)
    statement_text: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime]
    __table_args__ = (
        _customer_fk(),
        _fk(["statement_id"], "statements", ["id"], ondelete="CASCADE"),
        Index(None, "tenant_id", "customer_id", "occurred_at"),
    )


class CustomerSubscription(TenantScoped, Base):
    __tablename__ = "customer_subscriptions"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    customer_id: Mapped[int] = mapped_column(Key)
    membership_id: Mapped[int] = mapped_column(Key)
    start_date: Mapped[date] = mapped_column(Date)
    expiry_date: Mapped[date] = mapped_column(Date)
    auto_renew: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    __table_args__ = (
        _customer_fk(),
        _fk(["membership_id"], "memberships", ["id"]),
        Index(None, "tenant_id", "customer_id"),
    )


class TimelineEntry(TenantScoped, Base):
    """Append-only record of what happened to a customer."""

    __tablename__ = "timeline_entries"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    customer_id: Mapped[int] = mapped_column(Key)
    occurred_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    __table_args__ = (_customer_fk(), Index(None, "tenant_id", "customer_id", "occurred_at"))


# --- customer credentials ------------------------------------------------------------------


class CustomerSession(TenantScoped, Base):
    """A browser session (web mode). The cookie holds a random token; only its hash is kept."""

    __tablename__ = "customer_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[int] = mapped_column(Key)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    __table_args__ = (_customer_fk(), Index(None, "tenant_id", "customer_id"))


class CustomerToken(TenantScoped, Base):
    """A single-use, expiring token sent by mail (password reset, magic link); hash only."""

    __tablename__ = "customer_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[int] = mapped_column(Key)
    purpose: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    __table_args__ = (_customer_fk(), Index(None, "tenant_id", "customer_id"))


class NewsletterRequest(TenantScoped, Base):
    """A newsletter sign-up made without the address owner's login, waiting for its
    confirmation (double opt-in): applied when the link mailed to the address is followed,
    within ``expires_at``; deleted then. Only the token's hash is kept.

    ``customer_id`` is the customer who had the address when the request was made (None: no
    customer had it), so that erasing or exporting that customer covers the request."""

    __tablename__ = "newsletter_requests"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))
    customer_id: Mapped[int | None] = mapped_column(Key)
    source_id: Mapped[int] = mapped_column(Key)
    #: The statements to agree to when confirmed.
    statement_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    language: Mapped[str | None] = mapped_column(String(16))
    #: Who asked (a principal's actor: ``app``, ``customer:...``), for the consent history.
    requested_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    __table_args__ = (
        _customer_fk(),
        _fk(["source_id"], "customer_sources", ["id"], ondelete="CASCADE"),
        Index(None, "tenant_id", "email_key"),
        Index(None, "tenant_id", "expires_at"),
        Index(None, "tenant_id", "customer_id"),
    )


# --- audit ---------------------------------------------------------------------------------


class AuditEntry(TenantScoped, Base):
    """One committed write: who, with which credential, what, when. Append-only.

    Kept apart from the customer timeline on purpose: it holds keys, action names and column
    names, never a personal value or a secret, so erasing a customer leaves it whole (and so
    ``customer_id`` has no foreign key: the record outlives the customer row).
    """

    __tablename__ = "audit_entries"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime]
    #: The principal's actor: ``api-user:<login>``, ``api-key:<id>``, ``customer``, ``cli``...
    actor: Mapped[str] = mapped_column(String(255))
    #: Which kind of credential: api-user, api-key, interface-user, device-token,
    #: customer-session, operator-cli, none.
    credential: Mapped[str] = mapped_column(String(32))
    #: Which one (login, key id, interface user, customer id, OS user); never a secret.
    credential_id: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(200))
    target_kind: Mapped[str | None] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(Key)
    #: What changed: ``[{"table", "op", "key", "columns"}]``; keys and column names only.
    changes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    __table_args__ = (
        Index(None, "tenant_id", "occurred_at"),
        Index(None, "tenant_id", "customer_id", "occurred_at"),
    )


# --- what a venue sells (issue 17): seating, pricing, programme, inventory, products -------
#
# Catalogue keys are small integers allocated per tenant (``services/catalogue.py``): they are
# the short ids of iframe URLs. Money is stored in minor units (pence). Typed attributes of
# events, instances, ticket types and stock items are defined in ``item_attributes`` and their
# values kept in each row's ``attributes`` (a JSON object by attribute name).


class ItemAttribute(TenantScoped, Base):
    """A typed attribute of events, instances, ticket types or stock items (``kind``)."""

    __tablename__ = "item_attributes"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    #: ``text``, ``number`` or ``boolean``.
    type: Mapped[str] = mapped_column(String(20), default="text")
    position: Mapped[int] = mapped_column(default=0)
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "name"),)


class Venue(TenantScoped, Base):
    __tablename__ = "venues"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500), default="")
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class PriceBand(TenantScoped, Base):
    __tablename__ = "price_bands"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class TicketType(TenantScoped, Base):
    __tablename__ = "ticket_types"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class LockType(TenantScoped, Base):
    """Why the venue keeps seats off sale (house seats, wheelchair spaces...)."""

    __tablename__ = "lock_types"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class SeatingPlan(TenantScoped, Base):
    __tablename__ = "seating_plans"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    venue_id: Mapped[int] = mapped_column(Key)
    name: Mapped[str] = mapped_column(String(200))
    background_image_url: Mapped[str] = mapped_column(String(500), default="")
    __table_args__ = (
        _fk(["venue_id"], "venues", ["id"]),
        UniqueConstraint("tenant_id", "name"),
    )


class PlanArea(TenantScoped, Base):
    """An area of a plan: ``group`` (of child areas), ``reserved`` (seats) or ``unreserved``
    (a capacity and one band). Top-level areas have no parent."""

    __tablename__ = "plan_areas"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    plan_id: Mapped[int] = mapped_column(Key)
    parent_id: Mapped[int | None] = mapped_column(Key)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    #: Places of an unreserved area (reserved: its seats' count, kept here too).
    capacity: Mapped[int] = mapped_column(default=0)
    band_id: Mapped[int | None] = mapped_column(Key)
    position: Mapped[int] = mapped_column(default=0)
    __table_args__ = (
        _fk(["plan_id"], "seating_plans", ["id"], ondelete="CASCADE"),
        _fk(["parent_id"], "plan_areas", ["id"]),
        _fk(["band_id"], "price_bands", ["id"]),
        UniqueConstraint("tenant_id", "plan_id", "name"),
    )


class Seat(TenantScoped, Base):
    __tablename__ = "seats"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    area_id: Mapped[int] = mapped_column(Key)
    row: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(50))
    band_id: Mapped[int] = mapped_column(Key)
    wheelchair: Mapped[bool] = mapped_column(default=False)
    special: Mapped[bool] = mapped_column(default=False)
    x: Mapped[int] = mapped_column(default=0)
    y: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    __table_args__ = (
        _fk(["area_id"], "plan_areas", ["id"], ondelete="CASCADE"),
        _fk(["band_id"], "price_bands", ["id"]),
        UniqueConstraint("tenant_id", "area_id", "row", "number"),
    )


class PriceList(TenantScoped, Base):
    __tablename__ = "price_lists"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class Price(TenantScoped, Base):
    """A price list's amount for one ticket type in one band."""

    __tablename__ = "prices"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    price_list_id: Mapped[int] = mapped_column(Key)
    ticket_type_id: Mapped[int] = mapped_column(Key)
    band_id: Mapped[int] = mapped_column(Key)
    amount_minor: Mapped[int] = mapped_column(Key)
    is_band_default: Mapped[bool] = mapped_column(default=False)
    __table_args__ = (
        _fk(["price_list_id"], "price_lists", ["id"], ondelete="CASCADE"),
        _fk(["ticket_type_id"], "ticket_types", ["id"]),
        _fk(["band_id"], "price_bands", ["id"]),
        UniqueConstraint("tenant_id", "price_list_id", "ticket_type_id", "band_id"),
    )


class Event(TenantScoped, Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    html_description: Mapped[str] = mapped_column(Text, default="")
    duration_minutes: Mapped[int] = mapped_column(default=0)
    image_url: Mapped[str] = mapped_column(String(500), default="")
    thumbnail_url: Mapped[str] = mapped_column(String(500), default="")
    on_sale: Mapped[bool] = mapped_column(default=True)
    web_event_id: Mapped[str | None] = mapped_column(String(100))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class Instance(TenantScoped, Base):
    """A performance of an event: its start (UTC), plan, price list and web sale window."""

    __tablename__ = "instances"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(Key)
    plan_id: Mapped[int] = mapped_column(Key)
    price_list_id: Mapped[int] = mapped_column(Key)
    start_utc: Mapped[datetime]
    sale_start_utc: Mapped[datetime]
    sale_stop_utc: Mapped[datetime]
    web_instance_id: Mapped[str | None] = mapped_column(String(100))
    cancelled: Mapped[bool] = mapped_column(default=False)
    on_sale: Mapped[bool] = mapped_column(default=True)
    web_visible: Mapped[bool] = mapped_column(default=True)
    has_best_available_overlay: Mapped[bool] = mapped_column(default=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    __table_args__ = (
        _fk(["event_id"], "events", ["id"], ondelete="CASCADE"),
        _fk(["plan_id"], "seating_plans", ["id"]),
        _fk(["price_list_id"], "price_lists", ["id"]),
        # Not unique: an event may play twice at once (two rooms), and a reload moves
        # instances one by one (decision 0121).
        Index(None, "tenant_id", "event_id", "start_utc"),
        Index(None, "tenant_id", "start_utc"),
    )


class InstanceArea(TenantScoped, Base):
    """Counts of one leaf area of an instance's plan, changed in the transaction that changes
    a seat or a place (``services/inventory.py``, decision 0120).

    ``available = capacity - held - sold - locked - reserved``; ``wheelchair_available`` and
    ``special_available`` count the available seats with those flags."""

    __tablename__ = "instance_areas"
    instance_id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    area_id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    seated: Mapped[bool] = mapped_column(default=False)
    capacity: Mapped[int] = mapped_column(default=0)
    held: Mapped[int] = mapped_column(default=0)
    sold: Mapped[int] = mapped_column(default=0)
    locked: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    wheelchair_available: Mapped[int] = mapped_column(default=0)
    special_available: Mapped[int] = mapped_column(default=0)
    __table_args__ = (
        _fk(["instance_id"], "instances", ["id"], ondelete="CASCADE"),
        _fk(["area_id"], "plan_areas", ["id"]),
    )


class InstanceAreaBand(TenantScoped, Base):
    """Places of one price band in one reserved area of an instance: its seats of that band
    (``capacity``) and how many of them are available, changed with the area's counts in the
    transaction that changes a seat (``services/inventory.py``, decisions 0120, 0122). An
    unreserved area has one band (the plan's): its places are the area's counts."""

    __tablename__ = "instance_area_bands"
    instance_id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    area_id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    band_id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    capacity: Mapped[int] = mapped_column(default=0)
    available: Mapped[int] = mapped_column(default=0)
    __table_args__ = (
        _fk(
            ["instance_id", "area_id"],
            "instance_areas",
            ["instance_id", "area_id"],
            ondelete="CASCADE",
        ),
        _fk(["band_id"], "price_bands", ["id"]),
    )


class InstanceAreaLock(TenantScoped, Base):
    """Locked places of an instance's area by lock type (``special``: of special seats)."""

    __tablename__ = "instance_area_locks"
    instance_id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    area_id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    lock_type_id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    quantity: Mapped[int] = mapped_column(default=0)
    special: Mapped[int] = mapped_column(default=0)
    __table_args__ = (
        _fk(
            ["instance_id", "area_id"],
            "instance_areas",
            ["instance_id", "area_id"],
            ondelete="CASCADE",
        ),
        _fk(["lock_type_id"], "lock_types", ["id"]),
    )


class InstanceSeat(TenantScoped, Base):
    """One seat of one instance: ``available``, ``held`` (by basket ``holder``), ``sold``,
    ``locked`` (with a lock type) or ``reserved``. Created with the instance; changed only
    by a conditional ``UPDATE`` (decision 0120)."""

    __tablename__ = "instance_seats"
    instance_id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    seat_id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    area_id: Mapped[int] = mapped_column(Key)
    state: Mapped[str] = mapped_column(String(10), default="available")
    holder: Mapped[int | None] = mapped_column(Key)
    lock_type_id: Mapped[int | None] = mapped_column(Key)
    #: The seat's band and flags, copied: a change knows which counts it moves without a join.
    band_id: Mapped[int] = mapped_column(Key)
    wheelchair: Mapped[bool] = mapped_column(default=False)
    special: Mapped[bool] = mapped_column(default=False)
    __table_args__ = (
        _fk(
            ["instance_id", "area_id"],
            "instance_areas",
            ["instance_id", "area_id"],
            ondelete="CASCADE",
        ),
        _fk(
            ["instance_id", "area_id", "band_id"],
            "instance_area_bands",
            ["instance_id", "area_id", "band_id"],
            ondelete="CASCADE",
        ),
        _fk(["seat_id"], "seats", ["id"]),
        _fk(["lock_type_id"], "lock_types", ["id"]),
    )


class Fund(TenantScoped, Base):
    __tablename__ = "funds"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    code: Mapped[str] = mapped_column(String(100), default="")
    default_amount_minor: Mapped[int | None] = mapped_column(Key)
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class StockItem(TenantScoped, Base):
    __tablename__ = "stock_items"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    price_minor: Mapped[int] = mapped_column(Key, default=0)
    #: Units left; a sale takes them with a conditional ``UPDATE`` (``stock_level >= n``).
    stock_level: Mapped[int] = mapped_column(default=0)
    image_url: Mapped[str] = mapped_column(String(500), default="")
    thumbnail_url: Mapped[str] = mapped_column(String(500), default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class GiftVoucherType(TenantScoped, Base):
    """A fixed amount (``amount_minor``) or a custom one from ``min_minor`` to ``max_minor``."""

    __tablename__ = "gift_voucher_types"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    amount_minor: Mapped[int | None] = mapped_column(Key)
    min_minor: Mapped[int | None] = mapped_column(Key)
    max_minor: Mapped[int | None] = mapped_column(Key)
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class Offer(TenantScoped, Base):
    """A discount the basket applies: ``percent_off`` or ``amount_off_minor`` per ticket of
    the offer's events (none listed: every event) and ticket types (none: every type)."""

    __tablename__ = "offers"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    percent_off: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    amount_off_minor: Mapped[int | None] = mapped_column(Key)
    active: Mapped[bool] = mapped_column(default=True)
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class OfferEvent(TenantScoped, Base):
    __tablename__ = "offer_events"
    offer_id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    __table_args__ = (
        _fk(["offer_id"], "offers", ["id"], ondelete="CASCADE"),
        _fk(["event_id"], "events", ["id"], ondelete="CASCADE"),
    )


class OfferTicketType(TenantScoped, Base):
    __tablename__ = "offer_ticket_types"
    offer_id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    ticket_type_id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    __table_args__ = (
        _fk(["offer_id"], "offers", ["id"], ondelete="CASCADE"),
        _fk(["ticket_type_id"], "ticket_types", ["id"], ondelete="CASCADE"),
    )


class PromoCode(TenantScoped, Base):
    """A code (kept in capitals; matched without regard to case) that unlocks an offer."""

    __tablename__ = "promo_codes"
    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    offer_id: Mapped[int] = mapped_column(Key)
    __table_args__ = (_fk(["offer_id"], "offers", ["id"], ondelete="CASCADE"),)


# --- baskets and orders (issue 18, decision 0124) -------------------------------------------


class Basket(TenantScoped, Base):
    """A basket: ``open``, ``confirmed`` (then it is the order of the same id) or ``expired``.
    A web basket is found by the hash of its session's token (``session_hash``, dropped when it
    closes), an ``owner`` one by id. ``version`` goes up with every write (the ``hash``);
    ``expires_at`` is when its holds go (None: never, or no longer open)."""

    __tablename__ = "baskets"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(10), default="open")
    channel: Mapped[str] = mapped_column(String(10))
    session_hash: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(Key)
    promo_code: Mapped[str | None] = mapped_column(String(100))
    offer_id: Mapped[int | None] = mapped_column(Key)
    ticket_delivery: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    merchandise_delivery: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(default=1)
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    #: The tenant's local calendar day of ``confirmed_at`` (orders by day).
    confirmed_on: Mapped[date | None] = mapped_column(Date)
    __table_args__ = (
        UniqueConstraint("tenant_id", "session_hash"),
        Index(None, "tenant_id", "customer_id"),
        Index(None, "tenant_id", "confirmed_on"),
        # The expiry sweep reads every tenant's open baskets by time (not a key).
        Index(None, "state", "expires_at"),
    )


def _basket_fk() -> ForeignKeyConstraint:
    return _fk(["basket_id"], "baskets", ["id"], ondelete="CASCADE")


class BasketTicket(TenantScoped, Base):
    """A ticket: a seat (``seat_id``) or a place of an unreserved area. ``price_minor`` is the
    price list's; ``discount_minor`` and ``offer_id`` are kept at confirmation (an open basket's
    are computed from its promo code). ``barcode``: given at confirmation. ``returned_at``: set
    when the ticket is returned (it stays in the order)."""

    __tablename__ = "basket_tickets"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    basket_id: Mapped[int] = mapped_column(Key)
    instance_id: Mapped[int] = mapped_column(Key)
    area_id: Mapped[int] = mapped_column(Key)
    seat_id: Mapped[int | None] = mapped_column(Key)
    band_id: Mapped[int] = mapped_column(Key)
    ticket_type_id: Mapped[int] = mapped_column(Key)
    price_minor: Mapped[int] = mapped_column(Key)
    discount_minor: Mapped[int] = mapped_column(Key, default=0)
    offer_id: Mapped[int | None] = mapped_column(Key)
    barcode: Mapped[str | None] = mapped_column(String(32))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    position: Mapped[int] = mapped_column(default=0)
    #: When a System Owner returned it (its seat or place back on sale; migration 0017).
    returned_at: Mapped[datetime | None]
    __table_args__ = (
        _basket_fk(),
        UniqueConstraint("tenant_id", "barcode"),
        Index(None, "tenant_id", "basket_id"),
    )


class BasketMerchandise(TenantScoped, Base):
    __tablename__ = "basket_merchandise"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    basket_id: Mapped[int] = mapped_column(Key)
    stock_item_id: Mapped[int] = mapped_column(Key)
    reference: Mapped[str | None] = mapped_column(String(200))
    price_minor: Mapped[int] = mapped_column(Key)
    barcode: Mapped[str | None] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(default=0)
    __table_args__ = (
        _basket_fk(),
        UniqueConstraint("tenant_id", "barcode"),
        Index(None, "tenant_id", "basket_id"),
    )


class BasketDonation(TenantScoped, Base):
    __tablename__ = "basket_donations"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    basket_id: Mapped[int] = mapped_column(Key)
    fund_id: Mapped[int] = mapped_column(Key)
    amount_minor: Mapped[int] = mapped_column(Key)
    recognition_name: Mapped[str | None] = mapped_column(String(200))
    is_anonymous: Mapped[bool] = mapped_column(default=False)
    tribute_type_id: Mapped[int | None] = mapped_column(Key)
    tribute_name: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
    __table_args__ = (_basket_fk(), Index(None, "tenant_id", "basket_id"))


class BasketGiftVoucher(TenantScoped, Base):
    """A gift voucher bought; ``code`` and ``balance_minor`` are given at confirmation."""

    __tablename__ = "basket_gift_vouchers"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    basket_id: Mapped[int] = mapped_column(Key)
    gift_voucher_type_id: Mapped[int | None] = mapped_column(Key)
    amount_minor: Mapped[int] = mapped_column(Key)
    to_name: Mapped[str | None] = mapped_column(String(200))
    from_name: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(Text)
    send_date: Mapped[date | None] = mapped_column(Date)
    delivery_type: Mapped[str] = mapped_column(String(20), default="CustomerEmail")
    delivery_email_address: Mapped[str | None] = mapped_column(String(320))
    code: Mapped[str | None] = mapped_column(String(32))
    balance_minor: Mapped[int | None] = mapped_column(Key)
    position: Mapped[int] = mapped_column(default=0)
    __table_args__ = (
        _basket_fk(),
        UniqueConstraint("tenant_id", "code"),
        Index(None, "tenant_id", "basket_id"),
    )


class BasketMembership(TenantScoped, Base):
    """A membership subscription bought (``overridden_price_minor``: the Owner's price);
    ``subscription_id`` is the customer's subscription created at confirmation."""

    __tablename__ = "basket_memberships"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    basket_id: Mapped[int] = mapped_column(Key)
    membership_id: Mapped[int] = mapped_column(Key)
    auto_renew: Mapped[bool] = mapped_column(default=False)
    overridden_price_minor: Mapped[int | None] = mapped_column(Key)
    related_donation_id: Mapped[int | None] = mapped_column(Key)
    #: Kept at confirmation: what was charged and the subscription's dates.
    price_minor: Mapped[int | None] = mapped_column(Key)
    is_renewal: Mapped[bool] = mapped_column(default=False)
    start_date: Mapped[date | None] = mapped_column(Date)
    expiry_date: Mapped[date | None] = mapped_column(Date)
    subscription_id: Mapped[int | None] = mapped_column(Key)
    position: Mapped[int] = mapped_column(default=0)
    __table_args__ = (_basket_fk(), Index(None, "tenant_id", "basket_id"))


class BasketPayment(TenantScoped, Base):
    """A payment recorded on a basket: ``kind`` ``custom`` (money taken elsewhere; a negative
    amount is a return's refund), ``voucher`` (a gift voucher's balance, ``gift_voucher_id``
    the voucher's ``basket_gift_vouchers`` row) or ``credit`` (the customer's credit balance);
    the last two are taken from the voucher or the customer at confirmation (migration 0017)."""

    __tablename__ = "basket_payments"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=False)
    basket_id: Mapped[int] = mapped_column(Key)
    payment_type: Mapped[str] = mapped_column(String(200))
    amount_minor: Mapped[int] = mapped_column(Key)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(10), default="custom", server_default="custom")
    gift_voucher_id: Mapped[int | None] = mapped_column(Key)
    __table_args__ = (_basket_fk(), Index(None, "tenant_id", "basket_id"))
