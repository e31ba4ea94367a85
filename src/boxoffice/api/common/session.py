"""The customer's browser session cookie, shared by web mode and the hosted pages.

One cookie per tenant (path ``/{client}/``) so that the iframe pages under
``/{client}/website/``, the web components' calls and web-mode API calls under
``/{client}/api/v3/`` all see the same login. Over HTTPS it is ``SameSite=None; Secure`` (the
iframe and the components run in a third-party context when the venue's site is on another
site); over plain HTTP (local development) browsers refuse ``SameSite=None``, so it is ``Lax``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from boxoffice.api.common.headers import first_values
from boxoffice.api.common.state import AppState
from boxoffice.services.accounts import Client
from boxoffice.settings import Settings, host_name

SESSION_COOKIE = "boxoffice_session"
#: The web basket's cookie (web mode's ``v3/basket``, the booking pages): a random token whose
#: hash finds the basket. Apart from the login so that a visitor has a basket before logging in,
#: and keeps it across logging in; same path and attributes as the session cookie.
BASKET_COOKIE = "boxoffice_basket"


def is_https(request: Request) -> bool:
    """Whether the client reached us over HTTPS (a trusted proxy's word already applied by
    the edge, ``api/common/edge.py``)."""
    return request.scope.get("scheme") == "https"


def client_info(request: Request, state: AppState) -> Client:
    """The client's address and where links in mail point (decision 0090).

    Both were settled by the edge before any route ran: the address is the peer's, or what a
    trusted proxy says; the ``Host`` is one this instance serves.
    """
    ip = request.client.host if request.client else "unknown"
    return Client(ip=ip, base_url=base_url(request.scope, state.settings))


def base_url(scope: Scope, settings: Settings) -> str:
    """Where links in mail point: the configured public URL for the request's host (else the
    first one); without public URLs, this host if it is one of the accepted hosts, else the
    address the connection reached. Never a host that no one configured."""
    (host,) = first_values(scope, b"host")
    name = host_name(host) if host else None
    if settings.public_urls:
        for url in settings.public_urls:
            if host_name(urlsplit(url).netloc) == name:
                return url.rstrip("/")
        return settings.public_urls[0].rstrip("/")
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    if name is not None and name in settings.accepted_hosts():
        return f"{scheme}://{host}"
    server = scope.get("server") or ("127.0.0.1", 80)
    address = f"[{server[0]}]" if ":" in server[0] else server[0]
    return f"{scheme}://{address}:{server[1]}"


def set_session_cookie(
    response: Response, request: Request, state: AppState, client: str, token: str
) -> None:
    _set_cookie(response, request, state, client, SESSION_COOKIE, token)


def set_basket_cookie(
    response: Response, request: Request, state: AppState, client: str, token: str
) -> None:
    _set_cookie(response, request, state, client, BASKET_COOKIE, token)


def _set_cookie(
    response: Response, request: Request, state: AppState, client: str, name: str, token: str
) -> None:
    secure = is_https(request)
    response.set_cookie(
        name,
        token,
        max_age=state.settings.session_absolute_seconds,
        path=f"/{client}/",
        httponly=True,
        secure=secure,
        # Cross-site website calls need SameSite=None, which browsers accept only with Secure.
        samesite="none" if secure else "lax",
    )


def clear_session_cookie(
    response: Response, request: Request, state: AppState, client: str
) -> None:
    secure = is_https(request)
    response.delete_cookie(
        SESSION_COOKIE,
        path=f"/{client}/",
        httponly=True,
        secure=secure,
        samesite="none" if secure else "lax",
    )


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)


def basket_token(request: Request) -> str | None:
    return request.cookies.get(BASKET_COOKIE)
