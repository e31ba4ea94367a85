"""Engines: SQL parameters never reach a log line or an error message, at any log level."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from boxoffice.api.common.observability import configure_logging
from boxoffice.store.db import create_engine

SECRET_PARAMETER = "ada.parameter@example.org"


class _Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


@pytest.fixture
def every_log_line() -> Iterator[list[str]]:
    """Every standard-library log record, at DEBUG, as ``BOXOFFICE_LOG_LEVEL=DEBUG`` sets the
    root logger; SQLAlchemy's own engine logger turned on too, as an operator debugging SQL
    would (``sqlalchemy.engine`` at DEBUG)."""
    configure_logging("DEBUG")
    root = logging.getLogger()
    handler = _Everything()
    levels = {name: logging.getLogger(name).level for name in ("", "sqlalchemy.engine")}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


async def test_sql_parameters_are_never_logged_nor_in_errors(
    database_url: str, every_log_line: list[str]
) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(
                text("SELECT count(*) FROM customers WHERE email = :email"),
                {"email": SECRET_PARAMETER},
            )
            assert found.scalar() == 0
            with pytest.raises(DBAPIError) as failed:
                await connection.execute(
                    text("SELECT no_such_column FROM customers WHERE email = :email"),
                    {"email": SECRET_PARAMETER},
                )
            assert SECRET_PARAMETER not in str(failed.value)
    finally:
        await engine.dispose()
    assert any("SELECT count(*) FROM customers" in line for line in every_log_line)
    assert not [line for line in every_log_line if SECRET_PARAMETER in line]
