"""Email keys (``rules.normalise_email``, decision 0093): two addresses share a key only when
they name the same mailbox, ignoring case."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boxoffice.domain.rules import EMAIL_KEY_LENGTH, is_valid_email, normalise_email

SAME = [
    # case, in ASCII and beyond it
    ("Ada@Example.ORG", "ada@example.org"),
    (" ada@example.org\t", "ada@example.org"),
    ("STRASSE@example.de", "strasse@example.de"),
    ("STRAẞE@example.de", "straße@example.de"),  # capital sharp s lowers to ß
    ("ÉLODIE@example.fr", "élodie@example.fr"),
    ("ΟΔΟΣ@example.gr", "οδος@example.gr"),  # a final capital sigma lowers to ς
    # canonically equivalent spellings are one text (NFC)
    ("jose\u0301@example.es", "jos\u00e9@example.es"),
    ("\u212aim@example.org", "kim@example.org"),  # KELVIN SIGN is K
    ("\u212bngstrom@example.org", "ångstrom@example.org"),  # ANGSTROM SIGN is Å
    # a domain is the name DNS looks up: A-label and U-label, any case, full width
    ("dora@großbank.example", "dora@xn--grobank-2va.example"),
    ("dora@GROẞBANK.example", "dora@großbank.example"),
    ("dora@XN--GROBANK-2VA.EXAMPLE", "dora@großbank.example"),
    ("dora@ＧＲＯＳＳＢＡＮＫ.example", "dora@grossbank.example"),
    ("ada@bücher.de", "ada@BÜCHER.DE"),
    ("ada@ΟΔΟΣ.gr", "ada@οδοσ.gr"),  # UTS 46 maps Σ to σ in a domain, wherever it stands
]

DISTINCT = [
    # ß is not ss, anywhere (casefold() said it was)
    ("dora@großbank.example", "dora@grossbank.example"),
    ("straße@example.de", "strasse@example.de"),
    ("STRAẞE@example.de", "strasse@example.de"),
    # final and medial sigma are other letters, in local parts and in IDNA2008 domains
    ("οδος@example.gr", "οδοσ@example.gr"),
    ("ada@οδος.gr", "ada@οδοσ.gr"),
    # Turkish dotless and dotted i
    ("ılker@example.tr", "ilker@example.tr"),
    ("İlker@example.tr", "ilker@example.tr"),
    ("İlker@example.tr", "ılker@example.tr"),
    ("ada@ıstanbul.tr", "ada@istanbul.tr"),
    # full-width letters in a local part are other characters (only DNS maps them)
    ("ｄｏｒａ@example.org", "dora@example.org"),
    # compatibility forms are not canonical equivalents
    ("ﬁona@example.org", "fiona@example.org"),
    ("a²@example.org", "a2@example.org"),
    # accents matter
    ("jose@example.es", "josé@example.es"),
    ("ada@bucher.de", "ada@bücher.de"),
]


@pytest.mark.parametrize(("one", "other"), SAME)
def test_spellings_of_one_mailbox_share_a_key(one: str, other: str) -> None:
    assert normalise_email(one) == normalise_email(other)


@pytest.mark.parametrize(("one", "other"), DISTINCT)
def test_distinct_mailboxes_never_share_a_key(one: str, other: str) -> None:
    assert normalise_email(one) != normalise_email(other)


def test_the_penetration_tests_pair() -> None:
    """Issue 15, finding 2: ``casefold()`` made these one key, and mail went to the other."""
    assert "dora@großbank.example".casefold() == "dora@grossbank.example".casefold()
    assert normalise_email("dora@großbank.example") == "dora@xn--grobank-2va.example"
    assert normalise_email("dora@grossbank.example") == "dora@grossbank.example"


def test_a_domain_idna_refuses_is_compared_as_text() -> None:
    assert normalise_email("Ada@Bad_Dömain.example") == "ada@bad_dömain.example"
    assert normalise_email("Ada@-Dömain.example") == "ada@-dömain.example"
    assert normalise_email("Ada@Dömain..example") == "ada@dömain..example"
    assert normalise_email("no-at-sign-Ü") == "no-at-sign-ü"
    # the domain is after the last @ (a quoted local part may hold one)
    assert normalise_email('"a@B"@Dömain.example') == '"a@b"@xn--dmain-jua.example'


def test_lower_is_finer_than_casefold_for_every_code_point() -> None:
    """Why ``str.lower()`` and no ``casefold()``: whatever ``lower()`` makes one, ``casefold()``
    made one too (checked for every code point; ``lower()``'s only context rule, the final
    sigma, gives ``ς`` or ``σ``, which fold alike). So lower-casing alone never joins two keys
    the old rule kept apart: only NFC and the IDNA domain do, for spellings of one mailbox
    (see migration 0009, which settles such pairs)."""
    for code_point in range(sys.maxunicode + 1):
        char = chr(code_point)
        assert char.lower().casefold() == char.casefold(), hex(code_point)


def test_the_text_fold_is_idempotent_for_every_code_point() -> None:
    for code_point in range(sys.maxunicode + 1):
        key = normalise_email(chr(code_point))
        assert normalise_email(key) == key, hex(code_point)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.text(alphabet=st.characters(codec="ascii"), max_size=EMAIL_KEY_LENGTH))
def test_ascii_addresses_keep_the_keys_they_had(text: str) -> None:
    """ASCII addresses (nearly every stored one) have the key ``casefold()`` gave them: the
    migration changes only the others."""
    assert normalise_email(text) == text.strip().casefold()


@settings(max_examples=500, derandomize=True, deadline=None)
@given(st.text(max_size=300))
def test_any_text_has_a_key_that_fits_the_column(text: str) -> None:
    key = normalise_email(text)
    assert len(key) <= EMAIL_KEY_LENGTH
    assert normalise_email(text) == key


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), max_size=60))
def test_keys_are_their_own_key(local: str) -> None:
    for domain in ("example.org", "bücher.de", "Dömain_x.example"):
        key = normalise_email(f"{local}@{domain}")
        assert normalise_email(key) == key


def test_long_keys_end_in_a_digest_and_stay_apart() -> None:
    # İ lowers to two characters, and A-labels are longer than U-labels: a valid address of
    # 254 characters can make a longer key.
    local = "İ" * 60
    domain = ".".join(["bücher" * 9] * 3) + ".de"
    one, other = f"{local}@{domain}", f"{local}@{domain.replace('b', 'c', 1)}"
    assert len(one) <= 254 and is_valid_email(one)
    assert len(normalise_email(one)) == EMAIL_KEY_LENGTH
    assert normalise_email(one).rsplit(" ", 1)[1].isalnum()
    assert normalise_email(one) != normalise_email(other)
    assert normalise_email(one.upper()) == normalise_email(one)


def test_nfc_is_what_joins_combining_forms() -> None:
    decomposed = "jose\u0301@example.es"
    assert unicodedata.is_normalized("NFD", decomposed)
    assert normalise_email(decomposed) == "jos\u00e9@example.es"
