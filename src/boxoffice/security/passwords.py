"""Password hashing with Argon2id (argon2-cffi).

Parameters follow the OWASP Password Storage Cheat Sheet minimum for Argon2id:
m=19 MiB (19456 KiB), t=2, p=1.

Two lanes run the server's Argon2 work off the event loop (decision 0098):

- the **main lane** (:func:`in_argon2_thread`): logins, password changes and resets, accounts
  created by authenticated callers; :data:`MAX_CONCURRENT` threads;
- the **sign-up lane** (:data:`SIGN_UP_LANE`, ``hash_password_async(..., public=True)``): new
  passwords sent by callers nobody has authenticated (sign-up forms, app registrations). One
  thread, and at most :data:`SIGN_UP_WAITING` more waiting: beyond that a sign-up is refused
  at once with :class:`~boxoffice.domain.errors.Unavailable` (each dialect's 503 with
  ``Retry-After``), instead of queueing without bound in front of everybody's logins.

Both lanes share :data:`MAX_CONCURRENT` computations at once (memory), so a flood of sign-ups
holds at most one of them: a login waits behind at most one sign-up's hash, never behind the
flood.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import secrets
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from boxoffice.domain.errors import Unavailable

T = TypeVar("T")

TIME_COST = 2
MEMORY_COST_KIB = 19456
PARALLELISM = 1
HASH_LEN = 32
SALT_LEN = 16

_HASHER = PasswordHasher(
    time_cost=TIME_COST,
    memory_cost=MEMORY_COST_KIB,
    parallelism=PARALLELISM,
    hash_len=HASH_LEN,
    salt_len=SALT_LEN,
    encoding="utf-8",
    type=Type.ID,
)


def return_large_blocks_to_the_system() -> bool:
    """Keep glibc's mmap threshold at its 128 KiB default instead of letting it grow.

    glibc raises the threshold to the size of the largest block freed (up to 32 MiB): after
    the first Argon2 computation, its 19 MiB blocks come from the heap of whichever worker
    thread ran it, and each thread's heap keeps them. A worker then holds 19 MiB per thread
    that ever hashed a password (bench/README.md). A fixed threshold hands them back on free.

    It changes the whole process's allocator, so only server workers call it (from
    ``boxoffice.api.app.app_factory``), never an import. True when it was applied (glibc).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return False
    m_mmap_threshold = -3
    return bool(mallopt(m_mmap_threshold, 128 * 1024))


#: Argon2 computations running at once in this process. Each takes ``MEMORY_COST_KIB`` of
#: memory and a core for tens of milliseconds: a login storm must neither grow a worker's
#: memory without bound nor take every core from the other requests (bench/README.md).
MAX_CONCURRENT = 2
_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT)


def hash_password(password: str) -> str:
    """Return an encoded Argon2id hash (``$argon2id$v=19$m=...``) of ``password``."""
    with _SLOTS:
        return _HASHER.hash(password)


def verify_password(hash: str, password: str) -> bool:
    """True when ``password`` matches ``hash``.

    Returns False (never raises) on a mismatch or a malformed/unsupported hash.
    """
    try:
        with _SLOTS:
            return _HASHER.verify(hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(hash: str) -> bool:
    """True when ``hash`` was made with other parameters than the current ones.

    A malformed hash also reports True: it should be replaced at the next successful login.
    """
    try:
        return _HASHER.check_needs_rehash(hash)
    except InvalidHashError:
        return True


_DUMMY_LOCK = threading.Lock()
_dummy_hash: str | None = None


def dummy_hash() -> str:
    """A real hash with the current parameters, so that verifying against it costs the same
    as verifying a real account's password.

    Made at the first use, not at import: every process importing this module (the CLI, each
    server worker) would otherwise spend an Argon2 computation and its 19 MiB on it.
    """
    global _dummy_hash
    with _DUMMY_LOCK:
        if _dummy_hash is None:
            _dummy_hash = hash_password(secrets.token_urlsafe(32))
        return _dummy_hash


def verify_dummy(password: str) -> bool:
    """Spend the same time as :func:`verify_password`, for an account that does not exist.

    Always returns False.
    """
    verify_password(dummy_hash(), password)
    return False


#: Niceness of the threads that compute Argon2 for the server (Linux: per thread).
ARGON2_NICENESS = 10


def _lower_priority() -> None:
    """Run this thread after the event loop's: a login storm then takes the cores only when
    the other requests leave them idle (bench/README.md, the login storm)."""
    # Not Linux, or not allowed: the thread runs at normal priority.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), ARGON2_NICENESS)


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


async def in_argon2_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)`` in one of the process's Argon2 threads: at most
    :data:`MAX_CONCURRENT` of them, each at a lower scheduling priority than the event loop."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(
                MAX_CONCURRENT, thread_name_prefix="argon2", initializer=_lower_priority
            )
        pool = _POOL
    return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)


class Lane:
    """Argon2 work of one kind in its own threads: at most ``running`` computations at once
    and ``waiting`` more queued. :meth:`submit` refuses more at once, before any work.

    The count is kept under a lock (any thread or event loop may submit) and released when
    the work is done or, cancelled before it started, dropped: a caller that gives up never
    leaves a slot taken.
    """

    def __init__(self, name: str, *, running: int, waiting: int, retry_after: int = 5) -> None:
        if running < 1 or waiting < 0:
            raise ValueError("a lane needs at least one running slot and no negative queue")
        self.name = name
        self.running = running
        self.waiting = waiting
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._admitted = 0
        self._pool: ThreadPoolExecutor | None = None

    @property
    def admitted(self) -> int:
        """Jobs running or waiting now."""
        return self._admitted

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                self.running, thread_name_prefix=f"argon2-{self.name}", initializer=_lower_priority
            )
        return self._pool

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Start ``fn(*args)`` in the lane (call on an event loop); ``Unavailable`` when the
        lane is full. Returns the future to await."""
        with self._lock:
            if self._admitted >= self.running + self.waiting:
                raise Unavailable(
                    "too many sign-ups are being processed; try again shortly",
                    retry_after=self.retry_after,
                )
            self._admitted += 1
            try:
                job = self._executor().submit(fn, *args)
            except BaseException:
                self._admitted -= 1
                raise
        job.add_done_callback(self._release)
        return asyncio.wrap_future(job)

    def _release(self, _job: object) -> None:
        with self._lock:
            self._admitted -= 1


#: New passwords of callers nobody has authenticated (decision 0098): per worker process, one
#: thread and at most this many waiting (a hash takes some 30-60 ms of one core).
SIGN_UP_WAITING: Final = 8
SIGN_UP_LANE = Lane("sign-up", running=1, waiting=SIGN_UP_WAITING)


async def hash_password_async(password: str, *, public: bool = False) -> str:
    """:func:`hash_password` run in an Argon2 thread, off the event loop. ``public``: for a
    caller nobody has authenticated (a sign-up), in the bounded sign-up lane, which raises
    ``Unavailable`` at once when it is full. Validate everything else before calling this."""
    if public:
        return await SIGN_UP_LANE.submit(hash_password, password)
    return await in_argon2_thread(hash_password, password)


async def verify_password_async(hash: str, password: str) -> bool:
    """:func:`verify_password` run in an Argon2 thread, off the event loop."""
    return await in_argon2_thread(verify_password, hash, password)


async def verify_dummy_async(password: str) -> bool:
    """:func:`verify_dummy` in the same Argon2 threads as :func:`verify_password_async` (the
    same queue and priority, so an unknown account waits and works like a known one)."""
    return await in_argon2_thread(verify_dummy, password)
