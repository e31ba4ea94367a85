"""Inventory: what is left of each instance, per seat and per area (decisions 0120, 0121)."""

from __future__ import annotations

from boxoffice.domain.principal import Principal
from boxoffice.domain.views import AreaStatusView, SeatStateView
from boxoffice.services.core import Core
from boxoffice.store.uow import UnitOfWork


async def instance_status(
    core: Core,
    principal: Principal,
    instance_id: int,
    *,
    area_id: int | None = None,
    include_lock_information: bool = False,
    include_child_plans: bool = False,
) -> AreaStatusView:
    raise NotImplementedError


async def seat_states(
    core: Core, principal: Principal, instance_id: int
) -> tuple[SeatStateView, ...]:
    raise NotImplementedError


# --- changes, inside the caller's writing unit of work (the basket's) ----------------------


async def hold_seat(uow: UnitOfWork, instance_id: int, seat_id: int, holder: int) -> bool:
    """Hold an available seat for ``holder`` (a basket); False when it is not available."""
    raise NotImplementedError


async def hold_places(uow: UnitOfWork, instance_id: int, area_id: int, quantity: int) -> bool:
    """Hold ``quantity`` places of an unreserved area; False when fewer are left."""
    raise NotImplementedError


async def release_seat(uow: UnitOfWork, instance_id: int, seat_id: int, holder: int) -> bool:
    raise NotImplementedError


async def release_places(uow: UnitOfWork, instance_id: int, area_id: int, quantity: int) -> bool:
    raise NotImplementedError


async def sell_seat(uow: UnitOfWork, instance_id: int, seat_id: int, holder: int) -> bool:
    """A held seat becomes sold; False unless ``holder`` holds it."""
    raise NotImplementedError


async def sell_places(uow: UnitOfWork, instance_id: int, area_id: int, quantity: int) -> bool:
    """Held places become sold; False unless that many are held."""
    raise NotImplementedError


async def lock_seat(uow: UnitOfWork, instance_id: int, seat_id: int, lock_type_id: int) -> bool:
    raise NotImplementedError


async def unlock_seat(uow: UnitOfWork, instance_id: int, seat_id: int) -> bool:
    raise NotImplementedError
