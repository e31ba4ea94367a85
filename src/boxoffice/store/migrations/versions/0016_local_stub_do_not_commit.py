"""LOCAL STUB, never committed: stands for another branch's 0016 so 0017 can run here."""

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
