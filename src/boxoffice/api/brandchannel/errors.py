"""One table: domain error -> brand/channel status and body. Registered once, in ``app.py``.

Every error is ``{"message": "<text naming the field or the cause>", "type": "error"}``, the
shape of the vendor's ``{"message", "type": "result"}`` results, so that a client reading those
two keys reads errors too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from boxoffice.api.common.limits import PayloadTooLarge
from boxoffice.api.common.responses import JSON
from boxoffice.domain import errors as e
from boxoffice.domain.rules import ATTRIBUTE_FIELD_PREFIX

UNAUTHORIZED = "A valid apiKey header is required."


def _body(status: int, message: str) -> JSON:
    return JSON({"message": message, "type": "error"}, status_code=status)


def _with_retry_after(response: JSON, seconds: int) -> JSON:
    response.headers["Retry-After"] = str(seconds)
    return response


#: Core field names -> the vendor's.
FIELD_NAMES = {"first_name": "firstname", "last_name": "lastname"}


def wire_field(field: str) -> str:
    """Core field names in the vendor's words: ``first_name`` -> ``firstname``, an
    attribute's value a custom field's (``attribute:testfield`` -> ``custom_testfield``)."""
    if field.startswith(ATTRIBUTE_FIELD_PREFIX):
        return f"custom_{field.removeprefix(ATTRIBUTE_FIELD_PREFIX)}"
    return FIELD_NAMES.get(field, field)


def _wire_reason(field: str, reason: str) -> str:
    if field.startswith(ATTRIBUTE_FIELD_PREFIX):
        return reason.replace("unknown attribute", "unknown custom field", 1)
    return reason


def _invalid(exc: e.InvalidInput) -> JSON:
    return _body(400, f"{wire_field(exc.field)}: {_wire_reason(exc.field, exc.reason)}")


ERROR_TABLE: dict[type[e.DomainError], Callable[[Any], JSON]] = {
    e.NotFound: lambda exc: _body(404, f"{exc.kind} not found."),
    e.AlreadyExists: lambda exc: _body(409, f"{exc.kind} already exists: {exc.key}."),
    e.InvalidInput: _invalid,
    e.Conflict: lambda exc: _body(409, exc.reason),
    e.NotAvailable: lambda exc: _body(409, str(exc)),
    e.PaymentRequired: lambda exc: _body(409, str(exc)),
    e.MembershipHeld: lambda exc: _body(409, str(exc)),
    e.PermissionDenied: lambda exc: _body(403, exc.reason),
    # The reason (unknown key, other tenant...) is for the logs only.
    e.Unauthenticated: lambda exc: _body(401, UNAUTHORIZED),
    e.RateLimited: lambda exc: _with_retry_after(
        _body(429, "Too many requests; try again later."), exc.retry_after
    ),
    # The only service this dialect depends on is the brand's CRM: a bad gateway.
    e.Unavailable: lambda exc: _with_retry_after(_body(502, exc.reason), exc.retry_after),
}


def payload_too_large(limit: int) -> Response:
    return _body(413, f"The request body is larger than the limit of {limit} bytes.")


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
        return _body(400, f"{field or 'request'}: {first['msg']}")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return _body(404, f"No endpoint {request.url.path}.")
        if exc.status_code == 405:
            response = _body(405, f"The endpoint does not support the method {request.method}.")
        else:
            response = _body(exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    async def too_large(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PayloadTooLarge)
        return payload_too_large(exc.limit)

    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(PayloadTooLarge, too_large)
