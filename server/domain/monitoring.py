"""Monitoring between sessions: the rules that say a patient may be getting worse.

Pure functions over a patient's log; the summary shows what they find as flags, and the ones
that need a person (relapse, mood drop, a persisting severe side effect) also raise alerts.

- Eligible baseline: the last PHQ-9 taken in the 30 days before the first given infusion, and
  only when it is ≥ 10 (below that there is no depression to respond). Measurement-based care
  judges response and remission against such a baseline only (Rush et al., "Report by the
  ACNP Task Force on response and remission in major depressive disorder",
  Neuropsychopharmacology 2006; PHQ-9 cut-offs: Kroenke, Spitzer & Williams 2001).
- Response: a PHQ-9 ≤ 50% of the eligible baseline. Remission: a PHQ-9 < 5.
- Relapse: after a response or remission was reached, a PHQ-9 that is ≥ 10, or ≥ 5 above the
  lowest PHQ-9 since the first infusion (5 points is the PHQ-9's minimal clinically important
  difference: Löwe et al., Med Care 2004). Each such PHQ-9 is a relapse finding.
- Mood drop: the mean mood of a week (days d-6..d, ≥ 5 of them logged) is ≥ 2 points below the
  mean of the 28 days before that week (≥ 14 of them logged). Found on the day it starts.
- PHQ-9 overdue: during a course of treatment (from the first infusion until 90 days after the
  last given one) the last PHQ-9 is more than 14 days old.
- Persisting severe side effect: a side effect reported as severe (3) on two consecutive local
  days, or on a day two or more days after the last infusion before it (the day of an infusion
  and the day after are when ketamine's effects are expected).

A PHQ-9 the patient retracted (``retracted_at``) counts for none of these: no baseline, no
response, no relapse, and it does not make a PHQ-9 "taken" for the overdue rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from fractions import Fraction
from itertools import accumulate

import msgspec

from server.domain.checkins import CheckInContent
from server.domain.instruments import AssessmentContent
from server.domain.records import Assessment, CheckIn, Infusion, SideEffect
from server.domain.said import Said
from server.i18n import N_

BASELINE_WINDOW = timedelta(days=30)
BASELINE_MIN = 10
REMISSION_BELOW = 5
RELAPSE_AT = 10
RELAPSE_RISE = 5
WEEK = 7
WEEK_MIN_LOGGED = 5
BEFORE_DAYS = 28
BEFORE_MIN_LOGGED = 14
MOOD_DROP = 2.0
OVERDUE_AFTER = timedelta(days=14)
COURSE_TAIL = timedelta(days=90)
SEVERE = 3
# A check-in can start a mood drop only by lowering the week's mean; one at or below the middle
# of the scale is worth reading the weeks before it when it is written (server/services/
# monitoring.py). A drop through moods above it is still found on the summary and the list.
LOW_MOOD = 5


class Finding(msgspec.Struct, frozen=True):
    """Something a rule found on a local day, to word in the language a clinician reads."""

    day: date
    said: Said

    @property
    def detail(self) -> str:
        """What was found, in English."""
        return self.said.english


class Progress(msgspec.Struct, frozen=True):
    """The PHQ-9s since the first infusion taken before ``until``, as the relapse rule needs
    them: their lowest total. A response or remission was reached among them exactly when the
    lowest reached it, so a reader need not fetch them all (the clinician's list)."""

    until: datetime
    lowest: int | None


def checkin_watched(checkin: CheckIn | CheckInContent) -> bool:
    """Whether a rule may find something in this check-in when it is written: a low mood (a
    mood drop) or a severe side effect (one that persists). Any other check-in costs no read."""
    return checkin.mood <= LOW_MOOD or any(e.severity >= SEVERE for e in checkin.side_effects)


def phq9_watched(assessment: Assessment | AssessmentContent) -> bool:
    """Every PHQ-9 may be a relapse (or answer item 9 above 0)."""
    return assessment.instrument == "phq9"


def counted(phq9s: Iterable[Assessment]) -> list[Assessment]:
    """The PHQ-9s the rules count: those the patient has not retracted."""
    return [a for a in phq9s if a.retracted_at is None]


def baseline_phq9(
    phq9s: Sequence[Assessment], first_infusion: datetime | None
) -> Assessment | None:
    """The last PHQ-9 in the 30 days before the first given infusion, whatever its total."""
    if first_infusion is None:
        return None
    before = [
        a for a in counted(phq9s) if first_infusion - BASELINE_WINDOW <= a.taken_at < first_infusion
    ]
    return max(before, key=lambda a: a.taken_at) if before else None


def eligible_baseline(
    phq9s: Sequence[Assessment], first_infusion: datetime | None
) -> Assessment | None:
    """The last PHQ-9 in the 30 days before the first given infusion, if it is ≥ 10."""
    baseline = baseline_phq9(phq9s, first_infusion)
    return baseline if baseline is not None and baseline.total >= BASELINE_MIN else None


def responded(total: int | None, baseline: Assessment) -> bool:
    """A response (≤ 50% of the baseline) or a remission (< 5) at this total."""
    return total is not None and (total < REMISSION_BELOW or total * 2 <= baseline.total)


def relapses(
    phq9s: Sequence[Assessment],
    first_infusion: datetime | None,
    progress: Progress | None = None,
) -> list[Finding]:
    """Every PHQ-9 that marks a relapse after a response or remission (``phq9s`` in time
    order). With ``progress``, the PHQ-9s before ``progress.until`` are known by their lowest
    only (``phq9s`` must still hold the baseline)."""
    baseline = eligible_baseline(phq9s, first_infusion)
    if baseline is None or first_infusion is None:
        return []
    found: list[Finding] = []
    start = first_infusion
    lowest: int | None = None
    if progress is not None:
        start = max(start, progress.until)
        lowest = progress.lowest
    reached = responded(lowest, baseline)
    for a in counted(phq9s):
        if a.taken_at < start:
            continue
        if reached:
            assert lowest is not None
            reasons: list[Said] = []
            if a.total >= RELAPSE_AT:
                reasons.append(
                    Said(N_("{total} is {limit} or more"), {"total": a.total, "limit": RELAPSE_AT})
                )
            if a.total - lowest >= RELAPSE_RISE:
                reasons.append(
                    Said(
                        N_("{rise} above the lowest since treatment ({lowest})"),
                        {"rise": a.total - lowest, "lowest": lowest},
                    )
                )
            if reasons:
                said = Said(N_("PHQ-9 after a response: {reasons}."), {"reasons": reasons})
                found.append(Finding(a.local_day, said))
        lowest = a.total if lowest is None else min(lowest, a.total)
        reached = reached or responded(a.total, baseline)
    return found


def daily_mean_moods(moods: Iterable[tuple[date, int]]) -> dict[date, float]:
    """(local day, mood) of check-ins → local day → the mean mood of that day's check-ins."""
    totals: dict[date, int] = {}
    counts: dict[date, int] = {}
    for day, mood in moods:
        totals[day] = totals.get(day, 0) + mood
        counts[day] = counts.get(day, 0) + 1
    return {day: total / counts[day] for day, total in totals.items()}


def mood_drops(moods: Mapping[date, float], first: date, last: date) -> list[Finding]:
    """``moods``: local day → mean mood of that day. Each day in first..last where a drop
    starts (it did not hold the day before)."""
    # The days from the first one any week of the range looks at, as a list: a week and the
    # 4 weeks before it are two slices of it. Running totals skip the days clearly not a drop;
    # a day near or past the line is judged by ``_mood_drop`` from the slices, summed in day
    # order, so floating-point drift never decides it.
    if len(moods) < WEEK_MIN_LOGGED + BEFORE_MIN_LOGGED or (
        max(moods.values()) - min(moods.values()) < MOOD_DROP
    ):
        return []  # too few days, or too even a mood, for any drop (a mean is within them)
    span = WEEK + BEFORE_DAYS
    origin = first.toordinal() - span
    size = last.toordinal() - origin + 1
    if size < span:
        return []  # no day in first..last: no week of the range
    days: list[float | None] = [None] * size
    for day, mood in moods.items():
        at = day.toordinal() - origin
        if 0 <= at < size:
            days[at] = mood
    # Of the logged days before each index: the same additions, in day order, as a loop would
    # make (accumulate adds left to right), so the totals are the same floats.
    sums = list(accumulate((0.0 if m is None else m for m in days), initial=0.0))
    counts = list(accumulate((m is not None for m in days), initial=0))
    found: list[Finding] = []
    held = False
    # The week ending on days[end - 1]: it starts at ``split``, the 4 weeks before it at
    # ``start``; the three indexes walk along together.
    ends = range(span, size + 1)
    for end, c_start, c_split, c_end, s_start, s_split, s_end in zip(
        ends,
        counts[: size + 1 - span],
        counts[span - WEEK : size + 1 - WEEK],
        counts[span:],
        sums[: size + 1 - span],
        sums[span - WEEK : size + 1 - WEEK],
        sums[span:],
        strict=True,
    ):
        logged_week, logged_before = c_end - c_split, c_split - c_start
        drop = None
        if (
            logged_week >= WEEK_MIN_LOGGED
            and logged_before >= BEFORE_MIN_LOGGED
            and (s_split - s_start) / logged_before - (s_end - s_split) / logged_week
            > MOOD_DROP - _NEAR
        ):
            drop = _mood_drop(days, end - 1)
        if drop is not None and not held and end > span:
            found.append(Finding(date.fromordinal(origin + end - 1), drop))
        held = drop is not None
    return found


_NEAR = 1e-6  # far above the drift of running totals of years of daily moods (0-10)


def _mood_drop(days: Sequence[float | None], index: int) -> Said | None:
    """Whether the week ending on ``days[index]`` is a drop (``index`` ≥ 34)."""
    week = [m for m in days[index - WEEK + 1 : index + 1] if m is not None]
    before = [m for m in days[index - WEEK - BEFORE_DAYS + 1 : index - WEEK + 1] if m is not None]
    if len(week) < WEEK_MIN_LOGGED or len(before) < BEFORE_MIN_LOGGED:
        return None
    # Exactly, in fractions: a drop of 2 lands on the line often (means of whole moods), and
    # float sums taken in another order can fall either side of it.
    now = sum(map(Fraction, week)) / len(week)
    then = sum(map(Fraction, before)) / len(before)
    if then - now < MOOD_DROP:
        return None
    return Said(
        N_("Mood this week {now}, {drop} below the 4 weeks before ({then})."),
        {
            "now": f"{float(now):.1f}",
            "drop": f"{float(then - now):.1f}",
            "then": f"{float(then):.1f}",
        },
    )


def in_course(given: Sequence[Infusion], today: date) -> bool:
    """From the first given infusion until 90 days after the last one."""
    if not given:
        return False
    return given[0].local_day <= today <= given[-1].local_day + COURSE_TAIL


def phq9_overdue(
    phq9s: Sequence[Assessment], given: Sequence[Infusion], today: date
) -> Finding | None:
    """During a course, the last PHQ-9 more than 14 days old (or none at all)."""
    if not in_course(given, today):
        return None
    last = max((a.local_day for a in counted(phq9s)), default=None)
    if last is None:
        return Finding(today, Said(N_("No PHQ-9 yet during treatment.")))
    if today - last <= OVERDUE_AFTER:
        return None
    said = Said(
        N_("Last PHQ-9 on {day}, {days} days ago."), {"day": str(last), "days": (today - last).days}
    )
    return Finding(today, said)


def persisting_severe_effects(
    effects: Iterable[tuple[date, Iterable[SideEffect]]], infusion_days: Sequence[date]
) -> list[Finding]:
    """Days a severe side effect persists (see the module's rule), once per day."""
    severe: dict[date, set[str]] = {}
    for day, day_effects in effects:
        codes = {e.code for e in day_effects if e.severity >= SEVERE}
        if codes:
            severe.setdefault(day, set()).update(codes)
    infusions = sorted(infusion_days)
    found = []
    for day in sorted(severe):
        codes = severe[day]
        previous_day = severe.get(day - timedelta(days=1), set())
        last_infusion = max((d for d in infusions if d <= day), default=None)
        late = last_infusion is None or (day - last_infusion).days >= 2
        lasting = sorted(codes & previous_day)
        if lasting or late:
            names = ", ".join(c.replace("_", " ") for c in (lasting or sorted(codes)))
            message = (
                N_("Severe {names}, a second day in a row.")
                if lasting
                else N_("Severe {names}, two or more days after an infusion.")
            )
            found.append(Finding(day, Said(message, {"names": names})))
    return found
