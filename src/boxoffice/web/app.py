"""Hosted pages under ``/{client}/website/``: the set-password page reset mails link to.

(The iframe pages and web components build on this application.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Scope

from boxoffice.api.common.browser import BrowserPolicy
from boxoffice.api.common.limits import BodyLimit
from boxoffice.api.common.state import AppState, CoreDep, tenant_origins
from boxoffice.domain.errors import DomainError, InvalidInput, NotFound
from boxoffice.services import accounts
from boxoffice.services.tenants import get_tenant

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _page(request: Request, context: dict[str, object], status: int = 200) -> Response:
    return TEMPLATES.TemplateResponse(
        request, f"{context['page']}.html", context, status_code=status
    )


def _plain(status: int, text: str) -> Response:
    return HTMLResponse(f"<!doctype html><title>{status}</title><p>{text}</p>", status_code=status)


def create_app(state: AppState) -> ASGIApp:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.boxoffice = state

    # Pages answer errors as pages, never the framework's JSON (a form that cannot be parsed,
    # an unknown address, a wrong method).
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        text = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Bad request")
        return _plain(exc.status_code, text)

    async def validation_error(request: Request, exc: Exception) -> Response:
        return _plain(400, "Bad request")

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)

    async def tenant_or_404(client: str, core: CoreDep) -> object:
        try:
            return await get_tenant(core, client)
        except NotFound:
            return None

    @app.get("/{client}/website/Secure/SetPassword.aspx", response_class=HTMLResponse)
    @app.get(
        "/{client}/website/secure/SetPassword.aspx",
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    async def set_password_form(
        request: Request, client: str, core: CoreDep, token: str = "", Stylesheet: str | None = None
    ) -> Response:
        tenant = await tenant_or_404(client, core)
        if tenant is None:
            return _plain(404, "Not found")
        return _page(
            request,
            {
                "page": "set_password",
                "title": "Set your password",
                "tenant": tenant,
                "token": token,
                "stylesheet": Stylesheet,
                "error": None,
                "done": False,
            },
        )

    @app.post("/{client}/website/Secure/SetPassword.aspx", response_class=HTMLResponse)
    @app.post(
        "/{client}/website/secure/SetPassword.aspx",
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    async def set_password(
        request: Request,
        client: str,
        core: CoreDep,
        token: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        confirm: Annotated[str, Form()] = "",
    ) -> Response:
        tenant = await get_tenant(core, client) if await tenant_or_404(client, core) else None
        if tenant is None:
            return _plain(404, "Not found")
        context: dict[str, object] = {
            "page": "set_password",
            "title": "Set your password",
            "tenant": tenant,
            "token": token,
            "stylesheet": None,
            "done": False,
        }
        try:
            if password != confirm:
                raise InvalidInput("confirm", "the two passwords differ")
            await accounts.reset_password(core, tenant, token, password)
        except InvalidInput as exc:
            reason = (
                "This link is invalid or has expired. Ask for a new one."
                if exc.field == "token"
                else f"{'The two passwords differ' if exc.field == 'confirm' else exc.reason.capitalize()}."
            )
            return _page(request, {**context, "error": reason}, 400)
        except DomainError:
            return _page(
                request, {**context, "error": "That did not work. Ask for a new link."}, 400
            )
        return _page(request, {**context, "done": True, "error": None})

    async def allowed_origins(scope: Scope) -> frozenset[str]:
        return await tenant_origins(state, scope["path"].split("/", 2)[1])

    return BrowserPolicy(
        BodyLimit(app, state.settings.max_body_bytes, lambda limit: _plain(413, "Too large")),
        allowed_origins=allowed_origins,
        refuse=lambda message: _plain(403, message),
        trust_proxy=state.settings.trust_proxy_headers,
    )
