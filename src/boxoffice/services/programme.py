"""Programme: events and instances, as every dialect lists and filters them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from boxoffice.domain.principal import Principal
from boxoffice.domain.views import EventView, InstanceView
from boxoffice.services.core import Core


async def list_events(
    core: Core,
    principal: Principal,
    *,
    instance_start_from: date | datetime | None = None,
    instance_start_to: date | datetime | None = None,
    on_sale: bool | None = None,
    name: str | None = None,
    attributes: Mapping[str, str] | None = None,
    instance_attributes: Mapping[str, str] | None = None,
    with_instances: bool = False,
) -> tuple[EventView, ...]:
    raise NotImplementedError


async def get_event(
    core: Core, principal: Principal, event_id: int, *, with_instances: bool = False
) -> EventView:
    raise NotImplementedError


async def list_instances(
    core: Core,
    principal: Principal,
    *,
    event_id: int | None = None,
    start_from: date | datetime | None = None,
    start_to: date | datetime | None = None,
    event_name: str | None = None,
    attributes: Mapping[str, str] | None = None,
    event_attributes: Mapping[str, str] | None = None,
) -> tuple[InstanceView, ...]:
    raise NotImplementedError


async def get_instance(core: Core, principal: Principal, instance_id: int) -> InstanceView:
    raise NotImplementedError
