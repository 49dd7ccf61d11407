"""Fixtures for push tests: the local push service, users made straight in the database (no
argon2 per user), devices, and dispatchers on a fixed clock.

Reminder tests run at fixed moments in the past (2025), so rows other tests leave pending at
today's times are never due for them; every user made here is deleted afterwards, and with it
every row of theirs.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from litestar import Litestar

from server import db
from server.push.dispatcher import Dispatcher
from server.push.vapid import VapidKeys
from server.store import push as push_store
from server.store import users as user_store
from tests.push.push_service import PushService, Subscription


def at(text: str) -> datetime:
    """An aware moment from ISO text (an offset is required)."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None
    return moment.astimezone(UTC)


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    async with PushService() as service:
        yield service


@pytest.fixture
def vapid(app: Litestar) -> VapidKeys:
    keys: VapidKeys = app.state.vapid
    return keys


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


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
            await push_store.save_subscription(conn, user_id, sub.endpoint, sub.p256dh, sub.auth)
        return sub

    async def cleanup(self) -> None:
        if self.made:
            async with db.transaction(self.pool) as conn:
                await conn.execute("DELETE FROM users WHERE id = ANY($1::uuid[])", self.made)


@pytest.fixture
async def people(pool: db.Pool) -> AsyncIterator[People]:
    found = People(pool)
    yield found
    await found.cleanup()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def make_dispatcher(
    pool: db.Pool, vapid: VapidKeys, http_session: aiohttp.ClientSession
) -> Callable[..., Dispatcher]:
    def make(clock: Clock, **options: Any) -> Dispatcher:
        options.setdefault("jitter", lambda: 0.0)
        return Dispatcher(pool, vapid, http_session, clock=clock, **options)

    return make


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
