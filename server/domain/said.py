"""What the domain found about a patient, as a catalogue message and its values, not as text.

A flag's or an alert's detail, and the notes on a score (why there is no baseline or verdict),
are worded where they are read: ``gettext(language, message).format(**params)``. A value that
is a list of ``Said`` is a part the domain joins, each worded in turn and joined with "; "
("PHQ-9 14: 6 above the baseline (8); 5 above the previous (9)."). ``english`` is the text the
domain used to write, word for word: the CSV export, FHIR and an alert's stored ``detail`` keep
it (push and email bodies carry none of it).
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from server.i18n import DEFAULT, gettext

PARTS_JOINED_BY = "; "


class Said(msgspec.Struct, frozen=True):
    """A catalogue message (marked with ``N_``) and the values of its ``{names}``."""

    message: str
    params: dict[str, str | int | float | list[Said]] = {}

    @property
    def english(self) -> str:
        """The sentence in English, as the domain has always written it."""
        return self.in_language(DEFAULT)

    def in_language(self, language: str, names: Callable[[str], str] | None = None) -> str:
        """The sentence in ``language``; ``names`` words a ``names`` value (side effects, as
        the domain names them) for that language, when the caller knows how."""
        values: dict[str, str | int | float] = {}
        for key, value in self.params.items():
            if isinstance(value, list):
                values[key] = PARTS_JOINED_BY.join(p.in_language(language, names) for p in value)
            elif key == "names" and names is not None and isinstance(value, str):
                values[key] = names(value)
            else:
                values[key] = value
        return gettext(language, self.message).format(**values)
