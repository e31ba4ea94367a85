"""Seats changing while the benchmark reads their instance's status (``bench/run.py``).

    python bench/seat_churn.py '{"tenant": "bench", "instance": 1, "duration": 8, "seed": 1}'

Until the deadline, holds a random seat of the instance and releases one it holds, each in a
writing unit of work of its own, through the inventory service a basket will use
(``services/inventory.py``), on the database of ``BOXOFFICE_DATABASE_URL``, as another
process beside the server; then releases what it still holds. Prints one JSON line: the
seat changes made, the holds refused (a seat not available), and the seconds it ran.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from typing import Any

from boxoffice.bootstrap import build_core
from boxoffice.domain.principal import Principal
from boxoffice.services import inventory
from boxoffice.services.tenants import get_tenant
from boxoffice.settings import Settings

#: The basket these holds are in (no basket exists yet: a number of its own).
HOLDER = 424242


async def churn(spec: dict[str, Any]) -> dict[str, Any]:
    core = build_core(Settings(), pool_size=2)
    try:
        tenant = await get_tenant(core, spec["tenant"])
        owner = Principal(tenant_id=tenant.id, actor="bench", full_access=True)
        instance = int(spec["instance"])
        seats = [s.seat_id for s in await inventory.seat_states(core, owner, instance)]
        rng = random.Random(int(spec.get("seed", 1)))
        held: list[int] = []
        changes = refused = 0
        started = time.monotonic()
        deadline = started + float(spec["duration"])
        while time.monotonic() < deadline:
            release = bool(held) and (len(held) >= len(seats) // 2 or rng.random() < 0.5)
            async with core.uow(tenant.id, write=True) as uow:
                if release:
                    seat = held.pop(rng.randrange(len(held)))
                    done = await inventory.release_seat(uow, instance, seat, HOLDER)
                else:
                    seat = rng.choice(seats)
                    done = await inventory.hold_seat(uow, instance, seat, HOLDER)
                    if done:
                        held.append(seat)
                await uow.commit()
            changes += done
            refused += not done
        elapsed = time.monotonic() - started
        async with core.uow(tenant.id, write=True) as uow:
            for seat in held:
                await inventory.release_seat(uow, instance, seat, HOLDER)
            await uow.commit()
        return {"changes": changes, "refused": refused, "seconds": round(elapsed, 3)}
    finally:
        await core.dispose()


def main() -> None:
    print(json.dumps(asyncio.run(churn(json.loads(sys.argv[1])))))


if __name__ == "__main__":
    main()
