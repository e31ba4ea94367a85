"""The customer's browser session cookie, shared by web mode and the hosted pages.

One cookie per tenant (path ``/{client}/``) so that the iframe pages under
``/{client}/website/``, the web components' calls and web-mode API calls under
``/{client}/api/v3/`` all see the same login. Over HTTPS it is ``SameSite=None; Secure`` (the
iframe and the components run in a third-party context when the venue's site is on another
site); over plain HTTP (local development) browsers refuse ``SameSite=None``, so it is ``Lax``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from boxoffice.api.common.state import AppState
from boxoffice.services.accounts import Client

SESSION_COOKIE = "boxoffice_session"


def is_https(request: Request, trust_proxy: bool) -> bool:
    if trust_proxy:
        forwarded = request.headers.get("x-forwarded-proto")
        if forwarded:
            return forwarded.split(",")[0].strip().lower() == "https"
    return request.url.scheme == "https"


def client_info(request: Request, state: AppState) -> Client:
    settings = state.settings
    ip = request.client.host if request.client else "unknown"
    if settings.trust_proxy_headers and request.headers.get("x-forwarded-for"):
        ip = request.headers["x-forwarded-for"].split(",")[0].strip()
    if settings.public_urls:
        base = settings.public_urls[0]
    else:
        scheme = "https" if is_https(request, settings.trust_proxy_headers) else "http"
        base = f"{scheme}://{request.headers.get('host', request.url.netloc)}"
    return Client(ip=ip, base_url=base.rstrip("/"))


def set_session_cookie(
    response: Response, request: Request, state: AppState, client: str, token: str
) -> None:
    secure = is_https(request, state.settings.trust_proxy_headers)
    response.set_cookie(
        SESSION_COOKIE,
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
    secure = is_https(request, state.settings.trust_proxy_headers)
    response.delete_cookie(
        SESSION_COOKIE,
        path=f"/{client}/",
        httponly=True,
        secure=secure,
        samesite="none" if secure else "lax",
    )


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)
