"""Every domain error has an entry in every dialect's error table."""

from __future__ import annotations

import pytest

from boxoffice.api.brandchannel import errors as brandchannel_errors
from boxoffice.api.carecloud import errors as carecloud_errors
from boxoffice.api.spektrix import errors as spektrix_errors
from boxoffice.domain import errors as e

SAMPLES: dict[type[e.DomainError], e.DomainError] = {
    e.NotFound: e.NotFound("Customer", 1),
    e.AlreadyExists: e.AlreadyExists("Customer", "a@b.c"),
    e.InvalidInput: e.InvalidInput("email", "required"),
    e.Conflict: e.Conflict("busy"),
    e.NotAvailable: e.NotAvailable("seat", 7, e.SEAT_TAKEN),
    e.PaymentRequired: e.PaymentRequired("35.00"),
    e.MembershipHeld: e.MembershipHeld(3),
    e.PermissionDenied: e.PermissionDenied(),
    e.Unauthenticated: e.Unauthenticated("bad signature"),
    e.RateLimited: e.RateLimited(30),
    e.Unavailable: e.Unavailable("mail relay down"),
}
TABLES = {
    "spektrix": spektrix_errors.ERROR_TABLE,
    "brandchannel": brandchannel_errors.ERROR_TABLE,
    "carecloud": carecloud_errors.ERROR_TABLE,
}


def test_samples_cover_every_error() -> None:
    assert set(SAMPLES) == set(e.ALL_ERRORS)


@pytest.mark.parametrize("dialect", sorted(TABLES))
@pytest.mark.parametrize("error", e.ALL_ERRORS, ids=lambda t: t.__name__)
def test_every_error_is_mapped(dialect: str, error: type[e.DomainError]) -> None:
    table = TABLES[dialect]
    assert error in table, f"{dialect} has no entry for {error.__name__}"
    response = table[error](SAMPLES[error])
    # Only an outage of something we depend on is a 5xx (503, with Retry-After; 502 where the
    # dependency is a gateway the caller configured, as the brand/channel CRM).
    expected = range(502, 504) if error is e.Unavailable else range(400, 500)
    assert response.status_code in expected


def test_spektrix_error_bodies() -> None:
    table = spektrix_errors.ERROR_TABLE
    assert table[e.AlreadyExists](SAMPLES[e.AlreadyExists]).body == (
        b'{"resourceType":"Customer","resourceIdentifiers":["a@b.c"],"errorCode":3,'
        b'"message":"Duplicate Entry"}'
    )
    unauthenticated = table[e.Unauthenticated](SAMPLES[e.Unauthenticated])
    assert unauthenticated.status_code == 401
    assert b"bad signature" not in unauthenticated.body  # the reason is for logs only
    limited = table[e.RateLimited](SAMPLES[e.RateLimited])
    assert limited.status_code == 429 and limited.headers["retry-after"] == "30"


def test_brandchannel_error_bodies() -> None:
    table = brandchannel_errors.ERROR_TABLE
    for error, sample in SAMPLES.items():
        body = table[error](sample).body
        assert body.startswith(b'{"message":') and body.endswith(b',"type":"error"}'), body
    invalid = table[e.InvalidInput](SAMPLES[e.InvalidInput])
    assert (invalid.status_code, invalid.body) == (
        400,
        b'{"message":"email: required","type":"error"}',
    )
    unauthenticated = table[e.Unauthenticated](SAMPLES[e.Unauthenticated])
    assert unauthenticated.status_code == 401
    assert b"bad signature" not in unauthenticated.body  # the reason is for logs only
    assert table[e.AlreadyExists](SAMPLES[e.AlreadyExists]).status_code == 409
    assert table[e.PermissionDenied](SAMPLES[e.PermissionDenied]).status_code == 403
    gateway = table[e.Unavailable](SAMPLES[e.Unavailable])
    assert gateway.status_code == 502 and gateway.headers["retry-after"] == "60"


def test_carecloud_error_bodies() -> None:
    import orjson

    table = carecloud_errors.ERROR_TABLE
    for error, sample in SAMPLES.items():
        body = orjson.loads(table[error](sample).body)["error"]
        assert set(body) == {"type", "exception", "title", "detail", "error_data"}, error
    duplicate = orjson.loads(table[e.AlreadyExists](SAMPLES[e.AlreadyExists]).body)["error"]
    assert duplicate["error_data"]["invalid_params"] == [
        {
            "name": "email",
            "reason": "already_exists",
            "value": "a@b.c",
            "message": "The value is taken.",
        }
    ]
    missing = orjson.loads(table[e.NotFound](SAMPLES[e.NotFound]).body)["error"]
    assert missing["error_data"]["resource_name"] == "customers"
    assert missing["error_data"]["resource_id"] not in ("1", "")  # the public id, not the key
    unauthenticated = table[e.Unauthenticated](SAMPLES[e.Unauthenticated])
    assert unauthenticated.status_code == 401 and b"bad signature" not in unauthenticated.body
    limited = table[e.RateLimited](SAMPLES[e.RateLimited])
    assert limited.status_code == 429 and limited.headers["retry-after"] == "30"


def test_spektrix_booking_refusals() -> None:
    """Refusals of a basket: 409 with the vendor's errorCode where it is known (11, 18) and
    ours from 1001 otherwise (decision 0125)."""
    table = spektrix_errors.ERROR_TABLE
    taken = table[e.NotAvailable](SAMPLES[e.NotAvailable])
    assert taken.status_code == 409
    assert taken.body == b'{"message":"That seat is no longer available.","errorCode":1001}'
    payment = table[e.PaymentRequired](SAMPLES[e.PaymentRequired])
    assert (payment.status_code, b'"errorCode":11' in payment.body) == (409, True)
    held = table[e.MembershipHeld](SAMPLES[e.MembershipHeld])
    assert (held.status_code, b'"errorCode":18' in held.body) == (409, True)
    best = table[e.NotAvailable](e.NotAvailable("instance", 1, e.NO_BEST_AVAILABLE))
    assert b"Best Available Seats not possible for this event instance" in best.body
