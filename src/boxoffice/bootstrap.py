"""The composition root: settings -> engine -> sessions -> the services' ``Core``."""

from __future__ import annotations

from boxoffice.security.secrets_at_rest import SecretBox
from boxoffice.services.core import Core
from boxoffice.settings import Settings
from boxoffice.store import migrate
from boxoffice.store.db import create_engine, session_factory


def build_core(settings: Settings, *, pool_size: int = 10) -> Core:
    engine = create_engine(settings.resolved_database_url(), pool_size=pool_size)
    return Core(
        engine=engine,
        sessions=session_factory(engine),
        secret_box=SecretBox(settings.resolved_secret_key()),
        signature_window_seconds=settings.signature_window_seconds,
    )


def migrate_database(settings: Settings) -> None:
    """Create or upgrade the schema (synchronous; call outside an event loop)."""
    migrate.upgrade(settings.resolved_database_url())


async def check_database(core: Core) -> None:
    """Readiness: one round trip to the database."""
    from sqlalchemy import text

    async with core.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
