"""returns of an order's tickets (issue 18)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 02:00:00.000000

``basket_tickets.returned_at``: when a System Owner returned the ticket (decision 0124,
returns); a returned ticket stays in its order, its seat or place back on sale. The refund is a
``basket_payments`` row with a negative amount (no new column).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("basket_tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("basket_tickets", schema=None) as batch_op:
        batch_op.drop_column("returned_at")
