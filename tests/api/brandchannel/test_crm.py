"""syncWithCRM against a real CRM server on 127.0.0.1: good, slow, failing and silent ones."""

from __future__ import annotations

from typing import Any

from boxoffice.bootstrap import Core
from tests.api.brandchannel.support import (
    BRANDS,
    CUSTOMER_KEYS,
    Answer,
    Api,
    CrmServer,
    assert_error,
    channels_of,
    configure,
    unique,
    unique_email,
    unique_phone,
)

#: A CRM that answers has a minute (however busy the machine); the backoff is short. A CRM that
#: hangs holds the request until the test ends, so tests of a hang set a timeout of HANG
#: seconds: it always expires on the hang, and an answer still has HANG seconds to arrive.
POLICY = {"timeout_seconds": 60, "retries": 2, "backoff_seconds": 0.01}
HANG = 5


async def _point_brand_at(core: Core, tenant: str, url: str, **policy: Any) -> None:
    brands = [{**BRANDS[0], "crm_url": url}, BRANDS[1]]
    await configure(core, tenant, brands=brands, settings={"crm": {**POLICY, **policy}})


async def _timeline(api: Api, customer_id: int) -> list[str]:
    response = await api.get(
        "customer/timelineByCustomerExternalID", customer_id=customer_id, brand_id=1
    )
    return [i["message"] for i in response.json()["items"] if i["initiated_by"] == "syncWithCRM"]


async def test_sync_creates_the_customer_from_the_crm(
    api: Api, core: Core, bc_tenant: tuple[str, int], crm: CrmServer, encoding: str
) -> None:
    await _point_brand_at(core, bc_tenant[0], crm.url)
    phone, email, external = unique_phone(), unique_email(), unique()
    crm.script = [
        Answer(
            200,
            {
                "external_primary_id": external,
                "firstname": "Věra",
                "lastname": "Čáslavská",
                "custom_testfield": "gymnast",
                "custom_unknown_to_us": "ignored",
                "channels": [{"type": "email", "value": email}],
                "loyalty_tier": "gold",
            },
        )
    ]
    response = await api.post(
        "customer/syncWithCRM",
        {"brandID": 1, "channel": "phoneNumber", "address": phone},
        encoding,
    )
    assert response.status_code == 200, response.text
    customer = response.json()
    assert list(customer)[: len(CUSTOMER_KEYS)] == CUSTOMER_KEYS
    assert customer["external_primary_id"] == external
    assert (customer["firstname"], customer["lastname"]) == ("Věra", "Čáslavská")
    assert customer["custom_testfield"] == "gymnast"
    assert channels_of(customer) == {("telephone", phone), ("email", email)}
    assert crm.requests == [
        {
            "path": "/lookup",
            "brand_id": "1",
            "channel": "telephone",
            "address": phone,
            "accept": "application/json",
        }
    ]
    assert await _timeline(api, customer["id"]) == ["CRM sync: created."]


async def test_sync_updates_the_customer_with_that_channel(
    api: Api, core: Core, bc_tenant: tuple[str, int], crm: CrmServer
) -> None:
    await _point_brand_at(core, bc_tenant[0], crm.url)
    email = unique_email()
    customer_id = await api.create(brand_id=1, firstname="Old", extra_email=email)
    crm.script = [
        Answer(200, {"firstname": "New", "channels": [{"type": "twitter", "value": "nw"}]})
    ]
    response = await api.post(
        "customer/syncWithCRM", {"brandID": 1, "channel": "email", "address": email.upper()}
    )
    assert response.status_code == 200, response.text
    customer = response.json()
    assert customer["id"] == customer_id
    assert customer["firstname"] == "New"
    assert channels_of(customer) == {("email", email), ("twitter", "nw")}
    assert await _timeline(api, customer_id) == ["CRM sync: updated."]


async def test_sync_finds_the_customer_by_the_crms_external_id(
    api: Api, core: Core, bc_tenant: tuple[str, int], crm: CrmServer
) -> None:
    await _point_brand_at(core, bc_tenant[0], crm.url)
    external, phone = unique(), unique_phone()
    customer_id = await api.create(brand_id=1, primary_id=external)
    crm.script = [Answer(200, {"external_primary_id": external, "lastname": "Found"})]
    response = await api.post(
        "customer/syncWithCRM", {"brandID": 1, "channel": "telephone", "address": phone}
    )
    assert response.json()["id"] == customer_id
    assert channels_of(response.json()) == {("telephone", phone)}


async def test_no_match_is_404_and_recorded(
    api: Api, core: Core, bc_tenant: tuple[str, int], crm: CrmServer
) -> None:
    await _point_brand_at(core, bc_tenant[0], crm.url)
    email = unique_email()
    customer_id = await api.create(brand_id=1, extra_email=email)
    crm.script = [Answer(404), Answer(200, {})]
    for _ in range(2):
        response = await api.post(
            "customer/syncWithCRM", {"brandID": 1, "channel": "email", "address": email}
        )
        assert_error(response, 404, "CRM record not found")
    assert await _timeline(api, customer_id) == ["CRM sync: no_match.", "CRM sync: no_match."]


async def test_a_failing_crm_is_retried_then_502_and_recorded(
    api: Api, core: Core, bc_tenant: tuple[str, int], crm: CrmServer
) -> None:
    await _point_brand_at(core, bc_tenant[0], crm.url)
    email = unique_email()
    customer_id = await api.create(brand_id=1, firstname="Kept", extra_email=email)
    crm.default = Answer(500, {"error": "down"})
    response = await api.post(
        "customer/syncWithCRM", {"brandID": 1, "channel": "email", "address": email}
    )
    assert_error(response, 502, "CRM lookup failed", "HTTP 500", "3 attempts")
    assert len(crm.requests) == 3  # the first attempt and two retries
    assert (await api.customer(customer_id))["firstname"] == "Kept"
    assert await _timeline(api, customer_id) == [
        "CRM sync: failed (the CRM answered HTTP 500 (3 attempts))."
    ]


async def test_a_client_error_is_not_retried(
    api: Api, core: Core, bc_tenant: tuple[str, int], crm: CrmServer
) -> None:
    await _point_brand_at(core, bc_tenant[0], crm.url)
    crm.default = Answer(403, {"error": "no"})
    response = await api.post(
        "customer/syncWithCRM", {"brandID": 1, "channel": "email", "address": unique_email()}
    )
    assert_error(response, 502, "HTTP 403")
    assert len(crm.requests) == 1


async def test_a_slow_crm_is_retried_and_then_answers(
    api: Api, core: Core, bc_tenant: tuple[str, int], crm: CrmServer
) -> None:
    """The first attempt hangs past the timeout; the retry gets the answer."""
    await _point_brand_at(core, bc_tenant[0], crm.url, timeout_seconds=HANG)
    crm.script = [Answer(hang=True), Answer(200, {"firstname": "Patient"})]
    response = await api.post(
        "customer/syncWithCRM", {"brandID": 1, "channel": "email", "address": unique_email()}
    )
    assert response.status_code == 200, response.text
    assert response.json()["firstname"] == "Patient"
    assert len(crm.requests) == 2


async def test_a_crm_that_never_answers_in_time_is_502(
    api: Api, core: Core, bc_tenant: tuple[str, int], crm: CrmServer
) -> None:
    await _point_brand_at(core, bc_tenant[0], crm.url, retries=1, timeout_seconds=HANG)
    crm.default = Answer(hang=True)
    response = await api.post(
        "customer/syncWithCRM", {"brandID": 1, "channel": "email", "address": unique_email()}
    )
    assert_error(response, 502, "did not answer in time", "2 attempts")


async def test_a_crm_that_drops_the_line_or_is_not_there_is_502(
    api: Api, core: Core, bc_tenant: tuple[str, int], crm: CrmServer
) -> None:
    await _point_brand_at(core, bc_tenant[0], crm.url)
    crm.default = Answer(drop=True)
    dropped = await api.post(
        "customer/syncWithCRM", {"brandID": 1, "channel": "email", "address": unique_email()}
    )
    assert_error(dropped, 502, "could not be reached")
    await _point_brand_at(core, bc_tenant[0], "http://127.0.0.1:9/lookup", retries=0)
    refused = await api.post(
        "customer/syncWithCRM", {"brandID": 1, "channel": "email", "address": unique_email()}
    )
    assert_error(refused, 502, "could not be reached")


async def test_unusable_answers_are_502(
    api: Api, core: Core, bc_tenant: tuple[str, int], crm: CrmServer
) -> None:
    await _point_brand_at(core, bc_tenant[0], crm.url)
    for body, fragment in (
        (["not", "an", "object"], "not a JSON object"),
        ({"channels": "x"}, "channels"),
        ({"channels": [{"type": "email", "value": "not-an-email"}]}, "channels[0].value"),
        ({"firstname": {"nested": 1}}, "firstname"),
    ):
        crm.script = [Answer(200, body)]
        response = await api.post(
            "customer/syncWithCRM", {"brandID": 1, "channel": "email", "address": unique_email()}
        )
        assert_error(response, 502, fragment)


async def test_no_transaction_is_open_while_the_crm_is_asked(
    api: Api, core: Core, bc_tenant: tuple[str, int], crm: CrmServer
) -> None:
    """While the CRM thinks, no database connection is checked out by the sync."""
    await _point_brand_at(core, bc_tenant[0], crm.url, timeout_seconds=HANG)
    email = unique_email()
    await api.create(brand_id=1, extra_email=email)
    checked_out: list[int] = []
    crm.on_request = lambda: checked_out.append(core.engine.pool.checkedout())  # type: ignore[attr-defined]
    crm.script = [Answer(hang=True), Answer(200, {"firstname": "Calm"})]
    response = await api.post(
        "customer/syncWithCRM", {"brandID": 1, "channel": "email", "address": email}
    )
    assert response.status_code == 200, response.text
    assert checked_out == [0, 0]


async def test_sync_refusals(api: Api, core: Core, bc_tenant: tuple[str, int]) -> None:
    no_url = await api.post(
        "customer/syncWithCRM", {"brandID": 1, "channel": "email", "address": unique_email()}
    )
    assert_error(no_url, 400, "No CRM lookup URL")
    await _point_brand_at(core, bc_tenant[0], "ftp://crm.example.org/lookup")
    for fields, status, fragment in (
        ({"brandID": 1, "channel": "fax", "address": "1"}, 400, "channel"),
        ({"brandID": 1, "channel": "telephone", "address": "123"}, 400, "address"),
        ({"brandID": 1, "address": "a@b.cz"}, 400, "channel"),
        ({"brandID": 1, "channel": "email"}, 400, "address"),
        ({"brandID": 9, "channel": "email", "address": "a@b.cz"}, 404, "Brand"),
        ({"brandID": 1, "channel": "email", "address": "a@b.cz"}, 502, "not an http(s) URL"),
    ):
        response = await api.post("customer/syncWithCRM", fields)
        assert_error(response, status, fragment)
