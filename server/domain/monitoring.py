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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta

import msgspec

from server.domain.records import Assessment, Infusion, SideEffect

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


class Finding(msgspec.Struct, frozen=True):
    """Something a rule found on a local day, said in words a clinician reads."""

    day: date
    detail: str


def eligible_baseline(
    phq9s: Sequence[Assessment], first_infusion: datetime | None
) -> Assessment | None:
    """The last PHQ-9 in the 30 days before the first given infusion, if it is ≥ 10."""
    if first_infusion is None:
        return None
    before = [a for a in phq9s if first_infusion - BASELINE_WINDOW <= a.taken_at < first_infusion]
    if not before:
        return None
    baseline = max(before, key=lambda a: a.taken_at)
    return baseline if baseline.total >= BASELINE_MIN else None


def relapses(phq9s: Sequence[Assessment], first_infusion: datetime | None) -> list[Finding]:
    """Every PHQ-9 that marks a relapse after a response or remission (``phq9s`` in time
    order)."""
    baseline = eligible_baseline(phq9s, first_infusion)
    if baseline is None or first_infusion is None:
        return []
    found: list[Finding] = []
    lowest: int | None = None
    reached = False
    for a in phq9s:
        if a.taken_at < first_infusion:
            continue
        if reached:
            assert lowest is not None
            reasons = []
            if a.total >= RELAPSE_AT:
                reasons.append(f"{a.total} is {RELAPSE_AT} or more")
            if a.total - lowest >= RELAPSE_RISE:
                reasons.append(f"{a.total - lowest} above the lowest since treatment ({lowest})")
            if reasons:
                found.append(
                    Finding(a.local_day, "PHQ-9 after a response: " + "; ".join(reasons) + ".")
                )
        lowest = a.total if lowest is None else min(lowest, a.total)
        if a.total < REMISSION_BELOW or a.total * 2 <= baseline.total:
            reached = True
    return found


def mood_drops(moods: Mapping[date, float], first: date, last: date) -> list[Finding]:
    """``moods``: local day → mean mood of that day. Each day in first..last where a drop
    starts (it did not hold the day before)."""
    found: list[Finding] = []
    held = _mood_drop(moods, first - timedelta(days=1)) is not None
    day = first
    while day <= last:
        drop = _mood_drop(moods, day)
        if drop is not None and not held:
            found.append(Finding(day, drop))
        held = drop is not None
        day += timedelta(days=1)
    return found


def _mood_drop(moods: Mapping[date, float], day: date) -> str | None:
    week = _logged(moods, day - timedelta(days=WEEK - 1), day)
    before = _logged(
        moods, day - timedelta(days=WEEK + BEFORE_DAYS - 1), day - timedelta(days=WEEK)
    )
    if len(week) < WEEK_MIN_LOGGED or len(before) < BEFORE_MIN_LOGGED:
        return None
    now, then = sum(week) / len(week), sum(before) / len(before)
    if then - now < MOOD_DROP:
        return None
    return f"Mood this week {now:.1f}, {then - now:.1f} below the 4 weeks before ({then:.1f})."


def _logged(moods: Mapping[date, float], first: date, last: date) -> list[float]:
    return [
        mood
        for offset in range((last - first).days + 1)
        if (mood := moods.get(first + timedelta(days=offset))) is not None
    ]


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
    last = max((a.local_day for a in phq9s), default=None)
    if last is None:
        return Finding(today, "No PHQ-9 yet during treatment.")
    if today - last <= OVERDUE_AFTER:
        return None
    return Finding(today, f"Last PHQ-9 on {last}, {(today - last).days} days ago.")


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
            why = "a second day in a row" if lasting else "two or more days after an infusion"
            found.append(Finding(day, f"Severe {names}, {why}."))
    return found
