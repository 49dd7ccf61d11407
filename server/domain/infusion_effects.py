"""What infusions do, as the summary shows it: side effects by day since the last infusion, and
the "afterglow" after each infusion.

- Side effects: per code, the check-ins reporting it, the worst severity, and the same count by
  days since the last given infusion on or before the check-in's day: "0", "1", "2", "3+", or
  "none" (before the first infusion). A check-in reporting a code twice counts once.
- Afterglow of an infusion on day D: the pre-infusion level is the mean daily mood of D-7..D-1
  (at least 3 of those days logged, else not computed). From D+1 on, the afterglow lasts while
  the daily mood stays above that level; it ends on the first logged day at or below it ("fell
  back"), or at the next given infusion ("next infusion"), or is still going at the end of the
  data ("ongoing"). Its length is the last logged day above the level minus D, in days (0 when
  the first logged day after D is already back). Days without a check-in neither end nor extend
  it. D itself is ignored (the session day). The 7 days before may hold a previous infusion's
  afterglow (an induction series is twice a week): the level is whatever the mood was.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Literal
from uuid import UUID

import msgspec

from server.domain.records import CheckIn, Infusion

PRE_LEVEL_DAYS = 7
PRE_LEVEL_MIN_DAYS = 3
BUCKETS = ("0", "1", "2", "3+", "none")

AfterglowEnd = Literal["fell_back", "next_infusion", "ongoing", "not_enough_data"]


class SideEffectRow(msgspec.Struct, frozen=True):
    code: str
    count: int
    share: float  # of the check-ins in range
    worst: int
    by_day: dict[str, int]


class SideEffects(msgspec.Struct, frozen=True):
    checkins: int
    checkins_by_day: dict[str, int]
    rows: list[SideEffectRow]


class Afterglow(msgspec.Struct, frozen=True, kw_only=True):
    infusion_id: UUID
    day: date
    pre_level: float | None
    days: int | None
    ended: AfterglowEnd


def bucket(day: date, given_days: Sequence[date]) -> str:
    """Days since the last given infusion on or before ``day``: "0", "1", "2", "3+" or "none".
    ``given_days`` is sorted."""
    at = bisect_right(given_days, day)
    if at == 0:
        return "none"
    since = (day - given_days[at - 1]).days
    return str(since) if since < 3 else "3+"


def side_effects(checkins: Sequence[CheckIn], given: Sequence[Infusion]) -> SideEffects:
    given_days = sorted({i.local_day for i in given})
    per_bucket = dict.fromkeys(BUCKETS, 0)
    counts: dict[str, int] = defaultdict(int)
    worst: dict[str, int] = defaultdict(int)
    by_day: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(BUCKETS, 0))
    for c in checkins:
        b = bucket(c.local_day, given_days)
        per_bucket[b] += 1
        seen: dict[str, int] = {}
        for effect in c.side_effects:
            seen[effect.code] = max(seen.get(effect.code, 0), effect.severity)
        for code, severity in seen.items():
            counts[code] += 1
            worst[code] = max(worst[code], severity)
            by_day[code][b] += 1
    total = len(checkins)
    rows = [
        SideEffectRow(
            code=code,
            count=n,
            share=round(n / total, 3),
            worst=worst[code],
            by_day=by_day[code],
        )
        for code, n in counts.items()
    ]
    rows.sort(key=lambda r: (-r.count, -r.worst, r.code))
    return SideEffects(checkins=total, checkins_by_day=per_bucket, rows=rows)


def afterglow(
    infusion: Infusion,
    means: dict[date, tuple[float, int]],
    given: Sequence[Infusion],
    data_end: date,
    logged: Sequence[date] | None = None,
) -> Afterglow:
    """``logged``: the days in ``means``, sorted (pass it when calling for many infusions)."""
    day = infusion.local_day
    before = [
        means[d][0]
        for d in (day - timedelta(days=n) for n in range(1, PRE_LEVEL_DAYS + 1))
        if d in means
    ]
    if len(before) < PRE_LEVEL_MIN_DAYS:
        return Afterglow(
            infusion_id=infusion.id, day=day, pre_level=None, days=None, ended="not_enough_data"
        )
    level = sum(before) / len(before)
    following = next((i.local_day for i in given if i.local_day > day), None)
    stop = following if following is not None and following <= data_end else None
    days = sorted(means) if logged is None else logged
    last_above = day
    ended: AfterglowEnd = "ongoing" if stop is None else "next_infusion"
    for current in days[bisect_right(days, day) :]:
        if current > data_end or (stop is not None and current >= stop):
            break
        if means[current][0] <= level:
            ended = "fell_back"
            break
        last_above = current
    return Afterglow(
        infusion_id=infusion.id,
        day=day,
        pre_level=round(level, 2),
        days=(last_above - day).days,
        ended=ended,
    )
