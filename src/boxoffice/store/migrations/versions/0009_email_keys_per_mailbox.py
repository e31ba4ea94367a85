"""email keys recomputed so that distinct mailboxes never share one (decision 0093)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 16:00:00.000000

An email key was ``email.strip().casefold()``: ``dora@großbank.example`` had the key of
``dora@grossbank.example``, another mailbox (issue 15, finding 2). The rule is now
``boxoffice.domain.rules.normalise_email`` (a lower-cased NFC local part, the domain's IDNA
form), and every customer that has a key gets the key of its stored address. ASCII addresses
keep theirs (the rule lower-cases them, as ``casefold()`` did): only the others change.

It scales with the table: customers are read in batches along the primary key, and only the
changed ones are written, in batches, through a temporary table (nothing held in memory but
one batch). Migrations run as the tables' owner with the row-level security bypass set
(``env.py``): every tenant's customers are read and written.

Collisions. ``lower()`` is finer than ``casefold()`` (it never joins what casefold kept apart),
but NFC and the domain's IDNA form join spellings of one mailbox that casefold kept apart
(``jose`` + U+0301 and ``josé``; ``xn--grobank-2va`` and ``großbank``; a full-width domain and its
ASCII one). When two customers of a tenant turn out to have one mailbox, one keeps the key:
the customer whose key did not change, else the lowest id. The others lose their key (their
address stays; they can no longer be found, or log in, by email) and are logged as duplicates
to merge. The downgrade puts ``casefold()`` keys back the same way (there, ``großbank`` and
``grossbank`` collide again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from boxoffice.domain.rules import normalise_email

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

log = logging.getLogger("boxoffice.migrations")

#: Customers read (and at most written) per statement.
BATCH = 2000
#: The temporary table of moved keys.
MOVES = "email_key_moves_0009"

_customers = sa.table(
    "customers",
    sa.column("tenant_id", sa.BigInteger),
    sa.column("id", sa.BigInteger),
    sa.column("email", sa.String),
    sa.column("email_key", sa.String),
)
_moves = sa.table(
    MOVES,
    sa.column("tenant_id", sa.BigInteger),
    sa.column("customer_id", sa.BigInteger),
    sa.column("email_key", sa.String),
)


def casefolded(email: str) -> str:
    """The rule before this revision (for the downgrade), cut to the column's length."""
    return email.strip().casefold()[:254]


def recompute(rule: Callable[[str], str]) -> list[tuple[int, int]]:
    """Give every customer that has an email key ``rule(email)``; returns the (tenant id,
    customer id) of those who lost their key to another customer with the same mailbox."""
    bind = op.get_bind()
    bind.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {MOVES} (tenant_id BIGINT NOT NULL, customer_id BIGINT NOT NULL,"
        " email_key VARCHAR(254) NOT NULL, PRIMARY KEY (tenant_id, customer_id))"
    )
    bind.exec_driver_sql(f"CREATE INDEX {MOVES}_key ON {MOVES} (tenant_id, email_key)")
    try:
        _stage(bind, rule)
        lost = _settle(bind)
    finally:
        bind.exec_driver_sql(f"DROP TABLE {MOVES}")
    for tenant_id, customer_id in lost:
        log.warning(
            "customer %s of tenant %s has the mailbox of another customer: its email key is "
            "cleared (the address stays); merge the two customers",
            customer_id,
            tenant_id,
        )
    return lost


def _stage(bind: sa.Connection, rule: Callable[[str], str]) -> None:
    """Move each changed key into the temporary table, leaving the customer without one for
    now (so that no key is taken twice while they move)."""
    c = _customers.c
    after: tuple[int, int] | None = None
    while True:
        stmt = (
            sa.select(c.tenant_id, c.id, c.email, c.email_key)
            .where(c.email_key.is_not(None), c.email.is_not(None))
            .order_by(c.tenant_id, c.id)
            .limit(BATCH)
        )
        if after is not None:
            stmt = stmt.where(sa.tuple_(c.tenant_id, c.id) > sa.tuple_(*after))
        rows = bind.execute(stmt).all()
        if not rows:
            return
        after = (rows[-1].tenant_id, rows[-1].id)
        moves = [
            {"t": row.tenant_id, "c": row.id, "k": key}
            for row in rows
            if (key := rule(row.email)) != row.email_key
        ]
        if moves:
            bind.execute(
                sa.insert(_moves).values(
                    tenant_id=sa.bindparam("t"),
                    customer_id=sa.bindparam("c"),
                    email_key=sa.bindparam("k"),
                ),
                moves,
            )
            bind.execute(
                sa.update(_customers)
                .where(c.tenant_id == sa.bindparam("t"), c.id == sa.bindparam("c"))
                .values(email_key=None),
                moves,
            )


def _settle(bind: sa.Connection) -> list[tuple[int, int]]:
    """Give each moved key to its customer unless another customer kept it, or a customer
    with a lower id moves to it; returns those left without."""
    m, c = _moves.c, _customers.c
    other = _moves.alias("other")
    kept = sa.exists().where(c.tenant_id == m.tenant_id, c.email_key == m.email_key)
    earlier = sa.exists().where(
        other.c.tenant_id == m.tenant_id,
        other.c.email_key == m.email_key,
        other.c.customer_id < m.customer_id,
    )
    lost = [
        (int(t), int(i))
        for t, i in bind.execute(
            sa.select(m.tenant_id, m.customer_id)
            .where(sa.or_(kept, earlier))
            .order_by(m.tenant_id, m.customer_id)
        )
    ]
    after: tuple[int, int] | None = None
    while True:
        stmt = (
            sa.select(m.tenant_id, m.customer_id, m.email_key)
            .where(sa.not_(kept), sa.not_(earlier))
            .order_by(m.tenant_id, m.customer_id)
            .limit(BATCH)
        )
        if after is not None:
            stmt = stmt.where(sa.tuple_(m.tenant_id, m.customer_id) > sa.tuple_(*after))
        rows = bind.execute(stmt).all()
        if not rows:
            return lost
        after = (rows[-1].tenant_id, rows[-1].customer_id)
        bind.execute(
            sa.update(_customers)
            .where(c.tenant_id == sa.bindparam("t"), c.id == sa.bindparam("c"))
            .values(email_key=sa.bindparam("k")),
            [{"t": r.tenant_id, "c": r.customer_id, "k": r.email_key} for r in rows],
        )


def upgrade() -> None:
    recompute(normalise_email)


def downgrade() -> None:
    recompute(casefolded)
