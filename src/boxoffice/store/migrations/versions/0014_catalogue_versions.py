"""a version of each tenant's programme and prices, kept by the database (catalogue read caches)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 01:15:00.000000

A venue's website reads the programme (``GET events?$expand=instances``) far more often than
anyone changes it. ``catalogue_versions`` holds, per tenant, a number that changes in the
transaction of every change to what the programme and its prices are built from: events,
instances, price lists, prices, ticket types, price bands, the typed attribute definitions
(``item_attributes``) and the tenant's time zone. A process may then keep what it built from
those rows and check, with one read of one row, that it is still exact (decision 0123).

Triggers keep it, whichever path writes (the catalogue load, the demo, a test, a raw ``psql``),
one row trigger per table on both databases (catalogue changes are rare and small: a load
writes hundreds of rows). An insert or update upserts the tenant's row (``version + 1``, or 1
for a tenant's first); a delete only updates it, so that deleting a tenant (whose cascade
deletes its events after its own row's version row) inserts nothing referring to it. The
tenant's time zone bumps it only when it changes. The upgrade gives every existing tenant its
row. Tenant id first in the key; on PostgreSQL the same row-level security policy as every
tenant-owned table (0005, in 0007's form): the triggers run as the writer, under it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLE = "catalogue_versions"
POLICY = "tenant_isolation"
#: 0007's rule (the settings read once per statement).
RULE = (
    "(SELECT current_setting('boxoffice.bypass_rls', true)) = 'on' "
    "OR tenant_id = (SELECT NULLIF(current_setting('boxoffice.tenant_id', true), '')::bigint)"
)
KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: The tables whose rows the programme and the price lists are built from.
SOURCES = (
    "events",
    "instances",
    "item_attributes",
    "price_lists",
    "prices",
    "ticket_types",
    "price_bands",
)

#: PostgreSQL names the existing row by an alias; SQLite (no alias in a trigger) by the column.
_BUMP = (
    "INSERT INTO catalogue_versions AS v (tenant_id, version) VALUES ({tenant}, 1) "
    "ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;"
)
_SQLITE_BUMP = (
    "INSERT INTO catalogue_versions (tenant_id, version) VALUES ({tenant}, 1) "
    "ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;"
)
_BUMP_EXISTING = "UPDATE catalogue_versions SET version = version + 1 WHERE tenant_id = {tenant};"


def _sqlite_triggers() -> list[str]:
    out = []
    for table in SOURCES:
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            bump = _BUMP_EXISTING if event == "DELETE" else _SQLITE_BUMP
            out.append(
                f"CREATE TRIGGER catalogue_version_{table}_{event.lower()} "
                f"AFTER {event} ON {table} "
                f"BEGIN {bump.format(tenant=f'{row}.tenant_id')} END"
            )
    out.append(
        "CREATE TRIGGER catalogue_version_tenants_time_zone "
        "AFTER UPDATE OF time_zone ON tenants WHEN OLD.time_zone IS NOT NEW.time_zone "
        f"BEGIN {_SQLITE_BUMP.format(tenant='NEW.id')} END"
    )
    return out


def _sqlite_trigger_names() -> list[str]:
    names = [
        f"catalogue_version_{table}_{event}"
        for table in SOURCES
        for event in ("insert", "update", "delete")
    ]
    return [*names, "catalogue_version_tenants_time_zone"]


POSTGRESQL_FUNCTIONS = (
    f"""
    CREATE FUNCTION catalogue_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            {_BUMP_EXISTING.format(tenant="OLD.tenant_id")}
        ELSE
            {_BUMP.format(tenant="NEW.tenant_id")}
        END IF;
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE FUNCTION catalogue_version_time_zone() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_BUMP.format(tenant="NEW.id")}
        RETURN NULL;
    END
    $$
    """,
)


def _postgresql_triggers() -> list[str]:
    out = [
        f"CREATE TRIGGER catalogue_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION catalogue_version_bump()"
        for table in SOURCES
    ]
    out.append(
        "CREATE TRIGGER catalogue_version_time_zone AFTER UPDATE OF time_zone ON tenants "
        "FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone) "
        "EXECUTE FUNCTION catalogue_version_time_zone()"
    )
    return out


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("tenant_id", KEY, nullable=False),
        sa.Column("version", KEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_catalogue_versions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_catalogue_versions")),
    )
    op.execute("INSERT INTO catalogue_versions (tenant_id, version) SELECT id, 1 FROM tenants")
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        for function in POSTGRESQL_FUNCTIONS:
            op.execute(function)
    for statement in _postgresql_triggers() if postgresql else _sqlite_triggers():
        op.execute(statement)
    if postgresql:
        # 0005's default privileges grant it to the application role when the same role
        # migrates; granted here too for a database migrated by another role since.
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {TABLE} TO boxoffice_app")
        op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {TABLE} USING ({RULE}) WITH CHECK ({RULE})")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        for table in SOURCES:
            op.execute(f"DROP TRIGGER IF EXISTS catalogue_version ON {table}")
        op.execute("DROP TRIGGER IF EXISTS catalogue_version_time_zone ON tenants")
        op.execute("DROP FUNCTION IF EXISTS catalogue_version_bump()")
        op.execute("DROP FUNCTION IF EXISTS catalogue_version_time_zone()")
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {TABLE}")
    else:
        for name in _sqlite_trigger_names():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table(TABLE)
