"""The domain says what it found as a catalogue message and its values (server/domain/said.py);
the pages word it in the clinician's language (server/pwa/findings.py): in Spanish with its
numbers, days and side effects, joined parts each translated, in English word for word as the
domain has always written it. An alert without a finding (raised before migrations/0029) reads
in its stored English detail."""

from __future__ import annotations

import re

import msgspec
import pytest
from msgspec import structs

from server.domain import monitoring
from server.domain.alerts import item9_alert
from server.domain.said import Said
from server.i18n import gettext
from server.pwa.findings import in_words
from tests.helpers.records import at, checkin, day, infusion, phq9, summary


def _said(said: Said | None) -> Said:
    assert said is not None
    return said


def _flag(result_flags: list, kind: str, n: int) -> Said:  # type: ignore[type-arg]
    [found] = [f for f in result_flags if f.kind == kind and f.day == day(n)]
    assert found.said is not None and found.detail == found.said.english
    return found.said


def _examples() -> list[tuple[Said, str, str]]:
    checkins = [checkin(n, 5) for n in range(30) if n not in (12, 13, 14, 20, 21)]
    checkins.append(checkin(8, 5, [("vomiting", 3), ("nausea", 3)]))
    retracted = structs.replace(phq9(24, 18, item9=2), retracted_at=at(25))
    flags = summary(
        checkins,
        [phq9(1, 12), phq9(10, 13), retracted],
        [infusion(3)],
        first=0,
        last=29,
        today=40,
    ).flags
    counting = summary([checkin(n, 5) for n in range(10)], first=0, last=20, today=14).flags
    relapse = monitoring.relapses([phq9(1, 22), phq9(10, 11), phq9(20, 20)], at(3), None)
    moods = {day(n): 8.0 for n in range(28)} | {day(n): 5.0 for n in range(28, 35)}
    [drop] = monitoring.mood_drops(moods, day(0), day(40))
    severe = [checkin(n, 5, [("blurred_vision", 3), ("nausea", 3)]) for n in (5, 6)]
    [lasting] = monitoring.persisting_severe_effects(
        [(c.local_day, c.side_effects) for c in severe], [day(5)]
    )
    baseline = phq9(0, 15)
    return [
        (
            item9_alert(phq9(5, 17, item9=2)).said,
            "PHQ-9 item 9 (thoughts of death or self-harm) answered 2 of 3 (PHQ-9 total 17).",
            "Ítem 9 del PHQ-9 (pensamientos de muerte o de hacerse daño) respondido con 2 de 3 "
            "(PHQ-9 total 17).",
        ),
        (
            _flag(flags, "phq9_worse", 24),
            "PHQ-9 18: 6 above the baseline (12); 5 above the previous (13). The patient "
            "retracted this questionnaire; it is kept because it was answered.",
            "PHQ-9 18: 6 por encima del basal (12); 5 por encima del anterior (13). El paciente "
            "retiró este cuestionario; se conserva porque fue respondido.",
        ),
        (
            _flag(flags, "item9", 24),
            "PHQ-9 item 9 (thoughts of death or self-harm) answered 2 of 3. The patient "
            "retracted this questionnaire; it is kept because it was answered.",
            "Ítem 9 del PHQ-9 (pensamientos de muerte o de hacerse daño) respondido con 2 de 3. "
            "El paciente retiró este cuestionario; se conserva porque fue respondido.",
        ),
        (
            relapse[0].said,
            "PHQ-9 after a response: 20 is 10 or more; 9 above the lowest since treatment (11).",
            "PHQ-9 tras una respuesta: 20 es 10 o más; 9 por encima del mínimo desde el "
            "tratamiento (11).",
        ),
        (
            lasting.said,
            "Severe blurred vision, nausea, a second day in a row.",
            "Grave: visión borrosa, náuseas, por segundo día seguido.",
        ),
        (
            _flag(flags, "severe_side_effect", 8),
            "Severe nausea, vomiting.",
            "Grave: náuseas, vómitos.",
        ),
        (
            _flag(flags, "no_checkin", 12),
            "No check-in for 3 days (2025-03-13 to 2025-03-15).",
            "Sin registro durante 3 días (2025-03-13 a 2025-03-15).",
        ),
        (
            _flag(counting, "no_checkin", 10),
            "No check-in for 4 days (2025-03-11 to 2025-03-14, and counting).",
            "Sin registro durante 4 días (2025-03-11 a 2025-03-14, y sigue).",
        ),
        (
            drop.said,
            "Mood this week 5.9, 2.1 below the 4 weeks before (8.0).",
            "Ánimo esta semana 5.9, 2.1 por debajo de las 4 semanas previas (8.0).",
        ),
        (
            _said(summary(assessments=[phq9(0, 8)], infusions=[infusion(3)]).phq9.verdict_said),
            "baseline PHQ-9 below 10",
            "PHQ-9 basal por debajo de 10",
        ),
        (
            _said(
                summary(
                    assessments=[baseline, phq9(310, 4)], infusions=[infusion(3)], last=330
                ).phq9.remission_12_months_said
            ),
            "PHQ-9 4 on 2026-01-05, in the 12-month window (2025-12-31 to 2026-04-30)",
            "PHQ-9 4 el 2026-01-05, en la ventana de 12 meses (2025-12-31 a 2026-04-30)",
        ),
        (
            _said(
                summary(
                    assessments=[baseline], infusions=[infusion(3)], last=500
                ).phq9.remission_12_months_said
            ),
            "no PHQ-9 in the 12-month window (2025-12-31 to 2026-04-30): counted as not in "
            "remission",
            "ningún PHQ-9 en la ventana de 12 meses (2025-12-31 a 2026-04-30): cuenta como sin "
            "remisión",
        ),
        (
            _said(summary(assessments=[phq9(5, 15)], infusions=[infusion(3)]).phq9.baseline_said),
            "No PHQ-9 was taken before the first infusion (2025-03-04), so there is no baseline.",
            "No se hizo ningún PHQ-9 antes de la primera infusión (2025-03-04), así que no hay "
            "basal.",
        ),
    ]


EXAMPLES = _examples()


@pytest.mark.parametrize(("said", "english", "spanish"), EXAMPLES)
def test_a_finding_reads_in_english_as_written_and_in_spanish(
    said: Said, english: str, spanish: str
) -> None:
    assert said.english == english
    assert in_words(said, language="en") == english
    assert in_words(said, language="es") == spanish
    # Stored with an alert and read back, it is the same finding.
    assert msgspec.json.decode(msgspec.json.encode(said), type=Said) == said


def test_a_finding_without_its_message_reads_in_its_stored_english() -> None:
    # An alert raised before migrations/0029 has only its detail.
    assert in_words(None, "PHQ-9 12: 5 above the previous (7).", "es") == (
        "PHQ-9 12: 5 above the previous (7)."
    )
    assert in_words(None, None, "es") == ""


def test_every_message_the_domain_words_has_its_values_in_spanish() -> None:
    for said, _english, _spanish in EXAMPLES:
        for part in [said, *(p for v in said.params.values() if isinstance(v, list) for p in v)]:
            spanish = gettext("es", part.message)
            assert spanish != part.message or part.message.startswith("PHQ-9 {total}:")
            assert set(re.findall(r"\{(\w+)\}", spanish)) == set(part.params)
