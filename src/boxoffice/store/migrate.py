"""Schema migrations (Alembic), run programmatically: ``boxoffice migrate``.

Alembic (with Mako and Pygments behind it, about 10 MB per process) is imported inside the
functions: a serving worker imports this module through ``bootstrap`` but never migrates.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Create or upgrade the schema. Synchronous: call it outside a running event loop."""
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def schema_is_current(database_url: str) -> bool:
    """Whether the database is at the newest migration (synchronous)."""
    import asyncio

    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from boxoffice.store.db import create_engine

    heads = set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())

    async def current() -> set[str]:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with engine.connect() as connection:
                return set(
                    await connection.run_sync(
                        lambda sync: MigrationContext.configure(sync).get_current_heads()
                    )
                )
        finally:
            await engine.dispose()

    return asyncio.run(current()) == heads
