"""Alerting the clinicians a patient shares with, through the push outbox.

A PHQ-9 with item 9 above 0 raises a flag for every clinician with an active share, at once.
The push says only that a patient needs attention (no name, no health detail, a neutral link);
one per patient per clinician per local day, however many such answers come in.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID

from server.db import Connection
from server.domain.reminders import PushPayload
from server.store import shares as share_store
from server.store.reminders import enqueue_notification

# A patient's request may queue this kind, with an occurrence naming them, for their clinicians
# and nothing else (row-level security: migrations/0009, policy alert_clinicians).
KIND = "patient_attention"
STALE_AFTER = timedelta(hours=24)
PAYLOAD = PushPayload(
    title="Afterglow",
    body="A patient who shares with you has a new flag. Open Afterglow to review.",
    url="/clinician",
    tag="patient-attention",
)


async def alert_sharing_clinicians(
    conn: Connection, patient_id: UUID, day: date, now: datetime
) -> int:
    """Queue the alert for each clinician with an active share; the number queued."""
    queued = 0
    for clinician_id in await share_store.sharing_clinicians(conn, patient_id):
        queued += await enqueue_notification(
            conn,
            clinician_id,
            KIND,
            f"{patient_id}:{day.isoformat()}",
            now,
            now + STALE_AFTER,
            PAYLOAD,
            urgency="high",
        )
    return queued
