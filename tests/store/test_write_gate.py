"""The SQLite writers' queue (``store/write_gate.py``, decision 0078).

Two :class:`WriteGate` objects on the same database stand in for two server workers: each
opens the lock file itself, and ``flock`` locks belong to an open file, so they exclude each
other exactly as two processes' do.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from boxoffice.bootstrap import build_core
from boxoffice.domain.commands import NewCustomer
from boxoffice.domain.principal import Principal
from boxoffice.services import customers as customer_service
from boxoffice.services.core import Core
from boxoffice.settings import Settings
from boxoffice.store import write_gate
from boxoffice.store.migrate import upgrade
from boxoffice.store.write_gate import WriteGate
from tests.conftest import SECRET, make_tenant

#: Long enough for a writer that is free to go to have gone (it needs no other process).
SETTLE = 0.3
#: A hang guard on waits that must end: generous, never what a test asserts.
GUARD = 60.0


@contextlib.asynccontextmanager
async def _gates(path: Path, count: int) -> AsyncIterator[list[WriteGate]]:
    gates = [WriteGate(str(path)) for _ in range(count)]
    try:
        yield gates
    finally:
        for gate in gates:
            gate.close()


async def _still_waiting(task: asyncio.Task[bool]) -> bool:
    done, _ = await asyncio.wait({task}, timeout=SETTLE)
    return not done


async def test_a_second_process_waits_until_the_first_leaves(tmp_path: Path) -> None:
    async with _gates(tmp_path / "db.sqlite", 2) as (first, second):
        assert await first.enter()
        waiting = asyncio.create_task(second.enter())
        assert await _still_waiting(waiting)
        first.leave()
        assert await asyncio.wait_for(waiting, GUARD)
        second.leave()
        assert first.path.exists()
        assert oct(first.path.stat().st_mode & 0o777) == "0o600"


async def test_writers_of_one_process_pass_in_the_order_they_came(tmp_path: Path) -> None:
    async with _gates(tmp_path / "db.sqlite", 1) as (gate,):
        assert await gate.enter()
        passed: list[int] = []

        async def writer(n: int) -> None:
            assert await gate.enter()
            passed.append(n)
            gate.leave()

        tasks = []
        for n in range(5):
            tasks.append(asyncio.create_task(writer(n)))
            await asyncio.sleep(0)  # let it reach the queue before the next one comes
        assert not passed  # all queued behind the first
        gate.leave()
        await asyncio.wait_for(asyncio.gather(*tasks), GUARD)
        assert passed == [0, 1, 2, 3, 4]


async def test_a_writer_cancelled_while_waiting_for_the_file_holds_nobody_up(
    tmp_path: Path,
) -> None:
    async with _gates(tmp_path / "db.sqlite", 2) as (other, mine):
        assert await other.enter()
        cancelled = asyncio.create_task(mine.enter())
        assert await _still_waiting(cancelled)  # its thread waits for the file
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        after = asyncio.create_task(mine.enter())
        assert await _still_waiting(after)
        other.leave()  # the cancelled writer's thread gets the file and gives it back
        assert await asyncio.wait_for(after, GUARD)
        # ...and the file is really this writer's: the other process has to wait now.
        again = asyncio.create_task(other.enter())
        assert await _still_waiting(again)
        mine.leave()
        assert await asyncio.wait_for(again, GUARD)
        other.leave()


async def test_a_nested_writer_is_refused_at_once(tmp_path: Path) -> None:
    async with _gates(tmp_path / "db.sqlite", 1) as (gate,):
        assert await gate.enter()
        with pytest.raises(RuntimeError, match="already open"):
            await gate.enter()
        gate.leave()
        assert await gate.enter()  # the same task again, once it has left
        gate.leave()


async def test_a_writer_that_waits_too_long_goes_on_without_the_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write_gate, "WAIT_SECONDS", 0.2)
    async with _gates(tmp_path / "db.sqlite", 2) as (other, mine):
        assert await other.enter()
        assert await mine.enter() is False  # SQLite's own busy handler decides from here
        # Its thread still waits for the file; it gives the file back as soon as it has it.
        late = asyncio.create_task(mine.enter())
        other.leave()
        assert await asyncio.wait_for(late, GUARD)
        mine.leave()


async def test_without_a_lock_file_writers_go_straight_to_sqlite(tmp_path: Path) -> None:
    async with _gates(tmp_path / "missing-directory" / "db.sqlite", 1) as (gate,):
        assert await gate.enter() is False
        assert await gate.enter() is False  # nothing left held


@pytest.fixture
async def two_workers(tmp_path: Path) -> AsyncIterator[tuple[Core, Core, int]]:
    url = f"sqlite:///{tmp_path / 'boxoffice.db'}"
    await asyncio.to_thread(upgrade, url)
    settings = Settings(database_url=url, secret_key=SECRET, var_dir=tmp_path / "var")
    cores = build_core(settings, pool_size=5), build_core(settings, pool_size=5)
    try:
        assert all(core.write_gate is not None for core in cores)
        _name, tenant_id = await make_tenant(cores[0])
        yield cores[0], cores[1], tenant_id
    finally:
        for core in cores:
            await core.dispose()


async def test_two_workers_writing_at_once_all_succeed(
    two_workers: tuple[Core, Core, int],
) -> None:
    first, second, tenant_id = two_workers
    owner = Principal(tenant_id=tenant_id, actor="api-user:test", full_access=True)

    async def create(core: Core, n: int) -> int:
        command = NewCustomer(first_name="Gate", last_name=f"No{n}", email=f"gate{n}@example.org")
        return (await customer_service.create_customer(core, owner, command)).id

    made = await asyncio.wait_for(
        asyncio.gather(*(create((first, second)[n % 2], n) for n in range(40))), 60
    )
    assert len(set(made)) == 40
    for n, customer_id in enumerate(made):
        view = await customer_service.get_customer(second, owner, customer_id)
        assert view.email == f"gate{n}@example.org"


async def test_postgresql_has_no_gate(database_url: str, core: Core) -> None:
    assert (core.write_gate is None) == database_url.startswith("postgresql")
