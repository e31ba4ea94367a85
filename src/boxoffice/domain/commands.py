"""Commands: what a caller asks the core to do, in the core's words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Final, TypeAlias, TypeVar, Union

T = TypeVar("T")


class _Unset(Enum):
    UNSET = "UNSET"


#: A patch field that was not sent (as opposed to ``None``: sent, to clear it).
UNSET: Final = _Unset.UNSET
Maybe: TypeAlias = Union[T, _Unset]  # noqa: UP007 (a generic alias needs Union)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewAddress:
    is_billing: bool | None = None
    is_delivery: bool | None = None
    name: str | None = None
    line1: str | None = None
    line2: str | None = None
    line3: str | None = None
    line4: str | None = None
    line5: str | None = None
    town: str | None = None
    postcode: str | None = None
    country: str | None = None
    administrative_division: str | None = None


#: The text parts of an address, in the order the dialects list them.
ADDRESS_PARTS = (
    "name",
    "line1",
    "line2",
    "line3",
    "line4",
    "line5",
    "town",
    "postcode",
    "country",
    "administrative_division",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressPatch:
    is_billing: Maybe[bool] = UNSET
    is_delivery: Maybe[bool] = UNSET
    name: Maybe[str | None] = UNSET
    line1: Maybe[str | None] = UNSET
    line2: Maybe[str | None] = UNSET
    line3: Maybe[str | None] = UNSET
    line4: Maybe[str | None] = UNSET
    line5: Maybe[str | None] = UNSET
    town: Maybe[str | None] = UNSET
    postcode: Maybe[str | None] = UNSET
    country: Maybe[str | None] = UNSET
    administrative_division: Maybe[str | None] = UNSET


@dataclass(frozen=True, slots=True, kw_only=True)
class NewCustomer:
    first_name: str
    last_name: str
    email: str
    title: str = ""
    phone: str | None = None
    mobile: str | None = None
    birth_date: date | None = None
    friendly_id: str | None = None
    password: str | None = None
    gender: str | None = None
    language: str | None = None
    addresses: tuple[NewAddress, ...] = ()
    tag_ids: tuple[int, ...] = ()
    statement_ids: tuple[int, ...] = ()
    #: Attribute values by attribute name as the caller sent it (matched case-insensitively).
    attributes: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerPatch:
    title: Maybe[str] = UNSET
    first_name: Maybe[str] = UNSET
    last_name: Maybe[str] = UNSET
    email: Maybe[str] = UNSET
    phone: Maybe[str | None] = UNSET
    mobile: Maybe[str | None] = UNSET
    birth_date: Maybe[date | None] = UNSET
    friendly_id: Maybe[str | None] = UNSET
    gender: Maybe[str | None] = UNSET
    language: Maybe[str | None] = UNSET
    attributes: Mapping[str, str | None] = field(default_factory=dict)


# --- brands and channels ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class NewChannel:
    """A channel to add: its type (a code such as ``email``, or a numeric type id) and value.

    ``field`` and ``type_field`` name the inputs they came from, so that a refusal can name
    them.
    """

    type: str
    value: str
    field: str = "channel"
    type_field: str = "channel_type"


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerRef:
    """How a caller names a customer: by id, else by brand and external primary id, else by
    brand and channel value (when the brand allows search by channels)."""

    customer_id: int | None = None
    brand_id: int | None = None
    external_primary_id: str | None = None
    channel_value: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewBrandCustomer:
    brand_id: int | None = None
    external_primary_id: str | None = None
    #: Identifies the customer instead of an external id (brands with search by channels).
    channel_identity: str | None = None
    first_name: str = ""
    last_name: str = ""
    channels: tuple[NewChannel, ...] = ()
    attributes: Mapping[str, str | None] = field(default_factory=dict)
    #: A ticket to link the new customer to, and whether the ticket gets the new channels.
    ticket_id: int | None = None
    sync_ticket_channels: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class BrandCustomerPatch:
    first_name: Maybe[str] = UNSET
    last_name: Maybe[str] = UNSET
    external_primary_id: Maybe[str] = UNSET
    #: Added, or left as they are when the customer has them already; never removed.
    channels: tuple[NewChannel, ...] = ()
    attributes: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelRef:
    """One channel of a customer: by id, or by type and value."""

    channel_id: int | None = None
    type: str | None = None
    value: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewExternalEvent:
    """Something that happened elsewhere (an order, a mailing), for the customer's timeline."""

    message: str
    initiated_by: str = ""
    source_url: str | None = None


# --- CareCloud concepts: devices, profiles and records -----------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSetup:
    language: str
    allowed_gps: bool
    allowed_notifications: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class NewDevice:
    """A device (and application) asking for a token; the interface user when it named one."""

    user_name: str | None
    device_id: str
    device_system: str
    device_name: str
    device_type: str
    external_application_id: str
    push_token: str | None
    setup: DeviceSetup


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsentChoice:
    statement_id: int
    agreed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PropertyValue:
    """A value for a customer property, by its code; checked against the property's type."""

    code: str
    value: str | int | float | bool | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceLink:
    source_id: int
    external_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """A customer's personal data, whole: what a create sets and a replace puts in place.

    ``store_id`` None on a replace keeps the current store; ``address`` None removes the main
    (billing) address.
    """

    first_name: str = ""
    last_name: str = ""
    title: str = ""
    post_nominals: str | None = None
    email: str | None = None
    mobile: str | None = None
    birth_date: date | None = None
    gender: str | None = None
    language: str | None = None
    store_id: int | None = None
    address: NewAddress | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewProfile:
    profile: Profile
    source: SourceLink | None = None
    password: str | None = None
    #: A replacement's new ``password`` needs the current one from the customer.
    current_password: str | None = None
    consents: tuple[ConsentChoice, ...] = ()
    properties: tuple[PropertyValue, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerFilter:
    """Filters of a customer listing; each one given narrows it (AND)."""

    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    birth_date: date | None = None
    source_id: int | None = None
    emails: tuple[str, ...] = ()
    customer_ids: tuple[int, ...] = ()
