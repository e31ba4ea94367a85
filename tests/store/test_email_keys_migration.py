"""Migration 0009: a database at 0008, with keys made the old way (``casefold()``), upgraded,
has the keys of ``rules.normalise_email``; customers who turn out to share a mailbox keep one
key between them; the downgrade puts the old keys back. SQLite and PostgreSQL, in batches."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext

from boxoffice.domain.rules import normalise_email
from boxoffice.store.db import create_engine
from boxoffice.store.migrate import MIGRATIONS, alembic_config, upgrade
from tests.store.test_migrations import fresh_url

__all__ = ["fresh_url"]

TENANTS = sa.table(
    "tenants",
    sa.column("id", sa.BigInteger),
    sa.column("name", sa.String),
    sa.column("display_name", sa.String),
    sa.column("settings", sa.JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
CUSTOMERS = sa.table(
    "customers",
    sa.column("tenant_id", sa.BigInteger),
    sa.column("id", sa.BigInteger),
    sa.column("email", sa.String),
    sa.column("email_key", sa.String),
    sa.column("title", sa.String),
    sa.column("first_name", sa.String),
    sa.column("last_name", sa.String),
    sa.column("credit_balance", sa.Numeric),
    sa.column("state", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("version", sa.Integer),
)

#: (tenant, customer id, stored address); every key made with ``casefold()``, as before 0009.
PEOPLE = [
    (1, 10, "dora@grossbank.example"),
    (1, 11, "Straße@example.de"),  # casefold: strasse@example.de
    (1, 12, "ANA@EXAMPLE.ORG"),
    (1, 13, "jos\u00e9@example.es"),  # NFC
    (1, 14, "jose\u0301@example.es"),  # NFD: the same mailbox; casefold kept them apart
    (1, 15, "ada@ＢＵＣＨ.example"),  # full width: the domain is buch.example
    (1, 16, "ada@buch.example"),  # unchanged key: keeps it against 15
    (1, 17, "zoë@xn--grobank-2va.example"),
    (1, 18, "Zoë@Großbank.example"),  # the same mailbox as 17, moving later
    (1, 19, None),  # an erased customer: no address, no key
    (2, 10, "dora@großbank.example"),  # another tenant: casefold made it grossbank
    (2, 11, "ΟΔΟΣ@example.gr"),
]


def _migration_0009() -> ModuleType:
    path = MIGRATIONS / "versions" / "0009_email_keys_per_mailbox.py"
    spec = importlib.util.spec_from_file_location("boxoffice_migration_0009", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _fill(url: str, people: list[tuple[int, int, str | None]]) -> None:
    now = datetime.now(UTC)
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            for tenant in sorted({t for t, _, _ in people}):
                await connection.execute(
                    sa.insert(TENANTS).values(
                        id=tenant, name=f"t{tenant}", display_name="", settings={}, created_at=now
                    )
                )
            for start in range(0, len(people), 1000):
                await connection.execute(
                    sa.insert(CUSTOMERS),
                    [
                        {
                            "tenant_id": t,
                            "id": i,
                            "email": e,
                            "email_key": e.strip().casefold() if e is not None else None,
                            "title": "",
                            "first_name": "",
                            "last_name": "",
                            "credit_balance": Decimal("0"),
                            "state": "active" if e is not None else "erased",
                            "created_at": now,
                            "updated_at": now,
                            "version": 1,
                        }
                        for t, i, e in people[start : start + 1000]
                    ],
                )
    finally:
        await engine.dispose()


def _keys(url: str) -> dict[tuple[int, int], str | None]:
    async def read() -> dict[tuple[int, int], str | None]:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.connect() as connection:
                c = CUSTOMERS.c
                rows = await connection.execute(sa.select(c.tenant_id, c.id, c.email_key))
                return {(int(t), int(i)): k for t, i, k in rows}
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_upgrade_gives_each_customer_the_key_of_its_mailbox_and_downgrade_the_old_one(
    fresh_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    upgrade(fresh_url, "0008")
    asyncio.run(_fill(fresh_url, PEOPLE))
    before = _keys(fresh_url)
    assert before[(2, 10)] == before[(1, 10)] == "dora@grossbank.example"  # the flaw
    with caplog.at_level(logging.WARNING, logger="boxoffice.migrations"):
        upgrade(fresh_url, "0009")
    after = _keys(fresh_url)
    assert after == {
        (1, 10): "dora@grossbank.example",
        (1, 11): "straße@example.de",
        (1, 12): "ana@example.org",
        (1, 13): "jos\u00e9@example.es",
        (1, 14): None,  # the same mailbox as 13, which has the lower id
        (1, 15): None,  # the same mailbox as 16, whose key did not change
        (1, 16): "ada@buch.example",
        (1, 17): "zoë@xn--grobank-2va.example",
        (1, 18): None,  # the same mailbox as 17
        (1, 19): None,
        (2, 10): "dora@xn--grobank-2va.example",
        (2, 11): "οδος@example.gr",
    }
    for (tenant, customer), email in {(t, i): e for t, i, e in PEOPLE}.items():
        if after[(tenant, customer)] is not None:
            assert email is not None and after[(tenant, customer)] == normalise_email(email)
    warned = [r.getMessage() for r in caplog.records if r.name == "boxoffice.migrations"]
    assert len(warned) == 3 and all("merge the two customers" in w for w in warned)
    assert any("customer 14 of tenant 1" in w for w in warned)

    command.downgrade(alembic_config(fresh_url), "0008")
    back = _keys(fresh_url)
    # casefold joins 2/10 with nobody in tenant 2, and 1/11 keeps strasse@; the keys cleared
    # on the way up stay cleared (their customers still wait to be merged)
    assert back[(2, 10)] == "dora@grossbank.example"
    assert back[(1, 11)] == "strasse@example.de"
    assert back[(1, 13)] == "jos\u00e9@example.es" and back[(1, 14)] is None
    assert back[(1, 12)] == "ana@example.org"


def test_the_downgrade_settles_ss_and_sharp_s_the_old_way(fresh_url: str) -> None:
    """After the upgrade, ``großbank`` and ``grossbank`` may both be customers; casefold makes
    them one key again on the way down: the lower id keeps it."""
    upgrade(fresh_url, "0008")
    asyncio.run(_fill(fresh_url, [(1, 10, "dora@example.org")]))
    upgrade(fresh_url, "0009")

    async def add() -> None:
        engine = create_engine(fresh_url, pool_size=1)
        now = datetime.now(UTC)
        try:
            async with engine.begin() as connection:
                for i, email in ((20, "dora@großbank.example"), (21, "dora@grossbank.example")):
                    await connection.execute(
                        sa.insert(CUSTOMERS).values(
                            tenant_id=1,
                            id=i,
                            email=email,
                            email_key=normalise_email(email),
                            title="",
                            first_name="",
                            last_name="",
                            credit_balance=Decimal("0"),
                            state="active",
                            created_at=now,
                            updated_at=now,
                            version=1,
                        )
                    )
        finally:
            await engine.dispose()

    asyncio.run(add())
    command.downgrade(alembic_config(fresh_url), "0008")
    back = _keys(fresh_url)
    assert back[(1, 21)] == "dora@grossbank.example"  # unchanged, so it keeps the key
    assert back[(1, 20)] is None


def _recompute_with_op(url: str, fn: Callable[[], object], seen: list[tuple[str, bool]]) -> object:
    """``fn()`` with Alembic's ``op`` bound to a connection to ``url`` (committed), noting each
    statement and whether it ran for many rows."""

    def note(*args: Any) -> None:
        seen.append((" ".join(str(args[2]).split()), bool(args[5])))

    async def go() -> object:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.connect() as connection:

                def run(sync: sa.Connection) -> object:
                    sa.event.listen(sync, "before_cursor_execute", note)
                    with Operations.context(MigrationContext.configure(sync)):
                        return fn()

                result = await connection.run_sync(run)
                await connection.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_thousands_of_customers_move_in_batches(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    people: list[tuple[int, int, str | None]] = [
        (1 + i % 3, i, f"Kund{i}@Bücher.example" if i % 2 else f"Kunde{i}@Example.org")
        for i in range(1, 2501)
    ]
    upgrade(fresh_url, "0008")
    asyncio.run(_fill(fresh_url, people))
    module = _migration_0009()
    monkeypatch.setattr(module, "BATCH", 100)
    seen: list[tuple[str, bool]] = []
    lost = _recompute_with_op(fresh_url, lambda: module.recompute(normalise_email), seen)
    assert lost == []
    after = _keys(fresh_url)
    for tenant, customer, email in people:
        assert email is not None and after[(tenant, customer)] == normalise_email(email)
    assert after[(2, 1)] == "kund1@xn--bcher-kva.example"
    batches = 2500 // 100 + 1  # the last read finds nothing
    reads = [s for s, _ in seen if s.startswith("SELECT customers.tenant_id, customers.id,")]
    assert len(reads) == batches
    writes = [s for s, _ in seen if s.startswith(("INSERT", "UPDATE"))]
    assert 0 < len(writes) <= 4 * batches  # per batch, never per customer (1250 move)
