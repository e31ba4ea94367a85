"""newsletter sign-ups waiting for their confirmation (double opt-in)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 15:40:00.000000

A newsletter sign-up made without the address owner's login (a CareCloud app's anonymous
token) no longer changes anyone's consents: it is kept here until the link mailed to the
address is followed (``services/newsletter.py``). Tenant id first in the primary key and in
every foreign key; on PostgreSQL the table gets the same row-level security policy as every
tenant-owned table (0005, in 0007's form).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLE = "newsletter_requests"
POLICY = "tenant_isolation"
#: 0007's rule (the settings read once per statement).
RULE = (
    "(SELECT current_setting('boxoffice.bypass_rls', true)) = 'on' "
    "OR tenant_id = (SELECT NULLIF(current_setting('boxoffice.tenant_id', true), '')::bigint)"
)
KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("tenant_id", KEY, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("email_key", sa.String(length=254), nullable=False),
        sa.Column("customer_id", KEY, nullable=True),
        sa.Column("source_id", KEY, nullable=False),
        sa.Column("statement_ids", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            name=op.f("fk_newsletter_requests_tenant_id_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "source_id"],
            ["customer_sources.tenant_id", "customer_sources.id"],
            name=op.f("fk_newsletter_requests_tenant_id_source_id_customer_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_newsletter_requests_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "token_hash", name=op.f("pk_newsletter_requests")),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_newsletter_requests_tenant_id_email_key"),
            ["tenant_id", "email_key"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_newsletter_requests_tenant_id_expires_at"),
            ["tenant_id", "expires_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_newsletter_requests_tenant_id_customer_id"),
            ["tenant_id", "customer_id"],
            unique=False,
        )
    if op.get_bind().dialect.name == "postgresql":
        # 0005's default privileges grant it to the application role when the same role
        # migrates; granted here too for a database migrated by another role since.
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {TABLE} TO boxoffice_app")
        op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {TABLE} USING ({RULE}) WITH CHECK ({RULE})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {TABLE}")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_newsletter_requests_tenant_id_customer_id"))
        batch_op.drop_index(batch_op.f("ix_newsletter_requests_tenant_id_expires_at"))
        batch_op.drop_index(batch_op.f("ix_newsletter_requests_tenant_id_email_key"))
    op.drop_table(TABLE)
