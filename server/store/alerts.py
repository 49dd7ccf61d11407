"""Alerts (migrations/0015): raised for every clinician sharing with the patient, read and
acknowledged by each recipient, escalated by the worker when nobody acknowledged in time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from server.db import Connection
from server.domain.alerts import Alert, Raised

_SELECT = """
SELECT a.id, a.patient_id, p.display_name AS patient_name, a.kind, a.local_day AS day,
       a.raised_at, a.detail, a.acknowledged_at, a.acknowledged_by, a.note, a.finding
  FROM alerts a JOIN users p ON p.id = a.patient_id
"""
# One worker at a time decides escalations (any other skips its pass): the rows it reads and
# writes are then never locked in two orders at once.
_ESCALATION_LOCK = "afterglow_alert_escalation"


def _alert(row: Any) -> Alert:
    return msgspec.convert(dict(row), Alert)


async def raise_alert(conn: Connection, patient_id: UUID, raised: Raised) -> int:
    """Raise ``raised`` about the patient for every clinician with an active share, with a push
    and an email to each new recipient, in the caller's transaction (a SECURITY DEFINER
    function: the patient's request may not read the rows it writes). Returns the new
    recipients."""
    count: int = await conn.fetchval(
        "SELECT afterglow_raise_alert($1, $2, $3, $4, $5::jsonb)",
        patient_id,
        raised.kind,
        raised.day,
        raised.detail,
        None if raised.said is None else msgspec.to_builtins(raised.said),
    )
    return count


async def of_recipient(
    conn: Connection,
    clinician_id: UUID,
    *,
    open_only: bool,
    limit: int,
    patient_id: UUID | None = None,
) -> list[Alert]:
    """The clinician's alerts (only open ones, or about one patient), newest first."""
    rows = await conn.fetch(
        _SELECT
        + """ WHERE a.clinician_id = $1 AND (NOT $2 OR a.acknowledged_at IS NULL)
                AND ($4::uuid IS NULL OR a.patient_id = $4)
              ORDER BY a.raised_at DESC, a.id
              LIMIT $3""",
        clinician_id,
        open_only,
        limit,
        patient_id,
    )
    return [_alert(r) for r in rows]


async def acknowledge(
    conn: Connection, alert_id: UUID, clinician_id: UUID, note: str | None, now: datetime
) -> tuple[Alert, bool] | None:
    """Acknowledge the clinician's own alert: (the alert, whether this call acknowledged it).
    None when the clinician has no such alert."""
    acknowledged = await conn.fetchval(
        """UPDATE alerts SET acknowledged_at = $3, acknowledged_by = $2, note = $4
            WHERE id = $1 AND clinician_id = $2 AND acknowledged_at IS NULL
        RETURNING id""",
        alert_id,
        clinician_id,
        now,
        note,
    )
    row = await conn.fetchrow(
        _SELECT + " WHERE a.id = $1 AND a.clinician_id = $2", alert_id, clinician_id
    )
    if row is None:
        return None
    return _alert(row), acknowledged is not None


async def escalate_due(
    conn: Connection,
    *,
    raised_before: datetime,
    now: datetime,
    recipient: str | None,
    stale_after: timedelta,
    limit: int,
) -> tuple[int, int] | None:
    """One batch of the escalation pass, in the caller's transaction: the events with an alert
    raised before ``raised_before`` that nobody acknowledged are mailed to the on-call address
    of the clinic the patient shares with, else to ``recipient`` (each event once, ever; an
    event with neither is not mailed); every event looked at is marked so no pass reads it
    again. Returns (events decided, events escalated), or None when another worker is
    deciding."""
    if not await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1))", _ESCALATION_LOCK):
        return None
    events = await conn.fetch(
        """SELECT DISTINCT a.patient_id, a.kind, a.local_day
             FROM alerts a
            WHERE a.acknowledged_at IS NULL AND NOT a.escalation_checked AND a.raised_at <= $1
            LIMIT $2""",
        raised_before,
        limit,
    )
    if not events:
        return 0, 0
    keys = (
        [e["patient_id"] for e in events],
        [e["kind"] for e in events],
        [e["local_day"] for e in events],
    )
    escalated: int = await conn.fetchval(
        """WITH due AS (
               SELECT * FROM unnest($1::uuid[], $2::text[], $3::date[])
                   AS d (patient_id, kind, local_day)),
           unseen AS (
               SELECT d.*,
                      coalesce((SELECT c.on_call_email
                                  FROM clinic_shares cs JOIN clinics c ON c.id = cs.clinic_id
                                 WHERE cs.patient_id = d.patient_id AND cs.revoked_at IS NULL
                                   AND c.on_call_email IS NOT NULL
                                 ORDER BY cs.created_at DESC LIMIT 1), $5) AS recipient
                 FROM due d
                WHERE NOT EXISTS (
                    SELECT FROM alerts s
                     WHERE s.patient_id = d.patient_id AND s.kind = d.kind
                       AND s.local_day = d.local_day AND s.acknowledged_at IS NOT NULL)),
           escalated AS (
               INSERT INTO alert_escalations (patient_id, kind, local_day, escalated_at)
               SELECT patient_id, kind, local_day, $4 FROM unseen WHERE recipient IS NOT NULL
               ON CONFLICT DO NOTHING
               RETURNING patient_id, kind, local_day),
           mailed AS (
               INSERT INTO mail_outbox (kind, recipient, stale_at)
               SELECT 'alert_escalation', u.recipient, $4::timestamptz + $6::interval
                 FROM escalated e JOIN unseen u USING (patient_id, kind, local_day)
               RETURNING 1)
           SELECT count(*) FROM mailed""",
        *keys,
        now,
        recipient,
        stale_after,
    )
    await conn.execute(
        """UPDATE alerts a SET escalation_checked = true
             FROM unnest($1::uuid[], $2::text[], $3::date[]) AS d (patient_id, kind, local_day)
            WHERE a.patient_id = d.patient_id AND a.kind = d.kind AND a.local_day = d.local_day
              AND a.acknowledged_at IS NULL AND NOT a.escalation_checked AND a.raised_at <= $4""",
        *keys,
        raised_before,
    )
    return len(events), escalated
