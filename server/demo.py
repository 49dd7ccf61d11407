"""A demo clinic, so anyone can see the product in a minute: ``python -m server demo-data``.

One clinician and five patients, each with 90 days of daily check-ins ending today, weekly PHQ-9
and GAD-7, an induction series of six infusions (twice a week) with the mood lift after each
one fading within a few days ("afterglow"), side effects peaking on infusion days, and each a
different course: remission, partial response with an item-9 answer last week, no response with
severe side effects, a responder who stopped logging, and a newcomer before the first infusion.
All of them share with the clinician. Every entry goes through the same write path as the app.

Running it again replaces the demo accounts (found by their emails) and nothing else.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import asyncpg
import msgspec

from server import db
from server.config import Settings
from server.db import Connection
from server.domain.accounts import Access, User
from server.domain.chair import SessionRecordIn, Vitals
from server.domain.checkins import CheckInContent
from server.domain.companions import ChecklistIn, CompanionIn
from server.domain.courses import Course, CoursePlan
from server.domain.infusions import InfusionContent
from server.domain.instruments import AssessmentContent
from server.domain.logbook import ASSESSMENTS, CHECKINS, INFUSIONS, Entry, LogKind
from server.domain.records import SideEffect
from server.domain.sharing import code_hash, new_code
from server.services import chair, companions, courses, logbook, mfa, passwords
from server.services.access import own_access
from server.store import audit, entries
from server.store import clinic_requests as request_store
from server.store import clinics as clinic_store
from server.store import shares as share_store
from server.store import users as user_store
from server.timeutil import local_day, utc_now

DEMO_PASSWORD = "afterglow-demo"  # noqa: S105 (documented; demo accounts only)
CLINICIAN_EMAIL = "demo.clinician@example.org"
# A clinic's care team (issue 15), beside the single doctor above: every demo patient shares
# with both, so the clinician's own pages stay as they were.
CLINIC_NAME = "Riverside Clinic (demo)"
TEAM = (
    ("admin", "Ada Admin", "demo.admin@example.org"),
    ("prescriber", "Dr. Omar Haddad", "demo.prescriber@example.org"),
    ("nurse", "Nia Okafor", "demo.nurse@example.org"),
    ("front_desk", "Frank Dube", "demo.frontdesk@example.org"),
)
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


class DemoLogin(msgspec.Struct, frozen=True):
    role: str
    name: str
    email: str


def _at(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
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


async def _log_patient(
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
                scheduled_at=_at(today - timedelta(days=ago), 10, 0, zone),
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
                scheduled_at=_at(today + timedelta(days=spec.next_planned), 10, 0, zone),
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
                recorded_at=_at(day, 20, rng.randrange(60), zone),
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
                    taken_at=_at(day, 9, 30, zone),
                ),
                now,
            )


async def create_demo_clinic(
    conn: Connection, *, seed: int = 7, progress: Callable[[str], None] = lambda _: None
) -> list[DemoLogin]:
    """Replace the demo accounts with a fresh clinic; returns the logins."""
    emails = [CLINICIAN_EMAIL, *(p.email for p in PATIENTS), *(t[2] for t in TEAM)]
    await conn.execute("DELETE FROM users WHERE lower(email) = ANY($1::text[])", emails)
    await conn.execute("DELETE FROM clinics WHERE name = $1", CLINIC_NAME)
    password_hash = await passwords.hash_password(DEMO_PASSWORD)
    rng = random.Random(seed)
    clinician = await user_store.create_user(
        conn,
        email=CLINICIAN_EMAIL,
        role="clinician",
        password_hash=password_hash,
        display_name="Dr. Ana Lindqvist",
        timezone="America/New_York",
    )
    logins = [DemoLogin("clinician", clinician.display_name, clinician.email)]
    for spec in PATIENTS:
        async with conn.transaction():
            user = await user_store.create_user(
                conn,
                email=spec.email,
                role="patient",
                password_hash=password_hash,
                display_name=spec.name,
                timezone=spec.timezone,
                language=spec.language,
            )
            # The account is as old as the log, so adherence counts the whole 90 days.
            created = await conn.fetchval(
                "UPDATE users SET created_at = now() - $2::interval WHERE id = $1"
                " RETURNING created_at",
                user.id,
                timedelta(days=DAYS),
            )
            user = msgspec.structs.replace(user, created_at=created)
            await _log_patient(conn, user, spec, local_day(utc_now(), user.zone), rng)
            await _share(conn, user, clinician)
            await _infusion_day(conn, user, clinician, spec)
        progress(spec.name)
        logins.append(DemoLogin("patient", spec.name, spec.email))
    logins += await _care_team(conn, password_hash)
    return logins


async def _care_team(conn: Connection, password_hash: str) -> list[DemoLogin]:
    """The clinic: an admin, a prescriber, a nurse and a front desk; every demo patient shares
    with the whole team, two have open requests, and their infusions are its schedule."""
    clinic_id = await clinic_store.create_clinic(conn, CLINIC_NAME)
    await conn.execute(
        """UPDATE clinics SET phone = '+1 555 0100',
                  pre_session_instructions = 'Nothing to eat for 4 hours before your session. '
                      || 'Bring a list of your medicines and someone to drive you home.'
            WHERE id = $1""",
        clinic_id,
    )
    logins = []
    for role, name, email in TEAM:
        member = await user_store.create_user(
            conn,
            email=email,
            role="clinician",
            password_hash=password_hash,
            display_name=name,
            timezone="America/New_York",
        )
        await clinic_store.add_member(conn, clinic_id, member.id, [role])
        logins.append(DemoLogin(role.replace("_", " "), name, email))
    patients = await conn.fetch(
        "SELECT id FROM users WHERE lower(email) = ANY($1::text[]) ORDER BY display_name",
        [p.email for p in PATIENTS],
    )
    for row in patients:
        await clinic_store.start_team_share(conn, clinic_id, row["id"])
    asks = (
        ("appointment", "Could I book my next maintenance session for next week?", "Mornings"),
        ("medication", "Should I still hold my evening dose the day before a session?", None),
    )
    for row, (kind, message, when) in zip(patients, asks, strict=False):
        await request_store.send(
            conn,
            clinic_id=clinic_id,
            patient_id=row["id"],
            kind=kind,
            message=message,
            preferred_times=when,
        )
    return logins


async def _share(conn: Connection, patient: User, clinician: User) -> UUID:
    code = new_code()
    share = await share_store.create_share(
        conn,
        patient_id=patient.id,
        code_hash=code_hash(code),
        expires_at=utc_now() + timedelta(hours=72),
    )
    await share_store.accept_code(conn, code_hash=code_hash(code), clinician_id=clinician.id)
    detail = {"share_id": str(share.id)}
    await audit.record(
        conn,
        actor=patient,
        patient_id=patient.id,
        action="share_create",
        address="demo-data",
        detail=detail,
    )
    await audit.record(
        conn,
        actor=clinician,
        patient_id=patient.id,
        action="share_accept",
        address="demo-data",
        detail=detail,
    )
    return share.id


async def _infusion_day(
    conn: Connection, patient: User, clinician: User, spec: DemoPatient
) -> None:
    """Infusion day (issue 16): the induction as a course, a chair record of each of its
    sessions (vital signs three times), a maintenance course after it, and the next session's
    ride home (a companion asked, or a rideshare)."""
    rng = random.Random(f"{spec.email}/chair")
    access = Access(patient_id=patient.id, viewer=clinician, as_="clinician")
    logged = await entries.in_range(conn, INFUSIONS, access, None, None)
    upcoming = [i for i in logged if i.status == "planned"]
    if upcoming:
        ride = (
            ChecklistIn(ride="person", companion=CompanionIn(name="Ana", email="ana@example.org"))
            if rng.random() < 0.5
            else ChecklistIn(ride="rideshare", instructions_read=True)
        )
        await companions.checklist_on(
            conn, own_access(patient), upcoming[0], ride, utc_now(), clinic="Riverside Clinic"
        )
    if spec.first_infusion is None:
        return
    given = sorted((i for i in logged if i.status == "completed"), key=lambda i: i.scheduled_at)
    induction = given[: len(INDUCTION)]
    first = induction[0].scheduled_at
    course = Course(
        id=uuid4(),
        patient_id=patient.id,
        kind="induction",
        drug="iv_ketamine",
        sessions=len(induction),
        every_days=3,
        first_at=first,
        duration_minutes=40,
        planned_by=clinician.id,
        created_at=first - timedelta(days=7),
    )
    await courses.adopt_sessions(conn, access, course, [i.id for i in induction])
    weight = rng.randrange(58, 95)
    for session in induction:
        start = session.scheduled_at
        base = rng.randrange(118, 146)
        await chair.record_on(
            conn,
            access,
            session.id,
            SessionRecordIn(
                drug="iv_ketamine",
                started_at=start,
                ended_at=start + timedelta(minutes=40),
                weight_kg=weight,
                dose_mg_per_kg=0.5,
                before=Vitals(systolic=base, diastolic=base - 44, heart_rate=rng.randrange(62, 84)),
                during=Vitals(
                    systolic=base + rng.randrange(8, 24),
                    diastolic=base - 40,
                    heart_rate=rng.randrange(72, 96),
                ),
                discharge=Vitals(
                    systolic=base + rng.randrange(0, 6),
                    diastolic=base - 43,
                    heart_rate=rng.randrange(62, 80),
                ),
                dissociation=rng.randrange(2, 8),
                feeling=rng.randrange(5, 9),
                discharged_at=start + timedelta(minutes=rng.randrange(80, 110)),
                left_with="Ana (sister)" if rng.random() < 0.6 else "Rideshare",
            ),
        )
    if not upcoming:
        return
    later = local_day(upcoming[0].scheduled_at, patient.zone) + timedelta(days=28)
    await courses.plan_on(
        conn,
        access,
        patient,
        CoursePlan(
            kind="maintenance",
            drug="iv_ketamine",
            sessions=3,
            every_days=28,
            first_at=_at(later, 10, 0, patient.zone),
            duration_minutes=40,
        ),
        utc_now(),
    )


async def run(settings: Settings) -> int:
    """The ``demo-data`` command: migrate, build the clinic, print the logins."""
    url = await db.database_url(settings)
    plain = await asyncpg.connect(url, timeout=10)
    try:
        await db.migrate(plain)
    finally:
        await plain.close()
    # An operator command writing many patients' logs: it works as the tables' owner (the
    # migrating user), whose row-level security policy lets it see every patient.
    pool = await db.create_pool(url, settings, min_size=1, max_size=1)
    secret = None
    try:
        async with pool.acquire() as conn:
            logins = await create_demo_clinic(
                conn, progress=lambda name: print(f"  made {name}", flush=True)
            )
            if settings.clinician_mfa == "required":
                secret = await mfa.give_demo_totp(conn, CLINICIAN_EMAIL)
    finally:
        await pool.close()
    print(f"\nDemo clinic ready. Every demo account's password is: {DEMO_PASSWORD}")
    for login in logins:
        print(f"  {login.role:<9} {login.name:<18} {login.email}")
    print(
        "Sign in at /login: the clinician sees the patient list at /clinician; the clinic's "
        "care team (demo.admin, demo.prescriber, demo.nurse, demo.frontdesk) works at /clinic."
    )
    if secret is None:
        print(
            "Two-step sign-in is optional here (AFTERGLOW_CLINICIAN_MFA=optional, the dev "
            "default): the clinician signs in with the password alone."
        )
    else:
        print(
            "Clinicians need two-step sign-in here (AFTERGLOW_CLINICIAN_MFA=required): add this "
            f"key to an authenticator app (time-based) and enter its code after the password:\n"
            f"  {secret}"
        )
    return 0
