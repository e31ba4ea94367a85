"""Tenants and credentials."""

from __future__ import annotations

import base64
import hashlib
import time
from email.utils import formatdate
from typing import Any

import pytest
from sqlalchemy import select

from boxoffice.bootstrap import Core, build_core
from boxoffice.domain.errors import AlreadyExists, InvalidInput, NotFound, Unauthenticated
from boxoffice.security import signatures
from boxoffice.services import tenants as svc
from boxoffice.settings import Settings
from boxoffice.store.models import ApiKey, ApiUser
from tests.conftest import unique_name


async def test_create_and_get(core: Core) -> None:
    name = unique_name()
    view = await svc.create_tenant(
        core, name, origins=("HTTPS://WWW.Example.org/", "https://www.example.org")
    )
    assert view.origins == ("https://www.example.org",)
    assert (await svc.get_tenant(core, name)).id == view.id
    with pytest.raises(AlreadyExists):
        await svc.create_tenant(core, name)


@pytest.mark.parametrize("name", ["", "Upper", "has space", "a/b", "x" * 64])
async def test_bad_names(core: Core, name: str) -> None:
    with pytest.raises(InvalidInput):
        await svc.create_tenant(core, name)


async def test_unknown_tenant(core: Core) -> None:
    with pytest.raises(NotFound):
        await svc.get_tenant(core, unique_name())


async def test_api_user_secrets_are_encrypted_at_rest(core: Core) -> None:
    name = unique_name()
    tenant = await svc.create_tenant(core, name)
    secret = await svc.create_api_user(core, name, "web\\partner")
    assert len(base64.b64decode(secret, validate=True)) == 32
    async with core.uow(tenant.id) as uow:
        row = (await uow.session.execute(select(ApiUser))).scalar_one()
        stored = row.secret_encrypted
    assert secret.encode() not in stored
    assert base64.b64decode(secret) not in stored
    assert core.secret_box.decrypt(stored) == secret
    with pytest.raises(AlreadyExists):
        await svc.create_api_user(core, name, "web\\partner")


async def test_api_keys_are_stored_hashed(core: Core) -> None:
    name = unique_name()
    tenant = await svc.create_tenant(core, name)
    with pytest.raises(InvalidInput):
        await svc.create_api_key(core, name, permissions=("CUSTOMER_DELETE_EVERYTHING",))
    with pytest.raises(NotFound):
        await svc.create_api_key(core, name, permissions=("CUSTOMER_READ",), brand_id=5)
    key = await svc.create_api_key(core, name, permissions=("CUSTOMER_READ", "CUSTOMER_CUD"))
    async with core.uow(tenant.id) as uow:
        row = (await uow.session.execute(select(ApiKey))).scalar_one()
        assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
        assert row.permissions == ["CUSTOMER_CUD", "CUSTOMER_READ"]


async def test_interface_users(core: Core) -> None:
    name = unique_name()
    await svc.create_tenant(core, name)
    assert await svc.create_interface_user(core, name, "customer_interface") == "customer_interface"
    with pytest.raises(AlreadyExists):
        await svc.create_interface_user(core, name, "customer_interface")
    with pytest.raises(InvalidInput):
        await svc.create_interface_user(core, name, "bad name")


def _signed(secret: str, login: str) -> dict[str, Any]:
    date = formatdate(usegmt=True)
    url = "https://example.org/t/api/v3/customers/I-AAAA-AAAA"
    signature = signatures.sign(secret, "GET", url, date, None)
    return {
        "authorization": signatures.authorization_header(login, signature),
        "method": "GET",
        "candidate_urls": [url],
        "date_header": date,
        "body": b"",
    }


async def test_a_disabled_api_user_is_refused_by_every_worker_within_its_ttl(
    core: Core, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique_name()
    tenant = await svc.create_tenant(core, name)
    secret = await svc.create_api_user(core, name, "partner")
    other_worker = build_core(settings, pool_size=1)
    try:
        for worker in (core, other_worker):
            principal = await svc.verify_signed_request(
                worker, tenant.id, **_signed(secret, "partner")
            )
            assert principal.full_access
        await svc.disable_api_user(core, name, "partner")
        # The worker that disabled it refuses at once.
        with pytest.raises(Unauthenticated, match="disabled"):
            await svc.verify_signed_request(core, tenant.id, **_signed(secret, "partner"))
        # Another worker still holds the secret, at most API_USER_TTL seconds.
        await svc.verify_signed_request(other_worker, tenant.id, **_signed(secret, "partner"))
        later = time.monotonic() + svc.API_USER_TTL + 0.1
        monkeypatch.setattr(svc.time, "monotonic", lambda: later)
        with pytest.raises(Unauthenticated, match="disabled"):
            await svc.verify_signed_request(other_worker, tenant.id, **_signed(secret, "partner"))
    finally:
        await other_worker.dispose()
    with pytest.raises(NotFound):
        await svc.disable_api_user(core, name, "nobody")


async def test_a_wrong_signature_is_refused_with_a_kept_secret(core: Core) -> None:
    name = unique_name()
    tenant = await svc.create_tenant(core, name)
    secret = await svc.create_api_user(core, name, "partner")
    await svc.verify_signed_request(core, tenant.id, **_signed(secret, "partner"))
    with pytest.raises(Unauthenticated, match="mismatch"):
        await svc.verify_signed_request(
            core,
            tenant.id,
            **_signed(signatures.new_secret_key(), "partner"),
        )
