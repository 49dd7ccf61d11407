"""The mail outbox (migrations/0013): messages queued by requests, claimed under a lease by the
worker, and what became of each."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

import msgspec

from server.db import Connection

Status = Literal["pending", "sent", "kept", "expired", "failed"]


class ClaimedMail(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    user_id: UUID | None
    kind: str
    recipient: str
    status: Status  # pending: send it now; expired: settled by the claim (stale)
    attempts: int
    stale_at: datetime
    created_at: datetime
    language: str = "en"  # the recipient account's (users.language); English without one


class KeptMail(msgspec.Struct, frozen=True, kw_only=True):
    """A message kept instead of sent (no SMTP server configured): what /dev/mail shows."""

    id: int
    created_at: datetime
    recipient: str
    subject: str
    body: str


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    outbox_id: int
    status: Status
    next_attempt_at: datetime
    error: str | None = None
    kept: tuple[str, str] | None = None  # (subject, body) of a message kept, not sent


async def queue(
    conn: Connection, *, email: str, kind: str, stale_after: timedelta, at_most_every: timedelta
) -> None:
    """A message of ``kind`` for the account with this address, if there is one (the caller is
    not told). Works before any grant: sign-up, recovery."""
    await conn.execute(
        "SELECT afterglow_queue_mail($1, $2, $3, $4)", email, kind, stale_after, at_most_every
    )


async def claim_due(
    conn: Connection, now: datetime, *, limit: int, lease: timedelta, token: UUID
) -> list[ClaimedMail]:
    """Take up to ``limit`` due messages no other worker holds. Stale ones are expired on the
    spot; the rest are leased to ``token`` until ``now + lease``."""
    rows = await conn.fetch(
        """WITH picked AS (
               SELECT id FROM mail_outbox
                WHERE status = 'pending' AND next_attempt_at <= $1
                ORDER BY next_attempt_at
                LIMIT $2
                FOR UPDATE SKIP LOCKED)
           UPDATE mail_outbox m SET
               status = CASE WHEN m.stale_at <= $1 THEN 'expired' ELSE 'pending' END,
               next_attempt_at = CASE WHEN m.stale_at <= $1 THEN m.next_attempt_at
                                      ELSE $1 + $3::interval END,
               claim_token = CASE WHEN m.stale_at <= $1 THEN NULL ELSE $4::uuid END,
               attempts = m.attempts + CASE WHEN m.stale_at <= $1 THEN 0 ELSE 1 END,
               finished_at = CASE WHEN m.stale_at <= $1 THEN $1 END
           FROM picked WHERE m.id = picked.id
           RETURNING m.id, m.user_id, m.kind, m.recipient, m.status, m.attempts, m.stale_at,
                     m.created_at,
                     coalesce((SELECT u.language FROM users u WHERE u.id = m.user_id), 'en')
                         AS language""",
        now,
        limit,
        lease,
        token,
    )
    return [msgspec.convert(dict(r), ClaimedMail) for r in rows]


async def record(conn: Connection, token: UUID, now: datetime, outcome: Outcome) -> bool:
    """Write what became of one message, if this worker still holds it (False: its lease ran
    out and another worker may have it)."""
    subject, body = outcome.kept or (None, None)
    written = await conn.fetchval(
        """UPDATE mail_outbox SET status = $3, next_attempt_at = $4, last_error = $5,
                  claim_token = NULL, subject = $6, body = $7,
                  finished_at = CASE WHEN $3 <> 'pending' THEN $8::timestamptz END
            WHERE id = $1 AND claim_token = $2 AND status = 'pending'
           RETURNING id""",
        outcome.outbox_id,
        token,
        outcome.status,
        outcome.next_attempt_at,
        outcome.error,
        subject,
        body,
        now,
    )
    return written is not None


async def kept(conn: Connection, limit: int) -> list[KeptMail]:
    rows = await conn.fetch("SELECT * FROM afterglow_kept_mail($1)", limit)
    return [msgspec.convert(dict(r), KeptMail) for r in rows]
