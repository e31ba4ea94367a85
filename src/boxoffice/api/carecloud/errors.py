"""One table: domain error -> CareCloud status and body. Registered once, in ``app.py``.

Every error body is the vendor's ``{"error": {type, exception, title, detail, error_data}}``.
A 400 lists ``error_data.invalid_params[{name, reason, value, message}]`` with the documented
reason codes; a 404 names ``resource_name`` and ``resource_id``; a 405 the ``http_method``.
The vendor documents no exception names for 401, 403, 404, 405, 429 and 503; ours are in
docs/carecloud.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from boxoffice.api.carecloud import mappers as m
from boxoffice.api.carecloud.schemas import InvalidParams, param, validation_params
from boxoffice.api.common.limits import PayloadTooLarge
from boxoffice.api.common.responses import JSON
from boxoffice.domain import errors as e
from boxoffice.domain.rules import ATTRIBUTE_FIELD_PREFIX

TITLES = {
    400: ("bad_request_exception", "Bad request"),
    401: ("unauthorized_exception", "Unauthorized"),
    403: ("forbidden_exception", "Forbidden"),
    404: ("not_found_exception", "Not found"),
    405: ("method_not_allowed_exception", "Method not allowed"),
    413: ("payload_too_large_exception", "Payload too large"),
    429: ("too_many_requests_exception", "Too many requests"),
    500: ("error_exception", "Internal server error"),
    503: ("service_unavailable_exception", "Service unavailable"),
}
#: The vendor's reason codes; any other reason is reported as ``invalid_value_format``.
REASONS = frozenset(
    {
        "already_exists",
        "empty",
        "not_found",
        "required",
        "not_allowed_value",
        "invalid_value_format",
        "relation_already_exists",
        "not_belong_to_logged_in_customer",
        "deleted",
    }
)
#: Core field names -> the vendor's.
FIELD_NAMES = {
    "title": "pre_nominals",
    "mobile": "phone",
    "birth_date": "birthdate",
    "language": "language_id",
    "country": "country_code",
    "postcode": "zip",
    "town": "city",
    "line1": "address1",
    "line2": "address2",
    "line3": "address3",
    "line4": "address4",
    "line5": "address5",
    "administrative_division": "address6",
    "old_password": "current_password",
    "statements": "consents",
}
#: Domain kinds -> (resource name, id kind for the public id).
RESOURCES: dict[str, tuple[str, str | None]] = {
    "Customer": ("customers", m.CUSTOMER),
    "Store": ("stores", m.STORE),
    "Interest": ("interests", m.INTEREST),
    "CustomerSource": ("customer-sources", m.SOURCE),
    "Statement": ("agreements", m.STATEMENT),
    "Reward": ("rewards", m.REWARD),
    "Address": ("addresses", m.ADDRESS),
    "CustomerProperty": ("customer-properties", None),
    "PropertyRecord": ("property-records", None),
    "InterestRecord": ("interest-records", m.INTEREST_RECORD),
    "Token": ("tokens", None),
    "tenant": ("projects", None),
}
#: The field an ``AlreadyExists`` names, by kind.
DUPLICATE_FIELDS = {"Customer": "email", "CustomerSourceRecord": "external_id"}


def error(status: int, detail: str, error_data: dict[str, Any] | None = None) -> JSON:
    exception, title = TITLES[status]
    return JSON(
        {
            "error": {
                "type": "about:blank",
                "exception": exception,
                "title": title,
                "detail": detail,
                "error_data": error_data or {},
            }
        },
        status_code=status,
    )


def bad_request(params: list[dict[str, Any]]) -> JSON:
    detail = "; ".join(f"{p['name']}: {p['reason']}" for p in params[:5]) or "Bad request."
    return error(400, detail, {"invalid_params": params})


def _public_id(kind: str | None, key: object) -> str:
    if isinstance(key, str):
        return key
    if kind is not None and isinstance(key, int):
        return m.encode(kind, key)
    if kind is not None and isinstance(key, tuple) and all(isinstance(k, int) for k in key):
        return m.encode(kind, *key)
    return ""


def _not_found(exc: e.NotFound) -> JSON:
    resource, kind = RESOURCES.get(exc.kind, (exc.kind.lower(), None))
    return error(
        404,
        f"The resource {resource!r} was not found.",
        {"resource_name": resource, "resource_id": _public_id(kind, exc.key)},
    )


def _already_exists(exc: e.AlreadyExists) -> JSON:
    name = DUPLICATE_FIELDS.get(exc.kind, "id")
    return bad_request([param(name, "already_exists", str(exc.key), "The value is taken.")])


def wire_field(field: str) -> str:
    """Core field names in the vendor's words: ``birth_date`` -> ``birthdate``; an attribute's
    value is a customer property's (``property_value``)."""
    if field.startswith(ATTRIBUTE_FIELD_PREFIX):
        return "property_value"
    head, _, rest = field.partition(".")
    return FIELD_NAMES.get(head, head) + (f".{rest}" if rest else "")


#: The core's reasons -> the vendor's reason codes.
REASON_CODES = {
    e.REQUIRED: "required",
    e.UNKNOWN: "not_found",
    e.NOT_ALLOWED: "not_allowed_value",
    e.BAD_FORMAT: "invalid_value_format",
    e.TAKEN: "already_exists",
    e.ALREADY_LINKED: "relation_already_exists",
}


def reason_code(reason: str) -> str:
    """A reason as the vendor's code: the core's reasons by :data:`REASON_CODES`, a vendor code
    (raised by this dialect's own mappers) as it is, a sentence ``invalid_value_format``."""
    if reason in REASON_CODES:
        return REASON_CODES[reason]
    return reason if reason in REASONS else "invalid_value_format"


def _invalid(exc: e.InvalidInput) -> JSON:
    name = wire_field(exc.field)
    code = reason_code(exc.reason)
    return bad_request([param(name, code, "", code if exc.reason in REASON_CODES else exc.reason)])


def _conflict(exc: e.Conflict) -> JSON:
    return bad_request([param("request", "not_allowed_value", "", exc.reason)])


def _rate_limited(exc: e.RateLimited) -> JSON:
    response = error(429, "Too many requests; try again later.")
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _unavailable(exc: e.Unavailable) -> JSON:
    response = error(503, "The service is temporarily unavailable; try again later.")
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


ERROR_TABLE: dict[type[e.DomainError], Callable[[Any], JSON]] = {
    e.NotFound: _not_found,
    e.AlreadyExists: _already_exists,
    e.InvalidInput: _invalid,
    e.Conflict: _conflict,
    # Baskets are sold through the Spektrix dialect; should one of its refusals reach this
    # dialect, it is the conflict it is.
    e.NotAvailable: _conflict,
    e.PaymentRequired: _conflict,
    e.MembershipHeld: _conflict,
    e.PermissionDenied: lambda exc: error(403, exc.reason),
    e.Unauthenticated: lambda exc: error(401, "Invalid credentials or token."),
    e.RateLimited: _rate_limited,
    e.Unavailable: _unavailable,
}


def payload_too_large(limit: int) -> Response:
    return error(413, f"The request body is larger than the limit of {limit} bytes.")


def forbidden(message: str) -> Response:
    return error(403, message)


def add_exception_handlers(app: FastAPI) -> None:
    async def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, e.DomainError)
        return ERROR_TABLE[type(exc)](exc)

    for error_type in ERROR_TABLE:
        app.add_exception_handler(error_type, domain_error)

    async def invalid_params(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, InvalidParams)
        return bad_request(exc.params)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {**err, "loc": tuple(p for p in err["loc"] if p not in ("query", "path", "header"))}
            for err in exc.errors()
        ]
        return bad_request(validation_params(errors))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return error(
                404, "The resource was not found.", {"resource_name": "", "resource_id": ""}
            )
        if exc.status_code == 405:
            return error(
                405,
                f"The resource does not support the method {request.method}.",
                {"http_method": request.method},
            )
        status = exc.status_code if exc.status_code in TITLES else 400
        return error(status, str(exc.detail))

    async def too_large(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PayloadTooLarge)
        return payload_too_large(exc.limit)

    app.add_exception_handler(InvalidParams, invalid_params)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(PayloadTooLarge, too_large)
