"""Treatment plans: a prescriber plans a course, its sessions become the patient's infusions
(reminders planned for each, as for any infusion), and the course is judged on its own
baseline (server/domain/courses.py). The patient sees where they are in it."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

import msgspec

from server.db import Connection, Pool, transaction
from server.domain.accounts import Access, User
from server.domain.courses import (
    Course,
    CourseOutcome,
    CoursePlan,
    CourseProgress,
    check_plan,
    current_course,
    outcomes,
    progress,
    session_times,
)
from server.domain.infusions import InfusionContent
from server.domain.logbook import ASSESSMENTS, INFUSIONS, Entry
from server.domain.records import Infusion
from server.services import logbook
from server.services.access import audit_clinician, own_access, parse_patient_id, patient_access
from server.store import courses as course_store
from server.store import entries
from server.store import summary as summary_store
from server.timeutil import local_day, utc_now


class PlannedCourse(msgspec.Struct, frozen=True, kw_only=True):
    course: Course
    sessions: list[Infusion]


async def plan_course(
    pool: Pool, viewer: User, raw_patient_id: str, plan: CoursePlan, *, address: str
) -> PlannedCourse:
    """Plan the course and write its sessions as planned infusions, in one transaction (each
    re-plans the patient's reminders, as a patient's own change does)."""
    now = utc_now()
    plan = check_plan(plan, now)
    async with transaction(pool) as conn:
        # A treatment plan is the prescriber's (issue 16): a nurse records sessions, plans none.
        access = await patient_access(conn, viewer, parse_patient_id(raw_patient_id), "plan_write")
        patient = await summary_store.patient_account(conn, access)
        planned = await plan_on(conn, access, patient, plan, now)
        await audit_clinician(
            conn,
            access,
            "infusion_change",
            address=address,
            detail={"course_id": str(planned.course.id), "sessions": len(planned.sessions)},
        )
    return planned


async def plan_on(
    conn: Connection, access: Access, patient: User, plan: CoursePlan, now: datetime
) -> PlannedCourse:
    """The course and its sessions, in the caller's transaction (the API, the demo)."""
    course = Course(
        id=uuid4(),
        patient_id=patient.id,
        kind=plan.kind,
        drug=plan.drug,
        sessions=plan.sessions,
        every_days=plan.every_days,
        first_at=plan.first_at,
        duration_minutes=plan.duration_minutes,
        planned_by=access.viewer.id,
        created_at=now,
    )
    await course_store.insert(conn, access, course)
    sessions = [
        await _add_session(conn, access, patient, course, when, now)
        for when in session_times(plan, patient.zone)
    ]
    return PlannedCourse(course=course, sessions=sessions)


async def adopt_sessions(
    conn: Connection, access: Access, course: Course, infusion_ids: list[UUID]
) -> None:
    """A course for sessions already in the log (a plan entered after the fact: the demo's
    induction)."""
    await course_store.insert(conn, access, course)
    for infusion_id in infusion_ids:
        await course_store.attach_session(conn, access, course.id, infusion_id)


async def _add_session(
    conn: Connection, access: Access, patient: User, course: Course, when: datetime, now: datetime
) -> Infusion:
    entry = Entry(id=uuid4(), patient_id=patient.id, zone=patient.zone, updated_at=now)
    content = InfusionContent(
        scheduled_at=when, duration_minutes=course.duration_minutes, status="planned"
    )
    written = await logbook.record(
        conn, access, INFUSIONS, entry, content, updated_by=access.viewer.id, now=now
    )
    await course_store.attach_session(conn, access, course.id, entry.id)
    stored: Infusion = written.record
    return msgspec.structs.replace(stored, course_id=course.id)


async def course_outcomes(conn: Connection, access: Access, patient: User) -> list[CourseOutcome]:
    """Every course of the patient, newest first, each with its own baseline and verdicts
    (for the summary; the caller has passed the access check and writes the audit row)."""
    courses = await course_store.of_patient(conn, access)
    if not courses:
        return []
    now = utc_now()
    infusions = await entries.in_range(conn, INFUSIONS, access, None, None)
    assessments = await entries.in_range(
        conn, ASSESSMENTS, access, None, None, retracted=access.by_clinician
    )
    phq9s = sorted((a for a in assessments if a.instrument == "phq9"), key=lambda a: a.taken_at)
    return outcomes(courses, infusions, phq9s, as_of=now, today=local_day(now, patient.zone))


async def courses_of(
    pool: Pool, viewer: User, raw_patient_id: str, *, address: str
) -> list[CourseOutcome]:
    """The patient's courses for a clinician (or the patient), newest first."""
    async with transaction(pool) as conn:
        access = await patient_access(conn, viewer, parse_patient_id(raw_patient_id))
        patient = await summary_store.patient_account(conn, access)
        found = await course_outcomes(conn, access, patient)
        await audit_clinician(conn, access, "view_infusions", address=address)
    return found


async def my_course(pool: Pool, patient: User) -> CourseProgress | None:
    """The patient's current course: "session 3 of 6" and what comes next."""
    access = own_access(patient)
    async with transaction(pool) as conn:
        course = current_course(await course_store.of_patient(conn, access))
        if course is None:
            return None
        sessions = await _sessions_of(conn, access, course.id)
    return progress(course, sessions, utc_now())


async def _sessions_of(conn: Connection, access: Access, course_id: UUID) -> list[Infusion]:
    return [
        i
        for i in await entries.in_range(conn, INFUSIONS, access, None, None)
        if i.course_id == course_id
    ]
