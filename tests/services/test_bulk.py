"""Bulk import and export of customers, through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from boxoffice.bootstrap import Core
from boxoffice.domain.commands import NewCustomer
from boxoffice.domain.errors import InvalidInput
from boxoffice.domain.principal import Principal
from boxoffice.services import audit, bulk
from boxoffice.services import customers as customer_service
from boxoffice.services.customers import ALL_PARTS
from boxoffice.store import bulk as store_bulk
from boxoffice.store.audit import reset_caller, set_caller
from boxoffice.store.models import Customer, TimelineEntry
from boxoffice.store.scoping import UnscopedQueryError, stamp_rows
from tests.conftest import make_tenant, owner_connection

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "customers.csv"

HEADER = (
    "email,first_name,last_name,title,phone,birth_date,tags,statements,"
    "attribute:Favourite Genre,external_id:website,address_line1,address_town,address_country"
)


def _csv(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


async def run_import(
    core: Core,
    tenant: str,
    data: bytes,
    tmp_path: Path,
    fmt: str = "csv",
    **kw: Any,
) -> tuple[bulk.ImportSummary, list[dict[str, str]]]:
    """Import ``data``; returns the summary and the reject file's records."""
    source = bulk.Source(io.BytesIO(data), fmt)
    path = tmp_path / f"rejects-{tenant}.{fmt}"
    path.unlink(missing_ok=True)
    writer = bulk.RejectWriter(path, fmt, lambda: source.header)
    try:
        summary = await bulk.import_customers(core, tenant, source, writer, **kw)
    finally:
        writer.close()
    if not path.exists():
        return summary, []
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8") as f:
            return summary, list(csv.DictReader(f))
    return summary, [json.loads(line) for line in path.read_text().splitlines()]


async def export(core: Core, tenant: str, fmt: str, **kw: Any) -> str:
    out = io.StringIO()
    await bulk.export_customers(core, tenant, fmt, out.write, **kw)
    return out.getvalue()


def owner_of(tenant_id: int) -> Principal:
    return Principal(tenant_id=tenant_id, actor="api-user:test", full_access=True)


async def test_import_creates_whole_customers_as_the_api_would(
    core: Core, tenant: tuple[str, int], tmp_path: Path
) -> None:
    name, tenant_id = tenant
    data = _csv(
        "Ada@Example.org ,Ada,Lovelace,Dr,+44 20 7946 0001,1985-12-10,"
        "Interests/Drama;VIP,Email updates from Demo Theatre;agreement_post,Opera,W-1,"
        "12 St James's Square,London,gb",
    )
    summary, rejects = await run_import(core, name, data, tmp_path)
    assert (summary.created, summary.rejected, rejects) == (1, 0, [])

    owner = owner_of(tenant_id)
    view = await customer_service.find_customer_by_email(core, owner, "ada@example.org", ALL_PARTS)
    assert (view.email, view.title, view.first_name, view.last_name) == (
        "Ada@Example.org",
        "Dr",
        "Ada",
        "Lovelace",
    )
    assert view.phone == "+44 20 7946 0001"
    assert view.birth_date is not None and view.birth_date.isoformat() == "1985-12-10"
    assert [t.name for t in view.tags] == ["Drama", "VIP"]
    assert [c.text for c in view.consents] == [
        "Email updates from Demo Theatre",
        "Post from Demo Theatre",
    ]
    assert {a.attribute.name: a.value for a in view.attributes}["Favourite Genre"] == "Opera"
    (address,) = view.addresses
    assert (address.line1, address.town, address.country) == (
        "12 St James's Square",
        "London",
        "GB",
    )
    assert address.is_billing and address.is_delivery
    (entry,) = await customer_service.get_timeline(core, owner, view.id)
    assert entry.kind == "created"
    assert entry.data["channel"] == "import"
    assert len(entry.data["tags"]) == 2 and len(entry.data["statements"]) == 2
    async with core.uow(tenant_id) as uow:
        history = await uow.customers.consent_history(view.id)
        assert [(h.agreed, h.channel) for h in history] == [(True, "import"), (True, "import")]


async def test_rerunning_a_file_creates_and_writes_nothing_more(
    core: Core, tenant: tuple[str, int], tmp_path: Path
) -> None:
    name, tenant_id = tenant
    data = EXAMPLE.read_bytes()
    first, rejects = await run_import(core, name, data, tmp_path, batch_size=2)
    assert (first.records, first.created, first.rejected) == (5, 3, 2)
    assert [(r["reject_line"], r["reject_reason"]) for r in rejects] == [
        ("5", "email: not a valid email address"),
        ("6", "tags: unknown tag 'Gardening'"),
    ]
    second, _ = await run_import(core, name, data, tmp_path, batch_size=2)
    assert (second.created, second.updated, second.unchanged, second.rejected) == (0, 0, 3, 2)
    owner = owner_of(tenant_id)
    view = await customer_service.find_customer_by_email(core, owner, "ada@example.org", ALL_PARTS)
    assert len(await customer_service.get_timeline(core, owner, view.id)) == 1
    assert len(view.tags) == 2 and len(view.consents) == 1 and len(view.addresses) == 1


async def test_a_changed_file_updates_and_records_what_changed(
    core: Core, tenant: tuple[str, int], tmp_path: Path
) -> None:
    name, tenant_id = tenant
    await run_import(
        core, name, _csv("a@example.org,Ann,Old,,,,Drama,,Opera,W-7,1 Road,Town,GB"), tmp_path
    )
    summary, _ = await run_import(
        core,
        name,
        _csv("a@example.org,Ann,New,,,,Music,,,W-7,2 Street,City,FR"),
        tmp_path,
    )
    assert (summary.created, summary.updated) == (0, 1)
    owner = owner_of(tenant_id)
    view = await customer_service.find_customer_by_email(core, owner, "a@example.org", ALL_PARTS)
    assert view.last_name == "New"
    # Tags are added, never removed; an empty attribute cell clears the value.
    assert {t.name for t in view.tags} == {"Drama", "Music"}
    assert {a.attribute.name: a.value for a in view.attributes}["Favourite Genre"] == ""
    assert [(a.line1, a.country) for a in view.addresses] == [("2 Street", "FR")]
    created, changed = await customer_service.get_timeline(core, owner, view.id)
    assert (created.kind, changed.kind) == ("created", "changed")
    changes = changed.data["changes"]
    assert changes["last_name"] == ["Old", "New"]
    assert changes["attribute:Favourite Genre"] == ["Opera", None]
    assert "tags_added" in changes and "addresses" in changes


async def test_external_id_matches_before_email_and_can_change_the_email(
    core: Core, tenant: tuple[str, int], tmp_path: Path
) -> None:
    name, tenant_id = tenant
    await run_import(
        core,
        name,
        _csv(
            "old@example.org,Ann,Lee,,,,,,,W-1,,,",
            "other@example.org,Bo,Ray,,,,,,,W-2,,,",
        ),
        tmp_path,
    )
    summary, rejects = await run_import(
        core,
        name,
        _csv(
            "new@example.org,Ann,Lee,,,,,,,W-1,,,",
            "other@example.org,Bo,Ray,,,,,,,W-1,,,",
        ),
        tmp_path,
    )
    assert (summary.updated, summary.created) == (1, 0)
    # The second line reaches the same customer as the first through W-1; its email names
    # another customer: refused rather than merged.
    assert [r["reject_reason"] for r in rejects] == [
        "email: belongs to another customer than the external id"
    ]
    owner = owner_of(tenant_id)
    moved = await customer_service.find_customer_by_email(core, owner, "new@example.org")
    assert moved.first_name == "Ann"


async def test_later_lines_for_the_same_customer_apply_in_order(
    core: Core, tenant: tuple[str, int], tmp_path: Path
) -> None:
    name, tenant_id = tenant
    summary, _ = await run_import(
        core,
        name,
        _csv("dup@example.org,Ann,First,,,,,,,,,,", "DUP@example.org,Ann,Second,,,,,,,,,,"),
        tmp_path,
    )
    assert (summary.created, summary.updated, summary.batches) == (1, 1, 2)
    view = await customer_service.find_customer_by_email(
        core, owner_of(tenant_id), "dup@example.org"
    )
    assert view.last_name == "Second"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("x@example.org,,Lee,,,,,,,,,,", "first_name: required"),
        ("x@example.org,Ann,Lee,,,1890-01-01,,,,,,,", "birth_date: must be between"),
        ("x@example.org,Ann,Lee,,,10/12/1985,,,,,,,", "birth_date: a date (YYYY-MM-DD)"),
        ("x@example.org,Ann,Lee,,,,,Spam please,,,,,", "statements: unknown statement"),
        ("x@example.org,Ann,Lee,,,,,,,,,,Britain", "address1_country: a two-letter ISO 3166"),
        ("x@example.org," + "A" * 201 + ",Lee,,,,,,,,,,", "first_name: at most 200 characters"),
        ("x@example.org,Ann,Lee\u0007,,,,,,,,,,", "last_name: control characters"),
        (",Ann,Lee,,,,,,,,,,", "email: required"),
        ("x@example.org,Ann,Lee,,,,Music,,,,,", "record: 12 cells for 13 columns"),
    ],
)
async def test_bad_records_are_rejected_with_their_line_and_the_api_reason(
    core: Core, tenant: tuple[str, int], tmp_path: Path, line: str, reason: str
) -> None:
    name, _ = tenant
    summary, rejects = await run_import(
        core, name, _csv("ok@example.org,Ok,Fine,,,,,,,,,,", line), tmp_path
    )
    assert (summary.created, summary.rejected) == (1, 1)
    (reject,) = rejects
    assert reject["reject_line"] == "3"
    assert reject["reject_reason"].startswith(reason), reject["reject_reason"]


async def test_the_api_refuses_what_the_import_refuses(core: Core, tenant: tuple[str, int]) -> None:
    """Same rules, same words: the import reuses the API's validation."""
    _, tenant_id = tenant
    with pytest.raises(InvalidInput) as refused:
        await customer_service.create_customer(
            core,
            owner_of(tenant_id),
            NewCustomer(first_name="A" * 201, last_name="Lee", email="x@example.org"),
        )
    assert f"{refused.value.field}: {refused.value.reason}" == "first_name: at most 200 characters"


async def test_unknown_csv_column_refuses_the_whole_file(
    core: Core, tenant: tuple[str, int], tmp_path: Path
) -> None:
    name, _ = tenant
    with pytest.raises(bulk.ImportFileError, match="unknown column 'shoe_size'"):
        await run_import(core, name, b"email,first_name,last_name,shoe_size\n", tmp_path)


async def test_jsonl_import_and_its_rejects(
    core: Core, tenant: tuple[str, int], tmp_path: Path
) -> None:
    name, tenant_id = tenant
    lines = [
        {
            "email": "j@example.org",
            "first_name": "Jo",
            "last_name": "Son",
            "tags": ["Music"],
            "attributes": {"favourite genre": "Folk"},
            "external_ids": {"website": "W-9"},
            "addresses": [
                {"line1": "1 A", "country": "GB"},
                {"line1": "2 B", "billing": True},
            ],
        },
        "not json",
        {"email": "k@example.org", "first_name": "K", "last_name": "L", "shoe": 9},
        {"email": "m@example.org", "first_name": "M", "last_name": "N", "tags": "Music"},
    ]
    data = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines).encode()
    summary, rejects = await run_import(core, name, data, tmp_path, fmt="jsonl")
    assert (summary.created, summary.rejected) == (1, 3)
    assert [(r["reject_line"], r["reject_reason"]) for r in rejects] == [
        (2, "record: not a JSON object"),
        (3, "shoe: unknown field (see docs/import-export.md)"),
        (4, "tags: a list of names"),
    ]
    assert rejects[0]["raw"] == "not json"
    view = await customer_service.find_customer_by_email(core, owner_of(tenant_id), "j@example.org")
    assert [(a.line1, a.is_billing, a.is_delivery) for a in view.addresses] == [
        ("1 A", False, True),
        ("2 B", True, False),
    ]


async def test_import_stays_in_its_tenant(core: Core, tmp_path: Path) -> None:
    first, first_id = await make_tenant(core)
    second, second_id = await make_tenant(core)
    data = _csv("same@example.org,Ann,Lee,,,,,,,W-1,,,")
    await run_import(core, first, data, tmp_path)
    summary, _ = await run_import(core, second, data, tmp_path)
    assert summary.created == 1
    a = await customer_service.find_customer_by_email(core, owner_of(first_id), "same@example.org")
    b = await customer_service.find_customer_by_email(core, owner_of(second_id), "same@example.org")
    assert a.id != b.id


async def test_bulk_rows_are_stamped_with_the_session_tenant(core: Core) -> None:
    async with core.uow(7) as uow:
        rows: list[dict[str, Any]] = [{"id": 1}]
        stamp_rows(uow.session, rows)
        assert rows[0]["tenant_id"] == 7
        with pytest.raises(UnscopedQueryError):
            stamp_rows(uow.session, [{"id": 2, "tenant_id": 8}])
    async with core.uow(None) as uow:
        with pytest.raises(UnscopedQueryError):
            stamp_rows(uow.session, [{"id": 3}])


async def test_bulk_inserts_refuse_a_taken_key_and_write_each_row_once(
    core: Core, tenant: tuple[str, int], tmp_path: Path
) -> None:
    name, tenant_id = tenant
    await run_import(core, name, _csv("keyed@example.org,Keyed,Person,,,,VIP,,,,,,"), tmp_path)
    async with core.uow(tenant_id) as uow:
        (customer,) = (
            await store_bulk.customers_by_email_keys(uow.session, ["keyed@example.org"])
        ).values()
        key = customer.id
    now = bulk._now()
    twin = {
        **bulk._new_customer(
            key,
            bulk._Row(
                1,
                None,
                values={"email": "twin@example.org", "first_name": "T", "last_name": "W"},
                email_key="twin@example.org",
            ),
            now,
        )
    }
    # A strict insert meeting a taken key refuses the whole batch (the caller runs it again).
    async with core.uow(tenant_id, write=True) as uow:
        await store_bulk.prepare(uow.session, [Customer])
        with pytest.raises(store_bulk.BulkConflict):
            await store_bulk.insert_tables(uow.session, [(Customer, [twin], True)])
    # Two inserts into one table in a transaction write each row once.
    async with core.uow(tenant_id, write=True) as uow:
        await store_bulk.prepare(uow.session, [TimelineEntry])
        for kind in ("note", "other"):
            entry = {
                "id": 10**12 + len(kind),
                "customer_id": key,
                "occurred_at": now,
                "kind": kind,
                "actor": "test",
                "data": {},
            }
            await store_bulk.insert_rows(uow.session, TimelineEntry, [entry], strict=True)
        await uow.commit()
    async with owner_connection(core) as connection:
        kinds = (
            (
                await connection.execute(
                    select(TimelineEntry.kind).where(
                        TimelineEntry.tenant_id == tenant_id, TimelineEntry.customer_id == key
                    )
                )
            )
            .scalars()
            .all()
        )
    assert sorted(kinds) == ["created", "note", "other"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
async def test_export_imports_back_losslessly(
    core: Core, tenant: tuple[str, int], tmp_path: Path, fmt: str
) -> None:
    name, tenant_id = tenant
    await run_import(core, name, EXAMPLE.read_bytes(), tmp_path)
    owner = owner_of(tenant_id)
    # Parts the file format has no shortcut for, set through the API.
    made = await customer_service.create_customer(
        core,
        owner,
        NewCustomer(
            first_name="Semi",
            last_name="Colon",
            email="semi@example.org",
            gender="x",
            language="cs",
            friendly_id="F-1",
            attributes={"testfield": "hidden; with a semicolon"},
        ),
    )
    from boxoffice.domain.commands import NewAddress

    await customer_service.add_address(core, owner, made.id, NewAddress(line1="1 A", town="T"))
    await customer_service.add_address(
        core, owner, made.id, NewAddress(line1="2 B", is_billing=True, country="FR")
    )
    exported = await export(core, name, fmt, page_size=2)
    copy, _ = await make_tenant(core)
    path = tmp_path / f"export.{fmt}"
    path.write_text(exported, encoding="utf-8")
    summary, rejects = await run_import(core, copy, path.read_bytes(), tmp_path, fmt=fmt)
    assert (summary.created, summary.rejected, rejects) == (4, 0, [])
    again = await export(core, copy, fmt)

    def without_ids(text: str) -> list[str]:
        if fmt == "csv":
            return sorted(",".join(r[1:]) for r in csv.reader(io.StringIO(text)))
        return sorted(
            json.dumps({k: v for k, v in json.loads(line).items() if k != "id"})
            for line in text.splitlines()
        )

    assert without_ids(again) == without_ids(exported)
    assert len(exported.splitlines()) == (5 if fmt == "csv" else 4)


async def test_export_pages_by_key_and_skips_erased_customers(
    core: Core, tenant: tuple[str, int], tmp_path: Path
) -> None:
    name, tenant_id = tenant
    lines = [f"p{i}@example.org,P,{i},,,,,,,,,," for i in range(7)]
    await run_import(core, name, _csv(*lines), tmp_path)
    exported = await export(core, name, "jsonl", page_size=3)
    records = [json.loads(line) for line in exported.splitlines()]
    assert len(records) == 7
    assert records == sorted(records, key=lambda r: int(r["id"][2:].replace("-", ""), 36))
    from boxoffice.services import erasure

    victim = await customer_service.find_customer_by_email(
        core, owner_of(tenant_id), "p3@example.org"
    )
    await erasure.erase_customer(core, owner_of(tenant_id), victim.id)
    assert len((await export(core, name, "csv")).splitlines()) == 1 + 6


async def test_a_customer_created_meanwhile_is_matched_on_the_batch_retry(
    core: Core, tenant: tuple[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API creates the email between the batch's lookup and its insert: the batch rolls
    back whole and runs again, and then matches the new customer instead of failing."""
    name, tenant_id = tenant
    from boxoffice.store import bulk as store_bulk

    owner = owner_of(tenant_id)
    real = store_bulk.customers_by_email_keys
    calls = {"n": 0}

    async def racing(session: Any, email_keys: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            found = await real(session, email_keys)
            await session.rollback()  # let the API's write in (SQLite holds one writer)
            # The API's write comes from another worker; one that does not queue at this
            # process's SQLite writers' gate, which the import's unit of work holds.
            await customer_service.create_customer(
                dataclasses.replace(core, write_gate=None),
                owner,
                NewCustomer(first_name="Api", last_name="First", email="race@example.org"),
            )
            await session.connection(execution_options={"boxoffice_write": True})
            return found
        return await real(session, email_keys)

    monkeypatch.setattr(store_bulk, "customers_by_email_keys", racing)
    summary, rejects = await run_import(
        core,
        name,
        _csv("race@example.org,Imp,Second,,,,Drama,,,,,,", "other@example.org,O,K,,,,,,,,,,"),
        tmp_path,
    )
    assert calls["n"] == 2
    assert (summary.created, summary.updated, rejects) == (1, 1, [])
    view = await customer_service.find_customer_by_email(core, owner, "race@example.org", ALL_PARTS)
    assert (view.first_name, view.last_name) == ("Imp", "Second")
    assert [t.name for t in view.tags] == ["Drama"]


async def test_each_committed_batch_leaves_one_audit_entry_with_counts_and_no_values(
    core: Core, tenant: tuple[str, int], tmp_path: Path
) -> None:
    name, tenant_id = tenant
    lines = [
        f"auditee{i}@example.org,Auditee{i},Surname{i},,,,VIP,,Opera,AU-{i},{i} Road,Leeds,GB"
        for i in range(5)
    ]
    before = len(await audit.list_entries(core, name))
    token = set_caller(audit.operator())  # as the CLI names its operator
    try:
        summary, _ = await run_import(core, name, _csv(*lines), tmp_path, batch_size=2)
        assert (summary.created, summary.batches) == (5, 3)
        entries = (await audit.list_entries(core, name))[before:]
        # One entry per committed batch, by the operator, naming tables and counts only.
        assert [e.action for e in entries] == ["customer.created"] * 3
        assert {(e.actor, e.credential) for e in entries} == {("cli", "operator-cli")}
        assert {e.tenant_id for e in entries} == {tenant_id}
        assert all(e.customer_id is None and e.target_kind == "customers" for e in entries)
        for entry, size in zip(entries, (2, 2, 1), strict=True):
            rows = {c["table"]: c["rows"] for c in entry.changes}
            assert rows == {
                "customers": size,
                "customer_addresses": size,
                "customer_attribute_values": size,
                "customer_tags": size,
                "customer_source_records": size,
                "timeline_entries": size,
            }
            assert {c["op"] for c in entry.changes} == {"bulk-insert"}
        text = repr(entries)
        for value in ("auditee", "Auditee", "Surname", "AU-", "Road", "Leeds"):
            assert value not in text

        # Re-running the file writes nothing, so it records nothing.
        again, _ = await run_import(core, name, _csv(*lines), tmp_path, batch_size=2)
        assert again.unchanged == 5
        assert len(await audit.list_entries(core, name)) == before + 3

        # An update is recorded as a change, still without values.
        changed = lines[0].replace("Auditee0", "Renamed0")
        updated, _ = await run_import(core, name, _csv(changed), tmp_path)
        assert updated.updated == 1
        (entry,) = (await audit.list_entries(core, name))[before + 3 :]
        assert entry.action == "customer.changed"
        assert {"table": "timeline_entries", "op": "bulk-insert", "rows": 1, "kind": "changed"} in (
            entry.changes
        )
        assert "Renamed0" not in repr(entry)
    finally:
        reset_caller(token)
