"""Helpers of the box-office tests: a tenant with the demo box office, statement counts."""

from __future__ import annotations

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
