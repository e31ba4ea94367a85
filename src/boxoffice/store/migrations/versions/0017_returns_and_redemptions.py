"""returns of an order's tickets; gift vouchers and credit as payments (issue 18)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 02:00:00.000000

``basket_tickets.returned_at``: when a System Owner returned the ticket (decision 0124,
returns); a returned ticket stays in its order, its seat or place back on sale. The refund is a
``basket_payments`` row with a negative amount. ``basket_payments.kind`` (``custom``,
``voucher`` or ``credit``) and ``gift_voucher_id`` (the voucher redeemed): a gift voucher's
balance or a customer's credit balance paying for a basket, taken at confirmation.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("basket_tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("basket_payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=10), server_default="custom", nullable=False)
        )
        batch_op.add_column(sa.Column("gift_voucher_id", KEY, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("basket_payments", schema=None) as batch_op:
        batch_op.drop_column("gift_voucher_id")
        batch_op.drop_column("kind")
    with op.batch_alter_table("basket_tickets", schema=None) as batch_op:
        batch_op.drop_column("returned_at")
