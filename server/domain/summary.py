"""The summary a psychiatrist reads before a session: pure functions from the patient's log.

Definitions (each is what the numbers on the page mean; check them here):

- Range: local days ``first``..``last`` inclusive, in the patient's time zone.
- Given infusion: not cancelled and scheduled at or before ``as_of`` (a past "planned" infusion is
  taken as given: patients often do not come back to mark it completed). The SQL in
  ``server/store/summary.py`` mirrors this rule.
- Daily mood: the mean of that local day's check-in moods (0 worst – 10 best). The 7-day average
  of day d is the mean of the daily means of d-6..d, shown once at least 3 of those 7 days have a
  check-in.
- Baseline, latest, change, response, remission, partial response, relapse, and retracted
  questionnaires: see ``server/domain/scores.py``.
- Side effects and afterglow: see ``server/domain/infusion_effects.py``.
- Notes: the check-ins in the range with a note or an "Other" side effect's words, newest first,
  each with the days since the last given infusion on or before its day (None before the first).
- Adherence: local days with at least one check-in / days in the range, counted from the later
  of the range's first day and the day the patient started, to the earlier of the range's last
  day and today (today counts once it is logged: the day is not over).
- Flags, each dated: PHQ-9 item 9 > 0; relapse; mood drop; a severe side effect that persists;
  PHQ-9 overdue (dated today); a PHQ-9 ≥ 5 points above the baseline or the previous PHQ-9; a
  check-in with a severe (3) side effect; 3 or more days in a row without a check-in (dated on
  the first missed day), over the same days as adherence. Item-9 flags first, then the newest
  (server/domain/flags.py).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence, Set
from datetime import date, datetime, timedelta
from uuid import UUID

import msgspec

from server.domain.chair import SessionLine
from server.domain.courses import CourseOutcome
from server.domain.flags import (
    MOOD_LOOK_BACK,
    Flag,
    counted_days,
    flags,
    monitoring_flags,
    triage,
)
from server.domain.infusion_effects import Afterglow, SideEffects, afterglow, side_effects
from server.domain.monitoring import Progress
from server.domain.records import Assessment, CheckIn, Infusion, SideEffect
from server.domain.scores import Gad7Part, Phq9Part, gad7_part, phq9_part, trend

AVERAGE_DAYS = 7
AVERAGE_MIN_DAYS = 3


class MoodDay(msgspec.Struct, frozen=True):
    day: date
    mood: float | None
    checkins: int
    average_7d: float | None
    infusion: bool


class InfusionMark(msgspec.Struct, frozen=True):
    id: UUID
    day: date
    scheduled_at: datetime
    status: str
    given: bool


class Adherence(msgspec.Struct, frozen=True):
    days_logged: int
    days_in_range: int
    ratio: float | None


class PatientNote(msgspec.Struct, frozen=True, kw_only=True):
    """What the patient wrote on a check-in: its note, and the words of an "Other" side effect."""

    day: date
    recorded_at: datetime
    days_since_infusion: int | None  # None: before the first given infusion
    mood: int
    note: str | None
    other: str | None


class Summary(msgspec.Struct, frozen=True, kw_only=True):
    first: date
    last: date
    mood: list[MoodDay]
    infusions: list[InfusionMark]
    phq9: Phq9Part
    gad7: Gad7Part
    side_effects: SideEffects
    afterglow: list[Afterglow]
    adherence: Adherence
    flags: list[Flag]
    last_checkin_day: date | None
    trend: str | None  # the same word as on the clinician's list (``trend``)
    notes: list[PatientNote]  # newest first
    # Infusion day (issue 16): the courses, newest first, each judged on its own baseline
    # (server/domain/courses.py), and the chair records of the range's sessions, with the
    # patient's mood on the days after (server/domain/chair.py). Filled by the service.
    courses: list[CourseOutcome] = msgspec.field(default_factory=list)
    sessions: list[SessionLine] = msgspec.field(default_factory=list)


def summarise(
    *,
    checkins: Sequence[CheckIn],
    assessments: Sequence[Assessment],
    infusions: Sequence[Infusion],
    first: date,
    last: date,
    today: date,
    as_of: datetime,
    started: date | None = None,
) -> Summary:
    """Everything on the summary page. ``checkins`` may include days before ``first`` (the
    7-day average, pre-infusion levels and mood drops look back, at most ``MOOD_LOOK_BACK``);
    later ones are ignored."""
    checkins = [c for c in checkins if c.local_day <= last]
    means = daily_means(checkins)
    logged = sorted(means)
    given = given_infusions(infusions, as_of)
    in_range = [c for c in checkins if first <= c.local_day]
    phq9s = sorted((a for a in assessments if a.instrument == "phq9"), key=_taken)
    gad7s = sorted((a for a in assessments if a.instrument == "gad7"), key=_taken)
    phq9 = phq9_part(phq9s, given, first, last)
    data_end = min(last, today)
    day_before = first - timedelta(days=1)
    found = _found(
        logged={c.local_day for c in in_range},
        side_effects=[(c.local_day, c.side_effects) for c in in_range],
        side_effects_since=[
            (c.local_day, c.side_effects) for c in checkins if c.local_day >= day_before
        ],
        moods={day: mean for day, (mean, _) in means.items() if day >= first - MOOD_LOOK_BACK},
        phq9s=phq9s,
        phq9=phq9,
        given=given,
        progress=None,
        first=first,
        last=last,
        today=today,
        started=started,
    )
    return Summary(
        first=first,
        last=last,
        mood=mood_days(means, given, first, last),
        infusions=[
            InfusionMark(
                id=i.id,
                day=i.local_day,
                scheduled_at=i.scheduled_at,
                status=i.status,
                given=_is_given(i, as_of),
            )
            for i in sorted(infusions, key=lambda i: i.scheduled_at)
            if i.status != "cancelled" and first <= i.local_day <= last
        ],
        phq9=phq9,
        gad7=gad7_part(gad7s, first, last),
        side_effects=side_effects(in_range, given),
        afterglow=[
            afterglow(i, means, given, data_end, logged)
            for i in given
            if first <= i.local_day <= last
        ],
        adherence=adherence(in_range, first, last, today, started),
        flags=triage(found),
        last_checkin_day=max((c.local_day for c in checkins), default=None),
        trend=trend(phq9),
        notes=patient_notes(in_range, given),
    )


def patient_notes(checkins: Iterable[CheckIn], given: Sequence[Infusion]) -> list[PatientNote]:
    """The check-ins with words in them, newest first, dated by days since the last infusion."""
    given_days = sorted({i.local_day for i in given})
    found = []
    for c in checkins:
        other = next((e.text for e in c.side_effects if e.code == "other" and e.text), None)
        note = (c.note or "").strip() or None
        if note is None and other is None:
            continue
        at = bisect_right(given_days, c.local_day)
        since = None if at == 0 else (c.local_day - given_days[at - 1]).days
        found.append(
            PatientNote(
                day=c.local_day,
                recorded_at=c.recorded_at,
                days_since_infusion=since,
                mood=c.mood,
                note=note,
                other=other,
            )
        )
    found.sort(key=lambda n: n.recorded_at, reverse=True)
    return found


def next_infusion(infusions: Iterable[Infusion], as_of: datetime) -> Infusion | None:
    """The first infusion still to come: planned, and scheduled after ``as_of``."""
    return min(
        (i for i in infusions if i.status == "planned" and i.scheduled_at > as_of),
        key=lambda i: i.scheduled_at,
        default=None,
    )


def _taken(a: Assessment) -> datetime:
    return a.taken_at


def _is_given(infusion: Infusion, as_of: datetime) -> bool:
    return infusion.status != "cancelled" and infusion.scheduled_at <= as_of


def given_infusions(infusions: Iterable[Infusion], as_of: datetime) -> list[Infusion]:
    return sorted((i for i in infusions if _is_given(i, as_of)), key=lambda i: i.scheduled_at)


def daily_means(checkins: Iterable[CheckIn]) -> dict[date, tuple[float, int]]:
    """Local day → (mean mood, number of check-ins)."""
    moods: dict[date, list[int]] = defaultdict(list)
    for c in checkins:
        moods[c.local_day].append(c.mood)
    return {day: (sum(v) / len(v), len(v)) for day, v in moods.items()}


def mood_days(
    means: dict[date, tuple[float, int]], given: Sequence[Infusion], first: date, last: date
) -> list[MoodDay]:
    infusion_days = {i.local_day for i in given}
    # The daily means of the logged days among the last 7, oldest first, moved along a day at a
    # time. They are added up afresh each day, in day order, rather than kept as a running total:
    # adding and taking away floats drifts in the last bit, and that could flip a rounding.
    window: deque[float] = deque()
    window_days: deque[int] = deque()
    # Means repeat (whole moods over a few check-ins): each is rounded once. Moods are never
    # negative, so no -0.0 shares a key with 0.0 and rounds differently.
    rounded: dict[float, float] = {}
    result = []
    start = first.toordinal()
    for ordinal in range(max(1, start - AVERAGE_DAYS + 1), last.toordinal() + 1):
        if window_days and window_days[0] <= ordinal - AVERAGE_DAYS:
            window_days.popleft()
            window.popleft()
        day = date.fromordinal(ordinal)
        mean, count = means.get(day, (None, 0))
        if mean is not None:
            window_days.append(ordinal)
            window.append(mean)
        if ordinal >= start:
            average = None
            if len(window) >= AVERAGE_MIN_DAYS:
                average = rounded.get(value := sum(window) / len(window))
                if average is None:
                    average = rounded[value] = round(value, 2)
            mood = None
            if mean is not None:
                mood = rounded.get(mean)
                if mood is None:
                    mood = rounded[mean] = round(mean, 2)
            result.append(MoodDay(day, mood, count, average, day in infusion_days))
    return result


def adherence(
    checkins: Sequence[CheckIn], first: date, last: date, today: date, started: date | None
) -> Adherence:
    logged = {c.local_day for c in checkins}
    start, end = counted_days(logged, first, last, today, started)
    if end < start:
        return Adherence(days_logged=0, days_in_range=0, ratio=None)
    days = (end - start).days + 1
    n = sum(1 for d in logged if start <= d <= end)
    return Adherence(days_logged=n, days_in_range=days, ratio=round(n / days, 3))


class PatientOverview(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the clinician's list: where the patient stands and what needs a look."""

    last_checkin_day: date | None
    phq9: Phq9Part
    trend: str | None
    flags: list[Flag]


def overview(
    *,
    logged: Set[date],
    side_effects: Sequence[tuple[date, Iterable[SideEffect]]],
    moods: Mapping[date, float],
    phq9s: Sequence[Assessment],
    given: Sequence[Infusion],
    progress: Progress | None,
    first: date,
    today: date,
    started: date | None,
    last_checkin_day: date | None,
) -> PatientOverview:
    """The list's line from a window of recent data (``first``..``today``): ``logged`` the
    days logged in it; ``side_effects`` (day, effects) of the check-ins with a severe one, from
    the day before ``first``; ``moods`` local day → mean mood from ``MOOD_LOOK_BACK`` before
    ``first``; ``phq9s`` in time order: the baseline, the last counted PHQ-9 before ``first``,
    and every one since (retracted ones too); ``given`` and ``progress`` as for
    ``monitoring_flags``."""
    phq9 = phq9_part(phq9s, given, first, today, progress, whole_history=False)
    found = _found(
        logged=logged,
        side_effects=side_effects,
        side_effects_since=side_effects,
        moods=moods,
        phq9s=phq9s,
        phq9=phq9,
        given=given,
        progress=progress,
        first=first,
        last=today,
        today=today,
        started=started,
    )
    return PatientOverview(
        last_checkin_day=last_checkin_day, phq9=phq9, trend=trend(phq9), flags=triage(found)
    )


def _found(
    *,
    logged: Set[date],
    side_effects: Sequence[tuple[date, Iterable[SideEffect]]],
    side_effects_since: Sequence[tuple[date, Iterable[SideEffect]]],
    moods: Mapping[date, float],
    phq9s: Sequence[Assessment],
    phq9: Phq9Part,
    given: Sequence[Infusion],
    progress: Progress | None,
    first: date,
    last: date,
    today: date,
    started: date | None,
) -> list[Flag]:
    """Every flag of days ``first``..``last``, not yet in triage order: the logging and score
    ones (``side_effects`` of those days), then the monitoring rules' (``side_effects_since``
    the day before ``first``)."""
    found = flags(
        logged=logged,
        side_effects=side_effects,
        phq9s=phq9s,
        baseline=phq9.baseline,
        baseline_day=phq9.baseline_day,
        first=first,
        last=last,
        today=today,
        started=started,
    )
    return found + monitoring_flags(
        phq9s=phq9s,
        given=given,
        moods=moods,
        side_effects=side_effects_since,
        first=first,
        last=last,
        today=today,
        progress=progress,
    )
