"""The domain's sentences about a patient, in the clinician's language (server/pwa/findings.py):
each one the table knows reads in Spanish with its numbers and days, joined parts each
translated, English untouched, and an unknown sentence left as written. Each sentence of the
table is still one the domain writes (its fixed words are in server/domain/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.pwa.findings import SENTENCES, in_words

DOMAIN = "\n".join(
    p.read_text() for p in (Path(__file__).resolve().parents[2] / "server" / "domain").glob("*.py")
)
EXAMPLES = [
    (
        "PHQ-9 item 9 (thoughts of death or self-harm) answered 2 of 3 (PHQ-9 total 17).",
        "Ítem 9 del PHQ-9 (pensamientos de muerte o de hacerse daño) respondido con 2 de 3 "
        "(PHQ-9 total 17).",
    ),
    (
        "PHQ-9 18: 6 above the baseline (12); 5 above the previous (13). The patient retracted "
        "this questionnaire; it is kept because it was answered.",
        "PHQ-9 18: 6 por encima del basal (12); 5 por encima del anterior (13). El paciente "
        "retiró este cuestionario; se conserva porque fue respondido.",
    ),
    (
        "PHQ-9 after a response: 20 is 20 or more; 9 above the lowest since treatment (11).",
        "PHQ-9 tras una respuesta: 20 es 20 o más; 9 por encima del mínimo desde el tratamiento "
        "(11).",
    ),
    (
        "Severe blurred vision, nausea, a second day in a row.",
        "Grave: visión borrosa, náuseas, por segundo día seguido.",
    ),
    (
        "No check-in for 5 days (2026-01-02 to 2026-01-06, and counting).",
        "Sin registro durante 5 días (2026-01-02 a 2026-01-06, y sigue).",
    ),
    (
        "Mood this week 4.2, 2.1 below the 4 weeks before (6.3).",
        "Ánimo esta semana 4.2, 2.1 por debajo de las 4 semanas previas (6.3).",
    ),
    ("baseline PHQ-9 below 10", "PHQ-9 basal por debajo de 10"),
    # CMS159's remission at 12 months, on the summary (server/domain/scores.py).
    (
        "PHQ-9 4 on 2026-03-02, in the 12-month window (2026-01-01 to 2026-05-01)",
        "PHQ-9 4 el 2026-03-02, en la ventana de 12 meses (2026-01-01 a 2026-05-01)",
    ),
    (
        "no PHQ-9 in the 12-month window (2026-01-01 to 2026-05-01): counted as not in remission",
        "ningún PHQ-9 en la ventana de 12 meses (2026-01-01 a 2026-05-01): cuenta como sin "
        "remisión",
    ),
    (
        "no PHQ-9 yet in the 12-month window (2026-01-01 to 2026-05-01)",
        "aún no hay PHQ-9 en la ventana de 12 meses (2026-01-01 a 2026-05-01)",
    ),
    (
        "the 12-month window (2026-01-01 to 2026-05-01) has not opened yet",
        "la ventana de 12 meses (2026-01-01 a 2026-05-01) aún no se ha abierto",
    ),
]


@pytest.mark.parametrize(("english", "spanish"), EXAMPLES)
def test_a_domain_sentence_reads_in_spanish(english: str, spanish: str) -> None:
    assert in_words(english, "es") == spanish
    assert in_words(english, "en") == english


def test_an_unknown_sentence_stays_as_written() -> None:
    assert in_words("Something the table does not know.", "es") == (
        "Something the table does not know."
    )
    assert in_words(None, "es") == in_words("", "es") == ""


@pytest.mark.parametrize(("source", "message"), SENTENCES)
def test_each_sentence_is_one_the_domain_writes(source: str, message: str) -> None:
    # Its longest run of fixed words (between the values) appears in the domain's code.
    fixed = max(re.split(r"\{\w+\}", message), key=len).strip(" .:(),")
    assert fixed in DOMAIN, f"{message!r}: the domain no longer says {fixed!r}"
