"""Server-side sessions: a 256-bit random token for the cookie, only its SHA-256 stored.

A new token at every sign-in (a cookie planted before login is useless), idle and absolute
expiry per role, ended by sign-out, password change and erasure. Looked up on every request,
never cached: an ended session is refused on the very next request, in any process.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import msgspec

from server.config import Settings
from server.db import Pool, SessionKey, connection, transaction
from server.domain.accounts import SessionState, User
from server.errors import AppError, NotSignedIn
from server.store import sessions as session_store
from server.timeutil import utc_now

__all__ = ["NewSession", "SessionKey"]  # SessionKey: for the HTTP edge, which may not import db

SECOND_STEP_SECONDS = 10 * 60  # a session waiting for its second factor (migrations/0017)


class NewSession(msgspec.Struct, frozen=True):
    token: str  # goes to the client once, in the cookie
    max_age: int  # seconds
    # Signed in with the password, the second factor still to come (migrations/0017): the
    # session can only pass it (services/second_factors.py) or sign out.
    second_factor_pending: bool = False


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def session_lifetimes(settings: Settings, role: str) -> tuple[timedelta, timedelta]:
    """(idle, absolute) for a role: clinicians see many patients, so theirs are short."""
    if role == "clinician":
        return (
            timedelta(minutes=settings.clinician_idle_minutes),
            timedelta(hours=settings.clinician_absolute_hours),
        )
    return (
        timedelta(days=settings.patient_idle_days),
        timedelta(days=settings.patient_absolute_days),
    )


async def start_session(
    pool: Pool, settings: Settings, user: User, password_hash: str
) -> NewSession:
    """A session for ``user``, whose password the caller has just checked against
    ``password_hash``: the rest of this request is theirs; or, where the account has a second
    factor, a session waiting for it, which sees nothing and lives ten minutes."""
    token = new_token()
    idle, absolute = session_lifetimes(settings, user.role)
    async with transaction(pool) as conn:
        started = await session_store.create_session(
            conn,
            token_hash=token_hash(token),
            user_id=user.id,
            password_hash=password_hash,
            idle_timeout=idle,
            expires_at=utc_now() + absolute,
        )
    if started is None:  # the password changed since it was checked
        raise AppError("Email or password is incorrect.", status=401)
    if started == "second_factor":
        return NewSession(token=token, max_age=SECOND_STEP_SECONDS, second_factor_pending=True)
    return NewSession(token=token, max_age=int(absolute.total_seconds()))


async def session_for_token(pool: Pool, token: str) -> SessionState | None:
    """The live session of a cookie: a signed-in one makes this request's connection see its
    user's rows (row-level security), until it goes back to the pool."""
    async with connection(pool) as conn:
        return await session_store.session_for_token(conn, token_hash(token))


def key_of(token: str) -> SessionKey:
    """A request's session, to be opened by its first statement (server/db.py)."""
    return SessionKey(token_hash(token))


def opened(key: SessionKey, session: Any) -> SessionState:
    """The session a request's first statement opened (as afterglow_open_request returned it,
    or None), after every guard's check on it: none live, one still waiting for its second
    factor, or the wrong kind of account is refused here, before the statement's result is
    used (the statement itself did nothing for such a session)."""
    state = session_store.state_of(session)
    key.settle(state)
    if state is None:
        raise NotSignedIn()
    return state


async def open_key(pool: Pool, key: SessionKey) -> SessionState:
    """The session of a request whose work is more than one statement: opened on its own (a
    round trip), then checked as ``opened`` does."""
    async with connection(pool) as conn:
        found = await session_store.session_for_token(conn, key.token_hash)
    key.settle(found)
    if found is None:
        raise NotSignedIn()
    return found


async def user_for_token(pool: Pool, token: str) -> User | None:
    """The signed-in user of a live session past its second factor."""
    found = await session_for_token(pool, token)
    return None if found is None or found.second_factor_pending else found.user


async def end_session(pool: Pool, token: str) -> None:
    async with transaction(pool) as conn:
        await session_store.delete_session(conn, token)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def renewed(token: str, ends: datetime) -> NewSession:
    """A signed-in session gone on under ``token`` (store/sessions.py rotate_session), ending
    when it would have: a password change, so whoever copied the old cookie is out."""
    return NewSession(token=token, max_age=max(1, int((ends - utc_now()).total_seconds())))
