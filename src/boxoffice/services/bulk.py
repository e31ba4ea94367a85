"""Bulk import and export of customers (CSV and JSON Lines).

The mapping of columns is documented in ``docs/import-export.md``. Every value goes through the
same rules as the API's (``services.customers``' ``clean_*`` functions and the domain rules);
nothing is validated twice in two ways.

An import reads the file once, in order, and applies it in batches: each batch is one
transaction (customers with all their addresses, tags, statements, attributes, external ids
and timeline entries), so a killed import leaves whole customers only, and running the same
file again finishes it. Customers are matched by external id, then by email: a match is
updated (and left alone when nothing differs), else a customer is created. Re-running a file
therefore creates nothing twice and writes nothing when nothing changed.

An export reads the tenant's customers by key, a page at a time (keyset pagination), and
writes each page before reading the next: memory stays flat whatever the number of customers.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any

from boxoffice.domain.commands import ADDRESS_PARTS
from boxoffice.domain.errors import DomainError, InvalidInput
from boxoffice.domain.ids import customer_code, new_customer_key, new_row_keys
from boxoffice.domain.rules import (
    attribute_field,
    attribute_lookup_key,
    clean_attribute_value,
    clean_birth_date,
    clean_country,
    clean_email,
    clean_text,
    normalise_email,
)
from boxoffice.services import tenants as tenant_service
from boxoffice.services.core import Core
from boxoffice.services.customers import new_customer_row
from boxoffice.store import bulk
from boxoffice.store.models import (
    AttributeDefinition,
    ConsentChange,
    Customer,
    CustomerAddress,
    CustomerAttributeValue,
    CustomerConsent,
    CustomerSource,
    CustomerSourceRecord,
    CustomerTag,
    Statement,
    TimelineEntry,
)

FORMATS = ("csv", "jsonl")
CHANNEL = "import"
DEFAULT_BATCH_SIZE = 1000
MAX_BATCH_SIZE = 10_000
EXPORT_PAGE_SIZE = 1000
MAX_EXTERNAL_ID = 200
#: The planner's statistics are refreshed after the first batch that created customers, then
#: whenever the customers created since reach this many times as many.
_STATISTICS_GROWTH = 4

#: Scalar fields, in the order of the export's columns.
SCALARS = (
    "title",
    "first_name",
    "last_name",
    "email",
    "phone",
    "mobile",
    "birth_date",
    "gender",
    "language",
    "friendly_id",
)
_TEXTS = (
    "title",
    "first_name",
    "last_name",
    "phone",
    "mobile",
    "gender",
    "language",
    "friendly_id",
)
_ADDRESS_FLAGS = ("billing", "delivery")
_ADDRESS_KEYS = frozenset((*ADDRESS_PARTS, *_ADDRESS_FLAGS))
#: Control characters (refused in external ids, as the API refuses them in texts).
_CONTROL = re.compile(r"[\x00-\x1f]")
#: Columns and keys read and ignored: the export's customer id, the reject file's notes.
IGNORED = ("id", "reject_line", "reject_reason")
_KNOWN_KEYS = frozenset(
    (*SCALARS, "tags", "statements", "attributes", "external_ids", "addresses", *IGNORED)
)
ATTRIBUTE_PREFIX = "attribute:"
EXTERNAL_ID_PREFIX = "external_id:"


#: Tables an import writes, parents first.
_BULK_MODELS: tuple[type[Any], ...] = (
    Customer,
    CustomerAddress,
    CustomerAttributeValue,
    CustomerTag,
    CustomerConsent,
    ConsentChange,
    CustomerSourceRecord,
    TimelineEntry,
)


class ImportFileError(DomainError):
    """The file cannot be read as a whole (unknown format, unknown CSV column, bad encoding)."""


def _now() -> datetime:
    return datetime.now(UTC)


def format_of(name: str, given: str | None = None) -> str:
    """The format named, else the one the file name's extension implies."""
    if given:
        if given not in FORMATS:
            raise ImportFileError(f"unknown format {given!r} (csv or jsonl)")
        return given
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    raise ImportFileError(f"cannot tell the format of {name!r}: use --format csv or jsonl")


# --- reading files ----------------------------------------------------------------------------


@dataclass
class Source:
    """Records from a binary stream, with the number of bytes consumed so far."""

    stream: IO[bytes]
    format: str
    position: int = 0
    #: The CSV header as given (the reject file repeats it).
    header: list[str] = field(default_factory=list)

    def _lines(self) -> Iterator[str]:
        first = True
        for raw in self.stream:
            self.position += len(raw)
            if first:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
                first = False
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ImportFileError(f"the file is not UTF-8 ({exc.reason})") from exc

    def records(self) -> Iterator[tuple[int, dict[str, Any], Any]]:
        """``(line number, canonical record, original)`` for every record, in order.

        A JSON line that cannot be read becomes a record with the key ``"_error"``.
        """
        if self.format == "csv":
            yield from self._csv_records()
        else:
            yield from self._jsonl_records()

    def _jsonl_records(self) -> Iterator[tuple[int, dict[str, Any], Any]]:
        for number, line in enumerate(self._lines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError:
                yield number, {"_error": "not a JSON object"}, line.rstrip("\r\n")
                continue
            if not isinstance(value, dict):
                yield number, {"_error": "not a JSON object"}, line.rstrip("\r\n")
                continue
            yield number, value, value

    def _csv_records(self) -> Iterator[tuple[int, dict[str, Any], Any]]:
        reader = csv.reader(self._lines())
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(f"line 1: {exc}") from exc
        self.header = header
        columns = [_csv_column(name) for name in header]
        plan = _CsvPlan(columns)
        start = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ImportFileError(f"line {start}: {exc}") from exc
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(columns):
                yield (
                    line,
                    {"_error": f"{len(cells)} cells for {len(columns)} columns"},
                    cells,
                )
                continue
            yield line, plan.record(cells), cells


def _csv_column(name: str) -> tuple[str, ...]:
    """A CSV column -> where its value goes in the canonical record."""
    key = name.strip()
    lowered = key.lower()
    if lowered in SCALARS or lowered in ("tags", "statements") or lowered in IGNORED:
        return (lowered,)
    if lowered.startswith(ATTRIBUTE_PREFIX) and key[len(ATTRIBUTE_PREFIX) :].strip():
        return ("attributes", key[len(ATTRIBUTE_PREFIX) :].strip())
    if lowered.startswith(EXTERNAL_ID_PREFIX) and key[len(EXTERNAL_ID_PREFIX) :].strip():
        return ("external_ids", key[len(EXTERNAL_ID_PREFIX) :].strip())
    if lowered.startswith("address"):
        head, _, part = lowered.partition("_")
        number = head[len("address") :] or "1"
        if (
            number.isdigit()
            and 1 <= int(number) <= 20
            and part in (*ADDRESS_PARTS, *_ADDRESS_FLAGS)
        ):
            return ("addresses", number, part)
    raise ImportFileError(f"unknown column {name!r} (see docs/import-export.md)")


class _CsvPlan:
    """Where each cell of a CSV row goes in the canonical record, worked out once per header."""

    def __init__(self, columns: list[tuple[str, ...]]) -> None:
        self.scalars: list[tuple[int, str]] = []
        self.lists: list[tuple[int, str]] = []
        self.mappings: dict[str, list[tuple[int, str]]] = {}
        numbered: dict[int, list[tuple[int, str]]] = {}
        for index, column in enumerate(columns):
            if column[0] in ("attributes", "external_ids"):
                self.mappings.setdefault(column[0], []).append((index, column[1]))
            elif column[0] == "addresses":
                numbered.setdefault(int(column[1]), []).append((index, column[2]))
            elif column[0] in ("tags", "statements"):
                self.lists.append((index, column[0]))
            else:
                self.scalars.append((index, column[0]))
        self.addresses = [parts for _, parts in sorted(numbered.items())]

    def record(self, cells: list[str]) -> dict[str, Any]:
        record: dict[str, Any] = {key: cells[index] for index, key in self.scalars}
        for index, key in self.lists:
            record[key] = _split_list(key, cells[index])
        for key, places in self.mappings.items():
            record[key] = {name: cells[index] for index, name in places}
        if self.addresses:
            # An address whose cells are all empty is no address.
            given = ({part: cells[index] for index, part in parts} for parts in self.addresses)
            record["addresses"] = [a for a in given if any(v.strip() for v in a.values())]
        return record


def _split_list(name: str, cell: str) -> Any:
    """``a;b`` or a JSON array (for names that hold a ``;``)."""
    cell = cell.strip()
    if cell.startswith("["):
        try:
            return json.loads(cell)
        except ValueError:
            return {"_error": f"{name}: not a JSON array"}
    return [part.strip() for part in cell.split(";") if part.strip()]


def _join_list(items: list[str]) -> str:
    if any(";" in item or item.strip() != item for item in items) or (
        items and items[0].startswith("[")
    ):
        return json.dumps(items, ensure_ascii=False)
    return ";".join(items)


# --- the catalogue, as an import sees it ------------------------------------------------------


@dataclass
class _Catalogue:
    tags: dict[str, int | None]  # "group/tag" and bare "tag" (None when ambiguous), casefolded
    tag_names: dict[int, str]
    statements: dict[str, Statement]
    statement_texts: dict[int, str]
    attributes: dict[str, AttributeDefinition]
    attribute_list: list[AttributeDefinition]
    sources: dict[str, int]
    source_codes: dict[int, str]
    #: Names as a file spells them -> their attribute (``None``: unknown), as met.
    _attribute_names: dict[Any, AttributeDefinition | None] = field(default_factory=dict)

    def attribute_named(self, name: Any) -> AttributeDefinition | None:
        try:
            return self._attribute_names[name]
        except KeyError:
            found = self.attributes.get(attribute_lookup_key(str(name)))
            self._attribute_names[name] = found
            return found
        except TypeError:  # unhashable: never a name
            return self.attributes.get(attribute_lookup_key(str(name)))


async def _catalogue(core: Core, tenant_id: int) -> _Catalogue:
    async with core.uow(tenant_id) as uow:
        groups = {g.id: g.name for g in await uow.catalogue.tag_groups()}
        tags: dict[str, int | None] = {}
        tag_names: dict[int, str] = {}
        for tag in await uow.catalogue.tags():
            qualified = f"{groups[tag.group_id]}/{tag.name}"
            tag_names[tag.id] = qualified
            tags[qualified.casefold()] = tag.id
            bare = tag.name.casefold()
            tags[bare] = None if bare in tags and tags[bare] != tag.id else tag.id
        statements: dict[str, Statement] = {}
        for statement in await uow.catalogue.statements():
            statements[statement.text.casefold()] = statement
            if statement.code:
                statements.setdefault(statement.code.casefold(), statement)
        attributes = list(await uow.catalogue.attributes())
        sources = list(await uow.catalogue.all(CustomerSource))
        return _Catalogue(
            tags=tags,
            tag_names=tag_names,
            statements=statements,
            statement_texts={s.id: s.text for s in statements.values()},
            attributes={a.lookup_key: a for a in attributes},
            attribute_list=attributes,
            sources={s.code.casefold(): s.id for s in sources},
            source_codes={s.id: s.code for s in sources},
        )


# --- one record -> what it asks for -----------------------------------------------------------


@dataclass
class _Row:
    line: int
    original: Any
    #: Scalar fields the record gives (``None``: clear), already through the API's rules.
    values: dict[str, Any] = field(default_factory=dict)
    email_key: str | None = None
    tag_ids: list[int] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)
    attributes: dict[int, tuple[AttributeDefinition, str | None]] = field(default_factory=dict)
    external_ids: dict[int, str] = field(default_factory=dict)
    #: ``None``: the record gives no address (stored ones stay).
    addresses: list[dict[str, Any]] | None = None

    def keys(self) -> list[Any]:
        keys: list[Any] = list(self.external_ids.items())
        if self.email_key:
            keys.append(self.email_key)
        return keys


def _string(name: str, value: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput(name, "must be text")
    return str(value)


def _list(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict) and "_error" in value:
        raise InvalidInput(name, str(value["_error"]).split(": ", 1)[-1])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(name, "a list of names")
    return [v.strip() for v in value if v.strip()]


def _mapping(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(name, "an object of names to values")
    return value


def _flag(name: str, value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidInput(name, "true or false")


def _parse(line: int, record: dict[str, Any], original: Any, cat: _Catalogue) -> _Row:
    if "_error" in record:
        raise InvalidInput("record", str(record["_error"]))
    if not _KNOWN_KEYS.issuperset(record):
        unknown = sorted(k for k in record if k not in _KNOWN_KEYS)
        raise InvalidInput(unknown[0], "unknown field (see docs/import-export.md)")
    row = _Row(line, original)
    for name in _TEXTS:
        if name in record:
            value = _string(name, record[name])
            if name in ("first_name", "last_name"):
                row.values[name] = clean_text(name, value, required=True)
            elif name == "title":
                row.values[name] = clean_text(name, value) or ""
            else:
                row.values[name] = clean_text(name, value) or None
    if "birth_date" in record:
        text = (_string("birth_date", record["birth_date"]) or "").strip()
        try:
            parsed = date.fromisoformat(text) if text else None
        except ValueError as exc:
            raise InvalidInput("birth_date", "a date (YYYY-MM-DD)") from exc
        row.values["birth_date"] = clean_birth_date(parsed, datetime.now(UTC).date())
    email = (_string("email", record.get("email")) or "").strip()
    if email:
        row.values["email"] = clean_email(email)
        row.email_key = normalise_email(row.values["email"])
    elif "email" in record:
        raise InvalidInput("email", "required")
    for name in _list("tags", record.get("tags")):
        tag_id = cat.tags.get(name.casefold())
        if tag_id is None:
            reason = "ambiguous: name it Group/Tag" if name.casefold() in cat.tags else "unknown"
            raise InvalidInput("tags", f"{reason} tag {name!r}")
        if tag_id not in row.tag_ids:
            row.tag_ids.append(tag_id)
    for name in _list("statements", record.get("statements")):
        statement = cat.statements.get(name.casefold())
        if statement is None:
            raise InvalidInput("statements", f"unknown statement {name!r}")
        if statement not in row.statements:
            row.statements.append(statement)
    for name, raw in _mapping("attributes", record.get("attributes")).items():
        attr = cat.attribute_named(name)
        if attr is None:
            raise InvalidInput(attribute_field(name), f"unknown attribute {name!r}")
        if isinstance(raw, bool):
            raw = "true" if raw else "false"
        field_name = attribute_field(name)
        row.attributes[attr.id] = (
            attr,
            clean_attribute_value(attr.type, _string(field_name, raw), field_name),
        )
    for code, raw in _mapping("external_ids", record.get("external_ids")).items():
        source_id = cat.sources.get(str(code).casefold())
        if source_id is None:
            raise InvalidInput(f"external_id:{code}", f"unknown customer source {code!r}")
        value = (_string(f"external_id:{code}", raw) or "").strip()
        if len(value) > MAX_EXTERNAL_ID or _CONTROL.search(value):
            raise InvalidInput(
                f"external_id:{code}",
                f"at most {MAX_EXTERNAL_ID} characters, no control characters",
            )
        if value:
            row.external_ids[source_id] = value
    if "addresses" in record:
        row.addresses = _addresses(record["addresses"]) or None
    return row


def _addresses(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(a, dict) for a in value):
        raise InvalidInput("addresses", "a list of addresses")
    out: list[dict[str, Any]] = []
    for number, given in enumerate(value, start=1):
        if not _ADDRESS_KEYS.issuperset(given):
            unknown = sorted(k for k in given if k not in _ADDRESS_KEYS)
            raise InvalidInput(f"address{number}_{unknown[0]}", "unknown field")
        address: dict[str, Any] = dict.fromkeys(ADDRESS_PARTS)  # a part not given: None
        try:
            for name in ADDRESS_PARTS:  # the API's rules for an address
                text = given.get(name)
                if text is None:
                    continue
                if type(text) is not str:
                    text = _string(name, text)
                cleaned = clean_country(text) if name == "country" else clean_text(name, text)
                address[name] = cleaned or None
            billing = _flag("billing", given.get("billing"))
            delivery = _flag("delivery", given.get("delivery"))
        except InvalidInput as exc:
            raise InvalidInput(f"address{number}_{exc.field}", exc.reason) from exc
        first = number == 1
        # As the API does: the first address is billing and delivery unless the file says.
        address["is_billing"] = first if billing is None else billing
        address["is_delivery"] = first if delivery is None else delivery
        for earlier in out:  # one billing and one delivery address: the last claim wins
            earlier["is_billing"] = earlier["is_billing"] and not address["is_billing"]
            earlier["is_delivery"] = earlier["is_delivery"] and not address["is_delivery"]
        out.append(address)
    return out


def _address_key(a: dict[str, Any] | CustomerAddress) -> tuple[Any, ...]:
    get = a.get if isinstance(a, dict) else lambda name: getattr(a, name)
    return (bool(get("is_billing")), bool(get("is_delivery")), *(get(n) for n in ADDRESS_PARTS))


# --- applying a batch -------------------------------------------------------------------------


@dataclass
class ImportSummary:
    records: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    batches: int = 0
    seconds: float = 0.0
    rejects_path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
            "rejects": self.rejects_path,
        }


@dataclass
class _Writes:
    customers: list[dict[str, Any]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    attributes: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    consents: list[dict[str, Any]] = field(default_factory=list)
    consent_changes: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    #: Row keys drawn ahead, a block at a time (one read of the random source per block).
    _keys: list[int] = field(default_factory=list)

    def _key(self) -> int:
        if not self._keys:
            self._keys = new_row_keys(512)
        return self._keys.pop()

    def children(self) -> list[list[dict[str, Any]]]:
        """Rows for the tables after ``customers`` in ``_BULK_MODELS``, in that order."""
        return [
            self.addresses,
            self.attributes,
            self.tags,
            self.consents,
            self.consent_changes,
            self.sources,
            self.timeline,
        ]

    def timeline_entry(
        self, customer_id: int, kind: str, actor: str, now: datetime, **data: Any
    ) -> None:
        self.timeline.append(
            {
                "id": self._key(),
                "customer_id": customer_id,
                "occurred_at": now,
                "kind": kind,
                "actor": actor,
                "data": data,
            }
        )

    def links(
        self,
        customer_id: int,
        row: _Row,
        actor: str,
        now: datetime,
        *,
        tags: Iterable[int],
        statements: Iterable[Statement],
    ) -> None:
        for tag_id in tags:
            self.tags.append(
                {"customer_id": customer_id, "tag_id": tag_id, "added_at": now, "added_by": actor}
            )
        for statement in statements:
            self.consents.append(
                {"customer_id": customer_id, "statement_id": statement.id, "agreed_at": now}
            )
            self.consent_changes.append(
                {
                    "id": self._key(),
                    "customer_id": customer_id,
                    "statement_id": statement.id,
                    "agreed": True,
                    "statement_text": statement.text,
                    "actor": actor,
                    "channel": CHANNEL,
                    "occurred_at": now,
                }
            )

    def new_addresses(
        self, customer_id: int, addresses: list[dict[str, Any]], now: datetime
    ) -> None:
        for index, address in enumerate(addresses):
            # Increasing times keep the file's order (addresses are listed by creation time).
            self.addresses.append(
                {
                    "id": self._key(),
                    "customer_id": customer_id,
                    "created_at": now + timedelta(microseconds=index) if index else now,
                    **address,
                }
            )


async def _new_keys(session: Any, count: int) -> list[int]:
    keys: list[int] = []
    while len(keys) < count:
        drawn = list({new_customer_key() for _ in range(count - len(keys))} - set(keys))
        taken = await bulk.taken_customer_ids(session, drawn)
        keys.extend(k for k in drawn if k not in taken)
    return keys


def _new_customer(customer_id: int, row: _Row, now: datetime) -> dict[str, Any]:
    """The customer's row (``customers.new_customer_row``: what every create writes)."""
    values = row.values
    return new_customer_row(
        customer_id,
        now,
        email=values["email"],
        title=values.get("title") or "",
        first_name=values["first_name"],
        last_name=values["last_name"],
        phone=values.get("phone"),
        mobile=values.get("mobile"),
        birth_date=values.get("birth_date"),
        gender=values.get("gender"),
        language=values.get("language"),
        friendly_id=values.get("friendly_id"),
    )


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


async def _apply_batch(
    core: Core, tenant_id: int, rows: list[_Row], actor: str, summary: ImportSummary
) -> list[tuple[_Row, str]]:
    """Apply one batch in one transaction; returns the rows refused, with why."""
    for attempt in range(3):
        counts = ImportSummary()  # counted only once the batch is committed
        try:
            refused = await _apply_batch_once(core, tenant_id, rows, actor, counts)
        except bulk.BulkConflict:
            if attempt == 2:
                raise
            continue
        summary.created += counts.created
        summary.updated += counts.updated
        summary.unchanged += counts.unchanged
        return refused
    raise AssertionError("unreachable")


async def _apply_batch_once(
    core: Core, tenant_id: int, rows: list[_Row], actor: str, summary: ImportSummary
) -> list[tuple[_Row, str]]:
    rejects: list[tuple[_Row, str]] = []
    async with core.uow(tenant_id, write=True) as uow:
        session = uow.session
        await bulk.prepare(session, _BULK_MODELS)
        by_email = await bulk.customers_by_email_keys(
            session, [r.email_key for r in rows if r.email_key]
        )
        by_external = await bulk.customer_ids_by_external_ids(
            session, [pair for r in rows for pair in r.external_ids.items()]
        )
        known = {c.id: c for c in by_email.values()}
        known.update(
            await bulk.customers_by_ids(
                session, [i for i in set(by_external.values()) if i not in known]
            )
        )
        targets: list[tuple[_Row, Customer | None]] = []
        claimed: dict[int, int] = {}
        for row in rows:
            matches = {by_external[p] for p in row.external_ids.items() if p in by_external}
            by_mail = by_email.get(row.email_key) if row.email_key else None
            if len(matches) > 1:
                rejects.append((row, "external_ids: name different customers"))
                continue
            target: Customer | None = by_mail
            if matches:
                (match,) = matches
                target = known.get(match)
                if target is None:
                    rejects.append((row, "external_ids: belong to an erased customer"))
                    continue
                if by_mail is not None and by_mail.id != target.id:
                    rejects.append((row, "email: belongs to another customer than the external id"))
                    continue
            if target is None:
                missing = next(
                    (n for n in ("email", "first_name", "last_name") if n not in row.values), None
                )
                if missing is not None:
                    rejects.append((row, f"{missing}: required for a new customer"))
                    continue
            elif target.id in claimed:
                rejects.append(
                    (row, f"record: names the same customer as line {claimed[target.id]}")
                )
                continue
            else:
                claimed[target.id] = row.line
            targets.append((row, target))

        writes = _Writes()
        now = _now()
        new_rows = [row for row, target in targets if target is None]
        for row, key in zip(new_rows, await _new_keys(session, len(new_rows)), strict=True):
            writes.customers.append(_new_customer(key, row, now))
            writes.new_addresses(key, row.addresses or [], now)
            for attr_id, (_attr, value) in row.attributes.items():
                if value is not None:
                    writes.attributes.append(
                        {"customer_id": key, "attribute_id": attr_id, "value": value}
                    )
            writes.links(key, row, actor, now, tags=row.tag_ids, statements=row.statements)
            for source_id, external_id in row.external_ids.items():
                writes.sources.append(
                    {"customer_id": key, "source_id": source_id, "external_id": external_id}
                )
            writes.timeline_entry(
                key,
                "created",
                actor,
                now,
                channel=CHANNEL,
                tags=row.tag_ids,
                statements=[s.id for s in row.statements],
            )
        summary.created += len(new_rows)

        existing = [(row, target) for row, target in targets if target is not None]
        if existing:
            await _update_existing(session, existing, writes, actor, now, summary)

        await session.flush()
        await bulk.insert_tables(
            session,
            [
                (model, rows_of, model is not CustomerTag and model is not CustomerConsent)
                for model, rows_of in zip(
                    _BULK_MODELS, [writes.customers, *writes.children()], strict=True
                )
            ],
        )
        await uow.commit()
    return rejects


async def _update_existing(
    session: Any,
    existing: list[tuple[_Row, Customer]],
    writes: _Writes,
    actor: str,
    now: datetime,
    summary: ImportSummary,
) -> None:
    ids = [c.id for _, c in existing]
    tags: dict[int, set[int]] = {}
    for link in await bulk.tag_links(session, ids):
        tags.setdefault(link.customer_id, set()).add(link.tag_id)
    agreed: dict[int, set[int]] = {}
    for consent in await bulk.consents(session, ids):
        agreed.setdefault(consent.customer_id, set()).add(consent.statement_id)
    values: dict[int, dict[int, CustomerAttributeValue]] = {}
    for stored_value in await bulk.attribute_values(session, ids):
        values.setdefault(stored_value.customer_id, {})[stored_value.attribute_id] = stored_value
    sources: dict[int, dict[int, CustomerSourceRecord]] = {}
    for record in await bulk.source_records(session, ids):
        sources.setdefault(record.customer_id, {})[record.source_id] = record
    addresses: dict[int, list[CustomerAddress]] = {}
    for address in await bulk.addresses(session, ids):
        addresses.setdefault(address.customer_id, []).append(address)

    for row, customer in existing:
        changes: dict[str, Any] = {}
        for name, value in row.values.items():
            if name == "email":
                if customer.email != value:
                    changes[name] = [customer.email, value]
                    customer.email, customer.email_key = value, row.email_key
                continue
            old = getattr(customer, name)
            if old != value:
                changes[name] = [_jsonable(old), _jsonable(value)]
                setattr(customer, name, value)
        current_values = values.get(customer.id, {})
        for attr_id, (attr, new_value) in row.attributes.items():
            stored = current_values.get(attr_id)
            old = stored.value if stored is not None else None
            if old == new_value:
                continue
            if new_value is None:
                assert stored is not None
                await session.delete(stored)
            elif stored is None:
                writes.attributes.append(
                    {"customer_id": customer.id, "attribute_id": attr_id, "value": new_value}
                )
            else:
                stored.value = new_value
            changes[f"attribute:{attr.name}"] = [old, new_value]
        current_sources = sources.get(customer.id, {})
        for source_id, external_id in row.external_ids.items():
            stored_source = current_sources.get(source_id)
            old_id = None if stored_source is None else stored_source.external_id
            if old_id == external_id:
                continue
            if stored_source is None:
                writes.sources.append(
                    {"customer_id": customer.id, "source_id": source_id, "external_id": external_id}
                )
            else:
                stored_source.external_id = external_id
            changes[f"external_id:{source_id}"] = [old_id, external_id]
        if row.addresses is not None:
            stored_addresses = addresses.get(customer.id, [])
            if [_address_key(a) for a in stored_addresses] != [
                _address_key(a) for a in row.addresses
            ]:
                for stored_address in stored_addresses:
                    await session.delete(stored_address)
                writes.new_addresses(customer.id, row.addresses, now)
                changes["addresses"] = [len(stored_addresses), len(row.addresses)]
        new_tags = [t for t in row.tag_ids if t not in tags.get(customer.id, set())]
        new_statements = [s for s in row.statements if s.id not in agreed.get(customer.id, set())]
        writes.links(customer.id, row, actor, now, tags=new_tags, statements=new_statements)
        if new_tags:
            changes["tags_added"] = new_tags
        if new_statements:
            changes["statements_added"] = [s.id for s in new_statements]
        if changes:
            customer.updated_at = now
            writes.timeline_entry(
                customer.id, "changed", actor, now, channel=CHANNEL, changes=changes
            )
            summary.updated += 1
        else:
            summary.unchanged += 1


# --- the import -------------------------------------------------------------------------------


class RejectWriter:
    """The reject file: each refused record as it was given, with its line and the reason.

    It is written in the input's format (CSV: ``reject_line`` and ``reject_reason``, then the
    input's columns; JSON Lines: the object plus those two keys), so that a corrected reject
    file imports as it is. It is created at the first reject only.
    """

    def __init__(self, path: Any, fmt: str, header: Callable[[], list[str]]) -> None:
        self.path = path
        self.format = fmt
        self._header = header
        self._file: IO[str] | None = None
        self._csv: Any = None
        self.count = 0

    def write(self, line: int, original: Any, reason: str) -> None:
        if self._file is None:
            self._file = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
            if self.format == "csv":
                self._csv = csv.writer(self._file)
                self._csv.writerow(["reject_line", "reject_reason", *self._header()])
        self.count += 1
        if self.format == "csv":
            cells = list(original) if isinstance(original, list) else []
            self._csv.writerow([line, reason, *cells])
        else:
            record = dict(original) if isinstance(original, dict) else {"raw": original}
            record.update(reject_line=line, reject_reason=reason)
            self._file.write(json.dumps(record, ensure_ascii=False) + "\n")

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _reason(exc: InvalidInput) -> str:
    return f"{exc.field}: {exc.reason}"


async def import_customers(
    core: Core,
    tenant_name: str,
    source: Source,
    rejects: RejectWriter,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    actor: str = "cli:import",
    progress: Callable[[ImportSummary, int], None] | None = None,
) -> ImportSummary:
    """Import every record of ``source`` into the tenant; see the module's docstring.

    ``progress(summary, bytes read)`` is called after each batch is committed.
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise InvalidInput("batch_size", f"between 1 and {MAX_BATCH_SIZE}")
    started = time.monotonic()
    tenant = await tenant_service.get_tenant(core, tenant_name)
    cat = await _catalogue(core, tenant.id)
    summary = ImportSummary(rejects_path=str(rejects.path))
    batch: list[_Row] = []
    keys: set[Any] = set()

    applying: asyncio.Task[None] | None = None
    analyzed = 0  # customers created when the planner's statistics were last refreshed

    async def refresh_statistics() -> None:
        nonlocal analyzed
        async with core.uow(tenant.id) as uow:
            await bulk.refresh_statistics(uow.session)
            await uow.commit()
        analyzed = summary.created

    async def apply(rows: list[_Row], position: int) -> None:
        refused = await _apply_batch(core, tenant.id, rows, actor, summary)
        if summary.created > 0 and summary.created >= _STATISTICS_GROWTH * analyzed:
            # After the first batch, then each time the import has grown the tables
            # severalfold (see store/bulk.refresh_statistics): a few times per import.
            await refresh_statistics()
        for row, reason in refused:
            rejects.write(row.line, row.original, reason)
        summary.rejected += len(refused)
        summary.batches += 1
        rejects.flush()
        if progress is not None:
            progress(summary, position)

    async def flush() -> None:
        # The next batch is read and checked while this one is written (the database works
        # in its own thread); batches still commit one at a time, in the file's order.
        nonlocal applying, batch
        if not batch:
            return
        if applying is not None:
            await applying
        applying = asyncio.create_task(apply(batch, source.position))
        batch = []
        keys.clear()

    try:
        for line, record, original in source.records():
            summary.records += 1
            if summary.records % 16 == 0:
                await asyncio.sleep(0)  # let the batch being written go on
            try:
                row = _parse(line, record, original, cat)
            except InvalidInput as exc:
                rejects.write(line, original, _reason(exc))
                summary.rejected += 1
                continue
            row_keys = row.keys()
            if any(k in keys for k in row_keys):
                # A later record for the same customer: apply the earlier one first, so the
                # file reads as if applied line by line.
                await flush()
            batch.append(row)
            keys.update(row_keys)
            if len(batch) >= batch_size:
                await flush()
        await flush()
        if applying is not None:
            await applying
        if summary.created > analyzed:
            await refresh_statistics()
    except BaseException:
        if applying is not None and not applying.done():
            applying.cancel()  # its transaction rolls back: whole batches only
            with contextlib.suppress(BaseException):
                await applying
        raise
    rejects.flush()
    summary.seconds = time.monotonic() - started
    return summary


# --- the export -------------------------------------------------------------------------------


def _export_record(
    customer: Customer,
    cat: _Catalogue,
    tags: list[int],
    statements: list[int],
    values: dict[int, str],
    sources: dict[int, str],
    addresses: list[CustomerAddress],
) -> dict[str, Any]:
    record: dict[str, Any] = {"id": customer_code(customer.id)}
    for name in SCALARS:
        record[name] = _jsonable(getattr(customer, name))
    record["tags"] = [cat.tag_names[t] for t in tags if t in cat.tag_names]
    record["statements"] = [cat.statement_texts[s] for s in statements if s in cat.statement_texts]
    record["attributes"] = {a.name: values[a.id] for a in cat.attribute_list if a.id in values}
    record["external_ids"] = {
        cat.source_codes[s]: v for s, v in sorted(sources.items()) if s in cat.source_codes
    }
    record["addresses"] = [
        {
            **{name: getattr(a, name) for name in ADDRESS_PARTS},
            "billing": a.is_billing,
            "delivery": a.is_delivery,
        }
        for a in addresses
    ]
    return record


def csv_header(cat_attributes: list[str], source_codes: list[str], addresses: int) -> list[str]:
    header = ["id", *SCALARS, "tags", "statements"]
    header += [f"{ATTRIBUTE_PREFIX}{name}" for name in cat_attributes]
    header += [f"{EXTERNAL_ID_PREFIX}{code}" for code in source_codes]
    for number in range(1, addresses + 1):
        header += [f"address{number}_{part}" for part in (*ADDRESS_PARTS, *_ADDRESS_FLAGS)]
    return header


def _csv_cells(record: dict[str, Any], header: list[str]) -> list[str]:
    cells: list[str] = []
    for column in header:
        if column.startswith(ATTRIBUTE_PREFIX):
            value: Any = record["attributes"].get(column[len(ATTRIBUTE_PREFIX) :])
        elif column.startswith(EXTERNAL_ID_PREFIX):
            value = record["external_ids"].get(column[len(EXTERNAL_ID_PREFIX) :])
        elif column.startswith("address") and "_" in column:
            head, _, part = column.partition("_")
            index = int(head[len("address") :]) - 1
            found = record["addresses"][index] if index < len(record["addresses"]) else None
            value = None if found is None else found[part]
            if isinstance(value, bool):
                value = "true" if value else "false"
        elif column in ("tags", "statements"):
            value = _join_list(record[column])
        else:
            value = record[column]
        cells.append("" if value is None else str(value))
    return cells


async def export_customers(
    core: Core,
    tenant_name: str,
    fmt: str,
    write: Callable[[str], Any],
    *,
    page_size: int = EXPORT_PAGE_SIZE,
) -> int:
    """Write every active customer of the tenant, by key; returns how many."""
    if fmt not in FORMATS:
        raise InvalidInput("format", "csv or jsonl")
    tenant = await tenant_service.get_tenant(core, tenant_name)
    cat = await _catalogue(core, tenant.id)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header: list[str] = []
    if fmt == "csv":
        async with core.uow(tenant.id) as uow:
            most = await bulk.most_addresses(uow.session)
        header = csv_header(
            [a.name for a in cat.attribute_list],
            [cat.source_codes[s] for s in cat.source_codes],
            most,
        )
        writer.writerow(header)
    count = 0
    async for record in _export_records(core, tenant.id, cat, page_size):
        if fmt == "csv":
            writer.writerow(_csv_cells(record, header))
        else:
            buffer.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
        if buffer.tell() > 1 << 16:
            write(buffer.getvalue())
            buffer.seek(0)
            buffer.truncate()
    write(buffer.getvalue())
    return count


async def _export_records(
    core: Core, tenant_id: int, cat: _Catalogue, page_size: int
) -> AsyncIterator[dict[str, Any]]:
    after = 0
    while True:
        # One short read transaction per page: nothing is held open across the whole export.
        async with core.uow(tenant_id) as uow:
            session = uow.session
            page = await bulk.customer_page(session, after, page_size)
            if not page:
                return
            ids = [c.id for c in page]
            tags: dict[int, list[tuple[datetime, int]]] = {}
            for link in await bulk.tag_links(session, ids):
                tags.setdefault(link.customer_id, []).append((link.added_at, link.tag_id))
            statements: dict[int, list[tuple[datetime, int]]] = {}
            for consent in await bulk.consents(session, ids):
                statements.setdefault(consent.customer_id, []).append(
                    (consent.agreed_at, consent.statement_id)
                )
            values: dict[int, dict[int, str]] = {}
            for value in await bulk.attribute_values(session, ids):
                values.setdefault(value.customer_id, {})[value.attribute_id] = value.value
            sources: dict[int, dict[int, str]] = {}
            for source_link in await bulk.source_records(session, ids):
                if source_link.external_id is not None:
                    sources.setdefault(source_link.customer_id, {})[source_link.source_id] = (
                        source_link.external_id
                    )
            addresses: dict[int, list[CustomerAddress]] = {}
            for address in await bulk.addresses(session, ids):
                addresses.setdefault(address.customer_id, []).append(address)
            records = [
                _export_record(
                    c,
                    cat,
                    [t for _, t in sorted(tags.get(c.id, []))],
                    [s for _, s in sorted(statements.get(c.id, []))],
                    values.get(c.id, {}),
                    sources.get(c.id, {}),
                    addresses.get(c.id, []),
                )
                for c in page
            ]
            after = page[-1].id
        for record in records:
            yield record
        if len(page) < page_size:
            return
