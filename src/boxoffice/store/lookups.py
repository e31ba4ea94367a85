"""Key lookups of the busiest requests: a repository of prebuilt Core statements (decision 0113).

A customer by id or by email, the API user behind a signed request, a web session, a device
token, a CareCloud profile, the tenant's languages: each is a handful of rows read by key.
Through the ORM each statement costs about 200 us of CPU; as a prebuilt SQLAlchemy Core
statement, about 30. :class:`Lookups` runs them through a unit of work (``store/uow.py``),
whose :meth:`~boxoffice.store.uow.Scoped.rows` checks each statement with the tenant guard
(``scoping.check_scoped``: every tenant-owned table filtered by :data:`TENANT_PARAM`) and
binds that parameter to the unit of work's tenant.

A lookup is one statement wherever it can be: a customer with its attributes and addresses
comes as one row, the related rows in a column each (:func:`rows_of`: PostgreSQL's arrays of
records, SQLite's JSON arrays). On PostgreSQL every round trip costs the server CPU on the same
cores (decision 0080); on SQLite each statement costs about 30 us of SQLAlchemy's own work,
several times SQLite's (decision 0114).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from sqlalchemy import ColumnElement, Select, String, bindparam, func, select, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.types import UserDefinedType

from boxoffice.store.models import (
    ApiUser,
    AttributeDefinition,
    ConsentChange,
    Customer,
    CustomerAddress,
    CustomerAttributeValue,
    CustomerConsent,
    CustomerSession,
    DeviceToken,
    InterfaceUser,
    Language,
    Statement,
)
from boxoffice.store.repositories import storable
from boxoffice.store.scoping import TENANT_PARAM, of_tenant

__all__ = [
    "TENANT_PARAM",
    "CustomerRecord",
    "Lookups",
    "ProfileRecord",
    "Scoped",
    "TokenRecord",
    "rows_of",
]


class Scoped(Protocol):
    """What runs a lookup's statements: a unit of work (``store/uow.py``)."""

    @property
    def dialect(self) -> str: ...

    async def rows(
        self, stmt: Select[Any], params: Mapping[str, Any] | None = None
    ) -> Sequence[Any]: ...

    async def first(self, stmt: Select[Any], params: Mapping[str, Any] | None = None) -> Any: ...


class _Rows(UserDefinedType[list[Any]]):
    """The type of :func:`rows_of`'s column: a list of rows of the subquery's columns, each
    value through its column type's own conversion. PostgreSQL sends ``record[]`` (records);
    SQLite, a JSON array of arrays (its values as SQLite stores them: the same conversions
    apply)."""

    #: Its cache key holds its statement, by identity (a prebuilt one: one compilation each).
    cache_ok = True

    def __init__(self, stmt: Select[Any]) -> None:
        self.stmt = stmt

    def get_col_spec(self, **_kw: Any) -> str:
        return "record[]"

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], list[Any]]:
        columns = list(self.stmt.selected_columns)
        row: Callable[..., Any] = namedtuple("row", [c.key for c in columns])  # type: ignore[misc]
        converts = [
            (i, f)
            for i, f in enumerate(
                c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
            )
            if f is not None
        ]
        parse = dialect.name == "sqlite"

        def process(value: Any) -> list[Any]:
            if parse:
                value = orjson.loads(value) if value else ()
            out = []
            for record in value or ():
                values = list(record)
                for i, convert in converts:
                    values[i] = convert(values[i])
                out.append(row(*values))
            return out

        return process


def rows_of(stmt: Select[Any], dialect: str) -> ColumnElement[list[Any]]:
    """The rows of ``stmt`` (usually correlated to the enclosing statement's row, a table of
    which it names in ``correlate``) in one column of it, so that one statement reads a row and
    its related rows; an empty list when there are none. PostgreSQL:
    ``array((SELECT row(<columns>) ...))``; SQLite: ``(SELECT json_group_array(json_array(
    <columns>)) FROM (<stmt>))`` (its rows in the subquery's order). Each ``SELECT`` filters
    its tenant-owned tables itself (``scoping.check_scoped``)."""
    if dialect == "postgresql":
        nested = stmt.with_only_columns(func.row(*stmt.selected_columns))
        return func.array(nested.scalar_subquery(), type_=_Rows(stmt))
    inner = stmt.subquery()
    rows = select(func.json_group_array(func.json_array(*inner.c))).select_from(inner)
    return type_coerce(rows.scalar_subquery(), _Rows(stmt))


# --- statements ------------------------------------------------------------------------------

_customers = Customer.__table__
_definitions = AttributeDefinition.__table__
_ATTRIBUTES = (
    select(_definitions)
    .where(of_tenant(AttributeDefinition))
    .order_by(_definitions.c.position, _definitions.c.id)
)
_values = CustomerAttributeValue.__table__
_addresses = CustomerAddress.__table__
_VALUES_OF_ROW = (
    select(_values.c.attribute_id, _values.c.value)
    .where(of_tenant(CustomerAttributeValue, Customer), _values.c.customer_id == _customers.c.id)
    .correlate(_customers)
)
_ADDRESSES_OF_ROW = (
    select(_addresses)
    .where(of_tenant(CustomerAddress, Customer), _addresses.c.customer_id == _customers.c.id)
    .order_by(_addresses.c.created_at, _addresses.c.id)
    .correlate(_customers)
)
_api_users = ApiUser.__table__
_API_USER = select(_api_users.c.secret_encrypted, _api_users.c.disabled).where(
    of_tenant(ApiUser), _api_users.c.login == bindparam("login")
)
_CUSTOMER_COLUMNS = len(_customers.c)
_CustomerRow: Callable[..., Any] = namedtuple(  # type: ignore[misc]
    "row", [c.key for c in _customers.c]
)

_sessions = CustomerSession.__table__
_SESSION = select(_sessions.c.customer_id, _sessions.c.last_seen_at, _sessions.c.expires_at).where(
    of_tenant(CustomerSession), _sessions.c.token_hash == bindparam("hash")
)

# The token with its user's and customer's state in one statement (decision 0080).
_tokens = DeviceToken.__table__
_interface_users = InterfaceUser.__table__
_TOKEN = select(
    _tokens,
    select(_interface_users.c.disabled)
    .where(
        of_tenant(InterfaceUser, DeviceToken),
        _interface_users.c.user_name
        == func.coalesce(bindparam("user", type_=String), _tokens.c.user_name),
    )
    .scalar_subquery()
    .label("whole_user_disabled"),
    select(_customers.c.id)
    .where(
        of_tenant(Customer, DeviceToken),
        _customers.c.id == _tokens.c.customer_id,
        _customers.c.state == "active",
    )
    .scalar_subquery()
    .label("whole_active_customer"),
).where(of_tenant(DeviceToken), _tokens.c.token_hash == bindparam("hash"))
_TOKEN_COLUMNS = len(_tokens.c)
_TokenRow: Callable[..., Any] = namedtuple("row", [c.key for c in _tokens.c])  # type: ignore[misc]

_consents = CustomerConsent.__table__
_changes = ConsentChange.__table__
_statements = Statement.__table__
_STATEMENTS = (
    select(_statements.c.id, _statements.c.code)
    .where(of_tenant(Statement))
    .order_by(_statements.c.position, _statements.c.id)
)
_languages = Language.__table__
_LANGUAGES = (
    select(_languages.c.code, _languages.c.is_default)
    .where(of_tenant(Language))
    .order_by(_languages.c.tenant_id, _languages.c.code)
)
_CONSENTS_OF_ROW = (
    select(_consents.c.statement_id, _consents.c.agreed_at)
    .where(of_tenant(CustomerConsent, Customer), _consents.c.customer_id == _customers.c.id)
    .order_by(_consents.c.agreed_at, _consents.c.statement_id)
    .correlate(_customers)
)
_CONSENT_CHANGES_OF_ROW = (
    select(_changes.c.statement_id, _changes.c.occurred_at)
    .where(of_tenant(ConsentChange, Customer), _changes.c.customer_id == _customers.c.id)
    .order_by(_changes.c.occurred_at, _changes.c.id)
    .correlate(_customers)
)


@dataclass(frozen=True)
class _Statements:
    """The prebuilt statements of one dialect (:func:`rows_of` differs)."""

    customer_by_id: Select[Any]
    customer_by_email_key: Select[Any]
    profile_by_id: Select[Any]


def _statements_for(dialect: str) -> _Statements:
    whole = (
        rows_of(_ATTRIBUTES, dialect).label("whole_attributes"),
        rows_of(_VALUES_OF_ROW, dialect).label("whole_values"),
        rows_of(_ADDRESSES_OF_ROW, dialect).label("whole_addresses"),
    )
    by_id = select(_customers, *whole).where(
        of_tenant(Customer), _customers.c.id == bindparam("key"), _customers.c.state == "active"
    )
    by_email_key = select(_customers, *whole).where(
        of_tenant(Customer),
        _customers.c.email_key == bindparam("email_key"),
        _customers.c.state == "active",
    )
    profile = by_id.add_columns(
        rows_of(_CONSENTS_OF_ROW, dialect).label("whole_consents"),
        rows_of(_CONSENT_CHANGES_OF_ROW, dialect).label("whole_changes"),
        rows_of(_STATEMENTS, dialect).label("whole_statements"),
        rows_of(_LANGUAGES, dialect).label("whole_languages"),
    )
    return _Statements(by_id, by_email_key, profile)


_DIALECTS = {name: _statements_for(name) for name in ("postgresql", "sqlite")}


# --- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerRecord:
    """A customer's row with what every view of it shows: the tenant's attribute definitions,
    the customer's attribute values and addresses (rows with the columns' names)."""

    customer: Any
    attributes: Sequence[Any]
    values: Sequence[Any]
    addresses: Sequence[Any]


@dataclass(frozen=True)
class TokenRecord:
    """A device token's row, whether the interface user checked (the one named, else the
    token's own) exists and is enabled (False when there is none to check), and whether the
    customer logged in on the token is still an active customer."""

    token: Any
    user_usable: bool
    customer_active: bool


@dataclass(frozen=True)
class ProfileRecord:
    """A customer with what a CareCloud profile shows besides: agreed statements, the
    history of consent changes and the tenant's statements, and the tenant's languages to
    answer in (rows with the columns' names)."""

    record: CustomerRecord
    consents: Sequence[Any]
    changes: Sequence[Any]
    statements: Sequence[Any]
    languages: Sequence[Any]


def _whole_record(row: Any | None) -> CustomerRecord | None:
    if row is None:
        return None
    customer = _CustomerRow(*row[:_CUSTOMER_COLUMNS])
    return CustomerRecord(customer, row.whole_attributes, row.whole_values, row.whole_addresses)


# --- the repository --------------------------------------------------------------------------


class Lookups:
    """The key lookups, run by a unit of work bound to one tenant (``uow.lookups``)."""

    def __init__(self, scoped: Scoped) -> None:
        self._scoped = scoped

    @property
    def _statements(self) -> _Statements:
        return _DIALECTS[self._scoped.dialect]

    async def customer_by_id(self, customer_id: int) -> CustomerRecord | None:
        """An active customer with its attributes and addresses, or None (one statement)."""
        stmt = self._statements.customer_by_id
        return _whole_record(await self._scoped.first(stmt, {"key": customer_id}))

    async def customer_by_email_key(self, email_key: str) -> CustomerRecord | None:
        if not storable(email_key):
            return None
        stmt = self._statements.customer_by_email_key
        return _whole_record(await self._scoped.first(stmt, {"email_key": email_key}))

    async def api_user_secret(self, login: str) -> bytes | None:
        """The encrypted secret of an enabled API user, or None."""
        if not storable(login):
            return None
        row = await self._scoped.first(_API_USER, {"login": login})
        return None if row is None or row.disabled else bytes(row.secret_encrypted)

    async def customer_session(self, hashed: str) -> Any | None:
        """A web session by the SHA-256 of its token: ``customer_id``, ``last_seen_at``,
        ``expires_at``, or None. Expiry and the last-seen time are the caller's to judge and
        to write (``session_store.DatabaseSessions``)."""
        if not storable(hashed):
            return None
        return await self._scoped.first(_SESSION, {"hash": hashed})

    async def device_token(self, hashed: str, user_name: str | None) -> TokenRecord | None:
        """A presented token (by its SHA-256) for ``devices.authenticate_token``, with its
        interface user's and its customer's state, in one statement (correlated subqueries,
        each filtering its own tenant)."""
        if not storable(hashed):
            return None
        # A name no stored user can have (a NUL) is checked, and not usable.
        unnamable = user_name is not None and not storable(user_name)
        params = {"hash": hashed, "user": "" if unnamable else user_name}
        whole = await self._scoped.first(_TOKEN, params)
        if whole is None:
            return None
        token: Any = _TokenRow(*whole[:_TOKEN_COLUMNS])
        checked = user_name if user_name is not None else token.user_name
        disabled = whole.whole_user_disabled
        usable = not unnamable and checked is not None and disabled is not None and not disabled
        return TokenRecord(token, usable, whole.whole_active_customer is not None)

    async def profile_by_id(self, customer_id: int) -> ProfileRecord | None:
        """A CareCloud profile's rows (:class:`ProfileRecord`) in one statement, or None."""
        row = await self._scoped.first(self._statements.profile_by_id, {"key": customer_id})
        whole = _whole_record(row)
        if row is None or whole is None:
            return None
        return ProfileRecord(
            whole,
            row.whole_consents,
            row.whole_changes,
            row.whole_statements,
            row.whole_languages,
        )

    async def languages(self) -> Sequence[Any]:
        """The tenant's languages (``code``, ``is_default``), in the order of their codes."""
        return await self._scoped.rows(_LANGUAGES)
