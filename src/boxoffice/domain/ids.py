"""Public identifiers.

Records have integer keys inside the core. The Spektrix-style public forms are defined here, in
the core, because operators (CLI) and every dialect that shows a Spektrix-style id must agree:

- a customer id looks like ``I-AK11-1ATK``: ``I-`` and eight base-36 digits of the key;
- any other id looks like ``201AGBHDRLQHNHPHKKMPKLGPMDRDTDMVL``: the decimal key, ``A``, then
  letters from a 16-letter alphabet derived from the record kind and key, 33 characters in all.
  The letters are a checksum: an id of one kind never resolves as another kind.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets

_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CUSTOMER_KEY_SPACE = 36**8
_CUSTOMER_RE = re.compile(r"^I-([0-9A-Z]{4})-([0-9A-Z]{4})$")
_LETTERS = "BCDGHJKLMNPQRSTV"
#: A hex digit -> the letter of the same nibble value (``digest.hex()`` keeps the nibbles in order).
_HEX_TO_LETTERS = str.maketrans("0123456789abcdef", _LETTERS)
_RESOURCE_RE = re.compile(r"^([1-9][0-9]{0,18})A([BCDGHJKLMNPQRSTV]+)$")
RESOURCE_ID_LENGTH = 33
#: The largest integer SQLite and PostgreSQL (``bigint``) store: no key, count or offset a
#: request names may exceed it (a larger one was a 500, "too large to convert").
MAX_INTEGER = 2**63 - 1


def is_key(value: int) -> bool:
    """Whether ``value`` can be a record's key: 1 up to :data:`MAX_INTEGER`."""
    return 0 < value <= MAX_INTEGER


def new_customer_key() -> int:
    """A random customer key; the caller retries on the (rare) collision."""
    return secrets.randbelow(CUSTOMER_KEY_SPACE - 1) + 1


def new_row_key() -> int:
    """A random key for customer-owned rows (addresses, events...): fits a JS number."""
    return secrets.randbelow(2**53 - 1) + 1


def new_row_keys(count: int) -> list[int]:
    """``count`` keys as :func:`new_row_key` draws them (uniform over the same range), from
    one read of the system's random source instead of one per key (bulk imports)."""
    keys: list[int] = []
    while len(keys) < count:
        need = count - len(keys)
        data = secrets.token_bytes(8 * need)
        # 53 random bits each (a mask keeps them uniform); 0 is outside the range: drawn again.
        keys.extend(
            k
            for k in (
                int.from_bytes(data[i : i + 8], "little") & _ROW_KEY_MASK
                for i in range(0, 8 * need, 8)
            )
            if k
        )
    return keys


_ROW_KEY_MASK = 2**53 - 1


#: Every two-digit base-36 number, ``00`` to ``ZZ``: a customer code is four of them.
_B36_PAIRS = [high + low for high in _B36 for low in _B36]
_PAIR = 36**2


def customer_code(key: int) -> str:
    if not 0 < key < CUSTOMER_KEY_SPACE:
        raise ValueError(f"customer key out of range: {key}")
    pairs = _B36_PAIRS
    head, tail = divmod(key, _PAIR * _PAIR)
    return (
        f"I-{pairs[head // _PAIR]}{pairs[head % _PAIR]}-{pairs[tail // _PAIR]}{pairs[tail % _PAIR]}"
    )


def parse_customer_code(code: str) -> int | None:
    match = _CUSTOMER_RE.match(code.strip().upper())
    if match is None:
        return None
    value = int(match.group(1) + match.group(2), 36)
    return value or None


def _letters(kind: str, key: int, count: int) -> str:
    """``count`` letters from SHA-256 digests of ``kind:key:counter``: each byte gives two
    letters, high nibble first."""
    out = ""
    counter = 0
    while len(out) < count:
        out += hashlib.sha256(f"{kind}:{key}:{counter}".encode()).hexdigest()
        counter += 1
    return out[:count].translate(_HEX_TO_LETTERS)


@functools.lru_cache(maxsize=4096)
def resource_code(kind: str, key: int) -> str:
    """Kept per (kind, key), at most 4,096 of them: a pure function of its arguments, and
    every view of a customer shows the same address ids again (a SHA-256 each)."""
    head = f"{key}A"
    return head + _letters(kind, key, RESOURCE_ID_LENGTH - len(head))


def parse_resource_code(kind: str, code: str) -> int | None:
    code = code.strip().upper()
    match = _RESOURCE_RE.match(code)
    if match is None or len(code) != RESOURCE_ID_LENGTH:
        return None
    key = int(match.group(1))
    return key if is_key(key) and resource_code(kind, key) == code else None


# CareCloud's customer ids are 16 hex digits of the key masked by kind, plus 10 check digits
# (``api/carecloud/mappers.py``, whose encoding a test holds this copy to). Operators paste them.
_HEX_CODE_RE = re.compile(r"^[0-9a-f]{26}$")


def _carecloud_customer_key(code: str) -> int | None:
    code = code.strip().lower()
    if not _HEX_CODE_RE.match(code):
        return None
    body, check = code[:16], code[16:]
    if hashlib.sha256(f"carecloud:customer:{body}".encode()).hexdigest()[:10] != check:
        return None
    mask = int(hashlib.sha256(b"carecloud-mask:customer").hexdigest()[:16], 16)
    return int(body, 16) ^ mask


def parse_customer_ref(text: str) -> int | None:
    """A customer's key from any form a dialect shows: ``I-AK11-1ATK`` (Spektrix, the CLI),
    the decimal key (brand/channel) or CareCloud's 26 hex digits."""
    text = text.strip()
    key = parse_customer_code(text)
    if key is None and text.isdigit() and len(text) <= 19:
        key = int(text)
    if key is None:
        key = _carecloud_customer_key(text)
    return key if key is not None and 0 < key < CUSTOMER_KEY_SPACE else None
