"""row-level security policies read their settings once per statement (PostgreSQL)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 14:30:00.000000

Migration 0005's policy calls ``current_setting`` in the row filter, so PostgreSQL evaluated it
twice for every row a statement scans (half the time of counting a tenant's customers). Written
as scalar subqueries, ``(SELECT current_setting(...))``, the settings become InitPlans: read
once per statement, the rule itself unchanged (the bypass when ``boxoffice.bypass_rls`` is
``on``, else the rows whose ``tenant_id`` is ``boxoffice.tenant_id``, no row when that is empty
or missing). The tables and the policy are 0005's own (read from that module); the downgrade
puts 0005's rule back. SQLite has no row-level security: nothing to do there.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

RULE = (
    "(SELECT current_setting('boxoffice.bypass_rls', true)) = 'on' "
    "OR tenant_id = (SELECT NULLIF(current_setting('boxoffice.tenant_id', true), '')::bigint)"
)


def _revision_0005() -> ModuleType:
    """0005's module (its file name is no importable module name), for its tables, policy and
    rule."""
    path = Path(__file__).with_name("0005_row_level_security.py")
    spec = importlib.util.spec_from_file_location("boxoffice_migration_0005", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _alter(rule: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    rls = _revision_0005()
    for table in rls.TABLES:
        op.execute(f"ALTER POLICY {rls.POLICY} ON {table} USING ({rule}) WITH CHECK ({rule})")


def upgrade() -> None:
    _alter(RULE)


def downgrade() -> None:
    _alter(_revision_0005().RULE)
