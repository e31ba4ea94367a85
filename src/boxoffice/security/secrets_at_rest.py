"""Secrets encrypted at rest: AES-256-GCM under a key derived (HKDF) from the app secret."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"v1"
_NONCE = 12


class SecretBoxError(Exception):
    """A stored secret that does not decrypt: tampered with, or another application key."""


class SecretBox:
    def __init__(self, app_secret: str) -> None:
        if not app_secret:
            raise ValueError("an application secret is required")
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"boxoffice secrets at rest v1"
        ).derive(app_secret.encode("utf-8"))
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(<hidden>)"

    def encrypt(self, plaintext: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode("utf-8"), _VERSION)

    def decrypt(self, blob: bytes) -> str:
        if not blob.startswith(_VERSION) or len(blob) < len(_VERSION) + _NONCE + 16:
            raise SecretBoxError("not a stored secret")
        nonce = blob[len(_VERSION) : len(_VERSION) + _NONCE]
        try:
            return self._aead.decrypt(nonce, blob[len(_VERSION) + _NONCE :], _VERSION).decode()
        except InvalidTag as exc:
            raise SecretBoxError("stored secret does not decrypt") from exc
