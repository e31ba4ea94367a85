"""The hottest Spektrix reads, answered without FastAPI's routing and dependency solving.

``GET customers/{id}``, ``GET customers?email=`` (System Owner) and ``GET customer`` (web
mode) are most of a busy site's traffic. FastAPI spends more CPU resolving their dependency
graph (tenant, state, core, principal, owner, query and path parameters, each validated) than
the whole database read takes (decision 0072). This lane matches exactly those requests and
calls the very same dependency functions and route handlers directly, with the dialect's own
error table; anything else, or anything unusual about these (a trailing slash, repeated
parameters), goes to the FastAPI application unchanged. The routes stay declared in FastAPI,
which documents them, and the lane hands their route object to the metrics like FastAPI does.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from boxoffice.api.common.state import AppState
from boxoffice.api.spektrix import auth, routes
from boxoffice.api.spektrix.errors import ERROR_TABLE
from boxoffice.domain.errors import DomainError
from boxoffice.domain.principal import Principal
from boxoffice.services.core import Core

_CUSTOMER_BY_ID = re.compile(r"^/([^/]+)/api/v3/customers/([^/]+)$")
_CUSTOMERS = re.compile(r"^/([^/]+)/api/v3/customers$")
_CURRENT_CUSTOMER = re.compile(r"^/([^/]+)/api/v3/customer$")
_EXPAND = "$expand"
#: The query of a request without one (immutable: shared by every such request).
_NO_QUERY = QueryParams()

Handler = Callable[[Request, QueryParams, str, str | None], Awaitable[Response]]


class FastLane:
    """An ASGI wrapper of the Spektrix FastAPI app (see the module's docstring)."""

    def __init__(self, app: FastAPI, state: AppState) -> None:
        self.app = app
        self.state = state
        self.routes = {
            (route.path, method): route
            for route in routes.router.routes
            if isinstance(route, APIRoute)
            for method in route.methods or ()
        }
        self._by_id_route = self._route("/customers/{id}")
        self._customers_route = self._route("/customers")
        self._customer_route = self._route("/customer")

    def _route(self, path: str) -> APIRoute:
        return self.routes[(routes.router.prefix + path, "GET")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = self._lane(scope) if scope["type"] == "http" and scope["method"] == "GET" else None
        if lane is None:
            await self.app(scope, receive, send)
            return
        handler, route, client, ident = lane
        # The query as ``Request.query_params`` parses it; none to parse for most requests.
        query = QueryParams(scope["query_string"]) if scope["query_string"] else _NO_QUERY
        if len(query.multi_items()) != len(query):  # a name given more than once
            await self.app(scope, receive, send)  # FastAPI's rules for repeated parameters
            return
        scope["route"] = route
        scope["app"] = self.app
        request = Request(scope, receive)
        try:
            response = await handler(request, query, client, ident)
        except DomainError as exc:
            response = ERROR_TABLE[type(exc)](exc)
        await response(scope, receive, send)

    def _lane(self, scope: Scope) -> tuple[Handler, APIRoute, str, str | None] | None:
        path = scope["path"]
        if match := _CUSTOMER_BY_ID.match(path):
            return self._by_id, self._by_id_route, match[1], match[2]
        if match := _CUSTOMERS.match(path):
            return self._by_email, self._customers_route, match[1], None
        if match := _CURRENT_CUSTOMER.match(path):
            return self._current, self._customer_route, match[1], None
        return None

    def _core(self) -> Core:
        core = self.state.core
        if core is None:
            raise RuntimeError("the application has not started")
        return core

    async def _owner(self, request: Request, client: str) -> Principal:
        core = self._core()
        tenant = await auth.tenant(client, core)
        return await auth.owner(await auth.principal(request, tenant, core, self.state))

    async def _by_id(
        self, request: Request, query: QueryParams, client: str, ident: str | None
    ) -> Response:
        assert ident is not None
        principal = await self._owner(request, client)
        expand = query.get(_EXPAND)
        return await routes.get_customer(ident, principal, self._core(), expand)

    async def _by_email(
        self, request: Request, query: QueryParams, client: str, _ident: str | None
    ) -> Response:
        principal = await self._owner(request, client)
        return await routes.find_customer(
            principal, self._core(), query.get("email"), query.get(_EXPAND)
        )

    async def _current(
        self, request: Request, query: QueryParams, client: str, _ident: str | None
    ) -> Response:
        core = self._core()
        tenant = await auth.tenant(client, core)
        expand = query.get(_EXPAND)
        if not expand:  # the session and the customer in one read (decision 0085)
            principal, view = await auth.web_customer_view(request, tenant, core)
            return await routes.current_customer_answer(principal, core, view)
        principal = await auth.web_customer(request, tenant, core)
        return await routes.get_current_customer(principal, core, expand)
