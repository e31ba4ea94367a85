"""``boxoffice``: serve, migrate, demo, tenants, catalogues and credentials."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import yaml
from rich.console import Console

from boxoffice.bootstrap import build_core, migrate_database, require_schema
from boxoffice.domain.errors import DomainError
from boxoffice.domain.ids import parse_customer_code
from boxoffice.domain.principal import Principal
from boxoffice.services import audit
from boxoffice.services import catalogue as catalogue_service
from boxoffice.services import customers as customer_service
from boxoffice.services import tenants as tenant_service
from boxoffice.services.core import Core
from boxoffice.settings import Settings

T = TypeVar("T")
DEMO_CATALOGUE = Path(__file__).resolve().parent.parent / "catalogs" / "demo.yaml"

app = typer.Typer(help="boxoffice: audience CRM and customer API.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants (venue organisations).", no_args_is_help=True)
catalog_app = typer.Typer(help="A tenant's catalogue, as YAML.", no_args_is_help=True)
api_user_app = typer.Typer(help="System Owner credentials (Spektrix HMAC).", no_args_is_help=True)
api_key_app = typer.Typer(help="Brand/channel API keys.", no_args_is_help=True)
interface_user_app = typer.Typer(help="CareCloud interface users.", no_args_is_help=True)
subscription_app = typer.Typer(help="Membership subscriptions.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(catalog_app, name="catalog")
app.add_typer(api_user_app, name="api-user")
app.add_typer(api_key_app, name="api-key")
app.add_typer(interface_user_app, name="interface-user")
app.add_typer(subscription_app, name="subscription")

err = Console(stderr=True)
out = Console()


def _run(work: Callable[[Core], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run one service call with a short-lived core; domain errors end the command cleanly."""
    settings = settings or Settings()
    try:
        require_schema(settings)
    except RuntimeError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc

    async def main() -> T:
        audit.identify(audit.operator())
        core = build_core(settings, pool_size=2)
        try:
            return await work(core)
        finally:
            await core.dispose()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    except RuntimeError as exc:
        if "BOXOFFICE_SECRET_KEY" in str(exc):
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        raise


def _print_json(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    settings = Settings()
    migrate_database(settings)
    err.print("[green]schema is up to date[/green]")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Serve every dialect (migrates the schema first)."""
    settings = Settings()
    settings.resolved_secret_key()  # fail early and clearly without a secret
    migrate_database(settings)
    _serve(settings, host, port, workers)


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    from boxoffice import serving

    if not settings.secret_key:
        # Workers read settings from the environment: hand them the generated demo secret.
        os.environ["BOXOFFICE_SECRET_KEY"] = settings.resolved_secret_key()
    if not settings.database_url:
        os.environ["BOXOFFICE_DATABASE_URL"] = settings.resolved_database_url()
    os.environ.pop(serving.BOARD_ENV, None)
    if workers > 1:
        _workers_skip_this_script()
    err.print(f"serving on http://{host}:{port} with {workers} worker(s)")
    # Several workers: their metrics in files, and a board on which they share connections
    # fairly (decision 0084), in a directory removed on exit (uvicorn's supervisor returns
    # after a signal; a single server re-raises it, and needs neither).
    with contextlib.ExitStack() as stack:
        if workers > 1:
            shared = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="boxoffice-")))
            if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
                (shared / "metrics").mkdir()
                os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(shared / "metrics")
            os.environ[serving.BOARD_ENV] = str(serving.create_board(shared))
        uvicorn.run(**server_options(host, port, workers))


def server_options(host: str, port: int, workers: int) -> dict[str, Any]:
    """``uvicorn.run``'s settings for ``boxoffice serve``.

    uvicorn's own proxy handling is off (``proxy_headers=False``; by default it believes
    ``X-Forwarded-For``/``-Proto`` from 127.0.0.1 whatever ``BOXOFFICE_TRUSTED_PROXIES`` says):
    the application's edge alone decides the client's address, scheme and host from trusted
    proxies (``api/common/edge.py``, decision 0090).
    """
    return {
        "app": "boxoffice.api.app:app_factory",
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "loop": "boxoffice.serving:new_event_loop",
        "http": "boxoffice.serving:HttpProtocol",
        "proxy_headers": False,
        "forwarded_allow_ips": "",
        "access_log": False,
        "server_header": False,
        "log_level": "warning",
    }


def _workers_skip_this_script() -> None:
    """Start worker processes with the app alone, not this CLI.

    uvicorn starts workers with multiprocessing's "spawn", which first re-runs the parent's
    ``__main__`` script in each worker: for the ``boxoffice`` console script, this module with
    typer, YAML and the bulk and privacy commands, which a worker never uses. A ``__main__``
    named like a package's ``__main__`` module (as under ``python -m boxoffice``) is left alone.
    """
    main = sys.modules["__main__"]
    if getattr(main, "__spec__", None) is None and getattr(main, "__file__", None):
        main.__spec__ = importlib.util.find_spec("boxoffice.__main__")


@app.command()
def demo(
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Set up, then exit.")] = False,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Create or refresh tenant `demo` with the demo catalogue; then serve."""
    settings = Settings()
    settings.ensure_secret_key()
    migrate_database(settings)
    data = yaml.safe_load(DEMO_CATALOGUE.read_text(encoding="utf-8"))

    async def work(core: Core) -> None:
        try:
            await tenant_service.get_tenant(core, "demo")
        except DomainError:
            await tenant_service.create_tenant(core, "demo", display_name="Demo Theatre")
        await catalogue_service.load_catalogue(core, "demo", data)

    _run(work, settings)
    err.print("[green]tenant demo is ready[/green]")
    if not no_serve:
        _serve(settings, host, port, 1)


@tenant_app.command("create")
def tenant_create(
    name: str,
    origin: Annotated[
        list[str] | None, typer.Option("--origin", help="A website allowed to call web mode.")
    ] = None,
    display_name: Annotated[str, typer.Option(help="Shown in mail and pages.")] = "",
) -> None:
    """Create a tenant."""
    view = _run(
        lambda core: tenant_service.create_tenant(
            core, name, origins=tuple(origin or ()), display_name=display_name
        )
    )
    err.print(f"[green]tenant {view.name} created[/green]")


@catalog_app.command("load")
def catalog_load(tenant: str, file: Path) -> None:
    """Add and update catalogue items from a YAML file (never deletes)."""
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        err.print(f"[red]error:[/red] cannot read {file}: {exc}")
        raise typer.Exit(1) from exc
    _run(lambda core: catalogue_service.load_catalogue(core, tenant, data))
    err.print(f"[green]catalogue of {tenant} loaded[/green]")


@catalog_app.command("dump")
def catalog_dump(tenant: str) -> None:
    """Print the tenant's catalogue as YAML."""
    data = _run(lambda core: catalogue_service.dump_catalogue(core, tenant))
    sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


@api_user_app.command("create")
def api_user_create(
    tenant: str,
    login: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a System Owner API user; prints its secret key once."""
    secret = _run(lambda core: tenant_service.create_api_user(core, tenant, login))
    if as_json:
        _print_json({"login": login, "secret_key": secret})
    else:
        out.print(f"login:      {login}\nsecret key: {secret}")


@api_user_app.command("disable")
def api_user_disable(tenant: str, login: str) -> None:
    """Disable a System Owner API user: its signed requests are refused from now on (by every
    running worker within 10 seconds)."""
    _run(lambda core: tenant_service.disable_api_user(core, tenant, login))
    out.print(f"disabled API user {login}")


@api_key_app.command("create")
def api_key_create(
    tenant: str,
    permission: Annotated[
        list[str], typer.Option("--permission", help="CUSTOMER_READ, CUSTOMER_CUD")
    ],
    brand: Annotated[
        int | None, typer.Option("--brand", help="Limit the key to one brand.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a brand/channel API key; prints it once."""
    key = _run(
        lambda core: tenant_service.create_api_key(
            core, tenant, permissions=tuple(permission), brand_id=brand
        )
    )
    if as_json:
        _print_json({"api_key": key})
    else:
        out.print(f"api key: {key}")


@interface_user_app.command("create")
def interface_user_create(
    tenant: str,
    user: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a CareCloud interface user name."""
    name = _run(lambda core: tenant_service.create_interface_user(core, tenant, user))
    if as_json:
        _print_json({"user_name": name})
    else:
        out.print(f"user name: {name}")


@subscription_app.command("add")
def subscription_add(
    tenant: str,
    customer_id: str,
    membership: str,
    start: Annotated[str, typer.Option("--start", help="YYYY-MM-DD")],
    expiry: Annotated[str, typer.Option("--expiry", help="YYYY-MM-DD")],
    auto_renew: Annotated[bool, typer.Option("--auto-renew")] = False,
) -> None:
    """Give a customer (id like I-AK11-1ATK) a membership (by name or id)."""
    key = parse_customer_code(customer_id)
    if key is None:
        err.print(f"[red]error:[/red] not a customer id: {customer_id}")
        raise typer.Exit(1)
    try:
        start_date, expiry_date = date.fromisoformat(start), date.fromisoformat(expiry)
    except ValueError as exc:
        err.print("[red]error:[/red] dates are YYYY-MM-DD")
        raise typer.Exit(1) from exc

    async def work(core: Core) -> Any:
        tenant_view = await tenant_service.get_tenant(core, tenant)
        principal = Principal(tenant_id=tenant_view.id, actor="cli", full_access=True)
        return await customer_service.add_subscription(
            core,
            principal,
            key,
            membership,
            start=start_date,
            expiry=expiry_date,
            auto_renew=auto_renew,
        )

    view = _run(work)
    err.print(f"[green]subscription {view.id} added[/green]")


from boxoffice.cli import bulk as _bulk  # noqa: E402 (its commands use _run above)

_bulk.register(app)


def main() -> None:
    app()


from boxoffice.cli import privacy as _privacy  # noqa: E402  (it uses the helpers above)

_privacy.register(app)
