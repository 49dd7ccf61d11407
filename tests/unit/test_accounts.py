"""The rules for the values a person chooses for their account: emails kept in one plain form
(no lookalike twin of an account) and names shown as typed, without invisible characters."""

from __future__ import annotations

import pytest

from server.domain.accounts import check_display_name, normalise_email
from server.errors import InvalidField


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("  pat@example.org ", "pat@example.org"),
        ("ｐａｔ＠ｅｘａｍｐｌｅ．ｏｒｇ", "pat@example.org"),  # fullwidth forms
        ("paﬁ@example.org", "pafi@example.org"),  # a ligature
        ("Pat@Example.org", "Pat@Example.org"),  # case is the store's to fold
        ("zoë@example.org", "zoë@example.org"),
        ("zoe\u0308@example.org", "zoë@example.org"),  # e and a combining diaeresis
    ],
)
def test_an_email_is_kept_in_its_plain_form(typed: str, kept: str) -> None:
    assert normalise_email(typed) == kept


@pytest.mark.parametrize(
    "typed",
    [
        "a\u200b@example.com",  # zero-width space
        "a\u200d@example.com",  # zero-width joiner
        "\ufeffa@example.com",  # byte order mark
        "a\u2060@example.com",  # word joiner
        "soft\u00adhyphen@example.org",
        "a\u202e@example.org",  # right-to-left override
        "a\u2066b\u2069@example.org",  # bidi isolates
        "a\u200f@example.org",  # right-to-left mark
        "a\x01@example.org",
        "a\ue000@example.org",  # private use
    ],
)
def test_an_email_with_invisible_characters_is_refused(typed: str) -> None:
    with pytest.raises(InvalidField) as refused:
        normalise_email(typed)
    assert refused.value.field == "email"


@pytest.mark.parametrize("typed", ["no-at-sign", "@example.org", "a@localhost", "a b@example.org"])
def test_an_email_needs_an_address_shape(typed: str) -> None:
    with pytest.raises(InvalidField):
        normalise_email(typed)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("  Zoë 🌅  Ñuñez  ", "Zoë 🌅 Ñuñez"),
        ("Dr\u200b. Smith", "Dr. Smith"),
        ("\u202eSmith\u202c", "Smith"),
        ("Sam\u2066\u2069 Lee\x07", "Sam Lee"),
        ("tab\tand\nnewline", "tab and newline"),
        ("\ufeffMaya", "Maya"),
        ("مهر\u200cناز", "مهر\u200cناز"),  # Persian needs its zero-width non-joiner
        ("👩\u200d⚕️ Lena", "👩\u200d⚕️ Lena"),  # an emoji sequence keeps its joiner
    ],
)
def test_a_name_is_shown_without_invisible_characters(typed: str, shown: str) -> None:
    assert check_display_name(typed) == shown


@pytest.mark.parametrize("typed", ["", "   ", "\u200b\u202e", "\x00\x01"])
def test_a_name_of_nothing_visible_is_refused(typed: str) -> None:
    with pytest.raises(InvalidField) as refused:
        check_display_name(typed)
    assert refused.value.field == "display_name"
