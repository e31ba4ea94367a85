"""Wire models in the brand/channel API's nouns, and the reading of its flat parameters.

Every endpoint takes flat ``name=value`` parameters, from the query string and from the body,
which may be ``multipart/form-data``, ``application/x-www-form-urlencoded`` or JSON (the
vendor's own examples mix the three). :func:`read_form` turns all of them into one
:class:`Form`; names are matched without regard to case, values are taken literally.

The models below document the bodies in the OpenAPI document; the parameters themselves are
read through :class:`Form`, because the vendor accepts several spellings of a name and open
families of names (``custom_<name>``, ``customerChannelType_<N>``), which a declared model
would not.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile

from boxoffice.domain.errors import InvalidInput

#: The vendor's documented patterns.
NAME_PATTERN = r"^[a-zA-ZÀ-ÖØ-Þß-öø-ÿŠš\.\-\' ]+$"
TELEPHONE_PATTERN = r"^\+[0-9]+$"
CHANNEL_ID_PATTERN = r"^([0-9]+|email|telephone|facebook|twitter)$"
TWITTER_PATTERN = r"^[a-zA-Z0-9_ ]+$"
SEARCH_PATTERN = r"^[0-9a-zA-Z ]+$"
CUSTOM_NAME_PATTERN = r"^[A-Za-z0-9_]+$"
NAME_RE = re.compile(NAME_PATTERN)
CHANNEL_ID_RE = re.compile(CHANNEL_ID_PATTERN, re.IGNORECASE)
SEARCH_RE = re.compile(SEARCH_PATTERN)
CUSTOM_NAME_RE = re.compile(CUSTOM_NAME_PATTERN)
INTEGER_RE = re.compile(r"^[0-9]{1,18}$")
MAX_FIELDS = 1000


class Form:
    """A request's parameters. Names fold to lower case; one name sent twice with different
    values is refused (there would be no telling which one was meant)."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._values: dict[str, tuple[str, str]] = {}
        if len(items) > MAX_FIELDS:
            raise InvalidInput("body", f"at most {MAX_FIELDS} parameters")
        for name, value in items:
            folded = name.lower()
            seen = self._values.get(folded)
            if seen is not None and seen[1] != value:
                raise InvalidInput(name, "sent twice with different values")
            self._values[folded] = (name, value)

    def names(self) -> list[str]:
        """The names as sent."""
        return [name for name, _ in self._values.values()]

    def get(self, *spellings: str) -> tuple[str, str] | None:
        """``(name as sent, value)`` of a parameter that has several spellings."""
        found = [self._values[s.lower()] for s in spellings if s.lower() in self._values]
        if len({value for _, value in found}) > 1:
            raise InvalidInput(
                "/".join(name for name, _ in found), "different values for the same parameter"
            )
        return found[0] if found else None

    def text(self, *spellings: str) -> str | None:
        found = self.get(*spellings)
        return None if found is None else found[1]

    def integer(self, *spellings: str, minimum: int = 0, maximum: int | None = None) -> int | None:
        found = self.get(*spellings)
        if found is None or found[1].strip() == "":
            return None
        name, value = found
        if not INTEGER_RE.match(value.strip()):
            raise InvalidInput(name, "a whole number")
        number = int(value)
        if number < minimum:
            raise InvalidInput(name, f"a whole number of {minimum} or more")
        if maximum is not None and number > maximum:
            raise InvalidInput(name, f"at most {maximum}")
        return number

    def boolean(self, *spellings: str) -> bool:
        found = self.get(*spellings)
        if found is None:
            return False
        name, value = found
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0", ""):
            return False
        raise InvalidInput(name, "true, false, 1 or 0")

    def matching(self, pattern: re.Pattern[str], *spellings: str) -> str | None:
        """A text parameter that must match one of the vendor's patterns (empty: not sent)."""
        found = self.get(*spellings)
        if found is None or found[1] == "":
            return None
        name, value = found
        if not pattern.match(value):
            raise InvalidInput(name, f"must match the pattern {pattern.pattern}")
        return value

    def with_prefix(self, prefix: str) -> list[tuple[str, str]]:
        """``(name as sent, value)`` of every parameter whose name starts with ``prefix``."""
        prefix = prefix.lower()
        return [item for folded, item in self._values.items() if folded.startswith(prefix)]


def _scalar(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise InvalidInput(name, "must be a single value, not a list or an object")


def _json(body: bytes) -> list[tuple[str, str]]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("body", "not valid JSON (UTF-8)") from exc
    if not isinstance(data, dict):
        raise InvalidInput("body", "a JSON object of parameters is required")
    items: list[tuple[str, str]] = []
    for name, value in data.items():
        text = _scalar(str(name), value)
        if text is not None:
            items.append((str(name), text))
    return items


def _urlencoded(text: bytes, where: str) -> list[tuple[str, str]]:
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(where, "not valid UTF-8") from exc
    try:
        return parse_qsl(
            decoded, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(where, "not valid URL encoding (UTF-8)") from exc


async def read_form(request: Request, *, body: bool = True) -> Form:
    """The query string's parameters, and the body's (``body=False``: ignore any body)."""
    items = _urlencoded(request.scope.get("query_string", b""), "query string")
    if body:
        items += await _body_items(request)
    return Form(items)


async def _body_items(request: Request) -> list[tuple[str, str]]:
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=0, max_fields=MAX_FIELDS)
        items: list[tuple[str, str]] = []
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                raise InvalidInput(name, "files are not accepted")
            items.append((name, value))
        return items
    raw = await request.body()
    if not raw.strip():
        return []
    if content_type.startswith("application/x-www-form-urlencoded"):
        return _urlencoded(raw, "body")
    if "json" in content_type or raw.lstrip().startswith(b"{"):
        return _json(raw)
    return _urlencoded(raw, "body")


# --- documentation models -----------------------------------------------------------------------


def _pattern(pattern: str, description: str = "") -> Any:
    # Documented, not enforced here (the parameters are checked by hand, with clear messages).
    return Field(default=None, description=description, json_schema_extra={"pattern": pattern})


class _Doc(BaseModel):
    model_config = ConfigDict(extra="allow")


class _CustomFields(_Doc):
    custom_testfield: str | None = Field(
        default=None,
        description="A custom field: `custom_` followed by the field's name. Empty clears it.",
    )


class _Channels(_Doc):
    customerChannelType_0: str | None = Field(
        default=None,
        description="Channel type (id, or email, telephone, facebook, twitter); _0, _1, ...",
    )
    customerChannelValue_0: str | None = Field(
        default=None, description="Channel address; pairs with customerChannelType_N"
    )


class NewCustomer(_CustomFields):
    channel_id: str | None = _pattern(
        CHANNEL_ID_PATTERN, "Channel type of customer_link_channel: id or name"
    )
    customer_link_channel: str | None = Field(
        default=None, description="An address to link, e.g. a phone number or email address"
    )
    search_customer_channel_value: str | None = Field(
        default=None,
        description="Identifies the customer instead of primary_id (brands with search by "
        "channels)",
    )
    brand_id: int | None = Field(default=None, description="Also brandID")
    primary_id: str | None = Field(
        default=None, description="The external primary ID (unique per brand); takes precedence"
    )
    noSync: bool | None = Field(
        default=None, description="Do not give the ticket the new linked channels"
    )
    firstname: str | None = _pattern(NAME_PATTERN)
    lastname: str | None = _pattern(NAME_PATTERN)
    ticket_id: int | None = Field(default=None, description="Link the new customer to a ticket")
    extra_email: str | None = None
    extra_telephone: str | None = _pattern(TELEPHONE_PATTERN)


class CustomerNameUpdate(_CustomFields, _Channels):
    primaryID: str | None = Field(default=None, description="Also primary_id, external_id")
    brandID: int | None = Field(default=None, description="Also brand_id")
    customerID: int | None = Field(default=None, description="Also customer_id")
    firstname: str | None = _pattern(NAME_PATTERN)
    lastname: str | None = _pattern(NAME_PATTERN)


class CustomerUpdate(_CustomFields, _Channels):
    brandID: int | None = Field(default=None, description="Must be the customer's brand")
    firstname: str | None = _pattern(NAME_PATTERN)
    lastname: str | None = _pattern(NAME_PATTERN)


class UpdateCustomer(_CustomFields, _Channels):
    externalPrimaryID: str | None = Field(default=None, description="Also primary_id")
    brandID: int | None = None
    firstname: str | None = _pattern(NAME_PATTERN)
    lastname: str | None = _pattern(NAME_PATTERN)


class CreateCustomerCRUD(_CustomFields, _Channels):
    primaryID: str | None = None
    brandID: int | None = None
    firstname: str | None = _pattern(NAME_PATTERN)
    lastname: str | None = _pattern(NAME_PATTERN)


class SearchByPrimaryExternalID(_Doc):
    primary_id: str
    brand_id: int | None = None


class SearchByCustomerChannelValue(_Doc):
    customerChannelValue: str
    brand_id: int | None = None


class AddChannelOnly(_Channels):
    customer_id: int | None = None
    primary_id: str | None = None
    brand_id: int | None = None
    extra_email: str | None = None
    extra_telephone: str | None = _pattern(TELEPHONE_PATTERN)
    extra_twitter: str | None = _pattern(TWITTER_PATTERN)
    extra_facebook: str | None = None


class ChannelDelete(_Doc):
    channel_id: int | None = Field(default=None, description="The `id` in `channels[]`")
    customerChannelType: str | None = None
    customerChannelValue: str | None = None


class ExternalEvent(_Doc):
    customer_id: int | None = None
    external_id: str | None = None
    brand_id: int | None = None
    initiated_by: str | None = None
    message: str
    source_url: str | None = Field(default=None, description="An http(s) URL")


class SyncWithCRM(_Doc):
    brandID: int | None = None
    channel: str = Field(description="Channel type: email, telephone (phoneNumber), ...")
    address: str = Field(description="The channel's value")


# --- response models (documentation only: mappers build the bodies) ----------------------------


class Channel(BaseModel):
    id: int
    type: str
    value: str


class Customer(_Doc):
    id: int
    external_primary_id: str | None
    brand_id: int | None
    brand_name: str | None
    firstname: str
    lastname: str
    channels: list[Channel]


class CustomerList(BaseModel):
    type: str = "customer"
    itemStart: int
    itemTotal: int
    itemLimit: int
    items: list[Customer]


class TimelineItem(BaseModel):
    id: int
    kind: str = Field(description="event, or ticket")
    created_at: str
    initiated_by: str | None
    message: str | None
    source_url: str | None


class Timeline(BaseModel):
    type: str = "timeline"
    itemStart: int
    itemTotal: int
    itemLimit: int
    items: list[TimelineItem]


class Result(BaseModel):
    message: str
    type: str = "result"
    id: int | None = None


class Error(BaseModel):
    message: str
    type: str = "error"
