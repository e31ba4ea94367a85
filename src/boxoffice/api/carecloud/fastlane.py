"""The hottest CareCloud read, answered without FastAPI's routing and dependency solving.

An app shows its logged-in customer with ``GET customers/{customer_id}`` more than anything
else. Once its reads were snapshot reads (decision 0085), FastAPI's work (matching the route
among the dialect's two base paths, solving the token, logged-in and path dependencies, the
router's repeated-parameter check, validating the query) was the larger part of its CPU. Like
the Spektrix lane (decision 0072), this lane matches exactly that request under either base
path. It calls the tenant dependency, then ``auth.own_profile``: the checks of the token,
logged-in and path dependencies (the same functions), with the route's profile read on the
same read as the token's; the answer is the route's own (``routes.customer_answer``) and
errors go through the dialect's error table. Anything else, or anything unusual about the
request (another query parameter, a value FastAPI would have to judge, a trailing slash), goes
to the FastAPI application unchanged.
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from boxoffice.api.carecloud import auth, routes
from boxoffice.api.carecloud.errors import ERROR_TABLE
from boxoffice.api.common.state import AppState
from boxoffice.domain.errors import DomainError

_CUSTOMER = re.compile(
    r"^/([^/]+)/(?:webservice/)?rest-api/customer-interface/v1\.0/customers/([^/]+)$"
)
_SHORT = "customer_short_salutation"
#: The values of a boolean query parameter that FastAPI (pydantic) reads, and as what; any
#: other value is FastAPI's to refuse.
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


class FastLane:
    """An ASGI wrapper of the CareCloud FastAPI app (see the module's docstring)."""

    def __init__(self, app: FastAPI, state: AppState) -> None:
        self.app = app
        self.state = state
        #: The declared route, for the metrics. The router is included under both base paths
        #: and FastAPI hands the metrics the router's own route (its path without a prefix)
        #: for either.
        self.route = next(
            route
            for route in routes.router.routes
            if isinstance(route, APIRoute)
            and route.path == "/customers/{customer_id}"
            and "GET" in (route.methods or ())
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = None
        if scope["type"] == "http" and scope["method"] == "GET":
            match = self._lane(scope)
        short = _short_salutation(scope) if match is not None else None
        if match is None or short is None:
            await self.app(scope, receive, send)
            return
        tenant_name, customer_id = match.groups()
        scope["route"] = self.route
        scope["app"] = self.app
        request = Request(scope, receive)
        try:
            core = self.state.core
            if core is None:
                raise RuntimeError("the application has not started")
            tenant = await auth.tenant(tenant_name, core)
            caller, found = await auth.own_profile(request, tenant, core, customer_id)
            response = routes.customer_answer(caller, found, short)
        except DomainError as exc:
            response = _error(exc)
        await response(scope, receive, send)

    def _lane(self, scope: Scope) -> re.Match[str] | None:
        return _CUSTOMER.match(scope["path"])


def _short_salutation(scope: Scope) -> bool | None:
    """``customer_short_salutation`` when it is the only query parameter (False when there is
    none); None for any other query, which FastAPI answers."""
    query: bytes = scope.get("query_string") or b""
    if not query:
        return False
    name, equals, value = query.decode("latin-1").partition("=")
    if name != _SHORT or not equals:
        return None
    return _BOOLEANS.get(value)


def _error(exc: DomainError) -> Response:
    for kind in type(exc).__mro__:
        handler = ERROR_TABLE.get(kind)
        if handler is not None:
            return handler(exc)
    raise exc
