"""The pages' pure helpers: return addresses, query editing, stylesheets, CSP, texts."""

from __future__ import annotations

import pytest

from boxoffice.domain.views import TenantView
from boxoffice.web import security
from boxoffice.web.texts import DEFAULT_TEXTS, Texts

ALLOWED = {"https://www.venue.org", "https://tickets.venue.org"}
BASE = "https://tickets.venue.org"


def tenant(**settings: object) -> TenantView:
    return TenantView(1, "venue", "Venue", ("https://www.venue.org",), dict(settings))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.venue.org/thanks?x=1", "https://www.venue.org/thanks?x=1"),
        ("HTTPS://WWW.VENUE.ORG/t", "https://WWW.VENUE.ORG/t"),
        ("/done", "https://tickets.venue.org/done"),
        ("done", "https://tickets.venue.org/done"),
        ("https://evil.example/", None),
        ("//evil.example/", None),
        ("/\\evil.example/", None),
        ("https://www.venue.org@evil.example/", None),
        ("https://user@www.venue.org/", None),
        ("javascript:alert(1)", None),
        ("https://www.venue.org/\nx", None),
        ("", None),
        ("https://www.venue.org:444/", None),
    ],
)
def test_return_urls_stay_on_the_venue(url: str, expected: str | None) -> None:
    assert security.check_return_url(url, BASE, ALLOWED) == expected


def test_with_query_replaces_keeps_and_appends() -> None:
    assert (
        security.with_query("https://v.org/p?a=1&error=Old#f", Error="NoEmail")
        == "https://v.org/p?a=1&Error=NoEmail#f"
    )
    assert security.with_query("https://v.org/p", Error="X") == "https://v.org/p?Error=X"


def test_stylesheets_only_from_the_venue() -> None:
    plain = tenant()
    assert security.stylesheet_url(plain, "https://www.venue.org/a.css", ALLOWED) == (
        "https://www.venue.org/a.css"
    )
    assert security.stylesheet_url(plain, "https://evil.example/a.css", ALLOWED) is None
    assert security.stylesheet_url(plain, "a.css", ALLOWED) is None  # no base configured
    based = tenant(stylesheet_base="https://www.venue.org/css/", default_stylesheet="d.css")
    assert security.stylesheet_url(based, "a.css", ALLOWED) == "https://www.venue.org/css/a.css"
    assert security.stylesheet_url(based, "../x.css", ALLOWED) == "https://www.venue.org/css/d.css"
    assert security.stylesheet_url(based, None, ALLOWED) == "https://www.venue.org/css/d.css"


def test_content_security_policy() -> None:
    csp = security.content_security_policy(tenant(), "https://www.venue.org/a.css", "hcaptcha")
    assert "frame-ancestors 'self' https://www.venue.org" in csp
    assert "style-src 'self' https://www.venue.org https://hcaptcha.com" in csp
    assert "script-src 'self' https://hcaptcha.com https://*.hcaptcha.com" in csp
    bare = security.content_security_policy(TenantView(1, "v", "V", (), {}), None, None)
    assert "frame-ancestors 'self';" in bare + ";" and "frame-src 'none'" in bare


def test_texts_fall_back_and_format() -> None:
    texts = Texts("cs", {"cs": {"login.title": "Přihlášení"}, "en": {"login.submit": "Go"}})
    assert texts("login.title") == "Přihlášení"
    assert texts("login.submit") == "Go"
    assert texts("forgot.title") == DEFAULT_TEXTS["forgot.title"]
    assert texts("logout.status", name="Ada", email="a@x") == ("You are logged in as Ada (a@x).")
    broken = Texts("en", {"en": {"logout.status": "Hi {nope}"}})
    assert broken("logout.status", name="Ada") == "Hi {nope}"
    assert not Texts("en", {}).has("login.intro")
