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
