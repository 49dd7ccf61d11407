"""Email reminders: the reminders of patients who opted in that may go by email instead of push,
and moving one from the push outbox to the mail outbox (server/domain/fallback.py has the rules).

Only patients who opted in are read (``reminder_prefs.email_reminders``); the outbox rows come
through its partial indexes (pending by next_attempt_at, finished by finished_at), so a pass
costs what falls due, not the size of the table. Works as the tables' owner (the worker).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from server.db import Connection
from server.domain.fallback import DECIDE_AHEAD, FAILING_AFTER, Candidate
from server.domain.reminders import PLANNED_KINDS, ReminderPrefs

_P_PREFS = ", ".join(f"p.{name}" for name in ReminderPrefs.__struct_fields__)
# What a reminder asks for is already done (as the dispatcher judges it, server/store/push.py).
_DONE = """(
    (o.kind = 'daily_checkin' AND EXISTS (
        SELECT 1 FROM checkins c
        WHERE c.patient_id = o.user_id AND c.local_day = o.local_day AND NOT c.deleted))
    OR (o.kind = 'weekly_phq9' AND EXISTS (
        SELECT 1 FROM assessments a
        WHERE a.patient_id = o.user_id AND a.instrument = 'phq9' AND NOT a.deleted
          AND a.taken_at > o.due_at - interval '6 days'))
)"""
# A push that reached nobody is emailed only soon after it was tried.
_PUSHED_WITHIN = timedelta(hours=1)


class Due(msgspec.Struct, frozen=True, kw_only=True):
    outbox_id: int
    user_id: UUID
    reminder_id: UUID
    email: str
    prefs: ReminderPrefs
    zone: ZoneInfo
    candidate: Candidate


class Emailed(msgspec.Struct, frozen=True, kw_only=True):
    outbox_id: int
    user_id: UUID
    reminder_id: UUID
    mail_kind: str
    recipient: str
    send_at: datetime
    stale_at: datetime


async def due_for_email(conn: Connection, now: datetime, *, limit: int) -> list[Due]:
    """Up to ``limit`` reminders of opted-in patients that are about to be pushed (not tried
    yet) or were pushed and reached no device, locked (SKIP LOCKED) for this transaction."""
    columns = f"""o.id, o.user_id, o.reminder_id, o.kind, o.due_at, o.stale_at,
                  o.status <> 'pending' AS pushed, {_P_PREFS}, u.timezone, u.email,
                  u.created_at AS account_created_at,
                  (SELECT count(*) FROM push_subscriptions s WHERE s.user_id = o.user_id)
                      AS devices,
                  (SELECT count(*) FROM push_subscriptions s
                    WHERE s.user_id = o.user_id AND s.failures_in_row >= $3) AS failing_devices,
                  (SELECT max(c.recorded_at) FROM checkins c
                    WHERE c.patient_id = o.user_id AND NOT c.deleted) AS last_checkin_at"""
    joins = """JOIN reminder_prefs p ON p.patient_id = o.user_id AND p.email_reminders
               JOIN users u ON u.id = o.user_id"""
    untried = await conn.fetch(
        f"""SELECT {columns} FROM push_outbox o {joins}
             WHERE o.status = 'pending' AND o.next_attempt_at <= $1::timestamptz + $2::interval
               AND o.attempts = 0 AND o.claim_token IS NULL
               AND o.stale_at > $1 AND o.kind = ANY($4::text[]) AND o.reminder_id IS NOT NULL
               AND NOT {_DONE}
             ORDER BY o.next_attempt_at LIMIT $5
             FOR UPDATE OF o SKIP LOCKED""",
        now,
        DECIDE_AHEAD,
        FAILING_AFTER,
        list(PLANNED_KINDS),
        limit,
    )
    unreached = await conn.fetch(
        f"""SELECT {columns} FROM push_outbox o {joins}
             WHERE o.status IN ('undeliverable', 'failed')
               AND o.finished_at > $1::timestamptz - $2::interval
               AND o.delivered_to = '{{}}' AND o.stale_at > $1 AND o.kind = ANY($4::text[])
               AND o.reminder_id IS NOT NULL AND NOT {_DONE}
             ORDER BY o.finished_at LIMIT $5
             FOR UPDATE OF o SKIP LOCKED""",
        now,
        _PUSHED_WITHIN,
        FAILING_AFTER,
        list(PLANNED_KINDS),
        limit,
    )
    rows = [*untried, *unreached]
    return [_due(r) for r in rows]


def _due(r: Any) -> Due:
    return Due(
        outbox_id=r["id"],
        user_id=r["user_id"],
        reminder_id=r["reminder_id"],
        email=r["email"],
        prefs=ReminderPrefs(**{name: r[name] for name in ReminderPrefs.__struct_fields__}),
        zone=ZoneInfo(r["timezone"]),
        candidate=Candidate(
            kind=r["kind"],
            due_at=r["due_at"],
            stale_at=r["stale_at"],
            pushed=r["pushed"],
            devices=r["devices"],
            failing_devices=r["failing_devices"],
            last_checkin_at=r["last_checkin_at"],
            account_created_at=r["account_created_at"],
        ),
    )


async def send_by_email(conn: Connection, now: datetime, emailed: list[Emailed]) -> None:
    """Take these reminders out of the push outbox and queue their emails, at once (the rows
    were locked by ``due_for_email`` in this transaction). One email per reminder, ever."""
    if not emailed:
        return
    await conn.execute(
        """UPDATE push_outbox SET status = 'emailed', claim_token = NULL, finished_at = $2,
                                  updated_at = $2
           WHERE id = ANY($1::bigint[])""",
        [e.outbox_id for e in emailed],
        now,
    )
    await conn.execute(
        """INSERT INTO mail_outbox (user_id, kind, recipient, next_attempt_at, stale_at,
                                    reminder_id, created_at)
           SELECT * , $7::timestamptz FROM unnest($1::uuid[], $2::text[], $3::text[],
                                                  $4::timestamptz[], $5::timestamptz[], $6::uuid[])
           ON CONFLICT (user_id, reminder_id) WHERE reminder_id IS NOT NULL DO NOTHING""",
        [e.user_id for e in emailed],
        [e.mail_kind for e in emailed],
        [e.recipient for e in emailed],
        [e.send_at for e in emailed],
        [e.stale_at for e in emailed],
        [e.reminder_id for e in emailed],
        now,
    )
