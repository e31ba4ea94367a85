"""device token lifetimes: when each token was last used, and when it ends at the latest

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 15:40:00.000000

CareCloud device tokens used to live for ever. They now end after an idle lifetime (since
``last_used_at``) and at ``expires_at`` (an absolute lifetime fixed when the token is issued):
``services/devices.py``, decision 0096. A token issued before this migration was never
tracked, so its lifetimes start at the upgrade: it counts as used now, and it ends a year from
now at the latest (the default absolute lifetime). An app in use keeps working; a token
nobody uses ends one idle lifetime after the upgrade.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

#: The default absolute lifetime (``BOXOFFICE_DEVICE_TOKEN_ABSOLUTE_SECONDS``), from the upgrade.
ABSOLUTE = timedelta(days=365)


def upgrade() -> None:
    with op.batch_alter_table("device_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    now = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # the models keep UTC without a zone on SQLite
    tokens = sa.table(
        "device_tokens",
        sa.column("last_used_at", sa.DateTime(timezone=True)),
        sa.column("expires_at", sa.DateTime(timezone=True)),
    )
    op.execute(tokens.update().values(last_used_at=now, expires_at=now + ABSOLUTE))
    with op.batch_alter_table("device_tokens", schema=None) as batch_op:
        batch_op.alter_column(
            "last_used_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.alter_column(
            "expires_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("device_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
        batch_op.drop_column("last_used_at")
