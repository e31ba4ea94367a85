"""The brand/channel dialect as its own ASGI application (own errors, own OpenAPI document).

It answers at ``/api/v2/`` (the tenant comes from the API key) and at ``/{tenant}/api/v2/``
(the key must then belong to that tenant). Action names in paths match without regard to case
(the vendor's documentation spells one of them two ways). The API is for servers: it sends no
CORS headers, so a browser on another site can neither call it nor read its answers.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema
from starlette.types import ASGIApp, Receive, Scope, Send

from boxoffice.api.brandchannel import errors, routes
from boxoffice.api.brandchannel.auth import API_KEY_HEADER, TENANT_SCOPE_KEY
from boxoffice.api.common.limits import BodyLimit
from boxoffice.api.common.state import AppState

TITLE = "boxoffice: brand/channel customer API v2 dialect"
DESCRIPTION = (
    "The Customer controller at `/api/v2/customer` (also `/{tenant}/api/v2/customer`). Every "
    "call sends an `apiKey` header; reads need the key's `CUSTOMER_READ` permission, writes "
    "`CUSTOMER_CUD`. Bodies may be multipart/form-data, application/x-www-form-urlencoded or "
    "JSON. Results are `{message, type: result}`, errors `{message, type: error}`."
)
#: ``/{tenant}/api/v2/...`` (group 1: the tenant) and ``/api/v2/...``.
TENANT_PATH = re.compile(r"^/([^/]+)(/api/v2(?:/.*)?)$")
BASE = "/api/v2"


class CanonicalPaths:
    """Moves a ``/{tenant}`` prefix into the scope and spells action segments canonically."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        tenant = None
        if not (path == BASE or path.startswith(BASE + "/")):
            match = TENANT_PATH.match(path)
            if match is not None:
                tenant, path = match.group(1), match.group(2)
        head, _, rest = path.partition(BASE)
        segments = [routes.ACTIONS.get(p.lower(), p) for p in rest.split("/")]
        inner = {k: v for k, v in scope.items() if k != "raw_path"}
        inner["path"] = head + BASE + "/".join(segments)
        if tenant is not None:
            inner[TENANT_SCOPE_KEY] = tenant
        try:
            await self.app(inner, receive, send)
        finally:
            if "route" in inner:  # for the access log and metrics (``Observe``)
                scope["route"] = inner["route"]


def _json_property(prop: dict[str, Any], required: bool) -> dict[str, Any]:
    """A parameter as a JSON body may send it: JSON scalars are read as the parameter's text
    (``6`` and ``"6"`` alike), as a form would send them; ``null`` is "not sent"."""
    kinds = {o.get("type") for o in prop.get("anyOf", [prop])} - {None, "null"}
    keep = {k: v for k, v in prop.items() if k in ("title", "description", "default")}
    if kinds == {"integer"}:
        options: list[dict[str, Any]] = [
            {"type": "integer", "minimum": 0},
            {"type": "string", "pattern": r"^\s*[0-9]*\s*$"},  # blank: not sent
        ]
    elif kinds == {"boolean"}:
        options = [
            {"type": "boolean"},
            {"type": "integer", "enum": [0, 1]},
            {"type": "string", "enum": ["true", "false", "1", "0", "True", "False", ""]},
        ]
    else:
        text = {k: v for k, v in prop.items() if k == "pattern"}
        options = [{"type": "string", **text}, {"type": "number"}, {"type": "boolean"}]
    if not required:
        options.append({"type": "null"})
    return {**keep, "anyOf": options}


def _document_json_bodies(schema: dict[str, Any]) -> None:
    """Give each request body's ``application/json`` variant a schema of its own
    (``<Model>Json``): the same parameters, typed as a JSON body may send them; and let integer
    query parameters be blank (not sent)."""
    components = schema["components"]["schemas"]
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                # A blank integer parameter (``?brand_id=``) is "not sent", as in a form.
                if parameter.get("in") == "query" and parameter["schema"].get("type") == "integer":
                    blank = {"type": "string", "pattern": r"^\s*$"}
                    parameter["schema"] = {"anyOf": [parameter["schema"], blank]}
            content = operation.get("requestBody", {}).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref")
            if ref is None:
                continue
            name = ref.rsplit("/", 1)[1]
            model = components[name]
            required = set(model.get("required", []))
            components.setdefault(
                f"{name}Json",
                {
                    **model,
                    "title": f"{model.get('title', name)} (JSON)",
                    "properties": {
                        key: _json_property(prop, key in required)
                        for key, prop in model.get("properties", {}).items()
                    },
                },
            )
            content["application/json"] = {"schema": {"$ref": f"{ref}Json"}}


def create_app(state: AppState) -> tuple[FastAPI, ASGIApp]:
    app = FastAPI(
        title=TITLE,
        description=DESCRIPTION,
        version="2",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.boxoffice = state
    errors.add_exception_handlers(app)
    app.include_router(routes.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(
                title=TITLE, version="2", description=DESCRIPTION, routes=app.routes
            )
            _, defs = models_json_schema(
                [(model, "validation") for model in routes.DOCUMENTED_MODELS],
                ref_template="#/components/schemas/{model}",
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, model_schema in defs.get("$defs", {}).items():
                components.setdefault(name, model_schema)
            components_root = schema["components"]
            components_root["securitySchemes"] = {
                "apiKey": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER}
            }
            schema["security"] = [{"apiKey": []}]
            _document_json_bodies(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    return app, CanonicalPaths(
        BodyLimit(app, state.settings.max_body_bytes, errors.payload_too_large)
    )
