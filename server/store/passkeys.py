"""Passkeys and the challenges of their ceremonies (migrations/0018): the app's role reaches
them only through functions that act for the session whose cookie token they are given, or,
before any sign-in, take one challenge and read the one passkey an assertion names."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

import msgspec

from server.db import Connection
from server.domain.accounts import Role, User

Purpose = Literal["register", "sign_in", "reauthenticate"]


class Passkey(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    credential_id: bytes
    transports: list[str]
    name: str
    created_at: datetime
    last_used_at: datetime | None


class StoredKey(msgspec.Struct, frozen=True, kw_only=True):
    """What checking a signature needs: the passkey's public key and counter, and whose it is."""

    user_id: UUID
    role: Role
    public_key: bytes
    sign_count: int


async def new_challenge(
    conn: Connection, token: str | None, challenge: bytes, purpose: Purpose, lifetime: timedelta
) -> bool:
    """Store a challenge: for signing in, nobody's; else the signed-in session's account's
    (False without one)."""
    stored: bool = await conn.fetchval(
        "SELECT afterglow_passkey_challenge($1, $2, $3, $4)", token, challenge, purpose, lifetime
    )
    return stored


async def take_challenge(
    conn: Connection, token: str | None, challenge: bytes, purpose: Purpose
) -> bool:
    """Use a challenge up; True if it was live (and the session's account's, but for sign-in)."""
    live: bool = await conn.fetchval(
        "SELECT afterglow_take_passkey_challenge($1, $2, $3)", token, challenge, purpose
    )
    return live


async def passkeys_of(conn: Connection, token: str) -> list[Passkey]:
    rows = await conn.fetch("SELECT * FROM afterglow_passkeys_of($1)", token)
    return [msgspec.convert(dict(r), Passkey) for r in rows]


async def add(
    conn: Connection,
    token: str,
    *,
    credential_id: bytes,
    public_key: bytes,
    sign_count: int,
    transports: list[str],
    name: str,
) -> UUID | None:
    """The new passkey's id; None if the credential is registered already (or no session)."""
    added: UUID | None = await conn.fetchval(
        "SELECT afterglow_add_passkey($1, $2, $3, $4, $5, $6)",
        token,
        credential_id,
        public_key,
        sign_count,
        transports,
        name,
    )
    return added


async def remove(conn: Connection, token: str, passkey_id: UUID) -> bool:
    removed: bool = await conn.fetchval(
        "SELECT afterglow_remove_passkey($1, $2)", token, passkey_id
    )
    return removed


async def for_sign_in(conn: Connection, credential_id: bytes) -> StoredKey | None:
    row = await conn.fetchrow("SELECT * FROM afterglow_passkey_for_sign_in($1)", credential_id)
    return None if row is None else msgspec.convert(dict(row), StoredKey)


async def start_session(
    conn: Connection,
    *,
    credential_id: bytes,
    sign_count: int,
    token_hash: bytes,
    idle_timeout: timedelta,
    expires_at: datetime,
) -> User | None:
    """A signed-in session for the passkey's account (its signature checked by the caller); the
    rest of this request is theirs. None if the passkey's counter did not move on."""
    row = await conn.fetchrow(
        "SELECT * FROM afterglow_passkey_session($1, $2, $3, $4, $5)",
        credential_id,
        sign_count,
        token_hash,
        idle_timeout,
        expires_at,
    )
    return None if row is None else msgspec.convert(dict(row), User)


async def reauthenticate(
    conn: Connection, token: str, credential_id: bytes, sign_count: int
) -> bool:
    """The session's owner proved who they are with one of their passkeys (signature checked)."""
    done: bool = await conn.fetchval(
        "SELECT afterglow_passkey_reauthenticate($1, $2, $3)", token, credential_id, sign_count
    )
    return done
