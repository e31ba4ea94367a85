"""Authenticated encryption of secrets stored in the database (e.g. API secret keys).

The 32-byte key is derived from the application secret with HKDF-SHA256; values are
encrypted with AES-256-GCM. Blob layout: ``b"v1" + nonce (12 bytes) + ciphertext+tag``.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"v1"
HKDF_INFO = b"boxoffice secrets at rest v1"
KEY_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16


class SecretBoxError(Exception):
    """A blob that cannot be decrypted: tampered, truncated, unknown version or wrong key."""


class SecretBox:
    """Encrypts and decrypts short strings with a key derived from the application secret."""

    __slots__ = ("_aead",)

    def __init__(self, app_secret: str) -> None:
        if not app_secret:
            raise ValueError("app_secret must not be empty")
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=KEY_LEN,
            salt=None,
            info=HKDF_INFO,
        ).derive(app_secret.encode("utf-8"))
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(<redacted>)"

    def encrypt(self, plaintext: str) -> bytes:
        nonce = os.urandom(NONCE_LEN)
        return VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode("utf-8"), None)

    def decrypt(self, blob: bytes) -> str:
        """Decrypt a blob made by :meth:`encrypt`; ``SecretBoxError`` on any failure."""
        data = bytes(blob)
        if len(data) < len(VERSION) + NONCE_LEN + TAG_LEN or not data.startswith(VERSION):
            raise SecretBoxError("malformed secret blob")
        nonce = data[len(VERSION) : len(VERSION) + NONCE_LEN]
        ciphertext = data[len(VERSION) + NONCE_LEN :]
        try:
            plaintext = self._aead.decrypt(nonce, ciphertext, None)
        except InvalidTag:
            raise SecretBoxError("secret blob failed authentication") from None
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise SecretBoxError("secret blob is not UTF-8") from None
