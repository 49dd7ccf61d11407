"""The worker's pruning pass keeps accounts' bookkeeping no longer than it serves: sessions past
their end and sign-in failures past the throttle window are gone after one pass."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from server import db
from server.push.worker import prune_pass
from tests.helpers.push import People


async def _session(
    pool: db.Pool, user_id: uuid.UUID, *, idle: timedelta, ends: timedelta, seen: timedelta
) -> bytes:
    """A session whose idle timeout is ``idle``, ending ``ends`` from now, last seen ``seen``
    from now (negative: ago)."""
    token_hash = secrets.token_bytes(32)
    async with db.transaction(pool) as conn:
        await conn.execute(
            """INSERT INTO sessions (token_hash, user_id, idle_timeout, expires_at, last_seen_at)
               VALUES ($1, $2, $3, now() + $4, now() + $5)""",
            token_hash,
            user_id,
            idle,
            ends,
            seen,
        )
    return token_hash


async def _sessions(pool: db.Pool, hashes: list[bytes]) -> set[bytes]:
    async with db.transaction(pool) as conn:
        rows = await conn.fetch(
            "SELECT token_hash FROM sessions WHERE token_hash = ANY($1::bytea[])", hashes
        )
    return {r["token_hash"] for r in rows}


async def test_one_pass_removes_ended_sessions_and_old_failures(
    pool: db.Pool, people: People
) -> None:
    user = await people.user()
    day, minute, now = timedelta(days=1), timedelta(minutes=1), timedelta(0)
    live = await _session(pool, user, idle=30 * day, ends=90 * day, seen=now)
    past_end = await _session(pool, user, idle=30 * day, ends=-minute, seen=-minute)
    idle = await _session(pool, user, idle=30 * minute, ends=day, seen=-31 * minute)
    old, recent = f"addr:old-{uuid.uuid4()}", f"addr:recent-{uuid.uuid4()}"
    async with db.transaction(pool) as conn:
        await conn.execute(
            "INSERT INTO login_failures (key, at) VALUES ($1, now() - $2::interval)",
            old,
            timedelta(minutes=16),
        )
        await conn.execute("INSERT INTO login_failures (key) VALUES ($1)", recent)

    await prune_pass(pool)

    assert await _sessions(pool, [live, past_end, idle]) == {live}
    async with db.transaction(pool) as conn:
        keys = {
            r["key"]
            for r in await conn.fetch(
                "SELECT key FROM login_failures WHERE key = ANY($1::text[])", [old, recent]
            )
        }
    assert keys == {recent}


async def test_one_pass_removes_sign_in_counts_whose_window_has_ended(pool: db.Pool) -> None:
    ended, counting = f"pair:ended-{uuid.uuid4()}", f"pair:counting-{uuid.uuid4()}"
    async with db.transaction(pool) as conn:
        await conn.execute(
            """INSERT INTO sign_in_attempts (key, attempts, ends_at)
               VALUES ($1, 7, now() - interval '1 second'), ($2, 7, now() + interval '1 hour')""",
            ended,
            counting,
        )

    await prune_pass(pool)

    async with db.transaction(pool) as conn:
        rows = await conn.fetch(
            "SELECT key FROM sign_in_attempts WHERE key = ANY($1::text[])", [ended, counting]
        )
    assert {r["key"] for r in rows} == {counting}
