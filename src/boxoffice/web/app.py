"""Hosted customer pages under ``/{client}/website/`` (the iframes venues embed) and their scripts.

Pages (paths are case-insensitive, as ASP.NET's are; see docs/web-pages.md):

- ``secure/LoginLogout.aspx``: log in (password or mailed link) or, logged in, log out;
- ``secure/signup.aspx``: the sign-up page, and the target of venues' plain HTML sign-up forms
  (``FirstName``, ``LastName``, ``Email``, ``ReturnUrl`` -> redirect with ``Error=...``);
- ``secure/MyAccount.aspx``: details, addresses, contact preferences;
- ``secure/ForgotPassword.aspx`` and ``Secure/SetPassword.aspx`` (the reset mail's link);
- ``scripts/integrate.js`` (alias ``resizeiframe.js``) for the venue's page, ``scripts/frame.js``
  for ours.

Every page works without JavaScript, honours ``resize=true`` and ``Stylesheet=``, may be framed
only by the tenant's origins (CSP ``frame-ancestors``), and shares the web-mode session cookie.
The pages call the services only; they never touch the database.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes, urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.templating import Jinja2Templates
from python_multipart.multipart import parse_options_header
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from boxoffice.api.common.browser import BrowserPolicy
from boxoffice.api.common.limits import BodyLimit
from boxoffice.api.common.session import (
    clear_session_cookie,
    client_info,
    session_token,
    set_session_cookie,
)
from boxoffice.api.common.state import AppState, tenant_origins
from boxoffice.domain.commands import AddressPatch, CustomerPatch, NewAddress, NewCustomer
from boxoffice.domain.errors import (
    AlreadyExists,
    DomainError,
    InvalidInput,
    NotFound,
    RateLimited,
    Unavailable,
)
from boxoffice.domain.ids import customer_code, is_key
from boxoffice.domain.principal import Principal
from boxoffice.domain.rules import ATTRIBUTE_FIELD_PREFIX, is_valid_email
from boxoffice.domain.views import (
    AttributeDefinitionView,
    CatalogueView,
    CustomerView,
    StatementTextView,
    TagGroupView,
    TenantView,
)
from boxoffice.services import accounts, bots, localised, newsletter
from boxoffice.services import catalogue as catalogue_service
from boxoffice.services import customers as customer_service
from boxoffice.services.core import Core
from boxoffice.services.customers import ALL_PARTS
from boxoffice.services.tenants import get_tenant
from boxoffice.web import security
from boxoffice.web.texts import Texts, page_texts

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
#: The venue-facing scripts have stable, unversioned names: short caching, revalidated by ETag.
SCRIPT_CACHE = "public, max-age=3600"
SCRIPT_TYPE = "text/javascript; charset=utf-8"
SCRIPTS = {
    "integrate.js": "integrate.js",
    "resizeiframe.js": "integrate.js",
    "frame.js": "frame.js",
}
CAPTCHA_FIELDS = ("cf-turnstile-response", "h-captcha-response", "g-recaptcha-response")
#: The service's field names -> the form's.
FORM_FIELDS = {
    "first_name": "FirstName",
    "last_name": "LastName",
    "email": "Email",
    "password": "Password",
    "confirm": "ConfirmPassword",
    "title": "Title",
    "phone": "Phone",
    "mobile": "Mobile",
    "birth_date": "BirthDate",
    "line1": "Line1",
    "line2": "Line2",
    "town": "Town",
    "postcode": "Postcode",
    "country": "Country",
    "captcha": "captcha",
    "token": "token",
}
SIGNUP_ERRORS = ("NoFirstName", "NoLastName", "NoEmail", "InvalidEmail", "EmailExists")
PAGES = {
    "login": "secure/LoginLogout.aspx",
    "signup": "secure/signup.aspx",
    "account": "secure/MyAccount.aspx",
    "forgot": "secure/ForgotPassword.aspx",
    "setpassword": "Secure/SetPassword.aspx",
    "newsletter": "Secure/ConfirmNewsletter.aspx",
}
TITLES = {
    "login_logout": "login.title",
    "signup": "signup.title",
    "my_account": "account.title",
    "forgot_password": "forgot.title",
    "set_password": "setpassword.title",
    "confirm_newsletter": "newsletter.title",
}
RETURN_TO = {"myaccount.aspx": "account", "signup.aspx": "signup"}
NO_CACHE = "no-store"


def _plain(status: int, text: str) -> Response:
    return HTMLResponse(
        f"<!doctype html><title>{status}</title><p>{text}</p>",
        status_code=status,
        headers={"Cache-Control": NO_CACHE, "X-Content-Type-Options": "nosniff"},
    )


# --- one page view ---------------------------------------------------------------------------


@dataclass
class Page:
    """What every page needs about the request: tenant, texts, session, form token."""

    request: Request
    state: AppState
    core: Core
    tenant: TenantView
    texts: Texts
    token: security.FormToken
    allowed: set[str]
    stylesheet: str | None
    customer_id: int | None
    form: dict[str, list[str]] = field(default_factory=dict)

    def query(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.request.query_params.multi_items():
            if key.lower() == name:
                return value
        return None

    @property
    def resize(self) -> bool:
        return (self.query("resize") or "").lower() == "true"

    def kept(self) -> list[tuple[str, str]]:
        """The display parameters to carry over; ``resize`` last, as the vendor asks."""
        out = []
        for name in ("Stylesheet", "lang"):
            value = self.query(name)
            if value and (name != "Stylesheet" or self.stylesheet):
                out.append((name, value))
        if self.resize:
            out.append(("resize", "true"))
        return out

    def url(self, page: str, **extra: str) -> str:
        params = [(k, v) for k, v in extra.items() if v] + self.kept()
        query = f"?{urlencode(params)}" if params else ""
        return f"/{self.tenant.name}/website/{PAGES[page]}{query}"

    def value(self, name: str) -> str:
        values = self.form.get(name.lower())
        return values[0] if values else ""

    def values(self, name: str) -> list[str]:
        return self.form.get(name.lower(), [])

    @property
    def client(self) -> accounts.Client:
        return client_info(self.request, self.state)

    @property
    def web(self) -> Principal:
        return Principal(tenant_id=self.tenant.id, actor="web", full_access=False)

    @property
    def me(self) -> Principal:
        assert self.customer_id is not None
        return accounts.customer_principal(self.tenant.id, self.customer_id)

    @property
    def captcha(self) -> dict[str, str] | None:
        config = self.tenant.settings.get("captcha")
        if not isinstance(config, dict):
            return None
        provider, site_key = config.get("provider"), config.get("site_key")
        if isinstance(provider, str) and isinstance(site_key, str) and site_key:
            return {"provider": provider, "site_key": site_key}
        return None

    def captcha_token(self) -> str | None:
        for name in (*CAPTCHA_FIELDS, "captchatoken"):
            if self.value(name):
                return self.value(name)
        return self.request.headers.get("x-captcha-token")


def _fold(items: Sequence[tuple[str, object]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in items:
        if isinstance(value, str):
            out.setdefault(key.lower(), []).append(value)
    return out


#: At most this many fields in one form post (Starlette's own default).
MAX_FORM_FIELDS = 1000


class BadForm(Exception):
    """A form post that cannot be read as text: not UTF-8 (or its declared charset).

    ``readable`` holds the fields that could be read all the same, for the one post that
    still answers with them (the venue's plain sign-up form, redirected to its ``ReturnUrl``).
    ``legacy`` holds every field read as windows-1252, when the post named no charset at all:
    what a browser sends from a page in that encoding (HTML's fallback for legacy forms), which
    only the venue's plain sign-up form is read as (our own pages are UTF-8).
    """

    def __init__(
        self,
        message: str,
        readable: Sequence[tuple[str, str]] = (),
        legacy: Sequence[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.readable = list(readable)
        self.legacy = None if legacy is None else list(legacy)


def _strict(data: bytes, charset: str) -> str:
    try:
        return data.decode(charset)
    except (UnicodeDecodeError, LookupError) as exc:
        raise BadForm(str(exc)) from exc


def _decodes(data: bytes, charset: str) -> bool:
    try:
        data.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


class _StrictMultiPartParser(MultiPartParser):
    """Starlette's parser decodes a field it cannot read as Latin-1; note it as unreadable
    instead (its name or its value), and raise ``BadForm`` once the whole body is parsed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unreadable: set[int] = set()  # indexes into ``items``
        self._readable_part = True

    def on_headers_finished(self) -> None:
        super().on_headers_finished()
        _, options = parse_options_header(self._current_part.content_disposition)
        self._readable_part = _decodes(options.get(b"name", b""), self._charset or "utf-8")

    def on_part_end(self) -> None:
        if self._current_part.file is None and not _decodes(
            bytes(self._current_part.data), self._charset or "utf-8"
        ):
            self._readable_part = False
        if not self._readable_part:
            self.unreadable.add(len(self.items))
        super().on_part_end()


#: The form field in which a browser names the charset it sent the form in (HTML's
#: ``<input type=hidden name=_charset_>``).
CHARSET_FIELD = b"_charset_"
_SURROGATE = re.compile("[\udc80-\udcff]")


def windows_1252(data: bytes) -> str:
    """``data`` read as browsers read windows-1252 (the WHATWG encoding): Python's ``cp1252``,
    with the five bytes it leaves undefined read as the C1 controls of the same number."""
    text = data.decode("cp1252", errors="surrogateescape")
    return _SURROGATE.sub(lambda m: chr(ord(m.group()) - 0xDC00), text)


def _charset_field(body: bytes) -> str | None:
    """The charset a ``_charset_`` field names (its last value), if the body has one."""
    found = None
    for pair in body.split(b"&")[:MAX_FORM_FIELDS]:
        name, _, value = pair.partition(b"=")
        if unquote_to_bytes(name.replace(b"+", b" ")).lower() == CHARSET_FIELD:
            found = unquote_to_bytes(value.replace(b"+", b" ")).decode("latin-1").strip()
    return found or None


def _legacy_pairs(body: bytes) -> list[tuple[str, str]]:
    """Every ``name=value`` pair of an urlencoded body, read as windows-1252."""
    out = []
    for pair in body.split(b"&")[:MAX_FORM_FIELDS]:
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        out.append(
            (
                windows_1252(unquote_to_bytes(name.replace(b"+", b" "))),
                windows_1252(unquote_to_bytes(value.replace(b"+", b" "))),
            )
        )
    return out


def _readable_pairs(body: bytes, charset: str) -> list[tuple[str, str]]:
    """The ``name=value`` pairs of an urlencoded body that decode strictly; others dropped."""
    out = []
    for pair in body.split(b"&")[:MAX_FORM_FIELDS]:
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        try:
            out.append(
                (
                    unquote_to_bytes(name.replace(b"+", b" ")).decode(charset),
                    unquote_to_bytes(value.replace(b"+", b" ")).decode(charset),
                )
            )
        except (UnicodeDecodeError, LookupError):
            continue
    return out


async def read_form(request: Request) -> Sequence[tuple[str, object]]:
    """The posted fields, decoded strictly: a value that is not valid UTF-8 (or not valid in
    the declared charset) raises ``BadForm`` instead of being stored with replacement
    characters. Bodies of other types carry no fields."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type == b"multipart/form-data":
        parser = _StrictMultiPartParser(
            request.headers,
            request.stream(),
            max_files=MAX_FORM_FIELDS,
            max_fields=MAX_FORM_FIELDS,
        )
        try:
            form = await parser.parse()
        except MultiPartException as exc:
            raise StarletteHTTPException(400, exc.message) from exc
        try:
            items = [(i, k, v) for i, (k, v) in enumerate(form.multi_items()) if isinstance(v, str)]
        finally:
            await form.close()  # files are not used by any page
        if parser.unreadable:
            readable = [(k, v) for i, k, v in items if i not in parser.unreadable]
            raise BadForm("a field is not valid in the form's charset", readable)
        return [(k, v) for _, k, v in items]
    if content_type != b"application/x-www-form-urlencoded":
        return []
    # The charset the Content-Type declares (browsers never do), else the one a ``_charset_``
    # field names, else UTF-8; a post that names none and is not UTF-8 also carries its
    # windows-1252 reading (``BadForm.legacy``).
    declared = options.get(b"charset")
    body = await request.body()
    named = None if declared is not None else _charset_field(body)
    charset = declared.decode("latin-1") if declared is not None else named or "utf-8"
    try:
        text = _strict(body, charset)
        return parse_qsl(
            text,
            keep_blank_values=True,
            encoding=charset,
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (BadForm, UnicodeDecodeError) as exc:  # raw bytes, or a %-escape, not UTF-8
        legacy = _legacy_pairs(body) if declared is None and named is None else None
        raise BadForm(str(exc), _readable_pairs(body, charset), legacy) from exc
    except ValueError as exc:  # too many fields
        raise StarletteHTTPException(400, str(exc)) from exc


def _preferences(page_query: str | None, request: Request) -> list[str]:
    prefs = [page_query] if page_query else []
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";", 1)[0].strip()
        if tag:
            prefs.append(tag)
    return prefs


#: A route's answer to a post that cannot be read: given the page with the fields that could
#: be read, and the whole post read as windows-1252 when it named no charset.
Unreadable = Callable[["Page", Sequence[tuple[str, str]] | None], Awaitable[Response]]


async def _open(
    request: Request,
    client: str,
    state: AppState,
    unreadable: Unreadable | None = None,
) -> Page | Response:
    """The page view of a request, or the answer when there is none to show. A post that
    cannot be read is a 400 page, unless the route has an ``unreadable`` handler, which gets
    the page with the fields that could be read."""
    core = state.core
    if core is None:
        return _plain(503, "Starting")
    try:
        tenant = await get_tenant(core, client)
    except NotFound:
        return _plain(404, "Not found")
    query = {k.lower(): v for k, v in request.query_params.items()}
    web = Principal(tenant_id=tenant.id, actor="web", full_access=False)
    language = await localised.chosen_language(
        core, web, _preferences(query.get("lang") or query.get("language"), request)
    )
    texts = Texts(language, page_texts(tenant.settings))
    own = security.own_origins(request, state.settings.public_urls)
    allowed = security.allowed_origins(tenant, own)
    customer_id = await accounts.session_customer(core, tenant.id, session_token(request))
    page = Page(
        request=request,
        state=state,
        core=core,
        tenant=tenant,
        texts=texts,
        token=security.FormToken(request, state.settings.resolved_secret_key(), tenant.name),
        allowed=allowed,
        stylesheet=security.stylesheet_url(tenant, query.get("stylesheet"), allowed),
        customer_id=customer_id,
    )
    if request.method == "POST":
        try:
            page.form = _fold(await read_form(request))
        except BadForm as exc:
            if unreadable is None:
                return _plain(400, texts("common.bad_encoding"))
            page.form = _fold(exc.readable)
            return await unreadable(page, exc.legacy)
    return page


def _basket_customer(view: CustomerView | None) -> dict[str, Any] | None:
    """The logged-in customer as the vendor's iframes report it in ``basketContents:``."""
    if view is None:
        return None
    billing, delivery = view.billing_address, view.delivery_address
    return {
        "age": None,
        "billingAddress": {"id": str(billing.id)} if billing else None,
        "deliveryAddress": {"id": str(delivery.id)} if delivery else None,
        "birthDate": view.birth_date.isoformat() if view.birth_date else None,
        "email": view.email,
        "firstName": view.first_name,
        "lastName": view.last_name,
        "mobile": view.mobile or "",
        "name": f"{view.first_name} {view.last_name}".strip(),
        "phone": view.phone or "",
        "title": view.title,
        "passwordSet": view.password_set,
        "giftAidDeclarationRequired": False,
        "id": customer_code(view.id),
        "creditBalance": float(view.credit_balance or Decimal(0)),
    }


def basket_contents(tenant: TenantView, view: CustomerView | None) -> dict[str, Any]:
    """What every page posts to its parent on load (``basketContents:`` and ``basketHash:``).
    Baskets come with the basket work; until then the basket is always empty."""
    customer = _basket_customer(view)
    if customer is None:
        digest = "NotLoggedIn"
    else:
        digest = hashlib.sha256(f"{tenant.name}:{customer['id']}".encode()).hexdigest()[:32]
    return {
        "totalDiscount": 0.0,
        "total": 0.0,
        "customer": customer,
        "tickets": [],
        "membershipSubscriptions": [],
        "giftVouchers": [],
        "merchandiseItems": [],
        "donations": [],
        "hash": digest,
    }


async def _render(
    page: Page,
    template: str,
    context: Mapping[str, Any],
    status: int = 200,
    *,
    customer: CustomerView | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    if customer is None and page.customer_id is not None:
        try:
            customer = await customer_service.get_customer(page.core, page.me, page.customer_id, ())
        except NotFound:
            customer = None
    captcha = page.captcha if context.get("uses_captcha") else None
    title_key = TITLES[template]
    if template == "login_logout" and customer is not None:
        title_key = "logout.title"
    body = {
        "page": template,
        "title": page.texts(title_key),
        "customer_name": f"{customer.first_name} {customer.last_name}" if customer else "",
        "customer_email": (customer.email or "") if customer else "",
        "tenant": page.tenant,
        "t": page.texts,
        "lang": page.texts.language,
        "stylesheet": page.stylesheet,
        "resize": page.resize,
        "csrf_field": security.CSRF_FIELD,
        "csrf": page.token.value,
        "urls": {name: page.url(name) for name in PAGES},
        "parent_origins": json.dumps(sorted(page.allowed)),
        "basket": json.dumps(basket_contents(page.tenant, customer), separators=(",", ":")),
        "captcha": captcha,
        "errors": {},
        "message": None,
        **context,
    }
    response = TEMPLATES.TemplateResponse(
        page.request, f"{template}.html", body, status_code=status
    )
    csp = security.content_security_policy(
        page.tenant, page.stylesheet, captcha["provider"] if captcha else None
    )
    response.headers["Content-Security-Policy"] = csp
    response.headers["Cache-Control"] = NO_CACHE
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Same-origin only: the set-password link's token never leaves in a Referer, and our own
    # form posts keep their Origin (no-referrer would turn it into "null").
    response.headers["Referrer-Policy"] = "same-origin"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    page.token.set_cookie(response, page.request)
    return response


def _see_other(page: Page, url: str) -> Response:
    response = RedirectResponse(url, status_code=303, headers={"Cache-Control": NO_CACHE})
    page.token.set_cookie(response, page.request)
    return response


def _form_field(field: str) -> str:
    """A core field name as the form names it: ``birth_date`` -> ``BirthDate``,
    ``attribute:Favourite Genre`` -> ``Attribute_Favourite Genre``."""
    if field.startswith(ATTRIBUTE_FIELD_PREFIX):
        return f"Attribute_{field.removeprefix(ATTRIBUTE_FIELD_PREFIX)}"
    return FORM_FIELDS.get(field, field)


def _field_message(page: Page, exc: InvalidInput) -> tuple[str, str]:
    """(form field name, translated message) for a refused value."""
    t = page.texts
    name = _form_field(exc.field)
    reason = exc.reason
    if exc.field == "captcha":
        return "captcha", t("common.captcha")
    if reason == "required":
        return name, t("common.field.required")
    if exc.field == "email":
        return name, t("common.field.email")
    if exc.field == "password":
        return name, t("common.field.password")
    if reason.startswith("a date"):
        return name, t("common.field.date")
    if reason == "a number":
        return name, t("common.field.number")
    return name, reason[:1].upper() + reason[1:] + "."


def _refusal(page: Page, exc: DomainError) -> tuple[int, str, dict[str, str]]:
    """(status, page message, field errors) for a refused form post."""
    t = page.texts
    if isinstance(exc, InvalidInput):
        name, message = _field_message(page, exc)
        return 400, t("common.error_summary"), {name: message}
    if isinstance(exc, AlreadyExists):
        return 400, t("common.error_summary"), {"Email": t("common.field.email_taken")}
    if isinstance(exc, RateLimited):
        return 429, t("common.too_many"), {}
    if isinstance(exc, Unavailable):
        return 503, t("common.unavailable"), {}
    return 400, t("common.field.invalid"), {}


def _retry_headers(exc: DomainError) -> dict[str, str]:
    if isinstance(exc, RateLimited | Unavailable):
        return {"Retry-After": str(exc.retry_after)}
    return {}


def _expired(page: Page) -> Response:
    response = _plain(403, page.texts("common.expired_form"))
    page.token.set_cookie(response, page.request)
    return response


# --- catalogue parts a page shows ------------------------------------------------------------


@dataclass(frozen=True)
class SignupSpec:
    tag_groups: tuple[TagGroupView, ...]
    statements: tuple[StatementTextView, ...]
    attributes: tuple[AttributeDefinitionView, ...]
    account_mode: str
    default_tags: tuple[str, ...]
    default_statements: tuple[str, ...]


def _pick(
    config: object, items: Sequence[Any], *keys: Callable[[Any], str | None]
) -> tuple[Any, ...]:
    if config == "all":
        return tuple(items)
    if not isinstance(config, list):
        return ()
    out = []
    for wanted in config:
        wanted_key = str(wanted).strip().lower()
        for item in items:
            if any((key(item) or "").lower() == wanted_key for key in keys) and item not in out:
                out.append(item)
    return tuple(out)


def _names(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


async def _signup_spec(page: Page) -> tuple[SignupSpec, CatalogueView]:
    catalogue = await catalogue_service.get_catalogue(page.core, page.web)
    statements = await localised.list_statements(page.core, page.web, [page.texts.language])
    raw = page.tenant.settings.get("signup_page")
    config: dict[str, Any] = raw if isinstance(raw, dict) else {}
    password = config.get("password", "optional")
    spec = SignupSpec(
        tag_groups=_pick(config.get("tag_groups"), catalogue.tag_groups, lambda g: g.name),
        statements=_pick(config.get("statements"), statements, lambda s: s.text, lambda s: s.code),
        attributes=_pick(
            config.get("attributes"),
            [a for a in catalogue.attributes if a.web_visible],
            lambda a: a.name,
        ),
        account_mode=password if password in ("optional", "required", "none") else "optional",
        default_tags=_names(config.get("default_tags")),
        default_statements=_names(config.get("default_statements")),
    )
    return spec, catalogue


def _tag_ids(catalogue: CatalogueView, values: Sequence[str]) -> tuple[int, ...]:
    """Tags by id, ``Group/Tag`` or a tag name used by one group only."""
    out: list[int] = []
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        found = None
        for group in catalogue.tag_groups:
            for tag in group.tags:
                if value == str(tag.id) or value.lower() == f"{group.name}/{tag.name}".lower():
                    found = tag.id
        if found is None:
            named = [
                t.id
                for g in catalogue.tag_groups
                for t in g.tags
                if t.name.lower() == value.lower()
            ]
            if len(named) == 1:
                found = named[0]
        if found is None:
            raise InvalidInput("Tag", f"unknown tag {value!r}")
        out.append(found)
    return tuple(dict.fromkeys(out))


def _statement_ids(
    statements: Sequence[StatementTextView], values: Sequence[str]
) -> tuple[int, ...]:
    """Statements by id, code or text."""
    out: list[int] = []
    for raw in values:
        value = raw.strip().lower()
        if not value:
            continue
        found = next(
            (
                s.id
                for s in statements
                if value in (str(s.id), (s.code or "").lower(), s.text.lower())
            ),
            None,
        )
        if found is None:
            raise InvalidInput("Statement", f"unknown statement {raw!r}")
        out.append(found)
    return tuple(dict.fromkeys(out))


def _attributes(
    page: Page, names: Sequence[AttributeDefinitionView] | None
) -> dict[str, str | None]:
    """``Attribute_<Name>`` fields; with ``names``, exactly those (unchecked boxes clear)."""
    sent = {
        k[len("attribute_") :]: v[0] for k, v in page.form.items() if k.startswith("attribute_")
    }
    if names is None:
        return {k: v for k, v in sent.items()}
    out: dict[str, str | None] = {}
    for attr in names:
        value = sent.get(attr.name.lower())
        if attr.type == "boolean":
            value = "true" if value else "false"
        out[attr.name] = value if value else None
    return out


@dataclass(frozen=True)
class _Script:
    body: bytes
    etag: str  # strong: the same bytes, the same tag


def _load_scripts() -> dict[str, _Script]:
    """The venue-facing scripts, read once per application (a few KiB)."""
    loaded: dict[str, _Script] = {}
    for name, file in SCRIPTS.items():
        body = (STATIC / file).read_bytes()
        loaded[name] = _Script(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
    return loaded


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` holds ``etag`` (weak comparison, as RFC 9110 asks for it) or ``*``."""
    for candidate in (if_none_match or "").split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


# --- the application --------------------------------------------------------------------------


class CaseInsensitivePaths:
    """``/{client}/website/...`` routed in lower case, as ASP.NET matches paths. A client name
    in another case is redirected to the lower-case one (the session cookie's path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        parts = path.split("/", 3)
        if len(parts) >= 3 and parts[1] != parts[1].lower():
            target = "/".join([parts[0], parts[1].lower(), *parts[2:]])
            query = scope.get("query_string", b"").decode("latin-1")
            response = RedirectResponse(target + (f"?{query}" if query else ""), status_code=308)
            await response(scope, receive, send)
            return
        inner = {**scope, "path": path.lower()}
        try:
            await self.app(inner, receive, send)
        finally:
            if "route" in inner:  # for the metrics, which label requests by route
                scope["route"] = inner["route"]


def create_app(state: AppState) -> ASGIApp:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.boxoffice = state

    # Pages answer errors as pages, never the framework's JSON (a form that cannot be parsed,
    # an unknown address, a wrong method).
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        text = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Bad request")
        return _plain(exc.status_code, text)

    async def validation_error(request: Request, exc: Exception) -> Response:
        return _plain(400, "Bad request")

    async def domain_error(request: Request, exc: Exception) -> Response:
        status = (
            429 if isinstance(exc, RateLimited) else 503 if isinstance(exc, Unavailable) else 400
        )
        if isinstance(exc, NotFound):
            status = 404
        return _plain(status, "That did not work.")

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(DomainError, domain_error)

    Handler = Callable[[Page], Awaitable[Response]]

    def page_route(
        path: str,
        get: Handler,
        post: Handler | None = None,
        unreadable: Unreadable | None = None,
    ) -> None:
        async def on_get(request: Request, client: str) -> Response:
            page = await _open(request, client, state)
            return page if isinstance(page, Response) else await get(page)

        app.add_api_route(f"/{{client}}/website/{path.lower()}", on_get, methods=["GET"])
        if post is not None:
            handler = post

            async def on_post(request: Request, client: str) -> Response:
                page = await _open(request, client, state, unreadable)
                return page if isinstance(page, Response) else await handler(page)

            app.add_api_route(f"/{{client}}/website/{path.lower()}", on_post, methods=["POST"])

    page_route(PAGES["login"], login_page, login_post)
    page_route(PAGES["signup"], signup_page, signup_post, signup_unreadable)
    page_route(PAGES["account"], account_page, account_post)
    page_route(PAGES["forgot"], forgot_page, forgot_post)
    page_route(PAGES["setpassword"], set_password_page, set_password_post)
    page_route(PAGES["newsletter"], newsletter_page, newsletter_post)

    scripts = _load_scripts()

    @app.api_route("/{client}/website/scripts/{name}", methods=["GET", "HEAD"])
    async def script(request: Request, client: str, name: str) -> Response:
        """The same file for every tenant; an unknown tenant is "not found", like its pages.
        Its ETag is its content's hash: a browser that holds the current file gets a 304."""
        found = scripts.get(name)
        if found is None:
            return _plain(404, "Not found")
        if state.core is None:
            return _plain(503, "Starting")
        try:
            await get_tenant(state.core, client)
        except NotFound:
            return _plain(404, "Not found")
        headers = {
            "Cache-Control": SCRIPT_CACHE,
            "ETag": found.etag,
            "X-Content-Type-Options": "nosniff",
            "Cross-Origin-Resource-Policy": "cross-origin",
        }
        if _etag_matches(request.headers.get("if-none-match"), found.etag):
            return Response(status_code=304, headers=headers)
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(found.body))
            return Response(media_type=SCRIPT_TYPE, headers=headers)
        return Response(found.body, media_type=SCRIPT_TYPE, headers=headers)

    async def allowed(scope: Scope) -> frozenset[str]:
        return await tenant_origins(state, scope["path"].split("/", 2)[1].lower())

    return CaseInsensitivePaths(
        BrowserPolicy(
            BodyLimit(app, state.settings.max_body_bytes, lambda limit: _plain(413, "Too large")),
            allowed_origins=allowed,
            refuse=lambda message: _plain(403, message),
        )
    )


class _StaticScripts(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = SCRIPT_CACHE
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        if path.endswith(".js"):
            response.headers["Content-Type"] = "text/javascript; charset=utf-8"
        return response


def create_webcomponents_app() -> ASGIApp:
    """``/webcomponents/stable/``: the loader scripts and the components (no build step)."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.mount("/webcomponents/stable", _StaticScripts(directory=STATIC / "webcomponents"))

    async def not_found(request: Request, exc: Exception) -> Response:
        return _plain(404, "Not found")

    app.add_exception_handler(StarletteHTTPException, not_found)
    return app


# --- LoginLogout.aspx ---------------------------------------------------------------------------


async def login_page(page: Page) -> Response:
    status = (page.query("Status") or "").lower()
    magic = page.query("MagicToken")
    message = None
    if status == "loggedout":
        message = ("success", page.texts("logout.done"))
    elif status == "magicsent":
        message = ("success", page.texts("login.magic.sent"))
    return await _login(page, {"message": message, "magic_token": magic or ""})


async def _login(page: Page, context: dict[str, Any], status: int = 200, **kw: Any) -> Response:
    return await _render(
        page,
        "login_logout",
        {
            "logged_in": page.customer_id is not None,
            "values": {"Email": page.value("Email")},
            "return_to": page.query("ReturnTo") or page.value("ReturnTo"),
            **context,
        },
        status,
        **kw,
    )


def _after_login(page: Page) -> str:
    target = RETURN_TO.get((page.query("ReturnTo") or page.value("ReturnTo")).lower())
    return page.url(target or "login")


async def login_post(page: Page) -> Response:
    if not page.token.valid(page.value(security.CSRF_FIELD)):
        return _expired(page)
    action = page.value("action").lower() or "login"
    t = page.texts
    try:
        if action == "logout":
            token = session_token(page.request)
            if token:
                await accounts.log_out(page.core, page.tenant.id, token)
            response = _see_other(page, page.url("login", Status="LoggedOut"))
            clear_session_cookie(response, page.request, page.state, page.tenant.name)
            return response
        if action == "magic":
            callback = (
                f"{page.client.base_url}/{page.tenant.name}/website/{PAGES['login']}"
                "?MagicToken={token}"
            )
            await accounts.send_magic_link(
                page.core, page.tenant, page.client, page.value("MagicEmail"), callback
            )
            return _see_other(page, page.url("login", Status="MagicSent"))
        if action == "magic-login":
            try:
                _customer, token = await accounts.authenticate_magic_link(
                    page.core, page.tenant, page.value("MagicToken")
                )
            except InvalidInput:
                return await _login(
                    page, {"message": ("error", t("login.magic.invalid")), "magic_token": ""}, 400
                )
        else:
            _customer, token = await accounts.authenticate(
                page.core, page.tenant, page.client, page.value("Email"), page.value("Password")
            )
    except NotFound:
        return await _login(
            page,
            {"message": ("error", t("login.failed")), "errors": {"Password": t("login.failed")}},
            400,
        )
    except DomainError as exc:
        status, message, errors = _refusal(page, exc)
        if action == "magic" and "Email" in errors:
            errors = {"MagicEmail": errors["Email"]}
        return await _login(
            page,
            {"message": ("error", message), "errors": errors},
            status,
            headers=_retry_headers(exc),
        )
    old = session_token(page.request)
    if old:
        await page.core.session_store.delete(page.tenant.id, old)
    response = _see_other(page, _after_login(page))
    set_session_cookie(response, page.request, page.state, page.tenant.name, token)
    return response


# --- signup.aspx -------------------------------------------------------------------------------


async def signup_page(page: Page) -> Response:
    spec, _ = await _signup_spec(page)
    done = (page.query("SignedUp") or "") == "1"
    message = ("success", page.texts("signup.done")) if done else None
    errors: dict[str, str] = {}
    code = page.query("Error")
    if code in SIGNUP_ERRORS:
        message = ("error", page.texts(f"signup.error.{code}"))
    return await _signup(page, spec, {"message": message, "done": done, "errors": errors})


async def _signup(
    page: Page, spec: SignupSpec, context: dict[str, Any], status: int = 200, **kw: Any
) -> Response:
    checked_tags = {v for v in page.values("Tag")}
    checked_statements = {v for v in page.values("Statement")}
    values = {name: page.value(name) for name in ("FirstName", "LastName", "Email")} | {
        f"Attribute_{a.name}": page.value(f"Attribute_{a.name}") for a in spec.attributes
    }
    return await _render(
        page,
        "signup",
        {
            "spec": spec,
            "values": values,
            "checked_tags": checked_tags,
            "checked_statements": checked_statements,
            "honeypot": bots.honeypot_field(page.tenant),
            "uses_captcha": True,
            "done": False,
            **context,
        },
        status,
        **kw,
    )


def _plain_error(exc: DomainError, first: str, last: str, email: str) -> str:
    if isinstance(exc, AlreadyExists):
        return "EmailExists"
    if isinstance(exc, RateLimited):
        return "TooManyRequests"
    if isinstance(exc, Unavailable):
        return "Unavailable"
    if isinstance(exc, InvalidInput):
        if exc.field == "captcha":
            return "Captcha"
        if exc.reason == "this field must be left empty":
            return "Rejected"
        return {
            "first_name": "NoFirstName" if not first.strip() else "InvalidFirstName",
            "last_name": "NoLastName" if not last.strip() else "InvalidLastName",
            "email": "NoEmail" if not email.strip() else "InvalidEmail",
        }.get(exc.field, "InvalidDetails")
    return "InvalidDetails"


def _check_plain(first: str, last: str, email: str) -> str | None:
    """The vendor's codes, in the order its form handler reports them."""
    if not email.strip():
        return "NoEmail"
    if not is_valid_email(email.strip()):
        return "InvalidEmail"
    if not last.strip():
        return "NoLastName"
    if not first.strip():
        return "NoFirstName"
    return None


async def signup_post(page: Page) -> Response:
    own_form = security.CSRF_FIELD in page.form
    if own_form and not page.token.valid(page.value(security.CSRF_FIELD)):
        return _expired(page)
    if not own_form and not security.plain_post_allowed(page.request, page.allowed):
        return _plain(403, "Requests from this website are not allowed.")
    return_url = None
    if not own_form and page.value("ReturnUrl"):
        return_url = security.check_return_url(
            page.value("ReturnUrl"), page.client.base_url, page.allowed
        )
        if return_url is None:
            return _plain(400, page.texts("signup.return_url"))
    spec, catalogue = await _signup_spec(page)
    first, last, email = page.value("FirstName"), page.value("LastName"), page.value("Email")
    secret = page.value("Password") if own_form and spec.account_mode != "none" else ""
    try:
        if return_url is not None:
            code = _check_plain(first, last, email)
            if code is not None:
                return RedirectResponse(
                    security.with_query(return_url, Error=code), status_code=302
                )
        if own_form and secret != page.value("ConfirmPassword"):
            raise InvalidInput("confirm", "the two passwords differ")
        if own_form and spec.account_mode == "required" and not secret:
            raise InvalidInput("password", "required")
        statements = await localised.list_statements(page.core, page.web, [page.texts.language])
        # The venue's own form words its consent itself; the catalogue says what it means.
        defaults_tags = () if own_form else spec.default_tags
        default_statements = () if own_form else spec.default_statements
        cmd = NewCustomer(
            first_name=first,
            last_name=last,
            email=email,
            password=secret or None,
            tag_ids=_tag_ids(catalogue, [*page.values("Tag"), *defaults_tags]),
            statement_ids=_statement_ids(
                statements, [*page.values("Statement"), *default_statements]
            ),
            attributes=_attributes(page, spec.attributes if own_form else None),
        )
        _view, token = await accounts.sign_up(
            page.core,
            page.tenant,
            page.client,
            cmd,
            honeypot=page.value(bots.honeypot_field(page.tenant)) or None,
            captcha_token=page.captcha_token(),
        )
    except DomainError as exc:
        if return_url is not None:
            response = RedirectResponse(
                security.with_query(return_url, Error=_plain_error(exc, first, last, email)),
                status_code=302,
            )
            response.headers.update(_retry_headers(exc))
            return response
        status, message, errors = _refusal(page, exc)
        if isinstance(exc, InvalidInput) and exc.field == "confirm":
            errors = {"ConfirmPassword": page.texts("common.field.confirm")}
        return await _signup(
            page,
            spec,
            {"message": ("error", message), "errors": errors},
            status,
            headers=_retry_headers(exc),
        )
    if return_url is not None:
        return RedirectResponse(return_url, status_code=302)
    done = _see_other(page, page.url("signup", SignedUp="1"))
    if token is not None:
        set_session_cookie(done, page.request, page.state, page.tenant.name, token)
    return done


async def signup_unreadable(page: Page, legacy: Sequence[tuple[str, str]] | None) -> Response:
    """A sign-up post with a field that is not valid UTF-8. The venue's plain form, from a page
    in windows-1252 that named no charset (``legacy``: many older venue sites), is read in it
    and signed up as any other. Otherwise nothing is written: the plain form is sent back to
    its ``ReturnUrl`` with ``Error=InvalidDetails`` when that could be read and is allowed; any
    other such post (our own pages are UTF-8) gets the 400 page."""
    if legacy is not None:
        fields = _fold(legacy)
        if security.CSRF_FIELD not in fields and fields.get("returnurl"):
            page.form = fields
            return await signup_post(page)
    refused = _plain(400, page.texts("common.bad_encoding"))
    if security.CSRF_FIELD in page.form or not page.value("ReturnUrl"):
        return refused
    if not security.plain_post_allowed(page.request, page.allowed):
        return _plain(403, "Requests from this website are not allowed.")
    return_url = security.check_return_url(
        page.value("ReturnUrl"), page.client.base_url, page.allowed
    )
    if return_url is None:
        return refused
    return RedirectResponse(
        security.with_query(return_url, Error="InvalidDetails"), status_code=302
    )


# --- MyAccount.aspx ---------------------------------------------------------------------------

SCREENS = ("details", "preferences", "addresses")


async def account_page(page: Page) -> Response:
    if page.customer_id is None:
        return _see_other(page, page.url("login", ReturnTo="MyAccount.aspx"))
    saved = (page.query("Saved") or "") == "1"
    return await _account(
        page, {"message": ("success", page.texts("account.saved")) if saved else None}
    )


async def _account(page: Page, context: dict[str, Any], status: int = 200, **kw: Any) -> Response:
    spec, catalogue = await _signup_spec(page)
    view = await customer_service.get_customer(
        page.core, page.me, page.me.customer_id or 0, ALL_PARTS
    )
    countries = await catalogue_service.get_countries(page.core, page.me)
    screen = (page.query("Screen") or "").lower()
    visible = {screen} if screen in SCREENS else set(SCREENS)
    attribute_values = {a.attribute.name: a.value for a in view.attributes}
    posted = page.request.method == "POST" and page.value("action") == "details"
    values = {
        "Title": view.title,
        "FirstName": view.first_name,
        "LastName": view.last_name,
        "Email": view.email or "",
        "Phone": view.phone or "",
        "Mobile": view.mobile or "",
        "BirthDate": view.birth_date.isoformat() if view.birth_date else "",
    } | {f"Attribute_{a.name}": attribute_values.get(a.name, "") for a in spec.attributes}
    if posted:
        values = {k: page.value(k) for k in values}
    return await _render(
        page,
        "my_account",
        {
            "customer": view,
            "spec": spec,
            "values": values,
            "tag_ids": {t.id for t in view.tags},
            "statement_ids": {c.statement_id for c in view.consents},
            "countries": countries,
            "sections": visible,
            "form_name": page.value("action"),
            "form_address": page.value("AddressId"),
            "catalogue": catalogue,
            **context,
        },
        status,
        customer=view,
        **kw,
    )


def _optional(value: str) -> str | None:
    return value.strip() or None


def _address_fields(page: Page) -> dict[str, Any]:
    return {
        "line1": _optional(page.value("Line1")),
        "line2": _optional(page.value("Line2")),
        "town": _optional(page.value("Town")),
        "postcode": _optional(page.value("Postcode")),
        "country": _optional(page.value("Country")),
        "is_billing": bool(page.value("IsBilling")),
        "is_delivery": bool(page.value("IsDelivery")),
    }


async def account_post(page: Page) -> Response:
    if page.customer_id is None:
        return _see_other(page, page.url("login", ReturnTo="MyAccount.aspx"))
    if not page.token.valid(page.value(security.CSRF_FIELD)):
        return _expired(page)
    me, core, customer_id = page.me, page.core, page.customer_id
    action = page.value("action")
    try:
        if action == "details":
            spec, _ = await _signup_spec(page)
            birth = page.value("BirthDate").strip()
            try:
                birth_date = date.fromisoformat(birth) if birth else None
            except ValueError as exc:
                raise InvalidInput("birth_date", "a date (YYYY-MM-DD)") from exc
            patch = CustomerPatch(
                title=page.value("Title"),
                first_name=page.value("FirstName"),
                last_name=page.value("LastName"),
                email=page.value("Email"),
                phone=_optional(page.value("Phone")),
                mobile=_optional(page.value("Mobile")),
                birth_date=birth_date,
                attributes=_attributes(page, spec.attributes),
            )
            await customer_service.update_customer(core, me, customer_id, patch)
        elif action == "preferences":
            await _save_preferences(page)
        elif action == "address-add":
            await customer_service.add_address(
                core, me, customer_id, NewAddress(**_address_fields(page))
            )
        elif action in ("address-save", "address-delete"):
            try:
                address_id = int(page.value("AddressId"))
            except ValueError as exc:
                raise NotFound("Address", page.value("AddressId")) from exc
            if not is_key(address_id):  # no address has it (nor could the database hold it)
                raise NotFound("Address", address_id)
            if action == "address-delete":
                await customer_service.delete_address(core, me, customer_id, address_id)
            else:
                await customer_service.update_address(
                    core, me, customer_id, address_id, AddressPatch(**_address_fields(page))
                )
        else:
            return _plain(400, page.texts("common.field.invalid"))
    except NotFound:
        return await _account(page, {"message": ("error", page.texts("common.not_found"))}, 404)
    except DomainError as exc:
        status, message, errors = _refusal(page, exc)
        return await _account(
            page,
            {"message": ("error", message), "errors": errors},
            status,
            headers=_retry_headers(exc),
        )
    anchor = {"details": "#bo-details", "preferences": "#bo-preferences"}.get(
        action, "#bo-addresses"
    )
    return _see_other(page, page.url("account", Saved="1") + anchor)


async def _save_preferences(page: Page) -> None:
    spec, _ = await _signup_spec(page)
    me, core = page.me, page.core
    customer_id = page.customer_id
    assert customer_id is not None
    view = await customer_service.get_customer(core, me, customer_id, ALL_PARTS)
    wanted_statements = set(_statement_ids(spec.statements, page.values("Statement")))
    shown_statements = {s.id for s in spec.statements}
    agreed = {c.statement_id for c in view.consents}
    add = sorted((wanted_statements & shown_statements) - agreed)
    if add:
        await customer_service.agree_statements(core, me, customer_id, add, channel="website")
    for statement_id in sorted((shown_statements - wanted_statements) & agreed):
        await customer_service.withdraw_statement(
            core, me, customer_id, statement_id, channel="website"
        )
    shown_tags = {t.id for g in spec.tag_groups for t in g.tags}
    wanted_tags: set[int] = set()
    for raw in page.values("Tag"):
        if raw.isdigit() and int(raw) in shown_tags:
            wanted_tags.add(int(raw))
    current = {t.id for t in view.tags}
    for tag_id in sorted(wanted_tags - current):
        await customer_service.add_tag(core, me, customer_id, tag_id)
    for tag_id in sorted((shown_tags - wanted_tags) & current):
        await customer_service.remove_tag(core, me, customer_id, tag_id)


# --- ForgotPassword.aspx and SetPassword.aspx --------------------------------------------------


async def forgot_page(page: Page) -> Response:
    sent = (page.query("Status") or "").lower() == "sent"
    return await _render(
        page,
        "forgot_password",
        {"message": ("success", page.texts("forgot.sent")) if sent else None, "values": {}},
    )


async def forgot_post(page: Page) -> Response:
    if not page.token.valid(page.value(security.CSRF_FIELD)):
        return _expired(page)
    try:
        await accounts.request_password_reset(
            page.core, page.tenant, page.client, page.value("Email")
        )
    except NotFound:
        pass  # the same answer whether or not the address has an account
    except DomainError as exc:
        status, message, errors = _refusal(page, exc)
        return await _render(
            page,
            "forgot_password",
            {
                "message": ("error", message),
                "errors": errors,
                "values": {"Email": page.value("Email")},
            },
            status,
            headers=_retry_headers(exc),
        )
    return _see_other(page, page.url("forgot", Status="Sent"))


async def set_password_page(page: Page) -> Response:
    return await _render(page, "set_password", {"token": page.query("token") or "", "done": False})


async def set_password_post(page: Page) -> Response:
    """No form token here: the mailed token is the secret, and setting a password logs nobody in."""
    token = page.value("token")
    context: dict[str, Any] = {"token": token, "done": False}
    try:
        if page.value("password") != page.value("confirm"):
            raise InvalidInput("confirm", "the two passwords differ")
        await accounts.reset_password(page.core, page.tenant, token, page.value("password"))
    except InvalidInput as exc:
        if exc.field == "token":
            return await _render(
                page,
                "set_password",
                {**context, "message": ("error", page.texts("setpassword.invalid"))},
                400,
            )
        name, message = _field_message(page, exc)
        if exc.field == "confirm":
            name, message = "confirm", page.texts("common.field.confirm")
        elif exc.field == "password":
            name = "password"
        return await _render(
            page,
            "set_password",
            {**context, "message": ("error", message), "errors": {name: message}},
            400,
        )
    except DomainError as exc:
        status, message, _errors = _refusal(page, exc)
        return await _render(
            page, "set_password", {**context, "message": ("error", message)}, status
        )
    return await _render(page, "set_password", {**context, "done": True})


# --- ConfirmNewsletter.aspx ---------------------------------------------------------------------


async def newsletter_page(page: Page) -> Response:
    """The mailed link opens a button, never the confirmation itself: mail scanners follow
    links, and only a person should confirm (``services/newsletter.py``)."""
    return await _render(
        page, "confirm_newsletter", {"token": page.query("token") or "", "done": False}
    )


async def newsletter_post(page: Page) -> Response:
    """No form token here: the mailed token is the secret, and confirming logs nobody in."""
    token = page.value("token")
    try:
        await newsletter.confirm(page.core, page.tenant, token)
    except InvalidInput:
        return await _render(
            page,
            "confirm_newsletter",
            {"token": "", "done": False, "message": ("error", page.texts("newsletter.invalid"))},
            400,
        )
    except DomainError as exc:
        status, message, _errors = _refusal(page, exc)
        return await _render(
            page,
            "confirm_newsletter",
            {"token": token, "done": False, "message": ("error", message)},
            status,
            headers=_retry_headers(exc),
        )
    return await _render(page, "confirm_newsletter", {"token": "", "done": True})
