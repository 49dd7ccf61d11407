"""Domain records (check-ins, PHQ-9s, GAD-7s, infusions) on day n of a made-up course that
starts on DAY0, and the summary over them as of a fixed NOW: nothing here reads the clock."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from uuid import uuid4

from server.domain.records import Assessment, CheckIn, Infusion, SideEffect
from server.domain.summary import Summary, summarise

PATIENT = uuid4()
DAY0 = date(2025, 3, 1)
NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


def day(n: int) -> date:
    return DAY0 + timedelta(days=n)


def at(n: int, hour: int = 20) -> datetime:
    return datetime.combine(day(n), time(hour), UTC)


def checkin(n: int, mood: int, effects: Iterable[tuple[str, int]] = ()) -> CheckIn:
    return CheckIn(
        id=uuid4(),
        patient_id=PATIENT,
        recorded_at=at(n),
        local_day=day(n),
        mood=mood,
        side_effects=tuple(SideEffect(code, severity) for code, severity in effects),
        updated_at=at(n),
    )


def _band(total: int) -> str:
    for upper, band in ((4, "minimal"), (9, "mild"), (14, "moderate"), (19, "moderately severe")):
        if total <= upper:
            return band
    return "severe"


def phq9(n: int, total: int, item9: int = 0, hour: int = 9) -> Assessment:
    rest = total - item9
    answers = [min(3, max(0, rest - 3 * i)) for i in range(8)] + [item9]
    assert sum(answers) == total
    return Assessment(
        id=uuid4(),
        patient_id=PATIENT,
        instrument="phq9",
        answers=tuple(answers),
        total=total,
        band=_band(total),
        taken_at=at(n, hour),
        local_day=day(n),
        updated_at=at(n, hour),
    )


def gad7(n: int, total: int) -> Assessment:
    answers = [min(3, max(0, total - 3 * i)) for i in range(7)]
    return Assessment(
        id=uuid4(),
        patient_id=PATIENT,
        instrument="gad7",
        answers=tuple(answers),
        total=total,
        band="x",
        taken_at=at(n, 9),
        local_day=day(n),
        updated_at=at(n, 9),
    )


def infusion(n: int, status: str = "completed", hour: int = 14) -> Infusion:
    return Infusion(
        id=uuid4(),
        patient_id=PATIENT,
        scheduled_at=at(n, hour),
        local_day=day(n),
        duration_minutes=40,
        status=status,  # type: ignore[arg-type]
        updated_at=at(n, hour),
    )


def summary(
    checkins: Iterable[CheckIn] = (),
    assessments: Iterable[Assessment] = (),
    infusions: Iterable[Infusion] = (),
    *,
    first: int = 0,
    last: int = 59,
    today: int = 90,
    started: int | None = None,
) -> Summary:
    return summarise(
        checkins=list(checkins),
        assessments=list(assessments),
        infusions=list(infusions),
        first=day(first),
        last=day(last),
        today=day(today),
        as_of=NOW,
        started=None if started is None else day(started),
    )
