"""Helpers of the box-office tests: a tenant with the demo box office, statement counts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import event

from boxoffice.bootstrap import Core
from boxoffice.services import catalogue as catalogue_service
from tests.conftest import make_tenant

DEMO_BOX_OFFICE = (
    Path(__file__).resolve().parents[2] / "src" / "boxoffice" / "catalogs" / "demo_box_office.yaml"
)


def demo_box_office() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEMO_BOX_OFFICE.read_text(encoding="utf-8"))
    return data


async def box_office_tenant(core: Core) -> tuple[str, int]:
    """A new tenant with the demo catalogue and the demo box office: (name, id)."""
    name, tenant_id = await make_tenant(core)
    await catalogue_service.load_catalogue(core, name, demo_box_office())
    return name, tenant_id


@contextmanager
def statements(core: Core) -> Iterator[list[str]]:
    """The SQL statements sent by read-only units of work meanwhile (tenant settings left out)."""
    engine = (core.read_engine or core.engine).sync_engine
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "set_config" not in statement:
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def until_another_waits_for_a_lock(url: str, what: str) -> None:
    """Return once another connection of this database waits for a lock (PostgreSQL: bounded
    by a count of polls, not a time); elsewhere (SQLite: one process, one writer) let the
    event loop run other tasks a while. ``what``: for the failure message."""
    if not url.startswith("postgresql"):
        for _ in range(50):
            await asyncio.sleep(0)
        return
    from sqlalchemy import text

    from boxoffice.store.db import create_engine

    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock'"
    )
    engine = create_engine(url, pool_size=1, role=None)
    try:
        for _ in range(3000):  # a bound, not a timing
            async with engine.connect() as connection:
                if (await connection.execute(waiting)).scalar():
                    return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{what} never waited")
    finally:
        await engine.dispose()
