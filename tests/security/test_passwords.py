"""Argon2id password hashing."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type

from boxoffice.security.passwords import (
    dummy_hash,
    hash_password,
    hash_password_async,
    needs_rehash,
    verify_dummy,
    verify_password,
    verify_password_async,
)


def test_hash_is_argon2id_with_owasp_parameters() -> None:
    hashed = hash_password("correct horse battery staple")
    assert hashed.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in hashed


def test_hashes_are_salted() -> None:
    assert hash_password("same") != hash_password("same")


def test_verify_right_password() -> None:
    hashed = hash_password("s3cret-Pässword")
    assert verify_password(hashed, "s3cret-Pässword") is True


def test_verify_wrong_password_is_false() -> None:
    hashed = hash_password("s3cret")
    assert verify_password(hashed, "s3cret ") is False
    assert verify_password(hashed, "") is False


def test_verify_invalid_hash_is_false() -> None:
    for bad in ("", "garbage", "$argon2id$", "$argon2id$v=19$m=19456,t=2,p=1$xx$yy", "$2b$12$x"):
        assert verify_password(bad, "whatever") is False


def test_needs_rehash() -> None:
    assert needs_rehash(hash_password("pw")) is False
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID)
    old = weaker.hash("pw")
    assert needs_rehash(old) is True
    assert verify_password(old, "pw") is True
    argon2i = PasswordHasher(type=Type.I).hash("pw")
    assert needs_rehash(argon2i) is True
    assert needs_rehash("garbage") is True


def test_dummy_hash_is_argon2id_with_current_parameters() -> None:
    assert dummy_hash().startswith("$argon2id$")
    assert needs_rehash(dummy_hash()) is False
    assert dummy_hash() == dummy_hash()  # made once per process


def test_verify_dummy_is_false_and_does_the_same_work_as_a_real_verify() -> None:
    # Same cost means the same Argon2 parameters: compare the hashes' parameter sections
    # (timing itself is measured in the benchmark, never asserted in tests).
    real = hash_password("pw")
    assert dummy_hash().split("$")[:4] == real.split("$")[:4]
    assert verify_dummy("wrong") is False
    assert verify_dummy("") is False


async def test_async_variants() -> None:
    hashed = await hash_password_async("async-pw")
    assert hashed.startswith("$argon2id$")
    assert await verify_password_async(hashed, "async-pw") is True
    assert await verify_password_async(hashed, "nope") is False
    assert await verify_password_async("garbage", "async-pw") is False
    assert verify_password(hashed, "async-pw") is True


async def test_at_most_a_few_argon2_computations_run_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A login storm cannot grow a worker's memory (19 MiB per computation) without bound."""
    import asyncio
    import threading
    import time

    from boxoffice.security import passwords

    lock = threading.Lock()
    release = threading.Event()
    state = {"active": 0, "most": 0}

    class Hasher:
        def verify(self, hash: str, password: str) -> bool:
            with lock:
                state["active"] += 1
                state["most"] = max(state["most"], state["active"])
            release.wait(timeout=30)
            with lock:
                state["active"] -= 1
            return True

    monkeypatch.setattr(passwords, "_HASHER", Hasher())
    tasks = [asyncio.create_task(passwords.verify_password_async("h", "p")) for _ in range(6)]
    deadline = time.monotonic() + 30
    while state["active"] < passwords.MAX_CONCURRENT:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)  # polling interval
    assert state["active"] == passwords.MAX_CONCURRENT
    release.set()
    assert all(await asyncio.gather(*tasks))
    assert state["most"] == passwords.MAX_CONCURRENT


async def test_argon2_runs_below_the_event_loops_priority() -> None:
    """A login storm's Argon2 threads yield the cores to the event loop (Linux, per thread)."""
    import os
    import threading

    from boxoffice.security import passwords

    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = niceness()
    in_pool = await passwords.in_argon2_thread(niceness)
    assert in_pool >= passwords.ARGON2_NICENESS > before
    assert niceness() == before  # the event loop's own thread is untouched
    assert (
        await passwords.in_argon2_thread(threading.current_thread) is not threading.current_thread()
    )


# --- the bounded sign-up lane (decision 0098) ------------------------------------------------


async def test_a_full_lane_refuses_at_once_and_frees_its_slots() -> None:
    """Driven by events: the refusal is raised by ``submit`` itself, before any work."""
    import asyncio
    import threading

    from boxoffice.domain.errors import Unavailable
    from boxoffice.security import passwords

    lane = passwords.Lane("test", running=1, waiting=2)
    release = threading.Event()
    jobs = [lane.submit(release.wait, 30) for _ in range(3)]  # one runs, two wait
    assert lane.admitted == 3
    with pytest.raises(Unavailable) as refused:
        lane.submit(release.wait, 30)
    assert refused.value.retry_after >= 1
    release.set()
    assert await asyncio.gather(*jobs) == [True, True, True]
    assert lane.admitted == 0
    assert await lane.submit(str, 1) == "1"


async def test_a_caller_that_gives_up_frees_its_place_in_the_queue() -> None:
    import asyncio
    import threading

    from boxoffice.security import passwords

    lane = passwords.Lane("test", running=1, waiting=1)
    release = threading.Event()
    running = lane.submit(release.wait, 30)
    waiting = lane.submit(release.wait, 30)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await asyncio.sleep(0)  # one turn of the loop: the cancellation reaches the thread pool
    assert lane.admitted == 1
    again = lane.submit(release.wait, 30)  # the cancelled one's place
    release.set()
    assert await running is True and await again is True
    assert lane.admitted == 0


async def test_logins_do_not_wait_behind_a_full_sign_up_lane(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A sign-up flood fills its own lane (and holds at most one Argon2 slot); a login's
    verification runs in the main lane, and a further sign-up is refused at once."""
    import threading

    from boxoffice.domain.errors import Unavailable
    from boxoffice.security import passwords

    hashed = hash_password("a customer's password")
    lane = passwords.Lane("test", running=1, waiting=1)
    monkeypatch.setattr(passwords, "SIGN_UP_LANE", lane)
    release = threading.Event()

    def a_slow_hash(password: str) -> str:
        with passwords._SLOTS:  # holds an Argon2 slot the way a real hash does
            release.wait(30)
        return password

    monkeypatch.setattr(passwords, "hash_password", a_slow_hash)
    flood = [lane.submit(a_slow_hash, "x"), lane.submit(a_slow_hash, "y")]
    try:
        with pytest.raises(Unavailable):
            await hash_password_async("another sign-up", public=True)
        assert await verify_password_async(hashed, "a customer's password") is True
    finally:
        release.set()
    for job in flood:
        await job
