"""``boxoffice customer find|export|erase`` (finding a customer, data-protection requests)
and ``boxoffice audit``."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from boxoffice.cli.main import _run, err, out
from boxoffice.domain.ids import customer_code
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import AuditEntryView, CustomerView
from boxoffice.services import audit as audit_service
from boxoffice.services import customers as customer_service
from boxoffice.services import privacy as privacy_service
from boxoffice.services import tenants as tenant_service
from boxoffice.services.core import Core

customer_app = typer.Typer(
    help="Find a customer; data-protection requests about one.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(customer_app, name="customer")
    app.command("audit")(audit)


@customer_app.command("find")
def customer_find(
    tenant: str,
    customer_id: Annotated[
        str | None, typer.Option("--id", help="I-AK11-1ATK, the key, or CareCloud's id.")
    ] = None,
    email: Annotated[str | None, typer.Option("--email", help="The address, any case.")] = None,
    name: Annotated[
        str | None, typer.Option("--name", help='A part of "first last", any case.')
    ] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="A number, any format.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=customer_service.FIND_LIMIT)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Find active customers matching every criterion given, oldest first."""

    async def work(core: Core) -> tuple[CustomerView, ...]:
        tenant_view = await tenant_service.get_tenant(core, tenant)
        principal = Principal(tenant_id=tenant_view.id, actor="cli", full_access=True)
        return await customer_service.find_customers(
            core, principal, ref=customer_id, email=email, name=name, phone=phone, limit=limit
        )

    found = _run(work)
    rows = [
        {
            "id": customer_code(c.id),
            "key": c.id,
            "first_name": c.first_name,
            "last_name": c.last_name,
            "email": c.email,
            "phone": c.phone,
            "mobile": c.mobile,
            "created_at": c.created_at.isoformat(),
        }
        for c in found
    ]
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    if not rows:
        err.print("no customer found")
        return
    table = Table("id", "first name", "last name", "email", "phone", "mobile", "created (UTC)")
    for customer in found:
        table.add_row(
            customer_code(customer.id),
            customer.first_name,
            customer.last_name,
            customer.email or "",
            customer.phone or "",
            customer.mobile or "",
            customer.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    (out if out.is_terminal else Console(width=10_000)).print(table)


@customer_app.command("export")
def customer_export(
    tenant: str,
    customer_id: Annotated[str, typer.Argument(help="I-AK11-1ATK, the key, or CareCloud's id.")],
) -> None:
    """Print everything held about a customer, as JSON."""
    data = _run(lambda core: privacy_service.export_customer(core, tenant, customer_id))
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@customer_app.command("erase")
def customer_erase(
    tenant: str,
    customer_id: Annotated[str, typer.Argument(help="I-AK11-1ATK, the key, or CareCloud's id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a customer's personal data for good (leaves an anonymous tombstone)."""
    if not yes:
        typer.confirm(
            f"Erase customer {customer_id} of {tenant}? This cannot be undone", abort=True
        )
    key = _run(lambda core: privacy_service.erase_customer(core, tenant, customer_id))
    err.print(f"[green]customer {customer_code(key)} erased[/green]")


def _since(value: str | None) -> datetime | None:
    """``2026-11-30``, ``2026-11-30T12:00:00+00:00`` or a duration back from now: ``24h``,
    ``7d``, ``30m``."""
    if value is None:
        return None
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value[-1:] in units and value[:-1].isdigit():
        return datetime.now(UTC) - timedelta(**{units[value[-1]]: int(value[:-1])})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter("a date, a date and time, or 30m / 24h / 7d") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _entry_json(entry: AuditEntryView) -> dict[str, Any]:
    return {
        "occurred_at": entry.occurred_at.isoformat(),
        "actor": entry.actor,
        "credential": entry.credential,
        "credential_id": entry.credential_id,
        "action": entry.action,
        "target_kind": entry.target_kind,
        "target_id": entry.target_id,
        "customer_id": (customer_code(entry.customer_id) if entry.customer_id else None),
        "changes": list(entry.changes),
    }


def audit(
    tenant: str,
    since: Annotated[
        str | None, typer.Option("--since", help="A date (2026-11-30) or 30m, 24h, 7d.")
    ] = None,
    customer: Annotated[
        str | None, typer.Option("--customer", help="Only entries about this customer.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
) -> None:
    """Show a tenant's audit log: every committed write, who made it and with what."""
    start = _since(since)

    async def work(core: Core) -> list[AuditEntryView]:
        key = privacy_service.customer_key(customer) if customer is not None else None
        return await audit_service.list_entries(core, tenant, since=start, customer_id=key)

    entries = _run(work)
    if as_json:
        for entry in entries:
            sys.stdout.write(json.dumps(_entry_json(entry), ensure_ascii=False) + "\n")
        return
    table = Table("when (UTC)", "actor", "credential", "action", "target")
    for entry in entries:
        credential = entry.credential + (f":{entry.credential_id}" if entry.credential_id else "")
        target = f"{entry.target_kind or ''} {entry.target_id or ''}".strip()
        table.add_row(
            entry.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.actor,
            credential,
            entry.action,
            target,
        )
    # On a terminal the table fits the window; piped (to grep, a file) no cell is cut short.
    (out if out.is_terminal else Console(width=10_000)).print(table)
