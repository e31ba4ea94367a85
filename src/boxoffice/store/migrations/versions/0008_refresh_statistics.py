"""planner statistics the application may refresh (PostgreSQL): for bulk imports

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 13:40:00.000000

A bulk import grows the customer tables from nothing to millions of rows in one connection.
PostgreSQL plans each foreign-key check once per connection and keeps the plan until the
referenced table's statistics change; planned on a table that was never analyzed, the check
on ``customers (tenant_id, id)`` picks an index that starts with ``tenant_id`` alone and
filters ``id``: every check then reads all of the tenant's customers, and the import slows
down quadratically. Only a table's owner may ``ANALYZE`` it, and the application runs as
``boxoffice_app``: this function (``SECURITY DEFINER``, owned by the migrating role, no
arguments, a fixed list of tables) lets it refresh the statistics of the tables an import
writes. SQLite needs nothing here.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

APP_ROLE = "boxoffice_app"
FUNCTION = "boxoffice_analyze_customer_tables"
#: The tables ``services/bulk.py`` writes (``_BULK_MODELS``), parents first.
TABLES = (
    "customers",
    "customer_addresses",
    "customer_attribute_values",
    "customer_tags",
    "customer_consents",
    "consent_changes",
    "customer_source_records",
    "timeline_entries",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    tables = ", ".join(TABLES)
    op.execute(
        f"""
        DO $$
        BEGIN
            EXECUTE format(
                'CREATE FUNCTION %I.{FUNCTION}() RETURNS void LANGUAGE sql SECURITY DEFINER '
                'SET search_path = %I AS $f$ ANALYZE {tables} $f$',
                current_schema(), current_schema());
        END
        $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {FUNCTION}() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {FUNCTION}() TO {APP_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
