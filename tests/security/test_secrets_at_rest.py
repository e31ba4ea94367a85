"""Secrets encrypted at rest with AES-GCM under an HKDF-derived key."""

from __future__ import annotations

import pytest

from boxoffice.security.secrets_at_rest import SecretBox, SecretBoxError

APP_SECRET = "test-secret-key-0123456789abcdef0123456789"


def test_round_trip() -> None:
    box = SecretBox(APP_SECRET)
    for plaintext in ("dGhpcyBpcyBhIHRlc3Q=", "", "ünïcødé ✓", "x" * 10_000):
        assert box.decrypt(box.encrypt(plaintext)) == plaintext


def test_blob_layout_and_random_nonce() -> None:
    box = SecretBox(APP_SECRET)
    first = box.encrypt("same")
    second = box.encrypt("same")
    assert first.startswith(b"v1")
    assert len(first) == 2 + 12 + len(b"same") + 16
    assert first != second
    assert first[2:14] != second[2:14]


def test_same_secret_decrypts_across_instances() -> None:
    blob = SecretBox(APP_SECRET).encrypt("hello")
    assert SecretBox(APP_SECRET).decrypt(blob) == "hello"


def test_wrong_key_raises() -> None:
    blob = SecretBox(APP_SECRET).encrypt("hello")
    with pytest.raises(SecretBoxError):
        SecretBox(APP_SECRET + "x").decrypt(blob)


@pytest.mark.parametrize("index", [0, 1, 2, 13, 14, -1])
def test_tampered_blob_raises(index: int) -> None:
    box = SecretBox(APP_SECRET)
    blob = bytearray(box.encrypt("hello"))
    blob[index] ^= 0x01
    with pytest.raises(SecretBoxError):
        box.decrypt(bytes(blob))


@pytest.mark.parametrize("blob", [b"", b"v1", b"v1" + b"\x00" * 27, b"v2" + b"\x00" * 40])
def test_truncated_or_unknown_blob_raises(blob: bytes) -> None:
    with pytest.raises(SecretBoxError):
        SecretBox(APP_SECRET).decrypt(blob)


def test_truncated_ciphertext_raises() -> None:
    box = SecretBox(APP_SECRET)
    blob = box.encrypt("hello world")
    with pytest.raises(SecretBoxError):
        box.decrypt(blob[:-1])


def test_repr_does_not_reveal_secret() -> None:
    box = SecretBox(APP_SECRET)
    assert APP_SECRET not in repr(box)
    assert APP_SECRET not in str(box)
    assert repr(box) == "SecretBox(<redacted>)"


def test_empty_app_secret_rejected() -> None:
    with pytest.raises(ValueError):
        SecretBox("")
