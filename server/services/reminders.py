"""A patient's reminder preferences. Every change re-plans their reminders in the same
transaction, so nothing is sent for a time they no longer want."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from server.db import Connection, Pool, transaction
from server.domain.reminders import ReminderPrefs, merge_prefs
from server.store import reminders as reminder_store


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
