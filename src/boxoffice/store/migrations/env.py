"""Alembic environment: runs migrations on the application's async engine."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection

from boxoffice.store.db import create_engine
from boxoffice.store.models import Base, UtcDateTime

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render the application's column types as the plain SQLAlchemy types they store as."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Migrations run as the tables' owner, whom FORCE ROW LEVEL SECURITY (0005) would
        # otherwise hold to one tenant: data migrations see and change every tenant's rows.
        connection.exec_driver_sql("SELECT set_config('boxoffice.bypass_rls', 'on', false)")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _main(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run() -> None:
    url: Any = config.attributes.get("database_url")
    if context.is_offline_mode():
        raise RuntimeError("offline migrations are not supported")
    asyncio.run(_main(str(url)))


run()
