"""Confirmed orders on the brand/channel timeline (``timelineByCustomerExternalID``): real
orders confirmed through ``services/baskets.py`` show as events, read-only. SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from boxoffice.bootstrap import Core
from boxoffice.services import tenants as tenant_service
from tests.api.brandchannel.conftest import CUD, READ
from tests.api.brandchannel.support import BRANDS, TIMELINE_KEYS, Api, configure, unique
from tests.api.orders_support import confirmed_order, shop, statements
from tests.services.box_office import box_office_tenant

TIMELINE = "customer/timelineByCustomerExternalID"


async def test_confirmed_orders_are_timeline_events(http: httpx.AsyncClient, core: Core) -> None:
    name, tenant_id = await box_office_tenant(core)
    await configure(core, name, brands=BRANDS)
    api = Api(http, await tenant_service.create_api_key(core, name, permissions=(READ, CUD)))
    external = unique()
    customer_id = await api.create(brand_id=1, primary_id=external)
    other = await api.create(brand_id=1, primary_id=unique())
    s = await shop(core, tenant_id)
    before = datetime.now(UTC).replace(microsecond=0)
    first = await confirmed_order(core, s, customer_id, seats=("B5", "B6"), everything=True)
    second = await confirmed_order(core, s, customer_id, seats=("C1",))
    await confirmed_order(core, s, other, seats=("D1",))  # another customer's

    with statements(core) as sent:
        response = await api.get(TIMELINE, brand_id=1, external_id=external)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["itemTotal"] == 3  # created, and the two orders
    newest, older, created = page["items"]
    assert created["message"] == "Customer created."
    # Entries recorded in one second sort by their random keys: compare as a set.
    assert {newest["message"], older["message"]} == {
        f"Order {first.id} confirmed: total 170.00, 2 tickets.",
        f"Order {second.id} confirmed: total 35.00, 1 ticket.",
    }
    for item in (newest, older):
        assert list(item) == TIMELINE_KEYS
        assert item["kind"] == "event" and item["source_url"] is None
        assert item["initiated_by"] == s.owner.actor
        moment = datetime.fromisoformat(item["created_at"])
        assert moment.utcoffset() is not None
        assert before <= moment <= datetime.now(UTC)
    # No statement more than for a customer without orders: the timeline is read as it was.
    plain = await api.create(brand_id=1, primary_id=unique())
    with statements(core) as baseline:
        assert (await api.get(TIMELINE, brand_id=1, customer_id=plain)).status_code == 200
    assert len(sent) == len(baseline) == 7, sent

    # Ticket history asked for too: the same events (orders are not ticket links).
    with_tickets = await api.get(TIMELINE, brand_id=1, external_id=external, include_tickets=1)
    assert with_tickets.json()["items"] == page["items"]
    # Paging: the newest order alone.
    first_page = await api.get(TIMELINE, brand_id=1, external_id=external, itemLimit=1)
    assert first_page.json()["items"] == [newest] and first_page.json()["itemTotal"] == 3
    # Another customer's timeline has its own order only.
    theirs = (await api.get(TIMELINE, brand_id=1, customer_id=other)).json()
    assert theirs["itemTotal"] == 2
    assert theirs["items"][0]["message"].endswith("confirmed: total 35.00, 1 ticket.")
    assert str(first.id) not in str(theirs) and str(second.id) not in str(theirs)
    # A key limited to brand 2 does not reach a brand 1 customer's orders.
    brand2 = api.with_key(
        await tenant_service.create_api_key(core, name, permissions=(READ,), brand_id=2)
    )
    refused = await brand2.get(TIMELINE, brand_id=1, external_id=external)
    assert refused.status_code == 403 and str(first.id) not in refused.text
    missing = await brand2.get(TIMELINE, customer_id=customer_id)
    assert missing.status_code == 404 and str(first.id) not in missing.text
