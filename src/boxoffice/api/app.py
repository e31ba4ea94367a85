"""Builds the ASGI application: the operator endpoints, and each dialect as a sub-application.

A request first passes the edge (``api/common/edge.py``: its client, scheme and host from
trusted proxies only, and a 400 for a host this instance does not serve), then goes to the
dialect whose address pattern its path matches (``/{client}/api/v3/`` -> spektrix);
everything else (health, metrics, docs) goes to the operator app. Each dialect keeps its own
error table and OpenAPI document.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.resources
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from boxoffice import __version__
from boxoffice.api.brandchannel.app import create_app as create_brandchannel_app
from boxoffice.api.carecloud.app import create_app as create_carecloud_app
from boxoffice.api.common.edge import PROBES, Edge, HostException, refuse_host
from boxoffice.api.common.observability import Observe, configure_logging, metrics_payload
from boxoffice.api.common.responses import JSON
from boxoffice.api.common.state import AppState
from boxoffice.api.spektrix.app import create_app as create_spektrix_app
from boxoffice.api.spektrix.auth import signed_for_the_vendor_host
from boxoffice.bootstrap import build_core, check_database, configure_orm
from boxoffice.security import passwords
from boxoffice.services import audit, baskets
from boxoffice.settings import Settings
from boxoffice.web.app import create_app as create_web_app
from boxoffice.web.app import create_webcomponents_app

#: Swagger UI 5 (reads OpenAPI 3.1), from the pinned ``fastapi-offline`` package: served from
#: the instance itself, never a CDN (decision 0105).
SWAGGER_UI = importlib.resources.files("fastapi_offline") / "static"
DIALECTS: dict[str, str] = {
    "spektrix": "Spektrix API v3",
    "brandchannel": "Brand/channel customer API v2",
    "carecloud": "CareCloud Customer Interface v1.0",
}


class DialectRouter:
    """Dispatches by path to a dialect app, else to the operator app (which owns lifespan)."""

    def __init__(
        self,
        state: AppState,
        operator: ASGIApp,
        dialects: list[tuple[re.Pattern[str], ASGIApp]],
        host_exceptions: Sequence[tuple[re.Pattern[str], HostException]] = (),
    ) -> None:
        self.state = state
        self.edge = Edge(state.settings)
        self.operator = operator
        self.dialects = dialects
        self.host_exceptions = host_exceptions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Every request starts unidentified for the audit log, whatever ran before it here.
        token = audit.start_request()
        try:
            await self._dispatch(scope, receive, send)
        finally:
            audit.end_request(token)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = self.edge.resolve(scope)
            path = scope["path"]
            if not self.edge.accepts(host) and not self._host_exception(scope, host, path):
                await refuse_host(scope, receive, send)
                return
            for pattern, app in self.dialects:
                if pattern.match(path):
                    await app(scope, receive, send)
                    return
        await self.operator(scope, receive, send)

    def _host_exception(self, scope: Scope, host: str | None, path: str) -> bool:
        """A request for a host not served that is answered all the same: a probe, or a
        dialect's own exception (``api/common/edge.py``)."""
        if path in PROBES:
            return True
        return any(p.match(path) and accepts(scope, host) for p, accepts in self.host_exceptions)


def create_app(settings: Settings | None = None) -> DialectRouter:
    settings = settings or Settings()
    configure_logging(settings.log_level)
    state = AppState(settings=settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state.core = build_core(settings)
        expiry = (
            asyncio.create_task(
                baskets.expiry_loop(state.core, settings.basket_expiry_seconds),
                name="basket-expiry",
            )
            if settings.basket_expiry_seconds
            else None
        )
        try:
            yield
        finally:
            if expiry is not None:
                expiry.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await expiry
            await state.core.dispose()
            state.core = None

    operator = FastAPI(
        title="boxoffice",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    operator.state.boxoffice = state
    spektrix_app, spektrix_asgi = create_spektrix_app(state)
    brandchannel_app, brandchannel_asgi = create_brandchannel_app(state)
    carecloud_app, carecloud_asgi = create_carecloud_app(state)
    documented: dict[str, FastAPI] = {"spektrix": spektrix_app, "brandchannel": brandchannel_app}
    documented["carecloud"] = carecloud_app
    operator.mount("/static/swagger-ui", StaticFiles(directory=str(SWAGGER_UI)), name="swagger-ui")

    @operator.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return JSON({"status": "ok", "version": __version__})

    @operator.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        if state.core is None:
            return JSON({"status": "starting"}, status_code=503)
        try:
            await check_database(state.core)
        except Exception as exc:  # readiness reports any failure; it never raises
            return JSON({"status": "unavailable", "database": type(exc).__name__}, status_code=503)
        return JSON({"status": "ready", "database": "ok"})

    @operator.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(metrics_payload(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @operator.get("/openapi/{dialect}.json", include_in_schema=False)
    async def openapi(dialect: str) -> Response:
        app = documented.get(dialect)
        if app is None:
            return JSON({"message": f"no dialect {dialect!r}"}, status_code=404)
        return JSON(app.openapi())

    @operator.get("/docs/{dialect}", include_in_schema=False)
    async def docs(dialect: str) -> Response:
        if dialect not in documented:
            return JSON({"message": f"no dialect {dialect!r}"}, status_code=404)
        return get_swagger_ui_html(
            openapi_url=f"/openapi/{dialect}.json",
            title=f"boxoffice: {DIALECTS[dialect]}",
            swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/swagger-ui/favicon.png",
        )

    @operator.get("/", include_in_schema=False)
    async def index(request: Request) -> Response:
        lines = [f"boxoffice {__version__}", "", "API documentation:"]
        lines += [f"  {request.base_url}docs/{name}  ({title})" for name, title in DIALECTS.items()]
        return PlainTextResponse("\n".join(lines) + "\n")

    async def not_found(request: Request, exc: Any) -> Response:
        return JSON({"message": "not found"}, status_code=404)

    operator.add_exception_handler(404, not_found)

    return DialectRouter(
        state,
        Observe(operator, "operator"),
        [
            (re.compile(r"^/[^/]+/api/v3(/|$)"), Observe(spektrix_asgi, "spektrix")),
            (re.compile(r"^(/[^/]+)?/api/v2(/|$)"), Observe(brandchannel_asgi, "brandchannel")),
            (re.compile(r"^/[^/]+/website(/|$)"), Observe(create_web_app(state), "web")),
            (re.compile(r"^/webcomponents/stable/"), Observe(create_webcomponents_app(), "web")),
            (
                re.compile(r"^/[^/]+/(webservice/)?rest-api/customer-interface/v1\.0(/|$)"),
                Observe(carecloud_asgi, "carecloud"),
            ),
        ],
        host_exceptions=[(re.compile(r"^/[^/]+/api/v3(/|$)"), signed_for_the_vendor_host)],
    )


def app_factory() -> DialectRouter:
    """For ``uvicorn --factory boxoffice.api.app:app_factory`` (used by ``boxoffice serve``).

    It runs once in each server worker process, so process-wide tuning for serving lives here
    and not in any import (tests and the CLI import the same modules).
    """
    passwords.return_large_blocks_to_the_system()
    app = create_app()
    keep_startup_objects_out_of_collections()
    return app


def keep_startup_objects_out_of_collections() -> None:
    """Move every object made so far (modules, the apps, the ORM's mappers: some 200,000) out
    of the garbage collector's reach (``gc.freeze``).

    A full collection walks every tracked object: about 50 ms here, during which the worker
    answers nothing, and request traffic triggers one every few seconds. The startup objects
    live as long as the process anyway; after the freeze a full collection walks only what
    requests made (bench/README.md, decision 0079)."""
    configure_orm()
    gc.collect()
    gc.freeze()
