"""The CareCloud dialect as its own ASGI application (own errors, own OpenAPI document).

The same routes answer under both of the vendor's base paths; only the first is documented.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema
from starlette.types import ASGIApp, Scope

from boxoffice.api.carecloud import errors, routes
from boxoffice.api.carecloud.auth import has_credentials
from boxoffice.api.common.browser import BrowserPolicy
from boxoffice.api.common.limits import BodyLimit
from boxoffice.api.common.state import AppState, tenant_origins

TITLE = "boxoffice: CareCloud Customer Interface v1.0 dialect"
VERSION = "v1.0"
BASE_PATHS = (
    "/{tenant}/webservice/rest-api/customer-interface/v1.0",
    "/{tenant}/rest-api/customer-interface/v1.0",
)
DESCRIPTION = (
    "The CareCloud Customer Interface (Customer API) at "
    "`/{tenant}/webservice/rest-api/customer-interface/v1.0/` (and the same without "
    "`/webservice`). Create a token with `POST /tokens` (no credentials), then send "
    "`Authorization: Bearer <token_id>` (or the legacy `Basic base64(<user>:<token_id>)`). "
    "Log a customer in with `POST /tokens/{token_id}/actions/login`."
)


def create_app(state: AppState) -> tuple[FastAPI, ASGIApp]:
    app = FastAPI(
        title=TITLE,
        description=DESCRIPTION,
        version=VERSION,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.boxoffice = state
    errors.add_exception_handlers(app)
    for index, prefix in enumerate(BASE_PATHS):
        app.include_router(routes.router, prefix=prefix, include_in_schema=index == 0)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(
                title=TITLE, version=VERSION, description=DESCRIPTION, routes=app.routes
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
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "basicAuth": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "Deprecated: base64(<user name>:<token_id>)",
                },
            }
            schema["security"] = [{"bearerAuth": []}, {"basicAuth": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    async def allowed_origins(scope: Scope) -> frozenset[str]:
        return await tenant_origins(state, scope["path"].split("/", 2)[1])

    browser = BrowserPolicy(
        BodyLimit(app, state.settings.max_body_bytes, errors.payload_too_large),
        allowed_origins=allowed_origins,
        refuse=errors.forbidden,
        credentials=has_credentials,
    )
    return app, browser
