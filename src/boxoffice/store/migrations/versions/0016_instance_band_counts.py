"""instance band counts (issue 17)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 01:55:00.000000

New table ``instance_area_bands``: per instance, reserved area and price band, its seats
(``capacity``) and how many are available, kept by the inventory's moves like the areas'
counts (decisions 0120, 0122). ``instance_seats`` gains ``band_id`` (the seat's band, copied
like its flags; a key into ``instance_area_bands``). The upgrade counts the seats of the
instances already there. Tenant id first in every key; on PostgreSQL the new table gets the
same row-level security policy as every tenant-owned table (0005, in 0007's form).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
POLICY = "tenant_isolation"
#: 0007's rule (the settings read once per statement).
RULE = (
    "(SELECT current_setting('boxoffice.bypass_rls', true)) = 'on' "
    "OR tenant_id = (SELECT NULLIF(current_setting('boxoffice.tenant_id', true), '')::bigint)"
)
TABLE = "instance_area_bands"
SEAT_BAND_FK = "fk_instance_seats_tenant_id_instance_id_area_id_band_id_instance_area_bands"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("tenant_id", KEY, nullable=False),
        sa.Column("instance_id", KEY, autoincrement=False, nullable=False),
        sa.Column("area_id", KEY, autoincrement=False, nullable=False),
        sa.Column("band_id", KEY, autoincrement=False, nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "instance_id", "area_id"],
            ["instance_areas.tenant_id", "instance_areas.instance_id", "instance_areas.area_id"],
            name=op.f("fk_instance_area_bands_tenant_id_instance_id_area_id_instance_areas"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "band_id"],
            ["price_bands.tenant_id", "price_bands.id"],
            name=op.f("fk_instance_area_bands_tenant_id_band_id_price_bands"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_instance_area_bands_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "instance_id", "area_id", "band_id", name=op.f("pk_instance_area_bands")
        ),
    )
    # The counts of the instances already there, from their seats (every tenant: the
    # migration runs as the owner, which the policies do not hold to one tenant).
    op.execute(
        "INSERT INTO instance_area_bands"
        " (tenant_id, instance_id, area_id, band_id, capacity, available)"
        " SELECT i.tenant_id, i.instance_id, i.area_id, s.band_id, count(*),"
        " sum(CASE WHEN i.state = 'available' THEN 1 ELSE 0 END)"
        " FROM instance_seats i JOIN seats s ON s.tenant_id = i.tenant_id AND s.id = i.seat_id"
        " GROUP BY i.tenant_id, i.instance_id, i.area_id, s.band_id"
    )
    # Plain ALTER TABLE on PostgreSQL; a batch copy of ``instance_seats`` on SQLite (no table
    # refers to it, so dropping the old copy cascades nowhere).
    op.add_column("instance_seats", sa.Column("band_id", KEY, nullable=True))
    op.execute(
        "UPDATE instance_seats SET band_id = (SELECT s.band_id FROM seats s"
        " WHERE s.tenant_id = instance_seats.tenant_id AND s.id = instance_seats.seat_id)"
    )
    with op.batch_alter_table("instance_seats", schema=None) as batch_op:
        batch_op.alter_column("band_id", existing_type=KEY, nullable=False)
        batch_op.create_foreign_key(
            batch_op.f(SEAT_BAND_FK),
            TABLE,
            ["tenant_id", "instance_id", "area_id", "band_id"],
            ["tenant_id", "instance_id", "area_id", "band_id"],
            ondelete="CASCADE",
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {TABLE} TO boxoffice_app")
        op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {TABLE} USING ({RULE}) WITH CHECK ({RULE})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {TABLE}")
    with op.batch_alter_table("instance_seats", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(SEAT_BAND_FK), type_="foreignkey")
        batch_op.drop_column("band_id")
    op.drop_table(TABLE)
