"""The demo's clinic around its patients: the single doctor they share with (a share code
accepted, audited as in the app), the Riverside care team with open requests (issue 15), and
infusion day (issue 16): courses, chair records and the next session's ride home.
"""

from __future__ import annotations

import random
from datetime import timedelta
from uuid import UUID, uuid4

import msgspec

from server.db import Connection
from server.demo.patients import INDUCTION, PATIENTS, DemoPatient, at
from server.domain.accounts import Access, User
from server.domain.chair import SessionRecordIn, Vitals
from server.domain.companions import ChecklistIn, CompanionIn
from server.domain.courses import Course, CoursePlan
from server.domain.logbook import INFUSIONS
from server.domain.sharing import code_hash, new_code
from server.services import chair, companions, courses
from server.services.access import own_access
from server.store import audit, entries
from server.store import clinic_requests as request_store
from server.store import clinics as clinic_store
from server.store import shares as share_store
from server.store import users as user_store
from server.timeutil import local_day, utc_now

# A clinic's care team (issue 15), beside the single doctor above: every demo patient shares
# with both, so the clinician's own pages stay as they were.
CLINIC_NAME = "Riverside Clinic (demo)"
TEAM = (
    ("admin", "Ada Admin", "demo.admin@example.org"),
    ("prescriber", "Dr. Omar Haddad", "demo.prescriber@example.org"),
    ("nurse", "Nia Okafor", "demo.nurse@example.org"),
    ("front_desk", "Frank Dube", "demo.frontdesk@example.org"),
)


class DemoLogin(msgspec.Struct, frozen=True):
    role: str
    name: str
    email: str


async def care_team(conn: Connection, password_hash: str) -> list[DemoLogin]:
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


async def share_with(conn: Connection, patient: User, clinician: User) -> UUID:
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


async def infusion_day(conn: Connection, patient: User, clinician: User, spec: DemoPatient) -> None:
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
            first_at=at(later, 10, 0, patient.zone),
            duration_minutes=40,
        ),
        utc_now(),
    )
