"""A customer's id in any form a dialect shows it resolves to the same key (operators paste
ids from any of them into ``boxoffice customer export|erase`` and ``boxoffice audit``)."""

from __future__ import annotations

import pytest

from boxoffice.api.carecloud.mappers import CUSTOMER, encode
from boxoffice.domain.ids import CUSTOMER_KEY_SPACE, customer_code, parse_customer_ref


@pytest.mark.parametrize("key", [1, 36, 1_234_567, CUSTOMER_KEY_SPACE - 1])
def test_every_dialects_form(key: int) -> None:
    assert parse_customer_ref(customer_code(key)) == key  # Spektrix, the CLI
    assert parse_customer_ref(customer_code(key).lower()) == key
    assert parse_customer_ref(str(key)) == key  # brand/channel
    assert parse_customer_ref(f" {key} ") == key
    assert parse_customer_ref(encode(CUSTOMER, key)) == key  # CareCloud
    assert parse_customer_ref(encode(CUSTOMER, key).upper()) == key


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0",
        "-5",
        str(CUSTOMER_KEY_SPACE),
        "I-ZZZZ-ZZZ",
        "I-0000-0000",
        "x" * 26,
        encode("store", 5),  # another kind's CareCloud id
        encode(CUSTOMER, 5)[:-1] + ("0" if encode(CUSTOMER, 5)[-1] != "0" else "1"),
        "9" * 40,
    ],
)
def test_what_is_no_customer_id(text: str) -> None:
    assert parse_customer_ref(text) is None
