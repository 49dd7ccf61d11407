"""Server-side sessions: only the SHA-256 of the cookie token is ever stored."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from server.db import Connection
from server.domain.accounts import User

# last_seen_at is refreshed at most this often, so reads do not each cost a write.
TOUCH_EVERY = timedelta(seconds=60)


async def create_session(
    conn: Connection,
    *,
    token_hash: bytes,
    user_id: UUID,
    idle_timeout: timedelta,
    expires_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO sessions (token_hash, user_id, idle_timeout, expires_at)
           VALUES ($1, $2, $3, $4)""",
        token_hash,
        user_id,
        idle_timeout,
        expires_at,
    )


async def user_for_session(conn: Connection, token_hash: bytes) -> User | None:
    """The signed-in user, if the session is neither idle-expired nor past its absolute end."""
    row: Any = await conn.fetchrow(
        """SELECT u.id, u.email, u.role, u.display_name, u.timezone, u.clinic_phone,
                  u.created_at, s.last_seen_at < now() - $2::interval AS stale,
                  -- Row-level security: a patient's request may see their own rows; a
                  -- clinician's, those of patients sharing with them (migration 0008).
                  set_config('afterglow.patients',
                             CASE WHEN u.role = 'patient' THEN u.id::text ELSE '' END,
                             false) AS granted,
                  set_config('afterglow.clinician',
                             CASE WHEN u.role = 'clinician' THEN u.id::text ELSE '' END,
                             false) AS clinician
             FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.token_hash = $1
              AND s.expires_at > now()
              AND s.last_seen_at + s.idle_timeout > now()""",
        token_hash,
        TOUCH_EVERY,
    )
    if row is None:
        return None
    if row["stale"]:
        await conn.execute(
            "UPDATE sessions SET last_seen_at = now() WHERE token_hash = $1", token_hash
        )
    return msgspec.convert(dict(row), User)


async def delete_session(conn: Connection, token_hash: bytes) -> None:
    await conn.execute("DELETE FROM sessions WHERE token_hash = $1", token_hash)


async def delete_sessions_of(conn: Connection, user_id: UUID, keep: bytes | None = None) -> None:
    await conn.execute(
        "DELETE FROM sessions WHERE user_id = $1 AND token_hash IS DISTINCT FROM $2",
        user_id,
        keep,
    )


async def delete_expired(conn: Connection) -> int:
    result: str = await conn.execute(
        "DELETE FROM sessions WHERE expires_at <= now() OR last_seen_at + idle_timeout <= now()"
    )
    return int(result.split()[-1])
