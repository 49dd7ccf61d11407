"""Requests to the clinic: a follow-up appointment, a medication concern
(migrations/0023_clinics.sql)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from server.db import Connection
from server.domain.clinic import ClinicRequest

_SELECT = """
SELECT r.id, r.clinic_id, c.name AS clinic_name, r.patient_id, u.display_name AS patient_name,
       r.kind, r.message, r.preferred_times, r.status, r.reply, r.replied_by_name, r.replied_at,
       r.created_at, r.updated_at
  FROM clinic_requests r
  JOIN clinics c ON c.id = r.clinic_id
  JOIN users u ON u.id = r.patient_id
"""


def _request(row: Any) -> ClinicRequest:
    return ClinicRequest(**dict(row))


async def send(
    conn: Connection,
    *,
    clinic_id: UUID,
    patient_id: UUID,
    kind: str,
    message: str,
    preferred_times: str | None,
) -> ClinicRequest:
    """The request and a neutral email to each member who takes its kind."""
    request_id = await conn.fetchval(
        """INSERT INTO clinic_requests (clinic_id, patient_id, kind, message, preferred_times)
           VALUES ($1, $2, $3, $4, $5) RETURNING id""",
        clinic_id,
        patient_id,
        kind,
        message,
        preferred_times,
    )
    await conn.execute("SELECT afterglow_notify_request($1)", request_id)
    row = await conn.fetchrow(_SELECT + " WHERE r.id = $1", request_id)
    return _request(row)


async def of_patient(
    conn: Connection, patient_id: UUID, limit: int | None = 50
) -> list[ClinicRequest]:
    rows = await conn.fetch(
        _SELECT + " WHERE r.patient_id = $1 ORDER BY r.created_at DESC LIMIT $2", patient_id, limit
    )
    return [_request(r) for r in rows]


async def inbox(
    conn: Connection, clinic_id: UUID, kinds: list[str], *, open_only: bool, limit: int = 200
) -> list[ClinicRequest]:
    """The clinic's requests of ``kinds``; row-level security leaves only those of patients who
    share with the clinic now."""
    rows = await conn.fetch(
        _SELECT
        + """ WHERE r.clinic_id = $1 AND r.kind = ANY ($2::text[])
                AND (NOT $3 OR r.status <> 'done')
              ORDER BY (r.status = 'done'), r.created_at DESC LIMIT $4""",
        clinic_id,
        kinds,
        open_only,
        limit,
    )
    return [_request(r) for r in rows]


async def located(conn: Connection, request_id: UUID) -> tuple[UUID, str] | None:
    """The clinic and kind of a request in one of the caller's clinics (any role)."""
    row = await conn.fetchrow("SELECT * FROM afterglow_request_kind($1)", request_id)
    return None if row is None else (row["clinic_id"], row["kind"])


async def one(conn: Connection, request_id: UUID) -> ClinicRequest | None:
    row = await conn.fetchrow(_SELECT + " WHERE r.id = $1", request_id)
    return None if row is None else _request(row)


async def answer(
    conn: Connection,
    request_id: UUID,
    *,
    status: str,
    reply: str | None,
    by: UUID,
    by_name: str,
    now: datetime,
) -> ClinicRequest | None:
    """A new status and (when given) a reply, which the patient sees with who wrote it."""
    done = await conn.fetchval(
        """UPDATE clinic_requests
              SET status = $2, updated_at = $6,
                  reply = coalesce($3, reply),
                  replied_by = CASE WHEN $3::text IS NULL THEN replied_by ELSE $4 END,
                  replied_by_name = CASE WHEN $3::text IS NULL THEN replied_by_name ELSE $5 END,
                  replied_at = CASE WHEN $3::text IS NULL THEN replied_at ELSE $6 END
            WHERE id = $1 RETURNING id""",
        request_id,
        status,
        reply,
        by,
        by_name,
        now,
    )
    return None if done is None else await one(conn, request_id)
