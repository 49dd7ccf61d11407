"""Remission at 12 months (CMS159): the last PHQ-9 in 12 months ± 60 days after the index."""

from __future__ import annotations

from server.domain.scores import remission_at_12_months
from tests.helpers.records import day, phq9

BASELINE = phq9(0, 18)  # the index: eligible (≥ 10)


def test_unknown_until_the_window_opens() -> None:
    found, note = remission_at_12_months([BASELINE, phq9(200, 3)], BASELINE, day(304))
    assert found is None and note is not None and "not opened" in note


def test_the_last_phq9_in_the_window_decides() -> None:
    series = [BASELINE, phq9(305, 3), phq9(360, 6)]
    assert remission_at_12_months(series, BASELINE, day(400))[0] is False
    assert remission_at_12_months([BASELINE, phq9(305, 3)], BASELINE, day(305))[0] is True
    assert remission_at_12_months([BASELINE, phq9(425, 4)], BASELINE, day(500))[0] is True


def test_phq9s_outside_the_window_do_not_count() -> None:
    series = [BASELINE, phq9(304, 2), phq9(426, 2)]
    assert remission_at_12_months(series, BASELINE, day(420))[0] is None  # still open
    found, note = remission_at_12_months(series, BASELINE, day(500))
    assert found is False and note is not None and "counted as not in remission" in note


def test_no_figure_without_an_eligible_baseline() -> None:
    low = phq9(0, 8)
    assert remission_at_12_months([low, phq9(360, 2)], low, day(500)) == (None, None)
    assert remission_at_12_months([phq9(360, 2)], None, day(500)) == (None, None)
