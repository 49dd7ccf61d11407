"""Share codes: enough randomness, an alphabet that survives being read aloud, forgiving input."""

from __future__ import annotations

import math
import re

import pytest

from server.domain.sharing import ALPHABET, CODE_LENGTH, code_hash, new_code, normalise_code
from server.errors import InvalidField


def test_codes_carry_at_least_40_bits_in_an_unambiguous_alphabet() -> None:
    assert CODE_LENGTH * math.log2(len(ALPHABET)) >= 40
    assert len(set(ALPHABET)) == 32 and not set("ILOU") & set(ALPHABET)
    codes = {new_code() for _ in range(500)}
    assert len(codes) == 500
    for code in codes:
        assert re.fullmatch(
            r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{2}", code
        )


def test_typing_is_forgiving_the_crockford_way() -> None:
    assert normalise_code("7kq2 m9xd 4r") == "7KQ2M9XD4R"
    assert normalise_code("  O1IL-ABCD-EF ") == "0111ABCDEF"
    assert code_hash("7KQ2-M9XD-4R") == code_hash("7kq2m9xd4r")
    assert code_hash("0000-0000-01") == code_hash("oooo-OOOO-OI")


@pytest.mark.parametrize(
    "typed", ["", "7KQ2-M9XD", "7KQ2-M9XD-4R-1", "UUUU-UUUU-UU", "7KQ2-M9XD-4*"]
)
def test_malformed_codes_name_the_field(typed: str) -> None:
    with pytest.raises(InvalidField) as caught:
        normalise_code(typed)
    assert caught.value.field == "code"
