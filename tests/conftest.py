"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

Each test session migrates one fresh database per backend (a new PostgreSQL database per
session and xdist worker, dropped at the end). Tests isolate themselves by tenant: each one
creates tenants with unique names, which is how the product isolates venues too.

PostgreSQL runs when ``BOXOFFICE_TEST_POSTGRES_URL`` is set; with
``BOXOFFICE_REQUIRE_POSTGRES=1`` (CI) a PostgreSQL test that cannot run fails instead of
skipping.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import orjson
import pytest
import yaml
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.bootstrap import Core, build_core
from boxoffice.domain.principal import Principal
from boxoffice.security import passwords
from boxoffice.services import catalogue as catalogue_service
from boxoffice.services import tenants as tenant_service
from boxoffice.settings import Settings
from boxoffice.store.db import create_engine
from boxoffice.store.migrate import upgrade
from boxoffice.store.session_store import RedisSessions
from tests.captcha import serving_verifier

POSTGRES_URL = os.environ.get("BOXOFFICE_TEST_POSTGRES_URL", "")
REQUIRE_POSTGRES = os.environ.get("BOXOFFICE_REQUIRE_POSTGRES") == "1"
REDIS_URL = os.environ.get("BOXOFFICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_REDIS = os.environ.get("BOXOFFICE_REQUIRE_REDIS") == "1"
SECRET = "test-secret-key-0123456789abcdef0123456789"
T = TypeVar("T")
DEMO_CATALOGUE = (
    Path(__file__).resolve().parents[1] / "src" / "boxoffice" / "catalogs" / "demo.yaml"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if REQUIRE_POSTGRES and not POSTGRES_URL:
        raise pytest.UsageError("BOXOFFICE_REQUIRE_POSTGRES=1 needs BOXOFFICE_TEST_POSTGRES_URL")


async def _admin(sql: str) -> None:
    import asyncpg

    url = make_url(POSTGRES_URL)
    connection = await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database=url.database or "postgres",
    )
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _off_the_loop(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` in a thread of its own when an event loop runs in this one (a session
    fixture first needed by a browser test runs inside Playwright's loop, where
    ``asyncio.run`` and the migrations' own loop are refused)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


def _run_admin(sql: str) -> None:
    _off_the_loop(asyncio.run, _admin(sql))


def _new_postgres_database() -> tuple[str, str]:
    name = f"boxoffice_test_{uuid.uuid4().hex[:12]}"
    _run_admin(f'CREATE DATABASE "{name}"')
    return name, make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'boxoffice.db'}"
        _off_the_loop(upgrade, url)
        yield url
        return
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("PostgreSQL is required (BOXOFFICE_REQUIRE_POSTGRES=1)")
        pytest.skip("BOXOFFICE_TEST_POSTGRES_URL is not set")
    name, url = _new_postgres_database()
    try:
        _off_the_loop(upgrade, url)
        yield url
    finally:
        _run_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


#: The host name httpx's ASGI clients here send (``BASE_URL``), accepted by the test apps'
#: settings like an operator's ``BOXOFFICE_ALLOWED_HOSTS`` (any other host gets a 400).
TEST_HOST = "testserver"


@pytest.fixture
def carecloud_openapi(request: pytest.FixtureRequest) -> dict[str, object]:
    """The vendor's CareCloud OpenAPI document (``tests/api/carecloud/vendor_document.py``),
    read once from ``BOXOFFICE_CARECLOUD_OPENAPI``. Without it a test that needs it is skipped
    and named in the summary (the reason carries its name, so skips are not folded), or fails
    with ``BOXOFFICE_REQUIRE_CARECLOUD_OPENAPI=1`` (CI)."""
    from tests.api.carecloud import vendor_document

    reason = vendor_document.missing()
    if reason is not None:
        if vendor_document.required():
            pytest.fail(f"the vendor's CareCloud OpenAPI document is required: {reason}")
        pytest.skip(f"{request.node.name} needs the vendor's CareCloud OpenAPI document: {reason}")
    return vendor_document.spec()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=SECRET,
        var_dir=tmp_path / "var",
        allowed_hosts=[TEST_HOST],
    )


@pytest.fixture
async def core(settings: Settings) -> AsyncIterator[Core]:
    core = build_core(settings, pool_size=5)
    try:
        yield core
    finally:
        await core.dispose()


@asynccontextmanager
async def redis_sessions(*, idle: int, absolute: int) -> AsyncIterator[RedisSessions]:
    """A Redis session store under a prefix of its own, emptied and closed afterwards; the
    test is skipped when Redis does not answer, or fails with ``BOXOFFICE_REQUIRE_REDIS=1``."""
    store = RedisSessions(
        REDIS_URL, idle=idle, absolute=absolute, prefix=f"bo-test-{uuid.uuid4().hex}"
    )
    reached = False
    try:
        try:
            await store._redis.ping()
        except Exception as exc:
            if REQUIRE_REDIS:
                raise
            pytest.skip(f"Redis not reachable: {exc}")
        reached = True
        yield store
    finally:
        if reached:
            keys = [k async for k in store._redis.scan_iter(f"{store.prefix}:*")]
            if keys:
                await store._redis.delete(*keys)
        await store.close()


@asynccontextmanager
async def owner_connection(core: Core) -> AsyncIterator[AsyncConnection]:
    """A connection as the database's login role (the tables' owner), for tests that read the
    whole database. The application's own engine runs, on PostgreSQL, as a role held by
    row-level security: outside a tenant's transaction it sees no row at all, so a count or a
    scan through it would pass without checking anything."""
    engine = create_engine(core.engine.url.render_as_string(hide_password=False), pool_size=1)
    try:
        async with engine.connect() as connection:
            yield connection
    finally:
        await engine.dispose()


def _scan_text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


async def database_traces(core: Core, needles: dict[str, str]) -> list[str]:
    """Every ``table.column: what`` in the whole database (every column of every table, from
    the schema, read as the owner) where a needle appears, case-insensitively."""
    from sqlalchemy import select

    from boxoffice.store.models import Base

    found: list[str] = []
    async with owner_connection(core) as connection:
        for table in Base.metadata.sorted_tables:
            for row in (await connection.execute(select(table))).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    text = _scan_text(value).casefold()
                    for what, needle in needles.items():
                        if needle.casefold() in text:
                            found.append(f"{table.name}.{column}: {what}")
    return found


def unique_name(prefix: str = "venue") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def demo_catalogue() -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load(DEMO_CATALOGUE.read_text(encoding="utf-8"))
    return data


async def make_tenant(core: Core, *, catalogue: bool = True) -> tuple[str, int]:
    """A new tenant with the demo catalogue: (name, id)."""
    name = unique_name()
    view = await tenant_service.create_tenant(core, name, origins=("http://localhost:8080",))
    if catalogue:
        await catalogue_service.load_catalogue(core, name, demo_catalogue())
    return name, view.id


@pytest.fixture
async def tenant(core: Core) -> tuple[str, int]:
    return await make_tenant(core)


@pytest.fixture
def owner(tenant: tuple[str, int]) -> Principal:
    return Principal(tenant_id=tenant[1], actor="api-user:test", full_access=True)


@pytest.fixture
def web(tenant: tuple[str, int]) -> Principal:
    return Principal(tenant_id=tenant[1], actor="web", full_access=False)


# --- HTTP ---------------------------------------------------------------------------------------

import base64  # noqa: E402
from email.utils import formatdate  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

from boxoffice.api.app import create_app  # noqa: E402
from boxoffice.security import signatures  # noqa: E402

BASE_URL = f"http://{TEST_HOST}"


@pytest.fixture
async def http(settings: Settings, core: Core) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the whole application (all dialects), sharing the test's ``core``."""
    app = create_app(settings)
    app.state.core = core
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL
    ) as client:
        yield client


class Signer:
    """Signs System Owner requests the way public Spektrix clients do."""

    def __init__(self, client: httpx.AsyncClient, tenant: str, login: str, secret: str) -> None:
        self.client = client
        self.tenant = tenant
        self.login = login
        self.secret = secret

    def url(self, path: str) -> str:
        return f"{BASE_URL}/{self.tenant}/api/v3/{path.lstrip('/')}"

    def headers(
        self, method: str, url: str, body: bytes | None, *, date: str | None = None
    ) -> dict[str, str]:
        date = date or formatdate(usegmt=True)
        signature = signatures.sign(self.secret, method, url, date, body)
        headers = {
            "Date": date,
            "Authorization": signatures.authorization_header(self.login, signature),
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        return headers

    async def request(
        self, method: str, path: str, json: Any = None, *, raw: bytes | None = None
    ) -> httpx.Response:
        import orjson

        url = self.url(path)
        body = raw if raw is not None else (orjson.dumps(json) if json is not None else None)
        return await self.client.request(
            method, url, content=body, headers=self.headers(method, url, body)
        )

    async def get(self, path: str) -> httpx.Response:
        return await self.request("GET", path)

    async def post(self, path: str, json: Any = None) -> httpx.Response:
        return await self.request("POST", path, json)

    async def patch(self, path: str, json: Any = None) -> httpx.Response:
        return await self.request("PATCH", path, json)

    async def put(self, path: str, json: Any = None) -> httpx.Response:
        return await self.request("PUT", path, json)

    async def delete(self, path: str) -> httpx.Response:
        return await self.request("DELETE", path)


@pytest.fixture
async def owner_api(http: httpx.AsyncClient, core: Core, tenant: tuple[str, int]) -> Signer:
    """A signed System Owner client for a fresh tenant with the demo catalogue."""
    secret = await tenant_service.create_api_user(core, tenant[0], "test-user")
    base64.b64decode(secret, validate=True)
    return Signer(http, tenant[0], "test-user", secret)


@pytest.fixture
def verifier() -> Iterator[str]:
    """A local CAPTCHA verifier (siteverify) that accepts the token ``good-token``
    (``tests/captcha.py``)."""
    with serving_verifier() as url:
        yield url


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password Argon2 hashes (in either lane) during the test."""
    calls: list[str] = []
    real = passwords.hash_password

    def counting(password: str) -> str:
        calls.append(password)
        return real(password)

    monkeypatch.setattr(passwords, "hash_password", counting)
    return calls
