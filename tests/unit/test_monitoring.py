"""The monitoring rules at their edges (server/domain/monitoring.py)."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from msgspec import structs

from server.domain.monitoring import (
    Progress,
    checkin_watched,
    eligible_baseline,
    in_course,
    mood_drops,
    persisting_severe_effects,
    phq9_overdue,
    relapses,
)
from server.domain.records import SideEffect
from tests.helpers.records import at, checkin, day, infusion, phq9

FIRST = at(10, 14)  # the first infusion, day 10 at 14:00


def test_the_baseline_is_the_last_phq9_in_the_30_days_before_the_first_infusion() -> None:
    baseline = eligible_baseline([phq9(-25, 18), phq9(5, 16)], FIRST)
    assert baseline is not None and baseline.total == 16
    assert eligible_baseline([phq9(-25, 18)], FIRST) is None  # 35 days before
    assert eligible_baseline([phq9(5, 9)], FIRST) is None  # below 10: no verdict possible
    assert eligible_baseline([phq9(5, 10)], FIRST) is not None
    assert eligible_baseline([phq9(5, 16)], None) is None  # no infusion yet


def test_a_series_rising_after_remission_flags_relapse_where_it_rises_by_5() -> None:
    series = [phq9(5, 18), phq9(20, 3), phq9(27, 6), phq9(34, 9), phq9(41, 12)]
    found = relapses(series, FIRST)
    assert [f.day for f in found] == [day(34), day(41)]
    assert "6 above the lowest since treatment (3)" in found[0].detail


@pytest.mark.parametrize(("score", "relapse"), [(7, False), (8, True)])
def test_a_rise_of_4_from_the_best_is_not_a_relapse_and_5_is(score: int, relapse: bool) -> None:
    # Baseline 20, remission at 3 (the best), then 7 (+4) or 8 (+5), both under 10.
    series = [phq9(5, 20), phq9(20, 3), phq9(30, score)]
    assert bool(relapses(series, FIRST)) is relapse


@pytest.mark.parametrize(("score", "relapse"), [(9, False), (10, True)])
def test_after_a_response_9_is_not_a_relapse_and_10_is(score: int, relapse: bool) -> None:
    # Baseline 24, response at 8 (≤ 12), lowest 8: 9 and 10 are under 5 above it.
    series = [phq9(5, 24), phq9(20, 8), phq9(30, score)]
    assert bool(relapses(series, FIRST)) is relapse


def test_no_relapse_without_a_response_or_an_eligible_baseline() -> None:
    assert relapses([phq9(5, 20), phq9(20, 15), phq9(30, 21)], FIRST) == []  # never responded
    assert relapses([phq9(5, 8), phq9(20, 2), phq9(30, 12)], FIRST) == []  # baseline under 10
    assert relapses([phq9(20, 2), phq9(30, 12)], FIRST) == []  # no baseline at all


def _moods(week: list[float | None], before: float, before_days: int) -> dict[date, float]:
    """Days 40..46 are the week; ``before_days`` of days 12..39 are logged at ``before``."""
    moods: dict[date, float] = {day(39 - i): before for i in range(before_days)}
    for offset, mood in enumerate(week):
        if mood is not None:
            moods[day(40 + offset)] = mood
    return moods


@pytest.mark.parametrize(("logged", "found"), [(4, False), (5, True)])
def test_a_mood_drop_needs_5_logged_days_in_the_week(logged: int, found: bool) -> None:
    week: list[float | None] = [None] * (7 - logged) + [4.0] * logged
    moods = _moods(week, before=7.0, before_days=28)
    assert bool(mood_drops(moods, day(40), day(46))) is found


def test_a_mood_drop_is_2_points_below_the_4_weeks_before_with_14_of_them_logged() -> None:
    assert mood_drops(_moods([5.0] * 7, before=7.0, before_days=28), day(46), day(46))
    assert not mood_drops(_moods([5.1] * 7, before=7.0, before_days=28), day(46), day(46))
    assert not mood_drops(_moods([4.0] * 7, before=7.0, before_days=13), day(46), day(46))


def test_a_mood_drop_is_found_on_the_day_it_starts_not_every_day_after() -> None:
    moods = _moods([2.0] * 7, before=7.0, before_days=28)
    moods.update({day(47): 2.0, day(48): 2.0})
    found = mood_drops(moods, day(40), day(48))
    # Day 41's week holds five days at 7 and two at 2 (a drop of 1.4); day 42's, four and three
    # (a drop of 2.1): the drop starts there and is not found again while it lasts.
    assert [f.day for f in found] == [day(42)]


def test_phq9_is_overdue_after_14_days_during_a_course() -> None:
    given = [infusion(10), infusion(13)]
    series = [phq9(5, 18), phq9(20, 12)]
    assert phq9_overdue(series, given, day(34)) is None  # 14 days: not yet
    assert phq9_overdue(series, given, day(35)) is not None
    assert phq9_overdue(series, given, day(13 + 91)) is None  # the course ended 90 days after
    assert phq9_overdue(series, [], day(35)) is None  # no treatment yet
    assert in_course(given, day(13 + 90))


def test_a_severe_side_effect_persists_on_the_second_day_or_two_days_after_an_infusion() -> None:
    nausea = [SideEffect("nausea", 3)]
    infusions = [day(10)]
    assert persisting_severe_effects([(day(10), nausea), (day(11), [])], infusions) == []
    two_days = persisting_severe_effects([(day(10), nausea), (day(11), nausea)], infusions)
    assert [f.day for f in two_days] == [day(11)]
    late = persisting_severe_effects([(day(12), nausea)], infusions)
    assert [f.day for f in late] == [day(12)]
    mild = persisting_severe_effects([(day(12), [SideEffect("nausea", 2)])], infusions)
    assert mild == []


def test_the_relapse_rule_reads_the_phq9s_before_a_point_as_their_lowest_only() -> None:
    # What the clinician's list does: the PHQ-9s since the first infusion before its window are
    # known by their lowest; the rule must find exactly what it finds from every PHQ-9.
    series = [phq9(5, 20), phq9(12, 8), phq9(19, 3), phq9(26, 6), phq9(33, 9), phq9(40, 12)]
    everything = relapses(series, FIRST)
    for cut in range(1, len(series)):
        before = [a.total for a in series[1:cut] if a.taken_at >= FIRST]
        progress = Progress(until=series[cut].taken_at, lowest=min(before, default=None))
        since_cut = [f for f in everything if f.day >= series[cut].local_day]
        assert relapses([series[0], *series[cut:]], FIRST, progress) == since_cut, cut


def test_a_retracted_phq9_counts_for_no_baseline_response_or_relapse() -> None:
    retracted = structs.replace(phq9(5, 18), retracted_at=at(6))
    assert eligible_baseline([retracted], FIRST) is None
    assert eligible_baseline([phq9(4, 16), retracted], FIRST) is not None  # the one before
    low = structs.replace(phq9(20, 2), retracted_at=at(21))
    assert relapses([phq9(5, 20), low, phq9(30, 12)], FIRST) == []  # never responded
    given = [infusion(10)]
    assert phq9_overdue(
        [phq9(5, 18), structs.replace(phq9(30, 9), retracted_at=at(31))], given, day(35)
    )


@pytest.mark.parametrize(
    ("mood", "effects", "watched"),
    [
        (6, [], False),
        (5, [], True),
        (9, [SideEffect("nausea", 2)], False),
        (9, [SideEffect("nausea", 3)], True),
    ],
)
def test_a_checkin_is_watched_at_a_low_mood_or_a_severe_side_effect(
    mood: int, effects: list[SideEffect], watched: bool
) -> None:
    assert checkin_watched(checkin(3, mood, [(e.code, e.severity) for e in effects])) is watched


def _drop_by_the_definition(moods: dict[date, float], d: date) -> bool:
    week = [moods[x] for n in range(7) if (x := d - timedelta(days=n)) in moods]
    before = [moods[x] for n in range(7, 35) if (x := d - timedelta(days=n)) in moods]
    if len(week) < 5 or len(before) < 14:
        return False
    # Exact arithmetic: the definition, not one order of float additions.
    exact_week = sum(map(Fraction, week)) / len(week)
    exact_before = sum(map(Fraction, before)) / len(before)
    return exact_before - exact_week >= 2


@given(
    st.lists(
        st.one_of(st.none(), st.sampled_from([0.0, 1 / 3, 2.5, 10 / 3, 5.0, 7.0, 23 / 3, 10.0])),
        min_size=120,
        max_size=120,
    )
)
def test_mood_drops_are_found_where_the_definition_says(values: list[float | None]) -> None:
    # The running totals only skip work: every start they find, and only those, is a day
    # where the rule holds and did not hold the day before, day by day from the definition.
    moods = {day(n): v for n, v in enumerate(values) if v is not None}
    first, last = day(40), day(119)
    expected = [
        day(n)
        for n in range(40, 120)
        if _drop_by_the_definition(moods, day(n)) and not _drop_by_the_definition(moods, day(n - 1))
    ]
    assert [f.day for f in mood_drops(moods, first, last)] == expected
