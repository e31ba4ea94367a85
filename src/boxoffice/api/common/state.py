"""Where a request finds the services' ``Core`` and the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from boxoffice.domain.errors import NotFound
from boxoffice.services.core import Core
from boxoffice.services.tenants import get_tenant
from boxoffice.settings import Settings


@dataclass
class AppState:
    settings: Settings
    core: Core | None = None


# The dependencies are ``async`` although they never wait: FastAPI runs a plain ``def``
# dependency in its thread pool, a thread hop per request and one more thread per worker
# (and its malloc arena) for each request in flight.


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.boxoffice
    return state


def core_of(request: Request) -> Core:
    """The request's ``Core``, for a dependency that takes it itself: each dependency FastAPI
    resolves for a request (and each one nested in it) costs about as much CPU as a key lookup
    in the database, so the dialects' credential checks take the core and the tenant here
    rather than through dependencies of their own (``bench/README.md``, "The request's own
    path")."""
    state: AppState = request.app.state.boxoffice
    core = state.core
    if core is None:
        raise RuntimeError("the application has not started")
    return core


async def get_core(request: Request) -> Core:
    return core_of(request)


CoreDep = Annotated[Core, Depends(get_core)]
StateDep = Annotated[AppState, Depends(get_state)]


async def tenant_origins(state: AppState, tenant_name: str) -> frozenset[str]:
    """The websites a tenant allows to call it from a browser (none for an unknown tenant)."""
    if state.core is None:
        return frozenset()
    try:
        tenant = await get_tenant(state.core, tenant_name)
    except NotFound:
        return frozenset()
    return frozenset(o.lower() for o in tenant.origins)
