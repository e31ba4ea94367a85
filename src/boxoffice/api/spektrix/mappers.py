"""Pure functions: the only place Spektrix words meet core words."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic.alias_generators import to_camel

from boxoffice.api.spektrix import schemas as s
from boxoffice.domain import commands as c
from boxoffice.domain.errors import InvalidInput, NotFound
from boxoffice.domain.ids import (
    customer_code,
    parse_customer_code,
    parse_resource_code,
    resource_code,
)
from boxoffice.domain.rules import age_on, full_name, pascal_case
from boxoffice.domain.views import (
    AddressView,
    CatalogueView,
    ConsentView,
    CountryView,
    CustomerView,
    MembershipView,
    StatementView,
    SubscriptionView,
    TagGroupView,
    TagView,
)
from boxoffice.services.customers import CONSENTS, SUBSCRIPTIONS, TAGS

TAG, TAG_GROUP, STATEMENT, MEMBERSHIP, ADDRESS = (
    "tag",
    "tag-group",
    "statement",
    "membership",
    "address",
)

#: ``$expand`` names (lower case) -> the core parts they need.
EXPANSIONS: dict[str, frozenset[str]] = {
    "tags": frozenset({TAGS}),
    "alltags": frozenset({TAGS}),
    "tagsbygroup": frozenset({TAGS}),
    "alltagsbygroup": frozenset({TAGS}),
    "agreedstatements": frozenset({CONSENTS}),
    "allstatements": frozenset({CONSENTS}),
    "addresses": frozenset(),
    "subscriptions": frozenset({SUBSCRIPTIONS}),
    "orders": frozenset(),
    "storedcards": frozenset(),
    "printathomedocuments": frozenset(),
}
_NEEDS_CATALOGUE = frozenset({"alltags", "tagsbygroup", "alltagsbygroup", "allstatements"})


# --- ids ------------------------------------------------------------------------------------


def customer_id(code: str) -> int:
    key = parse_customer_code(code)
    if key is None:
        raise NotFound("Customer", code)
    return key


def resource_id(kind: str, code: str, label: str) -> int:
    """A path id: malformed or foreign ids are simply not found."""
    key = parse_resource_code(kind, code)
    if key is None:
        raise NotFound(label, code)
    return key


def body_ids(kind: str, codes: list[str], field: str) -> tuple[int, ...]:
    """Ids sent in a body: a malformed one is a 400 naming it."""
    out = []
    for code in codes:
        key = parse_resource_code(kind, code)
        if key is None:
            raise InvalidInput(field, f"unknown id {code!r}")
        out.append(key)
    return tuple(out)


def body_ids_or_missing(kind: str, codes: list[str], label: str) -> tuple[int, ...]:
    """Ids sent to a sub-resource: one that is not ours is not found (404)."""
    return tuple(resource_id(kind, code, label) for code in codes)


# --- requests -------------------------------------------------------------------------------


def birth_date(text: str | None) -> date | None:
    if text is None or text.strip() == "":
        return None
    value = text.strip()
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError as exc:
        raise InvalidInput("birthDate", "a date (YYYY-MM-DD or ISO 8601)") from exc


def expand(value: str | None) -> frozenset[str]:
    if not value:
        return frozenset()
    names: set[str] = set()
    for item in value.split(","):
        name = item.strip().split("/", 1)[0].lower()
        if not name:
            continue
        if name not in EXPANSIONS:
            raise InvalidInput("$expand", f"unknown collection {item.strip()!r}")
        names.add(name)
    return frozenset(names)


def parts_for(expansions: frozenset[str]) -> frozenset[str]:
    return (
        frozenset().union(*(EXPANSIONS[name] for name in expansions)) if expansions else frozenset()
    )


def needs_catalogue(expansions: frozenset[str]) -> bool:
    return bool(expansions & _NEEDS_CATALOGUE)


def _address(a: s.NewCustomerAddress) -> c.NewAddress:
    return c.NewAddress(
        is_billing=a.is_billing,
        is_delivery=a.is_delivery,
        name=a.name,
        line1=a.line1,
        line2=a.line2,
        line3=a.line3,
        line4=a.line4,
        line5=a.line5,
        town=a.town,
        postcode=a.postcode,
        country=a.country,
        administrative_division=a.administrative_division,
    )


def new_address(data: dict[str, Any]) -> c.NewAddress:
    return _address(s.validate(s.NewCustomerAddress, data))


def address_patch(data: dict[str, Any]) -> c.AddressPatch:
    patch = s.validate(s.AddressPatch, data)
    sent = patch.model_fields_set
    values: dict[str, Any] = {}
    for name in sent:
        value = getattr(patch, name)
        if name in ("is_billing", "is_delivery") and value is None:
            raise InvalidInput(to_camel(name), "true or false")
        values[name] = value
    return c.AddressPatch(**values)


def new_customer(data: dict[str, Any]) -> c.NewCustomer:
    plain, attributes = s.split_attributes(data)
    body = s.validate(s.NewCustomer, plain)
    return c.NewCustomer(
        first_name=body.first_name,
        last_name=body.last_name,
        email=body.email,
        title=body.title or "",
        phone=body.phone,
        mobile=body.mobile,
        birth_date=birth_date(body.birth_date),
        friendly_id=body.friendly_id,
        password=body.password or None,
        addresses=tuple(_address(a) for a in body.addresses),
        tag_ids=body_ids(TAG, s.id_list(body.tags), "tags"),
        statement_ids=body_ids(STATEMENT, s.id_list(body.agreed_statements), "agreedStatements"),
        attributes=attributes,
    )


_PATCHABLE = ("title", "first_name", "last_name", "email", "phone", "mobile", "friendly_id")


def customer_patch(data: dict[str, Any]) -> c.CustomerPatch:
    plain, attributes = s.split_attributes(data)
    body = s.validate(s.CustomerPatch, plain)
    sent = body.model_fields_set
    values: dict[str, Any] = {name: getattr(body, name) for name in _PATCHABLE if name in sent}
    if "title" in values and values["title"] is None:
        values["title"] = ""
    for required in ("first_name", "last_name", "email"):
        if required in values and values[required] is None:
            raise InvalidInput(to_camel(required), "required")
    if "birth_date" in sent:
        values["birth_date"] = birth_date(body.birth_date)
    return c.CustomerPatch(**values, attributes=attributes)


def email_address(value: str) -> str:
    """The address a password-reset link is asked for (``emailAddress``), required."""
    if not value.strip():
        raise InvalidInput("emailAddress", "required")
    return value


# --- responses ------------------------------------------------------------------------------


def _datetime_text(value: date | None) -> str | None:
    """Dates as the vendor's .NET ``DateTime``: ``1990-01-31T00:00:00``."""
    return None if value is None else f"{value.isoformat()}T00:00:00"


def _money(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def tag(view: TagView) -> dict[str, Any]:
    return {"id": resource_code(TAG, view.id), "name": view.name}


def tag_group(view: TagGroupView, tags: tuple[TagView, ...] | None = None) -> dict[str, Any]:
    return {
        "id": resource_code(TAG_GROUP, view.id),
        "name": view.name,
        "description": view.description,
        "tags": [tag(t) for t in (view.tags if tags is None else tags)],
    }


def statement(view: StatementView) -> dict[str, Any]:
    return {"id": resource_code(STATEMENT, view.id), "text": view.text}


def consent(view: ConsentView) -> dict[str, Any]:
    return {"id": resource_code(STATEMENT, view.statement_id), "text": view.text, "agreed": True}


def membership(view: MembershipView) -> dict[str, Any]:
    return {
        "description": view.description,
        "htmlDescription": view.html_description,
        "id": resource_code(MEMBERSHIP, view.id),
        "imageUrl": view.image_url,
        "name": view.name,
        "thumbnailUrl": view.thumbnail_url,
    }


def address(view: AddressView) -> dict[str, Any]:
    return {
        "id": resource_code(ADDRESS, view.id),
        "isBilling": view.is_billing,
        "isDelivery": view.is_delivery,
        "country": view.country,
        "administrativeDivision": view.administrative_division,
        "name": view.name,
        "line1": view.line1,
        "line2": view.line2,
        "line3": view.line3,
        "line4": view.line4,
        "line5": view.line5,
        "town": view.town,
        "postcode": view.postcode,
    }


def country(view: CountryView) -> dict[str, Any]:
    return {
        "isoCode": view.iso_code,
        "name": view.name,
        "postcodeRequired": view.postcode_required,
        "displayPriority": view.display_priority,
        "administrativeDivisions": [],
    }


def subscription(view: SubscriptionView, today: date) -> dict[str, Any]:
    return {
        "autoRenew": view.auto_renew,
        "membership": {"id": resource_code(MEMBERSHIP, view.membership_id)},
        "startDate": _datetime_text(view.start_date),
        "expiryDate": _datetime_text(view.expiry_date),
        # Renewable by hand: not renewing itself, and expiring within 60 days (or lapsed).
        "canRenew": not view.auto_renew and view.expiry_date <= today + timedelta(days=60),
    }


def customer(
    view: CustomerView,
    expansions: frozenset[str] = frozenset(),
    catalogue: CatalogueView | None = None,
    *,
    today: date,
) -> dict[str, Any]:
    """The Customer resource: the documented keys in the documented order."""
    x = expansions
    own_tags = {t.id for t in view.tags}
    agreed = {cv.statement_id for cv in view.consents}
    groups = catalogue.tag_groups if catalogue is not None else ()
    out: dict[str, Any] = {"age": age_on(view.birth_date, today)}
    if "allstatements" in x and catalogue is not None:
        out["allStatements"] = [
            {**statement(st), "agreed": st.id in agreed} for st in catalogue.statements
        ]
    if "agreedstatements" in x:
        out["agreedStatements"] = [consent(cv) for cv in view.consents]
    if "addresses" in x:
        out["addresses"] = [address(a) for a in view.addresses]
    billing, delivery = view.billing_address, view.delivery_address
    out["billingAddress"] = billing_out = address(billing) if billing else None
    if delivery is billing and billing_out is not None:  # the usual one address: mapped once
        out["deliveryAddress"] = dict(billing_out)
    else:
        out["deliveryAddress"] = address(delivery) if delivery else None
    out["birthDate"] = _datetime_text(view.birth_date)
    out["email"] = view.email
    out["firstName"] = view.first_name
    out["lastName"] = view.last_name
    out["mobile"] = view.mobile
    out["name"] = full_name(view.first_name, view.last_name)
    out["phone"] = view.phone
    if "alltagsbygroup" in x:
        out["allTagsByGroup"] = [
            {
                **tag_group(g, ()),
                "tags": [{**tag(t), "selected": t.id in own_tags} for t in g.tags],
            }
            for g in groups
        ]
    if "tagsbygroup" in x:
        out["tagsByGroup"] = [
            tag_group(g, tuple(t for t in g.tags if t.id in own_tags))
            for g in groups
            if any(t.id in own_tags for t in g.tags)
        ]
    if "tags" in x:
        out["tags"] = [tag(t) for t in view.tags]
    if "alltags" in x:
        out["allTags"] = [{**tag(t), "selected": t.id in own_tags} for g in groups for t in g.tags]
    if "printathomedocuments" in x:
        out["printAtHomeDocuments"] = []
    out["title"] = view.title
    out["passwordSet"] = view.password_set
    out["giftAidDeclarationRequired"] = False
    if "subscriptions" in x:
        out["subscriptions"] = [subscription(sv, today) for sv in view.subscriptions]
    if "orders" in x:
        out["orders"] = []
    if "storedcards" in x:
        out["storedCards"] = []
    out["id"] = customer_code(view.id)
    for value in view.attributes:
        out[f"attribute_{pascal_case(value.attribute.name)}"] = value.value
    out["creditBalance"] = _money(view.credit_balance)
    return out
