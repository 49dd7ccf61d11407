"""Check-ins: every query filters on the patient the caller was given access to."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from server.access import Access
from server.db import Connection
from server.domain.records import CheckIn, SideEffect
from server.domain.sync import ChangeKey, ServerChange, delete_key
from server.store import sync
from server.store.sync import Table, Written

TABLE = Table(
    name="checkins",
    writes=(
        ("recorded_at", "timestamptz"),
        ("local_day", "date"),
        ("mood", "smallint"),
        ("anxiety", "smallint"),
        ("energy", "smallint"),
        ("sleep_hours", "float8"),
        ("note", "text"),
        ("side_effects", "jsonb"),
    ),
    reads=(
        "id, patient_id, recorded_at, local_day, mood, anxiety, energy, "
        "sleep_hours::float8 AS sleep_hours, note, side_effects, client_updated_at, deleted"
    ),
)
_WRITE = sync.write_statement(TABLE)
_FEED = sync.feed_statement(TABLE)
_TOMBSTONE: tuple[Any, ...] = (None,) * 7 + ([],)


def checkin_from_row(row: Any) -> CheckIn:
    return CheckIn(
        id=row["id"],
        patient_id=row["patient_id"],
        recorded_at=row["recorded_at"],
        local_day=row["local_day"],
        mood=row["mood"],
        anxiety=row["anxiety"],
        energy=row["energy"],
        sleep_hours=row["sleep_hours"],
        note=row["note"],
        side_effects=msgspec.convert(row["side_effects"], tuple[SideEffect, ...]),
        updated_at=row["client_updated_at"],
    )


async def save_checkin(
    conn: Connection, access: Access, checkin: CheckIn, version: str
) -> tuple[Written, CheckIn | None]:
    """Upsert under the conflict rule; the stored check-in when this change won."""
    written = await sync.write(
        conn,
        _WRITE,
        entry_id=checkin.id,
        patient_id=access.patient_id,
        key=ChangeKey(updated_at=checkin.updated_at, deleted=False, version=version),
        values=(
            checkin.recorded_at,
            checkin.local_day,
            checkin.mood,
            checkin.anxiety,
            checkin.energy,
            checkin.sleep_hours,
            checkin.note,
            list(checkin.side_effects),
        ),
    )
    return written, None if written.row is None else checkin_from_row(written.row)


async def delete_checkin(
    conn: Connection, access: Access, checkin_id: UUID, updated_at: datetime
) -> Written:
    """Leave a tombstone (content erased) so every device learns of the delete."""
    return await sync.write(
        conn,
        _WRITE,
        entry_id=checkin_id,
        patient_id=access.patient_id,
        key=delete_key(updated_at),
        values=_TOMBSTONE,
    )


async def checkin_by_id(conn: Connection, access: Access, checkin_id: UUID) -> CheckIn | None:
    row = await conn.fetchrow(
        f"SELECT {TABLE.reads} FROM checkins WHERE id = $1 AND patient_id = $2 AND NOT deleted",
        checkin_id,
        access.patient_id,
    )
    return None if row is None else checkin_from_row(row)


async def is_deleted(conn: Connection, access: Access, checkin_id: UUID) -> bool | None:
    return await sync.is_deleted(conn, TABLE, access.patient_id, checkin_id)


async def checkins_between(
    conn: Connection,
    access: Access,
    first_day: date,
    last_day: date,
    *,
    limit: int,
    before: tuple[datetime, UUID] | None = None,
) -> list[CheckIn]:
    """Check-ins on local days first_day..last_day, newest first, after the ``before`` bookmark."""
    before_at, before_id = before if before else (None, None)
    rows = await conn.fetch(
        f"""SELECT {TABLE.reads} FROM checkins
             WHERE patient_id = $1 AND NOT deleted AND local_day BETWEEN $2 AND $3
               AND ($4::timestamptz IS NULL OR (recorded_at, id) < ($4::timestamptz, $5::uuid))
             ORDER BY recorded_at DESC, id DESC
             LIMIT $6""",
        access.patient_id,
        first_day,
        last_day,
        before_at,
        before_id,
        limit,
    )
    return [checkin_from_row(row) for row in rows]


async def all_checkins(conn: Connection, access: Access) -> list[CheckIn]:
    rows = await conn.fetch(
        f"""SELECT {TABLE.reads} FROM checkins
             WHERE patient_id = $1 AND NOT deleted ORDER BY recorded_at, id""",
        access.patient_id,
    )
    return [checkin_from_row(row) for row in rows]


def _as_change(row: Any) -> ServerChange:
    return ServerChange(
        kind="checkin",
        id=row["id"],
        op="delete" if row["deleted"] else "upsert",
        updated_at=row["client_updated_at"],
        data=None if row["deleted"] else checkin_from_row(row),
    )


async def checkin_changes(
    conn: Connection, access: Access, after_seq: int, limit: int
) -> list[tuple[int, ServerChange]]:
    """Changes after ``after_seq``, tombstones included, oldest change first."""
    rows = await conn.fetch(_FEED, access.patient_id, after_seq, limit)
    return [(row["change_seq"], _as_change(row)) for row in rows]


async def checkin_state(conn: Connection, access: Access, checkin_id: UUID) -> ServerChange | None:
    """The entry as it stands (or its tombstone), for a device whose change lost."""
    row = await conn.fetchrow(
        f"SELECT {TABLE.reads} FROM checkins WHERE id = $1 AND patient_id = $2",
        checkin_id,
        access.patient_id,
    )
    return None if row is None else _as_change(row)
