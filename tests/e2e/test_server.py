"""The real ``boxoffice serve`` process over loopback HTTP: operator endpoints and System Owner
customer flows, signed the way public Spektrix clients sign."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formatdate
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from tests.e2e.conftest import (
    HTTP_TIMEOUT,
    SHUTDOWN_TIMEOUT,
    LiveServer,
    LiveTenant,
    Owner,
    build_signed,
    make_live_tenant,
    run_server,
    sign_request,
    spektrix_signature,
    unique_email,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-server")]


# --- operator endpoints ---------------------------------------------------------------------


def test_healthz(http_client: httpx.Client) -> None:
    response = http_client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"]


def test_readyz_reports_the_database(http_client: httpx.Client) -> None:
    response = http_client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "database": "ok"}


def test_metrics_count_requests(http_client: httpx.Client, live_tenant: LiveTenant) -> None:
    assert http_client.get("/healthz").status_code == 200
    assert http_client.get(f"/{live_tenant.name}/api/v3/tag-groups").status_code == 200
    response = http_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "boxoffice_http_requests_total" in text
    samples = [
        line for line in text.splitlines() if line.startswith("boxoffice_http_requests_total{")
    ]
    assert any('dialect="operator"' in line for line in samples), samples
    assert any('dialect="spektrix"' in line for line in samples), samples
    assert "boxoffice_http_request_duration_seconds" in text


def test_unknown_operator_path_is_a_json_404(http_client: httpx.Client) -> None:
    response = http_client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.json() == {"message": "not found"}


ASSET_RE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
URL_IN_JS_RE = re.compile(r"""url\s*:\s*["']([^"']+)["']""")


def test_docs_page_uses_only_local_assets(http_client: httpx.Client) -> None:
    response = http_client.get("/docs/spektrix")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assets = ASSET_RE.findall(html)
    assert assets, html
    scripts_and_css = [a for a in assets if a.endswith((".js", ".css"))]
    assert any(a.endswith(".js") for a in scripts_and_css), assets
    assert any(a.endswith(".css") for a in scripts_and_css), assets
    for asset in assets:
        assert not re.match(r"^(https?:)?//", asset), f"third-party asset: {asset}"
        assert asset.startswith("/static/"), asset
    # No script or stylesheet is pulled from any absolute URL, anywhere in the page.
    assert not re.search(r"<script[^>]+src=[\"']https?://", html, re.IGNORECASE)
    assert not re.search(r"<link[^>]+href=[\"']https?://", html, re.IGNORECASE)
    # The OpenAPI document the page loads is the local one.
    assert "/openapi/spektrix.json" in URL_IN_JS_RE.findall(html)
    # And every asset the page names is actually served.
    for asset in assets:
        served = http_client.get(asset)
        assert served.status_code == 200, asset
        assert served.content, asset


def test_docs_for_an_unknown_dialect_is_404(http_client: httpx.Client) -> None:
    assert http_client.get("/docs/nope").status_code == 404
    assert http_client.get("/openapi/nope.json").status_code == 404


def test_openapi_document_lists_the_customer_paths(http_client: httpx.Client) -> None:
    response = http_client.get("/openapi/spektrix.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    v3 = "/{client}/api/v3"
    for path, method in [
        (f"{v3}/customers", "post"),
        (f"{v3}/customers", "get"),
        (f"{v3}/customers/{{id}}", "get"),
        (f"{v3}/customers/{{id}}", "patch"),
        (f"{v3}/customers/{{id}}/tags", "post"),
        (f"{v3}/customers/{{id}}/tags", "get"),
        (f"{v3}/customers/tags/{{tag_id}}", "delete"),
        (f"{v3}/customers/{{id}}/agreed-statements", "post"),
        (f"{v3}/tag-groups", "get"),
    ]:
        assert path in paths, sorted(paths)
        assert method in paths[path], (path, sorted(paths[path]))


# --- System Owner over real HTTP ------------------------------------------------------------


def _catalogue_ids(signed: Owner) -> tuple[dict[str, str], dict[str, str]]:
    groups = signed.get("tag-groups")
    assert groups.status_code == 200, groups.text
    tags = {t["name"]: t["id"] for g in groups.json() for t in g["tags"]}
    statements = signed.get("statements")
    assert statements.status_code == 200, statements.text
    return tags, {s["text"]: s["id"] for s in statements.json()}


def test_signed_customer_lifecycle(signed: Owner) -> None:
    tags, statements = _catalogue_ids(signed)
    email = unique_email("life")

    created = signed.post(
        "customers",
        {"firstName": "Ada", "lastName": "Lovelace", "email": email, "mobile": "07700900000"},
    )
    assert created.status_code == 200, created.text
    customer = created.json()
    assert customer["email"] == email
    assert customer["firstName"] == "Ada"
    assert customer["name"] == "Ada Lovelace"
    assert customer["creditBalance"] == 0
    customer_id = customer["id"]

    # Read it back, by id and by e-mail (case-insensitive).
    by_id = signed.get(f"customers/{customer_id}")
    assert by_id.status_code == 200, by_id.text
    assert by_id.json() == customer
    by_email = signed.get(f"customers?email={email.upper()}")
    assert by_email.status_code == 200, by_email.text
    assert by_email.json()["id"] == customer_id

    # Partial update.
    patched = signed.patch(f"customers/{customer_id}", {"firstName": "Augusta"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["firstName"] == "Augusta"
    assert patched.json()["lastName"] == "Lovelace"
    assert signed.get(f"customers/{customer_id}").json()["name"] == "Augusta Lovelace"

    # Tags: add (object and one-element array bodies), list, remove by both routes.
    added = signed.post(f"customers/{customer_id}/tags", {"id": tags["Drama"]})
    assert added.status_code == 200, added.text
    assert added.json() == {"id": tags["Drama"], "name": "Drama"}
    added = signed.post(f"customers/{customer_id}/tags", [{"id": tags["VIP"]}])
    assert added.status_code == 200, added.text
    assert added.json() == {"id": tags["VIP"], "name": "VIP"}
    listed = signed.get(f"customers/{customer_id}/tags")
    assert listed.status_code == 200
    assert {t["name"] for t in listed.json()} == {"Drama", "VIP"}

    removed = signed.delete(f"customers/tags/{tags['VIP']}?id={customer_id}")
    assert removed.status_code == 204, removed.text
    removed = signed.delete(f"customers/{customer_id}/tags/{tags['Drama']}")
    assert removed.status_code == 204, removed.text
    assert signed.get(f"customers/{customer_id}/tags").json() == []

    # Statements: add (idempotent), read back through $expand.
    wanted = [statements["Email updates from Demo Theatre"], statements["Post from Demo Theatre"]]
    agreed = signed.post(
        f"customers/{customer_id}/agreed-statements", [{"id": sid} for sid in wanted]
    )
    assert agreed.status_code == 200, agreed.text
    assert {s["id"] for s in agreed.json()} == set(wanted)
    again = signed.post(f"customers/{customer_id}/agreed-statements", [{"id": wanted[0]}])
    assert again.status_code == 200, again.text
    assert {s["id"] for s in again.json()} == set(wanted)
    expanded = signed.get(f"customers/{customer_id}?$expand=agreedStatements,allStatements")
    assert expanded.status_code == 200, expanded.text
    body = expanded.json()
    assert {s["id"] for s in body["agreedStatements"]} == set(wanted)
    assert {s["id"]: s["agreed"] for s in body["allStatements"]} == {
        sid: sid in wanted for sid in statements.values()
    }

    withdrawn = signed.delete(f"customers/{customer_id}/agreed-statements/{wanted[1]}")
    assert withdrawn.status_code == 204, withdrawn.text
    left = signed.get(f"customers/{customer_id}/agreed-statements")
    assert left.status_code == 200
    assert [s["id"] for s in left.json()] == [wanted[0]]


def test_duplicate_email_is_400_duplicate_entry(signed: Owner) -> None:
    email = unique_email("dup")
    first = signed.post("customers", {"firstName": "A", "lastName": "B", "email": email})
    assert first.status_code == 200, first.text
    second = signed.post("customers", [{"FirstName": "C", "LastName": "D", "Email": email.upper()}])
    assert second.status_code == 400, second.text
    assert second.json()["message"] == "Duplicate Entry"


def test_unknown_customer_and_email_are_404(signed: Owner) -> None:
    assert signed.get(f"customers?email={unique_email('nobody')}").status_code == 404
    assert signed.get("customers/I-ZZ99-9ZZZ").status_code == 404


def test_owner_routes_refuse_unsigned_badly_signed_and_stale(
    http_client: httpx.Client, live_tenant: LiveTenant
) -> None:
    path = f"/{live_tenant.name}/api/v3/customers?email=someone@example.org"
    assert http_client.get(path).status_code == 401

    request = build_signed(http_client, live_tenant, "GET", "customers?email=x@example.org")
    request.headers["Authorization"] = request.headers["Authorization"][:-6] + "AAAAA="
    assert http_client.send(request).status_code == 401

    stale = format_datetime(datetime.now(UTC) - timedelta(hours=2), usegmt=True)
    request = build_signed(
        http_client, live_tenant, "GET", "customers?email=x@example.org", date=stale
    )
    response = http_client.send(request)
    assert response.status_code == 401
    assert "message" in response.json()

    # A body changed after signing no longer verifies.
    request = build_signed(
        http_client,
        live_tenant,
        "POST",
        "customers",
        {"firstName": "A", "lastName": "B", "email": unique_email()},
    )
    tampered = httpx.Request(
        "POST",
        request.url,
        headers=request.headers,
        content=request.content.replace(b'"A"', b'"Z"'),
    )
    assert http_client.send(tampered).status_code == 401


def test_unknown_client_is_404(http_client: httpx.Client) -> None:
    response = http_client.get("/no-such-venue-xyz/api/v3/tag-groups")
    assert response.status_code == 404
    assert "message" in response.json()


def test_web_mode_tag_groups_hide_the_internal_group(
    http_client: httpx.Client, signed: Owner, live_tenant: LiveTenant
) -> None:
    web = http_client.get(f"/{live_tenant.name}/api/v3/tag-groups")
    assert web.status_code == 200, web.text
    web_groups = {g["name"]: [t["name"] for t in g["tags"]] for g in web.json()}
    assert web_groups == {
        "Interests": ["Drama", "Music", "Family"],
        "Sign-up Source": ["Website Form", "Ticket Ballot"],
    }
    web_tags = http_client.get(f"/{live_tenant.name}/api/v3/tags").json()
    assert {"VIP", "Press"}.isdisjoint(t["name"] for t in web_tags)

    owner_groups = {g["name"] for g in signed.get("tag-groups").json()}
    assert owner_groups == {"Interests", "Sign-up Source", "Internal"}


# --- bad input over the wire ----------------------------------------------------------------


def _raw_signed(
    http_client: httpx.Client, tenant: LiveTenant, path: str, body: bytes
) -> httpx.Response:
    request = http_client.build_request(
        "POST",
        f"{tenant.api}/{path}",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    sign_request(request, tenant.login, tenant.secret)
    return http_client.send(request)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="malformed"),
        pytest.param(
            b'{"firstName": "\xff\xfe", "lastName": "B", "email": "u@example.org"}', id="bad-utf8"
        ),
        pytest.param(
            b'{"firstName": 5, "lastName": "B", "email": "t@example.org"}', id="wrong-type"
        ),
        pytest.param(b'{"firstName": "A", "lastName": "B"}', id="no-email"),
        pytest.param(
            b'{"firstName": "A", "lastName": "B", "email": "not-an-email"}', id="bad-email"
        ),
        pytest.param(b"[]", id="empty-array"),
        pytest.param(b"", id="empty"),
    ],
)
def test_bad_create_bodies_are_400(
    http_client: httpx.Client, live_tenant: LiveTenant, body: bytes
) -> None:
    response = _raw_signed(http_client, live_tenant, "customers", body)
    assert response.status_code == 400, response.text
    assert isinstance(response.json()["message"], str)


def test_oversized_bodies_are_413(http_client: httpx.Client, live_tenant: LiveTenant) -> None:
    big = b'{"firstName": "' + b"x" * 1_100_000 + b'", "lastName": "B", "email": "big@example.org"}'
    response = _raw_signed(http_client, live_tenant, "customers", big)
    assert response.status_code == 413, response.text
    assert "message" in response.json()

    # The same without Content-Length (chunked): refused while reading, still a 413.
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b" " * 32_768

    request = http_client.build_request(
        "POST",
        f"{live_tenant.api}/customers",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert "content-length" not in request.headers
    request.headers["Date"] = formatdate(usegmt=True)
    request.headers["Authorization"] = (
        f"SpektrixAPI3 {live_tenant.login}:AAAAAAAAAAAAAAAAAAAAAAAAAAA="
    )
    response = http_client.send(request)
    assert response.status_code == 413, response.text


def test_unknown_tag_and_statement_ids(signed: Owner) -> None:
    created = signed.post(
        "customers", {"firstName": "Un", "lastName": "Known", "email": unique_email("unk")}
    )
    assert created.status_code == 200, created.text
    customer_id = created.json()["id"]
    assert (
        signed.post(f"customers/{customer_id}/tags", {"id": "999999999A" + "B" * 23}).status_code
        == 404
    )
    bad = signed.post(f"customers/{customer_id}/agreed-statements", [{"id": "nope"}])
    assert bad.status_code in (400, 404), bad.text
    assert signed.get(f"customers/{customer_id}/agreed-statements").json() == []


# --- browsers --------------------------------------------------------------------------------


def test_cors_for_the_allowed_origin_only(
    http_client: httpx.Client, live_tenant: LiveTenant
) -> None:
    path = f"/{live_tenant.name}/api/v3/tag-groups"
    allowed = "http://localhost:8080"
    preflight = http_client.options(
        path,
        headers={
            "Origin": allowed,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code in (200, 204), preflight.text
    assert preflight.headers["access-control-allow-origin"] == allowed
    assert preflight.headers["access-control-allow-credentials"] == "true"

    response = http_client.get(path, headers={"Origin": allowed})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == allowed
    assert response.headers["access-control-allow-credentials"] == "true"

    evil = "https://evil.example"
    response = http_client.get(path, headers={"Origin": evil})
    assert "access-control-allow-origin" not in response.headers
    preflight = http_client.options(
        path, headers={"Origin": evil, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers
    post = http_client.post(
        f"/{live_tenant.name}/api/v3/customer",
        headers={"Origin": evil, "Content-Type": "application/json"},
        content=b'{"firstName": "E", "lastName": "Vil", "email": "evil@example.org"}',
    )
    assert post.status_code == 403, post.text


# --- process lifecycle -----------------------------------------------------------------------


def test_sigterm_stops_the_server_cleanly(live_server: LiveServer, tmp_path: Path) -> None:
    with run_server(live_server.env, tmp_path) as server:
        assert (
            httpx.get(
                f"{server.base_url}/readyz", timeout=HTTP_TIMEOUT, trust_env=False
            ).status_code
            == 200
        )
        server.process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught (exit by SIGTERM).
        assert server.process.wait(timeout=SHUTDOWN_TIMEOUT) in (0, -signal.SIGTERM), server.log()
        log = server.log()
        assert "Traceback" not in log, log
        assert '"level": "error"' not in log, log
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{server.base_url}/healthz", timeout=2.0, trust_env=False)


def test_two_workers_share_metrics_and_data(live_server: LiveServer, tmp_path: Path) -> None:
    with run_server(live_server.env, tmp_path, workers=2) as server:
        tenant = make_live_tenant(server)
        with httpx.Client(
            base_url=server.base_url, timeout=HTTP_TIMEOUT, trust_env=False
        ) as client:
            owner = Owner(client, tenant)
            emails = [unique_email("w2") for _ in range(10)]
            for email in emails:
                created = owner.post(
                    "customers", {"firstName": "W", "lastName": "Two", "email": email}
                )
                assert created.status_code == 200, created.text
            for email in emails:
                assert owner.get(f"customers?email={email}").status_code == 200
            for _ in range(10):
                client.get("/healthz")
            metrics = client.get("/metrics")
            assert metrics.status_code == 200
            total = 0.0
            for line in metrics.text.splitlines():
                if (
                    line.startswith("boxoffice_http_requests_total{")
                    and 'dialect="spektrix"' in line
                ):
                    total += float(line.rsplit(" ", 1)[1])
            assert total >= 20, metrics.text
        # The first server's data is visible to the new one, and the other way around.
        with httpx.Client(
            base_url=live_server.base_url, timeout=HTTP_TIMEOUT, trust_env=False
        ) as client:
            assert Owner(client, tenant).get(f"customers?email={emails[0]}").status_code == 200


def _workers(supervisor: int) -> list[int]:
    """The server's worker processes (uvicorn spawns them from the supervisor)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == supervisor and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def _connections_held(pid: int, port: int) -> int:
    """Established connections to ``port`` that process ``pid`` holds (from /proc)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
            inodes.add(fields[9])
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            held += 1
    return held


async def _burst(port: int, count: int) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """``count`` keep-alive connections opened at once, each answered once."""
    streams = await asyncio.gather(
        *(asyncio.open_connection("127.0.0.1", port) for _ in range(count))
    )
    for _reader, writer in streams:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    for reader, _writer in streams:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HTTP_TIMEOUT)
        assert head.startswith(b"HTTP/1.1 200"), head
        length = re.search(rb"content-length: (\d+)", head.lower())
        assert length is not None
        await reader.readexactly(int(length[1]))
    return list(streams)


def test_two_workers_take_a_burst_of_connections_from_one_socket(
    live_server: LiveServer, tmp_path: Path
) -> None:
    """16 keep-alive connections opened at once (a proxy's upstream pool, the benchmark) are
    all answered and held by the two workers, which share the supervisor's socket through the
    board (decision 0084); the workers' shared files are removed when the server stops.

    How evenly they are shared is not asserted here: it depends on each worker waking within
    the few milliseconds a busier sibling yields, that is on the machine's load. The rule
    itself (a worker holding more yields a waiting connection to a less-loaded one, and takes
    it anyway after the bounded wait) is checked deterministically in tests/cli/test_serving.py;
    the split under load is the benchmark's to measure."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**live_server.env, "TMPDIR": str(temporary)}
    with run_server(env, tmp_path, workers=2) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        workers = _workers(server.process.pid)
        assert len(workers) == 2, workers

        async def burst() -> list[int]:
            streams = await _burst(port, 16)
            # Every connection has been answered, so a worker holds each one now.
            held = [_connections_held(pid, port) for pid in workers]
            for _reader, writer in streams:
                writer.close()
            return held

        held = asyncio.run(burst())
        assert sum(held) == 16, held
        (shared,) = temporary.iterdir()
        assert sorted(p.name for p in shared.iterdir()) == ["metrics", "workers.board"]
    assert list(temporary.iterdir()) == []


# --- how real clients sign --------------------------------------------------------------------


def test_percent_encoded_query_is_verified_as_sent(signed: Owner) -> None:
    """PHP's http_build_query sends ``@`` as ``%40`` and ``+`` as ``%2B``; the signature covers
    the raw request target, and the email is decoded for the lookup."""
    email = f"plus+{uuid.uuid4().hex[:8]}@example.org"
    created = signed.post("customers", {"firstName": "Per", "lastName": "Cent", "email": email})
    assert created.status_code == 200, created.text
    encoded = signed.get("customers?" + urlencode({"email": email}))
    assert "%40" in str(encoded.request.url)
    assert "%2B" in str(encoded.request.url)
    assert encoded.status_code == 200, encoded.text
    assert encoded.json()["id"] == created.json()["id"]


def test_client_that_overrides_host_and_signs_the_vendor_url(
    http_client: httpx.Client, live_tenant: LiveTenant
) -> None:
    """Some clients send ``Host: system.spektrix.com`` and sign the vendor URL."""
    email = unique_email("host")
    body = json.dumps({"firstName": "Ho", "lastName": "St", "email": email}).encode()
    path = f"/{live_tenant.name}/api/v3/customers"
    date = formatdate(usegmt=True)
    signature = spektrix_signature(
        live_tenant.secret, "POST", f"https://system.spektrix.com{path}", date, body
    )
    response = http_client.post(
        path,
        content=body,
        headers={
            "Host": "system.spektrix.com",
            "Date": date,
            "Content-Type": "application/json",
            "Authorization": f"SpektrixAPI3 {live_tenant.login}:{signature}",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["email"] == email


# --- the edge: hosts and proxies through the real server (decision 0090) ---------------------


def test_the_server_answers_only_for_its_hosts(
    http_client: httpx.Client, live_server: LiveServer
) -> None:
    """Without public URLs (the defaults): the loopback names only; probes whatever the host."""
    port = live_server.base_url.rsplit(":", 1)[1]
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost"):
        assert http_client.get("/", headers={"Host": host}).status_code == 200, host
    refused = http_client.get("/", headers={"Host": "attacker.example"})
    assert refused.status_code == 400 and "host" in refused.text
    assert http_client.get("/healthz", headers={"Host": "10.0.0.7:8000"}).status_code == 200


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


def test_the_server_believes_no_forwarded_headers_by_default(
    http_client: httpx.Client, live_server: LiveServer
) -> None:
    """uvicorn's own proxy handling (which trusts 127.0.0.1) is off: the index lists the
    docs under the URL the request really reached, not an ``https://`` one."""
    index = http_client.get("/", headers=FORWARDED)
    assert index.status_code == 200
    assert f"{live_server.base_url}/docs/spektrix" in index.text, index.text


def test_the_server_believes_its_trusted_proxies(live_server: LiveServer, tmp_path: Path) -> None:
    env = {**live_server.env, "BOXOFFICE_TRUSTED_PROXIES": '["127.0.0.1"]'}
    with (
        run_server(env, tmp_path) as server,
        httpx.Client(base_url=server.base_url, timeout=HTTP_TIMEOUT, trust_env=False) as client,
    ):
        index = client.get("/", headers=FORWARDED)
        assert index.status_code == 200
        assert f"{server.base_url.replace('http:', 'https:')}/docs/spektrix" in index.text
