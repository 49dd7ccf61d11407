"""A patient's reminder preferences (every change re-plans their reminders in the same
transaction, so nothing is sent for a time they no longer want), and the email fallback: a
reminder that cannot reach any device goes by email to a patient who opted in
(server/domain/fallback.py has the rules)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from server.db import Connection, Pool, transaction
from server.domain.fallback import MAIL_KIND, email_window, reason
from server.domain.reminders import ReminderPrefs, merge_prefs
from server.store import fallback as fallback_store
from server.store import reminders as reminder_store
from server.timeutil import utc_now

log = logging.getLogger("afterglow.reminders")
FALLBACK_BATCH = 200


async def prefs_of(pool: Pool, patient_id: UUID) -> ReminderPrefs:
    async with transaction(pool) as conn:
        return await reminder_store.prefs_of(conn, patient_id)


async def change_prefs(
    conn: Connection, patient_id: UUID, changes: Mapping[str, Any], prefix: str = ""
) -> ReminderPrefs:
    """Check, store and re-plan, in the caller's transaction."""
    prefs = merge_prefs(await reminder_store.prefs_of(conn, patient_id), changes, prefix)
    await reminder_store.save_prefs(conn, patient_id, prefs)
    await reminder_store.replan_patient(conn, patient_id)
    return prefs


async def replace_prefs(pool: Pool, patient_id: UUID, prefs: Mapping[str, Any]) -> ReminderPrefs:
    async with transaction(pool) as conn:
        return await change_prefs(conn, patient_id, prefs)


async def email_fallback_pass(pool: Pool, now: datetime | None = None) -> int:
    """Move the reminders that cannot reach a device to email (the worker, as the tables'
    owner, once a second). Returns how many were queued as emails."""
    now = now or utc_now()
    total = 0
    while True:
        async with transaction(pool) as conn:
            due = await fallback_store.due_for_email(conn, now, limit=FALLBACK_BATCH)
            emailed = []
            for row in due:
                why = reason(row.candidate, now)
                window = email_window(row.candidate, row.prefs, row.zone, now) if why else None
                if why is None or window is None:
                    continue
                emailed.append(
                    fallback_store.Emailed(
                        outbox_id=row.outbox_id,
                        user_id=row.user_id,
                        reminder_id=row.reminder_id,
                        mail_kind=MAIL_KIND[row.candidate.kind],
                        recipient=row.email,
                        send_at=window[0],
                        stale_at=window[1],
                    )
                )
                log.info("reminder %s goes by email (%s)", row.reminder_id, why)
            await fallback_store.send_by_email(conn, now, emailed)
        total += len(emailed)
        # Rows left as they are stay due: only a full batch of emails means there may be more.
        if len(emailed) < FALLBACK_BATCH:
            return total
