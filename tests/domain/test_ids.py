import re

import pytest

from boxoffice.domain import ids


def test_customer_code_round_trips_and_looks_like_the_vendors() -> None:
    for key in (1, 36**4, ids.CUSTOMER_KEY_SPACE - 1, ids.new_customer_key()):
        code = ids.customer_code(key)
        assert re.fullmatch(r"I-[0-9A-Z]{4}-[0-9A-Z]{4}", code)
        assert ids.parse_customer_code(code) == key
        assert ids.parse_customer_code(code.lower()) == key


@pytest.mark.parametrize(
    "bad", ["", "I-AK11", "X-AK11-1ATK", "I-AK11-1ATK-", "I-0000-0000", "I-AK1!-1ATK"]
)
def test_malformed_customer_codes_are_refused(bad: str) -> None:
    assert ids.parse_customer_code(bad) is None


def test_customer_key_out_of_range_is_an_error() -> None:
    with pytest.raises(ValueError):
        ids.customer_code(0)
    with pytest.raises(ValueError):
        ids.customer_code(ids.CUSTOMER_KEY_SPACE)


def test_resource_codes_have_the_vendor_shape() -> None:
    for key in (1, 42, 2**53):
        code = ids.resource_code("tag", key)
        assert len(code) == 33
        assert re.fullmatch(rf"{key}A[BCDGHJKLMNPQRSTV]+", code)
        assert ids.parse_resource_code("tag", code) == key


def test_a_resource_code_of_one_kind_is_not_valid_for_another() -> None:
    code = ids.resource_code("tag", 7)
    assert ids.parse_resource_code("statement", code) is None


@pytest.mark.parametrize("bad", ["", "7", "7A", "0ABCD", "7ABCDE", "x" * 33])
def test_malformed_resource_codes_are_refused(bad: str) -> None:
    assert ids.parse_resource_code("tag", bad) is None


def test_a_tampered_resource_code_is_refused() -> None:
    code = ids.resource_code("tag", 7)
    tampered = code[:-1] + ("B" if code[-1] != "B" else "C")
    assert ids.parse_resource_code("tag", tampered) is None


def test_row_keys_drawn_in_blocks_cover_the_row_key_range() -> None:
    keys = ids.new_row_keys(5000)
    assert len(keys) == 5000
    assert all(isinstance(k, int) and 1 <= k <= 2**53 - 1 for k in keys)
    assert len(set(keys)) == 5000  # 53 random bits each: a repeat here would be a bug
    # Spread over the whole range (not, say, 32 bits): some keys above 2**52.
    assert any(k >= 2**52 for k in keys)
    assert ids.new_row_keys(0) == []


@pytest.mark.parametrize(
    ("key", "code"),
    [
        (1, "I-0000-0001"),
        (35, "I-0000-000Z"),
        (36, "I-0000-0010"),
        (1295, "I-0000-00ZZ"),
        (1296, "I-0000-0100"),
        (36**4 - 1, "I-0000-ZZZZ"),
        (36**4, "I-0001-0000"),
        (123456789, "I-0021-I3V9"),
        (36**8 - 1, "I-ZZZZ-ZZZZ"),
    ],
)
def test_customer_codes_are_the_keys_eight_base_36_digits(key: int, code: str) -> None:
    assert ids.customer_code(key) == code


def test_customer_codes_match_a_digit_by_digit_conversion() -> None:
    def by_digits(key: int) -> str:
        text = ""
        for _ in range(8):
            key, rem = divmod(key, 36)
            text = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[rem] + text
        return f"I-{text[:4]}-{text[4:]}"

    for _ in range(2000):
        key = ids.new_customer_key()
        assert ids.customer_code(key) == by_digits(key)


@pytest.mark.parametrize(
    ("kind", "key", "code"),
    [
        ("tag", 1, "1ARCTVSQCCCKKSVRTTHPNRHRNMHPPLQHG"),
        ("address", 2**53 - 1, "9007199254740991ANKPTNKJTMLBKSKCP"),
        ("statement", 42, "42ASTGNHMMBLQTPCHJSVHMPMMQSJPSHPV"),
        ("membership", 10**18, "1000000000000000000ADSCVDGKNRSTRM"),
        ("tag-group", 7, "7ATKTCTMQKKQRKMTLQSGJRJMKLTMPGJSK"),
    ],
)
def test_resource_codes_are_stable(kind: str, key: int, code: str) -> None:
    """Ids already handed out must keep resolving: the letters may never change."""
    assert ids.resource_code(kind, key) == code


def test_letters_beyond_one_digest_continue_with_the_next() -> None:
    assert ids._letters("tag", 5, 70) == (
        "JKQKHQBHQQNLQQPJTPMNCBQHVMPRPVLNDLNPSLCGTMPSQCSVTMSNKBCNLCCCKQCLJSTMCP"
    )
    assert ids._letters("tag", 5, 64) == ids._letters("tag", 5, 70)[:64]


def test_resource_codes_are_kept_per_kind_and_key_in_a_bounded_cache() -> None:
    ids.resource_code.cache_clear()
    first = ids.resource_code("address", 12345)
    assert ids.resource_code("address", 12345) is first  # kept
    assert ids.resource_code("tag", 12345) != first  # the kind is part of the key
    assert ids.parse_resource_code("address", first) == 12345
    assert ids.parse_resource_code("tag", first) is None
    info = ids.resource_code.cache_info()
    assert info.maxsize is not None and info.maxsize <= 4096
    for key in range(1, info.maxsize + 50):
        ids.resource_code("tag", key)
    assert ids.resource_code.cache_info().currsize == info.maxsize
