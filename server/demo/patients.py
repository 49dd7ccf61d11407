"""The demo's five patients and their 90 days of logs, written through the app's own write path
(services/logbook.py) as if each patient had logged them: daily check-ins with the afterglow
after each infusion, side effects peaking on infusion days, weekly PHQ-9 and GAD-7.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import msgspec

from server.db import Connection
from server.domain.accounts import User
from server.domain.checkins import CheckInContent
from server.domain.infusions import InfusionContent
from server.domain.instruments import AssessmentContent
from server.domain.logbook import ASSESSMENTS, CHECKINS, INFUSIONS, Entry, LogKind
from server.domain.records import SideEffect
from server.services import logbook
from server.services.access import own_access
from server.timeutil import utc_now

DAYS = 90
INDUCTION = (0, 3, 7, 10, 14, 17)  # days after the first infusion: Monday/Thursday, 3 weeks


class DemoPatient(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    email: str
    timezone: str
    first_infusion: int | None  # days before today; None: not started
    start_phq9: int
    end_phq9: int
    start_mood: float
    end_mood: float
    lift: float  # mood gained the day after an infusion, fading over the next days
    logs_until: int = 0  # days before today of the last check-in
    item9_days_ago: int | None = None
    harsh_side_effects: bool = False
    maintenance: tuple[int, ...] = ()  # days before today of later single infusions
    next_planned: int | None = None  # days from today of a planned infusion
    language: str = "en"  # what they read Afterglow in (issue 18)


PATIENTS = (
    DemoPatient(
        name="Maya Okafor",
        email="demo.maya@example.org",
        timezone="America/New_York",
        first_infusion=62,
        start_phq9=21,
        end_phq9=4,
        start_mood=2.5,
        end_mood=7.2,
        lift=3.0,
        maintenance=(20,),
        next_planned=9,
    ),
    DemoPatient(
        name="Daniel Reyes",
        email="demo.daniel@example.org",
        timezone="America/Chicago",
        language="es",
        first_infusion=55,
        start_phq9=19,
        end_phq9=12,
        start_mood=3.0,
        end_mood=4.8,
        lift=2.5,
        item9_days_ago=5,
        next_planned=2,
    ),
    DemoPatient(
        name="Priya Shah",
        email="demo.priya@example.org",
        timezone="America/Los_Angeles",
        first_infusion=48,
        start_phq9=23,
        end_phq9=21,
        start_mood=2.2,
        end_mood=2.8,
        lift=1.5,
        harsh_side_effects=True,
        maintenance=(12,),
    ),
    DemoPatient(
        name="Tom Becker",
        email="demo.tom@example.org",
        timezone="America/Denver",
        first_infusion=70,
        start_phq9=17,
        end_phq9=8,
        start_mood=3.5,
        end_mood=6.5,
        lift=2.8,
        logs_until=5,
        maintenance=(30,),
    ),
    DemoPatient(
        name="Lena Fischer",
        email="demo.lena@example.org",
        timezone="America/New_York",
        first_infusion=None,
        start_phq9=18,
        end_phq9=17,
        start_mood=3.2,
        end_mood=3.4,
        lift=0,
        next_planned=3,
    ),
)


def at(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour, minute), zone)


def _answers(total: int, items: int, rng: random.Random, item9: int = 0) -> list[int]:
    """Answers 0-3 summing to ``total``; for the PHQ-9 the last one (item 9) is ``item9``."""
    free = items - (1 if items == 9 else 0)
    answers = [0] * free
    left = total - item9
    while left > 0:
        i = rng.randrange(free)
        if answers[i] < 3:
            answers[i] += 1
            left -= 1
    return answers + ([item9] if items == 9 else [])


def _side_effects(since: int | None, harsh: bool, rng: random.Random) -> list[SideEffect]:
    """What ketamine commonly does: dissociation and nausea on the day, a headache after."""
    if since is None or since > 2:
        return [SideEffect("anxiety", 1)] if rng.random() < 0.08 else []
    if since == 0:
        found = [SideEffect("dissociation", 3 if harsh else rng.choice((1, 2, 2)))]
        if harsh or rng.random() < 0.6:
            found.append(SideEffect("nausea", 3 if harsh else rng.choice((1, 2))))
        if rng.random() < 0.5:
            found.append(SideEffect("dizziness", rng.choice((1, 2))))
        if harsh and rng.random() < 0.5:
            found.append(SideEffect("elevated_blood_pressure", 2))
        return found
    if since == 1:
        found = [SideEffect("headache", 2 if harsh else 1)] if rng.random() < 0.6 else []
        if rng.random() < 0.5:
            found.append(SideEffect("drowsiness", 1))
        return found
    return [SideEffect("headache", 1)] if rng.random() < 0.25 else []


# What patients write, by days since the last infusion (None: before the first, or 3+ after).
NOTES: dict[int | None, tuple[str, ...]] = {
    0: (
        "Floaty for about an hour after the session, fine by dinner.",
        "Felt detached during the drive home (my sister drove). Better now.",
        "Nausea in the car, the ginger tea helped.",
    ),
    1: (
        "Woke up lighter than I have in months. Went for a walk.",
        "Headache in the morning, gone by lunch.",
        "Clearer today. Called my brother for the first time in weeks.",
    ),
    None: (
        "Bad night, woke at 4 and could not get back to sleep.",
        "Work was heavy. Skipped the gym again.",
        "An ordinary day, which is something.",
        "Low since Sunday. Not unsafe, just flat.",
    ),
}
OTHER_EFFECTS = ("ringing in my ears", "tingling lips", "dry mouth")


def _words(since: int | None, rng: random.Random) -> tuple[str | None, list[SideEffect]]:
    """A note now and then, and an "Other" side effect in the patient's words after a session
    (their own random stream, so the rest of the demo stays as it was)."""
    pool = NOTES[since if since in (0, 1) else None]
    note = rng.choice(pool) if rng.random() < 0.14 else None
    other = (
        [SideEffect("other", 1, rng.choice(OTHER_EFFECTS))]
        if since in (0, 1) and rng.random() < 0.2
        else []
    )
    return note, other


async def _log(conn: Connection, user: User, kind: LogKind, content: Any, now: datetime) -> None:
    """Through the app's own write path, as if the patient had logged it."""
    entry = Entry(id=uuid4(), patient_id=user.id, zone=user.zone, updated_at=now)
    await logbook.record(conn, own_access(user), kind, entry, content, updated_by=user.id, now=now)


async def log_patient(
    conn: Connection, user: User, spec: DemoPatient, today: date, rng: random.Random
) -> None:
    zone = user.zone
    now = utc_now()
    infusion_days: list[int] = []
    if spec.first_infusion is not None:
        infusion_days = [spec.first_infusion - d for d in INDUCTION] + list(spec.maintenance)
    for ago in infusion_days:
        await _log(
            conn,
            user,
            INFUSIONS,
            InfusionContent(
                scheduled_at=at(today - timedelta(days=ago), 10, 0, zone),
                duration_minutes=40,
                status="completed",
            ),
            now,
        )
    if spec.next_planned is not None:
        await _log(
            conn,
            user,
            INFUSIONS,
            InfusionContent(
                scheduled_at=at(today + timedelta(days=spec.next_planned), 10, 0, zone),
                duration_minutes=40,
                status="planned",
            ),
            now,
        )

    def progress(ago: int) -> float:
        """0 before treatment, rising to 1 at today."""
        if spec.first_infusion is None or ago > spec.first_infusion:
            return 0.0
        return 1 - ago / spec.first_infusion

    words_rng = random.Random(spec.email)
    for ago in range(DAYS - 1, spec.logs_until - 1, -1):
        day = today - timedelta(days=ago)
        given = [d for d in infusion_days if d >= ago]
        since = None if not given else min(given) - ago
        mood = spec.start_mood + (spec.end_mood - spec.start_mood) * progress(ago)
        if since is not None and since <= 3:
            # The afterglow: up the day after, fading back over two or three days.
            mood += (-0.3, 1.0, 0.55, 0.2)[since] * spec.lift
        mood += rng.gauss(0, 0.7)
        skipped = since != 0 and rng.random() < 0.07
        if skipped or (ago == 0 and datetime.now(zone).hour < 20):
            continue
        note, other = _words(since, words_rng)
        await _log(
            conn,
            user,
            CHECKINS,
            CheckInContent(
                recorded_at=at(day, 20, rng.randrange(60), zone),
                mood=max(0, min(10, round(mood))),
                anxiety=max(0, min(10, round(9 - mood + rng.gauss(0, 1)))),
                energy=max(0, min(10, round(mood + rng.gauss(0, 1)))),
                sleep_hours=round(max(3.0, min(10.0, 6.5 + rng.gauss(0, 1))) * 2) / 2,
                note=note,
                side_effects=_side_effects(since, spec.harsh_side_effects, rng) + other,
            ),
            now,
        )

    for ago in range(DAYS - 2, -1, -7):
        day = today - timedelta(days=ago)
        phq9 = round(spec.start_phq9 + (spec.end_phq9 - spec.start_phq9) * progress(ago))
        phq9 = max(0, min(27, phq9 + rng.choice((-1, 0, 0, 1))))
        item9 = 1 if spec.item9_days_ago is not None and abs(ago - spec.item9_days_ago) < 4 else 0
        for instrument, total, items in (
            ("phq9", max(phq9, item9), 9),
            ("gad7", max(0, min(21, round(phq9 * 0.75) + rng.choice((-1, 0, 1)))), 7),
        ):
            await _log(
                conn,
                user,
                ASSESSMENTS,
                AssessmentContent(
                    instrument=instrument,  # type: ignore[arg-type]
                    answers=_answers(total, items, rng, item9 if items == 9 else 0),
                    taken_at=at(day, 9, 30, zone),
                ),
                now,
            )
