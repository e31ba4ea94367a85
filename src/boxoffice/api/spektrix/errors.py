"""One table: domain error -> Spektrix status and body. Registered once, in ``app.py``.

Spektrix is an ASP.NET Web API service; its bodies are camelCase JSON with a ``message``. The
duplicate-customer body is the one clients test for (``"message": "Duplicate Entry"``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic.alias_generators import to_camel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from boxoffice.api.common.limits import PayloadTooLarge
from boxoffice.api.common.responses import JSON
from boxoffice.domain import errors as e
from boxoffice.domain.rules import ATTRIBUTE_FIELD_PREFIX

UNAUTHORIZED = "Authorization has been denied for this request."


def _body(status: int, message: str, **extra: Any) -> JSON:
    return JSON({"message": message, **extra}, status_code=status)


def _not_found(exc: e.NotFound) -> JSON:
    """``Instance not found``: the kind capitalised, as every service names it or not."""
    kind = exc.kind[:1].upper() + exc.kind[1:]
    return _body(404, f"{kind} not found")


def _already_exists(exc: e.AlreadyExists) -> JSON:
    return JSON(
        {
            "resourceType": exc.kind,
            "resourceIdentifiers": [str(exc.key)],
            "errorCode": 3,
            "message": "Duplicate Entry",
        },
        status_code=400,
    )


#: Core field names the vendor names otherwise (beyond camelCase).
FIELD_NAMES = {"statements": "agreedStatements"}
#: A field named with this prefix is already in the vendor's words (a query parameter as the
#: client sent it: ``instanceStart_from``, ``start_from``), shown without it.
AS_SENT = "as-sent:"


def wire_field(field: str) -> str:
    """Core field names in the vendor's words: ``first_name`` -> ``firstName``,
    ``attribute:Favourite Genre`` -> ``Attribute_Favourite Genre``."""
    if field.startswith(AS_SENT):
        return field.removeprefix(AS_SENT)
    if field.startswith(ATTRIBUTE_FIELD_PREFIX):
        return f"Attribute_{field.removeprefix(ATTRIBUTE_FIELD_PREFIX)}"
    if field in FIELD_NAMES:
        return FIELD_NAMES[field]
    return ".".join(to_camel(part) if "_" in part else part for part in field.split("."))


def _invalid(exc: e.InvalidInput) -> JSON:
    field = wire_field(exc.field)
    return _body(400, f"{field}: {exc.reason}", modelState={field: [exc.reason]})


def _rate_limited(exc: e.RateLimited) -> JSON:
    response = _body(429, "Too many requests; try again later.")
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _unavailable(exc: e.Unavailable) -> JSON:
    response = _body(503, "The service is temporarily unavailable; try again later.")
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


#: ``errorCode`` of a basket's refusals. 11 and 18 are the vendor's (documented); the vendor's
#: codes for the others are unknown, so ours are numbered apart from theirs (1001...).
PAYMENT_REQUIRED = 11
MEMBERSHIP_HELD = 18
NOT_AVAILABLE_CODES: dict[str, tuple[int, str]] = {
    e.SEAT_TAKEN: (1001, "That seat is no longer available."),
    e.SOLD_OUT: (1002, "There are not enough places left."),
    e.OFF_SALE: (1003, "This is not on sale."),
    e.CANCELLED: (1004, "This performance has been cancelled."),
    e.STOCK_EXHAUSTED: (1005, "There is not enough of this item left."),
    e.TOO_MANY: (1006, "The basket cannot hold that many items."),
    e.NO_BEST_AVAILABLE: (1007, "Best Available Seats not possible for this event instance"),
}


def _not_available(exc: e.NotAvailable) -> JSON:
    code, message = NOT_AVAILABLE_CODES.get(exc.reason, (1000, "This is not available."))
    return _body(409, message, errorCode=code)


def _payment_required(exc: e.PaymentRequired) -> JSON:
    return _body(409, "The basket requires payment to complete.", errorCode=PAYMENT_REQUIRED)


def _membership_held(exc: e.MembershipHeld) -> JSON:
    return _body(
        409,
        "The customer already holds this membership outside its renewal period.",
        errorCode=MEMBERSHIP_HELD,
    )


ERROR_TABLE: dict[type[e.DomainError], Callable[[Any], JSON]] = {
    e.NotFound: _not_found,
    e.AlreadyExists: _already_exists,
    e.InvalidInput: _invalid,
    e.Conflict: lambda exc: _body(409, exc.reason),
    e.NotAvailable: _not_available,
    e.PaymentRequired: _payment_required,
    e.MembershipHeld: _membership_held,
    e.PermissionDenied: lambda exc: _body(403, "You do not have permission to do this."),
    e.Unauthenticated: lambda exc: _body(401, UNAUTHORIZED),
    e.RateLimited: _rate_limited,
    e.Unavailable: _unavailable,
}


def payload_too_large(limit: int) -> Response:
    return _body(413, f"The request body is larger than the limit of {limit} bytes.")


def forbidden(message: str) -> Response:
    return _body(403, message)


def add_exception_handlers(app: FastAPI) -> None:
    async def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, e.DomainError)
        return ERROR_TABLE[type(exc)](exc)

    for error_type in ERROR_TABLE:
        app.add_exception_handler(error_type, domain_error)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "path"))
        return _invalid(e.InvalidInput(field or "request", str(first["msg"])))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return _body(
                404, f"No HTTP resource was found that matches the request URI '{request.url}'."
            )
        if exc.status_code == 405:
            return _body(
                405, f"The requested resource does not support http method '{request.method}'."
            )
        return _body(exc.status_code, str(exc.detail))

    async def too_large(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PayloadTooLarge)
        return payload_too_large(exc.limit)

    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(PayloadTooLarge, too_large)
