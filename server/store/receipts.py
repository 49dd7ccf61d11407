"""Receipts of reminders ("shown", "opened") as devices report them, and the counts per device
that Settings and the clinician's summary show (migrations/0022)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from server.db import Connection
from server.domain.receipts import WINDOW, DeviceReceipts, Receipt


async def record(conn: Connection, user_id: UUID, receipts: list[Receipt], now: datetime) -> int:
    """Store what is new; returns how many were. A receipt for a reminder that is not the
    user's is dropped, and a device that is not theirs (or no longer) becomes unknown (null).
    A repeat (a retry after a lost answer, a second tap) changes nothing."""
    if not receipts:
        return 0
    status: str = await conn.execute(
        """INSERT INTO reminder_receipts (user_id, reminder_id, subscription_id, event,
                                          happened_at, received_at)
           SELECT $1, r.reminder_id,
                  (SELECT s.id FROM push_subscriptions s
                    WHERE s.id = r.device AND s.user_id = $1),
                  r.event, least(r.happened_at, $2), $2
           FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::timestamptz[])
                AS r (reminder_id, device, event, happened_at)
           WHERE EXISTS (SELECT 1 FROM push_outbox o
                          WHERE o.user_id = $1 AND o.reminder_id = r.reminder_id)
           ON CONFLICT DO NOTHING""",
        user_id,
        now,
        [r.reminder for r in receipts],
        [r.device for r in receipts],
        [r.event for r in receipts],
        [r.at for r in receipts],
    )
    return int(status.rsplit(" ", 1)[-1])


async def per_device(conn: Connection, user_id: UUID, now: datetime) -> list[DeviceReceipts]:
    """Each current device of the user: its reminders of the last WINDOW delivered, shown and
    opened, and when it last had one delivered and last reported one shown."""
    rows = await conn.fetch(
        """SELECT s.id, s.created_at, s.last_success_at AS last_delivered_at,
                  (SELECT count(DISTINCT a.outbox_id) FROM push_attempts a
                     JOIN push_outbox o ON o.id = a.outbox_id AND o.reminder_id IS NOT NULL
                    WHERE a.user_id = $1 AND a.subscription_id = s.id
                      AND a.outcome = 'delivered' AND a.attempted_at > $2) AS delivered,
                  (SELECT count(*) FROM reminder_receipts r
                    WHERE r.user_id = $1 AND r.subscription_id = s.id AND r.event = 'shown'
                      AND r.happened_at > $2) AS shown,
                  (SELECT count(*) FROM reminder_receipts r
                    WHERE r.user_id = $1 AND r.subscription_id = s.id AND r.event = 'opened'
                      AND r.happened_at > $2) AS opened,
                  (SELECT max(r.happened_at) FROM reminder_receipts r
                    WHERE r.user_id = $1 AND r.subscription_id = s.id AND r.event = 'shown')
                      AS last_shown_at
           FROM push_subscriptions s WHERE s.user_id = $1 ORDER BY s.created_at, s.id""",
        user_id,
        now - WINDOW,
    )
    return [DeviceReceipts(**dict(r)) for r in rows]


async def prune(conn: Connection, before: datetime, *, limit: int = 10_000) -> int:
    """Forget receipts older than ``before``, a bounded chunk at a time, except each device's
    latest "shown": whether a device reports "shown" at all decides its hint."""
    status: str = await conn.execute(
        """DELETE FROM reminder_receipts WHERE id IN (
               SELECT r.id FROM reminder_receipts r
                WHERE r.happened_at < $1
                  AND NOT (r.event = 'shown' AND r.id = (
                      SELECT max(l.id) FROM reminder_receipts l
                       WHERE l.user_id = r.user_id AND l.event = 'shown'
                         AND l.subscription_id IS NOT DISTINCT FROM r.subscription_id))
                LIMIT $2)""",
        before,
        limit,
    )
    return int(status.rsplit(" ", 1)[-1])
