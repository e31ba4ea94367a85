"""Pure functions: the only place brand/channel words meet core words."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from boxoffice.api.brandchannel import schemas as s
from boxoffice.domain import commands as c
from boxoffice.domain.errors import InvalidInput, NotFound
from boxoffice.domain.ids import CUSTOMER_KEY_SPACE
from boxoffice.domain.views import BrandCustomerView, PageView, TimelineEntryView
from boxoffice.services.baskets import ORDER_CONFIRMED
from boxoffice.services.brandchannel import (
    CHANNEL_ADDED,
    CHANNEL_REMOVED,
    CRM_SYNC,
    EXTERNAL_EVENT,
    TICKET_LINKED,
    guess_channel_type,
)

#: Each parameter's spellings, as the vendor's examples use them.
BRAND = ("brand_id", "brandID")
CUSTOMER = ("customer_id", "customerID")
EXTERNAL = ("primary_id", "primaryID", "externalPrimaryID", "external_id")
CHANNEL_VALUE = ("customerChannelValue", "search_customer_channel_value")
START = ("itemStart", "start")
LIMIT = ("itemLimit", "limit")
CUSTOM_PREFIX = "custom_"
EXTRA_PREFIX = "extra_"
_PAIR_RE = re.compile(r"^customerchannel(type|value)_([0-9]{1,3})$")
#: Names the channel-type pattern does not allow but callers use (the vendor's own example
#: sends ``phoneNumber``).
_TYPE_ALIASES = frozenset({"phonenumber", "phone"})
DEFAULT_LIMIT, MAX_LIMIT = 15, 100


# --- requests -------------------------------------------------------------------------------


def customer_id(value: int) -> int:
    """A customer id from the path: one that cannot be a customer's is simply not found."""
    if not 0 < value < CUSTOMER_KEY_SPACE:
        raise NotFound("Customer", value)
    return value


def paging(form: s.Form) -> tuple[int, int]:
    start = form.integer(*START) or 0
    limit = form.integer(*LIMIT, minimum=1, maximum=MAX_LIMIT)
    return start, DEFAULT_LIMIT if limit is None else limit


def search(form: s.Form) -> str:
    return form.matching(s.SEARCH_RE, "search") or ""


def brand_id(form: s.Form) -> int | None:
    return form.integer(*BRAND, minimum=1)


def customer_ref(form: s.Form, customer_id: int | None = None) -> c.CustomerRef:
    """How the request names its customer (``customer_id`` from the path, when there)."""
    return c.CustomerRef(
        customer_id=customer_id if customer_id is not None else form.integer(*CUSTOMER, minimum=1),
        brand_id=brand_id(form),
        external_primary_id=form.text(*EXTERNAL) or None,
        channel_value=form.text(*CHANNEL_VALUE) or None,
    )


def required_text(form: s.Form, *spellings: str) -> str:
    value = form.text(*spellings)
    if value is None or not value.strip():
        raise InvalidInput(spellings[0], "required")
    return value


def _channel_type(name: str, value: str) -> str:
    if value.lower() in _TYPE_ALIASES:
        return value
    if not s.CHANNEL_ID_RE.match(value):
        raise InvalidInput(name, "a channel type id, or one of email, telephone, facebook, twitter")
    return value


def channels(form: s.Form, *, link: bool = False) -> tuple[c.NewChannel, ...]:
    """``customerChannelType_N``/``customerChannelValue_N`` pairs, ``extra_<type>`` fields and
    (``link``: POST index only) ``channel_id`` with ``customer_link_channel``."""
    out: list[c.NewChannel] = []
    if link:
        link_value = form.get("customer_link_channel")
        link_type = form.get("channel_id")
        if link_type is not None and link_type[1] != "" and not (link_value and link_value[1]):
            raise InvalidInput(
                link_type[0], "can only be processed if customer_link_channel is set"
            )
        if link_value is not None and link_value[1] != "":
            if link_type is None or link_type[1] == "":
                guessed = guess_channel_type(link_value[1])
                if guessed is None:
                    raise InvalidInput("channel_id", "required with customer_link_channel")
                type_name, type_value = "channel_id", guessed
            else:
                type_name, type_value = link_type
            out.append(
                c.NewChannel(
                    type=_channel_type(type_name, type_value),
                    value=link_value[1],
                    field=link_value[0],
                    type_field=type_name,
                )
            )
    pairs: dict[int, dict[str, tuple[str, str]]] = {}
    for name, value in form.with_prefix("customerchannel"):
        match = _PAIR_RE.match(name.lower())
        if match is None:
            continue
        pairs.setdefault(int(match.group(2)), {})[match.group(1)] = (name, value)
    for index in sorted(pairs):
        pair = pairs[index]
        if "type" not in pair:
            raise InvalidInput(f"customerChannelType_{index}", "required with its value")
        if "value" not in pair:
            raise InvalidInput(f"customerChannelValue_{index}", "required with its type")
        (type_name, type_value), (value_name, value) = pair["type"], pair["value"]
        out.append(
            c.NewChannel(
                type=_channel_type(type_name, type_value),
                value=value,
                field=value_name,
                type_field=type_name,
            )
        )
    for name, value in form.with_prefix(EXTRA_PREFIX):
        if value == "":
            continue
        code = name[len(EXTRA_PREFIX) :]
        out.append(c.NewChannel(type=code, value=value, field=name, type_field=name))
    return tuple(out)


def attributes(form: s.Form) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name, value in form.with_prefix(CUSTOM_PREFIX):
        field = name[len(CUSTOM_PREFIX) :]
        if not s.CUSTOM_NAME_RE.match(field):
            raise InvalidInput(name, "custom_ followed by letters, digits or '_'")
        out[field] = value
    return out


def _name(form: s.Form, spelling: str) -> str | None:
    return form.matching(s.NAME_RE, spelling)


def new_customer(form: s.Form, *, index: bool) -> c.NewBrandCustomer:
    """POST index (``index``: with linked channel, ticket and ``noSync``) or
    createCustomerCRUD."""
    ticket = form.integer("ticket_id", minimum=1) if index else None
    return c.NewBrandCustomer(
        brand_id=brand_id(form),
        external_primary_id=form.text(*EXTERNAL) or None,
        channel_identity=form.text(*CHANNEL_VALUE) or None,
        first_name=_name(form, "firstname") or "",
        last_name=_name(form, "lastname") or "",
        channels=channels(form, link=index),
        attributes=attributes(form),
        ticket_id=ticket,
        sync_ticket_channels=not form.boolean("noSync") if index else True,
    )


def customer_patch(form: s.Form) -> c.BrandCustomerPatch:
    """Names (empty: unchanged), custom fields (empty: cleared) and channels to add."""
    first, last = _name(form, "firstname"), _name(form, "lastname")
    return c.BrandCustomerPatch(
        first_name=c.UNSET if first is None else first,
        last_name=c.UNSET if last is None else last,
        channels=channels(form),
        attributes=attributes(form),
    )


def channel_ref(form: s.Form) -> c.ChannelRef:
    type_name = form.get("customerChannelType", "channel_type")
    return c.ChannelRef(
        channel_id=form.integer("channel_id", "id", minimum=1),
        type=None if type_name is None else _channel_type(*type_name),
        value=form.text("customerChannelValue", "channel_value"),
    )


def external_event(form: s.Form) -> c.NewExternalEvent:
    return c.NewExternalEvent(
        message=required_text(form, "message"),
        initiated_by=form.text("initiated_by", "initiatedBy") or "",
        source_url=form.text("source_url", "sourceUrl") or None,
    )


# --- responses ------------------------------------------------------------------------------


def custom_field_name(attribute_name: str) -> str:
    """``Favourite Genre`` -> ``Favourite_Genre``: a name that reads back as the same field."""
    return re.sub(r"[^0-9A-Za-z]+", "_", attribute_name).strip("_")


def customer(view: BrandCustomerView) -> dict[str, Any]:
    """The customer object: the vendor's keys first, then ``custom_<name>`` fields."""
    out: dict[str, Any] = {
        "id": view.id,
        "external_primary_id": view.external_primary_id,
        "brand_id": view.brand.id if view.brand else None,
        "brand_name": view.brand.name if view.brand else None,
        "firstname": view.first_name,
        "lastname": view.last_name,
        "channels": [
            {"id": ch.id, "type": ch.type_code, "value": ch.value} for ch in view.channels
        ],
    }
    for value in view.attributes:
        out[f"{CUSTOM_PREFIX}{custom_field_name(value.attribute.name)}"] = value.value
    return out


def _envelope(kind: str, page: PageView[Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": kind,
        "itemStart": page.start,
        "itemTotal": page.total,
        "itemLimit": page.limit,
        "items": items,
    }


def customer_list(page: PageView[BrandCustomerView]) -> dict[str, Any]:
    return _envelope("customer", page, [customer(v) for v in page.items])


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


_WIRE_NAMES = {"first_name": "firstname", "last_name": "lastname"}
_MESSAGES = {
    "created": "Customer created.",
    "changed": "Customer updated.",
    "erased": "Customer data purged.",
    CHANNEL_ADDED: "Channel added.",
    CHANNEL_REMOVED: "Channel deleted.",
}


def _order_message(data: dict[str, object]) -> str:
    """``Order 123 confirmed: total 170.00, 2 tickets.`` (what the entry kept)."""
    tickets = data.get("tickets")
    count = (
        f", {tickets} ticket{'' if tickets == 1 else 's'}"
        if isinstance(tickets, int) and tickets
        else ""
    )
    return f"Order {data.get('order')} confirmed: total {data.get('total')}{count}."


def _describe(entry: TimelineEntryView) -> str:
    data = entry.data
    if entry.kind == ORDER_CONFIRMED and "order" in data:
        return _order_message(data)
    if entry.kind == CRM_SYNC:
        reason = data.get("reason")
        return f"CRM sync: {data.get('outcome')}" + (f" ({reason})." if reason else ".")
    changes = data.get("changes")
    if entry.kind == "changed" and isinstance(changes, dict):
        names = sorted(
            _WIRE_NAMES.get(str(k), str(k).replace("attribute:", "custom_")) for k in changes
        )
        return "Customer updated: " + ", ".join(names) + "."
    if entry.kind in _MESSAGES:
        return _MESSAGES[entry.kind]
    return entry.kind.replace("_", " ").capitalize() + "."


def timeline_item(entry: TimelineEntryView) -> dict[str, Any]:
    data = entry.data
    if entry.kind == EXTERNAL_EVENT:
        initiated_by, message, url = (
            data.get("initiated_by"),
            data.get("message"),
            data.get("source_url"),
        )
    elif entry.kind == TICKET_LINKED:
        initiated_by, message, url = entry.actor, f"Linked to ticket {data.get('ticket_id')}.", None
    elif entry.kind == CRM_SYNC:
        initiated_by, message, url = "syncWithCRM", _describe(entry), None
    else:
        initiated_by, message, url = entry.actor, _describe(entry), None
    return {
        "id": entry.id,
        "kind": "ticket" if entry.kind == TICKET_LINKED else "event",
        "created_at": _iso(entry.occurred_at),
        "initiated_by": initiated_by,
        "message": message,
        "source_url": url,
    }


def timeline(page: PageView[TimelineEntryView]) -> dict[str, Any]:
    return _envelope("timeline", page, [timeline_item(e) for e in page.items])


def result(message: str, id: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"message": message, "type": "result"}
    if id is not None:
        out["id"] = id
    return out
