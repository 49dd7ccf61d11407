"""Server-side sessions: only the SHA-256 of the cookie token is ever stored."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from server.db import Connection
from server.domain.accounts import User


async def create_session(
    conn: Connection,
    *,
    token_hash: bytes,
    user_id: UUID,
    password_hash: str,
    idle_timeout: timedelta,
    expires_at: datetime,
) -> bool:
    """Start a session for the account whose current password hash is ``password_hash`` (the
    caller has just checked the password against it); the rest of this request is theirs.
    False if the hash is not the account's current one (migrations/0009)."""
    started: bool = await conn.fetchval(
        "SELECT afterglow_start_session($1, $2, $3, $4, $5)",
        token_hash,
        user_id,
        password_hash,
        idle_timeout,
        expires_at,
    )
    return started


async def user_for_session(conn: Connection, token_hash: bytes) -> User | None:
    """The signed-in user, if the session is neither idle-expired nor past its absolute end.
    Row-level security then lets this request see that user's rows, and for a clinician their
    patients' (migrations/0009); last_seen_at is refreshed at most once a minute."""
    row: Any = await conn.fetchrow("SELECT * FROM afterglow_open_request($1)", token_hash)
    return None if row is None else msgspec.convert(dict(row), User)


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
