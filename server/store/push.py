"""Push subscriptions (a user's devices) and the delivery side of the outbox: claiming due
rows under a lease, recording every attempt and its outcome, pruning old history."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import msgspec

from server.db import Connection
from server.domain.devices import Device, DeviceStatus, Outcome

MAX_DEVICES = 10  # per user; the oldest beyond this are dropped when a new one subscribes

Verdict = Literal["pending", "expired", "skipped"]
RowStatus = Literal["pending", "sent", "expired", "failed", "undeliverable"]

# True when what a reminder asks for is already done; evaluated by the dispatcher (and the
# `reminders due` listing) for an outbox row aliased `o`. The patient's own rows only.
SKIPPED = """(
    (o.kind = 'daily_checkin' AND EXISTS (
        SELECT 1 FROM checkins c
        WHERE c.patient_id = o.user_id AND c.local_day = o.local_day AND NOT c.deleted))
    OR (o.kind = 'weekly_phq9' AND EXISTS (
        SELECT 1 FROM assessments a
        WHERE a.patient_id = o.user_id AND a.instrument = 'phq9' AND NOT a.deleted
          AND a.taken_at > o.due_at - interval '6 days'))
)"""


class DueReminder(msgspec.Struct, frozen=True):
    """What an operator may see: no payload, nothing about health."""

    user_id: UUID
    kind: str
    due_at: datetime


class Subscription(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    user_id: UUID
    endpoint: str
    created_at: datetime


class Claimed(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    user_id: UUID
    kind: str
    verdict: Verdict  # pending: send it now; expired or skipped: already settled by the claim
    payload: dict[str, Any]
    urgency: str
    stale_at: datetime
    attempts: int
    delivered_to: tuple[UUID, ...]


class Settled(msgspec.Struct, frozen=True, kw_only=True):
    outbox_id: int
    status: RowStatus
    next_attempt_at: datetime
    delivered_to: list[UUID]


class Attempt(msgspec.Struct, frozen=True, kw_only=True):
    outbox_id: int
    user_id: UUID
    subscription_id: UUID
    outcome: Outcome
    status_code: int | None
    detail: str | None


# --- subscriptions ---------------------------------------------------------------------------


async def save_subscription(
    conn: Connection, user_id: UUID, endpoint: str, p256dh: str, auth: str
) -> tuple[Subscription, bool] | None:
    """Store a device; True if it is new. An endpoint is one browser profile: if another account
    has it, it moves to this one only when the same keys come with it (the same browser, now
    signed in as someone else); None if they do not, and nothing changes. An endpoint alone is
    no proof of holding the device: it travels in logs and in the push service's answers."""
    # The endpoint's row may be another account's, out of this request's sight: a SECURITY
    # DEFINER function makes exactly this upsert (migrations/0009).
    row = await conn.fetchrow(
        "SELECT * FROM afterglow_save_device($1, $2, $3, $4)",
        user_id,
        endpoint,
        p256dh,
        auth,
    )
    if row is None:
        return None
    await conn.execute(
        """DELETE FROM push_subscriptions WHERE id IN (
               SELECT id FROM push_subscriptions WHERE user_id = $1
               ORDER BY created_at DESC, id OFFSET $2)""",
        user_id,
        MAX_DEVICES,
    )
    subscription = Subscription(
        id=row["id"], user_id=row["user_id"], endpoint=row["endpoint"], created_at=row["created_at"]
    )
    return subscription, bool(row["created"])


async def delete_subscription(conn: Connection, user_id: UUID, endpoint: str) -> bool:
    deleted = await conn.fetchval(
        "DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint = $2 RETURNING id",
        user_id,
        endpoint,
    )
    return deleted is not None


async def devices_of(conn: Connection, user_ids: list[UUID]) -> dict[UUID, list[Device]]:
    rows = await conn.fetch(
        """SELECT id, user_id, endpoint, p256dh, auth FROM push_subscriptions
           WHERE user_id = ANY($1::uuid[]) ORDER BY user_id, created_at""",
        user_ids,
    )
    found: dict[UUID, list[Device]] = defaultdict(list)
    for r in rows:
        found[r["user_id"]].append(
            Device(id=r["id"], endpoint=r["endpoint"], p256dh=r["p256dh"], auth=r["auth"])
        )
    return found


async def device_status(conn: Connection, user_id: UUID) -> list[DeviceStatus]:
    rows = await conn.fetch(
        """SELECT id, created_at, last_success_at, last_failure_at, failures_in_row
           FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at""",
        user_id,
    )
    return [DeviceStatus(**dict(r)) for r in rows]


# --- the outbox, delivery side ---------------------------------------------------------------


async def claim_due(
    conn: Connection, now: datetime, *, limit: int, lease: timedelta, token: UUID
) -> list[Claimed]:
    """Take up to ``limit`` due rows no other worker holds. Stale ones are expired and pointless
    ones skipped on the spot; the rest are leased to ``token`` until ``now + lease``."""
    rows = await conn.fetch(
        f"""WITH picked AS (
                SELECT id FROM push_outbox
                WHERE status = 'pending' AND next_attempt_at <= $1
                ORDER BY next_attempt_at
                LIMIT $2
                FOR UPDATE SKIP LOCKED
            ), judged AS (
                SELECT o.id,
                       CASE WHEN o.stale_at <= $1 THEN 'expired'
                            WHEN {SKIPPED} THEN 'skipped'
                            ELSE 'pending' END AS verdict
                FROM push_outbox o JOIN picked USING (id)
            )
            UPDATE push_outbox o SET
                status = j.verdict,
                next_attempt_at = CASE WHEN j.verdict = 'pending' THEN $1 + $3::interval
                                       ELSE o.next_attempt_at END,
                claim_token = CASE WHEN j.verdict = 'pending' THEN $4::uuid END,
                attempts = o.attempts + CASE WHEN j.verdict = 'pending' THEN 1 ELSE 0 END,
                finished_at = CASE WHEN j.verdict <> 'pending' THEN $1 END,
                updated_at = $1
            FROM judged j WHERE o.id = j.id
            RETURNING o.id, o.user_id, o.kind, j.verdict, o.payload, o.urgency, o.stale_at,
                      o.attempts, o.delivered_to""",
        now,
        limit,
        lease,
        token,
    )
    # The columns are the fields.
    return [Claimed(**{**r, "delivered_to": tuple(r["delivered_to"])}) for r in rows]


async def record(
    conn: Connection,
    token: UUID,
    now: datetime,
    settled: list[Settled],
    attempts: list[Attempt],
) -> None:
    """Write what one round of sending did. A row this worker no longer holds (the planner
    cancelled or moved it meanwhile) keeps its new state; its attempts are recorded anyway."""
    # Rows are locked in id order, so workers and the planner cannot deadlock on each other;
    # only those this worker still holds (claim token, pending) are locked and written.
    held = {
        r["id"]
        for r in await conn.fetch(
            """SELECT id FROM push_outbox
               WHERE id = ANY($1::bigint[]) AND claim_token = $2 AND status = 'pending'
               ORDER BY id FOR UPDATE""",
            [s.outbox_id for s in settled],
            token,
        )
    }
    mine = [s for s in settled if s.outbox_id in held]
    if mine:
        # One statement for the batch, joined on the primary key (a claim_token condition
        # here is estimated at one row and can turn the join into a nested loop over the
        # whole list). Each row's devices travel as an array literal ('{a,b}').
        await conn.execute(
            """UPDATE push_outbox o SET status = s.status, next_attempt_at = s.next_attempt_at,
                   delivered_to = s.delivered_to::uuid[], claim_token = NULL,
                   finished_at = CASE WHEN s.status <> 'pending' THEN $1::timestamptz END,
                   updated_at = $1
               FROM unnest($2::bigint[], $3::text[], $4::timestamptz[], $5::text[])
                    AS s (id, status, next_attempt_at, delivered_to)
               WHERE o.id = s.id""",
            now,
            [s.outbox_id for s in mine],
            [s.status for s in mine],
            [s.next_attempt_at for s in mine],
            ["{" + ",".join(map(str, s.delivered_to)) + "}" for s in mine],
        )
    if not attempts:
        return
    await conn.execute(
        """INSERT INTO push_attempts (outbox_id, user_id, subscription_id, attempted_at,
                                      status_code, outcome, detail)
           SELECT a.outbox_id, a.user_id, a.subscription_id, $1, a.status_code, a.outcome, a.detail
           FROM unnest($2::bigint[], $3::uuid[], $4::uuid[], $5::smallint[], $6::text[], $7::text[])
                AS a (outbox_id, user_id, subscription_id, status_code, outcome, detail)""",
        now,
        [a.outbox_id for a in attempts],
        [a.user_id for a in attempts],
        [a.subscription_id for a in attempts],
        [a.status_code for a in attempts],
        [a.outcome for a in attempts],
        [a.detail for a in attempts],
    )
    # Per device: the last outcome each way. A device answering 404/410 is gone for good.
    delivered: set[UUID] = set()
    failed: dict[UUID, int | None] = {}
    for a in attempts:
        if a.outcome == "delivered":
            delivered.add(a.subscription_id)
        else:
            failed[a.subscription_id] = a.status_code
    ids = sorted(delivered | failed.keys())
    await conn.execute(
        "SELECT 1 FROM push_subscriptions WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", ids
    )
    await conn.execute(
        """UPDATE push_subscriptions s SET
               last_success_at = CASE WHEN d.ok THEN $1 ELSE s.last_success_at END,
               last_failure_at = CASE WHEN d.failed THEN $1 ELSE s.last_failure_at END,
               last_failure_status = CASE WHEN d.failed THEN d.status_code
                                          ELSE s.last_failure_status END,
               failures_in_row = CASE WHEN d.ok THEN 0 ELSE s.failures_in_row + 1 END
           FROM unnest($2::uuid[], $3::boolean[], $4::boolean[], $5::smallint[])
                AS d (id, ok, failed, status_code)
           WHERE s.id = d.id""",
        now,
        ids,
        [i in delivered for i in ids],
        [i in failed for i in ids],
        [failed.get(i) for i in ids],
    )
    gone = sorted({a.subscription_id for a in attempts if a.outcome == "gone"})
    if gone:
        await conn.execute("DELETE FROM push_subscriptions WHERE id = ANY($1::uuid[])", gone)


async def prune_attempts(conn: Connection, before: datetime, *, limit: int = 10_000) -> None:
    """Forget delivery attempts older than ``before``, a bounded chunk at a time (the finished
    outbox rows go by server/store/outbox.prune_finished)."""
    await conn.execute(
        """DELETE FROM push_attempts WHERE id IN (
               SELECT id FROM push_attempts WHERE attempted_at < $1 LIMIT $2)""",
        before,
        limit,
    )


async def due_reminders(
    conn: Connection, at: datetime, *, limit: int = 10_000
) -> list[DueReminder]:
    """What would be sent at ``at``: pending, due by then, not stale, not made pointless."""
    rows = await conn.fetch(
        f"""SELECT o.user_id, o.kind, o.due_at FROM push_outbox o
            WHERE o.status = 'pending' AND o.due_at <= $1 AND o.stale_at > $1 AND NOT {SKIPPED}
            ORDER BY o.due_at, o.user_id, o.kind
            LIMIT $2""",
        at,
        limit,
    )
    return [DueReminder(user_id=r["user_id"], kind=r["kind"], due_at=r["due_at"]) for r in rows]
