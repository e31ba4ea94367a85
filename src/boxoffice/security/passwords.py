"""Password hashing with Argon2id (argon2-cffi).

Parameters follow the OWASP Password Storage Cheat Sheet minimum for Argon2id:
m=19 MiB (19456 KiB), t=2, p=1.
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
from typing import Any, TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

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


async def hash_password_async(password: str) -> str:
    """:func:`hash_password` run in an Argon2 thread, off the event loop."""
    return await in_argon2_thread(hash_password, password)


async def verify_password_async(hash: str, password: str) -> bool:
    """:func:`verify_password` run in an Argon2 thread, off the event loop."""
    return await in_argon2_thread(verify_password, hash, password)


async def verify_dummy_async(password: str) -> bool:
    """:func:`verify_dummy` in the same Argon2 threads as :func:`verify_password_async` (the
    same queue and priority, so an unknown account waits and works like a known one)."""
    return await in_argon2_thread(verify_dummy, password)
