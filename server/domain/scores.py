"""The questionnaire part of the summary (server/domain/summary.py): each PHQ-9 and GAD-7 as a
point of its series, the PHQ-9 baseline, the latest result, and the point-in-time verdicts on it.

- Baseline: the last PHQ-9 taken in the 30 days before the first given infusion, whatever the
  range (server/domain/monitoring.py). None when there is no infusion yet or no PHQ-9 in those
  30 days (never zero); ``baseline_note`` says which.
- Latest: the last PHQ-9 taken on or before the range's last day.
- Change from baseline: (latest − baseline) / baseline × 100, one decimal; negative is better.
  A baseline of 0 has no change (nothing to halve).
- Response: latest ≤ 50% of baseline. Remission: latest < 5. Partial response: latest 25–49%
  below the baseline. Relapse: the latest PHQ-9 is a relapse after a response (monitoring.py).
  Each is judged only against an eligible baseline (≥ 10) and a latest PHQ-9 taken since the
  first infusion; otherwise all are None and ``verdict_note`` says why (a newcomer with a PHQ-9
  of 3 and no infusion is not "in remission").
- Remission at 12 months (CMS159, "Depression Remission at Twelve Months", eCQI): the index is
  the eligible baseline; remission when the last PHQ-9 taken 12 months ± 60 days after it is
  < 5. Unknown (None, with a note) until the data reach the window; a window that closed
  without a PHQ-9 counts as not in remission, as the measure counts it.
- Retracted PHQ-9s and GAD-7s (only a clinician's read holds them) are in the series, marked;
  they are never the baseline or the latest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import msgspec

from server.domain import monitoring
from server.domain.flags import WORSE_BY
from server.domain.monitoring import BASELINE_MIN, Progress, counted
from server.domain.records import Assessment, Infusion
from server.domain.said import Said
from server.i18n import N_

REMISSION_BELOW = monitoring.REMISSION_BELOW
PARTIAL_FROM = -25.0  # % change from baseline at or below which a response is partial
NO_BASELINE = N_("no baseline PHQ-9 before the first infusion")
TWELVE_MONTHS = timedelta(days=365)
CMS159_SLACK = timedelta(days=60)


def _taken(a: Assessment) -> datetime:
    return a.taken_at


class ScorePoint(msgspec.Struct, frozen=True):
    day: date
    taken_at: datetime
    total: int
    band: str
    item9: int | None = None
    retracted_at: datetime | None = None  # the patient took it back (a clinician's view only)


class Phq9Part(msgspec.Struct, frozen=True, kw_only=True):
    baseline: int | None
    baseline_day: date | None
    baseline_note: str | None  # why there is no baseline, in words
    latest: int | None
    latest_day: date | None
    latest_band: str | None
    change_pct: float | None
    # Verdicts on the latest PHQ-9; None when none can be given (``verdict_note`` says why).
    response: bool | None
    remission: bool | None
    partial_response: bool | None
    relapse: bool | None
    verdict_note: str | None
    series: list[ScorePoint]
    remission_12_months: bool | None = None
    remission_12_months_note: str | None = None
    # The three notes as what was found, to word in the reader's language (the notes are
    # these in English).
    baseline_said: Said | None = None
    verdict_said: Said | None = None
    remission_12_months_said: Said | None = None


class Gad7Part(msgspec.Struct, frozen=True, kw_only=True):
    latest: int | None
    latest_day: date | None
    latest_band: str | None
    series: list[ScorePoint]


def _point(a: Assessment) -> ScorePoint:
    return ScorePoint(
        day=a.local_day,
        taken_at=a.taken_at,
        total=a.total,
        band=a.band,
        item9=a.item9,
        retracted_at=a.retracted_at,
    )


def _baseline_note(phq9s: Sequence[Assessment], given: Sequence[Infusion]) -> Said:
    if not given:
        return Said(N_("No infusion has been given yet, so there is no baseline."))
    start = given[0]
    before = [a for a in counted(phq9s) if a.taken_at < start.scheduled_at]
    if not before:
        return Said(
            N_("No PHQ-9 was taken before the first infusion ({day}), so there is no baseline."),
            {"day": str(start.local_day)},
        )
    return Said(
        N_(
            "The last PHQ-9 before the first infusion ({day}) was taken on {taken}, more than "
            "30 days before it, so there is no baseline."
        ),
        {"day": str(start.local_day), "taken": str(before[-1].local_day)},
    )


def phq9_part(
    phq9s: Sequence[Assessment],
    given: Sequence[Infusion],
    first: date,
    last: date,
    progress: Progress | None = None,
    *,
    whole_history: bool = True,
) -> Phq9Part:
    """``phq9s`` in time order, retracted ones included (shown in the series, never counted);
    ``progress`` as for ``monitoring.relapses``."""
    first_at = given[0].scheduled_at if given else None
    baseline = monitoring.baseline_phq9(phq9s, first_at)
    upto = [a for a in counted(phq9s) if a.local_day <= last]
    latest = max(upto, key=_taken) if upto else None
    change = None
    if baseline is not None and latest is not None and baseline.total > 0:
        change = round((latest.total - baseline.total) * 100 / baseline.total, 1)
    verdict: Said | None = None
    if baseline is None:
        verdict = Said(NO_BASELINE)
    elif baseline.total < BASELINE_MIN:
        verdict = Said(N_("baseline PHQ-9 below {limit}"), {"limit": BASELINE_MIN})
    elif latest is None or first_at is None or latest.taken_at < first_at:
        verdict = Said(N_("no PHQ-9 since the first infusion"))
    verdict_note = None if verdict is None else verdict.english
    response = remission = partial = relapse = None
    if verdict_note is None and baseline is not None and latest is not None:
        response = latest.total * 2 <= baseline.total
        remission = latest.total < REMISSION_BELOW
        partial = not response and change is not None and change <= PARTIAL_FROM
        relapse = any(
            f.day == latest.local_day
            for f in monitoring.relapses(
                [a for a in phq9s if a.local_day <= last], first_at, progress
            )
        )
    # The list reads a window of PHQ-9s, not the whole history: no 12-month figure there.
    twelve = _remission_12(phq9s, baseline, last) if whole_history else (None, None)
    no_baseline = None if baseline is not None else _baseline_note(phq9s, given)
    return Phq9Part(
        baseline=None if baseline is None else baseline.total,
        baseline_day=None if baseline is None else baseline.local_day,
        baseline_note=None if no_baseline is None else no_baseline.english,
        latest=None if latest is None else latest.total,
        latest_day=None if latest is None else latest.local_day,
        latest_band=None if latest is None else latest.band,
        change_pct=change,
        response=response,
        remission=remission,
        partial_response=partial,
        relapse=relapse,
        verdict_note=verdict_note,
        series=[_point(a) for a in phq9s if first <= a.local_day <= last],
        remission_12_months=twelve[0],
        remission_12_months_note=None if twelve[1] is None else twelve[1].english,
        baseline_said=no_baseline,
        verdict_said=verdict,
        remission_12_months_said=twelve[1],
    )


def remission_at_12_months(
    phq9s: Sequence[Assessment], baseline: Assessment | None, last: date
) -> tuple[bool | None, str | None]:
    """CMS159 as of ``last`` (see the module's definition); ``phq9s`` in time order."""
    found, note = _remission_12(phq9s, baseline, last)
    return found, None if note is None else note.english


def _remission_12(
    phq9s: Sequence[Assessment], baseline: Assessment | None, last: date
) -> tuple[bool | None, Said | None]:
    if baseline is None or baseline.total < BASELINE_MIN:
        return None, None
    opens = baseline.local_day + TWELVE_MONTHS - CMS159_SLACK
    closes = baseline.local_day + TWELVE_MONTHS + CMS159_SLACK
    window: dict[str, str | int | float | list[Said]] = {"opens": str(opens), "closes": str(closes)}
    if last < opens:
        return None, Said(
            N_("the 12-month window ({opens} to {closes}) has not opened yet"), window
        )
    taken = [a for a in counted(phq9s) if opens <= a.local_day <= min(closes, last)]
    if taken:
        latest = max(taken, key=_taken)
        return latest.total < REMISSION_BELOW, Said(
            N_("PHQ-9 {total} on {day}, in the 12-month window ({opens} to {closes})"),
            {**window, "total": latest.total, "day": str(latest.local_day)},
        )
    if last <= closes:
        return None, Said(N_("no PHQ-9 yet in the 12-month window ({opens} to {closes})"), window)
    return False, Said(
        N_("no PHQ-9 in the 12-month window ({opens} to {closes}): counted as not in remission"),
        window,
    )


def gad7_part(gad7s: Sequence[Assessment], first: date, last: date) -> Gad7Part:
    upto = [a for a in counted(gad7s) if a.local_day <= last]
    latest = max(upto, key=_taken) if upto else None
    return Gad7Part(
        latest=None if latest is None else latest.total,
        latest_day=None if latest is None else latest.local_day,
        latest_band=None if latest is None else latest.band,
        series=[_point(a) for a in gad7s if first <= a.local_day <= last],
    )


def trend(phq9: Phq9Part) -> str | None:
    """A word for the list and the summary: relapse, remission, response, partial response
    (25–49% down), no response, or worse (≥ 5 points up, said even without a verdict); None
    without a baseline."""
    if phq9.relapse:
        return "relapse"
    if phq9.remission:
        return "remission"
    if phq9.response:
        return "response"
    if phq9.baseline is None or phq9.latest is None or phq9.change_pct is None:
        return None
    if phq9.latest - phq9.baseline >= WORSE_BY:
        return "worse"
    if phq9.response is None:
        return None
    if phq9.partial_response:
        return "partial response"
    return "no response"
