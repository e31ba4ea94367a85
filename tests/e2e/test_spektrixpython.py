"""The unmodified public ``spektrixpython`` client against the real server.

The client hard-codes ``https://system.spektrix.com/<client>/api/v3/`` and signs that URL. The
only thing changed is where its ``requests`` session connects: a session whose adapter sends
``https://system.spektrix.com/...`` to the local server instead. The signed URL, the body bytes,
the ``{}`` body on GET and the one-element list around every payload are the client's own, so
the server must accept exactly what the real client sends to Spektrix.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import spektrixpython.spektrixpython as sp
from requests.adapters import HTTPAdapter
from spektrixpython import SpektrixAnonymous, SpektrixCredentials, SpektrixRequest

from tests.e2e.conftest import HTTP_TIMEOUT, LiveTenant, unique_email

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.xdist_group("e2e-server"),
    # The client calls datetime.utcnow(), deprecated on newer Pythons; not our concern here.
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning"),
]

VENDOR = "https://system.spektrix.com"


class RewriteToLocal(HTTPAdapter):
    """Sends ``https://system.spektrix.com/...`` to the local server; headers are untouched."""

    def __init__(self, local_base: str) -> None:
        super().__init__(max_retries=0)
        self.local_base = local_base.rstrip("/")

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        assert request.url is not None
        assert request.url.startswith(VENDOR + "/"), request.url
        request.url = self.local_base + request.url[len(VENDOR) :]
        kwargs["proxies"] = {}
        kwargs["timeout"] = HTTP_TIMEOUT
        return super().send(request, **kwargs)


class RefuseEverythingElse(HTTPAdapter):
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        raise AssertionError(f"the test must not reach {request.url}")


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch, live_tenant: LiveTenant) -> Iterator[list[str]]:
    """Route the client's sessions to the live server; yields the URLs the client asked for."""
    urls: list[str] = []

    class LocalSession(requests.Session):
        def __init__(self) -> None:
            super().__init__()
            self.trust_env = False
            self.mount("http://", RefuseEverythingElse())
            self.mount("https://", RefuseEverythingElse())
            self.mount(VENDOR + "/", RewriteToLocal(live_tenant.base_url))

        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            urls.append(str(request.url))
            try:
                return super().send(request, **kwargs)
            finally:
                self.close()  # the client never closes its sessions

    monkeypatch.setattr(sp, "Session", LocalSession)
    yield urls


def test_signed_customer_flow_with_spektrixpython(sent: list[str], live_tenant: LiveTenant) -> None:
    creds = SpektrixCredentials(live_tenant.name, live_tenant.login, live_tenant.secret)

    def call(endpoint: str) -> SpektrixRequest:
        return SpektrixRequest(endpoint, creds)

    # The catalogue, in System Owner mode (every tag group, internal ones too).
    groups = call("tag-groups").get()
    tag_ids = {t["name"]: t["id"] for g in groups for t in g["tags"]}
    assert {"Drama", "VIP"} <= tag_ids.keys()
    statements = {s["text"]: s["id"] for s in call("statements").get()}
    assert len(statements) == 3

    # Create (the client sends [ {...} ]).
    email = unique_email("spx")
    created = call("customers").post({"firstName": "Grace", "lastName": "Hopper", "email": email})
    assert isinstance(created, dict)
    customer_id = created["id"]
    assert created["email"] == email
    assert created["name"] == "Grace Hopper"

    # Find by e-mail (GET with the client's "{}" body, signed without a body line).
    found = call(f"customers?email={email}").get()
    assert found["id"] == customer_id

    # A duplicate is a 400 "Duplicate Entry" the client raises on.
    with pytest.raises(requests.HTTPError) as excinfo:
        call("customers").post({"firstName": "G", "lastName": "H", "email": email})
    assert excinfo.value.response is not None
    assert excinfo.value.response.status_code == 400
    assert excinfo.value.response.json()["message"] == "Duplicate Entry"

    # Tags: add two ({"id": ...} wrapped in a list by the client).
    tag = call(f"customers/{customer_id}/tags").post({"id": tag_ids["Drama"]})
    assert tag == {"id": tag_ids["Drama"], "name": "Drama"}
    tag = call(f"customers/{customer_id}/tags").post({"id": tag_ids["VIP"]})
    assert tag == {"id": tag_ids["VIP"], "name": "VIP"}

    # Agreed statements, one per call as the client can send them ([{"id": ...}]).
    wanted = [statements["Email updates from Demo Theatre"], statements["Offers from our partners"]]
    for statement_id in wanted:
        agreed = call(f"customers/{customer_id}/agreed-statements").post({"id": statement_id})
        assert isinstance(agreed, list)
        assert statement_id in {s["id"] for s in agreed}
    agreed = call(f"customers/{customer_id}/agreed-statements").get()
    assert {s["id"] for s in agreed} == set(wanted)

    # Remove a tag by the client-observed route (DELETE with the client's "{}" body).
    removed = call(f"customers/tags/{tag_ids['VIP']}?id={customer_id}").delete()
    assert removed == b""
    tags = call(f"customers/{customer_id}/tags").get()
    assert tags == [{"id": tag_ids["Drama"], "name": "Drama"}]

    # Update and read back with $expand.
    patched = call(f"customers/{customer_id}").patch({"lastName": "Murray Hopper"})
    assert patched["name"] == "Grace Murray Hopper"
    expanded = call(f"customers/{customer_id}?$expand=tags,agreedStatements").get()
    assert [t["name"] for t in expanded["tags"]] == ["Drama"]
    assert {s["id"] for s in expanded["agreedStatements"]} == set(wanted)

    # Every call went to the vendor URL the client builds, and was answered locally.
    assert sent
    assert all(url.startswith(f"{VENDOR}/{live_tenant.name}/api/v3/") for url in sent)


def test_wrong_secret_is_refused(sent: list[str], live_tenant: LiveTenant) -> None:
    wrong = SpektrixCredentials(
        live_tenant.name, live_tenant.login, "d3Jvbmcgc2VjcmV0IGtleSBmb3IgdGhpcyB0ZXN0IQ=="
    )
    with pytest.raises(requests.HTTPError) as excinfo:
        SpektrixRequest(f"customers?email={unique_email()}", wrong).get()
    assert excinfo.value.response is not None
    assert excinfo.value.response.status_code == 401


def test_web_mode_tag_groups_with_spektrixpython(sent: list[str], live_tenant: LiveTenant) -> None:
    groups = SpektrixRequest("tag-groups", SpektrixAnonymous(live_tenant.name)).get()
    names = [g["name"] for g in groups]
    assert sorted(names) == ["Interests", "Sign-up Source"]
    assert "Internal" not in names
    memberships = SpektrixRequest("memberships", SpektrixAnonymous(live_tenant.name)).get()
    assert {m["name"] for m in memberships} == {"Friends", "Patrons"}
    # Web mode cannot read customers.
    with pytest.raises(requests.HTTPError) as excinfo:
        SpektrixRequest(
            f"customers?email={unique_email()}", SpektrixAnonymous(live_tenant.name)
        ).get()
    assert excinfo.value.response is not None
    assert excinfo.value.response.status_code == 401
