"""The fast lane (``api/carecloud/fastlane.py``) answers exactly what the FastAPI route answers.

Every request here is sent twice with the same headers: through the whole application (the
lane answers what it recognises) and with the lane switched off (FastAPI answers everything).
Status, body and headers must be the same, byte for byte, apart from the request id.
"""

from __future__ import annotations

import httpx
import pytest

from boxoffice.api.carecloud import fastlane, mappers
from boxoffice.bootstrap import Core
from boxoffice.services import tenants as tenant_service
from boxoffice.store.models import Customer
from tests.api.carecloud.support import (
    BASE,
    LEGACY_BASE,
    PASSWORD,
    Api,
    basic,
    bearer,
    token_body,
)
from tests.api.lanes import same_answer_of, spy_on
from tests.conftest import BASE_URL


@pytest.fixture(autouse=True)
def lane_taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the lane recognised (answered, or handed on for their query)."""
    return spy_on(monkeypatch, fastlane.FastLane)


same_answer = same_answer_of(fastlane.FastLane)


async def test_a_customer_answers_the_same_both_ways(
    http: httpx.AsyncClient,
    api: Api,
    other_api: Api,
    core: Core,
    tenant: tuple[str, int],
    monkeypatch: pytest.MonkeyPatch,
    lane_taken: list[str],
) -> None:
    code = await api.logged_in(first_name="Ada", last_name="Lovelace")
    other_code = await other_api.logged_in()
    token = api.token or ""
    t = api.tenant
    paths = [
        f"/{t}/{BASE}/customers/{code}",
        f"/{t}/{LEGACY_BASE}/customers/{code}",
        f"/{t}/{BASE}/customers/{code.lower()}",
        f"/{t}/{BASE}/customers/{code}?customer_short_salutation=true",
        f"/{t}/{BASE}/customers/{code}?customer_short_salutation=1",
        f"/{t}/{BASE}/customers/{code}?customer_short_salutation=false",
        f"/{t}/{LEGACY_BASE}/customers/{code}?customer_short_salutation=0",
        f"/{t}/{BASE}/customers/{code}?customer_short_salutation=TRUE",
        f"/{t}/{BASE}/customers/{code}?customer_short_salutation=yes",
        f"/{t}/{BASE}/customers/{code}?customer_short_salutation=maybe",
        f"/{t}/{BASE}/customers/{code}?customer_short_salutation=",
        f"/{t}/{BASE}/customers/{code}?customer_short_salutation",
        f"/{t}/{BASE}/customers/{code}?customer_short_salutation=1&customer_short_salutation=0",
        f"/{t}/{BASE}/customers/{code}?unknown=1",
        f"/{t}/{BASE}/customers/{code}?count=1&count=2",
        f"/{t}/{BASE}/customers/{other_code}",
        f"/{t}/{BASE}/customers/not-an-id",
        f"/{t}/{BASE}/customers/%20",
        f"/no-such-venue/{BASE}/customers/{code}",
        f"/{other_api.tenant}/{BASE}/customers/{code}",
        f"/{t}/{BASE}/customers/{code}/",
    ]
    for language in (None, "cs", "de-DE, en;q=0.5"):
        headers = bearer(token)
        if language is not None:
            headers["Accept-Language"] = language
        for path in paths:
            await same_answer(http, monkeypatch, path, headers)
    # The trailing slash is not the lane's (FastAPI's answer); the rest were seen by it.
    assert len(lane_taken) == 3 * (len(paths) - 1)

    path = f"/{t}/{BASE}/customers/{code}"
    answer = await same_answer(http, monkeypatch, path, bearer(token))
    assert answer.status_code == 200
    assert answer.json()["data"]["personal_information"]["first_name"] == "Ada"
    # No token, an unknown one, one with nobody logged in, another tenant's.
    for headers in (
        {},
        bearer(""),
        bearer("nonsense"),
        bearer(token + "0"),
        {"Authorization": "Token " + token},
        bearer(await api.new_token()),
        bearer(other_api.token or ""),
    ):
        status = (await same_answer(http, monkeypatch, path, headers)).status_code
        assert status in (401, 403), headers
    # The legacy Basic form: the token's interface user (none here), another, an unknown one.
    await tenant_service.create_interface_user(core, t, "app-user")
    for headers in (basic("app-user", token), basic("nobody", token), basic("app-user")):
        await same_answer(http, monkeypatch, path, headers)
    created = await api.client.post(api.url("tokens"), json=token_body(), headers=basic("app-user"))
    owned = created.json()["data"]["token_id"]
    email = answer.json()["data"]["personal_information"]["email"]
    login = await api.post(
        f"tokens/{owned}/actions/login",
        {"login_type": "email", "login_value": email, "password": PASSWORD},
        token=owned,
    )
    assert login.status_code == 200, login.text
    for headers in (bearer(owned), basic("app-user", owned), basic("other", owned)):
        await same_answer(http, monkeypatch, path, headers)
    # A customer no longer active: the token is anonymous again (403 both ways).
    async with core.uow(tenant[1], write=True) as uow:
        customer = await uow.session.get(Customer, (tenant[1], _key(code)))
        assert customer is not None
        customer.state = "erased"
        await uow.commit()
    assert (await same_answer(http, monkeypatch, path, bearer(token))).status_code == 403


def _key(code: str) -> int:
    keys = mappers.decode(mappers.CUSTOMER, code)
    assert keys is not None
    return keys[0]


async def test_the_lane_keeps_the_route_in_the_metrics(http: httpx.AsyncClient, api: Api) -> None:
    code = await api.logged_in()
    assert (await api.get(f"customers/{code}")).status_code == 200
    metrics = (await http.get(f"{BASE_URL}/metrics")).text
    assert 'dialect="carecloud",method="GET",route="/customers/{customer_id}",status="200"' in (
        metrics
    )
