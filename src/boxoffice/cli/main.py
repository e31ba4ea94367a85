"""``boxoffice``: serve, migrate, demo, tenants, catalogues and credentials."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import importlib.util
import json
import os
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import yaml
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from boxoffice.bootstrap import build_core, migrate_database, require_database, require_schema
from boxoffice.cli.errors import CliError, explain, print_error
from boxoffice.domain.errors import DomainError
from boxoffice.domain.ids import parse_customer_code
from boxoffice.domain.principal import Principal
from boxoffice.services import audit
from boxoffice.services import catalogue as catalogue_service
from boxoffice.services import customers as customer_service
from boxoffice.services import demo as demo_service
from boxoffice.services import tenants as tenant_service
from boxoffice.services.core import Core
from boxoffice.settings import Settings

T = TypeVar("T")
DEMO_CATALOGUE = Path(__file__).resolve().parent.parent / "catalogs" / "demo.yaml"
#: What the demo tenant sells (its dates relative to the day ``demo`` runs).
DEMO_BOX_OFFICE = DEMO_CATALOGUE.with_name("demo_box_office.yaml")
#: Connections waiting to be accepted (uvicorn's default).
BACKLOG = 2048
#: Addresses the demo names ``localhost`` (the host name its pages use).
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"})  # noqa: S104


class _Commands(TyperGroup):
    """The ``boxoffice`` command group: every error a user can cause ends the command with one
    line saying what to do (``errors.py``); a bug keeps its traceback."""

    def invoke(self, ctx: Any) -> Any:  # typer.Context (its click is private)
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as exc:
            explained = explain(exc)
            if explained is None or ctx.params.get("debug"):
                raise
            message, exit_code = explained
            print_error(message)
            raise typer.Exit(exit_code) from exc


app = typer.Typer(
    cls=_Commands,
    help="boxoffice: audience CRM and customer API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
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
    """Run one service call with a short-lived core (errors: ``errors.py``)."""
    settings = settings or Settings()
    require_schema(settings)

    async def main() -> T:
        audit.identify(audit.operator())
        core = build_core(settings, pool_size=2)
        try:
            return await work(core)
        finally:
            await core.dispose()

    return asyncio.run(main())


@app.callback()
def _options(
    debug: Annotated[
        bool,
        typer.Option("--debug", envvar="BOXOFFICE_DEBUG", help="Show the traceback of any error."),
    ] = False,
) -> None:
    """boxoffice: audience CRM and customer API."""


def _print_json(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")


def _print_rows(rows: list[dict[str, Any]], as_json: bool, columns: tuple[str, ...]) -> None:
    """Rows as a JSON array, or as a table (never cut short when piped)."""
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*(_cell(row[column]) for column in columns))
    (out if out.is_terminal else Console(width=10_000)).print(table)


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


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
    """Serve every dialect (migrates the schema first; the default SQLite database must
    exist: `boxoffice migrate` or `boxoffice demo` creates it)."""
    settings = Settings()
    settings.resolved_secret_key()  # fail early and clearly without a secret
    if not settings.database_url:  # the default ./var/boxoffice.db: not from another directory
        require_database(settings)
    migrate_database(settings)
    sock = _listen(host, port, "choose another port: --port N")
    err.print(
        f"serving on http://{_url_host(host)}:{port} with {workers} worker(s)", soft_wrap=True
    )
    _serve(settings, sock, workers)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _listen(host: str, port: int, hint: str = "") -> socket.socket:
    """A TCP socket listening on ``host:port`` (as uvicorn would open it), so that a command
    says "serving on" only once it is; a port already taken ends the command with one line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        what = f"cannot listen on {_url_host(host)}:{port}: {exc.strerror or exc}"
        if exc.errno == errno.EADDRINUSE:
            raise CliError(
                f"{what}; stop what listens there, or {hint or 'choose another port: --port N'}",
                exit_code=2,
            ) from exc
        raise CliError(f"{what}: choose another --host or --port", exit_code=2) from exc
    sock.set_inheritable(True)  # the worker processes accept from it
    return sock


def _serve(settings: Settings, sock: socket.socket, workers: int) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from boxoffice import serving

    if not settings.secret_key:
        # Workers read settings from the environment: hand them the generated demo secret.
        os.environ["BOXOFFICE_SECRET_KEY"] = settings.resolved_secret_key()
    if not settings.database_url:
        os.environ["BOXOFFICE_DATABASE_URL"] = settings.resolved_database_url()
    os.environ.pop(serving.BOARD_ENV, None)
    if workers > 1:
        _workers_skip_this_script()
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
        config = uvicorn.Config(**server_options(workers))
        # As uvicorn.run, on the socket already listening.
        if workers > 1:
            Multiprocess(config, sockets=[sock]).run()
            return
        server = uvicorn.Server(config)
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
        if not server.started:
            raise typer.Exit(3)


def server_options(workers: int) -> dict[str, Any]:
    """``uvicorn.Config``'s settings for ``boxoffice serve`` (on a socket already listening).

    uvicorn's own proxy handling is off (``proxy_headers=False``; by default it believes
    ``X-Forwarded-For``/``-Proto`` from 127.0.0.1 whatever ``BOXOFFICE_TRUSTED_PROXIES`` says):
    the application's edge alone decides the client's address, scheme and host from trusted
    proxies (``api/common/edge.py``, decision 0090).
    """
    return {
        "app": "boxoffice.api.app:app_factory",
        "factory": True,
        "workers": workers,
        "backlog": BACKLOG,
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
    port: Annotated[int, typer.Option(help="Port of the instance.")] = 8000,
    venue_port: Annotated[
        int, typer.Option(help="Port of the demo venue's website (http://localhost:PORT).")
    ] = 8080,
    no_venue: Annotated[
        bool, typer.Option("--no-venue", help="Serve the instance only, no venue website.")
    ] = False,
) -> None:
    """Create or refresh tenant `demo` with the demo catalogue and customers; then serve it,
    and the demo venue's website beside it (both on localhost)."""
    settings = Settings()
    settings.ensure_secret_key()
    venue = f"http://localhost:{venue_port}"
    # One host name throughout, localhost: the venue's page and the instance are then one
    # site for the browser, and the session cookie works in the iframes (decision 0106).
    instance = f"http://{'localhost' if host in LOOPBACK else _url_host(host)}:{port}"
    # The ports first: a port in use ends the command at once, before any work.
    sock = venue_sock = None
    if not no_serve:
        sock = _listen(host, port, "choose another: --port N, or make demo PORT=N")
        if not no_venue:
            venue_sock = _listen(
                host, venue_port, "choose another: --venue-port N, or make demo VENUE_PORT=N"
            )
    migrate_database(settings)
    data = yaml.safe_load(DEMO_CATALOGUE.read_text(encoding="utf-8"))
    data.update(yaml.safe_load(DEMO_BOX_OFFICE.read_text(encoding="utf-8")))
    data["origins"] = list(dict.fromkeys([*data.get("origins", []), venue]))

    async def work(core: Core) -> demo_service.SeedSummary:
        try:
            await tenant_service.get_tenant(core, "demo")
        except DomainError:
            await tenant_service.create_tenant(core, "demo", display_name="Demo Theatre")
        await catalogue_service.load_catalogue(core, "demo", data)
        return await demo_service.seed_demo_customers(core, "demo")

    seeded = _run(work, settings)
    if seeded.created:
        err.print(f"[green]tenant demo is ready: {seeded.created} customers added[/green]")
    else:
        err.print("[green]tenant demo is ready[/green] (its customers were seeded before)")
    if sock is None:
        return
    if venue_sock is not None:
        from boxoffice.cli.venue import serve_venue, venue_pages

        serve_venue(venue_sock, venue_pages(instance, venue))
        err.print(f"demo venue page: open {venue}/ in a browser", soft_wrap=True)
    err.print(f"serving on {instance} (API docs: {instance}/docs/spektrix)", soft_wrap=True)
    _serve(settings, sock, 1)


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


@tenant_app.command("list")
def tenant_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the tenants."""
    tenants = _run(tenant_service.list_tenants)
    rows = [
        {"name": t.name, "display_name": t.display_name, "origins": list(t.origins)}
        for t in tenants
    ]
    _print_rows(rows, as_json, ("name", "display_name", "origins"))


@catalog_app.command("load")
def catalog_load(tenant: str, file: Path) -> None:
    """Add and update catalogue items from a YAML file (never deletes)."""
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CliError(f"cannot read {file}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise CliError(f"cannot read {file}: not YAML ({exc})") from exc
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


@api_user_app.command("list")
def api_user_list(
    tenant: str, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """List a tenant's System Owner API users (never their secrets)."""
    users = _run(lambda core: tenant_service.list_api_users(core, tenant))
    rows = [
        {"login": u.login, "created_at": u.created_at.isoformat(), "disabled": u.disabled}
        for u in users
    ]
    _print_rows(rows, as_json, ("login", "created_at", "disabled"))


@api_user_app.command("disable")
def api_user_disable(tenant: str, login: str) -> None:
    """Disable a System Owner API user: its signed requests are refused from now on (by every
    running server worker within 10 seconds)."""
    _run(lambda core: tenant_service.disable_api_user(core, tenant, login))
    out.print(f"disabled API user {login}")


@api_user_app.command("enable")
def api_user_enable(tenant: str, login: str) -> None:
    """Enable a disabled System Owner API user again (its secret key is unchanged)."""
    _run(lambda core: tenant_service.enable_api_user(core, tenant, login))
    out.print(f"enabled API user {login}")


@api_user_app.command("rotate")
def api_user_rotate(
    tenant: str,
    login: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Give an API user a new secret key; prints it once. The old key stops verifying (on
    every running server worker within 10 seconds)."""
    secret = _run(lambda core: tenant_service.rotate_api_user(core, tenant, login))
    if as_json:
        _print_json({"login": login, "secret_key": secret})
    else:
        out.print(f"login:      {login}\nsecret key: {secret}")


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


@api_key_app.command("list")
def api_key_list(
    tenant: str, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """List a tenant's brand/channel API keys (their ids; the keys themselves are not kept)."""
    keys = _run(lambda core: tenant_service.list_api_keys(core, tenant))
    rows = [
        {
            "id": k.id,
            "brand_id": k.brand_id,
            "permissions": list(k.permissions),
            "created_at": k.created_at.isoformat(),
            "disabled": k.disabled,
        }
        for k in keys
    ]
    _print_rows(rows, as_json, ("id", "brand_id", "permissions", "created_at", "disabled"))


_KEY_REF = Annotated[str, typer.Argument(help="The key's id (api-key list), or the key itself.")]


@api_key_app.command("disable")
def api_key_disable(tenant: str, key: _KEY_REF) -> None:
    """Disable an API key: its next request is refused."""
    key_id = _run(lambda core: tenant_service.set_api_key_disabled(core, tenant, key, True))
    out.print(f"disabled API key {key_id}")


@api_key_app.command("enable")
def api_key_enable(tenant: str, key: _KEY_REF) -> None:
    """Enable a disabled API key again."""
    key_id = _run(lambda core: tenant_service.set_api_key_disabled(core, tenant, key, False))
    out.print(f"enabled API key {key_id}")


@api_key_app.command("rotate")
def api_key_rotate(
    tenant: str,
    key: _KEY_REF,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Replace an API key by a new one with the same brand and permissions; prints it once.
    The old key is disabled at once."""
    new_id, new_key = _run(lambda core: tenant_service.rotate_api_key(core, tenant, key))
    if as_json:
        _print_json({"id": new_id, "api_key": new_key})
    else:
        out.print(f"id:      {new_id}\napi key: {new_key}")


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


@interface_user_app.command("list")
def interface_user_list(
    tenant: str, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """List a tenant's CareCloud interface users and their device tokens."""
    users = _run(lambda core: tenant_service.list_interface_users(core, tenant))
    rows = [
        {
            "user_name": u.user_name,
            "created_at": u.created_at.isoformat(),
            "disabled": u.disabled,
            "tokens": u.tokens,
        }
        for u in users
    ]
    _print_rows(rows, as_json, ("user_name", "created_at", "disabled", "tokens"))


@interface_user_app.command("disable")
def interface_user_disable(tenant: str, user: str) -> None:
    """Disable an interface user: no new token with its name, and the tokens issued with it
    are refused from their next request (until it is enabled again)."""
    _run(lambda core: tenant_service.set_interface_user_disabled(core, tenant, user, True))
    out.print(f"disabled interface user {user}")


@interface_user_app.command("enable")
def interface_user_enable(tenant: str, user: str) -> None:
    """Enable a disabled interface user again (its tokens work again)."""
    _run(lambda core: tenant_service.set_interface_user_disabled(core, tenant, user, False))
    out.print(f"enabled interface user {user}")


@interface_user_app.command("rotate")
def interface_user_rotate(
    tenant: str,
    user: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """End every device token issued with this user name (the name is no secret: the tokens
    are); apps ask for new tokens with POST /tokens."""
    ended = _run(lambda core: tenant_service.rotate_interface_user(core, tenant, user))
    if as_json:
        _print_json({"user_name": user, "tokens_ended": ended})
    else:
        out.print(f"ended {ended} device token(s) of interface user {user}")


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
        raise CliError(f"not a customer id: {customer_id} (ids look like I-AK11-1ATK)")
    try:
        start_date, expiry_date = date.fromisoformat(start), date.fromisoformat(expiry)
    except ValueError as exc:
        raise CliError("dates are YYYY-MM-DD") from exc

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
