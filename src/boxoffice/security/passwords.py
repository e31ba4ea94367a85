"""Argon2id password hashing (OWASP parameters), run off the event loop when async."""

from __future__ import annotations

import secrets

import anyio.to_thread
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(hash: str) -> bool:
    try:
        return _HASHER.check_needs_rehash(hash)
    except InvalidHashError:
        return True


#: Verified against when an account does not exist, so both paths cost the same.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def verify_dummy(password: str) -> bool:
    verify_password(DUMMY_HASH, password)
    return False


async def hash_password_async(password: str) -> str:
    return await anyio.to_thread.run_sync(hash_password, password)


async def verify_password_async(hash: str, password: str) -> bool:
    return await anyio.to_thread.run_sync(verify_password, hash, password)
