"""What the push tests share: ISO moments, users and their devices made straight in the
database (no argon2 per user), a clock a test sets, and the push outbox read and written
directly."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from server import db
from server.domain.reminders import PushPayload
from server.store import push as push_store
from server.store import reminders as reminder_store
from server.store import users as user_store
from server.timeutil import utc_now
from tests.helpers.push_service import PushService, Subscription


def at(text: str) -> datetime:
    """An aware moment from ISO text (an offset is required)."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None
    return moment.astimezone(UTC)


class People:
    """Makes users and their devices; deletes them (and all their rows) at teardown."""

    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool
        self.made: list[uuid.UUID] = []

    async def user(self, timezone: str = "America/New_York", role: str = "patient") -> uuid.UUID:
        async with db.transaction(self.pool) as conn:
            user = await user_store.create_user(
                conn,
                email=f"push-{uuid.uuid4().hex[:12]}@example.org",
                role=role,  # type: ignore[arg-type]
                password_hash="not-a-hash",
                display_name="Push Test",
                timezone=timezone,
            )
        self.made.append(user.id)
        return user.id

    async def device(self, user_id: uuid.UUID, service: PushService, **kw: Any) -> Subscription:
        sub = service.subscribe(**kw)
        async with db.transaction(self.pool) as conn:
            saved = await push_store.save_subscription(
                conn, user_id, sub.endpoint, sub.p256dh, sub.auth
            )
        assert saved is not None
        return sub

    async def cleanup(self) -> None:
        if self.made:
            async with db.transaction(self.pool) as conn:
                await conn.execute("DELETE FROM users WHERE id = ANY($1::uuid[])", self.made)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


async def outbox(pool: db.Pool, user_id: uuid.UUID, *statuses: str) -> list[dict[str, Any]]:
    """A user's outbox rows (all, or those with these statuses), by due time."""
    async with db.transaction(pool) as conn:
        rows = await conn.fetch(
            """SELECT id, kind, occurrence, due_at, stale_at, status, attempts, next_attempt_at,
                      payload, urgency
               FROM push_outbox WHERE user_id = $1 AND (cardinality($2::text[]) = 0
                                                       OR status = ANY($2::text[]))
               ORDER BY due_at, kind""",
            user_id,
            list(statuses),
        )
    return [dict(r) for r in rows]


async def enqueue(url: str, user_id: Any, tags: list[str]) -> None:
    """Reminders due now for one user, one per tag, through the real outbox."""
    conn = await asyncpg.connect(url)
    try:
        now = utc_now()
        for tag in tags:
            await reminder_store.enqueue_notification(
                conn,
                user_id,
                "fault_test",
                tag,
                now - timedelta(seconds=1),
                now + timedelta(minutes=10),
                PushPayload(title="Afterglow", body="Test", url="/", tag=tag),
            )
    finally:
        await conn.close()
