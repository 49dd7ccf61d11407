"""Infusion sessions. Written by the patient today and by a clinician with a share later, so
every write takes the ``Access`` it was granted and who made the change (``updated_by``).

Every applied change moves ``updated_at`` and re-plans the patient's reminders in the same
transaction, so a moved or cancelled session never leaves a stale reminder behind: callers run
these writes inside ``transaction()``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from server.access import Access
from server.db import Connection
from server.domain.records import Infusion
from server.domain.sync import ChangeKey, ServerChange, delete_key
from server.store import reminders as reminder_store
from server.store import sync
from server.store.sync import Table, Written

TABLE = Table(
    name="infusions",
    writes=(
        ("scheduled_at", "timestamptz"),
        ("local_day", "date"),
        ("duration_minutes", "smallint"),
        ("status", "text"),
        ("notes", "text"),
        ("updated_by", "uuid"),
    ),
    reads=(
        "id, patient_id, scheduled_at, local_day, duration_minutes, status, notes, "
        "client_updated_at, deleted"
    ),
)
_WRITE = sync.write_statement(TABLE)
_FEED = sync.feed_statement(TABLE)


def infusion_from_row(row: Any) -> Infusion:
    return Infusion(
        id=row["id"],
        patient_id=row["patient_id"],
        scheduled_at=row["scheduled_at"],
        local_day=row["local_day"],
        duration_minutes=row["duration_minutes"],
        status=row["status"],
        notes=row["notes"],
        updated_at=row["client_updated_at"],
    )


async def save_infusion(
    conn: Connection, access: Access, infusion: Infusion, version: str, *, updated_by: UUID
) -> tuple[Written, Infusion | None]:
    written = await sync.write(
        conn,
        _WRITE,
        entry_id=infusion.id,
        patient_id=access.patient_id,
        key=ChangeKey(updated_at=infusion.updated_at, deleted=False, version=version),
        values=(
            infusion.scheduled_at,
            infusion.local_day,
            infusion.duration_minutes,
            infusion.status,
            infusion.notes,
            updated_by,
        ),
    )
    if written.outcome == "applied":
        await reminder_store.replan_patient(conn, access.patient_id)
    return written, None if written.row is None else infusion_from_row(written.row)


async def delete_infusion(
    conn: Connection,
    access: Access,
    infusion_id: UUID,
    updated_at: datetime,
    *,
    updated_by: UUID,
) -> Written:
    written = await sync.write(
        conn,
        _WRITE,
        entry_id=infusion_id,
        patient_id=access.patient_id,
        key=delete_key(updated_at),
        values=(None, None, None, None, None, updated_by),
    )
    if written.outcome == "applied":
        await reminder_store.replan_patient(conn, access.patient_id)
    return written


async def infusion_by_id(conn: Connection, access: Access, infusion_id: UUID) -> Infusion | None:
    row = await conn.fetchrow(
        f"SELECT {TABLE.reads} FROM infusions WHERE id = $1 AND patient_id = $2 AND NOT deleted",
        infusion_id,
        access.patient_id,
    )
    return None if row is None else infusion_from_row(row)


async def is_deleted(conn: Connection, access: Access, infusion_id: UUID) -> bool | None:
    return await sync.is_deleted(conn, TABLE, access.patient_id, infusion_id)


async def infusions_between(
    conn: Connection,
    access: Access,
    first_day: date | None,
    last_day: date | None,
    *,
    limit: int,
    before: tuple[datetime, UUID] | None = None,
) -> list[Infusion]:
    """Infusions (optionally on local days first_day..last_day), latest scheduled first."""
    before_at, before_id = before if before else (None, None)
    rows = await conn.fetch(
        f"""SELECT {TABLE.reads} FROM infusions
             WHERE patient_id = $1 AND NOT deleted
               AND ($2::date IS NULL OR local_day >= $2::date)
               AND ($3::date IS NULL OR local_day <= $3::date)
               AND ($4::timestamptz IS NULL OR (scheduled_at, id) < ($4::timestamptz, $5::uuid))
             ORDER BY scheduled_at DESC, id DESC
             LIMIT $6""",
        access.patient_id,
        first_day,
        last_day,
        before_at,
        before_id,
        limit,
    )
    return [infusion_from_row(row) for row in rows]


async def all_infusions(conn: Connection, access: Access) -> list[Infusion]:
    rows = await conn.fetch(
        f"""SELECT {TABLE.reads} FROM infusions
             WHERE patient_id = $1 AND NOT deleted ORDER BY scheduled_at, id""",
        access.patient_id,
    )
    return [infusion_from_row(row) for row in rows]


def _as_change(row: Any) -> ServerChange:
    return ServerChange(
        kind="infusion",
        id=row["id"],
        op="delete" if row["deleted"] else "upsert",
        updated_at=row["client_updated_at"],
        data=None if row["deleted"] else infusion_from_row(row),
    )


async def infusion_changes(
    conn: Connection, access: Access, after_seq: int, limit: int
) -> list[tuple[int, ServerChange]]:
    """Changes after ``after_seq``, tombstones included, oldest change first."""
    rows = await conn.fetch(_FEED, access.patient_id, after_seq, limit)
    return [(row["change_seq"], _as_change(row)) for row in rows]


async def infusion_state(
    conn: Connection, access: Access, infusion_id: UUID
) -> ServerChange | None:
    """The entry as it stands (or its tombstone), for a device whose change lost."""
    row = await conn.fetchrow(
        f"SELECT {TABLE.reads} FROM infusions WHERE id = $1 AND patient_id = $2",
        infusion_id,
        access.patient_id,
    )
    return None if row is None else _as_change(row)
