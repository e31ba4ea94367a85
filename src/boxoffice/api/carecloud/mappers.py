"""Pure functions: the only place CareCloud words meet core words.

Ids. The core keys records with integers; CareCloud ids look like the vendor's (hex, e.g.
``8ea2591121e636086a4a9c0992``): 16 hex digits of ``key XOR mask(kind)`` and a 10-digit
checksum over the kind and those digits. An id of one kind never resolves as another kind, and
a customer's id names the same integer key as its Spektrix ``I-XXXX-XXXX`` id. Records that
belong to two things (an interest record: interest and customer) carry both keys (42 digits).
A property record id is ``<property_id>:<customer_id>``, as the vendor writes it.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from boxoffice.api.carecloud import schemas as s
from boxoffice.domain import commands as c
from boxoffice.domain.errors import InvalidInput, NotFound
from boxoffice.domain.views import (
    AddressView,
    ConsentStateView,
    CountryView,
    CustomerPropertyView,
    CustomerSourceView,
    InterestRecordView,
    InterestView,
    LanguageView,
    OrderView,
    ProfileView,
    PropertyRecordView,
    RewardView,
    SourceRecordView,
    StatementTextView,
    StoreView,
    TenantView,
)

CUSTOMER, STORE, INTEREST, SOURCE, STATEMENT, REWARD, ADDRESS, ADDRESS_TYPE = (
    "customer",
    "store",
    "interest",
    "customer-source",
    "statement",
    "reward",
    "address",
    "address-type",
)
INTEREST_RECORD, SOURCE_RECORD = "interest-record", "source-record"
PURCHASE, PURCHASE_ITEM, PURCHASE_TYPE, PURCHASE_ITEM_TYPE = (
    "purchase",
    "purchase-item",
    "purchase-type",
    "purchase-item-type",
)
PRODUCT_GROUP, CURRENCY, SALES_POINT = "product-group", "currency", "sales-point"
_HEX = re.compile(r"^[0-9a-f]+$")
_KEY_DIGITS, _CHECK_DIGITS = 16, 10

# --- ids ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _mask(kind: str) -> int:
    """Kept per kind (a few constants): every id shown or read needs its kind's mask."""
    return int(hashlib.sha256(f"carecloud-mask:{kind}".encode()).hexdigest()[:_KEY_DIGITS], 16)


def _check(kind: str, body: str) -> str:
    return hashlib.sha256(f"carecloud:{kind}:{body}".encode()).hexdigest()[:_CHECK_DIGITS]


def encode(kind: str, *keys: int) -> str:
    body = "".join(f"{key ^ _mask(kind):0{_KEY_DIGITS}x}" for key in keys)
    return body + _check(kind, body)


def decode(kind: str, code: str, parts: int = 1) -> tuple[int, ...] | None:
    code = code.strip().lower()
    if len(code) != parts * _KEY_DIGITS + _CHECK_DIGITS or not _HEX.match(code):
        return None
    body, check = code[: parts * _KEY_DIGITS], code[parts * _KEY_DIGITS :]
    if _check(kind, body) != check:
        return None
    keys = tuple(
        int(body[i : i + _KEY_DIGITS], 16) ^ _mask(kind) for i in range(0, len(body), _KEY_DIGITS)
    )
    return keys if all(0 < k < 2**63 for k in keys) else None


def path_id(kind: str, code: str, label: str) -> int:
    """An id in the path: malformed or foreign ids are simply not found."""
    keys = decode(kind, code)
    if keys is None:
        raise NotFound(label, code)
    return keys[0]


def body_id(kind: str, code: str, field: str) -> int:
    """An id in a body: one that is not ours is a 400 ``not_found`` naming the field."""
    keys = decode(kind, code)
    if keys is None:
        raise InvalidInput(field, "not_found")
    return keys[0]


def property_record_id(code: str, customer_id: int) -> str:
    return f"{code}:{encode(CUSTOMER, customer_id)}"


def parse_property_record_id(record_id: str, customer_id: int) -> str:
    """``<property_id>:<customer_id>`` -> the property code (for this customer only)."""
    code, _, owner = record_id.rpartition(":")
    if not code or decode(CUSTOMER, owner) != (customer_id,):
        raise NotFound("PropertyRecord", record_id)
    return code


# --- dates, languages ---------------------------------------------------------------------------


def timezone_of(tenant: TenantView) -> tzinfo:
    """The project's local time (tenant setting ``timezone``, an IANA name; default UTC)."""
    name = tenant.settings.get("timezone")
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return UTC
    return UTC


def datetime_text(value: datetime, tz: tzinfo) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in the project's local time, without an offset."""
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def parse_date(text: str | None, field: str) -> date | None:
    """``YYYY-MM-DD`` (a datetime, with ``T`` or a space, is cut to its date)."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value.replace(" ", "T", 1)).date()
    except ValueError as exc:
        raise InvalidInput(field, "invalid_value_format") from exc


_DOTTED_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


def parse_query_date(text: str | None, field: str) -> date | None:
    """A date in a query string: ``YYYY-MM-DD`` or ``DD.MM.YYYY`` (the vendor's ``GET
    /customers?birthdate=`` accepts both; bodies take ``YYYY-MM-DD`` only, :func:`parse_date`)."""
    if text is None or not text.strip():
        return None
    dotted = _DOTTED_DATE.match(text.strip())
    if dotted is None:
        return parse_date(text, field)
    day, month, year = (int(part) for part in dotted.groups())
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise InvalidInput(field, "invalid_value_format") from exc


def accept_language(header: str | None) -> list[str]:
    """``cs, en-gb;q=0.8`` -> ``["cs", "en-gb"]``: by quality, best first; q=0 left out."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")[:20]):
        tag, *options = (part.strip() for part in item.split(";"))
        quality = 1.0
        for option in options:
            if option.lower().startswith("q="):
                try:
                    quality = float(option[2:])
                except ValueError:
                    quality = 0.0
        if tag and quality > 0 and len(tag) <= 35:
            weighted.append((-quality, index, tag.lower()))
    return [tag for _, _, tag in sorted(weighted)]


# --- paging and sorting -------------------------------------------------------------------------

MAX_COUNT = 1000


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (3, "")
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value.casefold())
    return (2, repr(value))


def page(
    plural: str,
    items: list[dict[str, Any]],
    *,
    count: int,
    offset: int,
    sort_field: str | None,
    sort_direction: str | None,
) -> dict[str, Any]:
    """``{"data": {plural: [...], "total_items": N}}``, sorted by a first-level field."""
    if sort_field:
        if items and not any(sort_field in item for item in items):
            raise InvalidInput("sort_field", "not_allowed_value")
        items = sorted(
            items,
            key=lambda item: _sort_key(item.get(sort_field)),
            reverse=sort_direction == "DESC",
        )
    elif sort_direction == "DESC":
        items = list(reversed(items))
    return {
        "data": {
            plural: items[offset : offset + min(count, MAX_COUNT)],
            "total_items": len(items),
        }
    }


def listing(plural: str, items: list[dict[str, Any]], total: int) -> dict[str, Any]:
    return {"data": {plural: items, "total_items": total}}


def data(value: Any) -> dict[str, Any]:
    return {"data": value}


# --- requests -----------------------------------------------------------------------------------

GENDERS = {1: "male", 2: "female", 3: "miss", 4: "private", 5: "other"}
GENDER_CODES = {name: code for code, name in GENDERS.items()}
#: The three fixed agreements answer to the statements with these codes.
FIXED_AGREEMENTS = (
    "agreement_gtc",
    "agreement_profiling",
    "agreement_marketing_communication",
)
DELIVERY, OTHER = 1, 2
ADDRESS_TYPES = {DELIVERY: "Delivery address", OTHER: "Other address"}


def new_device(body: s.TokenRequest, user_name: str | None) -> c.NewDevice:
    return c.NewDevice(
        user_name=user_name,
        device_id=body.device.device_id,
        device_system=body.device.device_system,
        device_name=body.device.device_name,
        device_type=body.device.device_type,
        external_application_id=body.external_application_id,
        push_token=body.push_token,
        setup=device_setup(body.setup),
    )


def device_setup(setup: s.Setup) -> c.DeviceSetup:
    return c.DeviceSetup(
        language=setup.language_id,
        allowed_gps=setup.allowed_gps,
        allowed_notifications=setup.allowed_notifications,
    )


def _address(a: s.Address, *, is_delivery: bool | None = None) -> c.NewAddress:
    return c.NewAddress(
        is_billing=None,
        is_delivery=is_delivery,
        line1=a.address1 or None,
        line2=a.address2 or None,
        line3=a.address3 or None,
        line4=a.address4 or None,
        line5=a.address5 or None,
        administrative_division=a.address6 or None,
        town=a.city or None,
        postcode=a.zip or None,
        country=a.country_code or None,
    )


def consent_choices(
    agreement: s.Agreement | None,
    consents: list[s.Consent] | None,
    statements: Sequence[StatementTextView],
) -> tuple[c.ConsentChoice, ...]:
    """Agreement values (1 given, 0 cancelled, 2 not set) -> choices; ``consents`` wins over
    the deprecated ``agreement`` when both are sent. "Not set" changes nothing."""
    by_code = {st.code: st.id for st in statements if st.code}
    values: list[tuple[int, int]] = []
    if consents is not None:
        for consent in consents:
            values.append(
                (body_id(STATEMENT, consent.consent_id, "consent_id"), consent.consent_value)
            )
    elif agreement is not None:
        for key in FIXED_AGREEMENTS:
            value = getattr(agreement, key)
            if value is not None and key in by_code:
                values.append((by_code[key], value))
        for custom in agreement.custom_agreements:
            values.append(
                (body_id(STATEMENT, custom.agreement_id, "agreement_id"), custom.agreement_value)
            )
    choices: dict[int, bool] = {}
    for statement_id, value in values:
        if value != 2:
            choices[statement_id] = value == 1
    return tuple(c.ConsentChoice(statement_id=k, agreed=v) for k, v in choices.items())


def _phone(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not re.fullmatch(r"[1-9][0-9]*", value):
        raise InvalidInput("phone", "invalid_value_format")
    return value


def profile(info: s.PersonalInformation) -> c.Profile:
    return c.Profile(
        first_name=info.first_name or "",
        last_name=info.last_name or "",
        title=info.pre_nominals or "",
        post_nominals=info.post_nominals or None,
        email=info.email or None,
        mobile=_phone(info.phone),
        birth_date=parse_date(info.birthdate, "birthdate"),
        gender=GENDERS.get(info.gender) if info.gender is not None else None,
        language=info.language_id.lower(),
        store_id=body_id(STORE, info.store_id, "store_id") if info.store_id else None,
        address=_address(info.address) if info.address is not None else None,
    )


def property_values(records: Iterable[s.PropertyRecord]) -> tuple[c.PropertyValue, ...]:
    out: list[c.PropertyValue] = []
    for record in records:
        value = record.property_value
        if isinstance(value, list | dict):
            raise InvalidInput("property_value", "invalid_value_format")
        out.append(c.PropertyValue(code=record.property_id, value=value))
    return tuple(out)


def new_profile(
    body: s.NewCustomer, statements: Sequence[StatementTextView]
) -> tuple[c.NewProfile, bool]:
    """The registration, and whether to log the new customer in (``autologin``)."""
    info = body.customer.personal_information
    source = source_link(body.customer_source)
    return (
        c.NewProfile(
            profile=profile(info),
            source=source,
            password=body.password or None,
            consents=consent_choices(info.agreement, info.consents, statements),
            properties=property_values(body.property_records),
        ),
        body.autologin,
    )


def source_link(record: s.CustomerSourceRecord) -> c.SourceLink:
    return c.SourceLink(
        source_id=body_id(SOURCE, record.customer_source_id, "customer_source_id"),
        external_id=record.external_id or None,
    )


def replacement(body: s.CustomerUpdate, statements: Sequence[StatementTextView]) -> c.NewProfile:
    info = body.customer.personal_information
    return c.NewProfile(
        profile=profile(info),
        password=body.password or None,
        current_password=body.current_password or None,
        consents=consent_choices(info.agreement, info.consents, statements),
        properties=property_values(body.property_records),
    )


def extra_address(body: s.AdditionalAddress) -> c.NewAddress:
    type_key = decode(ADDRESS_TYPE, body.address_type)
    if type_key is None or type_key[0] not in ADDRESS_TYPES:
        raise InvalidInput("address_type", "not_found")
    return _address(body.address, is_delivery=type_key[0] == DELIVERY)


def customer_filter(
    *,
    email: str | None,
    phone: str | None,
    customer_source_id: str | None,
    first_name: str | None,
    last_name: str | None,
    birthdate: str | None,
    email_list: list[str],
    customer_ids: list[str],
) -> c.CustomerFilter | None:
    """The filters; None when they can match nobody (an id that is not ours)."""
    source_id = None
    if customer_source_id:
        keys = decode(SOURCE, customer_source_id)
        if keys is None:
            return None
        source_id = keys[0]
    ids: list[int] = []
    for code in customer_ids:
        keys = decode(CUSTOMER, code)
        if keys is not None:
            ids.append(keys[0])
    if customer_ids and not ids:
        return None
    return c.CustomerFilter(
        email=email or None,
        phone=phone or None,
        first_name=first_name or None,
        last_name=last_name or None,
        birth_date=parse_query_date(birthdate, "birthdate"),
        source_id=source_id,
        emails=tuple(e for e in email_list if e),
        customer_ids=tuple(ids),
    )


# --- responses ----------------------------------------------------------------------------------


def _text(value: str | None) -> str:
    return value or ""


def address(view: AddressView | None) -> dict[str, Any]:
    if view is None:
        return {}
    return {
        "address1": _text(view.line1),
        "address2": _text(view.line2),
        "address3": _text(view.line3),
        "address4": _text(view.line4),
        "address5": _text(view.line5),
        "address6": _text(view.administrative_division),
        "address7": "",
        "zip": _text(view.postcode),
        "city": _text(view.town),
        "country_code": _text(view.country).lower(),
    }


def phone_text(value: str | None) -> str | None:
    """A stored number as the vendor writes it: digits with the country code, no ``+``."""
    if not value:
        return None
    digits = "".join(ch for ch in value if ch.isdigit()).lstrip("0")
    return digits or None


_SALUTATIONS = {
    "en": {"male": "Dear Mr {last}", "female": "Dear Ms {last}", "miss": "Dear Miss {last}"},
    "cs": {
        "male": "Vážený pane {last}",
        "female": "Vážená paní {last}",
        "miss": "Vážená slečno {last}",
    },
}
_NEUTRAL = {"en": "Dear {name}", "cs": "Dobrý den, {name}"}


def salutation(view: ProfileView, language: str, *, short: bool) -> str:
    """Generated from gender and names, in the caller's language (English otherwise). The
    short form (``customer_short_salutation=true``) is the first name only, as the vendor
    documents it ("short salutations contain the first name of the customer only"): empty
    when the customer has none."""
    c_ = view.customer
    if short:
        return c_.first_name or ""
    name = " ".join(p for p in (c_.first_name, c_.last_name) if p)
    lang = language if language in _SALUTATIONS else "en"
    forms = _SALUTATIONS[lang]
    if view.gender in forms and c_.last_name:
        return forms[view.gender].format(last=c_.last_name)
    return _NEUTRAL[lang].format(name=name) if name else ""


def _consent_value(state: ConsentStateView) -> int:
    return {"agreed": 1, "withdrawn": 0}.get(state.state, 2)


def customer(
    view: ProfileView,
    *,
    tz: tzinfo,
    language: str,
    default_language: str,
    short_salutation: bool = False,
) -> dict[str, Any]:
    """The Customer resource: the documented keys in the documented order."""
    cv = view.customer
    info: dict[str, Any] = {
        "salutation": salutation(view, language, short=short_salutation),
        "gender": GENDER_CODES.get(view.gender or ""),
        "first_name": cv.first_name,
        "last_name": cv.last_name,
        "pre_nominals": cv.title,
        "post_nominals": _text(view.post_nominals),
    }
    if cv.birth_date is not None:
        info["birthdate"] = cv.birth_date.isoformat()
    if cv.email:
        info["email"] = cv.email.lower()
    phone = phone_text(cv.mobile) or phone_text(cv.phone)
    if phone:
        info["phone"] = phone
    info["language_id"] = view.language or default_language
    if view.store_id is not None:
        info["store_id"] = encode(STORE, view.store_id)
    if cv.billing_address is not None:
        info["address"] = address(cv.billing_address)
    by_code = {st.code: st for st in view.consents if st.code}
    agreement: dict[str, Any] = {
        key: _consent_value(by_code[key]) if key in by_code else 2 for key in FIXED_AGREEMENTS
    }
    agreement["custom_agreements"] = [
        {"agreement_id": encode(STATEMENT, st.statement_id), "agreement_value": _consent_value(st)}
        for st in view.consents
        if st.code not in FIXED_AGREEMENTS
    ]
    info["agreement"] = agreement
    info["consents"] = [
        {
            "consent_id": encode(STATEMENT, st.statement_id),
            "consent_value": _consent_value(st),
            **({"last_change": datetime_text(st.changed_at, tz)} if st.changed_at else {}),
        }
        for st in view.consents
    ]
    return {
        "customer_id": encode(CUSTOMER, cv.id),
        "personal_information": info,
        "last_change": datetime_text(cv.updated_at, tz),
        "state": 1,
    }


def _data_str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return (
        str(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else ""
    )


def _gps(data: dict[str, Any]) -> dict[str, float]:
    gps = data.get("gps_coordinates")
    out = {"gps_longitude": 0.0, "gps_latitude": 0.0}
    if isinstance(gps, dict):
        for key in out:
            value = gps.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[key] = float(value)
    return out


def _store_address(data: dict[str, Any]) -> dict[str, str]:
    raw = data.get("store_address")
    raw = raw if isinstance(raw, dict) else {}
    keys = [f"address{i}" for i in range(1, 8)] + ["zip", "city", "country_code"]
    return {k: _data_str(raw, k) for k in keys}


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def store(view: StoreView) -> dict[str, Any]:
    data = view.data
    out: dict[str, Any] = {
        "store_id": encode(STORE, view.id),
        "store_code": view.code,
        "name": view.name,
        "store_address": _store_address(data),
        "contact_email": _data_str(data, "contact_email"),
        "manager_name": _data_str(data, "manager_name"),
    }
    phone = phone_text(_data_str(data, "phone_number"))
    if phone:
        out["phone_number"] = phone
    visible = data.get("visible_for_customer", 1)
    out.update(
        {
            "partner_id": _data_str(data, "partner_id"),
            "system_id": _data_str(data, "system_id") or view.code,
            "gps_coordinates": _gps(data),
            "url_address": _data_str(data, "url_address"),
            "opening": [],
            "image_urls": _strings(data.get("image_urls")),
            "visibility_for_customer": 0 if visible in (0, False) else 1,
            "short_description": view.short_description,
            "description": view.description,
            "state": 1,
        }
    )
    return out


def interest(view: InterestView) -> dict[str, Any]:
    return {"interest_id": encode(INTEREST, view.id), "name": view.name}


DATA_TYPES = {"text": "string", "date": "date", "number": "float", "boolean": "boolean"}


def customer_property(view: CustomerPropertyView) -> dict[str, Any]:
    return {
        "property_id": view.code,
        "name": view.name,
        "description": view.description,
        "data_type": DATA_TYPES.get(view.type, "string"),
        "items": [],
        "is_required": False,
        "is_unique": False,
        "state": 1,
    }


def customer_source(view: CustomerSourceView) -> dict[str, Any]:
    return {
        "customer_source_id": encode(SOURCE, view.id),
        "name": view.name,
        "customer_source_text_id": view.code,
        "state": 1,
    }


def agreement(view: StatementTextView) -> dict[str, Any]:
    out: dict[str, Any] = {
        "agreement_id": encode(STATEMENT, view.id),
        "name": view.text,
        "text": view.description or view.text,
    }
    if view.code:
        out["text_id"] = view.code
    return out


def language(view: LanguageView) -> dict[str, Any]:
    return {"language_id": view.code, "state": 1}


def country(view: CountryView, name: str | None = None) -> dict[str, Any]:
    return {"country_id": view.iso_code.lower(), "name": name or view.name, "state": 1}


def property_value(record: PropertyRecordView) -> Any:
    kind, text = record.property.type, record.value
    if kind == "boolean":
        return text == "true"
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            return text
    return text


def property_record(record: PropertyRecordView) -> dict[str, Any]:
    return {
        "property_record_id": property_record_id(record.property.code, record.customer_id),
        "property_id": record.property.code,
        "property_name": record.property.name,
        "property_value": property_value(record),
    }


def interest_record(view: InterestRecordView, tz: tzinfo) -> dict[str, Any]:
    return {
        "interest_record_id": encode(INTEREST_RECORD, view.interest_id, view.customer_id),
        "interest_id": encode(INTEREST, view.interest_id),
        "customer_id": encode(CUSTOMER, view.customer_id),
        "last_change": datetime_text(view.added_at, tz),
    }


def source_record(view: SourceRecordView) -> dict[str, Any]:
    out: dict[str, Any] = {
        "customer_source_record_id": encode(SOURCE_RECORD, view.source_id, view.customer_id),
        "customer_source_id": encode(SOURCE, view.source_id),
        "customer_id": encode(CUSTOMER, view.customer_id),
    }
    if view.external_id is not None:
        out["external_id"] = view.external_id
    return out


def extra_address_record(view: AddressView) -> dict[str, Any]:
    return {
        "additional_address_id": encode(ADDRESS, view.id),
        "address_type": encode(ADDRESS_TYPE, DELIVERY if view.is_delivery else OTHER),
        "address": address(view),
    }


def address_types() -> list[dict[str, Any]]:
    return [
        {"address_type_id": encode(ADDRESS_TYPE, key), "name": name}
        for key, name in ADDRESS_TYPES.items()
    ]


def _reward_properties(view: RewardView) -> list[dict[str, Any]]:
    raw = view.data.get("additional_properties")
    out: list[dict[str, Any]] = []
    if isinstance(raw, dict):
        for key, value in raw.items():
            if isinstance(value, str | int | float | bool):
                if isinstance(value, int) and not isinstance(value, bool):
                    value = float(value)  # number and integer would both match the oneOf
                out.append(
                    {
                        "property_record_id": f"{key}:{encode(REWARD, view.id)}",
                        "property_id": str(key),
                        "property_name": str(key),
                        "property_value": value,
                    }
                )
    return out


REWARD_GROUPS = (0, 1, 2, 4)


def reward(view: RewardView) -> dict[str, Any]:
    data = view.data
    group = data.get("reward_group", 1)
    out: dict[str, Any] = {
        "reward_id": encode(REWARD, view.id),
        "code": view.code,
        "name": view.name,
        "note": view.description,
        "subtitle": _data_str(data, "subtitle"),
    }
    points = data.get("points_cost")
    if isinstance(points, int | float) and not isinstance(points, bool):
        out["points_cost"] = float(points)
    for key in ("valid_time_from", "valid_time_to"):
        if isinstance(data.get(key), str):
            out[key] = data[key]
    out["reward_group"] = group if group in REWARD_GROUPS else 1
    out["store_list"] = [store(st) for st in view.stores]
    out["additional_properties"] = _reward_properties(view)
    priority = data.get("priority")
    if isinstance(priority, int) and not isinstance(priority, bool) and 1 <= priority <= 9:
        out["priority"] = priority
    out.update(
        {
            "image_urls": [],
            "has_product_condition": False,
            "has_group_condition": False,
            "has_brand_condition": False,
            "has_product_bonus": False,
            "has_group_bonus": False,
            "has_brand_bonus": False,
            "is_automated": bool(data.get("is_automated", False)),
            "tags": [],
            "state": 1,
        }
    )
    return out


def reward_matches(
    view: RewardView,
    *,
    name: str | None,
    code: str | None,
    store_id: int | None,
    is_valid: bool | None,
    valid_from: date | None,
    valid_to: date | None,
    is_automated: bool | None,
    reward_group: int | None,
    without_stores: bool | None,
    today: date,
) -> bool:
    data = view.data
    if name and name.casefold() not in view.name.casefold():
        return False
    if code and code != view.code:
        return False
    if store_id is not None and view.stores and store_id not in {st.id for st in view.stores}:
        return False
    if without_stores is not None and without_stores != (not view.stores):
        return False
    if is_automated is not None and is_automated != bool(data.get("is_automated", False)):
        return False
    group = data.get("reward_group", 1)
    if reward_group is not None and reward_group != (group if group in REWARD_GROUPS else 1):
        return False
    starts = _maybe_date(data.get("valid_from"))
    ends = _maybe_date(data.get("valid_to"))
    if is_valid is not None:
        valid = (starts is None or starts <= today) and (ends is None or today <= ends)
        if valid != is_valid:
            return False
    if valid_from is not None and ends is not None and ends < valid_from:
        return False
    return not (valid_to is not None and starts is not None and starts > valid_to)


def _maybe_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


# --- purchases (orders, read-only) ----------------------------------------------------------------
#
# A purchase is a confirmed order (same key). The vendor's required ids that have no record of
# their own here are constants: ``store_id`` names the box office itself (not one of ``GET
# /stores``), ``type_id`` the channel the order came through (web or box office), ``currency_id``
# the tenant's one currency; ``cashdesk_number`` is the channel's name. A purchase item is one
# ticket, merchandise unit, donation, gift voucher or membership: its ``price`` is what the
# customer paid for it (after offers), ``amount`` 1, ``vat_rate`` 0 (no VAT is kept), its product
# the thing sold (the instance, stock item, fund, gift voucher type or membership; one product
# kind per item kind) and its group the item kind.

_CHANNEL_TYPES = {"web": 1, "owner": 2}
_CHANNEL_NAMES = {"web": "web", "owner": "box office"}
BOX_OFFICE_STORE = encode(SALES_POINT, 1)
SALE_ITEM_TYPE = encode(PURCHASE_ITEM_TYPE, 1)
TENANT_CURRENCY = encode(CURRENCY, 1)
TICKETS, MERCHANDISE, DONATIONS, GIFT_VOUCHERS, MEMBERSHIPS = 1, 2, 3, 4, 5
PRODUCT_GROUPS = {
    TICKETS: "Tickets",
    MERCHANDISE: "Merchandise",
    DONATIONS: "Donations",
    GIFT_VOUCHERS: "Gift vouchers",
    MEMBERSHIPS: "Memberships",
}


def purchase_type_id(channel: str) -> str:
    return encode(PURCHASE_TYPE, _CHANNEL_TYPES.get(channel, 2))


def _purchase_item(
    group: int, item_id: int, product_key: int, name: str, paid: Any, external_id: str | None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "purchase_item_id": encode(PURCHASE_ITEM, item_id),
        "product_id": encode(f"product:{group}", product_key),
        "product_name": name,
        "product_group_id": encode(PRODUCT_GROUP, group),
        "product_group_name": PRODUCT_GROUPS[group],
    }
    if external_id is not None:
        out["external_id"] = external_id
    out.update(
        {
            "purchase_item_type_id": SALE_ITEM_TYPE,
            "price": float(paid),
            "amount": 1,
            "vat_rate": 0.0,
            "additional_properties": [],
        }
    )
    return out


def purchase_items(view: OrderView) -> list[dict[str, Any]]:
    """The order's items as the vendor's PurchaseItems: tickets, merchandise, donations, gift
    vouchers, memberships (in that order). Gift voucher codes are not shown: they spend money."""
    out = [
        _purchase_item(
            TICKETS,
            t.id,
            t.instance_id,
            f"Ticket {t.seat_name or t.area_name} ({t.band_name}, {t.ticket_type_name})",
            t.total,
            t.barcode,
        )
        for t in view.tickets
    ]
    out += [
        _purchase_item(MERCHANDISE, i.id, i.stock_item_id, i.stock_item_name, i.total, i.barcode)
        for i in view.merchandise_items
    ]
    out += [
        _purchase_item(DONATIONS, d.id, d.fund_id, "Donation", d.amount, None)
        for d in view.donations
    ]
    out += [
        _purchase_item(
            GIFT_VOUCHERS, g.id, g.gift_voucher_type_id or g.id, "Gift voucher", g.amount, None
        )
        for g in view.gift_vouchers
    ]
    out += [
        _purchase_item(MEMBERSHIPS, ms.id, ms.membership_id, ms.membership_name, ms.total, None)
        for ms in view.membership_subscriptions
    ]
    return out


def purchase(view: OrderView, tz: tzinfo, *, with_items: bool) -> dict[str, Any]:
    """An order as the vendor's Purchase (``purchase_items`` only ``with_items``, else empty).
    Times are the project's local time (:func:`datetime_text`)."""
    items = purchase_items(view)
    paid_at = datetime_text(view.confirmed_at, tz)
    return {
        "purchase_id": encode(PURCHASE, view.id),
        "customer_id": encode(CUSTOMER, view.customer_id) if view.customer_id else "",
        "store_id": BOX_OFFICE_STORE,
        "external_purchase_id": str(view.id),
        "payment_time": paid_at,
        "items_count": len(items),
        "purchase_items": items if with_items else [],
        "type_id": purchase_type_id(view.channel),
        "total_price": float(view.total),
        "currency_id": TENANT_CURRENCY,
        "cashdesk_number": _CHANNEL_NAMES.get(view.channel, view.channel),
        "last_change": paid_at,
        "property_records": [],
    }


def parse_payment_time(text: str | None, field: str) -> datetime | None:
    """``YYYY-MM-DD HH:MM:SS`` or ISO 8601 (``T``), local time, naive; a bare date is its
    midnight."""
    if text is None or not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError as exc:
        raise InvalidInput(field, "invalid_value_format") from exc
    return value.replace(tzinfo=None)
