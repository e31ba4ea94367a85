"""The application gives back what expired baskets hold without any request arriving: its
lifespan runs ``baskets.expiry_loop`` (every ``basket_expiry_seconds``). SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from boxoffice.api.app import create_app
from boxoffice.bootstrap import Core
from boxoffice.domain.commands import BasketRef, NewBasket, NewTicket
from boxoffice.domain.principal import Principal
from boxoffice.services import baskets, inventory, programme, seating
from boxoffice.settings import Settings
from tests.services.box_office import box_office_tenant


async def test_the_app_releases_expired_baskets_by_itself(settings: Settings, core: Core) -> None:
    _, tenant_id = await box_office_tenant(core)
    owner = Principal(tenant_id=tenant_id, actor="test", full_access=True)
    instance = (await programme.list_instances(core, owner, event_name="Hamlet"))[0]
    plan = await seating.instance_plan(core, owner, instance.id)
    seat = plan.areas[0].seats[0].id
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    basket = await baskets.create_basket(core, owner, NewBasket(), now=an_hour_ago)
    await baskets.add_tickets(
        core,
        owner,
        BasketRef.owner(basket.id),
        [NewTicket(instance_id=instance.id, seat_id=seat)],
        now=an_hour_ago,
    )
    assert (await inventory.instance_status(core, owner, instance.id)).in_other_basket == 1
    app = create_app(settings.model_copy(update={"basket_expiry_seconds": 0.01}))
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    running = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, outbox.put)
    )
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    try:
        for _ in range(3000):  # a bound on polls, not a timing
            status = await inventory.instance_status(core, owner, instance.id)
            if status.in_other_basket == 0:
                break
            await asyncio.sleep(0.01)
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
        await running
    assert (status.in_other_basket, status.available) == (0, 260)
    view = await baskets.get_basket(core, owner, BasketRef.owner(basket.id))
    assert view.state == "expired"
