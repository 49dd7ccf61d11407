"""The domain's findings about a patient (a flag's or an alert's detail, why there is no
baseline or verdict) in the reader's language.

The domain says what it found as a catalogue message and its values (server/domain/said.py);
this words it, with the side effects it names in the reader's words too. An alert raised before
migrations/0029 has no finding, only its English detail: that is shown as it is.
"""

from __future__ import annotations

from server.domain.said import Said
from server.i18n import DEFAULT, current, gettext
from server.pwa.pages import SIDE_EFFECT_LABELS


def _names(names: str, language: str) -> str:
    """Side effects as the domain names them ("blurred vision, nausea"), in ``language``."""
    codes = [name.strip().replace(" ", "_") for name in names.split(",")]
    return ", ".join(
        gettext(language, SIDE_EFFECT_LABELS[code]).lower()
        if code in SIDE_EFFECT_LABELS
        else code.replace("_", " ")
        for code in codes
    )


def in_words(said: Said | None, english: str | None = None, language: str | None = None) -> str:
    """``said`` in ``language`` (the request's unless given); without it, ``english`` (the
    detail as stored) as it is, or nothing."""
    if said is None:
        return english or ""
    reader = language or current()
    if reader == DEFAULT:  # the domain's own words, side effects named by their codes
        return said.english
    return said.in_language(reader, lambda names: _names(names, reader))
