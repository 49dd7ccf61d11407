"""Server-side sessions: a 256-bit random token for the cookie, only its SHA-256 stored.

A new token at every sign-in (a cookie planted before login is useless), idle and absolute
expiry per role, ended by sign-out, password change and erasure. Looked up on every request,
never cached: an ended session is refused on the very next request, in any process.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import msgspec

from server.config import Settings
from server.db import Pool, connection, transaction
from server.domain.accounts import User
from server.errors import AppError
from server.store import sessions as session_store
from server.timeutil import utc_now


class NewSession(msgspec.Struct, frozen=True):
    token: str  # goes to the client once, in the cookie
    max_age: int  # seconds


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
    ``password_hash``; the rest of this request is theirs."""
    token = secrets.token_urlsafe(32)
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
    if not started:  # the password changed since it was checked
        raise AppError("Email or password is incorrect.", status=401)
    return NewSession(token=token, max_age=int(absolute.total_seconds()))


async def user_for_token(pool: Pool, token: str) -> User | None:
    """The signed-in user of a live session; this request's connection may then see their rows
    (row-level security), until it goes back to the pool."""
    async with connection(pool) as conn:
        return await session_store.user_for_session(conn, token_hash(token))


async def end_session(pool: Pool, token: str) -> None:
    async with transaction(pool) as conn:
        await session_store.delete_session(conn, token_hash(token))
