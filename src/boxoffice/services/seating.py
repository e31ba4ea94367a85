"""Seating: venues, seating plans (a tree of areas) and their seats."""

from __future__ import annotations

from boxoffice.domain.principal import Principal
from boxoffice.domain.views import PlanView, VenueView
from boxoffice.services.core import Core


async def list_venues(core: Core, principal: Principal) -> tuple[VenueView, ...]:
    raise NotImplementedError


async def get_venue(core: Core, principal: Principal, venue_id: int) -> VenueView:
    raise NotImplementedError


async def list_plans(core: Core, principal: Principal) -> tuple[PlanView, ...]:
    raise NotImplementedError


async def get_plan(core: Core, principal: Principal, plan_id: int) -> PlanView:
    raise NotImplementedError


async def instance_plan(core: Core, principal: Principal, instance_id: int) -> PlanView:
    raise NotImplementedError
