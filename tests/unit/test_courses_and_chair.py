"""The pure rules of infusion day (issue 16): the sessions a plan makes, each course's own
baseline and verdicts, the chair record's ranges and dose, the ride's words on the schedule and
the companion's sentence."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4
from zoneinfo import ZoneInfo

import msgspec
import pytest

from server.domain.chair import (
    DEFAULT_LIMITS,
    ClinicLimits,
    OutOfRange,
    SessionRecord,
    SessionRecordIn,
    Vitals,
    VitalSigns,
    bp_warning,
    check_record,
    session_lines,
)
from server.domain.companions import Checklist, CompanionLink, CompanionView, question, ride_state
from server.domain.courses import Course, CoursePlan, outcomes, progress, session_times
from server.domain.mail import health_words
from server.domain.records import Infusion
from server.errors import InvalidField
from tests.helpers.records import NOW, PATIENT, at, day, phq9

NEW_YORK = ZoneInfo("America/New_York")


def _course(kind: str = "induction", first: int = 0, sessions: int = 6) -> Course:
    return Course(
        id=uuid4(),
        patient_id=PATIENT,
        kind=kind,  # type: ignore[arg-type]
        drug="iv_ketamine",
        sessions=sessions,
        every_days=2,
        first_at=at(first, 14),
        duration_minutes=60,
        planned_by=None,
        created_at=at(first - 7),
    )


def _session(course: Course, n: int, status: str = "planned") -> Infusion:
    return Infusion(
        id=uuid4(),
        patient_id=PATIENT,
        scheduled_at=at(n, 14),
        local_day=day(n),
        duration_minutes=60,
        status=status,  # type: ignore[arg-type]
        updated_at=at(n, 14),
        course_id=course.id,
    )


def test_sessions_keep_their_wall_clock_time_across_a_dst_change() -> None:
    # 2025-03-07 is a Friday; the US springs forward on Sunday 2025-03-09.
    first = datetime(2025, 3, 7, 10, tzinfo=NEW_YORK)
    plan = CoursePlan(
        kind="induction", drug="iv_ketamine", sessions=6, every_days=2, first_at=first
    )
    times = [t.astimezone(NEW_YORK) for t in session_times(plan, NEW_YORK)]
    assert [t.date().isoformat() for t in times] == [
        "2025-03-07",
        "2025-03-10",  # Sunday the 9th moves to Monday, and the spacing counts on from it
        "2025-03-12",
        "2025-03-14",
        "2025-03-17",  # Sunday the 16th
        "2025-03-19",
    ]
    assert {(t.hour, t.minute) for t in times} == {(10, 0)}
    every_day = msgspec.structs.replace(plan, weekdays_only=False, every_days=1, sessions=3)
    assert [t.astimezone(NEW_YORK).day for t in session_times(every_day, NEW_YORK)] == [7, 8, 9]


def test_session_n_of_total_counts_what_is_not_cancelled() -> None:
    course = _course()
    sessions = [_session(course, n) for n in (0, 2, 4, 6, 8, 10)]
    sessions[1] = msgspec.structs.replace(sessions[1], status="cancelled")
    shown = progress(course, sessions, at(5, 12))
    assert (shown.total, shown.given, shown.next_number) == (5, 2, 3)
    assert shown.next_id == sessions[3].id


def test_each_course_has_its_own_baseline_and_verdicts() -> None:
    induction = _course("induction", first=0)
    again = _course("reinduction", first=40, sessions=3)
    infusions = [_session(induction, n) for n in (0, 2, 4, 6, 8, 10)]
    infusions += [_session(again, n) for n in (40, 42, 44)]
    phq9s = [phq9(-3, 21), phq9(14, 9), phq9(30, 18), phq9(38, 17), phq9(50, 4)]
    newest, oldest = outcomes([induction, again], infusions, phq9s, as_of=NOW, today=day(92))
    assert newest.course is again and newest.current and not oldest.current
    assert (newest.phq9.baseline, newest.phq9.latest) == (17, 4)  # its own: day 38, not day -3
    assert newest.phq9.remission and newest.phq9.response
    assert (oldest.phq9.baseline, oldest.phq9.latest) == (21, 17)  # up to the re-induction
    assert oldest.phq9.response is False and oldest.phq9.relapse is True
    assert (oldest.first_day, oldest.last_day) == (day(0), day(10))


def test_a_course_without_a_phq9_in_the_30_days_before_has_no_verdict() -> None:
    course = _course(first=0)
    [only] = outcomes(
        [course],
        [_session(course, 0)],
        [phq9(-31, 20), phq9(10, 3)],
        as_of=NOW,
        today=day(92),
    )
    assert only.phq9.baseline is None and only.phq9.remission is None
    assert only.phq9.baseline_note and "30 days" in only.phq9.baseline_note


def _record(**fields: object) -> SessionRecordIn:
    return msgspec.convert({"drug": "iv_ketamine", **fields}, SessionRecordIn)


@pytest.mark.parametrize(
    ("vitals", "field"),
    [
        ({"systolic": 59, "diastolic": 40, "heart_rate": 70}, "before.systolic"),
        ({"systolic": 261, "diastolic": 90, "heart_rate": 70}, "before.systolic"),
        ({"systolic": 120, "diastolic": 29, "heart_rate": 70}, "before.diastolic"),
        ({"systolic": 200, "diastolic": 161, "heart_rate": 70}, "before.diastolic"),
        ({"systolic": 120, "diastolic": 80, "heart_rate": 29}, "before.heart_rate"),
        ({"systolic": 120, "diastolic": 80, "heart_rate": 221}, "before.heart_rate"),
    ],
)
def test_every_vital_out_of_range_is_named(vitals: dict[str, int], field: str) -> None:
    with pytest.raises(OutOfRange) as refused:
        check_record(_record(before=vitals), DEFAULT_LIMITS)
    assert refused.value.field == field and refused.value.status == 422


def test_a_ketamine_dose_is_by_weight_within_the_clinics_limits() -> None:
    done = check_record(_record(weight_kg=80, dose_mg_per_kg=0.5), DEFAULT_LIMITS)
    assert (done.dose_mg_per_kg, done.dose_mg) == (0.5, 40.0)
    done = check_record(_record(weight_kg=80, dose_mg=60), DEFAULT_LIMITS)
    assert (done.dose_mg_per_kg, done.dose_mg) == (0.75, 60)
    for fields, field in (
        ({"weight_kg": 80, "dose_mg_per_kg": 1.2}, "dose_mg_per_kg"),
        ({"weight_kg": 29, "dose_mg_per_kg": 0.5}, "weight_kg"),
        ({"weight_kg": 301}, "weight_kg"),
    ):
        with pytest.raises(OutOfRange) as refused:
            check_record(_record(**fields), DEFAULT_LIMITS)
        assert refused.value.field == field
    with pytest.raises(InvalidField) as missing:
        check_record(_record(dose_mg_per_kg=0.5), DEFAULT_LIMITS)
    assert missing.value.field == "weight_kg"
    stricter = ClinicLimits(ketamine_mg_per_kg=(0.2, 0.75))
    with pytest.raises(OutOfRange):
        check_record(_record(weight_kg=80, dose_mg_per_kg=0.8), stricter)


def test_esketamine_comes_in_fixed_doses() -> None:
    ok = check_record(_record(drug="intranasal_esketamine", dose_mg=56), DEFAULT_LIMITS)
    assert (ok.dose_mg, ok.dose_mg_per_kg) == (56, None)
    with pytest.raises(OutOfRange) as refused:
        check_record(_record(drug="intranasal_esketamine", dose_mg=60), DEFAULT_LIMITS)
    assert refused.value.field == "dose_mg"


def _stored(before: Vitals | None, during: Vitals | None = None) -> SessionRecord:
    return SessionRecord(
        infusion_id=uuid4(),
        patient_id=PATIENT,
        drug="iv_ketamine",
        started_at=None,
        ended_at=None,
        weight_kg=80,
        dose_mg_per_kg=0.5,
        dose_mg=40,
        vitals=VitalSigns(before=before, during=during),
        dissociation=4,
        feeling=7,
        feeling_note=None,
        adverse_events=(),
        discharged_at=None,
        left_with=None,
        recorded_by=None,
        updated_at=NOW,
    )


def test_blood_pressure_above_the_threshold_before_dosing_warns() -> None:
    assert (
        bp_warning(_stored(Vitals(systolic=140, diastolic=90, heart_rate=70)), DEFAULT_LIMITS)
        is None
    )
    high = bp_warning(_stored(Vitals(systolic=150, diastolic=85, heart_rate=70)), DEFAULT_LIMITS)
    assert high and "150/85" in high and "140/90" in high
    assert bp_warning(_stored(Vitals(systolic=130, diastolic=95, heart_rate=70)), DEFAULT_LIMITS)
    assert bp_warning(_stored(None), DEFAULT_LIMITS) is None


def test_a_session_line_shows_the_peak_and_the_days_after() -> None:
    record = _stored(
        Vitals(systolic=128, diastolic=80, heart_rate=70),
        Vitals(systolic=152, diastolic=94, heart_rate=88),
    )
    [line] = session_lines(
        [(record, date(2025, 3, 1))], {date(2025, 3, 2): 7.0, date(2025, 3, 4): 6.5}, DEFAULT_LIMITS
    )
    assert (line.bp_before, line.bp_peak, line.bp_discharge) == ("128/80", "152/94", None)
    assert line.mood_after == (7.0, None, 6.5) and line.warning is None


def _link(answer: str | None) -> CompanionLink:
    return CompanionLink(
        id=uuid4(),
        infusion_id=uuid4(),
        patient_id=PATIENT,
        name="Ana",
        email="ana@example.org",
        expires_at=NOW,
        revoked_at=None,
        answer=answer,  # type: ignore[arg-type]
        answered_at=None if answer is None else NOW,
        created_at=NOW,
    )


def test_the_schedule_says_how_the_patient_gets_home() -> None:
    def checklist(ride: str, link: CompanionLink | None = None) -> Checklist:
        return Checklist(
            infusion_id=uuid4(),
            ride=ride,  # type: ignore[arg-type]
            instructions_read=True,
            message=None,
            home_safely=None,
            companion=link,
        )

    assert ride_state(None) == "ride: not arranged"
    assert ride_state(checklist("rideshare")) == "ride: rideshare"
    assert ride_state(checklist("person", _link("yes"))) == "ride: confirmed by Ana"
    assert ride_state(checklist("person", _link(None))) == "ride: asked Ana, no answer yet"
    assert "not arranged" in ride_state(checklist("person", _link("no")))


def test_the_companions_question_says_nothing_about_health() -> None:
    view = CompanionView(
        state="open",
        companion="Ana",
        patient="Maria",
        clinic="Riverside Clinic",
        scheduled_at=datetime(2025, 3, 7, 15, tzinfo=UTC),
        timezone="America/New_York",
        answer=None,
    )
    text = question(view)
    assert text == (
        "Maria asked you to drive them home from their appointment at Riverside Clinic on "
        "Friday 7 March 2025 at 10:00. Can you?"
    )
    assert health_words(text) == []
