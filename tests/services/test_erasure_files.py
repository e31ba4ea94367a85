"""After an erasure, no byte of the person's data is left in SQLite's files.

``database_traces`` (tests/conftest.py) proves no row holds the person any more; this reads
the files themselves. SQLite leaves deleted and overwritten content in free space inside its
pages unless ``secure_delete`` is on, and keeps earlier versions of every page in the
write-ahead log (``-wal``) until the log is reset. A customer with distinctive values is
created, changed a few times (each old value a needle too), given a password, a session, an
address, a timeline, then erased (and, in a second test, deleted): every file of the database
is then scanned, raw, for every value it ever had.

PostgreSQL keeps dead rows until ``VACUUM`` and its WAL until segments are recycled, which an
application cannot clear safely while serving: ``docs/security.md`` tells operators what
remains and how to clear it (decision 0102).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from boxoffice.bootstrap import Core, build_core
from boxoffice.domain.commands import AddressPatch, CustomerPatch, NewAddress, NewCustomer
from boxoffice.domain.principal import Principal
from boxoffice.services import accounts, erasure
from boxoffice.services import customers as customer_service
from boxoffice.services.accounts import Client
from boxoffice.services.tenants import get_tenant
from boxoffice.settings import Settings
from boxoffice.store.migrate import upgrade
from tests.conftest import SECRET, database_traces, make_tenant


def _build_default_off(dbapi_connection: Any, _record: Any) -> None:
    """What a SQLite built without ``SQLITE_SECURE_DELETE`` does (Debian's has it on)."""
    dbapi_connection.execute("PRAGMA secure_delete=OFF")


@pytest.fixture
async def sqlite_core(tmp_path: Path) -> AsyncIterator[tuple[Core, Path]]:
    """A core on a SQLite file of its own (the session's database is shared by every test),
    whose connections start as on a SQLite built with ``secure_delete`` off: the application
    must turn it on itself."""
    path = tmp_path / "erasure.db"
    url = f"sqlite:///{path}"
    await asyncio.to_thread(upgrade, url)
    core = build_core(
        Settings(database_url=url, secret_key=SECRET, var_dir=tmp_path / "var"), pool_size=2
    )
    event.listen(core.engine.sync_engine, "connect", _build_default_off, insert=True)
    try:
        yield core, path
    finally:
        await core.dispose()


def _files(path: Path) -> list[Path]:
    """The database and every file SQLite keeps beside it (``-wal``, ``-shm``)."""
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(path.name))


def _traces(path: Path, needles: dict[str, str]) -> list[str]:
    found = []
    for file in _files(path):
        data = file.read_bytes().lower()
        found += [
            f"{file.name}: {what}"
            for what, needle in needles.items()
            if needle.lower().encode() in data
        ]
    return found


async def _person(core: Core) -> tuple[Principal, int, dict[str, str]]:
    """A customer whose every value (and every earlier value) is distinctive."""
    name, tenant_id = await make_tenant(core)
    owner = Principal(tenant_id=tenant_id, actor="test", full_access=True)
    mark = uuid.uuid4().hex[:8]
    needles = {
        "email": f"zelda.{mark}@example.org",
        "first name": f"Zelda{mark}",
        "last name": f"Quux{mark}",
        "address": f"{mark} Lantern Lane",
        "town": f"Glimmerton{mark}",
        "phone": f"+44790{int(mark, 16) % 10**6:06d}",
    }
    view = await customer_service.create_customer(
        core,
        owner,
        NewCustomer(
            first_name=needles["first name"],
            last_name=needles["last name"],
            email=needles["email"],
            phone=needles["phone"],
            password=f"Pw-{mark}-secret",
            addresses=(NewAddress(line1=needles["address"], town=needles["town"]),),
        ),
    )
    for round in range(3):  # each value changed: the old ones are needles too
        needles[f"email {round}"] = f"zelda{round}.{mark}@example.org"
        needles[f"first name {round}"] = f"Zeldina{round}{mark}"
        needles[f"address {round}"] = f"{round}{mark} Beacon Road"
        await customer_service.update_customer(
            core,
            owner,
            view.id,
            CustomerPatch(
                first_name=needles[f"first name {round}"], email=needles[f"email {round}"]
            ),
        )
        await customer_service.update_address(
            core,
            owner,
            view.id,
            view.addresses[0].id,
            AddressPatch(line1=needles[f"address {round}"]),
        )
    tenant = await get_tenant(core, name)
    await accounts.authenticate(
        core,
        tenant,
        Client(ip="127.0.0.1", base_url="http://testserver"),
        needles["email 2"],
        f"Pw-{mark}-secret",
    )
    return owner, view.id, needles


@pytest.mark.parametrize("how", ["erase", "delete"])
async def test_no_byte_of_an_erased_person_stays_in_the_files(
    sqlite_core: tuple[Core, Path], how: str
) -> None:
    core, path = sqlite_core
    owner, customer_id, needles = await _person(core)
    # Before: the person is in the files (the check can find what it looks for).
    assert {t.split(": ", 1)[1] for t in _traces(path, needles)} == set(needles)

    if how == "erase":
        await erasure.erase_customer(core, owner, customer_id)
    else:
        await erasure.delete_customer(core, owner, customer_id)

    assert await database_traces(core, needles) == []
    assert _traces(path, needles) == []


async def test_every_connection_has_secure_delete_on(sqlite_core: tuple[Core, Path]) -> None:
    core, _ = sqlite_core
    async with core.engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA secure_delete"))).scalar() == 1
