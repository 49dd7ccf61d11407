"""PHQ-9 and GAD-7 scoring, bands at every edge, and the item-9 safety rule."""

from __future__ import annotations

import pytest

from server.domain.instruments import (
    GAD7,
    INSTRUMENTS,
    PHQ9,
    Instrument,
    needs_safety_response,
    score,
)
from server.domain.safety import (
    NOT_MONITORED,
    clinic_phone_for,
    crisis_resources,
)
from server.errors import InvalidField


def answers_summing_to(instrument: Instrument, total: int, item9: int | None = None) -> list[int]:
    """Answers (each 0–3) adding up to ``total``, optionally with PHQ-9 item 9 fixed."""
    count = len(instrument.items)
    answers = [0] * count
    rest = total
    fixed = {} if item9 is None else {8: item9}
    for index, value in fixed.items():
        answers[index] = value
        rest -= value
    for index in range(count):
        if index in fixed:
            continue
        answers[index] = min(3, rest)
        rest -= answers[index]
    assert rest == 0 and sum(answers) == total
    return answers


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_band_edges(total: int, band: str) -> None:
    result = score(PHQ9, answers_summing_to(PHQ9, total))
    assert (result.total, result.band.id) == (total, band)


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_band_edges(total: int, band: str) -> None:
    result = score(GAD7, answers_summing_to(GAD7, total))
    assert (result.total, result.band.id) == (total, band)


def test_bands_cover_every_total_once() -> None:
    for instrument in INSTRUMENTS.values():
        covered = [t for band in instrument.bands for t in range(band.min, band.max + 1)]
        assert covered == list(range(instrument.max_total + 1))
        assert instrument.max_total == 3 * len(instrument.items)
        assert [o.value for o in instrument.options] == [0, 1, 2, 3]


@pytest.mark.parametrize(("item9", "expected"), [(0, False), (1, True), (2, True), (3, True)])
def test_phq9_item9_needs_safety(item9: int, expected: bool) -> None:
    answers = [1, 1, 1, 0, 0, 0, 0, 0, item9]
    assert answers[8] == item9
    assert needs_safety_response("phq9", answers) is expected


def test_gad7_never_needs_safety() -> None:
    assert not needs_safety_response("gad7", [3] * 7)


@pytest.mark.parametrize(
    ("instrument", "count"), [(PHQ9, 0), (PHQ9, 8), (PHQ9, 10), (GAD7, 6), (GAD7, 9)]
)
def test_wrong_answer_counts_are_refused(instrument: Instrument, count: int) -> None:
    with pytest.raises(InvalidField) as caught:
        score(instrument, [1] * count)
    assert caught.value.field == "answers"


@pytest.mark.parametrize("bad", [-1, 4])
def test_answers_out_of_range_are_refused(bad: int) -> None:
    with pytest.raises(InvalidField) as caught:
        score(PHQ9, [0, 0, bad, 0, 0, 0, 0, 0, 0])
    assert caught.value.field == "answers[2]"


def test_item_texts_are_the_published_ones() -> None:
    assert PHQ9.items[8].text.startswith("Thoughts that you would be better off dead")
    assert GAD7.items[0].text == "Feeling nervous, anxious, or on edge"
    assert len(PHQ9.items) == 9 and len(GAD7.items) == 7


def test_crisis_resources() -> None:
    safety = crisis_resources("+1 (555) 010-0200")
    hrefs = [r.href for r in safety.resources]
    assert hrefs == ["tel:988", "sms:988", "tel:911", "tel:+15550100200"]
    assert "not monitored around the clock" in safety.message
    assert safety.message == NOT_MONITORED
    assert [r.href for r in crisis_resources(None).resources] == ["tel:988", "sms:988", "tel:911"]


def test_own_clinic_phone_wins() -> None:
    assert clinic_phone_for("+1 555 0199", "+1 555 0100") == "+1 555 0199"
    assert clinic_phone_for(None, "+1 555 0100") == "+1 555 0100"
    assert clinic_phone_for("  ", "+1 555 0100") == "+1 555 0100"
    assert clinic_phone_for(None, None) is None
