"""customer list indexes: by id with the state (per tenant, per brand), external id, channel value

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 13:45:00.000000

The brand/channel index lists a tenant's (or a brand's) customers by id, filtered by state,
with the number of matches. With only the primary key ``(tenant_id, id)`` every count read
every customer row for its state; with the state in the index, the count and the rows skipped
before a page are read from the index alone (decision 0055). Its searches match an external
primary id across brands (the unique key starts with the brand) and a channel value whatever
its case (``lower(value)``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_customers_tenant_id_external_primary_id"),
        "customers",
        ["tenant_id", "external_primary_id"],
    )
    op.create_index(
        "ix_customer_channels_tenant_id_lower_value",
        "customer_channels",
        ["tenant_id", sa.text("lower(value)")],
    )
    op.create_index(
        op.f("ix_customers_tenant_id_id_state"), "customers", ["tenant_id", "id", "state"]
    )
    op.create_index(
        op.f("ix_customers_tenant_id_brand_id_id_state"),
        "customers",
        ["tenant_id", "brand_id", "id", "state"],
    )


def downgrade() -> None:
    op.drop_index("ix_customer_channels_tenant_id_lower_value", table_name="customer_channels")
    op.drop_index(op.f("ix_customers_tenant_id_external_primary_id"), table_name="customers")
    op.drop_index(op.f("ix_customers_tenant_id_brand_id_id_state"), table_name="customers")
    op.drop_index(op.f("ix_customers_tenant_id_id_state"), table_name="customers")
