"""Treatment courses (migrations/0025) and which infusions are their sessions. Every query
filters on the patient the caller was given."""

from __future__ import annotations

from uuid import UUID

import msgspec

from server.db import Connection
from server.domain.accounts import Access
from server.domain.courses import Course, Drug

_COLUMNS = """id, patient_id, kind, drug, sessions, every_days, first_at, duration_minutes,
              planned_by, created_at"""


async def insert(conn: Connection, access: Access, course: Course) -> None:
    await conn.execute(
        f"""INSERT INTO courses ({_COLUMNS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        course.id,
        access.patient_id,
        course.kind,
        course.drug,
        course.sessions,
        course.every_days,
        course.first_at,
        course.duration_minutes,
        course.planned_by,
        course.created_at,
    )


async def attach_session(
    conn: Connection, access: Access, course_id: UUID, infusion_id: UUID
) -> None:
    """Make the (just written) infusion a session of the course."""
    await conn.execute(
        """UPDATE infusions SET course_id = $1
            WHERE id = $2 AND patient_id = $3 AND NOT deleted""",
        course_id,
        infusion_id,
        access.patient_id,
    )


async def of_patient(conn: Connection, access: Access) -> list[Course]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM courses WHERE patient_id = $1 ORDER BY first_at, created_at",
        access.patient_id,
    )
    return [msgspec.convert(dict(r), Course) for r in rows]


async def by_id(conn: Connection, access: Access, course_id: UUID) -> Course | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM courses WHERE id = $1 AND patient_id = $2",
        course_id,
        access.patient_id,
    )
    return None if row is None else msgspec.convert(dict(row), Course)


async def session_drugs(conn: Connection, access: Access) -> dict[UUID, Drug]:
    """The drug of each infusion that is a session of a course."""
    rows = await conn.fetch(
        """SELECT i.id, c.drug FROM infusions i JOIN courses c ON c.id = i.course_id
            WHERE i.patient_id = $1 AND c.patient_id = $1""",
        access.patient_id,
    )
    return {r["id"]: r["drug"] for r in rows}
