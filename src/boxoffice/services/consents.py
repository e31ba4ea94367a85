"""Agreeing to and withdrawing from a tenant's statements, with the consent history.

Each change is kept (``ConsentChange``: the statement's text as it was, who, through which
channel, when), whichever door it came through: Spektrix's agreed statements, CareCloud's
consents and agreements, the newsletter, the hosted pages, the import.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from boxoffice.domain.ids import new_row_key
from boxoffice.domain.principal import Principal
from boxoffice.store.models import ConsentChange, CustomerConsent, Statement
from boxoffice.store.uow import UnitOfWork


async def agree(
    uow: UnitOfWork,
    principal: Principal,
    customer_id: int,
    statements: Iterable[Statement],
    channel: str,
    current: set[int],
) -> list[int]:
    """Agree to each statement not in ``current`` (the ids agreed already; updated), in the
    caller's transaction; returns the ids newly agreed."""
    added: list[int] = []
    now = datetime.now(UTC)
    for statement in statements:
        if statement.id in current:
            continue
        uow.customers.add(
            CustomerConsent(customer_id=customer_id, statement_id=statement.id, agreed_at=now)
        )
        uow.customers.add(
            ConsentChange(
                id=new_row_key(),
                customer_id=customer_id,
                statement_id=statement.id,
                agreed=True,
                statement_text=statement.text,
                actor=principal.actor,
                channel=channel,
                occurred_at=now,
            )
        )
        current.add(statement.id)
        added.append(statement.id)
    return added


async def withdraw(
    uow: UnitOfWork,
    principal: Principal,
    customer_id: int,
    consent: CustomerConsent,
    text: str,
    channel: str,
) -> None:
    """Withdraw an agreement (``text``: the statement's, for the history), in the caller's
    transaction."""
    await uow.customers.delete(consent)
    uow.customers.add(
        ConsentChange(
            id=new_row_key(),
            customer_id=customer_id,
            statement_id=consent.statement_id,
            agreed=False,
            statement_text=text,
            actor=principal.actor,
            channel=channel,
            occurred_at=datetime.now(UTC),
        )
    )
