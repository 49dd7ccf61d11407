"""Session (chair) records (migrations/0025): one per infusion, written by the clinic."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from server.db import Connection
from server.domain.accounts import Access
from server.domain.chair import SessionRecord, SessionRecordIn, VitalSigns

_COLUMNS = """r.infusion_id, r.patient_id, r.drug, r.started_at, r.ended_at, r.weight_kg,
              r.dose_mg_per_kg, r.dose_mg, r.vitals, r.dissociation, r.feeling, r.feeling_note,
              r.adverse_events, r.discharged_at, r.left_with, r.recorded_by, r.updated_at"""


def _record(row: Any) -> SessionRecord:
    return msgspec.convert(dict(row), SessionRecord)


async def save(
    conn: Connection,
    access: Access,
    infusion_id: UUID,
    record: SessionRecordIn,
    *,
    recorded_by: UUID,
    now: datetime,
) -> SessionRecord:
    """Create or replace the record of the patient's infusion ``infusion_id``."""
    vitals = VitalSigns(before=record.before, during=record.during, discharge=record.discharge)
    row = await conn.fetchrow(
        f"""INSERT INTO session_records AS r
                (infusion_id, patient_id, drug, started_at, ended_at, weight_kg, dose_mg_per_kg,
                 dose_mg, vitals, dissociation, feeling, feeling_note, adverse_events,
                 discharged_at, left_with, recorded_by, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
            ON CONFLICT (infusion_id) DO UPDATE SET
                drug = EXCLUDED.drug, started_at = EXCLUDED.started_at,
                ended_at = EXCLUDED.ended_at, weight_kg = EXCLUDED.weight_kg,
                dose_mg_per_kg = EXCLUDED.dose_mg_per_kg, dose_mg = EXCLUDED.dose_mg,
                vitals = EXCLUDED.vitals, dissociation = EXCLUDED.dissociation,
                feeling = EXCLUDED.feeling, feeling_note = EXCLUDED.feeling_note,
                adverse_events = EXCLUDED.adverse_events,
                discharged_at = EXCLUDED.discharged_at, left_with = EXCLUDED.left_with,
                recorded_by = EXCLUDED.recorded_by, updated_at = EXCLUDED.updated_at
             WHERE r.patient_id = EXCLUDED.patient_id
            RETURNING {_COLUMNS}""",
        infusion_id,
        access.patient_id,
        record.drug,
        record.started_at,
        record.ended_at,
        record.weight_kg,
        record.dose_mg_per_kg,
        record.dose_mg,
        msgspec.to_builtins(vitals),
        record.dissociation,
        record.feeling,
        record.feeling_note,
        msgspec.to_builtins(record.adverse_events),
        record.discharged_at,
        record.left_with,
        recorded_by,
        now,
    )
    assert row is not None
    return _record(row)


async def of_infusion(conn: Connection, access: Access, infusion_id: UUID) -> SessionRecord | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM session_records r WHERE infusion_id = $1 AND patient_id = $2",
        infusion_id,
        access.patient_id,
    )
    return None if row is None else _record(row)


async def in_range(
    conn: Connection, access: Access, first: date | None, last: date | None
) -> list[tuple[SessionRecord, date]]:
    """Records of live infusions on local days first..last, with that day, oldest first."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS}, i.local_day AS day
              FROM session_records r JOIN infusions i ON i.id = r.infusion_id
             WHERE r.patient_id = $1 AND i.patient_id = $1 AND NOT i.deleted
               AND ($2::date IS NULL OR i.local_day >= $2)
               AND ($3::date IS NULL OR i.local_day <= $3)
             ORDER BY i.scheduled_at""",
        access.patient_id,
        first,
        last,
    )
    return [(_record({k: v for k, v in r.items() if k != "day"}), r["day"]) for r in rows]
