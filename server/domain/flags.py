"""Safety flags on the summary and the clinician's list, each with the day it was raised.

- item 9: a PHQ-9 whose item 9 (thoughts of death or self-harm) is above 0;
- PHQ-9 worse: a PHQ-9 at least 5 points above the baseline or the previous PHQ-9;
- severe side effect: a check-in reporting any side effect as severe (3), one flag a day;
- no check-in: 3 or more days in a row without a check-in, dated on the first missed day.
Gaps are looked for over the days adherence counts (``counted_days``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence, Set
from datetime import date, timedelta
from typing import Literal

import msgspec

from server.domain.records import Assessment, SideEffect

WORSE_BY = 5
GAP_DAYS = 3
ONE_DAY = timedelta(days=1)

FlagKind = Literal["item9", "phq9_worse", "severe_side_effect", "no_checkin"]
_FLAG_ORDER = {"item9": 0, "phq9_worse": 1, "severe_side_effect": 2, "no_checkin": 3}


class Flag(msgspec.Struct, frozen=True):
    kind: FlagKind
    day: date
    detail: str


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
    previous one may predate the range)."""
    found: list[Flag] = []
    previous: Assessment | None = None
    for a in phq9s:
        if first <= a.local_day <= last:
            if a.item9:
                found.append(
                    Flag(
                        "item9",
                        a.local_day,
                        f"PHQ-9 item 9 (thoughts of death or self-harm) answered {a.item9} of 3.",
                    )
                )
            reasons = []
            after_baseline = baseline_day is not None and a.local_day > baseline_day
            if baseline is not None and after_baseline and a.total - baseline >= WORSE_BY:
                reasons.append(f"{a.total - baseline} above the baseline ({baseline})")
            if previous is not None and a.total - previous.total >= WORSE_BY:
                reasons.append(f"{a.total - previous.total} above the previous ({previous.total})")
            if reasons:
                found.append(
                    Flag("phq9_worse", a.local_day, f"PHQ-9 {a.total}: " + "; ".join(reasons) + ".")
                )
        previous = a
    severe: dict[date, set[str]] = defaultdict(set)
    for day, effects in side_effects:
        if first <= day <= last:
            for effect in effects:
                if effect.severity >= 3:
                    severe[day].add(effect.code.replace("_", " "))
    for day, codes in severe.items():
        found.append(Flag("severe_side_effect", day, "Severe " + ", ".join(sorted(codes)) + "."))
    found.extend(_gaps(logged, first, last, today, started))
    found.sort(key=lambda f: (-f.day.toordinal(), _FLAG_ORDER[f.kind]))
    return found


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
    still = ", and counting" if counting else ""
    detail = (
        f"No check-in for {last_missed - first_missed + 1} days ({first_day} to {last_day}{still})."
    )
    return Flag("no_checkin", first_day, detail)
