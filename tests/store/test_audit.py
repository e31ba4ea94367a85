"""The audit log as the unit of work writes it: one entry per committed write, none for reads
or rolled-back writes, keys and column names but no values. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from boxoffice.bootstrap import Core
from boxoffice.services import audit
from boxoffice.services import catalogue as catalogue_service
from boxoffice.services import tenants as tenant_service
from boxoffice.store.audit import MAX_CHANGES
from boxoffice.store.models import TenantOrigin
from tests.conftest import demo_catalogue, unique_name


async def test_operator_writes_name_the_operator_and_the_new_tenant(core: Core) -> None:
    name = unique_name()
    token = audit.start_request()
    try:
        audit.identify(audit.Caller("cli", "operator-cli", "alice"))
        view = await tenant_service.create_tenant(core, name, origins=("https://a.example",))
        await catalogue_service.load_catalogue(core, name, demo_catalogue())
    finally:
        audit.end_request(token)
    created, loaded = await audit.list_entries(core, name)
    assert (created.tenant_id, created.action, created.target_kind, created.target_id) == (
        view.id,
        "tenants.insert+tenant_origins.insert",
        "tenants",
        str(view.id),
    )
    assert (created.actor, created.credential, created.credential_id) == (
        "cli",
        "operator-cli",
        "alice",
    )
    assert {"table": "tenant_origins", "op": "insert", "key": {"origin": "https://a.example"}} in (
        created.changes
    )
    # A big write lists its first changes and counts the rest; its action names every table.
    named, more = loaded.action.rsplit("+", 1)
    assert len(named.split("+")) == 4 and more.endswith(" more") and int(more.split()[0]) > 0
    assert len(loaded.changes) == MAX_CHANGES + 1
    assert set(loaded.changes[-1]) == {"more"} and loaded.changes[-1]["more"] > 0


async def test_reads_and_rolled_back_writes_leave_no_entry(
    core: Core, tenant: tuple[str, int]
) -> None:
    name, tenant_id = tenant
    before = await audit.list_entries(core, name)
    async with core.uow(tenant_id) as uow:
        await uow.catalogue.tags()
        await uow.commit()
    async with core.uow(tenant_id, write=True) as uow:
        uow.operators.add(TenantOrigin(origin="https://never.example"))
        await uow.flush()  # written, then rolled back: never committed
    with pytest.raises(IntegrityError):
        async with core.uow(tenant_id, write=True) as uow:
            uow.operators.add(TenantOrigin(origin="http://localhost:8080"))  # exists already
            await uow.commit()
    assert await audit.list_entries(core, name) == before
    # The next committed write is recorded alone.
    async with core.uow(tenant_id, write=True) as uow:
        uow.operators.add(TenantOrigin(origin="https://later.example"))
        await uow.commit()
    (entry,) = (await audit.list_entries(core, name))[len(before) :]
    assert entry.changes == (
        {"table": "tenant_origins", "op": "insert", "key": {"origin": "https://later.example"}},
    )
    assert entry.occurred_at <= datetime.now(UTC)
