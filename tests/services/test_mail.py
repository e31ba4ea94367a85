"""Outgoing mail: SMTP against a real local server (aiosmtpd), the outbox, the templates."""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import pytest
import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from structlog.testing import CapturingLogger

from boxoffice.services import mail
from boxoffice.services.mail import (
    MailError,
    Message,
    OutboxMailer,
    SmtpMailer,
    build_email,
    mailer_from_settings,
    render,
)
from tests.certificates import self_signed_certificate

USER, PASSWORD = "mailer", "s3cret:p@ss/word"
#: The same password as it must appear in a URL.
URL_PASSWORD = "s3cret%3Ap%40ss%2Fword"
TOKEN = "Zx9_-" * 12  # long enough for quoted-printable to fold the line
LINK = f"https://tickets.example.org/demo/website/Secure/SetPassword.aspx?token={TOKEN}&lang=en"
CONTEXT: dict[str, object] = {
    "tenant_name": "Théâtre Démo",
    "customer_first_name": "Ada",
    "link": LINK,
    "expires_minutes": 60,
}


# -- a real SMTP server ----------------------------------------------------------------------


@dataclass
class Received:
    envelope: Envelope
    tls: bool
    login: bytes | None

    def parsed(self) -> EmailMessage:
        content = self.envelope.original_content or b""
        parsed = BytesParser(policy=policy.default).parsebytes(content)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Collector:
    """An aiosmtpd handler that keeps what it receives, and answers RCPT as told."""

    require_auth: bool = False
    #: Answers to the first RCPT commands (e.g. "451 ..."); later ones are accepted.
    rcpt_answers: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    rcpt_calls: int = 0
    mechanisms: list[str] = field(default_factory=list)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        # Requiring AUTH here rather than with aiosmtpd's ``auth_required``: over plain TCP that
        # flag raises a UserWarning in the server thread, and warnings are errors.
        if self.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.rcpt_calls += 1
        if self.rcpt_answers:
            return self.rcpt_answers.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        login = session.auth_data if isinstance(session.auth_data, bytes) else None
        tls = server.transport is not None and server.transport.get_extra_info("sslcontext")
        self.received.append(Received(envelope, tls=bool(tls), login=login))
        return "250 Message accepted for delivery"

    def authenticator(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        self.mechanisms.append(mechanism)
        ok = isinstance(data, LoginPassword) and data == (USER.encode(), PASSWORD.encode())
        # handled=False: aiosmtpd answers 235 or 535 itself (the default leaves the client waiting).
        return AuthResult(success=ok, handled=False, auth_data=data.login if ok else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def smtp_server(handler: Collector, **options: Any) -> Iterator[int]:
    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, server_hostname="localhost", **options
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@dataclass
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A self-signed certificate for 127.0.0.1, and contexts that serve and trust it."""
    cert_path, key_path = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    return Tls(server=server, client=ssl.create_default_context(cafile=str(cert_path)))


class Sleeps:
    """Stands in for ``asyncio.sleep``: records the backoff delays, waits for nothing."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def message(**changes: str | None) -> Message:
    subject, text, html = render("password_reset", CONTEXT)
    fields: dict[str, Any] = {
        "to": "ada@example.net",
        "subject": subject,
        "text": text,
        "html": html,
        "sender": "Théâtre Démo <no-reply@venue.example.org>",
    } | changes
    return Message(**fields)


class Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [value for key, value in attrs if tag == "a" and key == "href" and value]


def hrefs(html: str) -> list[str]:
    parser = Hrefs()
    parser.feed(html)
    return parser.hrefs


def assert_password_reset(parsed: EmailMessage) -> None:
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["To"] == "ada@example.net"
    assert parsed["From"].addresses[0].addr_spec == "no-reply@venue.example.org"
    assert parsed["From"].addresses[0].display_name == "Théâtre Démo"
    assert parsed["Subject"] == "Reset your Théâtre Démo password"
    assert re.fullmatch(r"<[^@<>\s]+@venue\.example\.org>", parsed["Message-ID"])
    assert parsed["Date"].datetime.tzinfo is not None
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None and html is not None
    assert LINK in text.get_content().splitlines()
    assert "Hello Ada," in text.get_content()
    assert hrefs(html.get_content()) == [LINK]


# -- SMTP --------------------------------------------------------------------------------------


async def test_smtp_delivers_both_parts_and_the_link_intact() -> None:
    handler = Collector()
    with smtp_server(handler) as port:
        await SmtpMailer(f"smtp://127.0.0.1:{port}").send(message())
    [received] = handler.received
    assert received.envelope.mail_from == "no-reply@venue.example.org"
    assert received.envelope.rcpt_tos == ["ada@example.net"]
    assert not received.tls
    assert_password_reset(received.parsed())


async def test_smtp_text_only_when_there_is_no_html() -> None:
    handler = Collector()
    with smtp_server(handler) as port:
        await SmtpMailer(f"smtp://127.0.0.1:{port}").send(message(html=None))
    parsed = handler.received[0].parsed()
    assert parsed.get_content_type() == "text/plain"
    assert LINK in parsed.get_content()


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
async def test_smtp_authenticates(mechanism: str) -> None:
    handler = Collector(require_auth=True)
    other = {"LOGIN": "PLAIN", "PLAIN": "LOGIN"}[mechanism]
    options = {
        "authenticator": handler.authenticator,
        "auth_require_tls": False,
        "auth_exclude_mechanism": [other],
    }
    with smtp_server(handler, **options) as port:
        url = f"smtp://{USER}:{URL_PASSWORD}@127.0.0.1:{port}"
        await SmtpMailer(url).send(message())
    assert handler.mechanisms == [mechanism]
    [received] = handler.received
    assert received.login == USER.encode()
    assert_password_reset(received.parsed())


@pytest.mark.parametrize("credentials", ["", f"{USER}:wrong@"], ids=["none", "wrong"])
async def test_smtp_refused_without_the_right_credentials(credentials: str) -> None:
    handler = Collector(require_auth=True)
    options = {"authenticator": handler.authenticator, "auth_require_tls": False}
    sleeps = Sleeps()
    with smtp_server(handler, **options) as port:
        mailer = SmtpMailer(f"smtp://{credentials}127.0.0.1:{port}", sleep=sleeps)
        with pytest.raises(MailError, match=r"example\.net failed after 1 attempt"):
            await mailer.send(message())
    assert handler.received == []
    assert sleeps.delays == []  # 530 and 535 are permanent: no retry


async def test_plain_smtp_does_not_start_tls_even_when_offered(tls: Tls) -> None:
    handler = Collector()
    with smtp_server(handler, tls_context=tls.server) as port:
        await SmtpMailer(f"smtp://127.0.0.1:{port}", tls_context=tls.client).send(message())
    assert not handler.received[0].tls


async def test_starttls(tls: Tls) -> None:
    handler = Collector()
    with smtp_server(handler, tls_context=tls.server, require_starttls=True) as port:
        mailer = SmtpMailer(f"smtp+starttls://127.0.0.1:{port}", tls_context=tls.client)
        await mailer.send(message())
        with pytest.raises(MailError):  # a relay that insists on STARTTLS refuses plain SMTP
            await SmtpMailer(f"smtp://127.0.0.1:{port}", sleep=Sleeps()).send(message())
    [received] = handler.received
    assert received.tls
    assert_password_reset(received.parsed())


async def test_implicit_tls(tls: Tls) -> None:
    handler = Collector()
    with smtp_server(handler, ssl_context=tls.server) as port:
        await SmtpMailer(f"smtps://127.0.0.1:{port}", tls_context=tls.client).send(message())
        sleeps = Sleeps()
        untrusting = SmtpMailer(f"smtps://127.0.0.1:{port}", sleep=sleeps)  # system CAs only
        with pytest.raises(MailError):
            await untrusting.send(message())
    assert sleeps.delays == []  # an untrusted certificate does not heal: no retry
    [received] = handler.received
    assert received.tls
    assert_password_reset(received.parsed())


async def test_server_down_fails_after_retries_with_doubling_backoff() -> None:
    sleeps = Sleeps()
    mailer = SmtpMailer(f"smtp://127.0.0.1:{free_port()}", sleep=sleeps)
    with pytest.raises(MailError, match="after 3 attempt") as caught:
        await mailer.send(message())
    assert sleeps.delays == [0.2, 0.4]
    assert isinstance(caught.value.__cause__, ConnectionError)


async def test_backoff_is_configurable() -> None:
    mailer = SmtpMailer(f"smtp://127.0.0.1:{free_port()}", attempts=2, backoff=0.001)
    with pytest.raises(MailError, match="after 2 attempt"):
        await mailer.send(message())


async def test_temporary_refusal_is_retried() -> None:
    handler = Collector(rcpt_answers=["451 4.3.0 Try again later"])
    sleeps = Sleeps()
    with smtp_server(handler) as port:
        await SmtpMailer(f"smtp://127.0.0.1:{port}", sleep=sleeps).send(message())
    assert handler.rcpt_calls == 2
    assert sleeps.delays == [0.2]
    assert_password_reset(handler.received[0].parsed())


async def test_temporary_refusal_every_time_gives_up() -> None:
    handler = Collector(rcpt_answers=["451 4.3.0 Try again later"] * 3)
    sleeps = Sleeps()
    with smtp_server(handler) as port, pytest.raises(MailError, match=r"after 3 attempt.*451"):
        await SmtpMailer(f"smtp://127.0.0.1:{port}", sleep=sleeps).send(message())
    assert handler.rcpt_calls == 3
    assert sleeps.delays == [0.2, 0.4]


async def test_permanent_refusal_is_not_retried() -> None:
    handler = Collector(rcpt_answers=["550 5.1.1 No such user"])
    sleeps = Sleeps()
    with smtp_server(handler) as port, pytest.raises(MailError, match="550"):
        await SmtpMailer(f"smtp://127.0.0.1:{port}", sleep=sleeps).send(message())
    assert handler.rcpt_calls == 1
    assert sleeps.delays == []
    assert handler.received == []


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never says a word."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def test_a_silent_server_times_out_and_is_retried(silent_server: int) -> None:
    sleeps = Sleeps()
    mailer = SmtpMailer(f"smtp://127.0.0.1:{silent_server}", timeout=0.05, attempts=2, sleep=sleeps)
    with pytest.raises(MailError, match="after 2 attempt") as caught:
        await mailer.send(message())
    assert isinstance(caught.value.__cause__, TimeoutError)
    assert sleeps.delays == [0.2]


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> CapturingLogger:
    capturing = CapturingLogger()
    monkeypatch.setattr(mail, "log", structlog.wrap_logger(capturing, processors=[]))
    return capturing


def logged_text(capturing: CapturingLogger) -> str:
    return "\n".join(repr(call) for call in capturing.calls)


async def test_logs_name_the_domain_and_subject_only(logged: CapturingLogger) -> None:
    handler = Collector(require_auth=True, rcpt_answers=["451 4.3.0 Try again later"])
    options = {"authenticator": handler.authenticator, "auth_require_tls": False}
    with smtp_server(handler, **options) as port:
        url = f"smtp://{USER}:{URL_PASSWORD}@127.0.0.1:{port}"
        mailer = SmtpMailer(url, sleep=Sleeps())
        await mailer.send(message())
    assert [call.method_name for call in logged.calls] == ["warning", "info"]
    assert logged.calls[-1].kwargs == {
        "event": "mail.sent",
        "transport": "smtp",
        "attempts": 2,
        "recipient_domain": "example.net",
        "subject": "Reset your Théâtre Démo password",
    }
    text = logged_text(logged) + repr(mailer)
    for secret in (PASSWORD, URL_PASSWORD, "ada@", TOKEN, "Hello"):
        assert secret not in text


async def test_failure_logs_and_errors_hold_no_secrets(logged: CapturingLogger) -> None:
    url = f"smtp://{USER}:{URL_PASSWORD}@127.0.0.1:{free_port()}"
    with pytest.raises(MailError) as caught:
        await SmtpMailer(url, sleep=Sleeps()).send(message())
    assert [call.method_name for call in logged.calls] == ["warning", "warning", "error"]
    text = logged_text(logged) + str(caught.value)
    for secret in (PASSWORD, URL_PASSWORD, "ada@", TOKEN):
        assert secret not in text


# -- URLs and settings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "security", "port"),
    [
        ("smtp://mail.example.org", "none", 25),
        ("smtp://mail.example.org:2525", "none", 2525),
        ("smtp+starttls://mail.example.org", "starttls", 587),
        ("SMTPS://mail.example.org", "tls", 465),
        ("smtps://[::1]:4650", "tls", 4650),
    ],
)
def test_url_schemes(url: str, security: str, port: int) -> None:
    mailer = SmtpMailer(url)
    assert (mailer.security, mailer.port, mailer.username) == (security, port, None)


def test_url_credentials_are_percent_decoded_and_never_shown() -> None:
    mailer = SmtpMailer(f"smtp+starttls://{USER}:{URL_PASSWORD}@mail.example.org")
    assert mailer.username == USER
    assert PASSWORD not in repr(mailer) and URL_PASSWORD not in repr(mailer)
    assert repr(mailer) == "SmtpMailer(security='starttls', relay='mailer@mail.example.org:587')"


@pytest.mark.parametrize(
    "url",
    [
        "http://user:hunter2@mail.example.org",
        "smtp://user:hunter2@",
        "smtp://user:hunter2@mail.example.org:port",
        "smtp://user@mail.example.org",
        "mail.example.org",
    ],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(ValueError) as caught:
        SmtpMailer(url)
    assert "hunter2" not in str(caught.value)


def test_mailer_from_settings(tmp_path: Path) -> None:
    for unset in (None, "", "  "):
        outbox = mailer_from_settings(unset, tmp_path / "outbox")
        assert isinstance(outbox, OutboxMailer)
        assert outbox.directory == tmp_path / "outbox"
    smtp = mailer_from_settings("smtps://relay.example.org", tmp_path)
    assert isinstance(smtp, SmtpMailer)
    assert (smtp.host, smtp.port, smtp.security, smtp.timeout) == (
        "relay.example.org",
        465,
        "tls",
        10.0,
    )


# -- the message itself ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"to": "ada@example.net\r\nBcc: eve@example.com"},
        {"to": "ada@example.net, eve@example.com"},
        {"to": "not an address"},
        {"sender": ""},
        {"subject": "Hello\nBcc: eve@example.com"},
    ],
)
def test_build_email_refuses_header_tricks(changes: dict[str, str]) -> None:
    if "subject" in changes:  # line breaks in a subject are folded away, not refused
        built = build_email(message(**changes))
        assert built["Subject"] == "Hello Bcc: eve@example.com"
        assert built["Bcc"] is None
        return
    with pytest.raises(MailError):
        build_email(message(**changes))


def test_empty_html_means_text_only() -> None:
    assert build_email(message(html="")).get_content_type() == "text/plain"


# -- the outbox ------------------------------------------------------------------------------


async def test_outbox_writes_parseable_eml_files(tmp_path: Path) -> None:
    directory = tmp_path / "var" / "outbox"  # created when missing
    outbox = OutboxMailer(directory)
    await outbox.send(message())
    path = await outbox.write(message(to="bob@example.com", html=None))
    files = sorted(directory.iterdir())
    assert len(files) == 2 and path in files
    for file in files:
        assert re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-[0-9a-f-]{36}\.eml", file.name)
        assert file.stat().st_mode & 0o077 == 0  # live login links: owner only
    raw = path.read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # RFC 5322 line ends
    by_recipient = {}
    for file in files:
        parsed = BytesParser(policy=policy.default).parsebytes(file.read_bytes())
        assert isinstance(parsed, EmailMessage)
        by_recipient[parsed["To"]] = parsed
    assert_password_reset(by_recipient["ada@example.net"])
    text_only = by_recipient["bob@example.com"]
    assert text_only.get_content_type() == "text/plain"
    assert LINK in text_only.get_content()


async def test_outbox_failure_is_a_mail_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("in the way")
    with pytest.raises(MailError):
        await OutboxMailer(blocker / "outbox").send(message())


# -- templates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "subject"),
    [
        ("password_reset", "Reset your Théâtre Démo password"),
        ("magic_link", "Your sign-in link for Théâtre Démo"),
    ],
)
def test_builtin_templates(template: str, subject: str) -> None:
    rendered_subject, text, html = render(template, CONTEXT)
    assert rendered_subject == subject
    assert "Hello Ada," in text and LINK in text.splitlines() and "60 minutes" in text
    assert hrefs(html) == [LINK]
    assert '<html lang="en">' in html and "60 minutes" in html


def test_builtin_templates_without_a_first_name() -> None:
    _, text, html = render("magic_link", CONTEXT | {"customer_first_name": ""})
    assert text.startswith("Hello,\n")
    assert "<p>Hello,</p>" in html


def test_html_part_is_escaped_and_text_part_is_not() -> None:
    hostile = CONTEXT | {
        "customer_first_name": "<script>alert(1)</script>",
        "tenant_name": 'Fish & "Chips"',
    }
    subject, text, html = render("password_reset", hostile)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Fish &amp; &#34;Chips&#34;" in html
    assert "&amp;lang=en" in html and hrefs(html) == [LINK]
    assert subject == 'Reset your Fish & "Chips" password'
    assert "Hello <script>alert(1)</script>," in text


def test_overrides_replace_single_parts() -> None:
    overrides = {
        "password_reset.subject": "{{ tenant_name }}:\n  new password",
        "password_reset.html": '<p>Hi {{ customer_first_name }}, <a href="{{ link }}">here</a></p>',
        "magic_link.text": "not this template",
    }
    hostile = CONTEXT | {"customer_first_name": "<b>Ada</b>"}
    subject, text, html = render("password_reset", hostile, overrides=overrides)
    assert subject == "Théâtre Démo: new password"
    assert text == render("password_reset", hostile)[1]
    assert (
        html == f'<p>Hi &lt;b&gt;Ada&lt;/b&gt;, <a href="{LINK.replace("&", "&amp;")}">here</a></p>'
    )


def test_override_text_is_not_escaped() -> None:
    overrides = {"magic_link.text": "Go: {{ link }}"}
    assert render("magic_link", CONTEXT, overrides=overrides)[1] == f"Go: {LINK}"


@pytest.mark.parametrize(
    "source",
    [
        "{{ link.__class__ }}",
        "{{ link.__class__.__mro__[1].__subclasses__() }}",
        "{{ ''.__class__.__base__ }}",
        "{{ link.format.__globals__ }}",
        "{% for c in link.__class__.__mro__ %}{{ c }}{% endfor %}",
    ],
)
@pytest.mark.parametrize("part", ["subject", "text", "html"])
def test_overrides_are_sandboxed(source: str, part: str) -> None:
    with pytest.raises(jinja2.exceptions.SecurityError):
        render("magic_link", CONTEXT, overrides={f"magic_link.{part}": source})


@pytest.mark.parametrize(
    "render_it",
    [
        lambda: render("password_reset", {"tenant_name": "Demo"}),
        lambda: render("magic_link", CONTEXT, overrides={"magic_link.subject": "{{ nope }}"}),
        lambda: render("magic_link", CONTEXT, overrides={"magic_link.html": "{{ nope.x }}"}),
    ],
    ids=["builtin", "override", "override-attribute"],
)
def test_undefined_variables_are_errors(render_it: Callable[[], object]) -> None:
    with pytest.raises(jinja2.UndefinedError):
        render_it()


def test_unknown_template_and_bad_overrides() -> None:
    with pytest.raises(ValueError, match="unknown mail template"):
        render("welcome", CONTEXT)
    with pytest.raises(ValueError, match="must be text"):
        render("magic_link", CONTEXT, overrides={"magic_link.text": 42})  # type: ignore[dict-item]
    with pytest.raises(jinja2.TemplateSyntaxError):
        render("magic_link", CONTEXT, overrides={"magic_link.text": "{% if %}"})
