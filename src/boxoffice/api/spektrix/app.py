"""The Spektrix dialect as its own ASGI application (own errors, own OpenAPI document)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema
from starlette.types import ASGIApp, Scope

from boxoffice.api.common.browser import BrowserPolicy
from boxoffice.api.common.limits import BodyLimit
from boxoffice.api.common.state import AppState, tenant_origins
from boxoffice.api.spektrix import basket_routes, errors, routes
from boxoffice.api.spektrix.auth import is_signed

TITLE = "boxoffice: Spektrix API v3 dialect"
DESCRIPTION = (
    "Customer and catalogue endpoints of Spektrix API v3 at `/{client}/api/v3/`. Without an `Authorization` "
    "header a request is in web mode; with `Authorization: SpektrixAPI3 <login>:<signature>` "
    "it is in System Owner mode (HMAC-SHA1 over method, full URL, Date and body MD5)."
)


def create_app(state: AppState) -> tuple[FastAPI, ASGIApp]:
    app = FastAPI(
        title=TITLE,
        description=DESCRIPTION,
        version="3",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.boxoffice = state
    errors.add_exception_handlers(app)
    app.include_router(routes.router)
    app.include_router(basket_routes.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(
                title=TITLE, version="3", description=DESCRIPTION, routes=app.routes
            )
            _, defs = models_json_schema(
                [(model, "validation") for model in routes.DOCUMENTED_MODELS],
                ref_template="#/components/schemas/{model}",
                by_alias=True,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, model_schema in defs.get("$defs", {}).items():
                components.setdefault(name, model_schema)
            schema["components"]["securitySchemes"] = {
                "SpektrixAPI3": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "SpektrixAPI3 <login>:<base64 HMAC-SHA1 signature>",
                }
            }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    async def allowed_origins(scope: Scope) -> frozenset[str]:
        return await tenant_origins(state, scope["path"].split("/", 2)[1])

    browser = BrowserPolicy(
        BodyLimit(app, state.settings.max_body_bytes, errors.payload_too_large),
        allowed_origins=allowed_origins,
        refuse=errors.forbidden,
        credentials=is_signed,
    )
    return app, browser
