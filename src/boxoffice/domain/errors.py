"""Domain errors. They carry no HTTP status: each dialect maps them in its ``errors.py``.

::

    DomainError
     ├── NotFound(kind, key)          a record that does not exist, or belongs to another tenant
     ├── AlreadyExists(kind, key)     a unique value already taken (e.g. a customer's email)
     ├── InvalidInput(field, reason)  a value that breaks a rule
     ├── Conflict(reason)             a state that does not allow the change
     │    ├── NotAvailable(kind, key, reason)  a seat, place or item that cannot be had
     │    ├── PaymentRequired(outstanding)     a basket that still owes money
     │    └── MembershipHeld(membership_id)    a membership the customer holds already
     ├── PermissionDenied(reason)     a known caller without the right
     ├── Unauthenticated(reason)      no caller, or credentials that do not verify
     ├── RateLimited(retry_after)     too many requests; try again later
     └── Unavailable(retry_after)     a service we depend on (mail relay...) failed; try later
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class of every error the core raises on purpose."""


class NotFound(DomainError):
    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class AlreadyExists(DomainError):
    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} already exists")
        self.kind = kind
        self.key = key


#: Reasons a value is refused for, in the core's words; each dialect says them its vendor's way
#: (CareCloud's reason codes, for one). Any other reason is a plain sentence ("at most 200
#: characters").
REQUIRED = "required"
UNKNOWN = "unknown"  # names nothing the tenant has
NOT_ALLOWED = "not allowed"  # a value outside the allowed set
BAD_FORMAT = "bad format"
TAKEN = "already taken"  # another record has it
ALREADY_LINKED = "already linked"  # the link exists already


class InvalidInput(DomainError):
    """A value that breaks a rule: ``field`` in the core's words (``birth_date``,
    ``attribute:<name>``...), ``reason`` one of the reasons above or a plain sentence."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Conflict(DomainError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: Reasons something cannot be put in a basket (:class:`NotAvailable`).
SEAT_TAKEN = "seat taken"  # held by another basket, sold, locked or reserved
SOLD_OUT = "sold out"  # too few places (or seats together) left
OFF_SALE = "off sale"  # outside the sale window, or the event or instance is not on sale
CANCELLED = "cancelled"  # the instance is cancelled
STOCK_EXHAUSTED = "stock exhausted"  # too few units of a stock item left
TOO_MANY = "too many"  # more than a basket may hold
NO_BEST_AVAILABLE = "best available not possible"  # an unreserved area, or no seats that way


class NotAvailable(Conflict):
    """``kind`` (``seat``, ``area``, ``instance``, ``stock item``, ``basket``) ``key`` cannot be
    had, for ``reason`` (one of the reasons above). Nothing was changed."""

    def __init__(self, kind: str, key: object, reason: str) -> None:
        super().__init__(f"{kind} {key!r}: {reason}")
        self.kind = kind
        self.key = key
        self.reason = reason


class PaymentRequired(Conflict):
    """A System Owner basket confirmed before its payments cover its total."""

    def __init__(self, outstanding: object) -> None:
        super().__init__(f"payment required: {outstanding} outstanding")
        self.outstanding = outstanding


class MembershipHeld(Conflict):
    """The customer holds the membership already, outside its renewal window."""

    def __init__(self, membership_id: int) -> None:
        super().__init__(f"membership {membership_id!r} is held already")
        self.membership_id = membership_id


class PermissionDenied(DomainError):
    def __init__(self, reason: str = "permission denied") -> None:
        super().__init__(reason)
        self.reason = reason


class Unauthenticated(DomainError):
    def __init__(self, reason: str = "not authenticated") -> None:
        super().__init__(reason)
        self.reason = reason


class RateLimited(DomainError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited; retry after {retry_after}s")
        self.retry_after = retry_after


class Unavailable(DomainError):
    def __init__(self, reason: str, retry_after: int = 60) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


ALL_ERRORS: tuple[type[DomainError], ...] = (
    NotFound,
    AlreadyExists,
    InvalidInput,
    Conflict,
    NotAvailable,
    PaymentRequired,
    MembershipHeld,
    PermissionDenied,
    Unauthenticated,
    RateLimited,
    Unavailable,
)
