"""Safety flags on the summary and the clinician's list, each with the day it was raised.

- item 9: a PHQ-9 whose item 9 (thoughts of death or self-harm) is above 0;
- relapse, mood drop, persisting severe side effect, PHQ-9 overdue: the monitoring rules
  (server/domain/monitoring.py, where each is defined with its source);
- PHQ-9 worse: a PHQ-9 at least 5 points above the baseline or the previous PHQ-9;
- severe side effect: a check-in reporting any side effect as severe (3), one flag a day;
- no check-in: 3 or more days in a row without a check-in, dated on the first missed day.
Gaps are looked for over the days adherence counts (``counted_days``).

A PHQ-9 the patient retracted keeps every flag it raised (item 9, worse), marked retracted; it
is never the baseline or the "previous" another PHQ-9 is compared with. Item-9 flags come first,
whatever their day (``PINNED``): a page that must cut its list cuts the others.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from datetime import date, timedelta
from typing import Literal

import msgspec

from server.domain import monitoring
from server.domain.monitoring import Finding, Progress
from server.domain.records import Assessment, Infusion, SideEffect
from server.domain.said import Said
from server.i18n import N_

WORSE_BY = 5
GAP_DAYS = 3
ONE_DAY = timedelta(days=1)
# Mood drops are looked for from this many days before a range: a week and the 4 weeks before
# it, and one day more to tell whether a drop had already started.
MOOD_LOOK_BACK = timedelta(days=monitoring.WEEK + monitoring.BEFORE_DAYS)

FlagKind = Literal[
    "item9",
    "relapse",
    "mood_drop",
    "persisting_severe_effect",
    "phq9_worse",
    "severe_side_effect",
    "phq9_overdue",
    "no_checkin",
]
_FLAG_ORDER: dict[str, int] = {
    "item9": 0,
    "relapse": 1,
    "mood_drop": 2,
    "persisting_severe_effect": 3,
    "phq9_worse": 4,
    "severe_side_effect": 5,
    "phq9_overdue": 6,
    "no_checkin": 7,
}
PINNED: frozenset[str] = frozenset({"item9"})
RETRACTED = N_(
    "{finding} The patient retracted this questionnaire; it is kept because it was answered."
)


class Flag(msgspec.Struct, frozen=True):
    kind: FlagKind
    day: date
    detail: str  # ``said`` in English (the CSV export, FHIR, the API)
    said: Said | None = None  # what was found, to word in the reader's language


def flag(kind: FlagKind, day: date, said: Said) -> Flag:
    """A flag of ``kind`` on ``day``, its detail ``said`` in English."""
    return Flag(kind, day, said.english, said)


def _kept(said: Said, a: Assessment) -> Said:
    return Said(RETRACTED, {"finding": [said]}) if a.retracted_at else said


def counted_days(
    logged: Set[date], first: date, last: date, today: date, started: date | None
) -> tuple[date, date]:
    """The days adherence and gaps are counted over: from the later of the range's first day
    and the day the patient started, to the earlier of its last day and today; today only once
    it is logged (the day is not over)."""
    start = max(first, started) if started else first
    end = min(last, today)
    if end == today and today not in logged:
        end = today - ONE_DAY
    return start, end


def item9_flag(a: Assessment) -> Flag | None:
    if not a.item9:
        return None
    said = Said(
        N_("PHQ-9 item 9 (thoughts of death or self-harm) answered {answer} of 3."),
        {"answer": a.item9},
    )
    return flag("item9", a.local_day, _kept(said, a))


def triage(found: Iterable[Flag]) -> list[Flag]:
    """Pinned kinds first, then the newest day first, then by kind."""
    return sorted(
        found, key=lambda f: (f.kind not in PINNED, -f.day.toordinal(), _FLAG_ORDER[f.kind])
    )


def flags(
    *,
    logged: Set[date],
    side_effects: Iterable[tuple[date, Iterable[SideEffect]]],
    phq9s: Sequence[Assessment],
    baseline: int | None,
    baseline_day: date | None,
    first: date,
    last: date,
    today: date,
    started: date | None,
) -> list[Flag]:
    """``logged``: the days with a check-in; ``side_effects``: (day, effects) of check-ins (those
    without a severe one may be left out); ``phq9s``: every PHQ-9 known, in time order (the
    previous one may predate the range), retracted ones included."""
    found: list[Flag] = []
    previous: Assessment | None = None
    for a in phq9s:
        if first <= a.local_day <= last:
            item9 = item9_flag(a)
            if item9 is not None:
                found.append(item9)
            reasons: list[Said] = []
            after_baseline = baseline_day is not None and a.local_day > baseline_day
            if baseline is not None and after_baseline and a.total - baseline >= WORSE_BY:
                reasons.append(
                    Said(
                        N_("{rise} above the baseline ({baseline})"),
                        {"rise": a.total - baseline, "baseline": baseline},
                    )
                )
            if previous is not None and a.total - previous.total >= WORSE_BY:
                reasons.append(
                    Said(
                        N_("{rise} above the previous ({previous})"),
                        {"rise": a.total - previous.total, "previous": previous.total},
                    )
                )
            if reasons:
                said = Said(N_("PHQ-9 {total}: {reasons}."), {"total": a.total, "reasons": reasons})
                found.append(flag("phq9_worse", a.local_day, _kept(said, a)))
        if a.retracted_at is None:
            previous = a
    severe: dict[date, set[str]] = defaultdict(set)
    for day, effects in side_effects:
        if first <= day <= last:
            for effect in effects:
                if effect.severity >= monitoring.SEVERE:
                    severe[day].add(effect.code.replace("_", " "))
    for day, codes in severe.items():
        said = Said(N_("Severe {names}."), {"names": ", ".join(sorted(codes))})
        found.append(flag("severe_side_effect", day, said))
    found.extend(_gaps(logged, first, last, today, started))
    return triage(found)


def monitoring_flags(
    *,
    phq9s: Sequence[Assessment],
    given: Sequence[Infusion],
    moods: Mapping[date, float],
    side_effects: Iterable[tuple[date, Iterable[SideEffect]]],
    first: date,
    last: date,
    today: date,
    progress: Progress | None = None,
) -> list[Flag]:
    """The monitoring rules' findings on days ``first``..``last``. ``phq9s``: in time order,
    from the baseline on (or, with ``progress``, the baseline and those since
    ``progress.until``); ``given``: the given infusions in time order, at least the first, the
    last, and the last one before each day of the range; ``moods``: local day → mean mood, from
    ``MOOD_LOOK_BACK`` before ``first``; ``side_effects`` from the day before ``first``."""
    first_at = given[0].scheduled_at if given else None
    found: list[tuple[FlagKind, Finding]] = [
        ("relapse", f) for f in monitoring.relapses(phq9s, first_at, progress)
    ]
    found += [("mood_drop", f) for f in monitoring.mood_drops(moods, first, last)]
    found += [
        ("persisting_severe_effect", f)
        for f in monitoring.persisting_severe_effects(side_effects, [i.local_day for i in given])
    ]
    if first <= today <= last:
        overdue = monitoring.phq9_overdue(phq9s, given, today)
        if overdue is not None:
            found.append(("phq9_overdue", overdue))
    return [flag(kind, f.day, f.said) for kind, f in found if first <= f.day <= last]


def _gaps(
    logged: Set[date], first: date, last: date, today: date, started: date | None
) -> list[Flag]:
    start, end = counted_days(logged, first, last, today, started)
    result = []
    # From one logged day to the next (as day numbers): the cost follows the check-ins, not the
    # days counted.
    days = sorted(map(date.toordinal, logged))
    previous = start.toordinal() - 1  # the last day known logged, or the day before counting
    for day in days[bisect_left(days, previous + 1) : bisect_right(days, end.toordinal())]:
        if day - previous > GAP_DAYS:
            result.append(_gap(previous + 1, day - 1, counting=False))
        previous = day
    if end.toordinal() - previous >= GAP_DAYS:
        result.append(_gap(previous + 1, end.toordinal(), counting=True))
    return result


def _gap(first_missed: int, last_missed: int, *, counting: bool) -> Flag:
    """A run of days without a check-in, as day ordinals."""
    first_day, last_day = date.fromordinal(first_missed), date.fromordinal(last_missed)
    message = (
        N_("No check-in for {days} days ({first} to {last}, and counting).")
        if counting
        else N_("No check-in for {days} days ({first} to {last}).")
    )
    days = last_missed - first_missed + 1
    return flag(
        "no_checkin",
        first_day,
        Said(message, {"days": days, "first": str(first_day), "last": str(last_day)}),
    )
