"""Server-side sessions: only the SHA-256 of the cookie token is ever stored."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import msgspec

from server.db import Connection
from server.domain.accounts import SessionState, User

Started = Literal["signed_in", "second_factor"]


async def create_session(
    conn: Connection,
    *,
    token_hash: bytes,
    user_id: UUID,
    password_hash: str,
    idle_timeout: timedelta,
    expires_at: datetime,
) -> Started | None:
    """Start a session for the account whose current password hash is ``password_hash`` (the
    caller has just checked the password against it): signed in, the rest of this request the
    account's; or, for an account with a second factor, waiting for it (migrations/0017). None
    if the hash is not the account's current one."""
    started: Started | None = await conn.fetchval(
        "SELECT afterglow_begin_session($1, $2, $3, $4, $5)",
        token_hash,
        user_id,
        password_hash,
        idle_timeout,
        expires_at,
    )
    return started


async def session_for_token(conn: Connection, token_hash: bytes) -> SessionState | None:
    """The session, if it is neither idle-expired nor past its absolute end. For a signed-in
    one, row-level security then lets this request see its user's rows, and for a clinician
    their patients' (migrations/0009); one waiting for its second factor sees nothing.
    last_seen_at is refreshed at most once a minute."""
    row: Any = await conn.fetchrow("SELECT * FROM afterglow_open_request($1)", token_hash)
    if row is None:
        return None
    return SessionState(
        user=msgspec.convert(dict(row), User),
        second_factor=row["second_factor"],
        second_factor_pending=row["second_factor_pending"],
        reauthenticated_at=row["reauthenticated_at"],
    )


def state_of(session: Any) -> SessionState | None:
    """A session as afterglow_open_request returned it through JSON (``db.fetch_in_session``):
    the same columns, times as text."""
    if session is None:
        return None
    return msgspec.convert({**session, "user": session}, SessionState)


async def user_for_session(conn: Connection, token_hash: bytes) -> User | None:
    """The signed-in user of a session past its second factor (see session_for_token)."""
    found = await session_for_token(conn, token_hash)
    return None if found is None or found.second_factor_pending else found.user


async def delete_session(conn: Connection, token: str) -> None:
    """Sign-out, of a signed-in session or one still waiting for its second factor."""
    await conn.execute("SELECT afterglow_end_session($1)", token)


async def rotate_session(conn: Connection, token: str, new_token_hash: bytes) -> datetime | None:
    """The signed-in session of ``token`` goes on under a new token; when it ends (None: no
    such session)."""
    ends: datetime | None = await conn.fetchval(
        "SELECT afterglow_rotate_session($1, $2)", token, new_token_hash
    )
    return ends


async def mark_reauthenticated(conn: Connection, token: str) -> bool:
    """Its owner just proved who they are again (a password, a code or a passkey checked)."""
    return bool(await conn.fetchval("SELECT afterglow_reauthenticated($1)", token))


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
