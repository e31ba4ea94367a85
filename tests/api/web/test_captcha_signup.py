"""Sign-up with a tenant CAPTCHA verifier (a real local verifier server)."""

from __future__ import annotations

import json

import httpx
import pytest

from boxoffice.bootstrap import Core
from boxoffice.services import catalogue
from tests.api.web.conftest import ORIGIN
from tests.captcha import SECRET


async def test_captcha_is_checked_before_anything_is_written(
    http: httpx.AsyncClient, core: Core, tenant: tuple[str, int], verifier: str
) -> None:
    name = tenant[0]
    await catalogue.load_catalogue(
        core,
        name,
        {
            "settings": {
                "captcha": {"provider": "turnstile", "secret": SECRET, "verify_url": verifier}
            }
        },
    )
    dump = await catalogue.dump_catalogue(core, name)
    assert dump["settings"]["captcha"]["secret_set"] is True
    assert SECRET not in json.dumps(dump)
    url = f"/{name}/api/v3/customer"
    body = {"firstName": "A", "lastName": "B", "email": "c@example.org"}
    missing = await http.post(url, json=body, headers={"Origin": ORIGIN})
    assert missing.status_code == 400 and "captcha" in missing.json()["message"]
    bad = await http.post(
        url, json={**body, "cf-turnstile-response": "bad-token"}, headers={"Origin": ORIGIN}
    )
    assert bad.status_code == 400
    good = await http.post(
        url, json=body, headers={"Origin": ORIGIN, "X-Captcha-Token": "good-token"}
    )
    assert good.status_code == 201, good.text


async def test_a_bad_captcha_configuration_is_refused_at_load(
    core: Core, tenant: tuple[str, int]
) -> None:
    from boxoffice.domain.errors import InvalidInput

    with pytest.raises(InvalidInput):
        await catalogue.load_catalogue(
            core, tenant[0], {"settings": {"captcha": {"provider": "nope", "secret": "x"}}}
        )
    with pytest.raises(InvalidInput):
        await catalogue.load_catalogue(
            core, tenant[0], {"settings": {"captcha": {"provider": "hcaptcha"}}}
        )
