"""Browsers: credentialed CORS for a tenant's allowed origins, and no cross-site writes.

A response carries ``Access-Control-Allow-Origin: <origin>`` and
``Access-Control-Allow-Credentials: true`` only when the request's ``Origin`` is the instance
itself or one of the tenant's configured origins. A state-changing request (POST, PUT, PATCH,
DELETE) from any other origin is refused before it reaches a route (cross-site request
forgery), as is one that a browser marks ``Sec-Fetch-Site: cross-site`` without an ``Origin``.
Requests carrying one of the dialect's own server-to-server credentials (``credentials``:
e.g. ``SpektrixAPI3 ...``, CareCloud's ``Basic``/``Bearer``), which a browser never adds by
itself, are not affected; any other ``Authorization`` value is (decision 0090).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from boxoffice.api.common.headers import first_values

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOWED_HEADERS = frozenset(
    {
        "content-type",
        "accept",
        "accept-language",
        "x-requested-with",
        "x-captcha-token",
        "x-request-id",
    }
)
MAX_AGE = "600"


def own_origin(scope: Scope, *, headers: Headers | None = None) -> str:
    """The instance's own origin as this request reached it (``headers``: the request's, when
    already read), as the edge settled it (a trusted proxy's ``X-Forwarded-*`` applied)."""
    if headers is None:
        headers = Headers(scope=scope)
    return f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()


def _never(_authorization: str) -> bool:
    return False


class BrowserPolicy:
    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_origins: Callable[[Scope], Awaitable[frozenset[str]]],
        refuse: Callable[[str], Response],
        credentials: Callable[[str], bool] = _never,
    ) -> None:
        self.app = app
        self.allowed_origins = allowed_origins
        self.refuse = refuse
        self.credentials = credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        # The three headers this needs, in one pass (most requests carry no ``Origin``).
        sent_origin, authorization, fetch_site = first_values(
            scope, b"origin", b"authorization", b"sec-fetch-site"
        )
        if sent_origin is None:
            if (
                method not in SAFE_METHODS
                and fetch_site == "cross-site"
                and not self._signed(authorization)
            ):
                await self.refuse("Cross-site requests are not allowed.")(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = sent_origin.lower()
        granted = origin == own_origin(scope, headers=headers) or (
            origin in await self.allowed_origins(scope)
        )
        if method == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(granted, origin, headers)(scope, receive, send)
            return
        if not granted and method not in SAFE_METHODS and not self._signed(authorization):
            await self.refuse("Requests from this website are not allowed.")(scope, receive, send)
            return
        if not granted:
            await self.app(scope, receive, _vary(send))
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent = message["headers"]
                if not any(key in _CORS_NAMES for key, _ in sent):
                    # None of them set yet (the usual case): what the lines below add.
                    message["headers"] = [*sent, (_ALLOW_ORIGIN, origin.encode("latin-1")), *_CORS]
                    await send(message)
                    return
                out = MutableHeaders(scope=message)
                out["Access-Control-Allow-Origin"] = origin
                out["Access-Control-Allow-Credentials"] = "true"
                out["Access-Control-Expose-Headers"] = "Retry-After, X-Request-ID"
                out.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, with_cors)

    def _signed(self, authorization: str | None) -> bool:
        """Whether the request carries one of the dialect's server-to-server credentials (not
        whether they are valid: the dialect's authentication decides that)."""
        return authorization is not None and self.credentials(authorization)

    def _preflight(self, granted: bool, origin: str, headers: Headers) -> Response:
        if not granted:
            response = self.refuse("Requests from this website are not allowed.")
            response.headers["Vary"] = "Origin"
            return response
        requested = [
            h.strip().lower()
            for h in headers.get("access-control-request-headers", "").split(",")
            if h.strip()
        ]
        return Response(
            status_code=204,
            headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Credentials": "true",
                "Access-Control-Allow-Methods": ALLOWED_METHODS,
                "Access-Control-Allow-Headers": ", ".join(
                    h for h in requested if h in ALLOWED_HEADERS
                ),
                "Access-Control-Max-Age": MAX_AGE,
                "Vary": "Origin",
            },
        )


#: The response headers a granted request gets, after ``Access-Control-Allow-Origin``.
_ALLOW_ORIGIN = b"access-control-allow-origin"
_CORS = (
    (b"access-control-allow-credentials", b"true"),
    (b"access-control-expose-headers", b"Retry-After, X-Request-ID"),
    (b"vary", b"Origin"),
)
_CORS_NAMES = frozenset({_ALLOW_ORIGIN, *(name for name, _ in _CORS)})


def _vary(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            sent = message["headers"]
            if any(key == b"vary" for key, _ in sent):
                MutableHeaders(scope=message).add_vary_header("Origin")
            else:  # as ``add_vary_header`` does without a ``Vary`` yet
                message["headers"] = [*sent, (b"vary", b"Origin")]
        await send(message)

    return wrapped
