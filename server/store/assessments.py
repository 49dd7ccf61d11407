"""Assessments (PHQ-9, GAD-7), stored with their answers so a total can always be recomputed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from server.access import Access
from server.db import Connection
from server.domain.records import Assessment
from server.domain.sync import ChangeKey, ServerChange, delete_key
from server.store import sync
from server.store.sync import Table, Written

TABLE = Table(
    name="assessments",
    writes=(
        ("instrument", "text"),
        ("answers", "smallint[]"),
        ("total", "smallint"),
        ("band", "text"),
        ("taken_at", "timestamptz"),
        ("local_day", "date"),
    ),
    reads=(
        "id, patient_id, instrument, answers, total, band, taken_at, local_day, "
        "client_updated_at, deleted"
    ),
)
_WRITE = sync.write_statement(TABLE)
_FEED = sync.feed_statement(TABLE)
_TOMBSTONE: tuple[Any, ...] = (None,) * 6


def assessment_from_row(row: Any) -> Assessment:
    return Assessment(
        id=row["id"],
        patient_id=row["patient_id"],
        instrument=row["instrument"],
        answers=tuple(row["answers"]),
        total=row["total"],
        band=row["band"],
        taken_at=row["taken_at"],
        local_day=row["local_day"],
        updated_at=row["client_updated_at"],
    )


async def save_assessment(
    conn: Connection, access: Access, assessment: Assessment, version: str
) -> tuple[Written, Assessment | None]:
    written = await sync.write(
        conn,
        _WRITE,
        entry_id=assessment.id,
        patient_id=access.patient_id,
        key=ChangeKey(updated_at=assessment.updated_at, deleted=False, version=version),
        values=(
            assessment.instrument,
            list(assessment.answers),
            assessment.total,
            assessment.band,
            assessment.taken_at,
            assessment.local_day,
        ),
    )
    return written, None if written.row is None else assessment_from_row(written.row)


async def delete_assessment(
    conn: Connection, access: Access, assessment_id: UUID, updated_at: datetime
) -> Written:
    return await sync.write(
        conn,
        _WRITE,
        entry_id=assessment_id,
        patient_id=access.patient_id,
        key=delete_key(updated_at),
        values=_TOMBSTONE,
    )


async def assessment_by_id(
    conn: Connection, access: Access, assessment_id: UUID
) -> Assessment | None:
    row = await conn.fetchrow(
        f"""SELECT {TABLE.reads} FROM assessments
             WHERE id = $1 AND patient_id = $2 AND NOT deleted""",
        assessment_id,
        access.patient_id,
    )
    return None if row is None else assessment_from_row(row)


async def is_deleted(conn: Connection, access: Access, assessment_id: UUID) -> bool | None:
    return await sync.is_deleted(conn, TABLE, access.patient_id, assessment_id)


async def assessments_between(
    conn: Connection,
    access: Access,
    first_day: date,
    last_day: date,
    *,
    instrument: str | None,
    limit: int,
    before: tuple[datetime, UUID] | None = None,
) -> list[Assessment]:
    """Assessments taken on local days first_day..last_day, newest first."""
    before_at, before_id = before if before else (None, None)
    rows = await conn.fetch(
        f"""SELECT {TABLE.reads} FROM assessments
             WHERE patient_id = $1 AND NOT deleted AND local_day BETWEEN $2 AND $3
               AND ($4::text IS NULL OR instrument = $4::text)
               AND ($5::timestamptz IS NULL OR (taken_at, id) < ($5::timestamptz, $6::uuid))
             ORDER BY taken_at DESC, id DESC
             LIMIT $7""",
        access.patient_id,
        first_day,
        last_day,
        instrument,
        before_at,
        before_id,
        limit,
    )
    return [assessment_from_row(row) for row in rows]


async def all_assessments(conn: Connection, access: Access) -> list[Assessment]:
    rows = await conn.fetch(
        f"""SELECT {TABLE.reads} FROM assessments
             WHERE patient_id = $1 AND NOT deleted ORDER BY taken_at, id""",
        access.patient_id,
    )
    return [assessment_from_row(row) for row in rows]


def _as_change(row: Any) -> ServerChange:
    return ServerChange(
        kind="assessment",
        id=row["id"],
        op="delete" if row["deleted"] else "upsert",
        updated_at=row["client_updated_at"],
        data=None if row["deleted"] else assessment_from_row(row),
    )


async def assessment_changes(
    conn: Connection, access: Access, after_seq: int, limit: int
) -> list[tuple[int, ServerChange]]:
    """Changes after ``after_seq``, tombstones included, oldest change first."""
    rows = await conn.fetch(_FEED, access.patient_id, after_seq, limit)
    return [(row["change_seq"], _as_change(row)) for row in rows]


async def assessment_state(
    conn: Connection, access: Access, assessment_id: UUID
) -> ServerChange | None:
    """The entry as it stands (or its tombstone), for a device whose change lost."""
    row = await conn.fetchrow(
        f"SELECT {TABLE.reads} FROM assessments WHERE id = $1 AND patient_id = $2",
        assessment_id,
        access.patient_id,
    )
    return None if row is None else _as_change(row)
