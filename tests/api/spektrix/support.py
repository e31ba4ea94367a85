"""Shared helpers for the Spektrix System Owner contract tests (no fixtures here)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import select

from boxoffice.bootstrap import Core
from boxoffice.security import signatures
from boxoffice.services import catalogue as catalogue_service
from boxoffice.store.models import Customer
from tests.conftest import Signer

#: What the demo tenant sells (``boxoffice demo`` loads it beside the demo catalogue).
DEMO_BOX_OFFICE = (
    Path(__file__).resolve().parents[3] / "src" / "boxoffice" / "catalogs" / "demo_box_office.yaml"
)


async def load_box_office(core: Core, tenant: str) -> None:
    """Give ``tenant`` the demo box office (venue, plans, events dated from today...)."""
    data = yaml.safe_load(DEMO_BOX_OFFICE.read_text(encoding="utf-8"))
    await catalogue_service.load_catalogue(core, tenant, data)


CUSTOMER_ID = re.compile(r"^I-[0-9A-Z]{4}-[0-9A-Z]{4}$")
RESOURCE_ID = re.compile(r"^[1-9][0-9]*A[A-Z]+$")
RESOURCE_ID_LENGTH = 33

#: The Customer resource without ``$expand``, in the documented order. The ``attribute_*``
#: keys sit between ``id`` and ``creditBalance``.
DEFAULT_KEYS = [
    "age",
    "billingAddress",
    "deliveryAddress",
    "birthDate",
    "email",
    "firstName",
    "lastName",
    "mobile",
    "name",
    "phone",
    "title",
    "passwordSet",
    "giftAidDeclarationRequired",
    "id",
]
#: Every key in schema order, with every collection expanded.
SCHEMA_ORDER = [
    "age",
    "allStatements",
    "agreedStatements",
    "addresses",
    "billingAddress",
    "deliveryAddress",
    "birthDate",
    "email",
    "firstName",
    "lastName",
    "mobile",
    "name",
    "phone",
    "allTagsByGroup",
    "tagsByGroup",
    "tags",
    "allTags",
    "printAtHomeDocuments",
    "title",
    "passwordSet",
    "giftAidDeclarationRequired",
    "subscriptions",
    "orders",
    "storedCards",
    "id",
    "creditBalance",
]
COLLECTIONS = [k for k in SCHEMA_ORDER if k not in DEFAULT_KEYS and k != "creditBalance"]
#: The demo catalogue's attributes as a System Owner sees them (hidden ones included).
OWNER_ATTRIBUTES = [
    "attribute_FavouriteGenre",
    "attribute_AccessRequirements",
    "attribute_HeardAboutUs",
    "attribute_Testfield",
]
ADDRESS_KEYS = [
    "id",
    "isBilling",
    "isDelivery",
    "country",
    "administrativeDivision",
    "name",
    "line1",
    "line2",
    "line3",
    "line4",
    "line5",
    "town",
    "postcode",
]
UNAUTHORIZED = {"message": "Authorization has been denied for this request."}


def unique_email(prefix: str = "ada") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}@example.org"


def customer_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": unique_email(),
    }
    body.update(fields)
    return body


async def create(api: Signer, path: str = "customers", **fields: Any) -> dict[str, Any]:
    """Create a customer through the API and return the response body (asserting 200)."""
    response = await api.post(path, customer_body(**fields))
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def attribute_keys(customer: dict[str, Any]) -> list[str]:
    return [k for k in customer if k.startswith("attribute_")]


def non_attribute_keys(customer: dict[str, Any]) -> list[str]:
    return [k for k in customer if not k.startswith("attribute_")]


def assert_error(response: httpx.Response, status: int, *fragments: str) -> dict[str, Any]:
    """A JSON error body with a ``message`` mentioning every fragment (case-insensitive)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert isinstance(body, dict)
    assert isinstance(body.get("message"), str) and body["message"]
    for fragment in fragments:
        assert fragment.lower() in body["message"].lower(), body
    return body


def duplicate_body(email: str) -> dict[str, Any]:
    return {
        "resourceType": "Customer",
        "resourceIdentifiers": [email],
        "errorCode": 3,
        "message": "Duplicate Entry",
    }


def age_on(birth: date, today: date) -> int:
    years = today.year - birth.year
    if (today.month, today.day) < (birth.month, birth.day):
        years -= 1
    return years


def utc_today() -> date:
    return datetime.now(UTC).date()


def http_date(offset_seconds: float = 0) -> str:
    return formatdate(datetime.now(UTC).timestamp() + offset_seconds, usegmt=True)


def signed_headers(
    secret: str,
    login: str,
    method: str,
    url: str,
    body: bytes | None,
    *,
    date: str | None = None,
) -> dict[str, str]:
    """Headers for a request signed over ``url`` (``body`` None: the 3-line form)."""
    date = date or http_date()
    signature = signatures.sign(secret, method, url, date, body)
    return {"Date": date, "Authorization": signatures.authorization_header(login, signature)}


async def customer_count(core: Core, tenant_id: int) -> int:
    async with core.uow(tenant_id) as uow:
        return len((await uow.session.execute(select(Customer.id))).all())
