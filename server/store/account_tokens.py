"""Single-use account links (migrations/0013): only the SHA-256 of each token is stored, and
using one is a single statement, so two tabs submitting the same link cannot both succeed."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from server.db import Connection
from server.domain.accounts import User
from server.domain.mail import LinkPurpose


async def mint(
    conn: Connection,
    *,
    token_hash: bytes,
    user_id: UUID,
    purpose: LinkPurpose,
    expires_at: datetime,
) -> None:
    """A new link's token (the worker, as it writes the message)."""
    await conn.execute(
        """INSERT INTO account_tokens (token_hash, user_id, purpose, expires_at)
           VALUES ($1, $2, $3, $4)""",
        token_hash,
        user_id,
        purpose,
        expires_at,
    )


async def is_live(conn: Connection, token_hash: bytes, purpose: LinkPurpose) -> bool:
    live: bool = await conn.fetchval("SELECT afterglow_token_live($1, $2)", token_hash, purpose)
    return live


async def reset_password(
    conn: Connection,
    token_hash: bytes,
    password_hash: str,
    *,
    address: str,
    notice_stale_after: timedelta,
) -> UUID | None:
    """Use a reset link: see afterglow_reset_password. The account, or None for a dead link."""
    account: UUID | None = await conn.fetchval(
        "SELECT afterglow_reset_password($1, $2, $3, $4)",
        token_hash,
        password_hash,
        address,
        notice_stale_after,
    )
    return account


async def verify_email(conn: Connection, token_hash: bytes) -> UUID | None:
    """Use a verification link. The account, or None for a dead link."""
    account: UUID | None = await conn.fetchval("SELECT afterglow_verify_email($1)", token_hash)
    return account


async def use_sign_in_link(conn: Connection, token_hash: bytes) -> tuple[User, str] | None:
    """Use a sign-in link (migrations/0018): the account and its password hash, which the link
    stands in for; None for a dead link."""
    row = await conn.fetchrow("SELECT * FROM afterglow_use_sign_in_link($1)", token_hash)
    return None if row is None else (msgspec.convert(dict(row), User), row["password_hash"])


async def email_verified(conn: Connection, user_id: UUID) -> bool:
    verified: bool | None = await conn.fetchval("SELECT afterglow_email_verified($1)", user_id)
    return bool(verified)


async def prune(conn: Connection, before: datetime) -> int:
    """Forget tokens that expired before ``before``."""
    deleted: int = await conn.fetchval(
        """WITH gone AS (DELETE FROM account_tokens WHERE expires_at < $1 RETURNING 1)
           SELECT count(*) FROM gone""",
        before,
    )
    return deleted
