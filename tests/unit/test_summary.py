"""The summary's clinical numbers, each checked against a hand-computed expectation."""

from __future__ import annotations

from datetime import date

import pytest
from msgspec import structs

from server.domain.records import Assessment
from server.domain.scores import trend
from tests.helpers.records import at, checkin, day, gad7, infusion, phq9, summary

# --- baseline, change, response, remission ----------------------------------------------------


@pytest.mark.parametrize(
    ("latest", "change", "response", "remission"),
    [
        (10, -50.0, True, False),  # exactly half of 20 is a response
        (9, -55.0, True, False),
        (11, -45.0, False, False),
        (4, -80.0, True, True),  # below 5 is remission
        (5, -75.0, True, False),  # 5 is not below 5
        (20, 0.0, False, False),
    ],
)
def test_response_and_remission_against_a_baseline_of_20(
    latest: int, change: float, response: bool, remission: bool
) -> None:
    result = summary(assessments=[phq9(2, 20), phq9(40, latest)], infusions=[infusion(5)])
    p = result.phq9
    assert (p.baseline, p.baseline_day, p.latest, p.latest_day) == (20, day(2), latest, day(40))
    assert p.change_pct == change
    assert (p.response, p.remission) == (response, remission)
    assert p.baseline_note is None


def test_baseline_is_the_last_phq9_before_the_first_infusion_whatever_the_range() -> None:
    assessments = [
        phq9(1, 22),
        phq9(4, 18),  # the last one before the first infusion: the baseline
        phq9(5, 15, hour=16),  # same day, but after the session (14:00)
        phq9(30, 12),
    ]
    infusions = [infusion(5), infusion(8)]
    result = summary(assessments=assessments, infusions=infusions, first=20, last=40)
    assert (result.phq9.baseline, result.phq9.baseline_day) == (18, day(4))
    assert result.phq9.latest == 12
    assert result.phq9.change_pct == round((12 - 18) * 100 / 18, 1) == -33.3
    assert [p.total for p in result.phq9.series] == [12]


def test_no_phq9_before_the_first_infusion_means_no_baseline_said_plainly() -> None:
    result = summary(assessments=[phq9(10, 8)], infusions=[infusion(5)])
    p = result.phq9
    assert p.baseline is None and p.baseline_day is None
    assert p.change_pct is None
    assert (p.response, p.remission, p.partial_response) == (None, None, None)
    assert p.verdict_note == "no baseline PHQ-9 before the first infusion"
    assert p.baseline_note is not None
    assert "No PHQ-9 was taken before the first infusion (2025-03-06)" in p.baseline_note
    assert p.latest == 8
    assert trend(p) is None


def test_no_infusion_yet_means_no_baseline() -> None:
    # A planned infusion in the future and a cancelled one in the past are not given.
    infusions = [infusion(3, status="cancelled"), infusion(200, status="planned")]
    p = summary(assessments=[phq9(1, 15)], infusions=infusions).phq9
    assert p.baseline is None
    assert p.baseline_note == "No infusion has been given yet, so there is no baseline."


def test_a_past_planned_infusion_counts_as_given() -> None:
    p = summary(assessments=[phq9(1, 16), phq9(20, 8)], infusions=[infusion(3, "planned")]).phq9
    assert (p.baseline, p.latest, p.response) == (16, 8, True)


def test_latest_is_the_last_phq9_up_to_the_end_of_the_range() -> None:
    assessments = [phq9(1, 20), phq9(10, 14), phq9(50, 6)]
    p = summary(assessments=assessments, infusions=[infusion(3)], first=0, last=30).phq9
    assert (p.latest, p.latest_day, p.latest_band) == (14, day(10), "moderate")


def test_trend_words() -> None:
    def word(baseline: int, latest: int) -> str | None:
        return trend(
            summary(assessments=[phq9(1, baseline), phq9(20, latest)], infusions=[infusion(3)]).phq9
        )

    assert word(20, 4) == "remission"
    assert word(20, 10) == "response"
    assert word(20, 15) == "partial response"  # 25% down
    assert word(20, 16) == "no response"
    assert word(10, 15) == "worse"


def test_gad7_series_and_latest() -> None:
    result = summary(assessments=[gad7(2, 12), gad7(9, 9), gad7(70, 3)], last=30)
    assert [p.total for p in result.gad7.series] == [12, 9]
    assert result.gad7.latest == 9
    assert result.gad7.series[0].item9 is None


# --- daily mood -------------------------------------------------------------------------------


def test_daily_mood_is_the_mean_per_local_day_with_a_7_day_average() -> None:
    checkins = [checkin(0, 4), checkin(0, 6), checkin(1, 3), checkin(3, 8), checkin(9, 2)]
    result = summary(checkins, infusions=[infusion(3)], first=0, last=9)
    by_day = {m.day: m for m in result.mood}
    assert len(result.mood) == 10
    assert (by_day[day(0)].mood, by_day[day(0)].checkins) == (5.0, 2)
    assert by_day[day(2)].mood is None
    # The average needs 3 logged days in the window: day 0 (5), day 1 (3), day 3 (8).
    assert by_day[day(1)].average_7d is None
    assert by_day[day(3)].average_7d == round((5 + 3 + 8) / 3, 2) == 5.33
    # Day 9's window is days 3..9: only days 3 and 9 are logged.
    assert by_day[day(9)].average_7d is None
    assert by_day[day(3)].infusion is True
    assert [i.day for i in result.infusions] == [day(3)]


def test_the_7_day_average_looks_back_before_the_range() -> None:
    checkins = [checkin(n, 6) for n in range(10, 20)]
    result = summary(checkins, first=15, last=16)
    assert [m.average_7d for m in result.mood] == [6.0, 6.0]
    assert result.adherence.days_in_range == 2


# --- afterglow --------------------------------------------------------------------------------


def test_afterglow_on_a_designed_series() -> None:
    # Days 0..6 at 4 (pre-infusion level 4.0), infusion on day 7 (its own mood is ignored),
    # then 7, 6, no check-in, 5, and back to 4 on day 12: the last day above is day 11.
    moods = {0: 4, 1: 4, 2: 4, 3: 4, 4: 4, 5: 4, 6: 4, 7: 1, 8: 7, 9: 6, 11: 5, 12: 4, 13: 8}
    result = summary([checkin(n, m) for n, m in moods.items()], infusions=[infusion(7)])
    (glow,) = result.afterglow
    assert (glow.day, glow.pre_level, glow.days, glow.ended) == (day(7), 4.0, 4, "fell_back")


def test_afterglow_uses_the_mean_of_the_7_days_before() -> None:
    # Pre-infusion days 3..9: 3, 5, 4, 6 logged (mean 4.5); day 2's 9 is outside the window.
    moods = {2: 9, 3: 3, 5: 5, 7: 4, 9: 6, 11: 5, 12: 4}
    (glow,) = summary([checkin(n, m) for n, m in moods.items()], infusions=[infusion(10)]).afterglow
    assert glow.pre_level == 4.5
    assert (glow.days, glow.ended) == (1, "fell_back")  # day 11 (5 > 4.5), day 12 (4) back


def test_afterglow_stops_at_the_next_infusion() -> None:
    moods = {n: 3 for n in range(7)} | {8: 6, 9: 6, 11: 9, 12: 2}
    infusions = [infusion(7), infusion(10)]
    first_glow = summary([checkin(n, m) for n, m in moods.items()], infusions=infusions).afterglow[
        0
    ]
    assert (first_glow.days, first_glow.ended) == (2, "next_infusion")


def test_afterglow_back_on_the_first_day_is_zero_days() -> None:
    moods = {n: 5 for n in range(7)} | {8: 5, 9: 9}
    (glow,) = summary([checkin(n, m) for n, m in moods.items()], infusions=[infusion(7)]).afterglow
    assert (glow.days, glow.ended) == (0, "fell_back")


def test_afterglow_still_going_at_the_end_of_the_data() -> None:
    moods = {n: 3 for n in range(7)} | {8: 6, 9: 7}
    (glow,) = summary(
        [checkin(n, m) for n, m in moods.items()], infusions=[infusion(7)], last=20, today=9
    ).afterglow
    assert (glow.days, glow.ended) == (2, "ongoing")


def test_afterglow_needs_3_logged_days_before() -> None:
    moods = {4: 3, 6: 3, 8: 9}
    (glow,) = summary([checkin(n, m) for n, m in moods.items()], infusions=[infusion(7)]).afterglow
    assert (glow.pre_level, glow.days, glow.ended) == (None, None, "not_enough_data")


# --- side effects -----------------------------------------------------------------------------


def test_side_effects_by_frequency_worst_severity_and_day_since_infusion() -> None:
    checkins = [
        checkin(9, 5, [("headache", 1)]),  # before the first infusion: "none"
        checkin(10, 5, [("nausea", 2), ("dissociation", 2), ("nausea", 3)]),  # day 0
        checkin(11, 5, [("nausea", 1), ("headache", 2)]),  # day 1
        checkin(12, 5, [("nausea", 1)]),  # day 2
        checkin(14, 5),  # day 4: "3+"
        checkin(15, 5, [("headache", 1)]),  # day 5: "3+"
        checkin(16, 5, [("nausea", 2)]),  # day 0 of the second infusion
    ]
    effects = summary(checkins, infusions=[infusion(10), infusion(16)]).side_effects
    assert effects.checkins == 7
    assert effects.checkins_by_day == {"0": 2, "1": 1, "2": 1, "3+": 2, "none": 1}
    rows = {r.code: r for r in effects.rows}
    assert [r.code for r in effects.rows] == ["nausea", "headache", "dissociation"]
    nausea = rows["nausea"]
    assert (nausea.count, nausea.worst, nausea.share) == (4, 3, round(4 / 7, 3))
    assert nausea.by_day == {"0": 2, "1": 1, "2": 1, "3+": 0, "none": 0}
    assert rows["headache"].by_day == {"0": 0, "1": 1, "2": 0, "3+": 1, "none": 1}
    assert (rows["dissociation"].count, rows["dissociation"].worst) == (1, 2)


# --- adherence and flags ----------------------------------------------------------------------


def test_adherence_counts_logged_days_over_days_in_range() -> None:
    checkins = [checkin(n, 5) for n in (0, 1, 1, 2, 5, 9)]
    a = summary(checkins, first=0, last=9).adherence
    assert (a.days_logged, a.days_in_range, a.ratio) == (5, 10, 0.5)


def test_adherence_starts_when_the_patient_started_and_today_counts_once_logged() -> None:
    checkins = [checkin(n, 5) for n in (4, 5, 6)]
    a = summary(checkins, first=0, last=30, today=7, started=4).adherence
    assert (a.days_logged, a.days_in_range) == (3, 3)  # days 4..6: today (7) is not over yet
    a = summary([*checkins, checkin(7, 5)], first=0, last=30, today=7, started=4).adherence
    assert (a.days_logged, a.days_in_range, a.ratio) == (4, 4, 1.0)


def test_flags_with_their_dates() -> None:
    checkins = [checkin(n, 5) for n in range(30) if n not in (12, 13, 14, 20, 21)]
    checkins.append(checkin(8, 5, [("vomiting", 3), ("nausea", 3), ("headache", 1)]))
    checkins.append(checkin(9, 5, [("headache", 2)]))
    assessments = [
        phq9(1, 12),  # baseline (first infusion on day 3)
        phq9(10, 10),
        phq9(17, 15),  # 5 above the previous (10), 3 above the baseline: flagged
        phq9(24, 18, item9=1),  # 6 above the baseline, 3 above the previous; item 9
    ]
    result = summary(checkins, assessments, [infusion(3)], first=0, last=29, today=30)
    found = [(f.kind, f.day) for f in result.flags]
    assert found == [
        ("item9", day(24)),
        ("phq9_worse", day(24)),
        ("phq9_worse", day(17)),
        ("no_checkin", day(12)),  # days 12-14; the 2-day gap on days 20-21 is not a flag
        ("persisting_severe_effect", day(8)),  # 5 days after the infusion
        ("severe_side_effect", day(8)),
    ]
    details = {(f.kind, f.day): f.detail for f in result.flags}
    assert details[("phq9_worse", day(17))] == "PHQ-9 15: 5 above the previous (10)."
    assert details[("phq9_worse", day(24))] == "PHQ-9 18: 6 above the baseline (12)."
    assert details[("severe_side_effect", day(8))] == "Severe nausea, vomiting."
    assert details[("no_checkin", day(12))] == "No check-in for 3 days (2025-03-13 to 2025-03-15)."
    assert "1 of 3" in details[("item9", day(24))]


def test_a_gap_running_to_today_is_flagged_on_its_first_day() -> None:
    checkins = [checkin(n, 5) for n in range(10)]
    result = summary(checkins, first=0, last=20, today=14)
    assert [(f.kind, f.day) for f in result.flags] == [("no_checkin", day(10))]
    assert result.flags[0].detail.endswith("and counting).")
    assert result.last_checkin_day == day(9)


def test_the_previous_phq9_may_predate_the_range() -> None:
    result = summary(assessments=[phq9(1, 4), phq9(40, 10)], first=30, last=50, started=60)
    assert [(f.kind, f.day) for f in result.flags] == [("phq9_worse", day(40))]


def test_empty_ranges() -> None:
    result = summary(first=10, last=10, today=10)
    assert [m.mood for m in result.mood] == [None]
    assert result.phq9.latest is None and result.phq9.baseline is None
    assert (result.phq9.response, result.phq9.remission) == (None, None)
    assert result.phq9.series == [] and result.gad7.series == []
    assert result.side_effects.checkins == 0 and result.side_effects.rows == []
    assert result.afterglow == []
    # Today is not over, and nothing is logged: no day counts yet.
    assert (result.adherence.days_in_range, result.adherence.ratio) == (0, None)
    assert result.flags == []
    assert result.last_checkin_day is None


def test_a_range_before_the_patient_started_has_no_adherence_and_no_gaps() -> None:
    result = summary(first=0, last=29, started=40)
    assert result.adherence.ratio is None
    assert result.flags == []


def test_a_range_without_checkins_is_one_long_gap() -> None:
    result = summary(first=0, last=9, today=20)
    assert (result.adherence.days_logged, result.adherence.days_in_range) == (0, 10)
    assert [(f.kind, f.day) for f in result.flags] == [("no_checkin", day(0))]


# --- verdicts only against an eligible baseline (issue 13) -------------------------------------


def test_a_newcomer_with_a_phq9_of_3_and_no_infusion_is_not_in_remission() -> None:
    p = summary(assessments=[phq9(10, 3)]).phq9
    assert p.latest == 3
    assert (p.response, p.remission, p.partial_response, p.relapse) == (None, None, None, None)
    assert p.verdict_note == "no baseline PHQ-9 before the first infusion"
    assert trend(p) is None


@pytest.mark.parametrize(
    ("assessments", "note"),
    [
        ([phq9(1, 9), phq9(20, 2)], "baseline PHQ-9 below 10"),
        ([phq9(1, 20)], "no PHQ-9 since the first infusion"),
    ],
)
def test_no_verdict_without_an_eligible_baseline_and_a_phq9_since(
    assessments: list[Assessment], note: str
) -> None:
    p = summary(assessments=assessments, infusions=[infusion(3)]).phq9
    assert p.baseline is not None
    assert (p.response, p.remission) == (None, None)
    assert p.verdict_note == note


def test_the_baseline_is_taken_within_30_days_before_the_first_infusion() -> None:
    p = summary(assessments=[phq9(1, 20), phq9(40, 4)], infusions=[infusion(32)]).phq9
    assert p.baseline is None and (p.response, p.remission) == (None, None)
    assert p.baseline_note is not None and "more than 30 days before it" in p.baseline_note


def test_partial_response_and_relapse_are_verdicts_too() -> None:
    p = summary(assessments=[phq9(1, 20), phq9(20, 15)], infusions=[infusion(3)]).phq9
    assert (p.response, p.partial_response, p.relapse) == (False, True, False)
    series = [phq9(1, 20), phq9(10, 3), phq9(17, 6), phq9(24, 9)]
    result = summary(assessments=series, infusions=[infusion(3)])
    assert result.phq9.relapse is True and result.trend == "relapse"
    assert [(f.kind, f.day) for f in result.flags if f.kind == "relapse"] == [("relapse", day(24))]


def test_a_retracted_phq9_is_shown_and_keeps_its_flags_but_counts_for_nothing_else() -> None:
    retracted = structs.replace(phq9(20, 4, item9=1), retracted_at=at(21))
    result = summary(assessments=[phq9(1, 20), phq9(10, 12), retracted], infusions=[infusion(3)])
    p = result.phq9
    assert (p.latest, p.latest_day, p.response) == (12, day(10), False)
    assert [(s.total, s.retracted_at) for s in p.series] == [(20, None), (12, None), (4, at(21))]
    [item9] = [f for f in result.flags if f.kind == "item9"]
    assert item9.day == day(20) and "retracted" in item9.detail
    first_day = summary(assessments=[retracted, phq9(30, 9)], infusions=[infusion(3)])
    assert first_day.phq9.baseline is None  # a retracted PHQ-9 is never the baseline


def test_item9_flags_come_first_whatever_their_day() -> None:
    checkins = [checkin(n, 5, [("nausea", 3)]) for n in range(5, 12)]
    result = summary(checkins, [phq9(2, 12, item9=2)], first=0, last=11, today=12, started=0)
    assert result.flags[0].kind == "item9" and result.flags[0].day == day(2)
    assert [f.day for f in result.flags[1:3]] == [day(11), day(11)]  # then the newest


def test_a_mood_drop_is_found_with_the_weeks_before_the_range() -> None:
    checkins = [checkin(n, 7) for n in range(0, 40)] + [checkin(n, 3) for n in range(40, 47)]
    result = summary(checkins, first=40, last=46, today=47, started=0)
    assert [(f.kind, f.day) for f in result.flags] == [("mood_drop", day(43))]


def test_phq9_overdue_is_dated_today_and_only_in_a_range_holding_today() -> None:
    def overdue(first: int, last: int) -> list[tuple[str, date]]:
        result = summary(
            assessments=[phq9(1, 16), phq9(5, 14)],
            infusions=[infusion(3)],
            first=first,
            last=last,
            today=30,
            started=0,
        )
        return [(f.kind, f.day) for f in result.flags if f.kind == "phq9_overdue"]

    assert overdue(20, 30) == [("phq9_overdue", day(30))]
    assert overdue(10, 20) == []
