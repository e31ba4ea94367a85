"""customer counts per brand and id range, kept by the database (the brand/channel index)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 18:50:00.000000

The brand/channel index pages a tenant's (or a brand's) customers by id with ``itemStart``, an
offset, and answers ``itemTotal``, the number of customers. Counting them and skipping
``itemStart`` of them read the tenant's index entries one by one (100-200 ms at 1M customers).
``customer_counts`` holds, per tenant, brand (``brand_key``: the brand's id, 0 for none) and
range of customer ids (``bucket``: the id divided by 2**34, about 160 ranges over the key
space), how many customers there are: the total is their sum, and an offset is found by adding
them up to the range it falls in, then skipping within that range alone (decision 0119).

Triggers on ``customers`` keep the counts in the writing transaction, whichever path writes
(the services, the bulk import, a raw seed): on SQLite one upsert per row; on PostgreSQL one
aggregated statement per inserting or deleting statement (transition tables: a ``COPY`` or a
bulk ``INSERT ... SELECT`` pays once), and a row trigger for the rare change of a customer's
brand. The upgrade counts the customers already there. Tenant id first in the key; on
PostgreSQL the table gets the same row-level security policy as every tenant-owned table (0005,
in 0007's form), and the triggers run as the writer, under that policy.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLE = "customer_counts"
POLICY = "tenant_isolation"
#: 0007's rule (the settings read once per statement).
RULE = (
    "(SELECT current_setting('boxoffice.bypass_rls', true)) = 'on' "
    "OR tenant_id = (SELECT NULLIF(current_setting('boxoffice.tenant_id', true), '')::bigint)"
)
KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# The bucket is the customer id divided by 2**34 = 17179869184 (``CUSTOMER_COUNT_BUCKET``); the
# brand key is the brand's id, 0 for none. Written out in full in each statement below.

SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER customer_counts_insert AFTER INSERT ON customers
    BEGIN
        INSERT INTO customer_counts (tenant_id, brand_key, bucket, customers)
        VALUES (NEW.tenant_id, COALESCE(NEW.brand_id, 0), NEW.id / 17179869184, 1)
        ON CONFLICT (tenant_id, brand_key, bucket) DO UPDATE SET customers = customers + 1;
    END
    """,
    """
    CREATE TRIGGER customer_counts_delete AFTER DELETE ON customers
    BEGIN
        UPDATE customer_counts SET customers = customers - 1
        WHERE tenant_id = OLD.tenant_id AND brand_key = COALESCE(OLD.brand_id, 0)
            AND bucket = OLD.id / 17179869184;
    END
    """,
    """
    CREATE TRIGGER customer_counts_move AFTER UPDATE OF tenant_id, id, brand_id ON customers
    WHEN OLD.brand_id IS NOT NEW.brand_id OR OLD.id != NEW.id OR OLD.tenant_id != NEW.tenant_id
    BEGIN
        UPDATE customer_counts SET customers = customers - 1
        WHERE tenant_id = OLD.tenant_id AND brand_key = COALESCE(OLD.brand_id, 0)
            AND bucket = OLD.id / 17179869184;
        INSERT INTO customer_counts (tenant_id, brand_key, bucket, customers)
        VALUES (NEW.tenant_id, COALESCE(NEW.brand_id, 0), NEW.id / 17179869184, 1)
        ON CONFLICT (tenant_id, brand_key, bucket) DO UPDATE SET customers = customers + 1;
    END
    """,
)

#: The counts of the customers already there (the upgrade).
BACKFILL = """
    INSERT INTO customer_counts (tenant_id, brand_key, bucket, customers)
    SELECT tenant_id, COALESCE(brand_id, 0), id / 17179869184, count(*) FROM customers
    GROUP BY tenant_id, COALESCE(brand_id, 0), id / 17179869184
"""
# In key order, so that concurrent writers lock the counts they share in the same order.
POSTGRESQL_TRIGGERS = (
    """
    CREATE FUNCTION customer_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO customer_counts AS c (tenant_id, brand_key, bucket, customers)
        SELECT tenant_id, COALESCE(brand_id, 0), id / 17179869184, count(*) FROM new_rows
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (tenant_id, brand_key, bucket)
        DO UPDATE SET customers = c.customers + EXCLUDED.customers;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION customer_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE customer_counts AS c SET customers = c.customers - d.customers
        FROM (
            SELECT tenant_id, COALESCE(brand_id, 0) AS brand_key, id / 17179869184 AS bucket,
                count(*) AS customers
            FROM old_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ) AS d
        WHERE c.tenant_id = d.tenant_id AND c.brand_key = d.brand_key AND c.bucket = d.bucket;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION customer_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE customer_counts SET customers = customers - 1
        WHERE tenant_id = OLD.tenant_id AND brand_key = COALESCE(OLD.brand_id, 0)
            AND bucket = OLD.id / 17179869184;
        INSERT INTO customer_counts AS c (tenant_id, brand_key, bucket, customers)
        VALUES (NEW.tenant_id, COALESCE(NEW.brand_id, 0), NEW.id / 17179869184, 1)
        ON CONFLICT (tenant_id, brand_key, bucket) DO UPDATE SET customers = c.customers + 1;
        RETURN NULL;
    END
    $$
    """,
    "CREATE TRIGGER customer_counts_insert AFTER INSERT ON customers "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION customer_counts_insert()",
    "CREATE TRIGGER customer_counts_delete AFTER DELETE ON customers "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION customer_counts_delete()",
    "CREATE TRIGGER customer_counts_move AFTER UPDATE ON customers FOR EACH ROW "
    "WHEN (OLD.brand_id IS DISTINCT FROM NEW.brand_id OR OLD.id <> NEW.id "
    "OR OLD.tenant_id <> NEW.tenant_id) EXECUTE FUNCTION customer_counts_move()",
)
TRIGGERS = ("customer_counts_insert", "customer_counts_delete", "customer_counts_move")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("tenant_id", KEY, nullable=False),
        sa.Column("brand_key", KEY, nullable=False),
        sa.Column("bucket", KEY, nullable=False),
        sa.Column("customers", KEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_customer_counts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "brand_key", "bucket", name=op.f("pk_customer_counts")
        ),
    )
    op.execute(BACKFILL)
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)
    if postgresql:
        # Every customer insert updates a row: room in each page for its new versions lets the
        # updates stay HOT (pruned in place), so the table does not grow between autovacuums
        # (after a 1M-customer seed: 211 pages without, 13 with, for 330 rows).
        op.execute(f"ALTER TABLE {TABLE} SET (fillfactor = 20)")
        # 0005's default privileges grant it to the application role when the same role
        # migrates; granted here too for a database migrated by another role since.
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {TABLE} TO boxoffice_app")
        op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {TABLE} USING ({RULE}) WITH CHECK ({RULE})")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}" + (" ON customers" if postgresql else ""))
        if postgresql:
            op.execute(f"DROP FUNCTION IF EXISTS {trigger}()")
    if postgresql:
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {TABLE}")
    op.drop_table(TABLE)
