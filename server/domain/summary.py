"""The summary a psychiatrist reads before a session: pure functions from the patient's log.

Definitions (each is what the numbers on the page mean; check them here):

- Range: local days ``first``..``last`` inclusive, in the patient's time zone.
- Given infusion: not cancelled and scheduled at or before ``as_of`` (a past "planned" infusion is
  taken as given: patients often do not come back to mark it completed). The SQL in
  ``server/store/summary.py`` mirrors this rule.
- Daily mood: the mean of that local day's check-in moods (0 worst – 10 best). The 7-day average
  of day d is the mean of the daily means of d-6..d, shown once at least 3 of those 7 days have a
  check-in.
- Baseline: the last PHQ-9 taken before the first given infusion, whatever the range. None when
  there is no infusion yet or no PHQ-9 before the first one (never zero).
- Latest: the last PHQ-9 taken on or before the range's last day.
- Change from baseline: (latest − baseline) / baseline × 100, one decimal; negative is better.
  Response: latest ≤ 50% of baseline. Remission: latest < 5. A baseline of 0 has no change or
  response (nothing to halve).
- Side effects and afterglow: see ``server/domain/infusion_effects.py``.
- Adherence: local days with at least one check-in / days in the range, counted from the later
  of the range's first day and the day the patient started, to the earlier of the range's last
  day and today (today counts once it is logged: the day is not over).
- Flags, each dated: PHQ-9 item 9 > 0; a PHQ-9 ≥ 5 points above the baseline or the previous
  PHQ-9; a check-in with a severe (3) side effect; 3 or more days in a row without a check-in
  (dated on the first missed day), over the same days as adherence.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence, Set
from datetime import date, datetime
from uuid import UUID

import msgspec

from server.domain.flags import WORSE_BY, Flag, counted_days, flags
from server.domain.infusion_effects import Afterglow, SideEffects, afterglow, side_effects
from server.domain.records import Assessment, CheckIn, Infusion, SideEffect

AVERAGE_DAYS = 7
AVERAGE_MIN_DAYS = 3
REMISSION_BELOW = 5


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


class ScorePoint(msgspec.Struct, frozen=True):
    day: date
    taken_at: datetime
    total: int
    band: str
    item9: int | None = None


class Phq9Part(msgspec.Struct, frozen=True, kw_only=True):
    baseline: int | None
    baseline_day: date | None
    baseline_note: str | None  # why there is no baseline, in words
    latest: int | None
    latest_day: date | None
    latest_band: str | None
    change_pct: float | None
    response: bool
    remission: bool
    series: list[ScorePoint]


class Gad7Part(msgspec.Struct, frozen=True, kw_only=True):
    latest: int | None
    latest_day: date | None
    latest_band: str | None
    series: list[ScorePoint]


class Adherence(msgspec.Struct, frozen=True):
    days_logged: int
    days_in_range: int
    ratio: float | None


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
    7-day average and pre-infusion levels look back); later ones are ignored."""
    checkins = [c for c in checkins if c.local_day <= last]
    means = daily_means(checkins)
    logged = sorted(means)
    given = given_infusions(infusions, as_of)
    in_range = [c for c in checkins if first <= c.local_day]
    phq9s = sorted((a for a in assessments if a.instrument == "phq9"), key=_taken)
    gad7s = sorted((a for a in assessments if a.instrument == "gad7"), key=_taken)
    phq9 = phq9_part(phq9s, given, first, last)
    data_end = min(last, today)
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
        flags=flags(
            logged={c.local_day for c in in_range},
            side_effects=[(c.local_day, c.side_effects) for c in in_range],
            phq9s=phq9s,
            baseline=phq9.baseline,
            baseline_day=phq9.baseline_day,
            first=first,
            last=last,
            today=today,
            started=started,
        ),
        last_checkin_day=max((c.local_day for c in checkins), default=None),
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
            average = (
                round(sum(window) / len(window), 2) if len(window) >= AVERAGE_MIN_DAYS else None
            )
            mood = None if mean is None else round(mean, 2)
            result.append(MoodDay(day, mood, count, average, day in infusion_days))
    return result


def _point(a: Assessment) -> ScorePoint:
    return ScorePoint(
        day=a.local_day, taken_at=a.taken_at, total=a.total, band=a.band, item9=a.item9
    )


def baseline_of(phq9s: Sequence[Assessment], given: Sequence[Infusion]) -> Assessment | None:
    if not given:
        return None
    start = given[0].scheduled_at
    before = [a for a in phq9s if a.taken_at < start]
    return max(before, key=_taken) if before else None


def phq9_part(
    phq9s: Sequence[Assessment], given: Sequence[Infusion], first: date, last: date
) -> Phq9Part:
    baseline = baseline_of(phq9s, given)
    note = None
    if baseline is None:
        note = (
            "No infusion has been given yet, so there is no baseline."
            if not given
            else f"No PHQ-9 was taken before the first infusion ({given[0].local_day}), "
            "so there is no baseline."
        )
    upto = [a for a in phq9s if a.local_day <= last]
    latest = max(upto, key=_taken) if upto else None
    change = None
    response = False
    if baseline is not None and latest is not None and baseline.total > 0:
        change = round((latest.total - baseline.total) * 100 / baseline.total, 1)
        response = latest.total * 2 <= baseline.total
    return Phq9Part(
        baseline=None if baseline is None else baseline.total,
        baseline_day=None if baseline is None else baseline.local_day,
        baseline_note=note,
        latest=None if latest is None else latest.total,
        latest_day=None if latest is None else latest.local_day,
        latest_band=None if latest is None else latest.band,
        change_pct=change,
        response=response,
        remission=latest is not None and latest.total < REMISSION_BELOW,
        series=[_point(a) for a in phq9s if first <= a.local_day <= last],
    )


def gad7_part(gad7s: Sequence[Assessment], first: date, last: date) -> Gad7Part:
    upto = [a for a in gad7s if a.local_day <= last]
    latest = max(upto, key=_taken) if upto else None
    return Gad7Part(
        latest=None if latest is None else latest.total,
        latest_day=None if latest is None else latest.local_day,
        latest_band=None if latest is None else latest.band,
        series=[_point(a) for a in gad7s if first <= a.local_day <= last],
    )


def trend(phq9: Phq9Part) -> str | None:
    """A word for the list: remission, response, partial response (25–49% down), no response,
    or worse (≥ 5 points up); None without a baseline."""
    if phq9.remission:
        return "remission"
    if phq9.baseline is None or phq9.latest is None or phq9.change_pct is None:
        return None
    if phq9.response:
        return "response"
    if phq9.latest - phq9.baseline >= WORSE_BY:
        return "worse"
    if phq9.change_pct <= -25:
        return "partial response"
    return "no response"


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
    side_effects: Iterable[tuple[date, Iterable[SideEffect]]],
    phq9s: Sequence[Assessment],
    first_infusion: Infusion | None,
    first: date,
    today: date,
    started: date | None,
    last_checkin_day: date | None,
) -> PatientOverview:
    """The list's line from a window of recent data (``first``..``today``): ``logged`` and
    ``side_effects`` as for ``flags``; ``phq9s`` must hold, in time order, the baseline, the last
    PHQ-9 before ``first``, and every one since."""
    given = [first_infusion] if first_infusion else []
    phq9 = phq9_part(phq9s, given, first, today)
    return PatientOverview(
        last_checkin_day=last_checkin_day,
        phq9=phq9,
        trend=trend(phq9),
        flags=flags(
            logged=logged,
            side_effects=side_effects,
            phq9s=phq9s,
            baseline=phq9.baseline,
            baseline_day=phq9.baseline_day,
            first=first,
            last=today,
            today=today,
            started=started,
        ),
    )
