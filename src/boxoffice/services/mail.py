"""Outgoing mail to customers: messages, the mailers that send them, and their templates.

A :class:`Message` is what a service wants sent; a :class:`Mailer` sends it. Two mailers exist:

- :class:`SmtpMailer` speaks SMTP to a relay named by ``BOXOFFICE_SMTP_URL``, with a timeout
  and a few retries on temporary failures;
- :class:`OutboxMailer` writes each message as an ``.eml`` file (demo installs, development,
  and any instance without a relay), so an operator can open it in a mail client.

Both raise :class:`MailError` when a message cannot be delivered (to the relay, or to disk).

Logs name the recipient's domain and the subject, never the address, the body (which holds
single-use links) nor the relay's password.

Templates: each built-in template ``<name>`` has three parts in ``mail_templates/``:
``<name>.subject.txt``, ``<name>.txt`` and ``<name>.html``. A tenant may replace any part
(``"<name>.subject"``, ``"<name>.text"``, ``"<name>.html"``) from its settings; those overrides
come from operators' YAML and render in Jinja's sandbox. Undefined variables are errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from functools import lru_cache
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
import jinja2
import structlog
from jinja2.sandbox import ImmutableSandboxedEnvironment

from boxoffice.domain.errors import Unavailable
from boxoffice.domain.views import TenantView

log = structlog.get_logger("boxoffice.mail")

__all__ = [
    "TEMPLATES",
    "MailError",
    "Mailer",
    "Message",
    "OutboxMailer",
    "SmtpMailer",
    "build_email",
    "compose",
    "deliver",
    "mailer_from_settings",
    "render",
]


class MailError(Exception):
    """A message could not be handed to the relay (or written to the outbox)."""


@dataclass(frozen=True)
class Message:
    """One mail to one recipient. ``sender`` is a From header: ``Name <address>`` or an address."""

    to: str
    subject: str
    text: str
    html: str | None
    sender: str


class Mailer(Protocol):
    async def send(self, message: Message) -> None:
        """Deliver ``message`` or raise :class:`MailError`."""
        ...


# -- building the RFC 5322 message ---------------------------------------------------------


def _single_address(email: EmailMessage, header: str) -> Address:
    addresses = email[header].addresses
    if len(addresses) != 1 or not addresses[0].username or not addresses[0].domain:
        raise MailError(f"the {header} header must hold exactly one mail address")
    address: Address = addresses[0]
    return address


def build_email(message: Message) -> EmailMessage:
    """The message as a MIME mail: text, or multipart/alternative when there is HTML.

    An empty ``html`` counts as none. Raises :class:`MailError` when the sender or recipient is
    not exactly one address, or a header would hold a line break.
    """
    email = EmailMessage()
    try:
        email["From"] = message.sender
        email["To"] = message.to
        email["Subject"] = " ".join(message.subject.split())
    except (ValueError, TypeError) as exc:  # line breaks in a header value, and the like
        raise MailError(f"cannot build the message headers: {type(exc).__name__}") from exc
    _single_address(email, "To")
    sender = _single_address(email, "From")
    email["Date"] = format_datetime(datetime.now(UTC))
    # An explicit domain: the default would look the host name up in DNS, on every message.
    email["Message-ID"] = make_msgid(domain=sender.domain)
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    email.set_content(message.text)
    if message.html:
        email.add_alternative(message.html, subtype="html")
    return email


def _recipient_domain(email: EmailMessage) -> str:
    """What logs may say about the recipient: the domain, never the whole address."""
    return _single_address(email, "To").domain.lower()


# -- SMTP ------------------------------------------------------------------------------------

Security = Literal["none", "starttls", "tls"]

#: URL scheme -> (transport security, default port).
_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("none", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}


def _is_temporary(exc: BaseException) -> bool:
    """Worth another attempt: the connection failed or dropped, or the server said 4xx."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(400 <= r.code < 500 for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return 400 <= exc.code < 500
    if isinstance(exc.__cause__, ssl.SSLError) or isinstance(exc, ssl.SSLError):
        return False  # a certificate problem does not go away by itself
    return isinstance(
        exc,
        aiosmtplib.SMTPConnectError
        | aiosmtplib.SMTPServerDisconnected
        | aiosmtplib.SMTPTimeoutError
        | OSError,
    )


def _error_code(exc: BaseException) -> int | None:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        return exc.recipients[0].code
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code
    return None


class SmtpMailer:
    """Sends through an SMTP relay named by a URL.

    - ``smtp://[user:password@]host[:port]``: plain SMTP (port 25), never STARTTLS;
    - ``smtp+starttls://...``: STARTTLS required (port 587);
    - ``smtps://...``: TLS from the first byte (port 465).

    User and password are percent-decoded. Each attempt has ``timeout`` seconds per network
    step; a connection failure or a 4xx answer is retried, up to ``attempts`` in all, after
    ``backoff``, ``2 * backoff``, ... seconds. A 5xx answer fails at once. ``tls_context``
    replaces the default (system CAs, host name checked), e.g. to trust a private CA.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        attempts: int = 3,
        backoff: float = 0.2,
        tls_context: ssl.SSLContext | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        # Error messages never repeat the URL: it may hold the password.
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in _SCHEMES:
            raise ValueError(
                f"unsupported SMTP URL scheme {parts.scheme!r}: use smtp, smtp+starttls or smtps"
            )
        if not parts.hostname:
            raise ValueError("the SMTP URL names no host")
        try:
            port = parts.port
        except ValueError:
            raise ValueError("the SMTP URL has an invalid port") from None
        if (parts.username is None) != (parts.password is None):
            raise ValueError("the SMTP URL needs both a user and a password, or neither")
        if timeout <= 0 or attempts < 1 or backoff < 0:
            raise ValueError("need timeout > 0, attempts >= 1 and backoff >= 0")
        self.security, default_port = _SCHEMES[scheme]
        self.host: str = parts.hostname
        self.port: int = port or default_port
        self.username = unquote(parts.username) if parts.username is not None else None
        self._password = unquote(parts.password) if parts.password is not None else None
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.tls_context = tls_context
        self._sleep = sleep

    def __repr__(self) -> str:
        user = f"{self.username}@" if self.username is not None else ""
        return f"SmtpMailer(security={self.security!r}, relay='{user}{self.host}:{self.port}')"

    async def send(self, message: Message) -> None:
        email = build_email(message)
        sender = _single_address(email, "From").addr_spec
        recipient = _single_address(email, "To").addr_spec
        fields = {"recipient_domain": _recipient_domain(email), "subject": str(email["Subject"])}
        for attempt in range(1, self.attempts + 1):
            try:
                await aiosmtplib.send(
                    email,
                    sender=sender,
                    recipients=[recipient],
                    hostname=self.host,
                    port=self.port,
                    username=self.username,
                    password=self._password,
                    use_tls=self.security == "tls",
                    start_tls=self.security == "starttls",
                    timeout=self.timeout,
                    tls_context=self.tls_context,
                )
            except (aiosmtplib.SMTPException, OSError) as exc:
                error = {"error": type(exc).__name__, "code": _error_code(exc)}
                if not _is_temporary(exc) or attempt == self.attempts:
                    log.error("mail.failed", attempts=attempt, **error, **fields)
                    code = f" {error['code']}" if error["code"] is not None else ""
                    raise MailError(
                        f"mail to {fields['recipient_domain']} failed after {attempt} "
                        f"attempt(s): {error['error']}{code}"
                    ) from exc
                delay = self.backoff * 2 ** (attempt - 1)
                log.warning("mail.retry", attempt=attempt, delay=delay, **error, **fields)
                await self._sleep(delay)
            else:
                log.info("mail.sent", transport="smtp", attempts=attempt, **fields)
                return


# -- the outbox --------------------------------------------------------------------------------


class OutboxMailer:
    """Writes each message as ``<UTC timestamp>-<uuid>.eml`` into ``directory``.

    Files appear whole (written beside, then renamed) and are readable by their owner only:
    they hold live login links. The directory is created when missing.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"OutboxMailer({str(self.directory)!r})"

    async def send(self, message: Message) -> None:
        await self.write(message)

    async def write(self, message: Message) -> Path:
        """Like :meth:`send`, and tells where the file is."""
        email = build_email(message)
        data = email.as_bytes(policy=policy.SMTP)
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}-{uuid.uuid4()}.eml"
        try:
            path = await asyncio.to_thread(_write_atomically, self.directory, name, data)
        except OSError as exc:
            raise MailError(f"cannot write to the outbox: {type(exc).__name__}") from exc
        log.info(
            "mail.sent",
            transport="outbox",
            file=path.name,
            recipient_domain=_recipient_domain(email),
            subject=str(email["Subject"]),
        )
        return path


def _write_atomically(directory: Path, name: str, data: bytes) -> Path:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return directory / name


def mailer_from_settings(smtp_url: str | None, outbox_dir: Path) -> Mailer:
    """SMTP when a URL is configured, else the outbox directory."""
    if smtp_url and smtp_url.strip():
        return SmtpMailer(smtp_url)
    return OutboxMailer(outbox_dir)


# -- templates -------------------------------------------------------------------------------

TEMPLATE_DIR = Path(__file__).with_name("mail_templates")
#: The built-in templates; each has a subject, a text and an HTML part.
TEMPLATES = ("password_reset", "magic_link", "newsletter_confirmation", "order_confirmation")
#: part -> (file suffix, override key suffix).
_PARTS = (("subject.txt", "subject"), ("txt", "text"), ("html", "html"))

_files = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
    undefined=jinja2.StrictUndefined,
    auto_reload=False,
)


@lru_cache(maxsize=2)
def _sandbox(html: bool) -> ImmutableSandboxedEnvironment:
    # Text parts and subjects are not HTML: escaping them would show "&amp;" to the reader.
    return ImmutableSandboxedEnvironment(autoescape=html, undefined=jinja2.StrictUndefined)


@lru_cache(maxsize=256)
def _override(source: str, html: bool) -> jinja2.Template:
    return _sandbox(html).from_string(source)


def render(
    template: str,
    context: Mapping[str, object],
    *,
    overrides: Mapping[str, str] | None = None,
) -> tuple[str, str, str]:
    """Render (subject, text, html) of a built-in template, with a tenant's overrides.

    The subject comes back on one line. The HTML part is autoescaped. Raises ``ValueError``
    for an unknown template or an override that is not text, and Jinja's errors as they are:
    ``UndefinedError`` for a missing variable, ``SecurityError`` for an override reaching
    where the sandbox forbids, ``TemplateSyntaxError`` for a broken override.
    """
    if template not in TEMPLATES:
        raise ValueError(f"unknown mail template {template!r}")
    values = dict(context)
    rendered: list[str] = []
    for suffix, key in _PARTS:
        html = suffix == "html"
        source = (overrides or {}).get(f"{template}.{key}")
        if source is None:
            rendered.append(_files.get_template(f"{template}.{suffix}").render(values))
        elif isinstance(source, str):
            rendered.append(_override(source, html).render(values))
        else:
            raise ValueError(f"mail template override {template}.{key} must be text")
    subject, text, html_part = rendered
    return " ".join(subject.split()), text, html_part


def compose(tenant: TenantView, to: str, template: str, context: Mapping[str, object]) -> Message:
    """A built-in template's message from a tenant to ``to``: the tenant's overrides
    (``settings.mail_templates``) and sender (``settings.sender``, else its display name at
    ``no-reply@localhost``)."""
    overrides = tenant.settings.get("mail_templates")
    subject, text, html = render(
        template, context, overrides=overrides if isinstance(overrides, dict) else None
    )
    sender = tenant.settings.get("sender")
    if not isinstance(sender, str) or not sender:
        sender = formataddr((tenant.display_name, "no-reply@localhost"))
    return Message(to=to, subject=subject, text=text, html=html, sender=sender)


async def deliver(
    mailer: Mailer, tenant: TenantView, to: str, template: str, context: Mapping[str, object]
) -> None:
    """Send a built-in template's message (:func:`compose`) from a tenant to ``to``; a
    message that cannot be delivered is ``Unavailable`` (logged, without the address)."""
    message = compose(tenant, to, template, context)
    try:
        await mailer.send(message)
    except MailError as exc:
        log.error("mail_failed", tenant=tenant.name, template=template)
        raise Unavailable("the email could not be sent") from exc
