"""Reminder preferences, the planner that fills the push outbox, and ad-hoc notifications.

The planner keeps each patient's reminders for the next ``HORIZON`` in the outbox. It runs for
one patient whenever their preferences, time zone, devices or infusions change
(``replan_patient``), and as a rolling pass (``rolling_plan``) that only touches patients whose
``planned_until`` comes within ``REPLAN_AHEAD`` of now, found through an index: the cost of a
pass grows with the reminders falling due, not with the number of patients. Patients without a
device are parked (``planned_until = infinity``) until they subscribe one, unless they opted in
to email reminders (those are sent by email: server/store/fallback.py).

Whether a check-in or a PHQ-9 already makes a reminder pointless is decided when it would be
sent (``SKIPPED``), so nothing here has to follow every entry a patient logs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from server.db import Connection
from server.domain.push_message import declarative, reminder_id
from server.domain.reminders import (
    PLANNED_KINDS,
    InfusionSlot,
    Occurrence,
    PushPayload,
    ReminderPrefs,
    Urgency,
    in_language,
    plan,
)
from server.timeutil import utc_now

HORIZON = timedelta(hours=48)
REPLAN_AHEAD = timedelta(hours=24)
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

# The columns of reminder_prefs are named as the fields of ReminderPrefs.
_PREFS = ", ".join(ReminderPrefs.__struct_fields__)
_P_PREFS = ", ".join(f"p.{name}" for name in ReminderPrefs.__struct_fields__)
# $2, $3, ...: one placeholder per preference, after the patient's id.
_PREF_ARGS = ", ".join(f"${n + 2}" for n in range(len(ReminderPrefs.__struct_fields__)))

# --- preferences -----------------------------------------------------------------------------


def _prefs_from_row(row: Any) -> ReminderPrefs:
    return ReminderPrefs(**{name: row[name] for name in ReminderPrefs.__struct_fields__})


async def prefs_of(conn: Connection, patient_id: UUID) -> ReminderPrefs:
    row = await conn.fetchrow(
        f"SELECT {_PREFS} FROM reminder_prefs WHERE patient_id = $1", patient_id
    )
    return ReminderPrefs() if row is None else _prefs_from_row(row)


async def save_prefs(conn: Connection, patient_id: UUID, prefs: ReminderPrefs) -> None:
    """Store the preferences; the caller re-plans (``replan_patient``) in the same transaction."""
    values = [getattr(prefs, name) for name in ReminderPrefs.__struct_fields__]
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in ReminderPrefs.__struct_fields__)
    await conn.execute(
        f"""INSERT INTO reminder_prefs (patient_id, {_PREFS}) VALUES ($1, {_PREF_ARGS})
            ON CONFLICT (patient_id) DO UPDATE SET {updates}, updated_at = now()""",
        patient_id,
        *values,
    )


# --- planning --------------------------------------------------------------------------------


async def replan_patient(
    conn: Connection, patient_id: UUID, *, now: datetime | None = None
) -> None:
    """Bring one patient's planned reminders in line with their preferences, zone, devices and
    infusions. Call it in the transaction that changed any of them (the infusion store does):
    a reminder for a time that no longer holds is cancelled before it is sent. A no-op for
    clinicians."""
    defaults = ReminderPrefs()
    await conn.execute(
        f"""INSERT INTO reminder_prefs (patient_id, {_PREFS})
            SELECT id, {_PREF_ARGS} FROM users WHERE id = $1 AND role = 'patient'
            ON CONFLICT (patient_id) DO NOTHING""",
        patient_id,
        *(getattr(defaults, name) for name in ReminderPrefs.__struct_fields__),
    )
    await _replan(conn, [patient_id], now or utc_now())


async def rolling_plan(conn: Connection, now: datetime | None = None, *, limit: int = 500) -> int:
    """One pass of the rolling planner: re-plan up to ``limit`` patients whose planned reminders
    end within ``REPLAN_AHEAD``. Returns how many it took; call again while that is ``limit``.
    Several workers may run it at once (SKIP LOCKED)."""
    now = now or utc_now()
    rows = await conn.fetch(
        """SELECT patient_id FROM reminder_prefs WHERE planned_until < $1
           ORDER BY planned_until LIMIT $2 FOR UPDATE SKIP LOCKED""",
        now + REPLAN_AHEAD,
        limit,
    )
    if rows:
        await _replan(conn, [r["patient_id"] for r in rows], now)
    return len(rows)


async def _replan(conn: Connection, patient_ids: list[UUID], now: datetime) -> None:
    until = now + HORIZON
    rows = await conn.fetch(
        f"""SELECT p.patient_id, {_P_PREFS}, u.timezone, u.language,
                   -- A probe of push_subscriptions_user per patient; an EXISTS here may
                   -- become a hashed subplan that reads every subscription in the table.
                   (SELECT 1 FROM push_subscriptions s WHERE s.user_id = p.patient_id LIMIT 1)
                       IS NOT NULL AS has_device
            FROM reminder_prefs p JOIN users u ON u.id = p.patient_id
            WHERE p.patient_id = ANY($1::uuid[])
            ORDER BY p.patient_id
            FOR UPDATE OF p""",
        patient_ids,
    )
    if not rows:
        return
    # A patient who opted in to email reminders gets them planned without a device too: the
    # email fallback (server/services/reminders.py) sends those by email.
    reachable = {r["patient_id"]: r["has_device"] or r["email_reminders"] for r in rows}
    active = [pid for pid, yes in reachable.items() if yes]
    infusions = await _infusions(conn, active, now - timedelta(days=2), until + timedelta(days=2))
    wanted: list[tuple[UUID, Occurrence]] = []
    for row in rows:
        if reachable[row["patient_id"]]:
            found = plan(
                _prefs_from_row(row),
                ZoneInfo(row["timezone"]),
                infusions.get(row["patient_id"], ()),
                now,
                until,
            )
            wanted.extend(
                (row["patient_id"], in_payload_language(occurrence, row["language"]))
                for occurrence in found
            )
    ids = [r["patient_id"] for r in rows]
    # New rows only for times still ahead; a reminder already due stays only if its row was
    # planned for exactly this time (it may be waiting for a retry).
    languages = {r["patient_id"]: r["language"] for r in rows}
    await _upsert(conn, [(pid, o) for pid, o in wanted if o.due_at >= now], now, languages)
    # Cancel the pending planned rows that are no longer wanted (a time that no longer holds).
    # The set difference is a GROUP BY over both lists, which PostgreSQL hashes or sorts (a
    # NOT EXISTS against the unnest may be planned as a nested loop, quadratic in the count).
    # The patients' rows come through the (user_id, kind, occurrence) index, whatever their
    # status: a `status = 'pending'` condition there lets the planner bring in the index of
    # every pending row in the table, whose size is not this pass's business.
    await conn.execute(
        """UPDATE push_outbox
           SET status = 'cancelled', claim_token = NULL, finished_at = $3, updated_at = $3
           WHERE status = 'pending' AND id = ANY(ARRAY(
               SELECT max(x.id) FROM (
                   SELECT o.id, o.status = 'pending' AS pending, o.user_id, o.kind,
                          o.occurrence, o.due_at
                   FROM push_outbox o
                   WHERE o.user_id = ANY($1::uuid[]) AND o.kind = ANY($2::text[])
                   UNION ALL
                   SELECT NULL, NULL, k.user_id, k.kind, k.occurrence, k.due_at
                   FROM unnest($4::uuid[], $5::text[], $6::text[], $7::timestamptz[])
                       AS k (user_id, kind, occurrence, due_at)
               ) AS x
               GROUP BY x.user_id, x.kind, x.occurrence, x.due_at
               -- a pending outbox row that no wanted key matched
               HAVING count(x.id) = count(*) AND bool_and(x.pending)))""",
        ids,
        list(PLANNED_KINDS),
        now,
        [pid for pid, _ in wanted],
        [o.kind for _, o in wanted],
        [o.occurrence for _, o in wanted],
        [o.due_at for _, o in wanted],
    )
    await conn.execute(
        """UPDATE reminder_prefs p
           SET planned_until = CASE WHEN d.has_device THEN $3::timestamptz ELSE 'infinity' END
           FROM unnest($1::uuid[], $2::boolean[]) AS d (patient_id, has_device)
           WHERE p.patient_id = d.patient_id""",
        ids,
        [reachable[pid] for pid in ids],
        until,
    )


async def _infusions(
    conn: Connection, patient_ids: list[UUID], start: datetime, end: datetime
) -> dict[UUID, list[InfusionSlot]]:
    if not patient_ids:
        return {}
    rows = await conn.fetch(
        """SELECT i.id, i.patient_id, i.scheduled_at, i.duration_minutes, i.status,
                  coalesce(c.ride <> 'none' AND c.home_safely IS NULL, false) AS ask_home_safely
           FROM infusions i LEFT JOIN session_checklists c ON c.infusion_id = i.id
           WHERE i.patient_id = ANY($1::uuid[]) AND i.scheduled_at >= $2 AND i.scheduled_at < $3
             AND NOT i.deleted AND i.status <> 'cancelled'""",
        patient_ids,
        start,
        end,
    )
    found: dict[UUID, list[InfusionSlot]] = defaultdict(list)
    for r in rows:
        found[r["patient_id"]].append(
            InfusionSlot(
                id=r["id"],
                scheduled_at=r["scheduled_at"],
                duration_minutes=r["duration_minutes"],
                status=r["status"],
                ask_home_safely=r["ask_home_safely"],
            )
        )
    return found


def in_payload_language(occurrence: Occurrence, language: str) -> Occurrence:
    """The reminder as its patient reads it: the body in their language (users.language)."""
    return msgspec.structs.replace(occurrence, payload=in_language(occurrence.payload, language))


async def _upsert(
    conn: Connection,
    wanted: list[tuple[UUID, Occurrence]],
    now: datetime,
    languages: dict[UUID, str] | None = None,
) -> None:
    """Insert new reminders; move pending ones whose time changed; revive cancelled ones.
    Rows already sent, skipped or expired stay as they are: one occurrence, one delivery."""
    if not wanted:
        return
    ided = [(o, reminder_id(pid, o.kind, o.occurrence)) for pid, o in wanted]
    await conn.execute(
        """INSERT INTO push_outbox AS o (user_id, kind, occurrence, due_at, stale_at, local_day,
                                         payload, urgency, next_attempt_at, created_at, updated_at,
                                         reminder_id)
           SELECT w.user_id, w.kind, w.occurrence, w.due_at, w.stale_at, w.local_day,
                  w.payload::jsonb, w.urgency, w.due_at, $9, $9, w.reminder_id
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[],
                       $6::date[], $7::text[], $8::text[], $10::uuid[])
                AS w (user_id, kind, occurrence, due_at, stale_at, local_day, payload, urgency,
                      reminder_id)
           ON CONFLICT (user_id, kind, occurrence) DO UPDATE SET
               due_at = EXCLUDED.due_at,
               stale_at = EXCLUDED.stale_at,
               local_day = EXCLUDED.local_day,
               payload = EXCLUDED.payload,
               urgency = EXCLUDED.urgency,
               reminder_id = EXCLUDED.reminder_id,
               status = 'pending',
               next_attempt_at = CASE WHEN o.status = 'pending' AND o.due_at = EXCLUDED.due_at
                                      THEN o.next_attempt_at ELSE EXCLUDED.due_at END,
               claim_token = CASE WHEN o.status = 'pending' AND o.due_at = EXCLUDED.due_at
                                  THEN o.claim_token END,
               attempts = CASE WHEN o.status = 'pending' AND o.due_at = EXCLUDED.due_at
                               THEN o.attempts ELSE 0 END,
               delivered_to = CASE WHEN o.status = 'pending' AND o.due_at = EXCLUDED.due_at
                                   THEN o.delivered_to ELSE '{}' END,
               finished_at = NULL,
               updated_at = EXCLUDED.updated_at
           WHERE o.status = 'cancelled'
              OR (o.status = 'pending'
                  AND (o.due_at, o.stale_at, o.payload, o.urgency)
                      IS DISTINCT FROM (EXCLUDED.due_at, EXCLUDED.stale_at, EXCLUDED.payload,
                                        EXCLUDED.urgency))""",
        [pid for pid, _ in wanted],
        [o.kind for _, o in wanted],
        [o.occurrence for _, o in wanted],
        [o.due_at for _, o in wanted],
        [o.stale_at for _, o in wanted],
        [o.local_day for _, o in wanted],
        [
            msgspec.json.encode(
                declarative(o.kind, o.payload, rid, (languages or {}).get(pid, "en"))
            ).decode()
            for (pid, o), (_, rid) in zip(wanted, ided, strict=True)
        ],
        [o.urgency for _, o in wanted],
        now,
        [rid for _, rid in ided],
    )


# --- ad-hoc notifications and the operator's view ---------------------------------------------


async def enqueue_notification(
    conn: Connection,
    user_id: UUID,
    kind: str,
    occurrence: str,
    due_at: datetime,
    stale_at: datetime,
    payload: PushPayload,
    *,
    urgency: Urgency = "normal",
) -> bool:
    """Queue a push to every device of ``user_id`` (patient or clinician) through the outbox.

    (user_id, kind, occurrence) is unique: enqueueing the same one again does nothing and
    returns False. E.g. kind "patient_attention", occurrence f"{patient_id}:{local_day}" for
    at most one alert per patient per day. The payload must carry no health information.
    """
    if not _KIND.match(kind) or kind in PLANNED_KINDS:
        raise ValueError(f"not a kind for ad-hoc notifications: {kind!r}")
    if not occurrence or len(occurrence) > 200:
        raise ValueError("occurrence must be 1 to 200 characters")
    if stale_at <= due_at:
        raise ValueError("stale_at must be after due_at")
    # A patient's request may queue an alert to their clinician but not read the clinician's
    # outbox back (row-level security, migrations/0009): so no RETURNING, and no conflict
    # target, which would need the new row readable too. (user_id, kind, occurrence) is the one
    # key a new row can collide on (id is generated). The status tells whether it was new.
    status: str = await conn.execute(
        """INSERT INTO push_outbox (user_id, kind, occurrence, due_at, stale_at, payload, urgency,
                                    next_attempt_at)
           VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7, $4)
           ON CONFLICT DO NOTHING""",
        user_id,
        kind,
        occurrence,
        due_at,
        stale_at,
        msgspec.json.encode(payload).decode(),
        urgency,
    )
    return status == "INSERT 0 1"
