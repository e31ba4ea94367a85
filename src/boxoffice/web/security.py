"""The hosted pages' browser security: form tokens, return addresses, CSP, stylesheets.

Form posts (docs/decisions/0010-hosted-pages-csrf.md): every form a page renders carries
``_csrf``, an HMAC of a random per-browser cookie (``boxoffice_csrf``, double submit). A post
with the field is checked against the cookie. A post without it is the venue's own plain HTML
sign-up form; it is accepted only with an ``Origin`` (or, failing that, ``Referer``) that is one
of the tenant's origins or the instance itself. On top of both, ``BrowserPolicy`` refuses any
post whose ``Origin`` is foreign before a route runs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import Response

from boxoffice.api.common.session import is_https
from boxoffice.domain.views import TenantView

CSRF_COOKIE = "boxoffice_csrf"
CSRF_FIELD = "_csrf"
CAPTCHA_SCRIPT_ORIGINS = {
    "turnstile": ("https://challenges.cloudflare.com",),
    "hcaptcha": ("https://hcaptcha.com", "https://*.hcaptcha.com"),
    "recaptcha": ("https://www.google.com", "https://www.gstatic.com"),
}


def origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def own_origins(request: Request, public_urls: Iterable[str]) -> set[str]:
    """The instance's own origins: as this request reached it (the edge settled its scheme and
    host) and its configured public URLs."""
    found = {f"{request.scope.get('scheme', 'http')}://{request.headers.get('host', '')}".lower()}
    found.update(o for o in (origin_of(u) for u in public_urls) if o)
    return found


def allowed_origins(tenant: TenantView, own: set[str]) -> set[str]:
    return {o.lower() for o in tenant.origins} | own


# --- form tokens ---------------------------------------------------------------------------


def _mac(secret: str, tenant: str, nonce: str) -> str:
    digest = hmac.new(secret.encode(), f"csrf|{tenant}|{nonce}".encode(), hashlib.sha256)
    return digest.hexdigest()


class FormToken:
    """The double-submit token of one request: ``value`` for the form, the cookie to set."""

    def __init__(self, request: Request, secret: str, tenant: str) -> None:
        self.secret = secret
        self.tenant = tenant
        cookie = request.cookies.get(CSRF_COOKIE, "")
        self.fresh = not (16 <= len(cookie) <= 100)
        self.nonce = secrets.token_urlsafe(24) if self.fresh else cookie

    @property
    def value(self) -> str:
        return _mac(self.secret, self.tenant, self.nonce)

    def valid(self, sent: str | None) -> bool:
        if self.fresh or not sent:
            return False
        return hmac.compare_digest(sent.encode(), self.value.encode())

    def set_cookie(self, response: Response, request: Request) -> None:
        if not self.fresh:
            return
        secure = is_https(request)
        response.set_cookie(
            CSRF_COOKIE,
            self.nonce,
            path=f"/{self.tenant}/website/",
            httponly=True,
            secure=secure,
            samesite="none" if secure else "lax",
        )


def plain_post_allowed(request: Request, allowed: set[str]) -> bool:
    """A post without our form token: only from one of the allowed origins."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        referer = request.headers.get("referer")
        origin = origin_of(referer) if referer else None
    return origin is not None and origin.lower() in allowed


# --- return addresses ------------------------------------------------------------------------


def check_return_url(url: str, base: str, allowed: set[str]) -> str | None:
    """``url`` made absolute against ``base`` if it stays on an allowed origin, else None."""
    url = url.strip()
    if not url or len(url) > 2000 or "\\" in url or any(ord(c) < 33 for c in url):
        return None
    absolute = urljoin(base.rstrip("/") + "/", url)
    origin = origin_of(absolute)
    if origin is None or origin not in allowed:
        return None
    if urlsplit(absolute).username is not None:
        return None
    return absolute


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` set (replacing the same keys, in any case), fragment kept."""
    parts = urlsplit(url)
    lowered = {k.lower() for k in params}
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    query = [(k, v) for k, v in query if k.lower() not in lowered] + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- stylesheets and the content security policy ---------------------------------------------


def stylesheet_url(tenant: TenantView, requested: str | None, allowed: set[str]) -> str | None:
    """``Stylesheet=``: a URL on an allowed origin, or a file name under the tenant's
    ``settings.stylesheet_base``; else the tenant's ``settings.default_stylesheet``."""
    base = tenant.settings.get("stylesheet_base")
    candidates = [requested, tenant.settings.get("default_stylesheet")]
    for candidate in candidates:
        if not isinstance(candidate, str) or not candidate.strip():
            continue
        candidate = candidate.strip()
        if origin_of(candidate) is None:
            if not isinstance(base, str) or not base:
                continue
            if "/" in candidate or "\\" in candidate or candidate.startswith("."):
                continue
            candidate = base.rstrip("/") + "/" + candidate
        origin = origin_of(candidate)
        if origin is not None and origin in allowed and "\\" not in candidate:
            return candidate
    return None


def content_security_policy(
    tenant: TenantView, stylesheet: str | None, captcha_provider: str | None
) -> str:
    ancestors = " ".join(sorted({o.lower() for o in tenant.origins}))
    styles = "'self'"
    if stylesheet:
        styles += f" {origin_of(stylesheet)}"
    scripts = "'self'"
    frames = "'none'"
    if captcha_provider in CAPTCHA_SCRIPT_ORIGINS:
        hosts = " ".join(CAPTCHA_SCRIPT_ORIGINS[captcha_provider])
        scripts += f" {hosts}"
        frames = hosts
        styles += f" {hosts}"
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {scripts}",
            f"style-src {styles}",
            "img-src 'self' data:" + (f" {ancestors}" if ancestors else ""),
            "font-src 'self'" + (f" {ancestors}" if ancestors else ""),
            f"frame-src {frames}",
            "connect-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            f"frame-ancestors 'self'{' ' + ancestors if ancestors else ''}",
        ]
    )
